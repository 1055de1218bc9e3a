"""honed: hyperparameter optimization that finds better configurations in fewer trials.

::

    import honed

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", -10, 10)
        return (x - 2) ** 2

    study = honed.create_study(storage="sqlite:///honed.db")
    study.optimize(objective, n_trials=50)
    print(study.best_params)
"""

from honed.errors import (
    DuplicatedStudyError,
    HonedError,
    SchemaVersionError,
    SpaceError,
    StorageError,
    StudyError,
    StudyNotFoundError,
    TrialPruned,
    TrialStateError,
)
from honed.history import History
from honed.objective import Trial
from honed.space import Choice, Distribution, Float, Int, SearchSpace, load_space
from honed.study import FaultPolicy, Study, create_study, delete_study, load_study
from honed.trial import Direction, FrozenTrial, TrialState

__version__ = "0.1.0"

__all__ = [
    "Choice",
    "Direction",
    "Distribution",
    "DuplicatedStudyError",
    "FaultPolicy",
    "Float",
    "FrozenTrial",
    "History",
    "HonedError",
    "Int",
    "SchemaVersionError",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "Study",
    "StudyError",
    "StudyNotFoundError",
    "Trial",
    "TrialPruned",
    "TrialState",
    "TrialStateError",
    "__version__",
    "create_study",
    "delete_study",
    "load_space",
    "load_study",
]

_LAZY_SUBPACKAGES = ("analysis", "plots", "dashboard", "recipes")


def __getattr__(name: str) -> object:
    # `honed.analysis.importance(...)`, `honed.recipes.soup(...)` work after a plain
    # `import honed`, without loading those subpackages for everyone who does not use them.
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f"honed.{name}")
    raise AttributeError(f"module 'honed' has no attribute {name!r}")
