"""fakekube: watches, through the real client's raw HTTP and ``kubernetes.watch.Watch``."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from tests.conftest import configmap as cm
from tests.fakekube import FakeKube
from tests.fakekube.pyclient import api_client, call, watch_events as raw_watch

CMS = "/api/v1/namespaces/default/configmaps"




def summary(events):
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


def test_watch_without_resource_version_starts_with_existing_objects(kube, api):
    kube.add_all([cm("b"), cm("a"), cm("other", ns="kube-system")])
    headers, events = raw_watch(api, CMS)
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert summary(events) == [("ADDED", "a"), ("ADDED", "b")]
    assert events[0]["object"]["apiVersion"] == "v1" and events[0]["object"]["kind"] == "ConfigMap"


def test_watch_streams_events_after_resource_version(kube, api):
    start = call(api, "POST", CMS, body=cm("before")).body["metadata"]["resourceVersion"]
    call(api, "POST", CMS, body=cm("x", v="1"))
    modified = call(api, "PATCH", CMS + "/x", body={"data": {"v": "2"}}, content_type="application/merge-patch+json")
    deleted = call(api, "DELETE", CMS + "/x")
    assert deleted.status == 200
    _, events = raw_watch(api, CMS, resourceVersion=start)
    assert summary(events) == [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")]
    assert events[1]["object"]["data"] == {"v": "2"}
    assert events[1]["object"]["metadata"]["resourceVersion"] == modified.body["metadata"]["resourceVersion"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(start)  # a DELETED event carries the deletion's version


def test_watch_delivers_live_events_to_the_python_watch_helper(kube, api):
    core = k8s.CoreV1Api(api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen = []

    def consume():
        w = k8s_watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=3):
            seen.append((event["type"], event["object"].metadata.name, event["object"].data))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)  # let the watch open; events written before it are replayed anyway
    writer = k8s.CoreV1Api(api_client(kube))
    writer.create_namespaced_config_map("default", cm("live", v="1"))
    writer.patch_namespaced_config_map("live", "default", {"data": {"v": "2"}})
    writer.delete_namespaced_config_map("live", "default")
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert seen == [("ADDED", "live", {"v": "1"}), ("MODIFIED", "live", {"v": "2"}), ("DELETED", "live", {"v": "2"})]


def test_watch_honours_label_selector_and_reports_objects_leaving_it(kube, api):
    rv = str(kube.resource_version)
    call(api, "POST", CMS, body=cm("in", labels={"app": "web"}))
    call(api, "POST", CMS, body=cm("out", labels={"app": "db"}))
    call(api, "PATCH", CMS + "/in", body={"metadata": {"labels": {"app": "db"}}},
         content_type="application/merge-patch+json")
    call(api, "PATCH", CMS + "/out", body={"metadata": {"labels": {"app": "web"}}},
         content_type="application/merge-patch+json")
    _, events = raw_watch(api, CMS, resourceVersion=rv, labelSelector="app=web")
    assert summary(events) == [("ADDED", "in"), ("DELETED", "in"), ("ADDED", "out")]


def test_watch_honours_field_selector_across_namespaces(kube, api):
    rv = str(kube.resource_version)
    kube.add_all([cm("a"), cm("a", ns="team"), cm("b", ns="team")])
    _, events = raw_watch(api, "/api/v1/configmaps", resourceVersion=rv, fieldSelector="metadata.name=a")
    assert [(e["object"]["metadata"]["namespace"], e["type"]) for e in events] == [
        ("default", "ADDED"), ("team", "ADDED")]


def test_watch_too_old_resource_version_gets_410_error_event(api):
    with FakeKube(history=3) as small:
        small_api = api_client(small)
        for i in range(6):
            call(small_api, "POST", CMS, body=cm(f"c{i}"))
        _, events = raw_watch(small_api, CMS, resourceVersion="1")
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["kind"] == "Status" and status["code"] == 410
        assert status["reason"] == "Expired" and status["message"].startswith("too old resource version: 1")

        core = k8s.CoreV1Api(small_api)
        with pytest.raises(ApiException) as err:
            for _ in k8s_watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version="1",
                                              timeout_seconds=1, _request_timeout=5):
                pass
        assert err.value.status == 410

        recent = str(small.resource_version - 1)  # still in the history: fine
        _, events = raw_watch(small_api, CMS, resourceVersion=recent)
        assert summary(events) == [("ADDED", "c5")]


def test_watch_timeout_closes_the_stream(api):
    began = time.monotonic()
    _, events = raw_watch(api, CMS, resourceVersion="1", timeoutSeconds=0.6)
    elapsed = time.monotonic() - began
    assert events == [] and 0.55 <= elapsed < 2


def test_watch_ends_when_its_crd_is_deleted(kube, api):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True}]}}
    kube.add(crd)
    kube.add({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}})
    threading.Timer(0.3, lambda: kube.delete_object("customresourcedefinitions", "widgets.example.com")).start()
    began = time.monotonic()
    _, events = raw_watch(api, "/apis/example.com/v1/widgets", timeoutSeconds=5)
    assert time.monotonic() - began < 3
    assert summary(events) == [("ADDED", "w"), ("DELETED", "w")]


def test_watch_on_keep_alive_connection_leaves_it_usable(api):
    for _ in range(2):
        _, events = raw_watch(api, CMS, resourceVersion="1", timeoutSeconds=0.2)
        assert events == []
        assert call(api, "GET", CMS).status == 200


def test_watch_accepts_watch_1_and_the_legacy_watch_path(kube, api):
    rv = str(kube.resource_version)
    kube.add(cm("a"))
    request = api.param_serialize("GET", CMS, query_params=[("watch", "1"), ("resourceVersion", rv),
                                                           ("timeoutSeconds", "0.2")], auth_settings=["BearerToken"])
    resp = api.call_api(*request)
    resp.read()
    assert b'"type":"ADDED"' in resp.data
    _, events = raw_watch(api, "/api/v1/watch/namespaces/default/configmaps", resourceVersion=rv)
    assert summary(events) == [("ADDED", "a")]
