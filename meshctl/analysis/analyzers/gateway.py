"""gateway.*: checks on Istio (networking.istio.io) Gateways: workloads, ports, certificates, conflicts.

A Gateway's selector picks gateway pods in any namespace, as istiod does by default.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from datetime import datetime, timezone

from meshctl.analysis.common import (
    PodIndex,
    dicts,
    full_name,
    mapping,
    selector_text,
    selectors_compatible,
    string_list,
    string_map,
)
from meshctl.analysis.framework import Analyzer, Context, analyzer, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource


def gateway_selector(gateway: Resource) -> dict[str, str]:
    return string_map(gateway.spec.get("selector"))


def server_port(server: dict) -> int | None:
    number = mapping(server.get("port")).get("number")
    return number if isinstance(number, int) else None


def server_tls(server: dict) -> dict:
    return mapping(server.get("tls"))


# -- IngressGatewayPortAnalyzer -----------------------------------------------------------------


class ServicesByPod:
    """The Services selecting a pod, through an index of Service selectors (no scan of all Services)."""

    def __init__(self, ctx: Context) -> None:
        # Each Service is filed under one of its selector's labels; a pod's labels find candidates.
        self._by_label: dict[tuple[str, str, str], list[tuple[dict[str, str], Resource]]] = defaultdict(list)
        for svc in ctx.resources(K.SERVICE):
            selector = string_map(svc.spec.get("selector"))
            if selector:
                key, value = min(selector.items())
                self._by_label[(svc.namespace, key, value)].append((selector, svc))

    def of(self, pod: Resource) -> list[Resource]:
        found = []
        for key, value in pod.labels.items():
            for selector, svc in self._by_label.get((pod.namespace, key, value), []):
                if selector_matches(selector, pod.labels):
                    found.append(svc)
        return found


def workload_ports(service: Resource) -> set[int]:
    """TCP ports a Service sends to its pods: the targetPort when it is a number, else the port."""
    ports = set()
    for port in dicts(service.spec.get("ports")):
        if (port.get("protocol") or "TCP") != "TCP":
            continue
        target = port.get("targetPort")
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        if isinstance(target, int) and target:
            ports.add(target)
        elif isinstance(port.get("port"), int):
            ports.add(port["port"])
    return ports


@analyzer
class IngressGatewayPortAnalyzer(Analyzer):
    name = "gateway.IngressGatewayPortAnalyzer"
    description = "Checks that a Gateway's ports are exposed by a Service of the gateway workload"
    inputs = (K.ISTIO_GATEWAY, K.POD, K.SERVICE)
    codes = ("IST0162",)

    def analyze(self, ctx: Context) -> None:
        if not (ctx.has(K.POD) and ctx.has(K.SERVICE)):
            return
        pods = PodIndex(ctx)
        services = ServicesByPod(ctx)
        exposed: dict[str, set[int]] = {}  # pod namespace/name -> ports of the Services selecting it
        for gw in ctx.resources(K.ISTIO_GATEWAY):
            selector = gateway_selector(gw)
            selected = pods.select(selector)
            if not selected:
                continue  # gateway.ConflictingGatewayAnalyzer reports a selector without pods
            ports: set[int] = set()
            for pod in selected:
                key = full_name(pod)
                if key not in exposed:
                    exposed[key] = {p for svc in services.of(pod) for p in workload_ports(svc)}
                ports |= exposed[key]
            told: set[int] = set()
            for server in dicts(gw.spec.get("servers")):
                number = server_port(server)
                if number is not None and number not in ports and number not in told:
                    told.add(number)
                    ctx.report("IST0162", gw, number, selector_text(selector))


# -- CertificateAnalyzer ------------------------------------------------------------------------


def certificate_identity(tls: dict) -> tuple | None:
    """What makes two servers' certificates the same, as Istio compares them (None: nothing to compare)."""
    credential, certificate, key = (tls.get(k) for k in ("credentialName", "serverCertificate", "privateKey"))
    if isinstance(credential, str) and credential:
        return ("credentialName", credential)
    if isinstance(certificate, str) and isinstance(key, str) and certificate and key:
        return ("files", certificate, key)
    return None


@analyzer
class CertificateAnalyzer(Analyzer):
    name = "gateway.CertificateAnalyzer"
    description = "Checks that Gateways on the same workload do not serve the same certificate"
    inputs = (K.ISTIO_GATEWAY,)
    codes = ("IST0138",)

    def analyze(self, ctx: Context) -> None:
        # Only Gateways sharing a certificate can clash: group by certificate first.
        by_certificate: dict[tuple, list[Resource]] = defaultdict(list)
        for gw in ctx.resources(K.ISTIO_GATEWAY):
            identities = {certificate_identity(server_tls(s)) for s in dicts(gw.spec.get("servers"))}
            for identity in identities - {None}:
                by_certificate[identity].append(gw)
        pairs: set[tuple[str, str]] = set()
        for gateways in by_certificate.values():
            for gw in gateways:
                for other in gateways:
                    # gw's selector is within other's: every pod other selects, gw selects too
                    if other is not gw and selector_matches(gateway_selector(gw), gateway_selector(other)):
                        pairs.add((full_name(gw), full_name(other)))
        by_name = {full_name(gw): gw for gw in ctx.resources(K.ISTIO_GATEWAY)}
        for name, other in sorted(pairs):
            ctx.report("IST0138", by_name[name], f"{name}, {other}")


# -- SecretAnalyzer -----------------------------------------------------------------------------

CERT_KEY_PAIRS = (("cert", "key"), ("tls.crt", "tls.key"))  # generic, then kubernetes.io/tls
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def secret_values(secret: Resource) -> dict[str, str]:
    """A Secret's values as text: ``data`` base64-decoded, ``stringData`` as is ("" if undecodable)."""
    out: dict[str, str] = {}
    for key, value in mapping(secret.raw.get("data")).items():
        try:
            out[key] = base64.b64decode(value or "", validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError, TypeError):
            out[key] = ""
    for key, value in mapping(secret.raw.get("stringData")).items():
        out[key] = value if isinstance(value, str) else ""
    return out


def _der_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or pos + size > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, pos, pos + length


def _der_time(data: bytes, pos: int) -> tuple[datetime, int]:
    tag, start, end = _der_header(data, pos)
    text = data[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime: two-digit year, 1950-2049
        when = datetime.strptime(text, "%y%m%d%H%M%SZ")
        if when.year >= 2050:
            when = when.replace(year=when.year - 100)
    elif tag == 0x18:  # GeneralizedTime
        when = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError("not a time")
    return when.replace(tzinfo=timezone.utc), end


def certificate_validity(der: bytes) -> list[tuple[datetime, datetime]]:
    """(notBefore, notAfter) of each X.509 certificate in DER bytes; ValueError if they are not certificates."""
    out = []
    pos = 0
    while pos < len(der):
        tag, cert_start, cert_end = _der_header(der, pos)
        tbs_tag, p, _ = _der_header(der, cert_start)
        if tag != 0x30 or tbs_tag != 0x30:
            raise ValueError("not a certificate")
        tag, _, end = _der_header(der, p)
        if tag == 0xA0:  # explicit version
            p = end
            tag, _, end = _der_header(der, p)
        # serialNumber, signature algorithm, issuer, then validity
        for expected in (0x02, 0x30, 0x30):
            if tag != expected:
                raise ValueError("not a certificate")
            p = end
            tag, start, end = _der_header(der, p)
        if tag != 0x30:
            raise ValueError("not a certificate")
        not_before, after = _der_time(der, start)
        not_after, _ = _der_time(der, after)
        out.append((not_before, not_after))
        pos = cert_end
    if not out:
        raise ValueError("empty")
    return out


def certificate_problem(pem: str, now: datetime) -> str:
    """Why a PEM certificate (chain) cannot serve now, as istiod checks it; "" if it can."""
    block = PEM_BLOCK.search(pem)
    if block is None:
        return "the certificate is not PEM"
    if block.group(1) != "CERTIFICATE":
        return f"the first PEM block is a {block.group(1)}, not a CERTIFICATE"
    try:
        der = base64.b64decode("".join(block.group(2).split()), validate=True)
        validity = certificate_validity(der)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return "the certificate cannot be parsed"
    for not_before, not_after in validity:
        if now > not_after:
            return f"the certificate expired on {not_after:%Y-%m-%d %H:%M:%S} UTC"
        if now < not_before:
            return f"the certificate is not valid before {not_before:%Y-%m-%d %H:%M:%S} UTC"
    return ""


def credential_problem(secret: Resource, redacted: bool, now: datetime) -> str:
    """Why a Secret cannot be a gateway's server credential; "" when it can (or its values are hidden)."""
    values = secret_values(secret)
    present = [pair for pair in CERT_KEY_PAIRS if all(k in values for k in pair)]
    if redacted:
        # A snapshot keeps a Secret's keys, not its values: only the key names can be checked.
        if present:
            return ""
    else:
        for cert, key in present:
            if values[cert] and values[key]:
                return certificate_problem(values[cert], now)
        if present:
            return f"keys {present[0][0]!r} and {present[0][1]!r} are empty"
    found = ", ".join(sorted(values)) or "none"
    return f"expected keys 'tls.crt' and 'tls.key' (or 'cert' and 'key'); found: {found}"


def values_hidden(ctx: Context, secret: Resource) -> bool:
    """Whether a Secret's values were dropped on capture (a snapshot keeps keys with empty values)."""
    info = getattr(ctx.state, "info", None)
    values = [*mapping(secret.raw.get("data")).values(), *mapping(secret.raw.get("stringData")).values()]
    return getattr(info, "kind", "") == "snapshot" and all(v == "" for v in values)


@analyzer
class SecretAnalyzer(Analyzer):
    name = "gateway.SecretAnalyzer"
    description = "Checks that the credentialName Secrets of Gateways exist and hold a usable certificate"
    inputs = (K.ISTIO_GATEWAY, K.POD, K.SECRET)
    codes = ("IST0101", "IST0161")

    def analyze(self, ctx: Context) -> None:
        if not (ctx.has(K.POD) and ctx.has(K.SECRET)):
            return
        pods = PodIndex(ctx)
        now = datetime.now(timezone.utc)
        for gw in ctx.resources(K.ISTIO_GATEWAY):
            selected = pods.select(gateway_selector(gw))
            if not selected:
                continue  # gateway.ConflictingGatewayAnalyzer reports a selector without pods
            # The Secret lives with the gateway workload, not with the Gateway object.
            workload_ns = selected[0].namespace
            for i, server in enumerate(dicts(gw.spec.get("servers"))):
                name = server_tls(server).get("credentialName")
                if not isinstance(name, str) or not name:
                    continue
                ns, _, secret_name = name.rpartition("/")
                secret = ctx.get(K.SECRET, ns or workload_ns, secret_name)
                where = f"spec.servers[{i}].tls.credentialName"
                if secret is None:
                    ctx.report("IST0101", gw, "credentialName", name, field_path=where)
                    continue
                problem = credential_problem(secret, values_hidden(ctx, secret), now)
                if problem:
                    ctx.report("IST0161", gw, gw.name, ns or workload_ns, problem, field_path=where)


# -- ConflictingGatewayAnalyzer -----------------------------------------------------------------


@analyzer
class ConflictingGatewayAnalyzer(Analyzer):
    """IST0145 for Gateways that claim the same host on the same port of the same workload.

    Two Gateways share a workload when their selectors are equal or some pod matches both (Istio
    narrows the second case to selectors whose text contains the other's). IST0101 when a selector
    matches no pod at all: reported here only, for the gateway family, so it shows once.
    """

    name = "gateway.ConflictingGatewayAnalyzer"
    description = "Checks that Gateways on one workload do not claim the same port and host"
    inputs = (K.ISTIO_GATEWAY, K.POD)
    codes = ("IST0145", "IST0101")

    def analyze(self, ctx: Context) -> None:
        pods = PodIndex(ctx)
        live: list[Resource] = []
        for gw in ctx.resources(K.ISTIO_GATEWAY):
            selector = gateway_selector(gw)
            if pods.known and selector and not pods.select(selector):
                ctx.report("IST0101", gw, "selector", selector_text(selector), field_path="spec.selector")
            else:
                live.append(gw)

        # Gateways by (port, host, bind): only those sharing one can conflict.
        claims: dict[tuple[int, str, str], list[Resource]] = defaultdict(list)
        for gw in live:
            for key in self._claims(gw):
                if not claims[key] or claims[key][-1] is not gw:  # a Gateway may repeat a host
                    claims[key].append(gw)

        overlap_memo: dict[tuple, bool] = {}

        def share_workload(a: dict[str, str], b: dict[str, str]) -> bool:
            if a == b:
                return True
            key = (tuple(sorted(a.items())), tuple(sorted(b.items())))
            if key not in overlap_memo:
                overlap_memo[key] = selectors_compatible(a, b) and bool(pods.select({**a, **b}))
            return overlap_memo[key]

        for gw in live:
            selector = gateway_selector(gw)
            for server in dicts(gw.spec.get("servers")):
                port = server_port(server)
                hosts = string_list(server.get("hosts"))
                bind = server.get("bind") or ""
                others = {
                    full_name(other)
                    for host in hosts
                    for other in claims.get((port, host, bind), [])
                    if other is not gw and share_workload(selector, gateway_selector(other))
                }
                if others:
                    ctx.report("IST0145", gw, ",".join(sorted(others)), selector_text(selector), port, ",".join(hosts))

    @staticmethod
    def _claims(gw: Resource) -> list[tuple[int, str, str]]:
        out = []
        for server in dicts(gw.spec.get("servers")):
            port = server_port(server)
            if port is None:
                continue
            out += [(port, host, server.get("bind") or "") for host in string_list(server.get("hosts"))]
        return out
