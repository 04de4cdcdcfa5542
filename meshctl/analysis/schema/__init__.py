"""Schema validation of Istio and Gateway API objects, as Istio's validation webhook and the CRDs do it.

``SCHEMAS`` lists, per validated Kind, the name of its analyzer (Istio's ``schema.ValidationAnalyzer.<Kind>``)
and its ``KindSchema``; ``validate(resource)`` returns the findings about one object. The schemas are
meshctl's own compact description of the APIs (see ``core`` for the language), written from the CRDs
and from Istio's validation rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshctl.analysis.schema import (
    extensions,
    gatewayapi,
    networking,
    security,
    telemetry,
)
from meshctl.analysis.schema.core import (
    ERROR,
    INEFFECTIVE,
    UNREACHABLE,
    WARNING,
    Finding,
    KindSchema,
    validate_object,
)
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind

ANALYZER_PREFIX = "schema.ValidationAnalyzer."


@dataclass(frozen=True)
class ValidatedKind:
    kind: Kind
    name: str  # Istio's identifier of the collection: the kind, or "KubernetesGateway" for Gateway API's Gateway
    schema: KindSchema

    @property
    def analyzer_name(self) -> str:
        return ANALYZER_PREFIX + self.name


SCHEMAS: tuple[ValidatedKind, ...] = (
    ValidatedKind(K.VIRTUAL_SERVICE, "VirtualService", networking.VIRTUAL_SERVICE),
    ValidatedKind(K.DESTINATION_RULE, "DestinationRule", networking.DESTINATION_RULE),
    ValidatedKind(K.ISTIO_GATEWAY, "Gateway", networking.GATEWAY),
    ValidatedKind(K.SERVICE_ENTRY, "ServiceEntry", networking.SERVICE_ENTRY),
    ValidatedKind(K.SIDECAR, "Sidecar", networking.SIDECAR),
    ValidatedKind(K.ENVOY_FILTER, "EnvoyFilter", networking.ENVOY_FILTER),
    ValidatedKind(K.WORKLOAD_ENTRY, "WorkloadEntry", networking.WORKLOAD_ENTRY),
    ValidatedKind(K.WORKLOAD_GROUP, "WorkloadGroup", networking.WORKLOAD_GROUP),
    ValidatedKind(K.PROXY_CONFIG, "ProxyConfig", networking.PROXY_CONFIG),
    ValidatedKind(K.AUTHORIZATION_POLICY, "AuthorizationPolicy", security.AUTHORIZATION_POLICY),
    ValidatedKind(K.PEER_AUTHENTICATION, "PeerAuthentication", security.PEER_AUTHENTICATION),
    ValidatedKind(K.REQUEST_AUTHENTICATION, "RequestAuthentication", security.REQUEST_AUTHENTICATION),
    ValidatedKind(K.TELEMETRY, "Telemetry", telemetry.TELEMETRY),
    ValidatedKind(K.WASM_PLUGIN, "WasmPlugin", extensions.WASM_PLUGIN),
    # Gateway API (Istio names its Gateway API Gateway collection "KubernetesGateway")
    ValidatedKind(K.GATEWAY, "KubernetesGateway", gatewayapi.GATEWAY),
    ValidatedKind(K.GATEWAY_CLASS, "GatewayClass", gatewayapi.GATEWAY_CLASS),
    ValidatedKind(K.HTTP_ROUTE, "HTTPRoute", gatewayapi.HTTP_ROUTE),
    ValidatedKind(K.GRPC_ROUTE, "GRPCRoute", gatewayapi.GRPC_ROUTE),
    ValidatedKind(K.TLS_ROUTE, "TLSRoute", gatewayapi.TLS_ROUTE),
    ValidatedKind(K.REFERENCE_GRANT, "ReferenceGrant", gatewayapi.REFERENCE_GRANT),
    ValidatedKind(K.BACKEND_TLS_POLICY, "BackendTLSPolicy", gatewayapi.BACKEND_TLS_POLICY),
)

_BY_KIND = {(s.kind.group, s.kind.kind): s for s in SCHEMAS}


def schema_for(kind: Kind) -> ValidatedKind | None:
    return _BY_KIND.get((kind.group, kind.kind))


def validate(kind: Kind, raw: Any) -> list[Finding]:
    """The findings about one raw object of ``kind`` (none for kinds meshctl does not validate)."""
    found = schema_for(kind)
    return validate_object(found.schema, raw) if found else []


__all__ = [
    "ERROR",
    "INEFFECTIVE",
    "SCHEMAS",
    "UNREACHABLE",
    "WARNING",
    "Finding",
    "ValidatedKind",
    "schema_for",
    "validate",
    "validate_object",
]
