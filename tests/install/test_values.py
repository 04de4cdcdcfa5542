"""Install values: profiles, -f files, --set and flags in istioctl's precedence, and the schema's errors."""

from __future__ import annotations

import json
import textwrap

import pytest

from meshctl.errors import ExitCode, InputError, MeshctlError, UsageError
from meshctl.install import schema as S
from meshctl.install import versions
from meshctl.install.values import merge, parse_set, resolve
from tests.conftest import ROOT


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# -- profiles --------------------------------------------------------------------------------------------


def test_ambient_is_the_default_profile():
    spec = resolve(overrides={})
    assert spec.profile == "ambient"
    assert spec.components == {"Base", "Pilot", "Cni", "Ztunnel"}
    assert spec.revision == ""
    assert spec.namespace == "istio-system"
    assert spec.istio_version == versions.DEFAULT_ISTIO_VERSION
    assert spec.hub == versions.default_hub(spec.istio_version)
    assert spec.tag == spec.istio_version
    chart = spec.chart
    assert chart["global"]["variant"] == "distroless"
    assert chart["pilot"]["env"] == {"PILOT_ENABLE_AMBIENT": "true"}
    assert chart["pilot"]["cni"]["enabled"] is True
    assert chart["cni"]["ambient"]["enabled"] is True
    assert chart["global"]["hub"] == spec.hub and chart["global"]["tag"] == spec.tag
    assert spec.mesh_config["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_ENABLE_HBONE": "true"}
    scope = spec.mesh_config["serviceScopeConfigs"][0]
    assert scope["scope"] == "GLOBAL"
    assert scope["servicesSelector"]["matchExpressions"][0] == {
        "key": "istio.io/global", "operator": "In", "values": ["true"]}
    assert spec.user_values == {"profile": "ambient"}


def test_minimal_is_istiod_alone_but_ambient_capable():
    spec = resolve("minimal", overrides={})
    assert spec.components == {"Base", "Pilot"}
    assert spec.chart["pilot"]["env"]["PILOT_ENABLE_AMBIENT"] == "true"
    assert spec.chart["pilot"]["cni"]["enabled"] is False
    assert spec.mesh_config["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"


def test_ambient_ingress_adds_a_gateway():
    spec = resolve("ambient-ingress", overrides={})
    assert spec.components == {"Base", "Pilot", "Cni", "Ztunnel", "IngressGateways"}
    assert spec.ingress_gateways == [{"name": "istio-ingressgateway", "namespace": "istio-ingress"}]


def test_unknown_profile_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        resolve("demo", overrides={})
    assert "unknown profile 'demo'" in err.value.message
    assert "ambient, minimal, ambient-ingress" in err.value.hint


def test_profile_file_starts_from_the_builtin_it_names(tmp_path):
    path = write(tmp_path, "mine.yaml", """\
        profile: minimal
        values:
          global:
            meshID: mesh1
    """)
    spec = resolve(str(path), overrides={})
    assert spec.profile == "minimal"
    assert spec.components == {"Base", "Pilot"}
    assert spec.chart["global"]["meshID"] == "mesh1"
    assert spec.user_values == {"profile": "minimal", "values": {"global": {"meshID": "mesh1"}}}


def test_profile_file_without_a_base_starts_from_the_bare_defaults(tmp_path):
    path = write(tmp_path, "bare.yaml", "values: {pilot: {autoscaleMin: 2}}\n")
    spec = resolve(str(path), overrides={})
    assert spec.profile == "default"
    assert spec.components == {"Base", "Pilot"}
    assert "PILOT_ENABLE_AMBIENT" not in spec.chart["pilot"]["env"]
    assert spec.chart["pilot"]["autoscaleMin"] == 2


# -- precedence ------------------------------------------------------------------------------------------


def test_precedence_profile_then_files_left_to_right_then_set_then_flags(tmp_path):
    first = write(tmp_path, "first.yaml", """\
        revision: from-file
        values:
          global:
            variant: ""
            meshID: first
            network: net-first
    """)
    second = write(tmp_path, "second.yaml", """\
        values:
          global:
            meshID: second
            multiCluster:
              clusterName: c2
    """)
    spec = resolve("ambient", [first, second], ["values.global.meshID=from-set", "tag=set-tag"],
                   overrides={"revision": "flag", "tag": "flag-tag"})
    g = spec.chart["global"]
    assert g["variant"] == ""  # a file beats the profile's distroless
    assert g["network"] == "net-first"  # kept from the first file
    assert g["multiCluster"]["clusterName"] == "c2"  # the later file adds
    assert g["meshID"] == "from-set"  # --set beats both files
    assert spec.revision == "flag" and spec.tag == "flag-tag"  # flags beat --set and files
    assert spec.user_values["revision"] == "flag"
    assert spec.user_values["values"]["global"]["meshID"] == "from-set"


def test_a_profile_named_in_a_file_or_set_replaces_the_argument(tmp_path):
    path = write(tmp_path, "v.yaml", "profile: minimal\n")
    assert resolve("ambient", [path], overrides={}).profile == "minimal"
    assert resolve("ambient", [path], ["profile=ambient-ingress"], overrides={}).profile == "ambient-ingress"
    with pytest.raises(InputError) as err:
        resolve("ambient", [write(tmp_path, "bad.yaml", "profile: demo\n")], overrides={})
    assert "bad.yaml: profile 'demo' is not a built-in profile" in err.value.message


def test_istio_operator_resource_is_read_by_its_spec(tmp_path):
    path = write(tmp_path, "iop.yaml", """\
        apiVersion: install.istio.io/v1alpha1
        kind: IstioOperator
        metadata:
          name: example
        spec:
          profile: minimal
          revision: canary
          meshConfig:
            accessLogFile: /dev/stdout
          values:
            global:
              meshID: mesh1
    """)
    spec = resolve("ambient", [path], overrides={})
    assert spec.profile == "minimal" and spec.revision == "canary"
    assert spec.mesh_config["accessLogFile"] == "/dev/stdout"
    assert spec.chart["global"]["meshID"] == "mesh1"


def test_a_resource_of_another_kind_is_refused(tmp_path):
    path = write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(InputError) as err:
        resolve(files=[path], overrides={})
    assert err.value.exit_code == ExitCode.DATA
    assert "cm.yaml: ConfigMap is not an IstioOperator" in err.value.message


def test_istio_version_flag_sets_hub_and_tag_and_explicit_ones_win():
    spec = resolve(overrides={"istio_version": "1.28"})
    assert spec.istio_version == "1.28.10"
    assert spec.hub == "docker.io/istio" and spec.tag == "1.28.10"
    spec = resolve(overrides={"istio_version": "1.31", "hub": "my.registry/istio", "tag": "1.31.1-custom"})
    assert spec.istio_version == "1.31.1"
    assert (spec.hub, spec.tag) == ("my.registry/istio", "1.31.1-custom")
    assert spec.chart["global"]["hub"] == "my.registry/istio"
    with pytest.raises(UsageError):
        resolve(overrides={"istio_version": "1.27"})


def test_a_release_tag_picks_the_matching_istio_version():
    assert resolve(sets=["tag=1.29.3"], overrides={}).istio_version == "1.29.3"
    assert resolve(sets=["tag=nightly"], overrides={}).istio_version == versions.DEFAULT_ISTIO_VERSION


def test_revision_default_means_the_default_revision_and_bad_names_are_refused():
    assert resolve(overrides={"revision": "default"}).revision == ""
    assert resolve(sets=["values.revision=canary"], overrides={}).revision == "canary"
    spec = resolve(sets=["values.revision=canary"], overrides={"revision": "default"})
    assert spec.revision == "" and spec.chart["revision"] == ""
    with pytest.raises(UsageError) as err:
        resolve(overrides={"revision": "Canary_1"})
    assert "revision 'Canary_1' is not valid" in err.value.message


def test_namespace_flows_into_the_chart_values():
    spec = resolve(sets=["namespace=mesh-system"], overrides={})
    assert spec.namespace == "mesh-system"
    assert spec.chart["global"]["istioNamespace"] == "mesh-system"
    assert resolve(sets=["values.global.istioNamespace=other"], overrides={}).namespace == "other"
    with pytest.raises(UsageError, match="disagree"):
        resolve(sets=["namespace=a", "values.global.istioNamespace=b"], overrides={})


def test_stored_values_sit_below_files_and_keep_the_profile(tmp_path):
    stored = {"profile": "minimal", "values": {"global": {"meshID": "stored", "network": "n1"}}}
    spec = resolve(None, overrides={}, base=stored)
    assert spec.profile == "minimal"
    assert spec.chart["global"]["meshID"] == "stored"
    path = write(tmp_path, "v.yaml", "values: {global: {meshID: newer}}\n")
    spec = resolve(None, [path], overrides={}, base=stored)
    assert spec.chart["global"]["meshID"] == "newer" and spec.chart["global"]["network"] == "n1"
    # An explicit profile argument wins over the stored one.
    assert resolve("ambient", overrides={}, base=stored).profile == "ambient"


def test_stored_values_with_keys_this_version_does_not_know_are_read_without_them():
    spec = resolve(None, overrides={}, base={"profile": "ambient", "values": {"pilot": {"gone": 1, "autoscaleMin": 2}}})
    assert spec.chart["pilot"]["autoscaleMin"] == 2
    assert "gone" not in spec.chart["pilot"]


def test_user_values_reproduce_the_install(tmp_path):
    path = write(tmp_path, "v.yaml", "values: {global: {meshID: m}}\n")
    spec = resolve("ambient-ingress", [path], ["components.ingressGateways[0].namespace=edge",
                                               "features.multiNetwork=true"],
                   overrides={"revision": "canary", "istio_version": "1.30"})
    again = resolve(None, overrides={"istio_version": "1.30"}, base=spec.user_values)
    assert again.values == spec.values
    assert again.ingress_gateways == [{"name": "istio-ingressgateway", "namespace": "edge"}]


# -- --set -----------------------------------------------------------------------------------------------


def test_set_parses_paths_escapes_and_indexes():
    sv = parse_set(r"values.pilot.env.A\.B=x=y")
    assert sv.path == ("values", "pilot", "env", "A.B") and sv.raw == "x=y"
    sv = parse_set("components.ingressGateways[0].enabled=true")
    assert sv.path == ("components", "ingressGateways", 0, "enabled") and sv.value is True
    assert parse_set("a=12").value == 12 and parse_set("a=-3").value == -3
    assert parse_set("a=1.5").value == "1.5" and parse_set("a=True").value == "True"
    for bad in ("novalue", "=x", "a..b=1", "a[x]=1"):
        with pytest.raises(UsageError):
            parse_set(bad)


def test_set_escaped_dot_makes_one_key():
    spec = resolve(sets=[r"values.pilot.env.FOO\.BAR=1",
                         r"meshConfig.defaultConfig.proxyMetadata.ISTIO_META_X\.Y=on"], overrides={})
    assert spec.chart["pilot"]["env"]["FOO.BAR"] == "1"
    assert spec.mesh_config["defaultConfig"]["proxyMetadata"]["ISTIO_META_X.Y"] == "on"
    assert spec.mesh_config["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"


def test_set_list_index_edits_and_appends():
    spec = resolve("ambient-ingress", sets=["components.ingressGateways[0].enabled=false"], overrides={})
    assert spec.ingress_gateways == [] and "IngressGateways" not in spec.components
    spec = resolve("ambient-ingress", sets=["components.ingressGateways[1].name=second"], overrides={})
    assert [g["name"] for g in spec.ingress_gateways] == ["istio-ingressgateway", "second"]
    with pytest.raises(UsageError) as err:
        resolve("ambient-ingress", sets=["components.ingressGateways[5].name=x"], overrides={})
    assert "past the end" in err.value.message


def test_set_values_are_typed_like_istioctl():
    spec = resolve(sets=["values.pilot.autoscaleMin=2", "values.global.logAsJson=true",
                         "values.global.meshID=123", "values.pilot.env.X=true", "values.pilot.traceSampling=0.5",
                         "values.pilot.rollingMaxSurge=1"], overrides={})
    assert spec.chart["pilot"]["autoscaleMin"] == 2
    assert spec.chart["global"]["logAsJson"] is True
    assert spec.chart["global"]["meshID"] == "123"  # a string key keeps the text
    assert spec.chart["pilot"]["env"]["X"] == "true"  # environment values are text
    assert spec.chart["pilot"]["traceSampling"] == 0.5
    assert spec.chart["pilot"]["rollingMaxSurge"] == 1


def test_features_switch_istiod_env_unless_the_user_set_it():
    spec = resolve(sets=["features.multiNetwork=true", "features.inferenceExtension=true",
                         "features.agentgateway=true"], overrides={})
    env = spec.chart["pilot"]["env"]
    assert env["AMBIENT_ENABLE_MULTI_NETWORK"] == "true"
    assert env["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] == "true"
    assert env["PILOT_ENABLE_AGENTGATEWAY"] == "true"
    spec = resolve(sets=["features.multiNetwork=true", "values.pilot.env.AMBIENT_ENABLE_MULTI_NETWORK=false"],
                   overrides={})
    assert spec.chart["pilot"]["env"]["AMBIENT_ENABLE_MULTI_NETWORK"] == "false"
    assert "AMBIENT_ENABLE_MULTI_NETWORK" not in resolve(overrides={}).chart["pilot"]["env"]


# -- errors ----------------------------------------------------------------------------------------------


def test_unknown_key_in_a_file_names_the_file_and_the_closest_key(tmp_path):
    path = write(tmp_path, "values.yaml", "values:\n  pilot:\n    envv:\n      A: b\n")
    with pytest.raises(InputError) as err:
        resolve(files=[path], overrides={})
    assert err.value.exit_code == ExitCode.DATA == 65
    assert err.value.message == f"{path}: unknown key values.pilot.envv; did you mean values.pilot.env?"
    assert "docs/values.md" in err.value.hint


def test_a_chart_value_without_the_values_prefix_is_pointed_at_it(tmp_path):
    path = write(tmp_path, "v.yaml", "global:\n  hub: example.com/istio\n")
    with pytest.raises(InputError) as err:
        resolve(files=[path], overrides={})
    assert err.value.message.endswith("unknown key global; did you mean values.global?")


def test_unknown_key_in_set_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError) as err:
        resolve(sets=["values.global.meshId=x"], overrides={})
    assert err.value.exit_code == ExitCode.USAGE == 2
    assert err.value.message == "--set values.global.meshId=x: unknown key values.global.meshId; " \
                                "did you mean values.global.meshID?"
    with pytest.raises(UsageError, match=r"unknown key meshConfig\.acessLogFile; did you mean meshConfig\.accessLogFile"):
        resolve(sets=["meshConfig.acessLogFile=/dev/stdout"], overrides={})
    with pytest.raises(UsageError) as err:
        resolve(sets=["components.ingressGateways[0].enabeld=true"], overrides={})
    assert "did you mean components.ingressGateways[0].enabled?" in err.value.message


def test_wrong_types_are_errors(tmp_path):
    path = write(tmp_path, "v.yaml", "values:\n  pilot:\n    autoscaleEnabled: 'yes'\n")
    with pytest.raises(InputError) as err:
        resolve(files=[path], overrides={})
    assert err.value.message == f'{path}: values.pilot.autoscaleEnabled must be true or false, not the string "yes"'
    path = write(tmp_path, "env.yaml", "values:\n  pilot:\n    env: [A, B]\n")
    with pytest.raises(InputError, match="values.pilot.env must be a map, not a list"):
        resolve(files=[path], overrides={})
    with pytest.raises(UsageError, match="values.pilot.autoscaleMin must be an integer"):
        resolve(sets=["values.pilot.autoscaleMin=two"], overrides={})
    with pytest.raises(UsageError, match="values.global must be a map"):
        resolve(sets=["values.global=x"], overrides={})


def test_a_file_that_is_not_a_map_or_not_there(tmp_path):
    with pytest.raises(InputError, match="expected a map of values"):
        resolve(files=[write(tmp_path, "list.yaml", "- a\n- b\n")], overrides={})
    with pytest.raises(UsageError, match="no such file"):
        resolve(files=[tmp_path / "missing.yaml"], overrides={})
    with pytest.raises(InputError, match="invalid YAML"):
        resolve(files=[write(tmp_path, "broken.yaml", "values: [\n")], overrides={})


def test_platform_sets_cni_directories_unless_the_user_did():
    cni = resolve(sets=["values.global.platform=k3s"], overrides={}).chart["cni"]
    assert cni["cniConfDir"] == "/var/lib/rancher/k3s/agent/etc/cni/net.d"
    assert cni["cniBinDir"] == "/var/lib/rancher/k3s/data/current/bin/"
    cni = resolve(sets=["values.global.platform=k3d", "values.cni.cniBinDir=/opt/bin"], overrides={}).chart["cni"]
    assert cni["cniBinDir"] == "/opt/bin" and cni["cniConfDir"] == "/var/lib/rancher/k3s/agent/etc/cni/net.d"
    assert resolve(sets=["values.global.platform=minikube"], overrides={}).chart["cni"]["cniNetnsDir"] == \
        "/var/run/docker/netns"
    assert resolve(overrides={}).chart["cni"]["cniBinDir"] == ""
    with pytest.raises(UsageError, match="openshift is not supported"):
        resolve(sets=["values.global.platform=openshift"], overrides={})


def test_an_invalid_network_label_value_is_refused():
    with pytest.raises(UsageError, match="cannot be a label value"):
        resolve(sets=["values.global.network=net one"], overrides={})


def test_errors_are_meshctl_errors():
    assert issubclass(InputError, MeshctlError) and issubclass(UsageError, MeshctlError)


# -- merge and schema ------------------------------------------------------------------------------------


def test_merge_merges_maps_replaces_lists_and_ignores_null():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}, "d": None}) == {"a": {"b": 1, "c": [3]}, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not modified


def test_every_key_is_documented_and_every_list_typed():
    for path, node in S.walk():
        assert node.description, path
        if node.type == S.LIST:
            assert node.item is not None, path


def test_values_doc_is_current():
    committed = (ROOT / "docs" / "values.md").read_text()
    assert committed == S.render_values_doc() + "\n", \
        "regenerate: python -m meshctl.install.schema > docs/values.md"


def test_values_doc_lists_every_key_and_profile():
    doc = S.render_values_doc()
    for path in S.known_paths():
        assert f"| `{path}` |" in doc, path
    for name in S.BUILTIN_PROFILES:
        assert f"### `{name}`" in doc


# -- hostile values: errors, never an internal error ---------------------------------------------------


def test_a_set_integer_too_long_to_print_stays_text_and_meets_the_schema():
    with pytest.raises(UsageError, match="values.cni.ambient.reconcileIptablesOnStartup"):
        resolve("ambient", [], ["values.cni.ambient.reconcileIptablesOnStartup=" + "1" * 5000])
    spec = resolve("ambient", [], ["values.global.meshID=" + "7" * 5000])  # a string field keeps the text
    assert spec.chart["global"]["meshID"] == "7" * 5000


def test_a_kubernetes_structure_must_be_a_map(tmp_path):
    with pytest.raises(UsageError, match="values.cni.seLinuxOptions must be"):
        resolve("ambient", [], ["values.cni.seLinuxOptions=1.30"])
    bad = write(tmp_path, "bad.yaml", "values:\n  pilot:\n    affinity: [1]\n")
    with pytest.raises(InputError, match="values.pilot.affinity must be"):
        resolve("ambient", [bad], [])


def test_yaml_sets_and_binaries_read_as_kubernetes_reads_them(tmp_path):
    values = write(tmp_path, "v.yaml", """\
        values:
          pilot:
            affinity: !!set {a, b}
            podAnnotations:
              blob: !!binary |
                aGVs
                bG8=
    """)
    spec = resolve("ambient", [values], [])
    assert spec.user_values["values"]["pilot"]["affinity"] == {}  # a set is a map of nulls; null keys drop
    assert spec.user_values["values"]["pilot"]["podAnnotations"]["blob"] == "aGVsbG8="
    json.dumps(spec.user_values)  # what the install stores: plain JSON, no Python set or bytes
