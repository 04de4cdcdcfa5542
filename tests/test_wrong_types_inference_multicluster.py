"""``inference status``, ``multicluster status|check`` (and ``analyze``, which shares the inference checks)
on one wrongly typed field: never an internal error; the field reads as absent and the command says what
it ignored. Files, snapshots and CRDs that keep unknown fields can hold anything."""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest
import yaml

from meshctl.kube.fields import take_notes
from meshctl.kube.live import Probe, select_context
from meshctl.mesh import labels as L
from meshctl.mesh.multicluster import OK_LINK, read_mesh
from tests.conftest import DEMO
from tests.inference.conftest import HEALTHY
from tests.multicluster.test_check_multicluster import NS, cluster_objects
from tests.multicluster.test_identity import SERVERS, cluster, state_of

# Documented exit codes: 1 is a finding (a pool with problems, a failed check), 79 analyze's issues.
CODES = {"inference": {0, 1}, "mc-status": {0}, "mc-check": {0, 1}, "analyze": {0, 79}}
COMMANDS = {"inference": ["inference", "status"], "mc-status": ["multicluster", "status"],
            "mc-check": ["multicluster", "check"], "analyze": ["analyze", "-A"]}
INFERENCE = ("inference", "analyze")
MULTICLUSTER = ("mc-status", "mc-check")

POOLS = "inferencepools.inference.networking.k8s.io"
ROUTES = "httproutes.gateway.networking.k8s.io"
GATEWAYS = "gateways.gateway.networking.k8s.io"
SLICES = "endpointslices.discovery.k8s.io"
POOL, ROUTE, EPP = "vllm-llama3-8b", "llm-route", "vllm-llama3-8b-epp"
REMOTE = "istio-remote-secret-cluster2"
# An analyzer that crashed in the shared checks (analyze reports it as IST0001 "Analyzer failed: ...").
SHARED_CRASH = re.compile(r"failed: \w+ at meshctl/mesh/(inference|multicluster)\.py")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(**changes) -> str:
    """A remote secret's kubeconfig (token auth), with top-level fields replaced."""
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "cluster2",
              "clusters": [{"name": "cluster2", "cluster": {"server": "https://172.18.0.3:6443"}}],
              "users": [{"name": "cluster2", "user": {"token": "t0ken"}}],
              "contexts": [{"name": "cluster2", "context": {"cluster": "cluster2", "user": "cluster2"}}]}
    return yaml.safe_dump({**config, **changes})


def mutated_snapshot(tmp_path, cluster_name: str, resource: str, name: str, path: tuple, value) -> str:
    """A copy of the demo snapshot (both clusters) with one field of one object (``name`` or
    ``namespace/name``) replaced."""
    snap = tmp_path / "snap"
    shutil.copytree(DEMO, snap)
    file = snap / cluster_name / f"{resource}.yaml"
    doc = yaml.safe_load(file.read_text())
    namespace, _, name = name.rpartition("/")
    target = next(i for i in doc["items"] if i["metadata"]["name"] == name
                  and (not namespace or i["metadata"].get("namespace") == namespace))
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file.write_text(json.dumps(doc))  # JSON is YAML: the snapshot reader takes it as it is
    return str(snap)


CASES = [
    # (id, resource file, object, path, wrong value, commands, what stderr says was ignored or None)
    ("pool-selector", POOLS, POOL, ("spec", "selector"), 5, INFERENCE,
     "ignored InferencePool llm/vllm-llama3-8b: spec.selector is not a map"),
    ("pool-matchlabels", POOLS, POOL, ("spec", "selector", "matchLabels"), [1], INFERENCE,
     "spec.selector.matchLabels is not a map"),
    ("pool-label-value", POOLS, POOL, ("spec", "selector", "matchLabels", "app"), {"a": 1}, INFERENCE,
     "spec.selector.matchLabels.app is not a string"),
    ("pool-parents", POOLS, POOL, ("status", "parents"), True, INFERENCE, "status.parents is not a list"),
    ("pool-observed-generation", POOLS, POOL, ("status", "parents", 0, "conditions", 0, "observedGeneration"), "1",
     INFERENCE, "status.parents[0].conditions[0].observedGeneration is not an integer"),
    ("pool-condition-status", POOLS, POOL, ("status", "parents", 0, "conditions", 1, "status"), ["False"],
     INFERENCE, "status.parents[0].conditions[1].status is not a string"),
    ("pool-target-port", POOLS, POOL, ("spec", "targetPorts", 0, "number"), "{{ 7*7 }}", INFERENCE,
     "spec.targetPorts[0].number is not an integer"),
    ("pool-picker-port", POOLS, POOL, ("spec", "endpointPickerRef", "port"), [1], INFERENCE,
     "spec.endpointPickerRef.port is not a map"),
    ("pool-picker-ref", POOLS, POOL, ("spec", "endpointPickerRef"), "vllm-llama3-8b-epp", INFERENCE,
     "spec.endpointPickerRef is not a map"),
    ("route-rules", ROUTES, ROUTE, ("spec", "rules"), "x", INFERENCE,
     "ignored HTTPRoute llm/llm-route: spec.rules is not a list"),
    ("route-backend-name", ROUTES, ROUTE, ("spec", "rules", 0, "backendRefs", 0, "name"), {"a": 1}, INFERENCE,
     "spec.rules[0].backendRefs[0].name is not a string"),
    ("route-timeout", ROUTES, ROUTE, ("spec", "rules", 0, "timeouts"), "300s", INFERENCE,
     "spec.rules[0].timeouts is not a map"),
    ("route-parent-ref", ROUTES, ROUTE, ("status", "parents", 0, "parentRef"), [1], INFERENCE,
     "status.parents[0].parentRef is not a map"),
    ("route-parent-refs", ROUTES, ROUTE, ("spec", "parentRefs", 0), [{"x": [1]}], INFERENCE,
     "spec.parentRefs[0] is not a map"),
    ("gateway-class", GATEWAYS, "inference-gateway", ("spec", "gatewayClassName"), 5, INFERENCE,
     "spec.gatewayClassName is not a string"),
    ("model-server-container", "pods", "vllm-llama3-8b-6wm698m9q4-6f2c6", ("spec", "containers", 0), [1],
     INFERENCE, "spec.containers[0] is not a map"),
    ("model-server-label", "pods", "vllm-llama3-8b-6wm698m9q4-6f2c6", ("metadata", "labels", "app"), [1],
     INFERENCE, "metadata.labels.app is not a string"),
    ("epp-args", "deployments.apps", EPP, ("spec", "template", "spec", "containers", 0, "args"), 5, INFERENCE,
     "spec.template.spec.containers[0].args is not a list"),
    ("epp-service-ports", "services", EPP, ("spec", "ports"), 5, INFERENCE, "spec.ports is not a list"),
    ("epp-endpoints", SLICES, "vllm-llama3-8b-epp-b5dq4", ("endpoints",), 5, INFERENCE,
     "endpoints is not a list"),
    ("epp-endpoint-ready", SLICES, "vllm-llama3-8b-epp-b5dq4", ("endpoints", 0, "conditions", "ready"), "true",
     INFERENCE, "endpoints[0].conditions.ready is not true or false"),
    # multicluster
    ("cacerts-data", "secrets", "istio-system/cacerts", ("data",), 5, MULTICLUSTER,
     "ignored Secret istio-system/cacerts: data is not a map"),
    ("remote-secret-data", "secrets", REMOTE, ("data",), "{{ 7*7 }}", MULTICLUSTER, "data is not a map"),
    ("remote-secret-value", "secrets", REMOTE, ("data", "cluster2"), [1], MULTICLUSTER,
     "ignored Secret istio-system/istio-remote-secret-cluster2: data.cluster2 is not a string"),
    ("remote-secret-annotation", "secrets", REMOTE, ("metadata", "annotations", "networking.istio.io/cluster"),
     [1], MULTICLUSTER, "metadata.annotations.networking.istio.io/cluster is not a string"),
    ("remote-kubeconfig-contexts", "secrets", REMOTE, ("data", "cluster2"), _b64(kubeconfig(contexts=5)),
     MULTICLUSTER, "data.cluster2.contexts is not a list"),
    ("remote-kubeconfig-context", "secrets", REMOTE, ("data", "cluster2"),
     _b64(kubeconfig(contexts=[{"name": "cluster2", "context": "cluster2"}])), MULTICLUSTER,
     "data.cluster2.contexts[0].context is not a map"),
    ("remote-kubeconfig-server", "secrets", REMOTE, ("data", "cluster2"),
     _b64(kubeconfig(clusters=[{"name": "cluster2", "cluster": {"server": "https://[::1:6443"}}])),
     MULTICLUSTER, None),  # a URL urlsplit refuses: a broken link, not a crash
    ("root-cert", "configmaps", "istio-system/istio-ca-root-cert", ("data", "root-cert.pem"), 5, MULTICLUSTER,
     "ignored ConfigMap istio-system/istio-ca-root-cert: data.root-cert.pem is not a string"),
    ("mesh-config-data", "configmaps", "istio-system/istio", ("data",), 5, MULTICLUSTER,
     "ignored ConfigMap istio-system/istio: data is not a map"),
    ("mesh-config-text", "configmaps", "istio-system/istio", ("data", "mesh"), [1], MULTICLUSTER,
     "data.mesh is not a string"),
    ("mesh-id", "configmaps", "istio-system/istio", ("data", "mesh"), "defaultConfig:\n  meshId: [1]\n", MULTICLUSTER,
     "data.mesh.defaultConfig.meshId is not a string"),
    ("east-west-addresses", GATEWAYS, "istio-eastwestgateway", ("status", "addresses"), 5, MULTICLUSTER,
     "ignored Gateway istio-system/istio-eastwestgateway: status.addresses is not a list"),
    ("east-west-network", GATEWAYS, "istio-eastwestgateway", ("metadata", "labels", "topology.istio.io/network"),
     [1], MULTICLUSTER, "metadata.labels.topology.istio.io/network is not a string"),
    ("global-service-ports", "services", "ratings", ("spec", "ports"), 5, MULTICLUSTER,
     "ignored Service bookinfo/ratings: spec.ports is not a list"),
    ("network-label", "namespaces", "istio-system", ("metadata", "labels", "topology.istio.io/network"), 5,
     MULTICLUSTER, "ignored Namespace istio-system: metadata.labels.topology.istio.io/network is not a string"),
]


@pytest.mark.parametrize("resource, name, path, value, commands, ignored", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_wrongly_typed_field_is_ignored_never_an_internal_error(cli, tmp_path, resource, name, path, value,
                                                                  commands, ignored):
    snap = mutated_snapshot(tmp_path, "cluster1", resource, name, path, value)
    for command in commands:
        result = cli(*COMMANDS[command], "--snapshot", snap)
        assert "internal error" not in result.err and "Traceback" not in result.err, (command, result.err)
        assert not SHARED_CRASH.search(result.out), (command, result.out)
        assert result.code in CODES[command], (command, result.code, result.err)
        if ignored and command != "analyze":  # analyze reports schema errors instead
            assert ignored in result.err, (command, result.err)


def test_a_remote_secret_whose_server_url_does_not_parse_is_a_broken_link(cli, tmp_path):
    config = kubeconfig(clusters=[{"name": "cluster2", "cluster": {"server": "https://[::1:6443"}}])
    snap = mutated_snapshot(tmp_path, "cluster1", "secrets", REMOTE, ("data", "cluster2"), _b64(config))
    result = cli("multicluster", "status", "--snapshot", snap)
    assert result.code == 0, result.err
    assert "its kubeconfig's API server URL does not parse" in result.out


def test_the_ignored_field_is_named_once(cli, tmp_path):
    snap = mutated_snapshot(tmp_path, "cluster1", POOLS, POOL, ("spec", "selector"), 5)
    result = cli("inference", "status", "--snapshot", snap)
    assert result.err.count("spec.selector is not a map") == 1, result.err
    assert result.err.startswith("Warning: ignored InferencePool llm/vllm-llama3-8b: spec.selector is not a map")


# -- manifests: the healthy inference set, one field of one object wrong ------------------------------------

HEALTHY_CASES = [
    ("DestinationRule", "qwen3-8b-epp", ("spec", "trafficPolicy"), "SIMPLE",
     "ignored DestinationRule llm/qwen3-8b-epp: spec.trafficPolicy is not a map"),
    ("DestinationRule", "qwen3-8b-epp", ("spec", "trafficPolicy", "tls", "insecureSkipVerify"), "true",
     "spec.trafficPolicy.tls.insecureSkipVerify is not true or false"),
    ("DestinationRule", "qwen3-8b-epp", ("spec", "trafficPolicy", "portLevelSettings"), {"a": 1},
     "spec.trafficPolicy.portLevelSettings is not a list"),
    ("DestinationRule", "qwen3-8b-epp", ("spec", "exportTo"), ".", "spec.exportTo is not a list"),
    ("DestinationRule", "qwen3-8b-epp", ("spec", "host"), ["qwen3-8b-epp"], "spec.host is not a string"),
    ("InferencePool", "qwen3-8b-pool", ("spec", "selector", "matchLabels"), {1: "qwen3-8b", "app": "qwen3-8b"},
     "spec.selector.matchLabels.1 is not a string"),  # YAML keeps a key that is no string
    ("Deployment", "qwen3-8b", ("spec", "template", "metadata", "labels"), "app=qwen3-8b",
     "ignored Deployment llm/qwen3-8b: spec.template.metadata.labels is not a map"),
    ("Service", "qwen3-8b-epp", ("spec", "selector"), ["app"], "spec.selector is not a map"),
]


@pytest.mark.parametrize("kind, name, path, value, ignored", HEALTHY_CASES,
                         ids=[f"{c[0]}-{'.'.join(map(str, c[2]))}" for c in HEALTHY_CASES])
def test_manifests_with_a_wrongly_typed_field(cli, tmp_path, kind, name, path, value, ignored):
    docs = [d for d in yaml.safe_load_all(HEALTHY.read_text()) if d]
    target = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file = tmp_path / "set.yaml"
    file.write_text(yaml.safe_dump_all(docs))
    for command in INFERENCE:
        result = cli(*COMMANDS[command], "-f", str(file))
        assert "internal error" not in result.err and "Traceback" not in result.err, (command, result.err)
        assert not SHARED_CRASH.search(result.out), (command, result.out)
        assert result.code in CODES[command], (command, result.code, result.err)
        if command == "inference":
            assert ignored in result.err, result.err


# -- probing a remote secret whose kubeconfig holds wrong types ------------------------------------------------


def test_the_prober_gets_the_kubeconfig_istiod_would_use_rebuilt_well_typed():
    """Live, a remote secret's kubeconfig goes to the prober: parts of it that are wrongly typed are
    left out of what it gets, so the prober (kube.live.select_context) cannot trip on them."""
    calls = []

    def prober(text, timeout):
        found, user = select_context(yaml.safe_load(text))
        calls.append((found.get("server"), user.get("token")))
        return Probe(True, True, True, True, "")

    config = kubeconfig(contexts=5, clusters=[{"name": "west", "cluster": {"server": SERVERS["west"]}}],
                        users=[{"name": "west", "user": {"token": "t0ken"}}])
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "istio-remote-secret-west", "namespace": NS,
                           "labels": {L.MULTICLUSTER_SECRET: "true"}, "annotations": {L.CLUSTER_ANNOTATION: "west"}},
              "data": {"west": _b64(config)}}
    east = state_of(cluster_objects("east", "token-of-east") + [secret], cluster="east", context="ctx-east",
                    server=SERVERS["east"])
    take_notes()
    view = read_mesh([east, cluster("west")], prober=prober)
    assert calls == [(SERVERS["west"], "t0ken")]
    assert view.links[0].state == OK_LINK
    assert "ignored Secret istio-system/istio-remote-secret-west: data.west.contexts is not a list" in take_notes()
