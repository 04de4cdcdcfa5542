"""What the objects of one or several clusters say about ambient multicluster: identity, trust, links."""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import yaml

from meshctl.errors import MeshctlError, NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part, note
from meshctl.kube.live import PROBE_TIMEOUT, Probe, parse_kubeconfig, redact_url
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import ISTIOD, find_control_plane, istiod_env_by_revision, resolve_cluster_name
from meshctl.mesh.health import FAILURE, OK, SKIPPED, WARNING, Category, Check, CheckResult, run_checks
from meshctl.mesh.waypoints import programmed_condition

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def pem_certificates(pem: str) -> list[bytes]:
    """The DER bytes of every certificate in a PEM text, in order (malformed blocks are skipped)."""
    found = []
    for body in _PEM_CERT.findall(pem or ""):
        try:
            found.append(base64.b64decode("".join(body.split()), validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint as openssl prints it (upper-case hex pairs joined by colons)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def root_fingerprint(pem: str) -> str | None:
    """Fingerprint of the first certificate in a PEM text (a root-cert.pem holds the root first)."""
    certs = pem_certificates(pem)
    return fingerprint(certs[0]) if certs else None


def short_fingerprint(fp: str | None) -> str:
    """The first 8 hex pairs of a fingerprint, enough to tell roots apart at a glance."""
    return ":".join(fp.split(":")[:8]) if fp else ""


# -- one cluster's multicluster identity ------------------------------------------------------------------


@dataclass(frozen=True)
class EastWestGateway:
    namespace: str
    name: str
    network: str  # its topology.istio.io/network label ('' when missing)
    programmed: str  # True | False | Unknown (a stale condition counts as Unknown)
    reason: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class RemoteSecret:
    """A Secret istiod watches to reach another cluster (never holds the credentials themselves)."""

    namespace: str
    name: str
    cluster: str  # the peer it points at (annotation, else the data key, else the name)
    server: str  # the API server URL in its kubeconfig, without credentials ('' when unreadable)
    auth: str  # token | client-certificate | exec | none | unknown (values not captured, as in snapshots)
    problem: str  # why istiod cannot use it ('' when well formed)
    managed_by_meshctl: bool


@dataclass(frozen=True)
class Trust:
    """Which CA issues this cluster's workload certificates."""

    source: str  # cacerts | self-signed | none | unknown
    root: str | None  # fingerprint of the root in cacerts (or istiod's self-signed root)
    distributed_root: str | None  # fingerprint of the root istiod hands out (istio-ca-root-cert)

    @property
    def restart_pending(self) -> bool:
        """cacerts names a root istiod is not distributing yet: istiod was not restarted since."""
        return self.source == "cacerts" and bool(self.root and self.distributed_root) \
            and self.root != self.distributed_root


@dataclass(frozen=True)
class ClusterIdentity:
    context: str
    cluster_name: str | None  # istiod's CLUSTER_ID; None when istiod runs with the default name
    mesh_id: str | None  # mesh config defaultConfig.meshId; None when unset (Istio then uses the trust domain)
    trust_domain: str
    network: str  # the istio namespace's network label ('' when unset)
    multi_network: bool | None  # istiod runs with AMBIENT_ENABLE_MULTI_NETWORK=true; None: no istiod seen
    istiod_versions: tuple[str, ...]
    istiod_ready: bool
    trust: Trust
    east_west: tuple[EastWestGateway, ...]
    remote_secrets: tuple[RemoteSecret, ...]
    global_services: frozenset[str]  # "ns/name" of Services labelled istio.io/global=true
    waypoints: frozenset[str]  # "ns/name" of waypoint Gateways
    server: str = ""  # the API server URL the user's kubeconfig names (never credentials)
    label: str = ""  # what reports call it when its name is not unique among the clusters read
    secret_values: bool = True  # the source holds Secret values (a snapshot keeps only their keys)
    services: frozenset[str] = frozenset()  # "ns/name" of every Service
    global_service_ports: tuple[tuple[str, str], ...] = ()  # ("ns/name", its ports) of each global Service

    @property
    def effective_mesh_id(self) -> str:
        return self.mesh_id or self.trust_domain

    @property
    def name(self) -> str:
        """What reports call the cluster: Istio's name for it, else its context."""
        return self.label or self.cluster_name or self.context

    @property
    def trusted_root(self) -> str | None:
        """The root to compare across clusters: the one in cacerts, else the one istiod hands out."""
        return self.trust.root or self.trust.distributed_root


def _mesh_config(state: ClusterState, namespace: str) -> Part:
    """The mesh config of the default revision's ``istio`` ConfigMap (empty when absent or broken), to
    read through typed getters: it is YAML a user wrote."""
    cm = _get(state, K.CONFIG_MAP, "istio", namespace)
    if cm is None:
        return Part({}, "")
    text = cm.fields.text("data", "mesh")
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        data = {}
    if data is not None and not isinstance(data, dict):
        note(cm.origin, "data.mesh", dict)
    return Part(data, cm.origin, "data.mesh")


def _get(state: ClusterState, kind, name: str, namespace: str) -> Resource | None:
    if not state.serves(kind):
        return None
    try:
        return state.get(kind, name, namespace)
    except NotCapturedError:
        return None


def secret_data(secret: Resource) -> dict[str, str]:
    """A Secret's values as text (``data`` decoded, ``stringData`` on top, as the API server would). A
    null value is empty (its key stays: snapshots keep keys only); a value that is no string is noted
    and left out."""
    fields = secret.fields
    values: dict[str, str] = {}
    for field in ("data", "stringData"):
        for key, value in fields.mapping(field).items():
            key = str(key)
            if value is None:
                values.setdefault(key, "")
            elif not isinstance(value, str):
                note(secret.origin, f"{field}.{key}", str)
            elif field == "stringData":
                values[key] = value
            else:
                try:
                    values[key] = base64.b64decode(value).decode("utf-8")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    values[key] = ""
    return values


def read_trust(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> Trust:
    if not state.serves(K.SECRET):
        return Trust("unknown", None, None)
    root_cm = _get(state, K.CONFIG_MAP, L.ROOT_CERT_CONFIGMAP, namespace)
    distributed = root_fingerprint(root_cm.fields.text("data", L.ROOT_CERT_KEY)) if root_cm else None
    cacerts = _get(state, K.SECRET, L.CACERTS_SECRET, namespace)
    if cacerts is not None:
        data = secret_data(cacerts)
        if L.TLS_CERT_KEY in data:  # istiod prefers the kubernetes.io/tls layout when tls.crt is there
            root_pem = data.get(L.TLS_CA_KEY, "")
        else:
            root_pem = data.get(L.ROOT_CERT_KEY, "")
        return Trust("cacerts", root_fingerprint(root_pem), distributed)
    own = _get(state, K.SECRET, L.SELF_SIGNED_CA_SECRET, namespace)
    if own is not None:
        return Trust("self-signed", root_fingerprint(secret_data(own).get(L.CA_CERT_KEY, "")), distributed)
    return Trust("none", None, distributed)


def _remote_key(secret: Resource, data: dict[str, str]) -> str:
    """The peer a remote secret names: its annotation, else its only data key, else its own name."""
    return secret.fields.text("metadata", "annotations", L.CLUSTER_ANNOTATION) \
        or (next(iter(data)) if len(data) == 1 else secret.name)


def _kubeconfig_entry(secret: Resource, data: dict[str, str]) -> tuple[str, str]:
    """(data key, kubeconfig text) of a remote secret: under the peer's key, else its only value ('' when none)."""
    key = _remote_key(secret, data)
    if data.get(key):
        return key, data[key]
    return next(iter(data.items())) if len(data) == 1 else (key, "")


def _parsed_kubeconfig(secret: Resource, key: str, text: str) -> Part | None:
    """A remote secret's kubeconfig text parsed (None when it does not parse), to read through typed
    getters: whatever the Secret holds, wrong types in it are noted against the Secret's key."""
    config = parse_kubeconfig(text)
    return None if config is None else Part(config, secret.origin, f"data.{key}")


def read_remote_secret(secret: Resource) -> RemoteSecret:
    """What a remote secret points at, and whether istiod can use it; credentials are not kept."""
    data = secret_data(secret)
    cluster = _remote_key(secret, data)
    key, text = _kubeconfig_entry(secret, data)
    server, auth, problem = "", "none", ""
    if not text and cluster in data:  # a snapshot keeps the keys of a Secret, never its values
        auth = "unknown"
    elif not text:
        problem = f"no kubeconfig under key {cluster!r}"
    else:
        config = _parsed_kubeconfig(secret, key, text)
        if config is None:
            problem = "its kubeconfig does not parse"
        else:
            server, auth, problem = _kubeconfig_target(config)
    managed = secret.labels.get(L.MANAGED_BY) == L.MANAGED_BY_MESHCTL
    return RemoteSecret(secret.namespace, secret.name, cluster, server, auth, problem, managed)


def _current_context(config: Part) -> tuple[Part, Part]:
    """The (cluster, user) entries of a kubeconfig's current context, or of its only one (empty when
    absent): kube.live.select_context's choice, through typed getters."""
    def named(section: str, name: str) -> Part:
        entries = config.parts(section)
        chosen = next((e for e in entries if e.text("name") == name), entries[0] if len(entries) == 1 else None)
        return chosen if chosen is not None else Part({}, config.origin, config.path)

    context = named("contexts", config.text("current-context")).part("context")
    return (named("clusters", context.text("cluster")).part("cluster"),
            named("users", context.text("user")).part("user"))


def _kubeconfig_target(config: Part) -> tuple[str, str, str]:
    """(server, auth kind, problem) of a kubeconfig's current (or only) context."""
    cluster, user = _current_context(config)
    server = cluster.text("server")
    if user.text("token") or user.text("tokenFile"):
        auth = "token"
    elif user.text("client-certificate-data") or user.text("client-certificate"):
        auth = "client-certificate"
    elif user.mapping("exec") or user.mapping("auth-provider"):
        auth = "exec"
    else:
        auth = "none"
    if not server:
        return "", auth, "its kubeconfig names no API server"
    try:
        urlsplit(server).port  # noqa: B018 - urlsplit refuses some (an unclosed IPv6 bracket, a port out of range)
    except ValueError:
        return "", auth, "its kubeconfig's API server URL does not parse"
    shown = redact_url(server)
    if auth == "none":
        return shown, auth, "its kubeconfig carries no credentials"
    if auth == "exec":  # istiod runs no credential plugins
        return shown, auth, "its kubeconfig uses a credential plugin istiod cannot run"
    return shown, auth, ""


def probe_kubeconfig_text(secret: Resource) -> str:
    """A remote secret's kubeconfig for the prober ('' when none): only the cluster and user of the
    context istiod would use, rebuilt from the typed reading, so that a wrongly typed part elsewhere in
    it (``contexts: 5``) cannot trip the prober. Never stored or shown."""
    key, text = _kubeconfig_entry(secret, secret_data(secret))
    config = _parsed_kubeconfig(secret, key, text) if text else None
    if config is None:
        return ""
    cluster, user = _current_context(config)
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "peer",
                           "clusters": [{"name": "peer", "cluster": cluster.data}],
                           "users": [{"name": "peer", "user": user.data}],
                           "contexts": [{"name": "peer", "context": {"cluster": "peer", "user": "peer"}}]})


def find_remote_secrets(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> list[RemoteSecret]:
    if not state.serves(K.SECRET):
        return []
    secrets = state.list(K.SECRET, namespace, labels={L.MULTICLUSTER_SECRET: "true"})
    return sorted((read_remote_secret(s) for s in secrets), key=lambda r: (r.cluster, r.name))


def find_east_west(state: ClusterState) -> list[EastWestGateway]:
    found = []
    for gw in list_if_served(state, K.GATEWAY) or []:
        fields = gw.fields
        if fields.text("spec", "gatewayClassName") != L.CLASS_EAST_WEST:
            continue
        programmed, reason = programmed_condition(gw)
        addresses = tuple(value for a in fields.iter_parts("status", "addresses") if (value := a.text("value")))
        found.append(EastWestGateway(gw.namespace, gw.name, fields.text("metadata", "labels", L.NETWORK), programmed,
                                     reason, addresses))
    return sorted(found, key=lambda g: (g.namespace, g.name))


def _ports(service: Resource) -> str:
    """A Service's ports as clients see them (name, port, protocol), in a stable order."""
    ports = service.fields.parts("spec", "ports")
    return ", ".join(sorted(f"{p.text('name') or '-'} {p.integer('port')}/{p.text('protocol') or 'TCP'}"
                            for p in ports))


def describe_identity(state: ClusterState, namespace: str = L.ISTIO_NAMESPACE) -> ClusterIdentity:
    """Everything about one cluster that linking it to others depends on."""
    istiods = [c for c in find_control_plane(state, namespace) if c.component == ISTIOD] \
        if state.serves(K.DEPLOYMENT) else []
    envs = istiod_env_by_revision(state, namespace) if state.serves(K.DEPLOYMENT) else {}
    multi = None if not envs else any(e.get(L.MULTI_NETWORK_ENV, "").lower() == "true" for e in envs.values())
    mesh = _mesh_config(state, namespace)
    istio_ns = _get(state, K.NAMESPACE, namespace, None) if state.serves(K.NAMESPACE) else None
    services = list_if_served(state, K.SERVICE) or []
    gateways = list_if_served(state, K.GATEWAY) or []
    global_services = [s for s in services if s.labels.get(L.GLOBAL_SERVICE) == "true"]
    # Secrets first: the trust lookups below are then answered from the list already read.
    secret_values = state.info.kind != "snapshot"
    remote_secrets = [_value_missing(r) if secret_values and r.auth == "unknown" else r
                      for r in find_remote_secrets(state, namespace)]
    return ClusterIdentity(
        context=state.info.context or state.info.label,
        cluster_name=resolve_cluster_name(state, namespace),
        mesh_id=mesh.text("defaultConfig", "meshId") or None,
        trust_domain=mesh.text("trustDomain") or "cluster.local",
        network=istio_ns.fields.text("metadata", "labels", L.NETWORK) if istio_ns is not None else "",
        multi_network=multi,
        istiod_versions=tuple(sorted({c.version for c in istiods if c.version})),
        istiod_ready=bool(istiods) and all(c.ready >= c.desired > 0 for c in istiods),
        trust=read_trust(state, namespace),
        east_west=tuple(find_east_west(state)),
        remote_secrets=tuple(remote_secrets),
        global_services=frozenset(f"{s.namespace}/{s.name}" for s in global_services),
        waypoints=frozenset(f"{g.namespace}/{g.name}" for g in gateways
                            if g.fields.text("spec", "gatewayClassName") == L.CLASS_WAYPOINT),
        server=state.info.server,
        secret_values=secret_values,
        services=frozenset(f"{s.namespace}/{s.name}" for s in services),
        global_service_ports=tuple(sorted((f"{s.namespace}/{s.name}", _ports(s)) for s in global_services)),
    )


def _value_missing(secret: RemoteSecret) -> RemoteSecret:
    """A live remote secret whose kubeconfig value is empty: istiod cannot use it."""
    return replace(secret, auth="none", problem=f"its kubeconfig under key {secret.cluster!r} is empty")


# -- several clusters: links between them ---------------------------------------------------------------

OK_LINK, MISSING, BROKEN, UNKNOWN = "ok", "missing", "broken", "unknown"  # one direction
LINKED, ONE_WAY = "linked", "one-way"  # a pair (with MISSING, BROKEN, UNKNOWN)
PROBE_WORKERS = 16  # probes in flight at once
# Hosts the kubeconfigs of local clusters (kind, k3d, minikube, Docker Desktop) name: from inside a
# cluster they are the pod itself, so istiod in a peer can never reach an API server there.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "::")

Prober = Callable[[str, float], Probe]


def is_loopback_server(url: str) -> bool:
    """Whether an API server URL names this machine the way local-cluster tools write it."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:  # an unclosed IPv6 bracket: no host to tell
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return str(ipaddress.ip_address(host)) in LOOPBACK_HOSTS
    except ValueError:
        return False


def _server_key(url: str) -> tuple[str, str, int] | None:
    """A URL reduced to what names one API server (scheme, host, port), to compare two spellings."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        return None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port) if parts.hostname else None


@dataclass(frozen=True)
class LinkStatus:
    """One direction of a link: can istiod in ``source`` read ``peer`` through a remote secret?"""

    source: str  # cluster name
    peer: str  # the cluster the secret should reach (a name from the secret when the peer was not read)
    secret: RemoteSecret | None
    state: str  # ok | missing | broken | unknown
    reason: str  # what was found, one line
    cause: str = ""  # for broken links: problem | loopback | name | unreachable | unauthorized | forbidden
    peer_read: bool = True  # False: the secret points at a cluster that was not among those read

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.peer, "state": self.state, "reason": self.reason,
                "secret": f"{self.secret.namespace}/{self.secret.name}" if self.secret else None,
                "server": self.secret.server if self.secret else None}


@dataclass(frozen=True)
class PairStatus:
    """Two clusters and the links between them, both ways."""

    clusters: tuple[str, str]
    state: str  # linked | one-way | missing | broken | unknown
    directions: tuple[LinkStatus, LinkStatus]

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": list(self.clusters), "state": self.state,
                "directions": [d.to_dict() for d in self.directions]}


@dataclass(frozen=True)
class Unreadable:
    context: str
    message: str
    hint: str

    @property
    def line(self) -> str:
        """The error, naming the context once."""
        return self.message if self.message.startswith(f"context {self.context}") else \
            f"context {self.context}: {self.message}"


@dataclass(frozen=True)
class MeshView:
    """What ``multicluster check`` and ``status`` read: each cluster's identity and every link."""

    clusters: tuple[ClusterIdentity, ...]
    links: tuple[LinkStatus, ...]  # every (cluster, peer) direction, then secrets for clusters not read
    unreadable: tuple[Unreadable, ...] = ()
    namespace: str = L.ISTIO_NAMESPACE

    def context_of(self, name: str) -> str:
        return next((c.context for c in self.clusters if c.name == name), name)

    def pairs(self) -> list[PairStatus]:
        """Every pair of clusters read, in the order given, with the state of the link between them."""
        by_direction = {(link.source, link.peer): link for link in self.links if link.peer_read}
        found = []
        names = [c.name for c in self.clusters]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                there, back = by_direction.get((a, b)), by_direction.get((b, a))
                if there is not None and back is not None:
                    found.append(PairStatus((a, b), pair_state(there.state, back.state), (there, back)))
        return found


def pair_state(there: str, back: str) -> str:
    states = {there, back}
    if BROKEN in states:
        return BROKEN
    if states == {OK_LINK}:
        return LINKED
    if states == {MISSING}:
        return MISSING
    return ONE_WAY if MISSING in states else UNKNOWN


def describe_clusters(states: Sequence[ClusterState], namespace: str = L.ISTIO_NAMESPACE
                      ) -> list[tuple[ClusterState, ClusterIdentity | None, Unreadable | None]]:
    """Each cluster's identity, read in parallel (one thread per cluster); a cluster that cannot be
    read gives its error instead, and the others are still described."""
    def one(state: ClusterState):
        try:
            return state, describe_identity(state, namespace), None
        except MeshctlError as err:
            return state, None, Unreadable(state.info.context or state.info.label, err.message, err.hint or "")

    if len(states) < 2:
        return [one(s) for s in states]
    with ThreadPoolExecutor(max_workers=min(len(states), PROBE_WORKERS)) as pool:
        return list(pool.map(one, states))


def _match_secrets(source: ClusterIdentity, peers: Sequence[ClusterIdentity]
                   ) -> tuple[dict[int, tuple[RemoteSecret, bool]], list[RemoteSecret]]:
    """Which of ``source``'s remote secrets points at which peer (by index; ``source`` itself is
    skipped): first by the API server URL the user's kubeconfig has for the peer, then by cluster
    name. Also the secrets left over."""
    left = list(source.remote_secrets)
    by_server: dict[tuple[str, str, int], RemoteSecret] = {}
    for secret in left:
        key = _server_key(secret.server)
        if key is not None:
            by_server.setdefault(key, secret)
    matched: dict[int, tuple[RemoteSecret, bool]] = {}
    taken: set[str] = set()
    for i, peer in enumerate(peers):
        secret = by_server.get(_server_key(peer.server) or ("", "", 0))
        if peer is not source and secret is not None and secret.name not in taken:
            matched[i] = (secret, True)
            taken.add(secret.name)
    by_name: dict[str, RemoteSecret] = {}
    for secret in left:
        if secret.name not in taken:
            by_name.setdefault(secret.cluster, secret)
    for i, peer in enumerate(peers):
        secret = by_name.get(peer.cluster_name or peer.context)
        if peer is not source and i not in matched and secret is not None and secret.name not in taken:
            matched[i] = (secret, False)
            taken.add(secret.name)
    return matched, [s for s in left if s.name not in taken]


def _probe_all(jobs: dict[tuple[int, str], str], prober: Prober, timeout: float) -> dict[tuple[int, str], Probe]:
    """Run every probe in parallel threads; jobs are (cluster index, secret name) -> kubeconfig text."""
    if not jobs:
        return {}
    keys = list(jobs)
    with ThreadPoolExecutor(max_workers=min(len(keys), PROBE_WORKERS)) as pool:
        results = list(pool.map(lambda key: prober(jobs[key], timeout), keys))
    return dict(zip(keys, results))


def _probeable(identity: ClusterIdentity, secret: RemoteSecret) -> bool:
    return identity.secret_values and not secret.problem and secret.auth in ("token", "client-certificate") \
        and not is_loopback_server(secret.server)


def _direction(source: ClusterIdentity, peer_name: str, secret: RemoteSecret | None, probe: Probe | None, *,
               expected_id: str | None = None, peer_read: bool = True) -> LinkStatus:
    """The state of one direction. ``expected_id``: the peer's CLUSTER_ID when the secret was matched to
    the peer by its API server (then the secret must carry that name)."""
    def link(state: str, reason: str, cause: str = "") -> LinkStatus:
        return LinkStatus(source.name, peer_name, secret, state, reason, cause, peer_read)

    if secret is None:
        return link(MISSING, f"{source.name} has no remote secret for {peer_name}")
    where = f"{secret.namespace}/{secret.name}"
    if secret.problem:
        return link(BROKEN, f"{where}: {secret.problem}", "problem")
    if is_loopback_server(secret.server):
        return link(BROKEN, f"{where} points at {secret.server}, a loopback address: inside {source.name} "
                            "that is the pod itself, not the peer's API server", "loopback")
    if expected_id is not None and secret.cluster != expected_id:
        return link(BROKEN, f"{where} names cluster {secret.cluster!r}, but the API server it reaches "
                            f"({secret.server}) runs istiod as {expected_id!r}", "name")
    if secret.auth == "unknown" or not source.secret_values:
        return link(UNKNOWN, f"{where}: its kubeconfig is not in the source (snapshots keep no secret values), "
                             "so the link cannot be probed")
    if probe is None:
        return link(UNKNOWN, f"{where}: not probed")
    if not probe.attempted:
        return link(UNKNOWN, f"{where} -> {secret.server}: not probed: {probe.reason}")
    if not probe.ok:
        cause = "unreachable" if not probe.reachable else "unauthorized" if not probe.authenticated else "forbidden"
        return link(BROKEN, f"{where} -> {secret.server}: {probe.reason}", cause)
    return link(OK_LINK, f"{where} -> {secret.server}: its credentials are accepted and may list pods")


def read_mesh(states: Sequence[ClusterState], *, prober: Prober | None = None, timeout: float = PROBE_TIMEOUT,
              namespace: str = L.ISTIO_NAMESPACE, unreachable: Sequence[Unreadable] = ()) -> MeshView:
    """Describe every cluster and every link between them. ``prober`` calls an API server with a
    kubeconfig's credentials (live sources); without one, links are at best 'unknown'. Probes run in
    parallel, one per remote secret. ``unreachable``: clusters that could not even be opened."""
    described = describe_clusters(states, namespace)
    readable = [(state, identity) for state, identity, _ in described if identity is not None]
    counts: dict[str, int] = {}
    for _, identity in readable:
        counts[identity.name] = counts.get(identity.name, 0) + 1
    # Two clusters under one name (a fault the checks report) still need telling apart in the report.
    readable = [(state, replace(identity, label=f"{identity.name} ({identity.context})")
                 if counts[identity.name] > 1 else identity) for state, identity in readable]
    identities = [identity for _, identity in readable]
    matches = [_match_secrets(identity, identities) for identity in identities]
    jobs: dict[tuple[int, str], str] = {}
    for i, (state, identity) in enumerate(readable):
        for secret in identity.remote_secrets:
            if prober is not None and _probeable(identity, secret):
                raw = state.get(K.SECRET, secret.name, secret.namespace)  # from the list already read
                text = probe_kubeconfig_text(raw) if raw is not None else ""
                if text:
                    jobs[(i, secret.name)] = text
    probes = _probe_all(jobs, prober, timeout) if prober is not None else {}
    links: list[LinkStatus] = []
    for i, source in enumerate(identities):
        matched, _ = matches[i]
        for j, peer in enumerate(identities):
            if j == i:
                continue
            secret, by_server = matched.get(j, (None, False))
            expected = (peer.cluster_name or L.DEFAULT_CLUSTER_ID) if by_server else None
            links.append(_direction(source, peer.name, secret, probes.get((i, secret.name)) if secret else None,
                                    expected_id=expected))
    for i, source in enumerate(identities):
        for secret in matches[i][1]:
            links.append(_direction(source, secret.cluster, secret, probes.get((i, secret.name)), peer_read=False))
    unreadable = tuple(unreachable) + tuple(u for _, _, u in described if u is not None)
    return MeshView(tuple(identities), tuple(links), unreadable, namespace)


# -- multicluster check ---------------------------------------------------------------------------------

CHECK_HINT = "meshctl multicluster check"


def _names(identities: Iterable[ClusterIdentity]) -> str:
    return ", ".join(c.name for c in identities)


def _link_command(view: MeshView, *clusters: str) -> str:
    names = clusters or tuple(c.name for c in view.clusters)
    return "meshctl multicluster link " + " ".join(f"--context {view.context_of(n)}" for n in names)


def _expose_command(cluster: ClusterIdentity) -> str:
    return f"meshctl multicluster expose --context {cluster.context} --network {cluster.network or 'NETWORK'}"


def _ca_commands(view: MeshView, cluster: ClusterIdentity, *, force: bool = False) -> str:
    generate = "meshctl ca generate " + " ".join(f"--cluster {c.name}" for c in view.clusters) + " -o DIR"
    install = (f"meshctl ca install --context {cluster.context} --cluster {cluster.name} --from DIR"
               + (" --force" if force else "") + " --restart")
    return f"{generate} (add --root DIR to keep a root you have), then in each cluster {install}"


def clusters_read(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster can be read"
    if view.unreadable:
        first = view.unreadable[0]
        yield CheckResult(name, FAILURE, "\n".join(u.line for u in view.unreadable),
                          first.hint or "check the context: kubectl --context CONTEXT get ns")
    elif len(view.clusters) < 2:
        only = view.clusters[0].name if view.clusters else "no cluster"
        yield CheckResult(name, WARNING, f"only {only} was read: links need two clusters or more",
                          "name every cluster of the mesh: meshctl multicluster check --context A --context B")
    else:
        yield CheckResult(name, OK, f"{len(view.clusters)} clusters: {_names(view.clusters)}")


def istiod_ready(view: MeshView) -> Iterable[CheckResult]:
    name = "istiod is ready in every cluster"
    problems = [(c, f"{c.name}: no istiod in {view.namespace}" if c.multi_network is None
                 else f"{c.name}: istiod is not ready") for c in view.clusters if not c.istiod_ready]
    if problems:
        yield CheckResult(name, FAILURE, "\n".join(line for _, line in problems),
                          f"see what is wrong: meshctl check --context {problems[0][0].context}")
    else:
        versions = sorted({v for c in view.clusters for v in c.istiod_versions})
        yield CheckResult(name, OK, ", ".join(versions))


def cluster_names(view: MeshView) -> Iterable[CheckResult]:
    name = "cluster names are set and unique"
    unnamed = [c for c in view.clusters if not c.cluster_name]
    by_name: dict[str, list[ClusterIdentity]] = {}
    for c in view.clusters:
        if c.cluster_name:
            by_name.setdefault(c.cluster_name, []).append(c)
    shared = {n: cs for n, cs in by_name.items() if len(cs) > 1}
    lines = [f"context {c.context}: istiod runs with the default name {L.DEFAULT_CLUSTER_ID}" for c in unnamed]
    lines += [f"{n} names the clusters of contexts {', '.join(c.context for c in cs)}" for n, cs in shared.items()]
    if lines:
        target = unnamed[0] if unnamed else next(iter(shared.values()))[1]
        yield CheckResult(name, FAILURE, "\n".join(lines),
                          "give each cluster its own name at install: meshctl install --context "
                          f"{target.context} --set values.global.multiCluster.clusterName=NAME (with the values "
                          "it was installed with), then link again")
    else:
        yield CheckResult(name, OK, _names(view.clusters))


def mesh_ids(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster has the same meshID"
    groups: dict[str, list[ClusterIdentity]] = {}
    for c in view.clusters:
        groups.setdefault(c.effective_mesh_id, []).append(c)
    if len(groups) > 1:
        wanted = max(groups, key=lambda m: len(groups[m]))
        other = next(c for m, cs in groups.items() if m != wanted for c in cs)
        yield CheckResult(name, FAILURE, "\n".join(f"{m}: {_names(cs)}" for m, cs in groups.items()),
                          f"use one meshID: meshctl install --context {other.context} "
                          f"--set values.global.meshID={wanted} (with the values it was installed with)")
    elif groups:
        only = next(iter(groups))
        unset = all(c.mesh_id is None for c in view.clusters)
        yield CheckResult(name, OK, only + (" (the trust domain: no meshID is set)" if unset else ""))


def plugged_in_ca(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster has a plugged-in CA (cacerts)"
    why = {"self-signed": f"no {L.CACERTS_SECRET} Secret: istiod signs with a root of its own, "
                          "which no other cluster trusts",
           "none": f"no {L.CACERTS_SECRET} Secret, and istiod has made no CA of its own yet"}
    problems = [c for c in view.clusters if c.trust.source in why]
    unknown = [c for c in view.clusters if c.trust.source == "unknown"]
    if problems:
        yield CheckResult(name, FAILURE, "\n".join(f"{c.name}: {why[c.trust.source]}" for c in problems),
                          _ca_commands(view, problems[0]))
    elif unknown:
        yield CheckResult(name, SKIPPED, f"Secrets are not available from {_names(unknown)}",
                          "read the live clusters, or a snapshot that holds Secrets")
    else:
        yield CheckResult(name, OK)


def same_root(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster trusts the same root CA"
    groups: dict[str, list[ClusterIdentity]] = {}
    for c in view.clusters:
        if c.trusted_root:
            groups.setdefault(c.trusted_root, []).append(c)
    unknown = [c for c in view.clusters if not c.trusted_root]
    note = (f"root unknown in {_names(unknown)}: no readable root in {L.CACERTS_SECRET} (snapshots keep no "
            f"secret values) and no {L.ROOT_CERT_CONFIGMAP} ConfigMap") if unknown else ""
    if len(groups) > 1:
        biggest = max(groups, key=lambda r: len(groups[r]))
        other = next(c for r, cs in groups.items() if r != biggest for c in cs)
        lines = [f"{short_fingerprint(r)}: {_names(cs)}" for r, cs in groups.items()]
        yield CheckResult(name, FAILURE, "\n".join(lines + ([note] if note else [])),
                          "cross-cluster mTLS fails between clusters with different roots; give every cluster an "
                          "intermediate of one root: " + _ca_commands(view, other, force=True))
    elif not groups:
        yield CheckResult(name, SKIPPED, note, "read the live clusters: meshctl multicluster check --context ...")
    elif unknown:
        yield CheckResult(name, WARNING, f"{short_fingerprint(next(iter(groups)))} in "
                          f"{_names(next(iter(groups.values())))}; {note}",
                          f"see that {unknown[0].name} has a {L.CACERTS_SECRET} Secret with a root-cert.pem and "
                          f"that istiod runs there: meshctl check --context {unknown[0].context}")
    else:
        yield CheckResult(name, OK, short_fingerprint(next(iter(groups))))


def root_distributed(view: MeshView) -> Iterable[CheckResult]:
    name = "istiod hands out the root in cacerts"
    plugged = [c for c in view.clusters if c.trust.source == "cacerts"]
    pending = [c for c in plugged if c.trust.restart_pending]
    unknown = [c for c in plugged if not (c.trust.root and c.trust.distributed_root)]
    if pending:
        first = pending[0]
        yield CheckResult(name, FAILURE, "\n".join(
            f"{c.name}: {L.CACERTS_SECRET} holds root {short_fingerprint(c.trust.root)}, istiod still hands out "
            f"{short_fingerprint(c.trust.distributed_root)}: it has not restarted since {L.CACERTS_SECRET} changed"
            for c in pending),
            f"restart istiod: kubectl --context {first.context} -n {view.namespace} rollout restart "
            f"deployment/istiod (meshctl ca install ... --restart does it), then restart the workloads")
    elif unknown:
        def why(c: ClusterIdentity) -> str:
            if not c.trust.root:
                return f"{c.name}: no readable root in {L.CACERTS_SECRET} (snapshots keep no secret values)"
            return f"{c.name}: no {L.ROOT_CERT_CONFIGMAP} ConfigMap yet (istiod has not distributed a root)"
        no_secret_values = any(not c.trust.root for c in unknown)
        yield CheckResult(name, SKIPPED, "\n".join(why(c) for c in unknown),
                          "compare on the live clusters: meshctl multicluster check --context ..."
                          if no_secret_values else
                          f"istiod writes {L.ROOT_CERT_CONFIGMAP} once it runs; check again when it is ready "
                          f"(meshctl check --context {unknown[0].context})")
    elif plugged:
        yield CheckResult(name, OK)
    else:
        yield CheckResult(name, SKIPPED, f"no cluster has a {L.CACERTS_SECRET} Secret",
                          _ca_commands(view, view.clusters[0]) if view.clusters else CHECK_HINT)


def network_labels(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster has a network label"
    missing = [c for c in view.clusters if not c.network]
    if missing:
        yield CheckResult(name, FAILURE, "\n".join(f"{c.name}: namespace {view.namespace} has no label {L.NETWORK}"
                                                    for c in missing),
                          f"put each cluster on a network: {_expose_command(missing[0])}")
    else:
        yield CheckResult(name, OK, ", ".join(f"{c.name}={c.network}" for c in view.clusters))


def multi_network(view: MeshView) -> Iterable[CheckResult]:
    name = f"multi-network routing is on ({L.MULTI_NETWORK_ENV})"
    off = [c for c in view.clusters if c.multi_network is False]
    if off:
        yield CheckResult(name, FAILURE, "\n".join(f"{c.name}: istiod runs without {L.MULTI_NETWORK_ENV}=true, "
                                                    "so it routes nothing across networks" for c in off),
                          f"turn it on: {_expose_command(off[0])}")
    elif all(c.multi_network is None for c in view.clusters):
        yield CheckResult(name, SKIPPED, "no istiod to ask", "install the control plane: meshctl install")
    else:
        yield CheckResult(name, OK)


def east_west_present(view: MeshView) -> Iterable[CheckResult]:
    name = "every cluster has an east-west gateway for its network"
    problems: list[tuple[ClusterIdentity, str]] = []
    for c in view.clusters:
        if not c.east_west:
            problems.append((c, f"{c.name}: no Gateway of class {L.CLASS_EAST_WEST}"))
        elif c.network and all(g.network != c.network for g in c.east_west):
            labels = ", ".join(f"{g.namespace}/{g.name} ({g.network or 'no ' + L.NETWORK + ' label'})"
                               for g in c.east_west)
            problems.append((c, f"{c.name}: the cluster is on network {c.network}, its east-west gateways are "
                                f"not: {labels}"))
    if problems:
        yield CheckResult(name, FAILURE, "\n".join(line for _, line in problems),
                          f"create it: {_expose_command(problems[0][0])}")
    else:
        yield CheckResult(name, OK)


def east_west_ready(view: MeshView) -> Iterable[CheckResult]:
    name = "east-west gateways are programmed and have an address"
    problems: list[tuple[ClusterIdentity, EastWestGateway, str]] = []
    for c in view.clusters:
        for g in c.east_west:
            if g.programmed != "True":
                problems.append((c, g, f"{c.name}: Gateway {g.namespace}/{g.name} is not Programmed "
                                       f"({g.programmed}{', ' + g.reason if g.reason else ''})"))
            if not g.addresses:
                problems.append((c, g, f"{c.name}: Gateway {g.namespace}/{g.name} has no address: peers "
                                       "cannot send it traffic"))
    if problems:
        c, g, _ = problems[0]
        yield CheckResult(name, FAILURE, "\n".join(line for _, _, line in problems),
                          f"see why: kubectl --context {c.context} -n {g.namespace} describe gateway {g.name}; "
                          "its Service is a LoadBalancer and needs an external address (a cloud load balancer, "
                          "MetalLB, or cloud-provider-kind on kind)")
    elif not any(c.east_west for c in view.clusters):
        yield CheckResult(name, SKIPPED, "no east-west gateway to look at",
                          "create them: meshctl multicluster expose --context C --network NETWORK")
    else:
        yield CheckResult(name, OK, ", ".join(f"{c.name} {'/'.join(g.addresses)}"
                                              for c in view.clusters for g in c.east_west))


def _link_hint(view: MeshView, link: LinkStatus) -> str:
    link_again = _link_command(view, link.source, link.peer)
    secret = link.secret
    if link.state == MISSING or secret is None:
        return f"create it: {link_again}"
    if link.state == UNKNOWN:
        ends = (link.source, link.peer) if link.peer_read else (link.source,)
        return f"probe it on the live clusters: {CHECK_HINT} " + " ".join(f"--context {view.context_of(n)}"
                                                                           for n in ends)
    delete = f"kubectl --context {view.context_of(link.source)} -n {secret.namespace} delete secret {secret.name}"
    if not link.peer_read:
        return f"if {link.peer} left the mesh, delete the secret ({delete}); else check {link.peer} with --context"
    peer_server = f"--server {view.context_of(link.peer)}"
    hints = {
        "loopback": f"link again with an address {link.source}'s pods can reach: {link_again} "
                    f"{peer_server}=https://ADDRESS:PORT",
        "name": f"the secret must carry the peer's own name: delete it ({delete}), then {link_again}",
        "unreachable": f"make {link.peer}'s API server reachable from {link.source} at {secret.server} (firewall, "
                       f"address), or link again with an address that is: {link_again} {peer_server}=URL",
        "unauthorized": f"the token expired or was revoked: {link_again} issues a new one",
        "forbidden": f"the reader's RBAC in {link.peer} is missing or changed: {link_again} restores it",
    }
    return hints.get(link.cause, f"write it again: {link_again}")


def links(view: MeshView) -> Iterable[CheckResult]:
    status = {OK_LINK: OK, MISSING: FAILURE, BROKEN: FAILURE, UNKNOWN: SKIPPED}
    for link in view.links:
        if link.peer_read:
            name = f"{link.source} reads {link.peer} through a remote secret"
        else:
            name = f"{link.source} reads {link.peer} through a remote secret ({link.peer} was not checked)"
        if link.state == OK_LINK:
            yield CheckResult(name, OK, link.reason)
        else:
            detail = link.reason
            if link.state == MISSING:
                detail += f", so istiod in {link.source} does not see {link.peer}'s endpoints"
            yield CheckResult(name, status[link.state], detail, _link_hint(view, link))


def global_labels(view: MeshView) -> Iterable[CheckResult]:
    name = f"services labelled {L.GLOBAL_SERVICE} are global in every cluster that has them"
    everywhere = sorted({s for c in view.clusters for s in c.global_services})
    lines, first = [], None
    for service in everywhere:
        global_in = [c for c in view.clusters if service in c.global_services]
        local_in = [c for c in view.clusters if service in c.services and service not in c.global_services]
        if local_in:
            lines.append(f"{service}: global in {_names(global_in)}, not in {_names(local_in)}")
            first = first or (service, local_in[0])
    if first:
        (service, cluster) = first
        ns, svc = service.split("/", 1)
        yield CheckResult(name, WARNING, "\n".join(lines),
                          f"label it in every cluster that has it: kubectl --context {cluster.context} -n {ns} "
                          f"label service {svc} {L.GLOBAL_SERVICE}=true")
    else:
        yield CheckResult(name, OK, f"{len(everywhere)} global service{'s' if len(everywhere) != 1 else ''}")


def global_ports(view: MeshView) -> Iterable[CheckResult]:
    name = "global services have the same ports in every cluster"
    ports: dict[str, dict[str, list[str]]] = {}  # service -> ports -> clusters
    for c in view.clusters:
        for service, summary in c.global_service_ports:
            ports.setdefault(service, {}).setdefault(summary, []).append(c.name)
    lines = [f"{service}: " + "; ".join(f"{', '.join(names)}: {summary or 'no ports'}"
                                        for summary, names in variants.items())
             for service, variants in sorted(ports.items()) if len(variants) > 1]
    if lines:
        yield CheckResult(name, WARNING, "\n".join(lines),
                          "give the Service the same ports everywhere: clients reach every cluster's endpoints "
                          "through the ports of the Service in their own cluster")
    else:
        yield CheckResult(name, OK)


def waypoint_names(view: MeshView) -> Iterable[CheckResult]:
    by_namespace: dict[str, dict[str, list[str]]] = {}  # namespace -> cluster -> waypoint names
    for c in view.clusters:
        for key in c.waypoints:
            ns, name = key.split("/", 1)
            by_namespace.setdefault(ns, {}).setdefault(c.name, []).append(name)
    shared = {ns: found for ns, found in by_namespace.items() if len(found) > 1}
    differing = {ns: found for ns, found in shared.items()
                 if len({tuple(sorted(names)) for names in found.values()}) > 1}
    for ns, found in sorted(differing.items()):
        detail = "; ".join(f"{cluster}: {', '.join(sorted(names))}" for cluster, names in found.items())
        cluster = next(iter(found))
        yield CheckResult(f"waypoints in namespace {ns} have the same names in every cluster", FAILURE, detail,
                          "traffic across clusters goes to the waypoint of the same name in the peer: use one "
                          f"name everywhere (meshctl waypoint apply --context {view.context_of(cluster)} -n {ns} "
                          f"--name NAME) and point {L.USE_WAYPOINT} at it")
    if not differing:
        yield CheckResult("waypoint names match across clusters", OK,
                          f"{len(shared)} namespace{'s' if len(shared) != 1 else ''} with waypoints in several "
                          "clusters")


MULTICLUSTER_CHECKS: tuple[Check[MeshView], ...] = (
    Check("Clusters", "every cluster can be read", clusters_read),
    Check("Clusters", "istiod is ready in every cluster", istiod_ready),
    Check("Clusters", "cluster names are set and unique", cluster_names),
    Check("Clusters", "every cluster has the same meshID", mesh_ids),
    Check("Trust", "every cluster has a plugged-in CA (cacerts)", plugged_in_ca),
    Check("Trust", "every cluster trusts the same root CA", same_root),
    Check("Trust", "istiod hands out the root in cacerts", root_distributed),
    Check("Networks", "every cluster has a network label", network_labels),
    Check("Networks", "multi-network routing is on", multi_network),
    Check("Networks", "every cluster has an east-west gateway for its network", east_west_present),
    Check("Networks", "east-west gateways are programmed and have an address", east_west_ready),
    Check("Links", "remote secrets link the clusters", links),
    Check("Shared services", f"services labelled {L.GLOBAL_SERVICE} are global in every cluster that has them",
          global_labels),
    Check("Shared services", "global services have the same ports in every cluster", global_ports),
    Check("Shared services", "waypoint names match across clusters", waypoint_names),
)


def check_multicluster(view: MeshView) -> list[Category]:
    """``meshctl multicluster check``: every check across the clusters read, by category. With no
    cluster read there is nothing to check but that (no vacuous passes)."""
    return run_checks(MULTICLUSTER_CHECKS if view.clusters else MULTICLUSTER_CHECKS[:1], view)
