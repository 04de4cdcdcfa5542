"""Progress for long waits: a rich spinner on a TTY, nothing but the final lines otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from meshctl.render.console import is_tty


@contextmanager
def spinner(title: str) -> Iterator[Callable[[str], None]]:
    """Yields ``update(text)``; shows ``title: text`` on stderr while a TTY is attached."""
    if not is_tty():
        yield lambda _text: None
        return
    from meshctl.render.console import err

    with err().status(title) as status:
        yield lambda text: status.update(f"{title}: {text}")
