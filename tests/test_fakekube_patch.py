"""fakekube: PATCH (merge, JSON, strategic merge) and server-side apply, through the real client."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client as k8s

from tests.fakekube.pyclient import api_client, call

DEPLOY = "/apis/apps/v1/namespaces/default/deployments/web"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SMP = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"



def deployment(**spec_extra):
    containers = [{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                   "ports": [{"containerPort": 8080, "name": "http"}]},
                  {"name": "sidecar", "image": "proxy:1"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default",
                                                                        "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
                     **spec_extra}}


@pytest.fixture
def web(kube):
    return kube.add(deployment())


def patch(api, body, content_type, path=DEPLOY, **query):
    return call(api, "PATCH", path, body=body, content_type=content_type, query=query or None)


# --- merge patch -----------------------------------------------------------------------------------


def test_merge_patch_sets_and_removes_fields(api, web):
    r = patch(api, {"metadata": {"labels": {"tier": "front", "app": None}}, "spec": {"replicas": 5}}, MERGE)
    assert r.status == 200
    assert r.body["metadata"]["labels"] == {"tier": "front"}
    assert r.body["spec"]["replicas"] == 5
    assert r.body["metadata"]["generation"] == 2
    assert int(r.body["metadata"]["resourceVersion"]) > int(web["metadata"]["resourceVersion"])


def test_merge_patch_replaces_lists_whole(api, web):
    r = patch(api, {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}}, MERGE)
    assert [c["name"] for c in r.body["spec"]["template"]["spec"]["containers"]] == ["only"]


def test_patch_with_stale_resource_version_is_409(api, web):
    r = patch(api, {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 9}}, MERGE)
    assert r.status == 409 and r.body["reason"] == "Conflict"


def test_patch_of_missing_object_is_404(api):
    assert patch(api, {"spec": {}}, MERGE).status == 404


def test_unknown_patch_content_type_is_415(api, web):
    r = patch(api, '{"spec": {}}', "application/x-whatever")
    assert r.status == 415 and r.body["reason"] == "UnsupportedMediaType"


# --- JSON patch ------------------------------------------------------------------------------------


def test_json_patch_operations(api, web):
    ops = [
        {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "remove", "path": "/spec/template/spec/containers/1"},
        {"op": "copy", "from": "/metadata/labels/tier", "path": "/metadata/labels/copied"},
        {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/moved"},
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "C", "value": "3"}},
        # "~1" is "/" in a JSON pointer ("~0", "~", cannot occur in a valid annotation key)
        {"op": "add", "path": "/metadata/annotations", "value": {"example.com/c": "x"}},
        {"op": "test", "path": "/metadata/annotations/example.com~1c", "value": "x"},
    ]
    r = patch(api, ops, JSON_PATCH)
    assert r.status == 200, r.body
    assert r.body["metadata"]["labels"] == {"tier": "front", "copied": "front", "moved": "web"}
    assert r.body["spec"]["replicas"] == 4
    containers = r.body["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app"]
    assert [e["name"] for e in containers[0]["env"]] == ["A", "B", "C"]


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/spec/replicas", "value": 3}],
    [{"op": "remove", "path": "/spec/nothing"}],
    [{"op": "replace", "path": "/metadata/nope/deeper", "value": 1}],
])
def test_failing_json_patch_is_422_and_changes_nothing(api, web, ops):
    r = patch(api, ops, JSON_PATCH)
    assert r.status == 422 and r.body["reason"] == "Invalid"
    assert call(api, "GET", DEPLOY).body["metadata"]["resourceVersion"] == web["metadata"]["resourceVersion"]


def test_malformed_json_patch_is_400(api, web):
    assert patch(api, [{"path": "/spec/replicas", "value": 1}], JSON_PATCH).status == 400


# --- strategic merge patch -------------------------------------------------------------------------


def test_strategic_merge_patch_merges_containers_and_env_by_name(api, web):
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}]}}}}
    r = patch(api, body, SMP)
    containers = {c["name"]: c for c in r.body["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"app", "sidecar"}  # the sidecar survives: merged by name
    assert containers["app"]["image"] == "app:2"
    assert containers["app"]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"},
                                        {"name": "C", "value": "3"}]
    assert containers["app"]["ports"] == [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]


def test_strategic_merge_patch_directives(api, web):
    body = {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"}, {"name": "new", "image": "n:1"}],
        "$setElementOrder/containers": [{"name": "new"}, {"name": "app"}]}}}}
    r = patch(api, body, SMP)
    assert [c["name"] for c in r.body["spec"]["template"]["spec"]["containers"]] == ["new", "app"]
    r = patch(api, {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}, SMP)
    assert r.body["spec"]["strategy"] == {"type": "Recreate"}  # rollingUpdate went with the replace


def test_strategic_merge_patch_merges_status_conditions_by_type(api, web):
    path = DEPLOY + "/status"
    patch(api, {"status": {"conditions": [{"type": "Available", "status": "False"},
                                          {"type": "Progressing", "status": "True"}]}}, SMP, path=path)
    r = patch(api, {"status": {"conditions": [{"type": "Available", "status": "True"}]}}, SMP, path=path)
    assert r.body["status"]["conditions"] == [{"type": "Available", "status": "True"},
                                              {"type": "Progressing", "status": "True"}]


def test_typed_client_patch_uses_strategic_merge(kube, web):
    apps = k8s.AppsV1Api(api_client(kube))
    result = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "app:3"}]}}}})
    assert [c.image for c in result.spec.template.spec.containers] == ["app:3", "proxy:1"]


# --- server-side apply -----------------------------------------------------------------------------


def apply(api, obj, manager, path=DEPLOY, **query):
    return patch(api, obj, APPLY, path=path, fieldManager=manager, **query)


def test_server_side_apply_creates_and_records_managed_fields(api):
    r = apply(api, deployment(), "tool-a")
    assert r.status == 201
    (entry,) = r.body["metadata"]["managedFields"]
    assert entry["manager"] == "tool-a" and entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1" and entry["time"]
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    assert fields["f:metadata"]["f:labels"]["f:app"] == {}
    app = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert app["."] == {} and app["f:image"] == {}
    assert "f:name" not in fields["f:metadata"]  # identity fields are not tracked
    assert call(api, "GET", DEPLOY).body["spec"]["replicas"] == 2


def test_server_side_apply_requires_field_manager(api):
    r = call(api, "PATCH", DEPLOY, body=deployment(), content_type=APPLY)
    assert r.status == 422 and r.body["reason"] == "Invalid"
    assert "fieldManager" in r.body["message"]


def test_server_side_apply_conflict_without_force_is_409(api):
    apply(api, deployment(), "tool-a")
    mine = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}
    r = apply(api, mine, "tool-b")
    assert r.status == 409 and r.body["reason"] == "Conflict"
    assert r.body["message"] == 'Apply failed with 1 conflict: conflict with "tool-a": .spec.replicas'
    assert r.body["details"]["causes"][0]["field"] == ".spec.replicas"
    assert call(api, "GET", DEPLOY).body["spec"]["replicas"] == 2

    r = apply(api, mine, "tool-b", force="true")
    assert r.status == 200 and r.body["spec"]["replicas"] == 5
    owners = {e["manager"]: e["fieldsV1"] for e in r.body["metadata"]["managedFields"]}
    assert "f:replicas" not in owners["tool-a"]["f:spec"]  # ownership moved
    assert owners["tool-b"]["f:spec"] == {"f:replicas": {}}


def test_server_side_apply_same_value_is_shared_not_a_conflict(api):
    apply(api, deployment(), "tool-a")
    same = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}
    r = apply(api, same, "tool-b")
    assert r.status == 200
    assert {e["manager"] for e in r.body["metadata"]["managedFields"]} == {"tool-a", "tool-b"}


def test_server_side_apply_removes_fields_the_manager_stopped_applying(api):
    first = deployment()
    first["metadata"]["labels"] = {"app": "web", "old": "yes", "shared": "1"}
    apply(api, first, "tool-a")
    apply(api, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"shared": "1"}}},
          "tool-b")
    second = deployment()
    second["spec"]["template"]["spec"]["containers"].pop()  # drop the sidecar too
    r = apply(api, second, "tool-a")
    assert r.status == 200
    assert r.body["metadata"]["labels"] == {"app": "web", "shared": "1"}  # "shared" is still tool-b's
    assert [c["name"] for c in r.body["spec"]["template"]["spec"]["containers"]] == ["app"]


def test_server_side_apply_merges_into_fields_set_by_others(api, web):
    r = apply(api, {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "annotations": {"owner": "me"}}}, "annotator")
    assert r.body["metadata"]["annotations"] == {"owner": "me"}
    assert r.body["spec"]["replicas"] == 2 and len(r.body["spec"]["template"]["spec"]["containers"]) == 2


def test_server_side_apply_accepts_a_yaml_body(kube, api):
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                           "data": {"when": "2024-01-01T00:00:00Z"}})
    r = apply(api, text, "yaml-tool", path="/api/v1/namespaces/default/configmaps/cfg")
    assert r.status == 201 and r.body["data"] == {"when": "2024-01-01T00:00:00Z"}


def test_server_side_apply_to_status_subresource(api, web):
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "status": {"readyReplicas": 2}, "spec": {"replicas": 99}}
    r = apply(api, status, "status-writer", path=DEPLOY + "/status")
    assert r.status == 200
    assert r.body["status"] == {"readyReplicas": 2} and r.body["spec"]["replicas"] == 2
    entry = next(e for e in r.body["metadata"]["managedFields"] if e["manager"] == "status-writer")
    assert entry["subresource"] == "status"


def test_server_side_apply_dry_run_stores_nothing(api):
    r = apply(api, deployment(), "tool-a", dryRun="All")
    assert r.status == 201
    assert call(api, "GET", DEPLOY).status == 404


def test_server_side_apply_with_python_dynamic_client(kube, tmp_path):
    from tests.fakekube.pyclient import dynamic_client

    dyn = dynamic_client(kube, tmp_path / "cache.json")
    res = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    out = dyn.server_side_apply(res, body=deployment(), field_manager="dyn", namespace="default")
    assert out.metadata.managedFields[0].manager == "dyn"
    changed = deployment()
    changed["spec"]["replicas"] = 7
    with pytest.raises(Exception) as conflict:
        dyn.server_side_apply(res, body=changed, field_manager="other", namespace="default")
    assert getattr(conflict.value, "status", None) == 409
    out = dyn.server_side_apply(res, body=changed, field_manager="other", namespace="default", force_conflicts=True)
    assert out.spec.replicas == 7


# --- ownership of non-apply writes (Update managers) -----------------------------------------------


def managers(body):
    return {(e["manager"], e["operation"]): e for e in body["metadata"].get("managedFields") or []}


def test_create_records_an_update_entry_named_by_field_manager(api):
    r = call(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=deployment(),
             query={"fieldManager": "creator"})
    assert r.status == 201
    entry = managers(r.body)[("creator", "Update")]
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {} and entry["time"]


def test_update_without_field_manager_is_named_after_the_user_agent(api, kube):
    apply(api, deployment(), "meshctl")
    api.user_agent = "kubectl/v1.34.0 (linux/amd64) kubernetes/abc"
    r = patch(api, {"spec": {"replicas": 5}}, MERGE)
    assert r.status == 200
    owners = managers(r.body)
    assert owners[("kubectl", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # the update took replicas from the apply manager, without a conflict
    assert "f:replicas" not in owners[("meshctl", "Apply")]["fieldsV1"]["f:spec"]


def test_apply_of_a_field_an_update_manager_changed_conflicts_unless_forced(api):
    apply(api, deployment(), "meshctl")
    patch(api, {"spec": {"replicas": 5}}, MERGE, fieldManager="kubectl-scale")
    r = apply(api, deployment(), "meshctl")
    assert r.status == 409
    assert r.body["message"] == 'Apply failed with 1 conflict: conflict with "kubectl-scale": .spec.replicas'
    assert r.body["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl-scale": .spec.replicas'}]
    r = apply(api, deployment(), "meshctl", force="true")
    assert r.status == 200 and r.body["spec"]["replicas"] == 2
    assert ("kubectl-scale", "Update") not in managers(r.body)  # it lost its only field


def test_a_field_the_applier_stops_applying_stays_while_an_update_manager_owns_it(api):
    apply(api, deployment(), "meshctl")
    patch(api, {"spec": {"replicas": 5}}, MERGE, fieldManager="kubectl-scale")
    without = deployment()
    del without["spec"]["replicas"]
    r = apply(api, without, "meshctl")
    assert r.status == 200
    assert r.body["spec"]["replicas"] == 5  # what `kubectl scale` set survives a re-apply


def test_a_field_only_the_applier_owned_goes_when_it_stops_applying_it(api):
    apply(api, deployment(), "meshctl")
    without = deployment()
    del without["metadata"]["labels"]
    r = apply(api, without, "meshctl")
    assert r.status == 200 and "labels" not in r.body["metadata"]


def test_update_ownership_of_removed_fields_is_dropped(api):
    call(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=deployment(), query={"fieldManager": "a"})
    r = patch(api, {"metadata": {"labels": None}}, MERGE, fieldManager="b")
    owners = managers(r.body)
    assert "f:metadata" not in owners[("a", "Update")]["fieldsV1"]  # labels were its only metadata
    assert ("b", "Update") not in owners  # removing a field owns nothing


def test_status_update_is_recorded_against_the_status_subresource(api, web):
    r = call(api, "PUT", DEPLOY + "/status", body={**call(api, "GET", DEPLOY).body, "status": {"replicas": 2}},
             query={"fieldManager": "controller"})
    assert r.status == 200
    entry = managers(r.body)[("controller", "Update")]
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


def test_a_no_op_apply_keeps_the_resource_version(api):
    first = apply(api, deployment(), "meshctl").body
    again = apply(api, deployment(), "meshctl").body
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"] == first["metadata"]["managedFields"]


def test_a_no_op_update_keeps_the_resource_version_and_owners(api):
    first = call(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=deployment(),
                 query={"fieldManager": "a"}).body
    r = call(api, "PUT", DEPLOY, body=first, query={"fieldManager": "b"})
    assert r.body["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert set(managers(r.body)) == {("a", "Update")}


def test_a_map_the_applier_stops_setting_goes_with_its_fields(api):
    first = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    assert apply(api, first, "meshctl").status == 201
    second = deployment(strategy={"type": "Recreate"})
    r = apply(api, second, "meshctl")
    # rollingUpdate is gone, not left as {} (which a real server would refuse next to Recreate)
    assert r.status == 200, r.body
    assert r.body["spec"]["strategy"] == {"type": "Recreate"}
