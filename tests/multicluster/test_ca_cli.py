"""meshctl ca generate|install|show through the CLI, against fake API servers (tests/fakekube)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from meshctl.install import ca
from tests.conftest import ROOT
from tests.fakekube import FakeKube, write_kubeconfig

NS = "istio-system"


@pytest.fixture
def cluster(kube, tmp_path, cli):
    """One fake cluster (context cluster1) and a runner that points meshctl at it."""
    kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])

    def run(*args, stdin=None):
        return cli(*args, "--kubeconfig", str(kc), stdin=stdin)

    return kube, run


def istiod(name="istiod", app="istiod") -> dict:
    labels = {"app": app}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "discovery", "image": "pilot:1.30.3"}]}}}}


def namespace(name=NS) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def stored_data(kube, name="cacerts") -> dict[str, bytes]:
    obj = kube.get_object("secrets", name, NS)
    return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def files(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in ("ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem")}


def secret_from(folder: Path, cluster="c1") -> dict:
    return ca.cacerts_secret(ca.load_cluster_ca(folder, cluster), NS)


def root_print(folder: Path) -> str:
    return ca.load_cluster_ca(folder, "c1").root_fingerprint


def one_line_error(result) -> str:
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("Error: ") and all(l.startswith(("Error: ", "Hint: ")) for l in lines), result.err
    assert "Traceback" not in result.err
    return lines[0]


# -- help and start-up -------------------------------------------------------------------------------


def test_ca_help_imports_no_cryptography():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "meshctl", "ca", "--help"], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0 and "generate" in r.stdout and "install" in r.stdout and "show" in r.stdout
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in r.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert imported and "cryptography" not in imported and "kubernetes" not in imported


# -- generate ----------------------------------------------------------------------------------------


def test_generate_prints_paths_and_fingerprints_and_is_idempotent(cli, tmp_path):
    out = tmp_path / "ca"
    first = cli("ca", "generate", "--cluster", "c1", "--cluster", "c2", "-o", str(out), "--key-type", "ec-p256")
    assert first.code == 0, first.err
    root = x509.load_pem_x509_certificate((out / "root-cert.pem").read_bytes())
    root_fp = ca.describe(root).fingerprint
    assert f"root CA (created): {out / 'root-cert.pem'}" in first.out and root_fp in first.out
    assert "cluster c1 (created)" in first.out and "cluster c2 (created)" in first.out
    before = {p: p.read_bytes() for p in out.rglob("*.pem")}
    second = cli("ca", "generate", "--cluster", "c1", "-o", str(out))
    assert second.code == 0 and "root CA (reused)" in second.out and "cluster c1 (kept)" in second.out
    assert "kept the existing intermediate of cluster c1 (pass --force to replace it)" in second.err
    assert {p: p.read_bytes() for p in out.rglob("*.pem")} == before


def test_generate_force_replaces_and_root_flag_reuses(cli, made, tmp_path):
    out = tmp_path / "ca"
    r = cli("ca", "generate", "--cluster", "c5", "-o", str(out), "--root", str(made))
    assert r.code == 0, r.err
    assert "root CA (reused)" in r.out and root_print(made) in r.out
    old = (out / "c5" / "ca-cert.pem").read_bytes()
    r = cli("ca", "generate", "--cluster", "c5", "-o", str(out), "--root", str(made), "--force")
    assert r.code == 0 and "cluster c5 (replaced)" in r.out and (out / "c5" / "ca-cert.pem").read_bytes() != old


def test_generate_bad_input_is_one_line_with_exit_code(cli, made, tmp_path):
    r = cli("ca", "generate", "--cluster", "../up", "-o", str(tmp_path / "x"))
    assert r.code == 2 and "not a usable cluster name" in one_line_error(r)
    r = cli("ca", "generate", "--cluster", "c1", "-o", str(tmp_path / "x"), "--key-type", "rsa-1024")
    assert r.code == 2 and "--key-type" in one_line_error(r)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "root-cert.pem").write_text("not a certificate\n")
    (broken / "root-key.pem").write_bytes((made / "root-key.pem").read_bytes())
    r = cli("ca", "generate", "--cluster", "c1", "-o", str(broken))
    assert r.code == 65 and f"{broken / 'root-cert.pem'}: no PEM certificate found" in one_line_error(r)


# -- install -----------------------------------------------------------------------------------------


def test_install_creates_namespace_and_secret(cluster, made):
    kube, run = cluster
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 0, r.err
    assert kube.get_object("namespaces", NS, None) is not None
    stored = kube.get_object("secrets", "cacerts", NS)
    assert stored["type"] == "Opaque"
    assert stored_data(kube) == files(made / "c1")
    assert f"namespace/{NS} created" in r.out
    assert f"secret/cacerts created (namespace {NS}, context cluster1, root {root_print(made)})" in r.out
    assert "no istiod runs here yet; it will use this CA from its first start" in r.err
    # server-side apply as meshctl
    managers = {(m["manager"], m["operation"]) for m in stored["metadata"].get("managedFields") or []}
    assert ("meshctl", "Apply") in managers


def test_install_again_is_unchanged_and_asks_nothing(cluster, made):
    kube, run = cluster
    assert run("ca", "install", "--cluster", "c1", "--from", str(made), "-y").code == 0
    version = kube.get_object("secrets", "cacerts", NS)["metadata"]["resourceVersion"]
    seen = len(kube.requests)
    r = run("ca", "install", "--cluster", "c1", "--from", str(made))  # no -y: nothing to confirm
    assert r.code == 0, r.err
    assert "secret/cacerts unchanged" in r.out
    assert kube.get_object("secrets", "cacerts", NS)["metadata"]["resourceVersion"] == version
    assert [q.method for q in kube.requests[seen:] if q.method != "GET"] == []  # read only


def test_install_with_the_same_root_updates_a_new_intermediate(cluster, made):
    kube, run = cluster
    kube.add(namespace())
    kube.add(secret_from(made, "c2"))  # same root, another cluster's intermediate
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 0, r.err
    assert "secret/cacerts configured" in r.out and stored_data(kube) == files(made / "c1")


def test_install_refuses_another_root_naming_both_fingerprints(cluster, made, other):
    kube, run = cluster
    kube.add(namespace())
    kube.add(secret_from(other))
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 1
    line = one_line_error(r)
    assert root_print(other) in line and root_print(made) in line and "cluster1" in line
    assert "--force" in r.err
    assert stored_data(kube) == files(other / "c1")  # untouched
    forced = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y", "--force")
    assert forced.code == 0, forced.err
    assert stored_data(kube) == files(made / "c1")


def test_install_over_another_root_drops_its_crl_but_the_same_root_keeps_it(cluster, made, other):
    kube, run = cluster
    kube.add(namespace())
    old = secret_from(other)
    old["data"]["ca-crl.pem"] = base64.b64encode(b"old CRL").decode()
    kube.add(old)
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y", "--force")
    assert r.code == 0, r.err
    assert "removed ca-crl.pem (they belonged to the old root)" in r.out
    assert stored_data(kube) == files(made / "c1")
    same = secret_from(made, "c2")
    same["data"]["ca-crl.pem"] = base64.b64encode(b"this root's CRL").decode()
    kube.add(same)
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 0 and "secret/cacerts configured" in r.out and "removed" not in r.out
    assert stored_data(kube) == {**files(made / "c1"), "ca-crl.pem": b"this root's CRL"}


def test_install_replaces_the_tls_layout_only_with_force(cluster, made):
    kube, run = cluster
    kube.add(namespace())
    c1 = files(made / "c1")
    kube.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": NS},
              "type": "kubernetes.io/tls",
              "data": {k: base64.b64encode(v).decode() for k, v in
                       {"tls.crt": c1["ca-cert.pem"], "tls.key": c1["ca-key.pem"], "ca.crt": c1["root-cert.pem"]}.items()}})
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 1 and "tls layout" in one_line_error(r)
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y", "--force")
    assert r.code == 0, r.err
    assert "secret/cacerts replaced" in r.out
    stored = kube.get_object("secrets", "cacerts", NS)
    assert stored["type"] == "Opaque" and stored_data(kube) == c1


def test_install_restart_stamps_every_istiod_and_nothing_else(cluster, made):
    kube, run = cluster
    kube.add(namespace())
    kube.add_all([istiod(), istiod("istiod-canary"), istiod("other", app="other")])
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y", "--restart")
    assert r.code == 0, r.err
    for name in ("istiod", "istiod-canary"):
        annotations = kube.get_object("deployments", name, NS)["spec"]["template"]["metadata"].get("annotations") or {}
        stamp = annotations.get("kubectl.kubernetes.io/restartedAt", "")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), name
        assert f"deployment/{name} restarted" in r.out
    assert "annotations" not in kube.get_object("deployments", "other", NS)["spec"]["template"]["metadata"]
    assert "istiod reads cacerts only when it starts" not in r.err
    # The stamp is not owned through server-side apply, so a later `meshctl install` will not drop it.
    managed = kube.get_object("deployments", "istiod", NS)["metadata"].get("managedFields") or []
    assert not [m for m in managed if m.get("operation") == "Apply"]


def test_install_without_restart_says_a_running_istiod_must_restart(cluster, made):
    kube, run = cluster
    kube.add(namespace())
    kube.add(istiod())
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "-y")
    assert r.code == 0, r.err
    assert "istiod reads cacerts only when it starts: restart it (--restart" in r.err
    assert "annotations" not in kube.get_object("deployments", "istiod", NS)["spec"]["template"]["metadata"]


def test_install_dry_run_changes_nothing_and_redacts(cluster, made):
    kube, run = cluster
    kube.add(namespace())
    kube.add(istiod())
    r = run("ca", "install", "--cluster", "c1", "--from", str(made), "--dry-run", "--restart")
    assert r.code == 0, r.err
    shown = yaml.safe_load(r.out)
    assert shown["kind"] == "Secret" and shown["metadata"]["name"] == "cacerts" and shown["type"] == "Opaque"
    assert shown["data"]["ca-key.pem"] == f"<redacted: {len(files(made / 'c1')['ca-key.pem'])} bytes>"
    assert set(shown["data"]) == {"ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"}
    assert "secret/cacerts would be created (dry run)" in r.err and "would restart: istiod" in r.err
    assert kube.get_object("secrets", "cacerts", NS) is None
    assert "annotations" not in kube.get_object("deployments", "istiod", NS)["spec"]["template"]["metadata"]


def test_install_without_a_terminal_needs_yes(cluster, made):
    kube, run = cluster
    r = run("ca", "install", "--cluster", "c1", "--from", str(made))
    assert r.code == 2 and "-y" in r.err
    assert kube.get_object("secrets", "cacerts", NS) is None


def test_install_bad_input_fails_before_the_cluster_is_contacted(cluster, made, tmp_path):
    kube, run = cluster
    r = run("ca", "install", "--cluster", "c9", "--from", str(made), "-y")
    assert r.code == 65 and f"no CA files for cluster c9: {made / 'c9'} does not exist" in one_line_error(r)
    bad = tmp_path / "bad"
    (bad / "c1").mkdir(parents=True)
    for name, data in files(made / "c1").items():
        (bad / "c1" / name).write_bytes(data)
    (bad / "c1" / "ca-cert.pem").write_text("this is not PEM\n")
    r = run("ca", "install", "--cluster", "c1", "--from", str(bad), "-y")
    assert r.code == 65 and f"{bad / 'c1' / 'ca-cert.pem'}: no PEM certificate found" in one_line_error(r)
    assert kube.requests == []


# -- show --------------------------------------------------------------------------------------------


@pytest.fixture
def two_clusters(tmp_path, cli):
    with FakeKube(name="east") as east, FakeKube(name="west") as west:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [east, west])

        def run(*args):
            return cli("ca", "show", "--context", "east", "--context", "west", "--kubeconfig", str(kc), *args)

        yield east, west, run


def test_show_one_root_everywhere(two_clusters, made):
    east, west, run = two_clusters
    east.add(secret_from(made, "c1"))
    west.add(secret_from(made, "c2"))
    r = run()
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["CLUSTER", "SOURCE", "ISSUER", "EXPIRES", "DAYS", "LEFT", "ROOT", "SHA-256"]
    assert lines[1].startswith("east") and "cacerts" in lines[1] and "Root CA" in lines[1]
    assert lines[1].rstrip().endswith(root_print(made)) and lines[2].rstrip().endswith(root_print(made))
    assert "every cluster has the same root; no problems found" in r.out


def test_show_roots_that_differ_exit_1(two_clusters, made, other):
    east, west, run = two_clusters
    east.add(secret_from(made, "c1"))
    west.add(secret_from(other, "c1"))
    r = run()
    assert r.code == 1
    assert "roots differ across clusters" in r.out
    assert f"east: {root_print(made)}" in r.out and f"west: {root_print(other)}" in r.out
    data = json.loads(run("-o", "json").out)
    assert [c["rootSHA256"] for c in data["clusters"]] == [root_print(made), root_print(other)]
    assert [f["level"] for f in data["findings"]] == ["failure"]


def short_lived(made: Path, tmp_path: Path, days: int) -> Path:
    """A copy of made/c1 whose intermediate lives ``days`` days."""
    import shutil

    out = tmp_path / f"short{days}"
    shutil.copytree(made, out)
    root = x509.load_pem_x509_certificate((out / "root-cert.pem").read_bytes())
    root_key = serialization.load_pem_private_key((out / "root-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=5) if days <= 0 else now
    cert = ca.make_intermediate("c1", key, root, root_key, start, validity=dt.timedelta(days=max(days, 1)))
    if days <= 0:  # already over: make one that ended yesterday
        cert = ca.make_intermediate("c1", key, root, root_key, now - dt.timedelta(days=3),
                                    validity=dt.timedelta(days=2))
    (out / "c1" / "ca-cert.pem").write_bytes(ca.cert_pem(cert))
    (out / "c1" / "ca-key.pem").write_bytes(ca.key_pem(key))
    (out / "c1" / "cert-chain.pem").write_bytes(ca.cert_pem(cert) + ca.cert_pem(root))
    return out


def test_show_warns_about_an_intermediate_expiring_within_30_days(two_clusters, made, tmp_path):
    east, west, run = two_clusters
    east.add(secret_from(short_lived(made, tmp_path, 12)))
    west.add(secret_from(made, "c2"))
    r = run()
    assert r.code == 0, r.err  # a warning only
    assert re.search(r"‼ east: signing certificate Intermediate CA expires in 1[12] days", r.out)
    assert "west" not in "".join(l for l in r.out.splitlines() if l.startswith("‼"))


def test_show_fails_on_an_expired_intermediate(two_clusters, made, tmp_path):
    east, west, run = two_clusters
    east.add(secret_from(short_lived(made, tmp_path, 0)))
    west.add(secret_from(made, "c2"))
    r = run()
    assert r.code == 1 and "✘ east: signing certificate Intermediate CA expired on" in r.out


def test_show_self_signed_and_empty_clusters(two_clusters, made):
    east, west, run = two_clusters
    root = (made / "root-cert.pem").read_bytes()
    east.add({"apiVersion": "v1", "kind": "Secret", "type": "istio.io/ca-root",
              "metadata": {"name": "istio-ca-secret", "namespace": NS},
              "data": {"ca-cert.pem": base64.b64encode(root).decode(),
                       "ca-key.pem": base64.b64encode((made / "root-key.pem").read_bytes()).decode()}})
    r = run("-o", "yaml")
    assert r.code == 0, r.err
    data = yaml.safe_load(r.out)
    assert [(c["cluster"], c["source"]) for c in data["clusters"]] == [("east", "self-signed"), ("west", "none")]
    assert data["clusters"][0]["rootSHA256"] == root_print(made)
    messages = [f["message"] for f in data["findings"]]
    assert any("cannot join a multicluster mesh" in m for m in messages)
    assert any("no CA found" in m for m in messages)


def test_show_warns_when_istiod_still_hands_out_the_old_root(two_clusters, made, other):
    east, west, run = two_clusters
    east.add(secret_from(made, "c1"))
    east.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-ca-root-cert", "namespace": NS},
              "data": {"root-cert.pem": (other / "root-cert.pem").read_text()}})
    west.add(secret_from(made, "c2"))
    r = run()
    assert r.code == 0 and "east: istiod still hands out another root" in r.out


def test_show_from_files_reads_no_cluster(cli, made, other, tmp_path):
    r = cli("ca", "show", "--from", str(made), "--kubeconfig", str(tmp_path / "missing"))
    assert r.code == 0, r.err
    assert [l.split()[0] for l in r.out.splitlines()[1:3]] == ["c1", "c2"]
    r = cli("ca", "show", "--from", str(tmp_path))
    assert r.code == 65 and "no cluster CA directories" in one_line_error(r)


def test_show_compares_a_cluster_with_files(cluster, made, other):
    kube, run = cluster
    kube.add(secret_from(other))
    r = run("ca", "show", "--context", "cluster1", "--from", str(made))
    assert r.code == 1 and "roots differ across clusters" in r.out


def test_show_rejects_an_unknown_output(cli, made):
    r = cli("ca", "show", "--from", str(made), "-o", "wide")
    assert r.code == 2 and "--output" in one_line_error(r)


# -- secrets hygiene ---------------------------------------------------------------------------------


def key_fragments(paths: list[Path]) -> list[str]:
    """What would betray key material: PEM body lines, base64 of the PEM (as in Secret data) and of the DER."""
    found = []
    for path in paths:
        pem = path.read_bytes()
        found += [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
        encoded = base64.b64encode(pem).decode()
        found += [encoded[i:i + 40] for i in range(0, len(encoded) - 40, 40)]
        der = serialization.load_pem_private_key(pem, None).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        found.append(base64.b64encode(der).decode()[:40])
        found.append(der.hex()[:40])
    return found


def test_no_command_prints_key_material(cluster, made, other, tmp_path, cli):
    kube, run = cluster
    out = tmp_path / "gen"
    kube.add(istiod())
    results = [
        cli("ca", "generate", "--cluster", "c1", "-o", str(out), "--key-type", "ec-p256"),
        cli("ca", "generate", "--cluster", "c1", "-o", str(out), "--force"),
        cli("-vv", "ca", "generate", "--cluster", "c2", "-o", str(tmp_path / "more"), "--root", str(made)),
        cli("ca", "generate", "--cluster", "c2", "-o", str(out), "--root", str(made)),  # refused: another root
        run("ca", "install", "--cluster", "c1", "--from", str(made), "--dry-run"),
        run("-vv", "ca", "install", "--cluster", "c1", "--from", str(made), "-y", "--restart"),
        run("ca", "install", "--cluster", "c1", "--from", str(made)),
        run("ca", "install", "--cluster", "c1", "--from", str(other), "-y"),  # refused: another root
        run("-vv", "ca", "install", "--cluster", "c1", "--from", str(other), "--dry-run", "--force"),
        run("ca", "show"), run("ca", "show", "-o", "json"), run("-vv", "ca", "show", "-o", "yaml"),
        cli("ca", "show", "--from", str(made), "-o", "json"),
    ]
    assert [r.code for r in results] == [0, 0, 0, 65, 0, 0, 0, 1, 0, 0, 0, 0, 0], [r.err for r in results]
    # keys from every directory used, including the ones written during this test
    keys = [made / "root-key.pem", made / "c1" / "ca-key.pem", made / "c2" / "ca-key.pem",
            other / "c1" / "ca-key.pem", out / "root-key.pem", out / "c1" / "ca-key.pem"]
    keys.append(tmp_path / "more" / "c2" / "ca-key.pem")
    fragments = key_fragments(keys)
    stored = kube.get_object("secrets", "cacerts", NS)["data"]["ca-key.pem"]
    for r in results:
        text = r.out + r.err
        assert "PRIVATE KEY" not in text
        assert stored[:40] not in text
        leaked = [f for f in fragments if f in text]
        assert not leaked, leaked[:1]
