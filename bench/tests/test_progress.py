"""The progress bar's arithmetic (runs done, time left) on a fake clock, and what it prints on
a terminal, in a log and when quiet."""

from __future__ import annotations

import io

import pytest

from honed_bench.progress import Countdown, ProgressBar, format_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_countdown_counts_and_estimates_the_time_left() -> None:
    clock = Clock()
    c = Countdown(8, clock)
    assert (c.done, c.remaining, c.eta()) == (0, 8, None)  # nothing to go by yet
    clock.now += 30.0
    c.advance()
    assert c.elapsed == 30.0 and c.eta() == pytest.approx(7 * 30.0)
    clock.now += 10.0
    c.advance(3)  # four done in 40 s: 10 s each, four to go
    assert (c.done, c.remaining) == (4, 4) and c.eta() == pytest.approx(40.0)
    assert c.line() == "4/8 done (40s, about 40s left)"
    c.advance(10)  # never past the total
    assert (c.done, c.eta()) == (8, 0.0) and c.line() == "8/8 done (40s)"
    assert Countdown(0, clock).eta() == 0.0  # nothing to run: nothing to wait for
    with pytest.raises(ValueError, match="total must be an integer >= 0"):
        Countdown(-1, clock)
    with pytest.raises(ValueError, match="n >= 0"):
        c.advance(-1)


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (None, 0.4, 42, 185, 3720, float("inf"))] == [
        "?",
        "0s",
        "42s",
        "3m05s",
        "1h02m",
        "?",
    ]


def test_in_a_log_a_line_every_twentieth_and_at_the_end() -> None:
    out = io.StringIO()
    clock = Clock()
    with ProgressBar(40, "runs", stream=out, clock=clock) as bar:
        for _ in range(40):
            clock.now += 2.0
            bar.advance()
    lines = out.getvalue().splitlines()
    assert len(lines) == 20  # 2, 4, ..., 40
    assert lines[0] == "  2/40 done (4s, about 1m16s left)"
    assert lines[-1] == "  40/40 done (1m20s)"


def test_in_a_log_each_note_carries_the_count_and_the_time_left() -> None:
    out = io.StringIO()
    clock = Clock()
    with ProgressBar(3, "mf", stream=out, clock=clock) as bar:
        bar.note("starting")
        for i in range(3):
            clock.now += 5.0
            bar.advance(note=f"run {i}")
    assert out.getvalue().splitlines() == [
        "starting",
        "run 0 [1/3 done (5s, about 10s left)]",
        "run 1 [2/3 done (10s, about 5s left)]",
        "run 2 [3/3 done (15s)]",
    ]


def test_quiet_prints_nothing() -> None:
    for stream in (io.StringIO(), Terminal()):
        with ProgressBar(5, "runs", quiet=True, stream=stream) as bar:
            bar.note("hello")
            for _ in range(5):
                bar.advance(note="done one")
        assert stream.getvalue() == ""
        assert bar.countdown.done == 5  # still counted


def test_on_a_terminal_a_bar_with_the_count_and_the_time_left() -> None:
    term = Terminal()
    clock = Clock()
    with ProgressBar(4, "honed-bench", stream=term, clock=clock) as bar:
        assert bar.on_terminal
        for i in range(4):
            clock.now += 3.0
            bar.advance(note=f"finished {i}")
            if i == 1:
                assert "time left 6s" in term.getvalue()  # two done in 6 s, two to go
    shown = term.getvalue()
    assert "honed-bench" in shown and "4/4" in shown
    assert "finished 3" in shown  # notes print above the bar
