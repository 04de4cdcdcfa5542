"""serviceentry.*: checks on ServiceEntries: addresses for TCP ports, one protocol per host and port."""

from __future__ import annotations

from collections import defaultdict

from meshctl.analysis.common import (
    EXPORT_ALL,
    dicts,
    export_scopes,
    full_name,
    mapping,
    string_list,
)
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

# Proxy metadata with which the sidecar's DNS proxy gives ServiceEntries addresses of its own.
DNS_CAPTURE = "ISTIO_META_DNS_CAPTURE"
DNS_AUTO_ALLOCATE = ("ISTIO_META_DNS_AUTO_ALLOCATE", "PILOT_ENABLE_IP_AUTOALLOCATE")


def addresses_auto_allocated(mesh_config: dict) -> bool:
    """Whether the mesh's default proxy config captures DNS and allocates ServiceEntry addresses."""
    metadata = mapping(mapping(mesh_config.get("defaultConfig")).get("proxyMetadata"))
    if str(metadata.get(DNS_CAPTURE, "")).lower() != "true":
        return False
    return any(str(metadata.get(k, "")).lower() == "true" for k in DNS_AUTO_ALLOCATE)


def has_addresses(se: Resource) -> bool:
    """Addresses set in the spec, or allocated by istiod (``status.addresses``)."""
    return bool(string_list(se.spec.get("addresses"))) or bool(se.status.get("addresses"))


@analyzer
class ProtocolAddressesAnalyzer(Analyzer):
    name = "serviceentry.Analyzer"
    description = "Checks that ServiceEntries with TCP ports have addresses"
    inputs = (K.SERVICE_ENTRY,)
    codes = ("IST0134",)

    def analyze(self, ctx: Context) -> None:
        if addresses_auto_allocated(ctx.mesh_config):
            return
        for se in ctx.resources(K.SERVICE_ENTRY):
            if has_addresses(se):
                continue
            # Without an address a TCP port can only be matched by port, for every host at once.
            for i, port in enumerate(dicts(se.spec.get("ports"))):
                if str(port.get("protocol") or "").upper() in ("", "TCP"):
                    ctx.report("IST0134", se, field_path=f"spec.ports[{i}]")


@analyzer
class ConflictingServiceEntryProtocolAnalyzer(Analyzer):
    """IST0177 when ServiceEntries seen from one namespace give a host's port different protocols.

    Entries exported to every namespace are seen from each namespace too; each ServiceEntry is
    reported once, for the first (host, port) it conflicts on.
    """

    name = "serviceentry.ConflictingServiceEntryProtocolAnalyzer"
    description = "Checks that ServiceEntries for the same host and port agree on the protocol"
    inputs = (K.SERVICE_ENTRY,)
    codes = ("IST0177",)

    def analyze(self, ctx: Context) -> None:
        # (scope, host, port) -> [(protocol, ServiceEntry)]
        declared: dict[tuple[str, str, int], list[tuple[str, Resource]]] = defaultdict(list)
        for se in ctx.resources(K.SERVICE_ENTRY):
            ports = [(p["number"], str(p.get("protocol") or "").upper())
                     for p in dicts(se.spec.get("ports")) if isinstance(p.get("number"), int)]
            for scope in export_scopes(se.spec.get("exportTo"), se.namespace):
                for host in string_list(se.spec.get("hosts")):
                    for number, protocol in ports:
                        declared[(scope, host, number)].append((protocol, se))

        reported: set[tuple] = set()
        for scope, host, number in sorted(declared):
            entries = declared[(scope, host, number)]
            if scope != EXPORT_ALL:
                entries = entries + declared.get((EXPORT_ALL, host, number), [])
            protocols = sorted({protocol for protocol, _ in entries})
            if len(protocols) < 2:
                continue
            entries_by_key = {se.key: se for _, se in entries}
            names = ", ".join(sorted(full_name(se) for se in entries_by_key.values()))
            for key, se in entries_by_key.items():
                if key not in reported:
                    reported.add(key)
                    ctx.report("IST0177", se, names, number, host, ", ".join(p or '""' for p in protocols))
