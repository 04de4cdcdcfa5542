"""The validation rules per kind: Istio's webhook rules (errors and warnings) and the Gateway API CRD rules.

Each case validates one spec and lists every finding expected, as (level, field path, a fragment of the text);
a case with no findings is a valid spec that must stay clean.
"""

import pytest

from meshctl.analysis.schema import validate
from meshctl.kube import kinds as K

E, W = "error", "warning"


def findings(kind, spec, name="x", namespace="shop", annotations=None, api_version=None):
    raw = {"apiVersion": api_version or kind.api_version, "kind": kind.kind,
           "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}}, "spec": spec}
    return validate(kind, raw)


def check(kind, spec, expected, **meta):
    got = findings(kind, spec, **meta)
    assert sorted((f.level, f.path) for f in got) == sorted((level, path) for level, path, _ in expected), got
    for level, path, fragment in expected:
        assert any(f.level == level and f.path == path and fragment in f.text for f in got), (fragment, got)


DEST = {"destination": {"host": "reviews"}}


def http(**route):
    return {"hosts": ["reviews"], "http": [{"route": [DEST], **route}]}


VIRTUAL_SERVICE = [
    ("minimal", {"hosts": ["reviews"], "http": [{"route": [DEST]}]}, []),
    ("no-routes", {"hosts": ["reviews"]}, [(E, "spec", "http, tcp or tls must be provided")]),
    ("bad-host", {"hosts": ["re_views"], "http": [{"route": [DEST]}]}, [(E, "spec.hosts[0]", "invalid")]),
    ("ip-host-is-fine", {"hosts": ["10.0.0.1"], "http": [{"route": [DEST]}]}, []),
    ("star-host-for-mesh", {"hosts": ["*"], "http": [{"route": [DEST]}]},
     [(E, "spec.hosts[0]", "wildcard host * is not allowed for virtual services bound to the mesh gateway")]),
    ("star-host-for-gateway", {"hosts": ["*"], "gateways": ["edge/public"], "http": [{"route": [DEST]}]}, []),
    ("duplicate-hosts", {"hosts": ["a.example.com", "*.example.com"], "http": [{"route": [DEST]}]},
     [(E, "spec.hosts", "duplicate hosts in virtual service: a.example.com & *.example.com")]),
    ("gateway-names", {"hosts": ["a"], "gateways": ["bad_ns/gw", "public.edge"], "http": [{"route": [DEST]}]},
     [(E, "spec.gateways[0]", "invalid value for namespace: 'bad_ns'"),
      (W, "spec.gateways[1]", ("legacy gatewayName format 'public.edge'; prefer the <namespace>/<name> format: "
                              "'edge/public'"))]),
    ("delegate-without-gateways-tls-tcp", {"gateways": ["edge/gw"], "http": [{"route": [DEST]}],
                                           "tcp": [{"route": [DEST]}]},
     [(E, "spec.gateways", "delegate virtual service must have no gateways specified"),
      (E, "spec.tcp", "delegate virtual service must have no tcp route specified")]),
    ("delegate-cannot-delegate", {"http": [{"delegate": {"name": "other"}}]},
     [(E, "spec.http[0].delegate", "delegate HTTP route cannot contain delegate"),
      (E, "spec.http[0].route", "HTTP route, redirect or directResponse is required")]),
    ("root-route-only-delegates", {"hosts": ["a"], "http": [{"delegate": {"name": "d", "namespace": "n"},
                                                             "route": [DEST]}]},
     [(E, "spec.http[0]", "root HTTP route  must not specify route")]),
    ("destination-required", {"hosts": ["a"], "http": [{"route": [{"weight": 100}]}]},
     [(E, "spec.http[0].route[0].destination", "required")]),
    ("route-or-redirect-required", {"hosts": ["a"], "http": [{"match": [{"uri": {"exact": "/"}}]}]},
     [(E, "spec.http[0].route", "HTTP route, redirect or directResponse is required")]),
    ("redirect-and-route", http(redirect={"uri": "/x"}),
     [(E, "spec.http[0]", "HTTP route cannot contain both route and redirect")]),
    ("direct-response-and-fault", {"hosts": ["a"], "http": [{"directResponse": {"status": 503},
                                                             "fault": {"abort": {"httpStatus": 500}}}]},
     [(E, "spec.http[0]", "HTTP route cannot contain both fault and directResponse")]),
    ("direct-response-status", {"hosts": ["a"], "http": [{"directResponse": {"status": 700}}]},
     [(E, "spec.http[0].directResponse.status", "HTTP status 700 is not in range 200-599")]),
    ("weights-all-zero", {"hosts": ["a"], "http": [{"route": [{**DEST, "weight": 0}, {**DEST, "weight": 0}]}]},
     [(E, "spec.http[0].route", "total destination weight = 0")]),
    ("negative-weight", {"hosts": ["a"], "http": [{"route": [{**DEST, "weight": -1}, {**DEST, "weight": 101}]}]},
     [(E, "spec.http[0].route[0].weight", "weight -1 < 0")]),
    ("destination-host-star", {"hosts": ["a"], "http": [{"route": [{"destination": {"host": "*"}}]}]},
     [(E, "spec.http[0].route[0].destination.host", "invalid destination host *")]),
    ("destination-subset-and-port", {"hosts": ["a"], "http": [{"route": [
        {"destination": {"host": "a", "subset": "V_1", "port": {"number": 0}}}]}]},
     [(E, "spec.http[0].route[0].destination.subset", "subset name is invalid: V_1"),
      (E, "spec.http[0].route[0].destination.port.number", "port number 0 must be in the range 1..65535")]),
    ("invalid-regex", http(match=[{"uri": {"regex": "(unclosed"}}]),
     [(E, "spec.http[0].match[0].uri", "invalid regex '(unclosed'")]),
    ("re2-rejects-lookahead", http(match=[{"headers": {"x-a": {"regex": "^(?!admin).*"}}}]),
     [(E, "spec.http[0].match[0].headers.x-a", "RE2 does not support")]),
    ("empty-prefix", http(match=[{"uri": {"prefix": ""}, "authority": {"prefix": ""}}]),
     [(E, "spec.http[0].match[0].authority", "prefix string match should not be empty")]),
    ("two-match-types", http(match=[{"uri": {"exact": "/a", "prefix": "/a"}}]),
     [(E, "spec.http[0].match[0].uri", "only one of exact, prefix, regex may be set")]),
    ("bad-header-name", http(match=[{"headers": {"bad header": {"exact": "1"}}}]),
     [(E, "spec.http[0].match[0].headers.bad header", "not a valid header name")]),
    ("jwt-claim-route-needs-gateway", http(match=[{"headers": {"@request.auth.claims.group": {"exact": "a"}}}]),
     [(E, "spec.http[0].match[0].headers", ("JWT claim based routing (key: @request.auth.claims.group) is only "
                                           "supported for gateway"))]),
    ("jwt-claim-route-on-gateway", {**http(match=[{"headers": {"@request.auth.claims.group": {"exact": "a"}}}]),
                                    "gateways": ["edge/public"]}, []),
    ("header-operations", http(headers={"request": {"set": {":path": "/x"}, "remove": ["Host"]},
                                        "response": {"add": {"x-a": "50%"}}}),
     [(E, "spec.http[0].headers.request.set.:path", 'header cannot have ":" prefix'),
      (E, "spec.http[0].headers.request.remove[0]", "cannot set Host header"),
      (E, "spec.http[0].headers.response.add.x-a", "unterminated variable")]),
    ("authority-set-twice", http(rewrite={"authority": "a.example.com"},
                                 headers={"request": {"set": {"host": "b.example.com"}}}),
     [(E, "spec.http[0]", "authority header cannot be set multiple times")]),
    ("retries-disabled-but-configured", http(retries={"retryOn": "5xx"}),
     [(E, "spec.http[0].retries", "http retry policy configured when attempts are set to 0")]),
    ("retry-on-policy", http(retries={"attempts": 2, "retryOn": "5xx,sometimes,503"}),
     [(E, "spec.http[0].retries.retryOn", "'sometimes' is not a valid retryOn policy")]),
    ("fault-needs-abort-or-delay", http(fault={}), [(E, "spec.http[0].fault", "must have an abort and/or a delay")]),
    ("fault-abort", http(fault={"abort": {"grpcStatus": "NOPE", "percentage": {"value": 120}}}),
     [(E, "spec.http[0].fault.abort.grpcStatus", "gRPC status 'NOPE' is not supported"),
      (E, "spec.http[0].fault.abort.percentage", "percentage 120 is neither 0.0, nor in range")]),
    ("fault-abort-without-type", http(fault={"abort": {"percentage": {"value": 1}}}),
     [(W, "spec.http[0].fault.abort", "abort configured, but error type not set")]),
    ("redirect-needs-something", {"hosts": ["a"], "http": [{"redirect": {"redirectCode": 200}}]},
     [(E, "spec.http[0].redirect", "redirect must specify URI, authority, scheme, or port"),
      (E, "spec.http[0].redirect.redirectCode", "200 is not a valid redirect code, must be 3xx")]),
    ("rewrite-both-uri-forms", http(rewrite={"uri": "/a", "uriRegexRewrite": {"match": "^/b", "rewrite": "/c"}}),
     [(E, "spec.http[0].rewrite", "rewrite may only contain one of URI or UriRegexRewrite")]),
    ("cors", http(corsPolicy={"allowMethods": ["FETCH"], "allowOrigins": [{"exact": ""}], "maxAge": "1500ms"}),
     [(E, "spec.http[0].corsPolicy.allowMethods[0]", "'FETCH' is not a supported HTTP method"),
      (E, "spec.http[0].corsPolicy.allowOrigins[0]", "needs a non-empty exact, prefix or regex"),
      (E, "spec.http[0].corsPolicy.maxAge", "accurate only to seconds")]),
    ("timeouts", http(timeout="500us"), [(E, "spec.http[0].timeout", "duration must be at least 1ms")]),
    ("bad-duration", http(timeout="5 seconds"), [(E, "spec.http[0].timeout", "is not a duration")]),
    ("mirror-and-mirrors", http(mirror={"host": "a"}, mirrors=[{"destination": {"host": "b"}}]),
     [(E, "spec.http[0]", "HTTP route cannot contain both mirror and mirrors")]),
    ("mirror-percentage", http(mirror={"host": "a"}, mirrorPercentage={"value": 150}),
     [(E, "spec.http[0].mirrorPercentage", "mirror_percentage must be between 0 and 100")]),
    ("tls-route", {"hosts": ["a.example.com"], "gateways": ["edge/gw"],
                   "tls": [{"match": [{"sniHosts": ["b.example.com"]}], "route": [DEST]}, {"route": [DEST]}]},
     [(E, "spec.tls[0].match[0].sniHosts[0]", ('SNI host \'b.example.com\' is not a compatible subset of any of '
                                              'the virtual service hosts: [a.example.com]')),
      (E, "spec.tls[1].match", "TLS route must have at least one match condition")]),
    ("tls-sni-ip", {"hosts": ["a.example.com"], "tls": [{"match": [{"sniHosts": ["10.0.0.1"]}], "route": [DEST]}]},
     [(W, "spec.tls[0].match[0].sniHosts[0]", "goes against SNI spec")]),
    ("tcp-route", {"hosts": ["a"], "tcp": [{"match": [{"port": 70000, "destinationSubnets": ["10.0.0.0/33"]}]}]},
     [(E, "spec.tcp[0].route", "TCP route is required"),
      (E, "spec.tcp[0].match[0].port", "port number 70000 must be in the range 1..65535"),
      (E, "spec.tcp[0].match[0].destinationSubnets[0]", "10.0.0.0/33 is not a valid CIDR block")]),
    ("source-labels-and-namespace", http(match=[{"sourceLabels": {"app": "not valid!"}, "sourceNamespace": "ns_1"}]),
     [(E, "spec.http[0].match[0].sourceLabels.app", "invalid label value"),
      (E, "spec.http[0].match[0].sourceNamespace", "sourceNamespace match ns_1 is invalid")]),
    ("export-to", {**http(), "exportTo": ["shop", ".", "*", "Not_A_Namespace", "*"]},
     [(E, "spec.exportTo", "duplicate entries in exportTo: . and current namespace shop"),
      (E, "spec.exportTo", "duplicate entries in exportTo for entry *"),
      (E, "spec.exportTo", "only . or * or a namespace name is allowed"),
      (E, "spec.exportTo", "cannot have both public (*) and non-public exportTo values")]),
    ("types", {"hosts": "reviews", "http": [{"route": [{"destination": {"host": 7}, "weight": "heavy"}]}]},
     [(E, "spec.hosts", "expected array, got string"),
      (E, "spec.http[0].route[0].destination.host", "expected string, got integer"),
      (E, "spec.http[0].route[0].weight", "expected integer, got string")]),
]

DESTINATION_RULE = [
    ("minimal", {"host": "reviews"}, []),
    ("host-required", {"subsets": [{"name": "v1"}]}, [(E, "spec.host", "required")]),
    ("bad-host", {"host": "a..b"}, [(E, "spec.host", "invalid")]),
    ("empty-traffic-policy", {"host": "a", "trafficPolicy": {}},
     [(E, "spec.trafficPolicy", "traffic policy must have at least one field")]),
    ("subset-names", {"host": "a", "subsets": [{"name": "v_1"}, {"name": "v2", "labels": {"bad key!": "x"}}]},
     [(E, "spec.subsets[0].name", "subset name is invalid: v_1"),
      (E, "spec.subsets[1].labels.bad key!", "invalid label key")]),
    ("client-tls-mutual", {"host": "a", "trafficPolicy": {"tls": {"mode": "MUTUAL"}}},
     [(E, "spec.trafficPolicy.tls.clientCertificate", "client certificate required for mutual tls"),
      (E, "spec.trafficPolicy.tls.privateKey", "private key required for mutual tls")]),
    ("client-tls-credential-and-files", {"host": "a", "trafficPolicy": {"tls": {
        "mode": "SIMPLE", "credentialName": "c", "caCertificates": "/ca.pem"}}},
     [(E, "spec.trafficPolicy.tls", ("cannot specify client certificates or CA certificate or CA CRL if "
                                    "credentialName is set"))]),
    ("insecure-skip-verify", {"host": "a", "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True,
                                                                     "subjectAltNames": ["a"]}}},
     [(E, "spec.trafficPolicy.tls", "when insecureSkipVerify is true")]),
    ("tls-mode-enum", {"host": "a", "trafficPolicy": {"tls": {"mode": "STRICT"}}},
     [(E, "spec.trafficPolicy.tls.mode", "unsupported value 'STRICT'")]),
    ("connection-pool", {"host": "a", "trafficPolicy": {"connectionPool": {
        "http": {"maxRetries": -1, "h2UpgradePolicy": "UPGRADE", "useClientProtocol": True}}}},
     [(E, "spec.trafficPolicy.connectionPool.http.maxRetries", "max retries must be non-negative"),
      (E, "spec.trafficPolicy.connectionPool.http", "use client protocol must not be true")]),
    ("empty-connection-pool", {"host": "a", "trafficPolicy": {"connectionPool": {}}},
     [(E, "spec.trafficPolicy.connectionPool", "connection pool must have at least one field")]),
    ("outlier", {"host": "a", "trafficPolicy": {"outlierDetection": {
        "consecutiveErrors": 5, "consecutiveLocalOriginFailures": 3, "maxEjectionPercent": 120}}},
     [(W, "spec.trafficPolicy.outlierDetection.consecutiveErrors", "deprecated"),
      (E, "spec.trafficPolicy.outlierDetection", "split external local origin errors is set to false"),
      (E, "spec.trafficPolicy.outlierDetection.maxEjectionPercent", "percentage 120 is not in range 0..100")]),
    ("load-balancer-one-of", {"host": "a", "trafficPolicy": {"loadBalancer": {
        "simple": "ROUND_ROBIN", "consistentHash": {"useSourceIp": True}}}},
     [(E, "spec.trafficPolicy.loadBalancer", "only one of simple, consistentHash may be set")]),
    ("maglev", {"host": "a", "trafficPolicy": {"loadBalancer": {"consistentHash": {
        "useSourceIp": True, "maglev": {"tableSize": 1000}}}}},
     [(E, "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "must be a prime number")]),
    ("minimum-ring-size", {"host": "a", "trafficPolicy": {"loadBalancer": {"consistentHash": {
        "useSourceIp": True, "minimumRingSize": 1024, "ringHash": {"minimumRingSize": 1024}}}}},
     [(W, "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "deprecated"),
      (E, "spec.trafficPolicy.loadBalancer.consistentHash", "only one of MinimumRingSize or Maglev/Ringhash")]),
    ("locality-distribute-total", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "distribute": [{"from": "us-east/*", "to": {"us-east/*": 60, "us-west/*": 30}}]}}}},
     [(E, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to", "total locality weight 90 != 100")]),
    ("locality-failover-needs-outlier", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "failover": [{"from": "us-east", "to": "us-east"}]}}}},
     [(W, "spec.trafficPolicy.loadBalancer.localityLbSetting", "outlier detection policy must be provided"),
      (E, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", "must specify different regions")]),
    ("locality-overlap", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "distribute": [{"from": "us-east/*", "to": {"us-east/zone1": 100}},
                       {"from": "us-east/zone1", "to": {"us-east/zone1": 100}}]}}}},
     [(E, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute",
       "locality us-east/zone1 overlap with previous specified ones")]),
    ("port-level-settings", {"host": "a", "trafficPolicy": {"portLevelSettings": [{"port": {"number": 80}}]}},
     [(E, "spec.trafficPolicy.portLevelSettings[0]", "port traffic policy must have at least one field")]),
    ("tunnel-and-proxy-protocol", {"host": "a", "trafficPolicy": {
        "tunnel": {"protocol": "PUT", "targetHost": "a b", "targetPort": 0}, "proxyProtocol": {"version": "V1"}}},
     [(E, "spec.trafficPolicy", "tunnel and proxyProtocol must not be set together"),
      (E, "spec.trafficPolicy.tunnel.protocol", 'tunnel protocol must be "CONNECT" or "POST"'),
      (E, "spec.trafficPolicy.tunnel.targetHost", "tunnel target host must be valid FQDN or IP address"),
      (E, "spec.trafficPolicy.tunnel.targetPort", "port number 0")]),
    ("selector-with-export-to", {"host": "a", "workloadSelector": {"matchLabels": {"app": "a"}},
                                 "exportTo": ["other"]},
     [(E, "spec.exportTo", "destination rule with workload selector cannot have exportTo beyond current namespace")]),
    ("selector-without-labels", {"host": "a", "workloadSelector": {}},
     [(W, "spec.workloadSelector", "workload selector specified without labels")]),
]

GATEWAY = [
    ("minimal", {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}, []),
    ("servers-required", {"selector": {"istio": "ingressgateway"}},
     [(E, "spec.servers", "gateway must have at least one server")]),
    ("server-basics", {"servers": [{"hosts": []}]},
     [(E, "spec.servers[0].hosts", "server config must contain at least one host"),
      (E, "spec.servers[0].port", "port is required")]),
    ("port-rules", {"servers": [{"port": {"number": 0, "protocol": "SMTP", "targetPort": 8080}, "hosts": ["a.com"]}]},
     [(E, "spec.servers[0].port.protocol", "invalid protocol 'SMTP'"),
      (E, "spec.servers[0].port.number", "port number 0"),
      (E, "spec.servers[0].port.targetPort", "targetPort has no impact on Gateways"),
      (E, "spec.servers[0].port.name", "port name must be set")]),
    ("host-forms", {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"},
                                 "hosts": ["Bad_NS/a.com", "reviews", "*.example.com", "ns/a*.com", "1.2.3.4"]}]},
     [(E, "spec.servers[0].hosts[0]", "invalid namespace value 'Bad_NS' in gateway"),
      (E, "spec.servers[0].hosts[1]", "short names (non FQDN) are not allowed"),
      (E, "spec.servers[0].hosts[3]", "partial wildcard 'a*.com' not allowed"),
      (E, "spec.servers[0].hosts[3]", "invalid")]),
    ("https-needs-tls", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                      "hosts": ["a.com"]}]},
     [(E, "spec.servers[0]", "server must have TLS settings for HTTPS/TLS protocols")]),
    ("tcp-refuses-tls", {"servers": [{"port": {"number": 31400, "name": "tcp", "protocol": "TCP"}, "hosts": ["a.com"],
                                      "tls": {"mode": "PASSTHROUGH"}}]},
     [(E, "spec.servers[0].tls", "server cannot have TLS settings for non HTTPS/TLS ports")]),
    ("credential-or-files", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                          "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                      "serverCertificate": "/c", "privateKey": "/k"}}]},
     [(E, "spec.servers[0].tls", "only one of credentialName, credentialNames, serverCertificate/privateKey")]),
    ("mutual-needs-ca", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                      "hosts": ["a.com"], "tls": {"mode": "MUTUAL", "serverCertificate": "/c",
                                                                  "privateKey": "/k"}}]},
     [(E, "spec.servers[0].tls", "MUTUAL TLS requires a client CA bundle")]),
    ("istio-mutual-refuses-certs", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                                 "hosts": ["a.com"], "tls": {"mode": "ISTIO_MUTUAL",
                                                                             "credentialName": "c"}}]},
     [(E, "spec.servers[0].tls", "ISTIO_MUTUAL TLS cannot have associated credentialName")]),
    ("passthrough-ignores-certs", {"servers": [{"port": {"number": 443, "name": "tls", "protocol": "TLS"},
                                                "hosts": ["a.com"], "tls": {"mode": "PASSTHROUGH",
                                                                            "credentialName": "c"}}]},
     [(W, "spec.servers[0].tls", "PASSTHROUGH mode does not use certificates, they will be ignored")]),
    ("old-tls-needs-ciphers", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                            "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                        "minProtocolVersion": "TLSV1_1",
                                                                        "cipherSuites": ["NOT-A-CIPHER"]}}]},
     [(W, "spec.servers[0].tls.cipherSuites", "ignoring invalid cipher suites: ['NOT-A-CIPHER']")]),
    ("https-redirect-on-https", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                              "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                          "httpsRedirect": True}}]},
     [(W, "spec.servers[0].tls.httpsRedirect", "should only be used with http servers")]),
    ("unix-bind", {"servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["a.com"],
                                "bind": "unix://relative"}]},
     [(E, "spec.servers[0].bind", "relative is not an absolute path to a file"),
      (E, "spec.servers[0].port.number", "port number must be 0 for unix domain socket")]),
    ("duplicate-port-names", {"servers": [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["a.com"]},
        {"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["b.com"]}]},
     [(E, "spec.servers[1].port.name", "port names in servers must be unique: duplicate name http")]),
]

SERVICE_ENTRY = [
    ("minimal", {"hosts": ["api.example.com"]}, []),
    ("hosts-required", {"ports": [{"number": 80, "name": "http"}]},
     [(E, "spec.hosts", "service entry must have at least one host")]),
    ("partial-wildcard-warns", {"hosts": ["*api.example.com"]},
     [(W, "spec.hosts[0]", "partial wildcard '*api.example.com' not allowed")]),
    ("ports", {"hosts": ["a.com"], "ports": [{"number": 80, "name": "http_1", "protocol": "SMTP"},
                                             {"number": 80, "name": "http_1"}, {"name": "x"}]},
     [(E, "spec.ports[0].name", "invalid port name: http_1"),
      (E, "spec.ports[0].protocol", "unsupported protocol: SMTP"),
      (E, "spec.ports[1].name", "service entry port name 'http_1' already defined"),
      (E, "spec.ports[1].name", "invalid port name: http_1"),
      (E, "spec.ports[1].number", "service entry port 80 already defined"),
      (E, "spec.ports[2].number", "required")]),
    ("addresses", {"hosts": ["a.com"], "addresses": ["10.0.0.300", "10.0.0.0/8"], "resolution": "STATIC"},
     [(E, "spec.addresses[0]", "10.0.0.300 is not a valid IP")]),
    ("dns-needs-fqdn-hosts", {"hosts": ["*.example.com"], "resolution": "DNS"},
     [(E, "spec.hosts", "hosts must be FQDN if no endpoints are provided for resolution mode DNS")]),
    ("dns-endpoint-address", {"hosts": ["a.com"], "resolution": "DNS", "endpoints": [{"address": "not an address"}]},
     [(E, "spec.endpoints[0].address", "is not a valid FQDN or an IP address")]),
    ("static-endpoint-must-be-ip", {"hosts": ["a.com"], "resolution": "STATIC",
                                    "ports": [{"number": 80, "name": "http"}],
                                    "endpoints": [{"address": "host.example.com", "ports": {"grpc": 90}}]},
     [(E, "spec.endpoints[0].address", "endpoint address 'host.example.com' is not a valid IP address"),
      (E, "spec.endpoints[0].ports.grpc", "endpoint port 90 is not defined by the service entry")]),
    ("selector-and-endpoints", {"hosts": ["a.com"], "resolution": "STATIC",
                                "workloadSelector": {"labels": {"app": "a"}}, "endpoints": [{"address": "1.1.1.1"}]},
     [(E, "spec", "only one of WorkloadSelector or Endpoints is allowed")]),
    ("multiple-hosts-tcp", {"hosts": ["a.com", "b.com"], "resolution": "DNS",
                            "ports": [{"number": 5432, "name": "tcp", "protocol": "TCP"}]},
     [(E, "spec.hosts", "multiple hosts provided with non-HTTP, non-TLS ports")]),
    ("none-with-endpoints", {"hosts": ["a.com"], "endpoints": [{"address": "1.1.1.1"}]},
     [(E, "spec.endpoints", "no endpoints should be provided for resolution type none")]),
    ("export-to-none", {"hosts": ["a.com"], "exportTo": ["~"]}, []),
    ("export-to-none-and-more", {"hosts": ["a.com"], "exportTo": ["~", "other"]},
     [(E, "spec.exportTo", "cannot export service entry to no one (~) and someone")]),
    ("unknown-resolution", {"hosts": ["a.com"], "resolution": "MAGIC"},
     [(E, "spec.resolution", "unsupported value 'MAGIC'")]),
]

SIDECAR = [
    ("minimal", {"egress": [{"hosts": ["./*"]}]}, []),
    ("empty", {}, [(E, "spec", "sidecar: empty configuration provided")]),
    ("egress-hosts", {"egress": [{"hosts": ["a/b.com", "a/*"]}, {"hosts": []}]},
     [(W, "spec.egress[0].hosts[1]", "duplicated egress host: a/*"),
      (E, "spec.egress[0]", "the egress listener with empty port should be the last listener in the list"),
      (E, "spec.egress[1].hosts", "egress listener must contain at least one host")]),
    ("catch-all-twice", {"egress": [{"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]},
                                    {"hosts": ["./*"]}, {"hosts": ["./*"]}]},
     [(E, "spec.egress[1]", "the egress listener with empty port should be the last listener in the list")]),
    ("egress-ports-unique", {"egress": [{"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]},
                                        {"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]}]},
     [(E, "spec.egress[1].port", "ports on IP bound listeners must be unique")]),
    ("unix-egress", {"egress": [{"port": {"number": 0, "protocol": "HTTP"}, "bind": "0.0.0.0", "hosts": ["./*"]}]},
     [(E, "spec.egress[0].port", "ports with 0 value must have a unix domain socket bind address")]),
    ("ingress", {"ingress": [{"port": {"number": 9080, "protocol": "HTTP", "name": "http"},
                              "defaultEndpoint": "10.0.0.1:8080",
                              "tls": {"mode": "ISTIO_MUTUAL"}}, {"defaultEndpoint": "127.0.0.1:80"}]},
     [(E, "spec.ingress[0].defaultEndpoint", "defaultEndpoint must be of form 127.0.0.1:<port>"),
      (E, "spec.ingress[0].tls.mode", "cannot set mode to ISTIO_MUTUAL in sidecar ingress tls"),
      (E, "spec.ingress[0].tls", "server cannot have TLS settings for non HTTPS/TLS ports"),
      (E, "spec.ingress[1].port", "port is required for ingress listeners")]),
    ("egress-proxy-needs-allow-any", {"outboundTrafficPolicy": {"egressProxy": {"host": "proxy.example.com"}}},
     [(E, "spec.outboundTrafficPolicy.egressProxy", "egressProxy must be set only with ALLOW_ANY")]),
    ("selector-without-labels", {"workloadSelector": {}, "egress": [{"hosts": ["./*"]}]},
     [(W, "spec.workloadSelector", "sidecar: workload selector specified without labels")]),
    ("selector-wildcard", {"workloadSelector": {"labels": {"app": "*"}}, "egress": [{"hosts": ["./*"]}]},
     [(E, "spec.workloadSelector.labels", "wildcard is not supported in selector: app=*")]),
]

FILTER_WARNING = (W, "", "EnvoyFilter exposes internal implementation details")
ENVOY_FILTER = [
    ("minimal", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"operation": "ADD", "value": {"name": "c"}}}]},
     [FILTER_WARNING]),
    ("missing-apply-to", {"configPatches": [{"patch": {"operation": "ADD", "value": {}}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].applyTo", "missing applyTo")]),
    ("missing-operation", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"value": {}}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].patch.operation", "missing patch operation")]),
    ("bad-proxy-version", {"configPatches": [{"applyTo": "CLUSTER", "match": {"proxy": {"proxyVersion": "1.(2"}},
                                              "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.proxy.proxyVersion", "invalid regex for proxy version")]),
    ("wrong-match-class", {"configPatches": [{"applyTo": "HTTP_FILTER",
                                              "match": {"cluster": {"name": "c"}},
                                              "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match", ("applyTo for listener class objects cannot have non "
                                                         "listener match"))]),
    ("sub-filter", {"configPatches": [{"applyTo": "NETWORK_FILTER", "match": {"listener": {"filterChain": {
        "filter": {"name": "envoy.filters.network.tcp_proxy", "subFilter": {"name": "x"}}}}},
        "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.listener.filterChain.filter.subFilter",
                       "subfilter match can be used with applyTo HTTP_FILTER only")]),
    ("deprecated-filter-name", {"configPatches": [{"applyTo": "HTTP_FILTER", "match": {"listener": {"filterChain": {
        "filter": {"name": "envoy.http_connection_manager"}}}}, "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (W, "spec.configPatches[0].match.listener.filterChain.filter.name",
                       "using deprecated filter name 'envoy.http_connection_manager'")]),
    ("waypoint-needs-context", {"configPatches": [{"applyTo": "CLUSTER", "match": {"waypoint": {}},
                                                   "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.waypoint", ("only support waypointMatch when context is "
                                                                  "WAYPOINT"))]),
]

WORKLOADS = [
    (K.WORKLOAD_ENTRY, "minimal", {"address": "10.0.0.1"}, []),
    (K.WORKLOAD_ENTRY, "network-only", {"network": "vm-net"},
     [(W, "spec.address", "address is unset with network 'vm-net'")]),
    (K.WORKLOAD_ENTRY, "fqdn", {"address": "vm.example.com", "ports": {"http_x": 0}},
     [(E, "spec.ports.http_x", "invalid port name: http_x"), (E, "spec.ports.http_x", "port number 0")]),
    (K.WORKLOAD_ENTRY, "unix", {"address": "unix:///var/run/a.sock", "ports": {"http": 80}},
     [(E, "spec.ports", "unix endpoint unix:///var/run/a.sock must not include ports")]),
    (K.WORKLOAD_ENTRY, "bad-address", {"address": "not valid"},
     [(E, "spec.address", "is not a valid FQDN or an IP address")]),
    (K.WORKLOAD_GROUP, "minimal", {"template": {}}, []),
    (K.WORKLOAD_GROUP, "probe-without-method", {"template": {}, "probe": {"periodSeconds": 5}},
     [(E, "spec.probe", "probe must set one of httpGet, tcpSocket, exec or grpc")]),
    (K.WORKLOAD_GROUP, "probe-http", {"template": {}, "probe": {"httpGet": {"port": 0, "scheme": "ftp",
                                                                            "httpHeaders": [{"name": "x y"}]}}},
     [(E, "spec.probe.httpGet.port", "port number 0"), (E, "spec.probe.httpGet.scheme", "httpGet.scheme must be"),
      (E, "spec.probe.httpGet.httpHeaders[0].name", "not a valid header name")]),
    (K.WORKLOAD_GROUP, "two-probe-methods", {"template": {}, "probe": {"tcpSocket": {"port": 80},
                                                                       "exec": {"command": ["true"]}}},
     [(E, "spec.probe", "only one of httpGet, tcpSocket, exec, grpc may be set")]),
    (K.WORKLOAD_GROUP, "unix-template-without-ports", {"template": {"address": "unix:///a.sock", "ports": {"a": 1}}},
     [(E, "spec.template.ports", "a unix domain socket address may not include ports")]),
    (K.WORKLOAD_GROUP, "metadata-labels", {"template": {}, "metadata": {"labels": {"app": "a b"}}},
     [(E, "spec.metadata.labels.app", "invalid label value")]),
    (K.PROXY_CONFIG, "minimal", {"concurrency": 2}, []),
    (K.PROXY_CONFIG, "selector", {"selector": {"matchLabels": {"": "x"}}},
     [(E, "spec.selector.matchLabels", "empty key is not supported in selector")]),
]

SECURITY = [
    (K.AUTHORIZATION_POLICY, "allow-nothing", {}, []),
    (K.AUTHORIZATION_POLICY, "deny-all-rule", {"action": "DENY", "rules": [{}]}, []),
    (K.AUTHORIZATION_POLICY, "action-enum", {"action": "REJECT"}, [(E, "spec.action", "unsupported value 'REJECT'")]),
    (K.AUTHORIZATION_POLICY, "custom-without-rules", {"action": "CUSTOM", "provider": {"name": "opa"}},
     [(E, "spec.rules", "CUSTOM action without `rules` is meaningless")]),
    (K.AUTHORIZATION_POLICY, "provider-needs-custom", {"provider": {"name": "opa"}, "rules": [{}]},
     [(E, "spec.provider", "`provider` must not be with non CUSTOM action, found ALLOW")]),
    (K.AUTHORIZATION_POLICY, "custom-limits", {"action": "CUSTOM", "provider": {"name": "opa"}, "rules": [{
        "from": [{"source": {"principals": ["a"]}}], "when": [{"key": "request.auth.claims[iss]", "values": ["x"]}]}]},
     [(E, "spec.rules[0].from[0].source.principals", "principals is currently not supported with CUSTOM action"),
      (E, "spec.rules[0].when[0].key", "request.auth.claims[iss] is currently not supported with CUSTOM action")]),
    (K.AUTHORIZATION_POLICY, "deny-http-only-warns", {"action": "DENY", "rules": [
        {"to": [{"operation": {"methods": ["POST"]}}]}]},
     [(W, "spec.rules[0]", "will deny all traffic to TCP ports under its scope")]),
    (K.AUTHORIZATION_POLICY, "empty-source-and-operation", {"rules": [{"from": [{"source": {}}, {}],
                                                                       "to": [{"operation": {"hosts": [""]}}]}]},
     [(E, "spec.rules[0].from[0].source", "`from.source` must not be empty"),
      (E, "spec.rules[0].from[1].source", "`from.source` must not be nil"),
      (E, "spec.rules[0].to[0].operation.hosts", "empty value not allowed, found in hosts")]),
    (K.AUTHORIZATION_POLICY, "ips-and-ports", {"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/40", "x"]}}],
                                                          "to": [{"operation": {"ports": ["http", "70000"]}}]}]},
     [(E, "spec.rules[0].from[0].source.ipBlocks", "bad CIDR range (10.0.0.0/40)"),
      (E, "spec.rules[0].from[0].source.ipBlocks", "bad IP address (x)"),
      (E, "spec.rules[0].to[0].operation.ports", "bad port (http)"),
      (E, "spec.rules[0].to[0].operation.ports", "bad port (70000)")]),
    (K.AUTHORIZATION_POLICY, "path-templates", {"rules": [{"to": [{"operation": {"paths": [
        "/a/{*}/b", "/a/{name}/{*}", "/{**}/x/*"]}}]}]},
     [(E, "spec.rules[0].to[0].operation.paths", "invalid or unsupported path template"),
      (E, "spec.rules[0].to[0].operation.paths", "invalid or unsupported path template")]),
    (K.AUTHORIZATION_POLICY, "conditions", {"rules": [{"when": [
        {"key": "source.ip", "values": ["1.2.3.4/99"]}, {"key": "request.headers"},
        {"key": "request.headers", "values": ["a"]}, {"key": "destination.labels[app]", "values": ["a"]},
        {"key": "whatever", "notValues": ["a"]}, {"key": ""}]}]},
     [(E, "spec.rules[0].when[0].values", "invalid `value` for `key` source.ip"),
      (E, "spec.rules[0].when[1]", "at least one of `values` or `notValues` must be set for key request.headers"),
      # like Istio, a bad key is reported for the values and for the notValues
      (E, "spec.rules[0].when[2].values", "bad key (request.headers): should have format a[b]"),
      (E, "spec.rules[0].when[2].notValues", "bad key (request.headers): should have format a[b]"),
      (E, "spec.rules[0].when[3].values", "replaced by the workload selector"),
      (E, "spec.rules[0].when[3].notValues", "replaced by the workload selector"),
      (E, "spec.rules[0].when[4].values", "unknown attribute: whatever"),
      (E, "spec.rules[0].when[4].notValues", "unknown attribute: whatever"),
      (E, "spec.rules[0].when[5].key", "`key` must not be empty")]),
    (K.AUTHORIZATION_POLICY, "selector-and-target-ref", {"selector": {"matchLabels": {"app": "a"}},
                                                         "targetRefs": [{"kind": "Gateway", "name": "gw",
                                                                         "group": "gateway.networking.k8s.io"}]},
     [(E, "spec", "only one of targetRefs or workloadSelector can be set")]),
    (K.AUTHORIZATION_POLICY, "target-ref-kind", {"targetRef": {"kind": "Deployment", "group": "apps", "name": "a"}},
     [(E, "spec.targetRef", "targetRef must be to one of")]),
    (K.AUTHORIZATION_POLICY, "dry-run-annotation", {"action": "DENY", "rules": [{}]},
     [(E, "metadata.annotations.istio.io/dry-run", "invalid value 'yes please'")]),
    (K.PEER_AUTHENTICATION, "mode-enum", {"mtls": {"mode": "ON"}}, [(E, "spec.mtls.mode", "unsupported value 'ON'")]),
    (K.PEER_AUTHENTICATION, "port-level-needs-selector", {"selector": {"matchLabels": {}},
                                                          "portLevelMtls": {"8080": {"mode": "DISABLE"}}},
     [(E, "spec.portLevelMtls", "mesh/namespace peer authentication cannot have port level mTLS"),
      (W, "spec.selector", "workload selector specified without labels")]),
    (K.PEER_AUTHENTICATION, "port-range", {"selector": {"matchLabels": {"app": "a"}},
                                           "portLevelMtls": {"0": {"mode": "DISABLE"}, "http": {}}},
     [(E, "spec.portLevelMtls.0", "port must be in range 1..65535"),
      (E, "spec.portLevelMtls.http", "port must be in range 1..65535")]),
    (K.PEER_AUTHENTICATION, "dry-run-not-supported", {}, [(E, "metadata.annotations.istio.io/dry-run",
                                                           "unsupported annotation istio.io/dry-run")]),
    (K.REQUEST_AUTHENTICATION, "issuer-or-jwks-uri", {"jwtRules": [{"audiences": [""]}]},
     [(E, "spec.jwtRules[0].audiences", "audience must be non-empty string"),
      (E, "spec.jwtRules[0]", "issuer or jwksUri must be non-empty string")]),
    (K.REQUEST_AUTHENTICATION, "jwks-and-uri", {"jwtRules": [{"issuer": "a", "jwks": "not json",
                                                              "jwksUri": "https://a/keys"}]},
     [(E, "spec.jwtRules[0]", "only one of jwksUri, jwks_uri, jwks may be set"),
      (E, "spec.jwtRules[0].jwks", "jwks parse error")]),
    (K.REQUEST_AUTHENTICATION, "claim-to-header", {"jwtRules": [{"issuer": "a", "outputClaimToHeaders": [
        {"claim": "sub", "header": "x_user!"}, {"claim": "sub"}], "fromParams": [""]}]},
     [(E, "spec.jwtRules[0].outputClaimToHeaders[0].header", "not a valid header name"),
      (E, "spec.jwtRules[0].outputClaimToHeaders[1]", "header and claim value must be non-empty string"),
      (E, "spec.jwtRules[0].fromParams", "location query must be non-empty string")]),
]

OTHER = [
    (K.TELEMETRY, "minimal", {"accessLogging": [{"providers": [{"name": "envoy"}]}]}, []),
    (K.TELEMETRY, "providers", {"metrics": [{"providers": [{"name": ""}]}], "tracing": [{}, {}]},
     [(E, "spec.metrics[0].providers", "providers.name may not be empty"),
      (W, "spec.tracing", "multiple tracing is not currently supported")]),
    (K.TELEMETRY, "tag-overrides", {"metrics": [{"overrides": [{"tagOverrides": {
        "a": {"operation": "UPSERT"}, "b": {"operation": "REMOVE", "value": "x"}, "": {"value": "v"}}}]}]},
     [(E, "spec.metrics[0].overrides[0].tagOverrides.a.value", "must be set when operation is UPSERT"),
      (E, "spec.metrics[0].overrides[0].tagOverrides.b.value", "may only be set when operation is UPSERT"),
      (W, "spec.metrics[0].overrides[0].tagOverrides", "tagOverrides.name may not be empty")]),
    (K.TELEMETRY, "custom-tags", {"tracing": [{"customTags": {"": {"literal": {"value": "a"}},
                                                              "b": {"header": {"name": ""}}}}]},
     [(E, "spec.tracing[0].customTags.", "tag name may not be empty"),
      (E, "spec.tracing[0].customTags.b.header.name", "header tag name may not be empty")]),
    (K.TELEMETRY, "sampling", {"tracing": [{"randomSamplingPercentage": 101}]},
     [(E, "spec.tracing[0].randomSamplingPercentage", "must be at most 100")]),
    (K.WASM_PLUGIN, "minimal", {"url": "oci://registry/plugin:1"}, []),
    (K.WASM_PLUGIN, "url-required", {"phase": "AUTHN"}, [(E, "spec.url", "required")]),
    (K.WASM_PLUGIN, "sha-and-env", {"url": "https://a/p.wasm", "sha256": "abc",
                                    "vmConfig": {"env": [{"name": "A", "valueFrom": "HOST", "value": "x"},
                                                         {"name": "A"}]}},
     [(E, "spec.sha256", "must be 64 lower-case hexadecimal digits"),
      (E, "spec.vmConfig.env[0].value", "value may only be set when valueFrom is INLINE"),
      (E, "spec.vmConfig.env[1].name", "duplicate env A")]),
    (K.WASM_PLUGIN, "match-ports", {"url": "p", "match": [{"ports": [{"number": 0}]}]},
     [(E, "spec.match[0].ports[0].number", "must be at least 1")]),
]


def _cases(groups):
    return [pytest.param(kind, spec, expected, id=f"{kind.kind}-{name}")
            for kind, cases in groups for name, spec, expected in cases]


@pytest.mark.parametrize("kind, spec, expected", _cases([
    (K.VIRTUAL_SERVICE, VIRTUAL_SERVICE), (K.DESTINATION_RULE, DESTINATION_RULE), (K.ISTIO_GATEWAY, GATEWAY),
    (K.SERVICE_ENTRY, SERVICE_ENTRY), (K.SIDECAR, SIDECAR), (K.ENVOY_FILTER, ENVOY_FILTER),
]))
def test_networking_rules(kind, spec, expected):
    check(kind, spec, expected)


@pytest.mark.parametrize("kind, name, spec, expected", WORKLOADS + OTHER,
                         ids=[f"{c[0].kind}-{c[1]}" for c in WORKLOADS + OTHER])
def test_workload_telemetry_and_extension_rules(kind, name, spec, expected):
    check(kind, spec, expected)


@pytest.mark.parametrize("kind, name, spec, expected", SECURITY, ids=[f"{c[0].kind}-{c[1]}" for c in SECURITY])
def test_security_rules(kind, name, spec, expected):
    annotations = {"istio.io/dry-run": "yes please"} if "dry-run" in name else None
    check(kind, spec, expected, annotations=annotations)


def test_dry_run_annotation_is_fine_on_an_allow_or_deny_policy():
    assert findings(K.AUTHORIZATION_POLICY, {"action": "DENY", "rules": [{}]},
                    annotations={"istio.io/dry-run": "true"}) == []
    check(K.AUTHORIZATION_POLICY, {"action": "AUDIT", "rules": [{}]},
          [(E, "metadata.annotations.istio.io/dry-run", "only supports action ALLOW/DENY, found action AUDIT")],
          annotations={"istio.io/dry-run": "true"})


def test_gateway_names_must_be_dns_labels():
    spec = {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}
    check(K.ISTIO_GATEWAY, spec, [(E, "metadata.name", "invalid gateway name: 'public.gw'")], name="public.gw")


def test_address_autoallocation_opt_out_asks_for_addresses():
    spec = {"hosts": ["db.example.com"], "ports": [{"number": 5432, "name": "db", "protocol": "TCP"}]}
    check(K.SERVICE_ENTRY, spec, [], annotations={})
    check(K.SERVICE_ENTRY, spec, [(W, "spec.ports[0]", "addresses are required")],
          annotations={"networking.istio.io/enable-autoallocate-ip": "false"})


def test_a_missing_spec():
    # Istio's kinds without a required spec validate as empty; the others need one
    assert [(f.path, f.text) for f in validate(K.VIRTUAL_SERVICE, {"metadata": {"name": "a"}})] == [
        ("spec", "http, tcp or tls must be provided in virtual service")]
    assert [(f.path, f.text) for f in validate(K.SERVICE_ENTRY, {"metadata": {"name": "a"}})] == [
        ("spec", "required")]
    assert [(f.path, f.text) for f in validate(K.HTTP_ROUTE, {"metadata": {"name": "a"}})] == [("spec", "required")]
    assert validate(K.PEER_AUTHENTICATION, {"metadata": {"name": "a"}}) == []


def test_kinds_meshctl_does_not_validate_have_no_findings():
    assert validate(K.DEPLOYMENT, {"spec": "anything"}) == []
