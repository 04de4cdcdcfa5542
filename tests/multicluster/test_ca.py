"""meshctl.install.ca: the certificates it makes, the files it writes, the checks it runs, the Secret it builds.

EC P-256 everywhere (fast) except one RSA 4096 test; one root per module, reused.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from meshctl.errors import InputError, UsageError
from meshctl.install import ca
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L
from meshctl.mesh.health import FAILURE, WARNING
from meshctl.mesh.multicluster import root_fingerprint

NOW = dt.datetime.now(dt.timezone.utc)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


# -- certificate properties -----------------------------------------------------------------------


def test_root_is_a_self_signed_ten_year_ca_named_like_istios(made):
    root = load(made / "root-cert.pem")
    constraints = ext(root, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = ext(root, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and usage.value.digital_signature
    assert ext(root, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(root.public_key())
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Istio"
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Root CA"
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    lifetime = root.not_valid_after_utc - root.not_valid_before_utc
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3650, minutes=10)


def test_intermediate_is_a_path_length_zero_ca_issued_by_the_root(made):
    root, inter = load(made / "root-cert.pem"), load(made / "c1" / "ca-cert.pem")
    inter.verify_directly_issued_by(root)
    constraints = ext(inter, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ext(inter, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    aki = ext(inter, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(root, x509.SubjectKeyIdentifier).value.digest
    assert ext(inter, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == \
        ["istiod.istio-system.svc"]
    assert inter.subject.get_attributes_for_oid(NameOID.LOCALITY_NAME)[0].value == "c1"
    assert inter.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Intermediate CA"
    lifetime = inter.not_valid_after_utc - inter.not_valid_before_utc
    assert dt.timedelta(days=730) <= lifetime <= dt.timedelta(days=730, minutes=10)
    assert inter.not_valid_after_utc < root.not_valid_after_utc
    assert isinstance(inter.public_key(), ec.EllipticCurvePublicKey)


def test_cluster_directory_holds_the_four_files_chain_first_then_root(made):
    folder = made / "c2"
    chain = x509.load_pem_x509_certificates((folder / "cert-chain.pem").read_bytes())
    assert chain == [load(folder / "ca-cert.pem"), load(made / "root-cert.pem")]
    assert (folder / "root-cert.pem").read_bytes() == (made / "root-cert.pem").read_bytes()
    key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), None)
    assert ca.key_matches(chain[0], key)


def test_intermediate_never_outlives_the_root():
    key = ec.generate_private_key(ec.SECP256R1())
    old_root = ca.make_root(key, NOW - dt.timedelta(days=3600))  # 50 days left
    inter = ca.make_intermediate("c1", ec.generate_private_key(ec.SECP256R1()), old_root, key, NOW)
    assert inter.not_valid_after_utc == old_root.not_valid_after_utc


def test_rsa_4096_root_signs_intermediates(tmp_path):
    # One RSA key only (they take a second or more each): an RSA root, then an EC intermediate under it.
    result = ca.generate(tmp_path, [], key_type=ca.RSA_4096)
    root = load(tmp_path / "root-cert.pem")
    assert isinstance(root.public_key(), rsa.RSAPublicKey) and root.public_key().key_size == 4096
    assert result.root.key == "RSA 4096" and result.clusters == ()
    assert ca.key_type_of(serialization.load_pem_private_key((tmp_path / "root-key.pem").read_bytes(), None)) \
        == ca.RSA_4096  # so intermediates of this root default to RSA 4096 as well
    more = ca.generate(tmp_path, ["c1"], key_type=ca.EC_P256)
    inter = load(tmp_path / "c1" / "ca-cert.pem")
    inter.verify_directly_issued_by(root)
    assert more.clusters[0].cert.key == "EC P-256" and more.clusters[0].cert.issuer == result.root.subject
    ca.load_cluster_ca(tmp_path, "c1")


# -- files ------------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_0600_other_files_0644_and_no_temporary_files_stay(made):
    assert mode(made / "root-key.pem") == 0o600 and mode(made / "c1" / "ca-key.pem") == 0o600
    for name in ("root-cert.pem", "c1/ca-cert.pem", "c1/cert-chain.pem", "c1/root-cert.pem"):
        assert mode(made / name) == 0o644, name
    assert not [p for p in made.rglob("*") if p.name.startswith(".")]


def test_a_key_file_is_private_from_the_moment_it_exists(tmp_path, monkeypatch):
    seen = {}
    real_replace = os.replace

    def watching_replace(src, dst):
        seen[Path(dst).name] = stat.S_IMODE(os.stat(src).st_mode)
        return real_replace(src, dst)

    monkeypatch.setattr(ca.os, "replace", watching_replace)
    old = os.umask(0)  # the most permissive umask: a plain open() would make 0666 files
    try:
        ca.generate(tmp_path, ["c1"], key_type=ca.EC_P256)
    finally:
        os.umask(old)
    assert seen["root-key.pem"] == 0o600 and seen["ca-key.pem"] == 0o600
    assert mode(tmp_path / "c1" / "ca-key.pem") == 0o600


def test_write_file_tightens_an_existing_key_left_readable(tmp_path):
    path = tmp_path / "k.pem"
    path.write_bytes(b"x")
    path.chmod(0o644)
    assert ca.write_file(path, b"x", secret=True) is False  # same content: not rewritten...
    assert mode(path) == 0o600  # ...but no longer readable by others


def test_running_again_changes_nothing(tmp_path):
    first = ca.generate(tmp_path, ["c1"], key_type=ca.EC_P256)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*.pem")}
    again = ca.generate(tmp_path, ["c1"])
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*.pem")}
    assert before == after
    assert (first.root_action, again.root_action) == ("created", "reused")
    assert [c.action for c in again.clusters] == ["kept"]
    assert again.clusters[0].cert == first.clusters[0].cert


def test_a_reused_root_sets_the_key_type_of_new_intermediates(made, tmp_path):
    out = copy_tree(made, tmp_path / "ca")
    result = ca.generate(out, ["c9"])  # no key type given: follow the EC root, not the RSA default
    assert result.clusters[0].cert.key == "EC P-256"


def test_force_replaces_the_intermediate_and_keeps_the_root(made, tmp_path):
    out = copy_tree(made, tmp_path / "ca")
    root_before = (out / "root-cert.pem").read_bytes()
    old = load(out / "c1" / "ca-cert.pem")
    result = ca.generate(out, ["c1"], force=True)
    assert result.root_action == "reused" and result.clusters[0].action == "replaced"
    assert load(out / "c1" / "ca-cert.pem") != old
    assert (out / "root-cert.pem").read_bytes() == root_before
    ca.load_cluster_ca(out, "c1")  # still a consistent directory


def test_root_from_another_directory_signs_and_its_key_stays_there(made, tmp_path):
    out = tmp_path / "more"
    result = ca.generate(out, ["c3"], root_dir=made)
    assert result.root_action == "reused" and result.root_path == made
    assert (out / "root-cert.pem").read_bytes() == (made / "root-cert.pem").read_bytes()
    assert not (out / "root-key.pem").exists()
    load(out / "c3" / "ca-cert.pem").verify_directly_issued_by(load(made / "root-cert.pem"))
    again = ca.generate(out, ["c3"], root_dir=made)  # idempotent with --root as well
    assert again.clusters[0].action == "kept"


def test_root_certificate_without_its_key_is_refused(made, tmp_path):
    out = tmp_path / "ca"
    out.mkdir()
    (out / "root-cert.pem").write_bytes((made / "root-cert.pem").read_bytes())
    with pytest.raises(InputError, match="root-key.pem does not"):
        ca.generate(out, ["c1"])


def test_missing_root_dir_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no root CA in"):
        ca.generate(tmp_path / "out", ["c1"], root_dir=tmp_path / "nothing")


def test_an_intermediate_of_another_root_is_kept_out_unless_forced(made, other, tmp_path):
    out = copy_tree(made, tmp_path / "ca")
    for name in ("ca-cert.pem", "ca-key.pem"):
        (out / "c1" / name).write_bytes((other / "c1" / name).read_bytes())
    with pytest.raises(InputError, match="was not issued by the root"):
        ca.generate(out, ["c1"])
    assert ca.generate(out, ["c1"], force=True).clusters[0].action == "replaced"


def test_an_orphan_key_from_an_interrupted_run_is_replaced(made, tmp_path):
    out = copy_tree(made, tmp_path / "ca")
    (out / "c1" / "ca-cert.pem").unlink()
    result = ca.generate(out, ["c1"])
    assert result.clusters[0].action == "created"
    ca.load_cluster_ca(out, "c1")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-a", "a" * 64])
def test_bad_cluster_names_are_usage_errors(name, tmp_path):
    with pytest.raises(UsageError):
        ca.generate(tmp_path, [name], key_type=ca.EC_P256)
    assert not list(tmp_path.iterdir())  # checked before anything is written


def test_unknown_key_type_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--key-type"):
        ca.generate(tmp_path, ["c1"], key_type="dsa")


# -- checking a cluster directory ------------------------------------------------------------------


def test_a_generated_directory_loads_with_the_roots_fingerprint(made):
    loaded = ca.load_cluster_ca(made, "c1")
    assert loaded.root_fingerprint == root_fingerprint((made / "root-cert.pem").read_text())
    assert loaded.signing.issuer_common_name == "Root CA" and loaded.signing.path_length == 0
    assert "PRIVATE" not in repr(loaded)  # the key never shows in a repr (logs, debuggers, tracebacks)


def broken(made: Path, tmp_path: Path) -> Path:
    return copy_tree(made, tmp_path / "ca")


def test_missing_cluster_directory(made):
    with pytest.raises(InputError, match=r"no CA files for cluster c7: .*c7 does not exist"):
        ca.load_cluster_ca(made, "c7")


def test_non_pem_certificate_names_the_file(made, tmp_path):
    out = broken(made, tmp_path)
    (out / "c1" / "ca-cert.pem").write_text("hello\n")
    with pytest.raises(InputError, match=r"c1/ca-cert.pem: no PEM certificate found"):
        ca.load_cluster_ca(out, "c1")


def test_non_pem_key_names_the_file_and_not_its_content(made, tmp_path):
    out = broken(made, tmp_path)
    (out / "c1" / "ca-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InputError) as err:
        ca.load_cluster_ca(out, "c1")
    assert "c1/ca-key.pem: not a PEM private key" in err.value.message
    assert "c2VjcmV0" not in err.value.message


def test_a_key_of_another_certificate_is_caught(made, tmp_path):
    out = broken(made, tmp_path)
    (out / "c1" / "ca-key.pem").write_bytes((made / "c2" / "ca-key.pem").read_bytes())
    with pytest.raises(InputError, match=r"c1/ca-key.pem is not the key of the certificate"):
        ca.load_cluster_ca(out, "c1")


def test_a_chain_that_does_not_start_at_ca_cert(made, tmp_path):
    out = broken(made, tmp_path)
    (out / "c1" / "cert-chain.pem").write_bytes((made / "c2" / "cert-chain.pem").read_bytes())
    with pytest.raises(InputError, match=r"c1/cert-chain.pem does not start with"):
        ca.load_cluster_ca(out, "c1")


def test_a_root_that_did_not_issue_the_chain(made, other, tmp_path):
    out = broken(made, tmp_path)
    (out / "c1" / "root-cert.pem").write_bytes((other / "root-cert.pem").read_bytes())
    with pytest.raises(InputError, match=r"c1/cert-chain.pem does not end at the root"):
        ca.load_cluster_ca(out, "c1")


def test_a_broken_link_inside_the_chain(made, other, tmp_path):
    out = broken(made, tmp_path)
    chain = (made / "c1" / "ca-cert.pem").read_bytes() + (other / "root-cert.pem").read_bytes()
    (out / "c1" / "cert-chain.pem").write_bytes(chain)
    with pytest.raises(InputError, match=r"certificate 1 .* is not issued by certificate 2"):
        ca.load_cluster_ca(out, "c1")


def test_an_expired_intermediate_is_refused_for_install(made):
    loaded = ca.load_cluster_ca(made, "c1")
    ca.refuse_expired(loaded, NOW)
    with pytest.raises(InputError, match="expired"):
        ca.refuse_expired(loaded, NOW + dt.timedelta(days=800))


# -- the cacerts Secret ----------------------------------------------------------------------------


def test_cacerts_secret_holds_the_four_files(made):
    loaded = ca.load_cluster_ca(made, "c1")
    secret = ca.cacerts_secret(loaded, "mesh-system")
    assert secret["metadata"]["name"] == "cacerts" and secret["metadata"]["namespace"] == "mesh-system"
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["labels"] == {L.MANAGED_BY: L.MANAGED_BY_MESHCTL}
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == \
        {name: (made / "c1" / name).read_bytes() for name in ("ca-cert.pem", "ca-key.pem", "cert-chain.pem",
                                                              "root-cert.pem")}


def test_redacted_secret_keeps_only_sizes(made):
    secret = ca.cacerts_secret(ca.load_cluster_ca(made, "c1"), "istio-system")
    shown = ca.redacted(secret)
    key_size = len((made / "c1" / "ca-key.pem").read_bytes())
    assert shown["data"]["ca-key.pem"] == f"<redacted: {key_size} bytes>"
    assert secret["data"]["ca-key.pem"] not in str(shown)
    assert secret["data"]["ca-key.pem"] != shown["data"]["ca-key.pem"]  # the original is left as it was


def secret(name: str, data: dict[str, bytes], type_: str = "Opaque") -> Resource:
    raw = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "istio-system"},
           "type": type_, "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
    return Resource(raw, K.SECRET)


def test_read_ca_secret_in_each_layout(made):
    root, inter, key = ((made / "root-cert.pem").read_bytes(), (made / "c1" / "ca-cert.pem").read_bytes(),
                        (made / "c1" / "ca-key.pem").read_bytes())
    expected_root = root_fingerprint(root.decode())
    istio = ca.read_ca_secret(secret("cacerts", {"ca-cert.pem": inter, "ca-key.pem": key, "root-cert.pem": root,
                                                 "cert-chain.pem": inter + root}))
    assert (istio.layout, istio.root_fingerprint, istio.problem) == ("istio", expected_root, "")
    assert istio.signing.subject.startswith("L=c1")
    tls = ca.read_ca_secret(secret("cacerts", {"tls.crt": inter, "tls.key": key, "ca.crt": root},
                                   "kubernetes.io/tls"))
    assert (tls.layout, tls.root_fingerprint, tls.type) == ("tls", expected_root, "kubernetes.io/tls")
    own = ca.read_ca_secret(secret("istio-ca-secret", {"ca-cert.pem": root, "ca-key.pem": b"x"}, "istio.io/ca-root"))
    assert (own.layout, own.root_fingerprint) == ("self-signed", expected_root)
    bad = ca.read_ca_secret(secret("cacerts", {"root-cert.pem": b"junk", "ca-cert.pem": inter}))
    assert bad.root is None and bad.root_fingerprint is None and "root-cert.pem holds no PEM certificate" in bad.problem


def test_restart_patch_stamps_the_pod_template():
    patch = ca.restart_patch(dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    assert patch == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2030-01-02T03:04:05Z"}}}}}


# -- checking clusters' trust ----------------------------------------------------------------------


def trust(made: Path, cluster: str, folder: str = "c1", **changes) -> ca.TrustInfo:
    loaded = ca.load_cluster_ca(made, folder)
    base = ca.TrustInfo(cluster, "cacerts", "istio-system/cacerts", loaded.root, loaded.signing,
                        loaded.root_fingerprint, (loaded.root_fingerprint,))
    return base if not changes else ca.TrustInfo(**{**base.__dict__, **changes})


def test_one_root_everywhere_finds_nothing(made):
    assert ca.check_trust([trust(made, "a"), trust(made, "b", "c2")], NOW) == []


def test_roots_that_differ_are_a_failure_naming_both(made, other):
    findings = ca.check_trust([trust(made, "a"), trust(other, "b")], NOW)
    assert [f.level for f in findings] == [FAILURE] and ca.has_failure(findings)
    message = findings[0].message
    assert ca.load_cluster_ca(made, "c1").root_fingerprint in message
    assert ca.load_cluster_ca(other, "c1").root_fingerprint in message


def test_an_intermediate_expiring_within_30_days_is_a_warning(made, tmp_path):
    out = copy_tree(made, tmp_path / "ca")
    root = load(out / "root-cert.pem")
    root_key = serialization.load_pem_private_key((out / "root-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    short = ca.make_intermediate("c1", key, root, root_key, NOW, validity=dt.timedelta(days=10))
    (out / "c1" / "ca-cert.pem").write_bytes(ca.cert_pem(short))
    (out / "c1" / "ca-key.pem").write_bytes(ca.key_pem(key))
    (out / "c1" / "cert-chain.pem").write_bytes(ca.cert_pem(short) + ca.cert_pem(root))
    findings = ca.check_trust([trust(out, "a")], NOW)
    assert [(f.level, f.cluster) for f in findings] == [(WARNING, "a")]
    assert "expires in 9 days" in findings[0].message or "expires in 10 days" in findings[0].message
    assert not ca.has_failure(findings)
    expired = ca.check_trust([trust(out, "a")], NOW + dt.timedelta(days=11))
    assert [f.level for f in expired] == [FAILURE] and "expired on" in expired[0].message


def test_self_signed_and_missing_cas_are_warnings(made):
    loaded = ca.load_cluster_ca(made, "c1")
    own = ca.TrustInfo("a", "self-signed", "istio-system/istio-ca-secret", loaded.root, loaded.root,
                       loaded.root_fingerprint)
    none = ca.TrustInfo("b", "none", "istio-system", None, None, None)
    findings = ca.check_trust([own, none], NOW)
    assert [(f.level, f.cluster) for f in findings] == [(WARNING, "a"), (WARNING, "b")]
    assert "cannot join a multicluster mesh" in findings[0].message


def test_istiod_not_restarted_since_cacerts_changed_is_a_warning(made, other):
    stale = trust(made, "a", distributed_roots=(ca.load_cluster_ca(other, "c1").root_fingerprint,))
    findings = ca.check_trust([stale], NOW)
    assert [f.level for f in findings] == [WARNING] and "has not restarted" in findings[0].message


def test_unreadable_secret_is_a_failure(made):
    bad = ca.TrustInfo("a", "cacerts", "istio-system/cacerts", None, None, None, (), "root-cert.pem is missing")
    assert [f.level for f in ca.check_trust([bad], NOW)] == [FAILURE]


def test_trust_from_files_reads_every_cluster_directory(made):
    found = ca.trust_from_files(made)
    assert [t.cluster for t in found] == ["c1", "c2"] and {t.source for t in found} == {"files"}
    assert [t.cluster for t in ca.trust_from_files(made / "c2")] == ["c2"]  # one cluster's own directory


def test_trust_from_files_without_cluster_directories(tmp_path):
    with pytest.raises(InputError, match="no cluster CA directories"):
        ca.trust_from_files(tmp_path)
