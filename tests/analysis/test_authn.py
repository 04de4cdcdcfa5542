"""authn.BlockedCIDRsAnalyzer: IST0175 when a JWKS URI makes istiod fetch from a non-public address."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "authn.BlockedCIDRsAnalyzer"
RA = ("IST0175", "RequestAuthentication frontend/jwt")


def request_authn(rule: str, namespace="frontend", annotations="{}"):
    return f"""
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {{name: jwt, namespace: {namespace}, annotations: {annotations}}}
spec:
  jwtRules:
  - {rule}
"""


def istiod(blocked: str | None = None, name="istiod"):
    env = f"\n        env: [{{name: BLOCKED_CIDRS_IN_JWKS_URIS, value: '{blocked}'}}]" if blocked is not None else ""
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: istio-system, labels: {{app: istiod}}}}
spec:
  selector: {{matchLabels: {{app: istiod}}}}
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec:
      containers:
      - name: discovery
        image: pilot:1.30.3{env}
"""


KEYCLOAK = """
---
apiVersion: v1
kind: Service
metadata: {name: keycloak, namespace: auth}
spec: {clusterIP: 10.96.0.20, selector: {app: keycloak}, ports: [{name: http, port: 8080}]}
"""

CASES = [
    ("private IP", "{issuer: a, jwksUri: 'https://10.0.0.5/keys'}", "", [RA]),
    ("loopback IP and port", "{issuer: a, jwksUri: 'http://127.0.0.1:8080/keys'}", "", [RA]),
    ("IPv6 link-local", "{issuer: a, jwksUri: 'https://[fe80::1]/keys'}", "", [RA]),
    ("metadata endpoint", "{issuer: a, jwksUri: 'http://169.254.169.254/latest'}", "", [RA]),
    ("localhost", "{issuer: a, jwksUri: 'https://localhost/keys'}", "", [RA]),
    ("public host name", "{issuer: a, jwksUri: 'https://login.example.com/keys'}", "", []),
    ("public IP", "{issuer: a, jwksUri: 'https://8.8.8.8/keys'}", "", []),
    ("in-cluster Service in another namespace", "{issuer: a, jwksUri: 'http://keycloak.auth.svc.cluster.local:8080/k'}",
     KEYCLOAK, [RA]),
    ("short in-cluster name", "{issuer: a, jwksUri: 'http://keycloak.auth:8080/k'}", KEYCLOAK, [RA]),
    ("in-cluster name of a Service the input lacks", "{issuer: a, jwksUri: 'http://keycloak.auth.svc/k'}", "", [RA]),
    ("issuer discovery at a private address", "{issuer: 'https://10.1.2.3/realms/x'}", "", [RA]),
    ("issuer that is not a URL", "{issuer: testing@secure.istio.io}", "", []),
    ("inline keys are not fetched", "{issuer: a, jwksUri: 'https://10.0.0.5/keys', jwks: '{\"keys\": []}'}", "", []),
    ("istiod blocks the range", "{issuer: a, jwksUri: 'https://10.0.0.5/keys'}", istiod("10.0.0.0/8"), []),
    ("istiod blocks another range", "{issuer: a, jwksUri: 'https://127.0.0.1/keys'}", istiod("10.0.0.0/8"), [RA]),
    ("istiod without a block list", "{issuer: a, jwksUri: 'https://10.0.0.5/keys'}", istiod(), [RA]),
    ("istiod blocks the Service's cluster IP", "{issuer: a, jwksUri: 'http://keycloak.auth.svc:8080/k'}",
     KEYCLOAK + istiod("10.96.0.0/12"), []),
    ("one of two revisions does not block", "{issuer: a, jwksUri: 'https://10.0.0.5/keys'}",
     istiod("10.0.0.0/8") + istiod(None, name="istiod-canary"), [RA]),
]


@pytest.mark.parametrize("rule, extra, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_jwks_uri(analyze, rule, extra, expected):
    assert analyze(request_authn(rule) + extra, NAME) == expected


def test_message_names_the_uri(tmp_path):
    path = tmp_path / "ra.yaml"
    path.write_text(request_authn("{issuer: a, jwksUri: 'https://10.0.0.5/keys'}"))
    [message] = run_on_files([str(path)], NAME)
    assert message.text == "The jwksUri https://10.0.0.5/keys points to a non-public address, reachable from istiod."


def test_each_rule_is_checked(analyze):
    text = request_authn("{issuer: a, jwksUri: 'https://10.0.0.5/keys'}\n  - {issuer: b, jwksUri: 'https://[::1]/k'}")
    assert analyze(text, NAME) == [RA, RA]


def test_suppression_annotation(analyze):
    text = request_authn("{issuer: a, jwksUri: 'https://10.0.0.5/keys'}",
                         annotations="{galley.istio.io/analyze-suppress: IST0175}")
    assert analyze(text, NAME) == []


def test_without_deployments_istio_default_applies(tmp_path):
    # istiod's Deployment cannot be read: its default is no block list, so the fetch is possible.
    text = request_authn("{issuer: a, jwksUri: 'https://10.0.0.5/keys'}") + istiod("10.0.0.0/8")
    assert analyze_without(tmp_path, text, NAME, ()) == []
    assert analyze_without(tmp_path, text, NAME, (K.DEPLOYMENT,)) == [RA]
