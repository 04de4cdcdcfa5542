"""Facts about what is installed, read from a cluster: revisions, tags, what uninstall would remove and
what must not lose its control plane, and whether an upgrade's version jump is safe."""

from __future__ import annotations

import json
from dataclasses import dataclass

from meshctl.install.installer import OWNED_KINDS, install_id, owner_selector
from meshctl.kube.apply import FIELD_MANAGER
from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import ISTIOD, dataplane_revision, find_control_plane
from meshctl.mesh.waypoints import is_waypoint

SHARED_COMPONENTS = ("Base", "Cni", "Ztunnel")  # one per cluster, whatever the revision
TAG_WEBHOOK_PREFIX = "istio-revision-tag-"


def revision_name(revision: str) -> str:
    return revision or L.DEFAULT_REVISION


@dataclass(frozen=True)
class Installed:
    revision: str
    version: str  # istiod's image version ('' when unknown)
    managed: bool  # installed by meshctl (its Deployment carries meshctl's owner labels)
    ready: int
    desired: int


def installed_revisions(state: ClusterState, namespace: str) -> dict[str, Installed]:
    """istiod per revision in the istio namespace."""
    found: dict[str, Installed] = {}
    deployments = {d.name: d for d in state.list(K.DEPLOYMENT, namespace, labels={"app": L.ISTIOD_APP})}
    for c in find_control_plane(state, namespace):
        if c.component != ISTIOD:
            continue
        labels = deployments[c.name].labels if c.name in deployments else {}
        found[c.revision] = Installed(c.revision, c.version, labels.get(L.MANAGED_BY) == L.MANAGED_BY_MESHCTL,
                                      c.ready, c.desired)
    return found


@dataclass(frozen=True)
class Tag:
    name: str
    revision: str
    namespaces: tuple[str, ...]  # namespaces whose istio.io/rev label names the tag


def revision_tags(state: ClusterState) -> list[Tag]:
    hooks = list_if_served(state, K.MUTATING_WEBHOOK) or []
    namespaces = state.list(K.NAMESPACE)
    tags = []
    for hook in hooks:
        tag = hook.labels.get(L.TAG)
        if not tag:
            continue
        users = tuple(sorted(ns.name for ns in namespaces if ns.labels.get(L.REV) == tag))
        tags.append(Tag(tag, hook.labels.get(L.REV, ""), users))
    return sorted(tags, key=lambda t: t.name)


def tag_objects(state: ClusterState, tag: str) -> list[Resource]:
    """The objects that make a revision tag: its webhooks and its Service, whoever created them."""
    found = []
    for kind in (K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.SERVICE):
        for res in list_if_served(state, kind) or []:
            if res.labels.get(L.TAG) == tag:
                found.append(res)
    return found


def stored_user_values(state: ClusterState, namespace: str, revision: str) -> dict | None:
    """The values the user gave the install of a revision (meshctl keeps them in ConfigMap
    ``values[-rev]``), so an upgrade keeps the user's settings; None when there is none."""
    name = "values" if not revision or revision == L.DEFAULT_REVISION else f"values-{revision}"
    cm = state.get(K.CONFIG_MAP, name, namespace)
    if cm is None or cm.labels.get(L.MANAGED_BY) != L.MANAGED_BY_MESHCTL:
        return None
    text = (cm.raw.get("data") or {}).get("original-values")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# -- upgrade ------------------------------------------------------------------------------------------


def _minor(version: str) -> tuple[int, int] | None:
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def skew_problem(current: str, target: str) -> str | None:
    """Why going from ``current`` to ``target`` is not a supported in-place step (None when it is)."""
    a, b = _minor(current), _minor(target)
    if a is None or b is None:
        return None
    if b < a:
        return f"{target} is older than the installed {current} (a downgrade)"
    if b[0] != a[0] or b[1] - a[1] > 1:
        return f"{current} → {target} skips minor versions; Istio upgrades one minor version at a time"
    return None


# -- uninstall ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blockers:
    """What would lose its control plane if the uninstall went ahead."""

    namespaces: tuple[str, ...]  # enrolled in ambient, or pointing at the revision with istio.io/rev
    waypoints: tuple[str, ...]  # ns/name
    tags: tuple[str, ...]  # revision tags pointing at the revision

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.waypoints or self.tags)


def uninstall_blockers(state: ClusterState, revision: str | None, *, last: bool) -> Blockers:
    """``revision`` None means everything (--purge). ``last``: no other istiod revision stays, so every
    ambient namespace and waypoint would lose its data plane."""
    rev = revision_name(revision) if revision is not None else None
    namespaces, waypoints = [], []
    for ns in state.list(K.NAMESPACE):
        ambient = ns.labels.get(L.DATAPLANE_MODE) == L.DATAPLANE_MODE_AMBIENT
        uses_rev = rev is not None and ns.labels.get(L.REV) == rev
        if (last and ambient) or uses_rev:
            namespaces.append(ns.name)
    for gw in list_if_served(state, K.GATEWAY) or []:
        if not is_waypoint(gw):
            continue
        gw_rev = gw.labels.get(L.REV)
        if last or (rev is not None and gw_rev == rev):
            waypoints.append(f"{gw.namespace}/{gw.name}")
    tags = [] if rev is None else [t.name for t in revision_tags(state) if t.revision == rev]
    return Blockers(tuple(sorted(namespaces)), tuple(sorted(waypoints)), tuple(tags))


def owned_objects(state, namespace: str, revision: str | None, *, purge: bool,
                  keep_shared: bool) -> list[Resource]:
    """What uninstall deletes, in delete order. ``revision`` None with ``purge``: every object meshctl
    installed (any revision, tags, CRDs). Shared components stay when ``keep_shared``."""
    selector = (f"{L.MANAGED_BY}={L.MANAGED_BY_MESHCTL}" if revision is None
                else owner_selector(install_id(namespace, revision)))
    found: list[Resource] = []
    for kind in OWNED_KINDS:
        if kind is K.CRD and not purge:
            continue
        for res in state.list_selected(kind, selector):
            component = res.labels.get(L.INSTALL_COMPONENT, "")
            if keep_shared and component in SHARED_COMPONENTS:
                continue
            if component == "RevisionTag" and revision is not None:
                continue  # tags are moved or removed with `meshctl tag`
            found.append(res)
    return found


def created_by_meshctl(res: Resource) -> bool:
    """Whether meshctl's server-side apply created the object (its field manager is on record)."""
    return any(m.get("manager") == FIELD_MANAGER and m.get("operation") == "Apply"
               for m in res.raw.get("metadata", {}).get("managedFields") or [])


def meshctl_gateways(state: ClusterState) -> list[Resource]:
    """Waypoints and east-west gateways meshctl applied (purge removes them)."""
    gateways = list_if_served(state, K.GATEWAY) or []
    classes = (L.CLASS_WAYPOINT, L.CLASS_EAST_WEST)
    return [g for g in gateways if g.spec.get("gatewayClassName") in classes and created_by_meshctl(g)]



def shared_dataplane_owner(state: ClusterState, namespace: str, revision: str) -> str | None:
    """The other revision ztunnel and istio-cni follow, when installing ``revision`` must leave them
    alone (they serve every revision on a node; ``meshctl dataplane upgrade`` moves them);
    None when this install renders them (no data plane yet, it follows this revision already, or it
    follows an istiod that is gone)."""
    follows = dataplane_revision(state, namespace)
    if follows is None or follows == revision_name(revision):
        return None
    return follows if follows in installed_revisions(state, namespace) else None
