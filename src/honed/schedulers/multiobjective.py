"""Multi-objective stopping: stop a trial whose objective vector at a step is dominated, with
high confidence, by another trial's vector at the same step.

Multi-objective trials report vectors (``trial.report([loss, latency], step)``); the study keeps
them in ``FrozenTrial.intermediate_vectors``. Each objective ``j`` is treated as
observed with Gaussian noise of standard deviation ``sigma_j`` (given, or estimated from the
curves' second differences); ``u`` dominates ``v`` with probability
``prod_j Phi((v_j - u_j) / (sigma_j * sqrt(2)))`` in loss form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from honed.history import History
from honed.schedulers._util import check_fraction, check_positive_int
from honed.schedulers.base import Decision, Scheduler
from honed.trial import FrozenTrial, TrialState

__all__ = ["DominatedStopping", "domination_probability"]


def domination_probability(u: np.ndarray, v: np.ndarray, sigma: np.ndarray) -> float:
    """Probability that loss vector ``u`` is better than ``v`` in every objective."""
    p = 1.0
    for uj, vj, sj in zip(u, v, sigma):
        if sj <= 0:
            p *= 1.0 if uj < vj else 0.0
        else:
            p *= float(stats.norm.cdf((vj - uj) / (sj * math.sqrt(2.0))))
    return p


class DominatedStopping(Scheduler):
    """Stop a multi-objective trial dominated with probability ``>= confidence``.

    Args:
        confidence: How sure the domination must be.
        warmup_steps: Never stop before this step.
        min_trials: Decide only once this many other trials reported at the step.
        noise: Per-objective noise standard deviations; ``None`` estimates them from the
            curves (pooled second differences), so smooth curves are judged strictly.
        min_noise: A floor under each estimated noise level.
    """

    def __init__(
        self,
        confidence: float = 0.95,
        warmup_steps: int = 0,
        min_trials: int = 3,
        noise: Sequence[float] | None = None,
        min_noise: float = 0.0,
    ) -> None:
        self.confidence = check_fraction("confidence", confidence)
        self.warmup_steps = check_positive_int("warmup_steps", warmup_steps, 0)
        self.min_trials = check_positive_int("min_trials", min_trials, 1)
        if noise is not None and any(not (float(x) >= 0) for x in noise):
            raise ValueError(f"noise must be non-negative numbers, got {noise!r}.")
        self.noise = None if noise is None else tuple(float(x) for x in noise)
        self.min_noise = float(min_noise)

    def __repr__(self) -> str:
        return f"DominatedStopping(confidence={self.confidence}, min_trials={self.min_trials})"

    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        vectors = trial.intermediate_vectors
        if not vectors:
            return Decision.CONTINUE
        step = max(vectors)
        if step < self.warmup_steps:
            return Decision.CONTINUE
        signs = np.array([d.sign for d in history.directions])
        if len(vectors[step]) != len(signs):
            raise ValueError(
                f"trial {trial.number} reported {len(vectors[step])} values at step {step}; "
                f"the study has {len(signs)} objectives."
            )
        own = signs * np.array(vectors[step])
        curves = [vectors]
        others = []
        for t in history:
            if t.number == trial.number or t.state is TrialState.FAILED:
                continue
            vr = t.intermediate_vectors
            curves.append(vr)
            if step in vr and all(math.isfinite(x) for x in vr[step]):
                others.append(signs * np.array(vr[step]))
        if len(others) < self.min_trials:
            return Decision.CONTINUE
        sigma = (
            np.array(self.noise) if self.noise is not None else self._estimate_noise(curves, signs)
        )
        sigma = np.maximum(sigma, self.min_noise)
        for u in others:
            if domination_probability(u, own, sigma) >= self.confidence:
                return Decision.STOP
        return Decision.CONTINUE

    @staticmethod
    def _estimate_noise(
        curves: list[Mapping[int, tuple[float, ...]]], signs: np.ndarray
    ) -> np.ndarray:
        """Pooled noise from second differences of consecutive reports (a smooth trend has
        near-zero second differences; for white noise ``var(d2) = 6 * sigma**2``)."""
        d2s = []
        for vr in curves:
            steps = sorted(vr)
            if len(steps) < 3:
                continue
            arr = np.array([vr[k] for k in steps], dtype=float) * signs
            d2s.append(np.diff(arr, n=2, axis=0))
        if not d2s:
            return np.zeros(len(signs))
        d2 = np.concatenate(d2s, axis=0)
        return np.sqrt(np.mean(d2**2, axis=0) / 6.0)
