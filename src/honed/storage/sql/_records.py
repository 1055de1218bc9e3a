"""Rows to trial records and back: JSON columns, timestamps, report rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from honed._frozen import EMPTY, FrozenDict, freeze
from honed.space import distribution_from_json
from honed.storage.sql._tables import SQL_INTERMEDIATE
from honed.trial import FrozenTrial, TrialState

__all__ = ["DamagedRecord", "decoded", "dumps", "parse_distributions", "rows_to_trials", "ts"]

# Where schema version 1 kept what are now report-row columns: trial system attributes keyed
# by step. Its databases are upgraded in place without moving them, so they are read from there.
V1_REPORT_SECONDS = "report_seconds"
V1_REPORT_VECTORS = "intermediate_vectors"


_DECODE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)


class DamagedRecord(Exception):  # noqa: N818 - internal; surfaces as StorageError
    """A row honed wrote cannot be decoded: the database is damaged (see SQLBase._retry)."""


@contextmanager
def decoded(what: str) -> Iterator[None]:
    """Turn a failure to decode ``what`` (bad JSON, an unknown state, ...) into
    :class:`DamagedRecord`."""
    try:
        yield
    except _DECODE_ERRORS as e:
        raise DamagedRecord(f"{what}: {type(e).__name__}: {e}") from e


def dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), allow_nan=False)


@lru_cache(maxsize=4096)
def parse_distributions(text: str) -> FrozenDict:
    return FrozenDict({k: distribution_from_json(v) for k, v in json.loads(text).items()})


# Trial records are deeply read-only, so identical attributes (``{}`` above all, or the same
# heartbeat attr on every trial) can be one shared object: a long study's cache holds
# hundreds of bytes less per trial.
NO_REPORTS = EMPTY


@lru_cache(maxsize=1024)
def _parse_attrs_cached(text: str) -> FrozenDict:
    return freeze(json.loads(text))


def parse_attrs(text: str) -> FrozenDict:
    if len(text) > 256:  # long, probably unique values: not worth a cache slot
        return freeze(json.loads(text))
    return _parse_attrs_cached(text)


def ts(x: float | None) -> datetime | None:
    if x is None:
        return None
    try:
        return datetime.fromtimestamp(x, UTC)
    except OSError as e:  # a time the platform cannot represent: not one honed wrote
        raise ValueError(f"timestamp {x!r}: {e}") from None


def rows_to_trials(conn: Connection, rows: Sequence[Any]) -> list[FrozenTrial]:
    """Trial records from ``trials`` rows, with their reports read in the same transaction."""
    if not rows:
        return []
    ids = [r.trial_id for r in rows]
    # Each trial's reports go straight into the read-only dicts its record keeps.
    inter: dict[int, FrozenDict] = {}
    vectors: dict[int, FrozenDict] = {}
    seconds: dict[int, FrozenDict] = {}
    put = dict.__setitem__
    for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[i : i + 900]
        for tid, step, value, secs, vec in conn.execute(SQL_INTERMEDIATE, {"ids": chunk}):
            if vec is not None:
                with decoded(f"a report of trial id {tid}"):
                    put(_of(vectors, tid), step, tuple(json.loads(vec)))
            else:
                put(_of(inter, tid), step, float("nan") if value is None else value)
            if secs is not None:
                put(_of(seconds, tid), step, secs)
    out: list[FrozenTrial] = []
    try:
        for r in rows:
            out.append(_row_to_trial(r, inter, vectors, seconds))
    except _DECODE_ERRORS as e:
        raise DamagedRecord(f"trial id {rows[len(out)].trial_id}: {type(e).__name__}: {e}") from e
    return out


def _of(reports: dict[int, FrozenDict], trial_id: int) -> FrozenDict:
    found = reports.get(trial_id)
    if found is None:
        found = reports[trial_id] = FrozenDict()
    return found


def _row_to_trial(
    r: Any,
    inter: dict[int, FrozenDict],
    vectors: dict[int, FrozenDict],
    seconds: dict[int, FrozenDict],
) -> FrozenTrial:
    system_attrs = parse_attrs(r.system_attrs_json)
    return FrozenTrial(
        number=r.number,
        state=TrialState(r.state),
        params=json.loads(r.params_json),
        distributions=parse_distributions(r.distributions_json),
        values=None if r.values_json is None else tuple(json.loads(r.values_json)),
        intermediate_values=inter.get(r.trial_id, NO_REPORTS),
        constraints=None if r.constraints_json is None else tuple(json.loads(r.constraints_json)),
        user_attrs=parse_attrs(r.user_attrs_json),
        system_attrs=system_attrs,
        datetime_start=ts(r.started_at),
        datetime_complete=ts(r.completed_at),
        trial_id=r.trial_id,
        report_seconds=seconds.get(r.trial_id)
        or _v1_reports(system_attrs, V1_REPORT_SECONDS, float),
        intermediate_vectors=vectors.get(r.trial_id)
        or _v1_reports(system_attrs, V1_REPORT_VECTORS, _vector),
    )


def _vector(raw: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in raw)


def _v1_reports(attrs: Mapping[str, Any], key: str, convert: Callable[[Any], Any]) -> dict:
    """``step -> value`` from a schema-version-1 system attribute (empty when absent)."""
    legacy = attrs.get(key)
    if not legacy:
        return NO_REPORTS
    return {int(step): convert(v) for step, v in legacy.items()}
