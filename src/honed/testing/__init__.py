"""Conformance suites shipped with honed, for backends and samplers written anywhere.

* :mod:`honed.testing.storage`: :class:`~honed.testing.storage.StorageTests`, the rules every
  :class:`~honed.storage.Storage` backend must honour.
* :mod:`honed.testing.samplers`: :class:`~honed.testing.samplers.SamplerTests`, properties
  every :class:`~honed.samplers.Sampler` must have.
* :class:`ManualClock`: a clock that moves only when told, to give a storage (``clock=``) so
  heartbeat and stale-trial logic is tested without sleeping.

Subclass one in a ``test_*.py`` file under a name starting with ``Test`` and provide the
factory it asks for; pytest then runs every check against your implementation. These modules
import pytest, which is in the ``test`` extra (``ManualClock`` does not).
"""

from honed.testing.clock import ManualClock

__all__ = ["ManualClock"]
