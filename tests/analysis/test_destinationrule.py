"""destinationrule.CaCertificateAnalyzer (IST0128, IST0129) and SubsetSelectPodAnalyzer (IST0173, IST0174)."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import analyze_without, run_two_clusters

CA = "destinationrule.CaCertificateAnalyzer"
SUBSETS = "destinationrule.SubsetSelectPodAnalyzer"


def destination_rule(spec, name="api", namespace="shop", meta=""):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec: {spec}
"""


# -- CaCertificateAnalyzer -----------------------------------------------------------------------


@pytest.mark.parametrize("tls, expected", [
    ({"mode": "SIMPLE"}, ["IST0128"]),
    ({"mode": "MUTUAL", "clientCertificate": "/c.pem", "privateKey": "/k.pem"}, ["IST0128"]),
    ({"mode": "SIMPLE", "caCertificates": "/etc/certs/ca.pem"}, []),
    ({"mode": "ISTIO_MUTUAL"}, []),
    ({"mode": "DISABLE"}, []),
    ({"mode": "SIMPLE", "insecureSkipVerify": True}, []),  # verification explicitly turned off
    ({"mode": "SIMPLE", "credentialName": "api-ca"}, ["IST0128"]),  # credentialName needs a workloadSelector
], ids=str)
def test_destination_level_tls(analyze, tls, expected):
    text = destination_rule({"host": "api.example.com", "trafficPolicy": {"tls": tls}})
    assert analyze(text, CA) == [(code, "DestinationRule shop/api") for code in expected]


def test_credential_name_with_workload_selector_is_clean(analyze):
    spec = {"host": "api.example.com", "workloadSelector": {"matchLabels": {"app": "egress"}},
            "trafficPolicy": {"tls": {"mode": "SIMPLE", "credentialName": "api-ca"}}}
    assert analyze(destination_rule(spec), CA) == []


def test_port_level_tls_is_ist0129(analyze):
    spec = {"host": "api.example.com", "trafficPolicy": {
        "tls": {"mode": "SIMPLE"},
        "portLevelSettings": [
            {"port": {"number": 443}, "tls": {"mode": "SIMPLE"}},
            {"port": {"number": 8443}, "tls": {"mode": "SIMPLE", "caCertificates": "/ca.pem"}},
            {"port": {"number": 9443}, "tls": {"mode": "MUTUAL"}},
        ]}}
    assert analyze(destination_rule(spec), CA) == [
        ("IST0128", "DestinationRule shop/api"),
        ("IST0129", "DestinationRule shop/api"),
        ("IST0129", "DestinationRule shop/api"),
    ]


def test_ca_message_names_mode_host_and_port(tmp_path):
    spec = {"host": "api.example.com", "trafficPolicy": {"portLevelSettings": [
        {"port": {"number": 443}, "tls": {"mode": "MUTUAL"}}]}}
    path = tmp_path / "dr.yaml"
    path.write_text(destination_rule(spec))
    [message] = run_analysis([load_files([str(path)])], select_analyzers([CA])).messages
    assert "MUTUAL" in message.text and "api.example.com" in message.text and "443" in message.text


def test_ca_suppression(analyze):
    quiet = ", annotations: {galley.istio.io/analyze-suppress: IST0128}"
    text = destination_rule({"host": "a.example.com", "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}, meta=quiet)
    assert analyze(text, CA) == []


# -- SubsetSelectPodAnalyzer ---------------------------------------------------------------------

SERVICE = """
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{name: http, port: 80}]}
"""


def pod(name, labels, namespace="shop", node=None):
    spec = {"containers": [{"name": "app", "image": "app"}]}
    if node:
        spec["nodeName"] = node
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}, labels: {labels}}}
spec: {spec}
"""


def subsets(*labels, host="api", namespace="shop", name="api", meta=""):
    spec = {"host": host, "subsets": [{"name": f"s{i}", "labels": lab} for i, lab in enumerate(labels)]}
    return destination_rule(spec, name=name, namespace=namespace, meta=meta)


API_V1 = pod("api-v1", {"app": "api", "version": "v1"})
OTHER_V2 = pod("other-v2", {"app": "other", "version": "v2"})


@pytest.mark.parametrize("docs, expected", [
    ([SERVICE, API_V1, subsets({"version": "v1"})], []),
    ([SERVICE, API_V1, subsets({"version": "v2"})], ["IST0173"]),
    # a pod with the label behind another Service does not count (stricter than Istio, which looks at all pods)
    ([SERVICE, API_V1, OTHER_V2, subsets({"version": "v2"})], ["IST0173"]),
    # a subset that contradicts the Service selector selects nothing
    ([SERVICE, API_V1, subsets({"app": "other"})], ["IST0173"]),
    # a subset without labels takes every pod of the Service
    ([SERVICE, API_V1, subsets({})], []),
    ([SERVICE, subsets({})], ["IST0173"]),
    # one message per subset that selects nothing
    ([SERVICE, API_V1, subsets({"version": "v1"}, {"version": "v2"}, {"version": "v3"})], ["IST0173", "IST0173"]),
    # the pod must be in the Service's namespace
    ([SERVICE, pod("api-v1", {"app": "api", "version": "v1"}, namespace="web"), subsets({"version": "v1"})],
     ["IST0173"]),
], ids=["selected", "unselected", "other-service", "contradiction", "no-labels", "no-pods", "per-subset",
        "other-namespace"])
def test_subsets_select_pods(analyze, docs, expected):
    assert analyze("".join(docs), SUBSETS) == [(code, "DestinationRule shop/api") for code in expected]


NODE = """
---
apiVersion: v1
kind: Node
metadata: {name: worker-1, labels: {topology.kubernetes.io/zone: zone-a, topology.kubernetes.io/region: eu}}
"""


@pytest.mark.parametrize("labels, expected", [
    ({"topology.kubernetes.io/zone": "zone-a"}, []),
    ({"topology.kubernetes.io/zone": "zone-b"}, ["IST0173"]),
    ({"kubernetes.io/hostname": "worker-1", "version": "v1"}, []),
], ids=["zone", "other-zone", "hostname"])
def test_subsets_may_select_node_topology(analyze, labels, expected):
    docs = SERVICE + NODE + pod("api-v1", {"app": "api", "version": "v1"}, node="worker-1") + subsets(labels)
    assert analyze(docs, SUBSETS) == [(code, "DestinationRule shop/api") for code in expected]


def test_workload_entries_back_a_service(analyze):
    entry = """
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: shop}
spec: {address: 10.0.0.5, labels: {app: api, version: vm}}
"""
    assert analyze(SERVICE + entry + subsets({"version": "vm"}), SUBSETS) == []


def test_deployment_templates_stand_in_for_pods_in_files(analyze):
    deployment = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: api, version: v1}}
  template:
    metadata: {labels: {app: api, version: v1}}
    spec: {containers: [{name: app, image: app}]}
"""
    assert analyze(SERVICE + deployment + subsets({"version": "v1"}), SUBSETS) == []
    assert analyze(SERVICE + deployment + subsets({"version": "v2"}), SUBSETS) == [
        ("IST0173", "DestinationRule shop/api")
    ]


def service_entry(spec):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: api-se, namespace: shop}}
spec: {spec}
"""


@pytest.mark.parametrize("se_spec, docs, labels, expected", [
    ({"hosts": ["api.internal"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
      "workloadSelector": {"labels": {"app": "api"}}}, [API_V1], {"version": "v1"}, []),
    ({"hosts": ["api.internal"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
      "workloadSelector": {"labels": {"app": "api"}}}, [API_V1], {"version": "v2"}, ["IST0173"]),
    ({"hosts": ["api.internal"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
      "endpoints": [{"address": "10.0.0.1", "labels": {"version": "v1"}}]}, [], {"version": "v1"}, []),
    ({"hosts": ["api.internal"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
      "endpoints": [{"address": "10.0.0.1", "labels": {"version": "v1"}}]}, [], {"version": "v2"}, ["IST0173"]),
    # an external host without endpoints: nothing to compare the subset with
    ({"hosts": ["api.internal"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
      "resolution": "DNS"}, [], {"version": "v2"}, []),
], ids=["selector-match", "selector-miss", "endpoint-match", "endpoint-miss", "external"])
def test_serviceentry_subsets(analyze, se_spec, docs, labels, expected):
    text = service_entry(se_spec) + "".join(docs) + subsets(labels, host="api.internal")
    assert analyze(text, SUBSETS) == [(code, "DestinationRule shop/api") for code in expected]


@pytest.mark.parametrize("host, expected", [
    ("api", []),
    ("api.shop.svc.cluster.local", []),
    ("ledger", ["IST0174"]),
    ("api.shop", ["IST0174"]),  # a dotted host is literal
    ("*.local", []),  # a wildcard covering known hosts
    ("*.nothing.test", ["IST0174"]),
], ids=str)
def test_unknown_destination_rule_host_is_ist0174(analyze, host, expected):
    text = SERVICE + API_V1 + destination_rule({"host": host})
    assert analyze(text, SUBSETS) == [(code, "DestinationRule shop/api") for code in expected]


def test_unknown_host_stops_the_subset_check(analyze):
    assert analyze(subsets({"version": "v9"}, host="ledger"), SUBSETS) == [("IST0174", "DestinationRule shop/api")]


def test_cross_namespace_destination_rule(analyze):
    text = SERVICE + API_V1 + subsets({"version": "v1"}, host="api.shop.svc.cluster.local", namespace="web")
    assert analyze(text, SUBSETS) == []


def test_subset_suppression(analyze):
    quiet = ", annotations: {galley.istio.io/analyze-suppress: 'IST0173,IST0174'}"
    assert analyze(SERVICE + subsets({"version": "v2"}, meta=quiet), SUBSETS) == []


def test_unknown_pods_say_nothing_about_subsets(tmp_path):
    assert analyze_without(tmp_path, SERVICE + subsets({"version": "v2"}), SUBSETS, (K.POD,)) == []


def test_unknown_services_say_nothing_about_hosts(tmp_path):
    assert analyze_without(tmp_path, subsets({"version": "v2"}, host="ledger"), SUBSETS, (K.SERVICE,)) == []


# -- several clusters ----------------------------------------------------------------------------

EAST_WEST = ("east", "west")


def test_subsets_count_pods_of_every_cluster(tmp_path):
    east = SERVICE + API_V1 + subsets({"version": "v1"}, {"version": "v2"}, {"version": "v3"})
    west = SERVICE + pod("api-v2", {"app": "api", "version": "v2"})
    messages = run_two_clusters(tmp_path, east, west, SUBSETS, names=EAST_WEST)
    assert [(m.cluster, m.code, m.origin, m.analyzer) for m in messages] == [
        ("east", "IST0173", "DestinationRule shop/api", SUBSETS)
    ]
    assert "s2" in messages[0].text  # v3: in neither cluster


def test_host_known_in_another_cluster(tmp_path):
    assert run_two_clusters(tmp_path, subsets({"version": "v1"}), SERVICE + API_V1, SUBSETS, names=EAST_WEST) == []
