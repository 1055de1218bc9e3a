"""Progress of a long benchmark: how many of its runs are done, and about how long the rest
will take.

:class:`Countdown` is the arithmetic (runs done out of a total, time left at the rate so far),
on an injectable clock so it is tested without waiting. :class:`ProgressBar` shows it: a rich
bar on a terminal, or a line every ``1/20`` of the total when the output is a log, or nothing
with ``quiet``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Countdown", "ProgressBar", "format_seconds"]


def format_seconds(seconds: float | None) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``, or ``"?"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Countdown:
    """Runs done out of ``total``, and the time left if the remaining runs take as long on
    average as the finished ones did.

    Args:
        total: Runs to do (0 is allowed: nothing to wait for).
        clock: Seconds from any fixed origin (``time.monotonic`` by default).
    """

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise ValueError(f"total must be an integer >= 0, got {total!r}.")
        self.total = total
        self.done = 0
        self._clock = clock
        self._start = clock()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more runs as done (never past the total)."""
        if n < 0:
            raise ValueError(f"advance by n >= 0 runs, got {n}.")
        self.done = min(self.total, self.done + n)

    @property
    def elapsed(self) -> float:
        """Seconds since the countdown started."""
        return self._clock() - self._start

    @property
    def remaining(self) -> int:
        return self.total - self.done

    def eta(self) -> float | None:
        """Seconds left at the average pace so far; ``None`` before the first run is done,
        ``0`` when every run is."""
        if self.remaining == 0:
            return 0.0
        if self.done == 0:
            return None
        return self.elapsed / self.done * self.remaining

    def line(self) -> str:
        """``"12/40 done (30s, about 1m10s left)"``."""
        left = "" if self.remaining == 0 else f", about {format_seconds(self.eta())} left"
        return f"{self.done}/{self.total} done ({format_seconds(self.elapsed)}{left})"


class ProgressBar:
    """A :class:`Countdown` shown while a benchmark runs: a rich bar (description, bar,
    done/total, elapsed, time left) when ``stream`` is a terminal; otherwise one line per
    twentieth of the total (and the last); nothing when ``quiet``.

    Use as a context manager and call :meth:`advance` after each finished run.
    """

    def __init__(
        self,
        total: int,
        description: str,
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.countdown = Countdown(total, clock)
        self.description = description
        self.quiet = quiet
        self._stream = stream if stream is not None else sys.stderr
        self._every = max(1, total // 20)
        self._bar: Any = None
        self._task: Any = None

    @property
    def on_terminal(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self) -> ProgressBar:
        if self.quiet or not self.on_terminal or self.countdown.total == 0:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=Console(file=self._stream),
            transient=False,
            # Redrawn on each advance, not by a refresh thread: the mf mode measures its
            # methods' CPU time in this process, and a thread would add to it.
            auto_refresh=False,
        )
        self._task = self._bar.add_task(
            self.description, total=self.countdown.total, left="time left ?"
        )
        self._bar.start()
        self._bar.refresh()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """Count ``n`` more runs as done; ``note`` says what finished (above the bar on a
        terminal, as a line ending in the count and the time left in a log)."""
        c = self.countdown
        before = c.done
        c.advance(n)
        if self.quiet:
            return
        if self._bar is not None:
            if note:
                self._bar.console.print(note, markup=False, highlight=False)
            left = f"time left {format_seconds(c.eta())}" if c.remaining else ""
            self._bar.update(self._task, completed=c.done, left=left)
            self._bar.refresh()
        elif note:
            print(f"{note} [{c.line()}]", file=self._stream, flush=True)
        elif c.done == c.total or c.done // self._every > before // self._every:
            print(f"  {c.line()}", file=self._stream, flush=True)

    def note(self, message: str) -> None:
        """A message above the bar, or a line in a log; nothing when quiet."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self._stream, flush=True)
