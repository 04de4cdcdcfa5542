"""Version facts: resolving --istio-version and what each Istio minor pairs with."""

from __future__ import annotations

import pytest

from meshctl.errors import ExitCode, UsageError
from meshctl.install import versions as v


@pytest.mark.parametrize("text, expected", [
    ("1.30", "1.30.3"),
    ("1.28", "1.28.10"),
    ("1.29", "1.29.8"),
    ("1.31", "1.31.1"),
    ("1.30.3", "1.30.3"),
    ("1.30.5", "1.30.5"),
    ("1.28.0", "1.28.0"),
    (" v1.29.2 ", "1.29.2"),
    ("1.31.0-rc.1", "1.31.0-rc.1"),
    ("1.030.03", "1.30.3"),
])
def test_resolve_istio_version(text, expected):
    assert v.resolve_istio_version(text) == expected


def test_default_version_is_a_supported_pin():
    assert v.resolve_istio_version(v.DEFAULT_ISTIO_VERSION) == v.DEFAULT_ISTIO_VERSION
    assert v.PINNED_PATCHES[v.minor_of(v.DEFAULT_ISTIO_VERSION)] == v.DEFAULT_ISTIO_VERSION
    assert tuple(v.PINNED_PATCHES) == v.SUPPORTED_MINORS == ("1.28", "1.29", "1.30", "1.31")


@pytest.mark.parametrize("text", ["1.27", "1.27.9", "1.32.0", "2.30", "0.30.1"])
def test_unsupported_versions_are_usage_errors_listing_the_supported_ones(text):
    with pytest.raises(UsageError) as info:
        v.resolve_istio_version(text)
    assert info.value.exit_code == ExitCode.USAGE
    assert "not supported" in info.value.message and text in info.value.message
    for minor in v.SUPPORTED_MINORS:
        assert minor in info.value.hint


@pytest.mark.parametrize("text", ["", "abc", "1", "1.30.x", "1.30.3.4", "latest", "1..30"])
def test_malformed_versions_are_usage_errors(text):
    with pytest.raises(UsageError) as info:
        v.resolve_istio_version(text)
    assert "is not a version" in info.value.message
    assert "1.28" in info.value.hint and "1.31" in info.value.hint


@pytest.mark.parametrize("version, gateway_api", [
    ("1.28.10", "v1.4.0"), ("1.29", "v1.4.0"), ("1.30.3", "v1.5.1"), ("1.31.0", "v1.6.0"),
])
def test_gateway_api_version(version, gateway_api):
    assert v.gateway_api_version(version) == gateway_api


@pytest.mark.parametrize("version, hub", [
    ("1.28.10", "docker.io/istio"), ("1.29.3", "docker.io/istio"),
    ("1.30.3", "registry.istio.io/release"), ("1.31", "registry.istio.io/release"),
])
def test_default_hub(version, hub):
    assert v.default_hub(version) == hub


@pytest.mark.parametrize("version, minimum", [
    ("1.28.0", (1, 29)), ("1.28.1", (1, 29)), ("1.28.2", (1, 30)), ("1.28", (1, 30)),
    ("1.29.0", (1, 30)), ("1.30.3", (1, 32)), ("1.31", (1, 32)),
])
def test_min_kubernetes(version, minimum):
    assert v.min_kubernetes(version) == minimum


def test_pairings_refuse_unsupported_versions():
    with pytest.raises(UsageError):
        v.gateway_api_version("1.27.0")
    with pytest.raises(UsageError):
        v.min_kubernetes("1.32")


def test_inference_extension_version():
    assert v.INFERENCE_EXTENSION_VERSION == "v1.6.0"


@pytest.mark.parametrize("text, tag", [("v1.5.1", "v1.5.1"), ("1.5.1", "v1.5.1"), ("v1.6.0-rc.2", "v1.6.0-rc.2")])
def test_release_tag(text, tag):
    assert v.release_tag(text, "--gateway-api-version") == tag


@pytest.mark.parametrize("text", ["v1.5", "main", "", "v1.5.1/../x"])
def test_release_tag_refuses_anything_else(text):
    with pytest.raises(UsageError) as info:
        v.release_tag(text, "--gateway-api-version")
    assert "--gateway-api-version" in info.value.message
