"""injection.*: sidecar injection labels, pods missing their proxy, stale proxy images, ``image: auto``.

Ambient: a namespace labelled ``istio.io/dataplane-mode=ambient`` is in the mesh without sidecars, so it is
neither "not injected" (IST0102) nor are its pods "missing the proxy" (IST0103), as in Istio 1.30. A
namespace that also carries a sidecar-injection label gets IST0123 (more than one enrollment label).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from meshctl.analysis.common import (
    ISTIO_PROXY,
    ISTIO_WEBHOOK_SUFFIX,
    has_ambient_label,
    is_system_namespace,
    label_selector_matches,
    mapping,
    webhook_entries,
)
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L

AUTO_IMAGE = "auto"  # manual injection placeholder the webhook replaces
INJECTOR_CONFIGMAP = "istio-sidecar-injector"
PROXY_IMAGE_ANNOTATION = "sidecar.istio.io/proxyImage"


def injector_configmap_name(revision: str) -> str:
    return INJECTOR_CONFIGMAP if revision in ("", L.DEFAULT_REVISION) else f"{INJECTOR_CONFIGMAP}-{revision}"


def injector_values(configmap: Resource | None) -> dict[str, Any]:
    """The injector's Helm values (JSON under ``values``); empty when absent or unreadable."""
    if configmap is None:
        return {}
    try:
        values = json.loads((configmap.raw.get("data") or {}).get("values") or "{}")
    except (TypeError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def injector_configmaps(ctx: Context) -> dict[str, Resource]:
    """Injector ConfigMaps by name, those in the Istio namespace first (built once per analyzer run)."""
    found: dict[str, Resource] = {}
    for cm in ctx.resources(K.CONFIG_MAP):
        if cm.name.startswith(INJECTOR_CONFIGMAP) and (cm.name not in found or cm.namespace == ctx.istio_namespace):
            found[cm.name] = cm
    return found


def enrollment_labels(ns: Resource) -> list[str]:
    """The namespace's labels that each choose a data plane; more than one is ambiguous (Istio's rule:
    a disabling ``istio-injection`` value makes the others irrelevant)."""
    labels = ns.labels
    found = []
    if L.INJECTION in labels:
        found.append(f"{L.INJECTION}={labels[L.INJECTION]}")
    if L.INJECTION not in labels or labels[L.INJECTION] == "enabled":
        found += [f"{key}={labels[key]}" for key in (L.REV, L.DATAPLANE_MODE) if key in labels]
    return found


def injection_opt_out(pod: Resource) -> bool:
    value = pod.labels.get(L.SIDECAR_INJECT, pod.annotations.get(L.SIDECAR_INJECT, ""))
    return value.lower() == "false"


def pod_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers and init containers (a native sidecar proxy is an init container)."""
    items = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    return [c for c in items if isinstance(c, dict)]


def proxy_images(spec: dict[str, Any]) -> list[str]:
    return [str(c.get("image") or "") for c in pod_containers(spec) if c.get("name") == ISTIO_PROXY]


@analyzer
class InjectionAnalyzer(Analyzer):
    name = "injection.Analyzer"
    description = "Checks namespace injection labels and that pods of injected namespaces run the proxy"
    inputs = (K.NAMESPACE, K.POD, K.CONFIG_MAP)
    codes = ("IST0102", "IST0103", "IST0123", "IST0148")

    def analyze(self, ctx: Context) -> None:
        configmaps = injector_configmaps(ctx)
        injected = set()
        for ns in ctx.resources(K.NAMESPACE):
            if ns.name == ctx.istio_namespace or is_system_namespace(ns.name):
                continue
            labels = enrollment_labels(ns)
            if len(labels) > 1:
                ctx.report("IST0123", ns, ", ".join(labels))
            if has_ambient_label(ns):
                continue  # enrolled in ambient: no sidecars expected
            if self._check_namespace(ctx, ns, configmaps):
                injected.add(ns.name)
        if injected:
            self._check_pods(ctx, injected)

    def _check_namespace(self, ctx: Context, ns: Resource, configmaps: dict[str, Resource]) -> bool:
        """Report a namespace without injection labels; return whether its pods should have sidecars."""
        injection = ns.labels.get(L.INJECTION, "")
        if not injection and L.REV not in ns.labels:
            values = injector_values(configmaps.get(injector_configmap_name("")))
            if (values.get("sidecarInjectorWebhook") or {}).get("enableNamespacesByDefault") is True:
                ctx.report("IST0148", ns)
                return False
            ctx.report("IST0102", ns, ns.name)
            return False
        # istio-injection=enabled, or a revision label the injection label does not override. (Istio 1.30
        # skips the pod check for revision-only namespaces; their webhook injects them, so meshctl checks.)
        return injection == "enabled" or (not injection and L.REV in ns.labels)

    def _check_pods(self, ctx: Context, injected: set[str]) -> None:
        for pod in ctx.resources(K.POD):
            if pod.namespace not in injected or injection_opt_out(pod):
                continue
            if pod.spec.get("hostNetwork"):
                continue  # never injected
            if not any(proxy_images(pod.spec)):
                ctx.report("IST0103", pod, f"{pod.namespace}/{pod.name}")


def expected_proxy_image(values: dict[str, Any], mesh_config: dict[str, Any]) -> str:
    """The proxy image the injector writes: hub/image:tag plus the image variant (e.g. ``-distroless``)."""
    glob = values.get("global") or {}
    proxy = glob.get("proxy") or {}
    image = str(proxy.get("image") or "")
    if not image:
        return ""
    if "/" not in image:
        image = f"{glob.get('hub', '')}/{image}:{glob.get('tag', '')}"
    variant = str(proxy.get("variant") or glob.get("variant") or "")
    image_type = ((mesh_config.get("defaultConfig") or {}).get("image") or {}).get("imageType")
    if image_type:
        variant = str(image_type)
    if variant and variant != "default":
        image = f"{image}-{variant}"
    return image


def namespace_revisions(ctx: Context) -> dict[str, str]:
    """Namespaces whose pods get sidecars, with the revision that injects them."""
    out = {}
    for ns in ctx.resources(K.NAMESPACE):
        if L.REV in ns.labels:
            out[ns.name] = ns.labels[L.REV]
        elif ns.labels.get(L.INJECTION) == "enabled":
            out[ns.name] = L.DEFAULT_REVISION
    return out


@analyzer
class ImageAnalyzer(Analyzer):
    name = "injection.ImageAnalyzer"
    description = "Checks that injected pods run the proxy image the injector is configured with"
    inputs = (K.NAMESPACE, K.POD, K.CONFIG_MAP)
    codes = ("IST0158",)

    def analyze(self, ctx: Context) -> None:
        images = {name: expected_proxy_image(injector_values(cm), ctx.mesh_config)
                  for name, cm in injector_configmaps(ctx).items()}
        if not images:
            return
        revisions = namespace_revisions(ctx)
        mismatched: dict[str, list[str]] = defaultdict(list)
        expected_by_ns: dict[str, str] = {}
        for pod in ctx.resources(K.POD):
            rev = revisions.get(pod.namespace)
            if rev is None or pod.annotations.get(PROXY_IMAGE_ANNOTATION):
                continue  # not injected, or a custom image chosen on purpose
            expected = images.get(injector_configmap_name(rev))
            if not expected:
                continue
            if any(image != expected for image in proxy_images(pod.spec)):
                mismatched[pod.namespace].append(pod.name)
                expected_by_ns[pod.namespace] = expected
        for ns_name, pods in sorted(mismatched.items()):
            ns = ctx.get(K.NAMESPACE, "", ns_name)
            if ns is not None:
                ctx.report("IST0158", ns, ns_name, expected_by_ns[ns_name], ", ".join(sorted(pods)))


def has_auto_image(pod_spec: dict[str, Any]) -> bool:
    containers = [c for c in mapping(pod_spec).get("containers") or [] if isinstance(c, dict)]
    return any(c.get("name") == ISTIO_PROXY and c.get("image") == AUTO_IMAGE for c in containers)


@analyzer
class ImageAutoAnalyzer(Analyzer):
    name = "injection.ImageAutoAnalyzer"
    description = "Checks that Pods and Deployments with 'image: auto' are selected by an injection webhook"
    inputs = (K.NAMESPACE, K.POD, K.DEPLOYMENT, K.MUTATING_WEBHOOK)
    codes = ("IST0146", "IST0147")

    def analyze(self, ctx: Context) -> None:
        # A created pod still saying "auto" was not injected: it cannot start.
        for pod in ctx.resources(K.POD):
            if has_auto_image(pod.spec):
                ctx.report("IST0147", pod, "Pod", pod.name)
        deployments = [d for d in ctx.resources(K.DEPLOYMENT)
                       if has_auto_image(d.fields.mapping("spec", "template", "spec"))]
        if not deployments or not ctx.has(K.MUTATING_WEBHOOK):
            return  # without the webhooks we cannot tell whether they will be injected
        hooks = [h for c in ctx.resources(K.MUTATING_WEBHOOK) for h in webhook_entries(c)
                 if str(h.get("name", "")).endswith(ISTIO_WEBHOOK_SUFFIX)]
        for deployment in deployments:
            ns = ctx.get(K.NAMESPACE, "", deployment.namespace or "default")
            ns_labels = ns.labels if ns is not None else {}
            pod_labels = deployment.fields.string_map("spec", "template", "metadata", "labels")
            if not any(label_selector_matches(h.get("namespaceSelector"), ns_labels)
                       and label_selector_matches(h.get("objectSelector"), pod_labels) for h in hooks):
                ctx.report("IST0146", deployment, "Deployment", deployment.name)

