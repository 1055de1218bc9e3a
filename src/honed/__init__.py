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

import sys

from honed import _migration
from honed._logging import set_verbosity
from honed.errors import (
    ArtifactError,
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
from honed.objective import FixedTrial, Trial
from honed.space import (
    Choice,
    Distribution,
    Float,
    Int,
    SearchSpace,
    Simplex,
    SimplexWeight,
    load_space,
    simplex_weights,
)
from honed.study import FaultPolicy, Study, create_study, delete_study, load_study
from honed.trial import Direction, FrozenTrial, TrialState

#: The installed version of honed.
__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "Choice",
    "Direction",
    "Distribution",
    "DuplicatedStudyError",
    "FaultPolicy",
    "FixedTrial",
    "Float",
    "FrozenTrial",
    "History",
    "HonedError",
    "Int",
    "SchemaVersionError",
    "SearchSpace",
    "Simplex",
    "SimplexWeight",
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
    "set_verbosity",
    "simplex_weights",
]

_LAZY_SUBPACKAGES = ("analysis", "plots", "dashboard", "recipes")

if not any(isinstance(f, _migration.OptunaModuleHints) for f in sys.meta_path):
    sys.meta_path.append(_migration.OptunaModuleHints())


def __getattr__(name: str) -> object:
    # `honed.analysis.importance(...)`, `honed.recipes.soup(...)` work after a plain
    # `import honed`, without loading those subpackages for everyone who does not use them.
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f"honed.{name}")
    message = f"module 'honed' has no attribute {name!r}"
    if name in _migration.MODULE_HINTS:
        message += f"; this is Optuna's module, in honed use {_migration.MODULE_HINTS[name]}"
    raise AttributeError(message)
