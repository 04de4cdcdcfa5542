"""services.MultiClusterServiceAnalyzer: a Service the mesh merges across clusters must agree on its shape.

Istio merges Services with the same namespace and name from every cluster (namespace sameness), so their
ports and types must match. In ambient multicluster only *global* Services are merged: those labelled
``istio.io/global=true`` or selected by a GLOBAL ``serviceScopeConfigs`` entry of the mesh config; the others
stay local to their cluster and may differ freely. A Service in a namespace that is not ambient-enrolled
is merged as in sidecar mode.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from meshctl.analysis.common import has_ambient_label, is_system_namespace, label_selector_matches
from meshctl.analysis.framework import Context, MultiClusterAnalyzer, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L

GLOBAL_SCOPE = "GLOBAL"


def is_global(service: Resource, ns: Resource | None, mesh_config: dict[str, Any]) -> bool:
    if service.labels.get(L.GLOBAL_SERVICE) == "true":
        return True
    ns_labels = ns.labels if ns is not None else {}
    for scope in mesh_config.get("serviceScopeConfigs") or []:
        if not isinstance(scope, dict) or scope.get("scope") != GLOBAL_SCOPE:
            continue
        if label_selector_matches(scope.get("namespaceSelector"), ns_labels) and \
                label_selector_matches(scope.get("servicesSelector"), service.labels):
            return True
    return False


def merged_across_clusters(service: Resource, ctx: Context) -> bool:
    ns = ctx.get(K.NAMESPACE, "", service.namespace)
    return not has_ambient_label(ns) or is_global(service, ns, ctx.mesh_config)


def port_shape(port: dict[str, Any]) -> tuple:
    """What a port means to the mesh, with Kubernetes' defaults filled in (nodePort is per cluster)."""
    number = port.get("port")
    target = port.get("targetPort")
    return (
        str(port.get("name") or ""),
        str(number),
        str(target if target not in (None, "") else number),
        str(port.get("protocol") or "TCP"),
        str(port.get("appProtocol") or ""),
    )


def ports_of(service: Resource) -> list[tuple]:
    return sorted(port_shape(p) for p in service.spec.get("ports") or [] if isinstance(p, dict))


def is_headless(service: Resource) -> bool:
    return service.spec.get("clusterIP") == "None"


def service_type(service: Resource) -> str:
    return service.spec.get("type") or "ClusterIP"


def inconsistencies(copies: list[tuple[Context, Resource]]) -> tuple[list[str], list[str]]:
    """(clusters involved, reasons), comparing every copy with the first as Istio does."""
    first_ctx, first = copies[0]
    clusters: set[str] = set()
    reasons: set[str] = set()
    if len({is_headless(s) for _, s in copies}) > 1:
        clusters.update(c.cluster for c, _ in copies)
        reasons.add("headless in some clusters, with a cluster IP in others")
    for ctx, service in copies[1:]:
        if service_type(service) != service_type(first):
            clusters.add(ctx.cluster)
            reasons.add("service types differ")
        if ports_of(service) != ports_of(first):
            clusters.add(ctx.cluster)
            reasons.add("service ports differ")
    if clusters:
        clusters.add(first_ctx.cluster)
    return sorted(clusters), sorted(reasons)


@analyzer
class MultiClusterServiceAnalyzer(MultiClusterAnalyzer):
    name = "services.MultiClusterServiceAnalyzer"
    description = "Checks that Services merged across clusters have the same ports and type everywhere"
    inputs = (K.SERVICE, K.NAMESPACE)
    codes = ("IST0170",)

    def analyze_clusters(self, contexts: list[Context]) -> None:
        copies: dict[tuple[str, str], list[tuple[Context, Resource]]] = defaultdict(list)
        for ctx in contexts:
            for service in ctx.resources(K.SERVICE):
                if is_system_namespace(service.namespace) or not merged_across_clusters(service, ctx):
                    continue
                copies[(service.namespace, service.name)].append((ctx, service))
        for (namespace, name), found in sorted(copies.items()):
            if len(found) < 2:
                continue
            clusters, reasons = inconsistencies(found)
            if clusters:
                ctx, service = found[0]
                ctx.report("IST0170", service, name, namespace, ", ".join(clusters), "; ".join(reasons))
