"""Files rarely hold Pods: in offline analysis a Deployment's pod template stands in for its pods when
judging whether a selector matches anything (IST0127 for AuthorizationPolicy and Sidecar, IST0101 for
Telemetry). On a live cluster only real pods count."""

import pytest

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec: {containers: [{name: web, image: web:1}]}
"""

POLICIES = {
    "auth.AuthorizationPoliciesAnalyzer": ("AuthorizationPolicy", "security.istio.io/v1",
                                           "{{selector: {{matchLabels: {labels}}}, action: ALLOW}}", "IST0127"),
    "sidecar.SelectorAnalyzer": ("Sidecar", "networking.istio.io/v1", "{{workloadSelector: {{labels: {labels}}}}}",
                                 "IST0127"),
    "telemetry.SelectorAnalyzer": ("Telemetry", "telemetry.istio.io/v1", "{{selector: {{matchLabels: {labels}}}}}",
                                   "IST0101"),
}


def policy(analyzer: str, labels: str) -> str:
    kind, api_version, spec, _ = POLICIES[analyzer]
    return f"\n---\napiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: p, namespace: shop}}\nspec: " \
           + spec.format(labels=labels) + "\n"


@pytest.mark.parametrize("analyzer", sorted(POLICIES))
def test_selector_matching_a_deployment_template_is_not_reported_offline(analyze, analyzer):
    assert analyze(DEPLOYMENT + policy(analyzer, "{app: web}"), analyzer) == []


@pytest.mark.parametrize("analyzer", sorted(POLICIES))
def test_selector_matching_no_template_is_still_reported(analyze, analyzer):
    kind, _, _, code = POLICIES[analyzer]
    assert analyze(DEPLOYMENT + policy(analyzer, "{app: gone}"), analyzer) == [(code, f"{kind} shop/p")]
