"""Helpers for analyzer tests: run analyzers over YAML and compare (code, origin) pairs.

Sources that cannot provide some kinds (``WithoutKinds``, ``analyze_without``), several clusters
(``load_cluster``, ``run_two_clusters``, the demo snapshot's ``run_on_demo``) and the YAML of objects
several families need (``namespace``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from meshctl.analysis.meshconfig import from_cluster
from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.errors import NotCapturedError
from meshctl.kube.files import load_files
from meshctl.kube.kinds import Kind
from meshctl.kube.snapshot import load_snapshot
from tests.conftest import DEMO

ANALYZE_DATA = Path(__file__).resolve().parents[2] / "testdata" / "analyze"


def codes(messages) -> list[tuple[str, str]]:
    """Messages as sorted (code, origin) pairs, what most analyzer tests compare."""
    return sorted((m.code, m.origin) for m in messages)


def cluster_codes(messages) -> list[tuple[str, str, str]]:
    """Messages as sorted (cluster, code, origin), for runs over several clusters."""
    return sorted((m.cluster, m.code, m.origin) for m in messages)


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
        return codes(run_on_files(paths, analyzer, **options))

    return run


# -- sources that cannot provide some kinds --------------------------------------------------------


class WithoutKinds:
    """A state that cannot provide some kinds (a cluster without their CRDs, a partial snapshot): listing
    or getting one raises NotCapturedError, as a snapshot that did not capture it does."""

    def __init__(self, state, missing_kinds: Iterable[Kind]) -> None:
        self.state, self.info = state, state.info
        self.missing = {k.resource for k in missing_kinds}

    def serves(self, kind: Kind) -> bool:
        return kind.resource not in self.missing and self.state.serves(kind)

    def list(self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        if kind.resource in self.missing:
            raise NotCapturedError(kind.qualified_kind, "test source")
        return self.state.list(kind, namespace, labels=labels)

    def get(self, kind: Kind, name: str, namespace: str | None = None):
        if kind.resource in self.missing:
            raise NotCapturedError(kind.qualified_kind, "test source")
        return self.state.get(kind, name, namespace)


def analyze_without(tmp_path, text: str, analyzer: str, missing_kinds: Iterable[Kind],
                    **options) -> list[tuple[str, str]]:
    """Run one analyzer over YAML whose source cannot provide ``missing_kinds``: sorted (code, origin)."""
    path = tmp_path / "partial.yaml"
    path.write_text(textwrap.dedent(text))
    state = WithoutKinds(load_files([str(path)]), missing_kinds)
    return codes(run_analysis([state], select_analyzers([analyzer]), **options).messages)


# -- several clusters --------------------------------------------------------------------------------


def load_cluster(tmp_path, name: str, text: str):
    """The state of cluster ``name``, read from YAML text."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return load_files([str(path)], cluster=name)


def run_two_clusters(tmp_path, first: str, second: str, analyzer: str, *,
                     names: tuple[str, str] = ("cluster1", "cluster2"), **options):
    """Run one analyzer over two clusters, each read from YAML text; returns the messages."""
    states = [load_cluster(tmp_path, name, text) for name, text in zip(names, (first, second))]
    return run_analysis(states, select_analyzers([analyzer]), **options).messages


def run_on_demo(analyzers: list[str]):
    """Messages of the named analyzers (or families) over both clusters of the demo snapshot, each
    cluster with the mesh config it holds, as ``meshctl analyze`` reads them."""
    states = load_snapshot(str(DEMO)).clusters
    return run_analysis(states, select_analyzers(analyzers),
                        mesh_configs=[from_cluster(s, "istio-system") for s in states]).messages


# -- YAML of objects several families need -----------------------------------------------------------


def namespace(name, labels=None):
    return f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {labels or {}}}}
"""
