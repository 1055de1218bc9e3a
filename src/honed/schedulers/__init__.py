"""Early stopping and multi-fidelity schedulers."""

from honed.schedulers.base import Decision, NoStopping, Scheduler

__all__ = ["Decision", "NoStopping", "Scheduler"]
