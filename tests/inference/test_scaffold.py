"""`meshctl inference scaffold`: the set it writes, its refusals, and scaffold -> apply -> status."""

from __future__ import annotations

import json

import pytest
import yaml

from meshctl.kube import kinds as K
from tests.conftest import GOLDEN
from tests.fakekube import FakeKube
from tests.inference.conftest import CRD_KINDS, MODEL_SERVER, crd, find, load_docs

GOLDEN_NAME = "inference-scaffold-qwen3-8b.yaml"
SCAFFOLD = ("inference", "scaffold", "--deployment", "llm/qwen3-8b", "--port", "8000")
WITH_ROUTE = ("--gateway", "llm/inference-gateway", "--path", "/v1")


def objects(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_scaffold_golden(cli, golden):
    result = cli(*SCAFFOLD, *WITH_ROUTE, "-f", str(MODEL_SERVER))
    assert result.code == 0, result.err
    golden(GOLDEN_NAME, result.out)
    assert [d["kind"] for d in objects(result.out)] == [
        "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service", "InferencePool",
        "DestinationRule", "HTTPRoute"]
    again = cli(*SCAFFOLD, *WITH_ROUTE, "-f", str(MODEL_SERVER))
    assert again.out == result.out  # deterministic


def test_scaffold_golden_passes_analyze_and_status(cli):
    path = GOLDEN / GOLDEN_NAME
    analyzed = cli("analyze", str(path), str(MODEL_SERVER))
    assert analyzed.code == 0, analyzed.out + analyzed.err
    assert "No validation issues found" in analyzed.err + analyzed.out
    shown = cli("inference", "status", "-f", str(path), "-f", str(MODEL_SERVER))
    assert shown.code == 0, shown.out
    assert "✔ no problems found" in shown.out


def test_scaffold_objects_fit_together(cli):
    docs = objects(cli(*SCAFFOLD, *WITH_ROUTE, "-f", str(MODEL_SERVER)).out)
    pool = find(docs, "InferencePool", "qwen3-8b-pool")
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool["spec"]["selector"]["matchLabels"] == {"app": "qwen3-8b", "model": "qwen3-8b"}
    assert pool["spec"]["targetPorts"] == [{"number": 8000}]
    assert pool["spec"]["endpointPickerRef"] == {"group": "", "kind": "Service", "name": "qwen3-8b-epp",
                                                 "port": {"number": 9002}, "failureMode": "FailClose"}
    service = find(docs, "Service", "qwen3-8b-epp")
    assert service["spec"]["ports"][0] == {"name": "grpc-ext-proc", "port": 9002, "targetPort": 9002,
                                           "protocol": "TCP", "appProtocol": "http2"}
    epp = find(docs, "Deployment", "qwen3-8b-epp")
    spec = epp["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["image"] == "registry.k8s.io/gateway-api-inference-extension/epp:v1.6.0"
    args = container["args"]
    assert args[:6] == ["--pool-name", "qwen3-8b-pool", "--pool-namespace", "llm", "--pool-group",
                        "inference.networking.k8s.io"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == \
        {"grpc": 9002, "grpc-health": 9003, "metrics": 9090}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == 9003
    assert service["spec"]["selector"] == epp["spec"]["template"]["metadata"]["labels"]
    assert spec["serviceAccountName"] == find(docs, "ServiceAccount", "qwen3-8b-epp")["metadata"]["name"]
    binding = find(docs, "RoleBinding", "qwen3-8b-epp")
    assert binding["roleRef"]["name"] == "qwen3-8b-epp" and binding["subjects"][0]["name"] == "qwen3-8b-epp"
    rules = {(g, r): set(rule["verbs"]) for rule in find(docs, "Role", "qwen3-8b-epp")["rules"]
             for g in rule["apiGroups"] for r in rule["resources"]}
    for needed in [("", "pods"), (K.INFERENCE, "inferencepools"), (K.INFERENCE_X, "inferenceobjectives"),
                   (K.LLM_D, "inferenceobjectives")]:
        assert rules[needed] == {"get", "list", "watch"}, needed
    # the config file the EPP is told to read is the ConfigMap's key, mounted where the flag says
    config_path = args[args.index("--config-file") + 1]
    [mount] = container["volumeMounts"]
    [volume] = spec["volumes"]
    assert volume["configMap"]["name"] == "qwen3-8b-epp" and volume["name"] == mount["name"]
    data = find(docs, "ConfigMap", "qwen3-8b-epp")["data"]
    assert config_path == f"{mount['mountPath']}/{next(iter(data))}"
    config = yaml.safe_load(next(iter(data.values())))
    assert (config["apiVersion"], config["kind"]) == ("inference.networking.x-k8s.io/v1alpha1", "EndpointPickerConfig")
    defined = {p.get("name", p["type"]) for p in config["plugins"]}
    assert all(ref["pluginRef"] in defined for profile in config["schedulingProfiles"] for ref in profile["plugins"])
    rule = find(docs, "DestinationRule", "qwen3-8b-epp")
    assert rule["spec"] == {"host": "qwen3-8b-epp.llm.svc.cluster.local",
                            "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}}}
    route = find(docs, "HTTPRoute", "qwen3-8b-pool")
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                            "name": "inference-gateway"}]
    [rule] = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/v1"}}]
    assert rule["backendRefs"] == [{"group": K.INFERENCE, "kind": "InferencePool", "name": "qwen3-8b-pool"}]
    assert rule["timeouts"] == {"request": "300s"}


def test_scaffold_names_and_no_route(cli, tmp_path):
    docs = load_docs(MODEL_SERVER)
    template = find(docs, "Deployment", "qwen3-8b")["spec"]["template"]["metadata"]["labels"]
    template["pod-template-hash"] = "7d9f8c6b5"  # copied from a pod by hand: never part of a selector
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    result = cli(*SCAFFOLD, "--name", "qwen", "--gateway", "infra/shared-gateway", "-f", str(path))
    assert result.code == 0, result.err
    out = objects(result.out)
    pool = find(out, "InferencePool", "qwen")
    assert pool["spec"]["selector"]["matchLabels"] == {"app": "qwen3-8b", "model": "qwen3-8b"}
    assert pool["spec"]["endpointPickerRef"]["name"] == "qwen-epp"
    route = find(out, "HTTPRoute", "qwen")
    assert route["spec"]["parentRefs"][0]["namespace"] == "infra"  # a Gateway in another namespace
    assert route["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/"
    plain = objects(cli(*SCAFFOLD, "-f", str(MODEL_SERVER)).out)
    assert "HTTPRoute" not in [d["kind"] for d in plain]
    assert {d["metadata"]["name"] for d in plain} == {"qwen3-8b-epp", "qwen3-8b-pool"}


def test_scaffold_refuses_a_port_the_deployment_does_not_declare(cli):
    result = cli("inference", "scaffold", "--deployment", "llm/qwen3-8b", "--port", "8080", "-f", str(MODEL_SERVER))
    assert result.code == 1 and result.out == ""
    lines = result.err.strip().splitlines()
    assert lines[0] == ("Error: Deployment llm/qwen3-8b has no container port 8080 (it declares: 8000 (http) in "
                        "container vllm, 9400 (metrics) in container vllm)")
    assert lines[1].startswith("Hint: pass --port")


@pytest.mark.parametrize("args, code, message", [
    (("--deployment", "llm/missing", "--port", "8000"), 1, "Deployment llm/missing not found in"),
    (("--deployment", "qwen3-8b", "--port", "8000"), 2, "--deployment 'qwen3-8b' is not NAMESPACE/NAME"),
    (("--deployment", "llm/qwen3-8b", "--port", "0"), 2, "--port 0 is not a port number"),
    (("--deployment", "llm/qwen3-8b", "--port", "8000", "--path", "v1"), 2, "--path 'v1' is not an absolute path"),
    (("--deployment", "llm/qwen3-8b", "--port", "8000", "--name", "Qwen"), 2, "InferencePool name 'Qwen'"),
    (("--deployment", "llm/qwen3-8b", "--port", "8000", "--gateway", "gw"), 2, "--gateway 'gw' is not NAMESPACE/NAME"),
])
def test_scaffold_refusals(cli, args, code, message):
    result = cli("inference", "scaffold", *args, "-f", str(MODEL_SERVER))
    assert result.code == code, result.err
    assert message in result.err and "Hint:" in result.err


def test_apply_needs_a_live_cluster(cli):
    result = cli(*SCAFFOLD, "--apply", "-f", str(MODEL_SERVER))
    assert result.code == 69 and "needs a live cluster" in result.err


# -- scaffold -> apply -> status against the fake API server ---------------------------------------------


def istiod() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                     "template": {"metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": [{
                         "name": "discovery", "image": "registry.istio.io/release/pilot:1.30.3-distroless",
                         "env": [{"name": "ENABLE_GATEWAY_API_INFERENCE_EXTENSION", "value": "true"}]}]}}}}


def act_as_istiod(kube) -> None:
    """What istiod writes once it has processed the route and the pool: both accepted by the Gateway."""
    parent = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway",
              "namespace": "llm"}
    for resource, name, message in (("httproutes", "qwen3-8b-pool", "Route was valid"),
                                    ("inferencepools", "qwen3-8b-pool", "Referenced by an accepted HTTPRoute")):
        obj = kube.get_object(resource, name, "llm")
        generation = obj["metadata"]["generation"]
        conditions = [{"type": t, "status": "True", "reason": t, "message": message,
                       "observedGeneration": generation} for t in ("Accepted", "ResolvedRefs")]
        obj["status"] = {"parents": [{"parentRef": parent, "controllerName": "istio.io/gateway-controller",
                                      "conditions": conditions}]}
        kube.add(obj)


@pytest.fixture
def cluster(tmp_path):
    """A cluster with the CRDs, istiod (inference flag on) and the model server, its pods not yet running."""
    with FakeKube(name="c1", controllers=True) as kube:
        kube.add_all([crd(k) for k in CRD_KINDS], reconcile=True)
        kube.add_all([istiod(), *load_docs(MODEL_SERVER)], reconcile=True)
        yield kube, str(kube.write_kubeconfig(tmp_path / "kc.yaml"))


def status_json(cli, kc):
    result = cli("inference", "status", "-n", "llm", "-o", "json", "--kubeconfig", kc)
    [cluster] = json.loads(result.out)
    return result.code, cluster["pools"]


def test_scaffold_apply_then_status_healthy_once_pods_run(cli, cluster):
    kube, kc = cluster
    applied = cli(*SCAFFOLD, *WITH_ROUTE, "--apply", "--kubeconfig", kc)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines()[0] == "ServiceAccount llm/qwen3-8b-epp created"
    assert applied.out.splitlines()[-1] == "HTTPRoute llm/qwen3-8b-pool created"
    assert kube.get_object("inferencepools.inference.networking.k8s.io", "qwen3-8b-pool", "llm") is not None

    # nothing runs yet: no model-server pods, no endpoint picker endpoints, and istiod has not answered
    code, [pool] = status_json(cli, kc)
    assert code == 1
    messages = [p["message"] for p in pool["problems"]]
    assert "selector app=qwen3-8b,model=qwen3-8b matches no pods in namespace llm" in messages
    assert "endpoint picker Service llm/qwen3-8b-epp has no ready endpoints" in messages
    assert any("has reported no status" in m for m in messages)

    act_as_istiod(kube)
    kube.controllers.update({"pods", "endpointslices"})
    kube.resync()
    code, [pool] = status_json(cli, kc)
    assert (code, pool["problems"]) == (0, [])
    assert pool["pods"] == {"ready": 2, "total": 2, "containerPorts": [8000, 9400]}
    assert pool["endpointPicker"]["readyEndpoints"] == 1
    assert pool["endpointPicker"]["tlsDestinationRule"] == "llm/qwen3-8b-epp"
    text = cli("inference", "status", "-n", "llm", "--kubeconfig", kc)
    assert text.code == 0 and "✔ no problems found" in text.out


def test_apply_twice_changes_nothing(cli, cluster):
    kube, kc = cluster
    assert cli(*SCAFFOLD, *WITH_ROUTE, "--apply", "--kubeconfig", kc).code == 0
    before = {(r, o["metadata"]["name"]): o["metadata"]["resourceVersion"]
              for r in ("deployments", "services", "configmaps", "inferencepools.inference.networking.k8s.io")
              for o in kube.objects(r, "llm")}
    kube.clear_requests()
    again = cli(*SCAFFOLD, *WITH_ROUTE, "--apply", "--kubeconfig", kc)
    assert again.code == 0, again.err
    assert all(line.endswith(" unchanged") for line in again.out.splitlines()), again.out
    assert [r for r in kube.requests if r.method != "GET" and r.query.get("dryRun") != "All"] == []
    after = {(r, o["metadata"]["name"]): o["metadata"]["resourceVersion"]
             for r in ("deployments", "services", "configmaps", "inferencepools.inference.networking.k8s.io")
             for o in kube.objects(r, "llm")}
    assert after == before


def test_a_changed_flag_reconfigures_only_what_it_changes(cli, cluster):
    kube, kc = cluster
    assert cli(*SCAFFOLD, *WITH_ROUTE, "--apply", "--kubeconfig", kc).code == 0
    result = cli(*SCAFFOLD, "--gateway", "llm/inference-gateway", "--path", "/v2", "--apply", "--kubeconfig", kc)
    assert result.code == 0, result.err
    changed = [line for line in result.out.splitlines() if not line.endswith(" unchanged")]
    assert changed == ["HTTPRoute llm/qwen3-8b-pool configured"]
    route = kube.get_object("httproutes.gateway.networking.k8s.io", "qwen3-8b-pool", "llm")
    assert route["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/v2"


def test_dry_run_creates_nothing(cli, cluster):
    kube, kc = cluster
    result = cli(*SCAFFOLD, "--dry-run", "--kubeconfig", kc)
    assert result.code == 0, result.err
    assert "InferencePool llm/qwen3-8b-pool created (dry run)" in result.out
    assert kube.objects("inferencepools.inference.networking.k8s.io", "llm") == []
    assert kube.get_object("deployments", "qwen3-8b-epp", "llm") is None


def test_apply_without_the_crd_changes_nothing(cli, tmp_path):
    with FakeKube(name="c1", controllers=True) as kube:
        kube.add_all(load_docs(MODEL_SERVER)[:1] + [d for d in load_docs(MODEL_SERVER) if d["kind"] == "Deployment"])
        kc = str(kube.write_kubeconfig(tmp_path / "kc.yaml"))
        result = cli(*SCAFFOLD, "--apply", "--kubeconfig", kc)
        assert result.code == 1
        assert "does not serve inferencepools.inference.networking.k8s.io" in result.err
        assert "nothing was changed" in result.err and "Hint: install the Inference Extension CRDs: meshctl " \
            "inference enable" in result.err
        assert kube.get_object("serviceaccounts", "qwen3-8b-epp", "llm") is None
