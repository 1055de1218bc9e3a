"""``honed report STUDY``: what a study found, as one HTML or Markdown file."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from honed.storage import DEFAULT_STORAGE_URL

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``honed report`` command to the ``honed`` command line."""
    p = subparsers.add_parser(
        "report",
        help="write a study's report: best configurations, confirmation, soups, plots",
        description=(
            "Write what a study found as one file: its best configurations, the model's likely "
            "best, the confirmation on fresh seeds and the soups (when made with "
            "honed.recipes), parameter importance, plots and the environment. HTML is "
            "self-contained (nothing is fetched); Markdown puts its plots beside it."
        ),
    )
    p.add_argument("study", help="study name")
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE_URL,
        help=f"storage URL or .db path (default: {DEFAULT_STORAGE_URL})",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="report.html or report.md (default: STUDY-report.html here)",
    )
    p.add_argument("--top", type=int, default=10, help="best trials to list (default: 10)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import honed
    from honed.recipes import report

    url = args.storage
    if "://" not in url:
        url = f"sqlite:///{url}"
    file = next((url[len(p) :] for p in ("sqlite:///", "journal:///") if url.startswith(p)), None)
    if file is not None and not Path(file).exists():
        print(
            f"honed report: no database at {file} (from --storage "
            f"{args.storage}); pass --storage with the URL of your studies.",
            file=sys.stderr,
        )
        return 2
    output = args.output
    if output is None:
        output = re.sub(r"[^A-Za-z0-9._\-]", "_", args.study) + "-report.html"
    try:
        study = honed.load_study(args.study, storage=url)
        report(study, output, top=args.top)
    except (honed.HonedError, ValueError) as e:
        print(f"honed report: {e}", file=sys.stderr)
        return 2
    print(f"wrote {output}")
    return 0
