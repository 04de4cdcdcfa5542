"""House rule: start-up stays light. `--help` imports none of the heavy packages."""

import subprocess
import sys

import pytest

from tests.conftest import DEMO, ROOT

HEAVY = ("kubernetes", "networkx", "jinja2", "yaml", "pydantic")


def imported_modules(*args: str) -> set[str]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "meshctl", *args], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    modules = set()
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, r.stderr[-500:]
    return modules


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("args", [("--help",), ("version", "--no-remote"), ("snapshot", "--help")])
def test_help_and_local_commands_import_nothing_heavy(args):
    assert not top_level(imported_modules(*args)) & set(HEAVY)


def test_offline_reads_never_import_the_kubernetes_client():
    if not DEMO.is_dir():
        pytest.skip("demo snapshot missing")
    mods = top_level(imported_modules("snapshot", "show", str(DEMO)))
    assert "kubernetes" not in mods and "yaml" in mods
    mods = top_level(imported_modules("version", "--snapshot", str(DEMO)))
    assert "kubernetes" not in mods


def test_reading_files_never_imports_the_kubernetes_client(tmp_path):
    manifest = tmp_path / "ns.yaml"
    manifest.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    mods = top_level(imported_modules("snapshot", "save", str(tmp_path / "out"), "-f", str(manifest)))
    assert "kubernetes" not in mods and "yaml" in mods


def test_analyzing_files_never_imports_the_kubernetes_client(tmp_path):
    manifest = tmp_path / "vs.yaml"
    manifest.write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n"
                        "spec: {hosts: [a], gateways: [missing]}\n")
    mods = top_level(imported_modules("analyze", "-f", str(manifest)))
    assert "kubernetes" not in mods and "urllib3" not in mods
