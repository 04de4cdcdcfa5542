"""fakekube: the test-facing API (servers, faults, auth, controllers, seeding, kubeconfig,
snapshots), checked through the real ``kubernetes`` client."""

from __future__ import annotations

import base64
import socket
import time

import pytest
import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.conftest import configmap as cm
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig
from tests.fakekube import controllers as ctl
from tests.fakekube.pyclient import api_client, call, watch_events

CMS = "/api/v1/namespaces/default/configmaps"



GATEWAY_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gateways.gateway.networking.k8s.io"},
    "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
             "names": {"plural": "gateways", "singular": "gateway", "kind": "Gateway", "shortNames": ["gtw"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
                          {"name": "v1beta1", "served": True, "storage": False, "subresources": {"status": {}}}]},
}


def gateway(name, gateway_class="istio", listeners=(("http", "HTTP", 80),)):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"gatewayClassName": gateway_class,
                     "listeners": [{"name": n, "protocol": p, "port": port} for n, p, port in listeners]}}


# --- servers ---------------------------------------------------------------------------------------


def test_two_servers_run_at_once_with_separate_state():
    with FakeKube(name="one") as a, FakeKube(name="two") as b:
        assert a.port != b.port and a.url.startswith("http://127.0.0.1:")
        call(api_client(a), "POST", CMS, body=cm("only-in-a"))
        assert call(api_client(a), "GET", CMS + "/only-in-a").status == 200
        assert call(api_client(b), "GET", CMS + "/only-in-a").status == 404
        assert [r.method for r in a.requests] == ["POST", "GET"]
        assert [r.method for r in b.requests] == ["GET"]  # each server logs only its own requests


def test_stopped_server_refuses_connections():
    kube = FakeKube().start()
    port = kube.port
    kube.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_keep_alive_requests_are_fast(kube, api):
    # TCP_NODELAY on accepted sockets: without it each small answer waits ~40 ms for delayed ACKs.
    call(api, "GET", CMS)
    began = time.monotonic()
    for _ in range(100):
        assert call(api, "GET", CMS).status == 200
    assert time.monotonic() - began < 2.0
    gets = [r for r in kube.requests if r.method == "GET" and r.path == CMS]
    assert len(gets) == 101


def test_requests_log_records_method_path_and_query(kube, api):
    kube.clear_requests()
    call(api, "GET", CMS, query={"labelSelector": "app=x", "limit": 5})
    call(api, "GET", "/api/v1/configmaps")
    method, path, query = kube.requests[0]
    assert (method, path, query) == ("GET", CMS, {"labelSelector": "app=x", "limit": "5"})
    lists = [r for r in kube.requests if r.method == "GET" and r.path.endswith("/configmaps")]
    assert len(lists) == 2


def test_concurrent_optimistic_updates_never_lose_a_write(kube):
    import threading

    kube.add(cm("counter", n="0"))
    path = CMS + "/counter"
    conflicts = []

    def bump(times):
        api = api_client(kube)
        for _ in range(times):
            while True:
                current = call(api, "GET", path).body
                current["data"]["n"] = str(int(current["data"]["n"]) + 1)
                r = call(api, "PUT", path, body=current)
                if r.status == 200:
                    break
                assert r.status == 409
                conflicts.append(1)

    threads = [threading.Thread(target=bump, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert kube.get_object("configmaps", "counter")["data"]["n"] == "60"


# --- faults ----------------------------------------------------------------------------------------


def test_fault_500_fires_the_given_number_of_times(kube, api):
    fault = kube.faults.add(status=500, times=2, method="GET", path=r"/configmaps$")
    codes = [call(api, "GET", CMS).status for _ in range(3)]
    assert codes == [500, 500, 200]
    assert fault.hits == 2 and len(kube.faults) == 0  # spent faults are dropped


def test_fault_body_is_a_status(kube, api):
    kube.faults.add(status=500, path="configmaps")
    r = call(api, "GET", CMS)
    assert r.body["kind"] == "Status" and r.body["reason"] == "InternalError" and r.body["code"] == 500


def test_fault_429_has_retry_after(kube):
    kube.faults.add(status=429, retry_after=3)
    r = call(api_client(kube, retries=False), "GET", CMS)
    assert r.status == 429 and r.headers["retry-after"] == "3"
    assert r.body["reason"] == "TooManyRequests" and r.body["details"]["retryAfterSeconds"] == 3


def test_python_client_retries_429_after_the_retry_after_delay(kube, api):
    # urllib3's default Retry honours Retry-After on 429/503: the caller never sees them.
    kube.faults.add(status=429, retry_after=0, times=1)
    assert call(api, "GET", CMS).status == 200
    assert [r.path for r in kube.requests].count(CMS) == 2


def test_fault_409_conflict_only_for_matching_method(kube, api):
    kube.faults.add(status=409, method="PUT")
    call(api, "POST", CMS, body=cm("a"))
    r = call(api, "PUT", CMS + "/a", body=cm("a", x="1"))
    assert r.status == 409 and r.body["reason"] == "Conflict"
    assert call(api, "PUT", CMS + "/a", body=cm("a", x="1")).status == 200


def test_fault_delay_slows_the_answer(kube, api):
    kube.faults.add(delay=0.4, path="configmaps")
    began = time.monotonic()
    assert call(api, "GET", CMS).status == 200
    assert time.monotonic() - began >= 0.4
    began = time.monotonic()
    call(api, "GET", CMS)
    assert time.monotonic() - began < 0.3


def test_fault_drop_closes_the_connection_without_an_answer(kube):
    kube.faults.add(drop=True, times=1)
    no_retry = api_client(kube, retries=False)
    with pytest.raises(urllib3.exceptions.HTTPError):
        call(no_retry, "GET", CMS)
    # urllib3's default retries recover from one dropped connection
    kube.faults.add(drop=True, times=1)
    assert call(api_client(kube), "GET", CMS).status == 200
    assert len([r for r in kube.requests if r.path == CMS]) == 3


def test_fault_needs_an_effect(kube):
    with pytest.raises(ValueError):
        kube.faults.add(times=1)


# --- auth ------------------------------------------------------------------------------------------


def test_token_is_required_when_set(kube):
    kube.token = "s3cret"
    r = call(api_client(kube, token="wrong"), "GET", CMS)
    assert r.status == 401 and r.body["reason"] == "Unauthorized" and r.body["code"] == 401
    unauthenticated = k8s.ApiClient(k8s.Configuration(host=kube.url))
    assert call(unauthenticated, "GET", "/version").status == 401
    assert call(api_client(kube), "GET", CMS).status == 200  # pyclient sends kube.token
    kube.anonymous = True  # a missing header passes (kubectl over http), a wrong token still not
    assert call(unauthenticated, "GET", CMS).status == 200
    assert call(api_client(kube, token="wrong"), "GET", CMS).status == 401


def test_deny_answers_403_forbidden(kube, api):
    rule = kube.deny(verb="list", resource="secrets")
    r = call(api, "GET", "/api/v1/namespaces/default/secrets")
    assert r.status == 403 and r.body["reason"] == "Forbidden"
    assert r.body["message"] == ('secrets is forbidden: User "fakekube-admin" cannot list resource "secrets" '
                                 'in API group "" in the namespace "default"')
    assert call(api, "GET", "/api/v1/secrets").status == 403
    assert call(api, "GET", "/api/v1/namespaces/default/secrets/x").status == 404  # get is not denied
    kube.allow(rule)
    assert call(api, "GET", "/api/v1/secrets").status == 200


def test_deny_can_target_a_namespace_group_and_verbs(kube, api):
    kube.deny(verb=["create", "patch"], resource="deployments", namespace="locked", group="apps")
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "locked"}})
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    assert call(api, "POST", "/apis/apps/v1/namespaces/locked/deployments", body=body).status == 403
    assert call(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=body).status == 201
    assert call(api, "GET", "/apis/apps/v1/namespaces/locked/deployments").status == 200


# --- controllers -----------------------------------------------------------------------------------


def test_deployment_controller_sets_available():
    with FakeKube(controllers=True) as kube:
        apps = k8s.AppsV1Api(api_client(kube))
        body = {"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
        created = apps.create_namespaced_deployment("default", body)
        assert created.status is None or created.status.ready_replicas is None  # the create answer predates it
        status = apps.read_namespaced_deployment("web", "default").status
        assert (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas) == (1, 1, 1, 1)
        assert status.observed_generation == 1
        conditions = {c.type: (c.status, c.reason) for c in status.conditions}
        assert conditions == {"Available": ("True", "MinimumReplicasAvailable"),
                              "Progressing": ("True", "NewReplicaSetAvailable")}

        apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
        status = apps.read_namespaced_deployment("web", "default").status
        assert status.available_replicas == 3 and status.observed_generation == 2


def test_daemonset_controller_counts_matching_nodes():
    with FakeKube(controllers={"daemonsets"}) as kube:
        api = api_client(kube)
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ztunnel"},
              "spec": {"selector": {"matchLabels": {"a": "z"}}, "template": {"metadata": {"labels": {"a": "z"}}, "spec": {
                  "nodeSelector": {"mesh": "on"}, "containers": [{"name": "z", "image": "z"}]}}}}
        path = "/apis/apps/v1/namespaces/default/daemonsets"
        call(api, "POST", path, body=ds)
        status = call(api, "GET", path + "/ztunnel").body["status"]
        assert status["desiredNumberScheduled"] == 1 and status["numberReady"] == 1  # no Nodes: one
        for name, labels in (("n1", {"mesh": "on"}), ("n2", {"mesh": "on"}), ("n3", {})):
            call(api, "POST", "/api/v1/nodes", body={"metadata": {"name": name, "labels": labels}})
        status = call(api, "GET", path + "/ztunnel").body["status"]
        for key in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                    "numberAvailable"):
            assert status[key] == 2, key
        assert status["observedGeneration"] == 1


def test_gateway_controller_programs_gateways():
    with FakeKube(controllers=True) as kube:
        kube.add(GATEWAY_CRD)
        api = api_client(kube)
        path = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways"
        call(api, "POST", path, body=gateway("waypoint", listeners=(("mesh", "HBONE", 15008), ("http", "HTTP", 80))))
        call(api, "POST", path, body=gateway("eastwest", gateway_class="istio-east-west"))
        gw = call(api, "GET", path + "/waypoint").body
        conditions = {c["type"]: c for c in gw["status"]["conditions"]}
        assert conditions["Accepted"]["status"] == "True" and conditions["Programmed"]["status"] == "True"
        assert conditions["Programmed"]["observedGeneration"] == 1
        (address,) = gw["status"]["addresses"]
        assert address["type"] == "IPAddress" and address["value"].startswith("10.96.")
        listeners = {ls["name"]: ls for ls in gw["status"]["listeners"]}
        assert set(listeners) == {"mesh", "http"}
        assert all(ls["attachedRoutes"] == 0 for ls in listeners.values())
        assert {c["type"] for c in listeners["http"]["conditions"]} >= {"Accepted", "Programmed", "ResolvedRefs"}
        assert {k["kind"] for k in listeners["http"]["supportedKinds"]} == {"HTTPRoute", "GRPCRoute"}
        ew = call(api, "GET", path + "/eastwest").body
        assert ew["status"]["addresses"][0]["value"].startswith("172.18.")


def test_gateway_stays_unprogrammed_when_its_controller_is_off():
    with FakeKube(controllers={"deployments"}) as kube:
        kube.add(GATEWAY_CRD)
        api = api_client(kube)
        path = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways"
        call(api, "POST", path, body=gateway("gw"))
        assert "status" not in call(api, "GET", path + "/gw").body
        kube.controllers.add("gateways")
        kube.resync()
        conditions = {c["type"]: c["status"] for c in call(api, "GET", path + "/gw").body["status"]["conditions"]}
        assert conditions == {"Accepted": "True", "Programmed": "True"}
        kube.controllers.discard("gateways")
        call(api, "POST", path, body=gateway("gw2"))
        assert "status" not in call(api, "GET", path + "/gw2").body


def test_serviceaccount_token_secret_gets_token():
    with FakeKube(controllers=True) as kube:
        core = k8s.CoreV1Api(api_client(kube))
        core.create_namespaced_secret("default", {
            "metadata": {"name": "reader-token", "annotations": {"kubernetes.io/service-account.name": "reader"}},
            "type": "kubernetes.io/service-account-token"})
        core.create_namespaced_secret("default", {"metadata": {"name": "plain"}, "type": "Opaque"})
        data = core.read_namespaced_secret("reader-token", "default").data
        assert base64.b64decode(data["namespace"]) == b"default"
        assert len(base64.b64decode(data["token"])) >= 32
        assert b"BEGIN CERTIFICATE" in base64.b64decode(data["ca.crt"])
        assert core.read_namespaced_secret("plain", "default").data is None


def test_watchers_see_status_arrive_after_creation():
    with FakeKube(controllers=True) as kube:
        api = api_client(kube)
        rv = str(kube.resource_version)
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
        call(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=body)
        _, events = watch_events(api, "/apis/apps/v1/namespaces/default/deployments", resourceVersion=rv)
        assert [e["type"] for e in events] == ["ADDED", "MODIFIED"]
        assert "status" not in events[0]["object"] and events[1]["object"]["status"]["availableReplicas"] == 1


def test_unknown_controller_name_is_rejected():
    with pytest.raises(ValueError):
        FakeKube(controllers={"deployment"})


# --- the simulated cluster (controllers.SIMULATE, what --simulate runs) ----------------------------

GATEWAY_CLASS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gatewayclasses.gateway.networking.k8s.io"},
    "spec": {"group": "gateway.networking.k8s.io", "scope": "Cluster",
             "names": {"plural": "gatewayclasses", "singular": "gatewayclass", "kind": "GatewayClass"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}]},
}
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
def sim():
    """A cluster of three nodes (the control plane tainted) with every simulated controller."""
    with FakeKube(controllers=ctl.SIMULATE) as kube:
        for node in ctl.simulated_nodes("c", 3):
            kube.add(node)
        kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
        client = api_client(kube)
        yield kube, client
        client.close()


def web(replicas=2, **pod_spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}], **pod_spec}}}}


def daemonset(name, labels, **pod_spec):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "istio-system"},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "c", "image": f"{name}:1"}], **pod_spec}}}}


def test_simulated_controllers_are_opt_in():
    assert set(ctl.ALL) < ctl.SIMULATE and not set(ctl.SIMULATED) & set(ctl.ALL)
    with FakeKube(controllers=True) as kube:
        assert kube.controllers == set(ctl.ALL)
        kube.add(ctl.simulated_nodes("c", 1)[0])
        kube.add(web(), reconcile=True)
        assert kube.objects("replicasets") == [] and kube.objects("pods") == []


def test_deployments_run_pods_through_replicasets(sim):
    kube, api = sim
    assert call(api, "POST", DEPLOYMENTS, body=web()).status == 201
    [rs] = kube.objects("replicasets", "default")
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": digest}
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = kube.objects("pods", "default")
    assert len(pods) == 2 and len({p["spec"]["nodeName"] for p in pods}) == 2
    assert all(p["spec"]["nodeName"] != "c-control-plane" for p in pods)  # untolerated NoSchedule taint
    assert all(p["status"]["phase"] == "Running" and p["status"]["hostIP"].startswith("10.0.0.") for p in pods)
    assert len({p["status"]["podIP"] for p in pods}) == 2
    status = kube.get_object("deploy", "web")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 2)

    # a new template: a new ReplicaSet, the old one at 0 once the new pods are available
    rv = str(kube.resource_version)
    patch = {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}}
    call(api, "PATCH", DEPLOYMENTS + "/web", body=patch, content_type="application/merge-patch+json")
    sets = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r for r in kube.objects("rs", "default")}
    assert (sets["1"]["spec"]["replicas"], sets["2"]["spec"]["replicas"]) == (0, 2)
    pods = kube.objects("pods", "default")
    assert [p["metadata"]["labels"]["v"] for p in pods if not p["metadata"].get("deletionTimestamp")] == ["2", "2"]
    _, events = watch_events(api, DEPLOYMENTS, resourceVersion=rv)
    assert all(e["object"]["status"].get("availableReplicas", 0) >= 2 for e in events)  # never fewer available

    assert call(api, "DELETE", DEPLOYMENTS + "/web").status == 200
    assert kube.objects("rs", "default") == [] and kube.objects("pods", "default") == []


def test_pods_that_fit_no_node_stay_pending(sim):
    kube, api = sim
    call(api, "POST", DEPLOYMENTS, body=web(1, nodeSelector={"disk": "ssd"}))
    [pod] = kube.objects("pods", "default")
    assert "nodeName" not in pod["spec"] and pod["status"]["phase"] == "Pending"
    [scheduled] = pod["status"]["conditions"]
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == ("PodScheduled", "False", "Unschedulable")
    available = {c["type"]: c["status"] for c in kube.get_object("deploy", "web")["status"]["conditions"]}
    assert available["Available"] == "False"
    node = kube.get_object("node", "c-worker")
    node["metadata"]["labels"]["disk"] = "ssd"
    call(api, "PUT", "/api/v1/nodes/c-worker", body=node)
    [pod] = kube.objects("pods", "default")
    assert pod["spec"]["nodeName"] == "c-worker" and pod["status"]["phase"] == "Running"


def test_daemonset_pods_follow_the_nodes_they_fit(sim):
    kube, api = sim
    path = "/apis/apps/v1/namespaces/istio-system/daemonsets"
    call(api, "POST", path, body=daemonset("agent", {"app": "agent"}, nodeSelector={"kubernetes.io/os": "linux"}))
    call(api, "POST", path, body=daemonset("everywhere", {"app": "e"},
                                           tolerations=[{"operator": "Exists", "effect": "NoSchedule"}]))

    def nodes_of(app):
        return sorted(p["spec"]["nodeName"] for p in kube.objects("pods", "istio-system")
                      if p["metadata"]["labels"]["app"] == app)

    assert nodes_of("agent") == ["c-worker", "c-worker2"]  # the control plane's taint is not tolerated
    assert nodes_of("e") == ["c-control-plane", "c-worker", "c-worker2"]
    pod = next(p for p in kube.objects("pods", "istio-system") if p["metadata"]["labels"]["app"] == "agent")
    assert pod["metadata"]["name"].startswith("agent-") and len(pod["metadata"]["name"]) == len("agent-") + 5
    assert pod["metadata"]["labels"]["controller-revision-hash"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    status = kube.get_object("ds", "agent", "istio-system")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["updatedNumberScheduled"]) == (2, 2, 2)

    call(api, "POST", "/api/v1/nodes", body=ctl.simulated_nodes("c", 4)[3])
    assert nodes_of("agent") == ["c-worker", "c-worker2", "c-worker3"]
    assert call(api, "DELETE", "/api/v1/nodes/c-worker").status == 200
    assert nodes_of("agent") == ["c-worker2", "c-worker3"]
    assert kube.get_object("ds", "agent", "istio-system")["status"]["numberReady"] == 2


def test_pods_on_a_node_that_is_not_ready_are_not_ready(sim):
    kube, api = sim
    call(api, "POST", "/apis/apps/v1/namespaces/istio-system/daemonsets", body=daemonset("agent", {"app": "agent"}))
    call(api, "POST", DEPLOYMENTS, body=web(2))
    node = kube.get_object("node", "c-worker")
    for condition in node["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition.update(status="False", reason="KubeletNotReady")
    assert call(api, "PUT", "/api/v1/nodes/c-worker/status", body=node).status == 200

    def ready_on(node_name):
        return [c["status"] for p in kube.objects("pods") if p["spec"].get("nodeName") == node_name
                for c in p["status"]["conditions"] if c["type"] == "Ready"]

    assert ready_on("c-worker") == ["False", "False"]  # the agent and a web pod stay, not ready
    status = kube.get_object("ds", "agent", "istio-system")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["numberMisscheduled"]) == (1, 1, 1)
    assert kube.get_object("deploy", "web")["status"]["availableReplicas"] == 1
    node["status"]["conditions"] = [c if c["type"] != "Ready" else {**c, "status": "True"}
                                    for c in node["status"]["conditions"]]
    node["metadata"].pop("resourceVersion")
    call(api, "PUT", "/api/v1/nodes/c-worker/status", body=node)
    assert ready_on("c-worker") == ["True", "True"]
    assert kube.get_object("deploy", "web")["status"]["availableReplicas"] == 2


ISTIOD = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod", "istio.io/rev": "default"}},
    "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
        "metadata": {"labels": {"app": "istiod", "istio.io/rev": "default"}},
        "spec": {"containers": [{"name": "discovery", "image": "registry.istio.io/release/pilot:1.30.3-distroless",
                                 "env": [{"name": "PILOT_ENABLE_AMBIENT", "value": "true"},
                                         {"name": "AMBIENT_ENABLE_MULTI_NETWORK", "value": "true"}]}]}}},
}


def test_istiod_registers_classes_patches_webhooks_and_deploys_gateways(sim):
    kube, api = sim
    kube.add(GATEWAY_CRD)
    kube.add(GATEWAY_CLASS_CRD)
    hooks = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
    call(api, "POST", hooks, body={
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "istio-validator", "labels": {"istio.io/rev": "default"}},
        "webhooks": [{"name": "validation.istio.io", "failurePolicy": "Ignore", "sideEffects": "None",
                      "admissionReviewVersions": ["v1"], "clientConfig": {"service": {
                          "name": "istiod", "namespace": "istio-system"}}}]})
    assert "caBundle" not in call(api, "GET", hooks + "/istio-validator").body["webhooks"][0]["clientConfig"]
    assert kube.objects("gatewayclasses") == []  # nothing before istiod runs

    call(api, "POST", "/apis/apps/v1/namespaces/istio-system/deployments", body=ISTIOD)
    [hook] = call(api, "GET", hooks + "/istio-validator").body["webhooks"]
    assert hook["clientConfig"]["caBundle"] and hook["failurePolicy"] == "Fail"
    classes = {c["metadata"]["name"]: c["spec"]["controllerName"] for c in kube.objects("gatewayclasses")}
    assert classes == {"istio": "istio.io/gateway-controller", "istio-remote": "istio.io/unmanaged-gateway",
                       "istio-waypoint": "istio.io/mesh-controller", "istio-east-west": "istio.io/eastwest-controller"}

    gw = gateway("istio-eastwestgateway", "istio-east-west", (("mesh", "HBONE", 15008),))
    gw["metadata"].update(namespace="istio-system", labels={"topology.istio.io/network": "net1"})
    call(api, "POST", "/apis/gateway.networking.k8s.io/v1/namespaces/istio-system/gateways", body=gw)
    stored = kube.get_object("gateways", "istio-eastwestgateway", "istio-system")
    deployment = kube.get_object("deploy", "istio-eastwestgateway", "istio-system")
    service = kube.get_object("svc", "istio-eastwestgateway", "istio-system")
    assert kube.get_object("sa", "istio-eastwestgateway", "istio-system") is not None
    assert deployment["metadata"]["labels"]["gateway.istio.io/managed"] == "istio.io-eastwest-controller"
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.istio.io/release/proxyv2:1.30.3-distroless"
    assert deployment["status"]["readyReplicas"] == 1
    assert service["spec"]["type"] == "LoadBalancer"
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("status-port", 15021), ("mesh", 15008)]
    [ingress] = service["status"]["loadBalancer"]["ingress"]
    assert stored["status"]["addresses"] == [{"type": "IPAddress", "value": ingress["ip"]}]

    ingress_gw = gateway("public")
    call(api, "POST", "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways", body=ingress_gw)
    assert kube.get_object("deploy", "public-istio") is not None  # the istio class names it <gateway>-istio
    call(api, "DELETE", "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/public")
    assert kube.get_object("deploy", "public-istio") is None and kube.get_object("svc", "public-istio") is None


def test_ambient_pods_are_redirected_once_their_node_runs_ztunnel_and_istio_cni(sim):
    kube, api = sim
    call(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": "app",
                                                               "labels": {"istio.io/dataplane-mode": "ambient"}}})
    call(api, "POST", "/apis/apps/v1/namespaces/app/deployments", body=web(2))

    def redirected():
        return sorted((p["metadata"].get("annotations") or {}).get("ambient.istio.io/redirection", "-")
                      for p in kube.objects("pods", "app"))

    assert redirected() == ["-", "-"]
    path = "/apis/apps/v1/namespaces/istio-system/daemonsets"
    call(api, "POST", path, body=daemonset("ztunnel", {"app": "ztunnel"}))
    assert redirected() == ["-", "-"]  # istio-cni is not there yet
    call(api, "POST", path, body=daemonset("istio-cni-node", {"k8s-app": "istio-cni-node"}))
    assert redirected() == ["enabled", "enabled"]

    pod = kube.objects("pods", "app")[0]
    patch = {"metadata": {"labels": {"istio.io/dataplane-mode": "none"}}}
    call(api, "PATCH", f"/api/v1/namespaces/app/pods/{pod['metadata']['name']}", body=patch,
         content_type="application/merge-patch+json")
    assert redirected() == ["-", "enabled"]
    call(api, "PATCH", "/api/v1/namespaces/app", body={"metadata": {"labels": {"istio.io/dataplane-mode": None}}},
         content_type="application/merge-patch+json")
    assert redirected() == ["-", "-"]


# --- the Python API --------------------------------------------------------------------------------


def test_add_seeds_objects_as_given(kube, api):
    stored = kube.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "fresh"},
                       "spec": {"replicas": 2}, "status": {"readyReplicas": 0}})
    assert stored["metadata"]["uid"] and stored["metadata"]["generation"] == 1
    assert stored["metadata"]["creationTimestamp"].endswith("Z")
    got = call(api, "GET", "/apis/apps/v1/namespaces/fresh/deployments/d").body
    assert got["status"] == {"readyReplicas": 0}  # status kept, no controller touched it
    assert call(api, "GET", "/api/v1/namespaces/fresh").status == 200  # namespace made for it
    again = kube.add({**stored, "spec": {"replicas": 3}})
    assert again["metadata"]["uid"] == stored["metadata"]["uid"]
    assert int(again["metadata"]["resourceVersion"]) > int(stored["metadata"]["resourceVersion"])


def test_add_with_reconcile_runs_controllers():
    with FakeKube(controllers=True) as kube:
        plain = kube.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {}})
        assert "status" not in kube.get_object("deployments", "a")
        kube.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {}}, reconcile=True)
        assert kube.get_object("deploy", "b")["status"]["availableReplicas"] == 1
        assert plain["metadata"]["name"] == "a"


def test_add_rejects_kinds_that_are_not_served(kube):
    with pytest.raises(KeyError):
        kube.add({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_object_lookup_resolves_names_like_kubectl(kube):
    kube.add_all([cm("b", ns="team"), cm("a")])
    assert [o["metadata"]["name"] for o in kube.objects("configmaps")] == ["a", "b"]
    assert [o["metadata"]["name"] for o in kube.objects("cm", namespace="team")] == ["b"]
    assert kube.get_object("ConfigMap", "a")["data"] == {}
    assert kube.get_object("configmaps", "a", namespace="team") is None
    assert kube.resource_type("deployments.apps").kind == "Deployment"
    assert kube.resource_type("Deployment").plural == "deployments"
    copy = kube.get_object("cm", "a")
    copy["data"]["mutated"] = "yes"  # a copy: the store is untouched
    assert kube.get_object("cm", "a")["data"] == {}
    assert kube.delete_object("cm", "a") is True and kube.get_object("cm", "a") is None


def test_write_kubeconfig_gives_one_context_per_server(tmp_path):
    with FakeKube(name="east", token="t-east") as east, FakeKube(name="west") as west:
        east.add(cm("east-only"))
        path = write_kubeconfig(tmp_path / "kc.yaml", [east, west])
        doc = yaml.safe_load(path.read_text())
        assert doc["current-context"] == "east"
        assert [c["name"] for c in doc["contexts"]] == ["east", "west"]
        assert {c["name"]: c["cluster"]["server"] for c in doc["clusters"]} == {"east": east.url, "west": west.url}
        assert doc["users"][0]["user"]["token"] == "t-east"
        assert path.stat().st_mode & 0o077 == 0  # it holds tokens

        for context, expected in (("east", ["east-only"]), ("west", [])):
            api = k8s_config.new_client_from_config(config_file=str(path), context=context)
            names = [c.metadata.name for c in k8s.CoreV1Api(api).list_namespaced_config_map("default").items]
            assert names == expected

        single = east.write_kubeconfig(tmp_path / "one.yaml", context="prod")
        assert yaml.safe_load(single.read_text())["current-context"] == "prod"


def test_snapshot_archives_are_unpacked(tmp_path):
    import tarfile

    from tests.fakekube.snapshot import snapshot_clusters

    root = tmp_path / "snap"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "meta.yaml").write_text(yaml.safe_dump({"clusters": ["b", "a"]}))
    with tarfile.open(tmp_path / "snap.tar.gz", "w:gz") as tar:
        tar.add(root, arcname="snap")
    dirs, tmp = snapshot_clusters(tmp_path / "snap.tar.gz")
    try:
        assert [d.name for d in dirs] == ["b", "a"] and all(d.is_dir() for d in dirs)
    finally:
        tmp.cleanup()


def test_seed_from_snapshot_loads_crds_then_namespaces_then_the_rest(tmp_path):
    cluster = tmp_path / "snap" / "cluster1"
    cluster.mkdir(parents=True)
    (tmp_path / "snap" / "meta.yaml").write_text(yaml.safe_dump({"format": "meshctl.dev/snapshot/v1",
                                                                 "clusters": ["cluster1"]}))
    (cluster / "meta.yaml").write_text(yaml.safe_dump({"cluster": "cluster1", "serverVersion": "v1.30.1"}))

    def write(resource, items):
        (cluster / f"{resource}.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))

    crd = {k: v for k, v in GATEWAY_CRD.items()}
    crd["spec"] = {**GATEWAY_CRD["spec"], "versions": [{"name": "v1", "served": True, "storage": True}]}  # no schema
    # Files load in a fixed order whatever their names: gateways sort before namespaces here.
    write("gateways.gateway.networking.k8s.io", [{**gateway("gw"), "metadata": {"name": "gw", "namespace": "istio"},
                                                  "status": {"conditions": [{"type": "Programmed", "status": "False"}]}}])
    write("customresourcedefinitions.apiextensions.k8s.io", [crd])
    write("namespaces", [{"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "istio", "labels": {"topology.istio.io/network": "net1"}}}])
    write("secrets", [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "istio"},
                       "type": "Opaque", "data": {"key": ""}}])
    write("virtualservices.networking.istio.io", [{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                                   "metadata": {"name": "vs", "namespace": "istio"}}])

    with FakeKube(controllers=True) as kube:
        report = seed_from_snapshot(kube, cluster)
        assert report.loaded == 4 and len(report.skipped) == 1 and "VirtualService" in report.skipped[0]
        assert kube.version["gitVersion"] == "v1.30.1" and kube.version["minor"] == "30"
        api = api_client(kube)
        gw = call(api, "GET", "/apis/gateway.networking.k8s.io/v1/namespaces/istio/gateways/gw").body
        assert gw["status"]["conditions"] == [{"type": "Programmed", "status": "False"}]  # as captured
        ns = call(api, "GET", "/api/v1/namespaces/istio").body
        assert ns["metadata"]["labels"]["topology.istio.io/network"] == "net1"
        assert call(api, "GET", "/api/v1/namespaces/istio/secrets/s").body["data"] == {"key": ""}
        # the snapshot's CRD had no subresources: status is assumed, as for every real Gateway API CRD
        assert call(api, "GET", "/apis/gateway.networking.k8s.io/v1/namespaces/istio/gateways/gw/status").status == 200
