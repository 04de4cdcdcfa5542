"""Gateway API validation: the rules the standard-channel CRDs enforce (OpenAPI and CEL), per kind."""

import pytest

from meshctl.kube import kinds as K
from tests.analysis.test_schema_rules import E, check

LISTENER = {"name": "http", "port": 80, "protocol": "HTTP"}
BACKEND = {"name": "web", "port": 80}


def gateway(*listeners, **extra):
    return {"gatewayClassName": "istio", "listeners": list(listeners) or [LISTENER], **extra}


def route(*rules, **extra):
    return {"parentRefs": [{"name": "edge"}], "rules": list(rules), **extra}


GATEWAY = [
    ("minimal", gateway(), []),
    ("required", {}, [(E, "spec.gatewayClassName", "required"), (E, "spec.listeners", "required")]),
    ("listener-required-fields", gateway({"hostname": "a.example.com"}),
     [(E, "spec.listeners[0].name", "required"), (E, "spec.listeners[0].port", "required"),
      (E, "spec.listeners[0].protocol", "required")]),
    ("listener-values", gateway({"name": "Web_1", "port": 0, "protocol": "http/1.1", "hostname": "A.example.com"}),
     [(E, "spec.listeners[0].name", "must be a DNS subdomain"), (E, "spec.listeners[0].port", "must be at least 1"),
      (E, "spec.listeners[0].protocol", "must be a protocol name"),
      (E, "spec.listeners[0].hostname", "must be a lower-case host name")]),
    ("unique-names-and-endpoints", gateway(LISTENER, dict(LISTENER)),
     [(E, "spec.listeners", "listener name 'http' is used more than once"),
      (E, "spec.listeners", "several listeners have the same port, protocol and hostname")]),
    ("tls-by-protocol", gateway({"name": "a", "port": 443, "protocol": "HTTPS",
                                 "tls": {"mode": "Passthrough"}},
                                {"name": "b", "port": 8443, "protocol": "TLS"},
                                {"name": "c", "port": 9000, "protocol": "TCP", "hostname": "c.example.com"}),
     [(E, "spec.listeners[0].tls.mode", "protocol HTTPS needs mode Terminate"),
      (E, "spec.listeners[1].tls", "protocol TLS needs tls settings"),
      (E, "spec.listeners[2].hostname", "protocol TCP does not use a hostname: remove it")]),
    ("terminate-needs-certificates", gateway({"name": "a", "port": 443, "protocol": "HTTPS", "tls": {}}),
     [(E, "spec.listeners[0].tls", "mode Terminate needs certificateRefs or options")]),
    ("allowed-routes", gateway({**LISTENER, "allowedRoutes": {"namespaces": {"from": "Everywhere"},
                                                              "kinds": [{"group": "x"}]}}),
     [(E, "spec.listeners[0].allowedRoutes.namespaces.from", "unsupported value 'Everywhere'"),
      (E, "spec.listeners[0].allowedRoutes.kinds[0].kind", "required")]),
    ("addresses", gateway(addresses=[{"value": "not-an-ip"}, {"type": "Hostname", "value": "UPPER"},
                                     {"value": "10.0.0.1"}, {"type": "IPAddress", "value": "10.0.0.1"}]),
     [(E, "spec.addresses[0].value", "'not-an-ip' is not a valid IP address"),
      (E, "spec.addresses[1].value", "'UPPER' is not a valid host name"),
      (E, "spec.addresses", "IPAddress 10.0.0.1 is listed more than once")]),
    ("infrastructure-labels", gateway(infrastructure={"labels": {"bad key!": "v"}}),
     [(E, "spec.infrastructure.labels.bad key!", "is not a valid label or annotation key")]),
]

HTTP_ROUTE = [
    ("minimal", route({"backendRefs": [BACKEND]}), []),
    ("no-rules-is-fine", {"parentRefs": [{"name": "edge"}]}, []),
    ("hostnames", route(hostnames=["*.Example.com", "10.1.1.1"]),
     [(E, "spec.hostnames[0]", "must be a lower-case host name"),
      (E, "spec.hostnames[1]", "must be a host name, not an IP address")]),
    ("parent-sections", {"parentRefs": [{"name": "edge", "sectionName": "a"}, {"name": "edge", "sectionName": "a"}]},
     [(E, "spec.parentRefs", ("parentRefs refers to parent edge more than once: each reference needs its own "
                             "sectionName"))]),
    ("parents-in-different-namespaces", {"parentRefs": [{"name": "edge"}, {"name": "edge", "namespace": "other"}]},
     []),
    ("path-match", route({"matches": [{"path": {"type": "Exact", "value": "/a/../b"}},
                                      {"path": {"type": "PathPrefix", "value": "/a b"}},
                                      {"path": {"type": "RegularExpression", "value": "^/(a|b)$"}}]}),
     [(E, "spec.rules[0].matches[0].path.value", "Exact paths cannot contain '/../'"),
      (E, "spec.rules[0].matches[1].path.value", "path has characters that must be percent-encoded (%XX)")]),
    ("header-matches", route({"matches": [{"headers": [{"name": "x-a", "value": "1"}, {"name": "X-A", "value": "2"},
                                                       {"name": "bad header", "value": "3"}], "method": "FETCH"}]}),
     [(E, "spec.rules[0].matches[0].headers[2].name", "must be an HTTP header name"),
      (E, "spec.rules[0].matches[0].headers", "header match 'x-a' is listed more than once"),
      (E, "spec.rules[0].matches[0].method", "unsupported value 'FETCH'")]),
    ("filter-type-and-field", route({"filters": [{"type": "RequestHeaderModifier",
                                                  "responseHeaderModifier": {"remove": ["x"]}}]}),
     [(E, "spec.rules[0].filters[0].responseHeaderModifier",
       "responseHeaderModifier is only allowed when type is ResponseHeaderModifier"),
      (E, "spec.rules[0].filters[0].requestHeaderModifier", "type RequestHeaderModifier needs requestHeaderModifier")]),
    ("repeated-filters", route({"filters": [{"type": "CORS", "cors": {}}, {"type": "CORS", "cors": {}}]}),
     [(E, "spec.rules[0].filters", "only one CORS filter is allowed")]),
    ("mirror", route({"filters": [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "m"}, "percent": 10, "fraction": {"numerator": 5, "denominator": 2}}}]}),
     [(E, "spec.rules[0].filters[0].requestMirror", "only one of percent, fraction may be set"),
      (E, "spec.rules[0].filters[0].requestMirror.backendRef.port", "a Service backend needs a port"),
      (E, "spec.rules[0].filters[0].requestMirror.fraction", "numerator cannot be larger than denominator")]),
    ("path-modifier", route({"filters": [{"type": "URLRewrite", "urlRewrite": {
        "path": {"type": "ReplaceFullPath", "replacePrefixMatch": "/x"}}}]}),
     [(E, "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath", "type ReplaceFullPath needs replaceFullPath"),
      (E, "spec.rules[0].filters[0].urlRewrite.path.type",
       "replacePrefixMatch is only allowed when type is ReplacePrefixMatch")]),
    ("prefix-replacement-needs-one-prefix-match", route({
        "matches": [{"path": {"type": "Exact", "value": "/a"}}],
        "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                                                   "replacePrefixMatch": "/b"}}}]}),
     [(E, "spec.rules[0]", ("a URLRewrite filter with path.replacePrefixMatch needs the rule to have exactly one "
                           "match, of type PathPrefix"))]),
    ("redirect-status", route({"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 305}}]}),
     [(E, "spec.rules[0].filters[0].requestRedirect.statusCode", "unsupported value 305")]),
    ("cors", route({"filters": [{"type": "CORS", "cors": {"allowOrigins": ["*", "https://a.example.com"],
                                                         "allowMethods": ["GET", "*"], "maxAge": 0}}]}),
     [(E, "spec.rules[0].filters[0].cors.allowOrigins", "'*' must be the only entry of allowOrigins"),
      (E, "spec.rules[0].filters[0].cors.allowMethods", "'*' must be the only entry of allowMethods"),
      (E, "spec.rules[0].filters[0].cors.maxAge", "must be at least 1")]),
    ("backend-refs", route({"backendRefs": [{"name": "a", "port": 80, "weight": 2000000},
                                            {"group": "networking.istio.io", "kind": "Hostname", "name": "x.com"}]}),
     [(E, "spec.rules[0].backendRefs[0].weight", "must be at most 1000000")]),
    ("timeouts", route({"timeouts": {"request": "10 seconds"}}),
     [(E, "spec.rules[0].timeouts.request", "must be a duration such as 10s")]),
    ("too-many-matches", route(*[{"matches": [{"path": {"value": f"/{i}/{j}"}} for j in range(64)]}
                                 for i in range(3)]),
     [(E, "spec.rules", "a route may have at most 128 matches across all its rules (found 192)")]),
    ("too-many-rules", route(*[{} for _ in range(17)]), [(E, "spec.rules", "must have at most 16 items")]),
]

GRPC_ROUTE = [
    ("minimal", route({"backendRefs": [BACKEND]}), []),
    ("method-characters", route({"matches": [{"method": {"service": "hello world", "method": "Say-Hello"}},
                                             {"method": {"type": "RegularExpression", "service": "hello.*"}}]}),
     [(E, "spec.rules[0].matches[0].method.service", "'hello world' is not a valid gRPC service name"),
      (E, "spec.rules[0].matches[0].method.method", "'Say-Hello' is not a valid gRPC method name")]),
    ("http-only-filter", route({"filters": [{"type": "URLRewrite", "urlRewrite": {}}]}),
     [(E, "spec.rules[0].filters[0].type", "unsupported value 'URLRewrite'"),
      (E, "spec.rules[0].filters[0].urlRewrite", "unknown field 'urlRewrite'")]),
]

OTHERS = [
    (K.GATEWAY_CLASS, "minimal", {"controllerName": "istio.io/gateway-controller"}, []),
    (K.GATEWAY_CLASS, "parameters", {"controllerName": "istio.io/x", "description": "x" * 65,
                                     "parametersRef": {"kind": "ConfigMap", "name": "p"}},
     [(E, "spec.description", "must be at most 64 characters"), (E, "spec.parametersRef.group", "required")]),
    (K.REFERENCE_GRANT, "minimal", {"from": [{"group": "", "kind": "Service", "namespace": "a"}],
                                    "to": [{"group": "", "kind": "Secret"}]}, []),
    (K.REFERENCE_GRANT, "empty-lists", {"from": [], "to": []},
     [(E, "spec.from", "must not be empty"), (E, "spec.to", "must not be empty")]),
    (K.TLS_ROUTE, "too-many-rules-in-v1", {"hostnames": ["a.example.com"], "rules": [
        {"backendRefs": [BACKEND]}, {"backendRefs": [BACKEND]}]}, [(E, "spec.rules", "must have at most 1 items")]),
    (K.TLS_ROUTE, "backend-refs-required", {"hostnames": ["a.example.com"], "rules": [{"backendRefs": []}]},
     [(E, "spec.rules[0].backendRefs", "must not be empty")]),
    (K.BACKEND_TLS_POLICY, "both-ca-sources", {"targetRefs": [{"group": "", "kind": "Service", "name": "s"}],
                                              "validation": {"hostname": "s.example.com",
                                                             "wellKnownCACertificates": "System",
                                                             "caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                                                                    "name": "ca"}]}},
     [(E, "spec.validation", "set caCertificateRefs or wellKnownCACertificates, not both")]),
    (K.BACKEND_TLS_POLICY, "subject-alt-names", {"targetRefs": [{"group": "", "kind": "Service", "name": "s"},
                                                                {"group": "", "kind": "Service", "name": "s"}],
                                                 "validation": {"hostname": "s.example.com",
                                                                "wellKnownCACertificates": "System",
                                                                "subjectAltNames": [{"type": "Hostname",
                                                                                     "uri": "spiffe://a/b"}]}},
     [(E, "spec.targetRefs", "targetRefs refers to target s more than once: each reference needs its own sectionName"),
      (E, "spec.validation.subjectAltNames[0].hostname", "type Hostname needs hostname"),
      (E, "spec.validation.subjectAltNames[0].uri", "uri is only allowed when type is URI")]),
]


def _cases(kind, cases):
    return [pytest.param(kind, spec, expected, id=f"{kind.kind}-{name}") for name, spec, expected in cases]


@pytest.mark.parametrize("kind, spec, expected", _cases(K.GATEWAY, GATEWAY) + _cases(K.HTTP_ROUTE, HTTP_ROUTE)
                         + _cases(K.GRPC_ROUTE, GRPC_ROUTE))
def test_gateway_and_routes(kind, spec, expected):
    check(kind, spec, expected)


@pytest.mark.parametrize("kind, name, spec, expected", OTHERS, ids=[f"{c[0].kind}-{c[1]}" for c in OTHERS])
def test_other_kinds(kind, name, spec, expected):
    check(kind, spec, expected)


def test_tls_route_alpha_versions_need_no_hostnames():
    spec = {"rules": [{"backendRefs": [BACKEND]}]}
    check(K.TLS_ROUTE, spec, [], api_version="gateway.networking.k8s.io/v1alpha2")
    check(K.TLS_ROUTE, spec, [(E, "spec.hostnames", "required")], api_version="gateway.networking.k8s.io/v1")
