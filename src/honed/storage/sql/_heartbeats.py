"""Heartbeats and stale trials in the SQL storage (see ``Storage.fail_stale_trials``)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from honed.storage.base import HEARTBEAT_ATTR, retry_attrs
from honed.storage.sql._engine import SQLBase
from honed.storage.sql._records import dumps
from honed.storage.sql._tables import studies_table, trials_table
from honed.trial import FrozenTrial, TrialState

__all__ = ["HeartbeatOps"]


class HeartbeatOps(SQLBase):
    """Signs of life of running trials, and failing those whose worker is gone."""

    def record_heartbeat(self, trial_id: int) -> None:
        beat = (
            trials_table.update()
            .where(
                trials_table.c.trial_id == trial_id,
                trials_table.c.state == int(TrialState.RUNNING),
            )
            .values(heartbeat_at=self._now())
        )
        if self._engine.dialect.name == "postgresql":  # asynchronous commit, as for reports
            beat = beat.returning(sa.func.set_config("synchronous_commit", "off", sa.true()))
        self._write(lambda c: c.execute(beat))

    def fail_stale_trials(
        self, study_id: int, grace_period: float, retries: int = 0
    ) -> list[FrozenTrial]:
        cutoff = self._now() - grace_period
        stale = (
            trials_table.c.study_id == study_id,
            trials_table.c.state == int(TrialState.RUNNING),
            trials_table.c.heartbeat_at < cutoff,
        )
        # Usually nothing is stale: look first without taking SQLite's write lock. Only
        # trials whose worker sends heartbeats count (the attr is in their system attrs).
        probe = sa.select(trials_table.c.system_attrs_json).where(*stale)
        if not any(
            HEARTBEAT_ATTR in json.loads(a) for (a,) in self._read(lambda c: c.execute(probe).all())
        ):
            return []

        def run(conn: Connection) -> list[int]:
            # The (study_id, state) index finds the few RUNNING rows; no table scan. On
            # PostgreSQL the rows stay locked until commit, and rows a finishing worker holds
            # are skipped: that trial is alive. SQLite's BEGIN IMMEDIATE already serializes.
            rows = conn.execute(
                sa.select(
                    trials_table.c.trial_id,
                    trials_table.c.number,
                    trials_table.c.params_json,
                    trials_table.c.distributions_json,
                    trials_table.c.system_attrs_json,
                    trials_table.c.heartbeat_at,
                )
                .where(*stale)
                .order_by(trials_table.c.number)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            # Study row last, as finish_trial does: one lock order, no deadlock.
            study = conn.execute(
                sa.select(studies_table.c.finish_seq, studies_table.c.next_number)
                .where(studies_table.c.study_id == study_id)
                .with_for_update()
            ).one()
            seq, number = int(study.finish_seq), int(study.next_number)
            now = self._now()
            failed: list[int] = []
            for r in rows:
                attrs = json.loads(r.system_attrs_json)
                if HEARTBEAT_ATTR not in attrs:
                    continue  # its worker never promised heartbeats
                attrs["fail_reason"] = (
                    f"stale: no heartbeat for {now - (r.heartbeat_at or now):.1f} s "
                    f"(grace period {grace_period:g} s); its worker is gone."
                )
                res = conn.execute(
                    trials_table.update()
                    .where(trials_table.c.trial_id == r.trial_id, *stale)
                    .values(
                        state=int(TrialState.FAILED),
                        system_attrs_json=dumps(attrs),
                        completed_at=now,
                        finish_seq=seq + 1,
                    )
                )
                if res.rowcount != 1:  # it finished or beat in the meantime
                    continue
                seq += 1
                failed.append(int(r.trial_id))
                shell = FrozenTrial(number=r.number, state=TrialState.FAILED, system_attrs=attrs)
                retry = retry_attrs(shell, retries)
                if retry is not None:
                    conn.execute(
                        trials_table.insert().values(
                            study_id=study_id,
                            number=number,
                            state=int(TrialState.WAITING),
                            params_json=r.params_json,
                            distributions_json=r.distributions_json,
                            user_attrs_json="{}",
                            system_attrs_json=dumps(retry),
                        )
                    )
                    number += 1
            conn.execute(
                studies_table.update()
                .where(studies_table.c.study_id == study_id)
                .values(finish_seq=seq, next_number=number)
            )
            return failed

        return [self.get_trial(tid) for tid in self._write(run)]
