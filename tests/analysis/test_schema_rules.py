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
    ("no-routes", {"hosts": ["reviews"]}, [(E, "spec", "a VirtualService needs http, tcp or tls routes")]),
    ("bad-host", {"hosts": ["re_views"], "http": [{"route": [DEST]}]},
     [(E, "spec.hosts[0]", "'re_views' is not a DNS label")]),
    ("ip-host-is-fine", {"hosts": ["10.0.0.1"], "http": [{"route": [DEST]}]}, []),
    ("star-host-for-mesh", {"hosts": ["*"], "http": [{"route": [DEST]}]},
     [(E, "spec.hosts[0]", "host * is not allowed when the VirtualService applies to the mesh: list the hosts")]),
    ("star-host-for-gateway", {"hosts": ["*"], "gateways": ["edge/public"], "http": [{"route": [DEST]}]}, []),
    ("duplicate-hosts", {"hosts": ["a.example.com", "*.example.com"], "http": [{"route": [DEST]}]},
     [(E, "spec.hosts", "hosts a.example.com and *.example.com overlap: each host may appear only once")]),
    ("gateway-names", {"hosts": ["a"], "gateways": ["bad_ns/gw", "public.edge"], "http": [{"route": [DEST]}]},
     [(E, "spec.gateways[0]", "namespace 'bad_ns' is not a DNS label"),
      (W, "spec.gateways[1]", "'public.edge' uses the old <name>.<namespace> form; write it as 'edge/public'")]),
    ("delegate-without-gateways-tls-tcp", {"gateways": ["edge/gw"], "http": [{"route": [DEST]}],
                                           "tcp": [{"route": [DEST]}]},
     [(E, "spec.gateways", "a delegate VirtualService (one without hosts) cannot set gateways"),
      (E, "spec.tcp", "a delegate VirtualService (one without hosts) cannot set tcp")]),
    ("delegate-cannot-delegate", {"http": [{"delegate": {"name": "other"}}]},
     [(E, "spec.http[0].delegate", "a delegate VirtualService cannot delegate further"),
      (E, "spec.http[0].route", "set route, redirect or directResponse")]),
    ("root-route-only-delegates", {"hosts": ["a"], "http": [{"delegate": {"name": "d", "namespace": "n"},
                                                             "route": [DEST]}]},
     [(E, "spec.http[0]", "this HTTP route delegates, so it cannot also have a route")]),
    ("destination-required", {"hosts": ["a"], "http": [{"route": [{"weight": 100}]}]},
     [(E, "spec.http[0].route[0].destination", "required")]),
    ("route-or-redirect-required", {"hosts": ["a"], "http": [{"match": [{"uri": {"exact": "/"}}]}]},
     [(E, "spec.http[0].route", "set route, redirect or directResponse")]),
    ("redirect-and-route", http(redirect={"uri": "/x"}),
     [(E, "spec.http[0]", "route cannot be combined with redirect")]),
    ("direct-response-and-fault", {"hosts": ["a"], "http": [{"directResponse": {"status": 503},
                                                             "fault": {"abort": {"httpStatus": 500}}}]},
     [(E, "spec.http[0]", "fault cannot be combined with directResponse")]),
    ("direct-response-status", {"hosts": ["a"], "http": [{"directResponse": {"status": 700}}]},
     [(E, "spec.http[0].directResponse.status", "700 is not an HTTP status code from 200 to 599")]),
    ("weights-all-zero", {"hosts": ["a"], "http": [{"route": [{**DEST, "weight": 0}, {**DEST, "weight": 0}]}]},
     [(E, "spec.http[0].route", "the destination weights add up to 0: give at least one a positive weight")]),
    ("negative-weight", {"hosts": ["a"], "http": [{"route": [{**DEST, "weight": -1}, {**DEST, "weight": 101}]}]},
     [(E, "spec.http[0].route[0].weight", "weight -1 is negative")]),
    ("destination-host-star", {"hosts": ["a"], "http": [{"route": [{"destination": {"host": "*"}}]}]},
     [(E, "spec.http[0].route[0].destination.host", "destination host cannot be *: name a service")]),
    ("destination-subset-and-port", {"hosts": ["a"], "http": [{"route": [
        {"destination": {"host": "a", "subset": "V_1", "port": {"number": 0}}}]}]},
     [(E, "spec.http[0].route[0].destination.subset", "subset name V_1 is not a DNS label"),
      (E, "spec.http[0].route[0].destination.port.number", "port 0 is out of range: use 1-65535")]),
    ("invalid-regex", http(match=[{"uri": {"regex": "(unclosed"}}]),
     [(E, "spec.http[0].match[0].uri", "regex '(unclosed' does not compile")]),
    ("re2-rejects-lookahead", http(match=[{"headers": {"x-a": {"regex": "^(?!admin).*"}}}]),
     [(E, "spec.http[0].match[0].headers.x-a", "uses syntax RE2 lacks")]),
    ("empty-prefix", http(match=[{"uri": {"prefix": ""}, "authority": {"prefix": ""}}]),
     [(E, "spec.http[0].match[0].authority", "prefix must not be empty")]),
    ("two-match-types", http(match=[{"uri": {"exact": "/a", "prefix": "/a"}}]),
     [(E, "spec.http[0].match[0].uri", "only one of exact, prefix, regex may be set")]),
    ("bad-header-name", http(match=[{"headers": {"bad header": {"exact": "1"}}}]),
     [(E, "spec.http[0].match[0].headers.bad header", "is not a valid HTTP header name")]),
    ("jwt-claim-route-needs-gateway", http(match=[{"headers": {"@request.auth.claims.group": {"exact": "a"}}}]),
     [(E, "spec.http[0].match[0].headers", ("routing on JWT claims (@request.auth.claims.group) only works on "
                                           "gateways, and this VirtualService applies to none (gateways: [])"))]),
    ("jwt-claim-route-on-gateway", {**http(match=[{"headers": {"@request.auth.claims.group": {"exact": "a"}}}]),
                                    "gateways": ["edge/public"]}, []),
    ("header-operations", http(headers={"request": {"set": {":path": "/x"}, "remove": ["Host"]},
                                        "response": {"add": {"x-a": "50%"}}}),
     [(E, "spec.http[0].headers.request.set.:path", ("header ':path' cannot be modified: names starting with ':' "
                                                    "are reserved")),
      (E, "spec.http[0].headers.request.remove[0]", "Host may only be set or added on requests"),
      (E, "spec.http[0].headers.response.add.x-a", "unterminated variable")]),
    ("authority-set-twice", http(rewrite={"authority": "a.example.com"},
                                 headers={"request": {"set": {"host": "b.example.com"}}}),
     [(E, "spec.http[0]", "the authority is rewritten more than once")]),
    ("retries-disabled-but-configured", http(retries={"retryOn": "5xx"}),
     [(E, "spec.http[0].retries", "attempts is 0, which disables retries")]),
    ("retry-on-policy", http(retries={"attempts": 2, "retryOn": "5xx,sometimes,503"}),
     [(E, "spec.http[0].retries.retryOn", "'sometimes' is not a known retryOn condition")]),
    ("fault-needs-abort-or-delay", http(fault={}),
     [(E, "spec.http[0].fault", "the fault needs an abort, a delay or both")]),
    ("fault-abort", http(fault={"abort": {"grpcStatus": "NOPE", "percentage": {"value": 120}}}),
     [(E, "spec.http[0].fault.abort.grpcStatus", "'NOPE' is not a gRPC status name"),
      (E, "spec.http[0].fault.abort.percentage", "percentage 120 must be 0 or between 0.0001 and 100")]),
    ("fault-abort-without-type", http(fault={"abort": {"percentage": {"value": 1}}}),
     [(W, "spec.http[0].fault.abort", "the abort has no error to return: set httpStatus or grpcStatus")]),
    ("redirect-needs-something", {"hosts": ["a"], "http": [{"redirect": {"redirectCode": 200}}]},
     [(E, "spec.http[0].redirect", "the redirect changes nothing: set uri, authority, scheme, port"),
      (E, "spec.http[0].redirect.redirectCode", "redirect code 200 is not a 3xx status")]),
    ("rewrite-both-uri-forms", http(rewrite={"uri": "/a", "uriRegexRewrite": {"match": "^/b", "rewrite": "/c"}}),
     [(E, "spec.http[0].rewrite", "set uri or uriRegexRewrite, not both")]),
    ("cors", http(corsPolicy={"allowMethods": ["FETCH"], "allowOrigins": [{"exact": ""}], "maxAge": "1500ms"}),
     [(E, "spec.http[0].corsPolicy.allowMethods[0]", "'FETCH' is not a supported HTTP method"),
      (E, "spec.http[0].corsPolicy.allowOrigins[0]", "needs a non-empty exact, prefix or regex"),
      (E, "spec.http[0].corsPolicy.maxAge", "must be a whole number of seconds")]),
    ("timeouts", http(timeout="500us"), [(E, "spec.http[0].timeout", "must be at least 1ms")]),
    ("bad-duration", http(timeout="5 seconds"), [(E, "spec.http[0].timeout", "is not a duration")]),
    ("mirror-and-mirrors", http(mirror={"host": "a"}, mirrors=[{"destination": {"host": "b"}}]),
     [(E, "spec.http[0]", "set mirror or mirrors, not both")]),
    ("mirror-percentage", http(mirror={"host": "a"}, mirrorPercentage={"value": 150}),
     [(E, "spec.http[0].mirrorPercentage", "percentage 150 is outside 0-100")]),
    ("tls-route", {"hosts": ["a.example.com"], "gateways": ["edge/gw"],
                   "tls": [{"match": [{"sniHosts": ["b.example.com"]}], "route": [DEST]}, {"route": [DEST]}]},
     [(E, "spec.tls[0].match[0].sniHosts[0]", ("SNI host 'b.example.com' is not within any of the VirtualService's "
                                              "hosts [a.example.com]")),
      (E, "spec.tls[1].match", "a TLS route needs at least one match")]),
    ("tls-sni-ip", {"hosts": ["a.example.com"], "tls": [{"match": [{"sniHosts": ["10.0.0.1"]}], "route": [DEST]}]},
     [(W, "spec.tls[0].match[0].sniHosts[0]", "is an IP address: SNI carries host names")]),
    ("tcp-route", {"hosts": ["a"], "tcp": [{"match": [{"port": 70000, "destinationSubnets": ["10.0.0.0/33"]}]}]},
     [(E, "spec.tcp[0].route", "a TCP route needs at least one destination"),
      (E, "spec.tcp[0].match[0].port", "port 70000 is out of range: use 1-65535"),
      (E, "spec.tcp[0].match[0].destinationSubnets[0]", "10.0.0.0/33 is not a CIDR block such as 10.0.0.0/16")]),
    ("source-labels-and-namespace", http(match=[{"sourceLabels": {"app": "not valid!"}, "sourceNamespace": "ns_1"}]),
     [(E, "spec.http[0].match[0].sourceLabels.app", "'not valid!' is not a valid label value"),
      (E, "spec.http[0].match[0].sourceNamespace", "ns_1 is not a valid namespace name")]),
    ("export-to", {**http(), "exportTo": ["shop", ".", "*", "Not_A_Namespace", "*"]},
     [(E, "spec.exportTo", "'.' and shop both name the current namespace; keep one"),
      (E, "spec.exportTo", "* is listed more than once"),
      (E, "spec.exportTo", "'Not_A_Namespace' must be '.', '*' or a namespace name"),
      (E, "spec.exportTo", "'*' (all namespaces) cannot be combined with other entries")]),
    ("types", {"hosts": "reviews", "http": [{"route": [{"destination": {"host": 7}, "weight": "heavy"}]}]},
     [(E, "spec.hosts", "expected array, got string"),
      (E, "spec.http[0].route[0].destination.host", "expected string, got integer"),
      (E, "spec.http[0].route[0].weight", "expected integer, got string")]),
]

DESTINATION_RULE = [
    ("minimal", {"host": "reviews"}, []),
    ("host-required", {"subsets": [{"name": "v1"}]}, [(E, "spec.host", "required")]),
    ("bad-host", {"host": "a..b"}, [(E, "spec.host", "'' is not a DNS label")]),
    ("empty-traffic-policy", {"host": "a", "trafficPolicy": {}},
     [(E, "spec.trafficPolicy", "trafficPolicy configures nothing: set at least one of")]),
    ("subset-names", {"host": "a", "subsets": [{"name": "v_1"}, {"name": "v2", "labels": {"bad key!": "x"}}]},
     [(E, "spec.subsets[0].name", "subset name v_1 is not a DNS label"),
      (E, "spec.subsets[1].labels.bad key!", "'bad key!' is not a valid label key")]),
    ("client-tls-mutual", {"host": "a", "trafficPolicy": {"tls": {"mode": "MUTUAL"}}},
     [(E, "spec.trafficPolicy.tls.clientCertificate", "mode MUTUAL needs a clientCertificate (or a credentialName)"),
      (E, "spec.trafficPolicy.tls.privateKey", "mode MUTUAL needs a privateKey (or a credentialName)")]),
    ("client-tls-credential-and-files", {"host": "a", "trafficPolicy": {"tls": {
        "mode": "SIMPLE", "credentialName": "c", "caCertificates": "/ca.pem"}}},
     [(E, "spec.trafficPolicy.tls", ("credentialName provides the certificates: remove clientCertificate, "
                                    "privateKey, caCertificates and caCrl"))]),
    ("insecure-skip-verify", {"host": "a", "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True,
                                                                     "subjectAltNames": ["a"]}}},
     [(E, "spec.trafficPolicy.tls", "insecureSkipVerify is true, so caCertificates, credentialName and")]),
    ("tls-mode-enum", {"host": "a", "trafficPolicy": {"tls": {"mode": "STRICT"}}},
     [(E, "spec.trafficPolicy.tls.mode", "unsupported value 'STRICT'")]),
    ("connection-pool", {"host": "a", "trafficPolicy": {"connectionPool": {
        "http": {"maxRetries": -1, "h2UpgradePolicy": "UPGRADE", "useClientProtocol": True}}}},
     [(E, "spec.trafficPolicy.connectionPool.http.maxRetries", "must not be negative"),
      (E, "spec.trafficPolicy.connectionPool.http", ("useClientProtocol cannot be true when h2UpgradePolicy is "
                                                    "UPGRADE"))]),
    ("empty-connection-pool", {"host": "a", "trafficPolicy": {"connectionPool": {}}},
     [(E, "spec.trafficPolicy.connectionPool", "connectionPool configures nothing: set at least one of tcp, http")]),
    ("outlier", {"host": "a", "trafficPolicy": {"outlierDetection": {
        "consecutiveErrors": 5, "consecutiveLocalOriginFailures": 3, "maxEjectionPercent": 120}}},
     [(W, "spec.trafficPolicy.outlierDetection.consecutiveErrors", "deprecated"),
      (E, "spec.trafficPolicy.outlierDetection", "needs splitExternalLocalOriginErrors: true"),
      (E, "spec.trafficPolicy.outlierDetection.maxEjectionPercent", "percentage 120 is outside 0-100")]),
    ("load-balancer-one-of", {"host": "a", "trafficPolicy": {"loadBalancer": {
        "simple": "ROUND_ROBIN", "consistentHash": {"useSourceIp": True}}}},
     [(E, "spec.trafficPolicy.loadBalancer", "only one of simple, consistentHash may be set")]),
    ("maglev", {"host": "a", "trafficPolicy": {"loadBalancer": {"consistentHash": {
        "useSourceIp": True, "maglev": {"tableSize": 1000}}}}},
     [(E, "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "must be a prime number")]),
    ("minimum-ring-size", {"host": "a", "trafficPolicy": {"loadBalancer": {"consistentHash": {
        "useSourceIp": True, "minimumRingSize": 1024, "ringHash": {"minimumRingSize": 1024}}}}},
     [(W, "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "deprecated"),
      (E, "spec.trafficPolicy.loadBalancer.consistentHash", ("minimumRingSize cannot be combined with ringHash or "
                                                            "maglev"))]),
    ("locality-distribute-total", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "distribute": [{"from": "us-east/*", "to": {"us-east/*": 60, "us-west/*": 30}}]}}}},
     [(E, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to",
       "the locality weights add up to 90, not 100")]),
    ("locality-failover-needs-outlier", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "failover": [{"from": "us-east", "to": "us-east"}]}}}},
     [(W, "spec.trafficPolicy.loadBalancer.localityLbSetting", "failover only happens with outlierDetection"),
      (E, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]",
       "failover from and to must be different regions")]),
    ("locality-overlap", {"host": "a", "trafficPolicy": {"loadBalancer": {"localityLbSetting": {
        "distribute": [{"from": "us-east/*", "to": {"us-east/zone1": 100}},
                       {"from": "us-east/zone1", "to": {"us-east/zone1": 100}}]}}}},
     [(E, "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute",
       "locality us-east/zone1 overlaps an earlier one")]),
    ("port-level-settings", {"host": "a", "trafficPolicy": {"portLevelSettings": [{"port": {"number": 80}}]}},
     [(E, "spec.trafficPolicy.portLevelSettings[0]", "this portLevelSettings entry configures nothing")]),
    ("tunnel-and-proxy-protocol", {"host": "a", "trafficPolicy": {
        "tunnel": {"protocol": "PUT", "targetHost": "a b", "targetPort": 0}, "proxyProtocol": {"version": "V1"}}},
     [(E, "spec.trafficPolicy", "set tunnel or proxyProtocol, not both"),
      (E, "spec.trafficPolicy.tunnel.protocol", "use CONNECT or POST"),
      (E, "spec.trafficPolicy.tunnel.targetHost", "targetHost 'a b' is neither an IP address nor a fully qualified"),
      (E, "spec.trafficPolicy.tunnel.targetPort", "port 0 is out of range")]),
    ("selector-with-export-to", {"host": "a", "workloadSelector": {"matchLabels": {"app": "a"}},
                                 "exportTo": ["other"]},
     [(E, "spec.exportTo", "a DestinationRule with a workloadSelector can only be exported to its own namespace")]),
    ("selector-without-labels", {"host": "a", "workloadSelector": {}},
     [(W, "spec.workloadSelector", "selector has no labels, so it selects every workload in the namespace")]),
]

GATEWAY = [
    ("minimal", {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}, []),
    ("servers-required", {"selector": {"istio": "ingressgateway"}},
     [(E, "spec.servers", "a Gateway needs at least one server")]),
    ("server-basics", {"servers": [{"hosts": []}]},
     [(E, "spec.servers[0].hosts", "a server needs at least one host"),
      (E, "spec.servers[0].port", "required")]),
    ("port-rules", {"servers": [{"port": {"number": 0, "protocol": "SMTP", "targetPort": 8080}, "hosts": ["a.com"]}]},
     [(E, "spec.servers[0].port.protocol", "'SMTP' is not a protocol a server can use"),
      (E, "spec.servers[0].port.number", "port 0 is out of range"),
      (E, "spec.servers[0].port.targetPort", "targetPort does nothing on a Gateway: remove it"),
      (E, "spec.servers[0].port.name", "a server port needs a name")]),
    ("host-forms", {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"},
                                 "hosts": ["Bad_NS/a.com", "reviews", "*.example.com", "ns/a*.com", "1.2.3.4"]}]},
     [(E, "spec.servers[0].hosts[0]", "'Bad_NS' cannot be the namespace of a gateway host"),
      (E, "spec.servers[0].hosts[1]", "use a fully qualified host name, not a short name"),
      (E, "spec.servers[0].hosts[3]", "'a*.com' has a partial wildcard: use '*' alone or as a leading '*.' label"),
      (E, "spec.servers[0].hosts[3]", "host name 'a*.com' is not valid: 'a*' is not a DNS label")]),
    ("https-needs-tls", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                      "hosts": ["a.com"]}]},
     [(E, "spec.servers[0]", "HTTPS and TLS servers need tls settings")]),
    ("tcp-refuses-tls", {"servers": [{"port": {"number": 31400, "name": "tcp", "protocol": "TCP"}, "hosts": ["a.com"],
                                      "tls": {"mode": "PASSTHROUGH"}}]},
     [(E, "spec.servers[0].tls", "tls settings need an HTTPS or TLS port")]),
    ("credential-or-files", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                          "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                      "serverCertificate": "/c", "privateKey": "/k"}}]},
     [(E, "spec.servers[0].tls", "set only one of credentialName, credentialNames, serverCertificate/privateKey")]),
    ("mutual-needs-ca", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                      "hosts": ["a.com"], "tls": {"mode": "MUTUAL", "serverCertificate": "/c",
                                                                  "privateKey": "/k"}}]},
     [(E, "spec.servers[0].tls", "MUTUAL TLS needs caCertificates, the CA bundle clients are checked against")]),
    ("istio-mutual-refuses-certs", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                                 "hosts": ["a.com"], "tls": {"mode": "ISTIO_MUTUAL",
                                                                             "credentialName": "c"}}]},
     [(E, "spec.servers[0].tls", "mode ISTIO_MUTUAL uses Istio's own certificates: remove the credentialName")]),
    ("passthrough-ignores-certs", {"servers": [{"port": {"number": 443, "name": "tls", "protocol": "TLS"},
                                                "hosts": ["a.com"], "tls": {"mode": "PASSTHROUGH",
                                                                            "credentialName": "c"}}]},
     [(W, "spec.servers[0].tls", "mode PASSTHROUGH does not terminate TLS, so its certificates are ignored")]),
    ("old-tls-needs-ciphers", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                            "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                        "minProtocolVersion": "TLSV1_1",
                                                                        "cipherSuites": ["NOT-A-CIPHER"]}}]},
     [(W, "spec.servers[0].tls.cipherSuites", "unknown cipher suites will be ignored: ['NOT-A-CIPHER']")]),
    ("https-redirect-on-https", {"servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                              "hosts": ["a.com"], "tls": {"mode": "SIMPLE", "credentialName": "c",
                                                                          "httpsRedirect": True}}]},
     [(W, "spec.servers[0].tls.httpsRedirect", "httpsRedirect only has an effect on HTTP servers")]),
    ("unix-bind", {"servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["a.com"],
                                "bind": "unix://relative"}]},
     [(E, "spec.servers[0].bind", "unix socket path relative must be an absolute file path"),
      (E, "spec.servers[0].port.number", "must be 0 when binding to a unix domain socket")]),
    ("duplicate-port-names", {"servers": [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["a.com"]},
        {"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["b.com"]}]},
     [(E, "spec.servers[1].port.name", "port name http is used by more than one server")]),
]

SERVICE_ENTRY = [
    ("minimal", {"hosts": ["api.example.com"]}, []),
    ("hosts-required", {"ports": [{"number": 80, "name": "http"}]},
     [(E, "spec.hosts", "a ServiceEntry needs at least one host")]),
    ("partial-wildcard-warns", {"hosts": ["*api.example.com"]},
     [(W, "spec.hosts[0]", "'*api.example.com' has a partial wildcard")]),
    ("ports", {"hosts": ["a.com"], "ports": [{"number": 80, "name": "http_1", "protocol": "SMTP"},
                                             {"number": 80, "name": "http_1"}, {"name": "x"}]},
     [(E, "spec.ports[0].name", "port name http_1 is not a DNS label"),
      (E, "spec.ports[0].protocol", "SMTP is not a protocol Istio knows"),
      (E, "spec.ports[1].name", "port name 'http_1' is used more than once"),
      (E, "spec.ports[1].name", "port name http_1 is not a DNS label"),
      (E, "spec.ports[1].number", "port 80 is listed more than once"),
      (E, "spec.ports[2].number", "required")]),
    ("addresses", {"hosts": ["a.com"], "addresses": ["10.0.0.300", "10.0.0.0/8"], "resolution": "STATIC"},
     [(E, "spec.addresses[0]", "10.0.0.300 is not an IP address")]),
    ("dns-needs-fqdn-hosts", {"hosts": ["*.example.com"], "resolution": "DNS"},
     [(E, "spec.hosts", "resolution DNS without endpoints needs fully qualified hosts")]),
    ("dns-endpoint-address", {"hosts": ["a.com"], "resolution": "DNS", "endpoints": [{"address": "not an address"}]},
     [(E, "spec.endpoints[0].address", "'not an address' is neither an IP address nor a fully qualified host name")]),
    ("static-endpoint-must-be-ip", {"hosts": ["a.com"], "resolution": "STATIC",
                                    "ports": [{"number": 80, "name": "http"}],
                                    "endpoints": [{"address": "host.example.com", "ports": {"grpc": 90}}]},
     [(E, "spec.endpoints[0].address", "endpoint address 'host.example.com' must be an IP address"),
      (E, "spec.endpoints[0].ports.grpc", "endpoint port 90: the ServiceEntry has no port with this name")]),
    ("selector-and-endpoints", {"hosts": ["a.com"], "resolution": "STATIC",
                                "workloadSelector": {"labels": {"app": "a"}}, "endpoints": [{"address": "1.1.1.1"}]},
     [(E, "spec", "set workloadSelector or endpoints, not both")]),
    ("multiple-hosts-tcp", {"hosts": ["a.com", "b.com"], "resolution": "DNS",
                            "ports": [{"number": 5432, "name": "tcp", "protocol": "TCP"}]},
     [(E, "spec.hosts", "a ServiceEntry with several hosts can only have HTTP or TLS ports")]),
    ("none-with-endpoints", {"hosts": ["a.com"], "endpoints": [{"address": "1.1.1.1"}]},
     [(E, "spec.endpoints", "resolution NONE does not use endpoints: remove them")]),
    ("export-to-none", {"hosts": ["a.com"], "exportTo": ["~"]}, []),
    ("export-to-none-and-more", {"hosts": ["a.com"], "exportTo": ["~", "other"]},
     [(E, "spec.exportTo", "'~' (no namespace) cannot be combined with other entries")]),
    ("unknown-resolution", {"hosts": ["a.com"], "resolution": "MAGIC"},
     [(E, "spec.resolution", "unsupported value 'MAGIC'")]),
]

SIDECAR = [
    ("minimal", {"egress": [{"hosts": ["./*"]}]}, []),
    ("empty", {}, [(E, "spec", "the Sidecar configures nothing")]),
    ("egress-hosts", {"egress": [{"hosts": ["a/b.com", "a/*"]}, {"hosts": []}]},
     [(W, "spec.egress[0].hosts[1]", "egress host a/* overlaps an earlier entry for the same namespace"),
      (E, "spec.egress[0]", "the egress listener without a port must come last"),
      (E, "spec.egress[1].hosts", "an egress listener needs at least one host")]),
    ("catch-all-twice", {"egress": [{"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]},
                                    {"hosts": ["./*"]}, {"hosts": ["./*"]}]},
     [(E, "spec.egress[1]", "the egress listener without a port must come last")]),
    ("egress-ports-unique", {"egress": [{"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]},
                                        {"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]}]},
     [(E, "spec.egress[1].port", "another listener already uses this port")]),
    ("unix-egress", {"egress": [{"port": {"number": 0, "protocol": "HTTP"}, "bind": "0.0.0.0", "hosts": ["./*"]}]},
     [(E, "spec.egress[0].port", "port 0 needs a unix:// bind address")]),
    ("ingress", {"ingress": [{"port": {"number": 9080, "protocol": "HTTP", "name": "http"},
                              "defaultEndpoint": "10.0.0.1:8080",
                              "tls": {"mode": "ISTIO_MUTUAL"}}, {"defaultEndpoint": "127.0.0.1:80"}]},
     [(E, "spec.ingress[0].defaultEndpoint", "defaultEndpoint must be a local address (127.0.0.1:<port>"),
      (E, "spec.ingress[0].tls.mode", "mode ISTIO_MUTUAL is not supported on a sidecar ingress listener"),
      (E, "spec.ingress[0].tls", "tls settings need an HTTPS or TLS port"),
      (E, "spec.ingress[1].port", "an ingress listener needs a port")]),
    ("egress-proxy-needs-allow-any", {"outboundTrafficPolicy": {"egressProxy": {"host": "proxy.example.com"}}},
     [(E, "spec.outboundTrafficPolicy.egressProxy", "egressProxy needs mode ALLOW_ANY")]),
    ("selector-without-labels", {"workloadSelector": {}, "egress": [{"hosts": ["./*"]}]},
     [(W, "spec.workloadSelector", "workloadSelector has no labels, so this sidecar applies to every workload")]),
    ("selector-wildcard", {"workloadSelector": {"labels": {"app": "*"}}, "egress": [{"hosts": ["./*"]}]},
     [(E, "spec.workloadSelector.labels", "selector labels cannot use wildcards (app=*)")]),
]

FILTER_WARNING = (W, "", "EnvoyFilter patches Envoy's internal configuration, which can change in any release")
ENVOY_FILTER = [
    ("minimal", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"operation": "ADD", "value": {"name": "c"}}}]},
     [FILTER_WARNING]),
    ("missing-apply-to", {"configPatches": [{"patch": {"operation": "ADD", "value": {}}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].applyTo", "must be set")]),
    ("missing-operation", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"value": {}}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].patch.operation", "must be set")]),
    ("bad-proxy-version", {"configPatches": [{"applyTo": "CLUSTER", "match": {"proxy": {"proxyVersion": "1.(2"}},
                                              "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.proxy.proxyVersion",
                       "proxyVersion is not a usable regex: regex '1.(2' does not compile")]),
    ("wrong-match-class", {"configPatches": [{"applyTo": "HTTP_FILTER",
                                              "match": {"cluster": {"name": "c"}},
                                              "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match", "applyTo HTTP_FILTER needs a listener match")]),
    ("sub-filter", {"configPatches": [{"applyTo": "NETWORK_FILTER", "match": {"listener": {"filterChain": {
        "filter": {"name": "envoy.filters.network.tcp_proxy", "subFilter": {"name": "x"}}}}},
        "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.listener.filterChain.filter.subFilter",
                       "subFilter only works with applyTo HTTP_FILTER")]),
    ("deprecated-filter-name", {"configPatches": [{"applyTo": "HTTP_FILTER", "match": {"listener": {"filterChain": {
        "filter": {"name": "envoy.http_connection_manager"}}}}, "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (W, "spec.configPatches[0].match.listener.filterChain.filter.name",
                       "filter name 'envoy.http_connection_manager' is deprecated")]),
    ("waypoint-needs-context", {"configPatches": [{"applyTo": "CLUSTER", "match": {"waypoint": {}},
                                                   "patch": {"operation": "REMOVE"}}]},
     [FILTER_WARNING, (E, "spec.configPatches[0].match.waypoint", "a waypoint match needs context WAYPOINT")]),
]

WORKLOADS = [
    (K.WORKLOAD_ENTRY, "minimal", {"address": "10.0.0.1"}, []),
    (K.WORKLOAD_ENTRY, "network-only", {"network": "vm-net"},
     [(W, "spec.address", "no address is set, only network 'vm-net'")]),
    (K.WORKLOAD_ENTRY, "fqdn", {"address": "vm.example.com", "ports": {"http_x": 0}},
     [(E, "spec.ports.http_x", "port name http_x is not a DNS label"),
      (E, "spec.ports.http_x", "port 0 is out of range: use 1-65535")]),
    (K.WORKLOAD_ENTRY, "unix", {"address": "unix:///var/run/a.sock", "ports": {"http": 80}},
     [(E, "spec.ports", "unix domain socket address unix:///var/run/a.sock cannot have ports")]),
    (K.WORKLOAD_ENTRY, "bad-address", {"address": "not valid"},
     [(E, "spec.address", "'not valid' is neither an IP address nor a fully qualified host name")]),
    (K.WORKLOAD_GROUP, "minimal", {"template": {}}, []),
    (K.WORKLOAD_GROUP, "probe-without-method", {"template": {}, "probe": {"periodSeconds": 5}},
     [(E, "spec.probe", "a probe needs httpGet, tcpSocket, exec or grpc")]),
    (K.WORKLOAD_GROUP, "probe-http", {"template": {}, "probe": {"httpGet": {"port": 0, "scheme": "ftp",
                                                                            "httpHeaders": [{"name": "x y"}]}}},
     [(E, "spec.probe.httpGet.port", "port 0 is out of range"), (E, "spec.probe.httpGet.scheme", "use HTTP or HTTPS"),
      (E, "spec.probe.httpGet.httpHeaders[0].name", "is not a valid HTTP header name")]),
    (K.WORKLOAD_GROUP, "two-probe-methods", {"template": {}, "probe": {"tcpSocket": {"port": 80},
                                                                       "exec": {"command": ["true"]}}},
     [(E, "spec.probe", "only one of httpGet, tcpSocket, exec, grpc may be set")]),
    (K.WORKLOAD_GROUP, "unix-template-without-ports", {"template": {"address": "unix:///a.sock", "ports": {"a": 1}}},
     [(E, "spec.template.ports", "a unix domain socket address cannot have ports")]),
    (K.WORKLOAD_GROUP, "metadata-labels", {"template": {}, "metadata": {"labels": {"app": "a b"}}},
     [(E, "spec.metadata.labels.app", "'a b' is not a valid label value")]),
    (K.PROXY_CONFIG, "minimal", {"concurrency": 2}, []),
    (K.PROXY_CONFIG, "selector", {"selector": {"matchLabels": {"": "x"}}},
     [(E, "spec.selector.matchLabels", "selector label keys must not be empty (=x)")]),
]

SECURITY = [
    (K.AUTHORIZATION_POLICY, "allow-nothing", {}, []),
    (K.AUTHORIZATION_POLICY, "deny-all-rule", {"action": "DENY", "rules": [{}]}, []),
    (K.AUTHORIZATION_POLICY, "action-enum", {"action": "REJECT"}, [(E, "spec.action", "unsupported value 'REJECT'")]),
    (K.AUTHORIZATION_POLICY, "custom-without-rules", {"action": "CUSTOM", "provider": {"name": "opa"}},
     [(E, "spec.rules", "a CUSTOM policy without rules never applies")]),
    (K.AUTHORIZATION_POLICY, "provider-needs-custom", {"provider": {"name": "opa"}, "rules": [{}]},
     [(E, "spec.provider", "provider is only used with action CUSTOM, not ALLOW")]),
    (K.AUTHORIZATION_POLICY, "custom-limits", {"action": "CUSTOM", "provider": {"name": "opa"}, "rules": [{
        "from": [{"source": {"principals": ["a"]}}], "when": [{"key": "request.auth.claims[iss]", "values": ["x"]}]}]},
     [(E, "spec.rules[0].from[0].source.principals", "principals cannot be used in a CUSTOM policy"),
      (E, "spec.rules[0].when[0].key", "request.auth.claims[iss] cannot be used in a CUSTOM policy")]),
    (K.AUTHORIZATION_POLICY, "deny-http-only-warns", {"action": "DENY", "rules": [
        {"to": [{"operation": {"methods": ["POST"]}}]}]},
     [(W, "spec.rules[0]", "so it denies all traffic to TCP ports in its scope")]),
    (K.AUTHORIZATION_POLICY, "empty-source-and-operation", {"rules": [{"from": [{"source": {}}, {}],
                                                                       "to": [{"operation": {"hosts": [""]}}]}]},
     [(E, "spec.rules[0].from[0].source", "source must set at least one field"),
      (E, "spec.rules[0].from[1].source", "rule 0: each from entry must set source"),
      (E, "spec.rules[0].to[0].operation.hosts", "hosts has an empty value")]),
    (K.AUTHORIZATION_POLICY, "ips-and-ports", {"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/40", "x"]}}],
                                                          "to": [{"operation": {"ports": ["http", "70000"]}}]}]},
     [(E, "spec.rules[0].from[0].source.ipBlocks", "10.0.0.0/40 is not a CIDR block"),
      (E, "spec.rules[0].from[0].source.ipBlocks", "x is not an IP address"),
      (E, "spec.rules[0].to[0].operation.ports", "http is not a port number"),
      (E, "spec.rules[0].to[0].operation.ports", "70000 is not a port number")]),
    (K.AUTHORIZATION_POLICY, "path-templates", {"rules": [{"to": [{"operation": {"paths": [
        "/a/{*}/b", "/a/{name}/{*}", "/{**}/x/*"]}}]}]},
     [(E, "spec.rules[0].to[0].operation.paths", "paths has a path template that is not supported"),
      (E, "spec.rules[0].to[0].operation.paths", "paths has a path template that is not supported")]),
    (K.AUTHORIZATION_POLICY, "conditions", {"rules": [{"when": [
        {"key": "source.ip", "values": ["1.2.3.4/99"]}, {"key": "request.headers"},
        {"key": "request.headers", "values": ["a"]}, {"key": "destination.labels[app]", "values": ["a"]},
        {"key": "whatever", "notValues": ["a"]}, {"key": ""}]}]},
     [(E, "spec.rules[0].when[0].values", "condition on source.ip: 1.2.3.4/99 is not a CIDR block"),
      (E, "spec.rules[0].when[1]", "the condition on request.headers needs values or notValues"),
      # like Istio, a bad key is reported for the values and for the notValues
      (E, "spec.rules[0].when[2].values", "condition on request.headers: the key must name an entry in brackets"),
      (E, "spec.rules[0].when[2].notValues", "condition on request.headers: the key must name an entry in brackets"),
      (E, "spec.rules[0].when[3].values", "no longer supported; select workloads with the policy's selector"),
      (E, "spec.rules[0].when[3].notValues", "no longer supported; select workloads with the policy's selector"),
      (E, "spec.rules[0].when[4].values", "condition on whatever: not a known attribute"),
      (E, "spec.rules[0].when[4].notValues", "condition on whatever: not a known attribute"),
      (E, "spec.rules[0].when[5].key", "must not be empty")]),
    (K.AUTHORIZATION_POLICY, "selector-and-target-ref", {"selector": {"matchLabels": {"app": "a"}},
                                                         "targetRefs": [{"kind": "Gateway", "name": "gw",
                                                                         "group": "gateway.networking.k8s.io"}]},
     [(E, "spec", "use only one of selector, targetRef and targetRefs")]),
    (K.AUTHORIZATION_POLICY, "target-ref-kind", {"targetRef": {"kind": "Deployment", "group": "apps", "name": "a"}},
     [(E, "spec.targetRef", "a policy cannot target apps/Deployment: use one of")]),
    (K.AUTHORIZATION_POLICY, "dry-run-annotation", {"action": "DENY", "rules": [{}]},
     [(E, "metadata.annotations.istio.io/dry-run", "'yes please' is not a boolean: use true or false")]),
    (K.PEER_AUTHENTICATION, "mode-enum", {"mtls": {"mode": "ON"}}, [(E, "spec.mtls.mode", "unsupported value 'ON'")]),
    (K.PEER_AUTHENTICATION, "port-level-needs-selector", {"selector": {"matchLabels": {}},
                                                          "portLevelMtls": {"8080": {"mode": "DISABLE"}}},
     [(E, "spec.portLevelMtls", "portLevelMtls needs a selector with matchLabels"),
      (W, "spec.selector", "selector has no labels, so it selects every workload in the namespace")]),
    (K.PEER_AUTHENTICATION, "port-range", {"selector": {"matchLabels": {"app": "a"}},
                                           "portLevelMtls": {"0": {"mode": "DISABLE"}, "http": {}}},
     [(E, "spec.portLevelMtls.0", "must be a port number from 1 to 65535"),
      (E, "spec.portLevelMtls.http", "must be a port number from 1 to 65535")]),
    (K.PEER_AUTHENTICATION, "dry-run-not-supported", {},
     [(E, "metadata.annotations.istio.io/dry-run", "istio.io/dry-run only works on AuthorizationPolicy; remove it")]),
    (K.REQUEST_AUTHENTICATION, "issuer-or-jwks-uri", {"jwtRules": [{"audiences": [""]}]},
     [(E, "spec.jwtRules[0].audiences", "audiences must not contain empty strings"),
      (E, "spec.jwtRules[0]", "set issuer or jwksUri")]),
    (K.REQUEST_AUTHENTICATION, "jwks-and-uri", {"jwtRules": [{"issuer": "a", "jwks": "not json",
                                                              "jwksUri": "https://a/keys"}]},
     [(E, "spec.jwtRules[0]", "only one of jwksUri, jwks_uri, jwks may be set"),
      (E, "spec.jwtRules[0].jwks", "jwks is not valid JSON")]),
    (K.REQUEST_AUTHENTICATION, "claim-to-header", {"jwtRules": [{"issuer": "a", "outputClaimToHeaders": [
        {"claim": "sub", "header": "x_user!"}, {"claim": "sub"}], "fromParams": [""]}]},
     [(E, "spec.jwtRules[0].outputClaimToHeaders[0].header", "is not a valid HTTP header name"),
      (E, "spec.jwtRules[0].outputClaimToHeaders[1]", "set both header and claim"),
      (E, "spec.jwtRules[0].fromParams", "fromParams must not contain empty names")]),
]

OTHER = [
    (K.TELEMETRY, "minimal", {"accessLogging": [{"providers": [{"name": "envoy"}]}]}, []),
    (K.TELEMETRY, "providers", {"metrics": [{"providers": [{"name": ""}]}], "tracing": [{}, {}]},
     [(E, "spec.metrics[0].providers", "every provider needs a name"),
      (W, "spec.tracing", "only one tracing entry is supported")]),
    (K.TELEMETRY, "tag-overrides", {"metrics": [{"overrides": [{"tagOverrides": {
        "a": {"operation": "UPSERT"}, "b": {"operation": "REMOVE", "value": "x"}, "": {"value": "v"}}}]}]},
     [(E, "spec.metrics[0].overrides[0].tagOverrides.a.value", "operation UPSERT needs a value"),
      (E, "spec.metrics[0].overrides[0].tagOverrides.b.value", "operation REMOVE takes no value: remove it"),
      (W, "spec.metrics[0].overrides[0].tagOverrides", "tag override names must not be empty")]),
    (K.TELEMETRY, "custom-tags", {"tracing": [{"customTags": {"": {"literal": {"value": "a"}},
                                                              "b": {"header": {"name": ""}}}}]},
     [(E, "spec.tracing[0].customTags.", "custom tag names must not be empty"),
      (E, "spec.tracing[0].customTags.b.header.name", "the header custom tag needs a name")]),
    (K.TELEMETRY, "sampling", {"tracing": [{"randomSamplingPercentage": 101}]},
     [(E, "spec.tracing[0].randomSamplingPercentage", "must be at most 100")]),
    (K.WASM_PLUGIN, "minimal", {"url": "oci://registry/plugin:1"}, []),
    (K.WASM_PLUGIN, "url-required", {"phase": "AUTHN"}, [(E, "spec.url", "required")]),
    (K.WASM_PLUGIN, "sha-and-env", {"url": "https://a/p.wasm", "sha256": "abc",
                                    "vmConfig": {"env": [{"name": "A", "valueFrom": "HOST", "value": "x"},
                                                         {"name": "A"}]}},
     [(E, "spec.sha256", "must be 64 lower-case hexadecimal digits"),
      (E, "spec.vmConfig.env[0].value", "valueFrom HOST reads the value from the host: remove value"),
      (E, "spec.vmConfig.env[1].name", "env A is defined more than once")]),
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
          [(E, "metadata.annotations.istio.io/dry-run",
            "istio.io/dry-run only works with action ALLOW or DENY, not AUDIT")],
          annotations={"istio.io/dry-run": "true"})


def test_gateway_names_must_be_dns_labels():
    spec = {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}
    check(K.ISTIO_GATEWAY, spec, [(E, "metadata.name", "gateway name 'public.gw' must be a DNS label (no dots)")],
          name="public.gw")


def test_address_autoallocation_opt_out_asks_for_addresses():
    spec = {"hosts": ["db.example.com"], "ports": [{"number": 5432, "name": "db", "protocol": "TCP"}]}
    check(K.SERVICE_ENTRY, spec, [], annotations={})
    check(K.SERVICE_ENTRY, spec,
          [(W, "spec.ports[0]", "without IP autoallocation, a TCP port (or one without a protocol) needs addresses")],
          annotations={"networking.istio.io/enable-autoallocate-ip": "false"})


def test_a_missing_spec():
    # Istio's kinds without a required spec validate as empty; the others need one
    assert [(f.path, f.text) for f in validate(K.VIRTUAL_SERVICE, {"metadata": {"name": "a"}})] == [
        ("spec", "a VirtualService needs http, tcp or tls routes")]
    assert [(f.path, f.text) for f in validate(K.SERVICE_ENTRY, {"metadata": {"name": "a"}})] == [
        ("spec", "required")]
    assert [(f.path, f.text) for f in validate(K.HTTP_ROUTE, {"metadata": {"name": "a"}})] == [("spec", "required")]
    assert validate(K.PEER_AUTHENTICATION, {"metadata": {"name": "a"}}) == []


def test_kinds_meshctl_does_not_validate_have_no_findings():
    assert validate(K.DEPLOYMENT, {"spec": "anything"}) == []
