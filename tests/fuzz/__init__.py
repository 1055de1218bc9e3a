"""Property-based fuzzing of honed's edges (issue 23 item 7): spaces, YAML files, objective
values, CLI arguments and storage URLs. Every test is deterministic (``derandomize=True``)
and bounded (``max_examples`` and a per-example ``deadline``); none reaches the network."""
