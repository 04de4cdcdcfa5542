"""Analysis output formats: log, json, yaml, sarif, junit, github.

Every format prints the same messages and nothing else on stdout; the exit code does not depend on
the format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from meshctl.analysis.messages import MESSAGE_TYPES, Level, Message

FORMATS = ("log", "json", "yaml", "sarif", "junit", "github")
SARIF_LEVELS = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}
GITHUB_COMMANDS = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}
LOG_COLOURS = {Level.ERROR: "\x1b[31m", Level.WARNING: "\x1b[33m", Level.INFO: ""}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/meshctl/meshctl"


def render_log(messages: Sequence[Message], colour: bool = False) -> str:
    """istioctl's line format: ``Level [CODE] [cluster-X] (Kind ns/name file:line) message``."""
    lines = []
    for m in messages:
        level = m.level.label
        if colour and LOG_COLOURS[m.level]:
            level = f"{LOG_COLOURS[m.level]}{level}\x1b[0m"
        cluster = f" [cluster-{m.cluster}]" if m.cluster else ""
        where = f"{m.origin} {m.reference}" if m.reference else m.origin
        lines.append(f"{level} [{m.code}]{cluster} ({where}) {m.text}")
    return "\n".join(lines)


def render_json(messages: Sequence[Message]) -> str:
    return json.dumps([m.to_dict() for m in messages], indent=2, ensure_ascii=False)


def render_yaml(messages: Sequence[Message]) -> str:
    from meshctl.kube.yamlio import dump

    return dump([m.to_dict() for m in messages]).rstrip("\n") if messages else "[]"


def _file_and_line(reference: str) -> tuple[str, int] | None:
    path, sep, line = reference.rpartition(":")
    if not sep or not line.isdigit():
        return None
    return path, int(line)


def render_sarif(messages: Sequence[Message], version: str) -> str:
    """SARIF 2.1.0: one run, a rule per code used, results with physical and logical locations."""
    codes = sorted({m.code for m in messages})
    rules = []
    for code in codes:
        t = MESSAGE_TYPES[code]
        rules.append({
            "id": code,
            "name": t.name,
            "shortDescription": {"text": t.name},
            "helpUri": t.documentation_url,
            "defaultConfiguration": {"level": SARIF_LEVELS[t.level]},
        })
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for m in messages:
        location: dict = {}
        place = _file_and_line(m.reference)
        if place:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": place[0]},
                "region": {"startLine": place[1]},
            }
        logical = {"name": m.origin, "kind": "resource"}
        if m.cluster:
            logical["fullyQualifiedName"] = f"{m.cluster}/{m.origin}"
        location["logicalLocations"] = [logical]
        results.append({
            "ruleId": m.code,
            "ruleIndex": index[m.code],
            "level": SARIF_LEVELS[m.level],
            "message": {"text": m.text},
            "locations": [location],
        })
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "meshctl", "version": version, "informationUri": TOOL_URI, "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render_junit(messages: Sequence[Message], analyzers: Sequence[str]) -> str:
    """A testsuite per analyzer that ran; a failing testcase per message, one passing case otherwise."""
    by_analyzer: dict[str, list[Message]] = {name: [] for name in analyzers}
    for m in messages:
        by_analyzer.setdefault(m.analyzer or "meshctl", []).append(m)
    total = sum(max(len(ms), 1) for ms in by_analyzer.values())
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="meshctl analyze" tests="{total}" failures="{len(messages)}">']
    for name, ms in by_analyzer.items():
        lines.append(f"  <testsuite name={quoteattr(name)} tests=\"{max(len(ms), 1)}\" failures=\"{len(ms)}\">")
        if not ms:
            lines.append(f"    <testcase name=\"no issues\" classname={quoteattr(name)}/>")
        for m in ms:
            title = f"[{m.code}] {m.origin}" + (f" [cluster-{m.cluster}]" if m.cluster else "")
            detail = f"{m.level.label} {m.text}" + (f" ({m.reference})" if m.reference else "")
            lines.append(f"    <testcase name={quoteattr(title)} classname={quoteattr(name)}>")
            lines.append(f"      <failure message={quoteattr(m.text)} type={quoteattr(m.code)}>"
                         f"{_xml_text(detail)}</failure>")
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(messages: Sequence[Message]) -> str:
    """GitHub Actions workflow commands: annotations on the file and line where they can be."""
    lines = []
    for m in messages:
        props = []
        place = _file_and_line(m.reference)
        if place:
            props += [f"file={_gh_property(place[0])}", f"line={place[1]}"]
        title = f"{m.code} {m.origin}" + (f" [cluster-{m.cluster}]" if m.cluster else "")
        props.append(f"title={_gh_property(title)}")
        lines.append(f"::{GITHUB_COMMANDS[m.level]} {','.join(props)}::{_gh_data(m.text)}")
    return "\n".join(lines)


def render_messages(messages: Sequence[Message], output: str, *, version: str, analyzers: Sequence[str],
                    colour: bool = False) -> str:
    if output == "log":
        return render_log(messages, colour)
    if output == "json":
        return render_json(messages)
    if output == "yaml":
        return render_yaml(messages)
    if output == "sarif":
        return render_sarif(messages, version)
    if output == "junit":
        return render_junit(messages, analyzers)
    if output == "github":
        return render_github(messages)
    raise ValueError(f"unknown format {output}")
