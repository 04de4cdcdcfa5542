"""The mesh configuration analyzers see: Istio's defaults, the cluster's `istio` ConfigMap, or a file.

Offline analysis also gets the objects a default install has that analyzers look for (the ingress
gateway's Service and Pod), as istioctl adds them with ``--use-kube=false``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from meshctl.errors import InputError, NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.files import FileState
from meshctl.kube.state import ClusterState, Resource, SourceInfo
from meshctl.mesh import labels as L

MESH_CONFIGMAP = "istio"
MESH_KEY = "mesh"
NETWORKS_KEY = "meshNetworks"

DEFAULT_MESH_CONFIG: dict[str, Any] = {
    "rootNamespace": L.ISTIO_NAMESPACE,
    "trustDomain": "cluster.local",
    "enableAutoMtls": True,
    "enablePrometheusMerge": True,
    "defaultProviders": {"metrics": ["prometheus"]},
    "extensionProviders": [
        {"name": "prometheus", "prometheus": {}},
        {"name": "stackdriver", "stackdriver": {}},
        {"name": "envoy", "envoyFileAccessLog": {"path": "/dev/stdout"}},
    ],
    "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
}

INGRESS_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
INGRESS_PORTS = [("status-port", 15021), ("http2", 80), ("https", 443)]


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of mappings, ``over`` winning (lists are replaced, as protobuf merge of messages)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse(text: str, where: str) -> dict[str, Any]:
    from meshctl.kube.files import parse_yaml_documents

    docs = [d.data for d in parse_yaml_documents(text, where)]
    if len(docs) > 1 or (docs and not isinstance(docs[0], dict)):
        raise InputError(f"{where}: expected one mapping", hint="a MeshConfig is a single YAML mapping")
    return docs[0] if docs else {}


def read_mesh_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}", hint="check the path") from None
    return _parse(text, path)


def from_cluster(state: ClusterState, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(mesh config, mesh networks) from the cluster's ``istio`` ConfigMap, over Istio's defaults."""
    try:
        cm = state.get(K.CONFIG_MAP, MESH_CONFIGMAP, namespace)
    except NotCapturedError:
        cm = None
    where = f"ConfigMap {namespace}/{MESH_CONFIGMAP}"
    mesh_text = cm.fields.text("data", MESH_KEY) if cm else ""
    networks_text = cm.fields.text("data", NETWORKS_KEY) if cm else ""
    mesh = merge(DEFAULT_MESH_CONFIG, _parse(mesh_text, f"{where} key {MESH_KEY}"))
    networks = _parse(networks_text, f"{where} key {NETWORKS_KEY}")
    return mesh, networks


def default_objects(namespace: str = L.ISTIO_NAMESPACE) -> FileState:
    """The default install's ingress gateway (Service and Pod), for offline analysis."""
    ports = [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in INGRESS_PORTS]
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "istio-ingressgateway", "namespace": namespace, "labels": dict(INGRESS_LABELS)},
        "spec": {"type": "LoadBalancer", "selector": dict(INGRESS_LABELS), "ports": ports},
    }
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "istio-ingressgateway", "namespace": namespace, "labels": dict(INGRESS_LABELS)},
        "spec": {"containers": [{"name": "istio-proxy", "image": "proxyv2",
                                 "ports": [{"containerPort": p, "name": n} for n, p in INGRESS_PORTS]}]},
    }
    state = FileState(SourceInfo("files", "defaults", "defaults"))
    for obj in (service, pod):
        kind = K.SERVICE if obj["kind"] == "Service" else K.POD
        state.objects.add(Resource(obj, kind))
    return state
