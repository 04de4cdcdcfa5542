"""Shared trust for multicluster meshes: a root CA, one intermediate CA per cluster, the ``cacerts``
Secret istiod reads at start, and what each cluster's CA is.

The only module that imports ``cryptography`` (an import-linter contract says so). Private keys never
leave this module except as bytes written to 0600 files or into the Secret's data: nothing here puts
key material into a message, an exception or a ``repr``.

Naming, extensions and lifetimes follow Istio's own tooling (``tools/certs`` in istio/istio): root
``O=Istio, CN=Root CA`` for 10 years; per cluster ``O=Istio, CN=Intermediate CA, L=<cluster>``, path
length 0, SAN ``DNS:istiod.istio-system.svc``, for 2 years (never past the root).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from meshctl.errors import InputError, MeshctlError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.health import FAILURE, WARNING
from meshctl.mesh.multicluster import fingerprint, pem_certificates, root_fingerprint

RSA_4096, EC_P256 = "rsa-4096", "ec-p256"
KEY_TYPES = (RSA_4096, EC_P256)
ROOT_VALIDITY = dt.timedelta(days=3650)
INTERMEDIATE_VALIDITY = dt.timedelta(days=730)
CLOCK_SKEW = dt.timedelta(minutes=5)  # not-before lies a little in the past, for clocks running behind
EXPIRY_WARNING_DAYS = 30
ORGANIZATION = "Istio"
ROOT_CN = "Root CA"
INTERMEDIATE_CN = "Intermediate CA"
ISTIOD_DNS_NAME = "istiod.istio-system.svc"  # the SAN Istio's tooling gives intermediates
ROOT_CERT_FILE, ROOT_KEY_FILE = "root-cert.pem", "root-key.pem"
# The four files of a cluster's directory, named as the keys of the cacerts Secret.
CLUSTER_FILES = (L.CA_CERT_KEY, L.CA_KEY_KEY, L.CERT_CHAIN_KEY, L.ROOT_CERT_KEY)
SECRET_FILE_MODE, PUBLIC_FILE_MODE, DIRECTORY_MODE = 0o600, 0o644, 0o700
TLS_KEY_KEY = "tls.key"
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def check_key_type(key_type: str) -> str:
    if key_type not in KEY_TYPES:
        raise UsageError(f"--key-type {key_type!r} is not one of: {', '.join(KEY_TYPES)}",
                         hint=f"use --key-type {RSA_4096} (as Istio's tooling) or {EC_P256} (smaller, faster)")
    return key_type


def check_cluster_name(name: str) -> str:
    """Cluster names become directory names: letters, digits, '.', '_', '-' only."""
    if not _CLUSTER_NAME.fullmatch(name or ""):
        raise UsageError(f"--cluster {name!r} is not a usable cluster name",
                         hint="use letters, digits, '.', '_' and '-' (starting and ending with a letter or "
                              "digit), as in global.multiCluster.clusterName")
    return name


# -- keys and certificates -------------------------------------------------------------------------


def new_key(key_type: str):
    if check_key_type(key_type) == EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)


def key_type_of(key) -> str:
    """The --key-type that makes keys like ``key`` (RSA 4096 for anything but EC P-256)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return EC_P256
    return RSA_4096


def _subject(common_name: str, cluster: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
             x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if cluster:  # Istio's tooling tells intermediates apart by Locality = the cluster's name
        parts.append(x509.NameAttribute(NameOID.LOCALITY_NAME, cluster))
    return x509.Name(parts)


# CAs sign certificates and CRLs (istiod also reads an optional ca-crl.pem); digitalSignature as Istio's own.
_CA_KEY_USAGE = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False)


def make_root(key, now: dt.datetime) -> x509.Certificate:
    """A self-signed root CA certificate for ``key``, valid for ten years."""
    name = _subject(ROOT_CN)
    public = key.public_key()
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name).public_key(public)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + ROOT_VALIDITY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(_CA_KEY_USAGE, critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    return builder.sign(key, hashes.SHA256())


def make_intermediate(cluster: str, key, root: x509.Certificate, root_key, now: dt.datetime,
                      validity: dt.timedelta = INTERMEDIATE_VALIDITY) -> x509.Certificate:
    """A cluster's signing CA, issued by ``root``: it may sign workload certificates, not other CAs."""
    public = key.public_key()
    not_after = min(now + validity, root.not_valid_after_utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_subject(INTERMEDIATE_CN, cluster)).issuer_name(root.subject).public_key(public)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - CLOCK_SKEW).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_CA_KEY_USAGE, critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                              critical=False)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(ISTIOD_DNS_NAME)]), critical=False))
    return builder.sign(root_key, hashes.SHA256())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert: x509.Certificate, key) -> bool:
    return _public_der(cert.public_key()) == _public_der(key.public_key())


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (names chain and the signature verifies)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


# -- describing certificates -----------------------------------------------------------------------


@dataclass(frozen=True)
class CertInfo:
    """What a certificate says, fit to print (no key material)."""

    subject: str
    issuer: str
    common_name: str
    issuer_common_name: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str  # SHA-256, openssl style, as every meshctl command prints it
    is_ca: bool
    path_length: int | None
    key: str  # "RSA 4096", "EC P-256"

    def days_left(self, now: dt.datetime) -> int:
        return math.floor((self.not_after - now).total_seconds() / 86400)

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "notBefore": _iso(self.not_before),
                "notAfter": _iso(self.not_after), "daysLeft": self.days_left(now), "sha256": self.fingerprint,
                "isCA": self.is_ca, "pathLength": self.path_length, "key": self.key}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def _key_description(public) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {_CURVES.get(public.curve.name, public.curve.name)}"
    return type(public).__name__


def describe(cert: x509.Certificate) -> CertInfo:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ca, path_length = constraints.ca, constraints.path_length
    except x509.ExtensionNotFound:
        ca, path_length = False, None
    try:
        key = _key_description(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        key = "unknown"
    return CertInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        common_name=_common_name(cert.subject), issuer_common_name=_common_name(cert.issuer),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint(cert.public_bytes(serialization.Encoding.DER)),
        is_ca=ca, path_length=path_length, key=key)


# -- reading files ---------------------------------------------------------------------------------


def parse_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text; an InputError naming ``where`` when there is none."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise InputError(f"{where}: no PEM certificate found",
                         hint="expected '-----BEGIN CERTIFICATE-----' blocks, as 'meshctl ca generate' writes")
    return certs


def parse_private_key(data: bytes, where: str):
    """A PEM private key; the error never repeats the file's content."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InputError(f"{where}: the private key is encrypted",
                         hint="istiod needs an unencrypted key: decrypt it (openssl pkey -in FILE -out FILE)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{where}: not a PEM private key",
                         hint="expected a '-----BEGIN PRIVATE KEY-----' block (RSA or EC)") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InputError(f"{where}: unsupported key type {type(key).__name__}", hint="use an RSA or EC key")
    return key


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}",
                         hint="check the path and its permissions") from None


# -- writing files ---------------------------------------------------------------------------------


def write_file(path: Path, data: bytes, *, secret: bool) -> bool:
    """Write atomically (a temporary file renamed over the target); False when it already held ``data``.

    The temporary file is created 0600 (mkstemp), so a key is never readable by others, not even for
    a moment; public files are then opened up to 0644.
    """
    mode = SECRET_FILE_MODE if secret else PUBLIC_FILE_MODE
    try:
        if path.is_file() and path.read_bytes() == data:
            if secret and path.stat().st_mode & 0o077:
                os.chmod(path, mode)  # an existing key readable by others: close it
            return False
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as err:
        raise MeshctlError(f"cannot write {path}: {err.strerror or err}",
                           hint="check that the directory is writable") from None
    return True


def _make_directory(path: Path) -> None:
    try:
        path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    except OSError as err:
        raise MeshctlError(f"cannot create directory {path}: {err.strerror or err}",
                           hint="choose a writable -o directory") from None
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", hint="choose a directory for -o")


# -- generate --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedCluster:
    name: str
    directory: Path
    action: str  # created | replaced | kept
    cert: CertInfo


@dataclass(frozen=True)
class Generated:
    directory: Path
    root_path: Path  # where the root's certificate and key are (the -o directory, or --root)
    root_action: str  # created | reused
    root: CertInfo
    clusters: tuple[GeneratedCluster, ...]


def generate(out_dir: Path, clusters: Sequence[str], *, root_dir: Path | None = None,
             key_type: str | None = None, force: bool = False, now: dt.datetime | None = None) -> Generated:
    """The root (reused when one exists in ``root_dir`` or ``out_dir``) and an intermediate per cluster in
    ``out_dir/<cluster>/``. Running it again changes nothing; ``force`` replaces the intermediates.
    New keys are ``key_type``; by default RSA 4096, or the reused root's type."""
    if key_type is not None:
        check_key_type(key_type)
    names = list(dict.fromkeys(check_cluster_name(c) for c in clusters))
    now = now or utcnow()
    _make_directory(out_dir)
    root, root_key, root_action = _root(out_dir, root_dir, key_type or RSA_4096, now)
    key_type = key_type or key_type_of(root_key)
    done = tuple(_intermediate(out_dir / name, name, root, root_key, key_type, force=force, now=now)
                 for name in names)
    where = root_dir if root_dir is not None else out_dir
    return Generated(out_dir, where, root_action, describe(root), done)


def _load_root(folder: Path):
    cert_path, key_path = folder / ROOT_CERT_FILE, folder / ROOT_KEY_FILE
    cert = parse_certificates(read_bytes(cert_path), str(cert_path))[0]
    key = parse_private_key(read_bytes(key_path), str(key_path))
    if not key_matches(cert, key):
        raise InputError(f"{key_path} is not the key of the certificate in {cert_path}",
                         hint="keep a root's certificate and key together in one directory")
    if not is_ca(cert):
        raise InputError(f"{cert_path}: the certificate is not a CA (BasicConstraints CA:TRUE missing)",
                         hint="use a CA certificate as the root")
    return cert, key


def _root(out_dir: Path, root_dir: Path | None, key_type: str, now: dt.datetime):
    source = root_dir if root_dir is not None else out_dir
    cert_path, key_path = source / ROOT_CERT_FILE, source / ROOT_KEY_FILE
    if cert_path.exists() and key_path.exists():
        cert, key = _load_root(source)
        action = "reused"
    elif cert_path.exists():
        raise InputError(f"{cert_path} exists but {key_path} does not; a root cannot sign without its key",
                         hint="pass --root DIR (the directory holding the root's key), or choose another -o")
    elif key_path.exists():
        raise InputError(f"{key_path} exists without {cert_path}",
                         hint="restore root-cert.pem beside it, or remove the key to create a new root")
    elif root_dir is not None:
        raise InputError(f"no root CA in {root_dir} ({ROOT_CERT_FILE} and {ROOT_KEY_FILE})",
                         hint="point --root at the directory of an earlier 'meshctl ca generate -o', or drop "
                              "--root to create a new root")
    else:
        key = new_key(key_type)
        cert = make_root(key, now)
        write_file(key_path, key_pem(key), secret=True)  # the key first: a cert without its key is useless
        write_file(cert_path, cert_pem(cert), secret=False)
        action = "created"
    if cert.not_valid_after_utc <= now:
        raise InputError(f"{cert_path}: the root expired on {_iso(cert.not_valid_after_utc)}",
                         hint="create a new root (a new -o directory) and install it in every cluster")
    if source.resolve() != out_dir.resolve():  # the root's certificate beside the intermediates; its key stays put
        copy = out_dir / ROOT_CERT_FILE
        if copy.exists() and copy.read_bytes() != cert_pem(cert):
            raise InputError(f"{copy} holds another root than {cert_path}",
                             hint="choose an empty -o directory for intermediates of the --root CA")
        write_file(copy, cert_pem(cert), secret=False)
    return cert, key, action


def _intermediate(folder: Path, cluster: str, root: x509.Certificate, root_key, key_type: str, *,
                  force: bool, now: dt.datetime) -> GeneratedCluster:
    cert_path, key_path = folder / L.CA_CERT_KEY, folder / L.CA_KEY_KEY
    _make_directory(folder)
    if cert_path.exists() and not force:
        if not key_path.exists():
            raise InputError(f"{cert_path} exists but {key_path} does not",
                             hint=f"pass --force to replace the intermediate of cluster {cluster}")
        cert = parse_certificates(read_bytes(cert_path), str(cert_path))[0]
        key = parse_private_key(read_bytes(key_path), str(key_path))
        if not key_matches(cert, key):
            raise InputError(f"{key_path} is not the key of the certificate in {cert_path}",
                             hint=f"pass --force to replace the intermediate of cluster {cluster}")
        if not issued_by(cert, root):
            raise InputError(f"{cert_path} was not issued by the root in this run ({describe(root).fingerprint})",
                             hint=f"pass --force to replace the intermediate of cluster {cluster} with one "
                                  "issued by this root")
        action = "kept"
    else:
        # A key without its certificate is what an interrupted run leaves: replaced like the rest.
        action = "replaced" if cert_path.exists() else "created"
        key = new_key(key_type)
        cert = make_intermediate(cluster, key, root, root_key, now)
        write_file(key_path, key_pem(key), secret=True)
        write_file(cert_path, cert_pem(cert), secret=False)
    write_file(folder / L.CERT_CHAIN_KEY, cert_pem(cert) + cert_pem(root), secret=False)
    write_file(folder / L.ROOT_CERT_KEY, cert_pem(root), secret=False)
    return GeneratedCluster(cluster, folder, action, describe(cert))


# -- one cluster's CA files, checked ---------------------------------------------------------------


@dataclass(frozen=True)
class ClusterCA:
    """The four files of a cluster's CA, checked to belong together. ``files`` holds the private key:
    it is kept out of ``repr`` so that no log or error shows it."""

    name: str
    directory: Path
    signing: CertInfo  # ca-cert.pem
    root: CertInfo  # the first certificate of root-cert.pem
    root_fingerprint: str
    files: Mapping[str, bytes] = field(repr=False)


def load_cluster_ca(source: Path, cluster: str) -> ClusterCA:
    """``source/<cluster>/`` as 'meshctl ca generate' writes it, after checking that the files are
    consistent. Errors name the file at fault."""
    if not source.is_dir():
        raise InputError(f"{source} is not a directory",
                         hint="pass --from the directory 'meshctl ca generate -o DIR' wrote")
    folder = source / cluster
    if not folder.is_dir():
        raise InputError(f"no CA files for cluster {cluster}: {folder} does not exist",
                         hint=f"create them with 'meshctl ca generate --cluster {cluster} -o {source}'")
    files: dict[str, bytes] = {}
    for name in CLUSTER_FILES:
        path = folder / name
        if not path.is_file():
            raise InputError(f"{path} is missing",
                             hint=f"regenerate with 'meshctl ca generate --cluster {cluster} -o {source}'")
        files[name] = read_bytes(path)
    signing, root, root_print = check_ca_files(files, lambda name: str(folder / name))
    return ClusterCA(cluster, folder, signing, root, root_print, files)


def check_ca_files(files: Mapping[str, bytes], where: Callable[[str], str]) -> tuple[CertInfo, CertInfo, str]:
    """(signing cert, root, root fingerprint) when ca-cert.pem, ca-key.pem, cert-chain.pem and
    root-cert.pem belong together: the key is the signing cert's, the chain starts at the signing cert,
    each certificate in it is issued by the next, and it ends at (or under) the root."""
    signing = parse_certificates(files[L.CA_CERT_KEY], where(L.CA_CERT_KEY))[0]
    if not is_ca(signing):
        raise InputError(f"{where(L.CA_CERT_KEY)}: the certificate is not a CA (BasicConstraints CA:TRUE missing)",
                         hint="istiod signs workload certificates with it, so it must be a CA certificate")
    key = parse_private_key(files[L.CA_KEY_KEY], where(L.CA_KEY_KEY))
    if not key_matches(signing, key):
        raise InputError(f"{where(L.CA_KEY_KEY)} is not the key of the certificate in {L.CA_CERT_KEY}",
                         hint="keep each cluster's ca-cert.pem and ca-key.pem from the same 'ca generate' run")
    roots = parse_certificates(files[L.ROOT_CERT_KEY], where(L.ROOT_CERT_KEY))
    chain = parse_certificates(files[L.CERT_CHAIN_KEY], where(L.CERT_CHAIN_KEY))
    if chain[0] != signing:
        raise InputError(f"{where(L.CERT_CHAIN_KEY)} does not start with the certificate in {L.CA_CERT_KEY}",
                         hint="cert-chain.pem holds ca-cert.pem first, then its issuers up to the root")
    for i, (cert, issuer) in enumerate(zip(chain, chain[1:]), start=1):
        if not issued_by(cert, issuer):
            raise InputError(f"{where(L.CERT_CHAIN_KEY)}: certificate {i} ({cert.subject.rfc4514_string()}) "
                             f"is not issued by certificate {i + 1}",
                             hint="cert-chain.pem holds ca-cert.pem first, then its issuers up to the root")
    last = chain[-1]
    if not any(last == root or issued_by(last, root) for root in roots):
        raise InputError(f"{where(L.CERT_CHAIN_KEY)} does not end at the root in {L.ROOT_CERT_KEY}",
                         hint="ca-cert.pem must be issued (directly or through cert-chain.pem) by root-cert.pem")
    root_print = root_fingerprint(files[L.ROOT_CERT_KEY].decode("ascii", "replace")) or describe(roots[0]).fingerprint
    return describe(signing), describe(roots[0]), root_print


def refuse_expired(ca: ClusterCA, now: dt.datetime) -> None:
    for name, cert in ((L.CA_CERT_KEY, ca.signing), (L.ROOT_CERT_KEY, ca.root)):
        if cert.not_after <= now:
            raise InputError(f"{ca.directory / name}: the certificate expired on {_iso(cert.not_after)}",
                             hint=f"generate a new one: meshctl ca generate --cluster {ca.name} -o DIR --force")


# -- the cacerts Secret ----------------------------------------------------------------------------


def cacerts_secret(ca: ClusterCA, namespace: str) -> dict[str, Any]:
    """The Secret istiod reads its CA from (type Opaque, the four keys), labelled as meshctl's."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": L.CACERTS_SECRET, "namespace": namespace,
                     "labels": {L.MANAGED_BY: L.MANAGED_BY_MESHCTL}},
        "type": "Opaque",
        "data": {name: base64.b64encode(ca.files[name]).decode("ascii") for name in CLUSTER_FILES},
    }


def redacted(secret: dict[str, Any]) -> dict[str, Any]:
    """A copy fit to print: every data value replaced by its size."""
    out = dict(secret)
    data = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            size = len(base64.b64decode(str(value)))
        except (binascii.Error, ValueError):
            size = len(str(value))
        data[key] = f"<redacted: {size} bytes>"
    out["data"] = data
    out.pop("stringData", None)
    return out


def _decoded(secret: Resource) -> dict[str, bytes]:
    """A Secret's values as bytes (``stringData`` on top of ``data``, as the API server merges them)."""
    raw = secret.raw
    values: dict[str, bytes] = {}
    for key, value in (raw.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value or ""))
        except (binascii.Error, ValueError):
            values[str(key)] = b""
    for key, value in (raw.get("stringData") or {}).items():
        values[str(key)] = str(value).encode()
    return values


@dataclass(frozen=True)
class SecretCA:
    """What a CA Secret in a cluster holds (cacerts in either layout, or istiod's istio-ca-secret)."""

    name: str
    layout: str  # istio (the four .pem keys) | tls (tls.crt, tls.key, ca.crt) | self-signed (istio-ca-secret)
    type: str
    root: CertInfo | None
    signing: CertInfo | None
    root_fingerprint: str | None
    problem: str  # why it cannot be read ('' when fine)


def read_ca_secret(secret: Resource) -> SecretCA:
    """The root and signing certificate a CA Secret holds; values that do not parse become a problem."""
    data = _decoded(secret)
    type_ = str(secret.raw.get("type") or "Opaque")
    if secret.name == L.SELF_SIGNED_CA_SECRET:
        layout, root_key, signing_key = "self-signed", L.CA_CERT_KEY, L.CA_CERT_KEY
    elif L.TLS_CERT_KEY in data:  # istiod prefers this layout when tls.crt is present
        layout, root_key, signing_key = "tls", L.TLS_CA_KEY, L.TLS_CERT_KEY
    else:
        layout, root_key, signing_key = "istio", L.ROOT_CERT_KEY, L.CA_CERT_KEY
    root = signing = None
    problems = []
    for key in dict.fromkeys((root_key, signing_key)):
        if not data.get(key):
            problems.append(f"{key} is missing or empty")
            continue
        try:
            info = describe(parse_certificates(data[key], key)[0])
        except InputError:
            problems.append(f"{key} holds no PEM certificate")
            continue
        if key == root_key:
            root = info
        if key == signing_key:
            signing = info
    root_print = root_fingerprint(data.get(root_key, b"").decode("ascii", "replace")) if root else None
    return SecretCA(secret.name, layout, type_, root, signing, root_print, "; ".join(problems))


@dataclass(frozen=True)
class InstallPlan:
    action: str  # create | update | replace (delete, then create) | unchanged
    namespace: str
    current_root: str | None  # fingerprints
    new_root: str
    create_namespace: bool
    drop_keys: tuple[str, ...] = ()  # keys of the old root's Secret that do not belong with the new one

    @property
    def changes(self) -> bool:
        return self.action != "unchanged"


def plan_install(state: ClusterState, secret: dict[str, Any], ca: ClusterCA, *, force: bool) -> InstallPlan:
    """What installing ``secret`` does to the cluster; refuses to replace another root (or another
    layout) unless ``force``."""
    namespace = secret["metadata"]["namespace"]
    where = f"context {state.info.context}" if state.info.context else state.info.label
    create_namespace = state.get(K.NAMESPACE, namespace) is None
    existing = None if create_namespace else state.get(K.SECRET, L.CACERTS_SECRET, namespace)
    if existing is None:
        return InstallPlan("create", namespace, None, ca.root_fingerprint, create_namespace)
    current = read_ca_secret(existing)
    if current.root_fingerprint != ca.root_fingerprint and not force:
        found = (f"root {current.root_fingerprint}" if current.root_fingerprint
                 else f"no readable root ({current.problem})")
        raise MeshctlError(
            f"{where}: Secret {namespace}/{L.CACERTS_SECRET} holds {found}; {ca.directory} has root "
            f"{ca.root_fingerprint}",
            hint="replacing the root cuts mTLS between clusters and workloads holding old certificates; "
                 "pass --force if that is intended")
    if current.layout != "istio" or current.type != "Opaque":
        if not force:
            raise MeshctlError(
                f"{where}: Secret {namespace}/{L.CACERTS_SECRET} has the {current.layout} layout (type "
                f"{current.type}); meshctl writes the Opaque layout with {', '.join(CLUSTER_FILES)}",
                hint="pass --force to replace it")
        return InstallPlan("replace", namespace, current.root_fingerprint, ca.root_fingerprint, False)
    data = _decoded(existing)
    same = all(data.get(name) == ca.files[name] for name in CLUSTER_FILES)
    labelled = existing.labels.get(L.MANAGED_BY) == L.MANAGED_BY_MESHCTL
    action = "unchanged" if same and labelled else "update"
    # A new root makes whatever else the Secret holds (a ca-crl.pem of the old CA) wrong; with the same
    # root, extra keys are the owner's business and stay.
    extra = () if current.root_fingerprint == ca.root_fingerprint else tuple(sorted(set(data) - set(CLUSTER_FILES)))
    return InstallPlan(action, namespace, current.root_fingerprint, ca.root_fingerprint, False, extra)


def istiod_deployments(state: ClusterState, namespace: str) -> list[Resource]:
    """Every istiod Deployment (every revision) in the namespace."""
    return sorted(state.list(K.DEPLOYMENT, namespace, labels={"app": L.ISTIOD_APP}), key=lambda d: d.name)


def restart_patch(now: dt.datetime) -> dict[str, Any]:
    """What ``kubectl rollout restart`` changes: a new stamp on the pod template rolls the pods."""
    return {"spec": {"template": {"metadata": {"annotations": {L.RESTARTED_AT: _iso(now)}}}}}


# -- each cluster's CA, for `ca show` --------------------------------------------------------------


@dataclass(frozen=True)
class TrustInfo:
    """Which CA issues a cluster's workload certificates, as found (or a cluster directory on disk)."""

    cluster: str
    source: str  # cacerts | self-signed | none | files
    where: str  # the Secret (ns/name) or the directory
    root: CertInfo | None
    signing: CertInfo | None
    root_fingerprint: str | None
    distributed_roots: tuple[str, ...] = ()  # what istiod hands out (istio-ca-root-cert); () when unknown
    problem: str = ""

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {"cluster": self.cluster, "source": self.source, "where": self.where,
                "rootSHA256": self.root_fingerprint,
                "root": self.root.to_dict(now) if self.root else None,
                "signing": self.signing.to_dict(now) if self.signing else None,
                "distributedRoots": list(self.distributed_roots), "problem": self.problem}


def find_trust(state: ClusterState, namespace: str) -> TrustInfo:
    """A live cluster's CA: the cacerts Secret, else istiod's self-signed istio-ca-secret, else none."""
    cluster = state.info.context or state.info.cluster or state.info.label
    configmap = state.get(K.CONFIG_MAP, L.ROOT_CERT_CONFIGMAP, namespace)
    distributed = ()
    if configmap is not None:
        text = str((configmap.raw.get("data") or {}).get(L.ROOT_CERT_KEY) or "")
        distributed = tuple(fingerprint(der) for der in pem_certificates(text))
    for name, source in ((L.CACERTS_SECRET, "cacerts"), (L.SELF_SIGNED_CA_SECRET, "self-signed")):
        secret = state.get(K.SECRET, name, namespace)
        if secret is not None:
            found = read_ca_secret(secret)
            return TrustInfo(cluster, source, f"{namespace}/{name}", found.root, found.signing,
                             found.root_fingerprint, distributed, found.problem)
    return TrustInfo(cluster, "none", namespace, None, None, None, distributed)


def trust_from_files(source: Path) -> list[TrustInfo]:
    """Each cluster directory under ``source`` (or ``source`` itself when it is one), checked."""
    if not source.is_dir():
        raise InputError(f"{source} is not a directory",
                         hint="pass --from the directory 'meshctl ca generate -o DIR' wrote")
    if (source / L.CA_CERT_KEY).is_file():
        folders = [source]
    else:
        folders = sorted(p for p in source.iterdir() if p.is_dir() and (p / L.CA_CERT_KEY).is_file())
    if not folders:
        raise InputError(f"no cluster CA directories in {source} (subdirectories holding {L.CA_CERT_KEY})",
                         hint="create them with 'meshctl ca generate --cluster NAME -o DIR'")
    found = []
    for folder in folders:
        ca = load_cluster_ca(folder.parent, folder.name)
        found.append(TrustInfo(folder.name, "files", str(folder), ca.root, ca.signing, ca.root_fingerprint))
    return found


@dataclass(frozen=True)
class Finding:
    level: str  # warning | failure
    cluster: str  # '' for findings about several clusters
    message: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "cluster": self.cluster, "message": self.message, "hint": self.hint}


def check_trust(infos: Sequence[TrustInfo], now: dt.datetime,
                warn_days: int = EXPIRY_WARNING_DAYS) -> list[Finding]:
    """Problems with each cluster's CA, and roots that differ across clusters."""
    findings: list[Finding] = []
    install = "meshctl ca install --cluster NAME --from DIR --context CONTEXT --restart"
    for t in infos:
        if t.problem:
            findings.append(Finding(FAILURE, t.cluster, f"{t.where}: {t.problem}",
                                    f"reinstall the CA: {install} --force"))
        if t.source == "none":
            findings.append(Finding(WARNING, t.cluster, f"no CA found: neither {L.CACERTS_SECRET} nor istiod's "
                                    f"{L.SELF_SIGNED_CA_SECRET} in namespace {t.where}",
                                    "is istiod installed? For a multicluster mesh, give every cluster an "
                                    f"intermediate of one root: meshctl ca generate, then {install}"))
        elif t.source == "self-signed":
            findings.append(Finding(WARNING, t.cluster, "istiod uses its own self-signed root (no "
                                    f"{L.CACERTS_SECRET} Secret): this cluster cannot join a multicluster mesh",
                                    f"give it an intermediate of the shared root: {install}"))
        for label, cert in (("root", t.root), ("signing certificate", t.signing)):
            if cert is None or (label == "signing certificate" and t.signing == t.root):
                continue
            left = cert.days_left(now)
            when = _iso(cert.not_after)
            renew = ("create a new root and install its intermediates everywhere" if label == "root"
                     else f"meshctl ca generate --cluster {t.cluster} -o DIR --root DIR --force, then {install}")
            if cert.not_after <= now:
                findings.append(Finding(FAILURE, t.cluster, f"{label} {cert.common_name} expired on {when}", renew))
            elif left < warn_days:
                findings.append(Finding(WARNING, t.cluster,
                                        f"{label} {cert.common_name} expires in {left} days ({when})", renew))
        if (t.source == "cacerts" and t.root_fingerprint and t.distributed_roots
                and t.root_fingerprint not in t.distributed_roots):
            findings.append(Finding(WARNING, t.cluster, f"istiod still hands out another root "
                                    f"({t.distributed_roots[0]}): it has not restarted since {L.CACERTS_SECRET} "
                                    "changed",
                                    "restart istiod: meshctl ca install ... --restart, or kubectl rollout restart "
                                    "deployment -n istio-system -l app=istiod"))
    roots: dict[str, list[str]] = {}
    for t in infos:
        if t.root_fingerprint:
            roots.setdefault(t.root_fingerprint, []).append(t.cluster)
    if len(roots) > 1:
        detail = "; ".join(f"{', '.join(names)}: {fp}" for fp, names in roots.items())
        findings.append(Finding(FAILURE, "", f"roots differ across clusters ({detail})",
                                "cross-cluster mTLS needs one root: generate intermediates of one root "
                                f"(meshctl ca generate --cluster A --cluster B -o DIR) and {install} --force "
                                "in each cluster"))
    return findings


def has_failure(findings: Sequence[Finding]) -> bool:
    return any(f.level == FAILURE for f in findings)
