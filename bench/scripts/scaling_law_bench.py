"""Hyperparameter scaling laws, measured (honed.recipes.fit_scaling_law, issue 18).

``synthetic``: a loss whose optimal learning rate and batch size follow a known power law in
``n_params`` and ``n_tokens`` (lr* = 0.5 N^-0.5 D^0.1, batch* = 0.2 N^0.1 D^0.3), quadratic in
their logarithms with an interaction, plus Gaussian noise (``--noise``, against a loss that
rises by 0.1 one e-fold away from the optimal lr). Nine scale groups (N in 1e5..1e7, D in
1e6..1e8), ``--trials`` random-search trials each. Per seed: the largest error over the four
exponents of ``fit_scaling_law`` and of the same least squares on each group's best trial (the
argmin), and the error of the predicted optimum 100x beyond the largest scale.
``--sampler auto`` runs each group with honed's default sampler instead of random search.
``--shape asymmetric`` replaces the quadratic (the recipe's own model of the loss near the
optimum) by ``0.2 (e^u - 1 - u) + 0.1 (e^v - 1 - v)`` in the log distances u, v: steeper above
the optimum than below, as losses are when the learning rate is too high.

``torch``: a teacher-student regression. Students are 2-hidden-layer ReLU MLPs of width
``--widths`` trained with Adam (batch 32, fresh samples every step, i.e. ``n_tokens`` = steps
x 32) for ``--steps`` steps; the loss is the validation MSE against a fixed tanh teacher. Per
seed: a study of ``--trials`` trials of the default sampler at each (width, steps) over
lr in [1e-4, 1e-1] (log), each trial trained from its own ``trial.seed``; the law fitted on
them predicts the lr of the largest model (``--big-width``, ``--big-steps``). There, a full
sweep (a grid of ``--grid`` lrs over the same range, each the mean over ``--eval-seeds`` fixed
seeds) gives the reference. Reported: the loss at the predicted lr (same seeds) over the
grid's best; the same for the best lr of the largest small model transferred unchanged; and
how many trials a study of the default sampler needs on ``law.space(...)`` against the full
range to come within 2% (and to match) the grid's best.

torch runs on one thread (``torch.set_num_threads(1)``); run under ``nice``.
Run from the repository root:
``nice -n 10 python bench/scripts/scaling_law_bench.py synthetic --seeds 10`` and
``nice -n 10 python bench/scripts/scaling_law_bench.py torch --seeds 3``;
``refit --source runs/scaling/torch.json --scale width,n_tokens`` refits a torch run's saved
small sweeps with other scale variables and evaluates the new prediction.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import honed
from honed.recipes import fit_scaling_law

# ---- synthetic ground truth ------------------------------------------------------------------
TRUE = {
    "lr": (0.5, {"n_params": -0.5, "n_tokens": 0.1}),
    "batch_size": (0.2, {"n_params": 0.1, "n_tokens": 0.3}),
}
SYN_SPACE = {
    "lr": honed.Float(1e-5, 1.0, log=True),
    "batch_size": honed.Float(1.0, 1e5, log=True),
}


def _true_opt(target: str, n_params: float, n_tokens: float) -> float:
    a, e = TRUE[target]
    return a * n_params ** e["n_params"] * n_tokens ** e["n_tokens"]


def _argmin_coefs(law: Any) -> dict[str, np.ndarray]:
    """The same least squares as the recipe, through each group's best trial instead:
    per target, log prefactor then exponents."""
    groups = law.groups
    x = np.column_stack(
        [np.ones(len(groups))] + [[math.log(g.scale[s]) for g in groups] for s in law.scale]
    )
    return {
        t: np.linalg.lstsq(x, np.log([g.best_params[t] for g in groups]), rcond=None)[0]
        for t in law.target
    }


def _argmin_law(law: Any) -> dict[str, dict[str, float]]:
    return {
        t: {s: float(c[i + 1]) for i, s in enumerate(law.scale)}
        for t, c in _argmin_coefs(law).items()
    }


def run_synthetic(args: argparse.Namespace) -> None:
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rng = np.random.default_rng(seed)
        studies = []
        for i, (n, d) in enumerate((n, d) for n in (1e5, 1e6, 1e7) for d in (1e6, 1e7, 1e8)):
            study = honed.create_study(sampler=args.sampler, seed=seed * 100 + i)
            study.set_user_attr("n_params", n)
            study.set_user_attr("n_tokens", d)
            lr0, bs0 = _true_opt("lr", n, d), _true_opt("batch_size", n, d)
            for _ in range(args.trials):
                trial = study.ask(SYN_SPACE)
                u = math.log(trial.params["lr"] / lr0)
                v = math.log(trial.params["batch_size"] / bs0)
                if args.shape == "quadratic":
                    value = 1 + 0.1 * u * u + 0.05 * v * v + 0.03 * u * v
                else:  # steeper above the optimum, flatter below, as learning rates diverge
                    value = 1 + 0.2 * (math.exp(u) - 1 - u) + 0.1 * (math.exp(v) - 1 - v)
                study.tell(trial, value + args.noise * float(rng.standard_normal()))
            studies.append(study)
        law = fit_scaling_law(
            studies, n_bootstrap=args.bootstrap, seed=seed, top_fraction=args.top_fraction
        )
        naive = _argmin_law(law)
        err = max(
            abs(law.exponents[t][s] - TRUE[t][1][s]) for t in TRUE for s in ("n_params", "n_tokens")
        )
        err_naive = max(
            abs(naive[t][s] - TRUE[t][1][s]) for t in TRUE for s in ("n_params", "n_tokens")
        )
        far = {"n_params": 1e9, "n_tokens": 1e10}
        pred = law.predict(**far)
        inside = law.interval(0.9, **far)
        pred_err = {t: abs(math.log(pred[t] / _true_opt(t, **far))) for t in TRUE}
        covered = {t: inside[t][0] <= _true_opt(t, **far) <= inside[t][1] for t in TRUE}
        row = {
            "seed": seed,
            "max_exponent_error": err,
            "max_exponent_error_argmin": err_naive,
            "exponents": law.exponents,
            "log_prediction_error_at_1e9_1e10": pred_err,
            "interval90_covers_truth": covered,
        }
        rows.append(row)
        print(
            f"seed {seed}: max |exponent error| {err:.3f} (argmin fit {err_naive:.3f}); "
            f"|log error| at N=1e9, D=1e10: lr {pred_err['lr']:.3f}, batch "
            f"{pred_err['batch_size']:.3f}; 90% interval covers: {covered}",
            flush=True,
        )
    errs = [r["max_exponent_error"] for r in rows]
    naive = [r["max_exponent_error_argmin"] for r in rows]
    print(
        f"\n{len(rows)} seeds, {args.shape} loss, noise sd {args.noise}, {args.trials} trials x "
        f"9 groups of {args.sampler} search: "
        f"max |exponent error| mean {statistics.mean(errs):.3f}, worst {max(errs):.3f}, "
        f"within 0.05 on {sum(e <= 0.05 for e in errs)}/{len(errs)}; argmin fit mean "
        f"{statistics.mean(naive):.3f}, worst {max(naive):.3f}, within 0.05 on "
        f"{sum(e <= 0.05 for e in naive)}/{len(naive)}"
    )
    for t in TRUE:
        cov = sum(r["interval90_covers_truth"][t] for r in rows)
        print(f"90% interval at N=1e9, D=1e10 covers the true {t}* on {cov}/{len(rows)} seeds")
    _save(args.out, f"synthetic-{args.shape}-noise{args.noise}-{args.sampler}", rows)


# ---- PyTorch teacher-student MLPs -----------------------------------------------------------
DIM, BATCH, LR_RANGE = 16, 32, (1e-4, 1e-1)


def _teacher() -> tuple[Any, Any, Any]:
    import torch

    g = torch.Generator().manual_seed(1234)
    w1 = torch.randn(DIM, 64, generator=g) / DIM**0.5
    w2 = torch.randn(64, 1, generator=g) / 8
    x_val = torch.randn(2048, DIM, generator=g)
    return w1, w2, x_val


def n_params(width: int) -> int:
    return DIM * width + width + width * width + width + width + 1


def train(width: int, steps: int, lr: float, seed: int) -> float:
    """Validation MSE of a width-``width`` student after ``steps`` Adam steps."""
    import torch

    w1, w2, x_val = _teacher()
    y_val = torch.tanh(x_val @ w1) @ w2
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(DIM, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(steps, BATCH, DIM, generator=g)
    ys = torch.tanh(xs @ w1) @ w2 + 0.1 * torch.randn(steps, BATCH, 1, generator=g)
    for i in range(steps):
        loss = ((net(xs[i]) - ys[i]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        value = float(((net(x_val) - y_val) ** 2).mean())
    return value if math.isfinite(value) else 1e3


def _mean_loss(width: int, steps: int, lr: float, seeds: list[int]) -> float:
    return statistics.mean(train(width, steps, lr, s) for s in seeds)


def _trials_to_reach(values: list[float], level: float) -> int | None:
    best = math.inf
    for i, v in enumerate(values, 1):
        best = min(best, v)
        if best <= level:
            return i
    return None


def run_torch(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    honed.set_verbosity("warning")
    widths = [int(w) for w in args.widths.split(",")]
    steps_list = [int(s) for s in args.steps.split(",")]
    eval_seeds = list(range(10_000, 10_000 + args.eval_seeds))
    big_w, big_s = args.big_width, args.big_steps
    big = {"n_params": n_params(big_w), "n_tokens": big_s * BATCH}
    source_space = {"lr": honed.Float(*LR_RANGE, log=True)}

    start = time.perf_counter()
    grid = np.geomspace(*LR_RANGE, args.grid)
    cache = Path(args.out) / f"sweep-w{big_w}-s{big_s}-g{args.grid}-e{args.eval_seeds}.json"
    if cache.exists():  # the full sweep depends on none of the seeds: run it once
        sweep = [tuple(p) for p in json.loads(cache.read_text())]
    else:
        sweep = [(float(lr), _mean_loss(big_w, big_s, float(lr), eval_seeds)) for lr in grid]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(sweep))
    best_lr, best_loss = min(sweep, key=lambda p: p[1])
    print(
        f"full sweep at width {big_w}, {big_s} steps ({args.grid} lrs x {len(eval_seeds)} "
        f"seeds, {time.perf_counter() - start:.0f} s): best lr {best_lr:.3g}, loss "
        f"{best_loss:.5f}",
        flush=True,
    )
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t0 = time.perf_counter()
        studies = []
        for i, (w, s) in enumerate((w, s) for w in widths for s in steps_list):
            study = honed.create_study(seed=seed * 100 + i)
            study.set_user_attr("n_params", n_params(w))
            study.set_user_attr("n_tokens", s * BATCH)

            def objective(trial: honed.Trial, w: int = w, s: int = s) -> float:
                return train(w, s, trial.float("lr", *LR_RANGE, log=True), trial.seed)

            study.optimize(objective, n_trials=args.trials, show_progress=False)
            studies.append(study)
        small_seconds = time.perf_counter() - t0
        law = fit_scaling_law(studies, target="lr", seed=seed)
        lr_pred = law.predict(**big)["lr"]
        low, high = law.interval(0.9, **big)["lr"]
        loss_pred = _mean_loss(big_w, big_s, lr_pred, eval_seeds)
        # No law: the best lr of the largest small model (widest, longest), transferred as is.
        largest = max(law.groups, key=lambda g: (g.scale["n_params"], g.scale["n_tokens"]))
        lr_copy = largest.optimum["lr"]
        loss_copy = _mean_loss(big_w, big_s, lr_copy, eval_seeds)
        # The same law through each scale's best trial (no smooth fit).
        coef = _argmin_coefs(law)["lr"]
        lr_argmin = float(np.exp(coef @ [1.0, *(math.log(big[v]) for v in law.scale)]))
        loss_argmin = _mean_loss(big_w, big_s, lr_argmin, eval_seeds)

        def big_objective(trial: honed.Trial) -> float:
            return _mean_loss(big_w, big_s, float(trial.params["lr"]), eval_seeds)

        reach = {}
        for name, space in (("law.space", law.space(**big)), ("full range", source_space)):
            study = honed.create_study(seed=seed)
            study.optimize(
                big_objective, n_trials=args.big_trials, space=space, show_progress=False
            )
            values = [t.value for t in study.trials if t.value is not None]
            reach[name] = {
                "within_2pct": _trials_to_reach(values, best_loss * 1.02),
                "match": _trials_to_reach(values, best_loss),
                "best": min(values),
                "space": str(space["lr"]),
            }
        row = {
            "seed": seed,
            "exponents": law.exponents["lr"],
            "exponent_intervals": law.exponent_intervals()["lr"],
            "residual_sd": law.residual_sd["lr"],
            "groups": [
                {"scale": dict(g.scale), "optimum": g.optimum["lr"], "best": g.best_params["lr"]}
                for g in law.groups
            ],
            "trials": [
                {
                    "n_params": st.user_attrs["n_params"],
                    "n_tokens": st.user_attrs["n_tokens"],
                    "lr_loss": [(t.params["lr"], t.value) for t in st.trials],
                }
                for st in studies
            ],
            "lr_pred": lr_pred,
            "interval90": (low, high),
            "loss_pred": loss_pred,
            "ratio_pred": loss_pred / best_loss,
            "lr_argmin": lr_argmin,
            "loss_argmin": loss_argmin,
            "ratio_argmin": loss_argmin / best_loss,
            "lr_copy": lr_copy,
            "loss_copy": loss_copy,
            "ratio_copy": loss_copy / best_loss,
            "reach": reach,
            "small_seconds": small_seconds,
        }
        rows.append(row)
        print(
            f"seed {seed}: exponents {_fmt(law.exponents['lr'])}, predicted lr {lr_pred:.3g} "
            f"[{low:.3g}, {high:.3g}] -> loss {loss_pred:.5f} ({loss_pred / best_loss:.3f}x "
            f"the sweep's best); argmin law {lr_argmin:.3g} -> {loss_argmin / best_loss:.3f}x; "
            f"copied lr {lr_copy:.3g} -> {loss_copy / best_loss:.3f}x; "
            f"trials to within 2% / to match: law.space "
            f"{reach['law.space']['within_2pct']} / {reach['law.space']['match']}, full range "
            f"{reach['full range']['within_2pct']} / {reach['full range']['match']} "
            f"(small sweeps {small_seconds:.0f} s)",
            flush=True,
        )
    ratios = [r["ratio_pred"] for r in rows]
    copies = [r["ratio_copy"] for r in rows]
    print(
        f"\n{len(rows)} seeds: loss at the predicted lr / sweep best: mean "
        f"{statistics.mean(ratios):.3f}"
        f", worst {max(ratios):.3f}, within 2% on {sum(r <= 1.02 for r in ratios)}/{len(ratios)};"
        f" copied lr: mean {statistics.mean(copies):.3f}, worst {max(copies):.3f}"
    )
    _save(
        args.out,
        "torch",
        {
            "sweep": sweep,
            "best_lr": best_lr,
            "best_loss": best_loss,
            "rows": rows,
            "args": {k: v for k, v in vars(args).items() if k != "run"},
        },
    )


def _width(n: float) -> int:
    """The width of the student with ``n`` parameters (the inverse of :func:`n_params`)."""
    return round((-(DIM + 3) + math.sqrt((DIM + 3) ** 2 - 4 * (1 - n))) / 2)


def run_refit(args: argparse.Namespace) -> None:
    """Refit the saved small sweeps of a ``torch`` run with other scale variables (e.g. the
    width instead of the parameter count) and evaluate the predicted lr at the large model."""
    import torch

    torch.set_num_threads(1)
    data = json.loads(Path(args.source).read_text())
    a = data["args"]
    eval_seeds = list(range(10_000, 10_000 + a["eval_seeds"]))
    big_w, big_s = a["big_width"], a["big_steps"]
    big_all = {"n_params": n_params(big_w), "n_tokens": big_s * BATCH, "width": big_w}
    scale = args.scale.split(",")
    big = {k: big_all[k] for k in scale}
    space = {"lr": honed.Float(*LR_RANGE, log=True)}
    ratios = []
    for row in data["rows"]:
        studies = []
        for group in row["trials"]:
            study = honed.create_study(sampler="random")
            for k, v in group.items():
                if k != "lr_loss":
                    study.set_user_attr(k, v)
            study.set_user_attr("width", _width(group["n_params"]))
            for lr, value in group["lr_loss"]:
                study.enqueue({"lr": lr})
                study.tell(study.ask(space), value)
            studies.append(study)
        law = fit_scaling_law(studies, scale=scale, target="lr", seed=row["seed"])
        lr = law.predict(**big)["lr"]
        low, high = law.interval(0.9, **big)["lr"]
        ratio = _mean_loss(big_w, big_s, lr, eval_seeds) / data["best_loss"]
        ratios.append(ratio)
        print(
            f"seed {row['seed']}, scale {scale}: exponents {_fmt(law.exponents['lr'])}, "
            f"predicted lr {lr:.3g} [{low:.3g}, {high:.3g}] -> {ratio:.3f}x the sweep's best",
            flush=True,
        )
    print(
        f"\n{len(ratios)} seeds: mean {statistics.mean(ratios):.3f}, worst {max(ratios):.3f}, "
        f"within 2% on {sum(r <= 1.02 for r in ratios)}/{len(ratios)}"
    )


def _fmt(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:+.3f}" for k, v in d.items())


def _save(out: str, name: str, data: Any) -> None:
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.json").write_text(json.dumps(data, indent=1, default=str))


def main() -> None:
    warnings.simplefilter("ignore", UserWarning)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("synthetic")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--noise", type=float, default=0.02)
    p.add_argument("--shape", choices=["quadratic", "asymmetric"], default="quadratic")
    p.add_argument("--sampler", default="random", help="each group's sampler: random, auto, ...")
    p.add_argument("--top-fraction", type=float, default=0.5)
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--out", default="runs/scaling")
    p.set_defaults(run=run_synthetic)
    p = sub.add_parser("torch")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--widths", default="16,32,64,128")
    p.add_argument("--steps", default="100,300")
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--big-width", type=int, default=512)
    p.add_argument("--big-steps", type=int, default=300)
    p.add_argument("--grid", type=int, default=13)
    p.add_argument("--eval-seeds", type=int, default=2)
    p.add_argument("--big-trials", type=int, default=12)
    p.add_argument("--out", default="runs/scaling")
    p.set_defaults(run=run_torch)
    p = sub.add_parser("refit")
    p.add_argument("--source", default="runs/scaling/torch.json")
    p.add_argument("--scale", default="width,n_tokens")
    p.set_defaults(run=run_refit)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
