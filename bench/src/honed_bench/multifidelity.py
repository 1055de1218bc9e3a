"""Multi-fidelity benchmark: early-stopping schedulers on real training, on a simulated clock.

Problems are neural networks trained epoch by epoch on scikit-learn's digits:

* ``mlp-digits``: scikit-learn ``MLPClassifier`` trained with ``partial_fit`` (Adam);
* ``torch-mlp-digits``: a PyTorch MLP trained with SGD and momentum (needs torch).

The search space is a grid of integer indices (learning rate, width, regularization, batch
size), so each configuration's learning curve is trained *once, for real*, the first time any
method asks for it (fixed training seed), and cached with the measured CPU seconds of each epoch.
Every method then replays the same curves and costs: a simulated clock with ``workers``
parallel workers (an event loop: the worker whose clock is earliest runs its next epoch), to
which each method's own decision time (ask, report, tell; measured in-process) is added. So all
methods meet identical training noise and costs, and a run needs no sleeping.

Reported per method: the simulated seconds until the best validation accuracy seen reaches the
target, and the best accuracy seen within the budget, over several seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from honed_bench.progress import ProgressBar

__all__ = ["METHODS", "PROBLEMS", "register_mode", "run_multifidelity"]


# ---- problems: lazily tabulated real training ---------------------------------------------------
@dataclass
class MFProblem:
    """A grid of configurations whose learning curves are trained on demand and cached.

    Training is incremental: a configuration is trained only as far as some method asked,
    and its live model is kept so that a later request continues from there (training is
    seeded, so continuing equals retraining from scratch).
    """

    name: str
    max_epochs: int
    grid: dict[str, list[Any]]
    trainer: Callable[[dict[str, Any]], Any]
    cache_file: Path | None = None
    table: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    trained_seconds: float = 0.0
    _live: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cache_file is not None and self.cache_file.exists():
            self.table = json.loads(self.cache_file.read_text())

    def configs(self) -> list[dict[str, int]]:
        import itertools

        names = list(self.grid)
        return [
            dict(zip(names, combo))
            for combo in itertools.product(*(range(len(self.grid[k])) for k in names))
        ]

    def key(self, idx: dict[str, int]) -> str:
        return ",".join(str(idx[k]) for k in self.grid)

    def config(self, idx: dict[str, int]) -> dict[str, Any]:
        return {k: self.grid[k][idx[k]] for k in self.grid}

    def epoch(self, idx: dict[str, int], epoch: int) -> tuple[float, float]:
        """(validation accuracy, CPU seconds) of ``epoch`` (1-based), training if needed."""
        key = self.key(idx)
        row = self.table.setdefault(key, {"acc": [], "cost": []})
        if len(row["acc"]) < epoch:
            live = self._live.get(key)
            if live is None or live.epochs_done != len(row["acc"]):
                live = self._live[key] = self.trainer(self.config(idx))
                row["acc"], row["cost"] = [], []
            while len(row["acc"]) < epoch:
                acc, cost = live.next_epoch()
                self.trained_seconds += cost
                row["acc"].append(acc)
                row["cost"].append(cost)
            if epoch >= self.max_epochs:
                self._live.pop(key, None)
        return row["acc"][epoch - 1], row["cost"][epoch - 1]

    def save(self) -> None:
        if self.cache_file is not None:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.table))
            os.replace(tmp, self.cache_file)


def _full_curve(args: tuple[str, int, str, dict[str, int]]) -> tuple[str, dict[str, list[float]]]:
    name, max_epochs, key, idx = args
    problem = make_problem(name, None, max_epochs)
    problem.epoch(idx, max_epochs)
    return key, problem.table[key]


def build_table(problem: MFProblem, jobs: int, quiet: bool = True) -> None:
    """Train every configuration of ``problem`` to the end, ``jobs`` processes at once
    (progress on stderr unless ``quiet``)."""
    import multiprocessing as mp

    todo = [
        (problem.name, problem.max_epochs, problem.key(i), i)
        for i in problem.configs()
        if len(problem.table.get(problem.key(i), {}).get("acc", [])) < problem.max_epochs
    ]
    with (
        ProgressBar(len(todo), f"{problem.name}: training", quiet=quiet) as bar,
        mp.get_context("spawn").Pool(jobs) as pool,
    ):
        bar.note(f"{problem.name}: training {len(todo)} configurations on {jobs} processes")
        for n, (key, row) in enumerate(pool.imap_unordered(_full_curve, todo, chunksize=4)):
            problem.table[key] = row
            bar.advance()
            if (n + 1) % 100 == 0:
                problem.save()
    problem.save()


def _digits() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16.0, y, test_size=0.33, random_state=0, stratify=y)


class _SklearnMLP:
    """``MLPClassifier`` trained one epoch per ``partial_fit`` call (Adam)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import numpy as np
        from sklearn.neural_network import MLPClassifier

        self.x_tr, self.x_va, self.y_tr, self.y_va = _digits()
        self.model = MLPClassifier(
            hidden_layer_sizes=(cfg["hidden"],),
            learning_rate_init=cfg["lr"],
            alpha=cfg["alpha"],
            batch_size=cfg["batch"],
            random_state=0,
        )
        self.classes = np.arange(10)
        self.epochs_done = 0

    def next_epoch(self) -> tuple[float, float]:
        import warnings

        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow warnings at huge learning rates
            self.model.partial_fit(self.x_tr, self.y_tr, classes=self.classes)
            acc = float(self.model.score(self.x_va, self.y_va))
        self.epochs_done += 1
        return acc, time.process_time() - t0


class _TorchMLP:
    """A one-hidden-layer PyTorch MLP trained with SGD and momentum 0.9."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(1)
        x_tr, x_va, y_tr, y_va = _digits()
        self.torch = torch
        self.xt = torch.tensor(x_tr, dtype=torch.float32)
        self.yt = torch.tensor(y_tr, dtype=torch.long)
        self.xv = torch.tensor(x_va, dtype=torch.float32)
        self.yv = torch.tensor(y_va, dtype=torch.long)
        self.g = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        h = cfg["hidden"]
        self.model = torch.nn.Sequential(
            torch.nn.Linear(64, h), torch.nn.ReLU(), torch.nn.Linear(h, 10)
        )
        self.opt = torch.optim.SGD(
            self.model.parameters(), lr=cfg["lr"], momentum=0.9, weight_decay=cfg["weight_decay"]
        )
        self.batch = cfg["batch"]
        self.epochs_done = 0

    def next_epoch(self) -> tuple[float, float]:
        torch = self.torch
        t0 = time.process_time()
        perm = torch.randperm(len(self.xt), generator=self.g)
        self.model.train()
        for i in range(0, len(perm), self.batch):
            idx = perm[i : i + self.batch]
            self.opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.model(self.xt[idx]), self.yt[idx])
            loss.backward()
            self.opt.step()
        self.model.eval()
        with torch.no_grad():
            out = self.model(self.xv)
            ok = bool(torch.isfinite(out).all())
            acc = float((out.argmax(1) == self.yv).float().mean()) if ok else 0.0
        self.epochs_done += 1
        return acc, time.process_time() - t0


def _lr_grid(low_exp: float, high_exp: float, n: int) -> list[float]:
    return [round(10 ** (low_exp + (high_exp - low_exp) * i / (n - 1)), 8) for i in range(n)]


def make_problem(name: str, cache_dir: Path | None, max_epochs: int = 81) -> MFProblem:
    def cache(stem: str) -> Path | None:
        return None if cache_dir is None else cache_dir / f"mf-{stem}-{max_epochs}.json"

    if name == "mlp-digits":
        grid = {
            "lr": _lr_grid(-4.5, -1.0, 8),
            "hidden": [8, 16, 32, 64, 128],
            "alpha": [1e-6, 1e-4, 1e-3, 1e-2, 1e-1],
            "batch": [32, 64, 128, 256, 512],
        }
        return MFProblem(name, max_epochs, grid, _SklearnMLP, cache(name))
    if name == "torch-mlp-digits":
        grid = {
            "lr": _lr_grid(-4.0, 0.0, 8),
            "hidden": [8, 16, 32, 64, 128],
            "weight_decay": [0.0, 1e-5, 1e-4, 1e-3, 1e-2],
            "batch": [32, 64, 128, 256, 512],
        }
        return MFProblem(name, max_epochs, grid, _TorchMLP, cache(name))
    raise ValueError(f"unknown multi-fidelity problem {name!r}; choose from {PROBLEMS}.")


PROBLEMS = ("mlp-digits", "torch-mlp-digits")


# ---- methods: one ask / report / tell interface over honed and Optuna -------------------------
class _Run:
    """A method's live study: ``ask() -> handle``, ``report(h, value, step) -> stop?``,
    ``tell(h, value | None)``."""

    def ask(self, problem: MFProblem) -> tuple[Any, dict[str, int]]:
        raise NotImplementedError

    def report(self, handle: Any, value: float, step: int, elapsed: float) -> bool:
        """``elapsed``: the trial's simulated seconds so far (its own clock)."""
        raise NotImplementedError

    def tell(self, handle: Any, value: float | None) -> None:
        raise NotImplementedError


class _HonedRun(_Run):
    def __init__(self, sampler: Any, scheduler: Any) -> None:
        import honed

        self.study = honed.create_study(direction="maximize", sampler=sampler, scheduler=scheduler)
        # time-resource schedulers get each report's simulated seconds (a real objective's
        # reports are timed by the trial itself); others get nothing extra to store
        self.timed = bool(getattr(scheduler, "uses_report_seconds", False))

    def ask(self, problem: MFProblem) -> tuple[Any, dict[str, int]]:
        t = self.study.ask()
        return t, {k: t.int(k, 0, len(v) - 1) for k, v in problem.grid.items()}

    def report(self, handle: Any, value: float, step: int, elapsed: float) -> bool:
        import honed

        try:
            if self.timed:
                handle.report(value, step, elapsed=elapsed)
            else:
                handle.report(value, step)
        except honed.TrialPruned:
            return True
        return False

    def tell(self, handle: Any, value: float | None) -> None:
        import honed

        if value is None:
            self.study.tell(handle, state=honed.TrialState.PRUNED)
        else:
            self.study.tell(handle, value)


class _OptunaRun(_Run):
    def __init__(self, sampler: Any, pruner: Any) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)

    def ask(self, problem: MFProblem) -> tuple[Any, dict[str, int]]:
        t = self.study.ask()
        return t, {k: t.suggest_int(k, 0, len(v) - 1) for k, v in problem.grid.items()}

    def report(self, handle: Any, value: float, step: int, elapsed: float) -> bool:
        handle.report(value, step)
        return bool(handle.should_prune())

    def tell(self, handle: Any, value: float | None) -> None:
        import optuna

        if value is None:
            self.study.tell(handle, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(handle, value)


def _honed_tpe(seed: int) -> Any:
    from honed.samplers import TPESampler

    return TPESampler(seed=seed)


def _method_factories(max_epochs: int) -> dict[str, Callable[[int], _Run]]:
    def honed_asha(seed: int) -> _Run:
        from honed.samplers import RandomSampler
        from honed.schedulers import ASHA

        return _HonedRun(RandomSampler(seed=seed), ASHA(1, 3, max_epochs))

    def honed_hyperband(seed: int) -> _Run:
        from honed.samplers import RandomSampler
        from honed.schedulers import Hyperband

        return _HonedRun(RandomSampler(seed=seed), Hyperband(1, max_epochs, 3))

    def honed_bohb(seed: int) -> _Run:
        from honed.samplers import bohb

        sampler, sched = bohb(_honed_tpe(seed), 1, max_epochs, 3, min_points=10)
        return _HonedRun(sampler, sched)

    def honed_asha_mf_tpe(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        sched = ASHA(1, 3, max_epochs)
        sampler = MultiFidelitySampler(_honed_tpe(seed), sched, min_points=10, mode="highest")
        return _HonedRun(sampler, sched)

    def honed_asha_ranked_tpe(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        sched = ASHA(1, 3, max_epochs)
        sampler = MultiFidelitySampler(_honed_tpe(seed), sched, min_points=10, mode="ranked")
        return _HonedRun(sampler, sched)

    def honed_asha_time(seed: int) -> _Run:
        from honed.samplers import RandomSampler
        from honed.schedulers import ASHA

        # rungs in seconds of each trial's own (simulated) clock, first rung calibrated
        return _HonedRun(RandomSampler(seed=seed), ASHA("auto", 3, resource="time"))

    def honed_asha_time_ranked_tpe(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        sched = ASHA("auto", 3, resource="time")
        sampler = MultiFidelitySampler(_honed_tpe(seed), sched, min_points=10, mode="ranked")
        return _HonedRun(sampler, sched)

    def honed_asha_ranked_tpe_rf(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        # BOHB's exploration share: one trial in three drawn at random, not from the model
        sched = ASHA(1, 3, max_epochs)
        sampler = MultiFidelitySampler(
            _honed_tpe(seed), sched, min_points=10, mode="ranked", random_fraction=1 / 3
        )
        return _HonedRun(sampler, sched)

    def honed_asha_time_ranked_tpe_rf(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        sched = ASHA("auto", 3, resource="time")
        sampler = MultiFidelitySampler(
            _honed_tpe(seed), sched, min_points=10, mode="ranked", random_fraction=1 / 3
        )
        return _HonedRun(sampler, sched)

    def honed_asha_ranked_tpe_repeats(seed: int) -> _Run:
        from honed.samplers import MultiFidelitySampler
        from honed.schedulers import ASHA

        # ablation: the model may propose configurations that were already tried
        sched = ASHA(1, 3, max_epochs)
        sampler = MultiFidelitySampler(
            _honed_tpe(seed), sched, min_points=10, mode="ranked", avoid_repeats=False
        )
        return _HonedRun(sampler, sched)

    def honed_tpe_asha(seed: int) -> _Run:
        from honed.schedulers import ASHA

        # honed's TPE ranks stopped trials by depth reached, then by their last value
        return _HonedRun(_honed_tpe(seed), ASHA(1, 3, max_epochs))

    def honed_auto_asha(seed: int) -> _Run:
        from honed.samplers import AutoSampler
        from honed.schedulers import ASHA

        # the default sampler beside ASHA, as create_study(scheduler=ASHA(...)) gave it
        return _HonedRun(AutoSampler(seed=seed), ASHA(1, 3, max_epochs))

    def honed_tpe_hyperband(seed: int) -> _Run:
        from honed.schedulers import Hyperband

        return _HonedRun(_honed_tpe(seed), Hyperband(1, max_epochs, 3))

    def honed_lc(seed: int) -> _Run:
        from honed.schedulers import LearningCurveStopping

        fit_at = [s for s in (4, 8, 16, 32, 64) if s < max_epochs]
        sched = LearningCurveStopping(
            max_epochs, min_points=4, fit_steps=fit_at, models=("pow", "exp")
        )
        return _HonedRun(_honed_tpe(seed), sched)

    def honed_none(seed: int) -> _Run:
        return _HonedRun(_honed_tpe(seed), None)

    def optuna_tpe_hyperband(seed: int) -> _Run:
        import optuna

        return _OptunaRun(
            optuna.samplers.TPESampler(seed=seed),
            optuna.pruners.HyperbandPruner(1, max_epochs, 3),
        )

    def optuna_tpe_median(seed: int) -> _Run:
        import optuna

        return _OptunaRun(optuna.samplers.TPESampler(seed=seed), optuna.pruners.MedianPruner())

    def optuna_tpe_asha(seed: int) -> _Run:
        import optuna

        return _OptunaRun(
            optuna.samplers.TPESampler(seed=seed),
            optuna.pruners.SuccessiveHalvingPruner(1, 3),
        )

    def optuna_tpe_none(seed: int) -> _Run:
        import optuna

        return _OptunaRun(optuna.samplers.TPESampler(seed=seed), optuna.pruners.NopPruner())

    return {
        "honed:asha": honed_asha,
        "honed:hyperband": honed_hyperband,
        "honed:bohb": honed_bohb,
        "honed:asha+mf-tpe": honed_asha_mf_tpe,
        "honed:tpe+asha": honed_tpe_asha,
        "honed:auto+asha": honed_auto_asha,
        "honed:asha+ranked-tpe": honed_asha_ranked_tpe,
        "honed:asha+ranked-tpe-repeats": honed_asha_ranked_tpe_repeats,
        "honed:asha-time": honed_asha_time,
        "honed:asha-time+ranked-tpe": honed_asha_time_ranked_tpe,
        "honed:asha+ranked-tpe-rf": honed_asha_ranked_tpe_rf,
        "honed:asha-time+ranked-tpe-rf": honed_asha_time_ranked_tpe_rf,
        "honed:tpe+hyperband": honed_tpe_hyperband,
        "honed:lc+tpe": honed_lc,
        "honed:tpe-no-stopping": honed_none,
        "optuna:tpe+hyperband": optuna_tpe_hyperband,
        "optuna:tpe+median": optuna_tpe_median,
        "optuna:tpe+sh": optuna_tpe_asha,
        "optuna:tpe-no-pruning": optuna_tpe_none,
    }


METHODS = tuple(_method_factories(81))


# ---- the simulated clock -------------------------------------------------------------------------
@dataclass
class Trace:
    method: str
    problem: str
    seed: int
    times: list[float]  # simulated seconds at which the incumbent improved
    best: list[float]  # the incumbent (best validation accuracy seen) after each improvement
    n_trials: int
    n_epochs: int
    overhead: float  # seconds of the method's own decisions (included in times)

    def time_to(self, target: float) -> float:
        for t, b in zip(self.times, self.best):
            if b >= target:
                return t
        return math.inf

    def best_by(self, budget: float) -> float:
        out = 0.0
        for t, b in zip(self.times, self.best):
            if t <= budget:
                out = b
        return out


def simulate(
    method: str,
    run: _Run,
    problem: MFProblem,
    seed: int,
    budget: float,
    workers: int,
    decision_seconds: float | None = None,
) -> Trace:
    """Run ``run`` on ``problem`` until every worker's simulated clock passes ``budget``.

    Each ask and each report adds the method's measured CPU time to its worker's clock, or
    ``decision_seconds`` when given: then a run is a pure function of the method and seed
    (screening variants of equal cost without the measurement's noise, which can move a
    seed's time to the target by 2x between runs of the same code)."""

    def spent(t0: float) -> float:
        return time.process_time() - t0 if decision_seconds is None else decision_seconds

    clocks = [0.0] * workers
    jobs: list[dict[str, Any] | None] = [None] * workers
    times: list[float] = []
    best: list[float] = []
    incumbent = -math.inf
    n_trials = n_epochs = 0
    overhead = 0.0
    while min(clocks) < budget:
        w = min(range(workers), key=lambda i: clocks[i])
        job = jobs[w]
        if job is None:
            t0 = time.process_time()
            handle, idx = run.ask(problem)
            dt = spent(t0)
            overhead += dt
            clocks[w] += dt
            job = jobs[w] = {"h": handle, "idx": idx, "epoch": 0, "start": clocks[w]}
            n_trials += 1
        job["epoch"] += 1
        acc, cost = problem.epoch(job["idx"], job["epoch"])
        clocks[w] += cost
        n_epochs += 1
        if clocks[w] <= budget and acc > incumbent:
            incumbent = acc
            times.append(clocks[w])
            best.append(acc)
        t0 = time.process_time()
        stop = run.report(job["h"], acc, job["epoch"], clocks[w] - job["start"])
        if stop or job["epoch"] >= problem.max_epochs:
            run.tell(job["h"], None if stop else acc)
            jobs[w] = None
        dt = spent(t0)
        overhead += dt
        clocks[w] += dt
    return Trace(method, problem.name, seed, times, best, n_trials, n_epochs, overhead)


def run_multifidelity(
    methods: Sequence[str],
    problems: Sequence[str],
    seeds: Sequence[int],
    budget: float,
    targets: dict[str, float] | None = None,
    workers: int = 2,
    max_epochs: int = 81,
    cache_dir: Path | None = None,
    decision_seconds: float | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Every method on every problem and seed; returns traces and a summary per problem.
    ``decision_seconds``: see :func:`simulate`. Unless ``quiet``, progress goes to stderr:
    a bar with the runs done and the time left on a terminal, a line per run otherwise."""
    if decision_seconds is not None and not decision_seconds >= 0:
        raise ValueError(
            f"decision_seconds must be >= 0 (or None: measure), got {decision_seconds!r}."
        )
    factories = _method_factories(max_epochs)
    unknown = [m for m in methods if m not in factories]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(factories)}.")
    out: dict[str, Any] = {"problems": {}}
    bar = ProgressBar(len(problems) * len(seeds) * len(methods), "honed-bench mf", quiet=quiet)
    with bar:
        for pname in problems:
            out["problems"][pname] = _run_problem(
                pname,
                methods,
                seeds,
                budget,
                targets,
                workers,
                max_epochs,
                cache_dir,
                decision_seconds,
                factories,
                bar,
            )
    return out


def _run_problem(
    pname: str,
    methods: Sequence[str],
    seeds: Sequence[int],
    budget: float,
    targets: dict[str, float] | None,
    workers: int,
    max_epochs: int,
    cache_dir: Path | None,
    decision_seconds: float | None,
    factories: dict[str, Callable[[int], _Run]],
    bar: ProgressBar,
) -> dict[str, Any]:
    problem = make_problem(pname, cache_dir, max_epochs)
    traces: list[Trace] = []
    for seed in seeds:
        for m in methods:
            tr = simulate(m, factories[m](seed), problem, seed, budget, workers, decision_seconds)
            traces.append(tr)
            problem.save()
            bar.advance(
                note=f"{pname} seed {seed} {m}: best {tr.best_by(budget):.4f}, "
                f"{tr.n_trials} trials, {tr.n_epochs} epochs, overhead {tr.overhead:.1f}s"
            )
    target = (targets or {}).get(pname)
    if target is None:
        # default target: reached (at some epoch) by only 1% of the configurations
        peaks = sorted(max(row["acc"]) for row in problem.table.values() if row["acc"])
        target = peaks[int(0.99 * (len(peaks) - 1))]
    return {
        "target": target,
        "budget": budget,
        "n_configs_trained": len(problem.table),
        "summary": summarize(traces, methods, target, budget),
        "traces": [tr.__dict__ for tr in traces],
    }


def summarize(
    traces: Sequence[Trace], methods: Sequence[str], target: float, budget: float
) -> dict[str, dict[str, float]]:
    import numpy as np

    summary = {}
    for m in methods:
        mine = [t for t in traces if t.method == m]
        ttt = [t.time_to(target) for t in mine]
        hit = [x for x in ttt if math.isfinite(x)]
        # censored at the budget: a run that never reached the target counts as the budget
        censored = [min(x, budget) for x in ttt]
        summary[m] = {
            "median_time_to_target": float(np.median(censored)),
            "mean_time_to_target": float(np.mean(censored)),
            "reached": len(hit),
            "runs": len(mine),
            "mean_best": float(np.mean([t.best_by(budget) for t in mine])),
            "mean_trials": float(np.mean([t.n_trials for t in mine])),
            "mean_overhead_s": float(np.mean([t.overhead for t in mine])),
        }
    return summary


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [f"Command: `{command}`", ""]
    for pname, res in result["problems"].items():
        summ = res["summary"]
        optuna = [m for m in summ if m.startswith("optuna:")]
        ref = min(optuna, key=lambda m: summ[m]["median_time_to_target"]) if optuna else None
        ref_mean = min(optuna, key=lambda m: summ[m]["mean_time_to_target"]) if optuna else None
        lines.append(
            f"### {pname}: target accuracy {res['target']:.4f}, budget {res['budget']:.0f} "
            f"simulated s ({res['n_configs_trained']} configurations trained for real)"
        )
        lines.append("")
        head = "| method | median time to target (s) | reached | mean time to target (s) | "
        head += "mean best acc | trials | "
        head += "overhead (s) |"
        if ref:
            head += f" speed-up vs {ref} |"
        if ref_mean:
            head += f" mean-time speed-up vs {ref_mean} |"
        lines.append(head)
        lines.append("|" + "---|" * (head.count("|") - 1))
        for m, s in sorted(summ.items(), key=lambda kv: kv[1]["median_time_to_target"]):
            row = (
                f"| {m} | {s['median_time_to_target']:.1f} | {s['reached']}/{s['runs']} | "
                f"{s['mean_time_to_target']:.1f} | {s['mean_best']:.4f} | "
                f"{s['mean_trials']:.0f} | {s['mean_overhead_s']:.2f} |"
            )
            if ref:
                ratio = summ[ref]["median_time_to_target"] / max(s["median_time_to_target"], 1e-9)
                row += f" {ratio:.2f}x |"
            if ref_mean:
                ratio = summ[ref_mean]["mean_time_to_target"] / max(s["mean_time_to_target"], 1e-9)
                row += f" {ratio:.2f}x |"
            lines.append(row)
        lines.append("")
        traces = res.get("traces") or []
        if traces:
            seeds = sorted({tr["seed"] for tr in traces})
            lines.append(
                f"Per-seed simulated seconds to the target (seeds {seeds[0]}-{seeds[-1]}; "
                f"{res['budget']:g} = not reached within the budget):"
            )
            lines.append("")
            for m in summ:
                per = {tr["seed"]: tr for tr in traces if tr["method"] == m}
                times = []
                for seed in seeds:
                    tr = per.get(seed)
                    t = math.inf
                    if tr is not None:
                        hits = (a for a, b in zip(tr["times"], tr["best"]) if b >= res["target"])
                        t = next(hits, t)
                    times.append(f"{min(t, res['budget']):.1f}")
                lines.append(f"* {m}: {' '.join(times)}")
            lines.append("")
    lines.append(
        "Times are simulated seconds on the stated number of workers: real per-epoch CPU "
        "seconds measured once per configuration, plus each method's own measured decision "
        "time. Runs that never reach the target count as the full budget (also in the mean)."
    )
    return "\n".join(lines)


# ---- command line: `honed-bench mf` --------------------------------------------------------------
def register_mode(sub: Any) -> None:
    """Add the ``mf`` mode to ``honed-bench``."""
    p = sub.add_parser(
        "mf",
        help="multi-fidelity: early-stopping schedulers on real training (simulated clock)",
    )
    p.add_argument("--methods", default=",".join(METHODS), help="comma list (default: all)")
    p.add_argument("--problems", default="mlp-digits", help=f"comma list of {PROBLEMS}")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument(
        "--first-seed", type=int, default=0, help="seeds FIRST .. FIRST+SEEDS-1 (confirming runs)"
    )
    p.add_argument("--budget", type=float, default=120.0, help="simulated seconds per run")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-epochs", type=int, default=81)
    p.add_argument("--target", action="append", default=[], help="PROBLEM=ACCURACY (repeatable)")
    p.add_argument("--cache-dir", default=None, help="where trained curves are cached")
    p.add_argument("--out", default=None, help="folder for mf.json and mf.md")
    p.add_argument(
        "--decision-seconds",
        type=float,
        default=None,
        metavar="S",
        help="charge S seconds per ask and per report instead of the measured CPU time: "
        "repeatable runs for screening variants of equal cost (default: measure)",
    )
    p.add_argument(
        "--build-table",
        type=int,
        default=0,
        metavar="JOBS",
        help="first train every configuration fully on JOBS processes (else on demand)",
    )
    p.add_argument(
        "--quiet", action="store_true", help="print only the tables (no progress on stderr)"
    )
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    targets = {}
    for t in args.target:
        name, _, acc = t.partition("=")
        try:
            targets[name] = float(acc)
        except ValueError:
            print(f"honed-bench mf: --target must be PROBLEM=ACCURACY, got {t!r}", file=sys.stderr)
            return 2
    cache = Path(args.cache_dir) if args.cache_dir else Path.home() / ".cache" / "honed" / "bench"
    if args.build_table:
        for name in problems:
            build_table(make_problem(name, cache, args.max_epochs), args.build_table, args.quiet)
        if args.seeds == 0:
            return 0
    try:
        result = run_multifidelity(
            methods,
            problems,
            range(args.first_seed, args.first_seed + args.seeds),
            args.budget,
            targets,
            args.workers,
            args.max_epochs,
            cache,
            decision_seconds=args.decision_seconds,
            quiet=args.quiet,
        )
    except ValueError as e:
        print(f"honed-bench mf: error: {e}", file=sys.stderr)
        return 2
    md = markdown(result, args.command_line)
    print(md)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "mf.json").write_text(json.dumps(result))
        (out / "mf.md").write_text(md)
    return 0
