"""Population-based training vs a fixed-hyperparameter population of the same size.

Task: a small PyTorch MLP regressing a fixed random "teacher" network from noisy samples, trained
with minibatch SGD. Here the learning-rate *schedule* matters: a constant rate trades fast early
progress against the noise floor that minibatch gradients leave at the end, so a high rate early
and a low one late beats every constant rate (check: ``--schedule-check``). Data: independent
draws for training (2,000 points), validation (4,000) and a held-out test set (8,000), so the
exploit decisions of PBT, which are made on validation loss, cannot overfit a small split.

Both arms start from the same population (size 8) of random learning rates and train for the same
number of epochs. The fixed arm keeps each rate; the PBT arm runs honed's
``PopulationBasedTraining`` every ``interval`` (2) epochs: a bottom-quarter member copies the
checkpoint of a top-quarter member (``trial.load_checkpoint``) and explores its rate (x0.8 or
x1.25, or a redraw). Each arm's winner is picked on validation loss; the figure of merit is that
winner's loss on the held-out test set. The lineage of the PBT winner (which trial trained which
epochs with which rate) is printed for every seed.

``--pb2`` adds a third arm from the same start: :class:`honed.schedulers.PB2`, PBT's exploit with
a GP-bandit explore (Parker-Holder et al., 2020), same interval, quantile and population.

Run: ``nice -n 10 python bench/scripts/pbt_bench.py [--seeds 5] [--epochs 30] [--pb2]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

import honed
from honed.history import History
from honed.schedulers import PB2, PopulationBasedTraining, lineage

DIM = 8
N_TRAIN, N_VAL, N_TEST = 2000, 4000, 8000
NOISE = 1.0
BATCH = 32
LR_RANGE = (1e-3, 0.1)


def teacher() -> tuple[torch.Tensor, torch.Tensor]:
    """Weights of the fixed random network that makes the targets (the same for every seed)."""
    g = torch.Generator().manual_seed(1234)
    return torch.randn(DIM, 32, generator=g) / DIM**0.5, torch.randn(32, 1, generator=g) / 32**0.5


W1, W2 = teacher()


def draw(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` fresh noisy samples of the teacher."""
    x = torch.randn(n, DIM, generator=g)
    return x, 3.0 * torch.tanh(2.0 * x @ W1) @ W2 + NOISE * torch.randn(n, 1, generator=g)


def data(seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Validation and held-out test sets: independent draws (training draws fresh samples)."""
    g = torch.Generator().manual_seed(10_000 + seed)
    return {"val": draw(N_VAL, g), "test": draw(N_TEST, g)}


class Member:
    """One population member: a model, its optimizer and (optionally) its trial."""

    def __init__(self, trial: honed.Trial | None, seed: int, lr: float | None = None) -> None:
        self.trial = trial
        torch.manual_seed(seed)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(DIM, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
        )
        self.gen = torch.Generator().manual_seed(seed)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.lr = lr
        self.apply_params()

    def apply_params(self) -> None:
        if self.trial is not None:
            self.lr = self.trial.float("lr", *LR_RANGE, log=True)
        for g in self.opt.param_groups:
            g["lr"] = self.lr

    def train_epoch(self) -> None:
        """One epoch: ``N_TRAIN`` fresh samples in minibatches (a stream, so no overfitting)."""
        self.model.train()
        x, y = draw(N_TRAIN, self.gen)
        for i in range(0, N_TRAIN, BATCH):
            self.opt.zero_grad()
            torch.nn.functional.mse_loss(self.model(x[i : i + BATCH]), y[i : i + BATCH]).backward()
            self.opt.step()

    def loss(self, split: tuple[torch.Tensor, torch.Tensor]) -> float:
        self.model.eval()
        with torch.no_grad():
            v = float(torch.nn.functional.mse_loss(self.model(split[0]), split[1]))
        return v if v == v and v < 1e3 else 1e3  # a diverged member scores badly, not NaN


def run_population(
    seed: int, epochs: int, size: int, pbt: bool | str, interval: int, folder: str
) -> tuple[honed.Study, tuple[float, float, int]]:
    """One arm (``pbt``: False for fixed, True or "pbt" for PBT, "pb2" for PB2); returns the
    study and its winner's (val loss, test loss, trial number)."""
    d = data(seed)
    kind = "pbt" if pbt is True else (pbt or "fixed")
    schedulers = {"pbt": PopulationBasedTraining, "pb2": PB2}
    sched = (
        schedulers[kind](interval=interval, quantile=0.25, min_population=size, seed=seed)
        if kind in schedulers
        else None
    )
    study = honed.create_study(
        f"{kind}-{seed}",
        storage=f"sqlite:///{folder}/pbt.db",
        sampler=honed.samplers.RandomSampler(seed=seed),  # same initial rates in both arms
        scheduler=sched,
    )
    members = [Member(study.ask(), seed * 100 + i) for i in range(size)]
    for epoch in range(1, epochs + 1):
        # rotate who reports first, so every member is sometimes judged against all others
        order = members[epoch % size :] + members[: epoch % size]
        for m in order:
            m.train_epoch()
            if pbt:
                m.trial.save_checkpoint(
                    {"model": m.model.state_dict(), "opt": m.opt.state_dict()}, step=epoch
                )
            m.trial.report(m.loss(d["val"]), epoch)
            if m.trial.exploited is not None:
                state = m.trial.load_checkpoint()
                m.model.load_state_dict(state["model"])
                m.opt.load_state_dict(state["opt"])
                m.apply_params()  # the explored learning rate
    finals = []
    for m in members:
        val = m.loss(d["val"])
        study.tell(m.trial, val)
        finals.append((val, m.loss(d["test"]), m.trial.number))
    return study, min(finals)


def schedule_check(epochs: int) -> None:
    """Constant learning rates vs a decaying one on seed 0: does the schedule matter here?"""
    d = data(0)
    rows = [(f"constant {lr:g}", lambda e, lr=lr: lr) for lr in (0.003, 0.006, 0.01, 0.02, 0.03)]
    rows.append(("0.03 decaying x0.1 per 10 epochs", lambda e: 0.03 * 0.1 ** (e / 10)))
    rows.append(("0.03 decaying x0.1 per 15 epochs", lambda e: 0.03 * 0.1 ** (e / 15)))
    for name, rate in rows:
        m = Member(None, 0, rate(0))
        for e in range(epochs):
            m.lr = rate(e)
            m.apply_params()
            m.train_epoch()
        print(f"{name:34s} val {m.loss(d['val']):.4f}  test {m.loss(d['test']):.4f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--interval", type=int, default=2)
    ap.add_argument("--schedule-check", action="store_true", help="only compare fixed schedules")
    ap.add_argument(
        "--pb2", action="store_true", help="also run PB2 (GP-bandit explore) from the same start"
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.schedule_check:
        schedule_check(args.epochs)
        return
    print(
        f"noise floor (test MSE of the teacher itself): {NOISE**2:.4f}; "
        f"{args.size} members, {args.epochs} epochs, exploit every {args.interval}"
    )
    rows = []
    pb2_rows: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            t0 = time.process_time()
            _, fixed = run_population(seed, args.epochs, args.size, False, args.interval, folder)
            study, pbt = run_population(seed, args.epochs, args.size, True, args.interval, folder)
            rows.append((fixed, pbt))
            extra = ""
            if args.pb2:
                _, pb2 = run_population(seed, args.epochs, args.size, "pb2", args.interval, folder)
                pb2_rows.append(pb2)
                extra = f" | PB2 winner val {pb2[0]:.4f} test {pb2[1]:.4f}"
            print(
                f"seed {seed}: fixed winner val {fixed[0]:.4f} test {fixed[1]:.4f} | "
                f"PBT winner val {pbt[0]:.4f} test {pbt[1]:.4f}{extra}  "
                f"[{time.process_time() - t0:.0f} CPU s]",
                flush=True,
            )
            print("  lineage of the PBT winner (trial: epochs, learning rate):")
            for seg in lineage(History(study.trials, study.directions), pbt[2]):
                lr = seg.params["lr"]
                print(f"    trial {seg.trial}: epochs {seg.start}-{seg.end}, lr={lr:.4f}")
    fv, pv = [r[0][0] for r in rows], [r[1][0] for r in rows]
    ft, pt = [r[0][1] for r in rows], [r[1][1] for r in rows]
    print(
        f"\nvalidation loss of the winner: fixed {statistics.mean(fv):.4f}, "
        f"PBT {statistics.mean(pv):.4f}; PBT better on {sum(p < f for f, p in zip(fv, pv))}/"
        f"{len(rows)} seeds"
    )
    mf, mp = statistics.mean(ft), statistics.mean(pt)
    floor = NOISE**2
    print(
        f"HELD-OUT test loss of the winner: fixed {mf:.4f}, PBT {mp:.4f}; excess over the noise "
        f"floor {floor:.2f}: fixed {mf - floor:.4f}, PBT {mp - floor:.4f} "
        f"({(mf - floor) / (mp - floor):.2f}x lower with PBT); "
        f"PBT better on {sum(p < f for f, p in zip(ft, pt))}/{len(rows)} seeds"
    )
    if pb2_rows:
        bt = [r[1] for r in pb2_rows]
        mb = statistics.mean(bt)
        print(
            f"PB2: validation loss of the winner {statistics.mean(r[0] for r in pb2_rows):.4f}; "
            f"HELD-OUT test loss {mb:.4f}, excess over the floor {mb - floor:.4f} (PBT "
            f"{mp - floor:.4f}, fixed {mf - floor:.4f}); PB2 better than PBT on "
            f"{sum(b < p for p, b in zip(pt, bt))}/{len(rows)} seeds, than fixed on "
            f"{sum(b < f for f, b in zip(ft, bt))}/{len(rows)}"
        )


if __name__ == "__main__":
    main()
