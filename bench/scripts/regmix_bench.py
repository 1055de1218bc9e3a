"""Mixture search (honed.recipes.mixture_search, RegMix) measured on a real mixture task.

The data: scikit-learn's digits, split per seed into a training pool, a clean validation set
(what the small proxy runs are scored on) and a clean test set (what the large runs are
scored on). Six sources are built from the pool, each a differently damaged copy:

* ``clean``: 120 clean images only (a small source: a large run repeats them);
* ``labels``: 40% of the labels replaced by random ones;
* ``noise``: Gaussian noise (sd 8 on the 0..16 pixel scale) on every pixel;
* ``skewed``: 90% of its images from classes 0-4;
* ``shifted``: images moved one pixel right and down;
* ``occluded``: the lower half of each image blanked.

A mixture's training set draws ``round(w_i * n)`` images from source ``i`` (with replacement
when the source is smaller). Proxy scale: ``n = 200`` images and a logistic regression.
Target scale: ``n = 1500`` images and a kernel machine (an RBF support vector classifier,
C = 10), scored as the mean test error of 3 training draws.

Per seed: ``--trials`` proxy trials on random mixtures (flat Dirichlet draws, enqueued in a
honed study whose objective reads ``mix.<source>``), then at the target scale: the mixture
``mixture_search`` predicts best (with each regressor), the best proxy mixture, the uniform
mixture, and the best single source (the best of the six at the target scale: an oracle).
Reported: mean test error of each and the paired differences (regression minus baseline)
with 95% t-intervals over seeds.

``--data cancer``: the same six sources built from scikit-learn's breast-cancer data
(features standardized on the pool; ``clean`` is 40 rows, ``noise`` adds sd 1, ``skewed`` is
90% class 0, ``shifted`` offsets a random half of the features by 1.5 sd, ``occluded`` sets
another random half to the mean), proxy ``n = 60``, target ``n = 600``.

Run from the repository root: ``python bench/scripts/regmix_bench.py --seeds 10`` and
``python bench/scripts/regmix_bench.py --seeds 10 --data cancer --out
bench/results/regmix-cancer.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import honed
from honed.recipes import mixture_search

SOURCES = ("clean", "labels", "noise", "skewed", "shifted", "occluded")
TARGET_REPS = 3
REGRESSORS = ("lightgbm", "gbm", "gp")
# Per dataset: proxy and target training-set sizes, the clean source's size, and the divisor
# that scales features for the models (digits' pixels are 0..16; breast cancer's features are
# standardized on the pool).
SETTINGS = {
    "digits": {"proxy_n": 200, "target_n": 1500, "clean": 120, "scale": 16.0},
    "cancer": {"proxy_n": 60, "target_n": 600, "clean": 40, "scale": 1.0},
}


def _sources(seed: int, dataset: str = "digits") -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split

    digits = dataset == "digits"
    x, y = load_digits(return_X_y=True) if digits else load_breast_cancer(return_X_y=True)
    setting = SETTINGS[dataset]
    rng = np.random.default_rng(seed)
    x_pool, x_rest, y_pool, y_rest = train_test_split(
        x, y, test_size=0.45, random_state=seed, stratify=y
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    if not digits:  # standardize on the pool
        mu, sd = x_pool.mean(axis=0), x_pool.std(axis=0) + 1e-12
        x_pool, x_val, x_test = (x_pool - mu) / sd, (x_val - mu) / sd, (x_test - mu) / sd
    n_classes = len(np.unique(y))
    n = len(y_pool)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    keep = rng.choice(n, setting["clean"], replace=False)
    out["clean"] = (x_pool[keep], y_pool[keep])
    labels = y_pool.copy()
    flip = rng.random(n) < 0.4
    labels[flip] = rng.integers(0, n_classes, int(flip.sum()))
    out["labels"] = (x_pool, labels)
    if digits:
        out["noise"] = (np.clip(x_pool + rng.normal(0, 8, x_pool.shape), 0, 16), y_pool)
    else:
        out["noise"] = (x_pool + rng.normal(0, 1.0, x_pool.shape), y_pool)
    low = np.flatnonzero(y_pool < max(1, n_classes // 2))
    high = np.flatnonzero(y_pool >= max(1, n_classes // 2))
    skew = np.concatenate([low, rng.choice(high, len(low) // 9, replace=False)])
    out["skewed"] = (x_pool[skew], y_pool[skew])
    if digits:
        images = x_pool.reshape(-1, 8, 8)
        shifted = np.zeros_like(images)
        shifted[:, 1:, 1:] = images[:, :-1, :-1]
        out["shifted"] = (shifted.reshape(-1, 64), y_pool)
        occluded = images.copy()
        occluded[:, 4:, :] = 0
        out["occluded"] = (occluded.reshape(-1, 64), y_pool)
    else:  # half the features offset by 1.5 sd; half the features lost (set to the mean)
        half = rng.permutation(x_pool.shape[1])[: x_pool.shape[1] // 2]
        shifted = x_pool.copy()
        shifted[:, half] += 1.5
        out["shifted"] = (shifted, y_pool)
        lost = x_pool.copy()
        lost[:, rng.permutation(x_pool.shape[1])[: x_pool.shape[1] // 2]] = 0.0
        out["occluded"] = (lost, y_pool)
    return {
        "sources": out,
        "val": (x_val, y_val),
        "test": (x_test, y_test),
        "setting": setting,
    }


def _draw(data: dict[str, Any], w: np.ndarray, n: int, rng: np.random.Generator) -> tuple:
    counts = np.floor(w * n).astype(int)
    counts[np.argsort(-(w * n - counts))[: n - counts.sum()]] += 1  # largest remainders
    xs, ys = [], []
    for s, c in zip(SOURCES, counts, strict=True):
        if c == 0:
            continue
        x, y = data["sources"][s]
        rows = rng.choice(len(y), c, replace=c > len(y))
        xs.append(x[rows])
        ys.append(y[rows])
    return np.vstack(xs), np.concatenate(ys)


def proxy_error(data: dict[str, Any], w: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression

    setting = data["setting"]
    x, y = _draw(data, w, setting["proxy_n"], np.random.default_rng(seed))
    if len(np.unique(y)) < 2:
        return 1.0
    model = LogisticRegression(C=1.0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x / setting["scale"], y)
    xv, yv = data["val"]
    return float(1.0 - model.score(xv / setting["scale"], yv))


def target_error(data: dict[str, Any], w: np.ndarray, seed: int) -> float:
    from sklearn.svm import SVC

    errors = []
    for rep in range(TARGET_REPS):
        rng = np.random.default_rng([seed, rep])
        x, y = _draw(data, w, data["setting"]["target_n"], rng)
        if len(np.unique(y)) < 2:
            errors.append(1.0)
            continue
        model = SVC(C=10.0)
        model.fit(x / data["setting"]["scale"], y)
        xt, yt = data["test"]
        errors.append(1.0 - model.score(xt / data["setting"]["scale"], yt))
    return float(np.mean(errors))


def run_seed(seed: int, n_trials: int, dataset: str = "digits") -> dict[str, Any]:
    data = _sources(seed, dataset)
    rng = np.random.default_rng(seed)
    # A fixed name: trial.seed (each proxy run's data draw) derives from it.
    study = honed.create_study(f"regmix-{dataset}-{seed}", sampler="random", seed=seed)
    for w in rng.dirichlet(np.ones(len(SOURCES)), n_trials):
        study.enqueue({f"mix.{s}": float(v) for s, v in zip(SOURCES, w, strict=True)})

    def objective(trial: honed.Trial) -> float:
        w = np.array([trial.float(f"mix.{s}", 0.0, 1.0) for s in SOURCES])
        return proxy_error(data, w / w.sum(), trial.seed)

    study.optimize(objective, n_trials=n_trials, show_progress=False)
    row: dict[str, Any] = {"seed": seed}
    mixtures: dict[str, np.ndarray] = {}
    for reg in REGRESSORS:
        t0 = time.perf_counter()
        found = mixture_search(study, "mix", regressor=reg, seed=seed)  # type: ignore[arg-type]
        row[f"{reg}_seconds"] = time.perf_counter() - t0
        row[f"{reg}_cv_rmse"] = found.fit_error
        row[f"{reg}_predicted"] = found.best.predicted
        mixtures[reg] = np.array([found.best.weights[s] for s in SOURCES])
    row["proxy_sd"] = found.target_sd
    best = study.best_trial
    mixtures["best_proxy"] = np.array([best.params[f"mix.{s}"] for s in SOURCES])
    mixtures["uniform"] = np.full(len(SOURCES), 1.0 / len(SOURCES))
    for i, s in enumerate(SOURCES):
        mixtures[f"only_{s}"] = np.eye(len(SOURCES))[i]
    target_seed = seed + 10_000
    for name, w in mixtures.items():
        row[name] = target_error(data, w / w.sum(), target_seed)
        row[f"{name}_weights"] = [round(float(v), 3) for v in w / w.sum()]
    singles = {s: row[f"only_{s}"] for s in SOURCES}
    row["best_single_source"] = min(singles, key=singles.__getitem__)
    row["best_single"] = min(singles.values())
    return row


def _interval(diffs: list[float]) -> tuple[float, float, float]:
    from scipy import stats

    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5
    return mean, mean - half, mean + half


def summarize(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{len(rows)} seeds; test error at the target scale (lower is better)",
        "",
        "| mixture | mean error | vs best proxy | vs uniform | vs best single (oracle) |",
        "|---|---|---|---|---|",
    ]
    names = [*REGRESSORS, "best_proxy", "uniform", "best_single"]
    for name in names:
        cells = [f"{statistics.fmean(r[name] for r in rows):.4f}"]
        for base in ("best_proxy", "uniform", "best_single"):
            if name == base or name not in REGRESSORS:
                cells.append("")
                continue
            m, lo, hi = _interval([r[name] - r[base] for r in rows])
            wins = sum(r[name] < r[base] for r in rows)
            cells.append(f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}], better on {wins}/{len(rows)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    spread = statistics.fmean(r["proxy_sd"] for r in rows)
    for reg in REGRESSORS:
        cv = statistics.fmean(r[f"{reg}_cv_rmse"] for r in rows)
        sec = statistics.fmean(r[f"{reg}_seconds"] for r in rows)
        lines.append(
            f"- {reg}: out-of-fold RMSE {cv:.4f} (sd of the proxy errors {spread:.4f}), "
            f"{sec:.1f} s per search"
        )
    best_sources = [r["best_single_source"] for r in rows]
    lines.append(f"- best single source per seed: {best_sources}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--data", choices=sorted(SETTINGS), default="digits")
    parser.add_argument("--out", type=Path, default=Path("bench/results/regmix.json"))
    args = parser.parse_args()
    honed.set_verbosity("WARNING")
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t0 = time.perf_counter()
        rows.append(run_seed(seed, args.trials, args.data))
        r = rows[-1]
        print(
            f"seed {seed}: "
            + ", ".join(
                f"{k} {r[k]:.4f}" for k in (*REGRESSORS, "best_proxy", "uniform", "best_single")
            )
            + f" ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        args.out.write_text(json.dumps(rows, indent=1))
    print(summarize(rows))


if __name__ == "__main__":
    main()
