"""Helpers for analyzer tests: run analyzers over YAML and compare (code, origin) pairs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube.files import load_files

ANALYZE_DATA = Path(__file__).resolve().parents[2] / "testdata" / "analyze"


def run_on_files(paths: list[str], analyzer: str | None = None, **options):
    state = load_files(paths)
    names = [analyzer] if analyzer else []
    return run_analysis([state], select_analyzers(names), **options).messages


@pytest.fixture
def analyze(tmp_path):
    """``analyze(yaml_text_or_testdata_path, analyzer_name)`` -> sorted list of (code, origin)."""

    def run(source: str, analyzer: str | None = None, **options):
        if "\n" in source:
            path = tmp_path / "input.yaml"
            path.write_text(textwrap.dedent(source))
            paths = [str(path)]
        else:
            paths = [str(ANALYZE_DATA / source)]
        return sorted((m.code, m.origin) for m in run_on_files(paths, analyzer, **options))

    return run
