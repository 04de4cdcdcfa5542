"""``FakeKube``: one fake cluster (an API server on 127.0.0.1) and the Python API tests drive it with."""

from __future__ import annotations

import base64
import copy
import os
import weakref
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from . import controllers as ctl
from .api import ApiServer
from .deletion import Reaper
from .faults import Access, Denial, Faults
from .kinds import Registry, ResourceType
from .server import Frontend, RequestRecord
from .store import Store

SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

DEFAULT_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.2",
    "gitCommit": "fakekube",
    "gitTreeState": "clean",
    "buildDate": "2025-02-12T00:00:00Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class FakeKube:
    """A fake Kubernetes API server for tests.

    ``controllers``: True for all simulated controllers, False/None for none, or a set of names
    from ``controllers.ALL`` ("crds", "deployments", "daemonsets", "gateways", "gatewayclasses",
    "serviceaccount-tokens"). ``kube.controllers`` is that set, live: add or discard names at any
    time (then ``resync()`` to catch up on existing objects).
    """

    def __init__(self, name: str = "cluster1", *, controllers: bool | Iterable[str] | None = False,
                 host: str = "127.0.0.1", port: int = 0, token: str | None = None, anonymous: bool = False,
                 verbose: bool = False, history: int = 1000) -> None:
        self.name = name
        self.version: dict[str, Any] = dict(DEFAULT_VERSION)
        self.faults = Faults()
        self._access = Access(token, anonymous)
        self._registry = Registry()
        self._store = Store(history)
        enabled = set(ctl.ALL) if controllers is True else set(controllers or ())
        self._controllers = ctl.Controllers(self._store, enabled)
        self._api = ApiServer(self._registry, self._store, self._access, self._controllers,
                              version=lambda: self.version, address=lambda: "%s:%d" % self._frontend.address)
        self._access.service_account_token = lambda token: self._api.service_account_secret(token) is not None
        self._frontend = Frontend(self._api, self._access, self.faults, host=host, port=port, verbose=verbose,
                                  name=name)
        self._running = False
        for ns in SEED_NAMESPACES:
            self._api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        self._controllers.discard()
        FakeKube.instances.add(self)

    instances: "weakref.WeakSet[FakeKube]" = weakref.WeakSet()  # every fake alive: their secrets are known

    def secret_values(self) -> set[str]:
        """What no meshctl output may show: the server's token and every value of its Secrets (as
        stored, and decoded)."""
        found = {self.token} if self.token else set()
        for secret in self.objects("secrets"):
            for key in ("data", "stringData"):
                values = secret.get(key) if isinstance(secret.get(key), dict) else {}
                for name, value in values.items():
                    if not isinstance(value, str) or _public_secret_key(str(name)):
                        continue
                    found.add(value)
                    if key == "data":
                        try:
                            found.add(base64.b64decode(value, validate=True).decode())
                        except (ValueError, UnicodeDecodeError):
                            pass
        return found

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "FakeKube":
        if not self._running:
            self._frontend.start()
            self._api.reaper.start()
            self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._api.reaper.stop()
            self._frontend.stop()

    def __enter__(self) -> "FakeKube":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._frontend.address[0]

    @property
    def port(self) -> int:
        return self._frontend.address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- access ----------------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """When set, every request must carry ``Authorization: Bearer <token>`` (else 401)."""
        return self._access.token

    @token.setter
    def token(self, value: str | None) -> None:
        self._access.token = value

    @property
    def anonymous(self) -> bool:
        """With a token set: let requests without any Authorization header through anyway."""
        return self._access.anonymous

    @anonymous.setter
    def anonymous(self, value: bool) -> None:
        self._access.anonymous = value

    def deny(self, verb: str | Iterable[str] | None = None, resource: str | None = None,
             namespace: str | None = None, *, group: str | None = None, name: str | None = None) -> Denial:
        """Answer matching requests 403 Forbidden (None matches anything). SelfSubjectAccessReviews
        answer ``allowed: false`` for them too. Returns the rule, for ``allow(rule)``."""
        return self._access.deny(verb, resource, namespace, group=group, name=name)

    def allow(self, rule: Denial | None = None) -> None:
        """Lift one deny rule, or every rule."""
        self._access.allow(rule)

    # --- requests log ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far: (method, path, query dict), oldest first."""
        return list(self._frontend.requests)

    def clear_requests(self) -> None:
        self._frontend.requests.clear()

    # --- controllers -----------------------------------------------------------------------------

    @property
    def controllers(self) -> set[str]:
        return self._controllers.enabled

    @controllers.setter
    def controllers(self, names: bool | Iterable[str] | None) -> None:
        self._controllers.enabled.clear()
        self._controllers.enabled.update(set(ctl.ALL) if names is True else set(names or ()))

    def resync(self) -> None:
        """Run the enabled controllers over every existing object."""
        self._controllers.discard()
        self._controllers.resync()

    # --- objects ---------------------------------------------------------------------------------

    def add(self, obj: dict[str, Any], *, reconcile: bool = False) -> dict[str, Any]:
        """Store an object directly, as given (status included), creating or replacing it.

        Fills uid, creationTimestamp and (for kinds that keep one) generation when missing, and
        always assigns a new resourceVersion. A CRD registers its kind. A missing namespace is created. Controllers
        leave seeded objects alone unless ``reconcile=True``. Returns the stored object.
        """
        try:
            stored = self._api.seed(obj)
        finally:
            if reconcile:
                self._controllers.drain()
            else:
                self._controllers.discard()
        return copy.deepcopy(stored)

    def add_all(self, objs: Iterable[dict[str, Any]], *, reconcile: bool = False) -> list[dict[str, Any]]:
        """``add`` each object, CRDs and namespaces first so order in the input does not matter."""
        objs = list(objs)
        first = [o for o in objs if o.get("kind") in ("CustomResourceDefinition", "Namespace")]
        rest = [o for o in objs if o.get("kind") not in ("CustomResourceDefinition", "Namespace")]
        return [self.add(o, reconcile=reconcile) for o in first + rest]

    def resource_type(self, resource: str) -> ResourceType:
        """Resolve a resource as kubectl would: "deployments", "deploy", "Deployment",
        "deployments.apps", "gateways.gateway.networking.k8s.io"... KeyError if not served."""
        return self._registry.resolve(resource)

    def get_object(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A copy of one stored object (apiVersion as stored), or None."""
        rt = self.resource_type(resource)
        obj = self._store.get(rt.key, (namespace or "default") if rt.namespaced else "", name)
        return copy.deepcopy(obj) if obj is not None else None

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of every stored object of a type (in one namespace, or all), by namespace/name."""
        rt = self.resource_type(resource)
        return copy.deepcopy(self._store.list(rt.key, namespace if rt.namespaced else None))

    def delete_object(self, resource: str, name: str, namespace: str | None = None) -> bool:
        """Remove an object directly (a namespace takes its contents along). False if absent."""
        rt = self.resource_type(resource)
        ns = (namespace or "default") if rt.namespaced else ""
        with self._store.lock:
            obj = self._store.get(rt.key, ns, name)
            if obj is not None:
                self._api.remove(rt, obj)
        self._controllers.discard()
        return obj is not None

    @property
    def reaper(self) -> "Reaper":
        """Pending deletions: ``cleanup_delay`` and ``pod_grace`` (seconds), ``hold()`` to pause them."""
        return self._api.reaper

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out."""
        return self._store.resource_version

    # --- kubeconfig ------------------------------------------------------------------------------

    def write_kubeconfig(self, path: str | os.PathLike[str], context: str | None = None) -> Path:
        """Write a kubeconfig with one context for this server (named ``context`` or the cluster name)."""
        return write_kubeconfig(path, [self], contexts=[context or self.name])


def kubeconfig(kubes: Sequence[FakeKube], contexts: Sequence[str] | None = None) -> dict[str, Any]:
    """A kubeconfig dict: one cluster, user and context per server, all named alike;
    current-context is the first."""
    names = list(contexts or [k.name for k in kubes])
    if len(names) != len(kubes) or len(set(names)) != len(names):
        raise ValueError(f"need one distinct context name per server, got {names}")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": n, "cluster": {"server": k.url}} for n, k in zip(names, kubes)],
        # The token is the server's own when it checks one; any token does otherwise.
        "users": [{"name": n, "user": {"token": k.token or "fakekube"}} for n, k in zip(names, kubes)],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n, "namespace": "default"}} for n in names],
        "current-context": names[0] if names else "",
    }


def write_kubeconfig(path: str | os.PathLike[str], kubes: Sequence[FakeKube],
                     contexts: Sequence[str] | None = None) -> Path:
    """Write a kubeconfig for several servers (see ``kubeconfig``), readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig(kubes, contexts), sort_keys=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds bearer tokens
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _public_secret_key(name: str) -> bool:
    """Secret keys whose values are public: a token Secret's namespace, and certificates (not keys)."""
    lowered = name.lower()
    return lowered == "namespace" or (("cert" in lowered or lowered.endswith(".crt")) and "key" not in lowered)
