"""The live source against the fake API server, through the real kubernetes client over HTTP."""

import pytest
import yaml

from meshctl.errors import ClusterUnavailableError, ExitCode, InputError, NotCapturedError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.live import PAGE_SIZE, open_live
from tests.conftest import configmap
from tests.fakekube import FakeKube, write_kubeconfig


@pytest.fixture
def kubeconfig(kube, tmp_path):
    return str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))


def live(kubeconfig, *contexts):
    return open_live(list(contexts) or None, kubeconfig)[0]


def lists_of(kube, resource_path):
    return [r for r in kube.requests if r.method == "GET" and r.path == resource_path]


def test_list_paginates_and_reads_each_kind_once(kube, kubeconfig):
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    kube.add_all(configmap(f"cm-{i:04d}", "team" if i % 2 else "default", {"n": str(i % 3)}) for i in range(1200))
    state = live(kubeconfig)
    kube.clear_requests()
    items = state.list(K.CONFIG_MAP)
    assert len(items) == 1200 and len({r.key for r in items}) == 1200
    pages = lists_of(kube, "/api/v1/configmaps")
    assert len(pages) == -(-1200 // PAGE_SIZE)
    assert all(p.query.get("limit") == str(PAGE_SIZE) for p in pages)
    # Later reads of the same kind, in any namespace or with labels, answer from what was read.
    assert len(state.list(K.CONFIG_MAP, "team")) == 600
    assert len(state.list(K.CONFIG_MAP, labels={"n": "1"})) == 400
    assert state.get(K.CONFIG_MAP, "cm-0007", "team").name == "cm-0007"
    assert len(kube.requests) == len(pages)


def test_items_carry_api_version_and_kind(kube, kubeconfig):
    kube.add(configmap("x"))
    item = live(kubeconfig).list(K.CONFIG_MAP, "default")[0]
    assert (item.raw["apiVersion"], item.raw["kind"]) == ("v1", "ConfigMap")


def test_namespace_list_reads_only_that_namespace(kube, kubeconfig):
    kube.add(configmap("x"))
    state = live(kubeconfig)
    kube.clear_requests()
    assert [r.name for r in state.list(K.CONFIG_MAP, "default")] == ["x"]
    assert [r.path for r in kube.requests] == ["/api/v1/namespaces/default/configmaps"]


def test_get_without_a_list_is_one_get(kube, kubeconfig):
    kube.add(configmap("x"))
    state = live(kubeconfig)
    kube.clear_requests()
    assert state.get(K.CONFIG_MAP, "x", "default").name == "x"
    assert state.get(K.CONFIG_MAP, "nope", "default") is None
    assert [r.path for r in kube.requests] == ["/api/v1/namespaces/default/configmaps/x",
                                               "/api/v1/namespaces/default/configmaps/nope"]


def crd(group, kind, plural, versions, scope="Namespaced"):
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": scope,
                 "versions": [{"name": v, "served": True, "storage": i == 0} for i, v in enumerate(versions)]},
    }


def test_absent_crd_means_not_captured_not_empty(kube, kubeconfig):
    state = live(kubeconfig)
    assert not state.serves(K.INFERENCE_POOL)
    with pytest.raises(NotCapturedError, match="does not serve inferencepools.inference.networking.k8s.io"):
        state.list(K.INFERENCE_POOL)
    kube.add(crd("inference.networking.k8s.io", "InferencePool", "inferencepools", ["v1"]))
    fresh = live(kubeconfig)
    assert fresh.serves(K.INFERENCE_POOL) and fresh.list(K.INFERENCE_POOL) == []


def test_reads_an_older_served_version_when_the_preferred_one_is_absent(kube, kubeconfig):
    kube.add(crd("gateway.networking.k8s.io", "Gateway", "gateways", ["v1beta1"]))
    kube.add({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
              "metadata": {"name": "gw", "namespace": "default"}, "spec": {"gatewayClassName": "istio"}})
    [gw] = live(kubeconfig).list(K.GATEWAY)
    assert gw.raw["apiVersion"] == "gateway.networking.k8s.io/v1beta1"


def test_discovery_is_read_once_per_group_version(kube, kubeconfig):
    kube.add(crd("networking.istio.io", "VirtualService", "virtualservices", ["v1", "v1beta1"]))
    kube.add(crd("networking.istio.io", "DestinationRule", "destinationrules", ["v1"]))
    state = live(kubeconfig)
    kube.clear_requests()
    state.list(K.VIRTUAL_SERVICE)
    state.list(K.DESTINATION_RULE)
    state.serves(K.SERVICE_ENTRY)
    paths = [r.path for r in kube.requests]
    assert paths.count("/apis") == 1 and paths.count("/apis/networking.istio.io/v1") == 1


def test_wrong_token_is_unavailable_69_without_leaking_it(kube, kubeconfig, tmp_path):
    kube.token = "right-token"
    config = yaml.safe_load(open(kubeconfig))
    config["users"][0]["user"] = {"token": "wrong-token-s3cr3t"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    with pytest.raises(ClusterUnavailableError) as info:
        open_live(None, str(bad))
    err = info.value
    assert err.exit_code == ExitCode.UNAVAILABLE
    assert "context cluster1" in err.message and "401" in err.message
    assert "s3cr3t" not in err.message + (err.hint or "") and "right-token" not in err.message


def test_forbidden_list_names_the_kind(kube, kubeconfig):
    kube.deny(verb="list", resource="secrets")
    state = live(kubeconfig)
    with pytest.raises(ClusterUnavailableError, match="not allowed to list secrets") as info:
        state.list(K.SECRET)
    assert "RBAC" in info.value.hint


def test_unreachable_server_is_69_with_context_and_hint(kube, kubeconfig):
    kube.stop()
    with pytest.raises(ClusterUnavailableError) as info:
        open_live(None, kubeconfig)
    assert "context cluster1: cannot reach the API server at http://127.0.0.1:" in info.value.message
    assert "kubectl --context cluster1" in info.value.hint


@pytest.mark.parametrize("fault", [dict(status=429, retry_after=0), dict(status=500), dict(status=503, retry_after=0), dict(drop=True)])
def test_reads_retry_transient_failures(kube, kubeconfig, fault):
    kube.add(configmap("x"))
    state = live(kubeconfig)
    kube.faults.add(times=2, method="GET", path=r"/configmaps$", **fault)
    kube.clear_requests()
    assert [r.name for r in state.list(K.CONFIG_MAP)] == ["x"]
    if not fault.get("drop"):
        assert len(lists_of(kube, "/api/v1/configmaps")) == 3


def test_persistent_failures_give_up_with_69(kube, kubeconfig):
    state = live(kubeconfig)
    kube.faults.add(status=503, times=None, method="GET", path=r"/configmaps$", retry_after=0)
    with pytest.raises(ClusterUnavailableError, match="kept failing to list configmaps"):
        state.list(K.CONFIG_MAP)


def test_unknown_context_is_a_usage_error_listing_contexts(kubeconfig):
    with pytest.raises(UsageError, match="context 'nope' not found") as info:
        open_live(["nope"], kubeconfig)
    assert info.value.hint == "available contexts: cluster1"


@pytest.mark.parametrize("text", ["contexts: [\n", "- a\n- b\n", "\0\0\0", "apiVersion: v1\nclusters: 7\n"])
def test_kubeconfig_that_does_not_parse_is_bad_input(tmp_path, text):
    path = tmp_path / "kc.yaml"
    path.write_text(text)
    with pytest.raises((InputError, UsageError)) as info:
        open_live(["x"], str(path))
    assert str(path) in info.value.message


def test_kubeconfig_with_several_paths_merges_contexts(tmp_path, monkeypatch):
    with FakeKube(name="east") as east, FakeKube(name="west") as west:
        a = write_kubeconfig(tmp_path / "a.yaml", [east])
        b = write_kubeconfig(tmp_path / "b.yaml", [west])
        monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
        states = open_live(["east", "west"])
        assert [s.info.context for s in states] == ["east", "west"]
        assert states[0].info.server == east.url and states[1].info.server == west.url


def test_server_version_and_source_info(kube, kubeconfig):
    info = live(kubeconfig).info
    assert info.kind == "live" and info.context == "cluster1" and info.cluster == "cluster1"
    assert info.server_version == kube.version["gitVersion"]


def test_a_write_the_server_refuses_reads_as_field_and_message(kube, tmp_path):
    """A 422 from the cluster's validation is one line: the object, then each field and why."""
    from meshctl.errors import MeshctlError
    from meshctl.kube.apply import writer_for

    kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
    [state] = open_live(None, str(kc))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 70000}, {"name": "http", "port": 81}]}}
    with pytest.raises(MeshctlError) as err:
        writer_for(state).apply(service)
    assert str(err.value) == ("context cluster1: cannot apply Service default/web: "
                              "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive; "
                              "spec.ports[1].name: Duplicate value: \"http\"")
    assert "validation refused" in err.value.hint
