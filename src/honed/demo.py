"""``honed demo``: a real tuning run on data that ships with scikit-learn.

It tunes a HistGradientBoostingClassifier on the breast-cancer data set by 5-fold stratified
cross-validation, in worker processes sharing a SQLite file, and compares the best
configuration with scikit-learn's default settings (measured the same way, as trial 0).
"""

from __future__ import annotations

import time
from typing import Any

from honed.objective import Trial
from honed.study import Study, create_study

__all__ = ["DEFAULT_PARAMS", "objective", "run_demo"]

# scikit-learn's defaults for the parameters tuned below: enqueued as the first trial.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "max_features": 1.0,
}


def _data() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def objective(trial: Trial) -> float:
    """Mean 5-fold cross-validated accuracy of one configuration."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(
        learning_rate=trial.float("learning_rate", 0.01, 0.5, log=True),
        max_iter=trial.int("max_iter", 20, 300, log=True),
        max_leaf_nodes=trial.int("max_leaf_nodes", 4, 64, log=True),
        min_samples_leaf=trial.int("min_samples_leaf", 2, 50, log=True),
        l2_regularization=trial.choice("l2_regularization", [0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0]),
        max_features=trial.float("max_features", 0.2, 1.0),
        random_state=0,
    )
    features, labels = _data()
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    with threadpool_limits(1):  # one core per worker: the workers are the parallelism
        return float(cross_val_score(model, features, labels, cv=cv, scoring="accuracy").mean())


def run_demo(
    storage: str, n_trials: int = 50, n_jobs: int = 2, study_name: str | None = None, seed: int = 0
) -> Study:
    """Run the demo study and print what it found. Returns the study."""
    try:
        import sklearn  # noqa: F401
    except ModuleNotFoundError:
        raise SystemExit(
            "honed demo needs scikit-learn: pip install 'honed[sklearn]' (or pip install "
            "scikit-learn)."
        ) from None
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from honed._text import printable

    console = Console()
    name = study_name or time.strftime("demo-%Y%m%d-%H%M%S")
    study = create_study(name, storage=storage, direction="maximize", seed=seed)
    study.enqueue(DEFAULT_PARAMS)
    console.print(
        f"[bold]honed demo[/]: tuning HistGradientBoostingClassifier on breast-cancer "
        f"(5-fold CV accuracy), {n_trials} trials on {n_jobs} workers, sampler "
        f"{type(study.sampler).__name__}, storage {escape(printable(storage))}"
    )
    start = time.time()
    study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs)
    elapsed = time.time() - start
    default = next((t for t in study.trials if t.number == 0 and t.values is not None), None)
    best = study.best_trial
    table = Table(
        title=f"study {escape(repr(name))}: best of {len(study.trials)} trials in {elapsed:.0f} s"
    )
    table.add_column("parameter")
    table.add_column("default", justify="right")
    table.add_column("best", justify="right")
    for key in best.params:
        table.add_row(key, f"{DEFAULT_PARAMS[key]:g}", f"{best.params[key]:.4g}")
    dv = default.values[0] if default is not None and default.values else float("nan")
    table.add_row("[bold]CV accuracy", f"[bold]{dv:.4f}", f"[bold]{best.value:.4f}")
    console.print(table)
    # best is a complete trial, so best.value is a number
    gain = best.value - dv  # type: ignore[operator]
    errors = (1 - dv) / max(1 - best.value, 1e-12)  # type: ignore[operator]
    console.print(
        f"Tuned accuracy {best.value:.4f} vs default {dv:.4f}: {gain * 100:+.2f} points, "
        f"{errors:.2f}x fewer errors (trial {best.number})."
    )
    console.print(
        f"Look at it: honed show {escape(printable(name))} --storage {escape(printable(storage))}"
    )
    return study
