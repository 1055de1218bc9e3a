"""Trial parts to journal JSON and back: distributions, reports, whole trial records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from honed.space import Distribution, distribution_from_json
from honed.trial import FrozenTrial, TrialState

__all__ = [
    "dists_from_json",
    "dists_to_json",
    "reports_to_json",
    "trial_from_json",
    "trial_to_json",
]


def dists_to_json(distributions: Mapping[str, Distribution] | None) -> dict[str, Any]:
    return {k: d.to_json() for k, d in (distributions or {}).items()}


def dists_from_json(data: Mapping[str, Any]) -> dict[str, Distribution]:
    return {k: distribution_from_json(d) for k, d in data.items()}


def reports_to_json(
    reports: Sequence[tuple[int, float | Sequence[float], float | None]],
) -> list[list[Any]]:
    """``[step, value or [values], seconds or null]`` per report, with plain Python numbers
    (a numpy scalar or a tuple would not survive JSON as itself)."""
    out = []
    for step, value, seconds in reports:
        v: Any = [float(x) for x in value] if isinstance(value, Sequence) else float(value)
        out.append([int(step), v, None if seconds is None else float(seconds)])
    return out


def _time(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def trial_to_json(t: FrozenTrial) -> dict[str, Any]:
    """Everything of a trial but its number and id, which the storage it is added to gives."""
    seconds = t.report_seconds
    reports: list[list[Any]] = [[s, v, seconds.get(s)] for s, v in t.intermediate_values.items()]
    reports += [[s, list(v), seconds.get(s)] for s, v in t.intermediate_vectors.items()]
    return {
        "state": int(t.state),
        "params": dict(t.params),
        "dists": dists_to_json(t.distributions),
        "values": None if t.values is None else list(t.values),
        "reports": reports,
        "constraints": None if t.constraints is None else list(t.constraints),
        "user_attrs": dict(t.user_attrs),
        "system_attrs": dict(t.system_attrs),
        "start": _time(t.datetime_start),
        "complete": _time(t.datetime_complete),
    }


def trial_from_json(d: Mapping[str, Any], number: int, trial_id: int) -> FrozenTrial:
    def when(x: float | None) -> datetime | None:
        return None if x is None else datetime.fromtimestamp(x, UTC)

    values: dict[int, float] = {}
    vectors: dict[int, tuple[float, ...]] = {}
    seconds: dict[int, float] = {}
    for step, v, secs in d["reports"]:
        if isinstance(v, list):
            vectors[int(step)] = tuple(float(x) for x in v)
        else:
            values[int(step)] = float(v)
        if secs is not None:
            seconds[int(step)] = float(secs)
    return FrozenTrial(
        number=number,
        state=TrialState(d["state"]),
        params=d["params"],
        distributions=dists_from_json(d["dists"]),
        values=None if d["values"] is None else tuple(float(v) for v in d["values"]),
        intermediate_values=dict(sorted(values.items())),
        constraints=None if d["constraints"] is None else tuple(d["constraints"]),
        user_attrs=d["user_attrs"],
        system_attrs=d["system_attrs"],
        datetime_start=when(d["start"]),
        datetime_complete=when(d["complete"]),
        trial_id=trial_id,
        report_seconds=dict(sorted(seconds.items())),
        intermediate_vectors=dict(sorted(vectors.items())),
    )
