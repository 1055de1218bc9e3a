"""Where objectives run. ``study.optimize`` drives one loop over an executor:

* :class:`InlineExecutor`: one trial at a time in the calling thread (``n_jobs=1``);
* :class:`ThreadExecutor`: trials in threads of this process (``executor="thread"``);
* :class:`ProcessExecutor`: trials in worker processes on this machine (``executor="process"``);
* :class:`RayExecutor`: trials as Ray tasks on a cluster (``executor="ray"``).

Executors know no study: the study hands them :class:`Job` s and records the
:class:`TrialOutcome` s; objectives that run elsewhere get a :class:`RemoteTrial`, which
forwards each call to the study's process.
"""

from __future__ import annotations

from honed.execution._base import Executor, Job, TrialOutcome
from honed.execution._local import InlineExecutor, ThreadExecutor
from honed.execution._process import ProcessExecutor
from honed.execution._ray import RayExecutor
from honed.execution._remote import RemoteTrial

__all__ = [
    "Executor",
    "InlineExecutor",
    "Job",
    "ProcessExecutor",
    "RayExecutor",
    "RemoteTrial",
    "ThreadExecutor",
    "TrialOutcome",
]
