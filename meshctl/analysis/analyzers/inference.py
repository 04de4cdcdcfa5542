"""inference.*: meshctl's checks of Gateway API Inference Extension configuration (codes MSH0101 and up).

The checks are ``meshctl.mesh.inference``'s, the ones ``meshctl inference status`` runs, over an index
built once per analysis from the analyzer context; here they become messages on the object to fix:

- routes: a backendRef to an InferencePool that does not exist, under a group other than
  ``inference.networking.k8s.io``, or into another namespace without a ReferenceGrant; an InferencePool
  behind a GRPCRoute or a waypoint (Istio wires pools into istio-class Gateways' HTTPRoutes only); two
  pools weighted in one rule (Istio gives a rule one endpoint picker); a rule without
  ``timeouts.request`` (how long a generation may run is then left to defaults along the way).
- pools: the old ``inference.networking.x-k8s.io`` API; target ports no container of the selected pods
  or their workloads declares; the endpoint picker reference (missing, not a Service, an ExternalName
  Service, a port the Service does not have); the picker Deployment's ``--pool-*`` flags naming another
  pool; no DestinationRule giving the picker TLS (``tls.mode: SIMPLE``) for the istio-class Gateways that
  call it.
- InferenceObjectives (``llm-d.ai`` and ``inference.networking.x-k8s.io``) whose poolRef names no pool.

What depends on the running cluster (ready pods and endpoints, istiod's inference switch, status
conditions) is ``inference status``'s to tell, not the analyzers'. A kind the source cannot provide
makes the checks that need it say nothing.
"""

from __future__ import annotations

from collections import defaultdict

from meshctl.analysis.common import dicts, mapping
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.analysis.messages import Level, MessageType, register
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh.inference import (
    NO_PICKER,
    OLD_POOL_GROUP,
    PICKER_EXTERNAL_NAME,
    PICKER_MISSING,
    PICKER_NO_PORT,
    PICKER_NOT_SERVICE,
    PICKER_PORT_UNKNOWN,
    POOL_GROUP,
    POOL_KIND,
    BackendRef,
    EndpointPicker,
    InferenceIndex,
    ParentStatus,
    declared_ports,
    endpoint_picker,
    epp_container_index,
    epp_flag_mismatches,
    epp_flags,
    is_waypoint_parent,
    istio_gateway_namespaces,
    picker_issues,
    picker_tls,
    picker_tls_applies,
    pool_backend_refs,
    pool_selector,
    route_parents,
    undeclared_target_ports,
)

E, W = Level.ERROR, Level.WARNING
POOL_NOT_FOUND, WRONG_GROUP, NOT_PERMITTED, GRPC_ROUTE, BEHIND_WAYPOINT, SPLIT, NO_TIMEOUT = (
    "MSH0101", "MSH0102", "MSH0103", "MSH0104", "MSH0105", "MSH0106", "MSH0107")
OLD_API, TARGET_PORT = "MSH0108", "MSH0109"
PICKER_REF, PICKER_NOT_FOUND, PICKER_EXTERNAL, PICKER_PORT, PICKER_ARGS, PICKER_NO_TLS, PICKER_TLS_MODE = (
    "MSH0110", "MSH0111", "MSH0112", "MSH0113", "MSH0114", "MSH0115", "MSH0116")
OBJECTIVE_POOL = "MSH0117"
register(
    MessageType(POOL_NOT_FOUND, "InferencePoolNotFound", E,
                "backendRef {0} names InferencePool {1}, which does not exist{2}."),
    MessageType(WRONG_GROUP, "InferencePoolGroupInvalid", E,
                "backendRef {0} names InferencePool {1} with group {2}; Istio resolves InferencePool backends "
                "only in group " + POOL_GROUP + ", so this backend does not resolve."),
    MessageType(NOT_PERMITTED, "InferencePoolReferenceNotPermitted", E,
                "backendRef {0} names InferencePool {1} in another namespace, and no ReferenceGrant there "
                "allows it, so this backend does not resolve."),
    MessageType(GRPC_ROUTE, "InferencePoolOnGRPCRoute", E,
                "backendRef {0} names InferencePool {1}, but Istio calls the endpoint picker for HTTPRoute "
                "backends only, not GRPCRoute ones."),
    MessageType(BEHIND_WAYPOINT, "InferencePoolBehindWaypoint", E,
                "This route sends to InferencePool {0} and is attached to {1}, a waypoint; Istio serves "
                "InferencePools only through Gateways of class istio."),
    MessageType(SPLIT, "InferencePoolWeightedSplit", W,
                "{0} splits traffic across InferencePools {1}; Istio may wire a single endpoint "
                "picker per rule, so requests weighted to the other pools can be placed by the wrong picker."),
    MessageType(NO_TIMEOUT, "InferenceRouteWithoutTimeout", W,
                "{0} sends to InferencePool {1} without timeouts.request, so how long a generation may run "
                "is left to the defaults of every proxy on the way (Istio: ISTIO_DEFAULT_REQUEST_TIMEOUT)."),
    MessageType(OLD_API, "InferencePoolOldAPI", E,
                "This InferencePool uses the old API {0}; Istio 1.28 and later serve only {1} InferencePools."),
    MessageType(TARGET_PORT, "InferencePoolTargetPortNotDeclared", W,
                "Target port {0} is not a container port of the pods this pool selects (they declare {1}); the "
                "gateway sends each request to that port of the pod the endpoint picker chose."),
    MessageType(PICKER_REF, "EndpointPickerRefInvalid", E,
                "This InferencePool {0}; Istio needs an endpoint picker Service to route to the pool."),
    MessageType(PICKER_NOT_FOUND, "EndpointPickerNotFound", E,
                "The endpoint picker Service {0} does not exist, so requests to this pool fail."),
    MessageType(PICKER_EXTERNAL, "EndpointPickerExternalName", E,
                "The endpoint picker Service {0} is of type ExternalName; the gateway needs endpoints to call."),
    MessageType(PICKER_PORT, "EndpointPickerPortInvalid", E,
                "endpointPickerRef {0}; it must be a port of the endpoint picker Service {1} (it has: {2})."),
    MessageType(PICKER_ARGS, "EndpointPickerServesAnotherPool", E,
                "This Deployment runs the endpoint picker of InferencePool {0}, but its flags name another pool "
                "({1}); an endpoint picker serves only the pool its flags name."),
    MessageType(PICKER_NO_TLS, "EndpointPickerWithoutTLS", E,
                "No DestinationRule gives the endpoint picker {0} tls.mode SIMPLE; it serves TLS, so the istio "
                "gateways' ext_proc calls to it fail, and with them every request to this pool (HTTP 5xx)."),
    MessageType(PICKER_TLS_MODE, "EndpointPickerTLSModeInvalid", E,
                "This DestinationRule gives the endpoint picker {0} of InferencePool {1} TLS mode {2}, not "
                "SIMPLE, so the istio gateways' ext_proc calls to it fail (HTTP 5xx)."),
    MessageType(OBJECTIVE_POOL, "InferenceObjectivePoolNotFound", E,
                "poolRef names InferencePool {0} (group {1}), which does not exist, so no endpoint picker applies "
                "this objective."),
)

# Runtime state is `inference status`'s: the analyzers' index is not given these kinds.
RUNTIME_KINDS = frozenset({K.ENDPOINT_SLICE.resource})
PICKER_FIELD = "spec.endpointPickerRef"


def inference_index(ctx: Context) -> InferenceIndex:
    """The inference index of this analysis, built once and shared by the inference analyzers; a Service,
    workload or DestinationRule absent from the source is absent (as Istio's analyzers take it)."""

    def read(kind: K.Kind, namespace: str | None) -> list[Resource] | None:
        if kind.resource in RUNTIME_KINDS or not ctx.has(kind):
            return None
        return ctx.resources(kind) if namespace is None else ctx.in_namespace(kind, namespace)

    return ctx._index("inference", lambda: InferenceIndex(read, complete=True, cluster=ctx.cluster))


def _pool_text(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def _where(ref: BackendRef) -> str:
    """A backendRef as messages name it: ``rules[0].backendRefs[1]``."""
    return ref.path.removeprefix("spec.")


@analyzer
class RouteAnalyzer(Analyzer):
    name = "inference.RouteAnalyzer"
    description = ("Checks route backendRefs to InferencePools: the pool exists under the v1 group and may be "
                   "referenced, the route is an HTTPRoute on an istio-class Gateway, one pool per rule, a "
                   "request timeout")
    inputs = (K.HTTP_ROUTE, K.GRPC_ROUTE, K.INFERENCE_POOL, K.INFERENCE_POOL_X, K.REFERENCE_GRANT, K.GATEWAY)
    codes = (POOL_NOT_FOUND, WRONG_GROUP, NOT_PERMITTED, GRPC_ROUTE, BEHIND_WAYPOINT, SPLIT, NO_TIMEOUT)

    def analyze(self, ctx: Context) -> None:
        index = inference_index(ctx)
        for route in ctx.resources(K.HTTP_ROUTE):
            refs = pool_backend_refs(route)
            if refs:
                self._check_refs(ctx, index, route, refs)
                self._check_rules(ctx, route, refs)
                self._check_parents(ctx, index, route, refs[0])
        for route in ctx.resources(K.GRPC_ROUTE):
            for ref in pool_backend_refs(route):
                ctx.report(GRPC_ROUTE, route, _where(ref), _pool_text(ref.namespace, ref.name), field_path=ref.path)

    def _check_refs(self, ctx: Context, index: InferenceIndex, route: Resource, refs: list[BackendRef]) -> None:
        pools_known, grants_known = ctx.has(K.INFERENCE_POOL), ctx.has(K.REFERENCE_GRANT)
        for ref in refs:
            pool = _pool_text(ref.namespace, ref.name)
            if ref.group != POOL_GROUP:
                ctx.report(WRONG_GROUP, route, _where(ref), pool, repr(ref.group) if ref.group else "'' (core)",
                           field_path=f"{ref.path}.group")
            if pools_known and index.pool(ref.namespace, ref.name) is None:
                old = index.pool(ref.namespace, ref.name, OLD_POOL_GROUP) is not None
                note = f" (only an {K.INFERENCE_POOL_X.api_version} one, which Istio no longer serves)" if old else ""
                ctx.report(POOL_NOT_FOUND, route, _where(ref), pool, note, field_path=f"{ref.path}.name")
            if grants_known and not index.granted(route, ref.group, ref.namespace, ref.name):
                ctx.report(NOT_PERMITTED, route, _where(ref), pool, field_path=f"{ref.path}.namespace")

    def _check_rules(self, ctx: Context, route: Resource, refs: list[BackendRef]) -> None:
        by_rule: dict[int, list[BackendRef]] = defaultdict(list)
        for ref in refs:
            by_rule[ref.rule].append(ref)
        for rule, rule_refs in by_rule.items():
            pools = sorted({_pool_text(r.namespace, r.name) for r in rule_refs})
            if len(pools) > 1:
                ctx.report(SPLIT, route, f"rules[{rule}]", ", ".join(pools),
                           field_path=f"spec.rules[{rule}].backendRefs")
            if not rule_refs[0].request_timeout:
                ctx.report(NO_TIMEOUT, route, f"rules[{rule}]", pools[0],
                           field_path=f"spec.rules[{rule}].timeouts.request")

    def _check_parents(self, ctx: Context, index: InferenceIndex, route: Resource, ref: BackendRef) -> None:
        for i, parent_ref in enumerate(dicts(mapping(route.spec).get("parentRefs"))):
            if not parent_ref.get("name"):
                continue
            kind = str(parent_ref.get("kind") or "Gateway")
            namespace, name = str(parent_ref.get("namespace") or route.namespace), str(parent_ref["name"])
            parent = ParentStatus(kind, namespace, name,
                                  index.gateway_class(namespace, name) if kind == "Gateway" else "", ())
            if is_waypoint_parent(parent):
                ctx.report(BEHIND_WAYPOINT, route, _pool_text(ref.namespace, ref.name), f"{kind} {parent.ref}",
                           field_path=f"spec.parentRefs[{i}]")


@analyzer
class PoolAnalyzer(Analyzer):
    name = "inference.PoolAnalyzer"
    description = "Checks InferencePools: the v1 API, and target ports the selected model servers declare"
    inputs = (K.INFERENCE_POOL, K.INFERENCE_POOL_X, K.POD, K.DEPLOYMENT, K.STATEFUL_SET)
    codes = (OLD_API, TARGET_PORT)

    def analyze(self, ctx: Context) -> None:
        for pool in ctx.resources(K.INFERENCE_POOL_X):
            ctx.report(OLD_API, pool, K.INFERENCE_POOL_X.api_version, K.INFERENCE_POOL.api_version,
                       field_path="apiVersion")
        pools = ctx.resources(K.INFERENCE_POOL)
        if not pools:
            return
        index = inference_index(ctx)
        for pool in pools:
            declared = declared_ports(index, pool.namespace, pool_selector(pool))
            for path, port in undeclared_target_ports(pool, declared):
                ctx.report(TARGET_PORT, pool, port, ", ".join(str(p) for p in sorted(declared)), field_path=path)


@analyzer
class EndpointPickerAnalyzer(Analyzer):
    name = "inference.EndpointPickerAnalyzer"
    description = ("Checks each InferencePool's endpoint picker: its Service and port, the picker Deployment's "
                   "--pool-* flags, and the TLS DestinationRule istio-class Gateways need to call it")
    inputs = (K.INFERENCE_POOL, K.SERVICE, K.DEPLOYMENT, K.STATEFUL_SET, K.DESTINATION_RULE, K.HTTP_ROUTE, K.GATEWAY)
    codes = (PICKER_REF, PICKER_NOT_FOUND, PICKER_EXTERNAL, PICKER_PORT, PICKER_ARGS, PICKER_NO_TLS, PICKER_TLS_MODE)

    def analyze(self, ctx: Context) -> None:
        pools = ctx.resources(K.INFERENCE_POOL)
        if not pools:
            return
        index = inference_index(ctx)
        callers = self._istio_callers(index)
        for pool in pools:
            picker, deployments = endpoint_picker(index, pool)
            self._check_ref(ctx, index, pool, picker)
            for deployment in deployments:
                flags = epp_flags(deployment)
                wrong = epp_flag_mismatches(pool, flags)
                if wrong:
                    want = {"pool-name": pool.name, "pool-namespace": pool.namespace, "pool-group": pool.kind.group}
                    shown = "; ".join(f"--{f} {flags.get(f) or '(unset)'}, not {want[f]}" for f in wrong)
                    ctx.report(PICKER_ARGS, deployment, _pool_text(pool.namespace, pool.name), shown,
                               field_path=f"spec.template.spec.containers[{epp_container_index(deployment)}].args")
            gateway_namespaces = callers.get((pool.namespace, pool.name), set())
            if picker is None or not picker_tls_applies(index, picker, gateway_namespaces):
                continue
            tls = picker_tls(index, picker, gateway_namespaces)
            if tls.rule is None:
                ctx.report(PICKER_NO_TLS, pool, picker.host, field_path=PICKER_FIELD)
            elif not tls.simple:
                ctx.report(PICKER_TLS_MODE, tls.rule, picker.host, _pool_text(pool.namespace, pool.name),
                           tls.mode or "none", field_path=f"{tls.path}.mode")

    @staticmethod
    def _istio_callers(index: InferenceIndex) -> dict[tuple[str, str], set[str]]:
        """For each pool, the namespaces of the istio-class Gateways whose HTTPRoutes resolve to it."""
        callers: dict[tuple[str, str], set[str]] = defaultdict(set)
        for route in index.routes or []:
            targets = {(r.namespace, r.name) for r in pool_backend_refs(route) if r.group == POOL_GROUP}
            if targets:
                namespaces = istio_gateway_namespaces(route_parents(index, route))
                for target in targets:
                    callers[target] |= namespaces
        return callers

    @staticmethod
    def _check_ref(ctx: Context, index: InferenceIndex, pool: Resource, picker: EndpointPicker | None) -> None:
        for issue in picker_issues(index, pool, picker):
            if issue == NO_PICKER or picker is None:
                ctx.report(PICKER_REF, pool, "has no endpointPickerRef", field_path="spec")
                continue
            service = _pool_text(pool.namespace, picker.service)
            if issue == PICKER_NOT_SERVICE:
                ctx.report(PICKER_REF, pool, f"names a {picker.kind} as endpoint picker, not a Service",
                           field_path=f"{PICKER_FIELD}.kind")
            elif issue == PICKER_MISSING:
                ctx.report(PICKER_NOT_FOUND, pool, service, field_path=f"{PICKER_FIELD}.name")
            elif issue == PICKER_EXTERNAL_NAME:
                ctx.report(PICKER_EXTERNAL, pool, service, field_path=f"{PICKER_FIELD}.name")
            elif issue in (PICKER_NO_PORT, PICKER_PORT_UNKNOWN):
                problem = "has no port.number" if issue == PICKER_NO_PORT \
                    else f"port {picker.port} is not a Service port"
                have = ", ".join(str(p) for p in picker.service_ports) \
                    or ("not known" if picker.service_found is None else "none")
                ctx.report(PICKER_PORT, pool, problem, service, have, field_path=f"{PICKER_FIELD}.port.number")


@analyzer
class ObjectiveAnalyzer(Analyzer):
    name = "inference.ObjectiveAnalyzer"
    description = "Checks that each InferenceObjective's poolRef names an existing InferencePool"
    inputs = (K.INFERENCE_OBJECTIVE, K.INFERENCE_OBJECTIVE_X, K.INFERENCE_POOL, K.INFERENCE_POOL_X)
    codes = (OBJECTIVE_POOL,)

    def analyze(self, ctx: Context) -> None:
        objectives = ctx.resources(K.INFERENCE_OBJECTIVE) + ctx.resources(K.INFERENCE_OBJECTIVE_X)
        if not objectives:
            return
        index = inference_index(ctx)
        pool_kinds = {POOL_GROUP: K.INFERENCE_POOL, OLD_POOL_GROUP: K.INFERENCE_POOL_X}
        for objective in objectives:
            ref = mapping(mapping(objective.spec).get("poolRef"))
            name, group = str(ref.get("name") or ""), str(ref.get("group") or POOL_GROUP)
            if not name or (ref.get("kind") or POOL_KIND) != POOL_KIND:
                continue
            pool_kind = pool_kinds.get(group)
            if pool_kind is not None and not ctx.has(pool_kind):
                continue  # the source cannot say which pools of that group exist
            if index.pool(objective.namespace, name, group) is None:
                ctx.report(OBJECTIVE_POOL, objective, _pool_text(objective.namespace, name), group,
                           field_path="spec.poolRef.name")
