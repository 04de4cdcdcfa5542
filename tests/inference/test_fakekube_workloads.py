"""The fake API server's opt-in "pods" and "endpointslices" controllers, which the scaffold -> apply ->
status test relies on (tests/fakekube/controllers.py)."""

from __future__ import annotations

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.pyclient import api_client, call

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


@pytest.fixture
def api():
    with FakeKube(controllers={"deployments", "pods", "endpointslices"}) as kube:
        client = api_client(kube)
        yield kube, client
        client.close()


def ready_addresses(kube) -> list[str]:
    [piece] = kube.objects("endpointslices", "default")
    assert piece["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    return sorted(a for e in piece["endpoints"] if e["conditions"]["ready"] for a in e["addresses"])


def test_pods_and_endpoint_slices_follow_the_workload(api):
    kube, client = api
    assert call(client, "POST", "/apis/apps/v1/namespaces/default/deployments", body=DEPLOYMENT).status == 201
    assert call(client, "POST", "/api/v1/namespaces/default/services", body=SERVICE).status == 201
    pods = kube.objects("pods", "default")
    assert len(pods) == 2
    assert all(p["metadata"]["labels"]["app"] == "web" and "pod-template-hash" in p["metadata"]["labels"]
               for p in pods)
    assert len(ready_addresses(kube)) == 2
    [piece] = kube.objects("endpointslices", "default")
    assert piece["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    # a new template replaces the pods; scaling down removes endpoints
    patch = {"spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}}
    reply = call(client, "PATCH", "/apis/apps/v1/namespaces/default/deployments/web", body=patch,
                 content_type="application/merge-patch+json")
    assert reply.status == 200
    [pod] = kube.objects("pods", "default")
    assert pod["metadata"]["labels"]["v"] == "2"
    assert ready_addresses(kube) == [pod["status"]["podIP"]]

    assert call(client, "DELETE", "/apis/apps/v1/namespaces/default/deployments/web").status == 200
    assert kube.objects("pods", "default") == []
    assert ready_addresses(kube) == []


def test_they_are_off_unless_asked_for():
    with FakeKube(controllers=True) as kube:
        kube.add(DEPLOYMENT, reconcile=True)
        kube.add(SERVICE, reconcile=True)
        assert kube.objects("pods", "default") == [] and kube.objects("endpointslices", "default") == []
        kube.controllers.update({"pods", "endpointslices"})
        kube.resync()
        assert len(kube.objects("pods", "default")) == 2 and len(ready_addresses(kube)) == 2
