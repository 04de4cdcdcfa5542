"""auth.AuthorizationPoliciesAnalyzer: policies that select nothing and namespaces that do not exist.

IST0127 as Istio: a policy with a selector must match a pod in the mesh (one with a sidecar, or one
ztunnel captures in ambient mode) in its namespace, or anywhere for a policy in the root namespace;
a policy without selector in another namespace needs some pod in the mesh there. A policy attached
with ``targetRef(s)`` (ambient: a waypoint or ingress Gateway, a Service, a ServiceEntry) is not
about pods: meshctl checks instead that each target exists (IST0101).

IST0101 also for ``source.namespaces``/``notNamespaces`` naming no namespace. With several clusters
the namespaces of all of them count (namespace sameness: traffic from a peer's namespace is real).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from meshctl.analysis.common import offline_workload_matches, pod_in_mesh, selector_text, string_map
from meshctl.analysis.framework import Context, MultiClusterAnalyzer, analyzer, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind
from meshctl.kube.state import Resource

# Kinds a policy's targetRefs may name, by (group, kind); "" and "core" both mean the core group.
TARGET_KINDS: dict[tuple[str, str], Kind] = {
    (k.group, k.kind): k for k in (K.GATEWAY, K.GATEWAY_CLASS, K.SERVICE, K.SERVICE_ENTRY, K.HTTP_ROUTE)
}


# -- which pods are in the mesh ------------------------------------------------------------------


class MeshPods:
    """Pods in the mesh, indexed by label so that each selector costs about its matches."""

    def __init__(self, ctx: Context) -> None:
        self.namespaces: set[str] = set()
        self.by_label: dict[tuple[str, str], list[Resource]] = defaultdict(list)  # all namespaces
        self.by_ns_label: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        for pod in ctx.resources(K.POD):
            if pod_in_mesh(pod, ctx):
                self.namespaces.add(pod.namespace)
                for key, value in pod.labels.items():
                    self.by_label[(key, value)].append(pod)
                    self.by_ns_label[(pod.namespace, key, value)].append(pod)

    def any_match(self, selector: Mapping[str, str], namespace: str | None) -> bool:
        """Whether a pod in ``namespace`` (None: any namespace) has all the selector's labels."""
        if not selector:
            return bool(self.namespaces) if namespace is None else namespace in self.namespaces
        key, value = sorted(selector.items())[0]
        if namespace is None:
            candidates = self.by_label.get((key, value), [])
        else:
            candidates = self.by_ns_label.get((namespace, key, value), [])
        return any(selector_matches(selector, pod.labels) for pod in candidates)


def target_refs(policy: Resource) -> list[dict]:
    refs = list(policy.spec.get("targetRefs") or [])
    if policy.spec.get("targetRef"):
        refs.append(policy.spec["targetRef"])
    return [r for r in refs if isinstance(r, dict)]


# -- namespaces ----------------------------------------------------------------------------------


def namespace_matches(namespace: str, pattern: str) -> bool:
    """Istio's namespace patterns: ``*``, ``*suffix``, ``prefix*`` or an exact (case-insensitive) name."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return namespace.endswith(pattern[1:])
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return namespace.lower() == pattern.lower()


class Namespaces:
    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.lower = {n.lower() for n in self.names}
        self._patterns: dict[str, bool] = {}

    def known(self, pattern: str) -> bool:
        if "*" not in pattern:
            return pattern.lower() in self.lower
        if pattern not in self._patterns:  # each distinct pattern scans the names once
            self._patterns[pattern] = any(namespace_matches(n, pattern) for n in self.names)
        return self._patterns[pattern]


def known_namespaces(ctx: Context) -> set[str]:
    names = {ns.name for ns in ctx.resources(K.NAMESPACE)}
    if not ctx.live:  # files rarely hold their Namespaces: the namespaces objects sit in count too
        names |= {r.namespace for kind in (K.AUTHORIZATION_POLICY, K.POD) for r in ctx.resources(kind)}
    return names


def source_namespaces(policy: Resource) -> list[tuple[str, str]]:
    """(field path, namespace pattern) of every from.source namespace the policy names."""
    out = []
    for i, rule in enumerate(policy.fields.sequence("spec", "rules")):
        sources = rule.get("from") if isinstance(rule, dict) and isinstance(rule.get("from"), list) else []
        for j, source in enumerate(sources):
            spec = source.get("source") if isinstance(source, dict) else None
            for field in ("namespaces", "notNamespaces"):
                names = spec.get(field) if isinstance(spec, dict) else None
                for k, ns in enumerate(names if isinstance(names, list) else []):
                    if isinstance(ns, str):
                        out.append((f"spec.rules[{i}].from[{j}].source.{field}[{k}]", ns))
    return out


@analyzer
class AuthorizationPoliciesAnalyzer(MultiClusterAnalyzer):
    name = "auth.AuthorizationPoliciesAnalyzer"
    description = "Checks that authorization policies apply to some workload and name existing namespaces and targets"
    inputs = (K.AUTHORIZATION_POLICY, K.NAMESPACE, K.POD, K.GATEWAY, K.GATEWAY_CLASS, K.SERVICE, K.SERVICE_ENTRY,
              K.HTTP_ROUTE)
    codes = ("IST0101", "IST0127")

    def analyze(self, ctx: Context) -> None:
        policies = ctx.resources(K.AUTHORIZATION_POLICY)
        if not policies:
            return
        root = ctx.mesh_config.get("rootNamespace") or ctx.istio_namespace
        pods = MeshPods(ctx) if ctx.has(K.POD) else None
        for policy in policies:
            if target_refs(policy):
                check_targets(ctx, policy)
            elif pods is not None:
                check_workloads(ctx, policy, pods, root)
        # With several clusters analyze_clusters checks namespaces mesh-wide.
        if not ctx.multi_cluster and ctx.has(K.NAMESPACE):
            check_namespaces(ctx, policies, Namespaces(known_namespaces(ctx)))

    def analyze_clusters(self, contexts: list[Context]) -> None:
        usable = [c for c in contexts if c.has(K.NAMESPACE)]
        if not usable:
            return
        namespaces = Namespaces(n for c in usable for n in known_namespaces(c))
        for ctx in contexts:  # each cluster's own context, so messages carry that cluster's name
            check_namespaces(ctx, ctx.resources(K.AUTHORIZATION_POLICY), namespaces)


def check_workloads(ctx: Context, policy: Resource, pods: MeshPods, root: str) -> None:
    selector = policy.spec.get("selector")
    labels = string_map(selector.get("matchLabels")) if isinstance(selector, dict) else None
    if policy.namespace == root:
        # Mesh-wide: a selector may match pods anywhere; without one it applies to every workload.
        if labels is not None and not pods.any_match(labels, None):
            ctx.report("IST0127", policy, selector_text(labels), field_path="spec.selector")
        return
    if labels is None:
        if policy.namespace not in pods.namespaces and not offline_workload_matches(ctx, policy.namespace, {}):
            ctx.report("IST0127", policy, "")
    elif not pods.any_match(labels, policy.namespace) and not offline_workload_matches(ctx, policy.namespace, labels):
        ctx.report("IST0127", policy, selector_text(labels), field_path="spec.selector")


def check_targets(ctx: Context, policy: Resource) -> None:
    for ref in target_refs(policy):
        group = ref.get("group") or ""
        kind = TARGET_KINDS.get(("" if group == "core" else group, ref.get("kind") or ""))
        name = ref.get("name") or ""
        if kind is None or not name or not ctx.has(kind):
            continue  # a kind meshctl does not track, or one the source could not provide
        namespace = (ref.get("namespace") or policy.namespace) if kind.namespaced else ""
        if ctx.get(kind, namespace, name) is None:
            shown = f"{namespace}/{name}" if namespace else name
            ctx.report("IST0101", policy, kind.kind, shown, field_path="spec.targetRefs")


def check_namespaces(ctx: Context, policies: list[Resource], namespaces: Namespaces) -> None:
    for policy in policies:
        for field, pattern in source_namespaces(policy):
            if not namespaces.known(pattern):
                ctx.report("IST0101", policy, "namespace", pattern, field_path=field)
