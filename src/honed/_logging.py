"""honed's log: one line per finished trial and every warning, on standard error.

The level comes from ``HONED_LOG_LEVEL`` (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``; default
``INFO``) and :func:`set_verbosity`. Applications that configure logging themselves can
attach their own handlers to the ``"honed"`` logger and call ``set_verbosity`` as they like.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["get_logger", "set_verbosity"]

_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time, so lines go above a live progress
    bar (which swaps ``sys.stderr`` while it draws) and to a test's captured stream."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _level(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    level = _LEVELS.get(str(value).strip().upper())
    if level is None:
        raise ValueError(
            f"verbosity must be one of {sorted(_LEVELS, key=_LEVELS.__getitem__)} or a "
            f"logging level number, got {value!r}."
        )
    return level


def _configure() -> logging.Logger:
    logger = logging.getLogger("honed")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[honed %(levelname)s] %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False  # one line per event, not a second from the root logger
    env = os.environ.get("HONED_LOG_LEVEL")
    try:
        logger.setLevel(_level(env) if env else logging.INFO)
    except ValueError:
        logger.setLevel(logging.INFO)
        logger.warning("HONED_LOG_LEVEL=%r is not a level; using INFO.", env)
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger("honed")


def set_verbosity(level: str | int) -> None:
    """How much honed logs: ``"DEBUG"``, ``"INFO"`` (default: a line per trial),
    ``"WARNING"`` (failures and problems only), ``"ERROR"``, or a :mod:`logging` level."""
    logging.getLogger("honed").setLevel(_level(level))


_configure()
