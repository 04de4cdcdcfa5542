"""Render the ambient control plane from an InstallSpec with meshctl's own Jinja2 templates.

Templates (``meshctl/templates/<component>/*.yaml.j2``) write YAML; every value they insert goes
through the ``j`` filter (JSON, which YAML reads back exactly), and the text is parsed with Kubernetes'
scalar rules (meshctl.kube.yamlio), so a string such as ``"true"`` or ``"1"`` stays a string. Istio's
own files (CRDs, the injection templates istiod runs) are passed in and placed unchanged.

Every object gets meshctl's owner labels (managed-by, component, revision, version, install id) and
Istio's chart labels, except Namespaces (the istio namespace and ingress gateways' namespaces, in the
"Namespace" pseudo-component): they carry none, so prune and uninstall never delete a namespace and
what users keep in it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from meshctl.errors import InputError, MeshctlError, UsageError
from meshctl.install.installer import install_id
from meshctl.install.schema import read_resource
from meshctl.install.values import BASE, CNI, INGRESS, PILOT, ZTUNNEL, InstallSpec, merge
from meshctl.mesh import labels as L

NAMESPACE, REVISION_TAG = "Namespace", "RevisionTag"
COMPONENTS = (NAMESPACE, BASE, PILOT, CNI, ZTUNNEL, INGRESS, REVISION_TAG)

# What must be ready before a component is applied (istioctl's order: Base, then istiod and CNI side by
# side, ztunnel once CNI runs, gateways and the default tag once istiod serves).
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    NAMESPACE: (),
    BASE: (NAMESPACE,),
    PILOT: (BASE,),
    CNI: (BASE,),
    ZTUNNEL: (CNI,),
    INGRESS: (PILOT,),
    REVISION_TAG: (PILOT,),
}

# Files of Istio's istiod chart archive (files/) -> the template names istiod knows them by.
INJECTION_TEMPLATE_FILES = {
    "injection-template.yaml": "sidecar",
    "gateway-injection-template.yaml": "gateway",
    "grpc-simple.yaml": "grpc-simple",
    "grpc-agent.yaml": "grpc-agent",
    "waypoint.yaml": "waypoint",
    "kube-gateway.yaml": "kube-gateway",
    "agentgateway.yaml": "agentgateway",  # from Istio 1.29
}
REQUIRED_TEMPLATE_FILES = tuple(f for f in INJECTION_TEMPLATE_FILES if f != "agentgateway.yaml")
# An older istiod given these templates fails loudly on this function rather than injecting wrongly.
TEMPLATE_SENTINEL = "{{ Template_Version_And_Istio_Version_Mismatched_Check_Installation }}"

TEMPLATES = {
    NAMESPACE: ("namespace.yaml.j2",),
    BASE: ("base/serviceaccount.yaml.j2",),
    PILOT: ("pilot/autoscale.yaml.j2", "pilot/clusterrole.yaml.j2", "pilot/clusterrolebinding.yaml.j2",
            "pilot/configmap-values.yaml.j2", "pilot/configmap-mesh.yaml.j2", "pilot/deployment.yaml.j2",
            "pilot/configmap-injector.yaml.j2", "pilot/mutatingwebhook.yaml.j2",
            "pilot/poddisruptionbudget.yaml.j2", "pilot/reader-rbac.yaml.j2", "pilot/role.yaml.j2",
            "pilot/service.yaml.j2", "pilot/serviceaccount.yaml.j2", "pilot/validatingwebhook.yaml.j2"),
    CNI: ("cni/rbac.yaml.j2", "cni/configmap.yaml.j2", "cni/daemonset.yaml.j2", "cni/serviceaccount.yaml.j2"),
    ZTUNNEL: ("ztunnel/daemonset.yaml.j2", "ztunnel/serviceaccount.yaml.j2"),
    INGRESS: ("gateways/ingress.yaml.j2",),
    REVISION_TAG: ("tag/objects.yaml.j2",),
}

ISTIO_SYSTEM = "istio-system"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class ComponentManifest:
    name: str  # "Namespace", "Base", "Pilot", "Cni", "Ztunnel", "IngressGateways", "RevisionTag"
    objects: tuple[dict, ...]  # apply order inside the component (CRDs first)


# -- the Jinja2 environment ------------------------------------------------------------------------


def to_json(value: Any) -> str:
    """The ``j`` filter: a value as JSON, which YAML reads back as exactly that value."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # StrictUndefined: say which name is missing
    return json.dumps(value, ensure_ascii=True)


@cache
def environment():
    import jinja2

    def load(name: str) -> str | None:
        try:
            return read_resource(*name.split("/"))
        except (FileNotFoundError, IsADirectoryError):
            return None

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True)
    env.filters["j"] = to_json
    return env


def render_text(template: str, context: Mapping[str, Any], *, source: str | None = None) -> list[dict]:
    """Render one template (a name under meshctl/templates, or ``source`` text) and parse its documents."""
    import jinja2

    from meshctl.kube.files import parse_yaml_documents

    env = environment()
    try:
        compiled = env.from_string(source) if source is not None else env.get_template(template)
        text = compiled.render(**context)
    except jinja2.UndefinedError as err:
        raise MeshctlError(f"template {template}: {err.message}",
                           hint="the template uses a value the install values do not have; "
                                "this is a meshctl bug, please report it") from None
    except jinja2.TemplateError as err:
        raise MeshctlError(f"template {template}: {err}", hint="this is a meshctl bug, please report it") from None
    objects = []
    for doc in parse_yaml_documents(text, template, item_lines=False):
        if isinstance(doc.data, dict) and doc.data:
            objects.append(doc.data)
    return objects


# -- the values templates see ------------------------------------------------------------------------


def _names(namespace: str, revision: str) -> dict[str, Any]:
    """Names and selectors of one revision's istiod (WORKLOADS.md §1.1)."""
    suffix = f"-{revision}" if revision else ""
    istiod = f"istiod{suffix}"
    return {
        "ns": namespace,
        "rev": revision,
        "revlabel": revision or L.DEFAULT_REVISION,
        "sfx": suffix,
        "istiod": istiod,
        "istiod_address": f"{istiod}.{namespace}.svc:15012",
        "istiod_selector": {"app": "istiod", "istio.io/rev": revision} if revision else {"istio": "pilot"},
        "istiod_selector_service": ({"app": "istiod", "istio.io/rev": revision} if revision
                                    else {"app": "istiod", "istio": "pilot"}),
        "mwc_name": f"istio-sidecar-injector{suffix}{_ns_suffix(namespace)}",
    }


def _ns_suffix(namespace: str) -> str:
    """Cluster-scoped webhook names carry the namespace unless it is istio-system (as istioctl names them)."""
    return "" if namespace == ISTIO_SYSTEM else f"-{namespace}"


def chart_labels(spec: InstallSpec) -> dict[str, str]:
    return {L.PART_OF: "istio", L.INSTANCE: "istio", L.APP_VERSION: spec.tag, L.MANAGED_BY: L.MANAGED_BY_MESHCTL}


def owner_labels(spec: InstallSpec, component: str, revision: str | None = None) -> dict[str, str]:
    """The labels prune and uninstall select on: managed-by + install id + component (never the version)."""
    rev = spec.revision if revision is None else revision
    return {
        L.MANAGED_BY: L.MANAGED_BY_MESHCTL,
        L.INSTALL_COMPONENT: component,
        L.REV: rev or L.DEFAULT_REVISION,
        L.INSTALL_VERSION: spec.tag,
        L.INSTALL_ID: install_id(spec.namespace, rev),
    }


def _image(section: Mapping[str, Any], glob: Mapping[str, Any], default_name: str) -> str:
    name = section.get("image") or default_name
    if "/" in name:
        return name
    hub = section.get("hub") or glob["hub"]
    tag = section.get("tag") or glob["tag"]
    variant = section.get("variant") or glob.get("variant")
    return f"{hub}/{name}:{tag}" + (f"-{variant}" if variant else "")


def _go_number(value: float | int) -> str:
    """A number as Go's %v prints it in Helm templates (1.0 -> "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


def _yaml(data: Any, *, sort_keys: bool = False) -> str:
    """Block YAML with Kubernetes' scalar rules; multi-line strings as literal blocks where YAML allows."""
    import yaml

    return yaml.dump(data, Dumper=_literal_dumper(), sort_keys=sort_keys, default_flow_style=False,
                     allow_unicode=True, width=4096)


@cache
def _literal_dumper():
    from meshctl.kube.yamlio import kubernetes_dumper

    base = kubernetes_dumper()

    class LiteralDumper(base):  # type: ignore[misc, valid-type]
        def represent_str(self, data):
            if "\n" in data:
                # The emitter falls back to a quoted style when a literal block cannot hold the text.
                return self.represent_scalar("tag:yaml.org,2002:str", data, style="|")
            return super().represent_str(data)

    LiteralDumper.add_representer(str, LiteralDumper.represent_str)
    return LiteralDumper


def mesh_config(spec: InstallSpec, names: Mapping[str, Any]) -> dict:
    """ConfigMap istio's ``mesh``: meshctl's defaults (WORKLOADS.md §2.3) with the user's meshConfig over them."""
    g = spec.chart["global"]
    user = spec.mesh_config
    prometheus = user.get("enablePrometheusMerge", True)
    default_config: dict[str, Any] = {"discoveryAddress": names["istiod_address"]}
    if g.get("meshID"):
        default_config["meshId"] = g["meshID"]
    if g.get("variant"):
        default_config["image"] = {"imageType": g["variant"]}
    base = {
        "trustDomain": "cluster.local",
        "rootNamespace": spec.namespace,
        "enablePrometheusMerge": prometheus,
        "defaultConfig": default_config,
        "defaultProviders": {"metrics": ["prometheus"] if prometheus else []},
    }
    return merge(base, user)


def injector_config(spec: InstallSpec, templates: Mapping[str, str]) -> dict:
    """ConfigMap istio-sidecar-injector's ``config``: policy, selectors and the named templates."""
    hook = spec.chart["sidecarInjectorWebhook"]
    named = {INJECTION_TEMPLATE_FILES[f]: text for f, text in templates.items() if f in INJECTION_TEMPLATE_FILES}
    named.update(hook.get("templates") or {})
    return {
        "defaultTemplates": list(hook.get("defaultTemplates") or ["sidecar"]),
        "policy": spec.chart["global"]["proxy"]["autoInject"],
        "alwaysInjectSelector": hook.get("alwaysInjectSelector") or [],
        "neverInjectSelector": hook.get("neverInjectSelector") or [],
        "injectedAnnotations": hook.get("injectedAnnotations") or {},
        "template": TEMPLATE_SENTINEL,
        "templates": named,
    }


def injector_values(spec: InstallSpec) -> dict:
    """ConfigMap istio-sidecar-injector's ``values``: what the injection templates read as .Values."""
    v = spec.chart
    return {
        "global": v["global"],
        "sidecarInjectorWebhook": v["sidecarInjectorWebhook"],
        "revision": spec.revision,
        "pilot": {"cni": v["pilot"]["cni"], "env": v["pilot"]["env"]},
        "gateways": {"securityContext": v["gateways"]["securityContext"],
                     "seccompProfile": v["gateways"]["seccompProfile"]},
    }


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _cert_signer(provider: str) -> str | None:
    if provider.startswith("kubernetes.io"):
        return provider
    if provider.startswith("custom"):
        return provider.removeprefix("custom:")
    return None


# What remote clusters' istiod may read in this cluster (ClusterRole istio-reader-clusterrole[-rev]-<ns>),
# the same rules for the install's reader role and the one `multicluster link` creates when it is missing.
READER_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": ["config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io",
                   "rbac.istio.io", "telemetry.istio.io", "extensions.istio.io"],
     "resources": ["*"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["endpoints", "pods", "services", "nodes", "replicationcontrollers",
                                      "namespaces", "secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
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
)


def _context(spec: InstallSpec, *, never_match: bool) -> dict[str, Any]:
    v = spec.chart
    g, p, c, z = v["global"], v["pilot"], v["cni"], v["ztunnel"]
    names = _names(spec.namespace, spec.revision)
    chart = chart_labels(spec)
    revlabel = names["revlabel"]
    new_listenersets = spec.minor >= (1, 30)
    return {
        **names,
        "v": v, "g": g, "p": p, "c": c, "z": z,
        "chart": chart,
        "never_match": never_match,
        "reader_rules": READER_RULES,
        "cluster_id": g["multiCluster"]["clusterName"] or L.DEFAULT_CLUSTER_ID,
        "images": {"pilot": _image(p, g, "pilot"), "cni": _image(c, g, "install-cni"),
                   "ztunnel": _image(z, g, "ztunnel")},
        # istiod
        "hpa": bool(p["autoscaleEnabled"] and p["autoscaleMin"] and p["autoscaleMax"]),
        "pdb": bool(g["defaultPodDisruptionBudget"]["enabled"] and (
            (p["autoscaleEnabled"] and p["autoscaleMin"] > 1) or (not p["autoscaleEnabled"] and p["replicaCount"] > 1))),
        "gateway_controller": p["env"].get("PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER", "true") != "false",
        "gateway_status": [
            "backendtlspolicies/status", "gatewayclasses/status", "gateways/status", "grpcroutes/status",
            "httproutes/status", "referencegrants/status", "tcproutes/status", "tlsroutes/status",
            "udproutes/status", *(["listenersets/status"] if new_listenersets else [])],
        "gateway_x_status": ["xbackendtrafficpolicies/status", *([] if new_listenersets else ["xlistenersets/status"])],
        "cert_signer": _cert_signer(g["pilotCertProvider"]),
        "deployment_labels": {"app": "istiod", "istio.io/rev": revlabel,
                              "install.operator.istio.io/owning-resource": "unknown",
                              "operator.istio.io/component": PILOT, "istio": "pilot", "release": "istio",
                              "app.kubernetes.io/name": "istiod", **p["deploymentLabels"]},
        "istiod_pod_labels": {"app": "istiod", "istio.io/rev": revlabel,
                              "install.operator.istio.io/owning-resource": "unknown",
                              "sidecar.istio.io/inject": "false", "operator.istio.io/component": PILOT,
                              "istio": "istiod" if spec.revision else "pilot", **p["podLabels"],
                              L.DATAPLANE_MODE: L.DATAPLANE_MODE_NONE, "app.kubernetes.io/name": "istiod",
                              **chart},
        "istiod_pod_annotations": {"prometheus.io/port": "15014", "prometheus.io/scrape": "true",
                                   "sidecar.istio.io/inject": "false", **p["podAnnotations"]},
        "trusted_ztunnel": f"{p['trustedZtunnelNamespace'] or spec.namespace}/{p['trustedZtunnelName'] or 'ztunnel'}",
        "pilot_env": sorted(p["env"].items()),
        "trace_sampling": _go_number(p["traceSampling"]) if p["traceSampling"] else "",
        "original_values_json": _json(spec.user_values),
        "merged_values_json": _json(spec.values),
        "mesh_yaml": _yaml(mesh_config(spec, names), sort_keys=True),
        "mesh_networks_yaml": _yaml({"networks": g["meshNetworks"] or {}}),
        # istio-cni
        "cni_config": _cni_config(spec),
        "cni_env": sorted(c["env"].items()),
        "cni_selinux": {"type": "spc_t", **c["seLinuxOptions"]},
        "cni_pod_labels": {"k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false",
                           L.DATAPLANE_MODE: L.DATAPLANE_MODE_NONE, "app.kubernetes.io/name": "istio-cni",
                           **chart, **c["podLabels"]},
        "cni_pod_annotations": {"sidecar.istio.io/inject": "false", "prometheus.io/scrape": "true",
                                "prometheus.io/port": "15014", "prometheus.io/path": "/metrics",
                                "container.apparmor.security.beta.kubernetes.io/install-cni": "unconfined",
                                **c["podAnnotations"]},
        # ztunnel
        "ztunnel_labels": {"app.kubernetes.io/name": "ztunnel", **z["labels"]},
        "ztunnel_annotations": {**z["annotations"], **({L.REV: spec.revision} if spec.revision else {})},
        "ztunnel_pod_labels": {"sidecar.istio.io/inject": "false", L.DATAPLANE_MODE: L.DATAPLANE_MODE_NONE,
                               "app": "ztunnel", "app.kubernetes.io/name": "ztunnel", **chart, **z["podLabels"]},
        "ztunnel_pod_annotations": {"sidecar.istio.io/inject": "false", "prometheus.io/port": "15020",
                                    "prometheus.io/scrape": "true",
                                    **({L.REV: spec.revision} if spec.revision else {}), **z["podAnnotations"]},
        "ztunnel_node_selector": {"kubernetes.io/os": "linux", **z["nodeSelector"]},
        "ztunnel_ca_address": z["caAddress"] or g["caAddress"] or names["istiod_address"],
        # the ambient profile's proxy metadata; a user's meshConfig never reaches ztunnel (as with istioctl)
        "ztunnel_proxy_metadata": [("ISTIO_META_ENABLE_HBONE", "true")],
        "ztunnel_env": sorted(z["env"].items()),
    }


def _cni_config(spec: InstallSpec) -> dict[str, str]:
    """ConfigMap istio-cni-config (WORKLOADS.md §3): every value a string."""
    v = spec.chart
    c, g = v["cni"], v["global"]
    ambient, repair = c["ambient"], c["repair"]
    data = {
        "CURRENT_AGENT_VERSION": c["tag"] or g["tag"],
        "AMBIENT_ENABLED": _bool_text(ambient["enabled"]),
        "AMBIENT_ENABLEMENT_SELECTOR": _yaml(ambient["enablementSelectors"]),
        "AMBIENT_DNS_CAPTURE": _bool_text(ambient["dnsCapture"]),
        "AMBIENT_IPV6": _bool_text(ambient["ipv6"]),
        "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": _bool_text(ambient["reconcileIptablesOnStartup"]),
        "ENABLE_AMBIENT_DETECTION_RETRY": _bool_text(ambient["enableAmbientDetectionRetry"]),
        "ISTIO_OWNED_CNI_CONFIG": _bool_text(c["istioOwnedCNIConfig"]),
        "CHAINED_CNI_PLUGIN": _bool_text(c["chained"]),
        "EXCLUDE_NAMESPACES": ",".join(c["excludeNamespaces"]),
        "REPAIR_ENABLED": _bool_text(repair["enabled"]),
        "REPAIR_LABEL_PODS": _bool_text(repair["labelPods"]),
        "REPAIR_DELETE_PODS": _bool_text(repair["deletePods"]),
        "REPAIR_REPAIR_PODS": _bool_text(repair["repairPods"]),
        "REPAIR_INIT_CONTAINER_NAME": repair["initContainerName"],
        "REPAIR_BROKEN_POD_LABEL_KEY": repair["brokenPodLabelKey"],
        "REPAIR_BROKEN_POD_LABEL_VALUE": repair["brokenPodLabelValue"],
        "NATIVE_NFTABLES": _bool_text(g["nativeNftables"]),
    }
    if c["cniConfFileName"]:
        data["CNI_CONF_NAME"] = c["cniConfFileName"]
    return data


# -- labels ------------------------------------------------------------------------------------------


def _label(objects: Iterable[dict], spec: InstallSpec, component: str, *, revision: str | None = None,
           tag: str | None = None) -> list[dict]:
    chart = chart_labels(spec)
    owner = owner_labels(spec, component, revision)
    if tag is not None:
        owner[L.TAG] = tag
    out = []
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), **chart, **owner}
        out.append(obj)
    return out


def _crds(crds: Iterable[Mapping[str, Any]], spec: InstallSpec) -> list[dict]:
    """Istio's CRDs with the chart's and meshctl's labels instead of theirs; resource-policy keep stays."""
    out = []
    for crd in crds:
        if not isinstance(crd, Mapping) or crd.get("kind") != "CustomResourceDefinition":
            raise InputError(f"Istio CRDs: {crd.get('kind') if isinstance(crd, Mapping) else type(crd).__name__} "
                             "is not a CustomResourceDefinition", hint="pass the documents of crd-all.gen.yaml")
        obj = copy.deepcopy(dict(crd))
        meta = obj.setdefault("metadata", {})
        meta["labels"] = {**chart_labels(spec), **owner_labels(spec, BASE)}
        meta["annotations"] = {**(meta.get("annotations") or {}), L.RESOURCE_POLICY: "keep"}
        out.append(obj)
    return out


# -- order -------------------------------------------------------------------------------------------

KIND_ORDER = ("CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
              "Role", "RoleBinding", "ConfigMap", "Service", "Deployment", "DaemonSet",
              "HorizontalPodAutoscaler", "PodDisruptionBudget", "Gateway", "MutatingWebhookConfiguration",
              "ValidatingWebhookConfiguration")
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}


def manifest_order(objects: Iterable[Mapping[str, Any]]) -> list[dict]:
    """A stable order for manifests and applies: definitions, namespaces, identities and RBAC, config,
    Services, workloads, scaling, gateways, webhooks last; then by namespace and name."""

    def key(obj: Mapping[str, Any]) -> tuple[int, str, str]:
        meta = obj.get("metadata") or {}
        return _RANK.get(obj.get("kind", ""), len(KIND_ORDER)), meta.get("namespace") or "", meta.get("name") or ""

    return sorted(objects, key=key)  # type: ignore[arg-type]


def manifest_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Objects as one multi-document YAML text (multi-line strings as literal blocks)."""
    return "".join(f"---\n{_yaml(dict(obj))}" for obj in objects)


# -- render ------------------------------------------------------------------------------------------


def _check_templates(spec: InstallSpec, templates: Mapping[str, str] | None) -> Mapping[str, str]:
    where = f"istiod-{spec.istio_version}.tgz files/"
    if templates is None:
        raise MeshctlError(f"cannot render Pilot: the injection templates istiod runs ({where}) were not given",
                           hint="meshctl reads them from Istio's istiod chart archive; fetch it or pass --artifacts")
    missing = [f for f in REQUIRED_TEMPLATE_FILES if f not in templates]
    if missing:
        raise InputError(f"cannot render Pilot: {where} lacks {', '.join(missing)}",
                         hint="is it Istio's istiod chart archive of that version?")
    return templates


def render(spec: InstallSpec, *, crds: list[dict] | None, injection_templates: Mapping[str, str] | None,
           default_tag: bool = True, components: set[str] | None = None) -> list[ComponentManifest]:
    """The install as components in dependency order: Namespace, Base, Pilot, Cni, Ztunnel,
    IngressGateways and (with ``default_tag``) RevisionTag.

    A component the spec disables comes back with no objects, so prune can remove what an earlier
    install created; ``components`` limits the render to those names. ``crds`` None leaves the CRDs
    out; ``injection_templates`` (istiod chart files by name) are required when Pilot is rendered.
    """
    wanted = set(components) if components is not None else None
    if wanted is not None and wanted - set(COMPONENTS):
        unknown = ", ".join(sorted(wanted - set(COMPONENTS)))
        raise UsageError(f"unknown component {unknown}", hint=f"choose from {', '.join(COMPONENTS)}")
    enabled = set(spec.components)

    def chosen(name: str) -> bool:
        return wanted is None or name in wanted

    has_tag = default_tag and PILOT in enabled
    ctx = _context(spec, never_match=has_tag)
    result: list[ComponentManifest] = []

    def add(name: str, objects: list[dict]) -> None:
        result.append(ComponentManifest(name, tuple(manifest_order(objects))))

    gateway_namespaces = sorted({g["namespace"] for g in spec.ingress_gateways} - {spec.namespace})
    if not chosen(INGRESS):
        gateway_namespaces = []
    add(NAMESPACE, render_text(TEMPLATES[NAMESPACE][0], {**ctx, "gateway_namespaces": gateway_namespaces}))
    if chosen(BASE):
        objects = _crds(crds, spec) if crds is not None and BASE in enabled else []
        if BASE in enabled:
            objects += _label(_render_all(BASE, ctx), spec, BASE)
        add(BASE, objects)
    if chosen(PILOT):
        objects = []
        if PILOT in enabled:
            templates = _check_templates(spec, injection_templates)
            pilot_ctx = {**ctx, "injector_values_json": _json(injector_values(spec)),
                         "injector_config_yaml": _yaml(injector_config(spec, templates))}
            objects = _label(_render_all(PILOT, pilot_ctx), spec, PILOT)
        add(PILOT, objects)
    for name in (CNI, ZTUNNEL):
        if chosen(name):
            add(name, _label(_render_all(name, ctx), spec, name) if name in enabled else [])
    if chosen(INGRESS):
        objects = []
        for gateway in spec.ingress_gateways:
            objects += render_text(TEMPLATES[INGRESS][0], {**ctx, "gateway": gateway})
        add(INGRESS, _label(objects, spec, INGRESS))
    if has_tag and chosen(REVISION_TAG):
        result.append(render_tag(spec, L.DEFAULT_REVISION, spec.revision))
    return result


def _render_all(component: str, ctx: Mapping[str, Any]) -> list[dict]:
    objects: list[dict] = []
    for template in TEMPLATES[component]:
        objects += render_text(template, ctx)
    return objects


def render_tag(spec: InstallSpec, tag: str, revision: str) -> ComponentManifest:
    """The objects of revision tag ``tag`` pointing at ``revision`` ("" = the default revision): its
    injection webhook, the default tag's validation webhook, and the tag's istiod Service."""
    if not DNS_LABEL.match(tag) or len(tag) > 63:
        raise UsageError(f"revision tag {tag!r} is not valid", hint="use lower-case letters, digits and '-'")
    revision = "" if revision == L.DEFAULT_REVISION else revision
    ctx = {**_context(spec, never_match=False), **_names(spec.namespace, revision), "tag": tag,
           "tag_mwc_name": f"istio-revision-tag-{tag}{_ns_suffix(spec.namespace)}"}
    objects = _label(render_text(TEMPLATES[REVISION_TAG][0], ctx), spec, REVISION_TAG, revision=revision, tag=tag)
    return ComponentManifest(REVISION_TAG, tuple(manifest_order(objects)))
