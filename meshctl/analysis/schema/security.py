"""security.istio.io: AuthorizationPolicy, PeerAuthentication, RequestAuthentication."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from meshctl.analysis.schema import checks as C
from meshctl.analysis.schema.common import (
    POLICY_TARGETING,
    STRINGS,
    WORKLOAD_SELECTOR,
    istio_annotation_rules,
    policy_selector_rule,
)
from meshctl.analysis.schema.core import (
    Bool,
    Duration,
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
)

# -- AuthorizationPolicy --------------------------------------------------------------------------

SOURCE_FIELDS = ("principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
                 "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts",
                 "notServiceAccounts", "trustDomains", "notTrustDomains")
SERVICE_ACCOUNTS = List(Str(max_len=320), max_items=16)
# Source fields that also apply to plain TCP traffic (request principals need HTTP).
TCP_SOURCE_FIELDS = ("principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
                     "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts")
OPERATION_FIELDS = ("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths")
IP_FIELDS = ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks")
# Fields a CUSTOM (external authorizer) policy cannot match on.
CUSTOM_UNSUPPORTED_SOURCES = ("namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "principals",
                              "notPrincipals", "requestPrincipals", "notRequestPrincipals")

# `when` condition keys and how their values are checked
_IP_KEYS = frozenset({"source.ip", "remote.ip", "destination.ip"})
_PLAIN_KEYS = frozenset({"source.namespace", "source.principal", "source.serviceAccount", "request.auth.principal",
                         "request.auth.audiences", "request.auth.presenter", "connection.sni"})
_MAP_KEY_PREFIXES = ("request.headers", "request.auth.claims", "experimental.envoy.filters.")


def _check_ips(values: list[str], path: str, v: Validation) -> None:
    for value in values:
        if "/" in value:
            problem = C.check_ip_or_cidr(value) if value.count("/") == 1 else f"{value} is not a valid CIDR block"
            if problem:
                v.error(path, f"bad CIDR range ({value})")
        elif not C.is_ip(value):
            v.error(path, f"bad IP address ({value})")


def _check_ports(values: list[str], path: str, v: Validation) -> None:
    for value in values:
        if not value.isdigit() or int(value) > 65535:
            v.error(path, f"bad port ({value})")


def _attribute_problem(key: str, values: list[str]) -> str | None:
    """Istio's security.ValidateAttribute: is ``key`` a known attribute, and are its values well formed."""
    if any(value == "" for value in values):
        return f"empty value not allowed, found in {key}"
    if key.startswith(_MAP_KEY_PREFIXES):
        bracket = key.find("[")
        if key.endswith("]") and 0 < bracket < len(key) - 2:
            return None
        return f"bad key ({key}): should have format a[b]"
    if key in _PLAIN_KEYS:
        return None
    if key in _IP_KEYS:
        bad = [x for x in values if (C.check_ip_or_cidr(x) if "/" in x else C.check_ip(x))]
        return f"bad IP address or CIDR range ({bad[0]})" if bad else None
    if key == "destination.port":
        bad = [x for x in values if not x.isdigit() or int(x) > 65535]
        return f"bad port ({bad[0]})" if bad else None
    if key == "destination.namespace":
        return f"attribute {key} is replaced by the metadata.namespace"
    if key.startswith("destination.labels"):
        return f"attribute {key} is replaced by the workload selector"
    if key in ("destination.name", "destination.user"):
        return f"deprecated attribute {key}: only supported in v1alpha1"
    return f"unknown attribute: {key}"


def _strings(obj: Any, field: str) -> list[str]:
    return [x for x in as_list(as_dict(obj).get(field)) if isinstance(x, str)]


def _present_lists(obj: dict) -> dict[str, list]:
    """The fields of ``obj`` holding non-empty lists (what a decoded proto keeps)."""
    return {field: value for field, value in obj.items() if isinstance(value, list) and value}


def _check_source(source: dict, path: str, v: Validation) -> None:
    present = _present_lists(source)
    if not present:
        v.error(path, "`from.source` must not be empty")
    if present.keys() & {"principals", "notPrincipals", "namespaces", "notNamespaces"} and (
        present.keys() & {"serviceAccounts", "notServiceAccounts"}
    ):
        v.error(path, "cannot set serviceAccounts with namespaces or principals")
    for field, values in present.items():
        if "" in values:
            v.error(f"{path}.{field}", f"empty value not allowed, found in {field}")
        if field in IP_FIELDS:
            _check_ips([x for x in values if isinstance(x, str)], f"{path}.{field}", v)


def _check_operation(operation: dict, path: str, v: Validation) -> None:
    present = _present_lists(operation)
    if not present:
        v.error(path, "`to.operation` must not be empty")
    for field, values in present.items():
        strings = [x for x in values if isinstance(x, str)]
        if "" in strings:
            v.error(f"{path}.{field}", f"empty value not allowed, found in {field}")
        if field in ("ports", "notPorts"):
            _check_ports(strings, f"{path}.{field}", v)
        elif field in ("paths", "notPaths"):
            for value in strings:
                if ("{*}" in value or "{**}" in value) and _unsupported_path_template(value):
                    v.error(f"{path}.{field}", f"invalid or unsupported path template, found in {field}")


def _unsupported_path_template(path: str) -> bool:
    """Path templates may use only ``{*}`` and ``{**}``: no named variables, bare ``*``/``**`` segments."""
    stripped = path.replace("{**}", "").replace("{*}", "")
    return "{" in stripped or "}" in stripped or "/*" in stripped or "*/" in stripped


def _check_rule(rule: dict, i: int, action: str, path: str, v: Validation) -> None:
    has_from = has_to = tcp_from = tcp_to = False
    for j, item in enumerate(as_list(rule.get("from"))):
        source = as_dict(item).get("source")
        if source is None:
            v.error(f"{path}.from[{j}].source", f"`from.source` must not be nil, found at rule {i}")
            continue
        has_from = True
        source = as_dict(source)
        _check_source(source, f"{path}.from[{j}].source", v)
        tcp_from = tcp_from or any(is_set(source, f) for f in TCP_SOURCE_FIELDS)
        if action == "CUSTOM":
            for field in CUSTOM_UNSUPPORTED_SOURCES:
                if is_nonempty(source, field):
                    v.error(f"{path}.from[{j}].source.{field}",
                            f"{field} is currently not supported with CUSTOM action")
    for j, item in enumerate(as_list(rule.get("to"))):
        operation = as_dict(item).get("operation")
        if operation is None:
            v.error(f"{path}.to[{j}].operation", f"`to.operation` must not be nil, found at rule {i}")
            continue
        has_to = True
        operation = as_dict(operation)
        _check_operation(operation, f"{path}.to[{j}].operation", v)
        tcp_to = tcp_to or is_set(operation, "ports") or is_set(operation, "notPorts")
    for j, condition in enumerate(as_list(rule.get("when"))):
        _check_condition(as_dict(condition), action, f"{path}.when[{j}]", v)
    if action == "DENY" and ((has_from and not has_to and not tcp_from) or (has_to and not tcp_to)):
        v.warn(path, "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use "
                     "of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port")


def _check_condition(condition: dict, action: str, path: str, v: Validation) -> None:
    key = condition.get("key")
    if not isinstance(key, str):
        return  # missing (reported as required) or of the wrong type
    if not key:
        v.error(f"{path}.key", "`key` must not be empty")
        return
    values, not_values = _strings(condition, "values"), _strings(condition, "notValues")
    if not values and not not_values:
        v.error(path, f"at least one of `values` or `notValues` must be set for key {key}")
    else:
        for field, items in (("values", values), ("notValues", not_values)):
            problem = _attribute_problem(key, items)
            if problem:
                v.error(f"{path}.{field}", f"invalid `{field[:-1]}` for `key` {key}: {problem}")
    if action == "CUSTOM" and (key in ("source.namespace", "source.serviceAccount", "source.principal")
                               or key.startswith("request.auth.")):
        v.error(f"{path}.key", f"{key} is currently not supported with CUSTOM action")


def _authorization_policy_rule(spec: dict, path: str, v: Validation) -> None:
    action = as_str(spec.get("action")) or "ALLOW"
    rules = as_list(spec.get("rules"))
    if action == "CUSTOM":
        if not rules:
            v.error(f"{path}.rules", "CUSTOM action without `rules` is meaningless as it will never be triggered, add "
                                     "an empty rule `{}` if you want it be triggered for every request")
        elif not as_str(as_dict(spec.get("provider")).get("name")):
            v.error(f"{path}.provider.name", "`provider.name` must not be empty")
    elif is_set(spec, "provider"):
        v.error(f"{path}.provider", f"`provider` must not be with non CUSTOM action, found {action}")
    if action == "DENY" and not rules:
        v.error(f"{path}.rules", "DENY action without `rules` is meaningless as it will never be triggered, add an "
                                 "empty rule `{}` if you want it be triggered for every request")
    for i, rule in enumerate(rules):
        if isinstance(rule, dict):
            _check_rule(rule, i, action, f"{path}.rules[{i}]", v)


AUTHORIZATION_POLICY = KindSchema(
    Obj({
        **POLICY_TARGETING,
        "rules": List(Obj({
            "from": List(Obj({"source": Obj({f: SERVICE_ACCOUNTS if "erviceAccounts" in f else STRINGS
                                             for f in SOURCE_FIELDS})}), max_items=512),
            "to": List(Obj({"operation": Obj({f: STRINGS for f in OPERATION_FIELDS})})),
            "when": List(Obj({"key": Str(), "values": STRINGS, "notValues": STRINGS}, required=("key",))),
        }), max_items=512),
        "action": Str(enum=("ALLOW", "DENY", "AUDIT", "CUSTOM")),
        "provider": Obj({"name": Str()}),
    }, rules=(policy_selector_rule, _authorization_policy_rule)),
    object_rules=istio_annotation_rules(dry_run_allowed=True),
)

# -- PeerAuthentication ---------------------------------------------------------------------------

MTLS_MODE = Str(enum=("UNSET", "DISABLE", "PERMISSIVE", "STRICT"))


def _peer_authentication_rule(spec: dict, path: str, v: Validation) -> None:
    port_level = as_dict(spec.get("portLevelMtls"))
    if port_level and not as_dict(as_dict(spec.get("selector")).get("matchLabels")):
        v.error(f"{path}.portLevelMtls", "mesh/namespace peer authentication cannot have port level mTLS "
                                         "(portLevelMtls requires a selector)")
    for key in port_level:
        text = str(key)
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            v.error(f"{path}.portLevelMtls.{key}", "port must be in range 1..65535")


PEER_AUTHENTICATION = KindSchema(
    Obj({
        "selector": WORKLOAD_SELECTOR, "mtls": Obj({"mode": MTLS_MODE}),
        "portLevelMtls": Map(Obj({"mode": MTLS_MODE})),
    }, rules=(_peer_authentication_rule,)),
    object_rules=istio_annotation_rules(),
)

# -- RequestAuthentication ------------------------------------------------------------------------


def _jwks_problem(jwks: str) -> str | None:
    """A JSON Web Key Set (or a single key) as the ``jwks`` field holds it inline."""
    try:
        data = json.loads(jwks)
    except ValueError as err:
        return f"jwks parse error: {err}"
    if not isinstance(data, dict):
        return "jwks parse error: not a JSON object"
    keys = data.get("keys") if "keys" in data else [data]
    if not isinstance(keys, list) or not all(isinstance(k, dict) and isinstance(k.get("kty"), str) for k in keys):
        return "jwks parse error: every key needs a \"kty\""
    return None


def _jwt_rule(rule: dict, path: str, v: Validation) -> None:
    if "" in _strings(rule, "audiences"):
        v.error(f"{path}.audiences", "audience must be non-empty string")
    uri = as_str(rule.get("jwksUri")) or as_str(rule.get("jwks_uri"))
    if not as_str(rule.get("issuer")) and not uri:
        v.error(path, "issuer or jwksUri must be non-empty string")
    if uri:
        try:
            scheme = urlsplit(uri).scheme
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            v.error(f"{path}.jwksUri", f"URI scheme {scheme!r} is not supported (use http or https)")
    jwks = as_str(rule.get("jwks"))
    if jwks:
        problem = _jwks_problem(jwks)
        if problem:
            v.error(f"{path}.jwks", problem)
    for i, header in enumerate(as_list(rule.get("fromHeaders"))):
        if isinstance(header, dict) and as_str(header.get("name")) == "" and is_set(header, "name"):
            v.error(f"{path}.fromHeaders[{i}].name", "location header name must be non-empty string")
    for field, what in (("fromParams", "location query"), ("fromCookies", "cookie name")):
        if "" in _strings(rule, field):
            v.error(f"{path}.{field}", f"{what} must be non-empty string")
    for i, item in enumerate(as_list(rule.get("outputClaimToHeaders"))):
        item = as_dict(item)
        claim, header = as_str(item.get("claim")), as_str(item.get("header"))
        at = f"{path}.outputClaimToHeaders[{i}]"
        if not claim or not header:
            v.error(at, "outputClaimToHeaders header and claim value must be non-empty string")
        else:
            problem = C.check_strict_header_name(header)
            if problem:
                v.error(f"{at}.header", problem)


JWT_RULE = Obj({
    "issuer": Str(), "audiences": STRINGS, "jwksUri": Str(max_len=2048), "jwks_uri": Str(max_len=2048),
    "jwks": Str(), "fromHeaders": List(Obj({"name": Str(), "prefix": Str()}, required=("name",))),
    "fromParams": STRINGS, "fromCookies": STRINGS, "outputPayloadToHeader": Str(), "forwardOriginalToken": Bool(),
    "outputClaimToHeaders": List(Obj({"header": Str(), "claim": Str()})), "timeout": Duration(),
    "spaceDelimitedClaims": List(Str(min_len=1), max_items=64),
}, one_of=[("jwksUri", "jwks_uri", "jwks")], rules=(_jwt_rule,))

REQUEST_AUTHENTICATION = KindSchema(
    Obj({**POLICY_TARGETING, "jwtRules": List(JWT_RULE, max_items=4096)}, rules=(policy_selector_rule,)),
    object_rules=istio_annotation_rules(),
)
