"""Gaussian-process Bayesian optimization (numpy/scipy only)."""

from honed.samplers.gp._sampler import GPSampler

__all__ = ["GPSampler"]
