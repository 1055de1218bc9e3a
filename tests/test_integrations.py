"""Each integration callback against its real library, on small real data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

import honed
from honed.schedulers import Decision, Scheduler


class StopAt(Scheduler):
    """Stops every trial at ``step`` (a real scheduler, deterministic for the test)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_report(self, history, trial):
        return Decision.STOP if trial.last_step >= self.step else Decision.CONTINUE


@pytest.fixture(scope="module")
def cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return train_test_split(x, y, test_size=0.3, random_state=0)


# ---- XGBoost ------------------------------------------------------------------------------------
def test_xgboost_callback_reports_each_round_and_stops(cancer):
    import xgboost as xgb

    from honed.integrations.xgboost import XGBoostCallback

    x_tr, x_va, y_tr, y_va = cancer
    dtrain, dvalid = xgb.DMatrix(x_tr, y_tr), xgb.DMatrix(x_va, y_va)
    study = honed.create_study(scheduler=StopAt(4))
    trial = study.ask()
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1}
    with pytest.raises(honed.TrialPruned):
        xgb.train(
            params,
            dtrain,
            num_boost_round=50,
            evals=[(dvalid, "valid")],
            callbacks=[XGBoostCallback(trial, "valid", "logloss")],
            verbose_eval=False,
        )
    assert sorted(trial.intermediate_values) == [1, 2, 3, 4]
    # the reported values are the real validation log loss, falling as trees are added
    vals = [trial.intermediate_values[k] for k in (1, 2, 3, 4)]
    assert vals == sorted(vals, reverse=True) and 0 < vals[-1] < 0.69


def test_xgboost_callback_in_optimize_with_sklearn_api(cancer):
    from xgboost import XGBClassifier

    from honed.integrations.xgboost import XGBoostCallback

    x_tr, x_va, y_tr, y_va = cancer

    def objective(trial):
        model = XGBClassifier(
            n_estimators=20,
            max_depth=trial.int("max_depth", 1, 6),
            learning_rate=trial.float("lr", 0.01, 0.5, log=True),
            n_jobs=1,
            eval_metric="logloss",
            callbacks=[XGBoostCallback(trial)],
        )
        model.fit(x_tr, y_tr, eval_set=[(x_va, y_va)], verbose=False)
        return float(model.score(x_va, y_va))

    study = honed.create_study(
        direction="maximize",
        sampler=honed.samplers.RandomSampler(seed=0),
        scheduler=honed.schedulers.MedianStopping(min_trials=2),
    )
    study.optimize(objective, n_trials=6, show_progress=False)
    # a maximize study with a loss metric: the callback reports the loss; the median rule
    # compares like with like, so trials run and finish or stop without errors
    states = {t.state for t in study.trials}
    assert states <= {honed.TrialState.COMPLETE, honed.TrialState.PRUNED}
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)


def test_xgboost_callback_needs_an_eval_set(cancer):
    import xgboost as xgb

    from honed.integrations.xgboost import XGBoostCallback

    x_tr, _, y_tr, _ = cancer
    trial = honed.create_study().ask()
    with pytest.raises(ValueError, match="evaluation set"):
        xgb.train({"nthread": 1}, xgb.DMatrix(x_tr, y_tr), 2, callbacks=[XGBoostCallback(trial)])


# ---- LightGBM -----------------------------------------------------------------------------------
def test_lightgbm_callback_reports_and_stops(cancer):
    import lightgbm as lgb

    from honed.integrations.lightgbm import LightGBMCallback

    x_tr, x_va, y_tr, y_va = cancer
    study = honed.create_study(scheduler=StopAt(3))
    trial = study.ask()
    dtrain = lgb.Dataset(x_tr, y_tr)
    dvalid = lgb.Dataset(x_va, y_va, reference=dtrain)
    params = {"objective": "binary", "metric": "binary_logloss", "verbose": -1, "num_threads": 1}
    with pytest.raises(honed.TrialPruned):
        lgb.train(params, dtrain, 40, valid_sets=[dvalid], callbacks=[LightGBMCallback(trial)])
    assert sorted(trial.intermediate_values) == [1, 2, 3]
    vals = list(trial.intermediate_values.values())
    assert vals[0] > vals[-1] > 0


def test_lightgbm_callback_checks_direction(cancer):
    import lightgbm as lgb

    from honed.integrations.lightgbm import LightGBMCallback

    x_tr, x_va, y_tr, y_va = cancer
    trial = honed.create_study(direction="minimize").ask()
    params = {"objective": "binary", "metric": "auc", "verbose": -1, "num_threads": 1}
    dtrain = lgb.Dataset(x_tr, y_tr)
    with pytest.raises(ValueError, match="direction='maximize'"):
        lgb.train(
            params,
            dtrain,
            5,
            valid_sets=[lgb.Dataset(x_va, y_va, reference=dtrain)],
            callbacks=[LightGBMCallback(trial)],
        )


def test_lightgbm_sklearn_api_full_run(cancer):
    import lightgbm as lgb

    from honed.integrations.lightgbm import LightGBMCallback

    x_tr, x_va, y_tr, y_va = cancer
    study = honed.create_study(direction="maximize")
    trial = study.ask()
    model = lgb.LGBMClassifier(n_estimators=8, verbose=-1, n_jobs=1)
    model.fit(
        x_tr,
        y_tr,
        eval_X=(x_va,),
        eval_y=(y_va,),
        eval_metric="auc",
        callbacks=[LightGBMCallback(trial, metric="auc")],
    )
    assert sorted(trial.intermediate_values) == list(range(1, 9))
    assert max(trial.intermediate_values.values()) > 0.9


# ---- PyTorch Lightning --------------------------------------------------------------------------
def _lightning_fit(trial, max_epochs):
    torch = pytest.importorskip("torch")
    pl = pytest.importorskip("lightning.pytorch")
    from torch.utils.data import DataLoader, TensorDataset

    from honed.integrations.lightning import LightningCallback

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0)
    torch.manual_seed(0)

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
            )

        def training_step(self, batch, _):
            x, t = batch
            return torch.nn.functional.cross_entropy(self.net(x), t)

        def validation_step(self, batch, _):
            x, t = batch
            acc = (self.net(x).argmax(1) == t).float().mean()
            self.log("val_acc", acc)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    def loader(a, b, shuffle):
        ds = TensorDataset(torch.from_numpy(a), torch.from_numpy(b).long())
        return DataLoader(ds, batch_size=128, shuffle=shuffle)

    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=[LightningCallback(trial, monitor="val_acc")],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    with warnings.catch_warnings():
        # Lightning warns about few dataloader workers on small CPU runs
        warnings.simplefilter("ignore")
        trainer.fit(Net(), loader(x_tr, y_tr, True), loader(x_va, y_va, False))
    return trainer


def test_lightning_callback_reports_each_epoch():
    trial = honed.create_study(direction="maximize").ask()
    trainer = _lightning_fit(trial, 3)
    assert sorted(trial.intermediate_values) == [1, 2, 3]
    assert trial.intermediate_values[3] > 0.8
    assert trainer.current_epoch == 3


def test_lightning_callback_stops_and_raises():
    trial = honed.create_study(direction="maximize", scheduler=StopAt(2)).ask()
    with pytest.raises(honed.TrialPruned):
        _lightning_fit(trial, 10)
    assert sorted(trial.intermediate_values) == [1, 2]
