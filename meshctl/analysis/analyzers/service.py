"""service.PortNameAnalyzer: Service ports whose protocol Istio cannot tell from the name or appProtocol."""

from __future__ import annotations

from typing import Any

from meshctl.analysis.common import is_istio_control_plane, is_system_namespace
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

# Protocol names Istio recognises as a port-name prefix or appProtocol (case-insensitive).
KNOWN_PROTOCOLS = frozenset({
    "tcp", "udp", "grpc", "grpc-web", "http", "http_proxy", "http2", "https", "tls", "mongo", "redis", "mysql",
})
# Kubernetes' standard appProtocol values Istio maps to HTTP/2, HTTP and HTTPS.
KUBERNETES_APP_PROTOCOLS = frozenset({"kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss"})
# Ports Istio treats as TCP whatever their name (SMTP, DNS, MySQL, MongoDB).
WELL_KNOWN_PORTS = frozenset({25, 53, 3306, 27017})

# Labels on Services istiod writes itself (gateway and waypoint deployments, InferencePool shadow Services).
ISTIO_MANAGED_GATEWAY = "gateway.istio.io/managed"
INFERENCE_POOL_SHADOW = "istio.io/inferencepool-name"


def is_generated_by_istio(service: Resource) -> bool:
    """Services istiod creates; users cannot rename their ports, so reporting them helps nobody."""
    if ISTIO_MANAGED_GATEWAY in service.labels or INFERENCE_POOL_SHADOW in service.labels:
        return True
    owners = service.metadata.get("ownerReferences") or []
    return any((o or {}).get("kind") == "InferencePool" for o in owners)


def protocol_is_known(port: dict[str, Any]) -> bool:
    """Whether Istio can tell the protocol of a Service port (its port name convention or appProtocol)."""
    if str(port.get("protocol") or "TCP").upper() == "UDP":
        return True
    name = str(port.get("appProtocol") or port.get("name") or "")
    if name in KUBERNETES_APP_PROTOCOLS or name.lower().startswith("grpc-web"):
        return True
    prefix = name.split("-", 1)[0].lower()
    if prefix in KNOWN_PROTOCOLS:
        return True
    return _port_number(port.get("port")) in WELL_KNOWN_PORTS


def _port_number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def target_port_text(port: dict[str, Any]) -> str:
    """The target port as Kubernetes reads it: a number or a name, the port itself when unset."""
    target = port.get("targetPort")
    return str(target if target not in (None, "") else port.get("port", ""))


@analyzer
class PortNameAnalyzer(Analyzer):
    name = "service.PortNameAnalyzer"
    description = "Checks that Service ports name their protocol (or set appProtocol)"
    inputs = (K.SERVICE,)
    codes = ("IST0118", "IST0150")

    def analyze(self, ctx: Context) -> None:
        for service in ctx.resources(K.SERVICE):
            if is_system_namespace(service.namespace) or is_istio_control_plane(service):
                continue
            if is_generated_by_istio(service):
                continue
            self._check_ports(ctx, service)

    def _check_ports(self, ctx: Context, service: Resource) -> None:
        external_name = service.spec.get("type") == "ExternalName"
        for i, port in enumerate(service.spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            # An ExternalName Service's port named plain "tcp" makes the proxy treat it as opaque TCP.
            if protocol_is_known(port) and not (external_name and port.get("name") == "tcp"):
                continue
            where = f"spec.ports[{i}]"
            if external_name:
                ctx.report("IST0150", service, field_path=where)
            else:
                ctx.report("IST0118", service, port.get("name") or "", port.get("port", ""),
                           target_port_text(port), field_path=where)
