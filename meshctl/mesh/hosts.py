"""How Istio reads a host name (one place for analyzers and the mesh model)."""

from __future__ import annotations

DEFAULT_DOMAIN = "cluster.local"  # the cluster's DNS suffix unless istiod runs with another --domain


def fqdn(host: str, namespace: str, domain: str = DEFAULT_DOMAIN) -> str:
    """Istio's reading of a short host: a name without dots is a Service in ``namespace``
    (``reviews`` -> ``reviews.bookinfo.svc.cluster.local``); anything with a dot, and a wildcard
    (``*``, ``*.example.com``), is taken as written. The test is that of Istio's analyzers
    (``util.ConvertHostToFQDN``): a leading ``*``, or a dot."""
    if host.startswith("*") or "." in host:
        return host
    return f"{host}.{namespace}.svc.{domain}"
