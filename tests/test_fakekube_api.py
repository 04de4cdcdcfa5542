"""fakekube: REST semantics (CRUD, metadata, lists, selectors, errors, discovery, CRDs), through
the real ``kubernetes`` client."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import configmap as cm
from tests.fakekube import FakeKube
from tests.fakekube.pyclient import api_client, call, dynamic_client
from tests.test_fakekube_deletion import eventually

CM = "/api/v1/namespaces/{ns}/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/{ns}/deployments"




def deployment(name, ns="default", replicas=None, image="nginx"):
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": image}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def widget_crd(scope="Namespaced", served_beta=True):
    versions = [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]
    if served_beta:
        versions.append({"name": "v1beta1", "served": True, "storage": False,
                         "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}})
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": scope,
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                     "versions": versions}}


def assert_status(reply, code, reason):
    assert reply.status == code, reply
    assert reply.body["kind"] == "Status" and reply.body["apiVersion"] == "v1"
    assert reply.body["status"] == "Failure"
    assert reply.body["code"] == code
    assert reply.body["reason"] == reason, reply.body


# --- discovery -------------------------------------------------------------------------------------


def test_version_endpoint_serves_the_configured_version(kube, api):
    kube.version = {**kube.version, "minor": "31", "gitVersion": "v1.31.4"}
    r = call(api, "GET", "/version")
    assert r.status == 200 and r.body["gitVersion"] == "v1.31.4" and r.body["minor"] == "31"


def test_discovery_lists_builtin_groups_and_resources(api):
    assert call(api, "GET", "/api").body["versions"] == ["v1"]
    core = {r["name"]: r for r in call(api, "GET", "/api/v1").body["resources"]}
    assert core["pods"]["namespaced"] is True and "po" in core["pods"]["shortNames"]
    assert core["pods"]["singularName"] == "pod" and core["pods"]["kind"] == "Pod"
    assert core["nodes"]["namespaced"] is False
    assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert "configmaps/status" not in core
    assert {"namespaces", "services", "endpoints", "serviceaccounts", "secrets", "events"} <= set(core)

    groups = {g["name"]: g for g in call(api, "GET", "/apis").body["groups"]}
    expected = {"apps": "v1", "discovery.k8s.io": "v1", "autoscaling": "v2", "policy": "v1",
                "rbac.authorization.k8s.io": "v1", "admissionregistration.k8s.io": "v1",
                "apiextensions.k8s.io": "v1", "coordination.k8s.io": "v1", "authorization.k8s.io": "v1",
                "authentication.k8s.io": "v1"}
    for name, version in expected.items():
        assert groups[name]["preferredVersion"]["version"] == version

    apps = call(api, "GET", "/apis/apps").body
    assert apps["kind"] == "APIGroup" and apps["preferredVersion"]["groupVersion"] == "apps/v1"
    apps_v1 = {r["name"]: r for r in call(api, "GET", "/apis/apps/v1").body["resources"]}
    assert {"deployments", "statefulsets", "daemonsets", "replicasets", "deployments/status"} <= set(apps_v1)
    ssar = {r["name"]: r for r in call(api, "GET", "/apis/authorization.k8s.io/v1").body["resources"]}
    assert ssar["selfsubjectaccessreviews"]["verbs"] == ["create"]


@pytest.mark.parametrize("path", ["/apis/nope.example.com", "/apis/nope.example.com/v1", "/apis/apps/v2",
                                  "/apis/apps/v2/namespaces/default/deployments", "/api/v1/namespaces/default/frobs",
                                  "/api/v1/namespaces/default/nodes", "/api/v1/namespaces/default/configmaps/x/scale"])
def test_unknown_group_version_or_resource_is_404(api, path):
    assert_status(call(api, "GET", path), 404, "NotFound")


def test_seed_namespaces_exist_and_are_active(api):
    items = call(api, "GET", "/api/v1/namespaces").body["items"]
    assert [i["metadata"]["name"] for i in items] == ["default", "kube-node-lease", "kube-public", "kube-system"]
    for ns in items:
        assert ns["status"]["phase"] == "Active"
        assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == ns["metadata"]["name"]


def test_partial_object_metadata_is_served_when_asked_for(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a", secret="value"))
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    r = call(api, "GET", CM.format(ns="default"), headers={"Accept": accept})
    assert r.body["kind"] == "PartialObjectMetadataList"
    (item,) = r.body["items"]
    assert item == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]}
    assert item["metadata"]["name"] == "a"


def test_table_is_served_when_kubectl_asks_for_one(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    r = call(api, "GET", CM.format(ns="default"), headers={"Accept": accept})
    assert r.body["kind"] == "Table" and r.body["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in r.body["columnDefinitions"]] == ["Name", "Age"]
    (row,) = r.body["rows"]
    assert row["cells"][0] == "a" and re.fullmatch(r"\d+s", row["cells"][1])
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "a"


# --- create and metadata ---------------------------------------------------------------------------


def test_create_fills_server_metadata(api):
    r = call(api, "POST", CM.format(ns="default"), body={"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert r.status == 201
    m = r.body["metadata"]
    assert uuid.UUID(m["uid"]).version == 4
    assert m["resourceVersion"].isdigit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["creationTimestamp"])
    assert "generation" not in m  # as on a real server, ConfigMaps keep no generation
    assert m["namespace"] == "default"  # filled from the URL
    assert r.body["apiVersion"] == "v1" and r.body["kind"] == "ConfigMap"
    d = call(api, "POST", DEPLOYS.format(ns="default"), body=deployment("web")).body
    assert d["metadata"]["generation"] == 1


def test_resource_versions_increase_monotonically(api):
    rvs = [int(call(api, "POST", CM.format(ns="default"), body=cm(f"c{i}")).body["metadata"]["resourceVersion"])
           for i in range(4)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4
    list_rv = int(call(api, "GET", CM.format(ns="default")).body["metadata"]["resourceVersion"])
    assert list_rv >= rvs[-1]


def test_create_duplicate_is_409_already_exists(api):
    call(api, "POST", CM.format(ns="default"), body=cm("dup"))
    r = call(api, "POST", CM.format(ns="default"), body=cm("dup"))
    assert_status(r, 409, "AlreadyExists")
    assert r.body["message"] == 'configmaps "dup" already exists'
    assert r.body["details"] == {"name": "dup", "kind": "configmaps"}


def test_create_in_missing_namespace_is_404(api):
    r = call(api, "POST", CM.format(ns="nope"), body=cm("a", ns="nope"))
    assert_status(r, 404, "NotFound")
    assert r.body["message"] == 'namespaces "nope" not found'
    assert r.body["details"]["name"] == "nope" and r.body["details"]["kind"] == "namespaces"


def test_name_mismatch_between_url_and_body_is_400(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a"))
    r = call(api, "PUT", CM.format(ns="default") + "/a", body=cm("b"))
    assert_status(r, 400, "BadRequest")
    assert "does not match the name on the URL" in r.body["message"]


def test_namespace_mismatch_between_url_and_body_is_400(api):
    assert_status(call(api, "POST", CM.format(ns="default"), body=cm("a", ns="kube-system")), 400, "BadRequest")


def test_missing_name_is_422_invalid(api):
    r = call(api, "POST", CM.format(ns="default"), body={"data": {}})
    assert_status(r, 422, "Invalid")
    assert r.body["details"]["causes"][0]["field"] == "metadata.name"
    assert "Required value" in r.body["message"]


@pytest.mark.parametrize("path,name", [(CM.format(ns="default"), "Bad_Name"), (CM.format(ns="default"), "-x"),
                                       ("/api/v1/namespaces", "a.b"), ("/api/v1/namespaces/default/services", "1svc")])
def test_invalid_dns_name_is_422_invalid(api, path, name):
    kind = {"configmaps": "ConfigMap", "namespaces": "Namespace", "services": "Service"}[path.rsplit("/", 1)[1]]
    r = call(api, "POST", path, body={"apiVersion": "v1", "kind": kind, "metadata": {"name": name}})
    assert_status(r, 422, "Invalid")
    assert r.body["message"].startswith(f'{kind} "{name}" is invalid: metadata.name: Invalid value')


def test_rbac_names_may_contain_colons(api):
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:mesh:reader"}, "rules": []}
    assert call(api, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", body=body).status == 201


def test_generate_name_creates_distinct_names(api):
    names = {call(api, "POST", CM.format(ns="default"), body={"metadata": {"generateName": "web-"}}).body["metadata"]["name"]
             for _ in range(3)}
    assert len(names) == 3
    assert all(re.fullmatch(r"web-[a-z0-9]{5}", n) for n in names)


def test_kind_mismatch_is_400(api):
    r = call(api, "POST", CM.format(ns="default"), body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}})
    assert_status(r, 400, "BadRequest")


def test_cluster_scoped_objects_have_no_namespace(api):
    r = call(api, "POST", "/api/v1/nodes", body={"metadata": {"name": "n1", "namespace": "default"}})
    assert r.status == 201 and "namespace" not in r.body["metadata"]


# --- get / update ----------------------------------------------------------------------------------


def test_get_missing_object_is_404_with_details(api):
    r = call(api, "GET", DEPLOYS.format(ns="default") + "/nope")
    assert_status(r, 404, "NotFound")
    assert r.body["message"] == 'deployments.apps "nope" not found'
    assert r.body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_update_with_stale_resource_version_is_409_conflict(api):
    created = call(api, "POST", CM.format(ns="default"), body=cm("a", x="1")).body
    stale = dict(created, data={"x": "2"})
    assert call(api, "PUT", CM.format(ns="default") + "/a", body=stale).status == 200
    r = call(api, "PUT", CM.format(ns="default") + "/a", body=dict(created, data={"x": "3"}))
    assert_status(r, 409, "Conflict")
    assert "the object has been modified" in r.body["message"]
    assert call(api, "GET", CM.format(ns="default") + "/a").body["data"] == {"x": "2"}


def test_update_without_resource_version_is_unconditional_for_builtins(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a", x="1"))
    assert call(api, "PUT", CM.format(ns="default") + "/a", body=cm("a", x="9")).body["data"] == {"x": "9"}


def test_update_of_missing_object_is_404(api):
    assert_status(call(api, "PUT", CM.format(ns="default") + "/ghost", body=cm("ghost")), 404, "NotFound")


def test_generation_counts_spec_changes_only(api):
    d = call(api, "POST", DEPLOYS.format(ns="default"), body=deployment("web")).body
    assert d["metadata"]["generation"] == 1
    d["metadata"]["labels"] = {"changed": "metadata"}
    d = call(api, "PUT", DEPLOYS.format(ns="default") + "/web", body=d).body
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 4
    d = call(api, "PUT", DEPLOYS.format(ns="default") + "/web", body=d).body
    assert d["metadata"]["generation"] == 2


def test_noop_update_keeps_resource_version(api):
    created = call(api, "POST", CM.format(ns="default"), body=cm("a", x="1")).body
    again = call(api, "PUT", CM.format(ns="default") + "/a", body=created).body
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_status_subresource_changes_only_status(api):
    path = DEPLOYS.format(ns="default") + "/web"
    created = call(api, "POST", DEPLOYS.format(ns="default"), body={**deployment("web"), "status": {"replicas": 7}}).body
    assert "replicas" not in created.get("status", {})  # status is never set on create

    body = {**created, "spec": {**created["spec"], "replicas": 9}, "status": {"replicas": 3}}
    after = call(api, "PUT", path + "/status", body=body).body
    assert after["status"] == {"replicas": 3}
    assert after["spec"]["replicas"] == 1  # the spec change was ignored (1 is the default)
    assert after["metadata"]["generation"] == 1

    main = call(api, "PUT", path, body={**after, "status": {"replicas": 100}}).body
    assert main["status"] == {"replicas": 3}  # the main resource cannot change status

    patched = call(api, "PATCH", path + "/status", body={"status": {"readyReplicas": 2}},
                   content_type="application/merge-patch+json").body
    assert patched["status"] == {"replicas": 3, "readyReplicas": 2}
    assert call(api, "GET", path + "/status").body["status"] == patched["status"]


def test_status_subresource_is_404_for_kinds_without_one(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a"))
    assert_status(call(api, "GET", CM.format(ns="default") + "/a/status"), 404, "NotFound")


# --- delete ----------------------------------------------------------------------------------------


def test_delete_returns_success_status_or_the_object(api):
    created = call(api, "POST", CM.format(ns="default"), body=cm("a")).body
    r = call(api, "DELETE", CM.format(ns="default") + "/a")
    assert r.status == 200 and r.body["kind"] == "Status" and r.body["status"] == "Success"
    assert r.body["details"]["uid"] == created["metadata"]["uid"]
    assert call(api, "GET", CM.format(ns="default") + "/a").status == 404

    call(api, "POST", "/api/v1/namespaces/default/pods",
         body={"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    r = call(api, "DELETE", "/api/v1/namespaces/default/pods/p")
    assert r.body["kind"] == "Pod" and r.body["metadata"]["name"] == "p"
    assert_status(call(api, "DELETE", "/api/v1/namespaces/default/pods/p"), 404, "NotFound")


def test_deleting_a_namespace_deletes_its_contents(api):
    call(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": "team"}})
    call(api, "POST", CM.format(ns="team"), body=cm("a", ns="team"))
    call(api, "POST", DEPLOYS.format(ns="team"), body=deployment("web", ns="team"))
    call(api, "POST", CM.format(ns="default"), body=cm("keep"))
    r = call(api, "DELETE", "/api/v1/namespaces/team")
    assert r.status == 200 and r.body["kind"] == "Namespace" and r.body["status"]["phase"] == "Terminating"
    assert eventually(lambda: call(api, "GET", "/api/v1/namespaces/team").status == 404)
    assert [i["metadata"]["name"] for i in call(api, "GET", "/api/v1/configmaps").body["items"]] == ["keep"]
    assert call(api, "GET", "/apis/apps/v1/deployments").body["items"] == []


def test_deleting_default_namespace_is_forbidden(api):
    assert_status(call(api, "DELETE", "/api/v1/namespaces/default"), 403, "Forbidden")


def test_delete_collection_with_label_selector(api):
    for name, app in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        call(api, "POST", CM.format(ns="default"), body=cm(name, labels={"app": app}))
    r = call(api, "DELETE", CM.format(ns="default"), query={"labelSelector": "app=a"})
    assert r.status == 200 and [i["metadata"]["name"] for i in r.body["items"]] == ["a1", "a2"]
    left = call(api, "GET", CM.format(ns="default")).body["items"]
    assert [i["metadata"]["name"] for i in left] == ["b1"]


def test_delete_with_stale_precondition_is_409(api):
    call(api, "POST", CM.format(ns="default"), body=cm("a"))
    r = call(api, "DELETE", CM.format(ns="default") + "/a", body={"preconditions": {"uid": str(uuid.uuid4())}})
    assert_status(r, 409, "Conflict")
    assert call(api, "GET", CM.format(ns="default") + "/a").status == 200


def test_dry_run_stores_nothing(api):
    base = CM.format(ns="default")
    r = call(api, "POST", base, query={"dryRun": "All"}, body=cm("dry"))
    assert r.status == 201 and r.body["metadata"]["name"] == "dry"
    assert call(api, "GET", base + "/dry").status == 404

    rv = call(api, "POST", base, body=cm("real", x="1")).body["metadata"]["resourceVersion"]
    assert call(api, "PUT", base + "/real", query={"dryRun": "All"}, body=cm("real", x="2")).body["data"] == {"x": "2"}
    assert call(api, "PATCH", base + "/real", query={"dryRun": "All"}, body={"data": {"x": "3"}},
                content_type="application/merge-patch+json").body["data"] == {"x": "3"}
    assert call(api, "DELETE", base + "/real", query={"dryRun": "All"}).status == 200
    stored = call(api, "GET", base + "/real").body
    assert stored["data"] == {"x": "1"} and stored["metadata"]["resourceVersion"] == rv


# --- list, pagination, selectors -------------------------------------------------------------------


def test_list_per_namespace_and_across_namespaces(kube, api):
    kube.add_all([cm("b", ns="team"), cm("z"), cm("a", ns="team"), cm("y")])
    everywhere = call(api, "GET", "/api/v1/configmaps").body
    assert everywhere["kind"] == "ConfigMapList" and everywhere["apiVersion"] == "v1"
    assert everywhere["metadata"]["resourceVersion"] == str(kube.resource_version)
    keys = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]]
    assert keys == [("default", "y"), ("default", "z"), ("team", "a"), ("team", "b")]
    assert all("apiVersion" not in i and "kind" not in i for i in everywhere["items"])
    team = call(api, "GET", CM.format(ns="team")).body["items"]
    assert [i["metadata"]["name"] for i in team] == ["a", "b"]


def test_list_paginates_with_limit_and_continue(kube, api):
    kube.add_all([cm(f"c{i}") for i in range(5)])
    first = call(api, "GET", CM.format(ns="default"), query={"limit": 2}).body
    assert [i["metadata"]["name"] for i in first["items"]] == ["c0", "c1"]
    assert first["metadata"]["remainingItemCount"] == 3
    token = first["metadata"]["continue"]
    seen = [i["metadata"]["name"] for i in first["items"]]
    while token:
        page = call(api, "GET", CM.format(ns="default"), query={"limit": 2, "continue": token}).body
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert seen == ["c0", "c1", "c2", "c3", "c4"]
    assert "remainingItemCount" not in page["metadata"]


def test_invalid_continue_token_is_400(api):
    assert_status(call(api, "GET", CM.format(ns="default"), query={"continue": "not-a-token"}), 400, "BadRequest")


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["web1", "web2"]),
    ("app==web", ["web1", "web2"]),
    ("app!=web", ["db", "plain"]),  # != also matches objects without the label
    ("app in (web, db)", ["db", "web1", "web2"]),
    ("app notin (web)", ["db", "plain"]),
    ("tier", ["db", "web1"]),
    ("!tier", ["plain", "web2"]),
    ("app=web,tier=front", ["web1"]),
    ("app in (web),!tier", ["web2"]),
    ("", ["db", "plain", "web1", "web2"]),
])
def test_label_selector_operators(kube, api, selector, expected):
    kube.add_all([cm("web1", labels={"app": "web", "tier": "front"}), cm("web2", labels={"app": "web"}),
                  cm("db", labels={"app": "db", "tier": "back"}), cm("plain")])
    items = call(api, "GET", CM.format(ns="default"), query={"labelSelector": selector}).body["items"]
    assert sorted(i["metadata"]["name"] for i in items) == expected


@pytest.mark.parametrize("selector", ["app in web", "app=(x", "!", "a b"])
def test_malformed_label_selector_is_400(api, selector):
    assert_status(call(api, "GET", CM.format(ns="default"), query={"labelSelector": selector}), 400, "BadRequest")


def test_field_selectors(kube, api):
    kube.add_all([
        cm("a"), cm("b"), cm("a", ns="team"),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"}, "spec": {"nodeName": "n1"},
         "status": {"phase": "Running"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2"}, "spec": {"nodeName": "n2"},
         "status": {"phase": "Pending"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "type": "kubernetes.io/tls"},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2"}, "type": "Opaque"},
    ])

    def names(path, selector):
        r = call(api, "GET", path, query={"fieldSelector": selector})
        assert r.status == 200, r
        return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in r.body["items"]]

    assert names("/api/v1/configmaps", "metadata.name=a") == [("default", "a"), ("team", "a")]
    assert names("/api/v1/configmaps", "metadata.name==a,metadata.namespace!=team") == [("default", "a")]
    assert names("/api/v1/configmaps", "metadata.namespace=team") == [("team", "a")]
    assert names("/api/v1/pods", "status.phase=Running") == [("default", "p1")]
    assert names("/api/v1/pods", "spec.nodeName!=n1") == [("default", "p2")]
    assert names("/api/v1/secrets", "type=kubernetes.io/tls") == [("default", "s1")]
    r = call(api, "GET", "/api/v1/configmaps", query={"fieldSelector": "data.x=1"})
    assert_status(r, 400, "BadRequest")
    assert r.body["message"] == "field label not supported: data.x"


def test_dynamic_client_round_trip(kube, api, tmp_path):
    dyn = dynamic_client(kube, tmp_path / "discovery.json")
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    created = dyn.create(deployments, body=deployment("web", replicas=2), namespace="default")
    assert created.metadata.generation == 1
    got = deployments.get(name="web", namespace="default")
    got.spec.replicas = 5
    replaced = dyn.replace(deployments, body=got.to_dict(), namespace="default")
    assert replaced.spec.replicas == 5 and replaced.metadata.generation == 2
    patched = dyn.patch(deployments, name="web", namespace="default", body={"metadata": {"labels": {"x": "y"}}},
                        content_type="application/merge-patch+json")
    assert patched.to_dict()["metadata"]["labels"] == {"x": "y"}
    listed = deployments.get(namespace="default", label_selector="x=y")
    assert [i.metadata.name for i in listed.items] == ["web"]
    dyn.delete(deployments, name="web", namespace="default")
    assert deployments.get(namespace="default").items == []


# --- CRDs ------------------------------------------------------------------------------------------


def test_crd_registration_appears_in_discovery(api):
    r = call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd())
    assert r.status == 201
    groups = {g["name"]: g for g in call(api, "GET", "/apis").body["groups"]}
    assert [v["version"] for v in groups["example.com"]["versions"]] == ["v1", "v1beta1"]
    assert groups["example.com"]["preferredVersion"]["version"] == "v1"
    for version in ("v1", "v1beta1"):
        doc = call(api, "GET", f"/apis/example.com/{version}").body
        res = {x["name"]: x for x in doc["resources"]}
        assert res["widgets"]["kind"] == "Widget" and res["widgets"]["singularName"] == "widget"
        assert res["widgets"]["shortNames"] == ["wd"] and res["widgets"]["namespaced"] is True
        assert "widgets/status" in res
    assert call(api, "GET", "/apis/example.com/v1/namespaces/default/widgets").body["kind"] == "WidgetList"


def test_crd_gets_established_conditions_when_controllers_run(tmp_path):
    with FakeKube(controllers={"crds"}) as kube:
        api = api_client(kube)
        call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd())
        status = call(api, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com").body["status"]
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {"NamesAccepted": "True", "Established": "True"}
        assert status["acceptedNames"]["kind"] == "Widget" and status["acceptedNames"]["listKind"] == "WidgetList"
        assert status["storedVersions"] == ["v1"]


def test_custom_resource_served_at_every_served_version(api):
    call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd())
    body = {"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    created = call(api, "POST", "/apis/example.com/v1beta1/namespaces/default/widgets", body=body)
    assert created.status == 201 and created.body["apiVersion"] == "example.com/v1beta1"
    as_v1 = call(api, "GET", "/apis/example.com/v1/namespaces/default/widgets/w").body
    assert as_v1["apiVersion"] == "example.com/v1" and as_v1["spec"] == {"size": 1}
    assert call(api, "GET", "/apis/example.com/v1beta1/widgets").body["apiVersion"] == "example.com/v1beta1"
    assert_status(call(api, "GET", "/apis/example.com/v2/namespaces/default/widgets/w"), 404, "NotFound")


def test_deleting_a_crd_removes_its_kind_and_objects(api):
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    call(api, "POST", crds, body=widget_crd())
    call(api, "POST", "/apis/example.com/v1/namespaces/default/widgets",
         body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert call(api, "DELETE", crds + "/widgets.example.com").status == 200
    assert eventually(lambda: call(api, "GET", crds + "/widgets.example.com").status == 404)
    assert_status(call(api, "GET", "/apis/example.com/v1/namespaces/default/widgets"), 404, "NotFound")
    assert "example.com" not in {g["name"] for g in call(api, "GET", "/apis").body["groups"]}
    call(api, "POST", crds, body=widget_crd())  # the objects did not survive
    assert call(api, "GET", "/apis/example.com/v1/widgets").body["items"] == []


def test_server_side_applied_crd_registers_its_kind(api):
    r = call(api, "PATCH", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
             body=widget_crd(served_beta=False), content_type="application/apply-patch+yaml",
             query={"fieldManager": "installer"})
    assert r.status == 201
    versions = [v["version"] for v in call(api, "GET", "/apis/example.com").body["versions"]]
    assert versions == ["v1"]
    r = call(api, "PATCH", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
             body=widget_crd(served_beta=True), content_type="application/apply-patch+yaml",
             query={"fieldManager": "installer"})
    assert r.status == 200
    versions = [v["version"] for v in call(api, "GET", "/apis/example.com").body["versions"]]
    assert versions == ["v1", "v1beta1"]


def test_invalid_crd_is_422(api):
    crd = widget_crd()
    crd["metadata"]["name"] = "gadgets.example.com"
    r = call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
    assert_status(r, 422, "Invalid")
    assert 'must be spec.names.plural+"."+spec.group' in r.body["message"]


def test_cluster_scoped_custom_resources(api):
    call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd(scope="Cluster"))
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert call(api, "POST", "/apis/example.com/v1/widgets", body=body).status == 201
    assert_status(call(api, "GET", "/apis/example.com/v1/namespaces/default/widgets"), 404, "NotFound")


def test_custom_resource_update_needs_resource_version(api):
    call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd())
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    path = "/apis/example.com/v1/namespaces/default/widgets"
    call(api, "POST", path, body=body)
    assert_status(call(api, "PUT", path + "/w", body=body), 422, "Invalid")


def test_strategic_merge_patch_on_custom_resource_is_415(api):
    call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=widget_crd())
    path = "/apis/example.com/v1/namespaces/default/widgets"
    call(api, "POST", path, body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    r = call(api, "PATCH", path + "/w", body={"spec": {"a": 1}}, content_type="application/strategic-merge-patch+json")
    assert_status(r, 415, "UnsupportedMediaType")


def test_crd_added_with_python_api_registers_kind_even_without_schema(kube, api):
    crd = widget_crd()
    for v in crd["spec"]["versions"]:
        v.pop("schema")
    kube.add(crd)
    kube.add({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}})
    assert [i["metadata"]["name"] for i in call(api, "GET", "/apis/example.com/v1/widgets").body["items"]] == ["w"]


# --- reviews ---------------------------------------------------------------------------------------


def test_selfsubjectaccessreview_answers_from_deny_rules(kube, api):
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

    def allowed(verb, resource, namespace=""):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}}}
        r = call(api, "POST", path, body=body)
        assert r.status == 201
        return r.body["status"]["allowed"]

    assert allowed("list", "secrets", "default") is True
    kube.deny(verb="list", resource="secrets", namespace="default")
    assert allowed("list", "secrets", "default") is False
    assert allowed("list", "secrets", "other") is True
    assert allowed("get", "secrets", "default") is True
    assert_status(call(api, "GET", path), 405, "MethodNotAllowed")  # create only


def test_tokenreview_authenticates_the_server_token(kube, api):
    kube.token = "good-token"
    api = api_client(kube)
    path = "/apis/authentication.k8s.io/v1/tokenreviews"

    def review(token):
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        return call(api, "POST", path, body=body).body["status"]

    assert review("good-token")["authenticated"] is True
    assert review("bad-token")["authenticated"] is False
