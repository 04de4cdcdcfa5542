"""inference.* analyzers (MSH0101-MSH0117), run as `meshctl analyze -f` runs them, on the healthy
inference set of testdata/inference/ broken one way at a time."""

from __future__ import annotations

import copy
import textwrap

import pytest
import yaml

from meshctl.analysis.session import AnalyzeRequest, run_request
from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, codes, run_on_demo
from tests.conftest import GOLDEN
from tests.inference.conftest import HEALTHY, MODEL_SERVER, find, load_docs, without

POOL = "InferencePool llm/qwen3-8b-pool"
ROUTE = "HTTPRoute llm/qwen3-8b"


@pytest.fixture
def docs() -> list[dict]:
    return load_docs(HEALTHY)


def analyze(tmp_path, docs: list[dict], analyzer: str = "inference", extra: str = ""):
    """Messages of `meshctl analyze -f` (offline, every namespace) for these objects."""
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs) + textwrap.dedent(extra))
    return run_request(AnalyzeRequest(paths=[str(path)], analyzers=[analyzer], use_kube=False)).messages


def only(tmp_path, docs, code: str, origin: str, **kwargs):
    """The one message the change introduced (the set starts clean), checked for code and origin."""
    messages = analyze(tmp_path, docs, **kwargs)
    assert codes(messages) == [(code, origin)], [m.text for m in messages]
    return messages[0]


def backend_ref(docs) -> dict:
    return find(docs, "HTTPRoute", "qwen3-8b")["spec"]["rules"][0]["backendRefs"][0]


def pool(docs) -> dict:
    return find(docs, "InferencePool", "qwen3-8b-pool")


def test_healthy_set_and_scaffolded_set_are_clean(tmp_path, docs):
    assert analyze(tmp_path, docs) == []
    scaffolded = load_docs(GOLDEN / "inference-scaffold-qwen3-8b.yaml") + load_docs(MODEL_SERVER)
    assert analyze(tmp_path, scaffolded) == []


def test_pods_absent_from_files_are_never_a_problem(tmp_path, docs):
    assert analyze(tmp_path, without(without(docs, "Pod", "qwen3-8b-7d9f8c6b5-a1b2c"),
                                     "Pod", "qwen3-8b-7d9f8c6b5-d3e4f")) == []


# -- routes -------------------------------------------------------------------------------------------


def test_msh0101_backend_names_a_missing_pool(tmp_path, docs):
    backend_ref(docs)["name"] = "qwen3-8b-pol"
    m = only(tmp_path, docs, "MSH0101", ROUTE)
    assert m.level.label == "Error"
    assert m.text == "backendRef rules[0].backendRefs[0] names InferencePool llm/qwen3-8b-pol, which does not exist."
    assert m.extra == {"field": "spec.rules[0].backendRefs[0].name"}
    path, line = m.reference.rsplit(":", 1)  # file:line where the route's document starts
    document = (tmp_path / "objects.yaml").read_text().splitlines()[int(line) - 1:]
    assert path == str(tmp_path / "objects.yaml")
    assert "kind: HTTPRoute" in document[:document.index("---") if "---" in document else None]


def test_msh0101_says_when_only_an_old_api_pool_has_the_name(tmp_path, docs):
    old = copy.deepcopy(pool(docs))
    old.update(apiVersion="inference.networking.x-k8s.io/v1alpha2")
    old["metadata"]["name"] = "legacy"
    backend_ref(docs)["name"] = "legacy"
    messages = analyze(tmp_path, docs + [old], analyzer="inference.RouteAnalyzer")
    [m] = messages
    assert m.code == "MSH0101" and "(only an inference.networking.x-k8s.io/v1alpha2 one" in m.text


def test_msh0101_not_reported_when_pools_are_not_captured(tmp_path, docs):
    backend_ref(docs)["name"] = "qwen3-8b-pol"
    assert analyze_without(tmp_path, yaml.safe_dump_all(docs), "inference.RouteAnalyzer", [K.INFERENCE_POOL]) == []


def test_msh0102_old_group_on_a_pool_that_exists(tmp_path, docs):
    backend_ref(docs)["group"] = K.INFERENCE_X
    m = only(tmp_path, docs, "MSH0102", ROUTE)
    assert "with group 'inference.networking.x-k8s.io'; Istio resolves" in m.text
    assert m.extra == {"field": "spec.rules[0].backendRefs[0].group"}


def test_msh0102_a_group_left_out_is_the_core_group(tmp_path, docs):
    del backend_ref(docs)["group"]
    assert "with group '' (core);" in only(tmp_path, docs, "MSH0102", ROUTE).text


def test_old_group_and_no_pool_of_that_name_are_both_told(tmp_path, docs):
    backend_ref(docs).update(group=K.INFERENCE_X, name="llama")
    assert codes(analyze(tmp_path, docs)) == [("MSH0101", ROUTE), ("MSH0102", ROUTE)]


def test_msh0103_cross_namespace_reference_needs_a_reference_grant(tmp_path, docs):
    route = find(docs, "HTTPRoute", "qwen3-8b")
    route["metadata"]["namespace"] = "apps"
    route["spec"]["parentRefs"][0]["namespace"] = "llm"
    backend_ref(docs)["namespace"] = "llm"
    m = only(tmp_path, docs, "MSH0103", "HTTPRoute apps/qwen3-8b")
    assert m.extra == {"field": "spec.rules[0].backendRefs[0].namespace"}
    grant = """
    ---
    apiVersion: gateway.networking.k8s.io/v1beta1
    kind: ReferenceGrant
    metadata: {name: apps-to-pools, namespace: llm}
    spec:
      from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
      to: [{group: inference.networking.k8s.io, kind: InferencePool}]
    """
    assert analyze(tmp_path, docs, extra=grant) == []


GRPC_ROUTE = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: chat, namespace: llm}}
spec:
  parentRefs: [{{name: inference-gateway}}]
  rules:
  - backendRefs: [{backend}]
"""


def test_msh0104_grpc_route_to_a_pool(tmp_path, docs):
    backend = "{group: inference.networking.k8s.io, kind: InferencePool, name: qwen3-8b-pool}"
    messages = analyze(tmp_path, docs, extra=GRPC_ROUTE.format(backend=backend))
    assert codes(messages) == [("MSH0104", "GRPCRoute llm/chat")]
    assert messages[0].extra == {"field": "spec.rules[0].backendRefs[0]"}
    assert analyze(tmp_path, docs, extra=GRPC_ROUTE.format(backend="{name: qwen3-8b-epp, port: 9002}")) == []


@pytest.mark.parametrize("parent_ref, shown", [
    ({"group": "", "kind": "Service", "name": "qwen3-8b-epp", "port": 9002}, "Service llm/qwen3-8b-epp"),
    ({"name": "waypoint"}, "Gateway llm/waypoint"),
])
def test_msh0105_pool_behind_a_waypoint(tmp_path, docs, parent_ref, shown):
    waypoint = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                "metadata": {"name": "waypoint", "namespace": "llm"},
                "spec": {"gatewayClassName": "istio-waypoint",
                         "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}
    find(docs, "HTTPRoute", "qwen3-8b")["spec"]["parentRefs"] = [parent_ref]
    m = only(tmp_path, docs + [waypoint], "MSH0105", ROUTE)
    assert f"is attached to {shown}, a waypoint" in m.text
    assert m.extra == {"field": "spec.parentRefs[0]"}


def test_msh0105_not_reported_for_an_istio_gateway_parent(tmp_path, docs):
    assert analyze(tmp_path, docs, analyzer="inference.RouteAnalyzer") == []


def test_msh0106_one_rule_weighted_across_two_pools(tmp_path, docs):
    second = copy.deepcopy(pool(docs))
    second["metadata"]["name"] = "qwen3-8b-canary"
    rule = find(docs, "HTTPRoute", "qwen3-8b")["spec"]["rules"][0]
    rule["backendRefs"] = [dict(rule["backendRefs"][0], weight=90),
                           dict(rule["backendRefs"][0], name="qwen3-8b-canary", weight=10)]
    m = only(tmp_path, docs + [second], "MSH0106", ROUTE, analyzer="inference.RouteAnalyzer")
    assert m.level.label == "Warning"
    assert m.text.startswith("rules[0] splits traffic across InferencePools llm/qwen3-8b-canary, llm/qwen3-8b-pool;")
    assert m.extra == {"field": "spec.rules[0].backendRefs"}


def test_msh0106_not_reported_for_two_refs_to_one_pool(tmp_path, docs):
    rule = find(docs, "HTTPRoute", "qwen3-8b")["spec"]["rules"][0]
    rule["backendRefs"] = [rule["backendRefs"][0], dict(rule["backendRefs"][0])]
    assert analyze(tmp_path, docs) == []


def test_msh0107_rule_without_request_timeout(tmp_path, docs):
    del find(docs, "HTTPRoute", "qwen3-8b")["spec"]["rules"][0]["timeouts"]
    m = only(tmp_path, docs, "MSH0107", ROUTE)
    assert m.level.label == "Warning"
    assert m.text.startswith("rules[0] sends to InferencePool llm/qwen3-8b-pool without timeouts.request")
    assert m.extra == {"field": "spec.rules[0].timeouts.request"}


def test_msh0107_not_reported_when_the_timeout_is_turned_off_explicitly(tmp_path, docs):
    find(docs, "HTTPRoute", "qwen3-8b")["spec"]["rules"][0]["timeouts"] = {"request": "0s"}
    assert analyze(tmp_path, docs) == []


# -- pools --------------------------------------------------------------------------------------------


def test_msh0108_old_api_pool(tmp_path, docs):
    old = {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
           "metadata": {"name": "legacy", "namespace": "llm"},
           "spec": {"selector": {"app": "qwen3-8b"}, "targetPortNumber": 8000,
                    "extensionRef": {"name": "qwen3-8b-epp"}}}
    m = only(tmp_path, docs + [old], "MSH0108", "InferencePool llm/legacy")
    assert m.text == ("This InferencePool uses the old API inference.networking.x-k8s.io/v1alpha2; Istio 1.28 and "
                      "later serve only inference.networking.k8s.io/v1 InferencePools.")


def test_msh0109_target_port_no_container_declares(tmp_path, docs):
    pool(docs)["spec"]["targetPorts"] = [{"number": 8000}, {"number": 9000}]
    m = only(tmp_path, docs, "MSH0109", POOL)
    assert m.level.label == "Warning"
    assert m.text.startswith("Target port 9000 is not a container port of the pods this pool selects "
                             "(they declare 8000);")
    assert m.extra == {"field": "spec.targetPorts[1].number"}


def test_msh0109_from_the_workload_template_when_files_hold_no_pods(tmp_path, docs):
    docs = [d for d in docs if d["kind"] != "Pod"]
    assert analyze(tmp_path, docs) == []  # 8000 is declared by the Deployment's template
    pool(docs)["spec"]["targetPorts"] = [{"number": 9000}]
    only(tmp_path, docs, "MSH0109", POOL)


def test_msh0109_not_reported_when_no_port_is_declared(tmp_path, docs):
    docs = [d for d in docs if d["kind"] != "Pod"]
    del find(docs, "Deployment", "qwen3-8b")["spec"]["template"]["spec"]["containers"][0]["ports"]
    pool(docs)["spec"]["targetPorts"] = [{"number": 9000}]
    assert analyze(tmp_path, docs) == []  # nothing declared: nothing can be told


# -- endpoint picker ------------------------------------------------------------------------------------


def picker_ref(docs) -> dict:
    return pool(docs)["spec"]["endpointPickerRef"]


@pytest.mark.parametrize("change, text, field", [
    (lambda ref, spec: spec.pop("endpointPickerRef"), "This InferencePool has no endpointPickerRef;", "spec"),
    (lambda ref, spec: ref.update(kind="Deployment"),
     "This InferencePool names a Deployment as endpoint picker, not a Service;", "spec.endpointPickerRef.kind"),
])
def test_msh0110_endpoint_picker_ref_missing_or_not_a_service(tmp_path, docs, change, text, field):
    change(picker_ref(docs), pool(docs)["spec"])
    m = only(tmp_path, docs, "MSH0110", POOL)
    assert m.text.startswith(text) and m.extra == {"field": field}


def test_msh0111_endpoint_picker_service_missing(tmp_path, docs):
    picker_ref(docs)["name"] = "qwen3-8b-ep"
    m = only(tmp_path, docs, "MSH0111", POOL)  # and no TLS message about a Service that is not there
    assert m.text.startswith("The endpoint picker Service llm/qwen3-8b-ep does not exist")
    assert m.extra == {"field": "spec.endpointPickerRef.name"}


def test_msh0111_not_reported_when_services_are_not_captured(tmp_path, docs):
    picker_ref(docs)["name"] = "qwen3-8b-ep"
    found = analyze_without(tmp_path, yaml.safe_dump_all(docs), "inference.EndpointPickerAnalyzer", [K.SERVICE])
    assert found == [("MSH0115", POOL)]  # no MSH0111; the TLS rule for the host it names is still missing


def test_msh0112_endpoint_picker_service_of_type_external_name(tmp_path, docs):
    find(docs, "Service", "qwen3-8b-epp")["spec"].update(type="ExternalName", externalName="epp.example.com")
    m = only(tmp_path, docs, "MSH0112", POOL)
    assert "llm/qwen3-8b-epp is of type ExternalName" in m.text


@pytest.mark.parametrize("port, problem", [({"number": 9003}, "port 9003 is not a Service port"),
                                           ({}, "has no port.number")])
def test_msh0113_endpoint_picker_port_not_on_the_service(tmp_path, docs, port, problem):
    picker_ref(docs)["port"] = port
    m = only(tmp_path, docs, "MSH0113", POOL)
    assert m.text == (f"endpointPickerRef {problem}; it must be a port of the endpoint picker Service "
                      "llm/qwen3-8b-epp (it has: 9002).")
    assert m.extra == {"field": "spec.endpointPickerRef.port.number"}


def epp_container(docs) -> dict:
    return find(docs, "Deployment", "qwen3-8b-epp")["spec"]["template"]["spec"]["containers"][0]


def test_msh0114_endpoint_picker_flags_name_another_pool(tmp_path, docs):
    epp_container(docs)["args"] = ["--pool-name", "other-pool", "--pool-namespace", "llm"]
    m = only(tmp_path, docs, "MSH0114", "Deployment llm/qwen3-8b-epp")
    assert "(--pool-name other-pool, not qwen3-8b-pool)" in m.text
    assert m.extra == {"field": "spec.template.spec.containers[0].args"}


def test_msh0114_not_reported_for_flags_written_with_equals(tmp_path, docs):
    epp_container(docs)["args"] = ["-pool-name=qwen3-8b-pool", "--pool-namespace=llm",
                                   "--pool-group=inference.networking.k8s.io"]
    assert analyze(tmp_path, docs) == []


def test_msh0115_no_tls_destination_rule_for_the_endpoint_picker(tmp_path, docs):
    m = only(tmp_path, without(docs, "DestinationRule", "qwen3-8b-epp"), "MSH0115", POOL)
    assert m.text.startswith("No DestinationRule gives the endpoint picker qwen3-8b-epp.llm.svc.cluster.local "
                             "tls.mode SIMPLE;")


@pytest.mark.parametrize("missing", [K.DESTINATION_RULE, K.GATEWAY])
def test_msh0115_not_reported_when_rules_or_gateways_are_unknown(tmp_path, docs, missing):
    text = yaml.safe_dump_all(without(docs, "DestinationRule", "qwen3-8b-epp"))
    assert analyze_without(tmp_path, text, "inference.EndpointPickerAnalyzer", [missing]) == []


def test_msh0115_not_reported_without_an_istio_gateway_in_front(tmp_path, docs):
    find(docs, "Gateway", "inference-gateway")["spec"]["gatewayClassName"] = "other-controller"
    assert analyze(tmp_path, without(docs, "DestinationRule", "qwen3-8b-epp")) == []


def test_msh0116_destination_rule_with_another_tls_mode(tmp_path, docs):
    find(docs, "DestinationRule", "qwen3-8b-epp")["spec"]["trafficPolicy"]["tls"] = {"mode": "ISTIO_MUTUAL"}
    m = only(tmp_path, docs, "MSH0116", "DestinationRule llm/qwen3-8b-epp")
    assert "of InferencePool llm/qwen3-8b-pool TLS mode ISTIO_MUTUAL, not SIMPLE" in m.text
    assert m.extra == {"field": "spec.trafficPolicy.tls.mode"}


# -- InferenceObjectives --------------------------------------------------------------------------------


OBJECTIVE = """
---
apiVersion: {api}
kind: InferenceObjective
metadata: {{name: interactive, namespace: llm}}
spec:
  priority: 10
  poolRef: {ref}
"""


@pytest.mark.parametrize("api", ["llm-d.ai/v1alpha2", "inference.networking.x-k8s.io/v1alpha2"])
def test_msh0117_objective_names_a_missing_pool(tmp_path, docs, api):
    messages = analyze(tmp_path, docs, extra=OBJECTIVE.format(api=api, ref="{name: qwen3-8b}"))
    assert codes(messages) == [("MSH0117", "InferenceObjective llm/interactive")]
    assert messages[0].text.startswith("poolRef names InferencePool llm/qwen3-8b (group inference.networking.k8s.io),")
    assert messages[0].extra == {"field": "spec.poolRef.name"}


@pytest.mark.parametrize("api", ["llm-d.ai/v1alpha2", "inference.networking.x-k8s.io/v1alpha2"])
def test_msh0117_not_reported_for_an_existing_pool(tmp_path, docs, api):
    ref = "{group: inference.networking.k8s.io, kind: InferencePool, name: qwen3-8b-pool}"
    assert analyze(tmp_path, docs, extra=OBJECTIVE.format(api=api, ref=ref)) == []


def test_msh0117_old_group_pool_ref_is_looked_up_among_old_pools(tmp_path, docs):
    ref = "{group: inference.networking.x-k8s.io, name: qwen3-8b-pool}"
    messages = analyze(tmp_path, docs, extra=OBJECTIVE.format(api="llm-d.ai/v1alpha2", ref=ref))
    assert codes(messages) == [("MSH0117", "InferenceObjective llm/interactive")]
    text = yaml.safe_dump_all(docs) + textwrap.dedent(OBJECTIVE.format(api="llm-d.ai/v1alpha2", ref=ref))
    assert analyze_without(tmp_path, text, "inference.ObjectiveAnalyzer", [K.INFERENCE_POOL_X]) == []


# -- the demo snapshot ----------------------------------------------------------------------------------


def test_demo_snapshot_planted_inference_problems():
    """README problems 8 (old group on llm-route-canary) and 9 (no TLS DestinationRule for the EPP)."""
    found = sorted((m.cluster, m.code, m.origin) for m in run_on_demo(["inference"]))
    assert found == [("cluster1", "MSH0102", "HTTPRoute llm/llm-route-canary"),
                     ("cluster1", "MSH0115", "InferencePool llm/vllm-llama3-8b")]
