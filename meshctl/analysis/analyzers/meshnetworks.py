"""meshnetworks.MeshNetworksAnalyzer: MeshNetworks endpoints must name a service registry istiod knows."""

from __future__ import annotations

import json
from typing import Any

from meshctl.analysis.common import is_istiod, template_env
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L

# Registries every istiod has, whatever the clusters are called.
BUILTIN_REGISTRIES = frozenset({"Mock", "Kubernetes", "External"})
# MeshNetworks is not a Kubernetes object; messages name it as istioctl does.
MESH_NETWORKS = Kind("", "v1alpha1", "MeshNetworks", "meshnetworks", known=False)
MESH_NETWORKS_NAME = "meshnetworks"


def remote_registries(ctx: Context) -> set[str]:
    """Clusters istiod reads through remote secrets (each data key of such a Secret is a cluster ID)."""
    names = set()
    for secret in ctx.resources(K.SECRET):
        if secret.labels.get(L.MULTICLUSTER_SECRET) == "true":
            names.update(str(k) for k in (secret.raw.get("data") or {}))
    return names


def local_cluster_ids(ctx: Context) -> set[str]:
    """The analysed cluster's own registry name: istiod's CLUSTER_ID, or the injector's clusterName.

    Istio's analyzer does not count it, so a MeshNetworks naming its own cluster (the documented set-up
    for multi-network meshes) would be reported there; meshctl knows better.
    """
    ids = {ctx.cluster} if ctx.cluster else set()
    for deployment in ctx.in_namespace(K.DEPLOYMENT, ctx.istio_namespace):
        if is_istiod(deployment):
            ids.update(template_env(deployment, L.ISTIOD_CLUSTER_ID_ENV))
    for cm in ctx.in_namespace(K.CONFIG_MAP, ctx.istio_namespace):
        if cm.name.startswith("istio-sidecar-injector"):
            try:
                values = json.loads((cm.raw.get("data") or {}).get("values") or "{}")
            except (TypeError, ValueError):
                continue
            name = ((values.get("global") or {}).get("multiCluster") or {}).get("clusterName")
            if name:
                ids.add(str(name))
    return ids


def registry_references(mesh_networks: dict[str, Any]) -> list[tuple[str, str]]:
    """(network, registry) for every ``fromRegistry`` endpoint, in order."""
    refs = []
    networks = mesh_networks.get("networks") or {}
    for network, spec in networks.items() if isinstance(networks, dict) else ():
        for endpoint in (spec or {}).get("endpoints") or []:
            if isinstance(endpoint, dict) and endpoint.get("fromRegistry"):
                refs.append((str(network), str(endpoint["fromRegistry"])))
    return refs


@analyzer
class MeshNetworksAnalyzer(Analyzer):
    name = "meshnetworks.MeshNetworksAnalyzer"
    description = "Checks that MeshNetworks endpoints name known service registries (clusters)"
    inputs = (K.SECRET,)
    codes = ("IST0126",)

    def analyze(self, ctx: Context) -> None:
        refs = registry_references(ctx.mesh_networks or {})
        if not refs or not ctx.has(K.SECRET):
            return  # without the remote secrets any cluster name could be right
        known = BUILTIN_REGISTRIES | remote_registries(ctx) | local_cluster_ids(ctx)
        origin = Resource({"metadata": {"name": MESH_NETWORKS_NAME, "namespace": ctx.istio_namespace}}, MESH_NETWORKS)
        for network, registry in refs:
            if registry not in known:
                ctx.report("IST0126", origin, registry, network, field_path=f"networks.{network}.endpoints")
