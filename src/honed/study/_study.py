"""The study: the trial lifecycle (ask, tell, optimize), the one place that talks to both
storage and samplers."""

from __future__ import annotations

import difflib
import logging
import math
import reprlib
import threading
import time
import traceback
import uuid
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from honed._migration import STUDY_HINTS, attribute_error, hint_bad_keywords
from honed.artifacts import (
    ArtifactStore,
    Checkpoints,
    default_artifact_store,
    delete_study_artifacts,
    get_artifact_store,
)
from honed.errors import DuplicatedStudyError, SpaceError, StudyError, StudyNotFoundError
from honed.history import History, Source
from honed.objective import Objective
from honed.samplers import Sampler, get_sampler
from honed.schedulers import SuccessiveHalving, get_scheduler
from honed.schedulers.base import Scheduler
from honed.space import (
    Choice,
    Distribution,
    ParamValue,
    SearchSpace,
    flatten_space,
    normalize_space,
)
from honed.storage import Storage, get_storage
from honed.storage.base import HEARTBEAT_ATTR, retry_attrs
from honed.storage.memory import InMemoryStorage
from honed.study._heartbeat import FaultPolicy
from honed.study._optimize import run_optimize
from honed.study._repeats import SeenConfigs, guard_rng
from honed.study._trial import LocalTrial
from honed.study._warm import PART_OF_ATTR, load_sources, parse_sources, store_sources
from honed.study._warm import add_trials as _add_trials
from honed.trial import Direction, FrozenTrial, TrialState

if TYPE_CHECKING:
    from honed.execution import Executor

__all__ = ["PART_OF_ATTR", "Study", "create_study", "delete_study", "load_study"]


logger = logging.getLogger("honed")

# Random walks of a declared space tried when a proposal repeats a configuration.
_REWALKS = 20


class Study:
    """A named set of trials in a storage, with the sampler that proposes them.

    Create one with :func:`honed.create_study` or :func:`honed.load_study`.
    """

    def __init__(
        self,
        name: str,
        storage: Storage,
        sampler: Sampler,
        scheduler: Scheduler | None = None,
        faults: FaultPolicy | None = None,
        noisy: bool = False,
    ) -> None:
        self.name = name
        self._storage = storage
        self.sampler = sampler
        self.scheduler = scheduler
        self._study_id = storage.get_study_id(name)
        self.directions = storage.get_study_directions(self._study_id)
        # The cache: trials as a list indexed by number (numbers are dense), so building the
        # History of a long study is one copy instead of a sort; and whether any is WAITING.
        self._ordered: list[FrozenTrial | None] = []
        self._gaps = 0
        self._waiting = False
        self._cache_seq = 0
        self._lean_seq = 0
        self._cache_lock = threading.Lock()
        self._stop_flag = threading.Event()
        # Trials asked here and not told yet, so tell(number) finds the live trial.
        self._live: weakref.WeakValueDictionary[int, LocalTrial] = weakref.WeakValueDictionary()
        self.faults = faults or FaultPolicy(heartbeat_interval=None)
        self._last_stale_check = 0.0
        self._artifacts: ArtifactStore | None = None
        self._sources: tuple[Source, ...] | None = None
        #: Whether the objective is noisy: then a sampled configuration may repeat one the
        #: study has (a new measurement of it); otherwise the study never samples one twice.
        self.noisy = bool(noisy)
        # Every trial's configuration, for the guard against repeats (honed.study._repeats).
        self._seen = SeenConfigs()
        self._repeat_logged = False

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, storage={self._storage!r}, sampler={self.sampler!r})"

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: name Optuna's spelling's honed twin.
        raise attribute_error("Study", name, STUDY_HINTS)

    def _repr_html_(self) -> str:
        """A summary and the latest trials as a table in Jupyter."""
        from honed._display import study_html

        history = self._history()
        return study_html(
            self.name,
            self.directions,
            list(history),
            history.best_trials(),
            self.sampler,
            self.scheduler,
        )

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame, a row per trial: ``number``, ``value`` (or
        ``values_0``, ... with several objectives), ``datetime_start``,
        ``datetime_complete``, ``duration``, ``params_<name>``, ``user_attrs_<key>`` and
        ``state``. Needs pandas."""
        from honed._display import trials_dataframe

        return trials_dataframe(self.trials, self.directions)

    # ---- reading ---------------------------------------------------------------------------
    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def artifact_store(self) -> ArtifactStore:
        """Where checkpoints and other files of this study live: by default a folder
        ``<db name>-artifacts`` beside a SQLite file, a temporary folder in memory."""
        if self._artifacts is None:
            self._artifacts = default_artifact_store(self._storage)
        return self._artifacts

    @property
    def checkpoints(self) -> Checkpoints:
        """Per-trial checkpoints (``trial.save_checkpoint``) on :attr:`artifact_store`."""
        return Checkpoints(self.artifact_store, self.name)

    @property
    def direction(self) -> Direction:
        if len(self.directions) != 1:
            raise StudyError("this study has several objectives; use .directions.")
        return self.directions[0]

    @property
    def is_multi_objective(self) -> bool:
        return len(self.directions) > 1

    def _history(self) -> History:
        """All trials, read incrementally: finished trials never change, so only unfinished
        ones and those finished since the last read come from storage."""
        with self._cache_lock:
            changed, seq = self._storage.get_trials_since(self._study_id, self._cache_seq)
            ordered = self._ordered
            for t in changed:
                if t.number >= len(ordered):
                    self._gaps += t.number - len(ordered)
                    ordered.extend([None] * (t.number + 1 - len(ordered)))
                elif ordered[t.number] is None:
                    self._gaps -= 1
                ordered[t.number] = t
            self._seen.update(changed)
            self._cache_seq = seq
            # Every unfinished trial comes back on each read, so this is exact.
            self._waiting = any(t.state is TrialState.WAITING for t in changed)
            trials = ordered if self._gaps == 0 else [t for t in ordered if t is not None]
            return History(trials, self.directions, self.sources)  # type: ignore[arg-type]

    def _decision_history(self) -> History:
        """What the sampler decides from at ``ask``. A sampler that declares it needs no
        finished trials (``needs_history = False``, as random search does) gets only the
        unfinished ones, when no scheduler needs more: a worker then caches nothing, and its
        memory stays flat however long the study runs."""
        if self.scheduler is not None or getattr(self.sampler, "needs_history", True):
            return self._history()
        with self._cache_lock:
            changed, self._lean_seq = self._storage.get_trials_since(self._study_id, self._lean_seq)
            self._seen.update(changed, lean=True)
            unfinished = [t for t in changed if not t.state.is_finished]
            self._waiting = any(t.state is TrialState.WAITING for t in unfinished)
        return History(unfinished, self.directions, self.sources)

    @property
    def sources(self) -> tuple[Source, ...]:
        """The warm-start sources (``create_study(warm_start=...)``) samplers learn from, as
        copied into this study's storage; empty when the study was started cold."""
        if self._sources is None:
            self._sources = load_sources(self._storage, self._study_id)
        return self._sources

    def add_trials(
        self, trials: Sequence[FrozenTrial], *, space: Mapping[str, Distribution] | None = None
    ) -> list[FrozenTrial]:
        """Add finished trials made elsewhere (another study's, any storage, or built by
        hand as ``honed.FrozenTrial``) to this study, as if run here: samplers learn from
        them and ``best_trial`` counts them. One transaction: all are added or, if one is
        bad, none (the ValueError names each bad trial and the fix).

        Each needs a finished state; a COMPLETE one a finite value per direction; every
        parameter a distribution holding its value, its own or, with ``space`` (a dict of
        ``honed.Float/Int/Choice``), the space's (parameters outside it are refused).
        Numbers and ids are new; everything else is kept. Returns the added records."""
        return _add_trials(self, trials, space)

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, ordered by number, as immutable records."""
        return list(self._history())

    def get_trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        if states is None:
            return self.trials
        wanted = set(states)
        return [t for t in self._history() if t.state in wanted]

    @property
    def best_trial(self) -> FrozenTrial:
        """The best complete (and feasible) trial of a single-objective study."""
        if self.is_multi_objective:
            raise StudyError(
                "best_trial is for single-objective studies; this one has "
                f"{len(self.directions)} objectives, so use best_trials (the Pareto front)."
            )
        history = self._history()
        best = history.best_trial()
        if best is None:
            raise StudyError(
                f"study {self.name!r} has no complete feasible trial yet{_why(history)}"
            )
        return best

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> dict[str, ParamValue]:
        return dict(self.best_trial.params)

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The feasible Pareto front (for one objective: every trial tied for the best)."""
        return self._history().best_trials()

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self._storage.get_study_user_attrs(self._study_id)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._storage.set_study_user_attr(self._study_id, key, value)

    # ---- ask and tell ----------------------------------------------------------------------
    def enqueue(self, params: Mapping[str, ParamValue], *, skip_if_exists: bool = False) -> None:
        """Try ``params`` in a coming trial before any sampled configuration. Parameters the
        objective asks for but ``params`` lacks are sampled as usual."""
        if not isinstance(params, Mapping):
            raise TypeError(f"enqueue needs a dict of parameter values, got {params!r}.")
        clean = {k: _param_value(k, v) for k, v in params.items()}
        if skip_if_exists:
            for t in self._history():
                if all(k in t.params and _same_value(t.params[k], v) for k, v in clean.items()):
                    return
        self._storage.create_trial(self._study_id, state=TrialState.WAITING, params=clean)

    def ask(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        fixed_params: Mapping[str, ParamValue] | None = None,
    ) -> LocalTrial:
        """Start a trial. With a declarative ``space`` (a dict of ``honed.Float/Int/Choice``,
        branches allowed) its parameters are sampled now and are in ``trial.params``.

        ``fixed_params`` (``name -> value``): these parameters take the given values, checked
        against the range they are asked from, and are recorded in ``trial.params`` like
        sampled ones; the sampler, whichever it is, searches the others (its joint model
        leaves the fixed ones out).
        """
        tree = normalize_space(space) if space is not None else None
        declared = flatten_space(tree) if tree is not None else None
        fixed = check_fixed_params(fixed_params, declared, self.sampler)
        self._check_stale()
        history = self._decision_history()
        frozen = None
        if self._waiting:
            frozen = self._storage.claim_waiting_trial(self._study_id)
        if frozen is None:
            frozen = self._storage.create_trial(self._study_id, system_attrs=self._beat_attrs())
        elif self._beat_attrs() and HEARTBEAT_ATTR not in frozen.system_attrs:
            # An enqueued trial: mark it as beating, so it can go stale if this worker dies.
            interval = self.faults.heartbeat_interval
            self._storage.set_trial_system_attr(frozen.trial_id, HEARTBEAT_ATTR, interval)
            frozen = replace(frozen, system_attrs={**frozen.system_attrs, HEARTBEAT_ATTR: interval})
        trial = LocalTrial(self, frozen, fixed_params=fixed)
        trial._history = history
        snapshot = trial._snapshot()
        relative_space = self.sampler.infer_relative_space(history, snapshot, declared)
        if fixed and any(k in fixed for k in relative_space):
            # The sampler's joint model searches the parameters left free.
            relative_space = SearchSpace(
                {k: d for k, d in relative_space.items() if k not in fixed}
            )
        relative: dict[str, ParamValue] = {}
        if len(relative_space):
            relative = self.sampler.sample_relative(history, snapshot, relative_space)
        trial._relative = relative
        if tree is not None:
            trial._buffered = {}
            try:
                _walk(trial, tree)
                if trial._repeated and not frozen.params:
                    self._walk_afresh(trial, tree)
                if trial._repeated:
                    self._note_repeat(trial.number, trial._repeated)
            except BaseException:
                self._storage.finish_trial(
                    frozen.trial_id,
                    TrialState.FAILED,
                    system_attrs={
                        "fail_reason": "sampling failed: " + traceback.format_exc(limit=3)
                    },
                )
                raise
            buffered, trial._buffered = trial._buffered, None
            if buffered:
                trial._write_params(buffered)  # one write for the whole declared space
        self._live[frozen.trial_id] = trial
        return trial

    def _walk_afresh(self, trial: LocalTrial, tree: Mapping[str, Any]) -> None:
        """Sample a declared space again, uniformly at random, until the configuration is
        one no trial has: the sampler's proposal repeated one and no single parameter could
        be changed to avoid it (every value of the last one was taken)."""
        seed = getattr(self.sampler, "seed", None)
        for attempt in range(_REWALKS):
            trial._params.clear()
            trial._distributions.clear()
            trial._items.clear()
            trial._buffered = {}
            trial._repeated = None
            trial._uniform = guard_rng(seed, trial.number, f"walk {attempt}")
            _walk(trial, tree)
            if not trial._repeated:
                break
        trial._uniform = None

    def _note_repeat(self, number: int, name: str) -> None:
        """Log (once per study) that a trial repeats a configuration for want of another."""
        if self._repeat_logged:
            return
        self._repeat_logged = True
        logger.warning(
            "trial %d repeats the configuration of an earlier trial: every value of %r that "
            "goes with its other parameters was already tried, so the search space looks "
            "exhausted (logged once per study). Stop the study or widen the space; if the "
            "objective is noisy and a repeat is a new measurement, create the study with "
            "noisy=True.",
            number,
            name,
        )

    def fail_stale_trials(self) -> list[FrozenTrial]:
        """Fail (and, with ``retries``, re-enqueue) RUNNING trials whose worker stopped sending
        heartbeats more than ``grace_period`` seconds ago. ``ask`` does this at most once per
        heartbeat interval; call it to check now. Needs ``heartbeat_interval``."""
        policy = self.faults
        if policy.stale_after is None:
            raise StudyError(
                "stale trials are detected by heartbeats, which this study has off; create or "
                "load it with faults=honed.FaultPolicy(heartbeat_interval=...)."
            )
        self._last_stale_check = time.monotonic()
        return self._storage.fail_stale_trials(self._study_id, policy.stale_after, policy.retries)

    def _beat_attrs(self) -> dict[str, Any] | None:
        """System attrs of a trial this worker will send heartbeats for."""
        interval = self.faults.heartbeat_interval
        return None if interval is None else {HEARTBEAT_ATTR: interval}

    def _check_stale(self) -> None:
        interval = self.faults.heartbeat_interval
        if interval is not None and time.monotonic() - self._last_stale_check >= interval:
            self.fail_stale_trials()

    def _retry(self, frozen: FrozenTrial) -> FrozenTrial | None:
        """Enqueue the next attempt of a failed trial if the policy allows one."""
        attrs = retry_attrs(frozen, self.faults.retries)
        if attrs is None:
            return None
        return self._storage.create_trial(
            self._study_id,
            state=TrialState.WAITING,
            params=frozen.params,
            distributions=frozen.distributions,
            system_attrs=attrs,
        )

    def tell(
        self,
        trial: LocalTrial | int,
        values: float | Sequence[float] | None = None,
        state: TrialState | None = None,
        *,
        fail_reason: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial with its objective value(s), or as PRUNED or FAILED.

        A value that is NaN, infinite or not a number fails the trial with a reason, as does a
        wrong count of values; the study goes on. Returns the finished record.
        """
        return self._finish(trial, values, state, fail_reason=fail_reason)

    def _finish(
        self,
        trial: LocalTrial | int,
        values: Any = None,
        state: TrialState | None = None,
        *,
        fail_reason: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        warn: bool = True,
    ) -> FrozenTrial:
        """:meth:`tell`, with system attributes to store beside (a traceback) and without the
        warning for a bad value when the caller logs it itself."""
        trial_id = self._trial_id_of(trial)
        live = trial if isinstance(trial, LocalTrial) else self._live.get(trial_id)
        extra: dict[str, Any] = dict(attrs or {})
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAILED
            if values is None:
                extra["fail_reason"] = fail_reason or "tell() was given no value."
        stored: list[float] | None = None
        problem: str | None = None
        if state is TrialState.COMPLETE:
            stored, problem = self._check_values(values)
            if problem is not None:
                state, stored = TrialState.FAILED, None
                extra["fail_reason"] = problem
        elif state is TrialState.PRUNED:
            if values is not None:
                stored, problem = self._check_values(values)
            elif not self.is_multi_objective:
                last = (
                    live._intermediate
                    if live is not None
                    else self._storage.get_trial(trial_id).intermediate_values
                )
                finite = [v for _, v in sorted(last.items()) if math.isfinite(v)]
                stored = [finite[-1]] if finite else None
        elif state is TrialState.FAILED:
            extra["fail_reason"] = fail_reason or extra.get("fail_reason") or "failed"
        else:
            raise ValueError(f"tell() needs COMPLETE, PRUNED or FAILED, not {state.name}.")
        if live is not None:
            live._told = True
        frozen = self._storage.finish_trial(trial_id, state, stored, system_attrs=extra)
        self._live.pop(trial_id, None)
        if problem is not None and warn:
            # After the write, so a warnings-as-errors setup cannot leave the trial RUNNING.
            warnings.warn(f"trial {frozen.number} failed: {problem}", stacklevel=3)
        return frozen

    def _check_values(self, values: Any) -> tuple[list[float] | None, str | None]:
        """The objective's value(s) as finite floats, or why not (the trial then fails)."""
        n = len(self.directions)
        if values is None:
            return None, "the objective returned None; return its value (a number)."
        if isinstance(values, np.ndarray):
            if values.ndim > 1:
                return None, f"the objective returned an array of shape {values.shape}."
            values = values.reshape(-1).tolist()
        elif isinstance(values, str | bytes) or not isinstance(values, Sequence):
            values = [values]
        if len(values) != n:
            shown = reprlib.repr(list(values))
            return None, (
                f"the objective returned {len(values)} value(s) but the study has {n} "
                f"direction(s): {shown}."
            )
        out = []
        for v in values:
            f, problem = _as_number(v)
            if problem is not None:
                return None, problem
            out.append(f)
        return out, None

    def _trial_id_of(self, trial: LocalTrial | int) -> int:
        if isinstance(trial, LocalTrial):
            return trial._trial_id
        if isinstance(trial, int):
            for t in self._history():
                if t.number == trial:
                    return t.trial_id
            raise ValueError(f"study {self.name!r} has no trial number {trial}.")
        raise TypeError(f"tell() needs a Trial or a trial number, got {type(trial).__name__}.")

    # ---- optimize --------------------------------------------------------------------------
    @hint_bad_keywords
    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: tuple[type[BaseException], ...] = (Exception,),
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
        show_progress: bool = True,
        executor: str | Executor = "auto",
        space: Mapping[str, Any] | None = None,
        fixed_params: Mapping[str, ParamValue] | None = None,
    ) -> None:
        """Run ``objective`` on new trials until ``n_trials`` more have run or ``timeout``
        seconds have passed (or ``study.stop()`` is called, or a grid is exhausted).

        Args:
            objective: Takes a :class:`Trial`, returns a number (a list of numbers for a
                multi-objective study).
            n_trials: How many trials to run in this call; ``None`` for no limit.
            timeout: Stop starting trials after this many seconds.
            n_jobs: Workers running trials at once; ``-1`` for one per CPU.
            catch: Exceptions of the objective recorded as a failed trial without stopping
                the study. Pass ``()`` to stop at the first error.
            callbacks: Called with ``(study, finished_trial)`` after each trial, in this
                process.
            show_progress: Show a progress bar when the output is a terminal.
            executor: Where objectives run: ``"auto"`` (default: inline for one job; worker
                processes for several, or threads with in-memory storage), ``"inline"``,
                ``"thread"``, ``"process"``, ``"ray"``, or an
                :class:`honed.execution.Executor` such as ``RayExecutor(address=...)``.
                Whatever the executor, this process samples and records every trial:
                objectives elsewhere get a :class:`honed.execution.RemoteTrial` whose calls
                come back here.
            space: A declarative space (a dict of ``honed.Float/Int/Choice``): each trial's
                parameters are sampled from it when the trial starts, as ``ask(space)``.
            fixed_params: ``name -> value`` given to every trial (as ``ask(fixed_params=)``):
                the objective gets these values when it asks for these names, checked
                against the range it asks with, and the sampler searches the rest. A value
                outside that range stops the call after the first trial (recorded as failed).
        """
        run_optimize(
            self,
            objective,
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            catch=catch,
            callbacks=list(callbacks or []),
            show_progress=show_progress,
            executor=executor,
            space=space,
            fixed_params=fixed_params,
        )

    def stop(self) -> None:
        """Ask a running ``optimize`` to start no new trial."""
        self._stop_flag.set()


def _describe(store: Storage) -> str:
    return "this in-memory storage" if isinstance(store, InMemoryStorage) else repr(store)


def _why(history: History) -> str:
    """Why a study has no best trial, when its trials say so."""
    failed = [t for t in history if t.state is TrialState.FAILED]
    if not failed or len(failed) != len(history):
        return "."
    reasons = Counter(t.fail_reason or "?" for t in failed)
    reason, count = reasons.most_common(1)[0]
    return f": all {len(failed)} of its trials failed, {count} of them with {reason}"


def _as_number(v: Any) -> tuple[float, str | None]:
    """A finite float from an objective value (Python and numpy numbers), or why not.
    Booleans and strings are not numbers, even though ``float()`` accepts them."""
    shown = reprlib.repr(v)
    if isinstance(v, bool | np.bool_ | str | bytes):
        return 0.0, f"the objective returned {shown} ({type(v).__name__}), not a number."
    try:
        f = float(v)
    except OverflowError:
        return 0.0, f"the objective returned {shown}, too large for a float."
    except Exception as e:  # TypeError, ValueError, or whatever a __float__ raises
        return 0.0, (
            f"the objective returned {shown} ({type(v).__name__}), not a number "
            f"({type(e).__name__}: {e})."
        )
    if not math.isfinite(f):
        return 0.0, f"the objective returned {f}, which is not a finite number."
    return f, None


def _param_value(name: str, value: Any, what: str = "enqueued") -> ParamValue:
    """An enqueued (or fixed) value as storage keeps it (numpy scalars become Python ones)."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, str | int | float | bool | None) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise SpaceError(
            f"{what} value {value!r} of parameter {name!r} must be a finite number, a "
            "string, a bool or None."
        )
    return value


def check_fixed_params(
    fixed_params: Mapping[str, Any] | None,
    declared: Mapping[str, Distribution] | None,
    sampler: Sampler,
) -> dict[str, ParamValue]:
    """``fixed_params`` as trials take them, checked where they enter: each value against
    its declared distribution when a space is declared (a define-by-run objective's ranges
    are known only when it asks, and are checked then)."""
    if fixed_params is None:
        return {}
    if not isinstance(fixed_params, Mapping):
        raise TypeError(
            f"fixed_params must be a dict of parameter values such as {{'lr': 1e-3}}, got "
            f"{type(fixed_params).__name__}."
        )
    fixed: dict[str, ParamValue] = {}
    for name, value in fixed_params.items():
        if not isinstance(name, str) or not name:
            raise SpaceError(f"fixed_params names must be non-empty strings, got {name!r}.")
        fixed[name] = _param_value(name, value, "fixed")
    if declared is not None:
        unknown = [k for k in fixed if k not in declared]
        if unknown:
            raise SpaceError(
                f"fixed_params names {unknown} that the space does not declare; the space has "
                f"{list(declared)}."
            )
        for name, value in fixed.items():
            dist = declared[name]
            if not dist.contains(value):
                raise SpaceError(
                    f"fixed value {value!r} of parameter {name!r} is outside {dist}, its "
                    "declared range; fix it to a value inside, or widen the space."
                )
    gridded = getattr(sampler, "grid_names", ())
    clash = [k for k in fixed if k in gridded]
    if clash:
        raise SpaceError(
            f"fixed_params fixes {clash}, which {type(sampler).__name__} enumerates; build "
            "the grid without them (it then runs each grid point with the fixed values)."
        )
    return fixed


def _same_value(a: Any, b: Any) -> bool:
    """Equality that tells True from 1, as Choice does."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _walk(trial: LocalTrial, tree: Mapping[str, Distribution]) -> None:
    for name, dist in tree.items():
        value = trial.suggest(name, _strip(dist))
        if isinstance(dist, Choice) and dist.branches:
            branch = dist.branches.get(value)
            if branch:
                _walk(trial, branch)


def _strip(dist: Distribution) -> Distribution:
    return Choice(dist.choices) if isinstance(dist, Choice) and dist.branches else dist


def _parse_directions(
    direction: str | Direction | None, directions: Sequence[str | Direction] | None
) -> tuple[Direction, ...]:
    if direction is not None and directions is not None:
        raise ValueError("give direction= or directions=, not both.")
    if directions is not None:
        if isinstance(directions, str) or not directions:
            raise ValueError(
                f"directions must be a non-empty list such as ['minimize', 'maximize'], got "
                f"{directions!r}."
            )
        return tuple(Direction.parse(d) for d in directions)
    return (Direction.parse(direction or "minimize"),)


@hint_bad_keywords
def create_study(
    name: str | None = None,
    storage: str | Path | Storage | None = None,
    *,
    direction: str | Direction | None = None,
    directions: Sequence[str | Direction] | None = None,
    sampler: Sampler | str | None = None,
    scheduler: Scheduler | str | None = None,
    seed: int | None = None,
    load_if_exists: bool = False,
    faults: FaultPolicy | None = None,
    artifacts: ArtifactStore | str | Path | None = None,
    warm_start: Study | Sequence[Study] | Sequence[FrozenTrial] | None = None,
    noisy: bool | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists=True``).

    Args:
        name: Unique within the storage; a random name when ``None``.
        storage: ``None`` for in memory, ``"sqlite:///honed.db"``, a path to a ``.db`` file,
            ``"postgresql://..."``, or a :class:`~honed.storage.Storage`.

    What to optimize:
        direction: ``"minimize"`` (default) or ``"maximize"``.
        directions: One direction per objective, for multi-objective studies.

    How to search:
        sampler: A :class:`~honed.samplers.Sampler` or a name (``"random"``, ``"tpe"``, ...).
            ``None``: the :class:`~honed.samplers.AutoSampler`; beside successive halving,
            ASHA or Hyperband (one objective), TPE seen through a
            :class:`~honed.samplers.MultiFidelitySampler`, which learns from every rung a
            stopped trial reached.
        scheduler: Early-stopping scheduler consulted at each ``trial.report``, or its name
            (``"median"``, ``"asha"``, ``"hyperband"``, ``"pbt"``, ...).
        seed: Seed for a sampler given by name or left to the default.
        warm_start: Earlier studies to learn from: a :class:`Study` (any storage), a list
            of them, or a list of :class:`~honed.FrozenTrial` (e.g. built by hand; checked
            as ``add_trials`` checks them). The default sampler, TPE and GP use them
            (``docs/warm-start.md``), weighted by how well each ranks this study's own
            trials, so an unrelated source is dropped. Their
            finished trials are copied into this study's storage (studies named
            ``'<name>:warm-start:<i>'``, deleted with it), so a resumed study keeps them.
            Parameters the source lacks are sampled as usual; ones this study lacks, and
            values outside its ranges, are ignored.
        noisy: Whether the objective's value changes from run to run of one configuration
            (a random split, an unseeded model). By default (``False``) the study never
            samples a configuration it already has, whatever the sampler: a repeat of a
            deterministic objective only wastes a trial. ``True`` lets a sampler propose one
            again, as a new measurement. Stored with a new study; ``None``: the stored
            setting of an existing study, else ``False``.

    Where it lives:
        load_if_exists: Load the study if the name exists instead of raising.
        faults: Heartbeats, stale trials and retries (:class:`~honed.FaultPolicy`). Stored
            with a new study; ``None``: the stored policy of an existing study, else the
            default (heartbeats on for a database, off in memory).
        artifacts: Where checkpoints go: an :class:`~honed.artifacts.ArtifactStore` or a
            folder; by default a folder beside a SQLite file.
    """
    if faults is not None and not isinstance(faults, FaultPolicy):
        raise TypeError(
            f"faults must be a honed.FaultPolicy, got {type(faults).__name__}; e.g. "
            "faults=honed.FaultPolicy(retries=2)."
        )
    dirs = _parse_directions(direction, directions)
    store = get_storage(storage)
    if name is None:
        name = f"study-{uuid.uuid4().hex[:10]}"
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a study name must be a non-empty string, got {name!r}.")
    sources = None if warm_start is None else parse_sources(warm_start, dirs)
    try:
        study_id = store.create_study(name, dirs)
        if faults is not None:
            store.set_study_system_attr(study_id, _FAULTS_ATTR, faults.to_dict())
        if noisy is not None:
            store.set_study_system_attr(study_id, _NOISY_ATTR, _check_noisy(noisy))
    except DuplicatedStudyError:
        if not load_if_exists:
            raise
        study_id = store.get_study_id(name)
        existing = store.get_study_directions(study_id)
        if existing != dirs and (direction is not None or directions is not None):
            raise StudyError(
                f"study {name!r} exists with directions {[d.value for d in existing]}, not "
                f"{[d.value for d in dirs]}; use another name or the same directions."
            ) from None
    if sources is not None:
        _attach_sources(store, name, study_id, sources)
    faults = _faults_of(store, study_id, faults)
    sched = get_scheduler(scheduler)
    study = Study(
        name,
        store,
        _sampler_for(sampler, sched, seed, len(dirs)),
        sched,
        faults,
        _noisy_of(store, study_id, noisy),
    )
    if artifacts is not None:
        study._artifacts = get_artifact_store(artifacts)
    return study


def _attach_sources(store: Storage, name: str, study_id: int, sources: list[Any]) -> None:
    """Record ``sources`` with the study, unless a loaded study has sources already."""
    from honed.study._warm import WARM_START_ATTR

    if store.get_study_system_attrs(study_id).get(WARM_START_ATTR):
        logging.getLogger("honed.warm_start").info(
            "warm start: study %r has its sources already; the warm_start given is ignored.",
            name,
        )
        return
    store_sources(store, name, study_id, sources)


def _sampler_for(
    sampler: Sampler | str | None, scheduler: Scheduler | None, seed: int | None, n_objectives: int
) -> Sampler:
    """The study's sampler. Left to the default beside successive halving (SH, ASHA,
    Hyperband), it is TPE seen through a :class:`~honed.samplers.MultiFidelitySampler`:
    most trials stop at a low rung there, and that sampler models every rung they reached,
    where the AutoSampler models finished trials only (the measurement: the bench results'
    multi-fidelity table)."""
    if sampler is None and n_objectives == 1 and isinstance(scheduler, SuccessiveHalving):
        # (loaded on first use, as honed.samplers does: they pull in scipy)
        from honed.samplers import MultiFidelitySampler
        from honed.samplers.tpe import TPESampler

        return MultiFidelitySampler(TPESampler(seed=seed), scheduler)
    return get_sampler(sampler, seed=seed)


@hint_bad_keywords
def load_study(
    name: str,
    storage: str | Path | Storage,
    *,
    sampler: Sampler | str | None = None,
    scheduler: Scheduler | str | None = None,
    seed: int | None = None,
    faults: FaultPolicy | None = None,
    artifacts: ArtifactStore | str | Path | None = None,
    noisy: bool | None = None,
) -> Study:
    """Load an existing study; raises :class:`~honed.errors.StudyNotFoundError`. The
    arguments are those of :func:`create_study`; without ``faults`` or ``noisy``, the
    study's stored settings."""
    store = get_storage(storage)
    try:
        study_id = store.get_study_id(name)
    except StudyNotFoundError:
        names = sorted(s.name for s in store.list_studies())
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
        raise StudyNotFoundError(
            f"no study named {name!r} in {_describe(store)}.{hint} "
            + (f"Studies there: {shown}." if names else "That storage has no study yet.")
        ) from None
    faults = _faults_of(store, study_id, faults)
    sched = get_scheduler(scheduler)
    n_objectives = len(store.get_study_directions(study_id))
    study = Study(
        name,
        store,
        _sampler_for(sampler, sched, seed, n_objectives),
        sched,
        faults,
        _noisy_of(store, study_id, noisy),
    )
    if artifacts is not None:
        study._artifacts = get_artifact_store(artifacts)
    return study


_FAULTS_ATTR = "fault_policy"
_NOISY_ATTR = "noisy"


def _check_noisy(noisy: Any) -> bool:
    if not isinstance(noisy, bool):
        raise TypeError(
            f"noisy must be True or False, got {noisy!r}; True when a configuration's value "
            "changes from run to run."
        )
    return noisy


def _noisy_of(store: Storage, study_id: int, given: bool | None) -> bool:
    """The caller's setting if it gave one, else the study's stored one, else False."""
    if given is not None:
        return _check_noisy(given)
    return bool(store.get_study_system_attrs(study_id).get(_NOISY_ATTR, False))


def _faults_of(store: Storage, study_id: int, given: FaultPolicy | None) -> FaultPolicy:
    """The caller's policy if it gave one, else the study's stored one, else the default:
    heartbeats on for storage other processes can share, off in memory."""
    if given is not None:
        return given
    stored = store.get_study_system_attrs(study_id).get(_FAULTS_ATTR)
    if stored:
        return FaultPolicy.from_dict(stored)
    if isinstance(store, InMemoryStorage):
        return FaultPolicy(heartbeat_interval=None)
    return FaultPolicy()


def delete_study(
    name: str,
    storage: str | Path | Storage,
    *,
    artifacts: ArtifactStore | str | Path | None = None,
) -> None:
    """Delete a study, all its trials, its artifacts (checkpoints, saved soups) and the
    studies kept on its behalf (``PART_OF_ATTR``: its confirmation runs). Artifacts go
    first, so a new study of the same name never finds old checkpoints; ``artifacts`` is the
    store, by default the one a study on ``storage`` uses."""
    store = get_storage(storage)
    study_id = store.get_study_id(name)
    parts = [
        s.name
        for s in store.list_studies()
        if store.get_study_system_attrs(s.study_id).get(PART_OF_ATTR) == name
    ]
    where = default_artifact_store(store) if artifacts is None else get_artifact_store(artifacts)
    delete_study_artifacts(where, name)
    store.delete_study(study_id)
    for part in parts:
        delete_study(part, store, artifacts=where)
