"""The ambient control plane as it runs: istiod per revision, istio-cni and ztunnel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshctl.errors import UsageError
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L

ISTIOD, CNI, ZTUNNEL = "istiod", "istio-cni", "ztunnel"
IMAGE_VARIANTS = ("-distroless", "-debug")


@dataclass(frozen=True)
class ComponentInfo:
    component: str  # istiod | istio-cni | ztunnel
    kind: str  # Deployment | DaemonSet
    namespace: str
    name: str
    revision: str
    image: str
    version: str
    ready: int
    desired: int


def image_version(image: str) -> str:
    """``registry.istio.io/release/pilot:1.30.3-distroless`` -> ``1.30.3``; digests give ''."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return ""
    tag = last.split(":", 1)[1]
    for variant in IMAGE_VARIANTS:
        tag = tag.removesuffix(variant)
    return tag


def _containers(workload: Resource) -> list[Part]:
    return workload.fields.parts("spec", "template", "spec", "containers")


def _main_image(workload: Resource, container: str) -> str:
    containers = _containers(workload)
    for c in containers:
        if c.text("name") == container:
            return c.text("image")
    return containers[0].text("image") if containers else ""


def _revision(workload: Resource) -> str:
    for where in (workload.labels, workload.annotations):
        if isinstance(where, dict) and where.get(L.REV):
            return str(where[L.REV])
    return L.DEFAULT_REVISION


def _deployment_counts(d: Resource) -> tuple[int, int]:
    desired = d.fields.integer("spec", "replicas")
    return d.fields.integer("status", "readyReplicas") or 0, 1 if desired is None else desired


def _daemonset_counts(ds: Resource) -> tuple[int, int]:
    return ds.fields.integer("status", "numberReady") or 0, ds.fields.integer("status", "desiredNumberScheduled") or 0


def _selects(ds: Resource, label: tuple[str, str]) -> bool:
    key, value = label
    return ds.fields.mapping("spec", "selector", "matchLabels").get(key) == value


def _is_ztunnel(ds: Resource) -> bool:
    return _selects(ds, L.ZTUNNEL_APP_LABEL) or ds.labels.get("app.kubernetes.io/name") == ZTUNNEL


def _is_cni(ds: Resource) -> bool:
    key, value = L.CNI_APP_LABEL
    return ds.labels.get(key) == value or _selects(ds, L.CNI_APP_LABEL)


def find_control_plane(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> list[ComponentInfo]:
    """Every control-plane workload in ``namespace``, istiod revisions first, sorted."""
    found: list[ComponentInfo] = []
    for d in state.list(K.DEPLOYMENT, namespace, labels={"app": L.ISTIOD_APP}):
        image = _main_image(d, "discovery")
        ready, desired = _deployment_counts(d)
        found.append(ComponentInfo(ISTIOD, "Deployment", d.namespace, d.name, _revision(d), image,
                                   image_version(image), ready, desired))
    for ds in state.list(K.DAEMON_SET, namespace):
        if _is_cni(ds):
            component, container = CNI, "install-cni"
        elif _is_ztunnel(ds):
            component, container = ZTUNNEL, "istio-proxy"
        else:
            continue
        image = _main_image(ds, container)
        ready, desired = _daemonset_counts(ds)
        revision = _revision(ds)
        if component == ZTUNNEL:  # the istiod it talks to says which revision it follows, not its labels
            revision = _ztunnel_link(state, ds).revision or revision
        found.append(ComponentInfo(component, "DaemonSet", ds.namespace, ds.name, revision, image,
                                   image_version(image), ready, desired))
    order = {ISTIOD: 0, CNI: 1, ZTUNNEL: 2}
    return sorted(found, key=lambda c: (order[c.component], c.revision, c.name))


def resolve_cluster_name(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> str | None:
    """Istio's name for the cluster (istiod's CLUSTER_ID), or None when istiod was given none."""
    if not state.serves(K.DEPLOYMENT):
        return None
    for d in state.list(K.DEPLOYMENT, namespace, labels={"app": L.ISTIOD_APP}):
        for c in _containers(d):
            for env in c.iter_parts("env"):
                if env.text("name") == L.ISTIOD_CLUSTER_ID_ENV:
                    value = env.text("value")
                    if value and value != L.DEFAULT_CLUSTER_ID:
                        return value
    return None


def istiod_env_by_revision(state: ClusterState, namespace: str) -> dict[str, dict[str, str]]:
    """Each istiod revision's literal environment (valueFrom entries left out; malformed parts, as
    hand-written files may hold, skipped)."""
    found: dict[str, dict[str, str]] = {}
    for d in state.list(K.DEPLOYMENT, namespace, labels={"app": L.ISTIOD_APP}):
        env = found.setdefault(_revision(d), {})
        for c in _containers(d):
            env.update({str(e.data.get("name")): str(e.data.get("value")) for e in c.iter_parts("env")
                        if "value" in e.data})
    return found


@dataclass(frozen=True)
class ClusterVersions:
    """A cluster's Kubernetes version and the control-plane components running in it."""

    cluster: str
    context: str
    source: str
    server_version: str
    components: tuple[ComponentInfo, ...]


def describe_versions(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> ClusterVersions:
    info = state.info
    return ClusterVersions(info.cluster, info.context, info.kind, info.server_version,
                           tuple(find_control_plane(state, namespace)))


def name_clusters(states: list[ClusterState], override: str | None = None,
                  namespace: str = L.ISTIO_NAMESPACE) -> list[str]:
    """The name each state's cluster goes by: ``override`` (one state only), Istio's name, or the source's."""
    if override:
        if len(states) != 1:
            raise UsageError("--cluster-name names one cluster, but several were given",
                             hint="drop --cluster-name; each cluster keeps its own name")
        return [override]
    return [resolve_cluster_name(s, namespace) or s.info.cluster for s in states]


@dataclass(frozen=True)
class DataPlaneLink:
    """Which istiod revision a shared data-plane DaemonSet follows. In ambient mode ztunnel and
    istio-cni serve every revision on a node, so exactly one revision drives them at a time."""

    component: str  # ztunnel | istio-cni
    name: str  # the DaemonSet
    revision: str | None  # the istiod revision it follows; None when its address names no istiod here
    address: str  # ztunnel's XDS address ('' for istio-cni, which follows its revision label)


TAG_SERVICE_PREFIX = "istiod-revision-tag-"


def _env(container: Part, name: str) -> str:
    for entry in container.iter_parts("env"):
        if entry.text("name") == name:
            return entry.text("value")
    return ""


def revision_of_address(state: ClusterState, namespace: str, address: str) -> str | None:
    """The istiod revision an XDS address names: ``istiod-canary.istio-system.svc:15012`` -> canary,
    ``istiod.istio-system.svc`` -> default, a revision tag's Service -> the revision it points at."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    for suffix in (f".{namespace}.svc.cluster.local", f".{namespace}.svc", f".{namespace}"):
        if host.endswith(suffix):
            host = host[: -len(suffix)]
            break
    else:
        return None
    if host == L.ISTIOD_APP:
        return L.DEFAULT_REVISION
    if host.startswith(TAG_SERVICE_PREFIX):
        service = state.get(K.SERVICE, host, namespace)
        return (service.labels.get(L.REV) or None) if service is not None else None
    if host.startswith(L.ISTIOD_APP + "-"):
        return host[len(L.ISTIOD_APP) + 1:]
    return None


def dataplane_links(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> list[DataPlaneLink]:
    """ztunnel and istio-cni in ``namespace``, each with the revision it follows."""
    links = []
    for ds in state.list(K.DAEMON_SET, namespace):
        if _is_cni(ds):
            links.append(DataPlaneLink(CNI, ds.name, _revision(ds), ""))
        elif _is_ztunnel(ds):
            links.append(_ztunnel_link(state, ds))
    return links


def _ztunnel_link(state: ClusterState, ds: Resource) -> DataPlaneLink:
    proxy = next((c for c in _containers(ds) if c.text("name") == "istio-proxy"), None)
    address = _env(proxy, "XDS_ADDRESS") if proxy is not None else ""
    return DataPlaneLink(ZTUNNEL, ds.name, revision_of_address(state, ds.namespace, address), address)


def unfollowed(link: DataPlaneLink, installed: Iterable[str]) -> str | None:
    """Why a data-plane DaemonSet follows no installed istiod, or None when it follows one."""
    if link.revision is None:
        return f"points at {link.address or 'no address'}, which names no istiod"
    if link.revision not in set(installed):
        return f"follows revision {link.revision}, whose istiod is not installed"
    return None


def move_dataplane_hint(installed: Iterable[str]) -> str:
    """The command that points the data plane at an installed revision (or installs one)."""
    revisions = sorted(installed)
    if not revisions:
        return "install a control plane: meshctl install"
    return f"move it, node by node: meshctl dataplane upgrade --revision {revisions[0]}"


def dataplane_revision(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> str | None:
    """The revision the data plane follows (ztunnel's, else istio-cni's); None when there is none."""
    links = {link.component: link for link in dataplane_links(state, namespace)}
    for component in (ZTUNNEL, CNI):
        if component in links and links[component].revision:
            return links[component].revision
    return None


def find_revision_tags(state: ClusterState) -> list[tuple[str, str]]:
    """(tag, revision) of every revision tag (its injection webhook carries both labels)."""
    tags = []
    for webhook in list_if_served(state, K.MUTATING_WEBHOOK) or []:
        tag = webhook.labels.get(L.TAG)
        if tag:
            tags.append((str(tag), str(webhook.labels.get(L.REV, L.DEFAULT_REVISION))))
    return sorted(set(tags))
