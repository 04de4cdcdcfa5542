"""The multicluster read model on in-memory state: identity, trust, remote secrets, matching secrets to
peers, and links with a stand-in prober (no API server)."""

from __future__ import annotations

import pytest
import yaml

from meshctl.kube.files import FileState
from meshctl.kube.kinds import REGISTRY
from meshctl.kube.live import Probe
from meshctl.kube.state import Resource, SourceInfo
from meshctl.mesh import labels as L
from meshctl.mesh.multicluster import (BROKEN, LINKED, MISSING, OK_LINK, ONE_WAY, UNKNOWN, Trust, check_multicluster,
                                       describe_identity, is_loopback_server, pair_state, read_mesh,
                                       read_remote_secret, root_fingerprint, short_fingerprint)
from tests.multicluster.test_check_multicluster import (NS, ROOT, b64, cacerts, cluster_objects, pem, remote_kubeconfig,
                                                         remote_secret, root_configmap)

SERVERS = {"east": "https://east.example:6443", "west": "https://west.example:6443"}


def state_of(objects, *, cluster="c", context="", server="", kind="files"):
    state = FileState(SourceInfo(kind, context or cluster, cluster, context, server))
    for raw in objects:
        state.objects.add(Resource(raw, REGISTRY.for_object(raw["apiVersion"], raw["kind"])))
    return state


def cluster(name, *, peers=(), kind="files", drop=(), extra=()):
    """A ready cluster named ``name`` holding remote secrets for ``peers``, less the objects named in ``drop``."""
    objects = [o for o in cluster_objects(name, f"token-of-{name}") if o["metadata"]["name"] not in drop]
    objects += [remote_secret(p, SERVERS[p], f"token-of-{p}") for p in peers]
    return state_of(objects + list(extra), cluster=name, context=f"ctx-{name}", server=SERVERS[name], kind=kind)


def secret(annotation=None, data=None, name="istio-remote-secret-west"):
    meta = {"name": name, "namespace": NS, "labels": {L.MULTICLUSTER_SECRET: "true"}}
    if annotation:
        meta["annotations"] = {L.CLUSTER_ANNOTATION: annotation}
    return Resource({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": data or {}},
                    REGISTRY.for_object("v1", "Secret"))


# -- one cluster ------------------------------------------------------------------------------------------


def test_identity_of_a_ready_cluster():
    c = describe_identity(cluster("east", peers=["west"]))
    assert (c.name, c.context, c.cluster_name, c.mesh_id, c.network) == ("east", "ctx-east", "east", "mesh1", "net-east")
    assert c.multi_network is True and c.istiod_ready and c.istiod_versions == ("1.30.3",)
    assert c.trust == Trust("cacerts", root_fingerprint(ROOT), root_fingerprint(ROOT)) and not c.trust.restart_pending
    assert [(g.name, g.network, g.programmed, g.addresses) for g in c.east_west] == [
        ("istio-eastwestgateway", "net-east", "True", ("172.18.0.10",))]
    assert c.global_services == {"bookinfo/reviews"} and c.services == {"bookinfo/reviews"}
    assert c.global_service_ports == (("bookinfo/reviews", "http 9080/TCP"),)
    assert c.waypoints == {"bookinfo/waypoint"}
    assert c.server == SERVERS["east"] and c.secret_values
    (rs,) = c.remote_secrets
    assert (rs.cluster, rs.server, rs.auth, rs.problem) == ("west", SERVERS["west"], "token", "")


def test_identity_without_istiod_or_names():
    c = describe_identity(cluster("east", drop=("istiod", "istio")))
    assert c.cluster_name is None and c.name == "ctx-east"
    assert c.multi_network is None and not c.istiod_ready
    assert c.mesh_id is None and c.effective_mesh_id == "cluster.local"


@pytest.mark.parametrize("change, source, pending", [
    (lambda objs: None, "cacerts", False),
    (lambda objs: objs.append(cacerts("east", pem("new root"))), "cacerts", True),  # a later cacerts replaces it
    (lambda objs: objs.remove(next(o for o in objs if o["metadata"]["name"] == "cacerts")), "none", False),
])
def test_trust_and_restart_pending(change, source, pending):
    objs = cluster_objects("east", "t")
    change(objs)
    trust = describe_identity(state_of(objs)).trust
    assert trust.source == source and trust.restart_pending is pending
    assert trust.distributed_root == root_fingerprint(ROOT)


def test_trust_from_the_tls_layout_and_from_istiods_own_ca():
    objs = [o for o in cluster_objects("east", "t") if o["metadata"]["name"] != "cacerts"]
    tls = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": NS},
           "data": {"tls.crt": b64(pem("leaf")), "ca.crt": b64(ROOT)}}
    assert describe_identity(state_of(objs + [tls])).trust.root == root_fingerprint(ROOT)
    own = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "istio-ca-secret", "namespace": NS},
           "data": {"ca-cert.pem": b64(pem("self"))}}
    trust = describe_identity(state_of(objs + [own])).trust
    assert trust.source == "self-signed" and trust.root == root_fingerprint(pem("self"))


def test_short_fingerprint():
    fp = root_fingerprint(ROOT)
    assert short_fingerprint(fp) == ":".join(fp.split(":")[:8]) and len(short_fingerprint(fp)) == 23
    assert short_fingerprint(None) == ""


# -- remote secrets ---------------------------------------------------------------------------------------


def test_remote_secret_names_its_peer_by_annotation_then_key():
    text = b64(remote_kubeconfig("west", "https://admin:pw@west.example:6443", "tok-123456"))
    by_annotation = read_remote_secret(secret("west", {"other": text}))
    assert (by_annotation.cluster, by_annotation.server) == ("west", "https://west.example:6443")  # no user:password
    assert read_remote_secret(secret(None, {"west": text})).cluster == "west"
    assert "tok-123456" not in repr(read_remote_secret(secret("west", {"west": text})))


@pytest.mark.parametrize("data, auth, problem", [
    ({"west": ""}, "unknown", ""),  # a snapshot keeps the key, not the value
    ({"a": b64("x"), "b": b64("y")}, "none", "no kubeconfig under key 'west'"),
    ({"west": b64("{not: [yaml")}, "none", "its kubeconfig does not parse"),
    ({"west": b64(remote_kubeconfig("west", "https://w:6443", None))}, "none", "its kubeconfig carries no credentials"),
    ({"west": b64(yaml.safe_dump({"clusters": [{"name": "w", "cluster": {"server": "https://w:6443"}}],
                                  "users": [{"name": "w", "user": {"exec": {"command": "aws"}}}],
                                  "contexts": [{"name": "w", "context": {"cluster": "w", "user": "w"}}]}))},
     "exec", "its kubeconfig uses a credential plugin istiod cannot run"),
])
def test_remote_secret_problems(data, auth, problem):
    found = read_remote_secret(secret("west", data))
    assert (found.auth, found.problem) == (auth, problem)


def test_an_empty_kubeconfig_is_unknown_in_a_snapshot_and_a_problem_elsewhere():
    empty = remote_secret("west", SERVERS["west"], "t")
    empty["data"]["west"] = ""
    in_snapshot = describe_identity(cluster("east", kind="snapshot", extra=[empty])).remote_secrets[0]
    live = describe_identity(cluster("east", extra=[empty])).remote_secrets[0]
    assert (in_snapshot.auth, in_snapshot.problem) == ("unknown", "")
    assert live.problem == "its kubeconfig under key 'west' is empty"


@pytest.mark.parametrize("url, loopback", [
    ("https://127.0.0.1:6443", True), ("https://localhost:6443", True), ("https://api.localhost", True),
    ("https://[::1]:6443", True), ("https://0.0.0.0:6443", True), ("https://LOCALHOST.:6443", True),
    ("https://10.0.0.1:6443", False), ("https://cluster2-control-plane:6443", False), ("", False),
])
def test_loopback_servers(url, loopback):
    assert is_loopback_server(url) is loopback


# -- several clusters -------------------------------------------------------------------------------------


class Prober:
    """Stands in for probe_kubeconfig: an answer per server, and a record of the calls."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def __call__(self, text, timeout):
        config = yaml.safe_load(text)
        server = config["clusters"][0]["cluster"]["server"]
        self.calls.append((server, timeout))
        return self.answers.get(server, Probe(True, True, True, True, ""))


@pytest.mark.parametrize("there, back, pair", [
    (OK_LINK, OK_LINK, LINKED), (OK_LINK, MISSING, ONE_WAY), (UNKNOWN, MISSING, ONE_WAY),
    (MISSING, MISSING, MISSING), (OK_LINK, BROKEN, BROKEN), (BROKEN, MISSING, BROKEN), (OK_LINK, UNKNOWN, UNKNOWN),
])
def test_pair_state(there, back, pair):
    assert pair_state(there, back) == pair == pair_state(back, there)


def test_links_are_probed_once_per_secret_in_parallel_and_paired():
    prober = Prober()
    view = read_mesh([cluster("east", peers=["west"]), cluster("west", peers=["east"])], prober=prober, timeout=1.5)
    assert sorted(prober.calls) == [(SERVERS["east"], 1.5), (SERVERS["west"], 1.5)]
    assert [(link.source, link.peer, link.state) for link in view.links] == [("east", "west", OK_LINK),
                                                                            ("west", "east", OK_LINK)]
    assert [(p.clusters, p.state) for p in view.pairs()] == [(("east", "west"), LINKED)]


def test_probe_failures_become_broken_links_with_their_cause():
    refused = Probe(True, True, False, False, "it refused the credentials (401 Unauthorized): expired or revoked")
    prober = Prober({SERVERS["west"]: refused,
                     SERVERS["east"]: Probe(False, False, False, False, "its credentials are files")})
    view = read_mesh([cluster("east", peers=["west"]), cluster("west", peers=["east"])], prober=prober)
    there, back = view.links
    assert (there.state, there.cause) == (BROKEN, "unauthorized") and "401" in there.reason
    assert back.state == UNKNOWN and "not probed: its credentials are files" in back.reason


def test_without_a_prober_links_are_unknown_and_snapshots_never_probe():
    view = read_mesh([cluster("east", peers=["west"]), cluster("west", peers=["east"])])
    assert {link.state for link in view.links} == {UNKNOWN}
    prober = Prober()
    snap = read_mesh([cluster("east", peers=["west"], kind="snapshot"), cluster("west", kind="snapshot")],
                     prober=prober)
    assert prober.calls == []
    assert [link.state for link in snap.links] == [UNKNOWN, MISSING]


def test_a_secret_matched_by_server_must_carry_the_peers_name():
    renamed = remote_secret("west", SERVERS["west"], "t")
    renamed["metadata"]["annotations"][L.CLUSTER_ANNOTATION] = "west-old"
    view = read_mesh([cluster("east", extra=[renamed]), cluster("west")], prober=Prober())
    there = view.links[0]
    assert (there.peer, there.state, there.cause) == ("west", BROKEN, "name")


def test_a_secret_is_matched_by_name_when_its_server_is_another_address():
    inside = remote_secret("west", "https://west-control-plane:6443", "t")  # the address pods use, not ours
    view = read_mesh([cluster("east", extra=[inside]), cluster("west")], prober=Prober())
    assert (view.links[0].peer, view.links[0].state) == ("west", OK_LINK)


def test_each_secret_serves_one_peer_and_the_rest_are_reported_apart():
    extra = [remote_secret("west", SERVERS["west"], "t"),
             remote_secret("gone", "https://gone.example:6443", "t")]
    view = read_mesh([cluster("east", extra=extra), cluster("west")], prober=Prober())
    other = [link for link in view.links if not link.peer_read]
    assert [(link.source, link.peer, link.state) for link in other] == [("east", "gone", OK_LINK)]
    assert [p.state for p in view.pairs()] == [ONE_WAY]


def test_a_cluster_that_cannot_be_read_is_reported_and_the_rest_still_checked():
    class Refusing(FileState):
        def list(self, kind, namespace=None, *, labels=None):
            from meshctl.errors import ClusterUnavailableError

            raise ClusterUnavailableError("context ctx-x: not allowed to list secrets", hint="ask for RBAC")

    broken = Refusing(SourceInfo("live", "ctx-x", "x", "ctx-x"))
    view = read_mesh([cluster("east"), broken])
    assert [c.name for c in view.clusters] == ["east"]
    assert [(u.context, u.line, u.hint) for u in view.unreadable] == [
        ("ctx-x", "context ctx-x: not allowed to list secrets", "ask for RBAC")]
    names = [r.name for c in check_multicluster(view) for r in c.results if r.status == "failure"]
    assert names[0] == "every cluster can be read"


def test_nothing_read_means_one_failing_check_not_vacuous_passes():
    from meshctl.mesh.multicluster import MeshView, Unreadable

    view = MeshView((), (), (Unreadable("ctx-a", "cannot reach it", "check it"),))
    categories = check_multicluster(view)
    assert [(r.name, r.status) for c in categories for r in c.results] == [("every cluster can be read", "failure")]


def test_root_mismatch_lists_each_root_with_its_clusters():
    other = pem("other root")
    north = [o for o in cluster_objects("west", "t") if o["metadata"]["name"] not in ("cacerts", "istio-ca-root-cert")]
    view = read_mesh([cluster("east"), state_of(north + [cacerts("west", other), root_configmap(other)],
                                                cluster="west", context="ctx-west")])
    (result,) = [r for c in check_multicluster(view) for r in c.results
                 if r.name == "every cluster trusts the same root CA"]
    assert result.status == "failure"
    assert result.detail.splitlines() == [f"{short_fingerprint(root_fingerprint(ROOT))}: east",
                                          f"{short_fingerprint(root_fingerprint(other))}: west"]
    assert "--force --restart" in result.hint


def test_ports_of_global_services_compare_name_port_and_protocol_not_target_port():
    def service(port, target):
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "ratings", "namespace": "bookinfo", "labels": {L.GLOBAL_SERVICE: "true"}},
                "spec": {"ports": [{"name": "http", "port": port, "targetPort": target}]}}

    same = read_mesh([state_of([service(9080, 9080)], cluster="a"), state_of([service(9080, 8080)], cluster="b")])
    differ = read_mesh([state_of([service(9080, 9080)], cluster="a"), state_of([service(8080, 9080)], cluster="b")])

    def ports_check(view):
        return next(r for c in check_multicluster(view) for r in c.results
                    if r.name == "global services have the same ports in every cluster")

    assert ports_check(same).status == "ok"
    assert ports_check(differ).detail == "bookinfo/ratings: a: http 9080/TCP; b: http 8080/TCP"


def test_probe_with_unusable_text_is_a_broken_not_a_raised_error():
    from meshctl.kube.live import probe_kubeconfig

    assert probe_kubeconfig("{not yaml", 0.1) == Probe(True, False, False, False, "its kubeconfig does not parse")
    none = probe_kubeconfig(yaml.safe_dump({"clusters": []}), 0.1)
    assert none.reason == "its kubeconfig names no API server"


def test_status_of_one_cluster_says_links_need_more():
    from meshctl.render.multicluster import render_status

    text = render_status(read_mesh([cluster("east", peers=["west"])]))
    assert text.startswith("only east was read: name every cluster with --context to see the links\n\n"
                           "east reads west (not read here): unknown: ")
    assert text.splitlines()[-1].split()[:3] == ["east", "ctx-east", "net-east"]
