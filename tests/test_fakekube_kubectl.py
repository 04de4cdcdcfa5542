"""fakekube standalone mode (``python -m tests.fakekube``) driven by real kubectl and the Python client."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[1]
KUBECTL = shutil.which("kubectl")


def start_standalone(*args: str) -> tuple[subprocess.Popen, list[tuple[str, str]]]:
    """Start the standalone server; return the process and its (name, url) lines."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakekube", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    want = int(args[args.index("--clusters") + 1]) if "--clusters" in args else 1
    deadline = time.monotonic() + 15
    while len(lines) < want and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(tuple(line.split()))
    if len(lines) < want:
        proc.kill()
        raise AssertionError(f"standalone server did not start: {proc.stderr.read()}")
    return proc, lines


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, proc.stderr.read()


def write_snapshot(root: Path) -> Path:
    """A tiny two-cluster meshctl snapshot (docs/snapshot-format.md)."""
    (root / "cluster1").mkdir(parents=True)
    (root / "cluster2").mkdir()
    (root / "meta.yaml").write_text(yaml.safe_dump({"format": "meshctl.dev/snapshot/v1",
                                                    "clusters": ["cluster1", "cluster2"]}))

    def write(cluster, resource, items):
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        (root / cluster / f"{resource}.yaml").write_text(yaml.safe_dump(doc))

    for cluster in ("cluster1", "cluster2"):
        write(cluster, "namespaces", [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}])
        write(cluster, "configmaps", [{"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": f"from-{cluster}", "namespace": "istio-system"}}])
    write("cluster2", "customresourcedefinitions.apiextensions.k8s.io", [{
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "peerauthentications.security.istio.io"},
        "spec": {"group": "security.istio.io", "scope": "Namespaced",
                 "names": {"plural": "peerauthentications", "kind": "PeerAuthentication", "shortNames": ["pa"]},
                 "versions": [{"name": "v1", "served": True, "storage": True},
                              {"name": "v1beta1", "served": True, "storage": False}]}}])
    write("cluster2", "peerauthentications.security.istio.io", [{
        "apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}])
    return root


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("standalone")
    kubeconfig = tmp / "kc.yaml"
    snapshot = write_snapshot(tmp / "snapshot")
    proc, lines = start_standalone("--clusters", "2", "--kubeconfig", str(kubeconfig), "--seed-snapshot", str(snapshot))
    info = {"proc": proc, "lines": lines, "kubeconfig": kubeconfig, "cache": tmp / "kubectl-cache", "tmp": tmp}
    yield info
    code, stderr = stop(proc)
    assert code == 0, stderr
    assert stderr == ""  # quiet by default; tokens never appear


def kubectl(env, *args, check=True, context=None, input_text=None):
    if KUBECTL is None:
        pytest.skip("kubectl not installed")
    # Own --cache-dir: kubectl caches discovery per host:port, and ports get reused between runs.
    cmd = [KUBECTL, "--kubeconfig", str(env["kubeconfig"]), "--cache-dir", str(env["cache"]), "--request-timeout=10s"]
    if context:
        cmd += ["--context", context]
    result = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, input=input_text)
    if check:
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result


def test_standalone_prints_urls_and_writes_a_kubeconfig(standalone):
    lines = standalone["lines"]
    assert [name for name, _ in lines] == ["cluster1", "cluster2"]
    doc = yaml.safe_load(standalone["kubeconfig"].read_text())
    assert doc["current-context"] == "cluster1"
    assert {c["name"]: c["cluster"]["server"] for c in doc["clusters"]} == dict(lines)
    for ctx in doc["contexts"]:
        assert ctx["context"]["cluster"] == ctx["name"] and ctx["context"]["user"] == ctx["name"]
    tokens = [u["user"]["token"] for u in doc["users"]]
    assert len(set(tokens)) == 2 and all(len(t) >= 32 for t in tokens)
    assert all(url.startswith("http://127.0.0.1:") for _, url in lines)


def test_python_client_uses_the_standalone_kubeconfig_token(standalone):
    path = str(standalone["kubeconfig"])
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=path, context="cluster2"))
    names = [c.metadata.name for c in core.list_namespaced_config_map("istio-system").items]
    assert names == ["from-cluster2"]
    cfg = k8s.Configuration(host=dict(standalone["lines"])["cluster1"],
                            api_key={"authorization": "wrong"}, api_key_prefix={"authorization": "Bearer"})
    with pytest.raises(k8s.ApiException) as err:
        k8s.CoreV1Api(k8s.ApiClient(cfg)).list_namespace()
    assert err.value.status == 401


def test_kubectl_get_namespaces(standalone):
    out = kubectl(standalone, "get", "ns").stdout
    assert out.splitlines()[0].split() == ["NAME", "AGE"]
    names = {line.split()[0] for line in out.splitlines()[1:]}
    assert names == {"default", "kube-node-lease", "kube-public", "kube-system", "istio-system"}


def test_kubectl_sees_each_cluster_through_its_context(standalone):
    one = kubectl(standalone, "get", "cm", "-n", "istio-system", "-o", "name").stdout.split()
    two = kubectl(standalone, "get", "cm", "-n", "istio-system", "-o", "name", context="cluster2").stdout.split()
    assert one == ["configmap/from-cluster1"] and two == ["configmap/from-cluster2"]
    pa = json.loads(kubectl(standalone, "get", "pa", "-A", "-o", "json", context="cluster2").stdout)
    assert [i["spec"]["mtls"]["mode"] for i in pa["items"]] == ["STRICT"]
    missing = kubectl(standalone, "get", "pa", "-A", check=False)  # cluster1 has no such CRD
    assert missing.returncode != 0 and "the server doesn't have a resource type" in missing.stderr


def test_kubectl_server_side_apply_get_json_and_delete(standalone):
    manifest = standalone["tmp"] / "app.yaml"
    manifest.write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"mode": "fast"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}},
    ]))
    out = kubectl(standalone, "apply", "--server-side", "-f", str(manifest)).stdout
    assert "deployment.apps/web serverside-applied" in out

    deploy = json.loads(kubectl(standalone, "get", "deploy", "web", "-n", "shop", "-o", "json",
                                "--show-managed-fields").stdout)
    assert deploy["spec"]["replicas"] == 2
    assert deploy["status"]["availableReplicas"] == 2  # standalone runs the controllers
    assert deploy["metadata"]["managedFields"][0]["manager"] == "kubectl"
    kubectl(standalone, "rollout", "status", "deploy/web", "-n", "shop", "--timeout=5s")

    changed = manifest.read_text().replace("replicas: 2", "replicas: 3")
    manifest.write_text(changed)
    conflict = kubectl(standalone, "apply", "--server-side", "--field-manager", "other", "-f", str(manifest),
                       check=False)
    assert conflict.returncode != 0 and 'conflict with "kubectl": .spec.replicas' in conflict.stderr
    kubectl(standalone, "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", str(manifest))
    replicas = kubectl(standalone, "get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}").stdout
    assert replicas == "3"

    out = kubectl(standalone, "delete", "deploy", "web", "-n", "shop").stdout
    assert 'deployment.apps "web" deleted' in out
    gone = kubectl(standalone, "get", "deploy", "web", "-n", "shop", check=False)
    assert gone.returncode != 0 and 'deployments.apps "web" not found' in gone.stderr
    # kubectl waits for the Terminating namespace to go, and what was in it goes with it.
    out = kubectl(standalone, "delete", "-f", str(manifest), "--ignore-not-found").stdout
    assert 'namespace "shop" deleted' in out
    assert kubectl(standalone, "get", "cm", "-n", "shop", "-o", "name").stdout == ""


def test_kubectl_client_side_apply_crd_and_custom_resource(standalone):
    files = standalone["tmp"]
    crd = files / "crd.yaml"
    crd.write_text(yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]}}))
    kubectl(standalone, "apply", "-f", str(crd))
    kubectl(standalone, "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=5s")
    widget = files / "widget.yaml"
    widget.write_text(yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget",
                                      "metadata": {"name": "w1", "namespace": "default", "labels": {"size": "s"}},
                                      "spec": {"size": 1}}))
    assert "widget.example.com/w1 created" in kubectl(standalone, "apply", "-f", str(widget)).stdout
    widget.write_text(widget.read_text().replace("size: 1", "size: 2"))
    assert "widget.example.com/w1 configured" in kubectl(standalone, "apply", "-f", str(widget)).stdout
    got = json.loads(kubectl(standalone, "get", "wd", "w1", "-o", "json").stdout)
    assert got["spec"] == {"size": 2} and got["metadata"]["generation"] == 2
    assert kubectl(standalone, "get", "widgets", "-l", "size=s", "-o", "name").stdout.split() == ["widget.example.com/w1"]
    kubectl(standalone, "delete", "-f", str(crd))
    assert kubectl(standalone, "get", "wd", check=False).returncode != 0


def test_kubectl_reports_custom_resources_without_their_crd_like_a_real_server(standalone):
    stray = standalone["tmp"] / "stray.yaml"
    stray.write_text(yaml.safe_dump({"apiVersion": "example.org/v1", "kind": "Gizmo",
                                     "metadata": {"name": "g", "namespace": "default"}}))
    result = kubectl(standalone, "apply", "-f", str(stray), check=False)
    assert result.returncode != 0
    assert 'no matches for kind "Gizmo" in version "example.org/v1"' in result.stderr
    assert "ensure CRDs are installed first" in result.stderr


def test_kubectl_patch_label_and_watch(standalone):
    manifest = standalone["tmp"] / "cm.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "patchme", "namespace": "default"}, "data": {"a": "1"}}))
    kubectl(standalone, "apply", "--server-side", "-f", str(manifest))
    kubectl(standalone, "patch", "cm", "patchme", "--type=merge", "-p", '{"data":{"b":"2"}}')
    kubectl(standalone, "patch", "cm", "patchme", "--type=json", "-p", '[{"op":"remove","path":"/data/a"}]')
    kubectl(standalone, "label", "cm", "patchme", "team=blue")
    got = json.loads(kubectl(standalone, "get", "cm", "-l", "team=blue", "-o", "json").stdout)
    assert [(i["metadata"]["name"], i["data"]) for i in got["items"]] == [("patchme", {"b": "2"})]
    watched = kubectl(standalone, "get", "cm", "patchme", "--watch", "--request-timeout=500ms", check=False)
    assert "patchme" in watched.stdout
    kubectl(standalone, "delete", "cm", "patchme")


def test_standalone_exits_zero_on_sigint(tmp_path):
    proc, lines = start_standalone("--kubeconfig", str(tmp_path / "kc.yaml"))
    assert [name for name, _ in lines] == ["cluster1"]
    code, stderr = stop(proc, signal.SIGINT)
    assert code == 0 and stderr == ""


def test_standalone_verbose_logs_requests_without_tokens(tmp_path):
    proc, lines = start_standalone("--kubeconfig", str(tmp_path / "kc.yaml"), "--verbose")
    token = yaml.safe_load((tmp_path / "kc.yaml").read_text())["users"][0]["user"]["token"]
    core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(tmp_path / "kc.yaml")))
    core.list_namespace()
    code, stderr = stop(proc)
    assert code == 0
    assert "GET /api/v1/namespaces" in stderr and token not in stderr


def test_kubectl_sees_terminating_and_update_managers(standalone):
    kubectl(standalone, "create", "-f", "-", input_text=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/keep"]}}))
    kubectl(standalone, "label", "cm", "held", "team=mesh")
    managed = json.loads(kubectl(standalone, "get", "cm", "held", "-o", "json", "--show-managed-fields").stdout)
    owners = {(e["manager"], e["operation"]) for e in managed["metadata"]["managedFields"]}
    assert owners == {("kubectl-create", "Update"), ("kubectl-label", "Update")}
    out = kubectl(standalone, "delete", "cm", "held", "--wait=false").stdout
    assert 'configmap "held" deleted' in out
    stamp = kubectl(standalone, "get", "cm", "held", "-o", "jsonpath={.metadata.deletionTimestamp}").stdout
    assert stamp  # held by its finalizer
    kubectl(standalone, "patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    gone = kubectl(standalone, "get", "cm", "held", check=False)
    assert gone.returncode != 0 and 'configmaps "held" not found' in gone.stderr


def test_kubectl_meets_validation_and_pruning_warnings(standalone):
    bad_field = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "typo", "namespace": "default"}, "dataa": {"k": "v"}})
    strict = kubectl(standalone, "create", "-f", "-", input_text=bad_field, check=False)
    assert strict.returncode != 0 and 'strict decoding error: unknown field "dataa"' in strict.stderr
    warned = kubectl(standalone, "create", "--validate=warn", "-f", "-", input_text=bad_field)
    assert 'Warning: unknown field "dataa"' in warned.stderr
    assert kubectl(standalone, "get", "cm", "typo", "-o", "jsonpath={.data}").stdout == ""
    invalid = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                          "spec": {"ports": [{"port": 70000}]}})
    refused = kubectl(standalone, "apply", "--server-side", "-f", "-", input_text=invalid, check=False)
    assert refused.returncode != 0
    assert 'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive' in refused.stderr
