"""One wrongly typed field never becomes an internal error: the read commands treat it as absent and say
what they ignored; files that no reader could walk (a List whose items are no list, integers too long to
print, nesting past the depth bound) are bad input with file:line. Also the typed getters themselves."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from meshctl.errors import ExitCode
from meshctl.kube import kinds as K
from meshctl.kube.fields import MAX_NOTES, Part, take_notes
from meshctl.kube.state import Resource
from tests.conftest import DEMO

OK_CODES = {0, 1, 79}  # 1: a check failed, which is a finding, not a crash


def mutated_snapshot(tmp_path, cluster: str, resource: str, name: str, path: tuple, value):
    """A copy of the demo snapshot with one field of one object replaced (the path must exist up to
    its last key)."""
    snap = tmp_path / "snap"
    shutil.copytree(DEMO / cluster, snap / cluster)  # one cluster: half the reading
    meta = yaml.safe_load((DEMO / "meta.yaml").read_text())
    (snap / "meta.yaml").write_text(yaml.safe_dump({**meta, "clusters": [cluster]}))
    file = snap / cluster / f"{resource}.yaml"
    doc = yaml.safe_load(file.read_text())
    item = next(i for i in doc["items"] if i["metadata"]["name"] == name)
    target = item
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file.write_text(json.dumps(doc))  # JSON is YAML: the snapshot reader takes it as it is
    return str(snap)


WEBHOOKS = "mutatingwebhookconfigurations.admissionregistration.k8s.io"
CASES = [
    # (resource file, object, path, wrong value, commands)
    (WEBHOOKS, "istio-sidecar-injector", ("webhooks", 0, "clientConfig", "service", "port"), "{{ 7*7 }}",
     ["check"]),
    (WEBHOOKS, "istio-sidecar-injector", ("webhooks", 0), [{"x": [1]}], ["check", "status"]),
    (WEBHOOKS, "istio-sidecar-injector", ("webhooks",), {"a": 1}, ["check", "status"]),
    ("nodes", "cluster1-worker", ("status", "conditions", 0), [1], ["check", "status"]),
    ("nodes", "cluster1-worker", ("spec",), "unschedulable", ["check", "status"]),
    ("deployments.apps", "istiod", ("spec", "replicas"), [1], ["status", "version", "check"]),
    ("deployments.apps", "istiod", ("spec", "template", "spec", "containers"), [[1]], ["status", "version", "check"]),
    ("deployments.apps", "istiod", ("spec", "template", "spec", "containers", 0, "env"), "x", ["status", "check"]),
    ("daemonsets.apps", "ztunnel", ("status", "numberReady"), "3", ["status", "check", "version"]),
    ("daemonsets.apps", "ztunnel", ("spec", "selector"), 5, ["status", "check"]),
    ("pods", "productpage-v1-dgzt2ppn2h-9twls", ("status",), "Running", ["status", "check", "namespace"]),
    ("pods", "productpage-v1-dgzt2ppn2h-9twls", ("status", "phase"), ["Running"], ["status", "check", "namespace"]),
    ("pods", "productpage-v1-dgzt2ppn2h-9twls", ("metadata", "ownerReferences"), 5, ["check"]),
    ("secrets", "istio-remote-secret-cluster2", ("metadata", "annotations", "networking.istio.io/cluster"), 7,
     ["status"]),
    ("endpointslices.discovery.k8s.io", "details-c9s7m", ("endpoints",), 5, ["check"]),
    ("customresourcedefinitions.apiextensions.k8s.io", "virtualservices.networking.istio.io",
     ("status",), {"conditions": "Established"}, ["check"]),
]
COMMANDS = {"check": ["check"], "status": ["status"], "version": ["version"], "namespace": ["namespace", "list", "-A"]}


@pytest.mark.parametrize("resource, name, path, value, commands", CASES,
                         ids=[f"{c[0].split('.')[0]}-{'.'.join(map(str, c[2]))}" for c in CASES])
def test_a_wrongly_typed_field_is_ignored_never_an_internal_error(cli, tmp_path, resource, name, path, value,
                                                                  commands):
    snap = mutated_snapshot(tmp_path, "cluster1", resource, name, path, value)
    for command in commands:
        result = cli(*COMMANDS[command], "--snapshot", snap)
        assert "internal error" not in result.err, (command, result.err)
        assert result.code in OK_CODES, (command, result.code, result.err)
        assert "Traceback" not in result.err


def test_the_command_says_what_it_ignored(cli, tmp_path):
    snap = mutated_snapshot(tmp_path, "cluster1", "pods", "productpage-v1-dgzt2ppn2h-9twls", ("status",), "Running")
    result = cli("status", "--snapshot", snap)
    assert result.code == 0
    warning = "Warning: ignored Pod bookinfo/productpage-v1-dgzt2ppn2h-9twls: status is not a map"
    assert result.err.count(warning) == 1
    result = cli("status", "--snapshot", snap, "-o", "json")
    json.loads(result.out)  # stdout stays machine-clean; the warning is on stderr
    assert warning in result.err


def test_a_bad_port_reads_as_the_default_and_is_noted(cli, tmp_path):
    snap = mutated_snapshot(tmp_path, "cluster1", WEBHOOKS, "istio-sidecar-injector",
                            ("webhooks", 0, "clientConfig", "service", "port"), "{{ 7*7 }}")
    result = cli("check", "--snapshot", snap)
    assert "clientConfig.service.port is not an integer" in result.err


# -- files no reader could walk: exit 65 with file:line --------------------------------------------

def deep_flow(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("name, text, where", [
    ("list.yaml", "apiVersion: v1\nkind: List\nitems: 5\n", "list.yaml:1"),
    ("list.yaml", "apiVersion: v1\nkind: List\nitems: {a: 1}\n", "list.yaml:1"),
    ("list.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMapList\n"
     "items: text\n", "list.yaml:5"),
    ("list.json", '{"apiVersion": "v1", "kind": "List", "items": 5}', "list.json:1"),
    ("int.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: " + "1" * 5000 + "\n", "int.yaml:5"),
    ("int.json", '{"apiVersion": "v1",\n"kind": "ConfigMap", "spec": ' + "7" * 4301 + "}", "int.json:2"),
    ("deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: " + deep_flow(300) + "\n", "deep.yaml:4"),
    ("deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
     + "".join("  " * i + "a:\n" for i in range(1, 260)), "deep.yaml:205"),
    ("deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n? " + deep_flow(250) + "\n: 1\n",
     "deep.yaml:4"),  # nesting in a key counts too (a sequence is no key Kubernetes reads anyway)
    ("deep.json", '{"a": "[[[\\" ",\n "b": ' + deep_flow(500) + "}", "deep.json:2"),
])
@pytest.mark.parametrize("command", [["analyze"], ["status"], ["snapshot", "save", "OUT"]])
def test_input_no_reader_could_walk_is_65_with_file_and_line(cli, tmp_path, monkeypatch, name, text, where,
                                                             command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    result = cli(*command, "-f", name)
    assert result.code == ExitCode.DATA, result.err
    assert result.err.startswith(f"Error: {where}: "), result.err
    assert not (tmp_path / "OUT").exists()


def test_nesting_within_the_bound_is_read():
    from meshctl.kube.files import parse_text

    for name, text in [("ok.yaml", "data: " + deep_flow(150)), ("ok.json", '{"data": ' + deep_flow(150) + "}")]:
        docs = list(parse_text(text, name))
        assert len(docs) == 1 and isinstance(docs[0].data["data"], list)


# -- the typed getters -------------------------------------------------------------------------------

def resource(raw):
    return Resource(raw, K.SERVICE)


@pytest.fixture(autouse=True)
def _clean_notes():
    take_notes()
    yield
    take_notes()


def test_getters_give_the_value_of_the_right_type():
    part = resource({"metadata": {"name": "x", "namespace": "ns"},
                     "spec": {"ports": [{"port": 80}, 5, {"port": True}], "selector": {"app": "a", "n": 1},
                              "names": ["a", 2], "type": "ClusterIP", "flag": False}}).fields
    assert part.integer("spec", "ports", 0, "port") == 80
    assert part.integer("spec", "ports", 2, "port") is None  # true is no port number
    assert [p.integer("port") for p in part.parts("spec", "ports")] == [80, None]
    assert part.string_map("spec", "selector") == {"app": "a"}
    assert part.strings("spec", "names") == ["a"]
    assert part.text("spec", "type") == "ClusterIP" and part.flag("spec", "flag") is False
    assert part.integer("spec", "ports", 9, "port") is None and part.text("spec", "missing", default="-") == "-"
    assert part.scalar("spec", "ports", 0, "port") == "80" and part.scalar("spec", "flag") == "false"
    assert take_notes() == [
        "ignored Service ns/x: spec.ports[2].port is not an integer",
        "ignored Service ns/x: spec.ports[1] is not a map",
        "ignored Service ns/x: spec.selector.n is not a string",
        "ignored Service ns/x: spec.names[1] is not a string",
    ]


def test_a_wrong_type_on_the_way_reads_as_absent_and_is_noted_once():
    res = resource({"metadata": {"name": "x", "namespace": "ns", "labels": ["a"]}, "spec": {"selector": 5},
                    "status": "Running"})
    assert res.labels == {} and res.status == {} and res.fields.mapping("spec", "selector", "app") == {}
    assert res.fields.mapping("spec", "selector", "app") == {}
    assert take_notes() == ["ignored Service ns/x: metadata.labels is not a map",
                            "ignored Service ns/x: status is not a map",
                            "ignored Service ns/x: spec.selector is not a map"]
    assert take_notes() == []


def test_absent_and_null_are_not_noted():
    part = resource({"metadata": {"name": "x"}, "spec": {"selector": None}}).fields
    assert part.mapping("spec", "selector") == {} and part.sequence("spec", "ports") == []
    assert part.integer("status", "replicas") is None
    assert take_notes() == []


def test_notes_are_bounded():
    for i in range(MAX_NOTES + 50):
        Part({"a": 1}, f"Service ns/s{i}").mapping("a")
    assert len(take_notes()) == MAX_NOTES


def test_part_of_a_non_map_is_empty():
    assert Part("text", "Secret ns/x", "data.kubeconfig").mapping("a") == {}


def test_snapshot_save_drops_secret_data_of_any_shape(cli, tmp_path):
    value = "Zml4dHVyZS1zZWNyZXQtdmFsdWU="  # a Secret's data given as one string, not a map
    (tmp_path / "s.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: ns}}\ndata: {value}\n"
        "stringData: [plain-secret-text]\nd>ata: {password: misplaced-secret-text}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: t, namespace: ns}\ndata: {key: " + value + "}\n")
    result = cli("snapshot", "save", str(tmp_path / "snap"), "-f", str(tmp_path / "s.yaml"))
    assert result.code == 0, result.err
    saved = "".join(p.read_text() for p in (tmp_path / "snap").rglob("*.yaml"))
    assert value not in saved and "plain-secret-text" not in saved and "misplaced-secret-text" not in saved
    assert "key: ''" in saved  # keys are kept, values never


def test_a_damaged_snapshot_file_is_65_from_analyze_not_an_analyzer_failure(cli, tmp_path):
    snap = mutated_snapshot(tmp_path, "cluster1", "services", "details", ("metadata",), 1.5)
    result = cli("analyze", "--snapshot", snap, "-A")
    assert result.code == ExitCode.DATA, result.err
    assert "an item is not a Kubernetes object" in result.err and "IST0001" not in result.out


@pytest.mark.parametrize("resource, name, path, value", [
    ("validatingwebhookconfigurations.admissionregistration.k8s.io", "istiod-default-validator", ("webhooks", 0), 5),
    ("customresourcedefinitions.apiextensions.k8s.io", "telemetries.telemetry.istio.io", ("spec", "names"), [1]),
    ("deployments.apps", "curl", ("spec", "template", "spec"), "{{ 7*7 }}"),
])
def test_analyzers_read_wrong_types_as_absent(cli, tmp_path, resource, name, path, value):
    snap = mutated_snapshot(tmp_path, "cluster1", resource, name, path, value)
    result = cli("analyze", "--snapshot", snap, "-A", "-o", "json")
    assert result.code in (0, 79), result.err
    assert not [m for m in json.loads(result.out) if m["code"] == "IST0001"]


@pytest.mark.parametrize("ports", ["5", "[1, [2]]", "[{containerPort: [1]}]"])
def test_inference_scaffold_reads_wrongly_typed_ports_as_absent(cli, tmp_path, ports):
    (tmp_path / "d.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: vllm, namespace: llm}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n      - name: server\n        ports: {ports}\n")
    result = cli("inference", "scaffold", "--deployment", "llm/vllm", "--port", "8000", "-f", str(tmp_path / "d.yaml"))
    assert result.code == ExitCode.ERROR and "internal error" not in result.err
    assert "has no container port 8000 (it declares: none)" in result.err


def test_kubeconfig_readers_take_any_shape():
    from meshctl.kube.live import redact_url, select_context

    assert select_context({"contexts": 5, "users": "x"}) == ({}, {})
    assert select_context({"contexts": ["ctx"], "clusters": [{"name": "a", "cluster": "s"}]}) == ({}, {})
    assert redact_url("https://admin:fixture-pw@[::1:6443/api") == "https://[::1:6443/api"  # does not parse
    assert redact_url("https://admin:fixture-pw@h:6443/api") == "https://h:6443/api"


def test_string_maps_leave_out_keys_that_are_not_strings():
    part = resource({"metadata": {"name": "x", "namespace": "ns"}, "spec": {"selector": {1: "a", "app": "b"}}}).fields
    assert part.string_map("spec", "selector") == {"app": "b"}
    assert take_notes() == ["ignored Service ns/x: spec.selector.1 is not a string"]


@pytest.mark.parametrize("data", [0o777, ["x"], {"mesh": {"a": 1}}])
def test_analyze_reads_a_mesh_config_of_the_wrong_shape_as_absent(cli, tmp_path, data):
    snap = mutated_snapshot(tmp_path, "cluster1", "configmaps", "istio", ("data",), data)
    result = cli("analyze", "--snapshot", snap, "-A")
    assert result.code in (0, 79) and "internal error" not in result.err, result.err
    assert "ignored ConfigMap istio-system/istio: data" in result.err
