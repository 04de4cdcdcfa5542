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
