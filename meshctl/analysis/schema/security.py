"""security.istio.io: AuthorizationPolicy, PeerAuthentication, RequestAuthentication."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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


def _ip_problem(value: str) -> str | None:
    """An address, or a CIDR block when the value has a '/'."""
    if "/" in value:
        return None if value.count("/") == 1 and C.check_ip_or_cidr(value) is None else f"{value} is not a CIDR block"
    return None if C.is_ip(value) else f"{value} is not an IP address"


def _port_problem(value: str) -> str | None:
    return None if value.isdigit() and int(value) <= 65535 else f"{value} is not a port number"


def _custom_unsupported(name: str) -> str:
    return f"{name} cannot be used in a CUSTOM policy"


def _attribute_problem(key: str, values: list[str]) -> str | None:
    """Istio's security.ValidateAttribute: is ``key`` a known attribute, and are its values well formed.
    The text follows "condition on <key>: "."""
    if any(value == "" for value in values):
        return "empty values are not allowed"
    if key.startswith(_MAP_KEY_PREFIXES):
        bracket = key.find("[")
        if key.endswith("]") and 0 < bracket < len(key) - 2:
            return None
        return "the key must name an entry in brackets, as in request.headers[x-user]"
    if key in _PLAIN_KEYS:
        return None
    if key in _IP_KEYS:
        return next(filter(None, map(_ip_problem, values)), None)
    if key == "destination.port":
        return next(filter(None, map(_port_problem, values)), None)
    if key == "destination.namespace":
        return "no longer supported; a policy applies in its own namespace (metadata.namespace)"
    if key.startswith("destination.labels"):
        return "no longer supported; select workloads with the policy's selector"
    if key in ("destination.name", "destination.user"):
        return "only the v1alpha1 API supported this attribute"
    return "not a known attribute"


def _strings(obj: Any, field: str) -> list[str]:
    return [x for x in as_list(as_dict(obj).get(field)) if isinstance(x, str)]


def _check_clause(clause: dict, what: str, path: str, v: Validation,
                  check_values: Callable[[str, list[str], str, Validation], None]) -> set[str]:
    """A rule's source or operation: at least one field holding values (what a decoded proto keeps), none of
    them empty, each list checked by ``check_values``. Returns the fields that hold values."""
    present = {field: value for field, value in clause.items() if isinstance(value, list) and value}
    if not present:
        v.error(path, f"{what} must set at least one field")
    for field, values in present.items():
        strings = [x for x in values if isinstance(x, str)]
        if "" in strings:
            v.error(f"{path}.{field}", f"{field} has an empty value")
        check_values(field, strings, f"{path}.{field}", v)
    return set(present)


def _check_problems(values: list[str], problem_of: Callable[[str], str | None], path: str, v: Validation) -> None:
    for problem in filter(None, map(problem_of, values)):
        v.error(path, problem)


def _check_source_values(field: str, values: list[str], path: str, v: Validation) -> None:
    if field in IP_FIELDS:
        _check_problems(values, _ip_problem, path, v)


def _check_operation_values(field: str, values: list[str], path: str, v: Validation) -> None:
    if field in ("ports", "notPorts"):
        _check_problems(values, _port_problem, path, v)
    elif field in ("paths", "notPaths"):
        for value in values:
            if ("{*}" in value or "{**}" in value) and _unsupported_path_template(value):
                v.error(path, f"{field} has a path template that is not supported: use only {{*}} and {{**}}")


def _check_source(source: dict, path: str, v: Validation) -> None:
    present = _check_clause(source, "source", path, v, _check_source_values)
    if present & {"principals", "notPrincipals", "namespaces", "notNamespaces"} and (
        present & {"serviceAccounts", "notServiceAccounts"}
    ):
        v.error(path, "serviceAccounts cannot be combined with namespaces or principals")


def _unsupported_path_template(path: str) -> bool:
    """Path templates may use only ``{*}`` and ``{**}``: no named variables, bare ``*``/``**`` segments."""
    stripped = path.replace("{**}", "").replace("{*}", "")
    return "{" in stripped or "}" in stripped or "/*" in stripped or "*/" in stripped


def _clauses(rule: dict, field: str, inner: str, i: int, path: str, v: Validation) -> Iterator[tuple[str, dict]]:
    """(path, object) of the ``source`` (or ``operation``) of each ``from`` (or ``to``) entry; a missing one is an
    error."""
    for j, item in enumerate(as_list(rule.get(field))):
        at = f"{path}.{field}[{j}].{inner}"
        clause = as_dict(item).get(inner)
        if clause is None:
            v.error(at, f"rule {i}: each {field} entry must set {inner}")
        else:
            yield at, as_dict(clause)


def _check_rule(rule: dict, i: int, action: str, path: str, v: Validation) -> None:
    has_from = has_to = tcp_from = tcp_to = False
    for at, source in _clauses(rule, "from", "source", i, path, v):
        has_from = True
        _check_source(source, at, v)
        tcp_from = tcp_from or any(is_set(source, f) for f in TCP_SOURCE_FIELDS)
        if action == "CUSTOM":
            for field in CUSTOM_UNSUPPORTED_SOURCES:
                if is_nonempty(source, field):
                    v.error(f"{at}.{field}", _custom_unsupported(field))
    for at, operation in _clauses(rule, "to", "operation", i, path, v):
        has_to = True
        _check_clause(operation, "operation", at, v, _check_operation_values)
        tcp_to = tcp_to or is_set(operation, "ports") or is_set(operation, "notPorts")
    for j, condition in enumerate(as_list(rule.get("when"))):
        _check_condition(as_dict(condition), action, f"{path}.when[{j}]", v)
    if action == "DENY" and ((has_from and not has_to and not tcp_from) or (has_to and not tcp_to)):
        v.warn(path, "this DENY rule uses only HTTP attributes, so it denies all traffic to TCP ports in its scope; "
                     "set ports to limit it")


def _check_condition(condition: dict, action: str, path: str, v: Validation) -> None:
    key = condition.get("key")
    if not isinstance(key, str):
        return  # missing (reported as required) or of the wrong type
    if not key:
        v.error(f"{path}.key", "must not be empty")
        return
    values, not_values = _strings(condition, "values"), _strings(condition, "notValues")
    if not values and not not_values:
        v.error(path, f"the condition on {key} needs values or notValues")
    else:
        for field, items in (("values", values), ("notValues", not_values)):
            problem = _attribute_problem(key, items)
            if problem:
                v.error(f"{path}.{field}", f"condition on {key}: {problem}")
    if action == "CUSTOM" and (key in ("source.namespace", "source.serviceAccount", "source.principal")
                               or key.startswith("request.auth.")):
        v.error(f"{path}.key", _custom_unsupported(key))


def _authorization_policy_rule(spec: dict, path: str, v: Validation) -> None:
    action = as_str(spec.get("action")) or "ALLOW"
    rules = as_list(spec.get("rules"))
    if action in ("CUSTOM", "DENY") and not rules:
        v.error(f"{path}.rules", f"a {action} policy without rules never applies; add an empty rule {{}} to apply it "
                                 "to every request")
    if action == "CUSTOM":
        if rules and not as_str(as_dict(spec.get("provider")).get("name")):
            v.error(f"{path}.provider.name", "a CUSTOM policy needs a provider name")
    elif is_set(spec, "provider"):
        v.error(f"{path}.provider", f"provider is only used with action CUSTOM, not {action}")
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
        v.error(f"{path}.portLevelMtls", "portLevelMtls needs a selector with matchLabels: a mesh- or "
                                         "namespace-wide policy cannot set mTLS per port")
    for key in port_level:
        text = str(key)
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            v.error(f"{path}.portLevelMtls.{key}", "must be a port number from 1 to 65535")


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
        return f"jwks is not valid JSON: {err}"
    if not isinstance(data, dict):
        return "jwks must be a JSON object"
    keys = data.get("keys") if "keys" in data else [data]
    if not isinstance(keys, list) or not all(isinstance(k, dict) and isinstance(k.get("kty"), str) for k in keys):
        return "every key in jwks needs a \"kty\""
    return None


def _jwt_rule(rule: dict, path: str, v: Validation) -> None:
    if "" in _strings(rule, "audiences"):
        v.error(f"{path}.audiences", "audiences must not contain empty strings")
    uri = as_str(rule.get("jwksUri")) or as_str(rule.get("jwks_uri"))
    if not as_str(rule.get("issuer")) and not uri:
        v.error(path, "set issuer or jwksUri")
    if uri:
        try:
            scheme = urlsplit(uri).scheme
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            v.error(f"{path}.jwksUri", f"jwksUri must use http or https, not {scheme!r}")
    jwks = as_str(rule.get("jwks"))
    if jwks:
        problem = _jwks_problem(jwks)
        if problem:
            v.error(f"{path}.jwks", problem)
    for i, header in enumerate(as_list(rule.get("fromHeaders"))):
        if isinstance(header, dict) and as_str(header.get("name")) == "" and is_set(header, "name"):
            v.error(f"{path}.fromHeaders[{i}].name", "must not be empty")
    for field in ("fromParams", "fromCookies"):
        if "" in _strings(rule, field):
            v.error(f"{path}.{field}", f"{field} must not contain empty names")
    for i, item in enumerate(as_list(rule.get("outputClaimToHeaders"))):
        item = as_dict(item)
        claim, header = as_str(item.get("claim")), as_str(item.get("header"))
        at = f"{path}.outputClaimToHeaders[{i}]"
        if not claim or not header:
            v.error(at, "set both header and claim")
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
