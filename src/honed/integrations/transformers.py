"""Hugging Face Transformers: a ``TrainerCallback`` reporting evaluations to a trial, and
:class:`TrainerObjective`, an objective that trains a ``Trainer`` per trial."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback, TrainingArguments

from honed.errors import TrialPruned
from honed.integrations._common import check_direction, higher_is_better
from honed.space import Distribution

__all__ = ["HonedCallback", "TrainerObjective"]


class HonedCallback(TrainerCallback):
    """Report ``metric`` after each evaluation at step ``state.global_step``; when the trial's
    scheduler stops it, training stops (``control.should_training_stop``) and
    :class:`honed.TrialPruned` is raised out of ``trainer.train()``.

    Args:
        trial: The running :class:`honed.Trial`.
        metric: A key of the evaluation metrics (``"eval_loss"``, ``"eval_accuracy"`` with
            ``compute_metrics``); ``None``: ``args.metric_for_best_model`` if set, else
            ``"eval_loss"``.
        save_checkpoints: After each checkpoint the Trainer saves (``save_strategy``), store
            that checkpoint folder in the study's artifact store with
            ``trial.save_checkpoint(folder, step=global_step)`` (population-based training
            copies it between trials; ``trainer.train(resume_from_checkpoint=...)`` resumes
            from ``trial.load_checkpoint()``). The folder must be readable from the study's
            process (true for the inline, thread and process executors on one machine).
    """

    def __init__(self, trial: Any, metric: str | None = None, save_checkpoints: bool = False):
        self.trial = trial
        self.metric = metric
        self.save_checkpoints = save_checkpoints
        self._pruned: TrialPruned | None = None
        self._training = False
        self._checked = False

    def _metric(self, args: TrainingArguments) -> str:
        if self.metric is not None:
            return self.metric
        best = args.metric_for_best_model
        if best:
            return best if best.startswith("eval_") else f"eval_{best}"
        return "eval_loss"

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._pruned = None
        self._training = True

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._training:
            return  # an evaluate() call outside train() is the caller's own business
        metrics = metrics or {}
        name = self._metric(args)
        if name not in metrics:
            raise ValueError(
                f"metric {name!r} is not among the evaluation metrics {sorted(metrics)}; pass "
                "metric= (accuracy and the like need compute_metrics= on the Trainer)."
            )
        if not self._checked:
            check_direction(self.trial, higher_is_better(name), name)
            self._checked = True
        try:
            self.trial.report(float(metrics[name]), int(state.global_step))
        except TrialPruned as e:
            self._pruned = e
            control.should_training_stop = True

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.save_checkpoints:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            self.trial.save_checkpoint(folder, step=int(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = False
        if self._pruned is not None:
            pruned, self._pruned = self._pruned, None
            raise pruned


class TrainerObjective:
    """An objective (``study.optimize(TrainerObjective(...))``) that trains one ``Trainer`` per
    trial: it samples ``hp_space`` into a copy of ``args``, builds the model with
    ``model_init`` (called with the trial when it takes an argument, so model settings such
    as dropout can be sampled there), trains with a :class:`HonedCallback` and returns
    ``metric`` from a final ``trainer.evaluate()``.

    Args:
        model_init: Returns a fresh model; ``model_init()`` or ``model_init(trial)``.
        args: The base ``TrainingArguments``; each trial gets a copy with the sampled values
            and ``output_dir`` set to ``<output_dir>/trial-<number>``.
        hp_space: ``TrainingArguments`` fields to sample: a dict of
            ``honed.Float/Int/Choice`` (``{"learning_rate": honed.Float(1e-5, 1e-3,
            log=True)}``), or a function ``trial -> dict`` of values.
        train_dataset: As for ``Trainer``.
        eval_dataset: As for ``Trainer``; needed, since trials are judged on it.
        metric: What to report and return (see :class:`HonedCallback`).
        compute_metrics: As for ``Trainer``.
        data_collator: As for ``Trainer``.
        processing_class: As for ``Trainer`` (a tokenizer or processor).
        save_checkpoints: As for :class:`HonedCallback`.
    """

    def __init__(
        self,
        model_init: Callable[..., Any],
        args: TrainingArguments,
        hp_space: Mapping[str, Distribution] | Callable[[Any], Mapping[str, Any]],
        *,
        train_dataset: Any,
        eval_dataset: Any,
        metric: str | None = None,
        compute_metrics: Callable[[Any], dict[str, float]] | None = None,
        data_collator: Any = None,
        processing_class: Any = None,
        save_checkpoints: bool = False,
    ) -> None:
        if eval_dataset is None:
            raise ValueError("TrainerObjective needs eval_dataset: trials are judged on it.")
        if not isinstance(hp_space, Mapping) and not callable(hp_space):
            raise TypeError(
                "hp_space must be a dict of honed.Float/Int/Choice or a function trial -> dict, "
                f"got {type(hp_space).__name__}."
            )
        self.model_init = model_init
        self.args = args
        self.hp_space = hp_space
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.metric = metric
        self.compute_metrics = compute_metrics
        self.data_collator = data_collator
        self.processing_class = processing_class
        self.save_checkpoints = save_checkpoints

    def training_args(self, trial: Any) -> TrainingArguments:
        """This trial's ``TrainingArguments``: the base ones with the sampled values."""
        if isinstance(self.hp_space, Mapping):
            values = {name: trial.suggest(name, d) for name, d in self.hp_space.items()}
        else:
            values = dict(self.hp_space(trial))
        fields = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(
                f"hp_space names {unknown}, which are not TrainingArguments fields; sample model "
                "settings inside model_init(trial) instead."
            )
        output_dir = str(Path(self.args.output_dir or "trainer_output") / f"trial-{trial.number}")
        return dataclasses.replace(self.args, **values, output_dir=output_dir)

    def __call__(self, trial: Any) -> float:
        args = self.training_args(trial)
        takes_trial = len(inspect.signature(self.model_init).parameters) >= 1

        def model_init() -> Any:
            return self.model_init(trial) if takes_trial else self.model_init()

        callback = HonedCallback(trial, self.metric, self.save_checkpoints)
        trainer = Trainer(
            model_init=model_init,
            args=args,
            train_dataset=self.train_dataset,
            eval_dataset=self.eval_dataset,
            compute_metrics=self.compute_metrics,
            data_collator=self.data_collator,
            processing_class=self.processing_class,
            callbacks=[callback],
        )
        trainer.train()
        metrics = trainer.evaluate()
        return float(metrics[callback._metric(args)])
