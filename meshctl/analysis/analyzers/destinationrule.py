"""destinationrule.*: checks on DestinationRules: server certificate verification, hosts and subsets."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from meshctl.analysis.common import (
    RegistryEntry,
    ServiceRegistry,
    TemplateIndex,
    dicts,
    full_name,
    mapping,
    selector_text,
    selectors_compatible,
    string_map,
    workload_templates,
)
from meshctl.analysis.framework import Analyzer, Context, MultiClusterAnalyzer, analyzer, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

VERIFYING_MODES = ("SIMPLE", "MUTUAL")  # TLS modes where the client should verify the server
# Labels istiod adds to every endpoint from its node, which subsets may select on.
TOPOLOGY_REGION = "topology.kubernetes.io/region"
TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
TOPOLOGY_SUBZONE = "topology.istio.io/subzone"
HOSTNAME = "kubernetes.io/hostname"
NODE_LABELS = (TOPOLOGY_REGION, TOPOLOGY_ZONE, TOPOLOGY_SUBZONE)


def _unverified(tls: dict, has_workload_selector: bool) -> str:
    """The TLS mode if it leaves the server certificate unverified, else "".

    A credentialName on a DestinationRule with a workloadSelector brings its own CA, so Istio does
    not warn there; ``insecureSkipVerify: true`` is a stated choice, so meshctl does not warn either.
    """
    mode = tls.get("mode")
    if mode not in VERIFYING_MODES or tls.get("caCertificates"):
        return ""
    if tls.get("credentialName") and has_workload_selector:
        return ""
    if tls.get("insecureSkipVerify") is True:
        return ""
    return mode


@analyzer
class CaCertificateAnalyzer(Analyzer):
    name = "destinationrule.CaCertificateAnalyzer"
    description = "Checks that DestinationRules with TLS mode SIMPLE or MUTUAL set caCertificates"
    inputs = (K.DESTINATION_RULE,)
    codes = ("IST0128", "IST0129")

    def analyze(self, ctx: Context) -> None:
        for dr in ctx.resources(K.DESTINATION_RULE):
            policy = mapping(dr.spec.get("trafficPolicy"))
            host = dr.spec.get("host") if isinstance(dr.spec.get("host"), str) else ""
            scoped = bool(dr.spec.get("workloadSelector"))
            tls = mapping(policy.get("tls"))
            mode = _unverified(tls, scoped)
            if mode:
                ctx.report("IST0128", dr, full_name(dr), dr.namespace, mode, host,
                           field_path="spec.trafficPolicy.tls")
            for i, port_policy in enumerate(dicts(policy.get("portLevelSettings"))):
                tls = mapping(port_policy.get("tls"))
                mode = _unverified(tls, scoped)
                if mode:
                    port = mapping(port_policy.get("port")).get("number", "")
                    ctx.report("IST0129", dr, full_name(dr), dr.namespace, mode, host, port,
                               field_path=f"spec.trafficPolicy.portLevelSettings[{i}].tls")


# -- SubsetSelectPodAnalyzer --------------------------------------------------------------------




@dataclass
class Backing:
    """The workloads behind a host in one cluster, as far as the source tells.

    ``selector`` picks pods and WorkloadEntries of ``namespace`` (a Service selector or a ServiceEntry
    workloadSelector); ``endpoints`` are the labels of a ServiceEntry's static endpoints.
    """

    ctx: Context
    namespace: str
    selector: dict[str, str] | None = None
    endpoints: list[dict[str, str]] = field(default_factory=list)

    def selects(self, subset: dict[str, str], view: "ClusterView") -> bool:
        if self.selector is None:
            return any(selector_matches(subset, labels) for labels in self.endpoints)
        if not selectors_compatible(subset, self.selector):
            return False  # the subset contradicts the selector: no workload can carry both
        wanted = {**self.selector, **subset}
        # The pod's own labels go through the label index; node-derived labels are checked after.
        on_pod = {k: v for k, v in wanted.items() if k not in NODE_LABELS and k != HOSTNAME}
        for pod in self.ctx.select(K.POD, self.namespace, on_pod):
            if selector_matches(wanted, with_node_labels(pod, view.nodes)):
                return True
        if self.ctx.has(K.WORKLOAD_ENTRY):
            for we in self.ctx.in_namespace(K.WORKLOAD_ENTRY, self.namespace):
                if selector_matches(wanted, string_map(we.spec.get("labels"))):
                    return True
        return not self.ctx.live and view.templates.any_match(self.namespace, wanted)


def with_node_labels(pod: Resource, nodes: dict[str, dict[str, str]]) -> dict[str, str]:
    """A pod's labels plus the topology labels istiod copies onto its endpoints from the node."""
    node_name = pod.spec.get("nodeName")
    if not isinstance(node_name, str) or not node_name:
        return pod.labels
    labels = dict(pod.labels)
    node = nodes.get(node_name, {})
    labels.update({k: node[k] for k in NODE_LABELS if k in node})
    labels[HOSTNAME] = node_name
    return labels


def backing_for(ctx: Context, entry: RegistryEntry) -> Backing | None:
    """What is behind a registry entry; None when the source cannot say which workloads back it."""
    obj = entry.resource
    if obj.kind == K.SERVICE:
        selector = string_map(obj.spec.get("selector"))
        if not selector or obj.spec.get("type") == "ExternalName" or not ctx.has(K.POD):
            return None  # endpoints managed by hand, not a workload at all, or pods unknown
        return Backing(ctx, obj.namespace, selector=selector)
    workload_selector = string_map(mapping(obj.spec.get("workloadSelector")).get("labels"))
    if workload_selector:
        return Backing(ctx, obj.namespace, selector=workload_selector) if ctx.has(K.POD) else None
    endpoints = dicts(obj.spec.get("endpoints"))
    if endpoints:
        return Backing(ctx, obj.namespace, endpoints=[string_map(e.get("labels")) for e in endpoints])
    return None  # an external host: its endpoints are not workloads


@dataclass
class ClusterView:
    """One cluster's context with the indexes the subset check needs, built once."""

    ctx: Context
    registry: ServiceRegistry
    nodes: dict[str, dict[str, str]]

    @classmethod
    def of(cls, ctx: Context) -> "ClusterView":
        nodes = {n.name: n.labels for n in ctx.resources(K.NODE)}
        return cls(ctx, ServiceRegistry(ctx), nodes)

    @cached_property
    def templates(self) -> TemplateIndex:
        return workload_templates(self.ctx)

    def entry(self, dr: Resource) -> RegistryEntry | None:
        host = dr.spec.get("host")
        if not isinstance(host, str):
            return None
        return self.registry.lookup(dr.namespace, dr.spec.get("exportTo"), host)

    def host_known(self, dr: Resource) -> bool:
        host = dr.spec.get("host")
        if not isinstance(host, str):
            return True  # schema validation reports a missing host
        if self.entry(dr) is not None:
            return True
        # A wildcard DestinationRule host (e.g. "*.local") is known when it covers some host.
        return host.startswith("*") and self.registry.any_host_matches(host)


@analyzer
class SubsetSelectPodAnalyzer(MultiClusterAnalyzer):
    """IST0174 for hosts no Service or ServiceEntry has; IST0173 for subsets no backing workload matches.

    Workloads are those behind the host (the Service's selector or the ServiceEntry's
    workloadSelector or endpoints), with the node topology labels istiod adds to endpoints. With
    several clusters, a host and its workloads count in whichever cluster they are.
    """

    name = "destinationrule.SubsetSelectPodAnalyzer"
    description = "Checks that DestinationRule hosts exist and that each subset selects some workload"
    inputs = (K.DESTINATION_RULE, K.SERVICE, K.SERVICE_ENTRY, K.POD, K.NODE, K.WORKLOAD_ENTRY)
    codes = ("IST0173", "IST0174")

    def analyze(self, ctx: Context) -> None:
        if ctx.multi_cluster:
            return  # several clusters: analyze_clusters looks at them together
        self._check([ClusterView.of(ctx)])

    def analyze_clusters(self, contexts: list[Context]) -> None:
        self._check([ClusterView.of(ctx) for ctx in contexts])

    def _check(self, views: list[ClusterView]) -> None:
        for view in views:
            for dr in view.ctx.resources(K.DESTINATION_RULE):
                self._check_rule(view, dr, views)

    @staticmethod
    def _check_rule(view: ClusterView, dr: Resource, views: list[ClusterView]) -> None:
        ctx = view.ctx
        if not any(v.host_known(dr) for v in views):
            if all(v.registry.complete for v in views):
                ctx.report("IST0174", dr, dr.spec.get("host"))
            return
        subsets = [s for s in dicts(dr.spec.get("subsets")) if isinstance(s.get("name"), str)]
        if not subsets:
            return
        backings: list[tuple[Backing | None, ClusterView]] = []
        for v in views:
            entry = v.entry(dr)
            if entry is not None:
                backings.append((backing_for(v.ctx, entry), v))
        if not backings or any(b is None for b, _ in backings):
            return  # some cluster cannot tell which workloads back the host
        host = dr.spec.get("host")
        for subset in subsets:
            labels = string_map(subset.get("labels"))
            if any(b.selects(labels, v) for b, v in backings):
                continue
            why = f"no workload of {host} has labels {selector_text(labels)}" if labels else f"{host} has no workloads"
            ctx.report("IST0173", dr, subset["name"], why)
