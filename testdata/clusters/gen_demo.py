#!/usr/bin/env python3
"""Generate the two-cluster ambient demo snapshot in testdata/clusters/demo/.

Run from the repository root:  python3 testdata/clusters/gen_demo.py

The output is rewritten completely and byte-identically on every run: timestamps are fixed, uids are
uuid5 of cluster/resource/namespace/name, every "random" suffix is a hash of the object's identity.

The CRD objects are derived, at generation time only, from the upstream bundles (Istio's base chart,
the Gateway API standard install, the Inference Extension manifests); their OpenAPI schemas are
dropped as the snapshot format requires. Set MESHCTL_UPSTREAM_DIR to point at another copy of them.
The snapshot itself never refers to those files.

Everything else (workloads, Istio's objects, the applications and the deliberate misconfigurations
listed in demo/README.md) is this script's own description of a realistic install, not a copy of
Istio's charts or templates.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import sys
import tarfile
import uuid
from collections import defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from meshctl.kube import kinds as K  # noqa: E402

OUT = HERE / "demo"
UPSTREAM = Path(os.environ.get("MESHCTL_UPSTREAM_DIR", REPO.parent / "shared" / "data" / "upstream"))
ISTIO_BASE_TGZ = UPSTREAM / "base-1.30.3.tgz"
GATEWAY_API_BUNDLE = UPSTREAM / "gateway-api-v1.5.1-standard-install.yaml"
INFERENCE_BUNDLE = UPSTREAM / "gateway-api-inference-extension-v1.6.0-manifests.yaml"

# --------------------------------------------------------------------------------------------------
# Facts of the demo
# --------------------------------------------------------------------------------------------------
MESHCTL_VERSION = "0.1.0"
CAPTURED = "2026-11-20T09:00:00Z"
K8S_VERSION = "v1.32.2"
ISTIO_VERSION = "1.30.3"
HUB = "registry.istio.io/release"
ISTIO_TAG = f"{ISTIO_VERSION}-distroless"
MESH_ID = "mesh1"
TRUST_DOMAIN = "cluster.local"
ISTIOD_ADDR = "istiod.istio-system.svc:15012"
BOOKINFO_TAG = "1.20.3"
VLLM_IMAGE = "docker.io/vllm/vllm-openai:v0.11.0"
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp:v1.6.0"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"

ISTIO_MANAGED_NAMESPACES_SKIP = {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated suffixes
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://meshctl.dev/testdata/clusters/demo")


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def ts(day: int, hour: int, minute: int = 0, second: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def after(stamp: str, seconds: int) -> str:
    t = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def suffix(n: int, *parts: str) -> str:
    raw = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in raw[:n])


def srt(d: dict | None) -> dict:
    return {k: d[k] for k in sorted(d)} if d else {}


def cond(type_: str, status: str, reason: str | None, message: str | None, when: str, **extra) -> dict:
    c = {"type": type_, "status": status}
    if "observedGeneration" in extra:
        c["observedGeneration"] = extra.pop("observedGeneration")
    c["lastTransitionTime"] = when
    if reason is not None:
        c["reason"] = reason
    if message is not None:
        c["message"] = message
    c.update(extra)
    return c


def env(name: str, value: str | None = None, field: str | None = None, resource: str | None = None,
        secret: tuple[str, str] | None = None, divisor: str | None = None) -> dict:
    e: dict = {"name": name}
    if value is not None:
        e["value"] = value
    elif field is not None:
        e["valueFrom"] = {"fieldRef": {"apiVersion": "v1", "fieldPath": field}}
    elif resource is not None:
        ref = {"divisor": divisor or "0", "resource": resource}
        e["valueFrom"] = {"resourceFieldRef": ref}
    elif secret is not None:
        e["valueFrom"] = {"secretKeyRef": {"key": secret[1], "name": secret[0]}}
    else:
        e["value"] = ""
    return e


def port(name: str | None, number: int, protocol: str = "TCP") -> dict:
    p = {"containerPort": number, "protocol": protocol}
    if name:
        p["name"] = name
    return p


def http_probe(path: str, port_: int | str, initial: int = 0, period: int = 10, timeout: int = 1,
               failure: int = 3) -> dict:
    return {
        "failureThreshold": failure,
        "httpGet": {"path": path, "port": port_, "scheme": "HTTP"},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "successThreshold": 1,
        "timeoutSeconds": timeout,
    }


def image_id(image: str) -> str:
    repo = image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
    return f"{repo}@sha256:{digest('image', image)}"


# --------------------------------------------------------------------------------------------------
# Object canonicalisation and YAML output
# --------------------------------------------------------------------------------------------------
TOP_ORDER = ["apiVersion", "kind", "metadata", "spec", "type", "immutable", "data", "stringData",
             "webhooks", "rules", "aggregationRule", "roleRef", "subjects", "secrets",
             "addressType", "endpoints", "ports", "subsets"]
META_ORDER = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation",
              "creationTimestamp", "labels", "annotations", "ownerReferences", "finalizers"]


def _sorted_deep(v):
    if isinstance(v, dict):
        return {k: _sorted_deep(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_sorted_deep(x) for x in v]
    return v


def canonical(obj: dict) -> dict:
    """Top level and metadata in Kubernetes order, everything below sorted like kubectl prints it."""
    out: dict = {}
    keys = [k for k in TOP_ORDER if k in obj] + sorted(k for k in obj if k not in TOP_ORDER and k != "status")
    if "status" in obj:
        keys.append("status")
    for k in keys:
        if k == "metadata":
            m = obj["metadata"]
            mk = [x for x in META_ORDER if x in m] + sorted(x for x in m if x not in META_ORDER)
            out[k] = {x: _sorted_deep(m[x]) for x in mk}
        else:
            out[k] = _sorted_deep(obj[k])
    return out


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # never emit anchors
        return True


def _represent_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump(doc) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100000)


# --------------------------------------------------------------------------------------------------
# The cluster being built
# --------------------------------------------------------------------------------------------------
class Cluster:
    def __init__(self, name: str, *, api_port: int, network: str, nodes: list[tuple[str, str, bool]],
                 pod_net: str, svc_net: str, lb_ips: list[str], created: str, peer: str):
        self.name = name
        self.context = f"kind-{name}"
        self.server = f"https://127.0.0.1:{api_port}"
        self.network = network
        self.peer = peer
        self.created = created
        self.objects: dict[K.Kind, list[dict]] = defaultdict(list)
        self.index: dict[tuple[str, str, str], dict] = {}
        self._rv = 1000
        self.pod_net = ipaddress.ip_network(pod_net)
        self.svc_net = ipaddress.ip_network(svc_net)
        self._lb_ips = list(lb_ips)
        self._used_svc_ips: set[str] = set()
        self._used_node_ports: set[int] = set()
        self._pod_ip_next: dict[str, int] = {}
        self.nodes: list[dict] = []  # {name, ip, cidr, control_plane}
        subnets = list(self.pod_net.subnets(new_prefix=24))
        for i, (node, ip, cp) in enumerate(nodes):
            self.nodes.append({"name": node, "ip": ip, "cidr": str(subnets[i]), "control_plane": cp})
            self._pod_ip_next[node] = 2
        self.namespaces: dict[str, dict] = {}
        self.crds: set[str] = set()

    # identity -------------------------------------------------------------------------------------
    def uid(self, kind: K.Kind, name: str, namespace: str | None = None) -> str:
        return str(uuid.uuid5(UID_NAMESPACE, f"{self.name}/{kind.resource}/{namespace or ''}/{name}"))

    def owner(self, kind: K.Kind, name: str, namespace: str | None = None, controller: bool = True,
              block: bool = True) -> dict:
        ref = {"apiVersion": kind.api_version, "kind": kind.kind, "name": name,
               "uid": self.uid(kind, name, namespace)}
        if controller:
            ref["controller"] = True
        if block:
            ref["blockOwnerDeletion"] = True
        return ref

    def add(self, kind: K.Kind, obj: dict) -> dict:
        meta = obj["metadata"]
        ns = meta.get("namespace")
        if kind.namespaced != bool(ns):
            raise ValueError(f"{kind} {meta['name']}: namespace mismatch")
        key = (kind.resource, ns or "", meta["name"])
        if key in self.index:
            raise ValueError(f"duplicate object {key} in {self.name}")
        self._rv += 1
        meta["uid"] = self.uid(kind, meta["name"], ns)
        meta["resourceVersion"] = self._rv  # replaced by assign_resource_versions()
        for k in ("labels", "annotations"):
            if k in meta and not meta[k]:
                del meta[k]
        full = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        self.objects[kind].append(full)
        self.index[key] = full
        return full

    def assign_resource_versions(self) -> None:
        """resourceVersions that grow with creation time, as an API server would have handed them out."""
        objs = [o for items in self.objects.values() for o in items]
        objs.sort(key=lambda o: (o["metadata"]["creationTimestamp"], o["metadata"]["resourceVersion"]))
        for i, o in enumerate(objs):
            o["metadata"]["resourceVersion"] = str(1000 + 7 * i + int(digest(o["metadata"]["uid"])[:2], 16) % 7)

    def get(self, kind: K.Kind, name: str, namespace: str | None = None) -> dict | None:
        return self.index.get((kind.resource, namespace or "", name))

    # address allocation ---------------------------------------------------------------------------
    def node(self, name: str) -> dict:
        return next(n for n in self.nodes if n["name"] == name)

    def pod_ip(self, node: str) -> str:
        net = ipaddress.ip_network(self.node(node)["cidr"])
        i = self._pod_ip_next[node]
        self._pod_ip_next[node] = i + 1
        return str(net.network_address + i)

    def cluster_ip(self, namespace: str, name: str) -> str:
        if (namespace, name) == ("default", "kubernetes"):
            ip = str(self.svc_net.network_address + 1)
        elif (namespace, name) == ("kube-system", "kube-dns"):
            ip = str(self.svc_net.network_address + 10)
        else:
            size = self.svc_net.num_addresses
            n = int(digest(self.name, "svc", namespace, name), 16) % (size - 300) + 256
            while str(self.svc_net.network_address + n) in self._used_svc_ips:
                n += 1
            ip = str(self.svc_net.network_address + n)
        self._used_svc_ips.add(ip)
        return ip

    def node_port(self, namespace: str, name: str, port_name: str) -> int:
        # Same object, same port in every cluster: keeps east-west Services identical across clusters.
        n = 30000 + int(digest("np", namespace, name, port_name), 16) % 2768
        while n in self._used_node_ports:
            n += 1
        self._used_node_ports.add(n)
        return n

    def lb_ip(self) -> str:
        return self._lb_ips.pop(0)

    def ambient_namespace(self, namespace: str) -> bool:
        ns = self.namespaces.get(namespace, {})
        return ns.get("istio.io/dataplane-mode") == "ambient"


def meta(name: str, namespace: str | None = None, *, created: str, labels: dict | None = None,
         annotations: dict | None = None, owners: list[dict] | None = None, generation: int | None = None,
         generate_name: str | None = None, finalizers: list[str] | None = None) -> dict:
    m: dict = {"name": name}
    if generate_name:
        m["generateName"] = generate_name
    if namespace:
        m["namespace"] = namespace
    if generation is not None:
        m["generation"] = generation
    m["creationTimestamp"] = created
    if labels:
        m["labels"] = srt(labels)
    if annotations:
        m["annotations"] = srt(annotations)
    if owners:
        m["ownerReferences"] = owners
    if finalizers:
        m["finalizers"] = finalizers
    return m


# --------------------------------------------------------------------------------------------------
# Generic builders: namespaces, service accounts, config maps, secrets, services, workloads
# --------------------------------------------------------------------------------------------------
def namespace(c: Cluster, name: str, created: str, labels: dict | None = None,
              annotations: dict | None = None) -> None:
    lab = {"kubernetes.io/metadata.name": name, **(labels or {})}
    c.namespaces[name] = lab
    c.add(K.NAMESPACE, {
        "metadata": meta(name, created=created, labels=lab, annotations=annotations),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })


def service_account(c: Cluster, ns: str, name: str, created: str, labels: dict | None = None,
                    annotations: dict | None = None, owners: list[dict] | None = None) -> None:
    c.add(K.SERVICE_ACCOUNT, {"metadata": meta(name, ns, created=created, labels=labels,
                                                annotations=annotations, owners=owners)})


def config_map(c: Cluster, ns: str, name: str, created: str, data: dict, labels: dict | None = None,
               annotations: dict | None = None) -> None:
    c.add(K.CONFIG_MAP, {"metadata": meta(name, ns, created=created, labels=labels, annotations=annotations),
                         "data": srt(data)})


def secret(c: Cluster, ns: str, name: str, created: str, keys: list[str], type_: str = "Opaque",
           labels: dict | None = None, annotations: dict | None = None) -> None:
    # The snapshot format keeps the keys of a Secret and blanks every value.
    c.add(K.SECRET, {"metadata": meta(name, ns, created=created, labels=labels, annotations=annotations),
                     "type": type_, "data": {k: "" for k in sorted(keys)}})


def service(c: Cluster, ns: str, name: str, *, created: str, ports: list[dict], selector: dict | None,
            labels: dict | None = None, annotations: dict | None = None, type_: str = "ClusterIP",
            owners: list[dict] | None = None, headless: bool = False, family_policy: str = "SingleStack",
            conditions: list[dict] | None = None) -> dict:
    sp = []
    for p in ports:
        q = {"name": p["name"]} if p.get("name") else {}
        q.update({"port": p["port"], "protocol": p.get("protocol", "TCP"),
                  "targetPort": p.get("targetPort", p["port"])})
        if p.get("appProtocol"):
            q["appProtocol"] = p["appProtocol"]
        if type_ == "LoadBalancer":
            q["nodePort"] = c.node_port(ns, name, p.get("name") or str(p["port"]))
        sp.append(q)
    ip = "None" if headless else c.cluster_ip(ns, name)
    spec: dict = {
        "clusterIP": ip,
        "clusterIPs": [ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": family_policy,
        "ports": sp,
        "sessionAffinity": "None",
        "type": type_,
    }
    if selector:
        spec["selector"] = srt(selector)
    status: dict = {"loadBalancer": {}}
    if type_ == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = True
        spec["externalTrafficPolicy"] = "Cluster"
        status["loadBalancer"] = {"ingress": [{"ip": c.lb_ip(), "ipMode": "VIP"}]}
    if conditions:
        status["conditions"] = conditions
    return c.add(K.SERVICE, {"metadata": meta(name, ns, created=created, labels=labels,
                                              annotations=annotations, owners=owners),
                             "spec": spec, "status": status})


def _container_defaults(ctr: dict) -> None:
    ctr.setdefault("imagePullPolicy", "Always" if ctr["image"].endswith(":latest") else "IfNotPresent")
    ctr.setdefault("resources", {})
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    for p in ctr.get("ports", []):
        p.setdefault("protocol", "TCP")


def template_defaults(spec: dict) -> dict:
    """What the API server fills into a pod template."""
    for ctr in spec.get("initContainers", []) + spec["containers"]:
        _container_defaults(ctr)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if "serviceAccountName" in spec:
        spec["serviceAccount"] = spec["serviceAccountName"]
    return spec


PRIORITY = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def _qos(containers: list[dict]) -> str:
    any_set = False
    guaranteed = True
    for ctr in containers:
        r = ctr.get("resources", {})
        req, lim = r.get("requests", {}), r.get("limits", {})
        if req or lim:
            any_set = True
        for res in ("cpu", "memory"):
            if res not in lim or req.get(res, lim.get(res)) != lim.get(res):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _running_status(ctr: dict, c: Cluster, pod_name: str, started: str, restarts: int = 0,
                    ready: bool = True, last_state: dict | None = None) -> dict:
    return {
        "containerID": f"containerd://{digest(c.name, pod_name, ctr['name'])}",
        "image": ctr["image"],
        "imageID": image_id(ctr["image"]),
        "lastState": last_state or {},
        "name": ctr["name"],
        "ready": ready,
        "restartCount": restarts,
        "started": True,
        "state": {"running": {"startedAt": started}},
    }


def make_pod(c: Cluster, *, ns: str, name: str, template: dict, node: str | None, owner: dict,
             created: str, started: str | None = None, generate_name: str | None = None,
             extra_labels: dict | None = None, extra_annotations: dict | None = None,
             phase: str = "Running", daemonset: bool = False, captured: bool | None = None,
             restarts: int = 0, last_state: dict | None = None, mutate=None, static: bool = False) -> dict:
    labels = {**template["metadata"].get("labels", {}), **(extra_labels or {})}
    annotations = {**template["metadata"].get("annotations", {}), **(extra_annotations or {})}
    spec = copy.deepcopy(template["spec"])
    if mutate is not None:
        mutate(spec, labels, annotations)
    host_network = spec.get("hostNetwork", False)
    if captured is None:
        captured = (c.ambient_namespace(ns) and not host_network
                    and labels.get("istio.io/dataplane-mode") != "none"
                    and "sidecar.istio.io/status" not in annotations)
    if captured and phase == "Running":
        annotations["ambient.istio.io/redirection"] = "enabled"
    started = started or after(created, 2)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec["priority"] = PRIORITY.get(spec.get("priorityClassName", ""), 0)
    if not static:
        spec.setdefault("serviceAccountName", "default")
        spec["serviceAccount"] = spec["serviceAccountName"]
    tolerations = spec.setdefault("tolerations", [])
    if daemonset:
        for key, effect in (("node.kubernetes.io/not-ready", "NoExecute"),
                            ("node.kubernetes.io/unreachable", "NoExecute"),
                            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                            ("node.kubernetes.io/unschedulable", "NoSchedule")):
            tolerations.append({"effect": effect, "key": key, "operator": "Exists"})
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
    elif not static:
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            tolerations.append({"effect": "NoExecute", "key": key, "operator": "Exists",
                                "tolerationSeconds": 300})
    if not static and spec.get("automountServiceAccountToken", True):
        vol = f"kube-api-access-{suffix(5, c.name, ns, name, 'kube-api-access')}"
        spec.setdefault("volumes", []).append({"name": vol, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}},
        ]}})
        for ctr in spec.get("initContainers", []) + spec["containers"]:
            ctr.setdefault("volumeMounts", []).append(
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": vol, "readOnly": True})
    if node:
        spec["nodeName"] = node
    status: dict = {}
    if phase == "Running":
        nd = c.node(node)
        ip = nd["ip"] if host_network else c.pod_ip(node)
        ready_at = after(started, 8)
        status = {
            "conditions": [
                cond("PodReadyToStartContainers", "True", None, None, after(created, 2), lastProbeTime=None),
                cond("Initialized", "True", None, None, after(created, 2), lastProbeTime=None),
                cond("Ready", "True", None, None, ready_at, lastProbeTime=None),
                cond("ContainersReady", "True", None, None, ready_at, lastProbeTime=None),
                cond("PodScheduled", "True", None, None, created, lastProbeTime=None),
            ],
            "containerStatuses": [
                _running_status(ctr, c, name, started, restarts, True, last_state) for ctr in spec["containers"]],
            "hostIP": nd["ip"],
            "hostIPs": [{"ip": nd["ip"]}],
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": _qos(spec["containers"]),
            "startTime": after(created, 1),
        }
        if spec.get("initContainers"):
            ics = []
            for ctr in spec["initContainers"]:
                if ctr.get("restartPolicy") == "Always":  # native sidecar
                    ics.append(_running_status(ctr, c, name, after(created, 2)))
                else:
                    ics.append({
                        "containerID": f"containerd://{digest(c.name, name, ctr['name'])}",
                        "image": ctr["image"], "imageID": image_id(ctr["image"]), "lastState": {},
                        "name": ctr["name"], "ready": True, "restartCount": 0, "started": False,
                        "state": {"terminated": {
                            "containerID": f"containerd://{digest(c.name, name, ctr['name'])}",
                            "exitCode": 0, "finishedAt": after(created, 2), "reason": "Completed",
                            "startedAt": after(created, 1)}}})
            status["initContainerStatuses"] = ics
            status["qosClass"] = _qos(spec["containers"] + spec["initContainers"])
    elif phase == "Pending":
        status = {
            "conditions": [cond("PodScheduled", "False", "Unschedulable", None, created, lastProbeTime=None)],
            "phase": "Pending",
            "qosClass": _qos(spec["containers"]),
        }
    return c.add(K.POD, {
        "metadata": meta(name, ns, created=created, labels=labels, annotations=annotations,
                         owners=[owner], generate_name=generate_name),
        "spec": spec,
        "status": status,
    })


def deployment(c: Cluster, ns: str, name: str, *, created: str, labels: dict, selector: dict,
               template: dict, nodes: list[str], replicas: int | None = None, annotations: dict | None = None,
               owners: list[dict] | None = None, strategy: dict | None = None, rollout: str | None = None,
               pod_options: list[dict] | None = None, set_replicas: bool = True) -> dict:
    """A Deployment, its ReplicaSet(s) and its pods. ``rollout`` adds a second revision created then."""
    count = len(nodes) if replicas is None else replicas
    tmpl = copy.deepcopy(template)
    tmpl["metadata"]["labels"] = srt(tmpl["metadata"].get("labels"))
    if "annotations" in tmpl["metadata"]:
        tmpl["metadata"]["annotations"] = srt(tmpl["metadata"]["annotations"])
    template_defaults(tmpl["spec"])
    revision = 2 if rollout else 1
    generation = revision
    spec: dict = {
        "progressDeadlineSeconds": 600,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": srt(selector)},
        "strategy": strategy or {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                 "type": "RollingUpdate"},
        "template": tmpl,
    }
    if set_replicas:
        spec["replicas"] = count
    dep_ref = c.owner(K.DEPLOYMENT, name, ns)
    last_created = rollout or created
    rs_entries = []
    if rollout:
        old_tmpl = copy.deepcopy(tmpl)
        rs_entries.append((1, created, old_tmpl, 0))
        tmpl["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/restartedAt"] = rollout
        tmpl["metadata"]["annotations"] = srt(tmpl["metadata"]["annotations"])
    rs_entries.append((revision, last_created, tmpl, count))
    ready = 0
    for rev, rs_created, rs_tmpl, rs_count in rs_entries:
        h = suffix(10, c.name, ns, name, str(rev))
        rs_name = f"{name}-{h}"
        rs_t = copy.deepcopy(rs_tmpl)
        rs_t["metadata"]["labels"] = srt({**rs_t["metadata"]["labels"], "pod-template-hash": h})
        pods = []
        for i in range(rs_count):
            opts = (pod_options or [{}] * rs_count)[i] if pod_options else {}
            pod_name = f"{rs_name}-{suffix(5, c.name, ns, rs_name, str(i))}"
            pod_created = opts.pop("created", after(rs_created, 3))
            pods.append(make_pod(c, ns=ns, name=pod_name, template=rs_t, node=nodes[i], created=pod_created,
                                 owner=c.owner(K.REPLICA_SET, rs_name, ns), generate_name=f"{rs_name}-", **opts))
        n_ready = sum(1 for p in pods if p["status"].get("phase") == "Running")
        rs_status = {"observedGeneration": 1, "replicas": rs_count}
        if rs_count:
            rs_status.update({"availableReplicas": n_ready, "fullyLabeledReplicas": rs_count,
                              "readyReplicas": n_ready})
            ready = n_ready
        c.add(K.REPLICA_SET, {
            "metadata": meta(rs_name, ns, created=rs_created, generation=2 if rs_count == 0 else 1,
                             labels=rs_t["metadata"]["labels"],
                             annotations={"deployment.kubernetes.io/desired-replicas": str(count),
                                          "deployment.kubernetes.io/max-replicas": str(count + max(1, count // 4)),
                                          "deployment.kubernetes.io/revision": str(rev)},
                             owners=[dep_ref]),
            "spec": {"replicas": rs_count,
                     "selector": {"matchLabels": srt({**selector, "pod-template-hash": h})},
                     "template": rs_t},
            "status": rs_status,
        })
        last_rs = rs_name
    available = ready >= count
    status = {
        "availableReplicas": ready,
        "conditions": [
            cond("Available", "True" if available else "False",
                 "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "Deployment has minimum availability." if available
                 else "Deployment does not have minimum availability.",
                 after(last_created, 15), lastUpdateTime=after(last_created, 15)),
            cond("Progressing", "True", "NewReplicaSetAvailable",
                 f'ReplicaSet "{last_rs}" has successfully progressed.', after(created, 3),
                 lastUpdateTime=after(last_created, 15)),
        ],
        "observedGeneration": generation,
        "readyReplicas": ready,
        "replicas": count,
        "updatedReplicas": count,
    }
    if ready < count:
        status["unavailableReplicas"] = count - ready
    if ready == 0:
        del status["readyReplicas"]
    return c.add(K.DEPLOYMENT, {
        "metadata": meta(name, ns, created=created, generation=generation, labels=labels,
                         annotations={"deployment.kubernetes.io/revision": str(revision), **(annotations or {})},
                         owners=owners),
        "spec": spec,
        "status": status,
    })


def daemonset(c: Cluster, ns: str, name: str, *, created: str, labels: dict, selector: dict, template: dict,
              nodes: list[str] | None = None, annotations: dict | None = None, strategy: dict | None = None,
              pod_options: dict[str, dict] | None = None) -> dict:
    nodes = nodes or [n["name"] for n in c.nodes]
    tmpl = copy.deepcopy(template)
    tmpl["metadata"]["labels"] = srt(tmpl["metadata"].get("labels"))
    if "annotations" in tmpl["metadata"]:
        tmpl["metadata"]["annotations"] = srt(tmpl["metadata"]["annotations"])
    template_defaults(tmpl["spec"])
    rev_hash = suffix(10, c.name, ns, name, "controller-revision")
    pod_t = copy.deepcopy(tmpl)
    pod_t["metadata"]["labels"] = srt({**pod_t["metadata"]["labels"], "controller-revision-hash": rev_hash,
                                       "pod-template-generation": "1"})
    ready = 0
    for node in nodes:
        opts = dict((pod_options or {}).get(node, {}))
        pod_name = f"{name}-{suffix(5, c.name, ns, name, node)}"
        pod_created = opts.pop("created", after(created, 2))
        p = make_pod(c, ns=ns, name=pod_name, template=pod_t, node=node, created=pod_created,
                     owner=c.owner(K.DAEMON_SET, name, ns), generate_name=f"{name}-", daemonset=True, **opts)
        ready += p["status"].get("phase") == "Running"
    n = len(nodes)
    return c.add(K.DAEMON_SET, {
        "metadata": meta(name, ns, created=created, generation=1, labels=labels,
                         annotations={"deprecated.daemonset.template.generation": "1", **(annotations or {})}),
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": srt(selector)},
            "template": tmpl,
            "updateStrategy": strategy or {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                           "type": "RollingUpdate"},
        },
        "status": {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberAvailable": ready,
                   "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": 1,
                   "updatedNumberScheduled": n},
    })


def static_pod(c: Cluster, node: str, component: str, image: str, command: list[str], created: str,
               port_: int, probe_path: str, requests_cpu: str) -> None:
    name = f"{component}-{node}"
    probe_host = c.node(node)["ip"] if component == "kube-apiserver" else "127.0.0.1"
    probe = {"failureThreshold": 8, "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1,
             "timeoutSeconds": 15, "httpGet": {"host": probe_host, "path": probe_path, "port": port_,
                                               "scheme": "HTTP" if component == "etcd" else "HTTPS"}}
    spec = template_defaults({
        "containers": [{"command": command, "image": image, "livenessProbe": probe, "name": component,
                        "resources": {"requests": {"cpu": requests_cpu}}}],
        "hostNetwork": True,
        "priorityClassName": "system-node-critical",
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "tolerations": [{"effect": "NoExecute", "operator": "Exists"}],
    })
    conf_hash = digest(c.name, "static", component)[:32]
    make_pod(c, ns="kube-system", name=name, node=node, created=created, static=True,
             owner=c.owner(K.NODE, node, controller=True, block=False),
             template={"metadata": {"labels": {"component": component, "tier": "control-plane"},
                                    "annotations": {"kubernetes.io/config.hash": conf_hash,
                                                    "kubernetes.io/config.mirror": conf_hash,
                                                    "kubernetes.io/config.seen": after(created, -20),
                                                    "kubernetes.io/config.source": "file"}},
                       "spec": spec})


# --------------------------------------------------------------------------------------------------
# Cluster basics: nodes, kube-system, local-path-storage, default namespace, RBAC
# --------------------------------------------------------------------------------------------------
def nodes_(c: Cluster, gpu_nodes: set[str]) -> None:
    for n in c.nodes:
        labels = {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n["name"], "kubernetes.io/os": "linux",
        }
        spec = {"podCIDR": n["cidr"], "podCIDRs": [n["cidr"]],
                "providerID": f"kind://docker/{c.name}/{n['name']}"}
        if n["control_plane"]:
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
            spec["taints"] = [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]
        capacity = {"cpu": "16", "ephemeral-storage": "490617784Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                    "memory": "131811200Ki", "pods": "110"}
        if n["name"] in gpu_nodes:
            labels["nvidia.com/gpu.present"] = "true"
            labels["nvidia.com/gpu.product"] = "NVIDIA-L4"
            capacity["nvidia.com/gpu"] = "2"
        created = after(c.created, 0 if n["control_plane"] else 20)
        ready_at = after(created, 25)
        c.add(K.NODE, {
            "metadata": meta(n["name"], created=created, labels=labels, annotations={
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
            "spec": spec,
            "status": {
                "addresses": [{"address": n["ip"], "type": "InternalIP"},
                              {"address": n["name"], "type": "Hostname"}],
                "allocatable": srt(capacity),
                "capacity": srt(capacity),
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                         "kubelet has sufficient memory available", created, lastHeartbeatTime=CAPTURED),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
                         created, lastHeartbeatTime=CAPTURED),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
                         created, lastHeartbeatTime=CAPTURED),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", ready_at,
                         lastHeartbeatTime=CAPTURED),
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "bootID": str(uuid.uuid5(UID_NAMESPACE, f"{c.name}/boot/{n['name']}")),
                    "containerRuntimeVersion": "containerd://2.0.3",
                    "kernelVersion": "6.8.0-49-generic",
                    "kubeProxyVersion": K8S_VERSION,
                    "kubeletVersion": K8S_VERSION,
                    "machineID": digest(c.name, "machine", n["name"])[:32],
                    "operatingSystem": "linux",
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "systemUUID": str(uuid.uuid5(UID_NAMESPACE, f"{c.name}/system/{n['name']}")),
                },
            },
        })


def kube_system(c: Cluster, gpu_nodes: set[str]) -> None:
    t0 = c.created
    cp = next(n["name"] for n in c.nodes if n["control_plane"])
    cp_ip = c.node(cp)["ip"]
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system"):
        namespace(c, ns, t0)
    namespace(c, "local-path-storage", after(t0, 10))

    # static control-plane pods
    static_pod(c, cp, "etcd", "registry.k8s.io/etcd:3.5.16-0",
               ["etcd", f"--advertise-client-urls=https://{cp_ip}:2379", "--data-dir=/var/lib/etcd",
                f"--listen-client-urls=https://127.0.0.1:2379,https://{cp_ip}:2379", f"--name={cp}"],
               after(t0, 5), 2381, "/livez", "100m")
    static_pod(c, cp, "kube-apiserver", f"registry.k8s.io/kube-apiserver:{K8S_VERSION}",
               ["kube-apiserver", f"--advertise-address={cp_ip}", "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction", "--secure-port=6443",
                f"--service-cluster-ip-range={c.svc_net}"],
               after(t0, 5), 6443, "/livez", "250m")
    static_pod(c, cp, "kube-controller-manager", f"registry.k8s.io/kube-controller-manager:{K8S_VERSION}",
               ["kube-controller-manager", "--allocate-node-cidrs=true", f"--cluster-cidr={c.pod_net}",
                f"--cluster-name={c.name}", "--leader-elect=true", f"--service-cluster-ip-range={c.svc_net}"],
               after(t0, 5), 10257, "/healthz", "200m")
    static_pod(c, cp, "kube-scheduler", f"registry.k8s.io/kube-scheduler:{K8S_VERSION}",
               ["kube-scheduler", "--bind-address=127.0.0.1", "--leader-elect=true"],
               after(t0, 5), 10259, "/livez", "100m")

    # CoreDNS
    service_account(c, "kube-system", "coredns", after(t0, 8))
    config_map(c, "kube-system", "coredns", after(t0, 8), {"Corefile": (
        ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n"
        "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n"
        "       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n"
        "    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30 {\n"
        "       disable success cluster.local\n       disable denial cluster.local\n    }\n"
        "    loop\n    reload\n    loadbalance\n}\n")})
    dns_tmpl = {"metadata": {"labels": {"k8s-app": "kube-dns"}}, "spec": {
        "containers": [{
            "args": ["-conf", "/etc/coredns/Corefile"],
            "image": "registry.k8s.io/coredns/coredns:v1.11.3",
            "livenessProbe": http_probe("/health", 8080, initial=60, timeout=5, failure=5),
            "name": "coredns",
            "ports": [port("dns", 53, "UDP"), port("dns-tcp", 53), port("metrics", 9153)],
            "readinessProbe": http_probe("/ready", 8181),
            "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "readOnlyRootFilesystem": True},
            "volumeMounts": [{"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": True}],
        }],
        "dnsPolicy": "Default",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": "coredns",
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}],
        "volumes": [{"configMap": {"defaultMode": 420, "items": [{"key": "Corefile", "path": "Corefile"}],
                                   "name": "coredns"}, "name": "config-volume"}],
    }}
    deployment(c, "kube-system", "coredns", created=after(t0, 8), labels={"k8s-app": "kube-dns"},
               selector={"k8s-app": "kube-dns"}, template=dns_tmpl, nodes=[cp, cp],
               strategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}, "type": "RollingUpdate"},
               pod_options=[{"created": after(t0, 45)}, {"created": after(t0, 45)}])
    service(c, "kube-system", "kube-dns", created=after(t0, 8),
            labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
            annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
            selector={"k8s-app": "kube-dns"},
            ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53},
                   {"name": "metrics", "port": 9153}])

    # kube-proxy
    service_account(c, "kube-system", "kube-proxy", after(t0, 8))
    config_map(c, "kube-system", "kube-proxy", after(t0, 8), {"config.conf": (
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
        f"clusterCIDR: {c.pod_net}\nmode: iptables\n"), "kubeconfig.conf": (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
        "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n"
        f"    server: https://{c.name}-control-plane:6443\n  name: default\n")},
        labels={"app": "kube-proxy"})
    daemonset(c, "kube-system", "kube-proxy", created=after(t0, 8), labels={"k8s-app": "kube-proxy"},
              selector={"k8s-app": "kube-proxy"}, template={"metadata": {"labels": {"k8s-app": "kube-proxy"}}, "spec": {
                  "containers": [{
                      "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                  "--hostname-override=$(NODE_NAME)"],
                      "env": [env("NODE_NAME", field="spec.nodeName")],
                      "image": f"registry.k8s.io/kube-proxy:{K8S_VERSION}",
                      "name": "kube-proxy",
                      "securityContext": {"privileged": True},
                      "volumeMounts": [{"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
                                       {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                                       {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True}],
                  }],
                  "hostNetwork": True,
                  "nodeSelector": {"kubernetes.io/os": "linux"},
                  "priorityClassName": "system-node-critical",
                  "serviceAccountName": "kube-proxy",
                  "tolerations": [{"operator": "Exists"}],
                  "volumes": [{"configMap": {"defaultMode": 420, "name": "kube-proxy"}, "name": "kube-proxy"},
                              {"hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"},
                               "name": "xtables-lock"},
                              {"hostPath": {"path": "/lib/modules", "type": ""}, "name": "lib-modules"}],
              }})

    # kindnet
    service_account(c, "kube-system", "kindnet", after(t0, 9))
    daemonset(c, "kube-system", "kindnet", created=after(t0, 9),
              labels={"app": "kindnet", "k8s-app": "kindnet", "tier": "node"}, selector={"app": "kindnet"},
              template={"metadata": {"labels": {"app": "kindnet", "k8s-app": "kindnet", "tier": "node"}}, "spec": {
                  "containers": [{
                      "env": [env("HOST_IP", field="status.hostIP"), env("POD_IP", field="status.podIP"),
                              env("POD_SUBNET", str(c.pod_net)), env("CONTROL_PLANE_ENDPOINT",
                                                                     f"{c.name}-control-plane:6443")],
                      "image": "docker.io/kindest/kindnetd:v20250214-acbabc1a",
                      "name": "kindnet-cni",
                      "resources": {"limits": {"cpu": "100m", "memory": "50Mi"},
                                    "requests": {"cpu": "100m", "memory": "50Mi"}},
                      "securityContext": {"capabilities": {"add": ["NET_RAW", "NET_ADMIN"]}, "privileged": False},
                      "volumeMounts": [{"mountPath": "/etc/cni/net.d", "name": "cni-cfg"},
                                       {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                                       {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True}],
                  }],
                  "hostNetwork": True,
                  "nodeSelector": {"kubernetes.io/os": "linux"},
                  "serviceAccountName": "kindnet",
                  "tolerations": [{"operator": "Exists"}],
                  "volumes": [{"hostPath": {"path": "/etc/cni/net.d", "type": ""}, "name": "cni-cfg"},
                              {"hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"},
                               "name": "xtables-lock"},
                              {"hostPath": {"path": "/lib/modules", "type": ""}, "name": "lib-modules"}],
              }})

    if gpu_nodes:
        service_account(c, "kube-system", "nvidia-device-plugin", ts(14, 9, 30))
        daemonset(c, "kube-system", "nvidia-device-plugin-daemonset", created=ts(14, 9, 30),
                  labels={"app.kubernetes.io/name": "nvidia-device-plugin"},
                  selector={"app.kubernetes.io/name": "nvidia-device-plugin"},
                  nodes=sorted(gpu_nodes),
                  template={"metadata": {"labels": {"app.kubernetes.io/name": "nvidia-device-plugin"}}, "spec": {
                      "containers": [{
                          "env": [env("FAIL_ON_INIT_ERROR", "false")],
                          "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.0",
                          "name": "nvidia-device-plugin-ctr",
                          "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                          "volumeMounts": [{"mountPath": "/var/lib/kubelet/device-plugins",
                                            "name": "device-plugin"}],
                      }],
                      "nodeSelector": {"nvidia.com/gpu.present": "true"},
                      "priorityClassName": "system-node-critical",
                      "serviceAccountName": "nvidia-device-plugin",
                      "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}],
                      "volumes": [{"hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": ""},
                                   "name": "device-plugin"}],
                  }})

    # local-path-provisioner
    service_account(c, "local-path-storage", "local-path-provisioner-service-account", after(t0, 10))
    config_map(c, "local-path-storage", "local-path-config", after(t0, 10), {
        "config.json": json.dumps({"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                                                    "paths": ["/var/local-path-provisioner"]}]}, indent=2) + "\n",
        "helperPod.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n  containers:\n"
                           "  - name: helper-pod\n    image: docker.io/kindest/local-path-helper:v20241212-8ac705d0\n"
                           "    imagePullPolicy: IfNotPresent\n"),
        "setup": "#!/bin/sh\nset -eu\nmkdir -m 0777 -p \"$VOL_DIR\"\n",
        "teardown": "#!/bin/sh\nset -eu\nrm -rf \"$VOL_DIR\"\n",
    })
    deployment(c, "local-path-storage", "local-path-provisioner", created=after(t0, 10),
               labels={"app": "local-path-provisioner"}, selector={"app": "local-path-provisioner"},
               nodes=[cp], pod_options=[{"created": after(t0, 45)}],
               template={"metadata": {"labels": {"app": "local-path-provisioner"}}, "spec": {
                   "containers": [{
                       "command": ["local-path-provisioner", "--debug", "start", "--helper-image",
                                   "docker.io/kindest/local-path-helper:v20241212-8ac705d0", "--config",
                                   "/etc/config/config.json"],
                       "env": [env("POD_NAMESPACE", field="metadata.namespace"),
                               env("CONFIG_MOUNT_PATH", "/etc/config/")],
                       "image": "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
                       "name": "local-path-provisioner",
                       "volumeMounts": [{"mountPath": "/etc/config/", "name": "config-volume"}],
                   }],
                   "nodeSelector": {"kubernetes.io/os": "linux"},
                   "serviceAccountName": "local-path-provisioner-service-account",
                   "tolerations": [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane",
                                    "operator": "Equal"}],
                   "volumes": [{"configMap": {"defaultMode": 420, "name": "local-path-config"},
                                "name": "config-volume"}],
               }})

    # the API server's own Service
    service(c, "default", "kubernetes", created=t0, selector=None,
            labels={"component": "apiserver", "provider": "kubernetes"},
            ports=[{"name": "https", "port": 443, "targetPort": 6443}])

    # RBAC: a representative subset of what a kind cluster has
    def cr(name, rules, labels=None, annotations=None, created=t0, aggregation=None):
        obj = {"metadata": meta(name, created=created, labels=labels, annotations=annotations), "rules": rules}
        if aggregation:
            obj["aggregationRule"] = aggregation
        c.add(K.CLUSTER_ROLE, obj)

    boot = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    auto = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    cr("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                         {"nonResourceURLs": ["*"], "verbs": ["*"]}], boot, auto)
    for role, agg in (("admin", "aggregate-to-admin"), ("edit", "aggregate-to-edit"), ("view", "aggregate-to-view")):
        cr(role, [], boot, auto, aggregation={"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/{agg}": "true"}}]})
    cr("system:node-proxier", [
        {"apiGroups": [""], "resources": ["endpoints", "services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}],
        boot, auto)
    cr("system:coredns", [
        {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}],
        created=after(t0, 8))
    cr("kindnet", [
        {"apiGroups": [""], "resources": ["nodes", "pods", "namespaces"], "verbs": ["list", "watch", "patch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list", "watch"]}],
        created=after(t0, 9))
    cr("local-path-provisioner-role", [
        {"apiGroups": [""], "resources": ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch", "create", "patch",
                                                                           "update", "delete"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]}],
        created=after(t0, 10))

    def crb(name, role, subjects, labels=None, annotations=None, created=t0):
        c.add(K.CLUSTER_ROLE_BINDING, {
            "metadata": meta(name, created=created, labels=labels, annotations=annotations),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects})

    crb("cluster-admin", "cluster-admin", [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                            "name": "system:masters"}], boot, auto)
    crb("kubeadm:node-proxier", "system:node-proxier",
        [{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}], created=after(t0, 8))
    crb("system:coredns", "system:coredns",
        [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}], created=after(t0, 8))
    crb("kindnet", "kindnet", [{"kind": "ServiceAccount", "name": "kindnet", "namespace": "kube-system"}],
        created=after(t0, 9))
    crb("local-path-provisioner-bind", "local-path-provisioner-role",
        [{"kind": "ServiceAccount", "name": "local-path-provisioner-service-account",
          "namespace": "local-path-storage"}], created=after(t0, 10))


# --------------------------------------------------------------------------------------------------
# CRDs (from the upstream bundles, schemas stripped)
# --------------------------------------------------------------------------------------------------
def _load_crds(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            if d and d.get("kind") == "CustomResourceDefinition"]


def upstream_crds() -> dict[str, list[dict]]:
    with tarfile.open(ISTIO_BASE_TGZ) as tf:
        istio = _load_crds(tf.extractfile("base/files/crd-all.gen.yaml").read().decode())
    gw = _load_crds(GATEWAY_API_BUNDLE.read_text())
    inf = _load_crds(INFERENCE_BUNDLE.read_text())
    # InferenceObjective moved to the llm-d project (llm-d.ai/v1alpha2); its CRD is not part of the
    # Inference Extension v1.6.0 bundle, so the demo describes the one llm-d installs.
    llmd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "inferenceobjectives.llm-d.ai",
                         "annotations": {"controller-gen.kubebuilder.io/version": "v0.19.0"}},
            "spec": {"group": "llm-d.ai", "scope": "Namespaced",
                     "names": {"kind": "InferenceObjective", "listKind": "InferenceObjectiveList",
                               "plural": "inferenceobjectives", "singular": "inferenceobjective"},
                     "versions": [{"name": "v1alpha2", "served": True, "storage": True}]}}
    return {"istio": istio, "gateway-api": gw, "inference": inf, "llm-d": [llmd]}


def add_crd(c: Cluster, src: dict, created: str, labels: dict | None = None) -> None:
    m = src["metadata"]
    s = src["spec"]
    spec = {
        "group": s["group"],
        "names": s["names"],
        "scope": s["scope"],
        "versions": [{"name": v["name"], "served": v["served"], "storage": v["storage"]} for v in s["versions"]],
    }
    c.crds.add(m["name"])
    c.add(K.CRD, {"metadata": meta(m["name"], created=created, generation=1,
                                   labels=labels if labels is not None else m.get("labels"),
                                   annotations=m.get("annotations")),
                  "spec": spec})


# --------------------------------------------------------------------------------------------------
# Istio control plane and data plane
# --------------------------------------------------------------------------------------------------
def chart_labels(chart: str) -> dict:
    return {"app.kubernetes.io/instance": "istio", "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": ISTIO_VERSION,
            "helm.sh/chart": f"{chart}-{ISTIO_VERSION}"}


def owner_labels(component: str) -> dict:
    return {"install.operator.istio.io/owning-resource-namespace": "istio-system", "istio.io/rev": "default",
            "operator.istio.io/component": component, "operator.istio.io/managed": "Reconcile",
            "operator.istio.io/version": ISTIO_VERSION}


def installed(chart: str, component: str, **extra) -> dict:
    return {**chart_labels(chart), **owner_labels(component), **extra}


def mesh_config(c: Cluster) -> str:
    mesh = {
        "defaultConfig": {
            "discoveryAddress": ISTIOD_ADDR,
            "image": {"imageType": "distroless"},
            "meshId": MESH_ID,
            "proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"},
        },
        "defaultProviders": {"metrics": ["prometheus"]},
        "enablePrometheusMerge": True,
        "rootNamespace": "istio-system",
        "serviceScopeConfigs": [{
            "scope": "GLOBAL",
            "servicesSelector": {"matchExpressions": [
                {"key": "istio.io/global", "operator": "In", "values": ["true"]}]},
        }],
        "trustDomain": TRUST_DOMAIN,
    }
    return dump(mesh)


def pilot_env(c: Cluster, inference: bool) -> dict:
    e = {"AMBIENT_ENABLE_MULTI_NETWORK": "true", "PILOT_ENABLE_AMBIENT": "true"}
    if inference:
        e["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] = "true"
    return srt(e)


def injector_values(c: Cluster, inference: bool) -> str:
    values = {
        "gateways": {"seccompProfile": {}, "securityContext": {}},
        "global": {
            "caAddress": "",
            "caName": "",
            "certSigners": [],
            "configCluster": False,
            "configValidation": True,
            "defaultPodDisruptionBudget": {"enabled": True},
            "defaultResources": {"requests": {"cpu": "10m"}},
            "externalIstiod": False,
            "hub": HUB,
            "imagePullPolicy": "",
            "imagePullSecrets": [],
            "istioNamespace": "istio-system",
            "istiod": {"enableAnalysis": False},
            "logAsJson": False,
            "logging": {"level": "default:info"},
            "meshID": MESH_ID,
            "meshNetworks": {},
            "mountMtlsCerts": False,
            "multiCluster": {"clusterName": c.name, "enabled": False},
            "network": c.network,
            "omitSidecarInjectorConfigMap": False,
            "operatorManageWebhooks": False,
            "pilotCertProvider": "istiod",
            "platform": "",
            "priorityClassName": "",
            "proxy": {
                "autoInject": "enabled",
                "clusterDomain": "cluster.local",
                "componentLogLevel": "misc:error",
                "excludeIPRanges": "",
                "excludeInboundPorts": "",
                "excludeOutboundPorts": "",
                "image": "proxyv2",
                "includeIPRanges": "*",
                "includeInboundPorts": "*",
                "includeOutboundPorts": "",
                "logLevel": "warning",
                "outlierLogPath": "",
                "privileged": False,
                "readinessFailureThreshold": 4,
                "readinessInitialDelaySeconds": 0,
                "readinessPeriodSeconds": 15,
                "resources": {"limits": {"cpu": "2000m", "memory": "1024Mi"},
                              "requests": {"cpu": "100m", "memory": "128Mi"}},
                "startupProbe": {"enabled": True, "failureThreshold": 600},
                "statusPort": 15020,
                "tracer": "none",
            },
            "proxy_init": {"forceApplyIptables": False, "image": "proxyv2"},
            "remotePilotAddress": "",
            "sds": {"token": {"aud": "istio-ca"}},
            "sts": {"servicePort": 0},
            "tag": ISTIO_VERSION,
            "variant": "distroless",
            "waypoint": {"affinity": {}, "nodeSelector": {},
                         "resources": {"limits": {"cpu": "2", "memory": "1Gi"},
                                       "requests": {"cpu": "100m", "memory": "128Mi"}},
                         "tolerations": [], "topologySpreadConstraints": []},
        },
        "pilot": {"cni": {"enabled": True, "provider": "default"}, "env": pilot_env(c, inference)},
        "revision": "",
        "sidecarInjectorWebhook": {"alwaysInjectSelector": [], "defaultTemplates": [], "enableNamespacesByDefault": False,
                                   "injectedAnnotations": {}, "neverInjectSelector": [], "reinvocationPolicy": "Never",
                                   "rewriteAppHTTPProbe": True, "templates": {}},
    }
    return json.dumps(values, indent=2, sort_keys=True) + "\n"


INJECTOR_CONFIG = """\
defaultTemplates:
- sidecar
policy: enabled
alwaysInjectSelector: []
neverInjectSelector: []
injectedAnnotations: {}
template: '{{ Template_Version_And_Istio_Version_Mismatched_Check_Installation }}'
templates: {}
"""


def webhook_common(path: str) -> dict:
    return {"admissionReviewVersions": ["v1"], "matchPolicy": "Equivalent", "sideEffects": "None",
            "timeoutSeconds": 10,
            "clientConfig": {"caBundle": base64.b64encode(MESH_ROOT_PEM.encode()).decode(),
                             "service": {"name": "istiod", "namespace": "istio-system", "path": path, "port": 443}}}


def injection_webhooks(deactivated: bool) -> list[dict]:
    never = {"matchLabels": {"istio.io/deactivated": "never-match"}}
    inject_not_false = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    rows = [
        ("rev.namespace.sidecar-injector.istio.io",
         [{"key": "istio.io/rev", "operator": "In", "values": ["default"]},
          {"key": "istio-injection", "operator": "DoesNotExist"}],
         [inject_not_false]),
        ("rev.object.sidecar-injector.istio.io",
         [{"key": "istio.io/rev", "operator": "DoesNotExist"}, {"key": "istio-injection", "operator": "DoesNotExist"}],
         [inject_not_false, {"key": "istio.io/rev", "operator": "In", "values": ["default"]}]),
        ("namespace.sidecar-injector.istio.io",
         [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}],
         [inject_not_false]),
        ("object.sidecar-injector.istio.io",
         [{"key": "istio-injection", "operator": "DoesNotExist"}, {"key": "istio.io/rev", "operator": "DoesNotExist"}],
         [{"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
          {"key": "istio.io/rev", "operator": "DoesNotExist"}]),
    ]
    out = []
    for name, ns_sel, obj_sel in rows:
        w = {"name": name, **webhook_common("/inject"), "failurePolicy": "Fail", "reinvocationPolicy": "Never",
             "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"],
                        "scope": "*"}]}
        if deactivated:
            w["namespaceSelector"] = never
            w["objectSelector"] = never
        else:
            w["namespaceSelector"] = {"matchExpressions": ns_sel}
            w["objectSelector"] = {"matchExpressions": obj_sel}
        out.append(w)
    return out


def validation_webhook(name: str, object_selector: dict) -> dict:
    return {"name": name, **webhook_common("/validate"), "failurePolicy": "Fail",
            "namespaceSelector": {}, "objectSelector": object_selector,
            "rules": [{"apiGroups": ["security.istio.io", "networking.istio.io", "telemetry.istio.io",
                                     "extensions.istio.io"], "apiVersions": ["*"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["*"], "scope": "*"}]}


ISTIO_GROUPS_ALL = ["config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io",
                    "rbac.istio.io", "telemetry.istio.io", "extensions.istio.io"]


def istio_rbac(c: Cluster, t: str) -> None:
    pilot = installed("istiod", "Pilot", app="istiod", release="istio")
    rw = ["get", "watch", "list", "update", "patch", "create", "delete"]
    c.add(K.CLUSTER_ROLE, {"metadata": meta("istiod-clusterrole-istio-system", created=t, labels=pilot), "rules": [
        {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"],
         "verbs": ["get", "list", "watch", "update", "patch"]},
        {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
         "verbs": ["get", "list", "watch", "update"]},
        {"apiGroups": ISTIO_GROUPS_ALL, "resources": ["*"], "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["networking.istio.io"], "resources": ["workloadentries"], "verbs": rw},
        {"apiGroups": ["networking.istio.io"], "resources": ["workloadentries/status", "serviceentries/status"],
         "verbs": rw},
        {"apiGroups": ["security.istio.io"], "resources": ["authorizationpolicies/status"], "verbs": rw},
        {"apiGroups": [""], "resources": ["services/status"], "verbs": rw},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "nodes", "services", "namespaces", "endpoints"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "ingressclasses"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get", "list", "watch", "update"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
        {"apiGroups": ["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"], "resources": ["*"],
         "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["gateway.networking.k8s.io"],
         "resources": ["backendtlspolicies/status", "gatewayclasses/status", "gateways/status",
                       "grpcroutes/status", "httproutes/status", "referencegrants/status", "tcproutes/status",
                       "tlsroutes/status", "udproutes/status", "listenersets/status"],
         "verbs": ["update", "patch"]},
        {"apiGroups": ["gateway.networking.x-k8s.io"], "resources": ["xbackendtrafficpolicies/status"],
         "verbs": ["update", "patch"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gatewayclasses"],
         "verbs": ["create", "update", "patch", "delete"]},
        {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"],
         "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools/status"],
         "verbs": ["update", "patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceexports"],
         "verbs": ["get", "watch", "list", "create", "delete"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"], "verbs": ["get", "watch", "list"]},
    ]})
    c.add(K.CLUSTER_ROLE, {"metadata": meta("istiod-gateway-controller-istio-system", created=t, labels=pilot),
                           "rules": [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": rw},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": rw},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw},
        {"apiGroups": [""], "resources": ["services"], "verbs": rw},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": rw},
    ]})
    reader_labels = installed("istiod", "Pilot", app="istio-reader", release="istio")
    c.add(K.CLUSTER_ROLE, {"metadata": meta("istio-reader-clusterrole-istio-system", created=t,
                                            labels=reader_labels), "rules": [
        {"apiGroups": ISTIO_GROUPS_ALL, "resources": ["*"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["endpoints", "pods", "services", "nodes", "replicationcontrollers",
                                          "namespaces", "secrets", "configmaps"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.istio.io"], "resources": ["workloadentries"], "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["networking.x-k8s.io", "gateway.networking.k8s.io"], "resources": ["gateways"],
         "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceexports"],
         "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]})
    for name, sa in (("istiod-clusterrole-istio-system", "istiod"),
                     ("istiod-gateway-controller-istio-system", "istiod"),
                     ("istio-reader-clusterrole-istio-system", "istio-reader-service-account")):
        c.add(K.CLUSTER_ROLE_BINDING, {
            "metadata": meta(name, created=t, labels=reader_labels if sa != "istiod" else pilot),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "istio-system"}]})
    c.add(K.ROLE, {"metadata": meta("istiod", "istio-system", created=t, labels=pilot), "rules": [
        {"apiGroups": ["networking.istio.io"], "resources": ["gateways"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get", "watch", "list", "update", "delete"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["delete"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "update", "patch", "create"]},
    ]})
    c.add(K.ROLE_BINDING, {
        "metadata": meta("istiod", "istio-system", created=t, labels=pilot),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "istiod"},
        "subjects": [{"kind": "ServiceAccount", "name": "istiod", "namespace": "istio-system"}]})

    cni = installed("cni", "Cni", app="istio-cni", release="istio")
    cni_rules = {
        "istio-cni": [{"apiGroups": [""], "resources": ["pods", "nodes", "namespaces"],
                       "verbs": ["get", "list", "watch"]}],
        "istio-cni-repair-role": [{"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                                  {"apiGroups": [""], "resources": ["pods"], "verbs": ["watch", "get", "list"]}],
        "istio-cni-ambient": [{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch", "update"]},
                              {"apiGroups": ["apps"], "resourceNames": ["istio-cni-node"],
                               "resources": ["daemonsets"], "verbs": ["get"]}],
    }
    tc = after(t, 30)
    for name, rules in cni_rules.items():
        c.add(K.CLUSTER_ROLE, {"metadata": meta(name, created=tc, labels=cni), "rules": rules})
    for name, role in (("istio-cni", "istio-cni"), ("istio-cni-repair-rolebinding", "istio-cni-repair-role"),
                       ("istio-cni-ambient", "istio-cni-ambient")):
        c.add(K.CLUSTER_ROLE_BINDING, {
            "metadata": meta(name, created=tc, labels=cni),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "istio-cni", "namespace": "istio-system"}]})


def istio_install(c: Cluster, crds: dict, *, inference: bool) -> None:
    t_ns = ts(13, 8, 20)
    t_base = ts(13, 8, 22)
    t_pilot = ts(13, 8, 22, 40)
    t_cni = ts(13, 8, 22, 45)
    t_zt = ts(13, 8, 23, 30)
    t_tag = ts(13, 8, 24, 10)
    # shared trust: cacerts before istiod starts
    namespace(c, "istio-system", t_ns, labels={"topology.istio.io/network": c.network})
    secret(c, "istio-system", "cacerts", after(t_ns, 30),
           ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"])

    base_labels = installed("base", "Base")
    for src in crds["istio"]:
        add_crd(c, src, t_base, labels=base_labels)
    service_account(c, "istio-system", "istio-reader-service-account", t_base,
                    labels=installed("base", "Base", app="istio-reader", release="istio",
                                     **{"app.kubernetes.io/name": "istio-reader"}))

    # Pilot
    pilot = installed("istiod", "Pilot", app="istiod", release="istio", istio="pilot",
                      **{"app.kubernetes.io/name": "istiod", "install.operator.istio.io/owning-resource": "unknown"})
    istio_rbac(c, t_pilot)
    service_account(c, "istio-system", "istiod", t_pilot, labels=installed("istiod", "Pilot", app="istiod",
                                                                          release="istio"))
    config_map(c, "istio-system", "istio", t_pilot, {"mesh": mesh_config(c), "meshNetworks": "networks: {}\n"},
               labels=installed("istiod", "Pilot", release="istio", **{"install.operator.istio.io/owning-resource": "unknown"}))
    config_map(c, "istio-system", "istio-sidecar-injector", t_pilot,
               {"config": INJECTOR_CONFIG, "values": injector_values(c, inference)},
               labels=installed("istiod", "Pilot", release="istio", **{"install.operator.istio.io/owning-resource": "unknown"}))
    merged = json.loads(injector_values(c, inference))
    config_map(c, "istio-system", "values", t_pilot, {
        "merged-values": json.dumps({**merged, "profile": "ambient", "meshConfig": yaml.safe_load(mesh_config(c))},
                                    indent=2, sort_keys=True) + "\n",
        "original-values": json.dumps({"global": {"meshID": MESH_ID, "multiCluster": {"clusterName": c.name},
                                                  "network": c.network},
                                       "pilot": {"env": pilot_env(c, inference)}, "profile": "ambient"},
                                      indent=2, sort_keys=True) + "\n"},
        labels=installed("istiod", "Pilot", release="istio", **{"istio.io/rev": "default"}),
        annotations={"kubernetes.io/description": "This ConfigMap contains the Helm values used during chart rendering. "
                     "This ConfigMap is rendered for debugging purposes and external tooling; modifying these values has no effect."})

    envs = [env("REVISION", "default"), env("PILOT_CERT_PROVIDER", "istiod"),
            env("POD_NAME", field="metadata.name"), env("POD_NAMESPACE", field="metadata.namespace"),
            env("SERVICE_ACCOUNT", field="spec.serviceAccountName"),
            env("KUBECONFIG", "/var/run/secrets/remote/config"),
            env("CA_TRUSTED_NODE_ACCOUNTS", "istio-system/ztunnel")]
    envs += [env(k, v) for k, v in pilot_env(c, inference).items()]
    envs += [env("PILOT_TRACE_SAMPLING", "1"), env("PILOT_ENABLE_ANALYSIS", "false"), env("CLUSTER_ID", c.name),
             env("GOMAXPROCS", resource="limits.cpu", divisor="1"), env("PLATFORM", "")]
    pod_labels = {k: v for k, v in pilot.items() if k != "release"}
    pod_labels.update({"sidecar.istio.io/inject": "false", "istio.io/dataplane-mode": "none"})
    istiod_tmpl = {"metadata": {"labels": pod_labels, "annotations": {
        "prometheus.io/port": "15014", "prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}},
        "spec": {
            "containers": [{
                "args": ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain",
                         "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"],
                "env": envs,
                "image": f"{HUB}/pilot:{ISTIO_TAG}",
                "name": "discovery",
                "ports": [port("http-debug", 8080), port("grpc-xds", 15010), port("tls-xds", 15012),
                          port("https-webhooks", 15017), port("http-monitoring", 15014)],
                "readinessProbe": http_probe("/ready", 8080, initial=1, period=3, timeout=5),
                "resources": {"requests": {"cpu": "500m", "memory": "2048Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True, "runAsNonRoot": True},
                "volumeMounts": [
                    {"mountPath": "/var/run/secrets/istio-dns", "name": "local-certs"},
                    {"mountPath": "/var/run/secrets/tokens", "name": "istio-token", "readOnly": True},
                    {"mountPath": "/etc/cacerts", "name": "cacerts", "readOnly": True},
                    {"mountPath": "/var/run/secrets/remote", "name": "istio-kubeconfig", "readOnly": True},
                    {"mountPath": "/var/run/secrets/istiod/tls", "name": "istio-csr-dns-cert", "readOnly": True},
                    {"mountPath": "/var/run/secrets/istiod/ca", "name": "istio-csr-ca-configmap", "readOnly": True},
                ],
            }],
            "serviceAccountName": "istiod",
            "tolerations": [{"key": "cni.istio.io/not-ready", "operator": "Exists"}],
            "volumes": [
                {"emptyDir": {"medium": "Memory"}, "name": "local-certs"},
                {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
                    "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
                {"name": "cacerts", "secret": {"defaultMode": 420, "optional": True, "secretName": "cacerts"}},
                {"name": "istio-kubeconfig", "secret": {"defaultMode": 420, "optional": True,
                                                        "secretName": "istio-kubeconfig"}},
                {"name": "istio-csr-dns-cert", "secret": {"defaultMode": 420, "optional": True,
                                                          "secretName": "istiod-tls"}},
                {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert", "optional": True},
                 "name": "istio-csr-ca-configmap"},
            ],
        }}
    workers = [n["name"] for n in c.nodes if not n["control_plane"]]
    deployment(c, "istio-system", "istiod", created=t_pilot, labels=pilot, selector={"istio": "pilot"},
               template=istiod_tmpl, nodes=[workers[0]],
               strategy={"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}, "type": "RollingUpdate"})
    svc_ports = [{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012},
                 {"name": "https-webhook", "port": 443, "targetPort": 15017},
                 {"name": "http-monitoring", "port": 15014}]
    svc_labels = installed("istiod", "Pilot", app="istiod", istio="pilot", release="istio",
                           **{"app.kubernetes.io/name": "istiod", "install.operator.istio.io/owning-resource": "unknown"})
    service(c, "istio-system", "istiod", created=t_pilot, labels=svc_labels, ports=svc_ports,
            selector={"app": "istiod", "istio": "pilot"})
    service(c, "istio-system", "istiod-revision-tag-default", created=t_tag,
            labels={**svc_labels, "istio.io/tag": "default"}, ports=svc_ports,
            selector={"app": "istiod", "istio": "pilot"})
    c.add(K.HPA, {
        "metadata": meta("istiod", "istio-system", created=t_pilot, labels=installed(
            "istiod", "Pilot", app="istiod", release="istio", **{"install.operator.istio.io/owning-resource": "unknown"})),
        "spec": {"maxReplicas": 5, "minReplicas": 1,
                 "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 80, "type": "Utilization"}},
                              "type": "Resource"}],
                 "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod"}},
        "status": {
            "conditions": [
                cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size",
                     after(t_pilot, 15)),
                cond("ScalingActive", "True", "ValidMetricFound",
                     "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                     "(percentage of request)", after(t_pilot, 75)),
                cond("ScalingLimited", "True", "TooFewReplicas",
                     "the desired replica count is less than the minimum replica count", after(t_pilot, 75)),
            ],
            "currentMetrics": [{"resource": {"current": {"averageUtilization": 3, "averageValue": "17m"},
                                             "name": "cpu"}, "type": "Resource"}],
            "currentReplicas": 1, "desiredReplicas": 1,
        },
    })

    # Webhooks
    tag_labels = {**owner_labels("Pilot"), "app": "sidecar-injector", "istio.io/tag": "default",
                  "install.operator.istio.io/owning-resource-not-pruned": "true"}
    c.add(K.MUTATING_WEBHOOK, {"metadata": meta("istio-revision-tag-default", created=t_tag, generation=2,
                                                labels=tag_labels), "webhooks": injection_webhooks(False)})
    c.add(K.MUTATING_WEBHOOK, {"metadata": meta("istio-sidecar-injector", created=t_pilot, generation=3, labels={
        **installed("istiod", "Pilot", app="sidecar-injector", release="istio",
                    **{"app.kubernetes.io/name": "istiod"})}), "webhooks": injection_webhooks(True)})
    c.add(K.VALIDATING_WEBHOOK, {"metadata": meta("istio-validator-istio-system", created=t_pilot, generation=3, labels={
        **installed("istiod", "Pilot", app="istiod", istio="istiod", release="istio")}),
        "webhooks": [validation_webhook("rev.validation.istio.io", {"matchExpressions": [
            {"key": "istio.io/rev", "operator": "In", "values": ["default"]}]})]})
    c.add(K.VALIDATING_WEBHOOK, {"metadata": meta("istiod-default-validator", created=t_tag, generation=2, labels={
        **owner_labels("Pilot"), "app": "istiod", "istio": "istiod", "istio.io/tag": "default"}),
        "webhooks": [validation_webhook("validation.istio.io", {"matchExpressions": [
            {"key": "istio.io/rev", "operator": "DoesNotExist"}]})]})

    # istio-cni
    cni_labels = installed("cni", "Cni", **{"k8s-app": "istio-cni-node", "release": "istio",
                                            "install.operator.istio.io/owning-resource": "unknown",
                                            "app.kubernetes.io/name": "istio-cni"})
    service_account(c, "istio-system", "istio-cni", t_cni, labels=installed("cni", "Cni", app="istio-cni",
                                                                           release="istio"))
    selector_yaml = dump([
        {"podSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}}},
        {"podSelector": {"matchExpressions": [{"key": "istio.io/dataplane-mode", "operator": "NotIn",
                                               "values": ["none"]}]},
         "namespaceSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}}},
    ])
    config_map(c, "istio-system", "istio-cni-config", t_cni, {
        "CURRENT_AGENT_VERSION": ISTIO_VERSION, "AMBIENT_ENABLED": "true",
        "AMBIENT_ENABLEMENT_SELECTOR": selector_yaml, "AMBIENT_DNS_CAPTURE": "true", "AMBIENT_IPV6": "true",
        "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true", "ENABLE_AMBIENT_DETECTION_RETRY": "false",
        "ISTIO_OWNED_CNI_CONFIG": "false", "CHAINED_CNI_PLUGIN": "true", "EXCLUDE_NAMESPACES": "kube-system",
        "REPAIR_ENABLED": "true", "REPAIR_LABEL_PODS": "false", "REPAIR_DELETE_PODS": "false",
        "REPAIR_REPAIR_PODS": "true", "REPAIR_INIT_CONTAINER_NAME": "istio-validation",
        "REPAIR_BROKEN_POD_LABEL_KEY": "cni.istio.io/uninitialized", "REPAIR_BROKEN_POD_LABEL_VALUE": "true",
        "NATIVE_NFTABLES": "false"}, labels=installed("cni", "Cni", app="istio-cni", release="istio"))
    node_tolerations = [{"effect": "NoSchedule", "operator": "Exists"},
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoExecute", "operator": "Exists"}]
    cni_pod_labels = {**chart_labels("cni"), "k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false",
                      "istio.io/dataplane-mode": "none", "app.kubernetes.io/name": "istio-cni"}

    def hp(name, path, mount, typ=None, ro=False, prop=None):
        v = {"hostPath": {"path": path, "type": typ or ""}, "name": name}
        m = {"mountPath": mount, "name": name}
        if ro:
            m["readOnly"] = True
        if prop:
            m["mountPropagation"] = prop
        return v, m

    cni_vols = [hp("cni-bin-dir", "/opt/cni/bin", "/host/opt/cni/bin"),
                hp("cni-host-procfs", "/proc", "/host/proc", "Directory", ro=True),
                hp("cni-ztunnel-sock-dir", "/var/run/ztunnel", "/var/run/ztunnel", "DirectoryOrCreate"),
                hp("cni-net-dir", "/etc/cni/net.d", "/host/etc/cni/net.d"),
                hp("cni-socket-dir", "/var/run/istio-cni", "/var/run/istio-cni"),
                hp("cni-netns-dir", "/var/run/netns", "/host/var/run/netns", "DirectoryOrCreate",
                   prop="HostToContainer")]
    cni_tmpl = {"metadata": {"labels": cni_pod_labels, "annotations": {
        "sidecar.istio.io/inject": "false", "prometheus.io/scrape": "true", "prometheus.io/port": "15014",
        "prometheus.io/path": "/metrics", "container.apparmor.security.beta.kubernetes.io/install-cni": "unconfined"}},
        "spec": {
            "containers": [{
                "args": ["--log_output_level=info"],
                "command": ["install-cni"],
                "env": [env("REPAIR_NODE_NAME", field="spec.nodeName"), env("REPAIR_RUN_AS_DAEMON", "true"),
                        env("REPAIR_SIDECAR_ANNOTATION", "sidecar.istio.io/status"),
                        env("ALLOW_SWITCH_TO_HOST_NS", "true"), env("NODE_NAME", field="spec.nodeName"),
                        env("GOMEMLIMIT", resource="limits.memory"), env("GOMAXPROCS", resource="limits.cpu"),
                        env("POD_NAME", field="metadata.name"), env("POD_NAMESPACE", field="metadata.namespace")],
                "envFrom": [{"configMapRef": {"name": "istio-cni-config"}}],
                "image": f"{HUB}/install-cni:{ISTIO_TAG}",
                "name": "install-cni",
                "ports": [port("metrics", 15014)],
                "readinessProbe": http_probe("/readyz", 8000),
                "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_ADMIN",
                                                             "DAC_OVERRIDE"], "drop": ["ALL"]},
                                    "privileged": False, "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0},
                "volumeMounts": [m for _, m in cni_vols],
            }],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "priorityClassName": "system-node-critical",
            "serviceAccountName": "istio-cni",
            "terminationGracePeriodSeconds": 30,
            "tolerations": copy.deepcopy(node_tolerations),
            "volumes": [v for v, _ in cni_vols],
        }}
    cni_opts = {}
    if c.name == "cluster1":
        # istio-cni on cluster1-worker2 was restarted on the 19th (see the uncaptured curl pod)
        cni_opts["cluster1-worker2"] = {"restarts": 1, "started": ts(19, 14, 2, 40), "last_state": {"terminated": {
            "containerID": f"containerd://{digest(c.name, 'istio-cni-node-prev')}", "exitCode": 137,
            "finishedAt": ts(19, 14, 2, 31), "reason": "OOMKilled", "startedAt": after(t_cni, 4)}}}
    daemonset(c, "istio-system", "istio-cni-node", created=t_cni, labels=cni_labels,
              selector={"k8s-app": "istio-cni-node"}, template=cni_tmpl,
              strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"},
              pod_options=cni_opts)

    # ztunnel
    zt_labels = installed("ztunnel", "Ztunnel", **{"app.kubernetes.io/name": "ztunnel"})
    service_account(c, "istio-system", "ztunnel", t_zt, labels=zt_labels)
    zt_tmpl = {"metadata": {"labels": {**chart_labels("ztunnel"), "sidecar.istio.io/inject": "false",
                                       "istio.io/dataplane-mode": "none", "app": "ztunnel",
                                       "app.kubernetes.io/name": "ztunnel"},
                            "annotations": {"sidecar.istio.io/inject": "false", "prometheus.io/port": "15020",
                                            "prometheus.io/scrape": "true"}},
               "spec": {
                   "containers": [{
                       "args": ["proxy", "ztunnel"],
                       "env": [env("CA_ADDRESS", ISTIOD_ADDR), env("XDS_ADDRESS", ISTIOD_ADDR),
                               env("NETWORK", c.network), env("RUST_LOG", "info"), env("RUST_BACKTRACE", "1"),
                               env("ISTIO_META_CLUSTER_ID", c.name), env("INPOD_ENABLED", "true"),
                               env("TERMINATION_GRACE_PERIOD_SECONDS", "30"), env("POD_NAME", field="metadata.name"),
                               env("POD_NAMESPACE", field="metadata.namespace"), env("NODE_NAME", field="spec.nodeName"),
                               env("INSTANCE_IP", field="status.podIP"),
                               env("SERVICE_ACCOUNT", field="spec.serviceAccountName"),
                               env("ISTIO_META_ENABLE_HBONE", "true"),
                               env("ZTUNNEL_CPU_LIMIT", resource="limits.cpu")],
                       "image": f"{HUB}/ztunnel:{ISTIO_TAG}",
                       "name": "istio-proxy",
                       "ports": [port("ztunnel-stats", 15020)],
                       "readinessProbe": http_probe("/healthz/ready", 15021),
                       "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}},
                       "securityContext": {"allowPrivilegeEscalation": True,
                                           "capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"],
                                                            "drop": ["ALL"]},
                                           "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                                           "runAsNonRoot": False, "runAsUser": 0},
                       "volumeMounts": [{"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
                                        {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
                                        {"mountPath": "/var/run/ztunnel", "name": "cni-ztunnel-sock-dir"},
                                        {"mountPath": "/tmp", "name": "tmp"}],
                   }],
                   "nodeSelector": {"kubernetes.io/os": "linux"},
                   "priorityClassName": "system-node-critical",
                   "serviceAccountName": "ztunnel",
                   "terminationGracePeriodSeconds": 30,
                   "tolerations": copy.deepcopy(node_tolerations),
                   "volumes": [
                       {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
                           "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
                       {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
                       {"hostPath": {"path": "/var/run/ztunnel", "type": "DirectoryOrCreate"},
                        "name": "cni-ztunnel-sock-dir"},
                       {"emptyDir": {}, "name": "tmp"},
                   ],
               }}
    daemonset(c, "istio-system", "ztunnel", created=t_zt, labels=zt_labels, selector={"app": "ztunnel"},
              template=zt_tmpl, strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                                          "type": "RollingUpdate"})


# --------------------------------------------------------------------------------------------------
# Gateway API: classes, gateways (and what istiod deploys for them), routes
# --------------------------------------------------------------------------------------------------
GATEWAY_CLASSES = [("istio", "istio.io/gateway-controller"), ("istio-east-west", "istio.io/eastwest-controller"),
                   ("istio-remote", "istio.io/unmanaged-gateway"), ("istio-waypoint", "istio.io/mesh-controller")]
MANAGED_LABEL = {"istio": "istio.io-gateway-controller", "istio-waypoint": "istio.io-mesh-controller",
                 "istio-east-west": "istio.io-eastwest-controller"}


def gateway_classes(c: Cluster, t: str) -> None:
    for name, controller in GATEWAY_CLASSES:
        c.add(K.GATEWAY_CLASS, {
            "metadata": meta(name, created=t, generation=1),
            "spec": {"controllerName": controller},
            "status": {"conditions": [cond("Accepted", "True", "Accepted", "Handled by Istio controller", t,
                                           observedGeneration=1)]},
        })


def listener_status(listener: dict, attached: int, when: str) -> dict:
    kinds = []
    if listener["protocol"] in ("HTTP", "HTTPS"):
        kinds = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
                 {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}]
    ok = "No errors found"
    return {"attachedRoutes": attached, "conditions": [
        cond("Accepted", "True", "Accepted", ok, when, observedGeneration=1),
        cond("NoConflicts", "False", "NoConflicts", ok, when, observedGeneration=1),
        cond("Programmed", "True", "Programmed", ok, when, observedGeneration=1),
        cond("ResolvedRefs", "True", "ResolvedRefs", ok, when, observedGeneration=1),
    ], "name": listener["name"], "supportedKinds": kinds}


def gateway(c: Cluster, ns: str, name: str, cls: str, listeners: list[dict], *, created: str,
            labels: dict | None = None, attached: dict[str, int] | None = None, node: str) -> None:
    """A Gateway with the ServiceAccount, Deployment and Service istiod creates for it."""
    deployed = name if cls in ("istio-waypoint", "istio-east-west") else f"{name}-istio"
    gw_ref = c.owner(K.GATEWAY, name, ns, controller=False, block=False)
    gw_ref = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": name, "uid": gw_ref["uid"]}
    t_dep = after(created, 1)
    net = (labels or {}).get("topology.istio.io/network", c.network)
    obj_labels = {"gateway.istio.io/managed": MANAGED_LABEL[cls], "gateway.networking.k8s.io/gateway-class-name": cls,
                  "gateway.networking.k8s.io/gateway-name": name, "topology.istio.io/network": net,
                  **(labels or {})}
    service_account(c, ns, deployed, t_dep, labels=obj_labels, owners=[gw_ref])
    waypoint_like = cls != "istio"
    pod_labels = {**obj_labels, "service.istio.io/canonical-name": deployed,
                  "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    pod_ann = {"istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
               "prometheus.io/scrape": "true"}
    if waypoint_like:
        pod_labels["istio.io/dataplane-mode"] = "none"
        args = ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--serviceCluster",
                f"{deployed}.$(POD_NAMESPACE)", "--proxyLogLevel", "warning", "--proxyComponentLogLevel",
                "misc:error", "--log_output_level", "default:info"]
    else:
        if c.ambient_namespace(ns):
            pod_ann["ambient.istio.io/redirection"] = "enabled"
        args = ["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel", "warning",
                "--proxyComponentLogLevel", "misc:error", "--log_output_level", "default:info"]
    proxy_config = json.dumps({"discoveryAddress": ISTIOD_ADDR, "image": {"imageType": "distroless"},
                               "meshId": MESH_ID, "proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"}},
                              sort_keys=True)
    envs = [env("ISTIO_META_SERVICE_ACCOUNT", field="spec.serviceAccountName"),
            env("ISTIO_META_NODE_NAME", field="spec.nodeName"), env("PILOT_CERT_PROVIDER", "istiod"),
            env("CA_ADDR", ISTIOD_ADDR), env("POD_NAME", field="metadata.name"),
            env("POD_NAMESPACE", field="metadata.namespace"), env("INSTANCE_IP", field="status.podIP"),
            env("SERVICE_ACCOUNT", field="spec.serviceAccountName"), env("HOST_IP", field="status.hostIP"),
            env("ISTIO_CPU_LIMIT", resource="limits.cpu"), env("PROXY_CONFIG", proxy_config),
            env("GOMEMLIMIT", resource="limits.memory"), env("GOMAXPROCS", resource="limits.cpu"),
            env("ISTIO_META_CLUSTER_ID", c.name), env("ISTIO_META_NETWORK", net)]
    if cls == "istio-east-west":
        envs.append(env("ISTIO_META_REQUESTED_NETWORK_VIEW", net))
    envs += [env("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"), env("ISTIO_META_WORKLOAD_NAME", deployed),
             env("ISTIO_META_OWNER", f"kubernetes://apis/apps/v1/namespaces/{ns}/deployments/{deployed}"),
             env("ISTIO_META_MESH_ID", MESH_ID), env("TRUST_DOMAIN", TRUST_DOMAIN),
             env("ISTIO_META_ENABLE_HBONE", "true")]
    ctr_ports = ([port("metrics", 15020)] if waypoint_like else []) + [port("status-port", 15021),
                                                                       port("http-envoy-prom", 15090)]
    spec = {
        "containers": [{
            "args": args,
            "env": envs,
            "image": f"{HUB}/proxyv2:{ISTIO_TAG}",
            "name": "istio-proxy",
            "ports": ctr_ports,
            "readinessProbe": http_probe("/healthz/ready", 15021, period=15, failure=4),
            "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                                "runAsNonRoot": True, "runAsUser": 1337},
            "startupProbe": http_probe("/healthz/ready", 15021, initial=1, period=1, failure=30),
            "volumeMounts": [{"mountPath": "/var/run/secrets/workload-spiffe-uds", "name": "workload-socket"},
                             {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
                             {"mountPath": "/var/lib/istio/data", "name": "istio-data"},
                             {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
                             {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
                             {"mountPath": "/etc/istio/pod", "name": "istio-podinfo"}],
        }],
        "serviceAccountName": deployed,
        "terminationGracePeriodSeconds": 2,
        "volumes": [
            {"emptyDir": {}, "name": "workload-socket"},
            {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
            {"emptyDir": {}, "name": "istio-data"},
            {"downwardAPI": {"defaultMode": 420, "items": [
                {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"},
                {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}, "path": "annotations"}]},
             "name": "istio-podinfo"},
            {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
                "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
            {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
        ],
    }
    if not waypoint_like:
        spec["securityContext"] = {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]}
    deployment(c, ns, deployed, created=t_dep, labels=obj_labels,
               selector={"gateway.networking.k8s.io/gateway-name": name},
               template={"metadata": {"labels": pod_labels, "annotations": pod_ann}, "spec": spec},
               nodes=[node], owners=[gw_ref])
    svc_ports = [{"name": "status-port", "port": 15021, "appProtocol": "tcp"}]
    seen = set()
    for li in listeners:
        if li["port"] in seen:
            continue
        seen.add(li["port"])
        svc_ports.append({"name": li["name"], "port": li["port"], "appProtocol": li["protocol"].lower()})
    svc_type = "ClusterIP" if cls == "istio-waypoint" else "LoadBalancer"
    svc_ann = {"networking.istio.io/traffic-distribution": "PreferClose"} if waypoint_like else None
    svc = service(c, ns, deployed, created=t_dep, labels=obj_labels, annotations=svc_ann, ports=svc_ports,
                  selector={"gateway.networking.k8s.io/gateway-name": name}, type_=svc_type, owners=[gw_ref],
                  family_policy="PreferDualStack")
    address = (svc["status"]["loadBalancer"]["ingress"][0]["ip"] if svc_type == "LoadBalancer"
               else svc["spec"]["clusterIP"])
    t_ready = after(created, 20)
    ports_txt = ", ".join(f"{deployed}.{ns}.svc.cluster.local:{p['port']}" for p in svc_ports[1:])
    c.add(K.GATEWAY, {
        "metadata": meta(name, ns, created=created, generation=1, labels=labels,
                         annotations={"gateway.istio.io/controller-version": "5"}),
        "spec": {"gatewayClassName": cls, "listeners": listeners},
        "status": {
            "addresses": [{"type": "IPAddress", "value": address}],
            "conditions": [
                cond("Accepted", "True", "Accepted", "Resource accepted", t_ready, observedGeneration=1),
                cond("Programmed", "True", "Programmed", f"Resource programmed, assigned to service(s) {ports_txt}",
                     t_ready, observedGeneration=1),
            ],
            "listeners": [listener_status(li, (attached or {}).get(li["name"], 0), t_ready) for li in listeners],
        },
    })


def route_parent(parent: dict, when: str, generation: int = 1, resolved: tuple[str, str] | None = None,
                 waypoints_message: str = "All waypoints resolved") -> dict:
    conds = [cond("Accepted", "True", "Accepted", "Route was valid", when, observedGeneration=generation)]
    if resolved:
        conds.append(cond("ResolvedRefs", "False", resolved[0], resolved[1], when, observedGeneration=generation))
    else:
        conds.append(cond("ResolvedRefs", "True", "ResolvedRefs", "All references resolved", when,
                          observedGeneration=generation))
    conds.append(cond("ResolvedWaypoints", "True", "ResolvedWaypoints", waypoints_message, when,
                      observedGeneration=generation))
    return {"conditions": conds, "controllerName": "istio.io/gateway-controller", "parentRef": parent}


def http_route(c: Cluster, ns: str, name: str, *, created: str, parents: list[dict], rules: list[dict],
               hostnames: list[str] | None = None, resolved: tuple[str, str] | None = None,
               labels: dict | None = None) -> None:
    spec: dict = {"parentRefs": parents, "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    c.add(K.HTTP_ROUTE, {
        "metadata": meta(name, ns, created=created, generation=1, labels=labels),
        "spec": spec,
        "status": {"parents": [route_parent(p, after(created, 1), resolved=resolved) for p in parents]},
    })


def gw_parent(name: str, ns: str | None = None) -> dict:
    p = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}
    if ns:
        p["namespace"] = ns
    return p


def backend(name: str, port_: int, weight: int = 1) -> dict:
    return {"group": "", "kind": "Service", "name": name, "port": port_, "weight": weight}


# --------------------------------------------------------------------------------------------------
# Multicluster wiring
# --------------------------------------------------------------------------------------------------
def east_west(c: Cluster, node: str) -> None:
    t = ts(13, 8, 30)
    gateway(c, "istio-system", "istio-eastwestgateway", "istio-east-west", [{
        "allowedRoutes": {"namespaces": {"from": "Same"}},
        "name": "mesh", "port": 15008, "protocol": "HBONE",
        "tls": {"mode": "Terminate", "options": {"gateway.istio.io/tls-terminate-mode": "ISTIO_MUTUAL"}},
    }], created=t, labels={"topology.istio.io/network": c.network}, node=node)


def remote_secret(c: Cluster, peer: str, created: str) -> None:
    secret(c, "istio-system", f"istio-remote-secret-{peer}", created, [peer],
           labels={"istio/multiCluster": "true"}, annotations={"networking.istio.io/cluster": peer})


def reader_token(c: Cluster, created: str) -> None:
    sa = c.get(K.SERVICE_ACCOUNT, "istio-reader-service-account", "istio-system")
    secret(c, "istio-system", "istio-reader-service-account-istio-remote-secret-token", created,
           ["ca.crt", "namespace", "token"], type_="kubernetes.io/service-account-token",
           annotations={"kubernetes.io/service-account.name": "istio-reader-service-account",
                        "kubernetes.io/service-account.uid": sa["metadata"]["uid"]})


# --------------------------------------------------------------------------------------------------
# Applications
# --------------------------------------------------------------------------------------------------
def bookinfo_app(c: Cluster, name: str, version: str, *, created: str, node: str, sa: str,
                 extra_env: list[dict] | None = None, volumes: list[tuple[str, str]] | None = None,
                 replicas_nodes: list[str] | None = None, rollout: str | None = None) -> None:
    app = name
    dep = f"{name}-{version}"
    vols = volumes or [("tmp", "/tmp")]
    tmpl = {"metadata": {"labels": {"app": app, "version": version}}, "spec": {
        "containers": [{
            **({"env": extra_env} if extra_env else {}),
            "image": f"docker.io/istio/examples-bookinfo-{name}-{version}:{BOOKINFO_TAG}",
            "name": name,
            "ports": [port(None, 9080)],
            "volumeMounts": [{"mountPath": m, "name": v} for v, m in vols],
        }],
        "serviceAccountName": sa,
        "volumes": [{"emptyDir": {}, "name": v} for v, _ in vols],
    }}
    deployment(c, "bookinfo", dep, created=created, labels={"app": app, "version": version},
               selector={"app": app, "version": version}, template=tmpl, nodes=replicas_nodes or [node],
               rollout=rollout)


def bookinfo_service(c: Cluster, name: str, created: str, *, labels: dict | None = None,
                     ports: list[dict] | None = None, selector: dict | None = None, waypoint: bool = True) -> None:
    conds = None
    if waypoint:
        conds = [cond("istio.io/WaypointBound", "True", "WaypointAccepted",
                      "Successfully attached to waypoint bookinfo/waypoint", after(created, 30))]
    service(c, "bookinfo", name, created=created, labels={"app": selector["app"] if selector else name,
                                                          "service": name, **(labels or {})},
            ports=ports or [{"name": "http", "port": 9080}], selector=selector or {"app": name},
            conditions=conds)


def bookinfo_cluster1(c: Cluster) -> None:
    t_ns = ts(13, 8, 5)
    namespace(c, "bookinfo", t_ns, labels={"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"})
    t = ts(13, 9, 0)
    w = ["cluster1-worker", "cluster1-worker2"]
    for sa in ("bookinfo-details", "bookinfo-productpage", "bookinfo-ratings", "bookinfo-reviews"):
        service_account(c, "bookinfo", sa, t, labels={"account": sa.split("-", 1)[1]})
    bookinfo_app(c, "details", "v1", created=t, node=w[0], sa="bookinfo-details")
    bookinfo_app(c, "ratings", "v1", created=t, node=w[1], sa="bookinfo-ratings")
    reviews_env = [env("LOG_DIR", "/tmp/logs")]
    reviews_vols = [("tmp", "/tmp"), ("wlp-output", "/opt/ibm/wlp/output")]
    bookinfo_app(c, "reviews", "v1", created=t, node=w[0], sa="bookinfo-reviews", extra_env=reviews_env,
                 volumes=reviews_vols)
    bookinfo_app(c, "reviews", "v2", created=t, node=w[1], sa="bookinfo-reviews", extra_env=reviews_env,
                 volumes=reviews_vols)
    bookinfo_app(c, "productpage", "v1", created=t, node=w[0], sa="bookinfo-productpage",
                 rollout=ts(16, 11, 20))
    bookinfo_service(c, "details", t)
    bookinfo_service(c, "productpage", t)
    bookinfo_service(c, "ratings", t, labels={"istio.io/global": "true"})
    bookinfo_service(c, "reviews", t, labels={"istio.io/global": "true"})
    for v in ("v1", "v2"):
        bookinfo_service(c, f"reviews-{v}", ts(13, 9, 10), selector={"app": "reviews", "version": v})

    # waypoint (istioctl waypoint apply -n bookinfo --enroll-namespace --for service)
    gateway(c, "bookinfo", "waypoint", "istio-waypoint", [{"allowedRoutes": {"namespaces": {"from": "Same"}},
                                                            "name": "mesh", "port": 15008, "protocol": "HBONE"}],
            created=ts(13, 9, 5), labels={"istio.io/waypoint-for": "service"}, node=w[1])
    # ingress
    gateway(c, "bookinfo", "bookinfo-gateway", "istio", [{"allowedRoutes": {"namespaces": {"from": "Same"}},
                                                           "name": "http", "port": 80, "protocol": "HTTP"}],
            created=ts(13, 9, 2), attached={"http": 1}, node=w[0])
    http_route(c, "bookinfo", "bookinfo", created=ts(13, 9, 2, 30), parents=[gw_parent("bookinfo-gateway")], rules=[{
        "backendRefs": [backend("productpage", 9080)],
        "matches": [{"path": {"type": "Exact", "value": "/productpage"}},
                    {"path": {"type": "PathPrefix", "value": "/static"}},
                    {"path": {"type": "Exact", "value": "/login"}},
                    {"path": {"type": "Exact", "value": "/logout"}},
                    {"path": {"type": "PathPrefix", "value": "/api/v1/products"}}],
    }])
    http_route(c, "bookinfo", "reviews", created=ts(15, 10, 0),
               parents=[{"group": "", "kind": "Service", "name": "reviews", "port": 9080}],
               rules=[{"backendRefs": [backend("reviews-v1", 9080, 90), backend("reviews-v2", 9080, 10)],
                       "matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}])

    # a client that predates enrollment: never captured (planted problem)
    curl_tmpl = {"metadata": {"labels": {"app": "curl"}}, "spec": {
        "containers": [{"command": ["/bin/sleep", "infinity"], "image": "docker.io/curlimages/curl:8.16.0",
                        "name": "curl"}],
        "serviceAccountName": "curl",
        "terminationGracePeriodSeconds": 0,
    }}
    service_account(c, "bookinfo", "curl", ts(19, 14, 1))
    deployment(c, "bookinfo", "curl", created=ts(19, 14, 1), labels={"app": "curl"}, selector={"app": "curl"},
               template=curl_tmpl, nodes=["cluster1-worker2"],
               pod_options=[{"created": ts(19, 14, 2, 5), "captured": False, "started": ts(19, 14, 2, 12)}])

    # Istio config
    c.add(K.DESTINATION_RULE, {"metadata": meta("reviews", "bookinfo", created=ts(15, 10, 0), generation=1),
                               "spec": {"host": "reviews.bookinfo.svc.cluster.local", "subsets": [
                                   {"labels": {"version": v}, "name": v} for v in ("v1", "v2", "v3")]}})
    c.add(K.DESTINATION_RULE, {"metadata": meta("ratings", "bookinfo", created=ts(17, 16, 45), generation=1),
                               "spec": {"host": "ratings.bookinfo.svc.cluster.local",
                                        "trafficPolicy": {"connectionPool": {"http": {"http2MaxRequests": 200}}},
                                        "subsets": [{"labels": {"version": "v1"}, "name": "v1"},
                                                    {"labels": {"version": "v2"}, "name": "v2"}]}})
    c.add(K.VIRTUAL_SERVICE, {"metadata": meta("productpage-legacy", "bookinfo", created=ts(18, 13, 30), generation=1),
                              "spec": {"gateways": ["bookinfo/bookinfo-ingress"], "hosts": ["bookinfo.example.com"],
                                       "http": [{"match": [{"uri": {"prefix": "/productpage"}}], "route": [
                                           {"destination": {"host": "productpage.bookinfo.svc.cluster.local",
                                                            "port": {"number": 9080}}}]}]}})
    authz_ratings(c)
    c.add(K.AUTHORIZATION_POLICY, {"metadata": meta("details-viewer", "bookinfo", created=ts(18, 10, 15), generation=1),
                                   "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "detail"}},
                                            "rules": [{"from": [{"source": {"principals": [
                                                "cluster.local/ns/bookinfo/sa/bookinfo-productpage"]}}]}]}})


def authz_ratings(c: Cluster) -> None:
    c.add(K.AUTHORIZATION_POLICY, {"metadata": meta("ratings-allow-reviews", "bookinfo", created=ts(15, 10, 5),
                                                    generation=1),
                                   "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "ratings"}},
                                            "rules": [{"from": [{"source": {"principals": [
                                                "cluster.local/ns/bookinfo/sa/bookinfo-reviews"]}}]}]}})


def bookinfo_cluster2(c: Cluster) -> None:
    namespace(c, "bookinfo", ts(13, 8, 50), labels={"istio.io/dataplane-mode": "ambient",
                                                    "istio.io/use-waypoint": "waypoint"})
    t = ts(13, 9, 15)
    for sa in ("bookinfo-ratings", "bookinfo-reviews"):
        service_account(c, "bookinfo", sa, t, labels={"account": sa.split("-", 1)[1]})
    bookinfo_app(c, "ratings", "v1", created=t, node="cluster2-worker", sa="bookinfo-ratings")
    bookinfo_app(c, "reviews", "v3", created=t, node="cluster2-worker", sa="bookinfo-reviews",
                 extra_env=[env("LOG_DIR", "/tmp/logs")], volumes=[("tmp", "/tmp"), ("wlp-output", "/opt/ibm/wlp/output")])
    bookinfo_service(c, "reviews", t, labels={"istio.io/global": "true"})
    # planted: ratings is global but its port differs from cluster1's (IST0170)
    bookinfo_service(c, "ratings", t, labels={"istio.io/global": "true"},
                     ports=[{"name": "http", "port": 8080, "targetPort": 9080}])
    gateway(c, "bookinfo", "waypoint", "istio-waypoint", [{"allowedRoutes": {"namespaces": {"from": "Same"}},
                                                            "name": "mesh", "port": 15008, "protocol": "HBONE"}],
            created=ts(13, 9, 16), labels={"istio.io/waypoint-for": "service"}, node="cluster2-worker")
    authz_ratings(c)


def mesh_policies(c: Cluster) -> None:
    c.add(K.PEER_AUTHENTICATION, {"metadata": meta("default", "istio-system", created=ts(13, 9, 30), generation=1),
                                  "spec": {"mtls": {"mode": "STRICT"}}})
    c.add(K.AUTHORIZATION_POLICY, {"metadata": meta("deny-legacy-to-apps", "istio-system", created=ts(18, 9, 0),
                                                    generation=1),
                                   "spec": {"action": "DENY", "rules": [{
                                       "from": [{"source": {"namespaces": ["legacy"]}}],
                                       "to": [{"operation": {"ports": ["9080", "8000"]}}]}]}})


def legacy_namespace(c: Cluster) -> None:
    """Planted: a namespace enrolled in ambient AND labelled for sidecar injection; its pods got sidecars."""
    t = ts(17, 15, 0)
    namespace(c, "legacy", t, labels={"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"})
    service_account(c, "legacy", "httpbin", after(t, 60))
    tmpl = {"metadata": {"labels": {"app": "httpbin", "version": "v1"}}, "spec": {
        "containers": [{"args": ["-port", "8080", "-max-duration", "600s"], "command": ["go-httpbin"],
                        "env": [env("USE_REAL_HOSTNAME", "true")],
                        "image": "docker.io/mccutchen/go-httpbin:v2.15.0", "name": "httpbin",
                        "ports": [port(None, 8080)]}],
        "serviceAccountName": "httpbin",
    }}

    def inject(spec, labels, annotations):
        proxy_img = f"{HUB}/proxyv2:{ISTIO_TAG}"
        annotations.update({
            "istio.io/rev": "default",
            "kubectl.kubernetes.io/default-container": "httpbin",
            "kubectl.kubernetes.io/default-logs-container": "httpbin",
            "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020", "prometheus.io/scrape": "true",
            "sidecar.istio.io/status": json.dumps({
                "initContainers": ["istio-validation", "istio-proxy"], "containers": None,
                "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                            "istio-podinfo", "istio-token", "istiod-ca-cert"],
                "imagePullSecrets": None, "revision": "default"}, separators=(",", ":")),
        })
        labels.update({"security.istio.io/tlsMode": "istio", "service.istio.io/canonical-name": "httpbin",
                       "service.istio.io/canonical-revision": "v1"})
        validation = {
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                     "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info",
                     "--run-validation", "--skip-rule-apply"],
            "image": proxy_img, "name": "istio-validation",
            "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                                "runAsNonRoot": True, "runAsUser": 1337},
        }
        sidecar = {
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                     "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error",
                     "--log_output_level=default:info"],
            "env": [env("PILOT_CERT_PROVIDER", "istiod"), env("CA_ADDR", ISTIOD_ADDR),
                    env("POD_NAME", field="metadata.name"), env("POD_NAMESPACE", field="metadata.namespace"),
                    env("INSTANCE_IP", field="status.podIP"), env("SERVICE_ACCOUNT", field="spec.serviceAccountName"),
                    env("ISTIO_META_CLUSTER_ID", c.name), env("ISTIO_META_NETWORK", c.network),
                    env("ISTIO_META_MESH_ID", MESH_ID), env("TRUST_DOMAIN", TRUST_DOMAIN),
                    env("ISTIO_META_WORKLOAD_NAME", "httpbin"),
                    env("ISTIO_META_OWNER", "kubernetes://apis/apps/v1/namespaces/legacy/deployments/httpbin")],
            "image": proxy_img, "name": "istio-proxy",
            "ports": [port("http-envoy-prom", 15090)],
            "readinessProbe": http_probe("/healthz/ready", 15021, period=15, failure=4),
            "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "restartPolicy": "Always",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                                "runAsNonRoot": True, "runAsUser": 1337},
            "startupProbe": http_probe("/healthz/ready", 15021, initial=0, period=1, failure=600),
            "volumeMounts": [{"mountPath": "/var/run/secrets/workload-spiffe-uds", "name": "workload-socket"},
                             {"mountPath": "/var/run/secrets/credential-uds", "name": "credential-socket"},
                             {"mountPath": "/var/run/secrets/workload-spiffe-credentials", "name": "workload-certs"},
                             {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
                             {"mountPath": "/var/lib/istio/data", "name": "istio-data"},
                             {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
                             {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
                             {"mountPath": "/etc/istio/pod", "name": "istio-podinfo"}],
        }
        for ctr in (validation, sidecar):
            _container_defaults(ctr)
        spec["initContainers"] = [validation, sidecar]
        spec["volumes"] = spec.get("volumes", []) + [
            {"emptyDir": {}, "name": "workload-socket"}, {"emptyDir": {}, "name": "credential-socket"},
            {"emptyDir": {}, "name": "workload-certs"}, {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
            {"emptyDir": {}, "name": "istio-data"},
            {"downwardAPI": {"defaultMode": 420, "items": [
                {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"},
                {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}, "path": "annotations"}]},
             "name": "istio-podinfo"},
            {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
                "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
            {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"}]

    deployment(c, "legacy", "httpbin", created=after(t, 60), labels={"app": "httpbin", "version": "v1"},
               selector={"app": "httpbin", "version": "v1"}, template=tmpl,
               nodes=["cluster1-worker", "cluster1-worker2"],
               pod_options=[{"mutate": inject}, {"mutate": inject}])
    service(c, "legacy", "httpbin", created=after(t, 60), labels={"app": "httpbin", "service": "httpbin"},
            ports=[{"name": "http", "port": 8000, "targetPort": 8080}], selector={"app": "httpbin"})


def payments_namespace(c: Cluster) -> None:
    """Planted: enrolled namespace pointing at a waypoint that does not exist; port without protocol prefix."""
    t = ts(18, 11, 0)
    namespace(c, "payments", t, labels={"istio.io/dataplane-mode": "ambient",
                                        "istio.io/use-waypoint": "missing-waypoint"})
    service_account(c, "payments", "ledger", after(t, 30))
    deployment(c, "payments", "ledger", created=after(t, 30), labels={"app": "ledger"}, selector={"app": "ledger"},
               nodes=["cluster1-worker2"],
               template={"metadata": {"labels": {"app": "ledger", "version": "v2"}}, "spec": {
                   "containers": [{"env": [env("LEDGER_DB_URL", secret=("ledger-db", "url"))],
                                   "image": "ghcr.io/acme-platform/ledger:2.4.1", "name": "ledger",
                                   "ports": [port("api", 8080)],
                                   "readinessProbe": http_probe("/healthz", 8080),
                                   "resources": {"limits": {"memory": "256Mi"},
                                                 "requests": {"cpu": "50m", "memory": "128Mi"}}}],
                   "serviceAccountName": "ledger"}})
    secret(c, "payments", "ledger-db", after(t, 20), ["url"])
    service(c, "payments", "ledger", created=after(t, 30), labels={"app": "ledger"},
            ports=[{"name": "api", "port": 8080}], selector={"app": "ledger"})


def inference_cluster1(c: Cluster, crds: dict) -> None:
    t_crd = ts(14, 10, 0)
    for src in crds["inference"] + crds["llm-d"]:
        add_crd(c, src, t_crd)
    t = ts(14, 10, 15)
    namespace(c, "llm", t, labels={"istio.io/dataplane-mode": "ambient"})
    secret(c, "llm", "hf-token", after(t, 10), ["token"])
    service_account(c, "llm", "vllm-llama3-8b", after(t, 20))
    deployment(c, "llm", "vllm-llama3-8b", created=after(t, 20), labels={"app": "vllm-llama3-8b"},
               selector={"app": "vllm-llama3-8b"}, replicas=3,
               nodes=["cluster1-worker", "cluster1-worker", "cluster1-worker2"],
               template={"metadata": {"labels": {"app": "vllm-llama3-8b"}}, "spec": {
                   "containers": [{
                       "args": ["--model", MODEL, "--served-model-name", MODEL, "--port", "8000",
                                "--max-model-len", "8192", "--gpu-memory-utilization", "0.90",
                                "--enable-prefix-caching"],
                       "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                       "env": [env("HF_TOKEN", secret=("hf-token", "token")), env("VLLM_USE_V1", "1"),
                               env("PORT", "8000")],
                       "image": VLLM_IMAGE,
                       "livenessProbe": http_probe("/health", "http", period=10, timeout=5, failure=3),
                       "name": "vllm",
                       "ports": [port("http", 8000)],
                       "readinessProbe": http_probe("/health", "http", period=5, timeout=5, failure=3),
                       "resources": {"limits": {"nvidia.com/gpu": "1"},
                                     "requests": {"cpu": "4", "memory": "24Gi", "nvidia.com/gpu": "1"}},
                       "startupProbe": http_probe("/health", "http", initial=30, period=10, failure=60),
                       "volumeMounts": [{"mountPath": "/data", "name": "data"}, {"mountPath": "/dev/shm", "name": "shm"}],
                   }],
                   "serviceAccountName": "vllm-llama3-8b",
                   "terminationGracePeriodSeconds": 130,
                   "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}],
                   "volumes": [{"emptyDir": {}, "name": "data"}, {"emptyDir": {"medium": "Memory"}, "name": "shm"}],
               }})

    # endpoint picker
    epp = "vllm-llama3-8b-epp"
    service_account(c, "llm", epp, after(t, 40))
    c.add(K.ROLE, {"metadata": meta(epp, "llm", created=after(t, 40)), "rules": [
        {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"],
         "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["inference.networking.x-k8s.io", "llm-d.ai"], "resources": ["inferenceobjectives"],
         "verbs": ["get", "watch", "list"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]},
    ]})
    c.add(K.ROLE_BINDING, {"metadata": meta(epp, "llm", created=after(t, 40)),
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": epp},
                           "subjects": [{"kind": "ServiceAccount", "name": epp, "namespace": "llm"}]})
    grpc_probe = {"failureThreshold": 3, "grpc": {"port": 9003, "service": "inference-extension"},
                  "initialDelaySeconds": 5, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1}
    deployment(c, "llm", epp, created=after(t, 40), labels={"app": epp}, selector={"app": epp},
               nodes=["cluster1-worker2"],
               template={"metadata": {"labels": {"app": epp}}, "spec": {
                   "containers": [{
                       "args": ["--pool-name", "vllm-llama3-8b", "--pool-namespace", "llm",
                                "--pool-group", "inference.networking.k8s.io"],
                       "image": EPP_IMAGE,
                       "livenessProbe": grpc_probe,
                       "name": "epp",
                       "ports": [port("grpc", 9002), port("grpc-health", 9003), port("metrics", 9090)],
                       "readinessProbe": grpc_probe,
                       "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                   }],
                   "serviceAccountName": epp,
                   "terminationGracePeriodSeconds": 130,
               }})
    service(c, "llm", epp, created=after(t, 40), labels={"app": epp},
            ports=[{"name": "grpc-ext-proc", "port": 9002, "appProtocol": "http2"},
                   {"name": "http-metrics", "port": 9090}], selector={"app": epp})

    pool_gen = 1
    t_pool = after(t, 60)
    c.add(K.INFERENCE_POOL, {
        "metadata": meta("vllm-llama3-8b", "llm", created=t_pool, generation=pool_gen),
        "spec": {
            "appProtocol": "http",
            "endpointPickerRef": {"failureMode": "FailClose", "group": "", "kind": "Service", "name": epp,
                                  "port": {"number": 9002}},
            "selector": {"matchLabels": {"app": "vllm-llama3-8b"}},
            "targetPorts": [{"number": 8000}],
        },
        "status": {"parents": [{
            "conditions": [
                cond("Accepted", "True", "Accepted", "Referenced by an HTTPRoute accepted by the parentRef Gateway",
                     after(t_pool, 40), observedGeneration=pool_gen),
                cond("ResolvedRefs", "True", "ResolvedRefs", "Referenced ExtensionRef resolved successfully",
                     after(t_pool, 40), observedGeneration=pool_gen),
            ],
            "controllerName": "istio.io/gateway-controller",
            "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway",
                          "namespace": "llm"},
        }]},
    })
    # the headless shadow Service istiod creates for the pool
    shadow = f"vllm-llama3-8b-ip-{hashlib.sha256(b'vllm-llama3-8b').hexdigest()[:8]}"
    service(c, "llm", shadow, created=after(t_pool, 40), headless=True, selector={"app": "vllm-llama3-8b"},
            labels={"istio.io/inferencepool-name": "vllm-llama3-8b",
                    "istio.io/inferencepool-extension-service": epp,
                    "istio.io/inferencepool-extension-port": "9002",
                    "istio.io/inferencepool-extension-failure-mode": "FailClose"},
            ports=[{"port": 54320, "targetPort": 8000}],
            owners=[{"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
                     "name": "vllm-llama3-8b", "uid": c.uid(K.INFERENCE_POOL, "vllm-llama3-8b", "llm")}])

    gateway(c, "llm", "inference-gateway", "istio", [{"allowedRoutes": {"namespaces": {"from": "Same"}},
                                                      "name": "http", "port": 80, "protocol": "HTTP"}],
            created=after(t, 50), attached={"http": 2}, node="cluster1-worker")
    pool_ref = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "vllm-llama3-8b"}
    http_route(c, "llm", "llm-route", created=after(t_pool, 30), parents=[gw_parent("inference-gateway")], rules=[{
        "backendRefs": [{**pool_ref, "weight": 1}],
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "timeouts": {"request": "300s"},
    }])
    # planted: old API group for the pool
    http_route(c, "llm", "llm-route-canary", created=ts(18, 16, 20), parents=[gw_parent("inference-gateway")],
               rules=[{"backendRefs": [{"group": "inference.networking.x-k8s.io", "kind": "InferencePool",
                                        "name": "vllm-llama3-8b", "weight": 1}],
                       "matches": [{"headers": [{"name": "x-canary", "type": "Exact", "value": "true"}],
                                    "path": {"type": "PathPrefix", "value": "/"}}],
                       "timeouts": {"request": "300s"}}],
               resolved=("InvalidKind",
                         'referencing unsupported backendRef: group "inference.networking.x-k8s.io" kind "InferencePool"'))
    for name, prio in (("llama3-8b-interactive", 10), ("llama3-8b-batch", -10)):
        c.add(K.INFERENCE_OBJECTIVE, {
            "metadata": meta(name, "llm", created=after(t_pool, 120), generation=1),
            "spec": {"poolRef": {"group": "inference.networking.k8s.io", "kind": "InferencePool",
                                 "name": "vllm-llama3-8b"}, "priority": prio},
        })


# --------------------------------------------------------------------------------------------------
# Per-namespace objects and endpoints, computed from everything else
# --------------------------------------------------------------------------------------------------
def per_namespace(c: Cluster) -> None:
    for ns_obj in list(c.objects[K.NAMESPACE]):
        ns = ns_obj["metadata"]["name"]
        created = ns_obj["metadata"]["creationTimestamp"]
        if not c.get(K.SERVICE_ACCOUNT, "default", ns):
            service_account(c, ns, "default", created)
        config_map(c, ns, "kube-root-ca.crt", created, {"ca.crt": KUBE_CA_PEM[c.name]}, annotations={
            "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when "
            "using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
            "guaranteed across distributions of Kubernetes clusters."})
        if ns not in ISTIO_MANAGED_NAMESPACES_SKIP:
            root_created = max(created, ts(13, 8, 22, 50))
            config_map(c, ns, "istio-ca-root-cert", root_created, {"root-cert.pem": MESH_ROOT_PEM},
                       labels={"istio.io/config": "true"})


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def endpoints(c: Cluster) -> None:
    pods = c.objects[K.POD]
    for svc in list(c.objects[K.SERVICE]):
        m, spec = svc["metadata"], svc["spec"]
        ns, name = m["namespace"], m["name"]
        created = after(m["creationTimestamp"], 1)
        headless = spec["clusterIP"] == "None"
        labels = dict(m.get("labels", {}))
        if headless:
            labels["service.kubernetes.io/headless"] = ""
        eps_ready: list[tuple[str, dict, dict]] = []
        ports: list[dict] = []
        if spec.get("selector"):
            members = sorted((p for p in pods if p["metadata"]["namespace"] == ns
                              and _selects(spec["selector"], p["metadata"].get("labels", {}))
                              and p["status"].get("podIP")), key=lambda p: ipaddress.ip_address(p["status"]["podIP"]))
            for sp in spec["ports"]:
                tp = sp["targetPort"]
                number = tp
                if isinstance(tp, str):
                    number = None
                    for p in members:
                        for ctr in p["spec"]["containers"]:
                            for cp in ctr.get("ports", []):
                                if cp.get("name") == tp:
                                    number = cp["containerPort"]
                    if number is None:
                        continue
                q = {"port": number, "protocol": sp["protocol"]}
                if sp.get("name"):
                    q = {"name": sp["name"], **q}
                if sp.get("appProtocol"):
                    q["appProtocol"] = sp["appProtocol"]
                ports.append(q)
            for p in members:
                ready = any(cn["type"] == "Ready" and cn["status"] == "True" for cn in p["status"].get("conditions", []))
                eps_ready.append((p["status"]["podIP"], p, {"ready": ready}))
        elif (ns, name) == ("default", "kubernetes"):
            cp = next(n for n in c.nodes if n["control_plane"])
            ports = [{"name": "https", "port": 6443, "protocol": "TCP"}]
            eps_ready = [(cp["ip"], None, {"ready": True})]
        else:
            continue
        owners = None if (ns, name) == ("default", "kubernetes") else [c.owner(K.SERVICE, name, ns)]
        slice_name = name if owners is None else f"{name}-{suffix(5, c.name, ns, name, 'slice')}"
        slice_labels = {**labels, "kubernetes.io/service-name": name}
        if owners is not None:
            slice_labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io"
        ep_list = []
        for ip, pod, st in eps_ready:
            e = {"addresses": [ip], "conditions": {"ready": st["ready"], "serving": st["ready"], "terminating": False}}
            if pod is not None:
                e["nodeName"] = pod["spec"]["nodeName"]
                e["targetRef"] = {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": ns,
                                  "uid": pod["metadata"]["uid"]}
            ep_list.append(e)
        c.add(K.ENDPOINT_SLICE, {
            "metadata": meta(slice_name, ns, created=created, labels=slice_labels,
                             annotations={"endpoints.kubernetes.io/last-change-trigger-time": created}
                             if owners else None,
                             owners=owners, generate_name=f"{name}-" if owners else None, generation=1),
            "addressType": "IPv4",
            "endpoints": ep_list,
            "ports": ports,
        })
        subsets = []
        if ep_list:
            ready_addrs, not_ready = [], []
            for ip, pod, st in eps_ready:
                a: dict = {"ip": ip}
                if pod is not None:
                    a["nodeName"] = pod["spec"]["nodeName"]
                    a["targetRef"] = {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": ns,
                                      "uid": pod["metadata"]["uid"]}
                (ready_addrs if st["ready"] else not_ready).append(a)
            sub: dict = {}
            if ready_addrs:
                sub["addresses"] = ready_addrs
            if not_ready:
                sub["notReadyAddresses"] = not_ready
            sub["ports"] = [{k: v for k, v in q.items() if k != "appProtocol"} | (
                {"appProtocol": q["appProtocol"]} if "appProtocol" in q else {}) for q in ports]
            subsets.append(sub)
        ep_obj = {"metadata": meta(name, ns, created=created, labels=labels or None,
                                   annotations={"endpoints.kubernetes.io/last-change-trigger-time": created}
                                   if owners else None)}
        if subsets:
            ep_obj["subsets"] = subsets
        c.add(K.ENDPOINTS, ep_obj)


# --------------------------------------------------------------------------------------------------
# Writing the snapshot
# --------------------------------------------------------------------------------------------------
def render_cluster(c: Cluster, files: dict[str, str]) -> dict[str, int]:
    """Add the cluster's files (relative path -> text) to ``files``; return the object count per file."""
    served, missing, counts = [], [], {}
    for kind in K.ALL_KINDS:
        crd_backed = kind.group not in ("", "apps", "autoscaling", "policy", "discovery.k8s.io",
                                        K.RBAC, K.ADMISSION, K.APIEXT)
        if crd_backed and f"{kind.plural}.{kind.group}" not in c.crds:
            if c.objects.get(kind):
                raise ValueError(f"{c.name}: objects of {kind} but no CRD")
            missing.append(kind.resource)
            continue
        served.append(kind.resource)
        items = sorted(c.objects.get(kind, []),
                       key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        counts[kind.resource] = len(items)
        doc = {"apiVersion": "v1", "kind": "List", "items": [canonical(o) for o in items]}
        files[f"{c.name}/{kind.resource}.yaml"] = dump(doc)
    meta_doc = {"cluster": c.name, "context": c.context, "server": c.server, "serverVersion": K8S_VERSION,
                "captured": CAPTURED, "kinds": served, "missing": missing}
    files[f"{c.name}/meta.yaml"] = dump(meta_doc)
    return counts


def build() -> list[Cluster]:
    crds = upstream_crds()
    c1 = Cluster("cluster1", api_port=64431, network="network1", peer="cluster2",
                 nodes=[("cluster1-control-plane", "172.18.0.3", True), ("cluster1-worker", "172.18.0.4", False),
                        ("cluster1-worker2", "172.18.0.2", False)],
                 pod_net="10.244.0.0/16", svc_net="10.96.0.0/16",
                 lb_ips=["172.18.0.10", "172.18.0.11", "172.18.0.12", "172.18.0.13"], created=ts(13, 8, 0))
    c2 = Cluster("cluster2", api_port=64432, network="network2", peer="cluster1",
                 nodes=[("cluster2-control-plane", "172.18.0.6", True), ("cluster2-worker", "172.18.0.5", False)],
                 pod_net="10.245.0.0/16", svc_net="10.97.0.0/16",
                 lb_ips=["172.18.0.20", "172.18.0.21", "172.18.0.22"], created=ts(13, 8, 2))

    for c in (c1, c2):
        gpu = {"cluster1-worker", "cluster1-worker2"} if c is c1 else set()
        nodes_(c, gpu)
        kube_system(c, gpu)
        for src in crds["gateway-api"]:
            add_crd(c, src, ts(13, 8, 18))
        istio_install(c, crds, inference=c is c1)
        gateway_classes(c, ts(13, 8, 22, 55))
        east_west(c, f"{c.name}-worker")
        mesh_policies(c)

    # one-way link: only cluster1 was given a remote secret (for cluster2); cluster2 has none for cluster1
    remote_secret(c1, "cluster2", ts(13, 8, 40))
    reader_token(c2, ts(13, 8, 39, 50))

    bookinfo_cluster1(c1)
    bookinfo_cluster2(c2)
    inference_cluster1(c1, crds)
    legacy_namespace(c1)
    payments_namespace(c1)

    for c in (c1, c2):
        per_namespace(c)
        endpoints(c)
        c.assign_resource_versions()
    return [c1, c2]


README = """\
# Demo snapshot: ambient multicluster with Bookinfo and an inference pool

This directory is a meshctl snapshot (format: `docs/snapshot-format.md`) of two kind clusters, as
`meshctl snapshot save --context kind-cluster1 --context kind-cluster2` would write it on
2026-11-20 09:00 UTC, a week after a platform team set up Istio 1.30.3 in ambient mode across them.
It is generated: edit `testdata/clusters/gen_demo.py` and run `python3 testdata/clusters/gen_demo.py`
from the repository root (the output is byte-identical on every run). Do not edit the YAML by hand.

## The clusters

| | cluster1 | cluster2 |
|---|---|---|
| context / server | `kind-cluster1` / `https://127.0.0.1:64431` | `kind-cluster2` / `https://127.0.0.1:64432` |
| Kubernetes | v1.32.2 (kind), containerd 2.0 | v1.32.2 (kind), containerd 2.0 |
| nodes | `cluster1-control-plane`, `cluster1-worker`, `cluster1-worker2` (workers have 2 `nvidia.com/gpu` each) | `cluster2-control-plane`, `cluster2-worker` |
| pod / service CIDR | 10.244.0.0/16 (a /24 per node) / 10.96.0.0/16 | 10.245.0.0/16 / 10.97.0.0/16 |
| network (`topology.istio.io/network` on istio-system) | `network1` | `network2` |
| east-west gateway address | 172.18.0.10 | 172.18.0.20 |
| CRDs | Istio (15), Gateway API v1.5.1 standard (8), Inference Extension v1.6.0 (2), llm-d `InferenceObjective` (1) | Istio (15), Gateway API v1.5.1 standard (8) |

Both clusters run the ambient profile of Istio 1.30.3 (`registry.istio.io/release`, tags
`1.30.3-distroless`): istiod (`PILOT_ENABLE_AMBIENT`, `AMBIENT_ENABLE_MULTI_NETWORK=true`,
`CLUSTER_ID`; in cluster1 also `ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true`), the `istio-cni-node`
and `ztunnel` DaemonSets (one pod per node), the default-revision webhooks and tag, the HPA, RBAC, the
`istio` mesh config (meshID `mesh1`, `serviceScopeConfigs` making `istio.io/global=true` Services
global), a shared root CA (`cacerts` Secret; every `istio-ca-root-cert` and webhook `caBundle` holds
the same root), the four GatewayClasses istiod registers, and an east-west Gateway
`istio-system/istio-eastwestgateway` with its Deployment, Service (LoadBalancer) and ServiceAccount.
kube-system holds what kind runs (control-plane static pods, CoreDNS, kube-proxy, kindnet; in cluster1
the NVIDIA device plugin), local-path-storage its provisioner.

## Namespaces and workloads

| namespace | cluster1 | cluster2 |
|---|---|---|
| `bookinfo` (ambient, `istio.io/use-waypoint: waypoint`) | productpage-v1 (rolled out again on the 16th: an old ReplicaSet at 0), details-v1, ratings-v1, reviews-v1, reviews-v2, Services incl. `reviews-v1`/`reviews-v2`; waypoint `waypoint` (class `istio-waypoint`, `istio.io/waypoint-for: service`); ingress Gateway `bookinfo-gateway` (class `istio`, Deployment/Service `bookinfo-gateway-istio`); HTTPRoutes `bookinfo` (ingress) and `reviews` (Service parent, 90/10 split); DestinationRules `reviews` (v1/v2/v3) and `ratings`; AuthorizationPolicies; a `curl` client | ratings-v1, reviews-v3, waypoint `waypoint`, AuthorizationPolicy `ratings-allow-reviews` |
| `llm` (ambient; cluster1 only) | `vllm-llama3-8b` (3 GPU pods, port 8000), InferencePool `vllm-llama3-8b` (`inference.networking.k8s.io/v1`, EPP Service `vllm-llama3-8b-epp` port 9002, FailClose) with the headless shadow Service istiod made for it, endpoint picker `vllm-llama3-8b-epp` (Deployment, Service, SA, Role, RoleBinding), Gateway `inference-gateway` (class `istio`), HTTPRoutes `llm-route` (300s request timeout) and `llm-route-canary`, InferenceObjectives (`llm-d.ai/v1alpha2`), Secret `hf-token` | — |
| `legacy` (cluster1 only) | `httpbin` (2 pods with injected sidecars) | — |
| `payments` (cluster1 only) | `ledger` | — |
| `istio-system` | as above; PeerAuthentication `default` (STRICT), AuthorizationPolicy `deny-legacy-to-apps`; remote secret `istio-remote-secret-cluster2` | as above; same policies; reader token Secret `istio-reader-service-account-istio-remote-secret-token` |

`reviews` and `ratings` are labelled `istio.io/global: "true"` in both clusters, so they span the mesh:
reviews v1/v2 run in cluster1, v3 in cluster2.

## Planted problems

Each is deliberate; analyzers and checks should find exactly these (plus the "expected, not a
problem" items below, which they should *not* report, or report as noted).

| # | cluster | object(s) | what is wrong | who should flag it |
|---|---|---|---|---|
| 1 | cluster1 | VirtualService `bookinfo/productpage-legacy` | `gateways: [bookinfo/bookinfo-ingress]` names an Istio Gateway that does not exist (there are no `networking.istio.io` Gateways at all) | IST0101 ReferencedResourceNotFound (virtualservice.GatewayAnalyzer) |
| 2 | cluster1 | DestinationRule `bookinfo/ratings`, subset `v2` | selects `version: v2`; no ratings pod has that label in either cluster | IST0173 DestinationRuleSubsetNotSelectPods |
| 3 | cluster1 | Service `payments/ledger`, port `api` (8080) | port name has no protocol prefix and no `appProtocol` | IST0118 PortNameIsNotUnderNamingConvention |
| 4 | cluster1 | AuthorizationPolicy `bookinfo/details-viewer` | selector `app: detail` matches no workload (the app is `details`) | IST0127 NoMatchingWorkloadsFound |
| 5 | cluster1 | Namespace `legacy`, pods `legacy/httpbin-*` | labelled both `istio-injection=enabled` and `istio.io/dataplane-mode=ambient`; the pods got sidecars (`sidecar.istio.io/status`, `istio-validation` + native `istio-proxy` init containers) and istio-cni left them out of ambient (no redirection annotation) | meshctl ambient check (ambient/sidecar conflict) |
| 6 | cluster1 | Pod `bookinfo/curl-*` on `cluster1-worker2` | Running in an enrolled namespace but not captured: no `ambient.istio.io/redirection: enabled`. It started (Nov 19, 14:02:05) while that node's `istio-cni-node` pod was restarting (OOMKilled; back at 14:02:40, restartCount 1) | meshctl ambient check (uncaptured pod) |
| 7 | cluster1 | Namespace `payments` | `istio.io/use-waypoint: missing-waypoint`, but no Gateway `missing-waypoint` exists; the `ledger` Service therefore has no `istio.io/WaypointBound` condition | meshctl ambient check (waypoints) |
| 8 | cluster1 | HTTPRoute `llm/llm-route-canary` | backendRef `group: inference.networking.x-k8s.io, kind: InferencePool` (the old group; that CRD is not even installed); status `ResolvedRefs=False`, reason `InvalidKind`, as Istio reports it | meshctl inference check (wrong group/kind); a negative route condition |
| 9 | cluster1 | InferencePool `llm/vllm-llama3-8b` | no DestinationRule for `vllm-llama3-8b-epp.llm.svc.cluster.local` with `tls.mode: SIMPLE` (+ `insecureSkipVerify: true` for the EPP's self-signed cert), so the `istio` gateway's ext_proc calls to the endpoint picker fail (5xx) | meshctl inference check (missing EPP TLS DestinationRule) |
| 10 | both | remote secrets | one-way link: cluster1 has `istio-system/istio-remote-secret-cluster2`, cluster2 has no `istio-remote-secret-cluster1` (only the reader token Secret `create-remote-secret` left behind), so cluster2's istiod never learns cluster1's endpoints | meshctl multicluster check |
| 11 | both | Service `bookinfo/ratings` (`istio.io/global: "true"`) | ports differ: cluster1 `http` 9080→9080, cluster2 `http` 8080→9080 | IST0170 MultiClusterInconsistentService; meshctl multicluster check |

### Expected, not a problem

- DestinationRule `bookinfo/reviews` in cluster1 has subset `v3`, whose pods run only in cluster2
  (`reviews` is global). A cluster1-only view of IST0173 flags it; a check that sees both clusters
  should not.
- `llm/vllm-llama3-8b-ip-22dc7de1` is the headless shadow Service istiod creates for the
  InferencePool (labels `istio.io/inferencepool-*`, owner the InferencePool); its single port is
  unnamed by design.
- kube-system's `kube-dns` port names (`dns`, `dns-tcp`, `metrics`) predate Istio's convention;
  system namespaces are not analysed.
- Istio-created gateway Services name ports `status-port`, `mesh`, `http` and set `appProtocol`.
- `istiod-revision-tag-default` selects the same pods as `istiod` (that is what the default tag is).
- `AuthorizationPolicy istio-system/deny-legacy-to-apps` names namespace `legacy`, which cluster2
  does not have; root-namespace policy is kept identical on both primaries.

## What was changed or left out on purpose

- **Secrets**: every value is the empty string, as the snapshot format requires; only `type`,
  metadata and the keys of `data` remain (`cacerts` keeps `ca-cert.pem`, `ca-key.pem`,
  `root-cert.pem`, `cert-chain.pem`; remote secrets keep the key named after the peer cluster).
- **CRDs**: derived from the upstream bundles (Istio's `base-1.30.3.tgz` `files/crd-all.gen.yaml`,
  Gateway API v1.5.1 `standard-install.yaml`, Inference Extension v1.6.0 `manifests.yaml`) with the
  OpenAPI schemas stripped: only metadata, group, names, scope and each version's name/served/storage
  remain. `inferenceobjectives.llm-d.ai` is not in the v1.6.0 bundle; it is described here as the
  llm-d project installs it.
- **`istio-sidecar-injector`**: key `values` holds the injector's values as JSON and key `config`
  holds `defaultTemplates`, `policy` and an empty `templates: {}`. The real templates (sidecar,
  gateway, waypoint, kube-gateway, ...) are Istio's Go templates; they are Istio's code and are not
  copied into this repository.
- **Certificates** in ConfigMaps and webhook `caBundle`s are public certificates made once for this
  demo (a mesh root shared by both clusters, a Kubernetes CA per cluster); no private key exists.
- `managedFields` and `kubectl.kubernetes.io/last-applied-configuration` are absent, as after capture.
- uids, image digests, container ids, generated name suffixes and IPs are synthetic but consistent:
  owner references resolve, Service selectors match their pods, EndpointSlices and Endpoints list the
  ready pods, pod IPs lie in their node's podCIDR, LoadBalancer addresses come from the kind Docker
  network (as cloud-provider-kind hands them out).

## Object counts

`missing` means the kind is listed under `missing` in that cluster's `meta.yaml` (its CRD is not
installed); every other kind in the registry was captured, most of them empty. Kinds empty in both
clusters are not shown.

@COUNTS@
"""


def readme(clusters: list[Cluster], counts: dict[str, dict[str, int]]) -> str:
    rows = []
    for kind in K.ALL_KINDS:
        cells = []
        for c in clusters:
            n = counts[c.name].get(kind.resource)
            cells.append("missing" if n is None else str(n))
        if any(x not in ("missing", "0") for x in cells):
            rows.append(f"| `{kind.resource}` | " + " | ".join(cells) + " |")
    totals = " | ".join(str(sum(counts[c.name].values())) for c in clusters)
    table = "\n".join(["| file | " + " | ".join(c.name for c in clusters) + " |",
                       "|---|" + "---|" * len(clusters), *rows, f"| **all objects** | {totals} |"])
    return README.replace("@COUNTS@", table)


def main() -> None:
    clusters = build()
    files: dict[str, str] = {}
    files["meta.yaml"] = dump({"format": "meshctl.dev/snapshot/v1", "meshctlVersion": MESHCTL_VERSION,
                               "created": CAPTURED, "clusters": [c.name for c in clusters]})
    counts = {c.name: render_cluster(c, files) for c in clusters}
    files["README.md"] = readme(clusters, counts)
    # everything is rendered in memory first, so a failure never leaves a half-written demo behind
    if OUT.exists():
        shutil.rmtree(OUT)
    for rel, text in sorted(files.items()):
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name, per_kind in counts.items():
        print(f"{name}: {sum(per_kind.values())} objects in {len(per_kind)} files")


# Certificates (public parts only) made once for the demo: the mesh root both clusters share
# (as istiod publishes it in istio-ca-root-cert and patches it into its webhooks) and each kind
# cluster's Kubernetes CA (kube-root-ca.crt). No private key exists anywhere in the repository.
MESH_ROOT_PEM = """\
-----BEGIN CERTIFICATE-----
MIIFFDCCAvygAwIBAgIULmwKpE0YZ8328rse+pLDiOZtTHwwDQYJKoZIhvcNAQEL
BQAwIjEOMAwGA1UECgwFSXN0aW8xEDAOBgNVBAMMB1Jvb3QgQ0EwHhcNMjYxMTEz
MDgxNTAwWhcNMzYxMTEwMDgxNTAwWjAiMQ4wDAYDVQQKDAVJc3RpbzEQMA4GA1UE
AwwHUm9vdCBDQTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAM8GK4j2
3TyiyhQzvpP2FmDyf/OIXm5SRjs3zplZSbwT5rSYv05Q3wbbwP8yv1fFGXy4iLfT
YWou0PHT3mJxOEfNO719bdOZl1SYTtBAU7lsYpWSDh24Gz7ZJqUQkLJg64D7u9oE
PMM7WtWAAPBOdssAGaD/Y3uXmNWnH3xlCbWzEDSApadL/V8YaGlZXb99BHgV2mLw
K3Zr7TIiZacbsdgVG1O/zVjTwJkQ6WtgumvZtlowhS08un3aXldIhQbZUy+UEG8u
WUKNp1GI4uQAiJcukMrxOw0PaLBiro3FdqAUofQX9EkdXnSRE84XHfn7jOAILuZC
5HKEBFbjNYt7pspD3bNCWTytAisdSTPI+CmH3PqKKLbJQAeGo4+2LeuHOetjvoM5
g5paH4KP/J5Cz4wcPvKSyOe2EvSKLdqxY8jDDUa4+cpM2WQ+Ist5tIzIeMP6wReY
EwqdEIhg6wUiO2rM9YdAdUrhsZXXIvMEYM+riMXdBgVaKW6U9kyKjfu5oSBUqcRn
lmvkvxWVkzjXfBK77Tc6OIBTVc9f6eR+eWdgIKLzEDHfmt4VtvglJv5lAtLbzYvY
LwOMNOIe87mv9u2UfW7H8i0h/1KEPdQ+Y6tfJoN/Ub4nYkpIlzZ87olFtRXN1Gwn
wN5eK2n0VTUlgTrQh1URjYffV7kO/N3uX0qzAgMBAAGjQjBAMA8GA1UdEwEB/wQF
MAMBAf8wDgYDVR0PAQH/BAQDAgGmMB0GA1UdDgQWBBQbESixuIN2k7cIBCGvHJqu
sHXOGzANBgkqhkiG9w0BAQsFAAOCAgEAP5QYeQaHewdw0vWQ/S0nJZ8t88lnYvQT
mv3VYz5JNZb3vOnxmQDShZExs6hCLHJxTpe1pxABHb7u3Zy2XQXF+VEx+RCrIYdR
Zc6HagoMBeyaajhkmS+dsr1Sk7vIC6E0nz8f0SJDJNGvkBjPvbb/39Fax4zYFNKC
OyXIfSUsji0FcT6VQbjp8k0iJULjXjF9Qvvyu9sAPL0H7zDITPnKDn1C2BF1dVjF
qr43XgN6eG02KpNnxwKVQ/AUD4krjLCZQ9pJCYamhOh2GPAsnXkoVmhevaMWNNP+
0DJdXr4zvagocuf9ZyIqBKl2LnXLF2dfd40iiA5JEa1dSoO8crXfxWlqLNwuJ59H
BFj8M8PSpQ7ctKcRe6g+FqrIEFyh4S3fAU8c4ThTzkFLXXceb2fdBmhnNGNJgLUg
ulHmApOhN+MuUQUIZWIQPSzhgwjai22wX6dGP3r2IZF0W7pe08y0sa/8x/tGu5K6
5Db7spMfv1DGNPPz20ktpNFCQ6RNw1/jfbtkcJcleTAfWJ2IRu62txFDlknKnrks
8RRJx7sKKjKoRLVoC3z95z3TC++PO4EEnROrRt41GI2TWvZ+Jj00B8se028m0WYA
LemID3friDEXGx/zQJAjRrdyrIbpjIIaQmSGRDTFOoxL1T5YNOPpLmws+sjlnzBJ
hakjGI/5mfU=
-----END CERTIFICATE-----
"""

KUBE_CA_PEM = {
    "cluster1": """\
-----BEGIN CERTIFICATE-----
MIIC+jCCAeKgAwIBAgIUexFGkh6so1J4VPWUWSSe0vNkKCIwDQYJKoZIhvcNAQEL
BQAwFTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMTMwNzU1MDBaFw0zNjEx
MTAwNzU1MDBaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQCsVFp+4kdAKeMSfoNFLUnSDB0NTn9g4FGBow0qp/2P
5C68y78xM3gftG2vTwDOWC37SnExATGv3C8KBlzI0Xy8JCCA4Nc9309vu9EUUXzH
u14bHnfadeQeWYBlFxdTeoDDUa+F51gbU3iHmjf286VaWqDLbKKoeYGSWBRjkc79
7Y92LSAbPAlXw+tZMd+w/iN+cn0AYfcG290Oordiw3o4KxsX6oxeMVP01+IrFR5Q
xDHTrA4QSkN8nNddp4OwGJWn5ZEEGYWv6eADln6Wz66t3RDXjUmwB6OKesN2NhJ+
17WVYaP0I/pqY/WfThY4treIvKIh8ODerx234yI/lsoDAgMBAAGjQjBAMA8GA1Ud
EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgGmMB0GA1UdDgQWBBT3G5L5Rccv2fRL
NMs8dPdAxZe8LzANBgkqhkiG9w0BAQsFAAOCAQEAe2XCwWWrDLG4Y0EdQV5+eqJm
1hJK43CkwpC2Ubtyu1mkSZNkO3vdewSNMLRRaZwR3q7WrgMia9fKF/AzIserMoc+
8XQtVAt3dumW4XLJqCNxPM964d2vFiJjv4r1spI9fyqIwUebzlfw06h2OJspVIwM
iYfQmDz6p2k6VXuWd/2+kiauRCrsLmgnk86eOzASlS4PbWiu3VcX5ndTTS9UqqZq
veWuKihKGoOTD7kDqHQSO5wrkSPdghUt/fzzIBQVYiAwtyn1Fg4H/wLZIXrEgDiC
mlvPIt7MFcN10drvxrOMts2LN1ZVuK+ebFcqieUh9Al80ZJ4d70u4HVKXHOh2g==
-----END CERTIFICATE-----
""",
    "cluster2": """\
-----BEGIN CERTIFICATE-----
MIIC+jCCAeKgAwIBAgIUBZzBATVY+eJpVmjiQpWpkAiA1E8wDQYJKoZIhvcNAQEL
BQAwFTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMTMwNzU1MDBaFw0zNjEx
MTAwNzU1MDBaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDIxke7HknCxS7ERTaIpnci9K5WCZLb6+JgwjX9NaRu
MSnPjrRP6FnEBfIDOAZ62CXZHtsBs761Aa9gMtRQpXzDPhy1u6lbLcEtjDMg5C36
mkJhKSjhzP38N8Ftr5eppCZg2L5B5gci74UiTbd9Ta0GIyhHFBDlYou1cDwE0UwO
wF3U9IJ774wuEtuK5OIaVPIXhw8TFFskZhkDdsbwrc+IKyYsBVChRk2L2gFFwgOi
I6UCikUrZBr5r3zitLO3Ra7AYkxpLAlNlv8mMLO9e6vwmebkRP8HKWzY2HWoVjIy
dyo3j3+Yy1Wk7/orfi7dvrmACp00LjYlZLkouIOjvfsfAgMBAAGjQjBAMA8GA1Ud
EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgGmMB0GA1UdDgQWBBTikTb5IgSSljCY
Cb3ldWHyFJNONjANBgkqhkiG9w0BAQsFAAOCAQEAYDyiaw28NmTaztOg9kr/A225
NPtdHJO6lH6dyEtJeUmsoc3uC5qwziIkfEw+l76QT402t0ecfjnOpc4yK7anE+WW
JWvtb06wUVfSZmj6DWDTqh6VIEEI83X/OV8OdmMdF0C0PWNsjNVBuVy4Lvur7bSq
JuBLUDqB+MdD4x3fmBzk3y5SGUeyl11xcShOXhcTwECyxOfJ6e3S+2hf/24SzbKE
31hkgQ9AWdrgBukijGiSI745bBEPq2sLatkDmgO/WTaGTKxigRmEofT5kEQxl4Rt
zGX1brLqxqZd10PPeebxUsthpYtRB8mRSUgRm9x63U4ZnbZnho1FMxCIvMTKbg==
-----END CERTIFICATE-----
""",
}

if __name__ == "__main__":
    main()
