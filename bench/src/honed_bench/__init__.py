"""``honed-bench``: honed's samplers and schedulers compared with their peers on one problem
suite. A separate distribution beside honed (``pip install -e bench``); it uses honed's public
API only, so ``pip install honed`` ships none of it.

One command compares any honed sampler with any peer on the same problems and seeds::

    honed-bench --optimizers honed:tpe,optuna:tpe,honed:random --suite synthetic,sklearn \\
        --n-trials 50 --seeds 10 --workers 2 --out bench-results/NAME
    honed-bench --list                    # problems and optimizers (and whether they can run)
    honed-bench --problems 'ackley-*,branin' --optimizers 'honed:tpe[n_startup_trials=5]',...
    honed-bench overhead --optimizers honed:tpe,optuna:tpe --n-trials 2000 --dim 10 \\
        --window 1000:2000
    honed-bench mf --problems mlp-digits --seeds 5     # early stopping on real training

Pieces:

* :mod:`honed_bench.problems`: the suites (``synthetic``, ``sklearn``, ``conditional``,
  ``multiobjective``), each a list of :class:`~honed_bench.problems.base.Problem`.
* :mod:`honed_bench.optimizers`: names to adapters with one ask/tell protocol
  (:mod:`honed_bench.adapter`; one module per library in :mod:`honed_bench.peers`):
  ``honed:<sampler>``, ``optuna:<tpe|random|cmaes|gp|nsga2|nsga3|qmc|auto>``,
  ``smac:<hpo|bo>``, ``hebo:hebo``, ``nevergrad:<ngopt|random>``; ``name[key=value,...]``
  passes options to the sampler's constructor.
* :mod:`honed_bench.runner`: runs every (optimizer, problem, seed) in worker processes,
  writing each run's trace to ``OUT/runs/`` as it finishes (a rerun resumes), and caches each
  problem's random reference sample under ``~/.cache/honed/bench`` (``--cache-dir``).
* :mod:`honed_bench.scoring`: normalized regret at several budgets, mean rank, overhead
  (definitions in that module's docstring); :mod:`honed_bench.report` writes the markdown.
* :mod:`honed_bench.overhead`: time per suggestion over a window of a long run.
* :mod:`honed_bench.multifidelity`: early-stopping schedulers on real training curves, on a
  simulated clock (``honed-bench mf``).
* :mod:`honed_bench.progress`: the progress bar with the runs done and the time left.

Results and the commands that produced them: ``bench/results/README.md``.
"""
