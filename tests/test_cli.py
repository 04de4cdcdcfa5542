"""The command line through its real exit point: help, version, errors and exit codes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from meshctl import __version__
from tests.conftest import ROOT


def test_root_help_lists_only_working_commands(cli):
    r = cli("--help")
    assert r.code == 0
    for command in ("version", "snapshot", "completion"):
        assert command in r.out
    assert r.err == ""


def test_no_arguments_shows_help_with_usage_exit(cli):
    r = cli()
    assert "Usage:" in r.out + r.err


def test_version_flag_and_short_version(cli):
    assert cli("--version").out == f"{__version__}\n"
    r = cli("version", "--no-remote", "--short")
    assert (r.code, r.out) == (0, f"{__version__}\n")


def test_version_json_is_machine_clean(cli):
    r = cli("version", "--no-remote", "-o", "json")
    assert r.code == 0
    assert json.loads(r.out) == {"clientVersion": {"version": __version__}}


def test_version_without_any_cluster_warns_and_still_answers(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none.yaml"))
    r = cli("version")
    assert r.code == 0
    assert r.out == f"client version: {__version__}\n"
    assert "no kubeconfig found" in r.err and "client version only" in r.err


def test_version_with_a_named_cluster_that_is_absent_fails_with_69(cli, tmp_path):
    r = cli("version", "--kubeconfig", str(tmp_path / "none.yaml"))
    assert r.code == 69
    assert r.out == ""
    assert r.err.startswith("Error: no kubeconfig found") and "\nHint: " in r.err
    assert "Traceback" not in r.err


def test_bad_output_format_is_a_usage_error(cli):
    r = cli("version", "--no-remote", "-o", "xml")
    assert r.code == 2
    assert "--output 'xml' is not one of: json, yaml" in r.err


def test_unknown_command_and_flag_exit_2(cli):
    assert cli("frobnicate").code == 2
    r = cli("version", "--frobnicate")
    assert r.code == 2 and "No such option" in r.err


def test_internal_errors_are_one_line_unless_debugging(cli, monkeypatch):
    import meshctl.cli.version as version_cmd

    def boom(*_a, **_k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("meshctl.mesh.controlplane.describe_versions", boom)
    monkeypatch.setattr("meshctl.cli.sources.states_for_version", lambda *a, **k: [object()])
    r = cli("version")
    assert r.code == 1
    # The type and the meshctl line it came from; never the exception's text, which can quote input.
    assert re.fullmatch(r"Error: internal error: RuntimeError at meshctl/cli/version\.py:\d+", r.err.splitlines()[0])
    assert "kaboom" not in r.err
    assert "MESHCTL_DEBUG=1" in r.err and "Traceback" not in r.err
    monkeypatch.setenv("MESHCTL_DEBUG", "1")
    debug = cli("version")
    assert debug.code == 1 and "Traceback" in debug.err and "RuntimeError: kaboom" in debug.err
    assert version_cmd  # the module under test was imported


@pytest.mark.parametrize("shell, ext", [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish"), ("powershell", "ps1")])
def test_committed_completion_scripts_are_current(cli, shell, ext):
    r = cli("completion", shell)
    assert r.code == 0
    committed = ROOT / "completions" / f"meshctl.{ext}"
    assert committed.read_text() == r.out, f"regenerate: meshctl completion {shell} > {committed.relative_to(ROOT)}"


def test_completion_answers_the_shell(monkeypatch, cli):
    monkeypatch.setenv("_MESHCTL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "meshctl snapshot s")
    monkeypatch.setenv("COMP_CWORD", "2")
    r = cli()
    assert r.out.split() == ["save", "show"]


def test_unsupported_shell_is_a_usage_error(cli):
    assert cli("completion", "tcsh").code == 2


def run_module(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshctl", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)


def test_python_dash_m_and_exit_code_reach_the_shell():
    r = run_module("version", "--no-remote", "-o", "yaml")
    assert r.returncode == 0 and r.stdout == f"clientVersion:\n  version: {__version__}\n"
    assert run_module("version", "-o", "xml").returncode == 2


def test_kubectl_plugin_name_shows_in_usage(tmp_path):
    plugin = Path(sys.executable).parent / "kubectl-mesh"
    if not plugin.exists():
        pytest.skip("kubectl-mesh console script not installed in this environment")
    r = subprocess.run([str(plugin), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("Usage: kubectl mesh ")


def test_root_help_summaries_match_each_commands_own_help():
    import importlib

    import typer

    from meshctl.cli.app import COMMANDS

    for name, (module, summary) in COMMANDS.items():
        command = typer.main.get_command(importlib.import_module(module).app)
        assert command.get_short_help_str(limit=500) == summary, name


def test_help_loads_no_command_module():
    r = run_module("--help")
    assert r.returncode == 0
    code = "import sys, meshctl.cli.app as a; a.run(['--help']); print(sorted(m for m in sys.modules if m.startswith('meshctl.cli.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.strip().splitlines()[-1] == "['meshctl.cli.app', 'meshctl.cli.common', 'meshctl.cli.options']"
