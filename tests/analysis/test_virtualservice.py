"""virtualservice.ConflictingMeshGatewayHostsAnalyzer (IST0109), DestinationHostAnalyzer (IST0101, IST0112,
IST0140), DestinationRuleAnalyzer (IST0101) and JWTClaimRouteAnalyzer (IST0149)."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import ANALYZE_DATA, analyze_without

CONFLICTS = "virtualservice.ConflictingMeshGatewayHostsAnalyzer"
HOSTS = "virtualservice.DestinationHostAnalyzer"
SUBSETS = "virtualservice.DestinationRuleAnalyzer"
JWT = "virtualservice.JWTClaimRouteAnalyzer"


def vs(name, namespace="web", hosts=("reviews",), gateways=None, export_to=None, http=None, tcp=None, meta=""):
    spec = {"hosts": list(hosts)}
    if gateways is not None:
        spec["gateways"] = list(gateways)
    if export_to is not None:
        spec["exportTo"] = list(export_to)
    spec["http"] = http if http is not None else [{"route": [{"destination": {"host": "reviews"}}]}]
    if tcp is not None:
        spec["tcp"] = tcp
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec: {spec}
"""


def service(name, namespace="web", ports=(9080,), annotations=None):
    port_list = [{"name": f"http-{p}", "port": p} for p in ports]
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}, annotations: {annotations or {}}}}
spec: {{selector: {{app: {name}}}, ports: {port_list}}}
"""


def service_entry(name, hosts, namespace="web", ports=((443, "TLS"),), export_to=None):
    spec = {"hosts": list(hosts), "ports": [{"number": n, "name": f"p{n}", "protocol": p} for n, p in ports],
            "resolution": "DNS"}
    if export_to is not None:
        spec["exportTo"] = list(export_to)
    return f"""
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}, namespace: {namespace}}}
spec: {spec}
"""


def route(host, subset=None, port=None):
    destination = {"host": host}
    if subset:
        destination["subset"] = subset
    if port:
        destination["port"] = {"number": port}
    return {"route": [{"destination": destination}]}


# -- ConflictingMeshGatewayHostsAnalyzer ---------------------------------------------------------


@pytest.mark.parametrize("docs, expected", [
    # two mesh VirtualServices for the same service (short name and FQDN are the same host)
    ([vs("a", hosts=["reviews"]), vs("b", hosts=["reviews.web.svc.cluster.local"])],
     [("IST0109", "VirtualService web/a"), ("IST0109", "VirtualService web/b")]),
    # "mesh" named among gateways still binds to the mesh
    ([vs("a", gateways=["mesh", "edge/gw"]), vs("b")],
     [("IST0109", "VirtualService web/a"), ("IST0109", "VirtualService web/b")]),
    # a gateway-only VirtualService does not conflict
    ([vs("a", gateways=["edge/gw"]), vs("b")], []),
    # a short name means a different host in another namespace
    ([vs("a"), vs("b", namespace="other")], []),
    # each exported only to its own namespace: no overlap
    ([vs("a", hosts=["api.example.com"], export_to=["."]),
      vs("b", namespace="other", hosts=["api.example.com"], export_to=["."])], []),
    # one exported everywhere, one to its own namespace: they meet there
    ([vs("a", hosts=["api.example.com"]),
      vs("b", namespace="other", hosts=["api.example.com"], export_to=["."])],
     [("IST0109", "VirtualService other/b"), ("IST0109", "VirtualService web/a")]),
    # a namespace-local host under a global wildcard
    ([vs("a", hosts=["*.example.com"]), vs("b", namespace="other", hosts=["api.example.com"], export_to=["."])],
     [("IST0109", "VirtualService other/b"), ("IST0109", "VirtualService web/a")]),
    ([vs("a", hosts=["reviews"])], []),
], ids=["fqdn", "mesh-listed", "gateway-only", "other-namespace", "local-exports", "global-vs-local",
        "wildcard", "single"])
def test_conflicting_mesh_hosts(analyze, docs, expected):
    assert analyze("".join(docs), CONFLICTS) == expected


def test_conflict_is_suppressed_per_resource(analyze):
    quiet = ", annotations: {galley.istio.io/analyze-suppress: IST0109}"
    assert analyze(vs("a", meta=quiet) + vs("b"), CONFLICTS) == [("IST0109", "VirtualService web/b")]


# -- DestinationHostAnalyzer ---------------------------------------------------------------------


@pytest.mark.parametrize("docs, expected", [
    ([service("reviews"), vs("r", http=[route("reviews")])], []),
    ([service("reviews"), vs("r", http=[route("ratings")])], [("IST0101", "VirtualService web/r")]),
    # a dotted host is taken literally: "reviews.web" is not short for the Service
    ([service("reviews"), vs("r", http=[route("reviews.web")])], [("IST0101", "VirtualService web/r")]),
    # cross-namespace FQDN
    ([service("details", namespace="shop"), vs("r", http=[route("details.shop.svc.cluster.local")])], []),
    # a Service exported only to its own namespace is invisible elsewhere
    ([service("details", namespace="shop", annotations={"networking.istio.io/exportTo": "."}),
      vs("r", http=[route("details.shop.svc.cluster.local")])], [("IST0101", "VirtualService web/r")]),
    # ServiceEntry hosts, exact and wildcard
    ([service_entry("ext", ["api.example.com"]), vs("r", http=[route("api.example.com")])], []),
    ([service_entry("ext", ["*.example.com"]), vs("r", http=[route("api.example.com")])], []),
    ([service_entry("ext", ["*.example.com"], namespace="other", export_to=["."]),
      vs("r", http=[route("api.example.com")])], [("IST0101", "VirtualService web/r")]),
    # a VirtualService exported to a namespace sees what is exported there
    ([service_entry("ext", ["api.example.com"], namespace="other", export_to=["."]),
      vs("r", export_to=["other"], http=[route("api.example.com")])], []),
    # mirrors
    ([service("reviews"), vs("r", http=[{**route("reviews"), "mirror": {"host": "shadow"}}])],
     [("IST0101", "VirtualService web/r")]),
    ([service("reviews"), vs("r", http=[{**route("reviews"), "mirrors": [{"destination": {"host": "shadow"}}]}])],
     [("IST0101", "VirtualService web/r")]),
    # TCP routes
    ([service("db", ports=[5432]), vs("r", http=[], tcp=[route("db")])], []),
], ids=["known", "unknown", "dotted-short", "fqdn", "exported-away", "se", "se-wildcard", "se-local",
        "vs-export", "mirror", "mirrors", "tcp"])
def test_destination_hosts(analyze, docs, expected):
    assert analyze("".join(docs), HOSTS) == expected


@pytest.mark.parametrize("destination, expected", [
    (route("reviews"), [("IST0112", "VirtualService web/r")]),  # two ports, none chosen
    (route("reviews", port=9080), []),
    (route("reviews", port=7000), [("IST0101", "VirtualService web/r")]),
], ids=["no-port", "known-port", "unknown-port"])
def test_destination_ports(analyze, destination, expected):
    assert analyze(service("reviews", ports=(9080, 9090)) + vs("r", http=[destination]), HOSTS) == expected


def test_single_port_needs_no_port_selector(analyze):
    assert analyze(service("reviews") + vs("r", http=[route("reviews")]), HOSTS) == []


def test_serviceentry_ports_are_checked(analyze):
    docs = service_entry("ext", ["api.example.com"], ports=((443, "TLS"), (80, "HTTP")))
    assert analyze(docs + vs("r", http=[route("api.example.com")]), HOSTS) == [("IST0112", "VirtualService web/r")]
    assert analyze(docs + vs("r", http=[route("api.example.com", port=8443)]), HOSTS) == [
        ("IST0101", "VirtualService web/r")
    ]


def test_unknown_hosts_are_not_reported_when_services_are_unknown(tmp_path):
    assert analyze_without(tmp_path, vs("r", http=[route("ratings")]), HOSTS, (K.SERVICE_ENTRY,)) == []


INGRESS_WITHOUT_SUBSET = vs("ingress", hosts=["shop.example.com"], gateways=["edge/gw"], http=[route("reviews")])
MESH_WITH_SUBSETS = vs("reviews-split", hosts=["reviews"], http=[route("reviews", subset="v1")])


@pytest.mark.parametrize("docs, expected", [
    ([INGRESS_WITHOUT_SUBSET, MESH_WITH_SUBSETS], [("IST0140", "VirtualService web/ingress")]),
    # the ingress route names a subset itself
    ([vs("ingress", hosts=["shop.example.com"], gateways=["edge/gw"], http=[route("reviews", subset="v1")]),
     MESH_WITH_SUBSETS], []),
    # nothing splits reviews by subset
    ([INGRESS_WITHOUT_SUBSET, vs("reviews-plain", hosts=["reviews"], http=[route("reviews")])], []),
    # a mesh-only VirtualService is not ingress
    ([vs("caller", hosts=["shop"], gateways=["mesh"], http=[route("reviews")]), MESH_WITH_SUBSETS], []),
    # its own subset routes are not another VirtualService's
    ([vs("edge", hosts=["reviews"], gateways=["edge/gw"], http=[route("reviews", subset="v1"), route("reviews")])],
     []),
], ids=["fires", "own-subset", "no-split", "mesh-only", "itself"])
def test_ingress_route_rules_not_affected(analyze, docs, expected):
    assert analyze(service("reviews") + "".join(docs), HOSTS) == expected


# -- DestinationRuleAnalyzer ---------------------------------------------------------------------


def destination_rule(host, subsets, namespace="web", name="reviews"):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: {namespace}}}
spec: {{host: "{host}", subsets: {[{"name": s, "labels": {"version": s}} for s in subsets]}}}
"""


@pytest.mark.parametrize("docs, expected", [
    ([destination_rule("reviews", ["v1"]), vs("r", http=[route("reviews", subset="v1")])], []),
    ([destination_rule("reviews", ["v1"]), vs("r", http=[route("reviews", subset="v2")])],
     [("IST0101", "VirtualService web/r")]),
    ([vs("r", http=[route("reviews")])], []),  # no subset, nothing to find
    # the DestinationRule in another namespace names the host by FQDN
    ([destination_rule("reviews.web.svc.cluster.local", ["v1"], namespace="shop"),
      vs("r", http=[route("reviews", subset="v1")])], []),
    # a short host in another namespace is another service
    ([destination_rule("reviews", ["v1"], namespace="shop"), vs("r", http=[route("reviews", subset="v1")])],
     [("IST0101", "VirtualService web/r")]),
    # a wildcard DestinationRule covers the host
    ([destination_rule("*.example.com", ["v1"]), vs("r", http=[route("api.example.com", subset="v1")])], []),
    # mirrors
    ([destination_rule("reviews", ["v1"]),
      vs("r", http=[{**route("reviews", subset="v1"), "mirror": {"host": "reviews", "subset": "v3"}}])],
     [("IST0101", "VirtualService web/r")]),
], ids=["defined", "undefined", "no-subset", "fqdn", "short-elsewhere", "wildcard", "mirror"])
def test_destination_subsets(analyze, docs, expected):
    assert analyze("".join(docs), SUBSETS) == expected


def test_subsets_are_not_reported_without_destinationrules_kind(tmp_path):
    text = vs("r", http=[route("reviews", subset="v1")])
    assert analyze_without(tmp_path, text, SUBSETS, (K.DESTINATION_RULE,)) == []


# -- JWTClaimRouteAnalyzer -----------------------------------------------------------------------

GATEWAY_AND_POD = """
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: ingress-1, namespace: istio-ingress, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
"""

CLAIM_ROUTE = [{"match": [{"headers": {"@request.auth.claims.group": {"exact": "admin"}}}],
                **route("reviews")}]


def request_authentication(namespace, selector=None, target=None):
    spec = {"jwtRules": [{"issuer": "https://issuer.example.com"}]}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    if target is not None:
        spec["targetRef"] = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": target}
    return f"""
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {{name: jwt, namespace: {namespace}}}
spec: {spec}
"""


@pytest.mark.parametrize("docs, expected", [
    ([], [("IST0149", "VirtualService web/claims")]),
    ([request_authentication("istio-ingress", {"istio": "ingressgateway"})], []),
    ([request_authentication("istio-system")], []),  # root namespace, no selector: every workload
    ([request_authentication("istio-ingress", {"istio": "other"})], [("IST0149", "VirtualService web/claims")]),
    ([request_authentication("web")], [("IST0149", "VirtualService web/claims")]),  # not the pod's namespace
], ids=["none", "selected", "root", "other-selector", "wrong-namespace"])
def test_jwt_claim_routes_need_request_authentication(analyze, docs, expected):
    text = GATEWAY_AND_POD + vs("claims", hosts=["shop.example.com"], gateways=["edge/gw"], http=CLAIM_ROUTE)
    assert analyze(text + "".join(docs), JWT) == expected


def test_without_headers_on_claims_count_too(analyze):
    http = [{"match": [{"withoutHeaders": {"@request.auth.claims.group": {"exact": "x"}}}], **route("reviews")}]
    text = GATEWAY_AND_POD + vs("claims", hosts=["shop.example.com"], gateways=["edge/gw"], http=http)
    assert analyze(text, JWT) == [("IST0149", "VirtualService web/claims")]


@pytest.mark.parametrize("gateways, http", [
    (["edge/gw"], [route("reviews")]),  # no claim match
    (["mesh"], CLAIM_ROUTE),  # sidecars are not checked
    (["edge/gone"], CLAIM_ROUTE),  # GatewayAnalyzer reports the missing gateway
], ids=["no-claims", "mesh", "missing-gateway"])
def test_jwt_claim_route_clean_cases(analyze, gateways, http):
    text = GATEWAY_AND_POD + vs("claims", hosts=["shop.example.com"], gateways=gateways, http=http)
    assert analyze(text, JWT) == []


def test_jwt_request_authentication_by_target_ref(analyze):
    pod = GATEWAY_AND_POD.replace("labels: {istio: ingressgateway}",
                                  "labels: {istio: ingressgateway, gateway.networking.k8s.io/gateway-name: gw}")
    text = pod + vs("claims", hosts=["shop.example.com"], gateways=["edge/gw"], http=CLAIM_ROUTE)
    assert analyze(text + request_authentication("istio-ingress", target="gw"), JWT) == []
    assert analyze(text + request_authentication("istio-ingress", target="other"), JWT) == [
        ("IST0149", "VirtualService web/claims")
    ]


def test_jwt_not_reported_when_request_authentications_are_unknown(tmp_path):
    text = GATEWAY_AND_POD + vs("claims", hosts=["shop.example.com"], gateways=["edge/gw"], http=CLAIM_ROUTE)
    assert analyze_without(tmp_path, text, JWT, (K.REQUEST_AUTHENTICATION,)) == []


# -- one scenario for the whole family (testdata/analyze/virtualservice/bookinfo.yaml) -----------


@pytest.mark.parametrize("analyzer, expected", [
    ("virtualservice.GatewayAnalyzer", []),
    (CONFLICTS, [("IST0109", "VirtualService bookinfo/reviews"),
                 ("IST0109", "VirtualService bookinfo/reviews-canary")]),
    (HOSTS, [("IST0101", "VirtualService bookinfo/ratings-mirror"),
             ("IST0112", "VirtualService bookinfo/bookinfo"),
             ("IST0140", "VirtualService bookinfo/bookinfo")]),
    (SUBSETS, [("IST0101", "VirtualService bookinfo/reviews")]),
    (JWT, []),
], ids=lambda a: a if isinstance(a, str) else "")
def test_bookinfo_scenario(analyze, analyzer, expected):
    assert analyze("virtualservice/bookinfo.yaml", analyzer) == expected


def test_bookinfo_scenario_subsets_select_the_deployments(analyze):
    assert analyze("virtualservice/bookinfo.yaml", "destinationrule.SubsetSelectPodAnalyzer") == []


def test_malformed_objects_do_not_break_the_networking_analyzers():
    path = ANALYZE_DATA / "virtualservice" / "malformed.yaml"
    families = ["virtualservice", "destinationrule", "gateway", "serviceentry", "k8sgateway"]
    messages = run_analysis([load_files([str(path)])], select_analyzers(families)).messages
    assert messages and [m.text for m in messages if m.code == "IST0001"] == []
