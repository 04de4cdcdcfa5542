"""Simulated controllers: the status a real cluster's controllers would write, written at once.

They run synchronously at the end of the request that caused the change (see
``Controllers.drain``), so a test sees the settled state as soon as its write returns, while
watchers still see the real sequence: ADDED without status, then MODIFIED with it.

Each controller can be switched off by name through the ``enabled`` set, e.g. to simulate a
Gateway that never becomes Programmed::

    kube.controllers.discard("gateways")

Two more are opt-in (``OPTIONAL``; ``controllers=True`` leaves them off, so scenarios written before
them see no Pods or EndpointSlices appear): "pods" runs each Deployment's pods, Ready at once, and
"endpointslices" keeps one EndpointSlice per Service listing the pods its selector matches::

    kube.controllers.update({"pods", "endpointslices"})
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
from typing import Any, Callable

from . import meta
from .store import DELETED, Event, Key, Store

CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
DEPLOYMENTS = ("apps", "deployments")
DAEMONSETS = ("apps", "daemonsets")
NODES = ("", "nodes")
SECRETS = ("", "secrets")
GATEWAYS = ("gateway.networking.k8s.io", "gateways")
GATEWAY_CLASSES = ("gateway.networking.k8s.io", "gatewayclasses")
PODS = ("", "pods")
SERVICES = ("", "services")
ENDPOINT_SLICES = ("discovery.k8s.io", "endpointslices")
POD_TEMPLATE_HASH = "pod-template-hash"
SERVICE_NAME = "kubernetes.io/service-name"

# name -> the type it reconciles
ALL: dict[str, Key] = {
    "crds": CRDS,
    "deployments": DEPLOYMENTS,
    "daemonsets": DAEMONSETS,
    "gateways": GATEWAYS,
    "gatewayclasses": GATEWAY_CLASSES,
    "serviceaccount-tokens": SECRETS,
}
# Opt-in controllers (see the module docstring).
OPTIONAL: dict[str, Key] = {
    "pods": DEPLOYMENTS,
    "endpointslices": SERVICES,
}
KNOWN: dict[str, Key] = {**ALL, **OPTIONAL}

FAKE_CA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nZmFrZWt1YmUgdGVzdCBDQSwgbm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n"
).decode()


class Controllers:
    def __init__(self, store: Store, enabled: set[str]) -> None:
        unknown = set(enabled) - set(KNOWN)
        if unknown:
            raise ValueError(f"unknown controllers {sorted(unknown)}; known: {sorted(KNOWN)}")
        self.store = store
        self.enabled = set(enabled)
        # Events wait per thread until the thread that caused them drains them, so one request's
        # controllers never run inside another request.
        self._local = threading.local()
        store.listeners.append(self._queue)

    def _queue(self, event: Event) -> None:
        pending = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        pending.append(event)

    def discard(self) -> None:
        self._local.pending = []

    def drain(self) -> None:
        """Reconcile everything this thread changed, and whatever that changes in turn."""
        for _ in range(10_000):  # a bound, in case two controllers ever fight
            pending = getattr(self._local, "pending", None)
            if not pending:
                return
            self._local.pending = []
            for event in pending:
                self._react(event)

    def resync(self) -> None:
        """Reconcile every object, e.g. after switching a controller on."""
        for key in dict.fromkeys(KNOWN.values()):
            for obj in self.store.list(key):
                self._reconcile(key, obj)
        self.drain()

    def _react(self, event: Event) -> None:
        if event.key == NODES:
            for ds in self.store.list(DAEMONSETS):
                self._reconcile(DAEMONSETS, ds)
        elif event.key == PODS and "endpointslices" in self.enabled:
            for svc in self.store.list(SERVICES, event.obj["metadata"].get("namespace", "")):
                self._reconcile(SERVICES, svc)
        if event.type == DELETED:
            self._forget(event)
        elif event.key != NODES:
            self._reconcile(event.key, event.obj)

    def _forget(self, event: Event) -> None:
        """What the opt-in controllers made for a deleted Deployment or Service goes with it."""
        m = event.obj["metadata"]
        if event.key == DEPLOYMENTS and "pods" in self.enabled:
            for pod in _owned(self.store.list(PODS, m.get("namespace", "")), m.get("uid")):
                self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        elif event.key == SERVICES and "endpointslices" in self.enabled:
            for piece in _owned(self.store.list(ENDPOINT_SLICES, m.get("namespace", "")), m.get("uid")):
                self.store.delete(ENDPOINT_SLICES, piece["metadata"]["namespace"], piece["metadata"]["name"])

    def _reconcile(self, key: Key, obj: dict[str, Any]) -> None:
        for name, target in KNOWN.items():
            if target == key and name in self.enabled:
                _RECONCILERS[name](self, key, obj)

    def _update(self, key: Key, obj: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> None:
        """Re-read the object, let ``change`` edit a copy, store it if anything differs."""
        m = obj["metadata"]
        with self.store.lock:
            current = self.store.get(key, m.get("namespace", ""), m["name"])
            if current is None:
                return
            new = copy.deepcopy(current)
            change(new)
            if new != current:
                if "generation" in current["metadata"]:  # kept only by kinds that track it
                    new["metadata"]["generation"] = meta.next_generation(current, new)
                self.store.write(key, new)

    # --- the controllers -------------------------------------------------------------------------

    def crd(self, key: Key, obj: dict[str, Any]) -> None:
        def change(crd: dict[str, Any]) -> None:
            spec = crd.get("spec") or {}
            names = dict(spec.get("names") or {})
            kind = names.get("kind", "")
            names.setdefault("singular", kind.lower())
            names.setdefault("listKind", kind + "List")
            status = crd.setdefault("status", {})
            status["acceptedNames"] = names
            status["conditions"] = _conditions(status.get("conditions"), [
                ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
            ])
            stored = list(status.get("storedVersions") or [])
            for v in spec.get("versions") or []:
                if v.get("storage") and v.get("name") not in stored:
                    stored.append(v["name"])
            status["storedVersions"] = stored
        self._update(key, obj, change)

    def deployment(self, key: Key, obj: dict[str, Any]) -> None:
        def change(d: dict[str, Any]) -> None:
            spec = d.get("spec") or {}
            replicas = spec.get("replicas")
            replicas = 1 if replicas is None else int(replicas)
            rs_name = f'{d["metadata"]["name"]}-{_template_hash(spec.get("template"))}'
            status = {"observedGeneration": d["metadata"].get("generation", 1)}
            if replicas:  # like the real controller, zero counts are left out
                status.update(replicas=replicas, updatedReplicas=replicas, readyReplicas=replicas,
                              availableReplicas=replicas)
            status["conditions"] = _conditions((d.get("status") or {}).get("conditions"), [
                ("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                ("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.'),
            ], update_time=True)
            d["status"] = status
        self._update(key, obj, change)

    def daemonset(self, key: Key, obj: dict[str, Any]) -> None:
        nodes = self.store.list(NODES)

        def change(ds: dict[str, Any]) -> None:
            selector = (((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
            if nodes:
                n = sum(1 for node in nodes if all(
                    (node["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items()))
            else:
                n = 1  # no Node objects seeded: pretend a one-node cluster
            ds["status"] = {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberMisscheduled": 0,
                            "numberReady": n, "numberAvailable": n, "updatedNumberScheduled": n,
                            "observedGeneration": ds["metadata"].get("generation", 1)}
        self._update(key, obj, change)

    def gateway(self, key: Key, obj: dict[str, Any]) -> None:
        def change(gw: dict[str, Any]) -> None:
            spec = gw.get("spec") or {}
            gen = gw["metadata"].get("generation", 1)
            status = gw.setdefault("status", {})
            old_listeners = {ls.get("name"): ls for ls in status.get("listeners") or []}
            requested = [a.get("value") for a in spec.get("addresses") or [] if a.get("value")]
            ip = _gateway_ip(gw, spec.get("gatewayClassName", ""))
            status["addresses"] = [{"type": "IPAddress", "value": v} for v in (requested or [ip])]
            status["conditions"] = _conditions(status.get("conditions"), [
                ("Accepted", "True", "Accepted", "Resource accepted"),
                ("Programmed", "True", "Programmed", "Resource programmed"),
            ], generation=gen)
            status["listeners"] = [{
                "name": ls.get("name"),
                "attachedRoutes": 0,
                "supportedKinds": _route_kinds(ls.get("protocol", "")),
                "conditions": _conditions((old_listeners.get(ls.get("name")) or {}).get("conditions"), [
                    ("Accepted", "True", "Accepted", "No errors found"),
                    ("Conflicted", "False", "NoConflicts", "No errors found"),
                    ("Programmed", "True", "Programmed", "No errors found"),
                    ("ResolvedRefs", "True", "ResolvedRefs", "No errors found"),
                ], generation=gen),
            } for ls in spec.get("listeners") or []]
        self._update(key, obj, change)

    def gatewayclass(self, key: Key, obj: dict[str, Any]) -> None:
        def change(gc: dict[str, Any]) -> None:
            status = gc.setdefault("status", {})
            status["conditions"] = _conditions(status.get("conditions"), [
                ("Accepted", "True", "Accepted", "Handled by fakekube"),
            ], generation=gc["metadata"].get("generation", 1))
        self._update(key, obj, change)

    def token_secret(self, key: Key, obj: dict[str, Any]) -> None:
        annotations = obj["metadata"].get("annotations") or {}
        if obj.get("type") != "kubernetes.io/service-account-token" or \
                not annotations.get("kubernetes.io/service-account.name") or (obj.get("data") or {}).get("token"):
            return

        def change(secret: dict[str, Any]) -> None:
            data = secret.setdefault("data", {})
            data["token"] = base64.b64encode(secrets.token_urlsafe(32).encode()).decode()
            data["ca.crt"] = FAKE_CA
            data["namespace"] = base64.b64encode(secret["metadata"].get("namespace", "").encode()).decode()
        self._update(key, obj, change)

    def pods(self, key: Key, obj: dict[str, Any]) -> None:
        """A Deployment's pods: ``replicas`` of them from the current template, Ready, owned by the
        Deployment itself (no ReplicaSet in between); pods of an older template are replaced."""
        m = obj["metadata"]
        with self.store.lock:
            d = self.store.get(key, m.get("namespace", ""), m["name"])
            if d is None:
                return
            spec = d.get("spec") or {}
            template = spec.get("template") or {}
            replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
            digest = _template_hash(template)
            wanted = {f'{m["name"]}-{digest}-{i}' for i in range(replicas)}
            owned = _owned(self.store.list(PODS, m.get("namespace", "")), d["metadata"].get("uid"))
            for pod in owned:
                if pod["metadata"]["name"] not in wanted:
                    self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            have = {pod["metadata"]["name"] for pod in owned}
            for name in sorted(wanted - have):
                self.store.write(PODS, _pod(d, name, digest))

    def endpointslice(self, key: Key, obj: dict[str, Any]) -> None:
        """One EndpointSlice per Service with a selector, listing the matching pods (ready as they are)."""
        m = obj["metadata"]
        with self.store.lock:
            svc = self.store.get(key, m.get("namespace", ""), m["name"])
            if svc is None:
                return
            spec = svc.get("spec") or {}
            selector = spec.get("selector") or {}
            if not selector or spec.get("type") == "ExternalName":
                return
            pods = [p for p in self.store.list(PODS, m.get("namespace", "")) if all(
                (p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]
            endpoints = [{
                "addresses": [(p.get("status") or {}).get("podIP", "")],
                "conditions": {"ready": _ready(p), "serving": _ready(p), "terminating": False},
                "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"],
                              "uid": p["metadata"].get("uid", "")},
            } for p in pods if (p.get("status") or {}).get("podIP")]
            ports = [{k: v for k, v in (("name", port.get("name", "")), ("port", _target_port(port)),
                                        ("protocol", port.get("protocol", "TCP")),
                                        ("appProtocol", port.get("appProtocol"))) if v is not None}
                     for port in spec.get("ports") or []]
            name = f'{m["name"]}-{_template_hash(m["name"])[:5]}'
            old = self.store.get(ENDPOINT_SLICES, m.get("namespace", ""), name)
            if old is not None and old.get("endpoints") == endpoints and old.get("ports") == ports:
                return
            om = (old or {}).get("metadata") or {}
            piece = {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": name, "namespace": m.get("namespace", ""),
                             "uid": om.get("uid") or meta.new_uid(),
                             "creationTimestamp": om.get("creationTimestamp") or meta.now(),
                             "generation": int(om.get("generation") or 0) + 1,
                             "labels": {SERVICE_NAME: m["name"],
                                        "endpointslice.kubernetes.io/managed-by": "fakekube"},
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": m["name"],
                                                  "uid": m.get("uid", ""), "controller": True}]},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
            }
            self.store.write(ENDPOINT_SLICES, piece)


_RECONCILERS: dict[str, Callable[[Controllers, Key, dict[str, Any]], None]] = {
    "crds": Controllers.crd,
    "deployments": Controllers.deployment,
    "daemonsets": Controllers.daemonset,
    "gateways": Controllers.gateway,
    "gatewayclasses": Controllers.gatewayclass,
    "serviceaccount-tokens": Controllers.token_secret,
    "pods": Controllers.pods,
    "endpointslices": Controllers.endpointslice,
}


def _conditions(old: list[dict[str, Any]] | None, wanted: list[tuple[str, str, str, str]], *,
                generation: int | None = None, update_time: bool = False) -> list[dict[str, Any]]:
    """Build conditions, keeping a condition's timestamps while its status is unchanged so that
    reconciling twice writes nothing."""
    before = {c.get("type"): c for c in old or []}
    stamp = meta.now()
    out = []
    for ctype, status, reason, message in wanted:
        prev = before.get(ctype) or {}
        same = prev.get("status") == status
        cond: dict[str, Any] = {"type": ctype, "status": status}
        if generation is not None:
            cond["observedGeneration"] = generation
        if update_time:
            same_all = same and prev.get("reason") == reason and prev.get("message") == message
            cond["lastUpdateTime"] = prev.get("lastUpdateTime", stamp) if same_all else stamp
        cond["lastTransitionTime"] = prev.get("lastTransitionTime", stamp) if same else stamp
        cond["reason"] = reason
        cond["message"] = message
        out.append(cond)
    return out


def _template_hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def _gateway_ip(gw: dict[str, Any], gateway_class: str) -> str:
    """A stable fake address: cluster-IP-like, or LoadBalancer-like for east-west gateways."""
    m = gw["metadata"]
    digest = hashlib.sha256(f'{m.get("namespace", "")}/{m["name"]}'.encode()).digest()
    prefix = "172.18" if gateway_class == "istio-east-west" else "10.96"
    return f"{prefix}.{digest[0]}.{digest[1] % 254 + 1}"


def _route_kinds(protocol: str) -> list[dict[str, str]]:
    kinds = {"HTTP": ["HTTPRoute", "GRPCRoute"], "HTTPS": ["HTTPRoute", "GRPCRoute"], "TLS": ["TLSRoute"],
             "TCP": ["TCPRoute"], "UDP": ["UDPRoute"]}.get(protocol.upper(), [])
    return [{"group": "gateway.networking.k8s.io", "kind": k} for k in kinds]


def _owned(objs: list[dict[str, Any]], uid: str | None) -> list[dict[str, Any]]:
    return [o for o in objs if uid and any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]


def _pod(deployment: dict[str, Any], name: str, digest: str) -> dict[str, Any]:
    m = deployment["metadata"]
    template = (deployment.get("spec") or {}).get("template") or {}
    labels = {**((template.get("metadata") or {}).get("labels") or {}), POD_TEMPLATE_HASH: digest}
    ip = hashlib.sha256(f'{m.get("namespace", "")}/{name}'.encode()).digest()
    stamp = meta.now()
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": m.get("namespace", ""), "uid": meta.new_uid(),
                     "creationTimestamp": stamp, "labels": labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": m["name"],
                                          "uid": m.get("uid", ""), "controller": True}]},
        "spec": {**copy.deepcopy(template.get("spec") or {}), "nodeName": "fakekube-node"},
        "status": {"phase": "Running", "podIP": f"10.244.{ip[0]}.{ip[1] % 254 + 1}", "startTime": stamp,
                   "conditions": [{"type": t, "status": "True", "lastTransitionTime": stamp}
                                  for t in ("Initialized", "ContainersReady", "Ready", "PodScheduled")]},
    }


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _target_port(port: dict[str, Any]) -> int:
    target = port.get("targetPort")
    return target if isinstance(target, int) else int(port.get("port") or 0)
