"""`meshctl multicluster link|unlink` against two and three fake API servers at once (tests/fakekube), each
seeded with an installed control plane (see conftest.py)."""

from __future__ import annotations

import base64

import pytest
import yaml

from meshctl.install import multicluster as mc
from meshctl.kube.state import Resource
from meshctl.kube import kinds as K
from meshctl.mesh import labels as L
from meshctl.mesh.multicluster import is_loopback_server
from tests.multicluster.conftest import NS

LINK = ("multicluster", "link", "-y", "--allow-loopback")  # every fake server listens on loopback
UNLINK = ("multicluster", "unlink", "-y")
TOKEN_SECRET = L.READER_TOKEN_SECRET


def verified(result, mesh) -> bool:
    """Link's verification passed as far as it can here: the fake servers listen on loopback only, so the
    one check that must fail is that remote secrets name a loopback address (nothing else)."""
    failed = [line for line in result.out.splitlines() if line.startswith("\u2718")]
    return result.code == 1 and failed and all("reads" in line for line in failed) and "loopback" in result.out


def token(kube) -> str:
    secret = kube.get_object("secrets", TOKEN_SECRET, NS)
    return base64.b64decode(secret["data"]["token"]).decode()


def kubeconfig_in(secret: dict, cluster: str) -> dict:
    return yaml.safe_load(base64.b64decode(secret["data"][cluster]))


# -- linking ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3])
def test_link_puts_each_clusters_remote_secret_in_every_peer(cli, mesh, n):
    m = mesh(n)
    r = cli(*LINK, *m.args())
    assert verified(r, m), r.out + r.err
    assert f"linked {n} clusters" in r.err
    for dst in m.members:
        secrets = m.remote_secrets(dst.context)
        assert set(secrets) == {f"istio-remote-secret-{src.cluster}" for src in m.members if src is not dst}
        for src in m.members:
            if src is dst:
                continue
            secret = secrets[f"istio-remote-secret-{src.cluster}"]
            meta = secret["metadata"]
            assert meta["labels"][L.MULTICLUSTER_SECRET] == "true"
            assert meta["labels"][L.LINK_CREATED_BY] == L.LINK_CREATED_BY_LINK
            assert meta["annotations"] == {L.CLUSTER_ANNOTATION: src.cluster}
            assert list(secret["data"]) == [src.cluster]
            config = kubeconfig_in(secret, src.cluster)
            assert config["current-context"] == src.cluster
            assert config["clusters"][0]["cluster"]["server"] == src.kube.url
            assert config["clusters"][0]["cluster"]["certificate-authority-data"]  # the token Secret's ca.crt
            assert config["users"][0]["user"] == {"token": token(src.kube)}  # the reader's token, not the user's


def test_link_creates_only_the_token_secret_where_the_install_made_the_reader(cli, mesh):
    m = mesh(2)
    before = {c: m[c].kube.get_object("serviceaccounts", L.READER_SERVICE_ACCOUNT, NS) for c in m.contexts}
    r = cli(*LINK, *m.args())
    assert verified(r, m), r.out + r.err
    for ctx in m.contexts:
        kube = m[ctx].kube
        assert kube.get_object("serviceaccounts", L.READER_SERVICE_ACCOUNT, NS) == before[ctx]  # untouched
        secret = kube.get_object("secrets", TOKEN_SECRET, NS)
        assert secret["type"] == L.SA_TOKEN_SECRET_TYPE
        assert secret["metadata"]["annotations"][L.SA_NAME_ANNOTATION] == L.READER_SERVICE_ACCOUNT
        assert secret["metadata"]["labels"][L.LINK_CREATED_BY] == L.LINK_CREATED_BY_LINK
        writes = m.writes()[ctx]
        assert not any("serviceaccounts" in path or "clusterrole" in path for _, path in writes), writes


def test_link_creates_the_reader_where_nothing_made_it(cli, mesh):
    m = mesh(2, overrides={1: {"reader": False}})
    r = cli(*LINK, *m.args())
    assert verified(r, m), r.out + r.err
    kube = m["ctx-b"].kube
    role = f"{L.READER_CLUSTER_ROLE_PREFIX}{NS}"
    sa = kube.get_object("serviceaccounts", L.READER_SERVICE_ACCOUNT, NS)
    cr = kube.get_object("clusterroles", role)
    crb = kube.get_object("clusterrolebindings", role)
    for obj in (sa, cr, crb):
        assert obj["metadata"]["labels"][L.LINK_CREATED_BY] == L.LINK_CREATED_BY_LINK
        assert L.INSTALL_ID not in obj["metadata"]["labels"]
    assert cr["rules"] == [dict(rule) for rule in mc.READER_RULES]
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": L.READER_SERVICE_ACCOUNT, "namespace": NS}]
    assert crb["roleRef"]["name"] == role
    assert "create    ServiceAccount istio-system/istio-reader-service-account" in r.out


def test_relinking_changes_nothing_and_writes_nothing(cli, mesh):
    m = mesh(3)
    assert verified(cli(*LINK, *m.args()), m)
    m.clear_requests()
    again = cli(*LINK, *m.args())
    assert verified(again, m), again.out + again.err
    assert m.writes() == {ctx: [] for ctx in m.contexts}
    assert "nothing to change: 3 clusters already linked" in again.err
    assert "create" not in again.out and "update" not in again.out


def test_a_changed_server_address_updates_only_that_clusters_secrets(cli, mesh):
    m = mesh(3)
    assert verified(cli(*LINK, *m.args()), m)
    m.clear_requests()
    url = m["ctx-a"].kube.url
    r = cli(*LINK, *m.args(), "--server", f"ctx-a={url}/")  # same server, written differently
    assert r.code in (0, 1)
    assert m.writes() == {ctx: [] for ctx in m.contexts}  # a trailing slash changes nothing
    r = cli(*LINK, *m.args(), "--server", "ctx-a=https://alpha.example:6443", "--dry-run")
    assert "update    Secret istio-system/istio-remote-secret-alpha" in r.out
    assert r.out.count("update") == 2 and m.writes() == {ctx: [] for ctx in m.contexts}


def test_server_override_replaces_a_local_kubeconfig_address(cli, mesh, tmp_path):
    """As with kind: the kubeconfig names localhost, which peers cannot use; --server gives them the
    address to write into their remote secrets. (Here that address is loopback too, as every server in
    these tests listens on loopback only, so --allow-loopback lets it through.)"""
    m = mesh(2)
    config = yaml.safe_load(open(m.kubeconfig))
    for entry in config["clusters"]:
        entry["cluster"]["server"] = entry["cluster"]["server"].replace("127.0.0.1", "localhost")
    kc = tmp_path / "local.yaml"
    kc.write_text(yaml.safe_dump(config))
    given = {c: f"http://127.0.0.1:{m[c].kube.port}" for c in m.contexts}
    args = ("--kubeconfig", str(kc), "--context", "ctx-a", "--context", "ctx-b")
    plain = cli("multicluster", "link", "--dry-run", *args)
    assert "peers would reach cluster alpha at http://localhost:" in plain.err and "--server ctx-a=URL" in plain.err
    r = cli(*LINK, *args, "--allow-loopback", "--server", f"ctx-a={given['ctx-a']}", "--server", f"ctx-b={given['ctx-b']}")
    assert verified(r, m), r.out + r.err
    secret = m.remote_secrets("ctx-b")["istio-remote-secret-alpha"]
    assert kubeconfig_in(secret, "alpha")["clusters"][0]["cluster"]["server"] == given["ctx-a"]


def test_a_remote_secret_another_tool_made_is_kept(cli, mesh):
    m = mesh(2)
    theirs = {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "istio-remote-secret-alpha", "namespace": NS, "labels": {L.MULTICLUSTER_SECRET: "true"},
        "annotations": {L.CLUSTER_ANNOTATION: "alpha"}}, "data": {"alpha": base64.b64encode(b"istioctl made").decode()}}
    m["ctx-b"].kube.add(theirs)
    r = cli(*LINK, *m.args())
    assert "kept      Secret istio-system/istio-remote-secret-alpha  (not created by meshctl link" in r.out
    assert m["ctx-b"].kube.get_object("secrets", "istio-remote-secret-alpha", NS)["data"] == theirs["data"]
    cli(*UNLINK, *m.args())
    assert m["ctx-b"].kube.get_object("secrets", "istio-remote-secret-alpha", NS)["data"] == theirs["data"]


# -- failures mid-link ---------------------------------------------------------------------------------------


def test_a_transient_503_is_retried(cli, mesh):
    m = mesh(3)
    fault = m["ctx-b"].kube.faults.add(status=503, times=1, method="PATCH", path=r"/secrets/istio-remote-secret-",
                                         retry_after=0)
    create = m["ctx-c"].kube.faults.add(status=503, times=1, method="POST", path=r"/secrets$", retry_after=0)
    r = cli(*LINK, *m.args())
    assert fault.hits == 1 and create.hits == 1
    assert verified(r, m), r.out + r.err
    assert all(len(m.remote_secrets(ctx)) == 2 for ctx in m.contexts)


def test_a_peer_failing_mid_link_is_reported_and_a_rerun_completes(cli, mesh):
    m = mesh(3)
    fault = m["ctx-c"].kube.faults.add(status=503, times=None, method="PATCH", path=r"/secrets/istio-remote-secret-",
                                         retry_after=0)
    r = cli(*LINK, *m.args())
    assert r.code == 69, r.err
    assert "context ctx-c" in r.err and "run the same command again" in r.err
    assert "Traceback" not in r.err
    assert len(m.remote_secrets("ctx-a")) == 2 and len(m.remote_secrets("ctx-b")) == 2  # the others finished
    assert m.remote_secrets("ctx-c") == {}
    m["ctx-c"].kube.faults.remove(fault)
    m.clear_requests()
    again = cli(*LINK, *m.args())
    assert verified(again, m), again.out + again.err
    assert len(m.remote_secrets("ctx-c")) == 2
    writes = m.writes()
    assert writes["ctx-a"] == [] and writes["ctx-b"] == []  # only what was missing is written
    assert len(writes["ctx-c"]) == 2


def test_an_unreachable_cluster_and_other_problems_are_all_listed(cli, mesh):
    m = mesh(3, overrides={1: {"network": None}})
    m["ctx-c"].kube.stop()
    r = cli(*LINK, *m.args())
    assert r.code == 1
    assert "context ctx-c: cannot reach the API server" in r.err
    assert "context ctx-b: namespace istio-system has no topology.istio.io/network label" in r.err
    assert "2 problem(s) found before linking; nothing was changed" in r.err
    assert m.writes()["ctx-a"] == [] and m.writes()["ctx-b"] == []


# -- preflight refusals: every problem listed, nothing written ---------------------------------------------


def refused(cli, m, *extra):
    r = cli(*LINK, *m.args(), *extra)
    assert r.code == 1, r.out + r.err
    assert "nothing was changed" in r.err
    assert m.writes() == {ctx: [] for ctx in m.contexts}
    return r


def test_different_roots_are_refused_with_the_ca_commands(cli, mesh, other_ca):
    m = mesh(3, overrides={2: {"ca": other_ca}})
    r = refused(cli, m)
    assert f"context ctx-c: root certificate {other_ca.fingerprint[:23]}" in r.err
    assert "meshctl ca generate --cluster alpha --cluster beta --cluster gamma -o mesh-ca" in r.err
    for ctx, name in (("ctx-a", "alpha"), ("ctx-b", "beta"), ("ctx-c", "gamma")):
        assert f"meshctl ca install --context {ctx} --cluster {name} --from mesh-ca --restart --force" in r.err


def test_a_cluster_without_cacerts_is_refused(cli, mesh):
    m = mesh(2, overrides={0: {"ca": None}})
    r = refused(cli, m)
    assert "context ctx-a: no usable cacerts Secret in istio-system: istiod signs with its own self-signed root" in r.err
    assert "meshctl ca install --context ctx-a --cluster alpha --from mesh-ca --restart\n" in r.err  # no --force
    assert "meshctl ca install --context ctx-b --cluster beta --from mesh-ca --restart --force" in r.err


def test_every_preflight_problem_is_listed_with_a_hint(cli, mesh):
    m = mesh(3, overrides={0: {"network": None}, 1: {"cluster": None}, 2: {"mesh_id": "other", "east_west": False}})
    r = refused(cli, m)
    lines = [line for line in r.err.splitlines() if line.startswith("\u2718")]
    assert lines == [
        "\u2718 context ctx-a: namespace istio-system has no topology.istio.io/network label (the cluster's network)",
        "\u2718 context ctx-b: istiod has no cluster name (CLUSTER_ID unset or 'Kubernetes'), so peers cannot tell "
        "this cluster from others",
        "\u2718 context ctx-c: no east-west gateway (class istio-east-west) for peers to reach this cluster through",
        "\u2718 context ctx-c: meshID is other, but the other clusters use 'mesh1'",
    ]
    hints = [line for line in r.err.splitlines() if line.startswith("    hint: ")]
    assert len(hints) == len(lines)
    assert "    hint: run meshctl multicluster expose --context ctx-a --network NETWORK, or link with --expose " \
           "--network ctx-a=NETWORK" in hints
    assert "    hint: meshctl upgrade --context ctx-b --set values.global.multiCluster.clusterName=ctx-b " \
           "(or istioctl install with the same --set, for a control plane istioctl installed)" in hints
    assert "    hint: meshctl upgrade --context ctx-c --set values.global.meshID=mesh1" in hints


def test_duplicate_cluster_names_are_refused(cli, mesh):
    m = mesh(3, overrides={2: {"cluster": "alpha"}})
    r = refused(cli, m)
    assert "context ctx-a, ctx-c: contexts ctx-a and ctx-c all have cluster name 'alpha'" in r.err
    assert "meshctl upgrade --context ctx-c --set values.global.multiCluster.clusterName=NEW-NAME" in r.err


def test_multi_network_off_is_refused_without_expose(cli, mesh):
    m = mesh(2, overrides={1: {"multi_network": False}})
    r = refused(cli, m)
    assert "context ctx-b: istiod runs without AMBIENT_ENABLE_MULTI_NETWORK=true" in r.err
    assert "meshctl multicluster expose --context ctx-b --network net-beta" in r.err


# -- --expose ----------------------------------------------------------------------------------------------


def test_link_with_expose_labels_the_network_and_creates_the_gateway(cli, mesh):
    m = mesh(2, overrides={1: {"network": None, "east_west": False}})
    refused(cli, m, "--expose")  # the unlabelled cluster needs --network
    r = cli(*LINK, "--expose", "--network", "ctx-b=net-b", *m.args())
    assert verified(r, m), r.out + r.err
    kube = m["ctx-b"].kube
    assert kube.get_object("namespaces", NS)["metadata"]["labels"][L.NETWORK] == "net-b"
    gw = kube.get_object("gateways.gateway.networking.k8s.io", L.EAST_WEST_GATEWAY, NS)
    assert gw["metadata"]["labels"] == {L.NETWORK: "net-b"}
    assert "context ctx-b: east-west gateway istio-system/istio-eastwestgateway created" in r.out
    assert not any("gateways" in path for _, path in m.writes()["ctx-a"])  # ctx-a needed no exposing
    assert len(m.remote_secrets("ctx-a")) == len(m.remote_secrets("ctx-b")) == 1


def test_network_for_a_context_that_is_not_linked_is_a_usage_error(cli, mesh):
    m = mesh(2)
    r = cli(*LINK, *m.args(), "--network", "ctx-z=n1")
    assert r.code == 2 and "names context 'ctx-z'" in r.err
    r = cli(*LINK, *m.args(), "--server", "ctx-a")
    assert r.code == 2 and "is not CONTEXT=VALUE" in r.err
    r = cli(*LINK, "--kubeconfig", m.kubeconfig, "--context", "ctx-a")
    assert r.code == 2 and "at least two clusters" in r.err


# -- dry run -----------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_shows_no_token(cli, mesh):
    m = mesh(3)
    first = cli("multicluster", "link", "--dry-run", "--allow-loopback", *m.args())
    assert first.code == 0, first.err
    assert m.writes() == {ctx: [] for ctx in m.contexts}
    assert all(k.objects("secrets", NS) and m.remote_secrets(c) == {} for c, k in zip(m.contexts, m.kubes))
    assert first.out.count("create    Secret istio-system/istio-remote-secret-") == 6
    assert "token <redacted>" in first.out and "dry run: nothing was changed" in first.err
    assert verified(cli(*LINK, *m.args()), m)
    m["ctx-a"].kube.delete_object("secrets", "istio-remote-secret-beta", NS)
    m.clear_requests()
    second = cli("multicluster", "link", "--dry-run", "--allow-loopback", *m.args())
    assert "context ctx-a (cluster alpha):\n" in second.out
    assert "create    Secret istio-system/istio-remote-secret-beta" in second.out
    assert second.out.count("unchanged Secret istio-system/istio-remote-secret-") == 5
    assert m.writes() == {ctx: [] for ctx in m.contexts}
    for value in m.secret_values():
        assert value not in second.out + second.err


# -- unlink ------------------------------------------------------------------------------------------------


def test_unlink_is_the_exact_inverse_of_link(cli, mesh):
    m = mesh(3, overrides={1: {"reader": False}})
    before = m.object_names()
    assert verified(cli(*LINK, *m.args()), m)
    assert m.object_names() != before
    r = cli(*UNLINK, *m.args())
    assert r.code == 0, r.err
    assert m.object_names() == before
    assert "delete    ServiceAccount istio-system/istio-reader-service-account" in r.out  # only ctx-b's
    assert r.out.count("ServiceAccount") == 1
    # what expose made stays, each piece with the command that removes it
    assert ("context ctx-a: left in place, as 'multicluster expose' made them: east-west gateway "
            "istio-system/istio-eastwestgateway (kubectl --context ctx-a -n istio-system delete "
            "gateways.gateway.networking.k8s.io istio-eastwestgateway); network label net-alpha (kubectl "
            "--context ctx-a label namespace istio-system topology.istio.io/network-); multi-network on "
            "(for a meshctl install: meshctl upgrade --context ctx-a --set features.multiNetwork=false)") in r.err
    m.clear_requests()
    again = cli(*UNLINK, *m.args())
    assert again.code == 0 and "nothing to remove" in again.err
    assert m.writes() == {ctx: [] for ctx in m.contexts}


def test_unlink_dry_run_lists_what_would_go_and_deletes_nothing(cli, mesh):
    m = mesh(2)
    assert verified(cli(*LINK, *m.args()), m)
    linked = m.object_names()
    m.clear_requests()
    r = cli("multicluster", "unlink", "--dry-run", *m.args())
    assert r.code == 0
    assert r.out.count("delete    Secret") == 4  # a remote secret and the token in each
    assert m.object_names() == linked and m.writes() == {ctx: [] for ctx in m.contexts}


def test_unlinking_two_of_three_keeps_what_the_third_still_uses(cli, mesh):
    m = mesh(3)
    assert verified(cli(*LINK, *m.args()), m)
    r = cli(*UNLINK, *m.args("ctx-a", "ctx-b"))
    assert r.code == 0, r.err
    assert set(m.remote_secrets("ctx-a")) == {"istio-remote-secret-gamma"}
    assert set(m.remote_secrets("ctx-b")) == {"istio-remote-secret-gamma"}
    assert len(m.remote_secrets("ctx-c")) == 2
    for ctx in ("ctx-a", "ctx-b"):
        assert m[ctx].kube.get_object("secrets", TOKEN_SECRET, NS) is not None
    assert "kept      Secret istio-system/istio-reader-service-account-istio-remote-secret-token  " \
           "(still linked with gamma)" in r.out


def test_unlink_leaves_a_reader_the_install_took_over(cli, mesh):
    m = mesh(2, overrides={0: {"reader": False}})
    assert verified(cli(*LINK, *m.args()), m)
    sa = m["ctx-a"].kube.get_object("serviceaccounts", L.READER_SERVICE_ACCOUNT, NS)
    sa["metadata"]["labels"][L.INSTALL_ID] = "istio-system.default"  # a later meshctl install applied it
    m["ctx-a"].kube.add(sa)
    assert cli(*UNLINK, *m.args()).code == 0
    assert m["ctx-a"].kube.get_object("serviceaccounts", L.READER_SERVICE_ACCOUNT, NS) is not None
    assert m["ctx-a"].kube.get_object("clusterroles", f"{L.READER_CLUSTER_ROLE_PREFIX}{NS}") is None


# -- secrets never shown -------------------------------------------------------------------------------------


def test_no_token_or_key_in_any_output(cli, mesh, other_ca):
    m = mesh(3)
    outputs = []

    def run(*args):
        r = cli(*args)
        outputs.append(r.out + r.err)
        return r

    run("multicluster", "link", "--dry-run", *m.args())
    run(*LINK, *m.args())
    run("multicluster", "link", "--dry-run", "--server", "ctx-a=https://a.example:6443", *m.args())
    rule = m["ctx-b"].kube.deny(verb="patch", resource="secrets")
    m["ctx-a"].kube.delete_object("secrets", "istio-remote-secret-beta", NS)
    m["ctx-b"].kube.delete_object("secrets", "istio-remote-secret-alpha", NS)
    assert run(*LINK, *m.args()).code != 0
    m["ctx-b"].kube.allow(rule)
    run(*LINK, *m.args())
    run("multicluster", "unlink", "--dry-run", *m.args())
    issued = m.secret_values()  # before unlink deletes the token Secrets
    assert len([v for v in issued if v]) >= 3 + 3 + 3  # admin tokens, reader tokens, CA keys
    run(*UNLINK, *m.args("ctx-a", "ctx-b"))
    m["ctx-c"].kube.add(other_ca.cacerts("gamma"))
    assert run(*LINK, *m.args()).code == 1  # a preflight refusal
    text = "\n".join(outputs)
    for value in issued:
        assert value not in text
    assert "BEGIN PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


# -- the pieces ------------------------------------------------------------------------------------------


def test_create_never_touches_an_existing_object(mesh):
    from meshctl.kube.apply import ClusterWriter

    m = mesh(1)
    states, failed = mc.open_clusters(m.contexts, m.kubeconfig)
    assert failed == {}
    writer = ClusterWriter(states["ctx-a"])
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": NS}, "data": {"a": "1"}}
    assert writer.create(obj) is True
    assert writer.create({**obj, "data": {"a": "2"}}) is False
    assert m.kubes[0].get_object("configmaps", "x", NS)["data"] == {"a": "1"}


def test_parse_pairs_and_local_addresses():
    assert mc.parse_pairs("--network", ["a=n1", "b=n=2"], ["a", "b"]) == {"a": "n1", "b": "n=2"}
    # one rule for link's warning and check's failure: the addresses local-cluster tools write
    for url in ("https://127.0.0.1:6443", "https://localhost:6443", "https://0.0.0.0:1", "https://[::1]:6443"):
        assert is_loopback_server(url), url
    for url in ("https://10.0.0.1:6443", "https://kind-control-plane:6443", "https://api.example.com"):
        assert not is_loopback_server(url), url


def secret(labels, data, annotations=None):
    return Resource({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                     "metadata": {"name": "istio-remote-secret-x", "namespace": NS, "labels": labels,
                                  "annotations": annotations or {L.CLUSTER_ANNOTATION: "x"}},
                     "data": data}, K.SECRET)


def test_remote_secret_actions():
    target = mc.LinkTarget("ctx-x", "x", None, None, "https://x:6443", "")  # type: ignore[arg-type]
    wanted = mc.remote_secret(target, mc.Credentials("tok", "Y2E="), NS)
    ours = {L.MULTICLUSTER_SECRET: "true", **mc.LINK_LABELS}
    assert mc.remote_secret_action(None, wanted) == mc.CREATE
    assert mc.remote_secret_action(secret(ours, wanted["data"]), wanted) == mc.UNCHANGED
    assert mc.remote_secret_action(secret(ours, {"x": "b2xk"}), wanted) == mc.UPDATE
    assert mc.remote_secret_action(secret(ours, wanted["data"], {L.CLUSTER_ANNOTATION: "y"}), wanted) == mc.UPDATE
    assert mc.remote_secret_action(secret({L.MULTICLUSTER_SECRET: "true"}, {"x": "b2xk"}), wanted) == mc.KEPT
    assert mc.remote_secret_action(secret(ours, wanted["data"]), None) == mc.UPDATE
    assert "tok" not in repr(mc.Credentials("tok", "Y2E="))
    config = yaml.safe_load(base64.b64decode(wanted["data"]["x"]))
    assert config["clusters"] == [{"cluster": {"certificate-authority-data": "Y2E=", "server": "https://x:6443"},
                                   "name": "x"}]


def test_a_loopback_server_stops_link_before_any_change(cli, mesh):
    """Without --allow-loopback, a peer address that is loopback inside the pods (kind's default
    kubeconfig) is a preflight failure naming the fix; nothing is written."""
    m = mesh(2)
    r = cli("multicluster", "link", "-y", *m.args())
    assert r.code == 1
    assert "context ctx-a: peers would reach cluster alpha at http://127.0.0.1:" in r.err
    assert "nothing was changed" in r.err and "--server ctx-a=URL --server ctx-b=URL" in r.err
    assert m.writes() == {ctx: [] for ctx in m.contexts}


def test_the_commands_unlink_names_for_what_it_leaves_work_as_written(cli, mesh):
    import shlex
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    m = mesh(2)
    assert verified(cli(*LINK, *m.args()), m)
    r = cli(*UNLINK, *m.args())
    line = next(x for x in r.err.splitlines() if x.startswith("context ctx-a: left in place"))
    commands = [part.split("(", 1)[1].rstrip(")") for part in line.split(": ", 1)[1].split("; ")
                if "(kubectl " in part]
    assert len(commands) == 2
    m["ctx-a"].kube.anonymous = True  # kubectl sends no token over plain http (see tests/fakekube/README.md)
    for command in commands:
        words = shlex.split(command)
        done = subprocess.run([kubectl, "--kubeconfig", m.kubeconfig, *words[1:]], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (command, done.stderr)
    assert m["ctx-a"].kube.get_object("gateways.gateway.networking.k8s.io", "istio-eastwestgateway", NS) is None
    assert "topology.istio.io/network" not in m["ctx-a"].kube.get_object("namespaces", NS)["metadata"]["labels"]
    assert cli("upgrade", "--context", "ctx-a", "--set", "features.multiNetwork=false", "--help").code == 0
