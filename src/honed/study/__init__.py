"""Studies: the trial lifecycle."""

from honed.study._study import Study, create_study, delete_study, load_study
from honed.study._trial import Trial

__all__ = ["Study", "Trial", "create_study", "delete_study", "load_study"]
