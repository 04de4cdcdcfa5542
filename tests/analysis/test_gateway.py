"""gateway.IngressGatewayPortAnalyzer (IST0162), CertificateAnalyzer (IST0138), SecretAnalyzer (IST0101,
IST0161) and ConflictingGatewayAnalyzer (IST0145, IST0101), on Istio (networking.istio.io) Gateways.

The certificates under testdata/analyze/gateway/ are public test certificates made with openssl:
valid.crt (2026-2126), expired.crt (2020-2021) and future.crt (2120-2121). No private key is kept.
"""

import base64
import json
from datetime import datetime, timezone

import pytest

from meshctl.analysis.analyzers.gateway import certificate_problem
from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from meshctl.kube.state import SourceInfo
from tests.analysis.conftest import ANALYZE_DATA, analyze_without, codes

PORTS = "gateway.IngressGatewayPortAnalyzer"
CERTS = "gateway.CertificateAnalyzer"
SECRETS = "gateway.SecretAnalyzer"
CONFLICTS = "gateway.ConflictingGatewayAnalyzer"
DATA = ANALYZE_DATA / "gateway"

INGRESS = """
---
apiVersion: v1
kind: Pod
metadata: {name: ingress-1, namespace: istio-ingress, labels: {istio: ingressgateway, app: ingress}}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: istio-ingress}
spec:
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443}
  - {name: dns, port: 53, protocol: UDP}
"""


def gateway(name="public", namespace="edge", selector=None, servers=None, meta=""):
    selector = {"istio": "ingressgateway"} if selector is None else selector
    servers = servers if servers is not None else [server(8080)]
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec: {{selector: {selector}, servers: {servers}}}
"""


def server(port, hosts=("*.example.com",), tls=None, bind=None):
    out = {"port": {"number": port, "name": f"p{port}", "protocol": "HTTPS" if tls else "HTTP"}, "hosts": list(hosts)}
    if tls:
        out["tls"] = tls
    if bind:
        out["bind"] = bind
    return out


# -- IngressGatewayPortAnalyzer ------------------------------------------------------------------


@pytest.mark.parametrize("ports, expected", [
    ([8080], []),  # the Service's targetPort is where the gateway listens
    ([443], []),  # no targetPort: the port itself
    ([80], ["IST0162"]),  # the Service port, not what the pod listens on
    ([53], ["IST0162"]),  # UDP does not count
    ([8080, 9000, 9000], ["IST0162"]),  # one message per missing port
], ids=str)
def test_gateway_ports_need_a_service(analyze, ports, expected):
    text = INGRESS + gateway(servers=[server(p) for p in ports])
    assert analyze(text, PORTS) == [(code, "Gateway edge/public") for code in expected]


def test_service_of_another_namespace_does_not_count(analyze):
    text = INGRESS.replace("namespace: istio-ingress}\nspec:", "namespace: elsewhere}\nspec:")
    assert analyze(text + gateway(), PORTS) == [("IST0162", "Gateway edge/public")]


def test_gateway_without_pods_is_left_to_the_conflict_analyzer(analyze):
    assert analyze(INGRESS + gateway(selector={"istio": "egress"}), PORTS) == []


def test_ports_unknown_without_services(tmp_path):
    assert analyze_without(tmp_path, INGRESS + gateway(servers=[server(80)]), PORTS, (K.SERVICE,)) == []


# -- CertificateAnalyzer -------------------------------------------------------------------------

CRED = {"mode": "SIMPLE", "credentialName": "shop-cert"}


@pytest.mark.parametrize("docs, expected", [
    ([gateway("a", servers=[server(443, tls=CRED)]), gateway("b", servers=[server(443, ["b.test"], tls=CRED)])],
     ["Gateway edge/a", "Gateway edge/b"]),
    ([gateway("a", servers=[server(443, tls=CRED)]),
      gateway("b", servers=[server(443, tls={"mode": "SIMPLE", "credentialName": "other"})])], []),
    # a's selector is within b's: a shares b's workload, not the other way round
    ([gateway("a", servers=[server(443, tls=CRED)]),
      gateway("b", selector={"istio": "ingressgateway", "app": "ingress"}, servers=[server(443, tls=CRED)])],
     ["Gateway edge/a"]),
    ([gateway("a", servers=[server(443, tls=CRED)]),
      gateway("b", selector={"istio": "other"}, servers=[server(443, tls=CRED)])], []),
    # certificate files: the same pair of paths
    ([gateway("a", servers=[server(443, tls={"mode": "SIMPLE", "serverCertificate": "/c", "privateKey": "/k"})]),
      gateway("b", servers=[server(8443, tls={"mode": "SIMPLE", "serverCertificate": "/c", "privateKey": "/k"})])],
     ["Gateway edge/a", "Gateway edge/b"]),
    ([gateway("a"), gateway("b")], []),  # no TLS at all
], ids=["same-credential", "other-credential", "subset-selector", "other-workload", "same-files", "no-tls"])
def test_duplicate_certificates(analyze, docs, expected):
    assert analyze("".join(docs), CERTS) == [("IST0138", origin) for origin in expected]


# -- SecretAnalyzer ------------------------------------------------------------------------------


def secret(name="shop-cert", namespace="istio-ingress", data=None, string_data=None, type_="kubernetes.io/tls"):
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "type": type_}
    if data is not None:
        doc["data"] = data
    if string_data is not None:
        doc["stringData"] = string_data
    return f"\n---\n{json.dumps(doc)}\n"  # JSON: valid YAML that keeps the PEM line breaks


def tls_data(cert_file, cert_key="tls.crt", key_key="tls.key"):
    pem = (DATA / cert_file).read_bytes()
    return {cert_key: base64.b64encode(pem).decode(), key_key: base64.b64encode(b"not checked").decode()}


TLS_GATEWAY = gateway(servers=[server(443, tls=CRED)])


@pytest.mark.parametrize("docs, expected", [
    ([secret(data=tls_data("valid.crt"))], []),
    ([secret(data=tls_data("valid.crt", "cert", "key"), type_="Opaque")], []),
    ([secret(string_data={"tls.crt": (DATA / "valid.crt").read_text(), "tls.key": "x"})], []),
    ([], ["IST0101"]),
    # the Secret must sit with the gateway pods, not with the Gateway object
    ([secret(namespace="edge", data=tls_data("valid.crt"))], ["IST0101"]),
    ([secret(data=tls_data("expired.crt"))], ["IST0161"]),
    ([secret(data=tls_data("future.crt"))], ["IST0161"]),
    ([secret(data={"tls.crt": base64.b64encode(b"garbage").decode(), "tls.key": "eA=="})], ["IST0161"]),
    ([secret(data={"ca.crt": base64.b64encode((DATA / "valid.crt").read_bytes()).decode()})], ["IST0161"]),
    ([secret(data={"tls.crt": "", "tls.key": ""})], ["IST0161"]),
], ids=["valid", "generic-keys", "string-data", "missing", "gateway-namespace", "expired", "not-yet-valid",
        "not-pem", "wrong-keys", "empty"])
def test_gateway_credentials(analyze, docs, expected):
    text = INGRESS + TLS_GATEWAY + "".join(docs)
    assert analyze(text, SECRETS) == [(code, "Gateway edge/public") for code in expected]


def test_credential_name_with_namespace(analyze):
    tls = {"mode": "SIMPLE", "credentialName": "certs/shop-cert"}
    text = INGRESS + gateway(servers=[server(443, tls=tls)]) + secret(namespace="certs", data=tls_data("valid.crt"))
    assert analyze(text, SECRETS) == []


def test_expired_credential_message_says_when(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(INGRESS + TLS_GATEWAY + secret(data=tls_data("expired.crt")))
    [message] = run_analysis([load_files([str(path)])], select_analyzers([SECRETS])).messages
    assert "expired on 2021-01-01" in message.text and "istio-ingress" in message.text


def test_snapshot_secrets_are_checked_by_key_names_only(tmp_path):
    # A snapshot keeps a Secret's keys with empty values: they are not "empty keys".
    path = tmp_path / "in.yaml"
    path.write_text(INGRESS + TLS_GATEWAY + secret(data={"tls.crt": "", "tls.key": ""})
                    + secret(name="bad", data={"ca.crt": ""})
                    + gateway("other", servers=[server(443, tls={"mode": "SIMPLE", "credentialName": "bad"})]))
    state = load_files([str(path)])
    state.info = SourceInfo("snapshot", "snap", "c1")
    assert codes(run_analysis([state], select_analyzers([SECRETS])).messages) == [("IST0161", "Gateway edge/other")]


def test_secrets_unknown(tmp_path):
    assert analyze_without(tmp_path, INGRESS + TLS_GATEWAY, SECRETS, (K.SECRET,)) == []


@pytest.mark.parametrize("pem, problem", [
    ("", "not PEM"),
    ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY, not a CERTIFICATE"),
    ("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n", "cannot be parsed"),
    ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "cannot be parsed"),
], ids=["empty", "key", "short-der", "bad-base64"])
def test_certificate_problems(pem, problem):
    assert problem in certificate_problem(pem, datetime.now(timezone.utc))


def test_certificate_validity_window():
    pem = (DATA / "expired.crt").read_text()
    assert certificate_problem(pem, datetime(2020, 6, 1, tzinfo=timezone.utc)) == ""
    assert "expired" in certificate_problem(pem, datetime(2021, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    assert "not valid before" in certificate_problem(pem, datetime(2019, 12, 31, tzinfo=timezone.utc))


# -- ConflictingGatewayAnalyzer ------------------------------------------------------------------


@pytest.mark.parametrize("docs, expected", [
    ([gateway("a"), gateway("b", namespace="other")],
     [("IST0145", "Gateway edge/a"), ("IST0145", "Gateway other/b")]),
    ([gateway("a"), gateway("b", servers=[server(8081)])], []),  # another port
    ([gateway("a"), gateway("b", servers=[server(8080, ["shop.example.com"])])], []),  # another host
    ([gateway("a", servers=[server(8080, bind="10.0.0.1")]), gateway("b")], []),  # another bind address
    # two different selectors that pick the same pod
    ([gateway("a"), gateway("b", selector={"app": "ingress"})],
     [("IST0145", "Gateway edge/a"), ("IST0145", "Gateway edge/b")]),
    # b's selector matches no pod: IST0101 for it, and no conflict
    ([gateway("a"), gateway("b", selector={"istio": "ingressgateway", "app": "other"})],
     [("IST0101", "Gateway edge/b")]),
    ([gateway("a")], []),
], ids=["same", "other-port", "other-host", "other-bind", "overlapping-selectors", "no-pods", "single"])
def test_conflicting_gateways(analyze, docs, expected):
    assert analyze(INGRESS + "".join(docs), CONFLICTS) == expected


def test_disjoint_selectors_do_not_conflict(analyze):
    other_pod = INGRESS.replace("name: ingress-1", "name: ingress-2").replace("app: ingress}", "app: other}")
    text = INGRESS + other_pod.split("---\napiVersion: v1\nkind: Service")[0]
    text += gateway("a", selector={"app": "ingress"}) + gateway("b", selector={"app": "other"})
    assert analyze(text, CONFLICTS) == []


def test_selector_without_pods_is_ist0101(analyze):
    assert analyze(INGRESS + gateway(selector={"istio": "egress"}), CONFLICTS) == [("IST0101", "Gateway edge/public")]
    assert analyze(INGRESS + gateway(selector={}), CONFLICTS) == []  # an empty selector picks every pod


def test_conflict_message(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(INGRESS + gateway("a") + gateway("b") + gateway("c"))
    messages = run_analysis([load_files([str(path)])], select_analyzers([CONFLICTS])).messages
    assert [m.text for m in messages if m.name == "a"] == [
        "Gateways edge/b,edge/c conflict: same workload selector istio=ingressgateway, port 8080 and hosts "
        "*.example.com."
    ]


def test_unknown_pods_keep_equal_selectors_in_conflict(tmp_path):
    text = gateway("a", selector={"istio": "egress"}) + gateway("b", selector={"istio": "egress"})
    found = analyze_without(tmp_path, text, CONFLICTS, (K.POD,))
    assert found == [("IST0145", "Gateway edge/a"), ("IST0145", "Gateway edge/b")]


def test_conflict_suppression(analyze):
    quiet = ", annotations: {galley.istio.io/analyze-suppress: IST0145}"
    assert analyze(INGRESS + gateway("a", meta=quiet) + gateway("b"), CONFLICTS) == [("IST0145", "Gateway edge/b")]
