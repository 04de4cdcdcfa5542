"""Small helpers the command modules share (typer-free, so they stay cheap to import)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from meshctl.errors import UsageError


def check_choice(flag: str, value: str | None, allowed: Sequence[str]) -> str | None:
    if value is None or value in allowed:
        return value
    raise UsageError(f"{flag} {value!r} is not one of: {', '.join(allowed)}", hint=f"use {flag} {allowed[0]}")


def emit(text: str) -> None:
    """Write results to stdout (one place, so tests and pipes see exactly this)."""
    import sys

    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def completion_var(prog_name: str) -> str:
    """The variable a shell sets to ask for completions (``_MESHCTL_COMPLETE``)."""
    return "_{}_COMPLETE".format(prog_name.replace(" ", "_").replace("-", "_").upper())


def show_outcome(stdout: str, notes: list[str]) -> None:
    """Results on stdout, notes (summaries, skipped input) on stderr."""
    from meshctl.render.console import print_err

    emit(stdout)
    for note in notes:
        print_err(note)


DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)(ms|h|m|s)")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_timeout(text: str) -> float:
    """Seconds (``300``) or a Go duration as istioctl takes (``90s``, ``5m``, ``1m30s``)."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d*)?", text):
        return float(text)
    if text and DURATION_PART.sub("", text) == "":
        return sum(float(n) * UNIT_SECONDS[u] for n, u in DURATION_PART.findall(text))
    raise UsageError(f"--timeout {text!r} is not a duration", hint="use seconds (300) or a duration (90s, 5m)")
