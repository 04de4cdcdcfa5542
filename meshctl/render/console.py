"""The console pair: results to stdout, everything else (progress, warnings, hints) to stderr.

rich is imported on first use only, so commands that print a line or two, and ``--help``, stay fast.
Colour follows rich's rules (``NO_COLOR``, ``TERM=dumb``, not a TTY) plus meshctl's ``--no-color``;
width follows ``COLUMNS`` when set.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import IO, Any

_no_color = False


def set_no_color(value: bool) -> None:
    global _no_color
    _no_color = value
    out.cache_clear()
    err.cache_clear()


def color_enabled(stream: IO[str]) -> bool:
    if _no_color or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _make(stream: IO[str]):
    from rich.console import Console

    return Console(
        file=stream,
        no_color=not color_enabled(stream),
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )


@lru_cache(maxsize=1)
def out():
    """The rich console on stdout (results)."""
    return _make(sys.stdout)


@lru_cache(maxsize=1)
def err():
    """The rich console on stderr (progress, warnings, hints)."""
    return _make(sys.stderr)


def print_out(text: str = "") -> None:
    """A plain line of results, without rich's markup or wrapping."""
    sys.stdout.write(text + "\n")


def print_err(text: str = "") -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    print_err(f"Warning: {text}")


def report_error(message: str, hint: str | None) -> None:
    """The one format every error is shown in: what and where, then a hint."""
    stream = sys.stderr
    red, dim, reset = ("\x1b[31m", "\x1b[2m", "\x1b[0m") if color_enabled(stream) else ("", "", "")
    stream.write(f"{red}Error:{reset} {message}\n")
    if hint:
        stream.write(f"{dim}Hint:{reset} {hint}\n")
    stream.flush()


def is_tty(stream: Any = None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()
