"""What install shows: the plan, diffs, plain progress lines, the summary."""

from __future__ import annotations

from meshctl.install.installer import CREATE, PRUNE, UNCHANGED, UPDATE, Change, Conflict, Plan, Ref, Summary
from meshctl.render.install import InstallProgress, colour_diff, render_plan, render_summary


def ref(kind: str, name: str, ns: str = "istio-system") -> Ref:
    api = {"ConfigMap": "v1", "Deployment": "apps/v1", "ClusterRole": "rbac.authorization.k8s.io/v1"}[kind]
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return Ref.of({"apiVersion": api, "kind": kind, "metadata": meta})


PLAN = Plan((
    Change(CREATE, "Pilot", ref("Deployment", "istiod")),
    Change(UPDATE, "Pilot", ref("ConfigMap", "istio"), "--- live/x\n+++ meshctl/x\n@@ -1 +1 @@\n-a: 1\n+a: 2\n"),
    Change(UNCHANGED, "Pilot", ref("ConfigMap", "values")),
    Change(PRUNE, "Cni", ref("ClusterRole", "old-role", "")),
), (Conflict(ref("ConfigMap", "istio"), "Helm"),))


def test_plan_lists_changes_by_component_and_counts():
    text = render_plan(PLAN)
    assert text.splitlines() == [
        "Pilot:",
        "  + create    Deployment istio-system/istiod",
        "  ~ change    ConfigMap istio-system/istio",
        "Cni:",
        "  - delete    ClusterRole old-role",
        "! ConfigMap istio-system/istio is managed by Helm",
        "Plan: 1 to create, 1 to change, 1 to delete, 1 unchanged.",
    ]


def test_plan_with_diffs_and_verbose():
    text = render_plan(PLAN, verbose=True, diffs=True)
    assert "  = unchanged ConfigMap istio-system/values" in text
    assert "      +a: 2" in text and "      -a: 1" in text


def test_empty_plan():
    assert render_plan(Plan(())).strip() == "Plan: nothing to do."


def test_colour_only_on_colour_streams(monkeypatch):
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"
    assert colour_diff(diff) == diff  # NO_COLOR is set by the test environment

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm")
    coloured = colour_diff(diff, Tty())
    assert "\x1b[32m+y\x1b[0m" in coloured and "\x1b[31m-x\x1b[0m" in coloured


def test_plain_progress_prints_state_changes_and_skips_repeated_waits(capsys):
    progress = InstallProgress(["Base", "Pilot"], live=False, quiet=60)
    with progress:
        progress.component("Pilot", "applying", "3 objects")
        progress.component("Pilot", "waiting", "Deployment istio-system/istiod: 0/1 pods ready")
        progress.component("Pilot", "waiting", "Deployment istio-system/istiod: 0/1 pods ready")
        progress.component("Pilot", "waiting", "something else, but within the quiet period")
        progress.component("Pilot", "ready")
    assert capsys.readouterr().err.splitlines() == [
        "Pilot: applying (3 objects)",
        "Pilot: waiting (Deployment istio-system/istiod: 0/1 pods ready)",
        "Pilot: ready",
    ]


def test_summary():
    summary = Summary(ready_after={"Namespace": 0.0, "Base": 1.5, "Pilot": 12.0},
                      applied=[Change(CREATE, "Pilot", ref("Deployment", "istiod"))],
                      pruned=[ref("ClusterRole", "old-role", "")])
    text = render_summary(PLAN, summary)
    assert text.splitlines() == ["✔ Installed: 1 created, 0 changed, 1 unchanged, 1 deleted.",
                                 "  ready: Base 1.5s, Pilot 12s"]


def test_live_progress_on_a_terminal_draws_a_table_and_ends_with_every_state(monkeypatch):
    """On a TTY the progress is one redrawn table (rich Live), not a line per change; notes go above it."""
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    with InstallProgress(["Namespace", "Base", "Pilot"], live=True) as progress:
        progress.component("Base", "ready")
        progress.component("Pilot", "waiting", "Deployment istio-system/istiod: 0/1 pods ready")
        progress.note("istiod-abc: ImagePullBackOff")
        progress.component("Pilot", "failed", "timed out")
    text = screen.getvalue()
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert "istiod-abc: ImagePullBackOff" in text
    final = text.rsplit("istiod-abc: ImagePullBackOff", 1)[1]  # the table as last redrawn
    assert "✔" in final and "Base" in final and "✘" in final and "timed out" in final
    assert "Namespace" not in text  # the namespace step is not a component worth a row
    assert "Pilot: failed" not in text  # no plain lines on a terminal
