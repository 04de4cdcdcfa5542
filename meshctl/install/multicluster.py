"""Linking clusters into one multi-network ambient mesh: what ``multicluster expose``, ``link`` and
``unlink`` check, plan and write. No typer or rich here; the commands show what these functions return.

Secrets: reader tokens and CA data pass through this module into remote secrets; they never become part
of a message, a plan line or an exception.

Ownership: objects ``link`` creates carry ``LINK_LABELS``. The reader ServiceAccount, ClusterRole and
Binding are usually installed already (by ``meshctl install``, as field manager ``meshctl``); link then
leaves them alone, since a server-side apply under the same manager would replace the install's field
set. It only creates what is missing, and ``unlink`` deletes only what carries link's label and no
install's.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshctl.errors import MeshctlError, UsageError
from meshctl.install.render import READER_RULES
from meshctl.kube import kinds as K
from meshctl.kube.apply import ClusterWriter, WaitTimeout, install_hint
from meshctl.kube.live import ApiConnection, LiveState, redact_url
from meshctl.kube.state import ClusterState, Resource
from meshctl.kube.yamlio import dump
from meshctl.mesh import labels as L
from meshctl.mesh.multicluster import ClusterIdentity, describe_identity
from meshctl.mesh.waypoints import programmed

NS = L.ISTIO_NAMESPACE
MAX_WORKERS = 32  # threads for work across clusters (each waits on the network, not the CPU)
TOKEN_TIMEOUT = 60.0  # how long the token controller may take to fill the reader's token Secret
REDACTED = "<redacted>"
LINK_LABELS = {L.MANAGED_BY: L.MANAGED_BY_MESHCTL, L.LINK_CREATED_BY: L.LINK_CREATED_BY_LINK}
CA_DIR = "mesh-ca"  # the directory the printed `meshctl ca` commands use
TRUST_HINT = "give every cluster one root: run the meshctl ca commands below"

CREATE, UPDATE, UNCHANGED, KEPT, DELETE = "create", "update", "unchanged", "kept", "delete"
CHANGES = (CREATE, UPDATE, DELETE)

T = TypeVar("T")
R = TypeVar("R")


# -- small helpers -------------------------------------------------------------------------------------


def parse_pairs(flag: str, values: Sequence[str] | None, contexts: Sequence[str]) -> dict[str, str]:
    """``--network ctx=NET`` / ``--server ctx=URL`` values as {context: value}; each names a --context."""
    found: dict[str, str] = {}
    for raw in values or ():
        context, sep, value = raw.partition("=")
        if not sep or not context or not value:
            raise UsageError(f"{flag} {raw!r} is not CONTEXT=VALUE",
                             hint=f"e.g. {flag} {contexts[0] if contexts else 'CONTEXT'}=VALUE")
        if context not in contexts:
            raise UsageError(f"{flag} {raw!r} names context {context!r}, which is not one of the --context values",
                             hint=f"use one of: {', '.join(contexts)}")
        found[context] = value
    return found


def in_parallel(items: Sequence[T], work: Callable[[T], R]) -> tuple[list[tuple[T, R]], list[tuple[T, MeshctlError]]]:
    """Run ``work`` on every item at once (threads); (item, result) pairs and (item, error) pairs, in the
    order of ``items``. A MeshctlError stops only its own item; anything else is a bug and propagates."""
    if not items:
        return [], []
    done: list[tuple[T, R]] = []
    failed: list[tuple[T, MeshctlError]] = []
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items))) as pool:
        futures = [(item, pool.submit(work, item)) for item in items]
        for item, future in futures:
            try:
                done.append((item, future.result()))
            except MeshctlError as err:
                failed.append((item, err))
    return done, failed


def _short(fingerprint: str | None) -> str:
    return (fingerprint[:23] + "…") if fingerprint else "none"


# -- opening clusters ------------------------------------------------------------------------------------


def open_clusters(contexts: Sequence[str], kubeconfig: str | None) -> tuple[dict[str, LiveState], dict[str, MeshctlError]]:
    """One LiveState per context, opened at once; contexts that cannot be opened come back as errors.

    The connections are made here first, one after the other: that only reads the kubeconfig, and it
    imports the client library in this thread (modules imported for the first time from several threads
    at once can deadlock on Python's import locks). The first requests then go out in parallel."""
    conns: list[ApiConnection] = []
    failed: dict[str, MeshctlError] = {}
    for context in dict.fromkeys(contexts):
        try:
            conns.append(ApiConnection(context, kubeconfig))
        except MeshctlError as err:
            failed[context] = err
    done, unreachable = in_parallel(conns, LiveState)
    failed.update((c.context, e) for c, e in unreachable)
    return {c.context: s for c, s in done}, failed


def describe_all(states: dict[str, LiveState]) -> tuple[dict[str, ClusterIdentity], dict[str, MeshctlError]]:
    done, failed = in_parallel(list(states), lambda c: describe_identity(states[c]))
    return dict(done), dict(failed)


def kubeconfig_endpoint(state: LiveState) -> tuple[str, str]:
    """(server URL, base64 CA bundle or '') of a context, as the user's kubeconfig gives them."""
    config = state.conn.client.configuration  # loaded from the kubeconfig; the CA is in a file it names
    ca = ""
    if getattr(config, "ssl_ca_cert", None):
        try:
            with open(config.ssl_ca_cert, "rb") as f:
                ca = base64.b64encode(f.read()).decode()
        except OSError:
            ca = ""
    return str(config.host).rstrip("/"), ca


# -- expose: the network label, multi-network, the east-west gateway --------------------------------------


def east_west_gateway(network: str, namespace: str = NS) -> dict[str, Any]:
    """The east-west Gateway, in the shape Istio's own tooling generates for ambient."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": L.EAST_WEST_GATEWAY, "namespace": namespace, "labels": {L.NETWORK: network}},
        "spec": {
            "gatewayClassName": L.CLASS_EAST_WEST,
            "listeners": [{
                "name": "mesh", "port": 15008, "protocol": "HBONE",
                "tls": {"mode": "Terminate", "options": {"gateway.istio.io/tls-terminate-mode": "ISTIO_MUTUAL"}},
            }],
        },
    }


@dataclass(frozen=True)
class ExposePlan:
    context: str
    namespace: str
    network: str
    label: str  # CREATE (set the label) | UPDATE (move it, --force) | UNCHANGED
    previous_network: str
    gateway: dict[str, Any]
    gateway_action: str  # CREATE | UPDATE | UNCHANGED | KEPT (another east-west gateway serves the cluster)
    kept_gateway: str  # "ns/name" of that other gateway
    install_sets: tuple[str, ...]  # values an upgrade must set (network, cluster name, meshID)

    @property
    def gateway_name(self) -> str:
        return self.kept_gateway.split("/", 1)[1] if self.kept_gateway else L.EAST_WEST_GATEWAY


def _ztunnel_network(state: ClusterState, namespace: str) -> str | None:
    """The NETWORK ztunnel runs with (from ``values.global.network``); None when no ztunnel is found."""
    for ds in state.list(K.DAEMON_SET, namespace):
        key, value = L.ZTUNNEL_APP_LABEL
        if (ds.spec.get("selector", {}).get("matchLabels") or {}).get(key) != value:
            continue
        for c in ds.spec.get("template", {}).get("spec", {}).get("containers") or []:
            for e in c.get("env") or []:
                if isinstance(e, dict) and e.get("name") == "NETWORK":
                    return str(e.get("value") or "")
        return ""
    return None


def _contains(have: Any, want: Any) -> bool:
    """Whether ``have`` holds everything ``want`` says (the API server adds defaults, e.g. allowedRoutes)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(map(_contains, have, want))
    return have == want


def plan_expose(state: LiveState, identity: ClusterIdentity, network: str, *, force: bool = False,
                cluster_name: str | None = None, mesh_id: str | None = None, namespace: str = NS) -> ExposePlan:
    """Everything expose will do, checked before anything is written."""
    context = state.info.context
    ns = state.get(K.NAMESPACE, namespace)
    if ns is None:
        raise MeshctlError(f"context {context}: namespace {namespace} does not exist, so there is no control plane "
                           "to expose", hint=f"install one first: meshctl install --context {context}")
    previous = ns.labels.get(L.NETWORK, "")
    if previous and previous != network and not force:
        raise MeshctlError(f"context {context}: {namespace} is on network {previous!r}, not {network!r}",
                           hint=f"pass --network {previous} to keep it, or --force to move the cluster to "
                                f"{network} (its peers then reach it through the new network)")
    label = UNCHANGED if previous == network else UPDATE if previous else CREATE
    if not state.serves(K.GATEWAY):
        raise MeshctlError(f"context {context}: the cluster does not serve Gateway API Gateways, which the "
                           "east-west gateway is",
                           hint=f"pass --gateway-api to install them with this command, or {install_hint(K.GATEWAY)}")
    gateway = east_west_gateway(network, namespace)
    existing = state.get(K.GATEWAY, L.EAST_WEST_GATEWAY, namespace)
    kept = ""
    if existing is not None and existing.spec.get("gatewayClassName") != L.CLASS_EAST_WEST:
        raise MeshctlError(f"context {context}: Gateway {namespace}/{L.EAST_WEST_GATEWAY} exists with class "
                           f"{existing.spec.get('gatewayClassName')!r}, not {L.CLASS_EAST_WEST!r}",
                           hint="rename or delete that Gateway; meshctl does not turn other Gateways into "
                                "east-west gateways")
    if existing is None:
        others = [g for g in state.list(K.GATEWAY, namespace) if g.spec.get("gatewayClassName") == L.CLASS_EAST_WEST]
        if others:
            kept = f"{others[0].namespace}/{others[0].name}"
    if kept:
        action = KEPT
    elif existing is None:
        action = CREATE
    elif existing.labels.get(L.NETWORK) == network and _contains(existing.spec, gateway["spec"]):
        action = UNCHANGED
    else:
        action = UPDATE
    sets = []
    if _ztunnel_network(state, namespace) not in (None, network):
        sets.append(f"values.global.network={network}")
    if cluster_name and cluster_name != identity.cluster_name:
        sets.append(f"values.global.multiCluster.clusterName={cluster_name}")
    if mesh_id and mesh_id != identity.mesh_id:
        sets.append(f"values.global.meshID={mesh_id}")
    return ExposePlan(context, namespace, network, label, previous, gateway, action, kept, tuple(sets))


def label_network(writer: ClusterWriter, plan: ExposePlan) -> None:
    """Set the network label on the istio namespace: a merge patch of that one label, so the install's
    own fields on the Namespace stay the install's."""
    if plan.label != UNCHANGED:
        writer.merge_patch(K.NAMESPACE, plan.namespace, None, {"metadata": {"labels": {L.NETWORK: plan.network}}})


def apply_east_west(writer: ClusterWriter, plan: ExposePlan) -> None:
    if plan.gateway_action in (CREATE, UPDATE):
        writer.apply(plan.gateway)


def gateway_ready(gateway: Resource | None) -> tuple[bool, str]:
    """Programmed, with an address peers can reach."""
    done, why = programmed(gateway)
    if not done:
        return False, why
    if not (gateway.status.get("addresses") if gateway is not None else None):
        return False, "Programmed, but no address assigned yet (is there a LoadBalancer implementation?)"
    return True, "Programmed"


def wait_east_west(writer: ClusterWriter, plan: ExposePlan, timeout: float,
                   progress: Callable[[str], None] | None = None) -> tuple[str, ...]:
    """Wait until the east-west gateway is Programmed and has an address; its addresses."""
    try:
        gw = writer.wait(K.GATEWAY, plan.gateway_name, plan.namespace, gateway_ready, timeout=timeout,
                         interval=2.0, progress=progress)
    except WaitTimeout as err:
        err.hint = (f"istiod programs it only with {L.MULTI_NETWORK_ENV}=true, and its LoadBalancer Service needs "
                    f"an address (kubectl --context {plan.context} -n {plan.namespace} get svc "
                    f"{plan.gateway_name}); wait longer with --wait")
        raise
    return tuple(str(a.get("value")) for a in (gw.status.get("addresses") if gw else None) or []
                 if isinstance(a, dict) and a.get("value"))


# -- preflight ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    context: str
    message: str
    hint: str
    fatal: bool = True


@dataclass(frozen=True)
class Preflight:
    problems: tuple[Problem, ...]
    trust_fix: tuple[str, ...] = ()  # the meshctl ca commands that give every cluster one root

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.fatal]


def _majority(values: dict[str, Any]) -> Any:
    """The most common value (ties: the first context's)."""
    counts = Counter(values.values())
    best = max(counts.values())
    return next(v for v in values.values() if counts[v] == best)


def _expose_hint(context: str, network: str | None, expose: bool) -> str:
    net = network or "NETWORK"
    if expose:
        return f"add --network {context}={net} (with --expose)"
    return f"run meshctl multicluster expose --context {context} --network {net}, or link with --expose " \
           f"--network {context}={net}"


def check_clusters(contexts: Sequence[str], identities: dict[str, ClusterIdentity],
                   unreachable: dict[str, MeshctlError], *, expose: bool = False,
                   networks: dict[str, str] | None = None) -> Preflight:
    """Everything that must hold before linking, every problem at once (none is fixed here)."""
    networks = networks or {}
    problems: list[Problem] = []
    usable: dict[str, ClusterIdentity] = {}
    for ctx in contexts:
        if ctx in unreachable:
            err = unreachable[ctx]
            problems.append(Problem(ctx, err.message.removeprefix(f"context {ctx}: "),
                                    err.hint or "check the context with kubectl"))
            continue
        ident = identities[ctx]
        if ident.multi_network is None:
            problems.append(Problem(ctx, f"no istiod found in {NS}",
                                    f"install the control plane first: meshctl install --context {ctx} "
                                    "--set values.global.meshID=MESH --set values.global.multiCluster.clusterName=NAME "
                                    "--set values.global.network=NETWORK"))
            continue
        usable[ctx] = ident
        problems.extend(_identity_problems(ctx, ident, expose, networks.get(ctx)))
    problems.extend(_duplicate_names(usable))
    problems.extend(_mesh_id_problems(usable))
    trust_problems, fix = _trust_problems(usable)
    problems.extend(trust_problems)
    return Preflight(tuple(problems), fix)


def _identity_problems(ctx: str, ident: ClusterIdentity, expose: bool, network: str | None) -> Iterable[Problem]:
    if not ident.cluster_name:
        suggested = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in ctx.lower()).strip("-") or "cluster1"
        yield Problem(ctx, f"istiod has no cluster name (CLUSTER_ID unset or {L.DEFAULT_CLUSTER_ID!r}), so peers "
                           "cannot tell this cluster from others",
                      f"meshctl upgrade --context {ctx} --set values.global.multiCluster.clusterName={suggested} "
                      "(or istioctl install with the same --set, for a control plane istioctl installed)")
    if not ident.network:
        if not (expose and network):
            yield Problem(ctx, f"namespace {NS} has no {L.NETWORK} label (the cluster's network)",
                          _expose_hint(ctx, network, expose))
    elif network and network != ident.network:
        yield Problem(ctx, f"--network {ctx}={network}, but {NS} is already on network {ident.network!r}",
                      f"drop --network {ctx}=..., or move it first: meshctl multicluster expose --context {ctx} "
                      f"--network {network} --force")
    if ident.multi_network is False and not expose:
        yield Problem(ctx, f"istiod runs without {L.MULTI_NETWORK_ENV}=true, so it routes nothing across networks",
                      _expose_hint(ctx, ident.network or network, False))
    if not ident.east_west and not expose:
        yield Problem(ctx, f"no east-west gateway (class {L.CLASS_EAST_WEST}) for peers to reach this cluster through",
                      _expose_hint(ctx, ident.network or network, False))
    for gw in ident.east_west:
        if gw.programmed != "True" or not gw.addresses:
            yield Problem(ctx, f"east-west gateway {gw.namespace}/{gw.name} is "
                               + ("not Programmed" if gw.programmed != "True" else "without an address")
                               + " yet; cross-network traffic to this cluster fails until it is",
                          f"kubectl --context {ctx} -n {gw.namespace} describe gateway {gw.name}", fatal=False)
    if ident.trust.restart_pending:
        yield Problem(ctx, "istiod still hands out the root it had before cacerts changed",
                      f"kubectl --context {ctx} -n {NS} rollout restart deployment/istiod", fatal=False)


def _duplicate_names(idents: dict[str, ClusterIdentity]) -> Iterable[Problem]:
    by_name: dict[str, list[str]] = {}
    for ctx, ident in idents.items():
        if ident.cluster_name:
            by_name.setdefault(ident.cluster_name, []).append(ctx)
    for name, ctxs in by_name.items():
        if len(ctxs) > 1:
            yield Problem(", ".join(ctxs), f"contexts {' and '.join(ctxs)} all have cluster name {name!r}; each "
                                           "cluster needs its own",
                          f"rename all but one: meshctl upgrade --context {ctxs[-1]} "
                          "--set values.global.multiCluster.clusterName=NEW-NAME")


def _mesh_id_problems(idents: dict[str, ClusterIdentity]) -> Iterable[Problem]:
    if len(idents) < 2:
        return
    ids = {ctx: ident.effective_mesh_id for ctx, ident in idents.items()}
    if len(set(ids.values())) == 1:
        return
    wanted = _majority(ids)
    for ctx, mesh in ids.items():
        if mesh != wanted:
            shown = idents[ctx].mesh_id or f"unset (so the trust domain, {mesh})"
            yield Problem(ctx, f"meshID is {shown}, but the other clusters use {wanted!r}",
                          f"meshctl upgrade --context {ctx} --set values.global.meshID={wanted}")


def _trust_problems(idents: dict[str, ClusterIdentity]) -> tuple[list[Problem], tuple[str, ...]]:
    problems: list[Problem] = []
    roots: dict[str, str] = {}
    for ctx, ident in idents.items():
        trust = ident.trust
        if trust.source == "unknown":
            problems.append(Problem(ctx, f"cannot read the Secrets in {NS} to compare root certificates",
                                    "link needs read access to Secrets in the istio namespace (ask for RBAC)"))
        elif trust.source != "cacerts" or not trust.root:
            own = "its own self-signed root" if trust.source == "self-signed" else "no root meshctl can read"
            problems.append(Problem(ctx, f"no usable {L.CACERTS_SECRET} Secret in {NS}: istiod signs with {own}, "
                                         "which the other clusters do not trust",
                                    TRUST_HINT))
        else:
            roots[ctx] = trust.root
    if roots and len(set(roots.values())) > 1:
        wanted = _majority(roots)
        for ctx, root in roots.items():
            if root != wanted:
                problems.append(Problem(ctx, f"root certificate {_short(root)} differs from {_short(wanted)} "
                                             "(the other clusters' root)",
                                        TRUST_HINT))
    if not any(p.hint == TRUST_HINT for p in problems):
        return problems, ()
    names = {ctx: ident.cluster_name or ctx for ctx, ident in idents.items()}
    fix = [f"meshctl ca generate {' '.join(f'--cluster {n}' for n in names.values())} -o {CA_DIR}"]
    for ctx, name in names.items():
        force = " --force" if idents[ctx].trust.source == "cacerts" else ""
        fix.append(f"meshctl ca install --context {ctx} --cluster {name} --from {CA_DIR} --restart{force}")
    return problems, tuple(fix)


# -- link ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One object in one cluster, and what link/unlink does (or did) to it."""

    context: str
    action: str  # CREATE | UPDATE | UNCHANGED | KEPT | DELETE
    kind: str
    name: str  # namespace/name, or name for cluster-scoped objects
    note: str = ""

    def line(self) -> str:
        return f"{self.action:<9} {self.kind} {self.name}" + (f"  ({self.note})" if self.note else "")


@dataclass
class LinkTarget:
    """A cluster being linked: its state, writer, Istio name, and how peers reach its API server."""

    context: str
    name: str
    state: LiveState
    writer: ClusterWriter
    server: str
    ca_data: str  # base64 CA bundle from the kubeconfig ('' -> the token Secret's ca.crt)
    namespace: str = NS


def reader_cluster_role_name(namespace: str = NS) -> str:
    return f"{L.READER_CLUSTER_ROLE_PREFIX}{namespace}"


def reader_objects(namespace: str = NS) -> list[tuple[Any, dict[str, Any]]]:
    """(kind, object) of what remote clusters' istiod reads this cluster as, in creation order."""
    role = reader_cluster_role_name(namespace)
    labels = dict(LINK_LABELS)
    return [
        (K.SERVICE_ACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount",
                             "metadata": {"name": L.READER_SERVICE_ACCOUNT, "namespace": namespace,
                                          "labels": labels}}),
        (K.CLUSTER_ROLE, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                          "metadata": {"name": role, "labels": labels}, "rules": [dict(r) for r in READER_RULES]}),
        (K.CLUSTER_ROLE_BINDING, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                  "metadata": {"name": role, "labels": labels},
                                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                              "name": role},
                                  "subjects": [{"kind": "ServiceAccount", "name": L.READER_SERVICE_ACCOUNT,
                                                "namespace": namespace}]}),
        (K.SECRET, {"apiVersion": "v1", "kind": "Secret", "type": L.SA_TOKEN_SECRET_TYPE,
                    "metadata": {"name": L.READER_TOKEN_SECRET, "namespace": namespace, "labels": labels,
                                 "annotations": {L.SA_NAME_ANNOTATION: L.READER_SERVICE_ACCOUNT}}}),
    ]


def _ref(kind, obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if kind.namespaced else str(meta["name"])


def created_by_link(res: Resource) -> bool:
    return res.labels.get(L.LINK_CREATED_BY) == L.LINK_CREATED_BY_LINK


def owner_note(res: Resource) -> str:
    if res.labels.get(L.INSTALL_ID):
        return "installed by meshctl install"
    if created_by_link(res):
        return "created by meshctl multicluster link"
    return "created by another tool"


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value or "")).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""


@dataclass(frozen=True)
class Credentials:
    """How peers authenticate to a cluster; never printed (repr hides the values)."""

    token: str = field(repr=False)
    ca_data: str = field(repr=False)


def token_of(secret: Resource | None) -> str:
    return _decoded((secret.raw.get("data") or {}).get("token")) if secret is not None else ""


@dataclass
class ClusterView:
    """What link and unlink read of one cluster before deciding anything."""

    target: LinkTarget
    reader: list[tuple[Any, dict[str, Any], Resource | None]]  # (kind, wanted object, existing)
    remote_secrets: dict[str, Resource]  # name -> Secret labelled istio/multiCluster

    @property
    def token_secret(self) -> Resource | None:
        return next((live for kind, _, live in self.reader if kind is K.SECRET), None)


def read_cluster(target: LinkTarget) -> ClusterView:
    state = target.state
    reader = [(kind, obj, state.get(kind, obj["metadata"]["name"], obj["metadata"].get("namespace")))
              for kind, obj in reader_objects(target.namespace)]
    secrets = state.list(K.SECRET, target.namespace, labels={L.MULTICLUSTER_SECRET: "true"})
    return ClusterView(target, reader, {s.name: s for s in secrets})


def remote_secret_name(cluster: str) -> str:
    return f"{L.REMOTE_SECRET_PREFIX}{cluster}"


def remote_kubeconfig(cluster: str, server: str, ca_data: str, token: str) -> str:
    """The kubeconfig a peer's istiod reads this cluster with (the shape istioctl create-remote-secret writes)."""
    entry: dict[str, Any] = {"server": server}
    if ca_data:
        entry = {"certificate-authority-data": ca_data, "server": server}
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"cluster": entry, "name": cluster}],
        "contexts": [{"context": {"cluster": cluster, "user": cluster}, "name": cluster}],
        "current-context": cluster,
        "preferences": {},
        "users": [{"name": cluster, "user": {"token": token}}],
    }
    return dump(config)


def remote_secret(source: LinkTarget, creds: Credentials, namespace: str) -> dict[str, Any]:
    """The Secret that lets a peer's istiod read ``source`` (placed in the peer's istio namespace)."""
    text = remote_kubeconfig(source.name, source.server, source.ca_data or creds.ca_data, creds.token)
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": remote_secret_name(source.name), "namespace": namespace,
                     "labels": {L.MULTICLUSTER_SECRET: "true", **LINK_LABELS},
                     "annotations": {L.CLUSTER_ANNOTATION: source.name}},
        "data": {source.name: base64.b64encode(text.encode()).decode()},
    }


def remote_secret_action(existing: Resource | None, wanted: dict[str, Any] | None) -> str:
    """CREATE, UPDATE, UNCHANGED, or KEPT (a remote secret link did not create is never touched).
    ``wanted`` None: the source's token is not known yet (planning a first link)."""
    if existing is None:
        return CREATE
    if not created_by_link(existing):
        return KEPT
    if wanted is None:
        return UPDATE
    meta = wanted["metadata"]
    same = (all(existing.labels.get(k) == v for k, v in meta["labels"].items())
            and all(existing.annotations.get(k) == v for k, v in meta["annotations"].items())
            and (existing.raw.get("data") or {}) == wanted["data"]
            and existing.raw.get("type", "Opaque") == wanted["type"])
    return UNCHANGED if same else UPDATE


def _remote_note(source: LinkTarget, action: str) -> str:
    if action == KEPT:
        return f"not created by meshctl link, left as it is; delete it to let link manage the link to {source.name}"
    return f"reads cluster {source.name} at {redact_url(source.server)} as {L.READER_SERVICE_ACCOUNT}, token {REDACTED}"


@dataclass
class LinkResult:
    steps: list[Step]
    failures: list[tuple[str, MeshctlError]]  # (context, what stopped it)


def _reader_steps(view: ClusterView) -> list[Step]:
    ctx = view.target.context
    out = []
    for kind, obj, live in view.reader:
        ref = _ref(kind, obj)
        if live is None:
            note = "its token is filled in by Kubernetes" if kind is K.SECRET else ""
            out.append(Step(ctx, CREATE, kind.kind, ref, note))
        else:
            out.append(Step(ctx, UNCHANGED, kind.kind, ref, owner_note(live)))
    return out


def _known_credentials(view: ClusterView) -> Credentials | None:
    secret = view.token_secret
    token = token_of(secret)
    if not token:
        return None
    return Credentials(token, str((secret.raw.get("data") or {}).get("ca.crt") or ""))


def _pairs(views: Sequence[ClusterView]) -> list[tuple[ClusterView, ClusterView]]:
    """(destination, source) for every ordered pair: the destination holds the source's remote secret."""
    return [(dst, src) for dst in views for src in views if dst is not src]


def _remote_secret_steps(views: Sequence[ClusterView], creds: dict[str, Credentials | None]
                         ) -> list[tuple[Step, tuple[ClusterView, dict[str, Any]] | None]]:
    """Each pair's remote secret: the step, and the write it needs (None when there is nothing to write).
    Sources missing from ``creds`` are left out; a None credential means its token is not known yet."""
    out = []
    made: dict[str, dict[str, Any]] = {}  # one kubeconfig per source, whichever peer it goes to
    for dst, src in _pairs(views):
        if src.target.context not in creds:
            continue
        known = creds[src.target.context]
        wanted = None
        if known:
            if src.target.context not in made:
                made[src.target.context] = remote_secret(src.target, known, dst.target.namespace)
            wanted = made[src.target.context]
            wanted = dict(wanted, metadata=dict(wanted["metadata"], namespace=dst.target.namespace))
        name = remote_secret_name(src.target.name)
        action = remote_secret_action(dst.remote_secrets.get(name), wanted)
        step = Step(dst.target.context, action, "Secret", f"{dst.target.namespace}/{name}",
                    _remote_note(src.target, action))
        out.append((step, (dst, wanted) if wanted is not None and action in (CREATE, UPDATE) else None))
    return out


@dataclass
class LinkPlan:
    """What link read of every cluster and would do; ``link`` carries it out."""

    targets: list[LinkTarget]
    views: list[ClusterView]
    steps: list[Step]
    failures: list[tuple[str, MeshctlError]]  # clusters that could not be read

    @property
    def changed(self) -> bool:
        return any(s.action in CHANGES for s in self.steps)


def plan_link(targets: Sequence[LinkTarget]) -> LinkPlan:
    """Read every cluster (in parallel) and say what link would do; nothing is written."""
    done, failed = in_parallel(list(targets), read_cluster)
    views = [v for _, v in done]
    creds = {v.target.context: _known_credentials(v) for v in views}
    steps = [s for v in views for s in _reader_steps(v)] + [s for s, _ in _remote_secret_steps(views, creds)]
    return LinkPlan(list(targets), views, _ordered(steps, targets), [(t.context, e) for t, e in failed])


def _ordered(steps: list[Step], targets: Sequence[LinkTarget]) -> list[Step]:
    order = {t.context: i for i, t in enumerate(targets)}
    return sorted(steps, key=lambda s: order.get(s.context, len(order)))  # stable: plan order within a cluster


def ensure_reader(view: ClusterView, *, token_timeout: float = TOKEN_TIMEOUT) -> Credentials:
    """Create the reader objects that are missing (never touching existing ones) and wait for the token."""
    target = view.target
    for kind, obj, live in view.reader:
        if live is None:
            target.writer.create(obj)

    def token_filled(secret: Resource | None) -> tuple[bool, str]:
        if secret is None:
            return False, "the token Secret does not exist"
        return bool(token_of(secret)), "waiting for Kubernetes to fill in the reader's token"

    try:
        secret = target.writer.wait(K.SECRET, L.READER_TOKEN_SECRET, target.namespace, token_filled,
                                    timeout=token_timeout, interval=0.5)
    except WaitTimeout as err:
        raise MeshctlError(f"context {target.context}: {err.message}",
                           hint="the token controller of kube-controller-manager fills service-account-token "
                                "Secrets; check it runs, then run link again") from None
    return Credentials(token_of(secret), str((secret.raw.get("data") or {}).get("ca.crt") or ""))


def link(plan: LinkPlan, *, token_timeout: float = TOKEN_TIMEOUT) -> LinkResult:
    """Carry out a plan: reader objects in each cluster, then each cluster's remote secret in every peer.
    Work on different clusters, and the writes into one cluster, run in parallel; unchanged objects are not
    written. Clusters that fail are reported and the rest is done, so a re-run finishes the job."""
    targets, views, failures = plan.targets, plan.views, list(plan.failures)
    done, failed = in_parallel(views, lambda v: ensure_reader(v, token_timeout=token_timeout))
    failures += [(v.target.context, e) for v, e in failed]
    creds: dict[str, Credentials | None] = {v.target.context: c for v, c in done}
    stopped = {ctx for ctx, _ in failures}
    live = [v for v in views if v.target.context not in stopped]
    steps = [s for v in live for s in _reader_steps(v)]
    pairs = _remote_secret_steps(live, creds)
    writes = [w for _, w in pairs if w is not None]
    for dst, _ in writes:
        dst.target.state.version_for(K.SECRET)  # discovery answered before the threads start
    _, failed_writes = in_parallel(writes, lambda w: w[0].target.writer.apply(w[1]))
    unwritten = {id(w) for w, _ in failed_writes}
    steps += [step for step, w in pairs if w is None or id(w) not in unwritten]
    for (dst, _), err in failed_writes:
        if dst.target.context not in stopped:
            stopped.add(dst.target.context)
            failures.append((dst.target.context, err))
    return LinkResult(_ordered(steps, targets), failures)


# -- unlink -------------------------------------------------------------------------------------------


def _peer_name(secret: Resource) -> str:
    return secret.annotations.get(L.CLUSTER_ANNOTATION) or secret.name.removeprefix(L.REMOTE_SECRET_PREFIX)


def _unlink_steps(views: Sequence[ClusterView]) -> list[tuple[Step, tuple[LinkTarget, Any, str, str | None] | None]]:
    """What unlink removes among these clusters: each pair's remote secrets that link created; then, in a
    cluster that holds no other remote secret any more, the reader objects link created. (A cluster still
    holding remote secrets of clusters not named here is still linked with them, and they with it, so
    its reader token stays.)"""
    out: list[tuple[Step, tuple[LinkTarget, Any, str, str | None] | None]] = []
    for dst in views:
        t = dst.target
        removed = set()
        for src in views:
            name = remote_secret_name(src.target.name)
            existing = dst.remote_secrets.get(name) if src is not dst else None
            if existing is None:
                continue
            if created_by_link(existing):
                removed.add(name)
                out.append((Step(t.context, DELETE, "Secret", f"{t.namespace}/{name}", f"link to {src.target.name}"),
                            (t, K.SECRET, name, t.namespace)))
            else:
                out.append((Step(t.context, KEPT, "Secret", f"{t.namespace}/{name}",
                                 "not created by meshctl link, so unlink leaves it"), None))
        remaining = sorted({_peer_name(s) for n, s in dst.remote_secrets.items() if n not in removed})
        for kind, obj, live in reversed(dst.reader):  # the token first, the ServiceAccount last
            if live is None or not created_by_link(live) or live.labels.get(L.INSTALL_ID):
                continue  # never what an install owns (an install may have taken over what link made)
            ref = _ref(kind, obj)
            if remaining:
                out.append((Step(t.context, KEPT, kind.kind, ref,
                                 f"still linked with {', '.join(remaining)}"), None))
            else:
                out.append((Step(t.context, DELETE, kind.kind, ref, "created by meshctl multicluster link"),
                            (t, kind, obj["metadata"]["name"], obj["metadata"].get("namespace"))))
    return out


def unlink(targets: Sequence[LinkTarget], *, dry_run: bool = False) -> LinkResult:
    """Remove exactly what link created among these clusters (in parallel across clusters)."""
    done, failed = in_parallel(list(targets), read_cluster)
    failures = [(t.context, e) for t, e in failed]
    planned = _unlink_steps([v for _, v in done])
    if dry_run:
        return LinkResult(_ordered([s for s, _ in planned], targets), failures)
    by_context: dict[str, list[tuple[Step, tuple[LinkTarget, Any, str, str | None] | None]]] = {}
    for step, deletion in planned:
        by_context.setdefault(step.context, []).append((step, deletion))

    def remove(ctx: str) -> list[Step]:
        out = []
        for step, deletion in by_context[ctx]:
            if deletion is not None:
                target, kind, name, namespace = deletion
                target.writer.delete(kind, name, namespace)
            out.append(step)
        return out

    removed, failed_removals = in_parallel(list(by_context), remove)
    failures += failed_removals
    return LinkResult(_ordered([s for _, steps in removed for s in steps], targets), failures)
