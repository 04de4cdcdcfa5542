"""Helpers several analyzer families share.

Tolerant readers for fields of user objects, label selectors, which namespaces and workloads are in
the mesh, Istio's host matching and ``exportTo`` scopes, and the indexes (Service and ServiceEntry
hosts, pods of every namespace) that analyzers build once per run. Nothing here reports a message;
a helper only one family needs stays in that family's module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshctl.analysis.framework import Context, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L
from meshctl.mesh.hosts import fqdn

EXPORT_ALL = "*"
EXPORT_LOCAL = "."
EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"
# Label on the pods (and Services) istiod deploys for a Gateway API Gateway, naming that Gateway.
K8S_GATEWAY_NAME_LABEL = L.GATEWAY_NAME
ISTIO_PROXY = "istio-proxy"  # the sidecar (or gateway) proxy container
ISTIO_WEBHOOK_SUFFIX = "istio.io"  # every webhook Istio installs is named <something>.istio.io
# Namespaces istioctl never reads from a cluster (Istio's injection "ignored namespaces").
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})


# -- tolerant readers (bad input must not crash an analyzer) ---------------------------------------


def mapping(value: Any) -> dict:
    """A field that should be a mapping, or {} (so that bad input cannot crash an analyzer)."""
    return value if isinstance(value, dict) else {}


def string_list(value: Any) -> list[str]:
    """The strings of a field that should be a list of strings ([] if it is not a list)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def string_map(value: Any) -> dict[str, str]:
    """A label map as strings (YAML may hand ``version: 1`` over as an int); null values are dropped."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def dicts(value: Any) -> list[dict]:
    """The mappings of a field that should be a list of objects ([] if it is not a list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def full_name(resource: Resource) -> str:
    """``namespace/name``, or the bare name of a cluster-scoped object."""
    return f"{resource.namespace}/{resource.name}" if resource.namespace else resource.name


# -- label selectors ---------------------------------------------------------------------------------


def selector_text(selector: Mapping[str, str]) -> str:
    """A selector as Kubernetes prints one: ``k=v`` pairs sorted by key."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def selectors_compatible(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether one set of labels could satisfy both selectors (no key wanted with two values)."""
    return all(b.get(k, v) == v for k, v in a.items())


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels and matchExpressions): absent selects
    everything; an invalid one selects nothing."""
    if selector is None:
        return True
    if not isinstance(selector, Mapping):
        return False
    for key, value in mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    expressions = selector.get("matchExpressions")
    for requirement in expressions if isinstance(expressions, list) else []:
        if not _requirement_matches(mapping(requirement), labels):
            return False
    return True


def _requirement_matches(requirement: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = requirement.get("key")
    operator = requirement.get("operator")
    values = [str(v) for v in requirement.get("values") or [] if isinstance(v, (str, int, float))] \
        if isinstance(requirement.get("values"), list) else []
    if not isinstance(key, str):
        return False
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # unknown operator: the API server would reject the selector


def has_target_refs(policy: Resource) -> bool:
    """Whether a policy is attached with ``targetRef(s)`` (to a Gateway or Service), not by selector."""
    return bool(policy.spec.get("targetRef") or policy.spec.get("targetRefs"))


# -- namespaces and workloads ------------------------------------------------------------------------


def is_system_namespace(namespace: str) -> bool:
    """Kubernetes' own namespaces, which Istio neither injects nor analyzes."""
    return namespace in SYSTEM_NAMESPACES


def is_istio_control_plane(resource: Resource) -> bool:
    """Istio's test for its own control plane objects: an ``istio`` label, or ``release: istio``."""
    return "istio" in resource.labels or resource.labels.get("release") == "istio"


def is_istiod(deployment: Resource) -> bool:
    """An istiod Deployment (of any revision)."""
    return deployment.labels.get("app") == L.ISTIOD_APP


def template_env(workload: Resource, name: str) -> list[str]:
    """Values of environment variable ``name`` in the containers of a workload's pod template, in order
    (unset and empty values left out)."""
    values = []
    for container in workload.fields.iter_parts("spec", "template", "spec", "containers"):
        for env in container.iter_parts("env"):
            if env.text("name") == name and env.scalar("value"):
                values.append(env.scalar("value"))
    return values


def has_ambient_label(namespace: Resource | None) -> bool:
    """Whether a namespace is labelled ``istio.io/dataplane-mode=ambient`` (other labels may still
    take precedence; see the callers)."""
    return namespace is not None and namespace.labels.get(L.DATAPLANE_MODE) == L.DATAPLANE_MODE_AMBIENT


def pod_in_ambient(pod: Resource) -> bool:
    """istio-cni marks the pods it captured for ztunnel."""
    return pod.annotations.get(L.REDIRECTION) == L.REDIRECTION_ENABLED


def has_istio_proxy(containers: Iterable[Mapping]) -> bool:
    return any((c or {}).get("name") == ISTIO_PROXY and (c or {}).get("image") for c in containers)


def sidecar_injected(labels: Mapping, annotations: Mapping, containers: Iterable[Mapping],
                     namespace: Resource | None) -> bool:
    """Istio's reading of "this workload runs a sidecar": the proxy container is there, or the pod's
    inject label, inject annotation, or its namespace's injection label says so."""
    if has_istio_proxy(containers):
        return True
    for source in (labels, annotations):
        if L.SIDECAR_INJECT in source:
            return source[L.SIDECAR_INJECT] == "true"
    if namespace is None:
        return False
    ns_labels = namespace.labels
    if L.INJECTION in ns_labels:
        return ns_labels[L.INJECTION] == "enabled"
    # A revision label turns on injection too (Istio's analyzers miss it), unless the namespace is
    # ambient, where the label only picks the control plane revision.
    return bool(ns_labels.get(L.REV)) and not has_ambient_label(namespace)


def pod_in_mesh(pod: Resource, ctx: Context) -> bool:
    """Whether a pod is in the mesh: captured by ztunnel (ambient), or running (or due) a sidecar."""
    if pod_in_ambient(pod):
        return True
    containers = list(pod.spec.get("containers") or []) + list(pod.spec.get("initContainers") or [])
    return sidecar_injected(pod.labels, pod.annotations, containers, ctx.get(K.NAMESPACE, "", pod.namespace))


def webhook_entries(config: Resource) -> list[dict[str, Any]]:
    """The webhooks of a Mutating- or ValidatingWebhookConfiguration (entries that are not objects left out)."""
    return [w for w in config.fields.sequence("webhooks") if isinstance(w, dict)]


# -- hosts and exportTo ------------------------------------------------------------------------------


def host_matches(a: str, b: str) -> bool:
    """Whether two hosts overlap: equal, or one wildcard (``*.example.com``, ``*``) covers the other."""
    a_wild, b_wild = a.startswith("*"), b.startswith("*")
    if a_wild and b_wild:
        return a[1:].endswith(b[1:]) or b[1:].endswith(a[1:])
    if a_wild:
        return b.endswith(a[1:])
    if b_wild:
        return a.endswith(b[1:])
    return a == b


def wildcard_suffixes(host: str) -> Iterator[str]:
    """Suffixes a wildcard would have to end with to cover ``host``: ``a.b.c`` -> ``.b.c``, ``.c``, ``""``."""
    bare = host[1:] if host.startswith("*") else host
    for i, ch in enumerate(bare):
        if ch == ".":
            yield bare[i:]
    yield ""


class WildcardIndex:
    """Items filed under wildcard hosts, found again by the hosts they cover (no scan of all wildcards)."""

    def __init__(self) -> None:
        self._by_suffix: dict[str, list[Any]] = defaultdict(list)

    def add(self, wildcard_host: str, item: Any) -> None:
        self._by_suffix[wildcard_host[1:]].append(item)

    def covering(self, host: str) -> list[Any]:
        found: list[Any] = []
        for suffix in wildcard_suffixes(host):
            found += self._by_suffix.get(suffix, [])
        return found


def export_scopes(export_to: Any, namespace: str) -> set[str]:
    """Namespaces a VirtualService or ServiceEntry is visible in (``{"*"}`` for all)."""
    entries = string_list(export_to)
    if not entries or EXPORT_ALL in entries:
        return {EXPORT_ALL}
    return {namespace if e == EXPORT_LOCAL else e for e in entries}


def service_export_scopes(service: Resource) -> set[str]:
    """A Service's visibility, from its ``networking.istio.io/exportTo`` annotation."""
    value = service.annotations.get(EXPORT_TO_ANNOTATION) or ""
    return export_scopes([v.strip() for v in value.split(",") if v.strip()], service.namespace)


# -- indexes built once per analyzer run -------------------------------------------------------------


@dataclass(frozen=True)
class RegistryEntry:
    """A Service or ServiceEntry as a destination: the object and its port numbers."""

    resource: Resource
    ports: tuple[int, ...]


def _port_numbers(ports: Any, key: str) -> tuple[int, ...]:
    return tuple(p[key] for p in dicts(ports) if isinstance(p.get(key), int))


class ServiceRegistry:
    """Service and ServiceEntry hosts by (visibility scope, FQDN), looked up as Istio's analyzers do.

    ``complete`` is False when the source could not say which Services or ServiceEntries exist; a
    host missing from an incomplete registry is not evidence of anything.
    """

    def __init__(self, ctx: Context) -> None:
        self.domain = ctx.domain
        self.complete = ctx.has(K.SERVICE) and ctx.has(K.SERVICE_ENTRY)
        self._exact: dict[tuple[str, str], RegistryEntry] = {}
        self._wildcards = WildcardIndex()  # items: (scope, entry)
        self._fqdns: set[str] = set()
        for se in ctx.resources(K.SERVICE_ENTRY):
            entry = RegistryEntry(se, _port_numbers(se.spec.get("ports"), "number"))
            for scope in export_scopes(se.spec.get("exportTo"), se.namespace):
                for host in string_list(se.spec.get("hosts")):
                    self._add(scope, fqdn(host, se.namespace, self.domain), entry)
        # Services come second: a Service wins over a ServiceEntry for the same host, as in Istio.
        for svc in ctx.resources(K.SERVICE):
            entry = RegistryEntry(svc, _port_numbers(svc.spec.get("ports"), "port"))
            for scope in service_export_scopes(svc):
                self._add(scope, f"{svc.name}.{svc.namespace}.svc.{self.domain}", entry)

    def _add(self, scope: str, host: str, entry: RegistryEntry) -> None:
        self._exact[(scope, host)] = entry
        self._fqdns.add(host)
        if host.startswith("*"):
            self._wildcards.add(host, (scope, entry))

    def lookup(self, namespace: str, export_to: Any, host: str) -> RegistryEntry | None:
        """The Service or ServiceEntry a host names, seen from ``namespace`` by an object with ``export_to``."""
        full = fqdn(host, namespace, self.domain)
        found = self._exact.get((EXPORT_ALL, full))
        if found:
            return found
        scopes = string_list(export_to) or [namespace]
        for scope in scopes:
            found = self._exact.get((namespace if scope == EXPORT_LOCAL else scope, full))
            if found:
                return found
        for scope, entry in self._wildcards.covering(host):
            if scope in (EXPORT_ALL, namespace):
                return entry
        return None

    def any_host_matches(self, wildcard_host: str) -> bool:
        """Whether a wildcard host (``*.local``) covers some known host (a scan: use for wildcards only)."""
        return any(host_matches(wildcard_host, h) for h in self._fqdns)


class PodIndex:
    """Pods of every namespace by label, for selectors not bound to one namespace (gateway selectors)."""

    def __init__(self, ctx: Context) -> None:
        self.known = ctx.has(K.POD)
        self.pods = ctx.resources(K.POD)
        self._by_label: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for pod in self.pods:
            for item in pod.labels.items():
                self._by_label[item].append(pod)
        self._memo: dict[tuple, list[Resource]] = {}

    def select(self, selector: Mapping[str, str]) -> list[Resource]:
        """Pods whose labels contain ``selector`` (every pod for an empty selector, as in Kubernetes)."""
        if not selector:
            return self.pods
        key = tuple(sorted(selector.items()))
        if key not in self._memo:
            candidates = min((self._by_label.get(item, []) for item in key), key=len)
            self._memo[key] = [p for p in candidates if selector_matches(selector, p.labels)]
        return self._memo[key]


# Workload kinds whose pod templates stand in for pods in offline analysis of files.
TEMPLATE_KINDS = (K.DEPLOYMENT, K.STATEFUL_SET, K.DAEMON_SET, K.REPLICA_SET)


class TemplateIndex:
    """Pod template labels of a cluster's workloads, by (namespace, label), for offline analysis.

    Manifests rarely include Pods; their Deployments say which labels the pods will carry.
    """

    def __init__(self, ctx: Context) -> None:
        self._by_label: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
        for kind in TEMPLATE_KINDS:
            for workload in ctx.resources(kind):
                labels = string_map(mapping(mapping(workload.spec.get("template")).get("metadata")).get("labels"))
                for key, value in labels.items():
                    self._by_label[(workload.namespace, key, value)].append(labels)

        self.namespaces = {ns for ns, _, _ in self._by_label}

    def any_match(self, namespace: str, selector: Mapping[str, str]) -> bool:
        """Whether some workload in ``namespace`` will run pods with all of ``selector``'s labels."""
        if not selector:
            return namespace in self.namespaces
        candidates = min((self._by_label.get((namespace, k, v), []) for k, v in selector.items()), key=len)
        return any(selector_matches(selector, labels) for labels in candidates)


def workload_templates(ctx: Context) -> TemplateIndex:
    """The context's TemplateIndex, built once per run."""
    return ctx._index("workload-templates", lambda: TemplateIndex(ctx))


def offline_workload_matches(ctx: Context, namespace: str, selector: Mapping[str, str]) -> bool:
    """For files (no live pods): whether a workload's pod template matches, so that a selector over
    Deployments that will run is not reported as matching nothing."""
    return not ctx.live and workload_templates(ctx).any_match(namespace, selector)
