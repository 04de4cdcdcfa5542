"""The linkerd-check style renderer and the check model it shows (meshctl.render.checks, meshctl.mesh.health)."""

import io

import pytest

from meshctl.errors import ClusterUnavailableError, NotCapturedError
from meshctl.mesh.health import (FAILURE, OK, SKIPPED, WARNING, Category, Check, CheckResult, count_statuses,
                                 exit_code, run_checks, wait_until_passing)
from meshctl.render.checks import render_checks, summary_line, wait_progress, waiting_line

CATEGORIES = [
    Category("Control plane", (
        CheckResult("istiod (default) is ready", OK, "1/1 replicas"),
        CheckResult("istiod (default) is serving", FAILURE, "Service istio-system/istiod has no ready endpoints\n"
                    "second line", "kubectl -n istio-system get endpointslices"),
    ), "c1"),
    Category("Gateway API", (
        CheckResult("Gateway API CRDs are installed", WARNING, "not installed", "install them"),
        CheckResult("GatewayClasses are accepted", SKIPPED, "no CRDs", "install them"),
        CheckResult("no detail", OK),
    ), "c1"),
]


def test_text_report_layout():
    text = render_checks(CATEGORIES, unicode=True, color=False)
    assert text == (
        "Control plane\n"
        "-------------\n"
        "\u2714 istiod (default) is ready (1/1 replicas)\n"
        "\u2718 istiod (default) is serving\n"
        "    Service istio-system/istiod has no ready endpoints\n"
        "    second line\n"
        "    hint: kubectl -n istio-system get endpointslices\n"
        "\n"
        "Gateway API\n"
        "-----------\n"
        "\u203c Gateway API CRDs are installed\n"
        "    not installed\n"
        "    hint: install them\n"
        "\u2013 GatewayClasses are accepted\n"
        "    no CRDs\n"
        "    hint: install them\n"
        "\u2714 no detail\n"
        "\n"
        "Status check results are \u2718 (1 failure, 1 warning, 1 skipped)"
    )


def test_ascii_marks_when_the_stream_cannot_encode_unicode():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    text = render_checks(CATEGORIES, stream=stream, color=False)
    assert text.isascii()
    assert "+ istiod (default) is ready" in text and "x istiod (default) is serving" in text
    assert "! Gateway API CRDs are installed" in text and "- GatewayClasses are accepted" in text
    assert text.endswith("Status check results are x (1 failure, 1 warning, 1 skipped)")


def test_unicode_stream_keeps_the_marks():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert "\u2714 istiod (default) is ready" in render_checks(CATEGORIES, stream=stream, color=False)


def test_colour_only_when_asked_or_on_a_terminal(monkeypatch):
    coloured = render_checks(CATEGORIES, unicode=True, color=True)
    assert "\x1b[31m\u2718\x1b[0m istiod (default) is serving" in coloured
    assert "\x1b[32m\u2714\x1b[0m" in coloured and "\x1b[33m\u203c\x1b[0m" in coloured

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm")
    assert "\x1b[" in render_checks(CATEGORIES, stream=Terminal())
    monkeypatch.setenv("NO_COLOR", "1")  # the console rules: NO_COLOR wins over a terminal
    assert "\x1b[" not in render_checks(CATEGORIES, stream=Terminal())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert "\x1b[" not in render_checks(CATEGORIES, stream=Terminal())


def test_several_clusters_get_a_heading_each():
    two = CATEGORIES + [Category("Control plane", (CheckResult("istiod is ready", OK),), "c2")]
    text = render_checks(two, unicode=True, color=False)
    assert text.startswith("Cluster c1\n==========\n\nControl plane\n")
    assert "\nCluster c2\n==========\n\nControl plane\n-------------\n\u2714 istiod is ready\n" in text
    assert "Cluster" not in render_checks(CATEGORIES, unicode=True, color=False)


@pytest.mark.parametrize("statuses, expected", [
    ([OK, OK], "Status check results are \u2714"),
    ([OK, SKIPPED], "Status check results are \u2714 (1 skipped)"),
    ([OK, WARNING, WARNING], "Status check results are \u203c (2 warnings)"),
    ([FAILURE, FAILURE, WARNING], "Status check results are \u2718 (2 failures, 1 warning)"),
])
def test_summary_line(statuses, expected):
    category = Category("c", tuple(CheckResult(f"check {i}", s, "d", "h") for i, s in enumerate(statuses)))
    assert summary_line([category]) == expected


def test_json_shape_of_a_category():
    assert CATEGORIES[1].to_dict()["checks"][0] == {
        "name": "Gateway API CRDs are installed", "status": "warning", "detail": "not installed",
        "hint": "install them"}
    assert set(CATEGORIES[0].to_dict()) == {"name", "cluster", "checks"}


def test_exit_code_is_one_only_for_failures():
    assert exit_code(CATEGORIES) == 1
    assert exit_code(CATEGORIES[1:]) == 0  # a warning and a skipped check pass
    assert count_statuses(CATEGORIES) == {OK: 2, WARNING: 1, FAILURE: 1, SKIPPED: 1}


def test_run_checks_groups_by_category_and_turns_read_errors_into_results():
    def unavailable(_):
        raise NotCapturedError("Gateway.gateway.networking.k8s.io", "snapshot s", hint="take a new snapshot")

    def refused(_):
        raise ClusterUnavailableError("context c: not allowed to list nodes", hint="ask for RBAC")

    checks = [
        Check("A", "first", lambda _: [CheckResult("first", OK)]),
        Check("B", "gateways", unavailable),
        Check("A", "nodes", refused),
    ]
    a, b = run_checks(checks, subject=None, cluster="c")
    assert (a.name, [r.status for r in a.results]) == ("A", [OK, FAILURE])
    assert a.results[1] == CheckResult("nodes", FAILURE, "context c: not allowed to list nodes", "ask for RBAC",
                                       unavailable=True)
    assert b.results == (CheckResult("gateways", SKIPPED, "Gateway.gateway.networking.k8s.io is not available "
                                     "from snapshot s", "take a new snapshot"),)
    assert a.cluster == b.cluster == "c"


def _round(status):
    return [Category("c", (CheckResult("istiod is ready", status, "d", "h"),))]


def test_wait_stops_at_the_first_round_without_failures():
    rounds = iter([_round(FAILURE), _round(FAILURE), _round(WARNING)])
    now = [0.0]
    heard = []
    result = wait_until_passing(lambda: next(rounds), 60, interval=5, clock=lambda: now[0],
                                sleep=lambda s: now.__setitem__(0, now[0] + s),
                                progress=lambda cats, left: heard.append(left))
    assert result[0].results[0].status == WARNING
    assert heard == [60.0, 55.0] and now[0] == 10.0


def test_wait_gives_up_when_the_time_is_up():
    now = [0.0]
    calls = []

    def evaluate():
        calls.append(now[0])
        return _round(FAILURE)

    result = wait_until_passing(evaluate, 7, interval=5, clock=lambda: now[0],
                                sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert result[0].results[0].status == FAILURE
    assert calls == [0.0, 5.0, 7.0]  # the last round lands on the deadline, not after it


def test_waiting_line_and_plain_progress_only_on_change(capsys):
    failing = [Category("c", tuple(CheckResult(f"check {i}", FAILURE, "d", "h") for i in range(5)))]
    assert waiting_line(failing, 41.6) == ("waiting for 5 failing checks (check 0, check 1, check 2 and 2 more); "
                                           "42s left")
    with wait_progress("meshctl check --wait") as report:
        report(failing, 30)
        report(failing, 28)  # same failing checks: no new line
        report(_round(FAILURE), 20)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["meshctl check --wait: waiting for 5 failing checks (check 0, check 1, check 2 and 2 more); "
                     "30s left",
                     "meshctl check --wait: waiting for 1 failing check (istiod is ready); 20s left"]
