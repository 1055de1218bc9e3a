"""honed's samplers as benchmark optimizers: ``honed:<name>[option=value,...]``.

The bench maps sampler names to honed's public classes and builds them with the options in
brackets. Options are constructor arguments, plus these benchmark spellings:

* ``honed:gp[...]``: any field of :class:`honed.samplers.GPTuning` goes into ``tuning=``
  (``honed:gp[plateau_tie_steps=0]``); so do the older knob names, kept so the commands in
  ``bench/results/`` still run: ``_ls_shift``, ``_noise_mu``, ``_noise_sd``, ``_n_raw``,
  ``_n_local``, ``_n_polish``, ``_tie_step``, ``_tie_after``, ``_plateau_tr``.
* ``honed:tpe[_branch_split=global]``: the older name of ``branch_split``.
* ``honed:auto[...]``: fields of :class:`honed.samplers.AutoRules` go into ``rules=``;
  ``gp__<name>`` configures the GP delegate with the GP option ``<name>`` as above
  (``honed:auto[gp__tie_step=2,cmaes_trials=30]``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.problems.base import Problem

__all__ = ["GP_KNOBS", "HonedAdapter", "build_sampler", "check_honed"]

# The sampler classes the bench builds with options, by name (honed.samplers exports each).
_CLASSES = {
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "sobol": "QMCSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "auto": "AutoSampler",
    "cmaes": "CmaEsSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
}

# The GP's former ablation knobs (``honed:gp[_tie_step=2]``, ``honed:auto[gp__tie_step=2]``),
# by the GPTuning field each became.
GP_KNOBS = {
    "ls_shift": "lengthscale_prior_shift",
    "noise_mu": "noise_prior_mean",
    "noise_sd": "noise_prior_sd",
    "n_raw": "n_raw_candidates",
    "n_local": "n_local_candidates",
    "n_polish": "n_polish",
    "tie_step": "plateau_tie_steps",
    "tie_after": "plateau_tie_after",
    "plateau_tr": "plateau_trust_region",
}


def check_honed(algorithm: str) -> None:
    """Raise :class:`MissingOptimizerError` when honed has no sampler ``algorithm``."""
    import honed.samplers

    names = honed.samplers.sampler_names()
    if algorithm.lower() not in names:
        raise MissingOptimizerError(
            f"honed has no sampler named {algorithm!r} (yet); registered: {names}."
        )
    cls = _CLASSES.get(algorithm.lower())
    if cls is not None:
        try:
            getattr(honed.samplers, cls)
        except ImportError as e:
            raise MissingOptimizerError(
                f"honed sampler {algorithm!r} cannot be imported: {e}"
            ) from e


def _gp(seed: int, options: dict[str, Any], where: str) -> Any:
    """A GPSampler from GP options: its constructor's arguments, GPTuning fields, old knobs."""
    from honed.samplers import GPSampler, GPTuning

    tuning_fields = {f.name for f in dataclasses.fields(GPTuning)}
    tuning: dict[str, Any] = {}
    public: dict[str, Any] = {}
    for key, value in options.items():
        # "_tie_step" (honed:gp[...]) and "tie_step" (honed:auto[gp__tie_step=...]) alike
        name = GP_KNOBS.get(key.lstrip("_"), key)
        if name in tuning_fields:
            if name == "plateau_trust_region" and isinstance(value, int | float):
                value = bool(value)  # the old knob took 0/1
            tuning[name] = value
        elif key.startswith("_"):
            raise ValueError(
                f"unknown GP knob {key!r} in {where}; the knobs are "
                f"{sorted('_' + k for k in GP_KNOBS)}, or GPTuning fields {sorted(tuning_fields)}."
            )
        else:
            public[name] = value
    if tuning:
        public["tuning"] = GPTuning(**tuning)
    return GPSampler(seed=seed, **public)


def build_sampler(algorithm: str, seed: int, options: dict[str, Any] | None = None) -> Any:
    """The honed sampler ``algorithm`` with ``seed`` and the bracket ``options``."""
    import honed.samplers

    check_honed(algorithm)
    algo = algorithm.lower()
    options = dict(options or {})
    where = f"honed:{algorithm}"
    if algo not in _CLASSES:
        if options:
            raise ValueError(
                f"{where}: options are supported for {sorted(_CLASSES)} only, got {options}."
            )
        return honed.samplers.get_sampler(algo, seed=seed)
    if algo == "gp":
        return _gp(seed, options, where)
    if algo == "tpe" and "_branch_split" in options:
        options["branch_split"] = options.pop("_branch_split")
    if algo == "auto":
        gp = {k[4:]: v for k, v in options.items() if k.startswith("gp__")}
        rules = {k: v for k, v in options.items() if not k.startswith("gp__")}
        return honed.samplers.AutoSampler(
            seed=seed,
            rules=honed.samplers.AutoRules(**rules) if rules else None,
            gp=_gp(seed, gp, where) if gp else None,
        )
    return getattr(honed.samplers, _CLASSES[algo])(seed=seed, **options)


class HonedAdapter(Adapter):
    """A honed sampler driven through a real in-memory study, asked with the declarative space
    (so the timed part includes honed's own study and storage bookkeeping, as Optuna's does)."""

    def __init__(
        self,
        problem: Problem,
        seed: int,
        algorithm: str,
        n_trials: int,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(problem, seed, n_trials)
        import honed

        self.study = honed.create_study(
            directions=list(problem.directions),
            sampler=build_sampler(algorithm, seed, options),
        )

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask(self.problem.space)
        return trial, dict(trial.params)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        from honed import TrialState

        if values is None:
            self.study.tell(handle, state=TrialState.FAILED, fail_reason="evaluation failed")
        else:
            self.study.tell(handle, list(values))

    def tell_pruned(self, handle: Any, curve: Sequence[float]) -> None:
        from honed import TrialState

        for step, loss in enumerate(curve):  # (pruning problems minimize)
            handle.report(loss, step)
        self.study.tell(handle, state=TrialState.PRUNED)
