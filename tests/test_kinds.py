import pytest

from meshctl.errors import UsageError
from meshctl.kube import kinds as K
from meshctl.kube.kinds import REGISTRY


@pytest.mark.parametrize(
    "name, kind",
    [
        ("deploy", K.DEPLOYMENT),
        ("deployments.apps", K.DEPLOYMENT),
        ("Deployment", K.DEPLOYMENT),
        ("vs", K.VIRTUAL_SERVICE),
        ("virtualservices.networking.istio.io", K.VIRTUAL_SERVICE),
        ("gw", K.ISTIO_GATEWAY),
        ("gtw", K.GATEWAY),
        ("Gateway.networking.istio.io", K.ISTIO_GATEWAY),
        ("gateways.gateway.networking.k8s.io", K.GATEWAY),
        ("gateway", K.GATEWAY),  # the bare name goes to the first registered: Gateway API
        ("infpool", K.INFERENCE_POOL),
        ("inferencepools.inference.networking.x-k8s.io", K.INFERENCE_POOL_X),
        ("InferenceObjective.llm-d.ai", K.INFERENCE_OBJECTIVE),
        ("ns", K.NAMESPACE),
        ("  Pods ", K.POD),
    ],
)
def test_lookup_accepts_kubectl_names(name, kind):
    assert REGISTRY.lookup(name) is kind


def test_lookup_unknown_kind_is_a_usage_error_with_hint():
    with pytest.raises(UsageError) as info:
        REGISTRY.lookup("frobnicators")
    assert "frobnicators" in info.value.message and info.value.hint


@pytest.mark.parametrize("api_version", ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"])
def test_every_served_version_maps_to_one_kind(api_version):
    assert REGISTRY.for_object(api_version, "VirtualService") is K.VIRTUAL_SERVICE


def test_unknown_kind_in_a_manifest_gets_an_ad_hoc_kind():
    kind = REGISTRY.for_object("example.com/v1", "Widget")
    assert (kind.group, kind.version, kind.kind, kind.known) == ("example.com", "v1", "Widget", False)


def test_resource_names_are_unique_and_core_kinds_have_no_group():
    names = [k.resource for k in K.ALL_KINDS]
    assert len(names) == len(set(names))
    assert K.POD.resource == "pods" and K.POD.api_version == "v1"
    assert K.DEPLOYMENT.api_version == "apps/v1"


def test_registry_covers_the_groups_meshctl_reads():
    groups = {k.group for k in K.ALL_KINDS}
    for group in ("", "apps", "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
                  "gateway.networking.k8s.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io",
                  "extensions.istio.io", "inference.networking.k8s.io", "inference.networking.x-k8s.io",
                  "llm-d.ai", "agentgateway.dev"):
        assert group in groups, group
