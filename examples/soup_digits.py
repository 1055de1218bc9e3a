"""After the sweep: a model soup and a confirmation of the winner, on digits with PyTorch.

Run: ``python examples/soup_digits.py`` (needs ``pip install torch scikit-learn matplotlib``;
about a minute on one CPU core).

1. Pre-train a small MLP on one half of scikit-learn's digits: the shared initialisation.
2. Fine-tune it on the other half with different learning rates, weight decay, label
   smoothing and epochs (20 trials), saving each trial's weights with
   ``trial.save_checkpoint``; the objective is the accuracy on a validation split.
3. Average the fine-tuned weights: a greedy soup (trials added best first while the
   validation accuracy does not drop) and a uniform soup of the best five
   (``honed.recipes.soup``).
4. Re-run the three best configurations on five seeds tuning never used
   (``honed.recipes.confirm``): is the tuning winner really the best?
5. Compare the best single model and the soups on a test split that tuning never saw, and
   write the study's report (``honed.recipes.report``, or ``honed report STUDY`` later).
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import honed
from honed.recipes import confirm, report, soup


def splits(seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Half the digits for pre-training; the other half split into fine-tuning train (30%),
    validation (35%, what tuning and the soups see) and test (35%, seen once, at the end)."""
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_pre, x_ft, y_pre, y_ft = train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x_ft, y_ft, test_size=0.7, random_state=seed, stratify=y_ft
    )
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return {
        "pre": (as_x(x_pre), as_y(y_pre)),
        "train": (as_x(x_tr), as_y(y_tr)),
        "val": (as_x(x_va), as_y(y_va)),
        "test": (as_x(x_te), as_y(y_te)),
    }


DATA = splits()


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )


def accuracy(state: dict[str, torch.Tensor], split: str) -> float:
    model = mlp()
    model.load_state_dict(state)
    model.eval()
    x, y = DATA[split]
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def pretrain(epochs: int = 10) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = DATA["pre"]
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return {k: v.clone() for k, v in model.state_dict().items()}


INIT = pretrain()


def objective(trial: honed.Trial) -> float:
    lr = trial.float("lr", 1e-4, 0.1, log=True)
    weight_decay = trial.float("weight_decay", 1e-6, 1e-2, log=True)
    smoothing = trial.float("label_smoothing", 0.0, 0.2)
    epochs = trial.int("epochs", 2, 20)
    torch.manual_seed(trial.seed)  # a fresh seed per trial; confirmation runs get unseen ones
    model = mlp()
    model.load_state_dict(INIT)  # every trial starts from the same pre-trained weights
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)
    x, y = DATA["train"]
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            loss(model(x[idx]), y[idx]).backward()
            opt.step()
    trial.save_checkpoint(model.state_dict())  # what the soups average
    return accuracy(model.state_dict(), "val")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default="sqlite:///soup_digits.db")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny models: threads only contend

    study = honed.create_study(
        f"soup-digits-{time.strftime('%Y%m%d-%H%M%S')}",
        storage=args.storage,
        direction="maximize",
        seed=0,
    )
    study.optimize(objective, n_trials=args.trials)

    def val_accuracy(state: dict[str, torch.Tensor]) -> float:
        return accuracy(state, "val")

    greedy = soup(study, val_accuracy, method="greedy")
    uniform = soup(study, val_accuracy, method="uniform", top_k=5, name="uniform-top5")
    print(f"greedy soup of trials {list(greedy.trials)}: validation {greedy.score:.4f}")
    for step in greedy.log:
        verdict = "added" if step.added else "left out"
        print(f"  trial {step.trial:>2}: soup would score {step.score:.4f}, {verdict}")

    result = confirm(study, objective, top_k=3, n_seeds=5)
    print(result)

    best = study.best_trial
    single = study.checkpoints.load(best.number)
    print("\non the test split tuning never saw:")
    print(f"  pre-trained only          {accuracy(INIT, 'test'):.4f}")
    print(f"  best single (trial {best.number:>2})    {accuracy(single, 'test'):.4f}")
    print(f"  greedy soup ({len(greedy.trials)} models)    {accuracy(greedy.state, 'test'):.4f}")
    print(f"  uniform soup (best 5)     {accuracy(uniform.state, 'test'):.4f}")

    path = f"{study.name}-report.html"
    report(study, path)
    print(f"\nreport: {path} (again any time: honed report {study.name} --storage {args.storage})")


if __name__ == "__main__":
    main()
