"""Gaussian-process Bayesian optimization (numpy/scipy only)."""

from honed.samplers.gp._posterior import GPPosterior
from honed.samplers.gp._sampler import GPSampler, GPTuning

__all__ = ["GPPosterior", "GPSampler", "GPTuning"]
