"""fakekube: deletion as a real server carries it out (finalizers, Terminating namespaces, CRD
cleanup, graceful pods, garbage collection), through the real ``kubernetes`` client."""

from __future__ import annotations

import time

import pytest

from tests.conftest import configmap as cm
from tests.fakekube.pyclient import call

CM = "/api/v1/namespaces/{ns}/configmaps"
NS = "/api/v1/namespaces"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
RS = "/apis/apps/v1/namespaces/default/replicasets"
PODS = "/api/v1/namespaces/{ns}/pods"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def eventually(check, timeout=5.0):
    """True once ``check()`` is (polling, as a client waiting on a deletion would), else False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def pod(name, ns="default", node="node-1", grace=None, **meta):
    spec = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, **meta}, "spec": spec}


def owned(kind_obj, owner, block=True):
    m = owner["metadata"]
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"], "uid": m["uid"],
           "controller": True, "blockOwnerDeletion": block}
    kind_obj["metadata"]["ownerReferences"] = [ref]
    return kind_obj


def deployment(name="web"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def replicaset(name="web-1"):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def widget_crd():
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema}]}}


def widget(name, **meta):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, **meta}, "spec": {}}


def gone(api, path):
    return call(api, "GET", path).status == 404


# --- finalizers ------------------------------------------------------------------------------------


def test_an_object_with_a_finalizer_stays_terminating_until_the_finalizer_goes(api):
    call(api, "POST", CM.format(ns="default"), body=cm("held") | {"metadata": {"name": "held",
                                                                              "finalizers": ["example.com/keep"]}})
    r = call(api, "DELETE", CM.format(ns="default") + "/held")
    assert r.status == 200 and r.body["kind"] == "ConfigMap"  # the object, as it now is
    assert r.body["metadata"]["deletionTimestamp"] and r.body["metadata"]["deletionGracePeriodSeconds"] == 0
    time.sleep(0.1)
    live = call(api, "GET", CM.format(ns="default") + "/held").body
    assert live["metadata"]["finalizers"] == ["example.com/keep"]
    again = call(api, "DELETE", CM.format(ns="default") + "/held")  # deleting again changes nothing
    assert again.status == 200 and again.body["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    r = call(api, "PATCH", CM.format(ns="default") + "/held", body={"metadata": {"finalizers": None}},
             content_type="application/merge-patch+json")
    assert r.status == 200
    assert gone(api, CM.format(ns="default") + "/held")


def test_no_finalizer_can_be_added_to_an_object_being_deleted(api):
    call(api, "POST", CM.format(ns="default"), body={"metadata": {"name": "x", "finalizers": ["a.io/one"]}})
    call(api, "DELETE", CM.format(ns="default") + "/x")
    r = call(api, "PATCH", CM.format(ns="default") + "/x", body={"metadata": {"finalizers": ["a.io/one", "b.io/two"]}},
             content_type="application/merge-patch+json")
    assert r.status == 422
    assert r.body["details"]["causes"][0]["field"] == "metadata.finalizers"
    assert "no new finalizers can be added if the object is being deleted" in r.body["message"]


def test_deletion_timestamp_cannot_be_set_or_cleared_by_an_update(api):
    call(api, "POST", CM.format(ns="default"), body={"metadata": {"name": "x", "finalizers": ["a.io/one"]}})
    stamp = call(api, "DELETE", CM.format(ns="default") + "/x").body["metadata"]["deletionTimestamp"]
    r = call(api, "PATCH", CM.format(ns="default") + "/x", body={"metadata": {"deletionTimestamp": None}},
             content_type="application/merge-patch+json")
    assert r.body["metadata"]["deletionTimestamp"] == stamp


# --- namespaces ------------------------------------------------------------------------------------


def test_a_namespace_goes_terminating_refuses_new_content_then_goes(kube, api):
    call(api, "POST", NS, body={"metadata": {"name": "team"}})
    call(api, "POST", CM.format(ns="team"), body=cm("a", ns="team"))
    call(api, "POST", CM.format(ns="team"), body={"metadata": {"name": "held", "finalizers": ["example.com/keep"]}})
    with kube.reaper.hold():
        r = call(api, "DELETE", NS + "/team")
        assert r.status == 200 and r.body["status"]["phase"] == "Terminating"
        assert r.body["spec"]["finalizers"] == ["kubernetes"] and r.body["metadata"]["deletionTimestamp"]
        refused = call(api, "POST", CM.format(ns="team"), body=cm("new", ns="team"))
        assert refused.status == 403 and refused.body["reason"] == "Forbidden"
        assert refused.body["message"] == ('configmaps "new" is forbidden: unable to create new content in namespace '
                                           'team because it is being terminated')
        assert refused.body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
        assert call(api, "GET", CM.format(ns="team") + "/a").status == 200  # nothing removed while held
    # content goes; the object held by a finalizer keeps the namespace Terminating
    assert eventually(lambda: gone(api, CM.format(ns="team") + "/a"))
    time.sleep(0.2)
    assert call(api, "GET", NS + "/team").body["status"]["phase"] == "Terminating"
    call(api, "PATCH", CM.format(ns="team") + "/held", body={"metadata": {"finalizers": None}},
         content_type="application/merge-patch+json")
    assert eventually(lambda: gone(api, NS + "/team"))


def test_a_namespace_can_be_created_again_once_gone(api):
    call(api, "POST", NS, body={"metadata": {"name": "team"}})
    call(api, "DELETE", NS + "/team")
    assert eventually(lambda: gone(api, NS + "/team"))
    assert call(api, "POST", NS, body={"metadata": {"name": "team"}}).status == 201


# --- CRDs ------------------------------------------------------------------------------------------


def test_deleting_a_crd_removes_its_resources_first(kube, api):
    assert call(api, "POST", CRDS, body=widget_crd()).status == 201
    call(api, "POST", WIDGETS, body=widget("w1"))
    call(api, "POST", WIDGETS, body=widget("w2", finalizers=["example.com/keep"]))
    with kube.reaper.hold():
        r = call(api, "DELETE", CRDS + "/widgets.example.com")
        assert r.status == 200
        assert "customresourcecleanup.apiextensions.k8s.io" in r.body["metadata"]["finalizers"]
        terminating = {c["type"]: c["status"] for c in r.body["status"]["conditions"]}
        assert terminating["Terminating"] == "True"
        refused = call(api, "POST", WIDGETS, body=widget("w3"))
        assert refused.status == 405
        assert refused.body["message"] == 'create is not supported on resources of kind "widgets.example.com"'
    assert eventually(lambda: gone(api, WIDGETS + "/w1"))
    time.sleep(0.2)
    assert call(api, "GET", CRDS + "/widgets.example.com").status == 200  # w2 still holds it
    w2 = call(api, "GET", WIDGETS + "/w2").body
    assert w2["metadata"]["deletionTimestamp"]
    call(api, "PATCH", WIDGETS + "/w2", body={"metadata": {"finalizers": None}},
         content_type="application/merge-patch+json")
    assert eventually(lambda: gone(api, CRDS + "/widgets.example.com"))
    assert call(api, "GET", WIDGETS).status == 404  # the kind is no longer served


# --- pods ------------------------------------------------------------------------------------------


def test_a_pod_on_a_node_is_deleted_gracefully(kube, api):
    kube.reaper.pod_grace = 0.3
    call(api, "POST", PODS.format(ns="default"), body=pod("p", grace=20))
    r = call(api, "DELETE", PODS.format(ns="default") + "/p")
    assert r.status == 200 and r.body["metadata"]["deletionGracePeriodSeconds"] == 20
    assert call(api, "GET", PODS.format(ns="default") + "/p").body["metadata"]["deletionTimestamp"]
    assert eventually(lambda: gone(api, PODS.format(ns="default") + "/p"))


def test_a_pod_deleted_with_grace_zero_or_never_scheduled_goes_at_once(kube, api):
    kube.reaper.pod_grace = 30
    call(api, "POST", PODS.format(ns="default"), body=pod("forced"))
    call(api, "DELETE", PODS.format(ns="default") + "/forced", body={"gracePeriodSeconds": 0})
    assert gone(api, PODS.format(ns="default") + "/forced")
    call(api, "POST", PODS.format(ns="default"), body=pod("pending", node=None))
    call(api, "DELETE", PODS.format(ns="default") + "/pending")
    assert gone(api, PODS.format(ns="default") + "/pending")


def test_a_terminating_pod_can_be_force_deleted(kube, api):
    kube.reaper.pod_grace = 30
    call(api, "POST", PODS.format(ns="default"), body=pod("slow"))
    call(api, "DELETE", PODS.format(ns="default") + "/slow")
    assert call(api, "GET", PODS.format(ns="default") + "/slow").status == 200
    call(api, "DELETE", PODS.format(ns="default") + "/slow", body={"gracePeriodSeconds": 0})
    assert gone(api, PODS.format(ns="default") + "/slow")


# --- garbage collection ----------------------------------------------------------------------------


def make_chain(api):
    d = call(api, "POST", DEPLOYS, body=deployment()).body
    rs = call(api, "POST", RS, body=owned(replicaset(), d)).body
    p = call(api, "POST", PODS.format(ns="default"), body=owned(pod("web-1-a", node=None), rs)).body
    return d, rs, p


def test_background_deletion_removes_the_owner_then_its_dependents(api):
    make_chain(api)
    r = call(api, "DELETE", DEPLOYS + "/web")
    assert r.status == 200 and gone(api, DEPLOYS + "/web")
    assert eventually(lambda: gone(api, RS + "/web-1") and gone(api, PODS.format(ns="default") + "/web-1-a"))


def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone(kube, api):
    make_chain(api)
    with kube.reaper.hold():
        r = call(api, "DELETE", DEPLOYS + "/web", body={"propagationPolicy": "Foreground"})
        assert r.status == 200 and r.body["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert call(api, "GET", RS + "/web-1").status == 200
    assert eventually(lambda: gone(api, DEPLOYS + "/web"))
    assert gone(api, RS + "/web-1") and gone(api, PODS.format(ns="default") + "/web-1-a")


def test_orphan_deletion_leaves_dependents_without_the_reference(api):
    make_chain(api)
    r = call(api, "DELETE", DEPLOYS + "/web", body={"propagationPolicy": "Orphan"})
    assert r.status == 200
    assert eventually(lambda: gone(api, DEPLOYS + "/web"))
    rs = call(api, "GET", RS + "/web-1").body
    assert "ownerReferences" not in rs["metadata"]
    assert call(api, "GET", PODS.format(ns="default") + "/web-1-a").status == 200


def test_a_dependent_with_another_live_owner_only_loses_the_dangling_reference(api):
    a = call(api, "POST", CM.format(ns="default"), body=cm("owner-a")).body
    b = call(api, "POST", CM.format(ns="default"), body=cm("owner-b")).body
    dep = cm("dep")
    dep["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner-a", "uid": a["metadata"]["uid"]},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner-b", "uid": b["metadata"]["uid"]}]
    call(api, "POST", CM.format(ns="default"), body=dep)
    call(api, "DELETE", CM.format(ns="default") + "/owner-a")
    live = call(api, "GET", CM.format(ns="default") + "/dep").body
    assert [r["name"] for r in live["metadata"]["ownerReferences"]] == ["owner-b"]


@pytest.mark.parametrize("options, field", [
    ({"propagationPolicy": "Sometimes"}, "propagationPolicy"),
    ({"propagationPolicy": "Orphan", "orphanDependents": True}, "propagationPolicy"),
])
def test_bad_delete_options_are_422(api, options, field):
    call(api, "POST", CM.format(ns="default"), body=cm("a"))
    r = call(api, "DELETE", CM.format(ns="default") + "/a", body=options)
    assert r.status == 422 and r.body["details"]["causes"][0]["field"] == field
    assert call(api, "GET", CM.format(ns="default") + "/a").status == 200


def test_delete_collection_goes_through_the_same_rules(kube, api):
    call(api, "POST", CM.format(ns="default"), body={"metadata": {"name": "held", "labels": {"x": "1"},
                                                                  "finalizers": ["example.com/keep"]}})
    call(api, "POST", CM.format(ns="default"), body=cm("free", labels={"x": "1"}))
    r = call(api, "DELETE", CM.format(ns="default"), query={"labelSelector": "x=1"})
    assert r.status == 200
    assert gone(api, CM.format(ns="default") + "/free")
    assert call(api, "GET", CM.format(ns="default") + "/held").body["metadata"]["deletionTimestamp"]
