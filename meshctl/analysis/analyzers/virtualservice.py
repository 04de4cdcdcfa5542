"""virtualservice.*: checks on VirtualServices and what they reference."""

from __future__ import annotations

import fnmatch

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

MESH_GATEWAY = "mesh"


def gateway_ref(reference: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a VirtualService's gateway reference: ``ns/name`` or a name in the VS's namespace."""
    if "/" in reference:
        ns, _, name = reference.partition("/")
        return ns, name
    return namespace, reference


def referenced_gateways(vs: Resource) -> list[str]:
    """Gateways named at the top and in each HTTP/TLS/TCP route match, in order, without repeats."""
    refs = list(vs.spec.get("gateways") or [])
    for section in ("http", "tls", "tcp"):
        for route in vs.spec.get(section) or []:
            for match in (route or {}).get("match") or []:
                refs += (match or {}).get("gateways") or []
    return [r for r in dict.fromkeys(refs) if isinstance(r, str)]


def host_in_server(vs_host: str, vs_namespace: str, server_hosts: list[str]) -> bool:
    """Whether a VirtualService host is admitted by one of a Gateway server's ``[ns/]host`` entries."""
    for entry in server_hosts:
        ns, _, host = entry.rpartition("/")
        if ns not in ("", "*", ".") and ns != vs_namespace:
            continue
        if fnmatch.fnmatchcase(vs_host, host) or fnmatch.fnmatchcase(host, vs_host) or host == "*":
            return True
    return False


@analyzer
class GatewayAnalyzer(Analyzer):
    name = "virtualservice.GatewayAnalyzer"
    description = "Checks that a VirtualService's gateways exist and that their servers admit its hosts"
    inputs = (K.VIRTUAL_SERVICE, K.ISTIO_GATEWAY)
    codes = ("IST0101", "IST0132")

    def analyze(self, ctx: Context) -> None:
        for vs in ctx.resources(K.VIRTUAL_SERVICE):
            hosts = [h for h in vs.spec.get("hosts") or [] if isinstance(h, str)]
            for ref in referenced_gateways(vs):
                if ref == MESH_GATEWAY:
                    continue
                ns, name = gateway_ref(ref, vs.namespace)
                gw = ctx.get(K.ISTIO_GATEWAY, ns, name)
                if gw is None:
                    ctx.report("IST0101", vs, "gateway", f"{ns}/{name}", field_path="spec.gateways")
                    continue
                server_hosts = [h for s in gw.spec.get("servers") or [] for h in (s or {}).get("hosts") or []]
                missing = [h for h in hosts if not host_in_server(h, vs.namespace, server_hosts)]
                if missing:
                    ctx.report("IST0132", vs, ",".join(missing), f"{vs.namespace}/{vs.name}", f"{ns}/{name}")
