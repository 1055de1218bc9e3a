"""Every Python block in the README and in docs/ runs, in order, as a reader would paste them.

A page's blocks share one namespace and one empty working folder. A ``yaml file=NAME`` (or any
``LANG file=NAME``) block is written to that file first, so the Python after it can read it.
Signatures in the generated reference (``docs/api.md``) are ``python signature`` blocks:
declarations, not programs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(info string, body, line) of each fenced block."""
    text = page.read_text()
    return [
        (m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def program(page: Path) -> str:
    """The page as one script: files written, then each Python block, line numbers kept."""
    parts = ["import os, pathlib"]
    for info, body, line in blocks(page):
        words = info.split()
        target = next((w[5:] for w in words if w.startswith("file=")), None)
        if target:
            parts.append(f"pathlib.Path({target!r}).write_text({body!r})")
        elif words[:1] == ["python"] and "signature" not in words:
            source = f"{page.relative_to(ROOT)}:{line}"
            parts.append(f"exec(compile({body!r}, {source!r}, 'exec'), globals())")
    return "\n".join(parts)


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", [p for p in PAGES if "exec(compile(" in program(p)], ids=_id)
def test_every_python_block_runs(page: Path, tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(program(page))
    env = {**os.environ, "HONED_LOG_LEVEL": "WARNING", "MPLBACKEND": "Agg"}
    env.pop("HONED_STORAGE", None)
    # Output goes to files, not pipes: a daemon the page starts (Ray's, say) may keep a pipe
    # open after the page ends. A page that hangs is killed with its process group and its
    # output shown, so the failure says which block it was in.
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", str(script)],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=540)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGABRT)  # faulthandler prints where each thread was
            proc.wait()
            returncode = None
    log = f"{out.read_text()[-3000:]}\n{err.read_text()[-6000:]}"
    assert returncode is not None, f"{_id(page)} ran past 540 s:\n{log}"
    assert returncode == 0, f"{_id(page)}:\n{log}"


def test_the_readme_has_no_placeholders() -> None:
    """Examples are complete: no `...` calls, no undefined helpers standing in for work."""
    for page in PAGES:
        for info, body, line in blocks(page):
            if info.split()[:1] != ["python"]:
                continue
            code = textwrap.dedent(body)
            assert "(...)" not in code, f"{_id(page)}:{line} calls a placeholder"
            assert "train_one_round" not in code, f"{_id(page)}:{line}"


def test_the_api_reference_holds_signatures_only() -> None:
    found = [b[0] for b in blocks(ROOT / "docs" / "api.md") if b[0].startswith("python")]
    assert found and set(found) == {"python signature"}
