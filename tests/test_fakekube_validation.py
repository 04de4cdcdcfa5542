"""fakekube: what a real server does between decoding a write and storing it (decode, prune,
default, validate), seen through the official client as meshctl sees it."""

from __future__ import annotations

import pytest

from tests.fakekube.pyclient import call
from tests.test_fakekube_schema import upstream_crds

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
SERVICES = "/api/v1/namespaces/default/services"
SECRETS = "/api/v1/namespaces/default/secrets"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GATEWAYS = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways"
APPLY = "application/apply-patch+yaml"


def deployment(name="web", **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}, **spec}}


def service(name="web", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}], **spec}}


# --- decoding: unknown fields, wrong types ---------------------------------------------------------


def test_unknown_fields_are_dropped_with_a_warning_by_default(api):
    body = deployment(paused=False)
    body["spec"]["replicaz"] = 3
    body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    r = call(api, "POST", DEPLOYS, body=body)
    assert r.status == 201
    assert "replicaz" not in r.body["spec"]
    assert "imagePullPolicyy" not in r.body["spec"]["template"]["spec"]["containers"][0]
    # in the order the decoder meets them
    assert r.headers["warning"] == ('299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolicyy\\"", '
                                    '299 - "unknown field \\"spec.replicaz\\""')


def test_field_validation_strict_refuses_unknown_fields(api):
    body = deployment()
    body["spec"]["replicaz"] = 3
    r = call(api, "POST", DEPLOYS, body=body, query={"fieldValidation": "Strict"})
    assert r.status == 400 and r.body["reason"] == "BadRequest"
    assert r.body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
                                 'error: unknown field "spec.replicaz"')
    assert call(api, "GET", DEPLOYS + "/web").status == 404


def test_field_validation_ignore_drops_silently(api):
    body = deployment()
    body["spec"]["replicaz"] = 3
    r = call(api, "POST", DEPLOYS, body=body, query={"fieldValidation": "Ignore"})
    assert r.status == 201 and "warning" not in r.headers and "replicaz" not in r.body["spec"]


def test_server_side_apply_is_always_strict(api):
    body = deployment()
    body["spec"]["replicaz"] = 3
    r = call(api, "PATCH", DEPLOYS + "/web", body=body, content_type=APPLY, query={"fieldManager": "meshctl"})
    assert r.status == 400
    assert r.body["message"] == ("failed to create typed patch object (apps/v1, Kind=Deployment): "
                                 ".spec.replicaz: field not declared in schema")


def test_a_value_of_the_wrong_type_is_a_400(api):
    r = call(api, "POST", DEPLOYS, body=deployment(replicas="3"))
    assert r.status == 400
    assert r.body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                                 'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')


def test_merge_patch_adding_an_unknown_field_is_warned(api):
    call(api, "POST", DEPLOYS, body=deployment())
    r = call(api, "PATCH", DEPLOYS + "/web", body={"spec": {"bogus": 1}}, content_type="application/merge-patch+json")
    assert r.status == 200 and "bogus" not in r.body["spec"]
    assert r.headers["warning"] == '299 - "unknown field \\"spec.bogus\\""'


# --- defaults -------------------------------------------------------------------------------------


def test_built_in_defaults_are_set_on_create(api):
    d = call(api, "POST", DEPLOYS, body=deployment()).body
    assert d["spec"]["replicas"] == 1 and d["spec"]["revisionHistoryLimit"] == 10
    assert d["spec"]["progressDeadlineSeconds"] == 600
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                                "maxSurge": "25%"}}
    pod = d["spec"]["template"]["spec"]
    assert (pod["restartPolicy"], pod["dnsPolicy"], pod["terminationGracePeriodSeconds"]) == ("Always", "ClusterFirst", 30)
    assert pod["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # a tag that is not "latest"

    s = call(api, "POST", SERVICES, body=service()).body
    assert s["spec"]["type"] == "ClusterIP" and s["spec"]["sessionAffinity"] == "None"
    assert s["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert s["spec"]["clusterIP"].startswith("10.9") and s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]]
    other = call(api, "POST", SERVICES, body=service("other")).body
    assert other["spec"]["clusterIP"] != s["spec"]["clusterIP"]


def test_a_service_keeps_its_cluster_ip_when_an_update_leaves_it_out(api):
    first = call(api, "POST", SERVICES, body=service()).body
    r = call(api, "PATCH", SERVICES + "/web", body=service(), content_type=APPLY, query={"fieldManager": "m"})
    assert r.status == 200 and r.body["spec"]["clusterIP"] == first["spec"]["clusterIP"]
    changed = call(api, "PATCH", SERVICES + "/web", body={"spec": {"clusterIP": "10.96.99.99"}},
                   content_type="application/merge-patch+json")
    assert changed.status == 422 and changed.body["details"]["causes"][0]["field"].startswith("spec.clusterIP")


def test_secret_string_data_is_merged_into_data(api):
    r = call(api, "POST", SECRETS, body={"metadata": {"name": "s"}, "stringData": {"token": "abc"},
                                         "data": {"other": "eHl6"}})
    assert r.status == 201
    assert r.body["data"] == {"other": "eHl6", "token": "YWJj"} and "stringData" not in r.body
    assert r.body["type"] == "Opaque"


# --- validation -------------------------------------------------------------------------------------


def test_invalid_built_in_objects_are_422_with_causes(api):
    r = call(api, "POST", SERVICES, body=service(ports=[{"name": "http", "port": 70000}]))
    assert r.status == 422 and r.body["reason"] == "Invalid"
    # targetPort defaults to the port, so it is out of range too, as on a real server
    message = "Invalid value: 70000: must be between 1 and 65535, inclusive"
    assert r.body["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.ports[0].port", "message": message},
                                           {"reason": "FieldValueInvalid", "field": "spec.ports[0].targetPort",
                                            "message": message}]
    assert r.body["message"].startswith('Service "web" is invalid: [spec.ports[0].port: Invalid value: 70000')

    bad = deployment()
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    r = call(api, "POST", DEPLOYS, body=bad)
    assert r.status == 422
    assert "selector` does not match template `labels`" in r.body["message"]


def test_label_syntax_is_checked_for_every_kind(api):
    body = deployment()
    body["metadata"]["labels"] = {"bad key!": "x"}
    r = call(api, "POST", DEPLOYS, body=body)
    assert r.status == 422 and r.body["details"]["causes"][0]["field"] == "metadata.labels"


def test_an_immutable_selector_cannot_change(api):
    call(api, "POST", DEPLOYS, body=deployment())
    changed = deployment()
    changed["spec"]["selector"]["matchLabels"]["v"] = "2"
    changed["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    r = call(api, "PATCH", DEPLOYS + "/web", body=changed, content_type=APPLY, query={"fieldManager": "m"})
    assert r.status == 422 and "field is immutable" in r.body["message"]


# --- custom resources: schema, defaults, CEL --------------------------------------------------------


@pytest.fixture
def gateway_api(api):
    for name in ("gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io"):
        assert call(api, "POST", CRDS, body=upstream_crds()[name]).status == 201
    return api


def gateway(listeners):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw"},
            "spec": {"gatewayClassName": "istio", "listeners": listeners}}


def test_a_gateway_is_defaulted_from_its_crd_schema(gateway_api):
    r = call(gateway_api, "POST", GATEWAYS, body=gateway([{"name": "http", "port": 80, "protocol": "HTTP"}]))
    assert r.status == 201, r.body
    assert r.body["spec"]["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}


def test_a_gateway_breaking_its_schema_or_cel_rules_is_422(gateway_api):
    r = call(gateway_api, "POST", GATEWAYS, body=gateway([{"name": "http", "port": 70000, "protocol": "HTTP"}]))
    assert r.status == 422
    assert r.body["details"]["causes"][0]["field"] == "spec.listeners[0].port"
    twice = [{"name": "http", "port": 80, "protocol": "HTTP"}, {"name": "http", "port": 81, "protocol": "HTTP"}]
    r = call(gateway_api, "POST", GATEWAYS, body=gateway(twice))
    assert r.status == 422 and r.body["reason"] == "Invalid"


def test_unknown_gateway_fields_are_pruned_with_a_warning(gateway_api):
    body = gateway([{"name": "http", "port": 80, "protocol": "HTTP", "colour": "blue"}])
    r = call(gateway_api, "POST", GATEWAYS, body=body)
    assert r.status == 201 and "colour" not in r.body["spec"]["listeners"][0]
    assert r.headers["warning"] == '299 - "unknown field \\"spec.listeners[0].colour\\""'
    r = call(gateway_api, "PATCH", GATEWAYS + "/gw2", body={**body, "metadata": {"name": "gw2"}}, content_type=APPLY,
             query={"fieldManager": "meshctl"})
    assert r.status == 400 and "spec.listeners[0].colour: field not declared in schema" in r.body["message"]
