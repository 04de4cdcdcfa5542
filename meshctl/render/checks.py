"""Check results as ``linkerd check`` prints them: a header per category, one marked line per check,
the detail and a hint under each one that is not ok, and a summary line.

Shared by ``precheck``, ``check`` and ``multicluster check``. Marks fall back to ASCII when the output
stream cannot encode them; colour follows the console rules (NO_COLOR, TERM=dumb, --no-color, a TTY).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO

from meshctl.mesh.health import FAILURE, OK, SKIPPED, WARNING, Category, count_statuses, failures
from meshctl.render.console import color_enabled, is_tty, print_err

MARKS = {OK: "\u2714", WARNING: "\u203c", FAILURE: "\u2718", SKIPPED: "\u2013"}
ASCII_MARKS = {OK: "+", WARNING: "!", FAILURE: "x", SKIPPED: "-"}
COLORS = {OK: "\x1b[32m", WARNING: "\x1b[33m", FAILURE: "\x1b[31m", SKIPPED: "\x1b[2m"}
RESET = "\x1b[0m"
INDENT = "    "


def can_encode(stream: IO[str], text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # an in-memory stream holds any text
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_line(categories: Sequence[Category], marks: dict[str, str] = MARKS) -> str:
    """``Status check results are ✔``, or the worst mark and the counts."""
    counts = count_statuses(categories)
    parts = [_plural(counts[FAILURE], "failure") if counts[FAILURE] else "",
             _plural(counts[WARNING], "warning") if counts[WARNING] else "",
             f"{counts[SKIPPED]} skipped" if counts[SKIPPED] else ""]
    worst = FAILURE if counts[FAILURE] else WARNING if counts[WARNING] else OK
    shown = ", ".join(p for p in parts if p)
    return f"Status check results are {marks[worst]}" + (f" ({shown})" if shown else "")


def render_checks(categories: Sequence[Category], *, stream: IO[str] | None = None, unicode: bool | None = None,
                  color: bool | None = None) -> str:
    """The text report for ``stream`` (stdout unless given): ``unicode`` and ``color`` default to what it
    can show."""
    stream = stream or sys.stdout
    if unicode is None:
        unicode = can_encode(stream, "".join(MARKS.values()))
    if color is None:
        color = color_enabled(stream)
    marks = MARKS if unicode else ASCII_MARKS

    def mark(status: str) -> str:
        return f"{COLORS[status]}{marks[status]}{RESET}" if color else marks[status]

    clusters = list(dict.fromkeys(c.cluster for c in categories))
    lines: list[str] = []
    current = None
    for category in categories:
        if len(clusters) > 1 and category.cluster != current:
            current = category.cluster
            heading = f"Cluster {current}"
            lines += [heading, "=" * len(heading), ""]
        lines += [category.name, "-" * len(category.name)]
        for result in category.results:
            if result.status == OK:
                lines.append(f"{mark(OK)} {result.name}" + (f" ({result.detail})" if result.detail else ""))
                continue
            lines.append(f"{mark(result.status)} {result.name}")
            lines += [INDENT + line for line in result.detail.splitlines()]
            if result.hint:
                lines.append(f"{INDENT}hint: {result.hint}")
        lines.append("")
    lines.append(summary_line(categories, marks))
    return "\n".join(lines)


def waiting_line(categories: Sequence[Category], seconds_left: float) -> str:
    """One line of --wait progress: what still fails and the time left."""
    names = [r.name for r in failures(categories)]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"waiting for {_plural(len(names), 'failing check')} ({shown}); {seconds_left:.0f}s left"


@contextmanager
def wait_progress(title: str) -> Iterator[Callable[[Sequence[Category], float], None]]:
    """Yields ``report(categories, seconds_left)``: a spinner line on a terminal, else a plain stderr
    line whenever the set of failing checks changes."""
    if is_tty():
        from meshctl.render.progress import spinner

        with spinner(title) as update:
            yield lambda categories, left: update(waiting_line(categories, left))
        return
    last: list[list[str]] = [[]]

    def report(categories: Sequence[Category], left: float) -> None:
        names = [r.name for r in failures(categories)]
        if names != last[0]:
            last[0] = names
            print_err(f"{title}: {waiting_line(categories, left)}")

    yield report
