"""``meshctl precheck``: is this cluster ready for an ambient install of a given Istio version?

Also the version facts ``meshctl check`` needs (``version_facts``): they are install facts, and the
check model in ``meshctl.mesh.health`` takes them as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from meshctl.errors import UsageError
from meshctl.install import versions
from meshctl.install.permissions import Permission, install_permissions, rbac_permissions
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import ISTIOD, ComponentInfo, find_control_plane
from meshctl.mesh.enrollment import CONFLICT, SIDECAR, describe_namespaces, injection_labels
from meshctl.mesh.health import (FAILURE, OK, SKIPPED, WARNING, Category, Check, CheckResult, VersionFacts,
                                 check_gateway_api_present, check_gateway_api_version, find_gateway_api_crds,
                                 gateway_api_install_hint,
                                 listed, parse_version, run_checks, schedulable_linux)
from meshctl.mesh.status import is_linux

# Istio's CRDs (the base chart's crd-all.gen.yaml): 14 up to 1.29; trafficextensions is new in 1.30.
ISTIO_CRDS_1_28 = tuple(k.resource for k in (
    K.WASM_PLUGIN, K.DESTINATION_RULE, K.ENVOY_FILTER, K.ISTIO_GATEWAY, K.PROXY_CONFIG, K.SERVICE_ENTRY,
    K.SIDECAR, K.VIRTUAL_SERVICE, K.WORKLOAD_ENTRY, K.WORKLOAD_GROUP, K.AUTHORIZATION_POLICY,
    K.PEER_AUTHENTICATION, K.REQUEST_AUTHENTICATION, K.TELEMETRY))
ISTIO_CRDS_1_30 = (K.TRAFFIC_EXTENSION.resource, *ISTIO_CRDS_1_28)
# From 1.30 istiod ignores Gateway API CRDs of bundles older than these (WORKLOADS.md §7).
GATEWAY_API_MINIMUMS_1_30 = (
    (K.TLS_ROUTE.resource, "v1.5.0"), (K.BACKEND_TLS_POLICY.resource, "v1.4.0"), (K.GRPC_ROUTE.resource, "v1.1.0"))
# The Gateway API release whose bundle ships the safe-upgrades ValidatingAdmissionPolicy (no going
# back below it, no experimental CRDs over standard ones).
SAFE_UPGRADES_SINCE = (1, 5)


def version_facts(istio_version: str) -> VersionFacts:
    """What ``istio_version`` needs from a cluster. For a version meshctl does not know (or "" for
    unknown), the facts every supported version shares, marked unsupported."""
    supported = ", ".join(versions.SUPPORTED_MINORS)
    try:
        resolved = versions.resolve_istio_version(istio_version)
    except UsageError:
        return VersionFacts(istio_version, False, ISTIO_CRDS_1_28, supported_versions=supported)
    since_1_30 = parse_version(versions.minor_of(resolved)) >= (1, 30)
    return VersionFacts(resolved, True, ISTIO_CRDS_1_30 if since_1_30 else ISTIO_CRDS_1_28,
                        versions.gateway_api_version(resolved),
                        GATEWAY_API_MINIMUMS_1_30 if since_1_30 else (), supported)


def kubernetes_minor(server_version: str) -> tuple[int, int] | None:
    """``v1.32.2``, ``v1.30.4-gke.100``, ``v1.29.3+k3s1`` -> (1, 32) ...; None when unreadable."""
    numbers = parse_version(server_version)
    return (numbers[0], numbers[1]) if len(numbers) >= 2 else None


CanI = Callable[[str, Kind, "str | None"], bool]


class Target:
    """What the pre-install checks read: the cluster, the install asked for, and the caller's rights."""

    def __init__(self, state: ClusterState, istio_version: str, revision: str, istio_namespace: str,
                 can_i: CanI) -> None:
        self.state = state
        self.istio_version = istio_version
        self.revision = revision
        self.namespace = istio_namespace
        self.can_i = can_i
        self.facts = version_facts(istio_version)

    @cached_property
    def control_planes(self) -> list[ComponentInfo]:
        """Istio workloads in every namespace (another tool may have put them anywhere)."""
        return find_control_plane(self.state, None)  # type: ignore[arg-type]

    @cached_property
    def nodes(self) -> list[Resource]:
        return sorted(self.state.list(K.NODE), key=lambda n: n.name)


def _ok(name: str, detail: str = "") -> CheckResult:
    return CheckResult(name, OK, detail)


# -- Kubernetes -----------------------------------------------------------------------------------


def kubernetes_version(t: Target) -> Iterable[CheckResult]:
    minimum = versions.min_kubernetes(t.istio_version)
    wanted = f"{minimum[0]}.{minimum[1]}"
    name = f"Kubernetes is {wanted} or newer (Istio {t.istio_version})"
    server = t.state.info.server_version
    found = kubernetes_minor(server)
    if found is None:
        yield CheckResult(name, WARNING, f"cannot read the server version {server!r}",
                          "check it with 'kubectl version'")
    elif found < minimum:
        yield CheckResult(name, FAILURE, f"the cluster runs Kubernetes {server}; Istio {t.istio_version} needs "
                                         f"{wanted} or newer",
                          "upgrade the cluster, or install an Istio version that supports it "
                          "(see 'meshctl install --help' for --istio-version)")
    else:
        yield _ok(name, server)


# -- permissions ----------------------------------------------------------------------------------


def _denied(t: Target, wanted: list[Permission]) -> list[Permission]:
    return [p for p in wanted if not t.can_i(p.verb, p.kind, p.namespace)]


def _grouped(denied: list[Permission]) -> str:
    """``create, delete clusterroles.rbac.authorization.k8s.io; ...`` one line per kind."""
    by_kind: dict[tuple[Kind, str | None], list[str]] = {}
    for p in denied:
        by_kind.setdefault((p.kind, p.namespace), []).append(p.verb)
    return "\n".join(f"{', '.join(verbs)} {kind.resource}" + (f" in {ns}" if ns else "")
                     for (kind, ns), verbs in by_kind.items())


def permissions(t: Target) -> Iterable[CheckResult]:
    name = "can create and manage everything the install writes"
    wanted = install_permissions(t.namespace)
    denied = _denied(t, wanted)
    if denied:
        yield CheckResult(name, FAILURE, f"{len(denied)} of {len(wanted)} permissions denied:\n{_grouped(denied)}",
                          "run as a cluster administrator (kubectl auth can-i '*' '*' says yes), or ask for the "
                          "permissions listed")
    else:
        yield _ok(name, f"{len(wanted)} permissions")


def rbac_rights(t: Target) -> Iterable[CheckResult]:
    name = "can grant the RBAC the control plane needs"
    denied = _denied(t, rbac_permissions(t.namespace))
    if denied:
        yield CheckResult(name, WARNING, f"denied: {'; '.join(_grouped(denied).splitlines())}; creating istiod's, "
                                         "istio-cni's and ztunnel's roles then works only if you hold every "
                                         "permission they grant",
                          "run as a cluster administrator, or ask for escalate and bind on clusterroles and roles")
    else:
        yield _ok(name, "escalate and bind")


# -- existing Istio -------------------------------------------------------------------------------


def managed_by(res: Resource) -> str:
    """Which tool installed an object, from its labels (istioctl also sets Helm's managed-by)."""
    labels = res.labels
    if labels.get(L.MANAGED_BY) == L.MANAGED_BY_MESHCTL:
        return L.MANAGED_BY_MESHCTL
    if labels.get(L.OPERATOR_MANAGED):
        return "istioctl"
    return str(labels.get(L.MANAGED_BY) or "an unknown tool")


def _owner(t: Target, c: ComponentInfo) -> str:
    kind = K.DEPLOYMENT if c.kind == "Deployment" else K.DAEMON_SET
    res = t.state.get(kind, c.name, c.namespace)
    return managed_by(res) if res is not None else "an unknown tool"


def _uninstall_hint(owner: str, revision: str) -> str:
    how = {"istioctl": f"istioctl uninstall --revision {revision}", "Helm": "helm uninstall (each Istio release)"}
    return (f"remove it with the tool that installed it ({how.get(owner, owner)}), install beside it with "
            "--revision NEW, or take it over with 'meshctl install --force'")


def existing_revision(t: Target) -> Iterable[CheckResult]:
    name = f"no other tool manages istiod revision {t.revision}"
    same = [c for c in t.control_planes if c.component == ISTIOD and c.revision == t.revision]
    foreign = [(c, _owner(t, c)) for c in same]
    foreign = [(c, owner) for c, owner in foreign if owner != L.MANAGED_BY_MESHCTL]
    if foreign:
        c, owner = foreign[0]
        yield CheckResult(name, FAILURE, "\n".join(f"istiod {c.namespace}/{c.name} ({c.version or 'unknown version'}) "
                                                   f"was installed by {o}" for c, o in foreign),
                          _uninstall_hint(owner, t.revision))
    elif same:
        yield _ok(name, "installed by meshctl: install updates it in place")
    else:
        yield _ok(name, "not installed yet")


def existing_data_plane(t: Target) -> Iterable[CheckResult]:
    name = "no other tool manages istio-cni or ztunnel"
    others = [(c, _owner(t, c)) for c in t.control_planes if c.component != ISTIOD]
    foreign = [(c, owner) for c, owner in others if owner != L.MANAGED_BY_MESHCTL]
    if foreign:
        # One per node: a second istio-cni or ztunnel would fight the first over every pod.
        c, owner = foreign[0]
        yield CheckResult(name, FAILURE, "\n".join(f"{c.component} DaemonSet {c.namespace}/{c.name} was installed by {o}"
                                                   for c, o in foreign),
                          _uninstall_hint(owner, c.revision))
    else:
        yield _ok(name, "installed by meshctl" if others else "not installed yet")


def other_revisions(t: Target) -> Iterable[CheckResult]:
    name = "other control-plane revisions"
    others = [c for c in t.control_planes if c.component == ISTIOD and c.revision != t.revision]
    if others:
        yield _ok(name, "; ".join(f"{c.revision} ({c.version or 'unknown version'}, {_owner(t, c)}) in {c.namespace}"
                                  for c in others))
    else:
        yield _ok(name, "none")


def sidecar_namespaces(t: Target) -> Iterable[CheckResult]:
    name = "no namespace uses sidecar injection"
    injecting = [n for n in describe_namespaces(t.state) if n.mode in (SIDECAR, CONFLICT)]
    if injecting:
        labels = {ns.name: ns.labels for ns in t.state.list(K.NAMESPACE)}
        yield CheckResult(name, WARNING,
                          "namespaces with sidecar injection: " + listed(
                              [f"{n.name} ({', '.join(injection_labels(labels.get(n.name, {})))})" for n in injecting]),
                          "sidecars and ambient can run side by side; before enrolling one of these namespaces "
                          f"remove its injection label (kubectl label namespace {injecting[0].name} {L.INJECTION}-) "
                          "and restart its pods")
    else:
        yield _ok(name)


# -- CNI ------------------------------------------------------------------------------------------

# DaemonSets that name the cluster's CNI (the first match wins).
CNI_DAEMONSETS = (("cilium", "Cilium"), ("calico-node", "Calico"), ("kube-flannel", "Flannel"),
                  ("kindnet", "kindnet"), ("aws-node", "Amazon VPC CNI"), ("antrea-agent", "Antrea"),
                  ("weave-net", "Weave Net"), ("kube-router", "kube-router"), ("ovnkube-node", "OVN-Kubernetes"))
CILIUM_CONFIG = "cilium-config"


def _daemonsets(t: Target) -> list[Resource]:
    return sorted(t.state.list(K.DAEMON_SET), key=lambda d: (d.namespace, d.name))


def cni_plugins(t: Target) -> Iterable[CheckResult]:
    name = "the cluster's CNI lets istio-cni chain"
    daemonsets = _daemonsets(t)
    found = [(label, ds) for ds in daemonsets for prefix, label in CNI_DAEMONSETS if ds.name.startswith(prefix)]
    problems: list[tuple[str, str, str]] = []  # (status, detail, hint)
    for label, ds in found:
        if label != "Cilium":
            continue
        config = t.state.get(K.CONFIG_MAP, CILIUM_CONFIG, ds.namespace)
        data = config.fields.mapping("data") if config is not None else {}
        if config is None:
            problems.append((WARNING, f"Cilium found, but ConfigMap {ds.namespace}/{CILIUM_CONFIG} is not there to "
                                      "read its settings", "make sure Cilium runs with cni.exclusive=false"))
        elif data.get("cni-exclusive", "true") != "false":  # Cilium's default is exclusive
            problems.append((FAILURE, "Cilium owns the CNI configuration exclusively (cni-exclusive is not false) "
                                      "and would delete the configuration istio-cni chains into",
                             "reconfigure Cilium: helm upgrade cilium cilium/cilium -n "
                             f"{ds.namespace} --reuse-values --set cni.exclusive=false"))
        if data.get("enable-bpf-masquerade") == "true":
            problems.append((WARNING, "Cilium's BPF masquerading is on; ambient pods' health probes fail with it",
                             "use Cilium's iptables masquerading: --set bpf.masquerade=false"))
    multus = [ds for ds in daemonsets if "multus" in ds.name]
    if multus:
        problems.append((WARNING, f"Multus found (DaemonSet {multus[0].namespace}/{multus[0].name}): istio-cni chains "
                                  "into the default network's CNI configuration",
                         "if Multus owns the node's CNI configuration, install with --set values.cni.provider=multus "
                         "(OpenShift: --set values.global.platform=openshift)"))
    if problems:
        status = FAILURE if any(s == FAILURE for s, _, _ in problems) else WARNING
        yield CheckResult(name, status, "\n".join(d for _, d, _ in problems), "; ".join(h for _, _, h in problems))
    else:
        names = ", ".join(dict.fromkeys(label for label, _ in found))
        yield _ok(name, names or "no known CNI DaemonSet found")


@dataclass(frozen=True)
class Platform:
    name: str
    value: str  # for --set values.global.platform=
    note: str  # why it matters


PLATFORMS = {
    "openshift": Platform("OpenShift", "openshift", "istio-cni and ztunnel must run in kube-system, with "
                                                    "Multus as the CNI provider"),
    "gke": Platform("GKE", "gke", "CNI binaries live in /home/kubernetes/bin, and system-node-critical pods "
                                  "need a ResourceQuota outside kube-system"),
    "k3d": Platform("k3d", "k3d", "k3s keeps CNI configuration and binaries in its own directories"),
    "k3s": Platform("k3s", "k3s", "CNI configuration lives in /var/lib/rancher/k3s/agent/etc/cni/net.d and "
                                  "binaries in /var/lib/rancher/k3s/data/current/bin"),
    "microk8s": Platform("MicroK8s", "microk8s", "CNI configuration and binaries live under /var/snap/microk8s"),
    "minikube": Platform("minikube", "minikube", "the Docker driver keeps network namespaces in "
                                                 "/var/run/docker/netns"),
}


def detect_platform(node: Resource) -> str | None:
    """The platform a node belongs to, from its labels and provider ID."""
    labels = node.labels
    provider = node.fields.text("spec", "providerID")
    if any(str(k).startswith("node.openshift.io/") for k in labels):
        return "openshift"
    if provider.startswith("gce://") or "cloud.google.com/gke-nodepool" in labels:
        return "gke"
    if provider.startswith("k3s://") or labels.get("node.kubernetes.io/instance-type") == "k3s":
        return "k3d" if node.name.startswith("k3d-") else "k3s"
    if "microk8s.io/cluster" in labels:
        return "microk8s"
    if "minikube.k8s.io/name" in labels:
        return "minikube"
    return None


def platform(t: Target) -> Iterable[CheckResult]:
    name = "the platform needs no special CNI settings"
    found = sorted({p for n in t.nodes if (p := detect_platform(n))})
    if not found:
        yield _ok(name)
        return
    chosen = [PLATFORMS[p] for p in found]
    yield CheckResult(name, WARNING, "\n".join(f"{p.name} detected: {p.note}" for p in chosen),
                      " ".join(f"install with --set values.global.platform={p.value}" for p in chosen[:1])
                      + (" (the nodes disagree about the platform: check them)" if len(chosen) > 1 else ""))


# -- Gateway API ----------------------------------------------------------------------------------


def gateway_api_present(t: Target) -> Iterable[CheckResult]:
    yield check_gateway_api_present(t.state, t.facts)


def gateway_api_version(t: Target) -> Iterable[CheckResult]:
    yield check_gateway_api_version(t.state, t.facts)


def gateway_api_upgrades(t: Target) -> Iterable[CheckResult]:
    name = "Gateway API CRDs can stay as they are"
    crds = find_gateway_api_crds(t.state)
    if not crds:
        yield CheckResult(name, SKIPPED, "the Gateway API CRDs are not installed", gateway_api_install_hint(t.facts))
        return
    notes = []
    experimental = [c.name for c in crds if c.channel == "experimental"]
    if experimental:
        notes.append(f"experimental channel installed ({listed(experimental, 3)}): applying the standard bundle over "
                     "it would drop experimental kinds and fields that objects may use")
    newest = max((parse_version(c.bundle_version) for c in crds if c.bundle_version), default=())
    pinned = parse_version(t.facts.gateway_api)
    if newest[:2] >= SAFE_UPGRADES_SINCE and pinned and pinned[:2] < SAFE_UPGRADES_SINCE:
        shown = "v" + ".".join(map(str, newest))
        notes.append(f"the installed {shown} bundle ships the safe-upgrades ValidatingAdmissionPolicy, which refuses "
                     f"going back to {t.facts.gateway_api} (the bundle Istio {t.istio_version} pins)")
    if notes:
        yield CheckResult(name, WARNING, "\n".join(notes), "keep the installed Gateway API CRDs rather than applying "
                                                          "an older or standard-channel bundle over them")
    else:
        yield _ok(name)


# -- nodes ----------------------------------------------------------------------------------------


def nodes_exist(t: Target) -> Iterable[CheckResult]:
    name = "the cluster has nodes"
    if not t.nodes:
        yield CheckResult(name, FAILURE, "no Node objects found", "add nodes to the cluster before installing")
    else:
        yield _ok(name, f"{len(t.nodes)}")


def linux_nodes(t: Target) -> Iterable[CheckResult]:
    name = "nodes run Linux"
    if not t.nodes:
        yield CheckResult(name, SKIPPED, "no nodes", "add nodes to the cluster before installing")
        return
    other = [n.name for n in t.nodes if not is_linux(n)]
    linux = len(t.nodes) - len(other)
    if not linux:
        yield CheckResult(name, FAILURE, "no Linux node: istio-cni and ztunnel run on Linux only",
                          "add Linux nodes to the cluster")
    elif other:
        yield CheckResult(name, WARNING, f"{len(other)} of {len(t.nodes)} nodes do not run Linux ({listed(other)}): "
                                         "ambient (istio-cni, ztunnel) does not cover pods there",
                          f"keep mesh workloads on Linux nodes (nodeSelector {L.OS_LABEL}: linux)")
    else:
        yield _ok(name, f"{linux} of {len(t.nodes)}")


def schedulable_nodes(t: Target) -> Iterable[CheckResult]:
    name = "Linux nodes can take pods"
    linux = [n for n in t.nodes if is_linux(n)]
    if not linux:
        yield CheckResult(name, SKIPPED, "no Linux nodes", "add Linux nodes to the cluster")
        return
    ready = [n for n in linux if schedulable_linux(n)]
    if not ready:
        yield CheckResult(name, FAILURE, "every Linux node is cordoned or not Ready",
                          f"uncordon a node (kubectl uncordon {linux[0].name}) or fix its kubelet")
    else:
        yield _ok(name, f"{len(ready)} of {len(linux)} schedulable and Ready")


PRE_INSTALL_CHECKS: tuple[Check[Target], ...] = (
    Check("Kubernetes", "Kubernetes version is supported", kubernetes_version),
    Check("Permissions", "can create and manage everything the install writes", permissions),
    Check("Permissions", "can grant the RBAC the control plane needs", rbac_rights),
    Check("Existing Istio", "no other tool manages this istiod revision", existing_revision),
    Check("Existing Istio", "no other tool manages istio-cni or ztunnel", existing_data_plane),
    Check("Existing Istio", "other control-plane revisions", other_revisions),
    Check("Existing Istio", "no namespace uses sidecar injection", sidecar_namespaces),
    Check("CNI", "the cluster's CNI lets istio-cni chain", cni_plugins),
    Check("CNI", "the platform needs no special CNI settings", platform),
    Check("Gateway API", "Gateway API CRDs are installed", gateway_api_present),
    Check("Gateway API", "Gateway API version suits Istio", gateway_api_version),
    Check("Gateway API", "Gateway API CRDs can stay as they are", gateway_api_upgrades),
    Check("Nodes", "the cluster has nodes", nodes_exist),
    Check("Nodes", "nodes run Linux", linux_nodes),
    Check("Nodes", "Linux nodes can take pods", schedulable_nodes),
)


def precheck(state: ClusterState, *, istio_version: str, revision: str = L.DEFAULT_REVISION,
             istio_namespace: str = L.ISTIO_NAMESPACE, can_i: CanI | None = None) -> list[Category]:
    """``meshctl precheck`` on one cluster, for ``istio_version`` (resolved already). ``can_i`` asks the
    API server about one permission; by default the live state's own (a SelfSubjectAccessReview)."""
    ask = can_i or getattr(state, "can_i", None)
    if ask is None:
        raise UsageError("precheck asks the live API server about permissions; files and snapshots cannot answer",
                         hint="pass --context to check a live cluster")
    return run_checks(PRE_INSTALL_CHECKS, Target(state, istio_version, revision, istio_namespace, ask),
                      state.info.cluster)
