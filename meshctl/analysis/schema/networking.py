"""networking.istio.io: VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar, EnvoyFilter,
WorkloadEntry, WorkloadGroup, ProxyConfig.

Field names and types follow the Istio CRDs; the cross-field rules follow what Istio's validation
webhook rejects (errors) or accepts with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from meshctl.analysis.schema import checks as C
from meshctl.analysis.schema.common import (
    INT32,
    NON_NEGATIVE_INT32,
    PLAIN_TARGET_REFS,
    STRING_MAP,
    STRINGS,
    UINT32,
    WORKLOAD_SELECTOR,
    alpha_workload_selector,
    istio_annotation_rules,
)
from meshctl.analysis.schema.core import (
    Any_,
    Bool,
    Duration,
    Int,
    KindSchema,
    List,
    Map,
    Num,
    Obj,
    Str,
    Validation,
    as_dict,
    as_int,
    as_list,
    as_num,
    as_str,
    is_nonempty,
    is_set,
    parse_duration_ns,
)

MESH_GATEWAY = "mesh"


def _err(v: Validation, path: str, problem: str | None) -> None:
    if problem:
        v.error(path, problem)


def _not_fqdn_or_ip(what: str, value: str) -> str:
    return f"{what} {value!r} is neither an IP address nor a fully qualified host name"


def _percentage_problem(percentage: Any) -> str | None:
    value = as_num(as_dict(percentage).get("value"))
    if value < 0 or value > 100 or 0 < value < 0.0001:
        return f"percentage {value:g} must be 0 or between 0.0001 and 100"
    return None


PERCENT = Obj({"value": Num()})

# -- string matches -------------------------------------------------------------------------------

STRING_MATCH = Obj({"exact": Str(), "prefix": Str(), "regex": Str()}, one_of=[("exact", "prefix", "regex")])


def check_string_match(match: Any, path: str, v: Validation, *, empty_prefix_ok: bool = False) -> None:
    """Istio's StringMatch rules: a prefix must not be empty (except for URIs); a regex must be valid RE2."""
    match = as_dict(match)
    if not empty_prefix_ok and match.get("prefix") == "":
        v.error(path, "prefix must not be empty")
    regex = match.get("regex")
    if isinstance(regex, str):
        _err(v, path, "regex must not be empty" if regex == "" else C.check_regex(regex))


# -- destinations ---------------------------------------------------------------------------------


def _subset_name_problem(name: str) -> str | None:
    return None if C.is_dns1123_label(name) else f"subset name {name} is not a DNS label"


def _destination_rule(dest: dict, path: str, v: Validation) -> None:
    host = dest.get("host")
    if isinstance(host, str):
        _err(v, f"{path}.host", f"destination host cannot be {host}: name a service" if host == "*"
             else C.check_wildcard_domain(host))
    subset = dest.get("subset")
    if isinstance(subset, str) and subset:
        _err(v, f"{path}.subset", _subset_name_problem(subset))
    if is_set(dest, "port"):
        _err(v, f"{path}.port.number", C.check_port(as_int(as_dict(dest["port"]).get("number"))))


DESTINATION = Obj({"host": Str(), "subset": Str(), "port": Obj({"number": UINT32})}, required=("host",),
                  rules=(_destination_rule,))


def _weights_rule(routes: list, path: str, v: Validation) -> None:
    total = 0
    for i, route in enumerate(routes):
        weight = as_int(as_dict(route).get("weight"))
        if weight < 0:
            v.error(f"{path}[{i}].weight", f"weight {weight} is negative")
        total += weight
    if len(routes) > 1 and total == 0:
        v.error(path, "the destination weights add up to 0: give at least one a positive weight")


# -- header manipulation --------------------------------------------------------------------------

HEADER_VALUE = Str(fmt=C.check_header_value)
REQUEST_HEADER_OPS = Obj({
    "set": Map(HEADER_VALUE, key=C.check_request_header_to_set),
    "add": Map(HEADER_VALUE, key=C.check_request_header_to_set),
    "remove": List(Str(fmt=C.check_header_to_modify)),
})
RESPONSE_HEADER_OPS = Obj({
    "set": Map(HEADER_VALUE, key=C.check_header_to_modify),
    "add": Map(HEADER_VALUE, key=C.check_header_to_modify),
    "remove": List(Str(fmt=C.check_header_to_modify)),
})
HEADERS = Obj({"request": REQUEST_HEADER_OPS, "response": RESPONSE_HEADER_OPS})

# -- VirtualService: HTTP ------------------------------------------------------------------------


def check_gateway_names(names: Any, path: str, v: Validation) -> None:
    """``namespace/name`` references (or the legacy ``name.namespace`` FQDN form, with a warning)."""
    for i, name in enumerate(as_list(names)):
        if not isinstance(name, str):
            continue
        at = f"{path}[{i}]"
        ns, slash, gw = name.partition("/")
        if not slash:
            if "." in name:
                parts = name.split(".")
                v.warn(at, f"{name!r} uses the old <name>.<namespace> form; write it as '{parts[1]}/{parts[0]}'")
            _err(v, at, C.check_fqdn(name))
            continue
        if not ns or not gw:
            v.error(at, "both parts of <namespace>/<name> must be set")
        if not C.is_dns1123_label(ns):
            v.error(at, f"namespace {ns!r} is not a DNS label")
        if not C.is_dns1123_label(gw):
            v.error(at, f"gateway name {gw!r} is not a DNS label")


def _l4_match_rule(match: dict, path: str, v: Validation) -> None:
    """What every route match (HTTP, TLS, TCP) may say: a port, source labels, gateways."""
    port = as_int(match.get("port"))
    if port:
        _err(v, f"{path}.port", C.check_port(port))
    C.check_labels(match.get("sourceLabels"), f"{path}.sourceLabels", v)
    check_gateway_names(match.get("gateways"), f"{path}.gateways", v)


def _http_match_rule(match: dict, path: str, v: Validation) -> None:
    if is_set(match, "uri"):
        check_string_match(match["uri"], f"{path}.uri", v, empty_prefix_ok=True)
    for field in ("scheme", "method", "authority"):
        if is_set(match, field):
            check_string_match(match[field], f"{path}.{field}", v)
    for field in ("headers", "queryParams"):
        for key, value in as_dict(match.get(field)).items():
            check_string_match(value, f"{path}.{field}.{key}", v)
    for key, value in as_dict(match.get("withoutHeaders")).items():
        if as_dict(value).get("regex") != "*":  # "*" means "header present", not a regex
            check_string_match(value, f"{path}.withoutHeaders.{key}", v)
    _l4_match_rule(match, path, v)
    namespace = as_str(match.get("sourceNamespace"))
    if namespace and not C.is_dns1123_label(namespace):
        v.error(f"{path}.sourceNamespace", f"{namespace} is not a valid namespace name")


HTTP_MATCH = Obj({
    "name": Str(), "uri": STRING_MATCH, "scheme": STRING_MATCH, "method": STRING_MATCH, "authority": STRING_MATCH,
    "headers": Map(STRING_MATCH, key=C.check_match_header_name), "port": UINT32, "sourceLabels": STRING_MAP,
    "gateways": STRINGS, "queryParams": Map(STRING_MATCH), "ignoreUriCase": Bool(),
    "withoutHeaders": Map(STRING_MATCH, key=C.check_match_header_name), "sourceNamespace": Str(), "statPrefix": Str(),
}, rules=(_http_match_rule,))

HTTP_ROUTE_DESTINATION = Obj({"destination": DESTINATION, "weight": INT32, "headers": HEADERS},
                             required=("destination",))


def _redirect_rule(redirect: dict, path: str, v: Validation) -> None:
    if not any(as_str(redirect.get(k)) for k in ("uri", "authority", "scheme")) and not (
        is_set(redirect, "port") or is_set(redirect, "derivePort")
    ):
        v.error(path, "the redirect changes nothing: set uri, authority, scheme, port or derivePort")
    code = as_int(redirect.get("redirectCode"))
    if code and not 300 <= code <= 399:
        v.error(f"{path}.redirectCode", f"redirect code {code} is not a 3xx status")
    scheme = as_str(redirect.get("scheme"))
    if scheme not in ("", "http", "https"):
        v.error(f"{path}.scheme", "use http or https")
    port = as_int(redirect.get("port"))
    if port > 0:
        _err(v, f"{path}.port", C.check_port(port))


REDIRECT = Obj({
    "uri": Str(), "authority": Str(), "port": UINT32,
    "derivePort": Str(enum=("FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT")), "scheme": Str(), "redirectCode": UINT32,
}, one_of=[("port", "derivePort")], rules=(_redirect_rule,))

KB = 1024


def _http_status_problem(status: int) -> str | None:
    return None if 200 <= status <= 600 else f"{status} is not an HTTP status code from 200 to 599"


def _direct_response_rule(response: dict, path: str, v: Validation) -> None:
    body = as_dict(response.get("body"))
    size = len(as_str(body.get("string"))) or len(as_str(body.get("bytes"))) * 3 // 4  # bytes are base64
    if size > KB * KB:
        v.error(f"{path}.body", "body is over the 1MB limit: large direct responses slow down the control plane")
    elif size > 100 * KB:
        v.warn(f"{path}.body", "body is over 100KB: large direct responses slow down the control plane")
    if is_set(response, "status"):
        _err(v, f"{path}.status", _http_status_problem(as_int(response["status"])))


DIRECT_RESPONSE = Obj({
    "status": UINT32, "body": Obj({"string": Str(), "bytes": Str()}, one_of=[("string", "bytes")]),
}, required=("status",), rules=(_direct_response_rule,))


def _rewrite_rule(rewrite: dict, path: str, v: Validation) -> None:
    uri, regex_rewrite = as_str(rewrite.get("uri")), rewrite.get("uriRegexRewrite")
    if uri and regex_rewrite is not None:
        v.error(path, "set uri or uriRegexRewrite, not both")
    elif not uri and regex_rewrite is None and not as_str(rewrite.get("authority")):
        v.error(path, "the rewrite changes nothing: set uri, uriRegexRewrite or authority")
    if regex_rewrite is not None:
        regex_rewrite = as_dict(regex_rewrite)
        match, replacement = as_str(regex_rewrite.get("match")), as_str(regex_rewrite.get("rewrite"))
        if not match or not replacement:
            v.error(f"{path}.uriRegexRewrite", "set both match and rewrite")
        else:
            _err(v, f"{path}.uriRegexRewrite.match", C.check_regex(match))


REWRITE = Obj({"uri": Str(), "authority": Str(), "uriRegexRewrite": Obj({"match": Str(), "rewrite": Str()})},
              rules=(_rewrite_rule,))

RETRY_ON_POLICIES = frozenset({
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
    "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
})
# Status codes Go's net/http knows a text for (a retryOn entry may be one of them).
HTTP_STATUS_CODES = frozenset(
    [100, 101, 102, 103, 226, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 510, 511]
    + list(range(200, 209)) + list(range(300, 309)) + list(range(400, 419)) + list(range(500, 509))
)


def _retry_policy_ok(policy: str) -> bool:
    return policy in RETRY_ON_POLICIES or (policy.isdigit() and int(policy) in HTTP_STATUS_CODES)


def _retries_rule(retries: dict, path: str, v: Validation) -> None:
    attempts = as_int(retries.get("attempts"))
    if attempts < 0:
        v.error(f"{path}.attempts", "must not be negative")
    retry_on = as_str(retries.get("retryOn"))
    if attempts == 0 and (is_set(retries, "perTryTimeout") or retry_on or is_set(retries, "retryRemoteLocalities")):
        v.error(path, "attempts is 0, which disables retries, yet other retry settings are set")
    for policy in retry_on.split(",") if retry_on else ():
        if not _retry_policy_ok(policy):
            v.error(f"{path}.retryOn", f"{policy!r} is not a known retryOn condition")


RETRIES = Obj({
    "attempts": INT32, "perTryTimeout": Duration(), "retryOn": Str(), "retryRemoteLocalities": Bool(),
    "retryIgnorePreviousHosts": Bool(), "backoff": Duration(),
}, rules=(_retries_rule,))

GRPC_STATUSES = frozenset({
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
})


def _abort_rule(abort: dict, path: str, v: Validation) -> None:
    if is_set(abort, "percentage"):
        _err(v, f"{path}.percentage", _percentage_problem(abort["percentage"]))
    if is_set(abort, "grpcStatus"):
        status = as_str(abort["grpcStatus"])
        if status not in GRPC_STATUSES:
            v.error(f"{path}.grpcStatus", f"{status!r} is not a gRPC status name such as NOT_FOUND")
    elif is_set(abort, "http2Error"):
        v.error(f"{path}.http2Error", "http2Error aborts are not supported: use httpStatus or grpcStatus")
    elif is_set(abort, "httpStatus"):
        _err(v, f"{path}.httpStatus", _http_status_problem(as_int(abort["httpStatus"])))
    else:
        v.warn(path, "the abort has no error to return: set httpStatus or grpcStatus")


def _delay_rule(delay: dict, path: str, v: Validation) -> None:
    if is_set(delay, "percentage"):
        _err(v, f"{path}.percentage", _percentage_problem(delay["percentage"]))
    if is_set(delay, "exponentialDelay"):
        v.error(f"{path}.exponentialDelay", "exponentialDelay is not supported: use fixedDelay")


def _fault_rule(fault: dict, path: str, v: Validation) -> None:
    if not is_set(fault, "abort") and not is_set(fault, "delay"):
        v.error(path, "the fault needs an abort, a delay or both")


FAULT = Obj({
    "delay": Obj({"fixedDelay": Duration(), "exponentialDelay": Duration(), "percent": INT32, "percentage": PERCENT},
                 one_of=[("fixedDelay", "exponentialDelay")], rules=(_delay_rule,)),
    "abort": Obj({"httpStatus": INT32, "grpcStatus": Str(), "http2Error": Str(), "percentage": PERCENT},
                 one_of=[("httpStatus", "grpcStatus", "http2Error")], rules=(_abort_rule,)),
}, rules=(_fault_rule,))

CORS_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"})


def _cors_header_problem(name: str) -> str | None:
    return None if name == "*" else C.check_header_name(name)


def _cors_rule(cors: dict, path: str, v: Validation) -> None:
    for i, origin in enumerate(as_list(cors.get("allowOrigins"))):
        origin = as_dict(origin)
        value = next((origin[k] for k in ("exact", "prefix", "regex") if k in origin), "")
        if not value:
            v.error(f"{path}.allowOrigins[{i}]", "an allowOrigins entry needs a non-empty exact, prefix or regex")
        elif isinstance(origin.get("regex"), str):
            _err(v, f"{path}.allowOrigins[{i}]", C.check_regex(origin["regex"]))
    for i, method in enumerate(as_list(cors.get("allowMethods"))):
        if isinstance(method, str) and method not in CORS_METHODS:
            v.error(f"{path}.allowMethods[{i}]", f"{method!r} is not a supported HTTP method")
    max_age = cors.get("maxAge")
    if isinstance(max_age, str) and (parse_duration_ns(max_age) or 0) % 1_000_000_000:
        v.error(f"{path}.maxAge", "must be a whole number of seconds")


CORS = Obj({
    "allowOrigin": STRINGS, "allowOrigins": List(STRING_MATCH), "allowMethods": STRINGS,
    "allowHeaders": List(Str(fmt=_cors_header_problem)), "exposeHeaders": List(Str(fmt=_cors_header_problem)),
    "maxAge": Duration(), "allowCredentials": Bool(),
    "unmatchedPreflights": Str(enum=("UNSPECIFIED", "FORWARD", "IGNORE")),
}, rules=(_cors_rule,))


def _percent_problem(value: float) -> str | None:
    return f"percentage {value:g} is outside 0-100" if value < 0 or value > 100 else None


def _mirror_rule(mirror: dict, path: str, v: Validation) -> None:
    _err(v, f"{path}.percentage", _percent_problem(as_num(as_dict(mirror.get("percentage")).get("value"))))


MIRROR = Obj({"destination": DESTINATION, "percentage": PERCENT}, required=("destination",), rules=(_mirror_rule,))


def _is_delegate_vs(v: Validation) -> bool:
    return not as_list(v.spec.get("hosts"))


def _http_route_rule(route: dict, path: str, v: Validation) -> None:
    delegate_vs = _is_delegate_vs(v)
    if not delegate_vs and is_set(route, "delegate"):
        # a root route only delegates: no route, no redirect
        name = as_str(route.get("name"))
        label = f"HTTP route {name}" if name else "this HTTP route"
        for field in ("redirect", "route"):
            if is_nonempty(route, field) if field == "route" else is_set(route, field):
                v.error(path, f"{label} delegates, so it cannot also have a {field}")
    else:
        if delegate_vs and is_set(route, "delegate"):
            v.error(f"{path}.delegate", "a delegate VirtualService cannot delegate further")
        _check_route_conflicts(route, path, v)
    if is_set(route, "mirror") and is_nonempty(route, "mirrors"):
        v.error(path, "set mirror or mirrors, not both")
    for field in ("mirrorPercent", "mirror_percent"):
        if is_set(route, field):
            if as_int(route[field]) > 100:
                v.error(f"{path}.{field}", f"{field} {as_int(route[field])} is above the maximum of 100")
            v.warn(f"{path}.{field}", f"{field} is deprecated: use mirrorPercentage")
    if is_set(route, "mirrorPercentage"):
        _err(v, f"{path}.mirrorPercentage", _percent_problem(as_num(as_dict(route["mirrorPercentage"]).get("value"))))
    _check_authority_rewrite(route, path, v)


def _check_route_conflicts(route: dict, path: str, v: Validation) -> None:
    """A redirect or a direct response is the whole answer: nothing may route, fault or rewrite beside it."""
    has_route = is_nonempty(route, "route")
    for answer, others in (("redirect", ("route", "fault", "rewrite", "directResponse")),
                           ("directResponse", ("route", "fault", "rewrite"))):
        if is_set(route, answer):
            for other in others:
                if has_route if other == "route" else is_set(route, other):
                    v.error(path, f"{other} cannot be combined with {answer}")
            return
    if not has_route:
        v.error(f"{path}.route", "set route, redirect or directResponse")


def _check_authority_rewrite(route: dict, path: str, v: Validation) -> None:
    """The authority may be rewritten in one place only: rewrite.authority or one request header."""
    if route.get("headers") is None:
        return
    request = as_dict(as_dict(route.get("headers")).get("request"))
    sources = [as_str(as_dict(route.get("rewrite")).get("authority"))]
    for op in ("set", "add"):
        sources += [str(value) for key, value in as_dict(request.get(op)).items() if C.is_authority_header(str(key))]
    if len([s for s in sources if s]) > 1:
        v.error(path, "the authority is rewritten more than once: use only one of rewrite.authority and a "
                      "Host/:authority request header")


HTTP_ROUTE = Obj({
    "name": Str(), "match": List(HTTP_MATCH), "route": List(HTTP_ROUTE_DESTINATION, rules=(_weights_rule,)),
    "redirect": REDIRECT, "directResponse": DIRECT_RESPONSE,
    "delegate": Obj({"name": Str(), "namespace": Str()}), "rewrite": REWRITE, "timeout": Duration(),
    "retries": RETRIES, "fault": FAULT, "mirror": DESTINATION, "mirrors": List(MIRROR), "mirrorPercent": UINT32,
    "mirror_percent": UINT32, "mirrorPercentage": PERCENT, "corsPolicy": CORS, "headers": HEADERS,
}, rules=(_http_route_rule,))

# -- VirtualService: TLS and TCP -----------------------------------------------------------------


L4_MATCH_FIELDS = {
    "destinationSubnets": List(Str(fmt=C.check_ip_or_cidr)), "port": UINT32, "sourceLabels": STRING_MAP,
    "gateways": STRINGS, "sourceNamespace": Str(),
}


def _applies_to_gateway(spec: Any) -> bool:
    gateways = [g for g in as_list(as_dict(spec).get("gateways")) if isinstance(g, str)]
    return bool(gateways) and MESH_GATEWAY not in gateways


def _sni_host_subset_of(sni: str, host: str) -> bool:
    """Istio's host.Name.SubsetOf: whether every name ``sni`` matches is matched by ``host``."""
    if sni.startswith("*"):
        return host.startswith("*") and sni[1:].endswith(host[1:])
    if host.startswith("*"):
        return sni.endswith(host[1:])
    return sni == host


def _tls_match_rule(match: dict, path: str, v: Validation) -> None:
    sni_hosts = as_list(match.get("sniHosts"))
    if not sni_hosts:
        v.error(f"{path}.sniHosts", "a TLS match needs at least one SNI host")
    gateway = _applies_to_gateway(v.spec)
    vs_hosts = [h for h in as_list(v.spec.get("hosts")) if isinstance(h, str)]
    for i, sni in enumerate(sni_hosts):
        if not isinstance(sni, str):
            continue
        at = f"{path}.sniHosts[{i}]"
        problem = C.check_wildcard_domain_for_gateway_route(sni, True) if gateway else C.check_wildcard_domain(sni)
        if problem:
            if C.is_ip(sni):
                v.warn(at, f"{sni!r} is an IP address: SNI carries host names, and most clients never send an IP")
            else:
                v.error(at, problem)
        elif not any(_sni_host_subset_of(sni, h) for h in vs_hosts):
            v.error(at, f"SNI host {sni!r} is not within any of the VirtualService's hosts [{', '.join(vs_hosts)}]")
    _l4_match_rule(match, path, v)


TLS_MATCH = Obj({**L4_MATCH_FIELDS, "sniHosts": STRINGS}, rules=(_tls_match_rule,))
L4_MATCH = Obj({**L4_MATCH_FIELDS, "sourceSubnet": Str()}, rules=(_l4_match_rule,))
ROUTE_DESTINATION = Obj({"destination": DESTINATION, "weight": INT32}, required=("destination",))


def _l4_route_rule(protocol: str, match_required: bool):
    def rule(route: dict, path: str, v: Validation) -> None:
        if match_required and not as_list(route.get("match")):
            v.error(f"{path}.match", f"a {protocol} route needs at least one match")
        if not as_list(route.get("route")):
            v.error(f"{path}.route", f"a {protocol} route needs at least one destination")
    return rule


TLS_ROUTE = Obj({"match": List(TLS_MATCH), "route": List(ROUTE_DESTINATION, rules=(_weights_rule,))},
                rules=(_l4_route_rule("TLS", match_required=True),))
TCP_ROUTE = Obj({"match": List(L4_MATCH), "route": List(ROUTE_DESTINATION, rules=(_weights_rule,))},
                rules=(_l4_route_rule("TCP", match_required=False),))

# -- VirtualService: the whole spec --------------------------------------------------------------


def host_matches(a: str, b: str) -> bool:
    """Istio's host.Name.Matches: whether two (possibly wildcard) hosts overlap."""
    a_wild, b_wild = a.startswith("*"), b.startswith("*")
    if a_wild and b_wild:
        return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
    if a_wild:
        return b.endswith(a[1:])
    if b_wild:
        return a.endswith(b[1:])
    return a == b


def _overlapping_hosts(a: str, b: str) -> str:
    return f"hosts {a} and {b} overlap: each host may appear only once"


def _check_duplicate_hosts(hosts: list[str], path: str, v: Validation) -> None:
    if not any("*" in h for h in hosts):  # the common case: plain names, a set finds repeats
        seen: set[str] = set()
        for h in hosts:
            if h in seen:
                v.error(path, _overlapping_hosts(h, h))
            seen.add(h)
        return
    for i, a in enumerate(hosts):
        for b in hosts[i + 1:]:
            if host_matches(a, b):
                v.error(path, _overlapping_hosts(a, b))


def _virtual_service_rule(spec: dict, path: str, v: Validation) -> None:
    hosts_raw = as_list(spec.get("hosts"))
    gateways = [g for g in as_list(spec.get("gateways")) if isinstance(g, str)]
    if not hosts_raw:  # a delegate VirtualService
        for field, present in (("gateways", bool(gateways)), ("tls", is_nonempty(spec, "tls")),
                               ("tcp", is_nonempty(spec, "tcp"))):
            if present:
                v.error(f"{path}.{field}", f"a delegate VirtualService (one without hosts) cannot set {field}")
    to_gateway = _applies_to_gateway(spec)
    if gateways:
        check_gateway_names(spec.get("gateways"), f"{path}.gateways", v)
    if not to_gateway:
        _check_jwt_claim_routes(spec, path, v, gateways)
    sni = any(as_list(as_dict(m).get("sniHosts"))
              for r in as_list(spec.get("tls")) for m in as_list(as_dict(r).get("match")))
    valid = True
    hosts = []
    for i, host in enumerate(hosts_raw):
        if not isinstance(host, str):
            valid = False
            continue
        hosts.append(host)
        problem = C.check_wildcard_domain_for_gateway_route(host, sni) if to_gateway else C.check_wildcard_domain(host)
        if problem:
            if not C.is_ip(host):
                v.error(f"{path}.hosts[{i}]", problem)
                valid = False
        elif not to_gateway and host == "*":
            v.error(f"{path}.hosts[{i}]", "host * is not allowed when the VirtualService applies to the mesh: "
                                          "list the hosts")
            valid = False
    if valid:
        _check_duplicate_hosts(hosts, f"{path}.hosts", v)
    if not (as_list(spec.get("http")) or as_list(spec.get("tcp")) or as_list(spec.get("tls"))):
        v.error(path, "a VirtualService needs http, tcp or tls routes")
    C.check_export_to(spec.get("exportTo"), f"{path}.exportTo", v)


def _check_jwt_claim_routes(spec: dict, path: str, v: Validation, gateways: list[str]) -> None:
    """Routing on JWT claims works only on gateways."""
    for i, route in enumerate(as_list(spec.get("http"))):
        for j, match in enumerate(as_list(as_dict(route).get("match"))):
            match = as_dict(match)
            for field in ("headers", "withoutHeaders"):
                for key in as_dict(match.get(field)):
                    if isinstance(key, str) and C.is_jwt_claim_header(key):
                        v.error(f"{path}.http[{i}].match[{j}].{field}",
                                f"routing on JWT claims ({key}) only works on gateways, and this VirtualService "
                                f"applies to none (gateways: {gateways})")


# -- VirtualService: rules that can never match (IST0130) and matches that never win (IST0131) ----


def _route_name(route: Any, index: int) -> str:
    name = as_dict(route).get("name")
    return json.dumps(name) if isinstance(name, str) and name else f"#{index}"


def _match_key(match: Any, drop_name: bool) -> str:
    """A canonical form of a match for comparing them: unset and zero fields and the name ignored."""
    match = as_dict(match)
    kept = {k: val for k, val in match.items()
            if val not in (None, False, 0, "", [], {}) and not (drop_name and k == "name")}
    try:
        return json.dumps(kept, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(sorted(kept.items(), key=lambda kv: str(kv[0])))


def _exact_or_prefix(match: Any) -> str:
    match = as_dict(match)
    exact, prefix = as_str(match.get("exact")), as_str(match.get("prefix"))
    return f"exact:{exact}" if exact else f"prefix:{prefix}" if prefix else ""


class _PrefixMatch:
    """What of an HTTP match with a URI prefix decides whether an earlier one covers it."""

    __slots__ = ("authority", "headers", "match", "method", "port", "prefix", "query", "route", "without")

    def __init__(self, route: str, match: str, m: dict) -> None:
        self.route, self.match = route, match
        self.prefix = as_str(as_dict(m.get("uri")).get("prefix"))
        self.port = as_int(m.get("port"))
        self.method = _exact_or_prefix(m.get("method")) or "exact:GET"
        self.authority = _exact_or_prefix(m.get("authority"))
        self.headers = {k: _exact_or_prefix(x) for k, x in as_dict(m.get("headers")).items()}
        self.query = {k: _exact_or_prefix(x) for k, x in as_dict(m.get("queryParams")).items()}
        self.without = {k: _exact_or_prefix(x) for k, x in as_dict(m.get("withoutHeaders")).items()}

    def covers(self, later: _PrefixMatch) -> bool:
        """Whether every request ``later`` matches is already matched by this (earlier) match."""
        if not later.prefix.startswith(self.prefix) or later.port != self.port:
            return False
        if not self.method.startswith(later.method) or not self.authority.startswith(later.authority):
            return False
        return all(_map_covers(a, b) for a, b in
                   ((self.headers, later.headers), (self.query, later.query), (self.without, later.without)))


def _map_covers(earlier: dict, later: dict) -> bool:
    if len(earlier) != len(later):
        return False
    return all(key in later and value.startswith(later[key]) for key, value in earlier.items())


def _check_unreachable(routes: Any, path: str, v: Validation, http: bool) -> None:
    seen: dict[str, int] = {}
    catch_all = -1
    prefix_matches: list[_PrefixMatch] = []
    routes = as_list(routes)
    for n, route in enumerate(routes):
        if not isinstance(route, dict):
            continue
        at = f"{path}[{n}]"
        name = _route_name(route, n) if http else f"#{n}"
        matches = as_list(route.get("match"))
        if not matches:
            if catch_all >= 0:
                v.unreachable(at, name, "it has no matches, and neither has an earlier rule")
            catch_all = n
            continue
        if catch_all >= 0:
            v.unreachable(at, name, "an earlier rule without matches takes every request")
            continue
        duplicates = 0
        for k, match in enumerate(matches):
            key = _match_key(match, drop_name=http)
            match_name = _route_name(match, k) if http else f"#{k}"
            if key in seen:
                earlier = seen[key]
                v.ineffective(f"{at}.match[{k}]", name, match_name,
                              _route_name(routes[earlier], earlier) if http else f"#{earlier}")
                duplicates += 1
                continue
            seen[key] = n
            if http and isinstance(match, dict) and as_str(as_dict(match.get("uri")).get("prefix")):
                prefix_matches.append(_PrefixMatch(name, match_name, match))
        if duplicates == len(matches):
            v.unreachable(at, name, "earlier rules take all of its matches")
    for i, earlier in enumerate(prefix_matches):
        for later in prefix_matches[i + 1:]:
            if later.prefix != earlier.prefix and earlier.covers(later):
                v.ineffective(path, later.route, f"{later.match} (URI prefix {later.prefix})",
                              f"{earlier.route} match {earlier.match} (URI prefix {earlier.prefix})")


def _unreachable_rules_rule(spec: dict, path: str, v: Validation) -> None:
    _check_unreachable(spec.get("http"), f"{path}.http", v, http=True)
    _check_unreachable(spec.get("tcp"), f"{path}.tcp", v, http=False)
    _check_unreachable(spec.get("tls"), f"{path}.tls", v, http=False)


VIRTUAL_SERVICE = KindSchema(
    Obj({
        "hosts": STRINGS, "gateways": STRINGS, "http": List(HTTP_ROUTE), "tls": List(TLS_ROUTE),
        "tcp": List(TCP_ROUTE), "exportTo": STRINGS,
    }, rules=(_virtual_service_rule, _unreachable_rules_rule)),
    object_rules=istio_annotation_rules(),
)

# -- DestinationRule ------------------------------------------------------------------------------


def _client_tls_rule(tls: dict, path: str, v: Validation) -> None:
    mode = as_str(tls.get("mode"))
    ca, credential = as_str(tls.get("caCertificates")), as_str(tls.get("credentialName"))
    sans = is_nonempty(tls, "subjectAltNames")
    if tls.get("insecureSkipVerify") is True:
        if mode == "SIMPLE" and (ca or credential or sans):
            v.error(path, "insecureSkipVerify is true, so caCertificates, credentialName and subjectAltNames must "
                          "not be set")
        if mode == "MUTUAL" and (ca or sans):
            v.error(path, "insecureSkipVerify is true, so caCertificates and subjectAltNames must not be set")
    if mode in ("SIMPLE", "MUTUAL") and credential:
        if any(as_str(tls.get(k)) for k in ("clientCertificate", "caCertificates", "privateKey", "caCrl")):
            v.error(path, "credentialName provides the certificates: remove clientCertificate, privateKey, "
                          "caCertificates and caCrl")
        return
    if mode == "MUTUAL":
        for field in ("clientCertificate", "privateKey"):
            if not as_str(tls.get(field)):
                v.error(f"{path}.{field}", f"mode MUTUAL needs a {field} (or a credentialName)")


CLIENT_TLS = Obj({
    "mode": Str(enum=("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL")), "clientCertificate": Str(), "privateKey": Str(),
    "caCertificates": Str(), "credentialName": Str(), "subjectAltNames": STRINGS, "sni": Str(),
    "insecureSkipVerify": Bool(), "caCrl": Str(),
}, rules=(_client_tls_rule,))


def _non_negative_rule(*fields: str):
    def rule(obj: dict, path: str, v: Validation) -> None:
        for field in fields:
            if as_int(obj.get(field)) < 0:
                v.error(f"{path}.{field}", "must not be negative")
    return rule


def _needs_one_of(obj: Mapping[str, Any], fields: tuple[str, ...], what: str, path: str, v: Validation) -> bool:
    """Whether ``obj`` sets one of ``fields``; if not, that is an error: the object would configure nothing."""
    if any(is_set(obj, k) for k in fields):
        return True
    v.error(path, f"{what} configures nothing: set at least one of {', '.join(fields)}")
    return False


def _connection_pool_rule(pool: dict, path: str, v: Validation) -> None:
    _needs_one_of(pool, ("tcp", "http"), "connectionPool", path, v)


def _http_pool_rule(pool: dict, path: str, v: Validation) -> None:
    if pool.get("h2UpgradePolicy") == "UPGRADE" and pool.get("useClientProtocol") is True:
        v.error(path, "useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE")


CONNECTION_POOL = Obj({
    "tcp": Obj({
        "maxConnections": INT32, "connectTimeout": Duration(),
        "tcpKeepalive": Obj({"probes": UINT32, "time": Duration(), "interval": Duration()}),
        "maxConnectionDuration": Duration(), "idleTimeout": Duration(allow_zero=True),
    }, rules=(_non_negative_rule("maxConnections"),)),
    "http": Obj({
        "http1MaxPendingRequests": INT32, "http2MaxRequests": INT32, "maxRequestsPerConnection": INT32,
        "maxRetries": INT32, "idleTimeout": Duration(),
        "h2UpgradePolicy": Str(enum=("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE")), "useClientProtocol": Bool(),
        "maxConcurrentStreams": INT32,
    }, rules=(_non_negative_rule("http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection",
                                 "maxRetries", "maxConcurrentStreams"), _http_pool_rule)),
}, rules=(_connection_pool_rule,))


def _outlier_rule(outlier: dict, path: str, v: Validation) -> None:
    if as_int(outlier.get("consecutiveErrors")):
        v.warn(f"{path}.consecutiveErrors", "consecutiveErrors is deprecated: use consecutiveGatewayErrors or "
                                           "consecutive5xxErrors")
    split = outlier.get("splitExternalLocalOriginErrors") is True
    if not split and as_int(outlier.get("consecutiveLocalOriginFailures")) > 0:
        v.error(path, "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true")
    for field in ("maxEjectionPercent", "minHealthPercent"):
        _err(v, f"{path}.{field}", _percent_problem(as_int(outlier.get(field))))


OUTLIER_DETECTION = Obj({
    "consecutiveErrors": INT32, "splitExternalLocalOriginErrors": Bool(), "consecutiveLocalOriginFailures": UINT32,
    "consecutiveGatewayErrors": UINT32, "consecutive5xxErrors": UINT32, "interval": Duration(),
    "baseEjectionTime": Duration(), "maxEjectionPercent": INT32, "minHealthPercent": INT32,
}, rules=(_outlier_rule,))


def _is_envoy_prime(x: int) -> bool:
    if x != 0 and x < 4:
        return True
    if x % 2 == 0:
        return False
    factor = 3
    while factor * factor <= x:
        if x % factor == 0:
            return False
        factor += 2
    return True


def _consistent_hash_rule(lb: dict, path: str, v: Validation) -> None:
    if is_set(lb, "httpCookie") and not as_str(as_dict(lb["httpCookie"]).get("name")):
        v.error(f"{path}.httpCookie.name", "an httpCookie needs a name")
    if as_int(lb.get("minimumRingSize")):
        v.warn(f"{path}.minimumRingSize", "minimumRingSize is deprecated: use ringHash.minimumRingSize")
        if is_set(lb, "ringHash") or is_set(lb, "maglev"):
            v.error(path, "minimumRingSize cannot be combined with ringHash or maglev")
    if is_set(lb, "maglev"):
        size = as_int(as_dict(lb["maglev"]).get("tableSize"))
        at = f"{path}.maglev.tableSize"
        if size == 0:
            v.error(at, "maglev needs a tableSize")
        if size >= 5000011:
            v.error(at, "the maglev tableSize must be below 5000011")
        elif not _is_envoy_prime(size):
            v.error(at, "the maglev tableSize must be a prime number")


CONSISTENT_HASH = Obj({
    "httpHeaderName": Str(),
    "httpCookie": Obj({"name": Str(), "path": Str(), "ttl": Duration(istio=False),
                       "attributes": List(Obj({"name": Str(), "value": Str()}, required=("name",)))}),
    "useSourceIp": Bool(), "httpQueryParameterName": Str(), "ringHash": Obj({"minimumRingSize": Int(0)}),
    "maglev": Obj({"tableSize": Int(0)}), "minimumRingSize": Int(0),
}, one_of=[("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"), ("ringHash", "maglev")],
    rules=(_consistent_hash_rule,))

LOCALITY_LB = Obj({
    "distribute": List(Obj({"from": Str(), "to": Map(UINT32)})), "failover": List(Obj({"from": Str(), "to": Str()})),
    "failoverPriority": STRINGS, "enabled": Bool(),
})
TOPOLOGY_LABELS = frozenset({"topology.kubernetes.io/region", "topology.kubernetes.io/zone",
                             "topology.istio.io/subzone"})


def _check_localities(localities: list[str], path: str, v: Validation) -> bool:
    """Localities ``region[/zone[/subzone]]`` with at most a trailing ``*``, none overlapping another."""
    seen: set[tuple[str, ...]] = set()
    for locality in localities:
        stars = locality.count("*")
        if stars and (stars > 1 or not locality.endswith("*")):
            v.error(path, f"locality {locality} may have one '*', and only at its end")
            return False
        parts = tuple(locality.split("/", 2))
        if any(p == "" for p in parts):
            v.error(path, f"locality {locality} has an empty region, zone or subzone")
            return False
        # a locality overlaps an earlier one that is equal to it, contains it, or is the catch-all "*"
        if ("*",) in seen or any(parts[:n] in seen or parts[:n] + ("*",) in seen for n in range(1, len(parts) + 1)):
            v.error(path, f"locality {locality} overlaps an earlier one")
            return False
        seen.add(parts)
    return True


def _check_locality_lb(lb: Any, has_outlier: bool, path: str, v: Validation) -> None:
    lb = as_dict(lb)
    distribute, failover = as_list(lb.get("distribute")), as_list(lb.get("failover"))
    priority = [p for p in as_list(lb.get("failoverPriority")) if isinstance(p, str)]
    if distribute and failover:
        v.error(path, "set distribute or failover, not both")
        return
    if failover and any(p in TOPOLOGY_LABELS for p in priority):
        v.error(path, "failover cannot be combined with a topology label in failoverPriority")
        return
    sources = []
    for i, rule in enumerate(distribute):
        rule = as_dict(rule)
        sources.append(as_str(rule.get("from")))
        weights = as_dict(rule.get("to"))
        if any(not 1 <= as_int(w) <= 100 for w in weights.values()):
            v.error(f"{path}.distribute[{i}].to", "each locality weight must be from 1 to 100")
            return
        total = sum(as_int(w) for w in weights.values())
        if total != 100:
            v.error(f"{path}.distribute[{i}].to", f"the locality weights add up to {total}, not 100")
            return
        if not _check_localities([str(k) for k in weights], f"{path}.distribute[{i}].to", v):
            return
    if not _check_localities(sources, f"{path}.distribute", v):
        return
    if (failover or priority) and not has_outlier:
        v.warn(path, "failover only happens with outlierDetection: add it to the traffic policy")
    for i, rule in enumerate(failover):
        rule = as_dict(rule)
        source, target = as_str(rule.get("from")), as_str(rule.get("to"))
        at = f"{path}.failover[{i}]"
        if source == target:
            v.error(at, "failover from and to must be different regions")
        if "/" in source or "/" in target:
            v.error(at, "failover from and to must be regions, without zone or subzone")
        if "*" in source or "*" in target:
            v.error(at, "failover regions cannot use '*'")


def _warmup_rule(warmup: dict, path: str, v: Validation) -> None:
    if is_set(warmup, "aggression") and as_num(warmup["aggression"]) < 1:
        v.error(f"{path}.aggression", "must be at least 1")


LOAD_BALANCER = Obj({
    "simple": Str(enum=("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST")),
    "consistentHash": CONSISTENT_HASH, "localityLbSetting": LOCALITY_LB, "warmupDurationSecs": Duration(),
    "warmup": Obj({"duration": Duration(), "minimumPercent": Num(0, 100), "aggression": Num(0)},
                  required=("duration",), rules=(_warmup_rule,)),
}, one_of=[("simple", "consistentHash")])


def _check_locality_of(policy: dict, path: str, v: Validation) -> None:
    lb = as_dict(policy.get("loadBalancer"))
    if is_set(lb, "localityLbSetting"):
        _check_locality_lb(lb["localityLbSetting"], is_set(policy, "outlierDetection"),
                           f"{path}.loadBalancer.localityLbSetting", v)


def _port_policy_rule(policy: dict, path: str, v: Validation) -> None:
    if not is_set(policy, "port"):
        v.error(f"{path}.port", "port-level settings need a port")
    _needs_one_of(policy, ("outlierDetection", "connectionPool", "loadBalancer", "tls"), "this portLevelSettings entry",
                  path, v)
    _check_locality_of(policy, path, v)


PORT_TRAFFIC_POLICY = Obj({
    "port": Obj({"number": UINT32}), "loadBalancer": LOAD_BALANCER, "connectionPool": CONNECTION_POOL,
    "outlierDetection": OUTLIER_DETECTION, "tls": CLIENT_TLS,
}, rules=(_port_policy_rule,))

TRAFFIC_POLICY_FIELDS = ("outlierDetection", "connectionPool", "loadBalancer", "tls", "portLevelSettings", "tunnel",
                         "proxyProtocol", "retryBudget")


def _tunnel_rule(tunnel: dict, path: str, v: Validation) -> None:
    protocol = as_str(tunnel.get("protocol"))
    if protocol not in ("", "CONNECT", "POST"):
        v.error(f"{path}.protocol", "use CONNECT or POST")
    host = tunnel.get("targetHost")
    if isinstance(host, str) and C.check_fqdn(host) and not C.is_ip(host):
        v.error(f"{path}.targetHost", _not_fqdn_or_ip("targetHost", host))
    if is_set(tunnel, "targetPort"):
        _err(v, f"{path}.targetPort", C.check_port(as_int(tunnel["targetPort"])))


def _traffic_policy_rule(policy: dict, path: str, v: Validation) -> None:
    if not _needs_one_of(policy, TRAFFIC_POLICY_FIELDS, "trafficPolicy", path, v):
        return
    if is_set(policy, "tunnel") and is_set(policy, "proxyProtocol"):
        v.error(path, "set tunnel or proxyProtocol, not both")
    _check_locality_of(policy, path, v)


TRAFFIC_POLICY = Obj({
    "loadBalancer": LOAD_BALANCER, "connectionPool": CONNECTION_POOL, "outlierDetection": OUTLIER_DETECTION,
    "tls": CLIENT_TLS, "portLevelSettings": List(PORT_TRAFFIC_POLICY, max_items=4096),
    "tunnel": Obj({"protocol": Str(), "targetHost": Str(), "targetPort": UINT32}, required=("targetHost", "targetPort"),
                  rules=(_tunnel_rule,)),
    "proxyProtocol": Obj({"version": Str(enum=("V1", "V2"))}),
    "retryBudget": Obj({"percent": Num(0, 100), "minRetryConcurrency": UINT32}),
}, rules=(_traffic_policy_rule,))


def _subset_rule(subset: dict, path: str, v: Validation) -> None:
    name = subset.get("name")
    if isinstance(name, str):
        _err(v, f"{path}.name", "subset name must not be empty" if not name else _subset_name_problem(name))
    C.check_labels(subset.get("labels"), f"{path}.labels", v)


SUBSET = Obj({"name": Str(), "labels": STRING_MAP, "trafficPolicy": TRAFFIC_POLICY}, required=("name",),
             rules=(_subset_rule,))


def _destination_rule_rule(spec: dict, path: str, v: Validation) -> None:
    host = spec.get("host")
    if isinstance(host, str):
        _err(v, f"{path}.host", C.check_wildcard_domain(host))
    names: set[str] = set()
    for i, subset in enumerate(as_list(spec.get("subsets"))):
        name = as_dict(subset).get("name")
        if isinstance(name, str):
            if name in names:
                v.error(f"{path}.subsets[{i}].name", f"subset {name} is defined more than once")
            names.add(name)
    C.check_export_to(spec.get("exportTo"), f"{path}.exportTo", v, with_selector=is_set(spec, "workloadSelector"))


DESTINATION_RULE = KindSchema(
    Obj({
        "host": Str(), "trafficPolicy": TRAFFIC_POLICY, "subsets": List(SUBSET), "exportTo": STRINGS,
        "workloadSelector": WORKLOAD_SELECTOR,
    }, required=("host",), rules=(_destination_rule_rule,)),
    object_rules=istio_annotation_rules(),
)

# -- Gateway --------------------------------------------------------------------------------------

SERVER_TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL")
TLS_VERSIONS = ("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
CIPHER_SUITES = frozenset({
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA",
})


def _cipher_ok(suite: str) -> bool:
    # "ALL", and expressions with operators ("-", "+", "!", "[") are passed through to BoringSSL
    return suite in ("", "ALL") or not suite[0].isalnum() or suite in CIPHER_SUITES


def _server_tls_rule(tls: dict, path: str, v: Validation) -> None:
    """Istio's Gateway (and Sidecar ingress) TLS rules: what each mode needs and refuses."""
    mode = as_str(tls.get("mode")) or "PASSTHROUGH"
    suites = [s for s in as_list(tls.get("cipherSuites")) if isinstance(s, str)]
    if tls.get("minProtocolVersion") in ("TLSV1_0", "TLSV1_1") and not suites:
        v.warn(path, "TLS versions below TLSV1_2 need cipherSuites: the default ciphers no longer work with them")
    invalid = sorted({s for s in suites if not _cipher_ok(s)})
    if invalid:
        v.warn(f"{path}.cipherSuites", f"unknown cipher suites will be ignored: {invalid}")
    valid = [s for s in suites if _cipher_ok(s)]
    duplicates = sorted({s for s in valid if valid.count(s) > 1}) if len(valid) != len(set(valid)) else []
    if duplicates:
        v.warn(f"{path}.cipherSuites", f"repeated cipher suites will be ignored: {duplicates}")
    cert, key = as_str(tls.get("serverCertificate")), as_str(tls.get("privateKey"))
    ca = as_str(tls.get("caCertificates"))
    credential, crl = as_str(tls.get("credentialName")), as_str(tls.get("caCrl"))
    credentials, certificates = is_nonempty(tls, "credentialNames"), is_nonempty(tls, "tlsCertificates")
    if mode == "ISTIO_MUTUAL":
        for present, what in ((cert, "serverCertificate"), (key, "privateKey"), (ca, "caCertificates"),
                              (certificates, "tlsCertificates"), (credential, "credentialName"),
                              (credentials, "credentialNames")):
            if present:
                v.error(path, f"mode ISTIO_MUTUAL uses Istio's own certificates: remove the {what}")
        return
    uses_certificates = crl or cert or key or ca or certificates or credential or credentials
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH") and uses_certificates:
        v.warn(path, f"mode {mode} does not terminate TLS, so its certificates are ignored")
    if sum((bool(cert and key), bool(credential), credentials, certificates)) > 1:
        v.error(path, "set only one of credentialName, credentialNames, serverCertificate/privateKey and "
                      "tlsCertificates")
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        if credential or credentials:  # fetched from a Secret: nothing else needed
            return
        what = "SIMPLE TLS" if mode == "SIMPLE" else "MUTUAL TLS"
        if mode != "SIMPLE" and not ca:
            v.error(path, f"{what} needs caCertificates, the CA bundle clients are checked against")
        pairs = [as_dict(c) for c in as_list(tls.get("tlsCertificates"))] or [tls]
        for pair in pairs:
            for field in ("serverCertificate", "privateKey"):
                if not as_str(pair.get(field)):
                    v.error(path, f"{what} needs a {field}")
    if crl:
        if credential:
            v.error(path, "caCrl cannot be combined with credentialName: put the CRL in the credential's Secret")
        if mode == "SIMPLE":
            v.error(path, "caCrl is not used with SIMPLE TLS")


SERVER_TLS = Obj({
    "httpsRedirect": Bool(), "mode": Str(enum=SERVER_TLS_MODES), "serverCertificate": Str(), "privateKey": Str(),
    "caCertificates": Str(), "caCrl": Str(), "credentialName": Str(),
    "credentialNames": List(Str(), min_items=1, max_items=2),
    "tlsCertificates": List(Obj({"serverCertificate": Str(), "privateKey": Str(), "caCertificates": Str()}),
                            min_items=1, max_items=2),
    "caCertCredentialName": Str(), "subjectAltNames": STRINGS, "verifyCertificateSpki": STRINGS,
    "verifyCertificateHash": STRINGS, "minProtocolVersion": Str(enum=TLS_VERSIONS),
    "maxProtocolVersion": Str(enum=TLS_VERSIONS), "cipherSuites": STRINGS,
}, rules=(_server_tls_rule,))


TLS_NEEDS_TLS_PORT = "tls settings need an HTTPS or TLS port"


def _target_port_problem(port: dict, kind: str) -> str | None:
    return f"targetPort does nothing on a {kind}: remove it" if as_int(port.get("targetPort")) > 0 else None


def _server_rule(server: dict, path: str, v: Validation) -> None:
    hosts = as_list(server.get("hosts"))
    if not hosts:
        v.error(f"{path}.hosts", "a server needs at least one host")
    for i, host in enumerate(hosts):
        if isinstance(host, str):
            for problem in C.check_namespace_host(host, gateway=True):
                v.error(f"{path}.hosts[{i}]", problem)
    bind = as_str(server.get("bind"))
    port = server.get("port")
    port_ok = isinstance(port, dict)
    if port is None:
        v.error(f"{path}.port", "required")
    elif port_ok:
        port_ok = _check_server_port(port, bind, f"{path}.port", v)
    if bind.startswith(C.UNIX_PREFIX):
        _err(v, f"{path}.bind", C.check_unix_address(bind[len(C.UNIX_PREFIX):]))
        if port_ok and as_int(port.get("number")):
            v.error(f"{path}.port.number", "must be 0 when binding to a unix domain socket")
    elif bind:
        _err(v, f"{path}.bind", C.check_ip(bind))
    if not port_ok:
        return
    protocol, tls = C.protocol_of(port.get("protocol")), server.get("tls")
    if protocol in C.TLS_PROTOCOLS and tls is None:
        v.error(path, "HTTPS and TLS servers need tls settings")
    elif protocol not in C.TLS_PROTOCOLS and tls is not None:
        tls = as_dict(tls)
        passthrough = (as_str(tls.get("mode")) or "PASSTHROUGH") in ("PASSTHROUGH", "AUTO_PASSTHROUGH")
        if protocol in C.HTTP_PROTOCOLS:  # only an httpsRedirect is allowed on plain text HTTP
            files = any(as_str(tls.get(k)) for k in ("caCertificates", "privateKey", "serverCertificate"))
            if not passthrough or files:
                v.error(f"{path}.tls", "a plain-text HTTP server can only set tls.httpsRedirect")
        else:
            v.error(f"{path}.tls", TLS_NEEDS_TLS_PORT)


def _check_server_port(port: dict, bind: str, path: str, v: Validation) -> bool:
    """Istio's server port rules; False when the port is unusable (then TLS/protocol checks are skipped)."""
    ok = True
    protocol = port.get("protocol")
    if not C.protocol_of(protocol):
        v.error(f"{path}.protocol", f"{as_str(protocol)!r} is not a protocol a server can use: use HTTP, HTTP2, "
                                    "GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP, HTTPS or TLS")
        ok = False
    number = as_int(port.get("number"))
    if number > 0 or not bind.startswith(C.UNIX_PREFIX):
        problem = C.check_port(number)
        if problem:
            v.error(f"{path}.number", problem)
            ok = False
    problem = _target_port_problem(port, "Gateway")
    if problem:
        v.error(f"{path}.targetPort", problem)
        ok = False
    if not as_str(port.get("name")):
        v.error(f"{path}.name", "a server port needs a name")
        ok = False
    return ok


GATEWAY_PORT = Obj({"number": UINT32, "protocol": Str(), "name": Str(), "targetPort": UINT32})
SERVER = Obj({
    "port": GATEWAY_PORT, "bind": Str(), "hosts": STRINGS, "tls": SERVER_TLS, "defaultEndpoint": Str(), "name": Str(),
}, rules=(_server_rule,))


def _gateway_rule(spec: dict, path: str, v: Validation) -> None:
    servers = as_list(spec.get("servers"))
    if not servers:
        v.error(f"{path}.servers", "a Gateway needs at least one server")
    names: set[str] = set()
    for i, server in enumerate(servers):
        port = as_dict(as_dict(server).get("port"))
        if not port:
            continue
        name = as_str(port.get("name"))
        if name in names:
            v.error(f"{path}.servers[{i}].port.name", f"port name {name} is used by more than one server")
        names.add(name)
        tls = as_dict(as_dict(server).get("tls"))
        if tls.get("httpsRedirect") is True and C.protocol_of(port.get("protocol")) not in C.HTTP_PROTOCOLS:
            v.warn(f"{path}.servers[{i}].tls.httpsRedirect", "httpsRedirect only has an effect on HTTP servers")


def _gateway_name_rule(v: Validation) -> None:
    if not C.is_dns1123_label(v.name):
        v.error("metadata.name", f"gateway name {v.name!r} must be a DNS label (no dots)")


GATEWAY = KindSchema(
    Obj({"servers": List(SERVER), "selector": STRING_MAP}, rules=(_gateway_rule,)),
    object_rules=istio_annotation_rules() + (_gateway_name_rule,),
)

# -- WorkloadEntry, and ServiceEntry endpoints ---------------------------------------------------

WORKLOAD_ENTRY_FIELDS = {
    "address": Str(max_len=256), "ports": Map(UINT32), "labels": STRING_MAP, "network": Str(max_len=2048),
    "locality": Str(max_len=2048), "weight": UINT32, "serviceAccount": Str(max_len=253),
}


def check_workload_entry(entry: dict, path: str, v: Validation, service_ports: set[str] | None,
                         allow_fqdn: bool) -> None:
    address = as_str(entry.get("address"))
    if not address:
        network = as_str(entry.get("network"))
        if not network:
            v.error(f"{path}.address", "required unless network is set")
            return
        v.warn(f"{path}.address", f"no address is set, only network {network!r}")
    ports = as_dict(entry.get("ports"))
    if address.startswith(C.UNIX_PREFIX):
        _err(v, f"{path}.address", C.check_unix_address(address[len(C.UNIX_PREFIX):]))
        if ports:
            v.error(f"{path}.ports", f"unix domain socket address {address} cannot have ports")
        if service_ports is not None and len(service_ports) != 1:
            v.error(path, "a unix domain socket endpoint needs the ServiceEntry to have exactly one port")
    elif address and not C.is_ip(address):
        if not allow_fqdn:
            v.error(f"{path}.address", f"endpoint address {address!r} must be an IP address")
        elif C.check_fqdn(address):
            v.error(f"{path}.address", _not_fqdn_or_ip("endpoint address", address))
    _check_endpoint_ports(ports, f"{path}.ports", v, service_ports)
    C.check_labels(entry.get("labels"), f"{path}.labels", v)


def _check_endpoint_ports(ports: Any, path: str, v: Validation, service_ports: set[str] | None) -> None:
    for name, number in as_dict(ports).items():
        at = f"{path}.{name}"
        if service_ports is not None and name not in service_ports:
            v.error(at, f"endpoint port {number}: the ServiceEntry has no port with this name")
        _err(v, at, C.check_port_name(str(name)))
        _err(v, at, C.check_port(as_int(number)) if not isinstance(number, bool) else None)


def _workload_entry_rule(entry: dict, path: str, v: Validation) -> None:
    check_workload_entry(entry, path, v, service_ports=None, allow_fqdn=True)


WORKLOAD_ENTRY = KindSchema(
    Obj(WORKLOAD_ENTRY_FIELDS, rules=(_workload_entry_rule,)),
    spec_required=True,
    object_rules=istio_annotation_rules(),
)

# -- ServiceEntry ---------------------------------------------------------------------------------

AUTO_ALLOCATE_ANNOTATION = "networking.istio.io/enable-autoallocate-ip"


def _service_entry_rule(spec: dict, path: str, v: Validation) -> None:
    if is_set(spec, "workloadSelector") and is_set(spec, "endpoints"):
        v.error(path, "set workloadSelector or endpoints, not both")
    hosts = [h for h in as_list(spec.get("hosts")) if isinstance(h, str)]
    if not as_list(spec.get("hosts")):
        v.error(f"{path}.hosts", "a ServiceEntry needs at least one host")
    for i, host in enumerate(as_list(spec.get("hosts"))):
        if not isinstance(host, str):
            continue
        at = f"{path}.hosts[{i}]"
        if host == "*":
            v.error(at, f"host {host} would match everything: list the hosts")
            continue
        _err(v, at, C.check_wildcard_domain(host))
        partial = C.check_partial_wildcard(host)
        if partial:
            v.warn(at, partial)
    addresses = [a for a in as_list(spec.get("addresses")) if isinstance(a, str)]
    for i, address in enumerate(as_list(spec.get("addresses"))):
        if isinstance(address, str):
            _err(v, f"{path}.addresses[{i}]", C.check_ip_or_cidr(address))
    resolution = as_str(spec.get("resolution")) or "NONE"
    if any("/" in a for a in addresses) and resolution not in ("NONE", "STATIC"):
        v.error(f"{path}.addresses", "CIDR blocks need resolution NONE or STATIC")
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    port_names = _check_service_entry_ports(ports, addresses, path, v)
    endpoints = as_list(spec.get("endpoints"))
    if resolution == "NONE":
        if endpoints:
            v.error(f"{path}.endpoints", "resolution NONE does not use endpoints: remove them")
        _check_no_selector(spec, resolution, path, v)
    elif resolution == "STATIC":
        for i, endpoint in enumerate(endpoints):
            if isinstance(endpoint, dict):
                check_workload_entry(endpoint, f"{path}.endpoints[{i}]", v, port_names, allow_fqdn=False)
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        _check_dns_service_entry(spec, hosts, addresses, ports, port_names, resolution, path, v)
    if resolution != "NONE" and len(hosts) > 1:
        for port in ports:
            protocol = C.protocol_of(port.get("protocol"))
            if protocol not in C.HTTP_PROTOCOLS and protocol not in C.TLS_PROTOCOLS:
                v.error(f"{path}.hosts", "a ServiceEntry with several hosts can only have HTTP or TLS ports")
                break
    C.check_export_to(spec.get("exportTo"), f"{path}.exportTo", v, service_entry=True)


def _check_no_selector(spec: dict, resolution: str, path: str, v: Validation) -> None:
    if is_set(spec, "workloadSelector"):
        v.warn(f"{path}.workloadSelector", f"workloadSelector has no effect with resolution {resolution}")


def _check_service_entry_ports(ports: list[dict], addresses: list[str], path: str, v: Validation) -> set[str]:
    names: set[str] = set()
    numbers: set[int] = set()
    auto_allocate = str(v.annotations.get(AUTO_ALLOCATE_ANNOTATION, "true")).lower() != "false"
    for i, port in enumerate(ports):
        at = f"{path}.ports[{i}]"
        name, number = port.get("name"), as_int(port.get("number"))
        if isinstance(name, str):
            if name in names:
                v.error(f"{at}.name", f"port name {name!r} is used more than once")
            names.add(name)
            _err(v, f"{at}.name", C.check_port_name(name))
        if is_set(port, "number"):
            if number in numbers:
                v.error(f"{at}.number", f"port {number} is listed more than once")
            numbers.add(number)
            _err(v, f"{at}.number", C.check_port(number))
        if as_int(port.get("targetPort")):
            _err(v, f"{at}.targetPort", C.check_port(as_int(port["targetPort"])))
        protocol = as_str(port.get("protocol"))
        _err(v, f"{at}.protocol", C.check_protocol(protocol))
        if not addresses and not auto_allocate and protocol in ("", "TCP"):
            v.warn(at, "without IP autoallocation, a TCP port (or one without a protocol) needs addresses")
    return names


def _check_dns_service_entry(spec: dict, hosts: list[str], addresses: list[str], ports: list[dict],
                             port_names: set[str], resolution: str, path: str, v: Validation) -> None:
    endpoints = as_list(spec.get("endpoints"))
    if not endpoints:
        for host in hosts:
            if C.check_fqdn(host):
                v.error(f"{path}.hosts", f"resolution {resolution} without endpoints needs fully qualified hosts")
    if resolution == "DNS_ROUND_ROBIN" and len(endpoints) > 1:
        v.error(f"{path}.endpoints", f"resolution {resolution} allows at most one endpoint")
    for i, endpoint in enumerate(endpoints):
        if not isinstance(endpoint, dict):
            continue
        at = f"{path}.endpoints[{i}]"
        address = as_str(endpoint.get("address"))
        if not C.is_ip(address) and C.check_fqdn(address):
            v.error(f"{at}.address", _not_fqdn_or_ip("endpoint address", address))
        C.check_labels(endpoint.get("labels"), f"{at}.labels", v)
        _check_endpoint_ports(endpoint.get("ports"), f"{at}.ports", v, port_names)
    _check_no_selector(spec, resolution, path, v)
    if addresses and len(hosts) > 1 and any(C.protocol_of(p.get("protocol")) in C.TCP_PROTOCOLS for p in ports):
        v.warn(f"{path}.hosts", "a ServiceEntry with addresses and a TCP port should have only one host")


SERVICE_ENTRY = KindSchema(
    Obj({
        "hosts": List(Str(), max_items=256), "addresses": List(Str(max_len=64), max_items=256),
        "ports": List(Obj({"number": UINT32, "protocol": Str(max_len=256), "name": Str(max_len=256),
                           "targetPort": UINT32}, required=("number", "name")), max_items=256),
        "location": Str(enum=("MESH_EXTERNAL", "MESH_INTERNAL")),
        "resolution": Str(enum=("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")),
        "endpoints": List(Obj(WORKLOAD_ENTRY_FIELDS), max_items=4096),
        "workloadSelector": alpha_workload_selector("service entry"), "exportTo": STRINGS, "subjectAltNames": STRINGS,
    }, rules=(_service_entry_rule,)),
    spec_required=True,
    object_rules=istio_annotation_rules(),
)

# -- Sidecar --------------------------------------------------------------------------------------

SIDECAR_PORT = Obj({"number": UINT32, "protocol": Str(), "name": Str(), "targetPort": UINT32})
CAPTURE_MODE = Str(enum=("DEFAULT", "IPTABLES", "NONE"))
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "0.0.0.0", "::1", "::"})


def _check_sidecar_port(port: dict, bind: str, path: str, v: Validation, unix_ok: bool, capture: str) -> None:
    _err(v, f"{path}.targetPort", _target_port_problem(port, "Sidecar"))
    name = as_str(port.get("name"))
    if name:
        _err(v, f"{path}.name", C.check_port_name(name))
    _err(v, f"{path}.protocol", C.check_protocol(as_str(port.get("protocol"))))
    number = as_int(port.get("number"))
    if unix_ok and number == 0:
        if not bind.startswith(C.UNIX_PREFIX):
            v.error(path, "port 0 needs a unix:// bind address")
        else:
            _err(v, path, C.check_unix_address(bind[len(C.UNIX_PREFIX):]))
        if capture not in ("", "DEFAULT", "NONE"):
            v.error(path, "unix domain socket listeners need captureMode DEFAULT or NONE")
        return
    _err(v, f"{path}.number", C.check_port(number))
    if bind:
        _err(v, path, C.check_ip(bind))


def _check_default_endpoint(endpoint: str, path: str, v: Validation) -> None:
    if endpoint.startswith(C.UNIX_PREFIX):
        _err(v, path, C.check_unix_address(endpoint[len(C.UNIX_PREFIX):]))
        return
    host, colon, port = endpoint.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon:
        v.error(path, f"defaultEndpoint {endpoint!r} has no port")
        return
    if host and host not in LOOPBACK_HOSTS:
        v.error(path, "defaultEndpoint must be a local address (127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port> or "
                      "[::]:<port>) or a unix:// path")
    _err(v, path, C.check_port(int(port)) if port.isdigit() else f"defaultEndpoint port {port} is not a number")


PORT_IN_USE = "another listener already uses this port"


def _check_sidecar_ingress(listeners: list, path: str, v: Validation) -> None:
    ports: set[int] = set()
    for i, listener in enumerate(listeners):
        if not isinstance(listener, dict):
            continue
        at = f"{path}[{i}]"
        port = listener.get("port")
        if not isinstance(port, dict):
            if port is None:
                v.error(f"{at}.port", "an ingress listener needs a port")
            continue
        _check_sidecar_port(port, as_str(listener.get("bind")), f"{at}.port", v, unix_ok=False, capture="")
        number = as_int(port.get("number"))
        if number in ports:
            v.error(f"{at}.port", PORT_IN_USE)
        ports.add(number)
        endpoint = as_str(listener.get("defaultEndpoint"))
        if endpoint:
            _check_default_endpoint(endpoint, f"{at}.defaultEndpoint", v)
        tls = listener.get("tls")
        if isinstance(tls, dict):
            for field in ("subjectAltNames", "credentialName", "credentialNames", "tlsCertificates"):
                if is_nonempty(tls, field):
                    v.error(f"{at}.tls.{field}", f"{field} is not supported on a sidecar ingress listener")
            if tls.get("httpsRedirect") is True:
                v.error(f"{at}.tls.httpsRedirect", "httpsRedirect is not supported on a sidecar ingress listener")
            if tls.get("mode") in ("ISTIO_MUTUAL", "AUTO_PASSTHROUGH"):
                v.error(f"{at}.tls.mode", f"mode {tls['mode']} is not supported on a sidecar ingress listener")
            if C.protocol_of(port.get("protocol")) not in C.TLS_PROTOCOLS:
                v.error(f"{at}.tls", TLS_NEEDS_TLS_PORT)
        pool = as_dict(listener.get("connectionPool"))
        if is_set(pool, "http") and C.protocol_of(port.get("protocol")) not in C.HTTP_PROTOCOLS:
            v.warn(f"{at}.connectionPool.http", f"port {number} does not speak HTTP, so only the tcp connection pool "
                                                "settings apply to it")


def _check_sidecar_egress(listeners: list, path: str, v: Validation) -> None:
    ports: set[int] = set()
    sockets: set[str] = set()
    catch_all = False
    for i, listener in enumerate(listeners):
        if not isinstance(listener, dict):
            continue
        at = f"{path}[{i}]"
        port = listener.get("port")
        if port is None:
            if catch_all:
                v.error(at, "only one egress listener may leave the port unset")
                continue
            if i == len(listeners) - 1:
                catch_all = True
            else:
                v.error(at, "the egress listener without a port must come last")
        elif isinstance(port, dict):
            bind = as_str(listener.get("bind"))
            _check_sidecar_port(port, bind, f"{at}.port", v, unix_ok=True, capture=as_str(listener.get("captureMode")))
            number = as_int(port.get("number"))
            if number == 0:
                if bind in sockets:
                    v.error(f"{at}.bind", "another listener already binds this unix domain socket")
                sockets.add(bind)
            else:
                if number in ports:
                    v.error(f"{at}.port", PORT_IN_USE)
                ports.add(number)
        _check_egress_hosts(listener.get("hosts"), f"{at}.hosts", v)


def _check_egress_hosts(hosts: Any, path: str, v: Validation) -> None:
    hosts = as_list(hosts)
    if not hosts:
        v.error(path, "an egress listener needs at least one host")
        return
    by_namespace: dict[str, set[str]] = {}
    for i, entry in enumerate(hosts):
        if not isinstance(entry, str):
            continue
        at = f"{path}[{i}]"
        ns, slash, host = entry.partition("/")
        if slash:
            ns = v.namespace if ns == "." else ns
            known = by_namespace.setdefault(ns, set())
            if (host != "*" and (host in known or "*" in known)) or (host == "*" and known):
                v.warn(at, f"egress host {entry} overlaps an earlier entry for the same namespace")
            known.add(host)
        for problem in C.check_namespace_host(entry, gateway=False):
            v.error(at, problem)
    if "*" in by_namespace.get("*", ()) and len(by_namespace) != 1:
        v.warn(path, "*/* already selects every host, so the other entries add nothing")


def _outbound_policy_rule(policy: dict, path: str, v: Validation) -> None:
    proxy = policy.get("egressProxy")
    if proxy is None:
        return
    if policy.get("mode") != "ALLOW_ANY":
        v.error(f"{path}.egressProxy", "egressProxy needs mode ALLOW_ANY")
        return
    proxy = as_dict(proxy)
    host = proxy.get("host")
    if isinstance(host, str):
        _err(v, f"{path}.egressProxy.host", C.check_fqdn(host))
    if not is_set(proxy, "port"):
        v.error(f"{path}.egressProxy.port", "egressProxy needs a port")


def _sidecar_rule(spec: dict, path: str, v: Validation) -> None:
    if not (as_list(spec.get("egress")) or as_list(spec.get("ingress")) or is_set(spec, "outboundTrafficPolicy")
            or is_set(spec, "inboundConnectionPool")):
        v.error(path, "the Sidecar configures nothing: set egress, ingress, outboundTrafficPolicy or "
                      "inboundConnectionPool")
        return
    _check_sidecar_ingress(as_list(spec.get("ingress")), f"{path}.ingress", v)
    _check_sidecar_egress(as_list(spec.get("egress")), f"{path}.egress", v)


SIDECAR = KindSchema(
    Obj({
        "workloadSelector": alpha_workload_selector("sidecar"),
        "ingress": List(Obj({"port": SIDECAR_PORT, "bind": Str(), "captureMode": CAPTURE_MODE,
                             "defaultEndpoint": Str(), "tls": SERVER_TLS, "connectionPool": CONNECTION_POOL})),
        "egress": List(Obj({"port": SIDECAR_PORT, "bind": Str(), "captureMode": CAPTURE_MODE, "hosts": STRINGS})),
        "inboundConnectionPool": CONNECTION_POOL,
        "outboundTrafficPolicy": Obj({"mode": Str(enum=("REGISTRY_ONLY", "ALLOW_ANY")), "egressProxy": DESTINATION},
                                     rules=(_outbound_policy_rule,)),
    }, rules=(_sidecar_rule,)),
    object_rules=istio_annotation_rules(),
)

# -- EnvoyFilter ----------------------------------------------------------------------------------

APPLY_TO = ("INVALID", "LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "ROUTE_CONFIGURATION",
            "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER", "EXTENSION_CONFIG", "BOOTSTRAP", "LISTENER_FILTER")
PATCH_OPERATIONS = ("INVALID", "MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE")
LISTENER_CLASS = frozenset({"LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER"})
ROUTE_CLASS = frozenset({"ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"})
# The object match each applyTo needs (when the patch matches an object at all).
MATCH_FOR = {**dict.fromkeys(LISTENER_CLASS, "listener"), **dict.fromkeys(ROUTE_CLASS, "routeConfiguration"),
             "CLUSTER": "cluster"}
HCM = "envoy.filters.network.http_connection_manager"
# Old filter names Envoy no longer knows, and their replacements.
DEPRECATED_FILTER_NAMES = {
    "envoy.http_connection_manager": HCM,
    "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
    "envoy.router": "envoy.filters.http.router",
    "envoy.cors": "envoy.filters.http.cors",
    "envoy.fault": "envoy.filters.http.fault",
    "envoy.lua": "envoy.filters.http.lua",
    "envoy.grpc_web": "envoy.filters.http.grpc_web",
    "envoy.health_check": "envoy.filters.http.health_check",
    "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
    "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
    "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
}
FILTER_MATCH = Obj({"name": Str(), "subFilter": Obj({"name": Str()})})


def _deprecated_filter_name(name: str, path: str, v: Validation) -> None:
    if name in DEPRECATED_FILTER_NAMES:
        v.warn(path, f"filter name {name!r} is deprecated: use {DEPRECATED_FILTER_NAMES[name]!r}")


def _patch_rule(patch: dict, path: str, v: Validation) -> None:
    apply_to = as_str(patch.get("applyTo"))
    body = patch.get("patch")
    if apply_to in ("", "INVALID"):
        v.error(f"{path}.applyTo", "must be set")
        return
    if not isinstance(body, dict):
        if body is None:
            v.error(f"{path}.patch", "required")
        return
    operation = as_str(body.get("operation"))
    if operation in ("", "INVALID"):
        v.error(f"{path}.patch.operation", "must be set")
        return
    if operation != "REMOVE" and body.get("value") is None:
        v.error(f"{path}.patch.value", f"operation {operation} needs a value")
        return
    match = as_dict(patch.get("match"))
    version = as_str(as_dict(match.get("proxy")).get("proxyVersion"))
    if version:
        problem = C.check_regex(version)
        if problem:
            v.error(f"{path}.match.proxy.proxyVersion", f"proxyVersion is not a usable regex: {problem}")
            return
    if not any(is_set(match, k) for k in ("listener", "routeConfiguration", "cluster")):
        return  # no object match, or a waypoint match (which fits every applyTo)
    needed = MATCH_FOR.get(apply_to)
    if needed and not is_set(match, needed):
        v.error(f"{path}.match", f"applyTo {apply_to} needs a {needed} match")
    elif needed == "listener":
        _check_listener_patch(apply_to, match, f"{path}.match", v)


def _check_listener_patch(apply_to: str, match: dict, path: str, v: Validation) -> None:
    chain = as_dict(as_dict(match["listener"]).get("filterChain"))
    if not is_set(chain, "filter"):
        return
    filter_match = as_dict(chain["filter"])
    at = f"{path}.listener.filterChain.filter"
    if apply_to in ("LISTENER", "FILTER_CHAIN"):
        v.warn(at, f"a filter match does nothing with applyTo {apply_to}")
    name = as_str(filter_match.get("name"))
    if not name:
        v.error(f"{at}.name", "a filter match needs a name")
        return
    if is_set(filter_match, "subFilter"):
        if apply_to != "HTTP_FILTER":
            v.error(f"{at}.subFilter", "subFilter only works with applyTo HTTP_FILTER")
            return
        if name not in (HCM, "envoy.http_connection_manager"):
            v.error(f"{at}.subFilter", f"subFilter needs the filter name to be {HCM}")
            return
        sub_name = as_str(as_dict(filter_match["subFilter"]).get("name"))
        if not sub_name:
            v.error(f"{at}.subFilter.name", "a subFilter match needs a name")
            return
        _deprecated_filter_name(sub_name, f"{at}.subFilter.name", v)
    _deprecated_filter_name(name, f"{at}.name", v)


def _envoy_filter_match_rule(match: dict, path: str, v: Validation) -> None:
    if is_set(match, "waypoint") and match.get("context") != "WAYPOINT":
        v.error(f"{path}.waypoint", "a waypoint match needs context WAYPOINT")


ENVOY_FILTER_MATCH = Obj({
    "context": Str(enum=("ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT")),
    "proxy": Obj({"proxyVersion": Str(), "metadata": STRING_MAP}),
    "listener": Obj({
        "portNumber": UINT32, "portName": Str(), "name": Str(), "listenerFilter": Str(),
        "filterChain": Obj({"name": Str(), "sni": Str(), "transportProtocol": Str(), "applicationProtocols": Str(),
                            "filter": FILTER_MATCH, "destinationPort": UINT32}),
    }),
    "routeConfiguration": Obj({
        "portNumber": UINT32, "portName": Str(), "gateway": Str(), "name": Str(),
        "vhost": Obj({"name": Str(), "domainName": Str(),
                      "route": Obj({"name": Str(),
                                    "action": Str(enum=("ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE"))})}),
    }),
    "cluster": Obj({"portNumber": UINT32, "service": Str(), "subset": Str(), "name": Str()}),
    "waypoint": Obj({"filter": FILTER_MATCH, "route": Obj({"name": Str()}), "portNumber": Int(1, 65535)}),
}, one_of=[("listener", "routeConfiguration", "cluster", "waypoint")], rules=(_envoy_filter_match_rule,))


def _envoy_filter_warning(v: Validation) -> None:
    v.warn("", "EnvoyFilter patches Envoy's internal configuration, which can change in any release: prefer a "
               "higher-level API, and re-test the filter before every upgrade")


ENVOY_FILTER = KindSchema(
    Obj({
        "workloadSelector": alpha_workload_selector("Envoy filter"), "targetRefs": PLAIN_TARGET_REFS,
        "configPatches": List(Obj({
            "applyTo": Str(enum=APPLY_TO), "match": ENVOY_FILTER_MATCH,
            "patch": Obj({"operation": Str(enum=PATCH_OPERATIONS), "value": Any_(dict),
                          "filterClass": Str(enum=("UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"))}),
        }, rules=(_patch_rule,))),
        "priority": INT32,
    }, one_of=[("workloadSelector", "targetRefs")]),
    object_rules=istio_annotation_rules() + (_envoy_filter_warning,),
)

# -- WorkloadGroup --------------------------------------------------------------------------------


def _probe_rule(probe: dict, path: str, v: Validation) -> None:
    if is_set(probe, "httpGet"):
        get = as_dict(probe["httpGet"])
        _err(v, f"{path}.httpGet.port", C.check_port(as_int(get.get("port"))))
        if as_str(get.get("scheme")) not in ("", "HTTP", "HTTPS"):
            v.error(f"{path}.httpGet.scheme", "use HTTP or HTTPS")
        for i, header in enumerate(as_list(get.get("httpHeaders"))):
            name = as_str(as_dict(header).get("name"))
            _err(v, f"{path}.httpGet.httpHeaders[{i}].name", C.check_strict_header_name(name))
    elif is_set(probe, "tcpSocket"):
        _err(v, f"{path}.tcpSocket.port", C.check_port(as_int(as_dict(probe["tcpSocket"]).get("port"))))
    elif is_set(probe, "exec"):
        if not as_list(as_dict(probe["exec"]).get("command")):
            v.error(f"{path}.exec.command", "exec needs a command")
    elif is_set(probe, "grpc"):
        _err(v, f"{path}.grpc.port", C.check_port(as_int(as_dict(probe["grpc"]).get("port"))))
    else:
        v.error(path, "a probe needs httpGet, tcpSocket, exec or grpc")


PROBE = Obj({
    "initialDelaySeconds": NON_NEGATIVE_INT32, "timeoutSeconds": NON_NEGATIVE_INT32,
    "periodSeconds": NON_NEGATIVE_INT32, "successThreshold": NON_NEGATIVE_INT32,
    "failureThreshold": NON_NEGATIVE_INT32,
    "httpGet": Obj({"path": Str(), "port": UINT32, "host": Str(), "scheme": Str(),
                    "httpHeaders": List(Obj({"name": Str(), "value": Str()}))}),
    "tcpSocket": Obj({"host": Str(), "port": UINT32}),
    "exec": Obj({"command": List(Str(min_len=1))}),
    "grpc": Obj({"port": UINT32, "service": Str()}),
}, one_of=[("httpGet", "tcpSocket", "exec", "grpc")], rules=(_probe_rule,))


def _template_rule(template: dict, path: str, v: Validation) -> None:
    if as_str(template.get("address")).startswith(C.UNIX_PREFIX) and is_nonempty(template, "ports"):
        v.error(f"{path}.ports", "a unix domain socket address cannot have ports")


def _workload_group_rule(spec: dict, path: str, v: Validation) -> None:
    if spec.get("template") is None:
        v.error(f"{path}.template", "required")
    C.check_labels(as_dict(spec.get("metadata")).get("labels"), f"{path}.metadata.labels", v)


WORKLOAD_GROUP = KindSchema(
    Obj({
        "metadata": Obj({"labels": STRING_MAP, "annotations": STRING_MAP}),
        "template": Obj(WORKLOAD_ENTRY_FIELDS, rules=(_template_rule,)),
        "probe": PROBE,
    }, rules=(_workload_group_rule,)),
    spec_required=True,
    object_rules=istio_annotation_rules(),
)

# -- ProxyConfig ----------------------------------------------------------------------------------

PROXY_CONFIG = KindSchema(
    Obj({
        "selector": WORKLOAD_SELECTOR, "concurrency": NON_NEGATIVE_INT32,
        "environmentVariables": Map(Str(max_len=2048)), "image": Obj({"imageType": Str()}),
    }),
    object_rules=istio_annotation_rules(),
)
