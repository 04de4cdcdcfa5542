"""Scenarios for `meshctl inference`: the healthy set in testdata/inference/, broken one way at a time."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
import yaml

from meshctl.errors import NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.state import IndexedObjects, Resource, SourceInfo
from tests.conftest import TESTDATA

INFERENCE_DATA = TESTDATA / "inference"
HEALTHY = INFERENCE_DATA / "healthy.yaml"
MODEL_SERVER = INFERENCE_DATA / "model-server.yaml"


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def find(docs: list[dict], kind: str, name: str) -> dict:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def without(docs: list[dict], kind: str, name: str) -> list[dict]:
    return [d for d in docs if not (d["kind"] == kind and d["metadata"]["name"] == name)]


class MemoryState:
    """A running cluster's objects held in memory: unlike manifests, missing pods, endpoints or status
    mean none (as from a snapshot or the API server). ``missing`` kinds are not served."""

    def __init__(self, docs: Iterable[dict], missing: Iterable[K.Kind] = ()) -> None:
        self.info = SourceInfo("snapshot", "memory", "memory")
        self.objects = IndexedObjects(Resource(copy.deepcopy(d), K.REGISTRY.for_object(d["apiVersion"], d["kind"]))
                                      for d in docs)
        self.missing = set(missing)

    def serves(self, kind: K.Kind) -> bool:
        return kind not in self.missing

    def list(self, kind: K.Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        if kind in self.missing:
            raise NotCapturedError(kind.qualified_kind, "memory")
        return self.objects.select(kind, namespace, labels)

    def get(self, kind: K.Kind, name: str, namespace: str | None = None):
        return None if kind in self.missing else self.objects.find(kind, name, namespace)


def crd(kind: K.Kind) -> dict:
    """A minimal CRD serving ``kind`` (every version it may be read at; the first stored)."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": kind.resource},
            "spec": {"group": kind.group, "scope": "Namespaced" if kind.namespaced else "Cluster",
                     "names": {"kind": kind.kind, "plural": kind.plural, "singular": kind.kind.lower(),
                               "listKind": kind.kind + "List"},
                     "versions": [{"name": v, "served": True, "storage": i == 0,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}
                                  for i, v in enumerate(kind.all_versions)]}}


# What the inference scenarios need a cluster to serve.
CRD_KINDS = (K.GATEWAY_CLASS, K.GATEWAY, K.HTTP_ROUTE, K.REFERENCE_GRANT, K.DESTINATION_RULE, K.INFERENCE_POOL)


@pytest.fixture
def healthy() -> list[dict]:
    return load_docs(HEALTHY)
