"""``honed bench``: samplers and schedulers compared with their peers on one problem suite."""
