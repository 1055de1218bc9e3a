"""Adapters, one module per library: honed's samplers, Optuna, SMAC3, HEBO and Nevergrad.
Each imports its library inside the adapter, so listing or checking optimizers stays cheap."""
