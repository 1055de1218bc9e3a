"""``honed importance STUDY``: rank a study's parameters by importance."""

from __future__ import annotations

import argparse
import json

from honed.storage import DEFAULT_STORAGE_URL

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``honed importance`` command to the ``honed`` command line."""
    p = subparsers.add_parser(
        "importance",
        help="rank a study's parameters by importance (fANOVA or PED-ANOVA)",
        description="Rank the parameters of a study by how much they explain the objective.",
    )
    p.add_argument("study", help="study name")
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE_URL,
        help=f"storage URL or .db path (default: {DEFAULT_STORAGE_URL})",
    )
    p.add_argument(
        "--method",
        default="fanova",
        choices=["fanova", "ped-anova"],
        help="fanova: random forest + functional ANOVA (default); ped-anova: fast estimate",
    )
    p.add_argument(
        "--objective",
        type=int,
        default=None,
        metavar="I",
        help="which objective to explain in a multi-objective study (0-based)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    import honed
    from honed._text import printable
    from honed.analysis.importance import importance

    try:
        study = honed.load_study(args.study, storage=args.storage)
        target = None
        if args.objective is not None:
            n_obj = len(study.directions)
            if not 0 <= args.objective < n_obj:
                raise ValueError(
                    f"--objective must be between 0 and {n_obj - 1} for this study, "
                    f"got {args.objective}."
                )
            i, sign = args.objective, study.directions[args.objective].sign
            target = lambda t: sign * t.values[i]  # noqa: E731 - lower is better for ped-anova
        scores = importance(study, method=args.method, target=target)
    except (honed.HonedError, ValueError) as e:
        print(f"honed importance: {printable(e, lines=True)}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    names = {k: printable(k) for k in scores}  # control characters in a name shown escaped
    width = max(len(n) for n in names.values())
    print(f"{'parameter':<{width}}  importance")
    for name, value in scores.items():
        bar = "#" * int(round(value * 40))
        print(f"{names[name]:<{width}}  {value:10.4f}  {bar}")
    return 0
