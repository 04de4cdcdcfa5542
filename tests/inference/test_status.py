"""`meshctl inference status`: each problem found once, with a hint, on an otherwise healthy set."""

from __future__ import annotations

import json

import pytest

from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from meshctl.mesh.inference import OFF, ON, UNKNOWN, describe_inference
from tests.conftest import DEMO
from tests.inference.conftest import HEALTHY, MemoryState, find, without


def status(docs, namespace=None, missing=()):
    return describe_inference(MemoryState(docs, missing), namespace)


def pool(result, name="qwen3-8b-pool"):
    [found] = [p for p in result.pools if p.name == name]
    return found


def problems(p) -> list[str]:
    return [x.what for x in p.problems]


def only_problem(docs, **kwargs):
    """The one problem the change introduced (every scenario starts healthy)."""
    [p] = status(docs, **kwargs).pools
    assert len(p.problems) == 1, problems(p)
    assert p.problems[0].hint
    return p.problems[0]


def test_healthy_set_has_no_problems(healthy):
    result = status(healthy)
    assert result.inference_flag == ON
    [p] = result.pools
    assert p.problems == ()
    assert (p.pods_ready, p.pods_total, p.container_ports, p.target_ports) == (2, 2, (8000,), (8000,))
    assert p.failure_mode == "FailClose"  # the default when endpointPickerRef says none
    picker = p.endpoint_picker
    assert (picker.service, picker.port, picker.ready_endpoints, picker.deployments, picker.tls_rule) == \
        ("qwen3-8b-epp", 9002, 1, ("qwen3-8b-epp",), "llm/qwen3-8b-epp")
    [route] = p.routes
    assert (route.ref, route.backend_group, route.request_timeout) == ("llm/qwen3-8b", K.INFERENCE, "300s")
    [parent] = route.parents
    assert (parent.ref, parent.gateway_class) == ("llm/inference-gateway", "istio")
    assert [(c.type, c.status, c.stale) for c in parent.conditions] == [("Accepted", "True", False),
                                                                        ("ResolvedRefs", "True", False)]
    [pool_parent] = p.parents
    assert pool_parent.condition("ResolvedRefs").status == "True"


def test_missing_pool_gets_a_row_of_its_own(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = "qwen3-8b-pol"
    result = status(healthy)
    missing = pool(result, "qwen3-8b-pol")
    assert not missing.found and [r.ref for r in missing.routes] == ["llm/qwen3-8b"]
    assert problems(missing) == ["HTTPRoute llm/qwen3-8b names InferencePool llm/qwen3-8b-pol, which does not exist"]
    assert pool(result).routes == ()  # the real pool lost its only route


def test_old_group_on_an_existing_pool(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    route["spec"]["rules"][0]["backendRefs"][0]["group"] = K.INFERENCE_X
    problem = only_problem(healthy)
    assert "names this pool with group 'inference.networking.x-k8s.io'" in problem.what
    assert problem.hint == "set the backendRef's group: inference.networking.k8s.io"


def test_old_group_naming_nothing_is_a_missing_pool(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    route["spec"]["rules"][0]["backendRefs"][0].update(group=K.INFERENCE_X, name="llama")
    missing = pool(status(healthy), "llama")
    assert not missing.found
    assert problems(missing) == ["HTTPRoute llm/qwen3-8b names InferencePool llm/llama with group "
                                 "'inference.networking.x-k8s.io', and no such pool exists"]


def test_old_api_pool_is_reported(healthy):
    old = {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
           "metadata": {"name": "legacy", "namespace": "llm"},
           "spec": {"selector": {"app": "qwen3-8b"}, "targetPortNumber": 8000,
                    "extensionRef": {"name": "qwen3-8b-epp"}}}
    p = pool(status(healthy + [old]), "legacy")
    assert p.group == K.INFERENCE_X and p.target_ports == (8000,) and p.endpoint_picker.port == 9002
    assert any("uses the old API inference.networking.x-k8s.io/v1alpha2" in w for w in problems(p))


def test_selector_matching_no_pods(healthy):
    find(healthy, "InferencePool", "qwen3-8b-pool")["spec"]["selector"]["matchLabels"] = {"app": "qwen3"}
    problem = only_problem(healthy)
    assert problem.what == "selector app=qwen3 matches no pods in namespace llm"
    assert "--show-labels" in problem.hint


def test_pods_not_ready(healthy):
    for doc in healthy:
        if doc["kind"] == "Pod":
            doc["status"]["conditions"][0]["status"] = "False"
    problem = only_problem(healthy)
    assert problem.what == "none of the 2 pods selected by app=qwen3-8b is ready"


def test_target_port_not_a_container_port(healthy):
    find(healthy, "InferencePool", "qwen3-8b-pool")["spec"]["targetPorts"] = [{"number": 8080}]
    problem = only_problem(healthy)
    assert problem.what == "target port 8080 is not a container port of the selected pods (they declare: 8000)"


def test_endpoint_picker_service_missing(healthy):
    docs = without(healthy, "Service", "qwen3-8b-epp")
    [p] = status(docs).pools
    # without the Service there is nothing to give TLS to: only the missing Service is reported
    assert problems(p) == ["endpoint picker Service llm/qwen3-8b-epp does not exist"]
    assert p.endpoint_picker.service_found is False


def test_no_endpoint_picker_ref(healthy):
    del find(healthy, "InferencePool", "qwen3-8b-pool")["spec"]["endpointPickerRef"]
    problem = only_problem(healthy)
    assert problem.what.startswith("no endpointPickerRef")


def test_endpoint_picker_not_ready(healthy):
    find(healthy, "EndpointSlice", "qwen3-8b-epp-x7k2p")["endpoints"][0]["conditions"]["ready"] = False
    problem = only_problem(healthy)
    assert problem.what == "endpoint picker Service llm/qwen3-8b-epp has no ready endpoints"
    assert "logs deploy/qwen3-8b-epp" in problem.hint


def test_endpoint_picker_port_is_not_a_service_port(healthy):
    find(healthy, "InferencePool", "qwen3-8b-pool")["spec"]["endpointPickerRef"]["port"]["number"] = 9003
    problem = only_problem(healthy)
    assert problem.what == ("endpointPickerRef port 9003 is not a port of endpoint picker Service "
                            "llm/qwen3-8b-epp (it has: 9002)")


def test_external_name_endpoint_picker(healthy):
    find(healthy, "Service", "qwen3-8b-epp")["spec"]["type"] = "ExternalName"
    problem = only_problem(healthy)
    assert "is of type ExternalName" in problem.what


@pytest.mark.parametrize("args, expected", [
    (["--pool-name", "other"], "does not serve this pool (--pool-name other)"),
    (["--pool-name=qwen3-8b-pool", "--pool-namespace=default"], "watches namespace default"),
    (["--pool-name", "qwen3-8b-pool", "--pool-group", K.INFERENCE_X], "watches InferencePools of group"),
    ([], "does not serve this pool (no --pool-name)"),
])
def test_endpoint_picker_flags_must_name_the_pool(healthy, args, expected):
    find(healthy, "Deployment", "qwen3-8b-epp")["spec"]["template"]["spec"]["containers"][0]["args"] = args
    problem = only_problem(healthy)
    assert expected in problem.what and problem.what.startswith("endpoint picker Deployment llm/qwen3-8b-epp")


def test_missing_tls_destination_rule(healthy):
    problem = only_problem(without(healthy, "DestinationRule", "qwen3-8b-epp"))
    assert "no DestinationRule gives TLS to the endpoint picker qwen3-8b-epp.llm.svc.cluster.local" in problem.what
    assert "tls.mode: SIMPLE" in problem.hint


def test_tls_destination_rule_by_short_host_and_wrong_mode(healthy):
    rule = find(healthy, "DestinationRule", "qwen3-8b-epp")
    rule["spec"]["host"] = "qwen3-8b-epp"  # a bare name is a Service in the rule's namespace
    assert status(healthy).pools[0].problems == ()
    rule["spec"]["trafficPolicy"]["tls"]["mode"] = "DISABLE"
    problem = only_problem(healthy)
    assert "sets TLS mode DISABLE, not SIMPLE" in problem.what


def test_tls_rule_without_insecure_skip_verify_is_a_warning(healthy):
    del find(healthy, "DestinationRule", "qwen3-8b-epp")["spec"]["trafficPolicy"]["tls"]["insecureSkipVerify"]
    problem = only_problem(healthy)
    assert problem.severity == "warning" and "self-signed" in problem.what


def test_tls_rule_is_needed_only_behind_an_istio_gateway(healthy):
    find(healthy, "Gateway", "inference-gateway")["spec"]["gatewayClassName"] = "kgateway"
    [p] = status(without(healthy, "DestinationRule", "qwen3-8b-epp")).pools
    assert p.problems == () and p.endpoint_picker.tls_rule is None


def test_inference_flag_off(healthy):
    env = find(healthy, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"]
    env[:] = [e for e in env if e["name"] != "ENABLE_GATEWAY_API_INFERENCE_EXTENSION"]
    result = status(healthy)
    assert result.inference_flag == OFF
    problem = only_problem(healthy)
    assert "istiod runs without ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true" in problem.what
    assert problem.hint == "turn it on: meshctl inference enable"


def test_inference_flag_unknown_without_istiod(healthy):
    result = status(without(healthy, "Deployment", "istiod"))
    assert result.inference_flag == UNKNOWN and result.pools[0].problems == ()


def test_cross_namespace_reference_needs_a_reference_grant(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    route["metadata"]["namespace"] = "apps"
    route["spec"]["parentRefs"][0]["namespace"] = "llm"
    route["status"]["parents"][0]["parentRef"]["namespace"] = "llm"
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "llm"
    problem = only_problem(healthy)
    assert problem.what == "HTTPRoute apps/qwen3-8b refers to this pool across namespaces without a ReferenceGrant"
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "routes-from-apps", "namespace": "llm"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}],
                      "to": [{"group": K.INFERENCE, "kind": "InferencePool"}]}}
    assert status(healthy + [grant]).pools[0].problems == ()


def test_route_conditions_false_and_stale(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    resolved = route["status"]["parents"][0]["conditions"][1]
    resolved.update(status="False", reason="BackendNotFound", message="backend not found")
    problem = only_problem(healthy)
    assert problem.what == ("HTTPRoute llm/qwen3-8b: ResolvedRefs=False from Gateway llm/inference-gateway "
                            "(BackendNotFound: backend not found)")
    assert problem.hint == "kubectl -n llm describe httproute qwen3-8b"
    resolved.update(status="True")
    route["metadata"]["generation"] = 2  # the spec changed since the Gateway last looked
    [p] = status(healthy).pools
    assert [(x.severity, "Accepted from Gateway llm/inference-gateway is stale" in x.what) for x in p.problems][0] \
        == ("warning", True)
    assert all(c.stale for c in p.routes[0].parents[0].conditions)


def test_route_without_status_from_a_running_cluster(healthy):
    del find(healthy, "HTTPRoute", "qwen3-8b")["status"]
    problem = only_problem(healthy)
    assert problem.what == "HTTPRoute llm/qwen3-8b: Gateway llm/inference-gateway has reported no status for it"


def test_route_on_a_waypoint_or_missing_gateway(healthy):
    route = find(healthy, "HTTPRoute", "qwen3-8b")
    route["spec"]["parentRefs"] = [{"name": "gone"}]
    route["status"]["parents"] = []
    problem = only_problem(healthy)
    assert problem.what == "HTTPRoute llm/qwen3-8b names parent Gateway llm/gone, which does not exist"
    find(healthy, "Gateway", "inference-gateway")["spec"]["gatewayClassName"] = "istio-waypoint"
    route["spec"]["parentRefs"] = [{"name": "inference-gateway"}]
    assert "is attached to waypoint llm/inference-gateway" in only_problem(healthy).what


def test_pool_status_false(healthy):
    conditions = find(healthy, "InferencePool", "qwen3-8b-pool")["status"]["parents"][0]["conditions"]
    conditions[1].update(status="False", reason="InvalidExtensionRef", message="Service not found")
    problem = only_problem(healthy)
    assert problem.what.startswith("InferencePool llm/qwen3-8b-pool: ResolvedRefs=False from Gateway "
                                   "llm/inference-gateway (InvalidExtensionRef")


def test_namespace_scope(healthy):
    assert status(healthy, namespace="other").pools == ()
    assert [p.name for p in status(healthy, namespace="llm").pools] == ["qwen3-8b-pool"]


def test_unserved_kinds_are_unknown_not_broken(healthy):
    result = status(healthy, missing=(K.DESTINATION_RULE, K.ENDPOINT_SLICE))
    [p] = result.pools
    assert p.problems == ()
    assert p.endpoint_picker.ready_endpoints is None and p.endpoint_picker.tls_rule is None


def test_manifests_without_status_pods_or_endpoints_are_not_broken(tmp_path, healthy):
    """From files, absent pods, endpoints and status are unknown: plain manifests pass."""
    import yaml

    docs = [d for d in healthy if d["kind"] not in ("Pod", "EndpointSlice")]
    for d in docs:
        d.pop("status", None)
    path = tmp_path / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    [p] = describe_inference(load_files([str(path)])).pools
    assert p.problems == ()
    assert (p.pods_ready, p.pods_total, p.endpoint_picker.ready_endpoints) == (None, None, None)
    assert p.container_ports == (8000,)  # from the Deployment's pod template


def test_demo_snapshot_finds_the_planted_problems():
    from meshctl.kube.snapshot import load_snapshot

    [cluster1] = load_snapshot(str(DEMO)).select(["cluster1"])
    [p] = describe_inference(cluster1).pools
    texts = problems(p)
    assert any("llm-route-canary names this pool with group 'inference.networking.x-k8s.io'" in t for t in texts)
    assert any("no DestinationRule gives TLS to the endpoint picker vllm-llama3-8b-epp" in t for t in texts)
    assert len(texts) == 3


# -- the command -------------------------------------------------------------------------------------------


def test_cli_status_on_the_demo_snapshot(cli, golden):
    result = cli("inference", "status", "--snapshot", str(DEMO))
    assert result.code == 1, result.err
    golden("inference-status-demo.txt", result.out)


def test_cli_status_healthy_exits_0(cli):
    result = cli("inference", "status", "-f", str(HEALTHY))
    assert result.code == 0, result.err
    assert cli("inference", "status", "-f", str(HEALTHY), "-o", "table").out == result.out
    assert "✔ no problems found" in result.out
    assert "qwen3-8b-pool   1        qwen3-8b-epp:9002   1           2/2    8000" in result.out


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_cli_status_data(cli, fmt):
    import yaml

    result = cli("inference", "status", "--snapshot", str(DEMO), "-o", fmt)
    assert result.code == 1
    data = yaml.safe_load(result.out)
    assert [c["cluster"] for c in data] == ["cluster1", "cluster2"]
    [p] = data[0]["pools"]
    assert (p["name"], p["pods"]["ready"], p["endpointPicker"]["readyEndpoints"]) == ("vllm-llama3-8b", 3, 1)
    assert p["endpointPicker"]["tlsDestinationRule"] == ""
    assert len(p["problems"]) == 3 and all(x["hint"] for x in p["problems"])
    assert data[1] == {"cluster": "cluster2", "inferencePoolsServed": False, "inferenceExtension": OFF, "pools": []}
    if fmt == "json":
        json.loads(result.out)


def test_cli_status_none_found(cli):
    result = cli("inference", "status", "--snapshot", str(DEMO), "--context", "cluster2")
    assert result.code == 0 and result.out == ""
    assert "the InferencePool CRD (inference.networking.k8s.io) is not installed" in result.err
    result = cli("inference", "status", "--snapshot", str(DEMO), "-n", "bookinfo")
    assert result.code == 0 and result.err.strip() == "No InferencePools found in namespace bookinfo."


def test_cli_status_rejects_unknown_output(cli):
    result = cli("inference", "status", "--snapshot", str(DEMO), "-o", "wide")
    assert result.code == 2 and "--output 'wide' is not one of" in result.err


def _paths(node, path=()):
    """Every field path under the objects' spec, status and metadata (where users and controllers write)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path or key in ("spec", "status", "metadata", "endpoints", "ports"):
                yield path + (key,)
                yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield path + (i,)
            yield from _paths(value, path + (i,))


@pytest.mark.parametrize("junk", [None, 7, "x", [], {}, [1], {"a": 1}])
def test_malformed_fields_never_crash(healthy, junk):
    """Bad input gives problems or unknowns, never an exception: every field of every object, replaced."""
    import copy

    for index, doc in enumerate(healthy):
        for path in list(_paths(doc)):
            if path == ("metadata",) or path[:2] in (("metadata", "name"), ("metadata", "namespace")):
                continue  # objects without identity cannot be loaded at all
            docs = copy.deepcopy(healthy)
            target = docs[index]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = junk
            describe_inference(MemoryState(docs))
