"""What the dashboard shows, read through the Storage API only (so any backend works).

Each study is read incrementally: finished trials never change, so after the first read only
unfinished trials and those finished since are fetched (:meth:`Storage.get_trials_since`).
Payloads are cached per study *version*, which changes whenever a trial is added, finishes,
reports a value or gets a parameter, so polling an idle study costs one cheap query.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from honed.history import History
from honed.pareto import non_dominated_mask
from honed.plots import _data as pd
from honed.plots._data import jsonable
from honed.storage import Storage
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["StudyCache", "TrialQuery", "jsonable", "study_rows"]

PLOT_KINDS = ("history", "intermediate", "parallel", "slice", "contour", "importance", "pareto")


def _iso(d: datetime | None) -> str | None:
    return d.isoformat(timespec="seconds") if d else None


class StudyCache:
    """The trials of one study, kept current with incremental reads, plus cached payloads."""

    def __init__(self, storage: Storage, study_id: int) -> None:
        self.storage = storage
        self.study_id = study_id
        self.name = storage.get_study_name(study_id)
        self.directions: tuple[Direction, ...] = storage.get_study_directions(study_id)
        self._trials: dict[int, FrozenTrial] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self.version = ""
        self._sorted: list[FrozenTrial] = []
        self._payloads: dict[tuple, tuple[str, Any]] = {}
        self._row_cache: tuple[str, list[dict[str, Any]]] | None = None

    def refresh(self) -> tuple[list[FrozenTrial], str]:
        """All trials ordered by number, and the version they belong to."""
        with self._lock:
            changed, seq = self.storage.get_trials_since(self.study_id, self._seq)
            for t in changed:
                self._trials[t.number] = t
            self._seq = seq
            if changed or not self.version:
                self._sorted = [self._trials[n] for n in sorted(self._trials)]
            # Unfinished trials come back on every read; what they carry so far is part of
            # the version, so a new report or parameter shows up on the next poll.
            unfinished = tuple(
                (
                    t.number,
                    int(t.state),
                    len(t.params),
                    len(t.intermediate_values),
                    len(t.user_attrs),
                )
                for t in changed
                if not t.state.is_finished
            )
            self.version = f"{seq}.{len(self._trials)}.{hash(unfinished) & 0xFFFFFFFF:x}"
            return self._sorted, self.version

    def cached(self, key: tuple, build: Callable[[list[FrozenTrial], str], Any]) -> Any:
        trials, version = self.refresh()
        hit = self._payloads.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = build(trials, version)
        if len(self._payloads) > 256:  # many distinct table queries: start over
            self._payloads.clear()
        self._payloads[key] = (version, value)
        return value

    # ---- summaries -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return self.cached(("summary",), self._summary)

    def _summary(self, trials: list[FrozenTrial], version: str) -> dict[str, Any]:
        counts = {s.name: 0 for s in TrialState}
        for t in trials:
            counts[t.state.name] += 1
        history = History(trials, self.directions)
        best: Any = None
        if len(self.directions) == 1:
            b = history.best_trial()
            if b is not None:
                best = {"number": b.number, "values": list(b.values or ()), "params": b.params}
        space = pd.common_params(trials)
        attrs = self.storage.get_study_user_attrs(self.study_id)
        return jsonable(
            {
                "id": self.study_id,
                "name": self.name,
                "directions": [d.value for d in self.directions],
                "objective_labels": pd.objective_names(self.directions),
                "version": version,
                "n_trials": len(trials),
                "states": counts,
                "best": best,
                "n_front": self._n_front(history) if len(self.directions) > 1 else None,
                "params": list(space),
                "user_attrs": attrs,
                "note": attrs.get("note") if isinstance(attrs.get("note"), str) else None,
            }
        )

    def _n_front(self, history: History) -> int:
        feasible = [t for t in history.complete if t.is_feasible]
        return int(non_dominated_mask(history.losses(feasible)).sum()) if feasible else 0

    # ---- plots -----------------------------------------------------------------------------
    def plot(self, kind: str, opts: dict[str, str]) -> bytes:
        """The JSON payload of one plot; a ``ValueError`` names a bad option."""
        if kind not in PLOT_KINDS:
            raise ValueError(f"unknown plot {kind!r}; use one of {list(PLOT_KINDS)}.")
        objective = self._objective(opts, "objective", 0)
        objective2 = self._objective(opts, "objective2", 1 if len(self.directions) > 1 else 0)
        method = opts.get("method") or "ped-anova"
        if method not in ("ped-anova", "fanova"):
            raise ValueError(f"method must be 'ped-anova' or 'fanova', got {method[:40]!r}.")
        x, y = opts.get("x") or None, opts.get("y") or None
        # Only the options this plot reads make its cache key: made-up ones add no entries.
        key = {
            "contour": (kind, objective, x, y),
            "pareto": (kind, objective, objective2),
            "importance": (kind, objective, method),
        }.get(kind, (kind, objective))

        def build(trials: list[FrozenTrial], version: str) -> dict[str, Any]:
            d = self.directions
            if kind == "history":
                return pd.history_data(trials, d, objective=objective)
            if kind == "intermediate":
                return pd.intermediate_data(trials, objective=objective)
            if kind == "parallel":
                return pd.parallel_data(trials, d, objective=objective)
            if kind == "slice":
                return pd.slice_data(trials, d, objective=objective)
            if kind == "contour":
                names = pd.common_params([t for t in trials if t.state is TrialState.COMPLETE])
                for axis, name in (("x", x), ("y", y)):
                    if name is not None and name not in names:
                        raise ValueError(
                            f"{axis} must name a parameter of every complete trial "
                            f"({list(names)[:20]}), got {name[:40]!r}."
                        )
                return pd.contour_data(trials, d, x, y, objective=objective)
            if kind == "pareto":
                if len(d) < 2:
                    return {"kind": "pareto", "note": "single-objective study"}
                i = objective if objective != objective2 else (objective2 + 1) % len(d)
                return pd.pareto_data(trials, d, objectives=(i, objective2))
            return self._importance(trials, method, objective)

        def encoded(trials: list[FrozenTrial], version: str) -> bytes:
            # Encoded once per version: a poll of an unchanged study costs no JSON work.
            return json.dumps(jsonable(build(trials, version))).encode()

        return self.cached(key, encoded)

    def _objective(self, opts: dict[str, str], name: str, default: int) -> int:
        raw = opts.get(name) or str(default)
        n = len(self.directions)
        if not (raw.isascii() and raw.isdigit() and int(raw) < n):
            raise ValueError(f"{name} must be between 0 and {n - 1}, got {raw[:40]!r}.")
        return int(raw)

    def _importance(self, trials: list[FrozenTrial], method: str, objective: int) -> dict:
        from honed.analysis.importance import importance

        done = [t for t in trials if t.state is TrialState.COMPLETE]
        options: dict[str, Any] = {}
        if method == "fanova":
            # A forest on the latest 2,000 trials keeps a refresh under a second or two.
            done = done[-2000:]
            options = {"n_trees": 32, "min_samples_leaf": 2}
        sign = self.directions[objective].sign
        try:
            scores = importance(
                History(done, self.directions),
                method,
                target=lambda t: sign * t.values[objective],  # type: ignore[index]
                **options,
            )
        except ValueError as e:
            return {"kind": "importance", "note": str(e), "names": [], "values": []}
        return pd.importance_data(scores, method)

    # ---- the trial table -------------------------------------------------------------------
    def table(self, query: TrialQuery) -> dict[str, Any]:
        key = ("table", query.sort, query.desc, query.q, query.state)
        rows = self.cached(key, lambda trials, version: query.apply(self._rows(trials, version)))
        page = rows[query.offset : query.offset + query.limit]
        trials, version = self.refresh()
        params: dict[str, None] = {}
        attrs: dict[str, None] = {}
        for t in trials[-2000:]:
            params.update(dict.fromkeys(t.params))
            attrs.update(dict.fromkeys(t.user_attrs))
        return jsonable(
            {
                "version": version,
                "total": len(trials),
                "filtered": len(rows),
                "offset": query.offset,
                "rows": page,
                "param_columns": list(params),
                "attr_columns": list(attrs),
                "n_objectives": len(self.directions),
            }
        )

    def _rows(self, trials: list[FrozenTrial], version: str) -> list[dict[str, Any]]:
        """The table's rows, built once per version and shared by every query on it."""
        hit = self._row_cache
        if hit is None or hit[0] != version:
            hit = self._row_cache = (version, study_rows(trials))
        return hit[1]


def study_rows(trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    return [
        {
            "number": t.number,
            "state": t.state.name,
            "values": list(t.values) if t.values is not None else None,
            "params": dict(t.params),
            "duration": t.duration,
            "start": _iso(t.datetime_start),
            "user_attrs": dict(t.user_attrs),
            "fail_reason": t.fail_reason,
            "n_steps": len(t.intermediate_values),
        }
        for t in trials
    ]


_COND = re.compile(r"^([^<>=!]+?)\s*(<=|>=|!=|==|=|<|>)\s*(.+)$")


class TrialQuery:
    """Sort, filter and page the trial table.

    ``q`` holds space-separated terms: ``key<op>value`` compares a column (``number``,
    ``state``, ``value``, ``value1``, ``duration``, a parameter or a user attribute) with
    ``= != < <= > >=``; any other term must appear as text somewhere in the row.

    Its cost is bounded: at most :attr:`MAX_TERMS` terms and :attr:`MAX_QUERY` characters,
    and filtering that runs past ``time_limit`` seconds stops with a ``ValueError`` (an HTTP
    400 asking for a narrower filter) instead of holding a server thread.
    """

    MAX_TERMS = 16
    MAX_QUERY = 1000

    def __init__(
        self,
        sort: str = "number",
        desc: bool = False,
        q: str = "",
        state: str = "",
        offset: int = 0,
        limit: int = 50,
        time_limit: float = 2.0,
    ) -> None:
        if limit < 1 or limit > 1000:
            raise ValueError(f"limit must be between 1 and 1000, got {limit}.")
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}.")
        if len(q.split()) > self.MAX_TERMS:
            raise ValueError(
                f"the filter has {len(q.split())} terms; use at most {self.MAX_TERMS}."
            )
        if len(q) > self.MAX_QUERY:
            raise ValueError(
                f"the filter is {len(q)} characters long; use at most {self.MAX_QUERY}."
            )
        if len(sort) > 200:
            raise ValueError("sort must name a column (at most 200 characters).")
        self.time_limit = time_limit
        state = state.upper()
        if state and state not in TrialState.__members__:
            raise ValueError(
                f"state must be one of {list(TrialState.__members__)} or empty, got {state!r}."
            )
        self.sort, self.desc, self.q, self.state = sort, desc, q.strip(), state
        self.offset, self.limit = offset, limit

    @staticmethod
    def column(row: dict[str, Any], key: str) -> Any:
        if key in ("number", "state", "duration", "fail_reason", "start"):
            return row[key]
        m = re.fullmatch(r"value(\d*)", key)
        if m:
            i = int(m.group(1) or 0)
            vals = row["values"]
            return vals[i] if vals is not None and i < len(vals) else None
        for prefix, field in (("param:", "params"), ("attr:", "user_attrs")):
            if key.startswith(prefix):
                return row[field].get(key[len(prefix) :])
        if key in row["params"]:
            return row["params"][key]
        return row["user_attrs"].get(key)

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.time_limit
        if self.state:
            rows = [r for r in rows if r["state"] == self.state]
        texts: dict[int, str] = {}  # each row's text once, however many text terms
        for term in self.q.split():
            keep = self._matcher(term, texts)
            kept = []
            for i, r in enumerate(rows):
                if i % 1024 == 1023 and time.monotonic() > deadline:
                    self._too_slow()
                if keep(r):
                    kept.append(r)
            rows = kept
            if time.monotonic() > deadline:
                self._too_slow()
        if self.sort != "number" or self.desc:
            present = [r for r in rows if self.column(r, self.sort) is not None]
            missing = [r for r in rows if self.column(r, self.sort) is None]
            present.sort(key=lambda r: _sort_key(self.column(r, self.sort)), reverse=self.desc)
            rows = present + missing  # blanks last either way
        return rows

    def _matcher(self, term: str, texts: dict[int, str]) -> Callable[[dict[str, Any]], bool]:
        m = _COND.match(term)
        if m:
            key, op, want = m.group(1), m.group(2), m.group(3)
            return lambda r: _compare(self.column(r, key), op, want)
        needle = term.lower()

        def contains(r: dict[str, Any]) -> bool:
            text = texts.get(id(r))
            if text is None:
                text = texts[id(r)] = _row_text(r)
            return needle in text

        return contains

    def _too_slow(self) -> None:
        raise ValueError(
            f"the filter {self.q[:60]!r} took more than {self.time_limit:g} s; use fewer or "
            "narrower terms (e.g. state=COMPLETE value<1)."
        )


def _sort_key(v: Any) -> tuple:
    if isinstance(v, bool):
        return (1, float(v), "")
    if isinstance(v, int | float):
        return (0, float(v), "")
    return (2, 0.0, str(v))


def _row_text(r: dict[str, Any]) -> str:
    parts = [str(r["number"]), r["state"], str(r["fail_reason"] or "")]
    parts += [f"{k}={v}" for k, v in r["params"].items()]
    parts += [f"{k}={v}" for k, v in r["user_attrs"].items()]
    return " ".join(parts).lower()


def _compare(have: Any, op: str, want: str) -> bool:
    if have is None:
        return op == "!="
    try:
        a: Any = float(have) if not isinstance(have, str) else None
        b: Any = float(want)
    except (TypeError, ValueError):
        a = None
    if a is None:
        a, b = str(have).lower(), want.lower()
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False
