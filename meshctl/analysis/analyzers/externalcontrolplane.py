"""externalcontrolplane.ExternalControlPlaneAnalyzer: Istio webhooks that point at an external istiod.

A remote cluster of an external control plane reaches istiod through a ``clientConfig.url`` in its
injection and validation webhooks. The URL must be well formed and should name a host (istiod's
certificate is issued for names, not addresses); a webhook with neither a URL nor a Service reaches
nothing. Istio also resolves the host name; meshctl never does I/O while analysing, so it only checks
that the name is a valid DNS name.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

DEFAULT_VALIDATOR = "istiod-default-validator"
VALIDATOR_PREFIX = "istio-validator"
INJECTOR_PREFIX = "istio-sidecar-injector"

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def is_istio_webhook(config: Resource) -> bool:
    if config.kind == K.VALIDATING_WEBHOOK:
        return config.name == DEFAULT_VALIDATOR or config.name.startswith(VALIDATOR_PREFIX)
    return config.name.startswith(INJECTOR_PREFIX)


def valid_dns_name(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(DNS_LABEL.match(label) for label in labels)


def url_problem(url: str) -> tuple[str, bool]:
    """(why the URL is invalid or "", whether its host is an IP address)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "was provided in an invalid format", False
    if not host:
        return "has no host name", False
    try:
        ipaddress.ip_address(host)
        return "", True
    except ValueError:
        pass
    if not valid_dns_name(host):
        return "is not a valid DNS name", False
    return "", False


@analyzer
class ExternalControlPlaneAnalyzer(Analyzer):
    name = "externalcontrolplane.ExternalControlPlaneAnalyzer"
    description = "Checks the addresses Istio's webhooks use to reach an external control plane"
    inputs = (K.VALIDATING_WEBHOOK, K.MUTATING_WEBHOOK)
    codes = ("IST0163", "IST0164")

    def analyze(self, ctx: Context) -> None:
        for kind in (K.VALIDATING_WEBHOOK, K.MUTATING_WEBHOOK):
            for config in ctx.resources(kind):
                if is_istio_webhook(config):
                    for i, hook in enumerate(config.fields.parts("webhooks")):
                        check_webhook(ctx, config, hook.data, f"webhooks[{i}].clientConfig")


def check_webhook(ctx: Context, config: Resource, hook: dict, field: str) -> None:
    name = hook.get("name") or ""
    client = hook.get("clientConfig") if isinstance(hook.get("clientConfig"), dict) else {}
    url = client.get("url")
    if url is None:
        if not client.get("service"):
            ctx.report("IST0163", config, '""', name, "is blank: set a url or a service", field_path=field)
        return
    problem, is_ip = url_problem(str(url))
    if problem:
        ctx.report("IST0163", config, url, name, problem, field_path=field)
    elif is_ip:
        ctx.report("IST0164", config, url, name, field_path=field)
