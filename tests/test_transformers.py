"""The Transformers integration on a real Trainer: a tiny BERT built from a config (nothing is
downloaded: HF_HUB_OFFLINE=1) trained on random token sequences."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import warnings
from pathlib import Path

import pytest

import honed
from honed.schedulers import Decision, Scheduler

pytestmark = pytest.mark.slow  # importing transformers and training take seconds

VOCAB, LENGTH = 32, 8


class StopAt(Scheduler):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_report(self, history, trial):
        return Decision.STOP if trial.last_step >= self.step else Decision.CONTINUE


def _data(n: int, seed: int):
    """Sequences labelled by whether token 5 occurs in them (learnable by a tiny model)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, VOCAB, (n, LENGTH), generator=g)
    has = torch.rand(n, generator=g) < 0.5
    ids[has, torch.randint(0, LENGTH, (int(has.sum()),), generator=g)] = 5
    return [
        {
            "input_ids": ids[i],
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": int(has[i]),
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def datasets():
    return _data(64, 0), _data(32, 1)


def tiny_bert(dropout: float = 0.0):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=LENGTH,
        hidden_dropout_prob=dropout,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def _args(tmp_path: Path, **kw):
    from transformers import TrainingArguments

    base = dict(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=3,
        per_device_train_batch_size=16,
        per_device_eval_batch_size=32,
        learning_rate=5e-3,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
    )
    base.update(kw)
    return TrainingArguments(**base)


def _train(trial, args, datasets, **callback_kw):
    from transformers import Trainer

    from honed.integrations.transformers import HonedCallback

    train, evaluation = datasets
    trainer = Trainer(
        model=tiny_bert(),
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        callbacks=[HonedCallback(trial, **callback_kw)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Trainer's notes about a CPU run
        trainer.train()
    return trainer


def test_callback_reports_each_evaluation_at_the_global_step(tmp_path, datasets):
    trial = honed.create_study().ask()
    trainer = _train(trial, _args(tmp_path), datasets)
    # 64 examples / 16 per batch = 4 steps an epoch, evaluated after each of 3 epochs
    assert sorted(trial.intermediate_values) == [4, 8, 12]
    evals = [e for e in trainer.state.log_history if "eval_loss" in e]
    assert [trial.intermediate_values[e["step"]] for e in evals] == [
        pytest.approx(e["eval_loss"]) for e in evals
    ]


def test_pruning_stops_training_and_raises_out_of_train(tmp_path, datasets):
    trial = honed.create_study(scheduler=StopAt(4)).ask()
    with pytest.raises(honed.TrialPruned):
        _train(trial, _args(tmp_path, num_train_epochs=10), datasets)
    assert sorted(trial.intermediate_values) == [4]


def test_checkpoints_go_to_the_artifact_store_and_load_back(tmp_path, datasets):
    from transformers import BertForSequenceClassification

    study = honed.create_study(artifacts=tmp_path / "artifacts")
    trial = study.ask()
    args = _args(tmp_path, num_train_epochs=2, save_strategy="epoch", save_total_limit=1)
    trainer = _train(trial, args, datasets, save_checkpoints=True)
    latest = trial.load_checkpoint()
    assert isinstance(latest, Path) and (latest / "config.json").exists()
    assert any(p.is_file() for p in (tmp_path / "artifacts").rglob("*"))  # the study's store
    # kept per step, although the Trainer's own rotation deleted checkpoint-4
    first = trial.load_checkpoint(step=4)
    assert first is not None and (first / "config.json").exists()
    model = BertForSequenceClassification.from_pretrained(latest)  # a local folder
    trained = trainer.model.state_dict()
    for key, value in model.state_dict().items():
        assert value.equal(trained[key]), key


def test_trainer_objective_samples_arguments_and_model_settings(tmp_path, datasets):
    from honed.integrations.transformers import TrainerObjective

    train, evaluation = datasets

    def model_init(trial):
        return tiny_bert(trial.float("dropout", 0.0, 0.3))

    objective = TrainerObjective(
        model_init,
        _args(tmp_path, num_train_epochs=2),
        {
            "learning_rate": honed.Float(1e-4, 1e-2, log=True),
            "per_device_train_batch_size": honed.Choice([8, 16]),
        },
        train_dataset=train,
        eval_dataset=evaluation,
    )
    study = honed.create_study(sampler=honed.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=3, show_progress=False, catch=())
    for t in study.trials:
        assert t.state is honed.TrialState.COMPLETE
        assert set(t.params) == {"learning_rate", "per_device_train_batch_size", "dropout"}
        steps_per_epoch = 64 // t.params["per_device_train_batch_size"]
        assert sorted(t.intermediate_values) == [steps_per_epoch, 2 * steps_per_epoch]
        # the returned value is a final evaluation of the trained model
        assert t.value == pytest.approx(t.intermediate_values[2 * steps_per_epoch])
        assert (tmp_path / "out" / f"trial-{t.number}").is_dir()


def test_trainer_objective_in_a_worker_process(tmp_path, datasets):
    """In a worker process the objective gets a RemoteTrial: sampling, reports and saved
    checkpoints all travel back to the study's process."""
    import torch

    from honed.integrations.transformers import TrainerObjective

    train, evaluation = datasets

    def model_init():
        # A forked worker deadlocks in torch's intra-op thread pool when the parent process
        # used it (it did, in the tests before); one thread in the worker avoids it.
        torch.set_num_threads(1)
        return tiny_bert()

    objective = TrainerObjective(
        model_init,
        _args(tmp_path, num_train_epochs=1, save_strategy="epoch"),
        lambda trial: {"learning_rate": trial.float("lr", 1e-3, 1e-2, log=True)},
        train_dataset=train,
        eval_dataset=evaluation,
        save_checkpoints=True,
    )
    study = honed.create_study(artifacts=tmp_path / "artifacts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=1, executor="process", show_progress=False, catch=())
    (t,) = study.trials
    assert t.state is honed.TrialState.COMPLETE and t.system_attrs.get("worker")
    assert sorted(t.intermediate_values) == [4]
    assert (study.checkpoints.load(0) / "config.json").exists()


def test_clear_errors(tmp_path, datasets):
    from honed.integrations.transformers import TrainerObjective

    train, evaluation = datasets
    trial = honed.create_study().ask()
    with pytest.raises(ValueError, match=r"eval_accuracy.*compute_metrics"):
        _train(trial, _args(tmp_path, num_train_epochs=1), datasets, metric="eval_accuracy")
    objective = TrainerObjective(
        tiny_bert,
        _args(tmp_path),
        {"dropout": honed.Float(0.0, 0.5)},
        train_dataset=train,
        eval_dataset=evaluation,
    )
    with pytest.raises(ValueError, match=r"not TrainingArguments fields.*model_init"):
        objective(honed.create_study().ask())
    with pytest.raises(ValueError, match="eval_dataset"):
        TrainerObjective(tiny_bert, _args(tmp_path), {}, train_dataset=train, eval_dataset=None)
