"""After the sweep, measured: model soups against the best single model, and confirmation
against the tuning winner on a noisy objective (honed.recipes, issue 17).

``soup``: a small PyTorch MLP pre-trained on one half of scikit-learn's digits and fine-tuned
on the other half (its own train / validation / test split) from that one initialisation, with
the learning rate, weight decay, label smoothing and epochs tuned (``--trials`` trials of the
default sampler, on validation accuracy). Then, on the test split tuning never saw: the best
single trial (best validation accuracy), the greedy soup (trials added best first while the
validation accuracy does not drop), the uniform soup of every trial and of the best five.
Each seed draws its own split, pre-training and sampler seed.

``confirm``: a noisy objective whose true value is estimated closely. An RBF support vector
classifier (C, gamma, class weights) on scikit-learn's breast-cancer data, scored by accuracy
on one random 70/30 split drawn from ``trial.seed`` (the noise); its true value is the mean
accuracy over ``--truth-splits`` splits that neither tuning nor confirmation used. Per seed:
tune ``--trials`` trials with the default sampler, then ``confirm(top_k=5, n_seeds=5)`` and
``likely_best``, then ``--extra`` more tuning trials (confirmation's budget spent on tuning
instead). Reported over seeds: how often the tuning winner is the confirmed winner, and the
true-value regret (against the best true value among the evaluated configurations) of
``best_trial``, of the confirmed best, of the likely best and of ``best_trial`` after the
extra trials.

Run from the repository root:
``python bench/scripts/recipes_bench.py soup --seeds 5`` and
``python bench/scripts/recipes_bench.py confirm --seeds 20``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

import honed
from honed.recipes import confirm, likely_best, soup
from honed_bench.problems.synthetic import hartmann6

# ---- soups: fine-tuning an MLP on digits from one pre-trained initialisation -----------------


def _digits(seed: int) -> dict[str, Any]:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_pre, x_ft, y_pre, y_ft = train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x_ft, y_ft, test_size=0.7, random_state=seed, stratify=y_ft
    )
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )

    def t(a: np.ndarray, long: bool = False) -> Any:
        return torch.tensor(a, dtype=torch.long if long else torch.float32)

    return {
        "pre": (t(x_pre), t(y_pre, True)),
        "train": (t(x_tr), t(y_tr, True)),
        "val": (t(x_va), t(y_va, True)),
        "test": (t(x_te), t(y_te, True)),
    }


def _mlp() -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )


def _accuracy(state: Any, split: tuple[Any, Any]) -> float:
    import torch

    model = _mlp()
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return float((model(split[0]).argmax(1) == split[1]).float().mean())


def _pretrain(data: dict[str, Any], seed: int, epochs: int) -> dict[str, Any]:
    import torch

    torch.manual_seed(seed)
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data["pre"]
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return {k: v.clone() for k, v in model.state_dict().items()}


def _fine_tune_objective(data: dict[str, Any], init: dict[str, Any]) -> Any:
    import torch

    def objective(trial: honed.Trial) -> float:
        lr = trial.float("lr", 1e-4, 0.1, log=True)
        weight_decay = trial.float("weight_decay", 1e-6, 1e-2, log=True)
        smoothing = trial.float("label_smoothing", 0.0, 0.2)
        epochs = trial.int("epochs", 2, 20)
        torch.manual_seed(trial.seed)
        model = _mlp()
        model.load_state_dict(init)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)
        x, y = data["train"]
        for _ in range(epochs):
            model.train()
            for idx in torch.randperm(len(x)).split(32):
                opt.zero_grad()
                loss(model(x[idx]), y[idx]).backward()
                opt.step()
        state = model.state_dict()
        trial.save_checkpoint(state)
        return _accuracy(state, data["val"])

    return objective


def soup_seed(seed: int, n_trials: int, pretrain_epochs: int, folder: Path) -> dict[str, Any]:
    data = _digits(seed)
    init = _pretrain(data, seed, pretrain_epochs)
    study = honed.create_study(
        f"soup-{seed}",
        storage=f"sqlite:///{folder / f'soup-{seed}.db'}",
        direction="maximize",
        seed=seed,
    )
    start = time.perf_counter()
    study.optimize(_fine_tune_objective(data, init), n_trials=n_trials, show_progress=False)

    def val(state: Any) -> float:
        return _accuracy(state, data["val"])

    greedy = soup(study, val, method="greedy")
    uniform = soup(study, val, method="uniform", name="uniform-all")
    top5 = soup(study, val, method="uniform", top_k=5, name="uniform-top5")
    best = study.best_trial
    single = study.checkpoints.load(best.number)
    return {
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "pretrained_test": _accuracy(init, data["test"]),
        "best_val": best.value,
        "best_single": _accuracy(single, data["test"]),
        "greedy": _accuracy(greedy.state, data["test"]),
        "greedy_val": greedy.score,
        "greedy_size": len(greedy.trials),
        "uniform_all": _accuracy(uniform.state, data["test"]),
        "uniform_top5": _accuracy(top5.state, data["test"]),
    }


def run_soup(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        row = soup_seed(seed, args.trials, args.pretrain_epochs, folder)
        rows.append(row)
        print(json.dumps(row), flush=True)
    cols = ["pretrained_test", "best_single", "greedy", "uniform_all", "uniform_top5"]
    print("\n| seed | pre-trained | best single | greedy soup (size) | uniform, all ", end="")
    print("| uniform, top 5 |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['pretrained_test']:.4f} | {r['best_single']:.4f} | "
            f"{r['greedy']:.4f} ({r['greedy_size']}) | {r['uniform_all']:.4f} | "
            f"{r['uniform_top5']:.4f} |"
        )
    means = {c: statistics.mean(r[c] for r in rows) for c in cols}
    size = statistics.mean(r["greedy_size"] for r in rows)
    print(
        f"| mean | {means['pretrained_test']:.4f} | {means['best_single']:.4f} | "
        f"{means['greedy']:.4f} ({size:.1f}) | {means['uniform_all']:.4f} | "
        f"{means['uniform_top5']:.4f} |"
    )
    wins = sum(r["greedy"] >= r["best_single"] for r in rows)
    print(f"\ngreedy soup >= best single on test: {wins} of {len(rows)} seeds")
    if len(rows) < 2:
        return
    from scipy.stats import t

    print("\n| pick | minus best single [95% interval over seeds] | better / equal / worse |")
    print("|---|---|---|")
    for col in ("greedy", "uniform_all", "uniform_top5"):
        diffs = [r[col] - r["best_single"] for r in rows]
        mean = statistics.mean(diffs)
        half = float(t.ppf(0.975, len(diffs) - 1)) * statistics.stdev(diffs) / len(diffs) ** 0.5
        counts = [sum(d > 1e-9 for d in diffs), sum(abs(d) <= 1e-9 for d in diffs)]
        counts.append(len(diffs) - sum(counts))
        print(
            f"| {col} | {mean:+.4f} [{mean - half:+.4f}, {mean + half:+.4f}] | "
            f"{' / '.join(map(str, counts))} |"
        )


# ---- confirmation: a classifier scored on one random split per trial -------------------------


def _breast() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def _score(params: dict[str, Any], split_seed: int, data: tuple[np.ndarray, np.ndarray]) -> float:
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = data
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=split_seed % 2**32, stratify=y
    )
    model = make_pipeline(
        StandardScaler(),
        SVC(C=params["C"], gamma=params["gamma"], class_weight=params["class_weight"]),
    )
    model.fit(x_tr, y_tr)
    return float(model.score(x_te, y_te))


def _noisy_objective(data: tuple[np.ndarray, np.ndarray]) -> Any:
    def objective(trial: honed.Trial) -> float:
        params = {
            "C": trial.float("C", 1e-2, 1e3, log=True),
            "gamma": trial.float("gamma", 1e-5, 1.0, log=True),
            "class_weight": trial.choice("class_weight", [None, "balanced"]),
        }
        return _score(params, trial.seed, data)  # one random split: the noise

    return objective


# Truth splits: fixed split seeds. A trial's seed (hashed into [0, 2**32)) meets one of them
# with a chance of about one in a million per trial, and would then only share one split.
_TRUTH_SEEDS = [7919 * i for i in range(1000)]


class _Noisy:
    """A noisy objective, its direction and the true value of a configuration."""

    def __init__(self, name: str, noise: float) -> None:
        self.name = name
        self.noise = noise
        self.data = _breast() if name == "svm-breast" else None
        self.direction = "maximize" if name == "svm-breast" else "minimize"
        self._truths: dict[str, float] = {}

    def objective(self, trial: honed.Trial) -> float:
        if self.name == "svm-breast":
            return _noisy_objective(self.data)(trial)  # type: ignore[arg-type]
        x = [trial.float(f"x{i}", 0.0, 1.0) for i in range(6)]
        rng = np.random.default_rng(trial.seed)
        return hartmann6(np.array(x)) + self.noise * float(rng.standard_normal())

    def truth(self, params: dict[str, Any]) -> float:
        """The value without noise (for the SVM: the mean over the truth splits); cached."""
        key = json.dumps(params, sort_keys=True)
        if key not in self._truths:
            if self.name == "svm-breast":
                scores = [_score(params, s, self.data) for s in _TRUTH_SEEDS[: self.splits]]
                self._truths[key] = float(np.mean(scores))
            else:
                self._truths[key] = hartmann6(np.array([params[f"x{i}"] for i in range(6)]))
        return self._truths[key]

    splits = 50


def confirm_seed(
    problem: _Noisy, seed: int, n_trials: int, extra: int, folder: Path
) -> dict[str, Any]:
    url = f"sqlite:///{folder / f'confirm-{problem.name}-{seed}.db'}"
    study = honed.create_study(f"noisy-{seed}", storage=url, direction=problem.direction, seed=seed)
    start = time.perf_counter()
    study.optimize(problem.objective, n_trials=n_trials, show_progress=False)
    winner = study.best_trial
    result = confirm(study, problem.objective, top_k=5, n_seeds=5, show_progress=False)
    found = likely_best(study)
    # the same budget (top_k x n_seeds runs) spent on more tuning instead
    study.optimize(problem.objective, n_trials=extra, show_progress=False)
    longer = study.best_trial
    sign = 1.0 if problem.direction == "minimize" else -1.0

    def regret(t: honed.FrozenTrial, among: list[honed.FrozenTrial]) -> float:
        best = min(sign * problem.truth(dict(u.params)) for u in among)
        return sign * problem.truth(dict(t.params)) - best

    trials = [t for t in study.trials if t.state is honed.TrialState.COMPLETE]
    first = [t for t in trials if t.number < n_trials]
    by_number = {t.number: t for t in trials}
    return {
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "tuning_winner": winner.number,
        "confirmed": result.best.trial,
        "likely": found.trial.number,
        "agree": result.agrees,
        "likely_agrees": found.agrees,
        "regret_best_trial": regret(winner, first),
        "regret_confirmed": regret(by_number[result.best.trial], first),
        "regret_likely": regret(found.trial, first),
        "regret_more_tuning": regret(longer, trials),
        "more_tuning_true_gain": sign * (problem.truth(dict(winner.params)))
        - sign * problem.truth(dict(longer.params)),
        "true_best_trial": problem.truth(dict(winner.params)),
        "true_confirmed": problem.truth(dict(by_number[result.best.trial].params)),
        "true_likely": problem.truth(dict(found.trial.params)),
        "true_more_tuning": problem.truth(dict(longer.params)),
        "noise_sd": found.noise_sd,
        "optimism": -sign * (winner.value - problem.truth(dict(winner.params))),
    }


def run_confirm(args: argparse.Namespace) -> None:
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    problem = _Noisy(args.problem, args.noise)
    problem.splits = args.truth_splits
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        row = confirm_seed(problem, seed, args.trials, args.extra, folder)
        rows.append(row)
        print(json.dumps(row), flush=True)
    n = len(rows)
    agree = sum(r["agree"] for r in rows)
    likely_agree = sum(r["likely_agrees"] for r in rows)
    print(f"\ntuning winner == confirmed winner: {agree} of {n} seeds")
    print(f"tuning winner == likely best (GP): {likely_agree} of {n} seeds")
    print(
        "\n| pick | mean true value | mean true regret | median regret | seeds with zero "
        "regret | seeds worse than best_trial |\n|---|---|---|---|---|---|"
    )
    for key, label in (
        ("best_trial", "best_trial"),
        ("confirmed", "confirmed best (top 5 x 5 seeds)"),
        ("likely", "likely_best (GP posterior mean)"),
        ("more_tuning", f"best_trial after {args.extra} more tuning trials (*)"),
    ):
        regrets = [r[f"regret_{key}"] for r in rows]
        truths = [r[f"true_{key}"] for r in rows]
        sign = -1 if problem.direction == "maximize" else 1
        worse = sum(sign * (r[f"true_{key}"] - r["true_best_trial"]) > 1e-12 for r in rows)
        zero = sum(v <= 1e-12 for v in regrets)
        print(
            f"| {label} | {statistics.mean(truths):.4f} | {statistics.mean(regrets):.4f} | "
            f"{statistics.median(regrets):.4f} | {zero} | "
            f"{worse if key != 'best_trial' else '-'} |"
        )
    gain = statistics.mean(r["more_tuning_true_gain"] for r in rows)
    print(
        f"\n(*) regret against the best of all {args.trials + args.extra} trials; its true "
        f"value is better than the tuning winner's by {gain:+.4f} on average"
    )
    gap = statistics.mean(r["optimism"] for r in rows)
    print(f"winner's curse: best_value is better than its true value by {gap:.4f} on average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("soup", help="greedy and uniform soups against the best single model")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--out", default="runs/recipes-soup")
    p.set_defaults(func=run_soup)
    p = sub.add_parser("confirm", help="confirmation and likely_best on a noisy objective")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--extra", type=int, default=25, help="more tuning trials (confirm's budget)")
    p.add_argument("--truth-splits", type=int, default=50)
    p.add_argument("--problem", choices=["svm-breast", "hartmann6"], default="svm-breast")
    p.add_argument("--noise", type=float, default=0.2, help="noise sd of hartmann6")
    p.add_argument("--out", default="runs/recipes-confirm")
    p.set_defaults(func=run_confirm)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
