"""gateway.networking.k8s.io: Gateway, GatewayClass, HTTPRoute, GRPCRoute, TLSRoute, ReferenceGrant,
BackendTLSPolicy.

These are the rules the Gateway API CRDs (standard channel) enforce with OpenAPI and CEL: field names,
types, enums, lengths, patterns and the cross-field rules. An API server applies them on write, so
they matter most for manifests checked before they are applied. Defaults the API server would fill in
(a backend's kind Service, a parent's group and kind, a listener's TLS mode Terminate) are assumed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from meshctl.analysis.schema import checks as C
from meshctl.analysis.schema.core import (
    Any_,
    Bool,
    Int,
    KindSchema,
    List,
    Map,
    Obj,
    Str,
    Validation,
    as_dict,
    as_list,
    as_str,
    is_nonempty,
    is_set,
    parse_duration_ns,
)

_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$"

GROUP = Str(max_len=253, pattern=rf"^$|{DNS_SUBDOMAIN}", hint="an API group (a DNS subdomain, or empty for core)")
KIND = Str(min_len=1, max_len=63, pattern=r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$", hint="a kind name")
OBJECT_NAME = Str(min_len=1, max_len=253)
NAMESPACE = Str(min_len=1, max_len=63, pattern=rf"^{_DNS_LABEL}$", hint="a namespace name (a DNS label)")
SECTION_NAME = Str(min_len=1, max_len=253, pattern=DNS_SUBDOMAIN, hint="a DNS subdomain")
PORT = Int(1, 65535)
HOSTNAME = Str(min_len=1, max_len=253, pattern=rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*$",
               hint="a lower-case host name, optionally starting with *.")
PRECISE_HOSTNAME = Str(min_len=1, max_len=253, pattern=DNS_SUBDOMAIN, hint="a lower-case host name")
HEADER_NAME = Str(min_len=1, max_len=256, pattern=r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$", hint="an HTTP header name")
GEP_DURATION = Str(pattern=r"^([0-9]{1,5}(h|m|s|ms)){1,4}$", hint="a duration such as 10s or 1h30m")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
MATCH_TYPE = Str(enum=("Exact", "RegularExpression"))

GATEWAY_GROUP = "gateway.networking.k8s.io"

# -- references -----------------------------------------------------------------------------------

PARENT_REF = Obj({"group": GROUP, "kind": KIND, "namespace": NAMESPACE, "name": OBJECT_NAME,
                  "sectionName": SECTION_NAME, "port": PORT}, required=("name",))


def _section_names_rule(field: str, what: str, target_of: Callable[[Mapping[str, Any]], tuple[str, ...]]):
    """Several references to one target (``target_of`` a reference: its identity, the name last) must each name
    a distinct section."""

    def rule(refs: list, path: str, v: Validation) -> None:
        by_target: dict[tuple[str, ...], list[str]] = {}
        for ref in refs:
            ref = as_dict(ref)
            by_target.setdefault(target_of(ref), []).append(as_str(ref.get("sectionName")))
        for target, sections in by_target.items():
            if len(sections) < 2:
                continue
            if "" in sections and any(sections):
                v.error(path, f"{field} refers to {what} {target[-1]} more than once, so every reference to it needs "
                              "a sectionName")
            elif len(set(sections)) != len(sections):
                v.error(path, f"{field} refers to {what} {target[-1]} more than once: each reference needs its own "
                              "sectionName")

    return rule


def _parent_of(ref: Mapping[str, Any]) -> tuple[str, ...]:
    return (as_str(ref.get("group")) if "group" in ref else GATEWAY_GROUP, as_str(ref.get("kind")) or "Gateway",
            as_str(ref.get("namespace")), as_str(ref.get("name")))


PARENT_REFS = List(PARENT_REF, max_items=32, rules=(_section_names_rule("parentRefs", "parent", _parent_of),))


def _service_port_rule(ref: dict, path: str, v: Validation) -> None:
    group = as_str(ref.get("group"))
    kind = as_str(ref.get("kind")) if "kind" in ref else "Service"
    if group == "" and kind == "Service" and not is_set(ref, "port"):
        v.error(f"{path}.port", "a Service backend needs a port")


BACKEND_OBJECT_REF_FIELDS = {"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE, "port": PORT}
BACKEND_OBJECT_REF = Obj(BACKEND_OBJECT_REF_FIELDS, required=("name",), rules=(_service_port_rule,))
LOCAL_OBJECT_REF = Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME}, required=("group", "kind", "name"))
SECRET_OBJECT_REF = Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE},
                        required=("name",))
CA_CERTIFICATE_REF = Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE},
                         required=("group", "kind", "name"))


def _hostnames_rule(hostnames: list, path: str, v: Validation) -> None:
    for i, name in enumerate(hostnames):
        if isinstance(name, str) and C.is_ip(name):
            v.error(f"{path}[{i}]", "must be a host name, not an IP address")


HOSTNAMES = List(HOSTNAME, max_items=16, rules=(_hostnames_rule,))

# -- filters --------------------------------------------------------------------------------------

HTTP_HEADER = Obj({"name": HEADER_NAME, "value": Str(min_len=1, max_len=4096)}, required=("name", "value"))


def _unique_names_rule(what: str):
    def rule(items: list, path: str, v: Validation) -> None:
        names = Counter(as_str(as_dict(x).get("name")).lower() for x in items if is_set(as_dict(x), "name"))
        for name, count in names.items():
            if count > 1:
                v.error(path, f"{what} {name!r} is listed more than once")
    return rule


HEADER_MODIFIER = Obj({
    "set": List(HTTP_HEADER, max_items=16, rules=(_unique_names_rule("header"),)),
    "add": List(HTTP_HEADER, max_items=16, rules=(_unique_names_rule("header"),)),
    "remove": List(Str(), max_items=16),
})


def _fraction_rule(fraction: dict, path: str, v: Validation) -> None:
    denominator = fraction.get("denominator", 100)
    numerator = fraction.get("numerator")
    if isinstance(numerator, int) and isinstance(denominator, int) and numerator > denominator:
        v.error(path, "numerator cannot be larger than denominator")


REQUEST_MIRROR = Obj({
    "backendRef": BACKEND_OBJECT_REF, "percent": Int(0, 100),
    "fraction": Obj({"numerator": Int(0, 2**31 - 1), "denominator": Int(1, 2**31 - 1)}, required=("numerator",),
                    rules=(_fraction_rule,)),
}, required=("backendRef",), one_of=[("percent", "fraction")])


def _type_fields_rule(fields_by_type: Mapping[str, str], mismatch_at_type: bool = False,
                      present: Callable[[Mapping[str, Any], str], bool] = is_set):
    """Objects whose ``type`` says which field holds the settings: that field is required, the others refused.
    A refused field is reported at itself, or at ``type`` when ``mismatch_at_type``."""

    def rule(obj: dict, path: str, v: Validation) -> None:
        kind = obj.get("type")
        for expected, field in fields_by_type.items():
            has = present(obj, field)
            if kind == expected and not has:
                v.error(f"{path}.{field}", f"type {expected} needs {field}")
            elif has and kind != expected:
                v.error(f"{path}.type" if mismatch_at_type else f"{path}.{field}",
                        f"{field} is only allowed when type is {expected}")

    return rule


PATH_MODIFIER = Obj({
    "type": Str(enum=("ReplaceFullPath", "ReplacePrefixMatch")), "replaceFullPath": Str(max_len=1024),
    "replacePrefixMatch": Str(max_len=1024),
}, required=("type",), rules=(_type_fields_rule({"ReplaceFullPath": "replaceFullPath",
                                                 "ReplacePrefixMatch": "replacePrefixMatch"}, mismatch_at_type=True),))

REQUEST_REDIRECT = Obj({
    "scheme": Str(enum=("http", "https")), "hostname": PRECISE_HOSTNAME, "path": PATH_MODIFIER, "port": PORT,
    "statusCode": Int(enum=(301, 302, 303, 307, 308)),
})
URL_REWRITE = Obj({"hostname": PRECISE_HOSTNAME, "path": PATH_MODIFIER})


def _star_alone_rule(what: str):
    def rule(items: list, path: str, v: Validation) -> None:
        if "*" in items and len(items) > 1:
            v.error(path, f"'*' must be the only entry of {what}")
    return rule


CORS = Obj({
    "allowOrigins": List(Str(min_len=1, max_len=253,
                             pattern=r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)"
                                     r"(:([0-9]{1,5}))?)$)",
                             hint="'*' or an origin such as https://*.example.com:8443"),
                         max_items=64, rules=(_star_alone_rule("allowOrigins"),)),
    "allowCredentials": Bool(),
    "allowMethods": List(Str(enum=HTTP_METHODS + ("*",)), max_items=9, rules=(_star_alone_rule("allowMethods"),)),
    "allowHeaders": List(HEADER_NAME, max_items=64, rules=(_star_alone_rule("allowHeaders"),)),
    "exposeHeaders": List(HEADER_NAME, max_items=64),
    "maxAge": Int(1, 2**31 - 1),
})

FILTER_FIELDS = {
    "RequestHeaderModifier": "requestHeaderModifier", "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestMirror": "requestMirror", "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
    "ExtensionRef": "extensionRef", "CORS": "cors",
}


def _filter_rule(types: tuple[str, ...]):
    return _type_fields_rule({filter_type: FILTER_FIELDS[filter_type] for filter_type in types})


def _filters_rule(items: list, path: str, v: Validation) -> None:
    counts = Counter(as_str(as_dict(f).get("type")) for f in items)
    if counts["RequestRedirect"] and counts["URLRewrite"]:
        v.error(path, "RequestRedirect and URLRewrite filters cannot be used together")
    for kind in ("CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"):
        if counts[kind] > 1:
            v.error(path, f"only one {kind} filter is allowed")


HTTP_FILTER_TYPES = tuple(FILTER_FIELDS)
HTTP_FILTERS = List(Obj({
    "type": Str(enum=HTTP_FILTER_TYPES), "requestHeaderModifier": HEADER_MODIFIER,
    "responseHeaderModifier": HEADER_MODIFIER, "requestMirror": REQUEST_MIRROR, "requestRedirect": REQUEST_REDIRECT,
    "urlRewrite": URL_REWRITE, "extensionRef": LOCAL_OBJECT_REF, "cors": CORS,
}, required=("type",), rules=(_filter_rule(HTTP_FILTER_TYPES),)), max_items=16, rules=(_filters_rule,))

GRPC_FILTER_TYPES = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef")
GRPC_FILTERS = List(Obj({
    "type": Str(enum=GRPC_FILTER_TYPES), "requestHeaderModifier": HEADER_MODIFIER,
    "responseHeaderModifier": HEADER_MODIFIER, "requestMirror": REQUEST_MIRROR, "extensionRef": LOCAL_OBJECT_REF,
}, required=("type",), rules=(_filter_rule(GRPC_FILTER_TYPES),)), max_items=16, rules=(_filters_rule,))


def backend_refs(filters: List | None, min_items: int = 0) -> List:
    fields = {**BACKEND_OBJECT_REF_FIELDS, "weight": Int(0, 1_000_000)}
    if filters is not None:
        fields["filters"] = filters
    return List(Obj(fields, required=("name",), rules=(_service_port_rule,)), min_items=min_items, max_items=16)


# -- HTTPRoute ------------------------------------------------------------------------------------

PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")


def _path_match_rule(match: dict, path: str, v: Validation) -> None:
    kind = match.get("type", "PathPrefix")
    value = match.get("value", "/")
    if kind not in ("Exact", "PathPrefix") or not isinstance(value, str):
        return
    at = f"{path}.value"
    if not value.startswith("/"):
        v.error(at, f"{kind} paths must start with '/'")
    for bad in ("//", "/./", "/../", "%2f", "%2F", "#"):
        if bad in value:
            v.error(at, f"{kind} paths cannot contain {bad!r}")
    for bad in ("/..", "/."):
        if value.endswith(bad):
            v.error(at, f"{kind} paths cannot end with {bad!r}")
    if value and not PATH_CHARS.search(value):
        v.error(at, "path has characters that must be percent-encoded (%XX)")


HEADER_MATCHES = List(Obj({"type": MATCH_TYPE, "name": HEADER_NAME, "value": Str(min_len=1, max_len=4096)},
                          required=("name", "value")), max_items=16, rules=(_unique_names_rule("header match"),))
HTTP_MATCH = Obj({
    "path": Obj({"type": Str(enum=("Exact", "PathPrefix", "RegularExpression")), "value": Str(max_len=1024)},
                rules=(_path_match_rule,)),
    "headers": HEADER_MATCHES,
    "queryParams": List(Obj({"type": MATCH_TYPE, "name": HEADER_NAME, "value": Str(min_len=1, max_len=1024)},
                            required=("name", "value")), max_items=16,
                        rules=(_unique_names_rule("query parameter"),)),
    "method": Str(enum=HTTP_METHODS),
})


def _uses_prefix_replacement(filters: Any, field: str) -> bool:
    for f in as_list(filters):
        modifier = as_dict(as_dict(as_dict(f).get(field)).get("path"))
        if modifier.get("type") == "ReplacePrefixMatch" and is_set(modifier, "replacePrefixMatch"):
            return True
    return False


def _single_prefix_match(rule: dict) -> bool:
    matches = as_list(rule.get("matches"))
    if not matches:  # the API server defaults the matches to one PathPrefix "/"
        return True
    path = as_dict(as_dict(matches[0]).get("path")) if len(matches) == 1 else None
    return path is not None and (path.get("type") or "PathPrefix") == "PathPrefix"


def _http_rule_rule(rule: dict, path: str, v: Validation) -> None:
    filters = as_list(rule.get("filters"))
    backends = as_list(rule.get("backendRefs"))
    if backends and any(is_set(as_dict(f), "requestRedirect") for f in filters):
        v.error(path, "a rule with a RequestRedirect filter cannot have backendRefs")
    single_prefix = _single_prefix_match(rule)
    for field, what in (("requestRedirect", "RequestRedirect"), ("urlRewrite", "URLRewrite")):
        in_rule = _uses_prefix_replacement(filters, field)
        in_backends = any(_uses_prefix_replacement(as_dict(b).get("filters"), field) for b in backends)
        if (in_rule or in_backends) and not single_prefix:
            v.error(path, f"a {what} filter with path.replacePrefixMatch needs the rule to have exactly one match, "
                          "of type PathPrefix")
    timeouts = as_dict(rule.get("timeouts"))
    request, backend = timeouts.get("request"), timeouts.get("backendRequest")
    if isinstance(request, str) and isinstance(backend, str):
        request_ns, backend_ns = parse_duration_ns(request), parse_duration_ns(backend)
        if request_ns and backend_ns is not None and backend_ns > request_ns:
            v.error(f"{path}.timeouts", "backendRequest cannot be longer than request")


def _total_matches_rule(limit: int):
    def rule(rules: list, path: str, v: Validation) -> None:
        total = sum(len(as_list(as_dict(r).get("matches"))) for r in rules)
        if total > limit:
            v.error(path, f"a route may have at most {limit} matches across all its rules (found {total})")
    return rule


HTTP_ROUTE_RULE = Obj({
    "name": SECTION_NAME, "matches": List(HTTP_MATCH, max_items=64), "filters": HTTP_FILTERS,
    "backendRefs": backend_refs(HTTP_FILTERS),
    "timeouts": Obj({"request": GEP_DURATION, "backendRequest": GEP_DURATION}),
    # experimental-channel fields, accepted as they are
    "retry": Any_(dict), "sessionPersistence": Any_(dict),
}, rules=(_http_rule_rule,))

HTTP_ROUTE = KindSchema(
    Obj({
        "parentRefs": PARENT_REFS, "hostnames": HOSTNAMES,
        "rules": List(HTTP_ROUTE_RULE, max_items=16, rules=(_total_matches_rule(128),)),
    }),
    spec_required=True,
)

# -- GRPCRoute ------------------------------------------------------------------------------------

GRPC_SERVICE = re.compile(r"(?i)^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$")
GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


def _grpc_method_rule(method: dict, path: str, v: Validation) -> None:
    if is_set(method, "type") and not (is_set(method, "service") or is_set(method, "method")):
        v.error(path, "set service, method or both")
    if as_str(method.get("type")) in ("", "Exact"):
        service, name = method.get("service"), method.get("method")
        if isinstance(service, str) and not GRPC_SERVICE.match(service):
            v.error(f"{path}.service", f"{service!r} is not a valid gRPC service name")
        if isinstance(name, str) and not GRPC_METHOD.match(name):
            v.error(f"{path}.method", f"{name!r} is not a valid gRPC method name")


GRPC_MATCH = Obj({
    "method": Obj({"type": MATCH_TYPE, "service": Str(max_len=1024), "method": Str(max_len=1024)},
                  rules=(_grpc_method_rule,)),
    "headers": HEADER_MATCHES,
})

GRPC_ROUTE = KindSchema(
    Obj({
        "parentRefs": PARENT_REFS, "hostnames": HOSTNAMES,
        "rules": List(Obj({
            "name": SECTION_NAME, "matches": List(GRPC_MATCH, max_items=64), "filters": GRPC_FILTERS,
            "backendRefs": backend_refs(GRPC_FILTERS), "sessionPersistence": Any_(dict),
        }), max_items=16, rules=(_total_matches_rule(128),)),
    }),
    spec_required=True,
)

# -- TLSRoute -------------------------------------------------------------------------------------


def _tls_route_rule(spec: dict, path: str, v: Validation) -> None:
    """TLSRoute v1 needs hostnames and exactly one rule; the alpha versions did not."""
    if not v.api_version.endswith("/v1"):
        return
    if not as_list(spec.get("hostnames")):
        v.error(f"{path}.hostnames", "required for TLSRoute v1: list at least one hostname")
    if len(as_list(spec.get("rules"))) > 1:
        v.error(f"{path}.rules", "must have at most 1 items")


TLS_ROUTE = KindSchema(
    Obj({
        "parentRefs": PARENT_REFS, "hostnames": HOSTNAMES,
        "rules": List(Obj({"name": SECTION_NAME, "backendRefs": backend_refs(None, min_items=1)},
                          required=("backendRefs",)), min_items=1, max_items=16),
    }, required=("rules",), rules=(_tls_route_rule,)),
    spec_required=True,
)

# -- Gateway --------------------------------------------------------------------------------------

PROTOCOL = Str(min_len=1, max_len=255,
               pattern=rf"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|{_DNS_LABEL}(\.{_DNS_LABEL})*\/[A-Za-z0-9]+$",
               hint="a protocol name such as HTTP, HTTPS, TLS, TCP or UDP, or a domain-prefixed one")
ROUTE_NAMESPACES = Obj({
    "from": Str(enum=("All", "Selector", "Same")),
    "selector": Obj({"matchLabels": Map(Str()),
                     "matchExpressions": List(Obj({"key": Str(), "operator": Str(), "values": List(Str())},
                                                  required=("key", "operator")))}),
})


def _listener_tls_rule(tls: dict, path: str, v: Validation) -> None:
    if as_str(tls.get("mode")) in ("", "Terminate") and not (is_nonempty(tls, "certificateRefs")
                                                           or is_nonempty(tls, "options")):
        v.error(path, "mode Terminate needs certificateRefs or options")


LISTENER = Obj({
    "name": SECTION_NAME, "hostname": HOSTNAME, "port": PORT, "protocol": PROTOCOL,
    "tls": Obj({"mode": Str(enum=("Terminate", "Passthrough")),
                "certificateRefs": List(SECRET_OBJECT_REF, max_items=64),
                "options": Map(Str(max_len=4096))}, rules=(_listener_tls_rule,)),
    "allowedRoutes": Obj({"namespaces": ROUTE_NAMESPACES,
                          "kinds": List(Obj({"group": GROUP, "kind": KIND}, required=("kind",)), max_items=8)}),
}, required=("name", "port", "protocol"))


def _listeners_rule(listeners: list, path: str, v: Validation) -> None:
    names: Counter = Counter()
    endpoints: Counter = Counter()
    for i, listener in enumerate(listeners):
        listener = as_dict(listener)
        at = f"{path}[{i}]"
        protocol = listener.get("protocol")
        tls = listener.get("tls")
        if protocol in ("HTTP", "TCP", "UDP") and tls is not None:
            v.error(f"{at}.tls", f"protocol {protocol} does not use tls: remove it")
        if protocol == "HTTPS" and tls is not None and as_str(as_dict(tls).get("mode")) not in ("", "Terminate"):
            v.error(f"{at}.tls.mode", "protocol HTTPS needs mode Terminate")
        if protocol == "TLS" and tls is None:
            v.error(f"{at}.tls", "protocol TLS needs tls settings")
        if protocol in ("TCP", "UDP") and as_str(listener.get("hostname")):
            v.error(f"{at}.hostname", f"protocol {protocol} does not use a hostname: remove it")
        if is_set(listener, "name"):
            names[str(listener["name"])] += 1
        endpoints[(str(listener.get("port")), str(protocol), as_str(listener.get("hostname")))] += 1
    for name, count in names.items():
        if count > 1:
            v.error(path, f"listener name {name!r} is used more than once")
    for (port, protocol, hostname), count in endpoints.items():
        if count > 1:
            v.error(path, f"several listeners have the same port, protocol and hostname "
                          f"({port}/{protocol} {hostname or '(no hostname)'})")


def _address_rule(address: dict, path: str, v: Validation) -> None:
    kind = address.get("type", "IPAddress")
    value = address.get("value")
    if not isinstance(value, str):
        return
    if kind == "IPAddress" and not C.is_ip(value):
        v.error(f"{path}.value", f"{value!r} is not a valid IP address")
    if kind == "Hostname" and value and not HOSTNAME.pattern.search(value):
        v.error(f"{path}.value", f"{value!r} is not a valid host name")


def _addresses_rule(addresses: list, path: str, v: Validation) -> None:
    seen = Counter((as_str(as_dict(a).get("type", "IPAddress")), as_dict(a)["value"]) for a in addresses
                   if isinstance(as_dict(a).get("value"), str))
    for (kind, value), count in seen.items():
        if count > 1 and kind in ("IPAddress", "Hostname"):
            v.error(path, f"{kind} {value} is listed more than once")


_LABEL_KEY = rf"^({_DNS_LABEL}(\.{_DNS_LABEL})*/)?([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9]$"
_LABEL_KEY_RE = re.compile(_LABEL_KEY)


def _metadata_key(key: str) -> str | None:
    if not _LABEL_KEY_RE.search(key) or len(key.split("/")[0]) >= 253:
        return f"{key!r} is not a valid label or annotation key"
    return None


FRONTEND_VALIDATION = Obj({
    "caCertificateRefs": List(CA_CERTIFICATE_REF, min_items=1, max_items=8),
    "mode": Str(enum=("AllowValidOnly", "AllowInsecureFallback")),
}, required=("caCertificateRefs",))


def _per_port_rule(items: list, path: str, v: Validation) -> None:
    ports = Counter(str(as_dict(x).get("port")) for x in items)
    for port, count in ports.items():
        if count > 1:
            v.error(path, f"port {port} has more than one TLS configuration")


GATEWAY = KindSchema(
    Obj({
        "gatewayClassName": Str(min_len=1, max_len=253),
        "listeners": List(LISTENER, min_items=1, max_items=64, rules=(_listeners_rule,)),
        "addresses": List(Obj({
            "type": Str(min_len=1, max_len=253,
                        pattern=rf"^Hostname|IPAddress|NamedAddress|{_DNS_LABEL}(\.{_DNS_LABEL})*\/"
                                r"[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$",
                        hint="IPAddress, Hostname, NamedAddress or a domain-prefixed type"),
            "value": Str(max_len=253),
        }, rules=(_address_rule,)), max_items=16, rules=(_addresses_rule,)),
        "infrastructure": Obj({
            "labels": Map(Str(max_len=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
                              hint="a label value"), key=_metadata_key),
            "annotations": Map(Str(max_len=4096), key=_metadata_key),
            "parametersRef": LOCAL_OBJECT_REF,
        }),
        "allowedListeners": Obj({"namespaces": Obj({
            "from": Str(enum=("All", "Selector", "Same", "None")),
            "selector": ROUTE_NAMESPACES.fields["selector"],
        })}),
        "tls": Obj({
            "frontend": Obj({
                "default": Obj({"validation": FRONTEND_VALIDATION}),
                "perPort": List(Obj({"port": PORT, "tls": Obj({"validation": FRONTEND_VALIDATION})},
                                    required=("port", "tls")), max_items=64, rules=(_per_port_rule,)),
            }, required=("default",)),
            "backend": Obj({"clientCertificateRef": SECRET_OBJECT_REF}),
        }),
    }, required=("gatewayClassName", "listeners")),
    spec_required=True,
)

# -- GatewayClass ---------------------------------------------------------------------------------

GATEWAY_CLASS = KindSchema(
    Obj({
        "controllerName": Str(min_len=1, max_len=253,
                              pattern=rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$",
                              hint="a domain-prefixed path such as istio.io/gateway-controller"),
        "description": Str(max_len=64),
        "parametersRef": Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE},
                             required=("group", "kind", "name")),
    }, required=("controllerName",)),
    spec_required=True,
)

# -- ReferenceGrant -------------------------------------------------------------------------------

REFERENCE_GRANT = KindSchema(
    Obj({
        "from": List(Obj({"group": GROUP, "kind": KIND, "namespace": NAMESPACE},
                         required=("group", "kind", "namespace")),
                     min_items=1, max_items=16),
        "to": List(Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME}, required=("group", "kind")),
                   min_items=1, max_items=16),
    }, required=("from", "to")),
    spec_required=True,
)

# -- BackendTLSPolicy ----------------------------------------------------------------------------


def _target_of(ref: Mapping[str, Any]) -> tuple[str, ...]:
    return as_str(ref.get("group")), as_str(ref.get("kind")), as_str(ref.get("name"))


def _has_text(obj: Mapping[str, Any], field: str) -> bool:
    return bool(as_str(obj.get(field)))


def _tls_validation_rule(validation: dict, path: str, v: Validation) -> None:
    refs = is_nonempty(validation, "caCertificateRefs")
    well_known = bool(as_str(validation.get("wellKnownCACertificates")))
    if refs and well_known:
        v.error(path, "set caCertificateRefs or wellKnownCACertificates, not both")
    elif not refs and not well_known:
        v.error(path, "set caCertificateRefs or wellKnownCACertificates")


BACKEND_TLS_POLICY = KindSchema(
    Obj({
        "targetRefs": List(Obj({"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "sectionName": SECTION_NAME},
                               required=("group", "kind", "name")), min_items=1, max_items=16,
                           rules=(_section_names_rule("targetRefs", "target", _target_of),)),
        "validation": Obj({
            "caCertificateRefs": List(LOCAL_OBJECT_REF, max_items=8),
            "wellKnownCACertificates": Str(
                min_len=1, max_len=253,
                pattern=rf"^(System|{_DNS_LABEL}(\.{_DNS_LABEL})*/([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9])$",
                hint="System, or a domain-prefixed name"),
            "hostname": PRECISE_HOSTNAME,
            "subjectAltNames": List(Obj({
                "type": Str(enum=("Hostname", "URI")), "hostname": HOSTNAME,
                "uri": Str(min_len=1, max_len=253, pattern=r"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?",
                           hint="an absolute URI such as spiffe://cluster.local/ns/a/sa/b"),
            }, required=("type",), rules=(_type_fields_rule({"Hostname": "hostname", "URI": "uri"},
                                                            present=_has_text),)), max_items=5),
        }, required=("hostname",), rules=(_tls_validation_rule,)),
        "options": Map(Str(max_len=4096)),
    }, required=("targetRefs", "validation")),
    spec_required=True,
)
