"""Rows to trial records and back: JSON columns, timestamps, report rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from honed.space import Distribution, distribution_from_json
from honed.storage.sql._tables import SQL_INTERMEDIATE
from honed.trial import FrozenTrial, TrialState

__all__ = ["dumps", "parse_distributions", "rows_to_trials", "ts"]

# Where schema version 1 kept what are now report-row columns: trial system attributes keyed
# by step. Its databases are upgraded in place without moving them, so they are read from there.
V1_REPORT_SECONDS = "report_seconds"
V1_REPORT_VECTORS = "intermediate_vectors"


def dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), allow_nan=False)


@lru_cache(maxsize=4096)
def parse_distributions(text: str) -> dict[str, Distribution]:
    return {k: distribution_from_json(v) for k, v in json.loads(text).items()}


# Trial records are read-only, so identical attributes (``{}`` above all, or the same
# heartbeat attr on every trial) can be one shared object: a long study's cache holds
# hundreds of bytes less per trial.
NO_REPORTS: dict[int, float] = {}


@lru_cache(maxsize=1024)
def _parse_attrs_cached(text: str) -> dict[str, Any]:
    return json.loads(text)


def parse_attrs(text: str) -> dict[str, Any]:
    if len(text) > 256:  # long, probably unique values: not worth a cache slot
        return json.loads(text)
    return _parse_attrs_cached(text)


def ts(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def rows_to_trials(conn: Connection, rows: Sequence[Any]) -> list[FrozenTrial]:
    """Trial records from ``trials`` rows, with their reports read in the same transaction."""
    if not rows:
        return []
    ids = [r.trial_id for r in rows]
    inter: dict[int, dict[int, float]] = {}
    vectors: dict[int, dict[int, tuple[float, ...]]] = {}
    seconds: dict[int, dict[int, float]] = {}
    for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[i : i + 900]
        for tid, step, value, secs, vec in conn.execute(SQL_INTERMEDIATE, {"ids": chunk}):
            if vec is not None:
                vectors.setdefault(tid, {})[step] = tuple(json.loads(vec))
            else:
                inter.setdefault(tid, {})[step] = float("nan") if value is None else value
            if secs is not None:
                seconds.setdefault(tid, {})[step] = secs
    out = []
    for r in rows:
        system_attrs = parse_attrs(r.system_attrs_json)
        out.append(
            FrozenTrial(
                number=r.number,
                state=TrialState(r.state),
                params=json.loads(r.params_json),
                distributions=parse_distributions(r.distributions_json),
                values=None if r.values_json is None else tuple(json.loads(r.values_json)),
                intermediate_values=inter.get(r.trial_id, NO_REPORTS),
                constraints=None
                if r.constraints_json is None
                else tuple(json.loads(r.constraints_json)),
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
        )
    return out


def _vector(raw: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in raw)


def _v1_reports(attrs: Mapping[str, Any], key: str, convert: Callable[[Any], Any]) -> dict:
    """``step -> value`` from a schema-version-1 system attribute (empty when absent)."""
    legacy = attrs.get(key)
    if not legacy:
        return NO_REPORTS
    return {int(step): convert(v) for step, v in legacy.items()}
