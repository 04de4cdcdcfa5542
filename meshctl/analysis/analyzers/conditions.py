"""conditions.ConditionAnalyzer: negative status conditions that Istio (or a Gateway API controller) wrote.

Which condition types count, per kind, follows Istio: a Service or ServiceEntry not bound to its
waypoint, an AuthorizationPolicy ztunnel or the waypoint did not accept (or accepted only in part),
a Gateway not accepted/programmed/resolved, and a route not accepted/resolved by one of its parents.
Istio reports a condition whatever its ``observedGeneration``, and so does meshctl: a stale negative
condition still means the controller has not accepted the current spec yet.
"""

from __future__ import annotations

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind
from meshctl.kube.state import Resource

GATEWAY_API_NEGATIVE = frozenset({"Accepted", "Programmed", "ResolvedRefs"})

# Condition types that are bad news when their status is "False", per kind.
NEGATIVE_WHEN_FALSE: dict[Kind, frozenset[str]] = {
    K.SERVICE: frozenset({"istio.io/WaypointBound"}),
    K.SERVICE_ENTRY: frozenset({"istio.io/WaypointBound"}),
    K.AUTHORIZATION_POLICY: frozenset({"ZtunnelAccepted", "WaypointAccepted"}),
    K.GATEWAY: GATEWAY_API_NEGATIVE,
}
ROUTE_KINDS = (K.HTTP_ROUTE, K.GRPC_ROUTE, K.TLS_ROUTE, K.TCP_ROUTE)  # conditions per parent

# The waypoint accepted only part of the policy: status True, but the rest is ignored.
PARTIALLY_INVALID = ("WaypointAccepted", "PartiallyInvalid")


def describe(condition: dict, parent: str = "") -> str:
    text = f"{condition.get('type')}={condition.get('status')}"
    if parent:
        text += f" for parent {parent}"
    if condition.get("reason"):
        text += f" ({condition['reason']})"
    if condition.get("message"):
        text += f": {condition['message']}"
    return text


def is_negative(kind: Kind, condition: dict) -> bool:
    ctype = condition.get("type")
    if not isinstance(ctype, str):
        return False
    if kind == K.AUTHORIZATION_POLICY and (ctype, condition.get("reason")) == PARTIALLY_INVALID:
        return True
    types = GATEWAY_API_NEGATIVE if kind in ROUTE_KINDS else NEGATIVE_WHEN_FALSE.get(kind, frozenset())
    return ctype in types and condition.get("status") == "False"


def conditions_of(status: dict) -> list[dict]:
    conditions = status.get("conditions")
    return [c for c in conditions if isinstance(c, dict)] if isinstance(conditions, list) else []


def parent_name(ref: dict, route: Resource) -> str:
    name = f"{ref.get('namespace') or route.namespace}/{ref.get('name', '')}"
    if ref.get("sectionName"):
        name += f"/{ref['sectionName']}"
    kind = ref.get("kind") or "Gateway"
    return f"{kind} {name}"


@analyzer
class ConditionAnalyzer(Analyzer):
    name = "conditions.ConditionAnalyzer"
    description = "Checks for negative status conditions on Services, ServiceEntries, policies, Gateways and routes"
    inputs = tuple(NEGATIVE_WHEN_FALSE) + ROUTE_KINDS
    codes = ("IST0171",)

    def analyze(self, ctx: Context) -> None:
        for kind in NEGATIVE_WHEN_FALSE:
            for resource in ctx.resources(kind):
                for condition in conditions_of(resource.status):
                    if is_negative(kind, condition):
                        ctx.report("IST0171", resource, describe(condition), field_path="status.conditions")
        for kind in ROUTE_KINDS:
            for route in ctx.resources(kind):
                for parent in route.fields.sequence("status", "parents"):
                    if not isinstance(parent, dict):
                        continue
                    ref = parent.get("parentRef")
                    where = parent_name(ref if isinstance(ref, dict) else {}, route)
                    for condition in conditions_of(parent):
                        if is_negative(kind, condition):
                            ctx.report("IST0171", route, describe(condition, where), field_path="status.parents")
