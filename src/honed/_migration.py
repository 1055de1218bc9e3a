"""Names a user coming from Optuna will try, and the honed spelling to suggest instead.

Only consulted when a lookup or a call has already failed, so a correct program pays nothing.
The table in ``docs/migrating-from-optuna.md`` lists the same names.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MODULE_HINTS", "STUDY_HINTS", "TRIAL_HINTS", "hint_bad_keywords"]

TRIAL_HINTS = {
    "suggest_float": "trial.float(name, low, high, log=..., step=...)",
    "suggest_int": "trial.int(name, low, high, log=..., step=...)",
    "suggest_categorical": "trial.choice(name, choices)",
    "suggest_uniform": "trial.float(name, low, high)",
    "suggest_loguniform": "trial.float(name, low, high, log=True)",
    "suggest_discrete_uniform": "trial.float(name, low, high, step=q)",
    "should_prune": "trial.should_stop() (trial.report raises honed.TrialPruned by itself)",
    "set_system_attr": "trial.set_user_attr(key, value)",
    "suggest": "trial.float / trial.int / trial.choice",
}

STUDY_HINTS = {
    "trials_dataframe": "study.to_dataframe()",
    "enqueue_trial": "study.enqueue(params)",
    "add_trial": "study.add_trials([trial])",
    "get_trials": "study.get_trials(states=...) or study.trials",
    "study_name": "study.name",
    "set_system_attr": "study.set_user_attr(key, value)",
    "system_attrs": "study.user_attrs",
}

MODULE_HINTS = {
    "pruners": "honed.schedulers (MedianPruner -> MedianStopping, SuccessiveHalvingPruner -> "
    "SuccessiveHalving, HyperbandPruner -> Hyperband; create_study(scheduler=...))",
    "visualization": "honed.plots (plot_optimization_history -> plot_history, ...)",
    "distributions": "honed.Float / honed.Int / honed.Choice",
    "integration": "honed.integrations",
    "storages": "honed.storage",
}

# Keyword arguments of Optuna's functions, keyed by what honed calls them.
KEYWORD_HINTS = {
    "study_name": "name=",
    "pruner": "scheduler= (e.g. scheduler='median' or honed.schedulers.MedianStopping())",
    "show_progress_bar": "show_progress=",
    "gc_after_trial": None,
}

F = TypeVar("F", bound=Callable[..., Any])


def hint_bad_keywords(func: F) -> F:
    """Make a call with an Optuna keyword fail with the honed spelling in the message. The
    signature is unchanged; the check runs only once the call has failed."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TypeError:
            unknown = [k for k in kwargs if k not in signature.parameters]
            if not unknown:
                raise
            raise TypeError(_keyword_message(func.__name__, unknown, signature)) from None

    return wrapper  # type: ignore[return-value]


def _keyword_message(name: str, unknown: list[str], signature: inspect.Signature) -> str:
    parts = []
    for key in unknown:
        if key in KEYWORD_HINTS:
            hint = KEYWORD_HINTS[key]
            parts.append(
                f"{key}= is Optuna's; honed has no such option"
                if hint is None
                else f"{key}= is Optuna's spelling; honed's is {hint}"
            )
        else:
            parts.append(f"unexpected keyword argument {key!r}")
    accepted = ", ".join(p for p in signature.parameters if p != "self")
    return f"{name}(): {'; '.join(parts)}. It accepts: {accepted}."


def attribute_error(owner: str, name: str, hints: dict[str, str]) -> AttributeError:
    """The AttributeError for a missing attribute, with the honed spelling when it is a name
    from Optuna."""
    message = f"{owner!r} object has no attribute {name!r}"
    if name in hints:
        message += f"; this is Optuna's name, in honed use {hints[name]}"
    return AttributeError(message)


class OptunaModuleHints:
    """A meta-path finder that answers ``import honed.pruners`` (and the other Optuna module
    names) with a ModuleNotFoundError naming honed's module, instead of a bare "No module"."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        package, _, name = fullname.partition(".")
        if package == "honed" and name in MODULE_HINTS:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}; this is Optuna's module, in honed use "
                f"{MODULE_HINTS[name]}",
                name=fullname,
            )
        return None
