"""k8sgateway.*: checks on Gateway API gateways: ineffective policy selectors, CRD bundle versions."""

from __future__ import annotations

import re
from collections import defaultdict

from meshctl.analysis.common import K8S_GATEWAY_NAME_LABEL, has_target_refs, string_map
from meshctl.analysis.framework import Analyzer, Context, analyzer, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
# The lowest Gateway API bundle each CRD must come from for Istio 1.30's istiod to watch it; istiod
# silently ignores an older CRD (e.g. TLSRoute from v1.4: TLS passthrough listeners get no routes).
MINIMUM_BUNDLE = {
    "grpcroutes.gateway.networking.k8s.io": (1, 1, 0),
    "backendtlspolicies.gateway.networking.k8s.io": (1, 4, 0),
    "tlsroutes.gateway.networking.k8s.io": (1, 5, 0),
}
SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# Policies that pick workloads with a selector, which a Gateway API gateway's pods ignore.
SELECTOR_POLICIES = (K.AUTHORIZATION_POLICY, K.REQUEST_AUTHENTICATION, K.TELEMETRY, K.WASM_PLUGIN)


def bundle_version(text: str) -> tuple[int, int, int] | None:
    """``v1.5.1``, ``1.5`` or ``v1.5.0-rc.1`` as (major, minor, patch), the pre-release dropped; None if not a version."""
    match = SEMVER.match(text.strip())
    if not match:
        return None
    major, minor, patch = (int(part or 0) for part in match.groups())
    return major, minor, patch


@analyzer
class SelectorAnalyzer(Analyzer):
    """IST0166: a policy selects a Gateway API gateway's pods by label, which has no effect there.

    Policies reach such gateways only through ``targetRefs``; a policy that has them is skipped.
    """

    name = "k8sgateway.SelectorAnalyzer"
    description = "Checks for policies that select Gateway API gateway pods with a selector instead of targetRefs"
    inputs = (*SELECTOR_POLICIES, K.POD)
    codes = ("IST0166",)

    def analyze(self, ctx: Context) -> None:
        gateway_pods: dict[str, list[Resource]] = defaultdict(list)  # namespace -> pods of gateways
        for pod in ctx.resources(K.POD):
            if K8S_GATEWAY_NAME_LABEL in pod.labels:
                gateway_pods[pod.namespace].append(pod)
        if not gateway_pods:
            return
        for kind in SELECTOR_POLICIES:
            for policy in ctx.resources(kind):
                if has_target_refs(policy):
                    continue
                selector = policy.spec.get("selector")
                if not isinstance(selector, dict):
                    continue
                labels = string_map(selector.get("matchLabels"))
                gateways = sorted({
                    pod.labels[K8S_GATEWAY_NAME_LABEL]
                    for pod in gateway_pods.get(policy.namespace, [])
                    if selector_matches(labels, pod.labels)
                })
                for gateway in gateways:
                    ctx.report("IST0166", policy, gateway, field_path="spec.selector")


@analyzer
class CRDVersionAnalyzer(Analyzer):
    name = "k8sgateway.CRDVersionAnalyzer"
    description = "Checks that Gateway API CRDs come from a bundle version this Istio can watch"
    inputs = (K.CRD,)
    codes = ("IST0176",)

    def analyze(self, ctx: Context) -> None:
        for crd in ctx.resources(K.CRD):
            minimum = MINIMUM_BUNDLE.get(crd.name)
            text = crd.annotations.get(BUNDLE_VERSION)
            if minimum is None or not isinstance(text, str):
                continue  # no annotation: istiod logs that itself
            installed = bundle_version(text)
            if installed is not None and installed < minimum:
                ctx.report("IST0176", crd, crd.name, text, "v" + ".".join(map(str, minimum)),
                           field_path=f"metadata.annotations[{BUNDLE_VERSION}]")

