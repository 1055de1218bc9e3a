"""Tune a small PyTorch network on digits with a plain training loop and ASHA.

Run: ``python examples/pytorch_loop.py`` (needs ``pip install torch scikit-learn``).

The loop reports validation accuracy each epoch; ``trial.report`` raises ``honed.TrialPruned``
when ASHA stops the trial, and ``optimize`` records it as pruned. Each epoch's weights are kept
with ``trial.save_checkpoint`` so the best model can be reloaded afterwards.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import honed
from honed.schedulers import ASHA

MAX_EPOCHS = 27


def data() -> tuple[torch.Tensor, ...]:
    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return as_x(x_tr), as_x(x_va), as_y(y_tr), as_y(y_va)


X_TR, X_VA, Y_TR, Y_VA = data()


def objective(trial: honed.Trial) -> float:
    lr = trial.float("lr", 1e-4, 1.0, log=True)
    hidden = trial.int("hidden", 16, 256, log=True)
    momentum = trial.float("momentum", 0.0, 0.99)
    batch = trial.choice("batch", [16, 32, 64, 128])
    torch.manual_seed(trial.number)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    acc = 0.0
    for epoch in range(1, MAX_EPOCHS + 1):
        model.train()
        perm = torch.randperm(len(X_TR))
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X_TR[idx]), Y_TR[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(X_VA).argmax(1) == Y_VA).float().mean().item()
        trial.save_checkpoint(model.state_dict())
        trial.report(acc, epoch)  # raises honed.TrialPruned when ASHA stops this trial
    return acc


if __name__ == "__main__":
    torch.set_num_threads(1)
    study = honed.create_study(
        direction="maximize", scheduler=ASHA(min_resource=1, max_resource=MAX_EPOCHS)
    )
    study.optimize(objective, n_trials=30)
    best = study.best_trial
    pruned = sum(t.state is honed.TrialState.PRUNED for t in study.trials)
    print(f"best accuracy {best.value:.4f} with {best.params}; {pruned}/30 trials stopped early")
    weights = study.checkpoints.load(best.number)
    print(f"restored {len(weights)} tensors of the best model from its checkpoint")
