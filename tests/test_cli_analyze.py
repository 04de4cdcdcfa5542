"""`meshctl analyze` end to end: sources, formats, exit codes, suppression, thresholds, namespaces."""

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.conftest import DEMO

BROKEN_VS = """\
apiVersion: v1
kind: Namespace
metadata: {name: placeholder}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: shop
  namespace: web
spec:
  hosts: [shop]
  gateways: [edge/missing]
  http:
  - route:
    - destination: {host: shop}
"""

FORMATS = ["log", "json", "yaml", "sarif", "junit", "github"]


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(BROKEN_VS)
    return path


def run(cli, *args, **kw):
    return cli("analyze", "--analyzer", "virtualservice.GatewayAnalyzer", *args, **kw)


def test_missing_gateway_json_has_istioctl_keys_and_file_line(cli, broken):
    r = run(cli, str(broken), "-o", "json")
    assert r.code == 79
    [message] = json.loads(r.out)
    assert list(message) == ["code", "level", "origin", "reference", "message", "documentationUrl"]
    assert message["code"] == "IST0101" and message["level"] == "Error"
    assert message["origin"] == "VirtualService web/shop"
    assert message["reference"] == f"{broken}:5"
    assert message["documentationUrl"] == "https://istio.io/latest/docs/reference/config/analysis/ist0101/"
    assert "1 error" in r.err


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_code_is_the_same_in_every_format(cli, broken, fmt):
    assert run(cli, str(broken), "-o", fmt).code == 79
    assert run(cli, str(broken), "-o", fmt, "--failure-threshold", "error", "-S", "IST0101=*").code == 0


def test_log_format_matches_istioctl_line_shape(cli, broken):
    r = run(cli, str(broken))
    assert r.out == (f'Error [IST0101] (VirtualService web/shop {broken}:5) '
                     'Referenced gateway not found: "edge/missing"\n')


def test_yaml_output_is_the_same_list(cli, broken):
    r = run(cli, str(broken), "-o", "yaml")
    assert yaml.safe_load(r.out) == json.loads(run(cli, str(broken), "-o", "json").out)


def test_sarif_has_rules_and_physical_locations(cli, broken):
    doc = json.loads(run(cli, str(broken), "-o", "sarif").out)
    assert doc["version"] == "2.1.0"
    [run_] = doc["runs"]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == ["IST0101"]
    [result] = run_["results"]
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == str(broken)
    assert location["physicalLocation"]["region"]["startLine"] == 5
    assert location["logicalLocations"][0]["name"] == "VirtualService web/shop"
    assert result["level"] == "error"


def test_junit_has_a_failing_testcase_per_message(cli, broken):
    root = ET.fromstring(run(cli, str(broken), "-o", "junit").out)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["virtualservice.GatewayAnalyzer"]
    [case] = suites[0].findall("testcase")
    assert case.find("failure").get("type") == "IST0101"


def test_github_annotations_point_at_file_and_line(cli, broken):
    out = run(cli, str(broken), "-o", "github").out
    assert out.startswith(f"::error file={broken},line=5,title=IST0101 VirtualService web/shop::")


def test_suppress_globs_and_bad_suppression(cli, broken):
    assert run(cli, str(broken), "-S", "IST01*=VirtualService web/*").code == 0
    assert run(cli, str(broken), "-S", "IST0102=VirtualService web/shop").code == 79
    r = run(cli, str(broken), "-S", "nonsense")
    assert r.code == 2 and "CODE=Kind ns/name" in r.err


def test_thresholds(cli, broken):
    r = run(cli, str(broken), "--output-threshold", "ERROR")
    assert r.code == 79 and r.out
    r = run(cli, str(broken), "--failure-threshold", "Warning")
    assert r.code == 79
    r = run(cli, str(broken), "--failure-threshold", "Fatal")
    assert r.code == 2 and "not a level" in r.err


def test_namespace_selection(cli, broken):
    assert run(cli, str(broken), "-n", "other").out == ""
    assert run(cli, str(broken), "-n", "web").code == 79


def test_unparseable_input_is_65_unless_ignored(cli, broken, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    r = run(cli, str(broken), str(bad))
    assert r.code == 65 and f"{bad}:" in r.err
    r = run(cli, str(broken), str(bad), "--ignore-unknown", "-o", "json")
    assert r.code == 79 and len(json.loads(r.out)) == 1 and "skipped" in r.err


def test_stdin(cli):
    r = run(cli, "-", "-o", "json", stdin=BROKEN_VS)
    assert r.code == 79 and json.loads(r.out)[0]["reference"] == "<stdin>:5"


def test_go_style_use_kube_false_is_accepted(cli, broken):
    assert cli("analyze", "--use-kube=false", str(broken), "--analyzer", "virtualservice").code == 79


def test_use_kube_false_without_files_is_a_usage_error(cli):
    r = cli("analyze", "--use-kube=false")
    assert r.code == 2 and "nothing to analyze" in r.err


def test_unknown_analyzer_and_listing(cli):
    r = cli("analyze", "--analyzer", "nope.Analyzer", "-f", "x")
    assert r.code == 2 and "unknown analyzer" in r.err
    r = cli("analyze", "--list-analyzers")
    assert r.code == 0 and "virtualservice.GatewayAnalyzer" in r.out


def test_snapshot_of_two_clusters_tags_messages_with_the_cluster(cli):
    r = run(cli, "--snapshot", str(DEMO), "-o", "json")
    assert r.code == 79
    found = json.loads(r.out)
    assert {"code": "IST0101", "origin": "VirtualService bookinfo/productpage-legacy", "cluster": "cluster1"}.items() \
        <= found[0].items()
    assert "[cluster-cluster1]" in run(cli, "--snapshot", str(DEMO)).out


def test_live_cluster_with_files_overlaid(cli, tmp_path):
    from tests.fakekube import FakeKube, write_kubeconfig

    with FakeKube(name="c1") as kube:
        for kind, plural in (("VirtualService", "virtualservices"), ("Gateway", "gateways")):
            kube.add({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": f"{plural}.networking.istio.io"},
                      "spec": {"group": "networking.istio.io", "scope": "Namespaced",
                               "names": {"kind": kind, "plural": plural},
                               "versions": [{"name": "v1", "served": True, "storage": True}]}})
        kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
        live_vs = yaml.safe_load(BROKEN_VS.split("---\n")[1])
        kube.add(live_vs)
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = run(cli, "--kubeconfig", str(kc), "-A", "-o", "json")
        assert r.code == 79 and json.loads(r.out)[0]["reference"] == ""
        fixed = tmp_path / "fixed.yaml"
        fixed.write_text(BROKEN_VS.replace("[edge/missing]", "[mesh]"))
        r = run(cli, "--kubeconfig", str(kc), "-A", "--use-kube", str(fixed))
        assert r.code == 0, r.out + r.err  # the file replaced the live object with the same identity


@pytest.mark.parametrize("fmt", FORMATS)
def test_demo_snapshot_golden_in_every_format(cli, golden, fmt):
    r = cli("analyze", "--snapshot", str(DEMO), "-o", fmt)
    assert r.code == 79
    golden(f"analyze-demo.{fmt}", r.out)
