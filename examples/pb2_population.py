"""Population-based bandits (PB2): a population of toy "models" whose best learning rate
changes during training; PB2's bottom members copy a top member's state and take the rate a
GP bandit expects to improve most over the next interval.

Run: ``python examples/pb2_population.py``. The "model" here is a number (its loss) so the
example runs in a second; a real one saves its weights with ``trial.save_checkpoint`` and
reloads them after ``trial.exploited`` is set, exactly as below.
"""

from __future__ import annotations

import math

import honed
from honed.schedulers import PB2, lineage


def gain(lr: float, step: int) -> float:
    """Loss removed by one step: the best rate falls from 3e-2 early to 3e-3 late."""
    best = math.log10(3e-2) - step / 30
    return 0.1 * math.exp(-((math.log10(lr) - best) ** 2))


def main() -> None:
    study = honed.create_study(
        scheduler=PB2(interval=3, min_population=6, seed=0),
        sampler=honed.samplers.RandomSampler(seed=0),
    )
    members = [study.ask() for _ in range(6)]
    loss = {t.number: 10.0 for t in members}
    for step in range(1, 31):
        for t in members:
            lr = t.float("lr", 1e-4, 1e-1, log=True)
            loss[t.number] -= gain(lr, step)
            t.save_checkpoint(loss[t.number], step=step)
            t.report(loss[t.number], step)
            if t.exploited is not None:  # PB2 moved this member: reload, re-read params
                loss[t.number] = t.load_checkpoint()
    for t in members:
        study.tell(t, loss[t.number])
    best = study.best_trial
    print(f"best final loss {best.value:.3f} (trial {best.number})")
    for seg in lineage(honed.History(study.trials, study.directions), best.number):
        print(f"  steps {seg.start:2d}-{seg.end:2d}: trial {seg.trial}, lr={seg.params['lr']:.4f}")


if __name__ == "__main__":
    main()
