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

A further set stands in for the kubelet, the scheduler, kube-controller-manager and istiod, so that a
cluster left running (``python -m tests.fakekube --simulate``) behaves like a real one with Istio
installed. They are opt-in too (``SIMULATED``), and ``SIMULATE`` names everything ``--simulate`` turns
on (``FakeKube(controllers=SIMULATE)``):

- "kubelet": schedules pods onto Ready nodes (nodeSelector, required node affinity, taints and
  tolerations; spread by owner) and runs them: Running and Ready with a pod IP from the node's
  podCIDR, container statuses for the template's images; pods on a node that goes away are deleted,
  pods on a node that is not Ready are not Ready.
- "replicasets": Deployment -> ReplicaSet ``<deployment>-<pod-template-hash>`` -> Pods ``<rs>-<5>``,
  a new ReplicaSet per template (the old ones scaled to 0 once its pods are available), status
  counters from the pods; the Deployment's status (controller "deployments") then follows its
  ReplicaSets. Supersedes "pods".
- "daemonset-pods": one pod per node a DaemonSet's pods fit (``<ds>-<5>``, label
  ``controller-revision-hash``); its status (controller "daemonsets") then counts them.
- "webhook-ca": istiod's CA bundle (and validation ``failurePolicy: Fail``) in the webhook
  configurations labelled with its revision, once that istiod Deployment has a ready replica.
- "istio-gatewayclasses": the GatewayClasses a running istiod creates (``istio``, ``istio-remote``;
  ``istio-waypoint`` with ambient; ``istio-east-west`` with AMBIENT_ENABLE_MULTI_NETWORK;
  ``istio-agentgateway`` with PILOT_ENABLE_AGENTGATEWAY) once the Gateway API CRDs exist.
- "gateway-deployments": the ServiceAccount, Service and Deployment istiod runs for each Gateway of
  its classes (``<gateway>`` for waypoints and east-west gateways, ``<gateway>-istio`` for the
  ``istio`` class); the Gateway's address then comes from that Service.
- "ambient-redirection": istio-cni's ``ambient.istio.io/redirection: enabled`` on pods enrolled with
  ``istio.io/dataplane-mode=ambient`` (namespace or pod) whose node has a ready ztunnel and istio-cni
  pod; removed when the pod or namespace is unenrolled.

Objects they create carry the ownerReferences the real controllers set; they are also removed when
their owner is (``_forget``), for servers without garbage collection.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import uuid
from typing import Any, Callable, NamedTuple

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
REPLICA_SETS = ("apps", "replicasets")
NAMESPACES = ("", "namespaces")
SERVICE_ACCOUNTS = ("", "serviceaccounts")
MUTATING_WEBHOOKS = ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")
VALIDATING_WEBHOOKS = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")
GATEWAY_CLASS_CRD = "gatewayclasses.gateway.networking.k8s.io"
REVISION_HASH = "controller-revision-hash"
TEMPLATE_GENERATION = "pod-template-generation"
REDIRECTION = "ambient.istio.io/redirection"
DATAPLANE_MODE = "istio.io/dataplane-mode"
SIDECAR_STATUS = "sidecar.istio.io/status"

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
CLASSIC: dict[str, Key] = {**ALL, **OPTIONAL}
# Opt-in simulations of the kubelet, kube-controller-manager and istiod (see the module docstring):
# name -> the types whose changes it reacts to.
SIMULATED: dict[str, tuple[Key, ...]] = {
    "kubelet": (PODS, NODES),
    "replicasets": (DEPLOYMENTS, REPLICA_SETS, PODS),
    "daemonset-pods": (DAEMONSETS, PODS, NODES),
    "webhook-ca": (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, DEPLOYMENTS),
    "istio-gatewayclasses": (DEPLOYMENTS, CRDS, GATEWAY_CLASSES),
    "gateway-deployments": (GATEWAYS, GATEWAY_CLASSES, DEPLOYMENTS, SERVICES, SERVICE_ACCOUNTS),
    "ambient-redirection": (PODS, NAMESPACES),
}
KNOWN: dict[str, Key] = {**CLASSIC, **{name: keys[0] for name, keys in SIMULATED.items()}}
# What `python -m tests.fakekube --simulate` runs: a cluster with a kubelet, kube-controller-manager and,
# once it is installed, istiod.
SIMULATE: frozenset[str] = frozenset({*ALL, "endpointslices", *SIMULATED})

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
        keys = dict.fromkeys([*CLASSIC.values(), *(k for ks in SIMULATED.values() for k in ks)])
        for key in keys:
            for obj in self.store.list(key):
                self._reconcile(key, obj)
                self._simulate(key, obj, False)
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
        self._simulate(event.key, event.obj, event.type == DELETED)

    def _forget(self, event: Event) -> None:
        """What the controllers made for a deleted object goes with it, at once (garbage collection,
        where the server does it, may have marked it Terminating already)."""
        m = event.obj["metadata"]
        ns, uid = m.get("namespace", ""), m.get("uid")
        doomed: list[Key] = []
        if event.key == DEPLOYMENTS and "pods" in self.enabled:
            doomed.append(PODS)
        elif event.key == SERVICES and "endpointslices" in self.enabled:
            doomed.append(ENDPOINT_SLICES)
        if event.key == DEPLOYMENTS and "replicasets" in self.enabled:
            doomed.append(REPLICA_SETS)
        elif event.key == REPLICA_SETS and "replicasets" in self.enabled:
            doomed.append(PODS)
        elif event.key == DAEMONSETS and "daemonset-pods" in self.enabled:
            doomed.append(PODS)
        elif event.key == GATEWAYS and "gateway-deployments" in self.enabled:
            doomed += [DEPLOYMENTS, SERVICES, SERVICE_ACCOUNTS]
        for key in doomed:
            for obj in _owned(self.store.list(key, ns), uid):
                self.store.delete(key, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _reconcile(self, key: Key, obj: dict[str, Any]) -> None:
        for name, target in CLASSIC.items():
            if target == key and name in self.enabled:
                _RECONCILERS[name](self, key, obj)

    def _simulate(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        for name, keys in SIMULATED.items():
            if key in keys and name in self.enabled:
                _SIMULATIONS[name](self, key, obj, deleted)

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
        if "replicasets" in self.enabled:
            self._update(key, obj, self._deployment_status)
            return

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
        if "daemonset-pods" in self.enabled:
            self._update(key, obj, self._daemonset_status)
            return
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
            service = self._gateway_service(gw) if "gateway-deployments" in self.enabled else None
            if requested or service is None:
                ip = _gateway_ip(gw, spec.get("gatewayClassName", ""))
                status["addresses"] = [{"type": "IPAddress", "value": v} for v in (requested or [ip])]
            else:
                status["addresses"] = _service_addresses(service)
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
            istio = "istio-gatewayclasses" in self.enabled and \
                (gc.get("spec") or {}).get("controllerName") in ISTIO_CONTROLLERS
            status["conditions"] = _conditions(status.get("conditions"), [
                ("Accepted", "True", "Accepted", "Handled by Istio controller" if istio else "Handled by fakekube"),
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
        Deployment itself (no ReplicaSet in between); pods of an older template are replaced.
        Off while "replicasets" runs the pods."""
        if "replicasets" in self.enabled:
            return
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
                "conditions": {"ready": _ready(p) and not _terminating(p), "serving": _ready(p),
                               "terminating": _terminating(p)},
                **self._endpoint_location(p),
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

    def _endpoint_location(self, pod: dict[str, Any]) -> dict[str, str]:
        """An endpoint's nodeName and zone, when the pod runs on a Node that exists."""
        node = self.store.get(NODES, "", (pod.get("spec") or {}).get("nodeName") or "")
        if node is None:
            return {}
        zone = (node["metadata"].get("labels") or {}).get(ZONE_LABEL)
        return {"nodeName": node["metadata"]["name"], **({"zone": zone} if zone else {})}

    # --- simulated kubelet and scheduler ("kubelet") ---------------------------------------------

    def kubelet(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == NODES:
            with self.store.lock:
                for pod in self.store.list(PODS):
                    node_name = (pod.get("spec") or {}).get("nodeName")
                    if not node_name or node_name == obj["metadata"]["name"]:
                        self._run_pod(pod)
        elif not deleted:
            self._run_pod(obj)

    def _run_pod(self, obj: dict[str, Any]) -> None:
        """Bind a pending pod to a node that fits it, then run it there as the node allows."""
        m = obj["metadata"]
        with self.store.lock:
            pod = self.store.get(PODS, m.get("namespace", ""), m["name"])
            if pod is None or _terminating(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return
            nodes = self.store.list(NODES)
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name:
                node = next((n for n in nodes if n["metadata"]["name"] == node_name), None)
                if node is None:  # the pod garbage collector removes pods of nodes that are gone
                    self.store.delete(PODS, m.get("namespace", ""), m["name"])
                    return
            else:
                node = _pick_node(pod, nodes, self.store.list(PODS))
            new = copy.deepcopy(pod)
            if node is None:
                new["status"] = _unschedulable_status(pod, nodes)
            else:
                new["spec"]["nodeName"] = node["metadata"]["name"]
                new["status"] = _kubelet_status(pod, node, self._pod_ip(pod, node))
            if new != pod:
                self.store.write(PODS, new)

    def _pod_ip(self, pod: dict[str, Any], node: dict[str, Any]) -> str:
        """The pod's IP: the node's for host-network pods, else a free one of the node's podCIDR."""
        status = pod.get("status") or {}
        if (pod.get("spec") or {}).get("hostNetwork"):
            return _node_ip(node)
        if status.get("podIP") and pod["spec"].get("nodeName") == node["metadata"]["name"]:
            return status["podIP"]
        taken = {(p.get("status") or {}).get("podIP") for p in self.store.list(PODS)}
        cidr = ((node.get("spec") or {}).get("podCIDR") or "").split("/")[0].split(".")
        if len(cidr) == 4:
            prefix = ".".join(cidr[:3])
            for last in range(2, 255):
                if f"{prefix}.{last}" not in taken:
                    return f"{prefix}.{last}"
        digest = hashlib.sha256(f'{pod["metadata"].get("namespace", "")}/{pod["metadata"]["name"]}'.encode()).digest()
        for i in range(0, len(digest) - 1, 2):
            ip = f"10.244.{digest[i]}.{digest[i + 1] % 254 + 1}"
            if ip not in taken:
                return ip
        return f"10.244.{digest[0]}.{digest[1] % 254 + 1}"

    # --- Deployments and ReplicaSets ("replicasets") ---------------------------------------------

    def replicasets(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == DEPLOYMENTS:
            if not deleted:
                self._roll_out(obj)
            return
        if key == PODS:
            rs = self._owner(obj, REPLICA_SETS, "ReplicaSet")
            if rs is None:
                return
            self._run_replicaset(rs)  # a pod went, or changed: replace it, recount
        else:
            rs = obj
            if not deleted:
                self._run_replicaset(rs)
        d = self._owner(rs, DEPLOYMENTS, "Deployment")
        if d is not None:
            # The rollout moves on as pods become available (and a deleted ReplicaSet is made again).
            self._roll_out(d)
            if "deployments" in self.enabled:
                self.deployment(DEPLOYMENTS, d)

    def _owner(self, obj: dict[str, Any], key: Key, kind: str) -> dict[str, Any] | None:
        """The object's controller of that kind, as stored now (None if it is gone or another)."""
        ref = _controller_of(obj, kind)
        if ref is None:
            return None
        owner = self.store.get(key, obj["metadata"].get("namespace", ""), ref.get("name", ""))
        return owner if owner is not None and owner["metadata"].get("uid") == ref.get("uid") else None

    def _roll_out(self, obj: dict[str, Any]) -> None:
        """The Deployment's ReplicaSet for its current template at spec.replicas; older ones at 0."""
        m = obj["metadata"]
        with self.store.lock:
            d = self.store.get(DEPLOYMENTS, m.get("namespace", ""), m["name"])
            if d is None or _terminating(d):
                return
            spec = d.get("spec") or {}
            template = spec.get("template") or {}
            digest = _template_hash(template)
            name = f'{m["name"]}-{digest}'
            replicas = _replicas(spec)
            owned = _owned(self.store.list(REPLICA_SETS, m.get("namespace", "")), d["metadata"].get("uid"))
            current = next((rs for rs in owned if rs["metadata"]["name"] == name), None)
            if current is None and spec.get("paused"):
                return
            revisions = [_revision(rs) for rs in owned]
            revision = _revision(current) if current is not None else max(revisions, default=0) + 1
            labels = {**((template.get("metadata") or {}).get("labels") or {}), POD_TEMPLATE_HASH: digest}
            selector = copy.deepcopy(spec.get("selector") or {})
            selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH: digest}
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {})["labels"] = labels
            surge = _surge(spec, replicas)
            wanted = {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": m.get("namespace", ""), "labels": labels,
                             "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                             "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                                             "deployment.kubernetes.io/revision": str(revision)},
                             "ownerReferences": [_owner_ref(d, "apps/v1", "Deployment")]},
                "spec": {"replicas": replicas, "minReadySeconds": spec.get("minReadySeconds", 0),
                         "selector": selector, "template": rs_template},
            }
            if not spec.get("minReadySeconds"):
                del wanted["spec"]["minReadySeconds"]
            current = self._put(REPLICA_SETS, wanted, current)
            # Older ReplicaSets scale to 0 once the new one's pods are all available (a rolling update in
            # one step: no moment with fewer available pods), and beyond revisionHistoryLimit the oldest go.
            done = int((current.get("status") or {}).get("availableReplicas") or 0) >= replicas
            old = sorted((rs for rs in owned if rs["metadata"]["name"] != name), key=_revision)
            for rs in old:
                if done and _replicas(rs.get("spec") or {}) != 0:
                    new = copy.deepcopy(rs)
                    new["spec"]["replicas"] = 0
                    new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = \
                        str(replicas)
                    self._put(REPLICA_SETS, new, rs)
            limit = spec.get("revisionHistoryLimit")
            limit = 10 if limit is None else int(limit)
            for rs in old[:max(0, len(old) - limit)]:
                self.store.delete(REPLICA_SETS, rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _run_replicaset(self, obj: dict[str, Any]) -> None:
        """spec.replicas pods from the ReplicaSet's template (new ones Pending until the kubelet
        places them), then its status from them."""
        m = obj["metadata"]
        with self.store.lock:
            rs = self.store.get(REPLICA_SETS, m.get("namespace", ""), m["name"])
            if rs is None:
                return
            spec = rs.get("spec") or {}
            replicas = 0 if _terminating(rs) else _replicas(spec)
            pods = [p for p in _owned(self.store.list(PODS, m.get("namespace", "")), rs["metadata"].get("uid"))
                    if not _terminating(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            # Scale down: unscheduled first, then not ready, then the newest (as the real controller ranks them).
            pods.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
            pods.sort(key=lambda p: (bool((p.get("spec") or {}).get("nodeName")), _ready(p)))
            for pod in pods[:max(0, len(pods) - replicas)]:
                self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            pods = pods[max(0, len(pods) - replicas):]
            template = spec.get("template") or {}
            for _ in range(replicas - len(pods)):
                pod = _new_pod(rs, "apps/v1", "ReplicaSet", template, self._free_name(rs), {})
                pods.append(self.store.write(PODS, pod).obj)
        self._update(REPLICA_SETS, rs, self._replicaset_status)

    def _replicaset_status(self, rs: dict[str, Any]) -> None:
        pods = [p for p in _owned(self.store.list(PODS, rs["metadata"].get("namespace", "")), rs["metadata"].get("uid"))
                if not _terminating(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        ready = sum(1 for p in pods if _ready(p))
        status: dict[str, Any] = {"replicas": len(pods)}
        for field, value in (("fullyLabeledReplicas", len(pods)), ("readyReplicas", ready),
                             ("availableReplicas", ready)):
            if value:
                status[field] = value
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        rs["status"] = status

    def _deployment_status(self, d: dict[str, Any]) -> None:
        """A Deployment's status from its ReplicaSets (what the deployment controller reports)."""
        m = d["metadata"]
        spec = d.get("spec") or {}
        replicas = _replicas(spec)
        name = f'{m["name"]}-{_template_hash(spec.get("template"))}'
        owned = _owned(self.store.list(REPLICA_SETS, m.get("namespace", "")), m.get("uid"))
        current = next((rs for rs in owned if rs["metadata"]["name"] == name), None)

        def count(rs: dict[str, Any] | None, field: str) -> int:
            return int(((rs or {}).get("status") or {}).get(field) or 0)

        total = sum(count(rs, "replicas") for rs in owned)
        updated = count(current, "replicas")
        ready = sum(count(rs, "readyReplicas") for rs in owned)
        available = sum(count(rs, "availableReplicas") for rs in owned)
        status: dict[str, Any] = {"observedGeneration": m.get("generation", 1)}
        for field, value in (("replicas", total), ("updatedReplicas", updated), ("readyReplicas", ready),
                             ("availableReplicas", available), ("unavailableReplicas", max(0, replicas - available))):
            if value:  # like the real controller, zero counts are left out
                status[field] = value
        if available >= replicas - _max_unavailable(spec, replicas):
            available_condition = ("Available", "True", "MinimumReplicasAvailable",
                                   "Deployment has minimum availability.")
        else:
            available_condition = ("Available", "False", "MinimumReplicasUnavailable",
                                   "Deployment does not have minimum availability.")
        if current is not None and updated == replicas and total == replicas and available >= replicas:
            progressing = ("Progressing", "True", "NewReplicaSetAvailable",
                           f'ReplicaSet "{name}" has successfully progressed.')
        else:
            progressing = ("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
        status["conditions"] = _conditions((d.get("status") or {}).get("conditions"), [available_condition, progressing],
                                           update_time=True)
        d["status"] = status

    def _free_name(self, owner: dict[str, Any]) -> str:
        m = owner["metadata"]
        while True:
            name = meta.generate_name(f'{m["name"]}-')
            if self.store.get(PODS, m.get("namespace", ""), name) is None:
                return name

    def _put(self, key: Key, wanted: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """Create ``wanted`` or bring ``current`` to it (labels, annotations, owners and everything but
        status); metadata the server keeps (uid, creationTimestamp, generation) is kept."""
        if current is None:
            new = copy.deepcopy(wanted)
            new["metadata"].update(uid=meta.new_uid(), creationTimestamp=meta.now())
            if key in (DEPLOYMENTS, REPLICA_SETS, DAEMONSETS):
                new["metadata"]["generation"] = 1
            return self.store.write(key, new).obj
        new = copy.deepcopy(current)
        for field in ("labels", "annotations", "ownerReferences"):
            if wanted["metadata"].get(field):
                new["metadata"][field] = copy.deepcopy(wanted["metadata"][field])
        for field, value in wanted.items():
            if field not in ("metadata", "status", "apiVersion", "kind"):
                new[field] = copy.deepcopy(value)
        if new == current:
            return current
        if "generation" in current["metadata"]:
            new["metadata"]["generation"] = meta.next_generation(current, new)
        return self.store.write(key, new).obj

    # --- DaemonSet pods ("daemonset-pods") -------------------------------------------------------

    def daemonset_pods(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == NODES:
            targets = self.store.list(DAEMONSETS)
        elif key == PODS:
            ds = self._owner(obj, DAEMONSETS, "DaemonSet")
            targets = [ds] if ds is not None else []
        else:
            targets = [] if deleted else [obj]
        for ds in targets:
            self._run_daemonset(ds)
            if "daemonsets" in self.enabled:
                self.daemonset(DAEMONSETS, ds)

    def _run_daemonset(self, obj: dict[str, Any]) -> None:
        """One pod of the current template per node the DaemonSet's pods fit; others go."""
        m = obj["metadata"]
        with self.store.lock:
            ds = self.store.get(DAEMONSETS, m.get("namespace", ""), m["name"])
            if ds is None or _terminating(ds):
                return
            template = (ds.get("spec") or {}).get("template") or {}
            digest = _template_hash(template)
            wanted = {n["metadata"]["name"] for n in self._daemon_nodes(ds)}
            kept = {n["metadata"]["name"] for n in self._daemon_nodes(ds, ("NoExecute",))}
            pods = [p for p in _owned(self.store.list(PODS, m.get("namespace", "")), ds["metadata"].get("uid"))
                    if not _terminating(p)]
            # OnDelete: a pod of an older template stays until someone deletes it (a node-by-node upgrade).
            on_delete = (((ds.get("spec") or {}).get("updateStrategy") or {}).get("type")) == "OnDelete"
            placed: set[str] = set()
            for pod in pods:
                node = _daemon_target(pod)
                labels = pod["metadata"].get("labels") or {}
                outdated = labels.get(REVISION_HASH) != digest and not on_delete
                if node not in kept or node in placed or outdated:
                    self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
                else:
                    placed.add(node)
            for node in sorted(wanted - placed):  # a node that stopped being wanted keeps its pod
                extra = {REVISION_HASH: digest, TEMPLATE_GENERATION: str(ds["metadata"].get("generation", 1))}
                pod = _new_pod(ds, "apps/v1", "DaemonSet", template, self._free_name(ds), extra)
                _bind_daemon_pod(pod, node)
                self.store.write(PODS, pod)

    def _daemon_nodes(self, ds: dict[str, Any],
                      effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> list[dict[str, Any]]:
        """The nodes the DaemonSet's pods should run on (its template's with the tolerations the
        DaemonSet controller adds); with ``effects=("NoExecute",)`` those where a pod may stay."""
        spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
        spec["tolerations"] = list(spec.get("tolerations") or []) + _daemon_tolerations(spec)
        return [n for n in self.store.list(NODES) if _fits({"spec": spec}, n, effects)]

    def _daemonset_status(self, ds: dict[str, Any]) -> None:
        m = ds["metadata"]
        digest = _template_hash(((ds.get("spec") or {}).get("template")))
        wanted = {n["metadata"]["name"] for n in self._daemon_nodes(ds)}
        pods = [p for p in _owned(self.store.list(PODS, m.get("namespace", "")), m.get("uid")) if not _terminating(p)]
        on = {_daemon_target(p) for p in pods}
        ready = [p for p in pods if _ready(p) and _daemon_target(p) in wanted]
        status: dict[str, Any] = {
            "currentNumberScheduled": len(on & wanted), "desiredNumberScheduled": len(wanted),
            "numberMisscheduled": len(on - wanted), "numberReady": len(ready),
            "observedGeneration": m.get("generation", 1),
            "updatedNumberScheduled": sum(1 for p in pods if _daemon_target(p) in wanted
                                          and (p["metadata"].get("labels") or {}).get(REVISION_HASH) == digest),
        }
        if ready:
            status["numberAvailable"] = len(ready)
        if len(wanted) - len(ready) > 0:
            status["numberUnavailable"] = len(wanted) - len(ready)
        ds["status"] = status

    # --- istiod: webhook CA bundles ("webhook-ca") -----------------------------------------------

    def webhook_ca(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if deleted:
            return
        if key == DEPLOYMENTS:
            if not _is_istiod(obj):
                return
            configs = [(k, c) for k in (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS) for c in self.store.list(k)]
        else:
            configs = [(key, obj)]
        running = {_revision_of(d) for d in self._running_istiods()}
        for config_key, config in configs:
            if (config["metadata"].get("labels") or {}).get(REV_LABEL) in running:
                self._update(config_key, config, _patch_ca if config_key == MUTATING_WEBHOOKS else _patch_validation)

    def _running_istiods(self) -> list[dict[str, Any]]:
        return [d for d in self.store.list(DEPLOYMENTS) if _is_istiod(d) and not _terminating(d)
                and int((d.get("status") or {}).get("readyReplicas") or 0) > 0]

    # --- istiod: GatewayClasses ("istio-gatewayclasses") -----------------------------------------

    def istio_gatewayclasses(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == DEPLOYMENTS and not _is_istiod(obj):
            return
        if key == CRDS and obj["metadata"]["name"] != GATEWAY_CLASS_CRD:
            return
        if key == GATEWAY_CLASSES and not deleted:
            return
        with self.store.lock:
            crd = self.store.get(CRDS, "", GATEWAY_CLASS_CRD)
            if crd is None or _terminating(crd):
                return
            version = next((v.get("name") for v in (crd.get("spec") or {}).get("versions") or []
                            if v.get("storage")), "v1")
            env: dict[str, str] = {}
            for d in self._running_istiods():
                for name, value in _istiod_env(d).items():
                    if _true(value):
                        env[name] = value
            if not self._running_istiods():
                return
            for name, (controller, description, switch) in ISTIO_CLASSES.items():
                if switch and not _true(env.get(switch, "")):
                    continue
                if self.store.get(GATEWAY_CLASSES, "", name) is not None:
                    continue  # istiod creates its classes but never changes them
                self.store.write(GATEWAY_CLASSES, {
                    "apiVersion": f"gateway.networking.k8s.io/{version}", "kind": "GatewayClass",
                    "metadata": {"name": name, "uid": meta.new_uid(), "creationTimestamp": meta.now(), "generation": 1},
                    "spec": {"controllerName": controller, "description": description},
                })

    # --- istiod: gateway Deployments ("gateway-deployments") -------------------------------------

    def gateway_deployments(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == GATEWAYS:
            gateways = [] if deleted else [obj]
        elif key == GATEWAY_CLASSES:
            gateways = [g for g in self.store.list(GATEWAYS)
                        if (g.get("spec") or {}).get("gatewayClassName") == obj["metadata"]["name"]]
        elif key == DEPLOYMENTS and _is_istiod(obj):
            gateways = self.store.list(GATEWAYS)
        else:
            owner = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("kind") == "Gateway"), None)
            gw = self.store.get(GATEWAYS, obj["metadata"].get("namespace", ""), owner["name"]) if owner else None
            gateways = [gw] if gw is not None and gw["metadata"].get("uid") == owner.get("uid") else []
            if key == SERVICES and gateways and "gateways" in self.enabled:
                self.gateway(GATEWAYS, gateways[0])  # its address comes from the Service
        for gw in gateways:
            self._deploy_gateway(gw)

    def _deploy_gateway(self, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        with self.store.lock:
            gw = self.store.get(GATEWAYS, m.get("namespace", ""), m["name"])
            if gw is None or _terminating(gw):
                return
            spec = gw.get("spec") or {}
            class_name = spec.get("gatewayClassName", "")
            gc = self.store.get(GATEWAY_CLASSES, "", class_name)
            controller = (gc.get("spec") or {}).get("controllerName") if gc else DEFAULT_CONTROLLERS.get(class_name)
            info = GATEWAY_DEPLOYMENTS.get(controller or "")
            if info is None or spec.get("addresses"):
                return  # not istiod's, or an unmanaged gateway (its addresses name an existing one)
            revision = (m.get("labels") or {}).get(REV_LABEL, "default")
            istiods = self._running_istiods()
            istiod = next((d for d in istiods if _revision_of(d) == revision), None)
            if istiod is None:
                return
            for wanted in _gateway_objects(gw, class_name, info, istiod):
                current = self.store.get(_KIND_KEYS[wanted["kind"]], m.get("namespace", ""), wanted["metadata"]["name"])
                if current is not None and not any(r.get("uid") == m.get("uid")
                                                   for r in current["metadata"].get("ownerReferences") or []):
                    continue  # someone else's object of that name: leave it alone
                self._put(_KIND_KEYS[wanted["kind"]], wanted, current)
                if wanted["kind"] == "Service":
                    self._service_addresses_status(wanted["metadata"]["name"], m.get("namespace", ""))

    def _service_addresses_status(self, name: str, namespace: str) -> None:
        """A LoadBalancer Service gets an ingress address (what a cloud load balancer controller writes)."""
        svc = self.store.get(SERVICES, namespace, name)
        if svc is None or (svc.get("spec") or {}).get("type") != "LoadBalancer":
            return

        def change(s: dict[str, Any]) -> None:
            ip = _address("172.18", s["metadata"].get("uid", ""))
            s["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
        self._update(SERVICES, svc, change)

    def _gateway_service(self, gw: dict[str, Any]) -> dict[str, Any] | None:
        m = gw["metadata"]
        return next((s for s in _owned(self.store.list(SERVICES, m.get("namespace", "")), m.get("uid"))
                     if (s["metadata"].get("labels") or {}).get(GATEWAY_NAME_LABEL) == m["name"]), None)

    # --- istio-cni: ambient redirection ("ambient-redirection") ----------------------------------

    def ambient_redirection(self, key: Key, obj: dict[str, Any], deleted: bool) -> None:
        if key == NAMESPACES:
            pods = [] if deleted else self.store.list(PODS, obj["metadata"]["name"])
        elif _is_node_agent(obj):
            node = (obj.get("spec") or {}).get("nodeName")
            pods = [p for p in self.store.list(PODS) if node and (p.get("spec") or {}).get("nodeName") == node]
        else:
            pods = [] if deleted else [obj]
        for pod in pods:
            self._redirect(pod)

    def _redirect(self, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        with self.store.lock:
            pod = self.store.get(PODS, m.get("namespace", ""), m["name"])
            if pod is None or _terminating(pod):
                return
            current = (pod["metadata"].get("annotations") or {}).get(REDIRECTION)
            if current == "disabled":
                return  # opted out by annotation (older waypoints, users)
            ns = self.store.get(NAMESPACES, "", m.get("namespace", ""))
            enrolled = _ambient_enrolled(pod, ns)
            if enrolled and current != "enabled":
                if not self._node_agents_ready((pod.get("spec") or {}).get("nodeName") or ""):
                    return  # istio-cni adds the pod once its node has a ready ztunnel
                new = copy.deepcopy(pod)
                new["metadata"].setdefault("annotations", {})[REDIRECTION] = "enabled"
                self.store.write(PODS, new)
            elif not enrolled and current == "enabled":
                new = copy.deepcopy(pod)
                del new["metadata"]["annotations"][REDIRECTION]
                if not new["metadata"]["annotations"]:
                    del new["metadata"]["annotations"]
                self.store.write(PODS, new)

    def _node_agents_ready(self, node: str) -> bool:
        """A ready ztunnel and a ready istio-cni pod on the node."""
        if not node:
            return False
        found = set()
        for pod in self.store.list(PODS):
            if (pod.get("spec") or {}).get("nodeName") == node and _ready(pod) and not _terminating(pod):
                labels = pod["metadata"].get("labels") or {}
                found.update(agent for agent, (k, v) in NODE_AGENTS.items() if labels.get(k) == v)
        return found == set(NODE_AGENTS)


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
_SIMULATIONS: dict[str, Callable[[Controllers, Key, dict[str, Any], bool], None]] = {
    "kubelet": Controllers.kubelet,
    "replicasets": Controllers.replicasets,
    "daemonset-pods": Controllers.daemonset_pods,
    "webhook-ca": Controllers.webhook_ca,
    "istio-gatewayclasses": Controllers.istio_gatewayclasses,
    "gateway-deployments": Controllers.gateway_deployments,
    "ambient-redirection": Controllers.ambient_redirection,
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


# --- the simulated kubelet, scheduler and controllers: helpers ---------------------------------------

ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
REV_LABEL = "istio.io/rev"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
NETWORK_LABEL = "topology.istio.io/network"
# The node agents istio-cni needs on a pod's node before it redirects the pod: name -> pod label.
NODE_AGENTS: dict[str, tuple[str, str]] = {"ztunnel": ("app", "ztunnel"), "istio-cni": ("k8s-app", "istio-cni-node")}
FINISHED = ("Succeeded", "Failed")

# The GatewayClasses istiod creates (pilot/pkg/config/kube/gatewaycommon): name -> (controllerName,
# description, the istiod env variable that must be true for it, if any).
ISTIO_CLASSES: dict[str, tuple[str, str, str | None]] = {
    "istio": ("istio.io/gateway-controller", "The default Istio GatewayClass", None),
    "istio-remote": ("istio.io/unmanaged-gateway", "Remote to this cluster. Does not deploy or affect configuration.",
                     None),
    "istio-waypoint": ("istio.io/mesh-controller", "The default Istio waypoint GatewayClass", "PILOT_ENABLE_AMBIENT"),
    "istio-east-west": ("istio.io/eastwest-controller", "The default GatewayClass for Istio East West Gateways",
                        "AMBIENT_ENABLE_MULTI_NETWORK"),
    "istio-agentgateway": ("istio.io/agentgateway-controller", "Istio with Agentgateway.", "PILOT_ENABLE_AGENTGATEWAY"),
}
ISTIO_CONTROLLERS = frozenset(controller for controller, _, _ in ISTIO_CLASSES.values())
DEFAULT_CONTROLLERS = {name: controller for name, (controller, _, _) in ISTIO_CLASSES.items()}


class GatewayDeployment(NamedTuple):
    """How istiod deploys the Gateways of one controller."""

    managed: str  # the gateway.istio.io/managed label
    suffix: bool  # objects named <gateway>-<class> (else <gateway>)
    service_type: str
    role: str  # the proxy's mode: router (ingress) or waypoint (waypoints and east-west gateways)


GATEWAY_DEPLOYMENTS: dict[str, GatewayDeployment] = {
    "istio.io/gateway-controller": GatewayDeployment("istio.io-gateway-controller", True, "LoadBalancer", "router"),
    "istio.io/mesh-controller": GatewayDeployment("istio.io-mesh-controller", False, "ClusterIP", "waypoint"),
    "istio.io/eastwest-controller": GatewayDeployment("istio.io-eastwest-controller", False, "LoadBalancer", "waypoint"),
}
_KIND_KEYS: dict[str, Key] = {"ServiceAccount": SERVICE_ACCOUNTS, "Service": SERVICES, "Deployment": DEPLOYMENTS}

# Tolerations the DaemonSet controller gives every pod it makes (besides the template's).
_DAEMON_TOLERATIONS = (("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                       ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                       ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                       ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                       ("node.kubernetes.io/unschedulable", "NoSchedule"))


def simulated_nodes(cluster: str, count: int, kubelet_version: str = "v1.32.2") -> list[dict[str, Any]]:
    """``count`` Ready Linux nodes named as kind names them (``<cluster>-control-plane``,
    ``<cluster>-worker``, ``<cluster>-worker2``...), spread over three zones. With more than one node
    the control plane is tainted NoSchedule, as kind and kubeadm do."""
    nodes = []
    stamp = meta.now()
    for i in range(count):
        name = f"{cluster}-control-plane" if i == 0 else f"{cluster}-worker{'' if i == 1 else i}"
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                  REGION_LABEL: "region-1", ZONE_LABEL: f"region-1{'abc'[i % 3]}"}
        spec: dict[str, Any] = {"podCIDR": f"10.244.{i}.0/24", "podCIDRs": [f"10.244.{i}.0/24"],
                                "providerID": f"fakekube://{cluster}/{name}"}
        if i == 0:
            labels.update({"node-role.kubernetes.io/control-plane": "",
                           "node.kubernetes.io/exclude-from-external-load-balancers": ""})
            if count > 1:
                spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        ident = hashlib.sha256(f"{cluster}/{name}".encode()).hexdigest()
        conditions = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        capacity = {"cpu": "8", "ephemeral-storage": "102400Mi", "hugepages-2Mi": "0", "memory": "16384Mi", "pods": "110"}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "annotations": {
                "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec,
            "status": {
                "addresses": [{"type": "InternalIP", "address": f"10.0.0.{i + 2}"}, {"type": "Hostname", "address": name}],
                "allocatable": dict(capacity), "capacity": dict(capacity),
                "conditions": [{"type": t, "status": st, "reason": r, "message": msg, "lastHeartbeatTime": stamp,
                                "lastTransitionTime": stamp} for t, st, r, msg in conditions],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"architecture": "amd64", "bootID": ident[:32], "machineID": ident[32:],
                             "systemUUID": str(uuid.UUID(ident[:32])), "containerRuntimeVersion": "containerd://2.0.3",
                             "kernelVersion": "6.8.0-fakekube", "kubeProxyVersion": kubelet_version,
                             "kubeletVersion": kubelet_version, "operatingSystem": "linux",
                             "osImage": "Debian GNU/Linux 12 (bookworm)"},
            },
        })
    return nodes


def _terminating(obj: dict[str, Any] | None) -> bool:
    return bool(obj and (obj.get("metadata") or {}).get("deletionTimestamp"))


def _true(value: Any) -> bool:
    """Go's strconv.ParseBool, the way istiod reads its switches."""
    return str(value).strip().lower() in ("1", "t", "true")


def _controller_of(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or []
                 if r.get("controller") and r.get("kind") == kind), None)


def _owner_ref(owner: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """The reference a built-in controller puts on what it makes (what garbage collection follows)."""
    m = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": m["name"], "uid": m.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def _replicas(spec: dict[str, Any]) -> int:
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def _revision(rs: dict[str, Any] | None) -> int:
    try:
        return int(((rs or {}).get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
    except ValueError:
        return 0


def _rolling_value(spec: dict[str, Any], field: str, replicas: int, round_up: bool) -> int:
    """maxSurge (rounded up) or maxUnavailable (rounded down) of a RollingUpdate Deployment (25% by default)."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get(field, "25%")
    if isinstance(value, str) and value.endswith("%"):
        share = replicas * int(value[:-1] or 0) / 100
        return int(-(-share // 1)) if round_up else int(share // 1)
    return int(value)


def _surge(spec: dict[str, Any], replicas: int) -> int:
    return _rolling_value(spec, "maxSurge", replicas, True)


def _max_unavailable(spec: dict[str, Any], replicas: int) -> int:
    return _rolling_value(spec, "maxUnavailable", replicas, False)


def _new_pod(owner: dict[str, Any], api_version: str, kind: str, template: dict[str, Any], name: str,
             extra_labels: dict[str, str]) -> dict[str, Any]:
    """A pod of a controller, as the API server stores it after admission: Pending, unscheduled."""
    m = owner["metadata"]
    tm = template.get("metadata") or {}
    spec = copy.deepcopy(template.get("spec") or {})
    for field, value in (("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst"),
                         ("schedulerName", "default-scheduler"), ("terminationGracePeriodSeconds", 30),
                         ("securityContext", {}), ("enableServiceLinks", True),
                         ("preemptionPolicy", "PreemptLowerPriority")):
        spec.setdefault(field, value)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("priority", {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}.get(
        spec.get("priorityClassName", ""), 0))
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        image = str(container.get("image", ""))
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        pinned = tagged and not image.endswith(":latest")
        container.setdefault("imagePullPolicy", "IfNotPresent" if pinned else "Always")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
    # The DefaultTolerationSeconds admission plugin: 5 minutes on a node that is not ready or unreachable.
    tolerations = list(spec.get("tolerations") or [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec["tolerations"] = tolerations
    metadata: dict[str, Any] = {
        "name": name, "generateName": f'{m["name"]}-', "namespace": m.get("namespace", ""), "uid": meta.new_uid(),
        "creationTimestamp": meta.now(), "labels": {**(tm.get("labels") or {}), **extra_labels},
        "ownerReferences": [_owner_ref(owner, api_version, kind)]}
    if tm.get("annotations"):
        metadata["annotations"] = copy.deepcopy(tm["annotations"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    pod["status"] = {"phase": "Pending", "qosClass": _qos_class(pod)}
    return pod


def _daemon_tolerations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    have = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations") or []}
    wanted = list(_DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    return [{"key": k, "operator": "Exists", "effect": e} for k, e in wanted if (k, e) not in have]


def _bind_daemon_pod(pod: dict[str, Any], node: str) -> None:
    """What the DaemonSet controller does to aim a pod at one node: node affinity on its name, its
    tolerations."""
    spec = pod["spec"]
    spec["tolerations"] = [t for t in spec.get("tolerations") or [] if "tolerationSeconds" not in t] + \
        _daemon_tolerations({**spec, "tolerations": [t for t in spec.get("tolerations") or []
                                                     if "tolerationSeconds" not in t]})
    affinity = spec.setdefault("affinity", {})
    affinity.setdefault("nodeAffinity", {})["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}


def _daemon_target(pod: dict[str, Any]) -> str:
    """The node a DaemonSet pod is for: where it runs, or where its node affinity points."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return ""


def _node_ready(node: dict[str, Any]) -> str:
    """The node's Ready condition status ("True" when it reports none, as meshctl reads it)."""
    return next((c.get("status", "Unknown") for c in (node.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"), "True")


def _node_taints(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's taints, with those the node lifecycle controller adds for its conditions."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    ready = _node_ready(node)
    if ready == "False":
        taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
    elif ready != "True":
        taints.append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"})
    if (node.get("spec") or {}).get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    return taints


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def _requirement(expression: dict[str, Any], value: str | None) -> bool:
    op, values = expression.get("operator"), [str(v) for v in expression.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def _fits(pod: dict[str, Any], node: dict[str, Any], effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> bool:
    """Whether the scheduler could place the pod on the node: nodeSelector, required node affinity,
    taints (of these effects) against the pod's tolerations. With ``effects=("NoExecute",)``:
    whether a pod already there may stay."""
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    if terms and not any(
            all(_requirement(e, labels.get(e.get("key", ""))) for e in term.get("matchExpressions") or [])
            and all(_requirement(f, node["metadata"]["name"] if f.get("key") == "metadata.name" else None)
                    for f in term.get("matchFields") or [])
            for term in terms):
        return False
    tolerations = spec.get("tolerations") or []
    return all(any(_tolerates(t, taint) for t in tolerations)
               for taint in _node_taints(node) if taint.get("effect") in effects)


def _pick_node(pod: dict[str, Any], nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node the scheduler would pick: one that fits, with the fewest pods of the same owner, then
    the fewest pods."""
    fitting = [n for n in nodes if _fits(pod, n)]
    if not fitting:
        return None
    owner = next((r.get("uid") for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
    same: dict[str, int] = {}
    total: dict[str, int] = {}
    for p in pods:
        where = (p.get("spec") or {}).get("nodeName")
        if not where or (p.get("status") or {}).get("phase") in FINISHED:
            continue
        total[where] = total.get(where, 0) + 1
        if owner and any(r.get("uid") == owner for r in p["metadata"].get("ownerReferences") or []):
            same[where] = same.get(where, 0) + 1
    return min(fitting, key=lambda n: (same.get(n["metadata"]["name"], 0), total.get(n["metadata"]["name"], 0),
                                       n["metadata"]["name"]))


def _qos_class(pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    if all((r.get("limits") or {}).get(x) and (r.get("requests") or r.get("limits") or {}).get(x) == r["limits"][x]
           for r in resources for x in ("cpu", "memory")):
        return "Guaranteed"
    return "Burstable"


def _node_ip(node: dict[str, Any]) -> str:
    return next((a.get("address", "") for a in (node.get("status") or {}).get("addresses") or []
                 if a.get("type") == "InternalIP"), "10.0.0.2")


def _pod_conditions(old: dict[str, Any], wanted: list[tuple[str, str]], stamp: str) -> list[dict[str, Any]]:
    """Pod conditions, keeping a condition's lastTransitionTime while its status stays."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    out = []
    for ctype, status in wanted:
        prev = before.get(ctype) or {}
        cond = {"type": ctype, "status": status, "lastProbeTime": None,
                "lastTransitionTime": prev.get("lastTransitionTime", stamp) if prev.get("status") == status else stamp}
        if ctype in ("Ready", "ContainersReady") and status != "True":
            cond["reason"] = "ContainersNotReady" if ctype == "ContainersReady" else "NodeNotReady"
        out.append(cond)
    return out


def _unschedulable_status(pod: dict[str, Any], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    old = pod.get("status") or {}
    message = (f"0/{len(nodes)} nodes are available: {len(nodes)} node(s) didn't match Pod's node affinity/selector "
               "or had untolerated taints. preemption: not eligible." if nodes else "no nodes available to schedule pods")
    [cond] = _pod_conditions(old, [("PodScheduled", "False")], meta.now())
    cond.update(reason="Unschedulable", message=message)
    return {"phase": "Pending", "conditions": [cond], "qosClass": _qos_class(pod)}


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _image_id(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rfind(":")]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in name.split("/")[0] and ":" not in name.split("/")[0] and name.split("/")[0] != "localhost":
        name = f"docker.io/{name}"
    return f"{name}@sha256:{_digest(image)}"


def _kubelet_status(pod: dict[str, Any], node: dict[str, Any], ip: str) -> dict[str, Any]:
    """What the kubelet reports for a pod running on the node: Running; Ready while the node is."""
    old = pod.get("status") or {}
    stamp = meta.now()
    start = old.get("startTime") if old.get("phase") == "Running" and old.get("startTime") else stamp
    ready = _node_ready(node) == "True"
    flag = "True" if ready else "False"
    spec = pod.get("spec") or {}
    uid = pod["metadata"].get("uid", "")

    def container_status(c: dict[str, Any], state: dict[str, Any], is_ready: bool) -> dict[str, Any]:
        image = str(c.get("image", ""))
        return {"name": c.get("name", ""), "image": image, "imageID": _image_id(image),
                "containerID": f"containerd://{_digest(uid, str(c.get('name', '')))}", "ready": is_ready,
                "restartCount": 0, "started": "running" in state, "state": state}

    running = {"running": {"startedAt": start}}
    done = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": start,
                           "containerID": ""}}
    status: dict[str, Any] = {
        "phase": "Running",
        "conditions": _pod_conditions(old, [("PodReadyToStartContainers", "True"), ("Initialized", "True"),
                                            ("Ready", flag), ("ContainersReady", flag), ("PodScheduled", "True")], stamp),
        "hostIP": _node_ip(node), "hostIPs": [{"ip": _node_ip(node)}], "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": start,
    }
    inits = spec.get("initContainers") or []
    if inits:
        statuses = []
        for c in inits:
            sidecar = c.get("restartPolicy") == "Always"  # a native sidecar keeps running
            finished = {**done["terminated"], "containerID": f"containerd://{_digest(uid, str(c.get('name', '')))}"}
            state = running if sidecar else {"terminated": finished}
            statuses.append(container_status(c, state, ready if sidecar else False))
        status["initContainerStatuses"] = statuses
    status["containerStatuses"] = [container_status(c, running, ready) for c in spec.get("containers") or []]
    status["qosClass"] = _qos_class(pod)
    return status


def _is_istiod(obj: dict[str, Any]) -> bool:
    return (obj["metadata"].get("labels") or {}).get("app") == "istiod"


def _revision_of(obj: dict[str, Any]) -> str:
    return (obj["metadata"].get("labels") or {}).get(REV_LABEL) or "default"


def _istiod_container(d: dict[str, Any]) -> dict[str, Any]:
    containers = (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return next((c for c in containers if c.get("name") == "discovery"), containers[0] if containers else {})


def _istiod_env(d: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value")) for e in _istiod_container(d).get("env") or []
            if isinstance(e, dict) and e.get("value") is not None}


def _proxy_image(istiod: dict[str, Any]) -> str:
    """The proxyv2 image beside istiod's pilot image (same registry and tag)."""
    image = str(_istiod_container(istiod).get("image") or "")
    where, _, last = image.rpartition("/")
    name, _, tag = last.partition(":")
    if not image or name != "pilot":
        return f"docker.io/istio/proxyv2:{tag or 'latest'}"
    return f"{where}/proxyv2:{tag}" if tag else f"{where}/proxyv2"


def _patch_ca(config: dict[str, Any]) -> None:
    """istiod's webhook patcher: the CA bundle into its injection webhooks."""
    for hook in config.get("webhooks") or []:
        if str(hook.get("name", "")).endswith("sidecar-injector.istio.io"):
            hook.setdefault("clientConfig", {})["caBundle"] = FAKE_CA


def _patch_validation(config: dict[str, Any]) -> None:
    """istiod's validation controller: the CA bundle into every webhook, and failurePolicy Fail once its
    webhook serves."""
    for hook in config.get("webhooks") or []:
        hook.setdefault("clientConfig", {})["caBundle"] = FAKE_CA
        hook["failurePolicy"] = "Fail"


def _address(prefix: str, seed: str) -> str:
    """A stable address in ``prefix``/16 for an object (seeded by its uid, so that clusters differ)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return f"{prefix}.{digest[0]}.{digest[1] % 254 + 1}"


def _service_addresses(service: dict[str, Any]) -> list[dict[str, str]]:
    """A Gateway's addresses from the Service istiod made for it: the load balancer's, else the
    cluster IP and the Service's host name."""
    m, spec = service["metadata"], service.get("spec") or {}
    ingress = (((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])
    found = [{"type": "IPAddress", "value": i["ip"]} for i in ingress if i.get("ip")] + \
        [{"type": "Hostname", "value": i["hostname"]} for i in ingress if i.get("hostname")]
    if found:
        return found
    host = {"type": "Hostname", "value": f'{m["name"]}.{m.get("namespace", "")}.svc.cluster.local'}
    if spec.get("type") != "LoadBalancer" and spec.get("clusterIP") not in (None, "", "None"):
        return [{"type": "IPAddress", "value": spec["clusterIP"]}, host]
    return [host]


def _gateway_objects(gw: dict[str, Any], class_name: str, info: GatewayDeployment,
                     istiod: dict[str, Any]) -> list[dict[str, Any]]:
    """The ServiceAccount, Service and Deployment istiod's gateway controller applies for a Gateway
    (shapes of pilot/pkg/config/kube/gateway/templates, trimmed to what readers look at)."""
    m = gw["metadata"]
    namespace = m.get("namespace", "")
    annotations = m.get("annotations") or {}
    name = annotations.get("gateway.istio.io/name-override") or \
        (f'{m["name"]}-{class_name}' if info.suffix else m["name"])
    account = annotations.get("gateway.istio.io/service-account") or name
    labels = {"gateway.istio.io/managed": info.managed, "gateway.networking.k8s.io/gateway-class-name": class_name,
              GATEWAY_NAME_LABEL: m["name"]}
    network = (m.get("labels") or {}).get(NETWORK_LABEL)
    if network:
        labels[NETWORK_LABEL] = network
    owner = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": m["name"], "uid": m.get("uid", "")}

    def metadata(object_name: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": object_name, "namespace": namespace, "labels": dict(labels),
                               "ownerReferences": [dict(owner)]}
        if extra:
            out["annotations"] = extra
        return out

    ports = [{"name": "status-port", "port": 15021, "protocol": "TCP", "appProtocol": "tcp"}]
    seen = {15021}
    for i, listener in enumerate((gw.get("spec") or {}).get("listeners") or []):
        port, protocol = listener.get("port"), str(listener.get("protocol", ""))
        if not isinstance(port, int) or port in seen:
            continue
        seen.add(port)
        ports.append({"name": listener.get("name") or f"{protocol.lower()}-{i}", "port": port,
                      "protocol": "UDP" if protocol == "UDP" else "TCP",
                      "appProtocol": "all" if protocol == "HBONE" else protocol.lower()})
    cluster_ip = _address("10.96", m.get("uid", ""))
    service_spec: dict[str, Any] = {"type": info.service_type, "selector": {GATEWAY_NAME_LABEL: m["name"]},
                                    "ports": ports, "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                                    "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"}
    if info.service_type == "LoadBalancer":
        service_spec.update(externalTrafficPolicy="Cluster", allocateLoadBalancerNodePorts=True)
    service_annotations = {"networking.istio.io/traffic-distribution": "PreferClose"} \
        if info.managed == "istio.io-eastwest-controller" else None
    pod_labels = {**labels, "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                  "sidecar.istio.io/inject": "false"}
    if info.role == "waypoint":
        pod_labels[DATAPLANE_MODE] = "none"  # waypoints and east-west gateways are never captured
    container_ports = [{"containerPort": 15020, "name": "metrics", "protocol": "TCP"}] if info.role == "router" else []
    container_ports += [{"containerPort": 15021, "name": "status-port", "protocol": "TCP"},
                        {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(name),
        "spec": {
            "selector": {"matchLabels": {GATEWAY_NAME_LABEL: m["name"]}},
            "template": {
                "metadata": {"labels": pod_labels,
                             "annotations": {REV_LABEL: _revision_of(istiod), "prometheus.io/path": "/stats/prometheus",
                                             "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": account,
                    "terminationGracePeriodSeconds": 2,
                    "containers": [{
                        "name": "istio-proxy", "image": _proxy_image(istiod),
                        "args": ["proxy", info.role, "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                 "--serviceCluster", f"{name}.$(POD_NAMESPACE)"],
                        "ports": container_ports,
                        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                                           "failureThreshold": 4, "periodSeconds": 15, "timeoutSeconds": 1},
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "2", "memory": "1Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                            "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                            "runAsUser": 1337, "runAsGroup": 1337,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }
    return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(account)},
            {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name, service_annotations),
             "spec": service_spec},
            deployment]


def _is_node_agent(pod: dict[str, Any]) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return any(labels.get(k) == v for k, v in NODE_AGENTS.values())


def _ambient_enrolled(pod: dict[str, Any], namespace: dict[str, Any] | None) -> bool:
    """Whether istio-cni captures the pod: enrolled itself or through its namespace, not opted out, no
    sidecar, not on the host network, not finished."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork") or (pod.get("status") or {}).get("phase") in FINISHED:
        return False
    if SIDECAR_STATUS in (pod["metadata"].get("annotations") or {}):
        return False
    mode = (pod["metadata"].get("labels") or {}).get(DATAPLANE_MODE)
    if mode is not None:
        return mode == "ambient"
    return ((namespace or {}).get("metadata", {}).get("labels") or {}).get(DATAPLANE_MODE) == "ambient"
