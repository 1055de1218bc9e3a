"""Tune a Hugging Face Trainer: learning rate and batch size in TrainingArguments, dropout in
the model, with median stopping between evaluations.

Run: ``python examples/transformers_trainer.py`` (needs ``pip install honed[hf]``). Nothing is
downloaded: the model is a 2-layer BERT built from a config and the data are random token
sequences labelled by whether token 5 occurs in them. Swap in your own model_init, datasets and
compute_metrics.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, TrainingArguments

import honed
from honed.integrations.transformers import TrainerObjective

VOCAB, LENGTH = 32, 8


def dataset(n: int, seed: int) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, VOCAB, (n, LENGTH), generator=g)
    has = torch.rand(n, generator=g) < 0.5
    ids[has, torch.randint(0, LENGTH, (int(has.sum()),), generator=g)] = 5
    mask = torch.ones(LENGTH, dtype=torch.long)
    return [{"input_ids": ids[i], "attention_mask": mask, "labels": int(has[i])} for i in range(n)]


def model_init(trial: honed.Trial) -> BertForSequenceClassification:
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=LENGTH,
        hidden_dropout_prob=trial.float("dropout", 0.0, 0.3),
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def accuracy(pred) -> dict[str, float]:
    return {"accuracy": float((pred.predictions.argmax(-1) == pred.label_ids).mean())}


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            num_train_epochs=3,
            eval_strategy="epoch",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=True,
        )
        objective = TrainerObjective(
            model_init,
            args,
            {
                "learning_rate": honed.Float(1e-4, 1e-2, log=True),
                "per_device_train_batch_size": honed.Choice([16, 32]),
            },
            train_dataset=dataset(256, 0),
            eval_dataset=dataset(128, 1),
            compute_metrics=accuracy,
            metric="eval_accuracy",
        )
        study = honed.create_study(
            direction="maximize",
            scheduler=honed.schedulers.MedianStopping(min_trials=3),
            seed=0,
        )
        study.optimize(objective, n_trials=4)
    print(f"best eval accuracy {study.best_value:.3f} with {study.best_params}")


if __name__ == "__main__":
    main()
