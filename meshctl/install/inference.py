"""``meshctl inference scaffold``: an InferencePool and its endpoint picker for an existing model server.

From a model-server Deployment and the port it serves on, ``plan_scaffold`` writes the whole set the
Gateway API Inference Extension v1.6 and Istio need, as plain dicts in apply order:

ServiceAccount, Role and RoleBinding (what the endpoint picker reads), the EPP's plugins ConfigMap, the
EPP Deployment and Service, the InferencePool, the DestinationRule that makes Istio's gateway speak TLS
to the EPP, and (with a Gateway) an HTTPRoute. Semantics follow the upstream project's reference
manifests and Helm chart (kubernetes-sigs/gateway-api-inference-extension); the objects are meshctl's.

Nothing here carries meshctl's install-ownership labels: the set belongs to the user (``install
--purge`` must never touch it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshctl.errors import MeshctlError, UsageError
from meshctl.install.versions import INFERENCE_EXTENSION_VERSION
from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.hosts import fqdn
from meshctl.mesh.inference import DEFAULT_FAILURE_MODE, POOL_GROUP, POOL_KIND, template_containers, \
    template_labels

EPP_IMAGE = f"registry.k8s.io/gateway-api-inference-extension/epp:{INFERENCE_EXTENSION_VERSION}"
EPP_GRPC_PORT, EPP_HEALTH_PORT, EPP_METRICS_PORT = 9002, 9003, 9090
EPP_HEALTH_SERVICE = "inference-extension"  # the gRPC health service name a single-replica EPP answers
PLUGINS_FILE = "default-plugins.yaml"
CONFIG_DIR = "/config"
REQUEST_TIMEOUT = "300s"  # long generations outlive a gateway's usual timeouts
# Scorers and weights of the EPP's built-in default profile, written out so users have a place to tune
# them; the EPP adds the picker and profile handler itself when the config names none.
PLUGINS_CONFIG = """\
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
"""
READ = ["get", "list", "watch"]
# What the EPP reads: its pool, the pods the pool selects, and the objectives (and model rewrites)
# that name the pool; InferenceObjective lives in the x-k8s group and, since the move to llm-d, in llm-d.ai.
EPP_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": READ},
    {"apiGroups": [POOL_GROUP], "resources": ["inferencepools"], "verbs": READ},
    {"apiGroups": [K.INFERENCE_X], "resources": ["inferenceobjectives", "inferencemodelrewrites"], "verbs": READ},
    {"apiGroups": [K.LLM_D], "resources": ["inferenceobjectives"], "verbs": READ},
]
# Service names are DNS-1035 labels (a letter first); the others accept them too.
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
PATH_RE = re.compile(r"^/[^\s]*$")


@dataclass(frozen=True)
class Scaffold:
    namespace: str
    pool: str
    epp: str
    deployment: str
    objects: tuple[dict[str, Any], ...]


def parse_ref(text: str, flag: str) -> tuple[str, str]:
    """``NS/NAME`` from a flag value."""
    namespace, sep, name = text.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise UsageError(f"{flag} {text!r} is not NAMESPACE/NAME", hint=f"for example {flag} llm/vllm-llama3-8b")
    return namespace, name


def _check_name(name: str, what: str) -> None:
    if not NAME_RE.match(name):
        raise UsageError(f"{what} name {name!r} is not a DNS-1035 label (lower-case letters, digits and '-', "
                         "starting with a letter, at most 63 characters)",
                         hint="choose a shorter or simpler name with --name")


def _ports(container: dict) -> list[dict]:
    """A container's port entries that are maps (a file can hold anything there)."""
    ports = container.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _port_list(deployment: Resource) -> str:
    ports = []
    for container in template_containers(deployment):
        for p in _ports(container):
            if type(p.get("containerPort")) is int:
                ports.append(f"{p['containerPort']}" + (f" ({p['name']})" if p.get("name") else "")
                             + f" in container {container.get('name', '?')}")
    return ", ".join(ports) or "none"


def model_server(state: ClusterState, namespace: str, name: str, port: int) -> Resource:
    """The model-server Deployment, refusing one that is missing or does not declare ``port``."""
    where = state.info.label if state.info.kind != "live" else f"context {state.info.context or state.info.label}"
    deployment = state.get(K.DEPLOYMENT, name, namespace)
    if deployment is None:
        raise MeshctlError(f"Deployment {namespace}/{name} not found in {where}",
                           hint=f"check the name: kubectl -n {namespace} get deployments")
    declared = {p.get("containerPort") for c in template_containers(deployment) for p in _ports(c)
                if type(p.get("containerPort")) is int}
    if port not in declared:
        raise MeshctlError(f"Deployment {namespace}/{name} has no container port {port} "
                           f"(it declares: {_port_list(deployment)})",
                           hint="pass --port with the port the model server listens on")
    return deployment


def pool_selector(deployment: Resource) -> dict[str, str]:
    """The Deployment's pod labels, without the per-ReplicaSet hash (it changes on every rollout)."""
    labels = {k: v for k, v in template_labels(deployment).items() if k != L.POD_TEMPLATE_HASH}
    if not labels:
        raise MeshctlError(f"Deployment {deployment.namespace}/{deployment.name} gives its pods no labels, "
                           "so no InferencePool selector can match them",
                           hint="add labels to spec.template.metadata.labels")
    return labels


def _meta(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return meta


def epp_objects(pool: str, epp: str, namespace: str) -> list[dict[str, Any]]:
    """The endpoint picker for ``pool``: ServiceAccount, Role, RoleBinding, ConfigMap, Deployment, Service."""
    app = {"app": epp}
    container = {
        "name": "epp",
        "image": EPP_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--pool-name", pool, "--pool-namespace", namespace, "--pool-group", POOL_GROUP,
                 "--config-file", f"{CONFIG_DIR}/{PLUGINS_FILE}"],
        "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "grpc", "containerPort": EPP_GRPC_PORT, "protocol": "TCP"},
                  {"name": "grpc-health", "containerPort": EPP_HEALTH_PORT, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": EPP_METRICS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"grpc": {"port": EPP_HEALTH_PORT, "service": EPP_HEALTH_SERVICE},
                           "initialDelaySeconds": 5, "periodSeconds": 10},
        "livenessProbe": {"grpc": {"port": EPP_HEALTH_PORT, "service": EPP_HEALTH_SERVICE},
                          "initialDelaySeconds": 5, "periodSeconds": 10},
        "volumeMounts": [{"name": "plugins-config", "mountPath": CONFIG_DIR}],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(epp, namespace, app)},
        {"apiVersion": K.ROLE.api_version, "kind": "Role", "metadata": _meta(epp, namespace, app),
         "rules": [dict(rule) for rule in EPP_RULES]},
        {"apiVersion": K.ROLE_BINDING.api_version, "kind": "RoleBinding", "metadata": _meta(epp, namespace, app),
         "subjects": [{"kind": "ServiceAccount", "name": epp, "namespace": namespace}],
         "roleRef": {"apiGroup": K.RBAC, "kind": "Role", "name": epp}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(epp, namespace, app),
         "data": {PLUGINS_FILE: PLUGINS_CONFIG}},
        {"apiVersion": K.DEPLOYMENT.api_version, "kind": "Deployment", "metadata": _meta(epp, namespace, app),
         "spec": {
             "replicas": 1,
             # one active EPP at a time: its prefix-cache state is per replica
             "strategy": {"type": "Recreate"},
             "selector": {"matchLabels": dict(app)},
             "template": {
                 "metadata": {"labels": dict(app)},
                 "spec": {
                     "serviceAccountName": epp,
                     "terminationGracePeriodSeconds": 130,
                     "containers": [container],
                     "volumes": [{"name": "plugins-config", "configMap": {"name": epp}}],
                 },
             },
         }},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(epp, namespace, app),
         "spec": {"type": "ClusterIP", "selector": dict(app),
                  "ports": [{"name": "grpc-ext-proc", "port": EPP_GRPC_PORT, "targetPort": EPP_GRPC_PORT,
                             "protocol": "TCP", "appProtocol": "http2"},
                            {"name": "http-metrics", "port": EPP_METRICS_PORT, "targetPort": EPP_METRICS_PORT,
                             "protocol": "TCP"}]}},
    ]


def pool_object(pool: str, epp: str, namespace: str, selector: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": K.INFERENCE_POOL.api_version, "kind": POOL_KIND, "metadata": _meta(pool, namespace),
        "spec": {
            "selector": {"matchLabels": dict(sorted(selector.items()))},
            "targetPorts": [{"number": port}],
            "endpointPickerRef": {"group": "", "kind": "Service", "name": epp, "port": {"number": EPP_GRPC_PORT},
                                  "failureMode": DEFAULT_FAILURE_MODE},
        },
    }


def tls_rule(epp: str, namespace: str) -> dict[str, Any]:
    """Istio's gateway calls the EPP over TLS; the EPP's certificate is self-signed by default."""
    return {
        "apiVersion": K.DESTINATION_RULE.api_version, "kind": "DestinationRule", "metadata": _meta(epp, namespace),
        "spec": {"host": fqdn(epp, namespace),
                 "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}}},
    }


def route_object(pool: str, namespace: str, gateway: tuple[str, str], path: str) -> dict[str, Any]:
    gw_namespace, gw_name = gateway
    parent: dict[str, Any] = {"group": K.GATEWAY_API, "kind": "Gateway", "name": gw_name}
    if gw_namespace != namespace:
        parent["namespace"] = gw_namespace
    return {
        "apiVersion": K.HTTP_ROUTE.api_version, "kind": "HTTPRoute", "metadata": _meta(pool, namespace),
        "spec": {
            "parentRefs": [parent],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backendRefs": [{"group": POOL_GROUP, "kind": POOL_KIND, "name": pool}],
                "timeouts": {"request": REQUEST_TIMEOUT},
            }],
        },
    }


def plan_scaffold(state: ClusterState, namespace: str, deployment: str, port: int, *,
                  gateway: tuple[str, str] | None = None, path: str = "/", name: str | None = None) -> Scaffold:
    """Check the inputs against the Deployment, then build the set (nothing is written here)."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number", hint="use 1-65535")
    if not PATH_RE.match(path):
        raise UsageError(f"--path {path!r} is not an absolute path", hint="for example --path /v1")
    pool = name or f"{deployment}-pool"
    epp = f"{name or deployment}-epp"
    _check_name(pool, "InferencePool")
    _check_name(epp, "endpoint picker")
    server = model_server(state, namespace, deployment, port)
    objects = epp_objects(pool, epp, namespace)
    objects.append(pool_object(pool, epp, namespace, pool_selector(server), port))
    objects.append(tls_rule(epp, namespace))
    if gateway is not None:
        objects.append(route_object(pool, namespace, gateway, path))
    return Scaffold(namespace, pool, epp, deployment, tuple(objects))


# -- applying (live clusters only) -------------------------------------------------------------------

CREATED, CONFIGURED, UNCHANGED = "created", "configured", "unchanged"
# What each group needs installed first, and how.
MISSING_API_HINTS = {
    POOL_GROUP: "install the Inference Extension CRDs: meshctl inference enable",
    K.ISTIO_NETWORKING: "install Istio first: meshctl install",
    K.GATEWAY_API: "install the Gateway API CRDs: meshctl inference enable --gateway-api",
}


def apply_scaffold(state: ClusterState, writer: Any, plan: Scaffold, *,
                   dry_run: bool = False) -> list[tuple[str, str, str]]:
    """Server-side apply the set in order; (kind, namespace/name, created|configured|unchanged) each.

    Every kind must be served before anything is written, so a missing CRD never leaves half a set;
    objects the apply would not change are not written (a second run writes nothing).
    """
    from meshctl.install.installer import comparable

    kinds = [K.REGISTRY.for_object(o["apiVersion"], o["kind"]) for o in plan.objects]
    for kind in kinds:
        if not state.serves(kind):
            raise MeshctlError(f"context {state.info.context or state.info.label} does not serve {kind.resource}, "
                               "so the set cannot be applied; nothing was changed",
                               hint=MISSING_API_HINTS.get(kind.group, f"install the CRD that defines {kind.resource}"))
    existing = [state.get(kind, o["metadata"]["name"], o["metadata"]["namespace"])
                for kind, o in zip(kinds, plan.objects)]
    outcomes = []
    for obj, kind, before in zip(plan.objects, kinds, existing):
        ref = f"{plan.namespace}/{obj['metadata']['name']}"
        if before is not None or dry_run:
            # ask the server what applying would give (it validates too); write only when that differs
            after = writer.apply(obj, dry_run=True)
            if before is not None and comparable(after) == comparable(before.raw):
                outcomes.append((kind.kind, ref, UNCHANGED))
                continue
        if not dry_run:
            writer.apply(obj)
        outcomes.append((kind.kind, ref, CREATED if before is None else CONFIGURED))
    return outcomes
