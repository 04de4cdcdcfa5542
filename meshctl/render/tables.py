"""kubectl-style tables: a header row in capitals, columns separated by spaces, no borders."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "") -> str:
    """Plain aligned columns, like kubectl get. Deterministic, so golden files stay stable."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [row[i].ljust(widths[i]) for i in range(len(row) - 1)] + [row[-1]]
        lines.append((indent + "   ".join(padded)).rstrip())
    return "\n".join(lines)


def render_wrapped(label: str, items: Sequence[str], indent: str = "") -> str:
    """``label: a, b, c`` wrapped to the terminal width (``COLUMNS``), continuation lines indented."""
    import shutil
    import textwrap

    width = shutil.get_terminal_size((100, 24)).columns
    return textwrap.fill(", ".join(items), width=max(width, 40), initial_indent=f"{indent}{label}: ",
                         subsequent_indent=indent + "    ", break_on_hyphens=False)
