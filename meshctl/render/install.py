"""What install, upgrade and uninstall show: the plan, progress per component, the summary, diffs."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

from meshctl.install.installer import CREATE, PRUNE, UNCHANGED, UPDATE, Plan, Summary
from meshctl.render.console import color_enabled, is_tty, print_err

VERBS = {CREATE: "create", UPDATE: "change", UNCHANGED: "unchanged", PRUNE: "delete"}
MARKS = {CREATE: "+", UPDATE: "~", UNCHANGED: "=", PRUNE: "-"}


def plan_counts(plan: Plan) -> str:
    parts = [f"{plan.count(a)} to {VERBS[a]}" for a in (CREATE, UPDATE, PRUNE) if plan.count(a)]
    unchanged = plan.count(UNCHANGED)
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    return ", ".join(parts) or "nothing to do"


def render_plan(plan: Plan, *, verbose: bool = False, diffs: bool = False) -> str:
    """One line per object that changes (all objects with ``verbose``), grouped by component."""
    lines: list[str] = []
    component = None
    for change in plan.changes:
        if change.action == UNCHANGED and not verbose:
            continue
        if change.component != component:
            component = change.component
            lines.append(f"{component}:")
        lines.append(f"  {MARKS[change.action]} {VERBS[change.action]:<9} {change.ref}")
        if diffs and change.diff:
            lines.extend("      " + line for line in change.diff.rstrip("\n").splitlines())
    for conflict in plan.conflicts:
        lines.append(f"! {conflict.ref} is managed by {conflict.owner}")
    lines.append(f"Plan: {plan_counts(plan)}.")
    return "\n".join(lines) + "\n"


def colour_diff(text: str, stream: Any = None) -> str:
    """Colour a unified diff (added green, removed red, hunks cyan) when the stream shows colour."""
    if not color_enabled(stream or sys.stdout):
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("+"):
            out.append(f"\x1b[32m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("-"):
            out.append(f"\x1b[31m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("@@"):
            out.append(f"\x1b[36m{line.rstrip(chr(10))}\x1b[0m\n")
        else:
            out.append(line)
    return "".join(out)


def render_summary(plan: Plan, summary: Summary, done: str = "Installed") -> str:
    applied = {a: sum(1 for c in summary.applied if c.action == a) for a in (CREATE, UPDATE)}
    parts = [f"{applied[CREATE]} created", f"{applied[UPDATE]} changed",
             f"{plan.count(UNCHANGED)} unchanged", f"{len(summary.pruned)} deleted"]
    ready = ", ".join(f"{name} {secs:g}s" for name, secs in summary.ready_after.items() if name != "Namespace")
    text = f"✔ {done}: {', '.join(parts)}."
    if ready:
        text += f"\n  ready: {ready}"
    return text + "\n"


ACTIVE = ("applying", "waiting", "pruning")  # the states a spinner shows


class InstallProgress:
    """Per-component progress on stderr: a live table on a terminal, plain lines otherwise.

    Plain mode prints a line when a component changes state, and a waiting line only when what it
    waits for changes (at most every ``quiet`` seconds), so CI logs stay short.
    """

    def __init__(self, components: Iterable[str], *, live: bool | None = None, quiet: float = 10.0) -> None:
        self.names = [n for n in components if n != "Namespace"]
        self.states: dict[str, tuple[str, str, float]] = {n: ("pending", "", time.monotonic()) for n in self.names}
        self.live = is_tty() if live is None else live
        self.quiet = quiet
        self._last_plain: dict[str, tuple[str, float]] = {}
        self._display: Any = None

    def __enter__(self) -> InstallProgress:
        if self.live:
            from rich.live import Live

            from meshctl.render.console import err

            self._display = Live(self._table(), console=err(), auto_refresh=True, refresh_per_second=4,
                                 transient=False)
            self._display.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            # Leave no spinner turning in the last frame drawn: what was under way stopped.
            for name, (state, detail, since) in self.states.items():
                if state in ACTIVE:
                    self.states[name] = ("interrupted", detail, since)
        if self._display is not None:
            self._display.update(self._table())
            self._display.__exit__(exc_type, *exc)
            self._display = None

    def component(self, name: str, state: str, detail: str = "") -> None:
        if name not in self.states:
            self.names.append(name)
        previous = self.states.get(name)
        since = previous[2] if previous and previous[0] == state else time.monotonic()
        self.states[name] = (state, detail, since)
        if self._display is not None:
            self._display.update(self._table())
            return
        now = time.monotonic()
        last = self._last_plain.get(name)
        if state == "waiting" and last and last[0] == f"{state}:{detail}":
            return
        if state == "waiting" and last and last[0].startswith("waiting:") and now - last[1] < self.quiet:
            return
        self._last_plain[name] = (f"{state}:{detail}", now)
        print_err(f"{name}: {state}" + (f" ({detail})" if detail else ""))

    def note(self, text: str) -> None:
        if self._display is not None:
            self._display.console.print(text, markup=False, highlight=False)
        else:
            print_err(text)

    def _table(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        marks = {"ready": Text("✔", style="green"), "failed": Text("✘", style="red"),
                 "pending": Text("·", style="dim"), "interrupted": Text("■", style="yellow")}
        for name in self.names:
            state, detail, since = self.states[name]
            mark = marks.get(state) or Spinner("dots")
            elapsed = "" if state in ("pending", "ready", "interrupted") else f"{time.monotonic() - since:.0f}s"
            table.add_row(mark, Text(name, style="bold"), Text(state), Text(elapsed, style="dim"),
                          Text(detail, overflow="ellipsis", no_wrap=True))
        return table

