"""Fake clusters for multicluster tests: several fake API servers at once, each seeded with an installed
ambient control plane (istiod with a cluster name, the mesh config with a meshID, a ``cacerts`` Secret from
a shared test CA, the network label, an east-west gateway), as ``meshctl install`` and ``meshctl ca
install`` would leave it.

    def test_x(mesh):                       # three clusters, ready to link
        m = mesh()                          # or mesh(2), mesh(3, overrides={1: {"network": None}})
        cli("multicluster", "link", *m.args())

Certificates are made once per session with ``cryptography`` (EC P-256, fast).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl.install import ca
from meshctl.mesh import labels as L
from tests.fakekube import FakeKube, write_kubeconfig

NS = L.ISTIO_NAMESPACE
ISTIO_VERSION = "1.30.3"
INSTALL_ID = f"{NS}.default"
CONTEXTS = ("ctx-a", "ctx-b", "ctx-c", "ctx-d", "ctx-e", "ctx-f", "ctx-g", "ctx-h")
CLUSTERS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


# -- certificates ------------------------------------------------------------------------------------------


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


class TestCA:
    """A root CA and, on demand, one intermediate per cluster (PEM text), like ``meshctl ca generate``."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, name: str = "Root CA") -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = self._issue(name, self._key, None, path_length=None)
        self._intermediates: dict[str, tuple[str, str]] = {}

    def _issue(self, common_name: str, key, issuer, *, path_length: int | None, locality: str | None = None):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.timezone.utc)
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Istio"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if locality:
            attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
        subject = x509.Name(attrs)
        signer_cert, signer_key = issuer or (None, key)
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(signer_cert.subject if signer_cert is not None else subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=True, crl_sign=True, encipher_only=False,
                                                decipher_only=False), critical=True))
        return builder.sign(signer_key, hashes.SHA256())

    @staticmethod
    def _pem(cert) -> str:
        from cryptography.hazmat.primitives import serialization

        return cert.public_bytes(serialization.Encoding.PEM).decode()

    @cached_property
    def root_pem(self) -> str:
        return self._pem(self._cert)

    @cached_property
    def fingerprint(self) -> str:
        from meshctl.mesh.multicluster import root_fingerprint

        return root_fingerprint(self.root_pem)

    def intermediate(self, cluster: str) -> tuple[str, str]:
        """(certificate PEM, private key PEM) of the cluster's intermediate CA."""
        if cluster not in self._intermediates:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ec

            key = ec.generate_private_key(ec.SECP256R1())
            cert = self._issue("Intermediate CA", key, (self._cert, self._key), path_length=0, locality=cluster)
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
            self._intermediates[cluster] = (self._pem(cert), key_pem)
        return self._intermediates[cluster]

    def cacerts(self, cluster: str, namespace: str = NS) -> dict[str, Any]:
        """The ``cacerts`` Secret for a cluster, as ``meshctl ca install`` creates it."""
        cert, key = self.intermediate(cluster)
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": L.CACERTS_SECRET, "namespace": namespace},
                "data": {L.CA_CERT_KEY: _b64(cert), L.CA_KEY_KEY: _b64(key),
                         L.CERT_CHAIN_KEY: _b64(cert + self.root_pem), L.ROOT_CERT_KEY: _b64(self.root_pem)}}


@pytest.fixture(scope="session")
def mesh_ca() -> TestCA:
    """The root every seeded cluster trusts."""
    return TestCA()


@pytest.fixture(scope="session")
def other_ca() -> TestCA:
    """Another root, for clusters that do not share trust."""
    return TestCA("Another Root CA")


# -- one installed control plane ------------------------------------------------------------------------


def _crd(plural: str, kind: str, group: str = "gateway.networking.k8s.io", scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True}]}}


GATEWAY_API_CRDS = (_crd("gateways", "Gateway"), _crd("gatewayclasses", "GatewayClass", scope="Cluster"))


def control_plane(cluster: str | None, *, network: str | None, ca: TestCA | None, mesh_id: str | None = "mesh1",
                  multi_network: bool = True, east_west: bool = True, installed_by: str = "meshctl",
                  reader: bool = True, ztunnel_network: str | None = None) -> list[dict[str, Any]]:
    """The objects of an installed ambient control plane, ready for multicluster (each option can take a
    piece away): istiod named ``cluster`` (None: the default name), the mesh config's meshID, the network
    label, ``cacerts`` from ``ca`` (None: istiod's self-signed CA instead), the istio-east-west class and
    gateway (needs ``multi_network``), and the reader ServiceAccount/ClusterRole/Binding the install
    renders (``reader``). ``installed_by`` meshctl labels them with meshctl's install labels."""
    owner = ({L.MANAGED_BY: L.MANAGED_BY_MESHCTL, L.INSTALL_ID: INSTALL_ID} if installed_by == "meshctl"
             else {L.OPERATOR_MANAGED: "Reconcile"})
    env = [{"name": "PILOT_ENABLE_AMBIENT", "value": "true"}]
    if cluster is not None:
        env.append({"name": L.ISTIOD_CLUSTER_ID_ENV, "value": cluster})
    if multi_network:
        env.append({"name": L.MULTI_NETWORK_ENV, "value": "true"})
    mesh = {"defaultConfig": {"meshId": mesh_id} if mesh_id else {}, "trustDomain": "cluster.local"}
    objs: list[dict[str, Any]] = [
        *GATEWAY_API_CRDS,
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": NS, "labels": {L.NETWORK: network} if network else {}}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "istiod", "namespace": NS,
                      "labels": {"app": L.ISTIOD_APP, L.REV: "default", "istio": "pilot", **owner}},
         "spec": {"selector": {"matchLabels": {"app": "istiod"}},
                  "template": {"metadata": {"labels": {"app": "istiod"}},
                               "spec": {"containers": [{
                                   "name": "discovery", "env": env,
                                   "image": f"registry.istio.io/release/pilot:{ISTIO_VERSION}-distroless"}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": NS, "labels": owner},
         "data": {"mesh": yaml.safe_dump(mesh)}},
    ]
    if ztunnel_network is not None:
        objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                     "metadata": {"name": "ztunnel", "namespace": NS, "labels": owner},
                     "spec": {"selector": {"matchLabels": {"app": "ztunnel"}},
                              "template": {"metadata": {"labels": {"app": "ztunnel"}},
                                           "spec": {"containers": [{
                                               "name": "istio-proxy", "image": "ztunnel:1.30.3",
                                               "env": [{"name": "NETWORK", "value": ztunnel_network}]}]}}}})
    if ca is not None:
        objs.append(ca.cacerts(cluster or "cluster"))
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": L.ROOT_CERT_CONFIGMAP, "namespace": NS},
                     "data": {L.ROOT_CERT_KEY: ca.root_pem}})
    else:
        own = TestCA("istiod self-signed")
        objs.append({"apiVersion": "v1", "kind": "Secret", "type": "istio.io/ca-root",
                     "metadata": {"name": L.SELF_SIGNED_CA_SECRET, "namespace": NS},
                     "data": {L.CA_CERT_KEY: _b64(own.root_pem)}})
    if multi_network:
        objs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                     "metadata": {"name": L.CLASS_EAST_WEST},
                     "spec": {"controllerName": L.CONTROLLER_EAST_WEST}})
    if multi_network and east_west:
        from meshctl.install.multicluster import east_west_gateway

        objs.append(east_west_gateway(network or "", NS))
    if reader:
        role = f"{L.READER_CLUSTER_ROLE_PREFIX}{NS}"
        base = {"app": "istio-reader", "release": "istio", **owner}
        objs += [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": L.READER_SERVICE_ACCOUNT, "namespace": NS, "labels": base}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": role, "labels": base},
             "rules": [{"apiGroups": [""], "resources": ["pods", "services", "secrets"],
                        "verbs": ["get", "list", "watch"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": role, "labels": base},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
             "subjects": [{"kind": "ServiceAccount", "name": L.READER_SERVICE_ACCOUNT, "namespace": NS}]},
        ]
    return objs


# -- several clusters -----------------------------------------------------------------------------------


@dataclass
class Member:
    context: str
    cluster: str | None
    network: str | None
    kube: FakeKube


@dataclass
class Mesh:
    members: list[Member]
    kubeconfig: str
    _by_context: dict[str, Member] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_context = {m.context: m for m in self.members}

    @property
    def contexts(self) -> list[str]:
        return [m.context for m in self.members]

    @property
    def kubes(self) -> list[FakeKube]:
        return [m.kube for m in self.members]

    def __getitem__(self, context: str) -> Member:
        return self._by_context[context]

    def args(self, *contexts: str) -> list[str]:
        """``--kubeconfig KC --context A --context B ...`` (every member unless named)."""
        out = ["--kubeconfig", self.kubeconfig]
        for ctx in contexts or self.contexts:
            out += ["--context", ctx]
        return out

    def secrets_in(self, context: str) -> dict[str, dict[str, Any]]:
        return {s["metadata"]["name"]: s for s in self[context].kube.objects("secrets", NS)}

    def remote_secrets(self, context: str) -> dict[str, dict[str, Any]]:
        return {n: s for n, s in self.secrets_in(context).items()
                if (s["metadata"].get("labels") or {}).get(L.MULTICLUSTER_SECRET) == "true"}

    def object_names(self) -> dict[str, set[str]]:
        """Per context, every object link or unlink may touch ("Kind ns/name")."""
        found: dict[str, set[str]] = {}
        for m in self.members:
            names = set()
            for resource, namespace in (("serviceaccounts", NS), ("secrets", NS), ("clusterroles", None),
                                        ("clusterrolebindings", None), ("gateways.gateway.networking.k8s.io", NS)):
                for obj in m.kube.objects(resource, namespace):
                    meta = obj["metadata"]
                    names.add(f"{obj.get('kind', resource)} {meta.get('namespace', '')}/{meta['name']}")
            found[m.context] = names
        return found

    def writes(self) -> dict[str, list[tuple[str, str]]]:
        """Per context, the (method, path) of every request that was not a read."""
        return {m.context: [(r[0], r[1]) for r in m.kube.requests if r[0] not in ("GET", "HEAD")
                            and not r[1].endswith(("selfsubjectaccessreviews", "selfsubjectrulesreviews",
                                                   "tokenreviews", "subjectaccessreviews"))]
                for m in self.members}

    def clear_requests(self) -> None:
        for kube in self.kubes:
            kube.clear_requests()

    def secret_values(self) -> list[str]:
        """Everything secret the fake servers hold or issued: every token of a service-account-token
        Secret, each server's admin token, and every CA private key."""
        values = [k.token for k in self.kubes if k.token]
        for kube in self.kubes:
            for s in kube.objects("secrets"):
                data = s.get("data") or {}
                for key in ("token", L.CA_KEY_KEY):
                    if data.get(key):
                        values.append(base64.b64decode(data[key]).decode())
        return values




def seed(kube: FakeKube, objects: list[dict[str, Any]]) -> None:
    kube.add_all(objects, reconcile=True)  # controllers give istiod and the gateway their status


@pytest.fixture
def mesh(tmp_path, mesh_ca) -> Callable[..., Mesh]:
    """``mesh(n=3, overrides={index: {control_plane keyword: value, ...}})`` starts n fake clusters, each with
    a control plane ready to link (distinct cluster names and networks, one meshID, one root CA). Contexts
    are ctx-a, ctx-b, ...; cluster names alpha, beta, ...; networks net-alpha, net-beta, ... The servers
    listen on loopback only (127.0.0.1), so the remote secrets link writes name a loopback address, which
    its verification reports (see test_link.verified)."""
    stack = ExitStack()

    def make(n: int = 3, overrides: dict[int, dict[str, Any]] | None = None) -> Mesh:
        members = []
        for i in range(n):
            options: dict[str, Any] = {"cluster": CLUSTERS[i], "network": f"net-{CLUSTERS[i]}", "ca": mesh_ca}
            options.update((overrides or {}).get(i, {}))
            kube = stack.enter_context(FakeKube(name=CONTEXTS[i], controllers=True, token=secrets.token_hex(16),
                                                host="127.0.0.1"))
            seed(kube, control_plane(**options))
            members.append(Member(CONTEXTS[i], options["cluster"], options["network"], kube))
        kc = write_kubeconfig(tmp_path / f"kc-{n}.yaml", [m.kube for m in members], contexts=[m.context for m in members])
        return Mesh(members, str(kc))

    with stack:
        yield make


# -- CA files made by `meshctl ca generate` (the ca tests) ---------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A root and intermediates for c1 and c2, made once (EC P-256)."""
    out = tmp_path_factory.mktemp("ca")
    ca.generate(out, ["c1", "c2"], key_type=ca.EC_P256)
    return out


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> Path:
    """Another root with an intermediate for c1: what a cluster set up separately holds."""
    out = tmp_path_factory.mktemp("other")
    ca.generate(out, ["c1"], key_type=ca.EC_P256)
    return out
