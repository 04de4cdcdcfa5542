"""service.PortNameAnalyzer: IST0118 for ports whose protocol Istio cannot tell, IST0150 for ExternalName."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from tests.analysis.conftest import cluster_codes, run_on_demo

ANALYZER = "service.PortNameAnalyzer"


def service(ports, *, namespace="shop", name="cart", type_="ClusterIP", labels=None, extra_meta=""):
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
  labels: {labels or {}}
{extra_meta}
spec:
  type: {type_}
  selector: {{app: cart}}
  ports: {ports}
"""


@pytest.mark.parametrize("port", [
    {"name": "http", "port": 80},
    {"name": "http-api", "port": 80},
    {"name": "HTTP2-internal", "port": 80},
    {"name": "grpc-web-ui", "port": 80},
    {"name": "tcp-db", "port": 5432},
    {"name": "https", "port": 443},
    {"name": "api", "port": 80, "appProtocol": "http"},
    {"name": "api", "port": 80, "appProtocol": "kubernetes.io/h2c"},
    {"name": "dns", "port": 1053, "protocol": "UDP"},
    {"name": "db", "port": 3306},
    {"port": 53},
], ids=lambda p: str(p))
def test_ports_with_a_known_protocol_are_clean(analyze, port):
    assert analyze(service([port]), ANALYZER) == []


@pytest.mark.parametrize("port", [
    {"name": "api", "port": 8080, "targetPort": 8080},
    {"port": 8080},
    {"name": "web-api", "port": 80},
    # appProtocol replaces the name: an unknown appProtocol is not rescued by a good name
    {"name": "http", "port": 80, "appProtocol": "custom"},
], ids=lambda p: str(p))
def test_ports_without_protocol_are_ist0118(analyze, port):
    assert analyze(service([port]), ANALYZER) == [("IST0118", "Service shop/cart")]


def test_one_message_per_bad_port(analyze):
    ports = [{"name": "api", "port": 80}, {"name": "http", "port": 81}, {"name": "admin", "port": 82}]
    assert analyze(service(ports), ANALYZER) == [("IST0118", "Service shop/cart")] * 2


@pytest.mark.parametrize("port, expected", [
    ({"name": "api", "port": 80}, [("IST0150", "Service shop/cart")]),
    ({"name": "tcp", "port": 80}, [("IST0150", "Service shop/cart")]),
    ({"name": "tcp-db", "port": 80}, []),
    ({"name": "https", "port": 443}, []),
])
def test_externalname_services_get_ist0150(analyze, port, expected):
    assert analyze(service([port], type_="ExternalName"), ANALYZER) == expected


@pytest.mark.parametrize("text", [
    service([{"name": "dns", "port": 9153}], namespace="kube-system"),
    service([{"name": "dns", "port": 9153}], namespace="local-path-storage"),
    service([{"name": "api", "port": 80}], labels={"istio": "pilot"}),
    service([{"name": "api", "port": 80}], labels={"release": "istio"}),
    service([{"name": "mesh", "port": 15008}], labels={"gateway.istio.io/managed": "istio.io-mesh-controller"}),
    service([{"port": 54321}], extra_meta="  ownerReferences: [{apiVersion: inference.networking.k8s.io/v1, "
                                          "kind: InferencePool, name: pool, uid: x}]"),
], ids=["kube-system", "local-path-storage", "istio-label", "release-istio", "istio-gateway", "inferencepool-shadow"])
def test_system_control_plane_and_istio_generated_services_are_skipped(analyze, text):
    assert analyze(text, ANALYZER) == []


def test_suppress_annotation_silences_the_code(analyze):
    text = service([{"name": "api", "port": 80}],
                   extra_meta="  annotations: {galley.istio.io/analyze-suppress: IST0118}")
    assert analyze(text, ANALYZER) == []


def test_message_names_port_and_target_port(tmp_path):
    from meshctl.kube.files import load_files

    path = tmp_path / "svc.yaml"
    path.write_text(service([{"name": "api", "port": 8080, "targetPort": "web"}]))
    [message] = run_analysis([load_files([str(path)])], select_analyzers([ANALYZER])).messages
    assert "api" in message.text and "8080" in message.text and "web" in message.text


def test_demo_snapshot_flags_only_the_ledger_port():
    assert cluster_codes(run_on_demo([ANALYZER])) == [
        ("cluster1", "IST0118", "Service payments/ledger"),
    ]
