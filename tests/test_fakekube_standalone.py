"""A person trying meshctl by hand: ``python -m tests.fakekube --simulate --nodes 3`` in one process, the
real ``meshctl`` CLI in others (install, check, enroll, status), and ``--fault`` flags that really fail
requests. The README section "Try meshctl on a fake cluster" walks the same path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from meshctl.install.precheck import version_facts
from meshctl.kube import kinds as K
from tests.install.conftest import ISTIO_VERSION, TEMPLATE_FILES, _tgz, istio_crd
from tests.test_fakekube_kubectl import REPO, start_standalone, stop

NODES = ("cluster1-control-plane", "cluster1-worker", "cluster1-worker2")
DEMO = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
              "template": {"metadata": {"labels": {"app": "web"}},
                           "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                    "ports": [{"containerPort": 80}]}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "demo"},
     "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}},
]


def gateway_api_crd(plural: str, kind: str, scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.gateway.networking.k8s.io",
                         "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.5.1",
                                         "gateway.networking.k8s.io/channel": "standard"}},
            "spec": {"group": "gateway.networking.k8s.io", "scope": scope, "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def release_files(folder: Path) -> Path:
    """Istio's release files as `install --artifacts` reads them, small: every CRD Istio 1.30 has (no
    schemas), the injection templates as placeholders, and a Gateway API bundle of three CRDs."""
    folder.mkdir(parents=True, exist_ok=True)
    known = {k.resource: k for k in vars(K).values() if isinstance(k, K.Kind)}
    crds = [istio_crd(known[name].plural, known[name].kind, known[name].group)
            for name in version_facts(ISTIO_VERSION).istio_crds]
    (folder / f"base-{ISTIO_VERSION}.tgz").write_bytes(_tgz({
        "base/Chart.yaml": b"name: base\n",
        "base/files/crd-all.gen.yaml": "".join(f"---\n{yaml.safe_dump(c)}" for c in crds).encode()}))
    (folder / f"istiod-{ISTIO_VERSION}.tgz").write_bytes(_tgz({
        "istiod/Chart.yaml": b"name: istiod\n",
        **{f"istiod/files/{name}": f"# {name}\n".encode() for name in TEMPLATE_FILES}}))
    bundle = [gateway_api_crd("gatewayclasses", "GatewayClass", "Cluster"), gateway_api_crd("gateways", "Gateway"),
              gateway_api_crd("httproutes", "HTTPRoute")]
    (folder / "gateway-api-v1.5.1-standard-install.yaml").write_text(
        "".join(f"---\n{yaml.safe_dump(d)}" for d in bundle))
    return folder


class Fake:
    """One standalone fake cluster and a shell environment pointing at it."""

    def __init__(self, tmp: Path, *flags: str) -> None:
        self.kubeconfig = tmp / "kc.yaml"
        self.proc, self.lines = start_standalone("--kubeconfig", str(self.kubeconfig), *flags)
        self.url = self.lines[0][1]
        self.token = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MESHCTL_")}
        self.env.update(KUBECONFIG=str(self.kubeconfig), MESHCTL_CACHE_DIR=str(tmp / "cache"), NO_COLOR="1",
                        TERM="dumb", COLUMNS="120")
        self.api = k8s_config.new_client_from_config(config_file=str(self.kubeconfig))

    def meshctl(self, *args: str) -> subprocess.CompletedProcess:
        """The real command line, as a user runs it."""
        result = subprocess.run([sys.executable, "-m", "meshctl", *args], cwd=REPO, env=self.env,
                                capture_output=True, text=True, timeout=60)
        assert self.token not in result.stdout + result.stderr
        return result

    def get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def close(self) -> str:
        self.api.close()
        code, stderr = stop(self.proc)
        assert code == 0, stderr
        return stderr


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simulated")
    f = Fake(tmp, "--simulate", "--nodes", "3")
    f.artifacts = release_files(tmp / "release")
    yield f
    assert f.close() == ""  # quiet: no fault, no controller error


@pytest.fixture(scope="module")
def mesh(fake):
    """install -> check -> (a namespace with a Deployment and a Service) -> enroll --waypoint -> status,
    each exactly as a user types it."""
    runs = {"install": fake.meshctl("install", "-y", "--gateway-api", "--artifacts", str(fake.artifacts)),
            "check": fake.meshctl("check")}
    core, apps = k8s.CoreV1Api(fake.api), k8s.AppsV1Api(fake.api)
    namespace, deployment, service = DEMO
    core.create_namespace(namespace)
    apps.create_namespaced_deployment("demo", deployment)
    core.create_namespaced_service("demo", service)
    runs["enroll"] = fake.meshctl("namespace", "enroll", "demo", "--waypoint")
    runs["status"] = fake.meshctl("status")
    runs["check again"] = fake.meshctl("check", "-o", "json")
    return runs


def test_nodes_are_ready_linux_nodes_like_a_kind_cluster(fake):
    nodes = k8s.CoreV1Api(fake.api).list_node().items
    assert [n.metadata.name for n in nodes] == list(NODES)
    for i, node in enumerate(nodes):
        labels = node.metadata.labels
        assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
        assert labels["kubernetes.io/hostname"] == node.metadata.name
        assert labels["topology.kubernetes.io/region"] == "region-1"
        assert labels["topology.kubernetes.io/zone"] == f"region-1{'abc'[i]}"
        assert [(c.type, c.status) for c in node.status.conditions if c.type == "Ready"] == [("Ready", "True")]
        assert node.status.addresses[0].type == "InternalIP" and node.status.addresses[0].address == f"10.0.0.{i + 2}"
        assert node.spec.pod_cidr == f"10.244.{i}.0/24"
    assert "node-role.kubernetes.io/control-plane" in nodes[0].metadata.labels
    assert [(t.key, t.effect) for t in nodes[0].spec.taints] == [("node-role.kubernetes.io/control-plane", "NoSchedule")]
    assert not nodes[1].spec.taints


def test_install_applies_and_waits(mesh):
    install = mesh["install"]
    assert install.returncode == 0, install.stderr
    assert "✘" not in install.stdout + install.stderr
    assert "✔ Installed:" in install.stdout + install.stderr


def test_check_after_install_is_green(mesh):
    check = mesh["check"]
    assert check.returncode == 0, check.stdout + check.stderr
    for line in ("✔ istiod (default) is ready (1/1 replicas)",
                 "✔ istiod (default) is serving (1 ready endpoint)",
                 "✔ injection webhook istio-sidecar-injector is reachable",
                 "✔ validation webhook istiod-default-validator is reachable",
                 "✔ istio-cni is ready on every node (3/3 nodes)",
                 "✔ ztunnel is ready on every node (3/3 nodes)",
                 "✔ GatewayClasses istio and istio-waypoint are accepted",
                 "Status check results are ✔"):
        assert line in check.stdout, check.stdout
    assert "✘" not in check.stdout and "‼" not in check.stdout


def test_enroll_with_a_waypoint_then_status_is_green(mesh):
    enroll, status = mesh["enroll"], mesh["status"]
    assert enroll.returncode == 0, enroll.stderr
    assert "namespace demo enrolled in ambient (waypoint waypoint)" in enroll.stdout + enroll.stderr
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines()[1:] if line.strip()}
    assert "istio-cni 1.30.3 3/3" in lines["control"] and "ztunnel 1.30.3 3/3" in lines["control"]
    assert lines["ztunnel"].split() == ["ztunnel", "3/3", "nodes"]
    assert "1 namespace, 2/2 pods captured (demo 2/2)" in lines["enrolled"]
    assert "demo/waypoint" in lines["waypoints"] and "programmed" in lines["waypoints"]
    assert "✔ none found" in lines["problems"]


def test_check_with_an_enrolled_namespace_is_green(mesh):
    again = mesh["check again"]
    assert again.returncode == 0, again.stdout + again.stderr
    checks = {c["name"]: c for category in json.loads(again.stdout) for c in category["checks"]}
    assert {c["status"] for c in checks.values()} == {"ok"}, [c for c in checks.values() if c["status"] != "ok"]
    assert checks["pods in enrolled namespaces are captured"]["detail"] == "2 pods captured in 1 namespace"
    assert checks["waypoints used by enrolled namespaces exist"]["detail"] == "1 namespace"


def test_workloads_look_like_a_real_clusters(fake, mesh):
    """What the simulated kubelet and controllers made, as kubectl would show it."""
    deployment = fake.get("/apis/apps/v1/namespaces/demo/deployments/web")
    rs_list = fake.get("/apis/apps/v1/namespaces/demo/replicasets")["items"]
    [rs] = [r for r in rs_list if r["metadata"]["name"].startswith("web-")]
    template_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{template_hash}"
    assert rs["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": deployment["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]
    assert rs["status"]["readyReplicas"] == 2 and deployment["status"]["availableReplicas"] == 2
    pods = [p for p in fake.get("/api/v1/namespaces/demo/pods")["items"] if p["metadata"]["name"].startswith("web-")]
    assert len(pods) == 2
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"{rs['metadata']['name']}-")
        assert len(pod["metadata"]["name"]) == len(rs["metadata"]["name"]) + 6
        assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": template_hash}
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert pod["metadata"]["annotations"]["ambient.istio.io/redirection"] == "enabled"
        assert pod["spec"]["nodeName"] in NODES[1:]  # the control plane is tainted
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"].startswith("10.244.")
        [container] = pod["status"]["containerStatuses"]
        assert container["ready"] and container["image"] == "nginx:1.27"
    assert len({p["spec"]["nodeName"] for p in pods}) == 2  # spread over the workers

    ztunnels = fake.get("/api/v1/namespaces/istio-system/pods?labelSelector=app=ztunnel")["items"]
    assert sorted(p["spec"]["nodeName"] for p in ztunnels) == list(NODES)  # it tolerates every taint
    assert all("controller-revision-hash" in p["metadata"]["labels"] for p in ztunnels)
    [slice_] = fake.get("/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices"
                        "?labelSelector=kubernetes.io/service-name=istiod")["items"]
    assert [e["conditions"]["ready"] for e in slice_["endpoints"]] == [True]

    classes = {c["metadata"]["name"]: c for c in fake.get("/apis/gateway.networking.k8s.io/v1/gatewayclasses")["items"]}
    assert sorted(classes) == ["istio", "istio-remote", "istio-waypoint"]  # no east-west: not multi-network
    assert classes["istio-waypoint"]["spec"]["controllerName"] == "istio.io/mesh-controller"
    assert classes["istio-waypoint"]["status"]["conditions"][0]["message"] == "Handled by Istio controller"
    hooks = fake.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")["items"]
    assert all(h["clientConfig"].get("caBundle") for c in hooks for h in c["webhooks"])

    waypoint = fake.get("/apis/apps/v1/namespaces/demo/deployments/waypoint")
    gateway = fake.get("/apis/gateway.networking.k8s.io/v1/namespaces/demo/gateways/waypoint")
    assert waypoint["metadata"]["ownerReferences"][0]["uid"] == gateway["metadata"]["uid"]
    assert waypoint["spec"]["template"]["metadata"]["labels"]["istio.io/dataplane-mode"] == "none"
    service = fake.get("/api/v1/namespaces/demo/services/waypoint")
    assert gateway["status"]["addresses"][0] == {"type": "IPAddress", "value": service["spec"]["clusterIP"]}


def test_unenroll_stops_the_redirection(fake, mesh):
    core, apps = k8s.CoreV1Api(fake.api), k8s.AppsV1Api(fake.api)
    core.create_namespace({"metadata": {"name": "shop"}})
    apps.create_namespaced_deployment("shop", {**DEMO[1], "metadata": {"name": "web", "namespace": "shop"}})

    def redirected() -> list[str | None]:
        return [(p.metadata.annotations or {}).get("ambient.istio.io/redirection")
                for p in core.list_namespaced_pod("shop").items]

    assert redirected() == [None, None]
    assert fake.meshctl("namespace", "enroll", "shop").returncode == 0
    assert redirected() == ["enabled", "enabled"]
    assert fake.meshctl("namespace", "unenroll", "shop").returncode == 0
    assert redirected() == [None, None]
    assert fake.meshctl("check").returncode == 0


def test_fault_flags_fail_requests(tmp_path):
    f = Fake(tmp_path, "--simulate", "--fault", "status=403,method=GET,path=/pods$,times=forever",
             "--fault", "status=500,path=/api/v1/namespaces$,times=2")
    try:
        status = f.meshctl("status")
        assert status.returncode == 69, status.stderr
        assert "not allowed to list pods" in status.stderr and "fakekube injected fault (403)" in status.stderr

        def namespaces() -> int:
            request = urllib.request.Request(f"{f.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {f.token}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as reply:
                    return reply.status
            except urllib.error.HTTPError as e:
                return e.code

        assert [namespaces() for _ in range(3)] == [500, 500, 200]  # times=2
    finally:
        stderr = f.close()
    assert stderr.splitlines() == ["fakekube: cluster1: fault status=403,method=GET,path=/pods$,times=forever",
                                   "fakekube: cluster1: fault status=500,path=/api/v1/namespaces$,times=2"]


@pytest.mark.parametrize("spec, message", [
    ("status=abc", "status='abc': expected a int from 100 to 599"),
    ("status=700", "status='700': expected a int from 100 to 599"),
    ("path=/pods$", "a fault needs status=CODE, delay=SECONDS or drop"),
    ("status=429,retry=1", "unknown fault setting 'retry'"),
    ("status=429,times=0", "times='0': expected a int of at least 1"),
    ("status=500,path=(", "path='(' is not a regular expression"),
    ("status=500,method=FETCH", "method='FETCH': expected one of GET"),
    ("status=500,cluster=cluster9", "cluster='cluster9' is not one of cluster1"),
])
def test_bad_fault_flags_are_usage_errors(tmp_path, spec, message):
    result = subprocess.run([sys.executable, "-m", "tests.fakekube", "--kubeconfig", str(tmp_path / "kc.yaml"),
                             "--fault", spec], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "error: argument --fault: " in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "kc.yaml").exists()


def test_fault_settings_parse_into_faults_add_keywords():
    from tests.fakekube.__main__ import parse_fault

    assert parse_fault("status=429,path=/pods$,times=3,retry-after=1") == {
        "status": 429, "path": "/pods$", "times": 3, "retry_after": 1}
    assert parse_fault("delay=0.5, times=forever") == {"delay": 0.5, "times": None}
    assert parse_fault("drop,method=get,path=/a{1,3}$") == {"drop": True, "method": "GET", "path": "/a{1,3}$"}
