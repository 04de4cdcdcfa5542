"""`meshctl multicluster check`: three fake clusters linked both ways, every failure mode injected one
at a time, -o json, snapshots (links unknown), source parity with the demo, and no secret in any output.

The clusters are written object by object (not by `multicluster link`), so these tests stand on their own.
Their API servers listen on 127.0.0.2: a remote secret naming 127.0.0.1 or localhost is a failure (istiod
in a pod would call itself), while the tests' probes from this machine must still reach the peers.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
import yaml

from meshctl.mesh import labels as L
from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

NS = L.ISTIO_NAMESPACE
HOST = "127.0.0.2"
CLUSTERS = ("east", "west", "north")
ADDRESSES = {"east": "172.18.0.10", "west": "172.18.0.20", "north": "172.18.0.30"}
READER_TOKEN_SECRET = "istio-reader-service-account-istio-remote-secret-token"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def pem(label: str) -> str:
    """A PEM block standing for a certificate: meshctl fingerprints the DER bytes, it does not parse them."""
    return f"-----BEGIN CERTIFICATE-----\n{b64('certificate of ' + label)}\n-----END CERTIFICATE-----\n"


ROOT = pem("the shared root")


def short_root() -> str:
    from meshctl.mesh.multicluster import root_fingerprint, short_fingerprint

    return short_fingerprint(root_fingerprint(ROOT))


def crd(plural: str, kind: str, scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.gateway.networking.k8s.io"},
            "spec": {"group": "gateway.networking.k8s.io", "scope": scope, "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True}]}}


def gateway(name: str, namespace: str, gateway_class: str, *, labels=None, addresses=(), programmed="True") -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "generation": 1},
            "spec": {"gatewayClassName": gateway_class,
                     "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
            "status": {"addresses": [{"type": "IPAddress", "value": a} for a in addresses],
                       "conditions": [{"type": "Programmed", "status": programmed, "reason": "Programmed",
                                       "observedGeneration": 1}]}}


def cacerts(name: str, root: str = ROOT) -> dict:
    intermediate = pem(f"the intermediate of {name}")
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "cacerts", "namespace": NS},
            "data": {"ca-cert.pem": b64(intermediate), "ca-key.pem": b64(f"KEY-{name}-{secrets.token_hex(8)}"),
                     "cert-chain.pem": b64(intermediate + root), "root-cert.pem": b64(root)}}


def root_configmap(root: str = ROOT) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-ca-root-cert", "namespace": NS},
            "data": {"root-cert.pem": root}}


def cluster_objects(name: str, reader_token: str) -> list[dict]:
    """An installed ambient control plane ready for multicluster, a global Service and a waypoint."""
    env = [{"name": "PILOT_ENABLE_AMBIENT", "value": "true"}, {"name": "CLUSTER_ID", "value": name},
           {"name": "AMBIENT_ENABLE_MULTI_NETWORK", "value": "true"}]
    network = f"net-{name}"
    return [
        crd("gateways", "Gateway"), crd("gatewayclasses", "GatewayClass", scope="Cluster"),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {L.NETWORK: network}}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "istiod", "namespace": NS, "labels": {"app": "istiod", "istio.io/rev": "default"}},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                  "template": {"metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": [{
                      "name": "discovery", "image": "registry.istio.io/release/pilot:1.30.3-distroless",
                      "env": env}]}}},
         "status": {"replicas": 1, "readyReplicas": 1}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": NS},
         "data": {"mesh": yaml.safe_dump({"defaultConfig": {"meshId": "mesh1"}, "trustDomain": "cluster.local"})}},
        cacerts(name), root_configmap(),
        gateway("istio-eastwestgateway", NS, "istio-east-west", labels={L.NETWORK: network},
                addresses=[ADDRESSES[name]]),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo"}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "reviews", "namespace": "bookinfo", "labels": {L.GLOBAL_SERVICE: "true"}},
         "spec": {"ports": [{"name": "http", "port": 9080, "protocol": "TCP"}]}},
        gateway("waypoint", "bookinfo", "istio-waypoint"),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {"name": READER_TOKEN_SECRET, "namespace": NS,
                      "annotations": {"kubernetes.io/service-account.name": L.READER_SERVICE_ACCOUNT}},
         "data": {"token": b64(reader_token)}},
    ]


def remote_kubeconfig(peer: str, server: str, token: str | None) -> str:
    user = {"token": token} if token else {}
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": peer,
                           "clusters": [{"name": peer, "cluster": {"server": server}}],
                           "users": [{"name": peer, "user": user}],
                           "contexts": [{"name": peer, "context": {"cluster": peer, "user": peer}}]})


def remote_secret(peer: str, server: str, token: str | None) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"istio-remote-secret-{peer}", "namespace": NS,
                         "labels": {L.MULTICLUSTER_SECRET: "true"}, "annotations": {L.CLUSTER_ANNOTATION: peer}},
            "data": {peer: b64(remote_kubeconfig(peer, server, token))}}


@dataclass
class Linked:
    """Three fake clusters linked both ways; ``kubes`` and ``reader_tokens`` by cluster name."""

    kubes: dict[str, FakeKube]
    kubeconfig: str
    reader_tokens: dict[str, str]

    def args(self, *names: str) -> list[str]:
        out = ["--kubeconfig", self.kubeconfig, "--probe-timeout", "2"]
        for name in names or CLUSTERS:
            out += ["--context", f"ctx-{name}"]
        return out

    def edit(self, cluster: str, resource: str, name: str, namespace: str | None, change) -> None:
        kube = self.kubes[cluster]
        obj = kube.get_object(resource, name, namespace)
        assert obj is not None, (cluster, resource, name)
        change(obj)
        kube.add(obj)

    def set_remote_secret(self, cluster: str, peer: str, *, server: str | None = None, token: str | None = "keep",
                          annotation: str | None = None) -> None:
        secret = remote_secret(peer, server or self.kubes[peer].url,
                               self.reader_tokens[peer] if token == "keep" else token)
        if annotation:
            secret["metadata"]["annotations"][L.CLUSTER_ANNOTATION] = annotation
        self.kubes[cluster].add(secret)

    def secret_values(self) -> list[str]:
        """Every token and key the clusters hold."""
        values = [k.token for k in self.kubes.values()] + list(self.reader_tokens.values())
        for kube in self.kubes.values():
            key = kube.get_object("secrets", "cacerts", NS)
            if key:
                values.append(base64.b64decode(key["data"]["ca-key.pem"]).decode())
        return values


@contextmanager
def linked_clusters(tmp_path):
    """Start the three clusters and link them both ways (the ``linked`` fixture; test_status uses it too)."""
    with ExitStack() as stack:
        kubes = {n: stack.enter_context(FakeKube(name=n, host=HOST, token=secrets.token_hex(16))) for n in CLUSTERS}
        tokens = {n: secrets.token_urlsafe(24) for n in CLUSTERS}
        for name, kube in kubes.items():
            kube.add_all(cluster_objects(name, tokens[name]))
            for peer in CLUSTERS:
                if peer != name:
                    kube.add(remote_secret(peer, kubes[peer].url, tokens[peer]))
        kc = write_kubeconfig(tmp_path / "kc.yaml", list(kubes.values()), contexts=[f"ctx-{n}" for n in CLUSTERS])
        yield Linked(kubes, str(kc), tokens)


@pytest.fixture
def linked(tmp_path):
    with linked_clusters(tmp_path) as clusters:
        yield clusters


def checks(result) -> dict[str, dict]:
    """{check name: check} of a `-o json` answer."""
    return {c["name"]: c for category in json.loads(result.out) for c in category["checks"]}


def not_ok(result) -> dict[str, dict]:
    return {name: c for name, c in checks(result).items() if c["status"] != "ok"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- the healthy mesh -----------------------------------------------------------------------------------


def test_linked_clusters_pass_every_check(cli, linked):
    r = cli("multicluster", "check", *linked.args(), "-o", "json")
    assert r.code == 0, r.out + r.err
    assert not_ok(r) == {}
    data = json.loads(r.out)
    assert [c["name"] for c in data] == ["Clusters", "Trust", "Networks", "Links", "Shared services"]
    assert all(set(c) == {"name", "cluster", "checks"} for c in data)
    assert all(set(check) == {"name", "status", "detail", "hint"} for c in data for check in c["checks"])
    found = checks(r)
    for a in CLUSTERS:
        for b in CLUSTERS:
            if a != b:
                link = found[f"{a} reads {b} through a remote secret"]
                assert "credentials are accepted and may list pods" in link["detail"]
                assert linked.kubes[b].url in link["detail"]
    assert found["every cluster can be read"]["detail"] == "3 clusters: east, west, north"
    text = cli("multicluster", "check", *linked.args())
    assert text.code == 0 and text.out.rstrip().endswith("Status check results are \u2714")
    assert text.err == ""


def test_one_probe_per_remote_secret_each_a_self_subject_access_review(cli, linked):
    for kube in linked.kubes.values():
        kube.clear_requests()
    assert cli("multicluster", "check", *linked.args(), "-o", "json").code == 0
    for kube in linked.kubes.values():
        reviews = [r for r in kube.requests if r.path.endswith("selfsubjectaccessreviews")]
        assert len(reviews) == 2  # one from each peer's remote secret
        secret_reads = [r for r in kube.requests if r.path.endswith("/secrets")]
        assert len(secret_reads) == 1  # one LIST answers the remote secrets, cacerts and the probes' kubeconfigs


# -- each failure mode, one at a time --------------------------------------------------------------------


def _unreachable(m):
    m.set_remote_secret("east", "west", server=f"http://{HOST}:{closed_port()}")


def _revoked(m):
    m.kubes["west"].delete_object("secrets", READER_TOKEN_SECRET, NS)


def _expired(m):  # the token Secret holds a new token: the old one is no longer accepted
    m.edit("west", "secrets", READER_TOKEN_SECRET, NS,
           lambda s: s["data"].update(token=b64("rotated-" + secrets.token_hex(8))))


def _forbidden(m):
    m.kubes["west"].deny(verb="list", resource="pods")


def _slow(m):
    m.kubes["west"].faults.add(delay=1.5, times=None, path="selfsubjectaccessreviews$")
    return ["--probe-timeout", "0.5"]


def _missing_direction(m):
    m.kubes["west"].delete_object("secrets", "istio-remote-secret-east", NS)


def _name_mismatch(m):
    m.set_remote_secret("east", "west", annotation="west-old")


def _loopback(m):
    m.set_remote_secret("east", "west", server=f"http://localhost:{m.kubes['west'].port}")


def _no_credentials(m):
    m.set_remote_secret("east", "west", token=None)


def _empty_secret(m):
    m.edit("east", "secrets", "istio-remote-secret-west", NS, lambda s: s["data"].update(west=""))


def _other_root(m):
    other = pem("another root")
    m.kubes["north"].add(cacerts("north", other))
    m.kubes["north"].add(root_configmap(other))


def _self_signed(m):  # istiod made its own CA: nobody else trusts it
    own = pem("north's self-signed root")
    m.kubes["north"].delete_object("secrets", "cacerts", NS)
    m.kubes["north"].add({"apiVersion": "v1", "kind": "Secret", "type": "istio.io/ca-root",
                          "metadata": {"name": "istio-ca-secret", "namespace": NS}, "data": {"ca-cert.pem": b64(own)}})
    m.kubes["north"].add(root_configmap(own))


def _restart_pending(m):  # a new root in every cacerts, but istiod still hands out the old one
    new = pem("a new root")
    for name, kube in m.kubes.items():
        kube.add(cacerts(name, new))


def _no_network_label(m):
    m.edit("north", "namespaces", NS, None, lambda ns: ns["metadata"]["labels"].pop(L.NETWORK))


def _no_east_west(m):
    m.kubes["north"].delete_object("gateways.gateway.networking.k8s.io", "istio-eastwestgateway", NS)


def _east_west_other_network(m):
    m.edit("north", "gateways.gateway.networking.k8s.io", "istio-eastwestgateway", NS,
           lambda g: g["metadata"]["labels"].update({L.NETWORK: "net-east"}))


def _not_programmed(m):
    m.kubes["north"].add(gateway("istio-eastwestgateway", NS, "istio-east-west", labels={L.NETWORK: "net-north"},
                                 addresses=[ADDRESSES["north"]], programmed="False"))


def _no_address(m):
    m.kubes["north"].add(gateway("istio-eastwestgateway", NS, "istio-east-west", labels={L.NETWORK: "net-north"}))


def _istiod_env(name, value):
    def change(d):
        env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        env[:] = [e for e in env if e["name"] != name] + ([{"name": name, "value": value}] if value else [])
    return change


def _multi_network_off(m):
    m.edit("north", "deployments", "istiod", NS, _istiod_env("AMBIENT_ENABLE_MULTI_NETWORK", "false"))


def _mesh_id(m):
    m.edit("north", "configmaps", "istio", NS, lambda cm: cm["data"].update(
        mesh=yaml.safe_dump({"defaultConfig": {"meshId": "mesh2"}})))


def _not_global(m):
    m.edit("north", "services", "reviews", "bookinfo", lambda s: s["metadata"]["labels"].pop(L.GLOBAL_SERVICE))


def _other_ports(m):
    m.edit("north", "services", "reviews", "bookinfo",
           lambda s: s["spec"].update(ports=[{"name": "http", "port": 8080, "protocol": "TCP"}]))


def _waypoint_name(m):
    m.kubes["north"].delete_object("gateways.gateway.networking.k8s.io", "waypoint", "bookinfo")
    m.kubes["north"].add(gateway("bookinfo-waypoint", "bookinfo", "istio-waypoint"))


def _istiod_not_ready(m):
    m.edit("north", "deployments", "istiod", NS, lambda d: d["status"].update(readyReplicas=0))


def _unreadable(m):
    m.kubes["north"].deny(verb="list", resource="secrets", namespace=NS)


LINK_EAST_WEST = "east reads west through a remote secret"
LINK_WEST_EAST = "west reads east through a remote secret"
LINK_NORTH_WEST = "north reads west through a remote secret"
LINK_AGAIN = "meshctl multicluster link --context ctx-east --context ctx-west"
EXPOSE_NORTH = "meshctl multicluster expose --context ctx-north --network"

# (break it, {failing check: (status, words in its detail, words in its hint)}, exit code)
CASES = {
    "unreachable": (_unreachable, {LINK_EAST_WEST: ("failure", "cannot reach it: connection refused",
                                                    "--server ctx-west=URL")}, 1),
    "revoked-token": (_revoked, {LINK_EAST_WEST: ("failure", "401 Unauthorized", "expired or was revoked"),
                                 LINK_NORTH_WEST: ("failure", "401 Unauthorized", "expired or was revoked")}, 1),
    "expired-token": (_expired, {LINK_EAST_WEST: ("failure", "401 Unauthorized", LINK_AGAIN + " issues a new one"),
                                 LINK_NORTH_WEST: ("failure", "401 Unauthorized", "--context ctx-north")}, 1),
    "forbidden": (_forbidden, {LINK_EAST_WEST: ("failure", "may not list pods", "reader's RBAC in west"),
                               LINK_NORTH_WEST: ("failure", "may not list pods", "reader's RBAC in west")}, 1),
    "probe-timeout": (_slow, {LINK_EAST_WEST: ("failure", "timed out", "reachable from east"),
                              LINK_NORTH_WEST: ("failure", "timed out", "")}, 1),
    "missing-direction": (_missing_direction, {LINK_WEST_EAST: ("failure", "west has no remote secret for east",
                                                                "create it: meshctl multicluster link --context "
                                                                "ctx-west --context ctx-east")}, 1),
    "cluster-name-mismatch": (_name_mismatch, {LINK_EAST_WEST: ("failure", "names cluster 'west-old', but the API "
                                                                "server it reaches", "peer's own name")}, 1),
    "loopback-server": (_loopback, {LINK_EAST_WEST: ("failure", "loopback address", "--server ctx-west=https://")}, 1),
    "no-credentials": (_no_credentials, {LINK_EAST_WEST: ("failure", "carries no credentials", LINK_AGAIN)}, 1),
    "empty-kubeconfig": (_empty_secret, {LINK_EAST_WEST: ("failure", "its kubeconfig under key 'west' is empty",
                                                          LINK_AGAIN)}, 1),
    "root-mismatch": (_other_root, {"every cluster trusts the same root CA": ("failure", "north", "meshctl ca generate "
                                                                              "--cluster east")}, 1),
    "self-signed": (_self_signed, {"every cluster has a plugged-in CA (cacerts)": ("failure", "north: no cacerts",
                                                                                  "meshctl ca install --context "
                                                                                  "ctx-north"),
                                   "every cluster trusts the same root CA": ("failure", "north", "ca generate")}, 1),
    "restart-pending": (_restart_pending, {"istiod hands out the root in cacerts": (
        "failure", "it has not restarted since cacerts changed",
        "kubectl --context ctx-east -n istio-system rollout restart deployment/istiod")}, 1),
    "no-network-label": (_no_network_label, {"every cluster has a network label": (
        "failure", "north: namespace istio-system has no label topology.istio.io/network", EXPOSE_NORTH)}, 1),
    "no-east-west": (_no_east_west, {"every cluster has an east-west gateway for its network": (
        "failure", "north: no Gateway of class istio-east-west", EXPOSE_NORTH + " net-north")}, 1),
    "east-west-other-network": (_east_west_other_network, {
        "every cluster has an east-west gateway for its network": ("failure", "on network net-north", EXPOSE_NORTH)}, 1),
    "east-west-not-programmed": (_not_programmed, {"east-west gateways are programmed and have an address": (
        "failure", "istio-system/istio-eastwestgateway is not Programmed (False",
        "kubectl --context ctx-north -n istio-system describe gateway istio-eastwestgateway")}, 1),
    "east-west-no-address": (_no_address, {"east-west gateways are programmed and have an address": (
        "failure", "has no address", "needs an external address")}, 1),
    "multi-network-off": (_multi_network_off, {"multi-network routing is on (AMBIENT_ENABLE_MULTI_NETWORK)": (
        "failure", "north: istiod runs without AMBIENT_ENABLE_MULTI_NETWORK=true", EXPOSE_NORTH)}, 1),
    "mesh-id-mismatch": (_mesh_id, {"every cluster has the same meshID": (
        "failure", "mesh2: north", "--context ctx-north --set values.global.meshID=mesh1")}, 1),
    "global-label-missing": (_not_global, {
        "services labelled istio.io/global are global in every cluster that has them": (
            "warning", "bookinfo/reviews: global in east, west, not in north",
            "kubectl --context ctx-north -n bookinfo label service reviews istio.io/global=true")}, 0),
    "global-ports-differ": (_other_ports, {"global services have the same ports in every cluster": (
        "warning", "north: http 8080/TCP", "same ports")}, 0),
    "waypoint-names-differ": (_waypoint_name, {"waypoints in namespace bookinfo have the same names in every cluster": (
        "failure", "east: waypoint; west: waypoint; north: bookinfo-waypoint", "-n bookinfo --name NAME")}, 1),
    "istiod-not-ready": (_istiod_not_ready, {"istiod is ready in every cluster": (
        "failure", "north: istiod is not ready", "meshctl check --context ctx-north")}, 1),
    "unreadable-cluster": (_unreadable, {"every cluster can be read": (
        "failure", "context ctx-north: not allowed to list secrets in namespace istio-system", "ask for RBAC")}, 1),
}


@pytest.mark.parametrize("break_it, expected, code", CASES.values(), ids=CASES.keys())
def test_each_failure_mode(cli, linked, break_it, expected, code):
    more = break_it(linked) or []
    r = cli("multicluster", "check", *linked.args(), *more, "-o", "json")
    assert r.code == code, r.out + r.err
    found = not_ok(r)
    assert set(found) == set(expected), found
    for name, (status, detail, hint) in expected.items():
        assert found[name]["status"] == status
        assert detail in found[name]["detail"], found[name]
        assert hint in found[name]["hint"], found[name]
        assert found[name]["hint"], "every check that is not ok has a hint"


def test_duplicate_cluster_names_fail_and_the_links_say_which_name_istiod_uses(cli, linked):
    linked.edit("north", "deployments", "istiod", NS, _istiod_env("CLUSTER_ID", "west"))
    r = cli("multicluster", "check", *linked.args(), "-o", "json")
    assert r.code == 1
    found = not_ok(r)
    names = found["cluster names are set and unique"]
    assert names["detail"] == "west names the clusters of contexts ctx-west, ctx-north"
    assert "values.global.multiCluster.clusterName=NAME" in names["hint"]
    # Reported apart by their contexts; the peers' secrets for north reach an istiod that calls itself west.
    assert "runs istiod as 'west'" in found["east reads west (ctx-north) through a remote secret"]["detail"]
    assert checks(r)["east reads west (ctx-west) through a remote secret"]["status"] == "ok"


def test_a_cluster_without_a_name_fails(cli, linked):
    linked.edit("north", "deployments", "istiod", NS, _istiod_env("CLUSTER_ID", None))
    found = not_ok(cli("multicluster", "check", *linked.args(), "-o", "json"))
    assert found["cluster names are set and unique"]["detail"] == \
        "context ctx-north: istiod runs with the default name Kubernetes"
    assert "runs istiod as 'Kubernetes'" in found["east reads ctx-north through a remote secret"]["detail"]


def test_a_secret_for_a_cluster_not_checked_is_probed_too(cli, linked):
    r = cli("multicluster", "check", *linked.args("east", "west"), "-o", "json")
    assert r.code == 0, r.out
    other = checks(r)["east reads north through a remote secret (north was not checked)"]
    assert other["status"] == "ok" and linked.kubes["north"].url in other["detail"]
    linked.kubes["north"].delete_object("secrets", READER_TOKEN_SECRET, NS)
    broken = checks(cli("multicluster", "check", *linked.args("east", "west"), "-o", "json"))
    other = broken["east reads north through a remote secret (north was not checked)"]
    assert other["status"] == "failure" and "kubectl --context ctx-east -n istio-system delete secret " \
                                               "istio-remote-secret-north" in other["hint"]


def test_a_cluster_that_is_down_is_a_finding_and_the_others_are_checked(cli, linked):
    linked.kubes["north"].stop()
    r = cli("multicluster", "check", *linked.args(), "-o", "json")
    assert r.code == 1
    found = not_ok(r)
    read = found["every cluster can be read"]
    assert read["detail"].startswith("context ctx-north: cannot reach the API server at http://127.0.0.2:")
    assert read["detail"].endswith(": connection refused")
    assert checks(r)[LINK_EAST_WEST]["status"] == "ok"
    gone = found["east reads north through a remote secret (north was not checked)"]
    assert "connection refused" in gone["detail"]
    everything_down = cli("multicluster", "check", *linked.args("north"))
    assert everything_down.code == 69 and "cannot reach the API server" in everything_down.err


def test_one_cluster_is_a_warning(cli, linked):
    r = cli("multicluster", "check", "--kubeconfig", linked.kubeconfig, "--context", "ctx-east", "-o", "json")
    found = not_ok(r)
    assert found["every cluster can be read"]["status"] == "warning"
    assert "only east was read" in found["every cluster can be read"]["detail"]


def test_text_output_has_a_hint_under_every_failure(cli, linked):
    _missing_direction(linked)
    r = cli("multicluster", "check", *linked.args())
    assert r.code == 1
    lines = r.out.splitlines()
    at = lines.index("\u2718 " + LINK_WEST_EAST)
    assert lines[at + 1].strip().startswith("west has no remote secret for east")
    assert lines[at + 2].strip() == "hint: create it: meshctl multicluster link --context ctx-west --context ctx-east"
    assert lines[-1] == "Status check results are \u2718 (1 failure)"


def test_yaml_output_holds_the_same_data(cli, linked):
    _missing_direction(linked)
    as_json = json.loads(cli("multicluster", "check", *linked.args(), "-o", "json").out)
    as_yaml = yaml.safe_load(cli("multicluster", "check", *linked.args(), "-o", "yaml").out)
    assert as_json == as_yaml


@pytest.mark.parametrize("args, message", [
    (("-o", "table"), "--output 'table' is not one of: text, json, yaml"),
    (("--probe-timeout", "0"), "--probe-timeout 0 is not a positive number of seconds"),
])
def test_usage_errors(cli, args, message):
    r = cli("multicluster", "check", "--snapshot", str(DEMO), *args)
    assert r.code == 2 and message in r.err


# -- snapshots: no secret values, so no probes; the same answers as live otherwise --------------------------


def test_the_demo_snapshot_reports_links_it_cannot_probe_as_unknown(cli):
    r = cli("multicluster", "check", "--snapshot", str(DEMO), "-o", "json")
    assert r.code == 1  # the planted one-way link
    found = checks(r)
    one = found["cluster1 reads cluster2 through a remote secret"]
    assert one["status"] == "skipped" and "snapshots keep no secret values" in one["detail"]
    assert found["cluster2 reads cluster1 through a remote secret"]["status"] == "failure"
    restart = found["istiod hands out the root in cacerts"]
    assert restart["status"] == "skipped" and "snapshots keep no secret values" in restart["detail"]
    assert found["every cluster trusts the same root CA"]["status"] == "ok"  # from istio-ca-root-cert
    ports = found["global services have the same ports in every cluster"]
    assert ports["status"] == "warning" and ports["detail"] == \
        "bookinfo/ratings: cluster1: http 9080/TCP; cluster2: http 8080/TCP"  # the demo's planted problem 11
    assert not [c for c in found.values() if c["status"] == "ok" and "probe" in c["detail"]]


def test_the_demo_gives_the_same_answers_live_except_for_what_needs_secret_values(cli, tmp_path):
    with FakeKube(name="c1") as one, FakeKube(name="c2") as two:
        seed_from_snapshot(one, DEMO / "cluster1")
        seed_from_snapshot(two, DEMO / "cluster2")
        kc = write_kubeconfig(tmp_path / "kc.yaml", [one, two], contexts=["kind-cluster1", "kind-cluster2"])
        live = cli("multicluster", "check", "--kubeconfig", str(kc), "--context", "kind-cluster1",
                   "--context", "kind-cluster2", "-o", "json")
        live_status = json.loads(cli("multicluster", "status", "--kubeconfig", str(kc), "--context", "kind-cluster1",
                                     "--context", "kind-cluster2", "-o", "json").out)
    snap = cli("multicluster", "check", "--snapshot", str(DEMO), "-o", "json")
    snap_status = json.loads(cli("multicluster", "status", "--snapshot", str(DEMO), "-o", "json").out)
    assert live.code == snap.code == 1
    live_data, snap_data = json.loads(live.out), json.loads(snap.out)

    def without_links(data):
        return [c for c in data if c["name"] != "Links"]

    assert without_links(live_data) == without_links(snap_data)
    live_links = {c["name"]: c for c in live_data if c["name"] == "Links"}["Links"]["checks"]
    snap_links = {c["name"]: c for c in snap_data if c["name"] == "Links"}["Links"]["checks"]
    assert [c["name"] for c in live_links] == [c["name"] for c in snap_links]
    # The seeded secret has the key but an empty value: unknown in the snapshot, broken on a live cluster.
    assert [c["status"] for c in snap_links] == ["skipped", "failure"]
    assert [c["status"] for c in live_links] == ["failure", "failure"]
    assert "its kubeconfig under key 'cluster2' is empty" in live_links[0]["detail"]
    # status: the same clusters; the pair is one-way from the snapshot (unknown + missing), broken live
    assert live_status["clusters"] == snap_status["clusters"]
    assert [p["state"] for p in snap_status["links"]] == ["one-way"]
    assert [p["state"] for p in live_status["links"]] == ["broken"]


# -- secrets never shown ------------------------------------------------------------------------------------


def _several_broken(m):
    _revoked(m)  # east and north get 401 from west
    m.set_remote_secret("west", "north", server=f"http://{HOST}:{closed_port()}")
    m.set_remote_secret("north", "east", server=f"http://localhost:{m.kubes['east'].port}")
    m.set_remote_secret("west", "east", token=None)


def test_no_token_or_key_in_any_output(cli, linked):
    runs = [("check", "text"), ("status", "table")]
    outputs = [cli("multicluster", command, *linked.args(), "-o", output) for command, output in runs]
    _several_broken(linked)
    runs = [("check", "text"), ("check", "json"), ("check", "yaml"), ("status", "table"), ("status", "json"),
            ("status", "yaml")]
    outputs += [cli("multicluster", command, *linked.args(), "-o", output) for command, output in runs]
    assert [r.code for r in outputs] == [0, 0, 1, 1, 1, 0, 0, 0]
    text = "\n".join(r.out + r.err for r in outputs)
    assert "401 Unauthorized" in text and "carries no credentials" in text and "loopback" in text
    for value in linked.secret_values():
        assert value not in text
        assert b64(value) not in text


def test_the_probe_result_holds_no_credential_even_when_the_client_fails():
    from meshctl.kube.live import probe_kubeconfig

    token = "tok-" + secrets.token_hex(16)
    broken_cert = yaml.safe_dump({"current-context": "p", "clusters": [{"name": "p", "cluster": {
        "server": "https://127.0.0.2:1", "certificate-authority-data": "not base64 at all"}}],
        "users": [{"name": "p", "user": {"token": token, "client-key-data": token}}],
        "contexts": [{"name": "p", "context": {"cluster": "p", "user": "p"}}]})
    probe = probe_kubeconfig(broken_cert, 0.5)
    assert not probe.ok and probe.reason and token not in repr(probe)


def test_credential_plugins_and_files_in_a_remote_secret_are_never_used(tmp_path):
    from meshctl.kube.live import probe_kubeconfig

    marker = tmp_path / "ran"
    config = yaml.safe_dump({"current-context": "p", "clusters": [{"name": "p", "cluster": {
        "server": f"http://{HOST}:1"}}], "users": [{"name": "p", "user": {
            "tokenFile": "/etc/hostname",
            "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "touch", "args": [str(marker)]}}}],
        "contexts": [{"name": "p", "context": {"cluster": "p", "user": "p"}}]})
    probe = probe_kubeconfig(config, 0.5)
    assert not probe.attempted and "cannot use" in probe.reason
    assert not marker.exists()


def test_istio_namespace_is_where_istiod_and_remote_secrets_are_read(cli, linked):
    r = cli("multicluster", "check", *linked.args(), "--istio-namespace", "elsewhere", "-o", "json")
    assert r.code == 1
    found = not_ok(r)  # no istiod there, so no cluster names either: the clusters go by their contexts
    assert found["istiod is ready in every cluster"]["detail"].splitlines()[0] == "ctx-east: no istiod in elsewhere"
    assert found["every cluster has a network label"]["detail"].splitlines()[0] == \
        "ctx-east: namespace elsewhere has no label topology.istio.io/network"
    assert found["ctx-east reads ctx-west through a remote secret"]["detail"].startswith(
        "ctx-east has no remote secret for ctx-west")
