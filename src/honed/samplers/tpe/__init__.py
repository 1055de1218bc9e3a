"""Tree-structured Parzen estimator: honed's everyday model-based sampler."""

from honed.samplers.tpe._sampler import TPESampler

__all__ = ["TPESampler"]
