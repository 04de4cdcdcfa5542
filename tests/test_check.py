"""`meshctl check`: every post-install check against a fake API server, --wait, and source parity."""

import copy
import json
import shutil
import threading
import time

import pytest
import yaml

from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

HEALTHY = DEMO / "cluster2"  # the demo's second cluster has no planted problem a post-install check sees
NS = "istio-system"


@pytest.fixture
def cluster(tmp_path):
    """A fake API server holding the healthy demo cluster; yields (kube, kubeconfig path)."""
    with FakeKube(name="cluster2") as kube:
        report = seed_from_snapshot(kube, HEALTHY)
        assert not report.skipped, report.skipped
        yield kube, str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))


def checks(result):
    """{check name: check} of a `-o json` answer (one cluster)."""
    return {c["name"]: c for category in json.loads(result.out) for c in category["checks"]}


def not_ok(result):
    return {name: c for name, c in checks(result).items() if c["status"] != "ok"}


def edit(kube, resource, name, namespace=None, change=lambda obj: None):
    obj = kube.get_object(resource, name, namespace)
    assert obj is not None, (resource, name)
    change(obj)
    kube.add(obj)


def test_the_healthy_cluster_passes(cli, cluster):
    kube, kc = cluster
    r = cli("check", "--kubeconfig", kc, "-o", "json")
    assert r.code == 0, r.out
    assert not_ok(r) == {}
    assert [c["name"] for c in json.loads(r.out)] == [
        "Istio CRDs", "Control plane", "Webhooks", "Data plane", "Enrolled namespaces", "Gateway API"]
    text = cli("check", "--kubeconfig", kc)
    assert text.code == 0 and text.out.rstrip().endswith("Status check results are \u2714")


# -- each failure mode, one at a time ------------------------------------------------------------------


def _no_ready_endpoints(kube):
    for piece in kube.objects("endpointslices", NS):
        if piece["metadata"]["labels"].get("kubernetes.io/service-name") == "istiod":
            for endpoint in piece["endpoints"]:
                endpoint["conditions"]["ready"] = False
            kube.add(piece)


def _drop_ca_bundle(webhook):
    for hook in webhook["webhooks"]:
        hook["clientConfig"].pop("caBundle", None)


def _port(webhook):
    webhook["webhooks"][0]["clientConfig"]["service"]["port"] = 8443


def _service(name):
    def change(webhook):
        for hook in webhook["webhooks"]:
            hook["clientConfig"]["service"]["name"] = name
    return change


def _delete_pod(kube, namespace, prefix, node):
    pod = next(p for p in kube.objects("pods", namespace)
               if p["metadata"]["name"].startswith(prefix) and p["spec"].get("nodeName") == node)
    kube.delete_object("pods", pod["metadata"]["name"], namespace)


def _uncapture(kube):
    pod = next(p for p in kube.objects("pods", "bookinfo") if p["metadata"]["name"].startswith("ratings-"))
    del pod["metadata"]["annotations"]["ambient.istio.io/redirection"]
    kube.add(pod)
    return pod["metadata"]["name"]


def _image(version):
    def change(ds):
        container = ds["spec"]["template"]["spec"]["containers"][0]
        container["image"] = container["image"].replace("1.30.3", version)
    return change


def _gateway_api_gone(kube):
    for crd in kube.objects("crds"):
        if crd["metadata"]["name"].endswith(".gateway.networking.k8s.io"):
            kube.delete_object("crds", crd["metadata"]["name"])


def _not_accepted(gc):
    gc["status"]["conditions"] = [{"type": "Accepted", "status": "False", "reason": "InvalidParameters",
                                   "message": "bad", "lastTransitionTime": "2026-11-20T09:00:00Z"}]


def _annotate(key, value):
    def change(obj):
        obj["metadata"].setdefault("annotations", {})[key] = value
    return change


def _label(key, value):
    def change(obj):
        obj["metadata"].setdefault("labels", {})[key] = value
    return change


WEBHOOKS_ON_ISTIOD = {"injection webhook istio-revision-tag-default is reachable",
                      "injection webhook istio-sidecar-injector is reachable",
                      "validation webhook istio-validator-istio-system is reachable",
                      "validation webhook istiod-default-validator is reachable"}

# (id, how to break the cluster, {check name: (status, text in its detail)}, exit code). Each case
# lists every check that must stop being ok; all others must stay ok.
FAULTS = [
    ("missing-istio-crd", lambda k: k.delete_object("crds", "trafficextensions.extensions.istio.io"),
     {"Istio CRDs are installed": ("failure", "trafficextensions.extensions.istio.io")}, 1),
    ("crd-not-established",
     lambda k: edit(k, "crds", "sidecars.networking.istio.io", change=lambda c: c.update(status={"conditions": [
         {"type": "NamesAccepted", "status": "False", "reason": "Conflict"},
         {"type": "Established", "status": "False", "reason": "NotAccepted"}]})),
     {"Istio CRDs are established": ("failure", "sidecars.networking.istio.io")}, 1),
    ("istiod-not-ready",
     lambda k: edit(k, "deploy", "istiod", NS, lambda d: d["status"].update(readyReplicas=0)),
     {"istiod (default) is ready": ("failure", "0/1 replicas ready")}, 1),
    ("istiod-no-endpoints", _no_ready_endpoints,
     {"istiod (default) is serving": ("failure", "no ready endpoints"),
      **{name: ("failure", "Service istio-system/istiod has no ready endpoints") for name in WEBHOOKS_ON_ISTIOD}}, 1),
    ("webhook-without-ca-bundle",
     lambda k: edit(k, "mutatingwebhookconfigurations", "istio-sidecar-injector", change=_drop_ca_bundle),
     {"injection webhook istio-sidecar-injector is reachable": ("failure", "no CA bundle")}, 1),
    ("webhook-wrong-port",
     lambda k: edit(k, "validatingwebhookconfigurations", "istio-validator-istio-system", change=_port),
     {"validation webhook istio-validator-istio-system is reachable": (
         "failure", "Service istio-system/istiod has no port 8443")}, 1),
    ("webhook-service-missing",
     lambda k: edit(k, "mutatingwebhookconfigurations", "istio-revision-tag-default", change=_service("istiod-gone")),
     {"injection webhook istio-revision-tag-default is reachable": (
         "failure", "Service istio-system/istiod-gone not found")}, 1),
    ("tag-points-nowhere",
     lambda k: edit(k, "mutatingwebhookconfigurations", "istio-revision-tag-default",
                    change=_label("istio.io/rev", "canary")),
     {"revision tags point at installed revisions": ("failure", "tag default -> canary")}, 1),
    ("no-injection-webhook", lambda k: k.delete_object("mutatingwebhookconfigurations", "istio-sidecar-injector"),
     {"injection webhook of istiod (default) exists": ("warning", "istio.io/rev=default")}, 0),
    ("cni-missing-on-a-node", lambda k: _delete_pod(k, NS, "istio-cni-node-", "cluster2-worker"),
     {"istio-cni is ready on every node": ("failure", "no ready istio-cni pod on 1 node: cluster2-worker")}, 1),
    ("ztunnel-not-ready",
     lambda k: edit(k, "ds", "ztunnel", NS, lambda d: d["status"].update(numberReady=1)),
     {"ztunnel is ready on every node": ("failure", "DaemonSet istio-system/ztunnel: 1/2 pods ready")}, 1),
    ("ztunnel-other-version", lambda k: edit(k, "ds", "ztunnel", NS, _image("1.29.3")),
     {"ztunnel version matches istiod": ("warning", "ztunnel runs 1.29.3, istiod (default) 1.30.3")}, 0),
    ("istiod-version-unknown-to-meshctl", lambda k: edit(k, "deploy", "istiod", NS, _image("1.27.1")),
     {"istiod version is supported": ("warning", "meshctl knows Istio 1.28, 1.29, 1.30, 1.31: default runs 1.27.1"),
      "ztunnel version matches istiod": ("warning", "ztunnel runs 1.30.3, istiod (default) 1.27.1")}, 0),
    ("pod-not-captured", _uncapture,
     {"pods in enrolled namespaces are captured": ("failure", "1 pod not captured: bookinfo/ratings-")}, 1),
    ("sidecar-injection-on-enrolled-namespace",
     lambda k: edit(k, "namespaces", "bookinfo", change=_label("istio-injection", "enabled")),
     {"enrolled namespaces do not use sidecar injection": ("warning", "labelled istio-injection=enabled")}, 0),
    ("waypoint-missing", lambda k: k.delete_object("gateways.gateway.networking.k8s.io", "waypoint", "bookinfo"),
     {"waypoints used by enrolled namespaces exist": ("failure", "bookinfo/waypoint, which does not exist")}, 1),
    ("gateway-api-absent", _gateway_api_gone,
     {"Gateway API CRDs are installed": ("warning", "not installed"),
      "Gateway API version suits Istio 1.30.3": ("skipped", "the Gateway API CRDs are not installed"),
      "GatewayClasses istio and istio-waypoint are accepted": ("skipped", "not installed"),
      "waypoints used by enrolled namespaces exist": ("skipped", "does not serve gateways.gateway")}, 0),
    ("gateway-api-too-old-for-istio",
     lambda k: edit(k, "crds", "tlsroutes.gateway.networking.k8s.io",
                    change=_annotate("gateway.networking.k8s.io/bundle-version", "v1.4.0")),
     {"Gateway API version suits Istio 1.30.3": ("warning", "Istio 1.30.3 ignores tlsroutes older than v1.5.0")}, 0),
    ("gatewayclass-not-accepted", lambda k: edit(k, "gatewayclasses", "istio-waypoint", change=_not_accepted),
     {"GatewayClasses istio and istio-waypoint are accepted": ("failure", "istio-waypoint: Accepted=False")}, 1),
]


@pytest.mark.parametrize("break_it, expected, code", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_failure_mode(cli, cluster, break_it, expected, code):
    kube, kc = cluster
    break_it(kube)
    r = cli("check", "--kubeconfig", kc, "-o", "json")
    found = not_ok(r)
    assert {name: c["status"] for name, c in found.items()} == {name: s for name, (s, _) in expected.items()}
    for name, (_, text) in expected.items():
        assert text in found[name]["detail"], found[name]
        assert found[name]["hint"], f"{name} has no hint"
    assert r.code == code


def test_an_empty_cluster_fails_and_every_problem_has_a_hint(cli, tmp_path):
    with FakeKube(name="empty") as kube:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("check", "--kubeconfig", str(kc), "-o", "json")
    assert r.code == 1
    found = not_ok(r)
    assert found["istiod is ready"]["status"] == "failure"
    assert "no istiod Deployment in namespace istio-system" in found["istiod is ready"]["detail"]
    assert found["Istio CRDs are installed"]["detail"].startswith("14 of the 14 CRDs every Istio version needs")
    # nothing is enrolled yet, so a missing data plane is only a warning
    assert found["ztunnel is ready on every node"]["status"] == "warning"
    assert all(c["hint"] for c in found.values()), [n for n, c in found.items() if not c["hint"]]


def test_a_missing_data_plane_fails_once_namespaces_are_enrolled(cli, cluster):
    kube, kc = cluster
    kube.delete_object("ds", "ztunnel", NS)
    found = not_ok(cli("check", "--kubeconfig", kc, "-o", "json"))
    assert found["ztunnel is ready on every node"]["status"] == "failure"
    assert found["ztunnel version matches istiod"]["status"] == "skipped"


def test_revision_selects_the_control_plane_checked(cli, cluster):
    kube, kc = cluster
    r = cli("check", "--kubeconfig", kc, "--revision", "canary", "-o", "json")
    assert r.code == 1
    assert not_ok(r)["istiod (canary) is ready"]["detail"] == (
        "no istiod of revision canary in istio-system (revisions found: default)")
    assert cli("check", "--kubeconfig", kc, "--revision", "default").code == 0


def test_uncaptured_pods_are_named_and_capped(cli, cluster):
    kube, kc = cluster
    pod = kube.objects("pods", "bookinfo")[0]
    for i in range(12):
        extra = copy.deepcopy(pod)
        extra["metadata"] = {"name": f"stray-{i:02d}", "namespace": "bookinfo"}
        kube.add(extra)
    detail = not_ok(cli("check", "--kubeconfig", kc, "-o", "json"))[
        "pods in enrolled namespaces are captured"]["detail"]
    assert detail == ("12 pods not captured: " + ", ".join(f"bookinfo/stray-{i:02d}" for i in range(10))
                      + " and 2 more")


def test_yaml_output_holds_the_same_data(cli, cluster):
    kube, kc = cluster
    as_json = json.loads(cli("check", "--kubeconfig", kc, "-o", "json").out)
    as_yaml = yaml.safe_load(cli("check", "--kubeconfig", kc, "-o", "yaml").out)
    assert as_yaml == as_json
    for category in as_json:
        assert set(category) == {"name", "cluster", "checks"} and category["cluster"] == "cluster2"
        for c in category["checks"]:
            assert set(c) == {"name", "status", "detail", "hint"}
            assert c["status"] in ("ok", "warning", "failure", "skipped")


# -- --wait ------------------------------------------------------------------------------------------


def test_wait_succeeds_once_a_controller_makes_istiod_ready(cli, cluster, monkeypatch):
    import meshctl.mesh.health as health

    monkeypatch.setattr(health, "WAIT_INTERVAL", 0.1)
    kube, kc = cluster
    edit(kube, "deploy", "istiod", NS, lambda d: d["status"].update(readyReplicas=0))

    def controller_catches_up():
        time.sleep(0.5)
        kube.controllers = {"deployments"}
        kube.resync()

    helper = threading.Thread(target=controller_catches_up)
    helper.start()
    started = time.monotonic()
    r = cli("check", "--kubeconfig", kc, "--wait", "30s")
    helper.join()
    assert r.code == 0, r.out
    assert time.monotonic() - started < 10
    assert "istiod (default) is ready (1/1 replicas)" in r.out
    assert "waiting for 1 failing check (istiod (default) is ready)" in r.err


def test_wait_times_out_with_the_last_results(cli, cluster, monkeypatch):
    import meshctl.mesh.health as health

    monkeypatch.setattr(health, "WAIT_INTERVAL", 0.1)
    kube, kc = cluster
    kube.delete_object("ds", "ztunnel", NS)
    started = time.monotonic()
    r = cli("check", "--kubeconfig", kc, "--wait", "0.5")
    assert r.code == 1
    assert 0.5 <= time.monotonic() - started < 5
    assert "\u2718 ztunnel is ready on every node" in r.out
    assert "waiting for 1 failing check (ztunnel is ready on every node)" in r.err


def test_wait_rereads_discovery(cli, cluster, monkeypatch):
    """CRDs created while waiting become visible: each round reads the cluster afresh."""
    import meshctl.mesh.health as health

    monkeypatch.setattr(health, "WAIT_INTERVAL", 0.1)
    kube, kc = cluster
    saved = [c for c in kube.objects("crds") if c["metadata"]["name"].endswith(".gateway.networking.k8s.io")]
    saved += kube.objects("gatewayclasses") + kube.objects("gateways.gateway.networking.k8s.io")
    _gateway_api_gone(kube)
    kube.delete_object("ds", "ztunnel", NS)  # a failure, so that --wait has to go round
    ztunnel = yaml.safe_load((HEALTHY / "daemonsets.apps.yaml").read_text())["items"]

    def reinstall():
        time.sleep(0.4)
        kube.add_all(saved + [d for d in ztunnel if d["metadata"]["name"] == "ztunnel"])

    helper = threading.Thread(target=reinstall)
    helper.start()
    r = cli("check", "--kubeconfig", kc, "--wait", "30s", "-o", "json")
    helper.join()
    assert r.code == 0 and not_ok(r) == {}


@pytest.mark.parametrize("args, message", [
    (("--snapshot", str(DEMO), "--wait", "1m"), "--wait checks a live cluster again and again"),
    (("--snapshot", str(DEMO), "--wait", "soon"), "--wait checks a live cluster"),
    (("--snapshot", str(DEMO), "-o", "table"), "--output 'table' is not one of: text, json, yaml"),
])
def test_usage_errors(cli, args, message):
    r = cli("check", *args)
    assert r.code == 2 and message in r.err


def test_wait_duration_must_parse(cli, cluster):
    kube, kc = cluster
    r = cli("check", "--kubeconfig", kc, "--wait", "soon")
    assert r.code == 2 and "--wait 'soon' is not a duration" in r.err


# -- the demo and source parity ------------------------------------------------------------------------


def test_check_of_the_demo(cli, golden):
    r = cli("check", "--snapshot", str(DEMO))
    assert r.code == 1 and r.err == ""
    golden("check-demo.txt", r.out)


def test_check_is_identical_from_two_live_clusters_and_the_snapshot(cli, tmp_path):
    with FakeKube(name="c1") as one, FakeKube(name="c2") as two:
        seed_from_snapshot(one, DEMO / "cluster1")
        seed_from_snapshot(two, DEMO / "cluster2")
        kc = write_kubeconfig(tmp_path / "kc.yaml", [one, two], contexts=["kind-cluster1", "kind-cluster2"])
        live = cli("check", "--kubeconfig", str(kc), "--context", "kind-cluster1", "--context", "kind-cluster2",
                   "-o", "json")
    snap = cli("check", "--snapshot", str(DEMO), "-o", "json")
    assert live.code == snap.code == 1
    live_data, snap_data = json.loads(live.out), json.loads(snap.out)
    for category in live_data:
        category["cluster"] = category["cluster"].removeprefix("kind-")  # live clusters go by their contexts
    assert live_data == snap_data


def test_check_is_identical_from_files_and_the_snapshot(cli, tmp_path):
    folder = tmp_path / "cluster2"
    folder.mkdir()
    for path in HEALTHY.glob("*.yaml"):
        if path.name != "meta.yaml":
            shutil.copy(path, folder / path.name)
    files = json.loads(cli("check", "-f", str(folder), "-o", "json").out)
    snap = json.loads(cli("check", "--snapshot", str(DEMO), "--context", "cluster2", "-o", "json").out)
    for category in files:
        assert category.pop("cluster") == "files"
    for category in snap:
        assert category.pop("cluster") == "cluster2"
    assert files == snap


def test_the_gatewayclass_hint_restarts_an_istiod_that_exists_or_says_to_install_one(cli, cluster):
    kube, kc = cluster
    kube.delete_object("gatewayclasses", "istio-waypoint")
    name = "GatewayClasses istio and istio-waypoint are accepted"
    hint = checks(cli("check", "--kubeconfig", kc, "-o", "json"))[name]["hint"]
    assert "kubectl -n istio-system rollout restart deployment/istiod)" in hint
    kube.delete_object("deploy", "istiod", NS)  # nothing left to restart: the hint must not name it
    hint = checks(cli("check", "--kubeconfig", kc, "-o", "json"))[name]["hint"]
    assert hint == "no istiod runs to register them: install the control plane (meshctl install)"
