"""Health checks in the style of ``linkerd check``: categories of named checks, each ok, warning,
failure or skipped, every one that is not ok with a detail and a hint.

Checks are pure functions of a ClusterState, so ``meshctl check`` gives the same answer on a live
cluster, on files and on a snapshot. What depends on the Istio version (the CRDs it needs, the Gateway
API bundle it is built against) comes in as ``VersionFacts`` from the install layer, which owns
those facts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from meshctl.errors import ClusterUnavailableError, ExitCode, NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import (CNI, ISTIOD, ZTUNNEL, ComponentInfo, dataplane_links, find_control_plane,
                                      find_revision_tags, move_dataplane_hint, unfollowed)
from meshctl.mesh.enrollment import (AMBIENT, CONFLICT, NOT_CAPTURED, NamespaceInfo, describe_namespaces,
                                     injection_labels, pod_capture)
from meshctl.mesh.status import is_linux, node_coverage
from meshctl.mesh.waypoints import conditions

OK, WARNING, FAILURE, SKIPPED = "ok", "warning", "failure", "skipped"
STATUSES = (OK, WARNING, FAILURE, SKIPPED)
MAX_LISTED = 10  # names shown in one detail line before "and N more"
WAIT_INTERVAL = 2.0  # seconds between rounds of --wait (the install's readiness poll)
NOT_AVAILABLE_HINT = "read a source that holds this kind (the live cluster, or a new snapshot)"


# -- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    name: str  # what should hold, e.g. "istiod (default) is ready"
    status: str  # ok | warning | failure | skipped
    detail: str = ""  # what was found (may span lines)
    hint: str = ""  # what to do about it; every result that is not ok has one
    unavailable: bool = False  # failed because the cluster could not be read, not because of what it holds

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


@dataclass(frozen=True)
class Category:
    name: str
    results: tuple[CheckResult, ...]
    cluster: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cluster": self.cluster, "checks": [r.to_dict() for r in self.results]}


T = TypeVar("T")


@dataclass(frozen=True)
class Check(Generic[T]):
    """One step of a check run: a function of what is checked (``T``) giving one or more results.
    ``name`` stands for the results when the step cannot run."""

    category: str
    name: str
    run: Callable[[T], Iterable[CheckResult]]


def run_checks(checks: Sequence[Check[T]], subject: T, cluster: str = "") -> list[Category]:
    """Every check, grouped by category in the order the checks come.

    A kind the source cannot provide skips the checks that need it; a cluster that refuses a read
    fails that check and the others still run.
    """
    grouped: dict[str, list[CheckResult]] = {}
    for check in checks:
        try:
            results = list(check.run(subject))
        except NotCapturedError as err:
            results = [CheckResult(check.name, SKIPPED, err.message, err.hint or NOT_AVAILABLE_HINT)]
        except ClusterUnavailableError as err:
            results = [CheckResult(check.name, FAILURE, err.message, err.hint or "", unavailable=True)]
        grouped.setdefault(check.category, []).extend(results)
    return [Category(name, tuple(results), cluster) for name, results in grouped.items()]


def count_statuses(categories: Iterable[Category]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for category in categories:
        for result in category.results:
            counts[result.status] += 1
    return counts


def failures(categories: Iterable[Category]) -> list[CheckResult]:
    return [r for c in categories for r in c.results if r.status == FAILURE]


def unreadable(categories: Iterable[Category]) -> CheckResult | None:
    """The first failure, when every failure is the cluster refusing or going away (nothing was found
    wrong with what it holds): the run could not check, rather than found a problem."""
    failed = failures(categories)
    return failed[0] if failed and all(r.unavailable for r in failed) else None


def exit_code(categories: Iterable[Category]) -> int:
    """1 when a check failed, 69 when the only failures are the cluster not answering; warnings pass."""
    categories = list(categories)
    if unreadable(categories) is not None:
        return int(ExitCode.UNAVAILABLE)
    return 1 if failures(categories) else 0


def wait_until_passing(evaluate: Callable[[], list[Category]], timeout: float, *,
                       progress: Callable[[list[Category], float], None] | None = None,
                       interval: float | None = None, clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> list[Category]:
    """Evaluate until no check fails (warnings may stay) or ``timeout`` seconds have passed; the
    last round's results. ``progress`` hears each failing round and the seconds left."""
    deadline = clock() + timeout
    pause = WAIT_INTERVAL if interval is None else interval
    while True:
        categories = evaluate()
        left = deadline - clock()
        if not failures(categories) or left <= 0:
            return categories
        if progress is not None:
            progress(categories, left)
        sleep(min(pause, left))


def listed(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _ok(name: str, detail: str = "") -> CheckResult:
    return CheckResult(name, OK, detail)


# -- facts that depend on the Istio version -----------------------------------------------------


@dataclass(frozen=True)
class VersionFacts:
    """What a version of Istio needs from the cluster (built by meshctl.install.precheck.version_facts)."""

    istio_version: str  # as resolved, e.g. 1.30.3; "" when unknown
    supported: bool  # one of the versions meshctl knows; else the facts are the ones every version shares
    istio_crds: tuple[str, ...]  # CRD names, e.g. virtualservices.networking.istio.io
    gateway_api: str = ""  # the Gateway API bundle this Istio is built against, e.g. v1.5.1; "" unknown
    gateway_api_minimums: tuple[tuple[str, str], ...] = ()  # (CRD, oldest bundle istiod reads it from)
    supported_versions: str = ""  # for messages, e.g. "1.28, 1.29, 1.30, 1.31"


FactsFor = Callable[[str], VersionFacts]


def parse_version(text: str) -> tuple[int, ...]:
    """``v1.5.1`` / ``1.30.3-distroless`` / ``v1.5.0-rc.1`` -> (1, 5, 1); () when not a version."""
    numbers = []
    for part in text.strip().lstrip("v").split("-", 1)[0].split("+", 1)[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


# -- Gateway API bundles (shared with precheck) ---------------------------------------------------

GATEWAY_API_CRD_SUFFIX = "." + K.GATEWAY_API
# What waypoints and ingress Gateways cannot do without.
GATEWAY_API_REQUIRED = tuple(k.resource for k in (K.GATEWAY_CLASS, K.GATEWAY, K.HTTP_ROUTE))


@dataclass(frozen=True)
class GatewayApiCrd:
    name: str
    bundle_version: str  # "" when the CRD carries no bundle-version annotation
    channel: str


def find_gateway_api_crds(state: ClusterState) -> list[GatewayApiCrd]:
    """The Gateway API CRDs installed (group gateway.networking.k8s.io), by name."""
    return sorted((GatewayApiCrd(crd.name, str(crd.annotations.get(L.GATEWAY_API_BUNDLE_VERSION, "")),
                                 str(crd.annotations.get(L.GATEWAY_API_CHANNEL, "")))
                   for crd in state.list(K.CRD) if crd.name.endswith(GATEWAY_API_CRD_SUFFIX)),
                  key=lambda c: c.name)


def bundle_summary(crds: Sequence[GatewayApiCrd]) -> str:
    """``v1.5.1 standard`` (the most common version and channel among the CRDs)."""
    def most(values: list[str]) -> str:
        return max(sorted(set(values)), key=values.count) if values else ""

    version = most([c.bundle_version for c in crds if c.bundle_version]) or "unknown version"
    channel = most([c.channel for c in crds if c.channel])
    return f"{version} {channel}".strip()


def bundle_url(version: str) -> str:
    return f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/standard-install.yaml"


def gateway_api_install_hint(facts: VersionFacts) -> str:
    version = facts.gateway_api or "v1.5.1"
    return f"install them: kubectl apply --server-side -f {bundle_url(version)}"


def check_gateway_api_present(state: ClusterState, facts: VersionFacts) -> CheckResult:
    name = "Gateway API CRDs are installed"
    crds = find_gateway_api_crds(state)
    present = {c.name for c in crds}
    missing = [n for n in GATEWAY_API_REQUIRED if n not in present]
    if not crds:
        return CheckResult(name, WARNING, "not installed: waypoints and ingress Gateways need them",
                           gateway_api_install_hint(facts))
    if missing:
        return CheckResult(name, WARNING, f"missing {', '.join(missing)}", gateway_api_install_hint(facts))
    return _ok(name, f"{bundle_summary(crds)}, {len(crds)} CRDs")


def gateway_api_problems(crds: Sequence[GatewayApiCrd], facts: VersionFacts) -> list[str]:
    """Why the installed Gateway API CRDs do not suit this Istio version (empty: they do)."""
    problems = []
    unknown = [c.name for c in crds if not c.bundle_version]
    if unknown:
        problems.append(f"no bundle-version annotation on {listed(unknown)}: not from a Gateway API release")
    versions = sorted({c.bundle_version for c in crds if c.bundle_version}, key=parse_version)
    if len(versions) > 1:
        by_version = {v: [c.name.split(".", 1)[0] for c in crds if c.bundle_version == v] for v in versions}
        problems.append("CRDs from different bundles: " + "; ".join(f"{v} ({', '.join(n)})"
                                                                    for v, n in by_version.items()))
    istio = f"Istio {facts.istio_version}" if facts.istio_version else "Istio"
    by_name = {c.name: c for c in crds}
    for crd_name, minimum in facts.gateway_api_minimums:
        crd = by_name.get(crd_name)
        if crd and crd.bundle_version and parse_version(crd.bundle_version) < parse_version(minimum):
            problems.append(f"{istio} ignores {crd_name.split('.', 1)[0]} older than {minimum} "
                            f"(installed {crd.bundle_version})")
    if facts.gateway_api and versions and parse_version(versions[0])[:2] < parse_version(facts.gateway_api)[:2]:
        problems.append(f"{istio} is built against Gateway API {facts.gateway_api}; installed {versions[0]}")
    return problems


def check_gateway_api_version(state: ClusterState, facts: VersionFacts) -> CheckResult:
    istio = f"Istio {facts.istio_version}" if facts.istio_version else "Istio"
    name = f"Gateway API version suits {istio}"
    crds = find_gateway_api_crds(state)
    if not crds:
        return CheckResult(name, SKIPPED, "the Gateway API CRDs are not installed", gateway_api_install_hint(facts))
    problems = gateway_api_problems(crds, facts)
    if problems:
        wanted = facts.gateway_api or bundle_summary(crds).split(" ")[0]
        return CheckResult(name, WARNING, "\n".join(problems),
                           f"install one bundle, {wanted} or newer: kubectl apply --server-side -f "
                           f"{bundle_url(wanted)}")
    return _ok(name, bundle_summary(crds))


# -- post-install checks (meshctl check) ----------------------------------------------------------


def schedulable_linux(node: Resource) -> bool:
    """A node ambient pods can land on: Linux, not cordoned, and Ready (when conditions are known)."""
    if not is_linux(node) or node.spec.get("unschedulable") is True:
        return False
    ready = [c.text("status") for c in node.fields.iter_parts("status", "conditions") if c.text("type") == "Ready"]
    return not ready or ready[0] == "True"


def ready_endpoints(state: ClusterState, service: Resource) -> int:
    """Ready addresses behind a Service, from its EndpointSlices (no ``ready`` condition means ready)."""
    addresses = set()
    for piece in state.list(K.ENDPOINT_SLICE, service.namespace, labels={L.SERVICE_NAME_LABEL: service.name}):
        for endpoint in piece.fields.iter_parts("endpoints"):
            if endpoint.flag("conditions", "ready") is False:
                continue
            addresses.update(endpoint.strings("addresses"))
    return len(addresses)


class Installation:
    """What the post-install checks read, each part read once."""

    def __init__(self, state: ClusterState, istio_namespace: str, revision: str | None, facts_for: FactsFor):
        self.state = state
        self.namespace = istio_namespace
        self.revision = revision
        self.facts_for = facts_for

    @cached_property
    def components(self) -> list[ComponentInfo]:
        return find_control_plane(self.state, self.namespace)

    @cached_property
    def all_istiods(self) -> list[ComponentInfo]:
        return [c for c in self.components if c.component == ISTIOD]

    @cached_property
    def istiods(self) -> list[ComponentInfo]:
        """The istiods checked: every revision, or the one asked for."""
        return [c for c in self.all_istiods if self.revision in (None, c.revision)]

    @cached_property
    def facts(self) -> VersionFacts:
        """Facts for the newest istiod checked (it needs the most)."""
        versions = sorted((c.version for c in self.istiods if parse_version(c.version)), key=parse_version)
        return self.facts_for(versions[-1] if versions else "")

    @cached_property
    def namespaces(self) -> list[NamespaceInfo]:
        return describe_namespaces(self.state)

    @cached_property
    def enrolled(self) -> list[NamespaceInfo]:
        return [n for n in self.namespaces if n.mode in (AMBIENT, CONFLICT)]

    @cached_property
    def crd_names(self) -> set[str]:
        return {c.name for c in self.state.list(K.CRD)}


def crds_installed(inst: Installation) -> Iterable[CheckResult]:
    name = "Istio CRDs are installed"
    facts = inst.facts
    wanted = facts.istio_crds
    missing = [n for n in wanted if n not in inst.crd_names]
    version = f"Istio {facts.istio_version}" if facts.supported else "every Istio version"
    if missing:
        yield CheckResult(name, FAILURE, f"{len(missing)} of the {len(wanted)} CRDs {version} needs are missing: "
                          f"{listed(missing)}",
                          "install them with the control plane: meshctl install"
                          + (f" --istio-version {facts.istio_version}" if facts.supported else ""))
    else:
        yield _ok(name, f"{len(wanted)} for {version}")


def crds_established(inst: Installation) -> Iterable[CheckResult]:
    name = "Istio CRDs are established"
    pending = []
    for crd in inst.state.list(K.CRD):
        if crd.name not in inst.facts.istio_crds:
            continue
        conds = {c.text("type"): c.text("status") for c in crd.fields.iter_parts("status", "conditions")}
        # A CRD read without status (files, a trimmed snapshot) cannot say; the API server always writes it.
        if conds and conds.get("Established") != "True":
            pending.append(crd.name)
    if pending:
        yield CheckResult(name, FAILURE, f"not established: {listed(sorted(pending))}",
                          f"the API server has not accepted their names: kubectl describe crd {pending[0]}")
    else:
        yield _ok(name)


def _no_istiod(inst: Installation) -> CheckResult | None:
    if inst.revision and not inst.istiods:
        found = ", ".join(sorted({c.revision for c in inst.all_istiods})) or "none"
        return CheckResult(f"istiod ({inst.revision}) is ready", FAILURE,
                           f"no istiod of revision {inst.revision} in {inst.namespace} (revisions found: {found})",
                           f"install it: meshctl install --revision {inst.revision}")
    if not inst.istiods:
        return CheckResult("istiod is ready", FAILURE, f"no istiod Deployment in namespace {inst.namespace}",
                           "install the control plane (meshctl install), or name its namespace with --istio-namespace")
    return None


def istiod_version(inst: Installation) -> Iterable[CheckResult]:
    name = "istiod version is supported"
    if not inst.istiods:
        yield CheckResult(name, SKIPPED, "no istiod to check", "install the control plane: meshctl install")
        return
    shown, unknown, unsupported = [], [], []
    for c in inst.istiods:
        shown.append(f"{c.revision} {c.version or '?'}")
        if not c.version:
            unknown.append(f"{c.revision} ({c.image})")
        elif not inst.facts_for(c.version).supported:
            unsupported.append(f"{c.revision} runs {c.version}")
    if unknown or unsupported:
        supported = inst.facts.supported_versions
        detail = "; ".join(
            ([f"meshctl knows Istio {supported}: " + ", ".join(unsupported)] if unsupported else [])
            + ([f"version not readable from the image: {', '.join(unknown)}"] if unknown else []))
        yield CheckResult(name, WARNING, detail + "; version-specific checks use what every version needs",
                          "upgrade to a supported version: meshctl upgrade --istio-version VERSION")
    else:
        yield _ok(name, ", ".join(shown))


def istiod_ready(inst: Installation) -> Iterable[CheckResult]:
    missing = _no_istiod(inst)
    if missing:
        yield missing
        return
    for c in inst.istiods:
        name = f"istiod ({c.revision}) is ready"
        if c.ready >= c.desired > 0:
            yield _ok(name, f"{c.ready}/{c.desired} replicas")
        else:
            yield CheckResult(name, FAILURE, f"Deployment {c.namespace}/{c.name}: {c.ready}/{c.desired} replicas ready",
                              f"see why: kubectl -n {c.namespace} describe deployment {c.name}; "
                              f"kubectl -n {c.namespace} logs deployment/{c.name}")


def istiod_serving(inst: Installation) -> Iterable[CheckResult]:
    for c in inst.istiods:
        name = f"istiod ({c.revision}) is serving"
        service = inst.state.get(K.SERVICE, c.name, c.namespace)
        if service is None:
            yield CheckResult(name, FAILURE, f"Service {c.namespace}/{c.name} not found",
                              "restore it by installing again: meshctl install"
                              + (f" --revision {c.revision}" if c.revision != L.DEFAULT_REVISION else ""))
            continue
        count = ready_endpoints(inst.state, service)
        if count:
            yield _ok(name, f"{count} ready endpoint{'s' if count != 1 else ''}")
        else:
            yield CheckResult(name, FAILURE, f"Service {c.namespace}/{c.name} has no ready endpoints",
                              f"its pods are not ready or not selected: kubectl -n {c.namespace} get endpointslices "
                              f"-l {L.SERVICE_NAME_LABEL}={c.name}; kubectl -n {c.namespace} get pods -l app=istiod")


def _istio_webhooks(inst: Installation) -> list[Resource]:
    """The revision's own webhook configurations and every revision tag's."""
    found = []
    for kind in (K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK):
        for config in inst.state.list(kind):
            tagged = L.TAG in config.labels
            revision = config.labels.get(L.REV)
            if tagged or (revision is not None and inst.revision in (None, revision)):
                found.append(config)
    return sorted(found, key=lambda c: (c.kind.kind, c.name))


def _webhook_problems(inst: Installation, config: Resource) -> tuple[list[str], list[str]]:
    """(problems, hints) of one webhook configuration; identical problems of several webhooks merge."""
    revision = config.labels.get(L.REV, L.DEFAULT_REVISION)
    found: dict[str, list[str]] = {}
    hints: dict[str, str] = {}
    hooks = config.fields.parts("webhooks")
    for hook in hooks:
        client = hook.part("clientConfig")
        problems = []
        if not client.text("caBundle"):
            problems.append("no CA bundle")
            hints["ca"] = (f"istiod ({revision}) writes the CA bundle once it runs: make sure it is ready "
                           f"(kubectl -n {inst.namespace} logs deployment/{_istiod_name(inst, revision)})")
        ref = client.part("service")
        if ref.data:
            where = f"Service {ref.text('namespace')}/{ref.text('name')}"
            port = ref.integer("port") or 443
            service = inst.state.get(K.SERVICE, ref.text("name"), ref.text("namespace"))
            if service is None:
                problems.append(f"{where} not found")
                hints["service"] = ("restore the control plane's Services (meshctl install), or point the tag at an "
                                    "installed revision (meshctl tag set)")
            elif port not in [p.integer("port") for p in service.fields.iter_parts("spec", "ports")]:
                problems.append(f"{where} has no port {port}")
                hints["port"] = "install again to restore the Service's ports: meshctl install"
            elif not ready_endpoints(inst.state, service):
                problems.append(f"{where} has no ready endpoints, so calls to the webhook fail")
                hints["endpoints"] = f"make istiod ({revision}) ready: kubectl -n {inst.namespace} get pods -l app=istiod"
        for problem in problems:
            found.setdefault(problem, []).append(hook.text("name", default="?"))
    count = len(hooks)
    lines = [p if len(names) == count else f"{p} ({', '.join(names)})" for p, names in found.items()]
    return lines, list(hints.values())


def _istiod_name(inst: Installation, revision: str) -> str:
    return next((c.name for c in inst.all_istiods if c.revision == revision), "istiod")


def webhooks(inst: Installation) -> Iterable[CheckResult]:
    configs = _istio_webhooks(inst)
    for c in inst.istiods:
        own = {config.kind.kind for config in configs if config.labels.get(L.REV) == c.revision
               and L.TAG not in config.labels}
        if K.MUTATING_WEBHOOK.kind not in own:
            yield CheckResult(f"injection webhook of istiod ({c.revision}) exists", WARNING,
                              f"no MutatingWebhookConfiguration labelled {L.REV}={c.revision}",
                              "install again to restore it: meshctl install")
        if K.VALIDATING_WEBHOOK.kind not in own:
            yield CheckResult(f"validation webhook of istiod ({c.revision}) exists", WARNING,
                              f"no ValidatingWebhookConfiguration labelled {L.REV}={c.revision}",
                              "install again to restore it: meshctl install")
    for config in configs:
        role = "injection" if config.kind == K.MUTATING_WEBHOOK else "validation"
        name = f"{role} webhook {config.name} is reachable"
        problems, hints = _webhook_problems(inst, config)
        if problems:
            yield CheckResult(name, FAILURE, "\n".join(problems), "; ".join(hints))
        else:
            yield _ok(name)


def revision_tags(inst: Installation) -> Iterable[CheckResult]:
    name = "revision tags point at installed revisions"
    tags = find_revision_tags(inst.state)
    revisions = {c.revision for c in inst.all_istiods}
    dangling = [(tag, rev) for tag, rev in tags if rev not in revisions]
    if dangling:
        installed = ", ".join(sorted(revisions)) or "none"
        yield CheckResult(name, FAILURE,
                          "\n".join(f"tag {tag} -> {rev}, but no istiod of revision {rev} runs" for tag, rev in dangling),
                          f"point the tag at an installed revision ({installed}): "
                          f"meshctl tag set {dangling[0][0]} --revision REVISION")
    else:
        yield _ok(name, ", ".join(f"{tag} -> {rev}" for tag, rev in tags) or "no tags")


def _data_plane(inst: Installation, component: str, pod_label: tuple[str, str]) -> Iterable[CheckResult]:
    name = f"{component} is ready on every node"
    found = [c for c in inst.components if c.component == component]
    if not found:
        # Without enrolled namespaces nothing needs the data plane yet (a minimal, istiod-only install).
        status = FAILURE if inst.enrolled else WARNING
        yield CheckResult(name, status, f"no {component} DaemonSet in namespace {inst.namespace}",
                          "install the ambient data plane: meshctl install (profile ambient)")
        return
    problems = []
    for c in found:
        if c.desired == 0:
            problems.append(f"DaemonSet {c.namespace}/{c.name} wants no pods: no node matches its node selector")
        elif c.ready < c.desired:
            problems.append(f"DaemonSet {c.namespace}/{c.name}: {c.ready}/{c.desired} pods ready")
    total, covered, missing = node_coverage(inst.state, inst.namespace, pod_label, schedulable_linux)
    if missing:
        problems.append(f"no ready {component} pod on {len(missing)} node{'s' if len(missing) != 1 else ''}: "
                        f"{listed(missing)}")
    key, value = pod_label
    if problems:
        consequence = (" (ambient pods on those nodes get no traffic)" if component == ZTUNNEL
                       else " (new pods there are not captured)")
        yield CheckResult(name, FAILURE, "\n".join(problems),
                          f"see why{consequence}: kubectl -n {inst.namespace} get pods -l {key}={value} -o wide, "
                          "then describe the pods that are not ready")
    else:
        yield _ok(name, f"{covered}/{total} nodes" if total else "no schedulable Linux node to check")


def cni_ready(inst: Installation) -> Iterable[CheckResult]:
    return _data_plane(inst, CNI, L.CNI_APP_LABEL)


def ztunnel_ready(inst: Installation) -> Iterable[CheckResult]:
    return _data_plane(inst, ZTUNNEL, L.ZTUNNEL_APP_LABEL)


def dataplane_follows_istiod(inst: Installation) -> Iterable[CheckResult]:
    """ztunnel's XDS address, and istio-cni's revision, must name an installed istiod (whose readiness
    "istiod is ready" checks): after its revision is removed, ztunnel keeps running (so "ready") but
    gets no configuration."""
    name = "ztunnel and istio-cni follow an installed istiod"
    links = dataplane_links(inst.state, inst.namespace)
    if not links:
        yield CheckResult(name, SKIPPED, "no ztunnel or istio-cni found", "install the ambient control plane: meshctl install")
        return
    installed = {c.revision for c in inst.all_istiods}  # one not ready is reported by "istiod is ready"
    problems, shown = [], []
    for link in links:
        why = unfollowed(link, installed)
        if why:
            problems.append(f"{link.component} (DaemonSet {inst.namespace}/{link.name}) {why}")
        else:
            shown.append(f"{link.component} → {link.revision}")
    if problems:
        yield CheckResult(name, FAILURE, "\n".join(problems), move_dataplane_hint(installed))
    else:
        yield _ok(name, ", ".join(shown))


def ztunnel_version(inst: Installation) -> Iterable[CheckResult]:
    name = "ztunnel version matches istiod"
    ztunnels = [c for c in inst.components if c.component == ZTUNNEL]
    if not ztunnels or not inst.all_istiods:
        yield CheckResult(name, SKIPPED, "no ztunnel and istiod to compare",
                          "install the ambient control plane: meshctl install")
        return
    for z in ztunnels:
        istiod = next((c for c in inst.all_istiods if c.revision == z.revision),
                      next((c for c in inst.all_istiods if c.revision == L.DEFAULT_REVISION), inst.all_istiods[0]))
        if not z.version or not istiod.version:
            yield CheckResult(name, SKIPPED, "a version is not readable from the images (pinned by digest?)",
                              "compare the image versions by hand: meshctl version")
        elif z.version != istiod.version:
            yield CheckResult(name, WARNING, f"ztunnel runs {z.version}, istiod ({istiod.revision}) {istiod.version}",
                              f"keep them on one version: meshctl upgrade --istio-version {istiod.version}")
        else:
            yield _ok(name, z.version)


def _enrolled_pods(inst: Installation) -> list[Resource]:
    names = {n.name for n in inst.enrolled}
    return [p for p in inst.state.list(K.POD) if p.namespace in names]


def pods_captured(inst: Installation) -> Iterable[CheckResult]:
    name = "pods in enrolled namespaces are captured"
    if not inst.enrolled:
        yield _ok(name, "no namespace is enrolled")
        return
    pods = _enrolled_pods(inst)
    # Pods with an injected sidecar are left out of ambient on purpose: the conflict check reports them.
    uncaptured = sorted((p for p in pods if pod_capture(p) == NOT_CAPTURED and L.SIDECAR_STATUS not in p.annotations),
                        key=lambda p: (p.namespace, p.name))
    if uncaptured:
        count = len(uncaptured)
        yield CheckResult(name, FAILURE, f"{count} pod{'s' if count != 1 else ''} not captured: "
                          f"{listed([f'{p.namespace}/{p.name}' for p in uncaptured])}",
                          "they started before istio-cni was ready on their node: once it is, restart them "
                          f"({restart_command(uncaptured[0])}); istio-cni's logs on that node say more")
    else:
        captured = sum(n.captured for n in inst.enrolled)
        spaces = len(inst.enrolled)
        yield _ok(name, f"{captured} pod{'s' if captured != 1 else ''} captured in {spaces} "
                        f"namespace{'s' if spaces != 1 else ''}")


def restart_command(pod: Resource) -> str:
    """How to restart a pod: roll out its Deployment when it has one, else delete it."""
    owner = next((o.text("name") for o in pod.fields.iter_parts("metadata", "ownerReferences")
                  if o.text("kind") == "ReplicaSet"), "")
    template_hash = pod.labels.get(L.POD_TEMPLATE_HASH)
    if owner and isinstance(template_hash, str) and template_hash and owner.endswith(f"-{template_hash}"):
        deployment = owner[: -len(template_hash) - 1]
        return f"kubectl -n {pod.namespace} rollout restart deployment/{deployment}"
    return f"kubectl -n {pod.namespace} delete pod {pod.name}"


def injection_conflicts(inst: Installation) -> Iterable[CheckResult]:
    name = "enrolled namespaces do not use sidecar injection"
    sidecars: dict[str, int] = {}
    for pod in _enrolled_pods(inst) if inst.enrolled else []:
        if L.SIDECAR_STATUS in pod.annotations and pod_capture(pod) is not None:
            sidecars[pod.namespace] = sidecars.get(pod.namespace, 0) + 1
    lines, conflicting = [], []
    for ns in inst.enrolled:
        labels = injection_labels(inst.state.get(K.NAMESPACE, ns.name).labels) if ns.mode == CONFLICT else []
        count = sidecars.get(ns.name, 0)
        if labels or count:
            parts = ([f"labelled {', '.join(labels)}"] if labels else []) + (
                [f"{count} pod{'s' if count != 1 else ''} with sidecars, which ambient leaves alone"] if count else [])
            lines.append(f"namespace {ns.name}: {'; '.join(parts)}")
            conflicting.append(ns.name)
    if lines:
        first = conflicting[0]
        yield CheckResult(name, WARNING, "\n".join(lines),
                          f"keep one data plane per namespace: remove injection (kubectl label namespace {first} "
                          f"{L.INJECTION}-) and restart its pods, or unenroll it (meshctl namespace unenroll {first})")
    else:
        yield _ok(name)


def waypoints_exist(inst: Installation) -> Iterable[CheckResult]:
    name = "waypoints used by enrolled namespaces exist"
    users = []
    for ns in inst.enrolled:
        labels = inst.state.get(K.NAMESPACE, ns.name).labels
        if labels.get(L.USE_WAYPOINT):
            users.append((ns.name, labels.get(L.USE_WAYPOINT_NAMESPACE) or ns.name, labels[L.USE_WAYPOINT]))
    if not users:
        yield _ok(name, "no enrolled namespace uses a waypoint")
        return
    missing = [(ns, gw_ns, gw) for ns, gw_ns, gw in users if inst.state.get(K.GATEWAY, gw, gw_ns) is None]
    if missing:
        ns, gw_ns, gw = missing[0]
        yield CheckResult(name, FAILURE,
                          "\n".join(f"namespace {n} uses waypoint {w_ns}/{w}, which does not exist"
                                    for n, w_ns, w in missing),
                          f"create it (meshctl waypoint apply -n {gw_ns} --name {gw}) or stop using it "
                          f"(kubectl label namespace {ns} {L.USE_WAYPOINT}-)")
    else:
        yield _ok(name, f"{len(users)} namespace{'s' if len(users) != 1 else ''}")


def gateway_api_present(inst: Installation) -> Iterable[CheckResult]:
    yield check_gateway_api_present(inst.state, inst.facts)


def gateway_api_version(inst: Installation) -> Iterable[CheckResult]:
    yield check_gateway_api_version(inst.state, inst.facts)


ISTIOD_CLASSES = (L.CLASS_ISTIO, L.CLASS_WAYPOINT)


def gateway_classes(inst: Installation) -> Iterable[CheckResult]:
    name = f"GatewayClasses {' and '.join(ISTIOD_CLASSES)} are accepted"
    if K.GATEWAY_CLASS.resource not in inst.crd_names:
        yield CheckResult(name, SKIPPED, "the Gateway API CRDs are not installed", gateway_api_install_hint(inst.facts))
        return
    problems = []
    for class_name in ISTIOD_CLASSES:
        gc = inst.state.get(K.GATEWAY_CLASS, class_name)
        if gc is None:
            problems.append(f"GatewayClass {class_name} not found")
            continue
        accepted = next((c for c in conditions(gc) if c.type == "Accepted"), None)
        if accepted is None or accepted.status != "True":
            why = f"Accepted={accepted.status} ({accepted.reason})" if accepted else "no Accepted condition"
            problems.append(f"GatewayClass {class_name}: {why}")
    if problems:
        # Any running istiod registers them; name one that exists (the default revision's first).
        running = sorted(inst.all_istiods, key=lambda c: (c.revision != L.DEFAULT_REVISION, c.revision))
        hint = ("istiod registers them when it starts with the Gateway API CRDs present: restart it "
                f"(kubectl -n {running[0].namespace} rollout restart deployment/{running[0].name}) and read its logs"
                if running else "no istiod runs to register them: install the control plane (meshctl install)")
        yield CheckResult(name, FAILURE, "\n".join(problems), hint)
    else:
        yield _ok(name)


POST_INSTALL_CHECKS: tuple[Check[Installation], ...] = (
    Check("Istio CRDs", "Istio CRDs are installed", crds_installed),
    Check("Istio CRDs", "Istio CRDs are established", crds_established),
    Check("Control plane", "istiod version is supported", istiod_version),
    Check("Control plane", "istiod is ready", istiod_ready),
    Check("Control plane", "istiod is serving", istiod_serving),
    Check("Webhooks", "webhooks are reachable", webhooks),
    Check("Webhooks", "revision tags point at installed revisions", revision_tags),
    Check("Data plane", f"{CNI} is ready on every node", cni_ready),
    Check("Data plane", f"{ZTUNNEL} is ready on every node", ztunnel_ready),
    Check("Data plane", "ztunnel and istio-cni follow an installed istiod", dataplane_follows_istiod),
    Check("Data plane", "ztunnel version matches istiod", ztunnel_version),
    Check("Enrolled namespaces", "pods in enrolled namespaces are captured", pods_captured),
    Check("Enrolled namespaces", "enrolled namespaces do not use sidecar injection", injection_conflicts),
    Check("Enrolled namespaces", "waypoints used by enrolled namespaces exist", waypoints_exist),
    Check("Gateway API", "Gateway API CRDs are installed", gateway_api_present),
    Check("Gateway API", "Gateway API version suits Istio", gateway_api_version),
    Check("Gateway API", "GatewayClasses istio and istio-waypoint are accepted", gateway_classes),
)


def check_installation(state: ClusterState, *, facts_for: FactsFor, istio_namespace: str = L.ISTIO_NAMESPACE,
                       revision: str | None = None) -> list[Category]:
    """``meshctl check`` on one cluster: every post-install check, by category."""
    return run_checks(POST_INSTALL_CHECKS, Installation(state, istio_namespace, revision, facts_for),
                      state.info.cluster)
