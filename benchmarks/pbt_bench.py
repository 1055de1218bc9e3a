"""Population-based training vs a fixed-hyperparameter population of the same size.

Task: a small PyTorch MLP on scikit-learn digits trained with SGD, where the learning-rate
schedule matters (a high rate early, a low one late). Both arms start from the same 8 random
configurations (learning rate, momentum) and train for the same number of epochs; PBT exploits
(copies the checkpoint of a top-quarter member) and explores (perturbs its parameters) every
``interval`` epochs through honed's ``PopulationBasedTraining`` scheduler and trial checkpoints.
The winner is chosen on validation loss; its held-out test accuracy is reported too, and the
lineage of the PBT winner is printed.

Run: ``nice -n 10 python benchmarks/pbt_bench.py [--seeds 5] [--epochs 40]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import honed
from honed.schedulers import PopulationBasedTraining, lineage


def data():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )
    t = torch.from_numpy
    return t(x_tr), t(x_va), t(x_te), t(y_tr).long(), t(y_va).long(), t(y_te).long()


X_TR, X_VA, X_TE, Y_TR, Y_VA, Y_TE = data()


class Member:
    """One population member: a model, its optimizer and its trial."""

    def __init__(self, trial: honed.Trial, seed: int) -> None:
        self.trial = trial
        torch.manual_seed(seed)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
        )
        self.gen = torch.Generator().manual_seed(seed)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.apply_params()

    def apply_params(self) -> None:
        lr = self.trial.float("lr", 1e-3, 1.0, log=True)
        momentum = self.trial.float("momentum", 0.0, 0.99)
        for g in self.opt.param_groups:
            g["lr"], g["momentum"] = lr, momentum

    def train_epoch(self) -> None:
        self.model.train()
        perm = torch.randperm(len(X_TR), generator=self.gen)
        for i in range(0, len(perm), 64):
            idx = perm[i : i + 64]
            self.opt.zero_grad()
            torch.nn.functional.cross_entropy(self.model(X_TR[idx]), Y_TR[idx]).backward()
            self.opt.step()

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        self.model.eval()
        with torch.no_grad():
            out = self.model(x)
            loss = float(torch.nn.functional.cross_entropy(out, y))
            acc = float((out.argmax(1) == y).float().mean())
        return (loss if np.isfinite(loss) else 1e3), acc


def run_population(seed: int, epochs: int, size: int, pbt: bool, interval: int, folder: str):
    sched = (
        PopulationBasedTraining(interval=interval, quantile=0.25, min_population=size, seed=seed)
        if pbt
        else None
    )
    study = honed.create_study(
        f"{'pbt' if pbt else 'fixed'}-{seed}",
        storage=f"sqlite:///{folder}/pbt.db",
        sampler=honed.samplers.RandomSampler(seed=seed),
        scheduler=sched,
    )
    members = [Member(study.ask(), seed * 100 + i) for i in range(size)]
    for epoch in range(1, epochs + 1):
        # rotate who reports first, so every member is sometimes judged against all others
        order = members[epoch % size :] + members[: epoch % size]
        for m in order:
            m.train_epoch()
            val_loss, _ = m.evaluate(X_VA, Y_VA)
            m.trial.save_checkpoint(
                {"model": m.model.state_dict(), "opt": m.opt.state_dict()}, step=epoch
            )
            m.trial.report(val_loss, epoch)
            if m.trial.exploited is not None:
                state = m.trial.load_checkpoint()
                m.model.load_state_dict(state["model"])
                m.opt.load_state_dict(state["opt"])
                m.apply_params()  # the explored learning rate and momentum
    finals = []
    for m in members:
        val_loss, _ = m.evaluate(X_VA, Y_VA)
        test_loss, test_acc = m.evaluate(X_TE, Y_TE)
        study.tell(m.trial, val_loss)
        finals.append((val_loss, test_acc, m.trial.number, test_loss))
    best = min(finals)
    return study, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--interval", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            t0 = time.process_time()
            _, fixed = run_population(seed, args.epochs, args.size, False, args.interval, folder)
            study, pbt = run_population(seed, args.epochs, args.size, True, args.interval, folder)
            rows.append((seed, fixed, pbt))
            print(
                f"seed {seed}: fixed best val loss {fixed[0]:.4f} (test loss {fixed[3]:.4f}, "
                f"acc {fixed[1]:.4f}) | PBT best val loss {pbt[0]:.4f} (test loss {pbt[3]:.4f}, "
                f"acc {pbt[1]:.4f})  "
                f"[{time.process_time() - t0:.1f} CPU s]",
                flush=True,
            )
            if seed == 0:
                print("  lineage of the PBT winner (trial: epochs, lr, momentum):")
                for seg in lineage(study._history(), pbt[2]):
                    print(
                        f"    trial {seg.trial}: epochs {seg.start}-{seg.end}, "
                        f"lr={seg.params['lr']:.4f}, momentum={seg.params['momentum']:.3f}"
                    )
    fl = [r[1][0] for r in rows]
    pl = [r[2][0] for r in rows]
    fa = [r[1][1] for r in rows]
    pa = [r[2][1] for r in rows]
    wins = sum(p < f for f, p in zip(fl, pl))
    print(
        f"\nmean best val loss: fixed {statistics.mean(fl):.4f}, PBT {statistics.mean(pl):.4f} "
        f"(ratio {statistics.mean(fl) / statistics.mean(pl):.2f}x); PBT better on {wins}/"
        f"{len(rows)} seeds"
    )
    ft = [r[1][3] for r in rows]
    pt = [r[2][3] for r in rows]
    print(
        f"winner on the held-out test split: loss fixed {statistics.mean(ft):.4f}, PBT "
        f"{statistics.mean(pt):.4f}; accuracy fixed {statistics.mean(fa):.4f}, PBT "
        f"{statistics.mean(pa):.4f}"
    )


if __name__ == "__main__":
    main()
