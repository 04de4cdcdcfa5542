"""authn.BlockedCIDRsAnalyzer: JWKS URIs that make istiod fetch from a non-public address.

istiod fetches every RequestAuthentication's JWKS itself (from ``jwksUri``, or by OpenID discovery
from an ``https://`` issuer). A URI at a private, loopback or link-local address, or at an in-cluster
Service, lets whoever can write a RequestAuthentication make istiod call internal endpoints, unless
istiod's ``BLOCKED_CIDRS_IN_JWKS_URIS`` covers the address.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from meshctl.analysis.common import is_istiod, template_env
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

BLOCKED_CIDRS_ENV = "BLOCKED_CIDRS_IN_JWKS_URIS"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def fetched_url(rule: dict) -> str | None:
    """The URL istiod fetches keys from for one JWT rule (None: inline keys, or nothing to fetch)."""
    if rule.get("jwks"):
        return None
    uri = rule.get("jwksUri")
    if isinstance(uri, str) and uri:
        return uri
    issuer = rule.get("issuer")
    if isinstance(issuer, str) and issuer.startswith(("https://", "http://")):
        return issuer  # OpenID discovery: <issuer>/.well-known/openid-configuration
    return None


def parse_cidrs(text: str) -> list[IPNetwork]:
    out = []
    for part in text.split(","):
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue  # istiod ignores what it cannot parse
    return out


def istiod_block_lists(ctx: Context) -> list[list[IPNetwork]]:
    """One block list per istiod Deployment (empty: that istiod fetches from anywhere)."""
    lists = []
    for deployment in ctx.resources(K.DEPLOYMENT):
        if not is_istiod(deployment):
            continue
        cidrs: list[IPNetwork] = []
        for value in template_env(deployment, BLOCKED_CIDRS_ENV):
            cidrs += parse_cidrs(value)
        lists.append(cidrs)
    return lists


class Target:
    """Where a URL points, as far as the manifests tell."""

    def __init__(self, internal: bool, address: IPAddress | None = None) -> None:
        self.internal = internal  # not a public address
        self.address = address  # the IP, when known


def classify(url: str, ctx: Context) -> Target:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return Target(False)
    try:
        ip = ipaddress.ip_address(host)
        return Target(not ip.is_global, ip)
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return Target(True, ipaddress.ip_address("127.0.0.1"))
    service = next((ctx.services_by_host[n] for n in service_names(host, ctx) if n in ctx.services_by_host), None)
    if service is not None:
        try:
            return Target(True, ipaddress.ip_address(service.spec.get("clusterIP") or ""))
        except ValueError:
            return Target(True)  # headless Service: some pod IP, private anyway
    if host.endswith((".svc", f".svc.{ctx.domain}")):
        return Target(True)  # a Service the input does not show
    return Target(False)


def service_names(host: str, ctx: Context) -> list[str]:
    """The Service FQDNs istiod's resolver (search path of its own namespace) may turn ``host`` into."""
    suffix = f".svc.{ctx.domain}"
    if host.endswith(suffix):
        return [host]
    if host.endswith(".svc"):
        return [f"{host}.{ctx.domain}"]
    if host.count(".") == 1:
        return [host + suffix]
    if "." not in host:
        return [f"{host}.{ctx.istio_namespace}{suffix}"]
    return []


def reachable(target: Target, block_lists: list[list[IPNetwork]]) -> bool:
    """Whether some istiod would fetch from the target (no istiod seen: Istio's default, no block list)."""
    if not block_lists:
        return True
    for cidrs in block_lists:
        if target.address is None:
            if not cidrs:
                return True
        elif not any(target.address in net for net in cidrs if net.version == target.address.version):
            return True
    return False


@analyzer
class BlockedCIDRsAnalyzer(Analyzer):
    name = "authn.BlockedCIDRsAnalyzer"
    description = "Checks that RequestAuthentication JWKS URIs do not make istiod fetch from internal addresses"
    inputs = (K.REQUEST_AUTHENTICATION, K.DEPLOYMENT, K.SERVICE)
    codes = ("IST0175",)

    def analyze(self, ctx: Context) -> None:
        authns = ctx.resources(K.REQUEST_AUTHENTICATION)
        if not authns:
            return
        block_lists = istiod_block_lists(ctx)
        for ra in authns:
            self.check(ctx, ra, block_lists)

    @staticmethod
    def check(ctx: Context, ra: Resource, block_lists: list[list[IPNetwork]]) -> None:
        for i, rule in enumerate(ra.spec.get("jwtRules") or []):
            url = fetched_url(rule or {})
            if url is None:
                continue
            target = classify(url, ctx)
            if target.internal and reachable(target, block_lists):
                ctx.report("IST0175", ra, url, field_path=f"spec.jwtRules[{i}].jwksUri")
