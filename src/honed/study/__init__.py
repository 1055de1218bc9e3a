"""Studies: the trial lifecycle, and the one loop that runs trials."""

from honed.study._heartbeat import FaultPolicy
from honed.study._study import PART_OF_ATTR, Study, create_study, delete_study, load_study
from honed.study._trial import LocalTrial

__all__ = [
    "PART_OF_ATTR",
    "FaultPolicy",
    "LocalTrial",
    "Study",
    "create_study",
    "delete_study",
    "load_study",
]
