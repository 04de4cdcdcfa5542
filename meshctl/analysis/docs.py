"""docs/analyzers.md, generated from the analyzer registry (a test keeps the file current).

    python -m meshctl.analysis.docs > docs/analyzers.md
"""

from __future__ import annotations

from meshctl.analysis.fixes import FIXES
from meshctl.analysis.framework import all_analyzers
from meshctl.analysis.messages import MESSAGE_TYPES


def render_analyzers_doc() -> str:
    analyzers = all_analyzers()
    lines = [
        "# Analyzers",
        "",
        "Generated from meshctl's analyzer registry by `python -m meshctl.analysis.docs`; do not edit by hand.",
        "Istio's analyzers keep Istio's names and IST codes, so `--analyzer`, `--suppress` and the",
        "`galley.istio.io/analyze-suppress` annotation written for istioctl work unchanged; meshctl's own",
        "checks (ambient, multicluster, inference, agentgateway) use codes MSH0001 and up.",
        "",
        "| analyzer | codes | what it checks |",
        "|---|---|---|",
    ]
    for a in analyzers:
        codes = ", ".join(f"[{c}](#{c.lower()})" for c in a.codes)
        lines.append(f"| `{a.name}` | {codes} | {a.description} |")
    lines += ["", "## Codes", ""]
    emitted = {c for a in analyzers for c in a.codes}
    for code in sorted(emitted):
        t = MESSAGE_TYPES[code]
        by = ", ".join(f"`{a.name}`" for a in analyzers if code in a.codes)
        lines += [f"### {code}", "", f"**{t.name}** ({t.level.label}), reported by {by}.", "",
                  f"How to fix: {FIXES[code]} More: <{t.documentation_url}>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_analyzers_doc())
