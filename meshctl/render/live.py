"""Screens that refresh in place (``--watch``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from meshctl.errors import UsageError
from meshctl.render.console import is_tty, out


def refresh_until_interrupted(screen: Callable[[], str], interval: float) -> None:
    """Redraw ``screen()`` every ``interval`` seconds on a terminal until Ctrl-C."""
    import sys

    if not is_tty(sys.stdout):
        raise UsageError("--watch redraws a terminal, but stdout is not one", hint="drop --watch in scripts")
    from rich.live import Live
    from rich.text import Text

    with Live(Text(screen()), console=out(), screen=False, auto_refresh=False) as live:
        while True:
            time.sleep(max(interval, 0.5))
            live.update(Text(screen()), refresh=True)
