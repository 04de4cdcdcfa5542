"""Helpers to drive a FakeKube with the official ``kubernetes`` Python client, for tests.

The fake server itself never imports this module (it needs only the standard library and
PyYAML); tests import it explicitly::

    from tests.fakekube.pyclient import api_client, call, dynamic_client

Note the v37 client's raw-call API: ``ApiClient.param_serialize(...)`` builds the request and
``ApiClient.call_api(method, url, headers, body, post_params)`` sends it, returning a
``RESTResponse`` without raising on error codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient

from .cluster import FakeKube


class Reply(NamedTuple):
    status: int
    body: Any  # decoded JSON, or the text when the body is not JSON
    headers: dict[str, str]


def configuration(kube: FakeKube, *, token: str | None = None, retries: Any = None) -> k8s.Configuration:
    cfg = k8s.Configuration()
    cfg.host = kube.url
    cfg.api_key = {"authorization": token or kube.token or "fakekube"}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    if retries is not None:
        cfg.retries = retries
    return cfg


def api_client(kube: FakeKube, **kw: Any) -> k8s.ApiClient:
    return k8s.ApiClient(configuration(kube, **kw))


def call(api: k8s.ApiClient, method: str, path: str, *, query: dict[str, Any] | list[tuple[str, Any]] | None = None,
         body: Any = None, headers: dict[str, str] | None = None, content_type: str | None = None,
         timeout: float = 10) -> Reply:
    """One raw request through the real client; never raises on an error status."""
    hdrs = dict(headers or {})
    hdrs.setdefault("Accept", "application/json")
    if content_type:
        hdrs["Content-Type"] = content_type
    elif body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    params = list(query.items()) if isinstance(query, dict) else (query or [])
    request = api.param_serialize(method, path, query_params=params, header_params=hdrs, body=body,
                                  auth_settings=["BearerToken"])
    resp = api.call_api(*request, _request_timeout=timeout)
    resp.read()
    text = (resp.data or b"").decode()
    try:
        decoded = json.loads(text) if text else None
    except ValueError:
        decoded = text
    return Reply(resp.status, decoded, {k.lower(): v for k, v in resp.getheaders().items()})


def watch_events(api: k8s.ApiClient, path: str, **query: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Run one watch on ``path`` until the server ends it; return (headers, events). Pass
    ``timeoutSeconds`` (default 0.3: fakekube takes fractions, real servers whole seconds)."""
    query.setdefault("timeoutSeconds", 0.3)
    request = api.param_serialize("GET", path, query_params=[("watch", "true"), *query.items()],
                                  header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
    resp = api.call_api(*request, _request_timeout=30)
    resp.read()
    events = [json.loads(line) for line in resp.data.decode().splitlines() if line.strip()]
    return {k.lower(): v for k, v in resp.getheaders().items()}, events


def dynamic_client(kube: FakeKube, cache_file: str | Path, **kw: Any) -> DynamicClient:
    """A DynamicClient with its own discovery cache file: the default cache is named after the
    server URL, so a port reused by a later test would read a stale cache."""
    return DynamicClient(api_client(kube, **kw), cache_file=str(cache_file))
