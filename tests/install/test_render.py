"""Rendering the control plane: the objects, names, labels and settings of WORKLOADS.md, per profile,
revision and Istio version."""

from __future__ import annotations

import json
import re

import pytest

from meshctl.errors import InputError, MeshctlError, UsageError
from meshctl.install.render import (
    DEPENDENCIES, INJECTION_TEMPLATE_FILES, ComponentManifest, manifest_order, manifest_yaml, render,
    render_tag, render_text,
)
from meshctl.install.values import resolve
from meshctl.kube.files import parse_yaml_documents
from meshctl.kube.yamlio import kubernetes_loader
from meshctl.mesh import labels as L
from tests.install.conftest import istio_release_inputs
from tests.conftest import UPSTREAM

ISTIO_CRD_NAMES = {
    "trafficextensions.extensions.istio.io", "wasmplugins.extensions.istio.io",
    "destinationrules.networking.istio.io", "envoyfilters.networking.istio.io", "gateways.networking.istio.io",
    "proxyconfigs.networking.istio.io", "serviceentries.networking.istio.io", "sidecars.networking.istio.io",
    "virtualservices.networking.istio.io", "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io", "authorizationpolicies.security.istio.io",
    "peerauthentications.security.istio.io", "requestauthentications.security.istio.io",
    "telemetries.telemetry.istio.io",
}

# Synthetic injection templates: awkward texts a YAML round trip could change.
SYNTHETIC_TEMPLATES = {
    "injection-template.yaml": "{{- $x := .Values.global.proxy }}\nspec:\n  containers: []\n",
    "gateway-injection-template.yaml": "  leading spaces\nand a tab\there\ntrailing space \n",
    "grpc-simple.yaml": "no final newline",
    "grpc-agent.yaml": "unicode: é ✓\n\n\nblank lines above\n",
    "waypoint.yaml": "image: \"{{ .ProxyImage }}\"\n# {{ .Values.global.waypoint.resources }}\n",
    "kube-gateway.yaml": "key: 'quoted'\n---\nsecond: doc\n",
    "agentgateway.yaml": "x: |\n  literal\n",
}
SYNTHETIC_CRDS = [
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": f"{plural}.networking.istio.io", "labels": {"app": "istio-pilot", "chart": "istio"},
                  "annotations": {"helm.sh/resource-policy": "keep"}},
     "spec": {"group": "networking.istio.io", "scope": "Namespaced",
              "names": {"kind": kind, "plural": plural},
              "versions": [{"name": "v1", "served": True, "storage": True}]}}
    for plural, kind in (("gateways", "Gateway"), ("sidecars", "Sidecar"))
]


@pytest.fixture(scope="module")
def real():
    """Istio 1.30.3's CRDs and injection templates, read straight from the release archives."""
    found = istio_release_inputs()
    if found is None:
        pytest.skip(f"Istio 1.30.3 chart archives not found in {UPSTREAM}")
    return found


def do_render(profile="ambient", sets=(), overrides=None, **kw) -> list[ComponentManifest]:
    spec = resolve(profile, sets=sets, overrides=overrides or {})
    kw.setdefault("crds", SYNTHETIC_CRDS)
    kw.setdefault("injection_templates", SYNTHETIC_TEMPLATES)
    return render(spec, **kw)


def by_component(components: list[ComponentManifest]) -> dict[str, list[dict]]:
    return {c.name: list(c.objects) for c in components}


def inventory(objects: list[dict]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


def find(components, kind: str, name: str) -> dict:
    for c in components:
        for o in c.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
    raise AssertionError(f"no {kind} {name}")


def container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def env_of(obj: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(obj)["env"]}


# -- inventory -------------------------------------------------------------------------------------------

PILOT_DEFAULT = {
    ("HorizontalPodAutoscaler", "istiod"), ("ClusterRole", "istiod-clusterrole-istio-system"),
    ("ClusterRole", "istiod-gateway-controller-istio-system"),
    ("ClusterRoleBinding", "istiod-clusterrole-istio-system"),
    ("ClusterRoleBinding", "istiod-gateway-controller-istio-system"), ("ConfigMap", "values"),
    ("ConfigMap", "istio"), ("Deployment", "istiod"), ("ConfigMap", "istio-sidecar-injector"),
    ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
    ("ClusterRole", "istio-reader-clusterrole-istio-system"),
    ("ClusterRoleBinding", "istio-reader-clusterrole-istio-system"), ("Role", "istiod"), ("RoleBinding", "istiod"),
    ("Service", "istiod"), ("ServiceAccount", "istiod"),
    ("ValidatingWebhookConfiguration", "istio-validator-istio-system"),
}
CNI = {("ClusterRole", "istio-cni"), ("ClusterRole", "istio-cni-repair-role"), ("ClusterRole", "istio-cni-ambient"),
       ("ClusterRoleBinding", "istio-cni"), ("ClusterRoleBinding", "istio-cni-repair-rolebinding"),
       ("ClusterRoleBinding", "istio-cni-ambient"), ("ConfigMap", "istio-cni-config"),
       ("DaemonSet", "istio-cni-node"), ("ServiceAccount", "istio-cni")}
ZTUNNEL = {("DaemonSet", "ztunnel"), ("ServiceAccount", "ztunnel")}
DEFAULT_TAG = {("MutatingWebhookConfiguration", "istio-revision-tag-default"),
               ("ValidatingWebhookConfiguration", "istiod-default-validator"),
               ("Service", "istiod-revision-tag-default")}


def test_default_ambient_inventory_matches_the_spec_sheet(real):
    crds, templates = real
    comps = do_render(crds=crds, injection_templates=templates)
    assert [c.name for c in comps] == ["Namespace", "Base", "Pilot", "Cni", "Ztunnel", "IngressGateways",
                                       "RevisionTag"]
    objects = by_component(comps)
    assert inventory(objects["Namespace"]) == {("Namespace", "istio-system")}
    assert inventory(objects["Base"]) == ({("CustomResourceDefinition", n) for n in ISTIO_CRD_NAMES}
                                          | {("ServiceAccount", "istio-reader-service-account")})
    assert inventory(objects["Pilot"]) == PILOT_DEFAULT
    assert inventory(objects["Cni"]) == CNI
    assert inventory(objects["Ztunnel"]) == ZTUNNEL
    assert objects["IngressGateways"] == []
    assert inventory(objects["RevisionTag"]) == DEFAULT_TAG
    assert {c.name: len(c.objects) for c in comps} == {
        "Namespace": 1, "Base": 16, "Pilot": 17, "Cni": 9, "Ztunnel": 2, "IngressGateways": 0, "RevisionTag": 3}


def test_canary_names_every_revisioned_object_after_the_revision():
    objects = by_component(do_render(overrides={"revision": "canary"}, default_tag=False))
    assert inventory(objects["Pilot"]) == {
        ("HorizontalPodAutoscaler", "istiod-canary"), ("ClusterRole", "istiod-clusterrole-canary-istio-system"),
        ("ClusterRole", "istiod-gateway-controller-canary-istio-system"),
        ("ClusterRoleBinding", "istiod-clusterrole-canary-istio-system"),
        ("ClusterRoleBinding", "istiod-gateway-controller-canary-istio-system"), ("ConfigMap", "values-canary"),
        ("ConfigMap", "istio-canary"), ("Deployment", "istiod-canary"),
        ("ConfigMap", "istio-sidecar-injector-canary"),
        ("MutatingWebhookConfiguration", "istio-sidecar-injector-canary"),
        ("ClusterRole", "istio-reader-clusterrole-canary-istio-system"),
        ("ClusterRoleBinding", "istio-reader-clusterrole-canary-istio-system"), ("Role", "istiod-canary"),
        ("RoleBinding", "istiod-canary"), ("Service", "istiod-canary"), ("ServiceAccount", "istiod-canary"),
        ("ValidatingWebhookConfiguration", "istio-validator-canary-istio-system")}
    assert inventory(objects["Cni"]) == CNI  # cluster singletons keep their names
    assert inventory(objects["Ztunnel"]) == ZTUNNEL
    assert "RevisionTag" not in objects


def test_minimal_renders_cni_and_ztunnel_empty_so_prune_can_remove_them():
    objects = by_component(do_render("minimal"))
    assert objects["Cni"] == [] and objects["Ztunnel"] == []
    assert inventory(objects["Pilot"]) == PILOT_DEFAULT


def test_components_filter_and_no_crds():
    comps = do_render(crds=None, components={"Base", "Pilot"})
    assert [c.name for c in comps] == ["Namespace", "Base", "Pilot"]
    assert inventory(comps[1].objects) == {("ServiceAccount", "istio-reader-service-account")}
    with pytest.raises(UsageError, match="unknown component Nope"):
        do_render(components={"Nope"})


def test_pilot_needs_the_injection_templates_but_other_components_do_not():
    with pytest.raises(MeshctlError) as err:
        do_render(injection_templates=None)
    assert "injection templates" in err.value.message and "istiod-1.30.3.tgz" in err.value.message
    comps = do_render(injection_templates=None, components={"Base", "Cni", "Ztunnel"})
    assert [c.name for c in comps] == ["Namespace", "Base", "Cni", "Ztunnel"]
    partial = {k: v for k, v in SYNTHETIC_TEMPLATES.items() if k != "waypoint.yaml"}
    with pytest.raises(InputError, match="lacks waypoint.yaml"):
        do_render(injection_templates=partial)


def test_pdb_only_with_more_than_one_replica():
    assert ("PodDisruptionBudget", "istiod") not in inventory(by_component(do_render())["Pilot"])
    comps = do_render(sets=["values.pilot.autoscaleMin=2"])
    pdb = find(comps, "PodDisruptionBudget", "istiod")
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "istiod", "istio": "pilot"}}}
    comps = do_render(sets=["values.pilot.autoscaleEnabled=false", "values.pilot.replicaCount=3"])
    assert find(comps, "PodDisruptionBudget", "istiod")
    assert find(comps, "Deployment", "istiod")["spec"]["replicas"] == 3
    assert ("HorizontalPodAutoscaler", "istiod") not in inventory(by_component(comps)["Pilot"])


def test_dependencies_follow_istioctl_order():
    assert DEPENDENCIES["Pilot"] == ("Base",) and DEPENDENCIES["Cni"] == ("Base",)
    assert DEPENDENCIES["Ztunnel"] == ("Cni",)
    assert DEPENDENCIES["IngressGateways"] == ("Pilot",) and DEPENDENCIES["RevisionTag"] == ("Pilot",)


# -- labels and selectors --------------------------------------------------------------------------------


def test_every_object_has_owner_labels_except_namespaces():
    comps = do_render("ambient-ingress", overrides={"revision": "canary"})
    for comp in comps:
        for obj in comp.objects:
            labels = obj["metadata"].get("labels") or {}
            if comp.name == "Namespace":
                assert obj["kind"] == "Namespace"
                assert not any(k in labels for k in (L.MANAGED_BY, L.INSTALL_ID, L.INSTALL_COMPONENT, L.REV)), obj
                continue
            assert labels[L.MANAGED_BY] == "meshctl", obj["metadata"]["name"]
            assert labels[L.INSTALL_COMPONENT] == comp.name
            assert labels[L.INSTALL_VERSION] == "1.30.3"
            assert labels[L.INSTALL_ID] == "istio-system.canary"
            assert labels[L.PART_OF] == "istio" and labels[L.INSTANCE] == "istio"
            assert labels[L.APP_VERSION] == "1.30.3"
            assert labels[L.REV] == "canary"


def test_crds_carry_owner_labels_and_keep_the_resource_policy():
    crd = by_component(do_render())["Base"][0]
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["labels"][L.INSTALL_COMPONENT] == "Base"
    assert "chart" not in crd["metadata"]["labels"]  # Istio's file labels are replaced
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert SYNTHETIC_CRDS[0]["metadata"]["labels"] == {"app": "istio-pilot", "chart": "istio"}  # input untouched


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("revision", ["", "canary"])
def test_selectors_match_the_pods(revision):
    comps = do_render(overrides={"revision": revision})
    name = f"istiod-{revision}" if revision else "istiod"
    deployment = find(comps, "Deployment", name)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    assert selects(find(comps, "Service", name)["spec"]["selector"], pod_labels)
    assert selects(find(comps, "Service", "istiod-revision-tag-default")["spec"]["selector"], pod_labels)
    assert find(comps, "HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]["name"] == name
    if revision:
        assert deployment["spec"]["selector"]["matchLabels"] == {"app": "istiod", "istio.io/rev": "canary"}
        assert pod_labels["istio"] == "istiod"
    else:
        assert deployment["spec"]["selector"]["matchLabels"] == {"istio": "pilot"}
        # the default Service must not select a canary's pods
        assert find(comps, "Service", "istiod")["spec"]["selector"] == {"app": "istiod", "istio": "pilot"}
    for ds in ("istio-cni-node", "ztunnel"):
        obj = find(comps, "DaemonSet", ds)
        assert selects(obj["spec"]["selector"]["matchLabels"], obj["spec"]["template"]["metadata"]["labels"])
    # Every ServiceAccount a pod runs as is rendered.
    accounts = {o["metadata"]["name"] for c in comps for o in c.objects if o["kind"] == "ServiceAccount"}
    for kind, workload in (("Deployment", name), ("DaemonSet", "istio-cni-node"), ("DaemonSet", "ztunnel")):
        assert find(comps, kind, workload)["spec"]["template"]["spec"]["serviceAccountName"] in accounts


def test_rbac_bindings_point_at_rendered_roles_and_accounts():
    comps = do_render("ambient", overrides={"revision": "canary"})
    objects = [o for c in comps for o in c.objects]
    roles = {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in ("ClusterRole", "Role")}
    accounts = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"}
    bindings = [o for o in objects if o["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert len(bindings) == 7
    for binding in bindings:
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) in roles
        assert all(s["name"] in accounts and s["namespace"] == "istio-system" for s in binding["subjects"])


# -- istiod ----------------------------------------------------------------------------------------------

ISTIOD_ENV_ORDER = ["REVISION", "PILOT_CERT_PROVIDER", "POD_NAME", "POD_NAMESPACE", "SERVICE_ACCOUNT", "KUBECONFIG",
                    "CA_TRUSTED_NODE_ACCOUNTS", "PILOT_ENABLE_AMBIENT", "PILOT_TRACE_SAMPLING",
                    "PILOT_ENABLE_ANALYSIS", "CLUSTER_ID", "GOMAXPROCS", "PLATFORM"]


def test_istiod_deployment_matches_the_spec_sheet():
    deployment = find(do_render(), "Deployment", "istiod")
    spec = deployment["spec"]
    assert "replicas" not in spec
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": "100%", "maxUnavailable": "25%"}
    pod = spec["template"]
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert pod["metadata"]["labels"]["istio.io/dataplane-mode"] == "none"
    assert "release" not in pod["metadata"]["labels"]
    assert pod["metadata"]["annotations"] == {"prometheus.io/port": "15014", "prometheus.io/scrape": "true",
                                              "sidecar.istio.io/inject": "false"}
    assert pod["spec"]["tolerations"] == [{"key": "cni.istio.io/not-ready", "operator": "Exists"}]
    c = container(deployment)
    assert c["name"] == "discovery"
    assert c["image"] == "registry.istio.io/release/pilot:1.30.3-distroless"
    assert c["args"] == ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain",
                         "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"]
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [
        ("http-debug", 8080), ("grpc-xds", 15010), ("tls-xds", 15012), ("https-webhooks", 15017),
        ("http-monitoring", 15014)]
    assert c["readinessProbe"] == {"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": 1,
                                   "periodSeconds": 3, "timeoutSeconds": 5}
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "2048Mi"}}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert [e["name"] for e in c["env"]] == ISTIOD_ENV_ORDER
    env = env_of(deployment)
    assert env["REVISION"] == "default" and env["CLUSTER_ID"] == "Kubernetes"
    assert env["CA_TRUSTED_NODE_ACCOUNTS"] == "istio-system/ztunnel"
    assert env["PILOT_TRACE_SAMPLING"] == "1" and env["PILOT_ENABLE_ANALYSIS"] == "false"
    assert env["PLATFORM"] == ""
    assert all(isinstance(e.get("value", ""), str) for e in c["env"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert "config-volume" not in volumes
    assert volumes["istio-token"]["projected"]["sources"][0]["serviceAccountToken"] == {
        "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}
    assert volumes["cacerts"]["secret"] == {"secretName": "cacerts", "optional": True}
    assert {m["name"]: m["mountPath"] for m in c["volumeMounts"]} == {
        "istio-token": "/var/run/secrets/tokens", "local-certs": "/var/run/secrets/istio-dns",
        "cacerts": "/etc/cacerts", "istio-kubeconfig": "/var/run/secrets/remote",
        "istio-csr-dns-cert": "/var/run/secrets/istiod/tls", "istio-csr-ca-configmap": "/var/run/secrets/istiod/ca"}


def test_istiod_env_follows_cluster_name_revision_and_user_env():
    comps = do_render(sets=["values.global.multiCluster.clusterName=east", "values.pilot.env.ZZZ=1",
                            "values.pilot.env.AAA=x", "values.pilot.env.CA_TRUSTED_NODE_ACCOUNTS=ns/zt",
                            "features.multiNetwork=true"],
                      overrides={"revision": "canary"})
    deployment = find(comps, "Deployment", "istiod-canary")
    env = env_of(deployment)
    assert env["REVISION"] == "canary" and env["CLUSTER_ID"] == "east"
    assert env["AMBIENT_ENABLE_MULTI_NETWORK"] == "true"
    names = [e["name"] for e in container(deployment)["env"]]
    # The user's variables come sorted after KUBECONFIG; theirs replaces the trusted-ztunnel default.
    assert names[6:11] == ["AAA", "AMBIENT_ENABLE_MULTI_NETWORK", "CA_TRUSTED_NODE_ACCOUNTS", "PILOT_ENABLE_AMBIENT",
                           "ZZZ"]
    assert names.count("CA_TRUSTED_NODE_ACCOUNTS") == 1 and env["CA_TRUSTED_NODE_ACCOUNTS"] == "ns/zt"
    assert env["ZZZ"] == "1"


def test_user_env_wins_over_a_feature_switch():
    comps = do_render(sets=["features.agentgateway=true", "values.pilot.env.PILOT_ENABLE_AGENTGATEWAY=false"])
    assert env_of(find(comps, "Deployment", "istiod"))["PILOT_ENABLE_AGENTGATEWAY"] == "false"
    env = env_of(find(do_render(sets=["features.inferenceExtension=true"]), "Deployment", "istiod"))
    assert env["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] == "true"


def read_yaml(text: str):
    import yaml

    return yaml.load(text, Loader=kubernetes_loader())


def test_mesh_config_defaults_and_user_values():
    comps = do_render(sets=["values.global.meshID=mesh1", "meshConfig.accessLogFile=/dev/stdout",
                            "meshConfig.defaultConfig.proxyMetadata.EXTRA=1"],
                      overrides={"revision": "canary"})
    cm = find(comps, "ConfigMap", "istio-canary")
    text = cm["data"]["mesh"]
    mesh = read_yaml(text)
    top_keys = [line.split(":")[0] for line in text.splitlines() if re.match(r"^\w", line)]
    assert top_keys == sorted(top_keys)
    assert mesh["defaultConfig"]["discoveryAddress"] == "istiod-canary.istio-system.svc:15012"
    assert mesh["defaultConfig"]["meshId"] == "mesh1"
    assert mesh["defaultConfig"]["image"] == {"imageType": "distroless"}
    assert mesh["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_ENABLE_HBONE": "true", "EXTRA": "1"}
    assert mesh["defaultProviders"] == {"metrics": ["prometheus"]}
    assert mesh["enablePrometheusMerge"] is True
    assert mesh["rootNamespace"] == "istio-system" and mesh["trustDomain"] == "cluster.local"
    assert mesh["accessLogFile"] == "/dev/stdout"
    assert mesh["serviceScopeConfigs"] == [{"servicesSelector": {"matchExpressions": [
        {"key": "istio.io/global", "operator": "In", "values": ["true"]}]}, "scope": "GLOBAL"}]
    assert read_yaml(cm["data"]["meshNetworks"]) == {"networks": {}}
    assert "meshId" not in read_yaml(find(do_render(), "ConfigMap", "istio")["data"]["mesh"])["defaultConfig"]


def test_values_configmap_records_user_input_and_the_merged_tree():
    comps = do_render(sets=["values.global.meshID=m1"])
    cm = find(comps, "ConfigMap", "values")
    assert json.loads(cm["data"]["original-values"]) == {"profile": "ambient", "values": {"global": {"meshID": "m1"}}}
    merged = json.loads(cm["data"]["merged-values"])
    assert merged["values"]["global"]["meshID"] == "m1" and merged["tag"] == "1.30.3"
    assert cm["metadata"]["annotations"]["kubernetes.io/description"]


def injector(comps, name="istio-sidecar-injector"):
    cm = find(comps, "ConfigMap", name)
    return json.loads(cm["data"]["values"]), read_yaml(cm["data"]["config"])


def test_injector_configmap_holds_the_templates_unchanged():
    values, config = injector(do_render())
    assert config["templates"] == {INJECTION_TEMPLATE_FILES[f]: text for f, text in SYNTHETIC_TEMPLATES.items()}
    assert config["defaultTemplates"] == ["sidecar"] and config["policy"] == "enabled"
    assert config["template"].startswith("{{ Template_Version_And_Istio_Version_Mismatched")
    assert values["revision"] == "" and values["pilot"]["env"] == {"PILOT_ENABLE_AMBIENT": "true"}
    assert values["pilot"]["cni"] == {"enabled": True, "provider": "default"}
    assert set(values) == {"global", "sidecarInjectorWebhook", "revision", "pilot", "gateways"}
    assert values["global"]["hub"] == "registry.istio.io/release" and values["global"]["tag"] == "1.30.3"


def test_injector_holds_the_real_templates_byte_identical(real):
    crds, templates = real
    values, config = injector(do_render(crds=crds, injection_templates=templates))
    for file_name, name in INJECTION_TEMPLATE_FILES.items():
        assert config["templates"][name] == templates[file_name], name


def test_injector_values_have_every_global_key_the_waypoint_template_reads(real):
    _, templates = real
    values, _ = injector(do_render(injection_templates=templates))
    paths = sorted(set(re.findall(r"\.Values\.global\.([A-Za-z_.]+)", templates["waypoint.yaml"])))
    assert len(paths) > 15
    for path in paths:
        node = values["global"]
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"global.{path}"
            node = node[part]
    # ...and the other templates' too, so nothing renders <no value>
    for text in templates.values():
        for path in set(re.findall(r"\.Values\.global\.([A-Za-z_.]+)", text)):
            node = values["global"]
            for part in path.split("."):
                if path.startswith("proxy.") and part not in node:  # optional proxy settings istiod tests with `if`
                    break
                assert part in node, f"global.{path}"
                node = node[part]


def test_user_injection_templates_are_added():
    _, config = injector(do_render(sets=["values.sidecarInjectorWebhook.templates.hello=metadata: {}"]))
    assert config["templates"]["hello"] == "metadata: {}"
    assert config["templates"]["waypoint"] == SYNTHETIC_TEMPLATES["waypoint.yaml"]


# -- webhooks and tags -----------------------------------------------------------------------------------

NEVER = {"matchLabels": {"istio.io/deactivated": "never-match"}}


def hooks(obj) -> dict[str, dict]:
    return {w["name"]: w for w in obj["webhooks"]}


def test_revision_injector_is_deactivated_when_the_default_tag_injects():
    comps = do_render()
    own = hooks(find(comps, "MutatingWebhookConfiguration", "istio-sidecar-injector"))
    assert list(own) == ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io",
                         "namespace.sidecar-injector.istio.io", "object.sidecar-injector.istio.io"]
    assert all(w["namespaceSelector"] == NEVER and w["objectSelector"] == NEVER for w in own.values())
    tag = hooks(find(comps, "MutatingWebhookConfiguration", "istio-revision-tag-default"))
    assert list(tag) == list(own)
    for w in tag.values():
        assert w["clientConfig"]["service"] == {"name": "istiod", "namespace": "istio-system", "path": "/inject",
                                                "port": 443}
        assert w["rules"] == [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                               "resources": ["pods"]}]
        assert (w["failurePolicy"], w["reinvocationPolicy"], w["sideEffects"]) == ("Fail", "Never", "None")
        assert w["admissionReviewVersions"] == ["v1"]
    assert tag["rev.namespace.sidecar-injector.istio.io"]["namespaceSelector"]["matchExpressions"] == [
        {"key": "istio.io/rev", "operator": "In", "values": ["default"]},
        {"key": "istio-injection", "operator": "DoesNotExist"}]
    assert tag["namespace.sidecar-injector.istio.io"]["namespaceSelector"]["matchExpressions"] == [
        {"key": "istio-injection", "operator": "In", "values": ["enabled"]}]
    assert tag["object.sidecar-injector.istio.io"]["objectSelector"]["matchExpressions"] == [
        {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
        {"key": "istio.io/rev", "operator": "DoesNotExist"}]
    labels = find(comps, "MutatingWebhookConfiguration", "istio-revision-tag-default")["metadata"]["labels"]
    assert labels[L.TAG] == "default" and labels[L.REV] == "default" and labels["app"] == "sidecar-injector"
    assert labels[L.INSTALL_COMPONENT] == "RevisionTag"


def test_canary_without_the_tag_keeps_its_two_revision_webhooks():
    comps = do_render(overrides={"revision": "canary"}, default_tag=False)
    own = hooks(find(comps, "MutatingWebhookConfiguration", "istio-sidecar-injector-canary"))
    assert list(own) == ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"]
    assert own["rev.namespace.sidecar-injector.istio.io"]["namespaceSelector"]["matchExpressions"][0] == {
        "key": "istio.io/rev", "operator": "In", "values": ["canary"]}
    assert own["rev.object.sidecar-injector.istio.io"]["clientConfig"]["service"]["name"] == "istiod-canary"
    vwc = find(comps, "ValidatingWebhookConfiguration", "istio-validator-canary-istio-system")
    [hook] = vwc["webhooks"]
    assert hook["name"] == "rev.validation.istio.io"
    assert hook["objectSelector"] == {"matchExpressions": [{"key": "istio.io/rev", "operator": "In",
                                                            "values": ["canary"]}]}
    assert hook["failurePolicy"] == "Ignore" and hook["clientConfig"]["service"]["path"] == "/validate"
    assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert hook["rules"][0]["apiGroups"] == ["security.istio.io", "networking.istio.io", "telemetry.istio.io",
                                             "extensions.istio.io"]


def test_default_validator_and_tag_service():
    comps = do_render(overrides={"revision": "canary"})
    vwc = find(comps, "ValidatingWebhookConfiguration", "istiod-default-validator")
    [hook] = vwc["webhooks"]
    assert hook["name"] == "validation.istio.io"
    assert hook["clientConfig"]["service"]["name"] == "istiod-canary"
    assert hook["objectSelector"] == {"matchExpressions": [{"key": "istio.io/rev", "operator": "DoesNotExist"}]}
    assert vwc["metadata"]["labels"][L.TAG] == "default" and vwc["metadata"]["labels"][L.REV] == "canary"
    svc = find(comps, "Service", "istiod-revision-tag-default")
    assert svc["spec"]["selector"] == {"app": "istiod", "istio.io/rev": "canary"}
    assert svc["spec"]["ports"] == find(comps, "Service", "istiod-canary")["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [
        ("grpc-xds", 15010), ("https-dns", 15012), ("https-webhook", 443), ("http-monitoring", 15014)]


def test_render_tag_for_any_tag_name():
    spec = resolve(overrides={})
    tag = render_tag(spec, "prod-stable", "canary")
    assert tag.name == "RevisionTag"
    assert inventory(tag.objects) == {("MutatingWebhookConfiguration", "istio-revision-tag-prod-stable"),
                                      ("Service", "istiod-revision-tag-prod-stable")}
    mwc = next(o for o in tag.objects if o["kind"] == "MutatingWebhookConfiguration")
    assert [w["name"] for w in mwc["webhooks"]] == ["rev.namespace.sidecar-injector.istio.io",
                                                    "rev.object.sidecar-injector.istio.io"]
    assert mwc["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["prod-stable"]
    assert mwc["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-canary"
    labels = mwc["metadata"]["labels"]
    assert (labels[L.TAG], labels[L.REV], labels[L.INSTALL_ID]) == ("prod-stable", "canary", "istio-system.canary")
    assert render_tag(spec, "default", "default") == render_tag(spec, "default", "")
    with pytest.raises(UsageError):
        render_tag(spec, "Bad_Tag", "")


# -- istio-cni and ztunnel -------------------------------------------------------------------------------


def test_cni_daemonset_and_config():
    comps = do_render()
    ds = find(comps, "DaemonSet", "istio-cni-node")
    pod = ds["spec"]["template"]
    assert ds["spec"]["selector"]["matchLabels"] == {"k8s-app": "istio-cni-node"}
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1}
    assert pod["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/install-cni"] == "unconfined"
    spec = pod["spec"]
    assert "hostNetwork" not in spec
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["priorityClassName"] == "system-node-critical" and spec["serviceAccountName"] == "istio-cni"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["tolerations"] == [{"effect": "NoSchedule", "operator": "Exists"},
                                   {"key": "CriticalAddonsOnly", "operator": "Exists"},
                                   {"effect": "NoExecute", "operator": "Exists"}]
    c = container(ds)
    assert c["image"] == "registry.istio.io/release/install-cni:1.30.3-distroless"
    assert c["command"] == ["install-cni"] and c["args"] == ["--log_output_level=info"]
    assert c["securityContext"] == {"privileged": False, "runAsGroup": 0, "runAsUser": 0, "runAsNonRoot": False,
                                    "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW", "SYS_PTRACE",
                                                                              "SYS_ADMIN", "DAC_OVERRIDE"]}}
    assert c["readinessProbe"] == {"httpGet": {"path": "/readyz", "port": 8000}}
    assert c["envFrom"] == [{"configMapRef": {"name": "istio-cni-config"}}]
    assert [e["name"] for e in c["env"]] == ["REPAIR_NODE_NAME", "REPAIR_RUN_AS_DAEMON", "REPAIR_SIDECAR_ANNOTATION",
                                             "ALLOW_SWITCH_TO_HOST_NS", "NODE_NAME", "GOMEMLIMIT", "GOMAXPROCS",
                                             "POD_NAME", "POD_NAMESPACE"]
    volumes = {v["name"]: v["hostPath"] for v in spec["volumes"]}
    assert volumes == {
        "cni-bin-dir": {"path": "/opt/cni/bin"}, "cni-host-procfs": {"path": "/proc", "type": "Directory"},
        "cni-ztunnel-sock-dir": {"path": "/var/run/ztunnel", "type": "DirectoryOrCreate"},
        "cni-net-dir": {"path": "/etc/cni/net.d"}, "cni-socket-dir": {"path": "/var/run/istio-cni"},
        "cni-netns-dir": {"path": "/var/run/netns", "type": "DirectoryOrCreate"}}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["cni-netns-dir"]["mountPropagation"] == "HostToContainer"
    assert mounts["cni-bin-dir"]["mountPath"] == "/host/opt/cni/bin"
    data = find(comps, "ConfigMap", "istio-cni-config")["data"]
    assert all(isinstance(v, str) for v in data.values())
    assert {k: data[k] for k in data if k != "AMBIENT_ENABLEMENT_SELECTOR"} == {
        "CURRENT_AGENT_VERSION": "1.30.3", "AMBIENT_ENABLED": "true", "AMBIENT_DNS_CAPTURE": "true",
        "AMBIENT_IPV6": "true", "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true",
        "ENABLE_AMBIENT_DETECTION_RETRY": "false", "ISTIO_OWNED_CNI_CONFIG": "false", "CHAINED_CNI_PLUGIN": "true",
        "EXCLUDE_NAMESPACES": "kube-system", "REPAIR_ENABLED": "true", "REPAIR_LABEL_PODS": "false",
        "REPAIR_DELETE_PODS": "false", "REPAIR_REPAIR_PODS": "true", "REPAIR_INIT_CONTAINER_NAME": "istio-validation",
        "REPAIR_BROKEN_POD_LABEL_KEY": "cni.istio.io/uninitialized", "REPAIR_BROKEN_POD_LABEL_VALUE": "true",
        "NATIVE_NFTABLES": "false"}
    assert read_yaml(data["AMBIENT_ENABLEMENT_SELECTOR"]) == [
        {"podSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}}},
        {"podSelector": {"matchExpressions": [{"key": "istio.io/dataplane-mode", "operator": "NotIn",
                                               "values": ["none"]}]},
         "namespaceSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}}}]


def test_cni_platform_settings():
    comps = do_render(sets=["values.cni.cniBinDir=/var/lib/rancher/k3s/data/cni", "values.cni.cniNetnsDir=/run/netns",
                            "values.cni.ambient.shareHostNetworkNamespace=true", "values.cni.cniConfFileName=10-x.conf",
                            "values.cni.env.EXTRA=1"])
    ds = find(comps, "DaemonSet", "istio-cni-node")
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    volumes = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    assert volumes["cni-bin-dir"] == "/var/lib/rancher/k3s/data/cni" and volumes["cni-netns-dir"] == "/run/netns"
    names = [e["name"] for e in container(ds)["env"]]
    assert "ALLOW_SWITCH_TO_HOST_NS" not in names and names[-1] == "EXTRA"
    assert find(comps, "ConfigMap", "istio-cni-config")["data"]["CNI_CONF_NAME"] == "10-x.conf"


ZTUNNEL_ENV_ORDER = ["CA_ADDRESS", "XDS_ADDRESS", "RUST_LOG", "RUST_BACKTRACE", "ISTIO_META_CLUSTER_ID",
                     "INPOD_ENABLED", "TERMINATION_GRACE_PERIOD_SECONDS", "POD_NAME", "POD_NAMESPACE", "NODE_NAME",
                     "INSTANCE_IP", "SERVICE_ACCOUNT", "ISTIO_META_ENABLE_HBONE", "ZTUNNEL_CPU_LIMIT"]


def test_ztunnel_daemonset():
    comps = do_render()
    ds = find(comps, "DaemonSet", "ztunnel")
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert ds["spec"]["selector"]["matchLabels"] == {"app": "ztunnel"}
    assert "annotations" not in ds["metadata"]
    pod = ds["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false", "prometheus.io/port": "15020",
                                              "prometheus.io/scrape": "true"}
    assert "hostNetwork" not in pod["spec"]
    assert pod["spec"]["priorityClassName"] == "system-node-critical"
    c = container(ds)
    assert c["name"] == "istio-proxy" and c["args"] == ["proxy", "ztunnel"]
    assert c["image"] == "registry.istio.io/release/ztunnel:1.30.3-distroless"
    assert c["ports"] == [{"containerPort": 15020, "name": "ztunnel-stats", "protocol": "TCP"}]
    assert c["readinessProbe"] == {"httpGet": {"port": 15021, "path": "/healthz/ready"}}
    assert c["resources"] == {"requests": {"cpu": "200m", "memory": "512Mi"}}
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": True, "privileged": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"]},
        "readOnlyRootFilesystem": True, "runAsGroup": 1337, "runAsNonRoot": False, "runAsUser": 0}
    assert [e["name"] for e in c["env"]] == ZTUNNEL_ENV_ORDER
    env = env_of(ds)
    assert env["CA_ADDRESS"] == env["XDS_ADDRESS"] == "istiod.istio-system.svc:15012"
    assert env["RUST_LOG"] == "info" and env["ISTIO_META_ENABLE_HBONE"] == "true"
    assert env["TERMINATION_GRACE_PERIOD_SECONDS"] == "30"
    assert {v["name"] for v in pod["spec"]["volumes"]} == {"istiod-ca-cert", "istio-token", "cni-ztunnel-sock-dir",
                                                           "tmp"}


def test_ztunnel_follows_a_canary_and_the_network():
    comps = do_render(sets=["values.global.network=net1", "values.global.multiCluster.clusterName=east",
                            "values.global.logAsJson=true"], overrides={"revision": "canary"})
    ds = find(comps, "DaemonSet", "ztunnel")
    assert ds["metadata"]["annotations"] == {"istio.io/rev": "canary"}
    assert ds["spec"]["template"]["metadata"]["annotations"]["istio.io/rev"] == "canary"
    assert find(comps, "ServiceAccount", "ztunnel")["metadata"]["annotations"] == {"istio.io/rev": "canary"}
    env = env_of(ds)
    assert env["CA_ADDRESS"] == env["XDS_ADDRESS"] == "istiod-canary.istio-system.svc:15012"
    assert env["NETWORK"] == "net1" and env["ISTIO_META_CLUSTER_ID"] == "east" and env["LOG_FORMAT"] == "json"
    names = [e["name"] for e in container(ds)["env"]]
    assert names.index("LOG_FORMAT") < names.index("NETWORK") < names.index("RUST_LOG")


# -- namespace, gateways ---------------------------------------------------------------------------------


def test_network_labels_the_istio_namespace():
    [ns] = by_component(do_render(sets=["values.global.network=network1"]))["Namespace"]
    assert ns["metadata"] == {"name": "istio-system", "labels": {"topology.istio.io/network": "network1"}}
    [ns] = by_component(do_render())["Namespace"]
    assert ns["metadata"] == {"name": "istio-system"}


def test_ingress_gateway_is_a_gateway_api_gateway():
    objects = by_component(do_render("ambient-ingress"))
    assert inventory(objects["Namespace"]) == {("Namespace", "istio-system"), ("Namespace", "istio-ingress")}
    [gateway] = objects["IngressGateways"]
    assert gateway["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gateway["metadata"]["namespace"] == "istio-ingress"
    assert gateway["spec"] == {"gatewayClassName": "istio", "listeners": [
        {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}]}
    # A gateway in the istio namespace needs no Namespace object of its own.
    objects = by_component(do_render("ambient-ingress", sets=["components.ingressGateways[0].namespace=istio-system"]))
    assert inventory(objects["Namespace"]) == {("Namespace", "istio-system")}
    assert [o["metadata"]["namespace"] for o in objects["IngressGateways"]] == ["istio-system"]


# -- versions --------------------------------------------------------------------------------------------


def status_rules(comps, rev=""):
    role = find(comps, "ClusterRole", f"istiod-clusterrole{'-' + rev if rev else ''}-istio-system")
    return {g: r["resources"] for r in role["rules"] for g in r["apiGroups"]
            if r["verbs"] == ["update", "patch"] and g.startswith("gateway.networking")}


def test_listenerset_status_rule_follows_the_istio_version():
    new = status_rules(do_render(overrides={"istio_version": "1.30"}))
    assert "listenersets/status" in new["gateway.networking.k8s.io"]
    assert new["gateway.networking.x-k8s.io"] == ["xbackendtrafficpolicies/status"]
    old = status_rules(do_render(overrides={"istio_version": "1.29"}))
    assert "listenersets/status" not in old["gateway.networking.k8s.io"]
    assert "xlistenersets/status" in old["gateway.networking.x-k8s.io"]


@pytest.mark.parametrize("version, hub, tag", [("1.28", "docker.io/istio", "1.28.10"),
                                               ("1.29", "docker.io/istio", "1.29.8"),
                                               ("1.30", "registry.istio.io/release", "1.30.3"),
                                               ("1.31", "registry.istio.io/release", "1.31.1")])
def test_images_per_version(version, hub, tag):
    comps = do_render(overrides={"istio_version": version})
    assert container(find(comps, "Deployment", "istiod"))["image"] == f"{hub}/pilot:{tag}-distroless"
    assert container(find(comps, "DaemonSet", "ztunnel"))["image"] == f"{hub}/ztunnel:{tag}-distroless"
    assert container(find(comps, "DaemonSet", "istio-cni-node"))["image"] == f"{hub}/install-cni:{tag}-distroless"
    values, _ = injector(comps)
    assert (values["global"]["hub"], values["global"]["tag"]) == (hub, tag)


def test_component_image_overrides():
    comps = do_render(sets=["values.pilot.image=example.com/custom/pilot:dev", "values.ztunnel.hub=mirror.example",
                            "values.global.variant=", "values.global.imagePullPolicy=Always"])
    assert container(find(comps, "Deployment", "istiod"))["image"] == "example.com/custom/pilot:dev"
    zt = container(find(comps, "DaemonSet", "ztunnel"))
    assert zt["image"] == "mirror.example/ztunnel:1.30.3" and zt["imagePullPolicy"] == "Always"


# -- the template machinery ------------------------------------------------------------------------------


def test_an_unknown_template_value_is_an_error_not_an_empty_string():
    with pytest.raises(MeshctlError) as err:
        render_text("inline", {"v": {}}, source="name: {{ v.nosuch | j }}\n")
    assert "nosuch" in err.value.message and err.value.message.startswith("template inline")
    with pytest.raises(MeshctlError, match="missing"):
        render_text("inline", {}, source="name: {{ missing }}\n")


def test_strings_that_look_like_other_scalars_stay_strings():
    [obj] = render_text("inline", {"values": ["true", "1", "1e3", "y", "null", "0755", "a: b"]},
                        source="list: {{ values | j }}\n")
    assert obj["list"] == ["true", "1", "1e3", "y", "null", "0755", "a: b"]


def test_render_is_deterministic_and_round_trips_as_yaml():
    first = do_render("ambient-ingress", sets=["values.global.network=n1"], overrides={"revision": "canary"})
    second = do_render("ambient-ingress", sets=["values.global.network=n1"], overrides={"revision": "canary"})
    assert first == second
    objects = [o for c in first for o in c.objects]
    text = manifest_yaml(objects)
    assert text == manifest_yaml([o for c in second for o in c.objects])
    assert [d.data for d in parse_yaml_documents(text, "manifest")] == objects


def test_manifest_order():
    objects = [o for c in do_render("ambient-ingress") for o in c.objects]
    ordered = manifest_order(list(reversed(objects)))
    kinds = [o["kind"] for o in ordered]
    assert kinds[0] == "CustomResourceDefinition"
    assert kinds.index("Namespace") < kinds.index("ServiceAccount") < kinds.index("ClusterRole")
    assert kinds.index("ClusterRoleBinding") < kinds.index("Role") < kinds.index("ConfigMap")
    assert kinds.index("ConfigMap") < kinds.index("Service") < kinds.index("Deployment") < kinds.index("DaemonSet")
    assert kinds.index("HorizontalPodAutoscaler") < kinds.index("Gateway")
    assert kinds.index("Gateway") < kinds.index("MutatingWebhookConfiguration")
    assert kinds[-1] == "ValidatingWebhookConfiguration"
    names = [(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in ordered if o["kind"] == "ConfigMap"]
    assert names == sorted(names)
    assert manifest_order(ordered) == ordered


def test_component_objects_apply_in_a_safe_order():
    pilot = by_component(do_render())["Pilot"]
    kinds = [o["kind"] for o in pilot]
    assert kinds[0] == "ServiceAccount"
    assert kinds.index("Deployment") < kinds.index("MutatingWebhookConfiguration")
    assert kinds[-2:] == ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


def test_config_validation_off_renders_no_validating_webhooks():
    comps = do_render(sets=["values.global.configValidation=false"])
    kinds = {o["kind"] for c in comps for o in c.objects}
    assert "ValidatingWebhookConfiguration" not in kinds
    assert "MutatingWebhookConfiguration" in kinds


def test_crds_must_be_crds():
    with pytest.raises(InputError, match="ConfigMap is not a CustomResourceDefinition"):
        do_render(crds=[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}])
