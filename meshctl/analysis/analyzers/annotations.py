"""annotations.K8sAnalyzer: Istio annotations that are unknown, misplaced, deprecated or invalid.

Like istioctl, only the metadata annotations of Namespaces, Services, Pods and Deployments are read
(a Deployment's pod template is not), and an annotation is Istio's when its prefix ends in
``istio.io`` (plus ``kubernetes.io/ingress.class``, which Istio documents).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L

ANY = "Any"
INGRESS_CLASS = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class AnnotationDef:
    name: str
    resources: tuple[str, ...]  # resource kinds it may be placed on, or ("Any",)
    status: str  # Alpha, Beta or Stable
    deprecated: bool = False


# The annotations Istio 1.30 defines (istio/api annotation/annotations.yaml), plus the few its charts
# read from objects without listing them there. Columns: name, resource types, status, deprecated.
_CATALOGUE = """
alpha.istio.io/canonical-serviceaccounts            Service                  Alpha   deprecated
alpha.istio.io/kubernetes-serviceaccounts           Service                  Alpha   deprecated
ambient.istio.io/bypass-inbound-capture             Pod                      Alpha
ambient.istio.io/dns-capture                        Pod                      Alpha
ambient.istio.io/redirection                        Pod                      Beta
ambient.istio.io/waypoint-inbound-binding           GatewayClass,Gateway     Alpha
galley.istio.io/analyze-suppress                    Any                      Alpha
gateway.istio.io/controller-version                 Any                      Alpha
gateway.istio.io/name-override                      Gateway                  Alpha
gateway.istio.io/service-account                    Gateway                  Alpha
inject.istio.io/templates                           Pod                      Alpha
istio.io/autoRegistrationGroup                      WorkloadEntry            Alpha
istio.io/connectedAt                                WorkloadEntry            Alpha
istio.io/disconnectedAt                             WorkloadEntry            Alpha
istio.io/dry-run                                    AuthorizationPolicy      Alpha
istio.io/reroute-virtual-interfaces                 Pod                      Alpha
istio.io/rev                                        Pod                      Alpha
istio.io/workloadController                         WorkloadEntry            Alpha
kubernetes.io/ingress.class                         Ingress                  Stable
networking.istio.io/address-type                    Gateway                  Alpha
networking.istio.io/exportTo                        Service                  Alpha
networking.istio.io/service-type                    Gateway                  Alpha
networking.istio.io/traffic-distribution            Service,ServiceEntry,Namespace  Alpha
prometheus.istio.io/merge-metrics                   Pod                      Alpha
proxy.istio.io/config                               Pod                      Beta
proxy.istio.io/overrides                            Pod                      Alpha
readiness.status.sidecar.istio.io/applicationPorts  Pod                      Alpha
readiness.status.sidecar.istio.io/failureThreshold  Pod                      Alpha
readiness.status.sidecar.istio.io/initialDelaySeconds  Pod                   Alpha
readiness.status.sidecar.istio.io/periodSeconds     Pod                      Alpha
sidecar.istio.io/agentLogLevel                      Pod                      Alpha
sidecar.istio.io/bootstrapOverride                  Pod                      Alpha
sidecar.istio.io/capNetBindService                  Pod                      Alpha
sidecar.istio.io/componentLogLevel                  Pod                      Alpha
sidecar.istio.io/discoveryAddress                   Pod                      Alpha   deprecated
sidecar.istio.io/enableCoreDump                     Pod                      Alpha
sidecar.istio.io/extraStatTags                      Pod                      Alpha   deprecated
sidecar.istio.io/inject                             Pod                      Beta    deprecated
sidecar.istio.io/interceptionMode                   Pod                      Alpha
sidecar.istio.io/logLevel                           Pod                      Alpha
sidecar.istio.io/nativeSidecar                      Pod                      Alpha
sidecar.istio.io/proxyCPU                           Pod                      Alpha
sidecar.istio.io/proxyCPULimit                      Pod                      Alpha
sidecar.istio.io/proxyImage                         Pod                      Alpha
sidecar.istio.io/proxyImageType                     Pod                      Alpha
sidecar.istio.io/proxyMemory                        Pod                      Alpha
sidecar.istio.io/proxyMemoryLimit                   Pod                      Alpha
sidecar.istio.io/rewriteAppHTTPProbers              Pod                      Alpha
sidecar.istio.io/statsCompression                   Pod                      Alpha   deprecated
sidecar.istio.io/statsEvictionInterval              Pod                      Alpha
sidecar.istio.io/statsFlushInterval                 Pod                      Alpha
sidecar.istio.io/statsHistogramBuckets              Pod                      Alpha
sidecar.istio.io/statsInclusionPrefixes             Pod                      Alpha   deprecated
sidecar.istio.io/statsInclusionRegexps              Pod                      Alpha   deprecated
sidecar.istio.io/statsInclusionSuffixes             Pod                      Alpha   deprecated
sidecar.istio.io/status                             Pod                      Alpha
sidecar.istio.io/userVolume                         Pod                      Alpha
sidecar.istio.io/userVolumeMount                    Pod                      Alpha
status.sidecar.istio.io/port                        Pod                      Alpha
topology.istio.io/controlPlaneClusters              Namespace                Alpha
traffic.istio.io/nodeSelector                       Service                  Stable
traffic.sidecar.istio.io/excludeInboundPorts        Pod                      Alpha
traffic.sidecar.istio.io/excludeInterfaces          Pod                      Alpha
traffic.sidecar.istio.io/excludeOutboundIPRanges    Pod                      Alpha
traffic.sidecar.istio.io/excludeOutboundPorts       Pod                      Alpha
traffic.sidecar.istio.io/includeInboundPorts        Pod                      Alpha
traffic.sidecar.istio.io/includeOutboundIPRanges    Pod                      Alpha
traffic.sidecar.istio.io/includeOutboundPorts       Pod                      Alpha
traffic.sidecar.istio.io/kubevirtInterfaces         Pod                      Alpha   deprecated
"""


def _parse_catalogue(text: str) -> dict[str, AnnotationDef]:
    out = {}
    for line in text.strip().splitlines():
        name, resources, status, *flags = line.split()
        out[name] = AnnotationDef(name, tuple(resources.split(",")), status, "deprecated" in flags)
    return out


CATALOGUE: dict[str, AnnotationDef] = _parse_catalogue(_CATALOGUE)

# What to say after "has been deprecated" when there is a replacement.
DEPRECATION_HINTS = {
    L.SIDECAR_INJECT: ' in favor of the "sidecar.istio.io/inject" label',
    "traffic.sidecar.istio.io/kubevirtInterfaces": ' in favor of "istio.io/reroute-virtual-interfaces"',
    "sidecar.istio.io/statsCompression": " in favor of ProxyConfig statsCompression",
}

# The kinds whose annotations are checked, with the name the catalogue uses for them.
CHECKED_KINDS = ((K.NAMESPACE, "Namespace"), (K.SERVICE, "Service"), (K.POD, "Pod"), (K.DEPLOYMENT, "Deployment"))


def is_istio_annotation(name: str) -> bool:
    return name == INGRESS_CLASS or name.split("/", 1)[0].endswith("istio.io")


# -- value checks (the sidecar injector refuses these values) ------------------------------------

Check = Callable[[str], "str | None"]  # returns why the value is invalid, or None
DIGITS = re.compile(r"[0-9]+")


def _port(text: str) -> str | None:
    text = text.strip()
    if not DIGITS.fullmatch(text) or int(text) > 65535:
        return f"{text!r} is not a port number (0-65535)"
    return None


def port_list(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    for part in value.split(","):
        problem = _port(part)
        if problem:
            return problem
    return None


def port_list_or_star(value: str) -> str | None:
    return None if value == "*" else port_list(value)


def cidr_list(value: str) -> str | None:
    if not value:
        return None
    for cidr in value.split(","):
        try:
            if "/" not in cidr:
                raise ValueError("no prefix length")
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return f"{cidr!r} is not a CIDR range"
    return None


def cidr_list_or_star(value: str) -> str | None:
    return None if value == "*" else cidr_list(value)


def uint32(value: str) -> str | None:
    if not DIGITS.fullmatch(value) or int(value) > 2**32 - 1:
        return f"{value!r} is not a non-negative integer"
    return None


GO_BOOLS = frozenset("1 t T TRUE true True 0 f F FALSE false False".split())


def boolean(value: str) -> str | None:
    return None if value in GO_BOOLS else f"{value!r} is not a boolean"


def interception_mode(value: str) -> str | None:
    return None if value in ("REDIRECT", "TPROXY", "NONE") else f"{value!r} is not one of REDIRECT, TPROXY, NONE"


DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
PROXY_CONFIG_PORTS = ("statusPort", "proxyAdminPort")
PROXY_CONFIG_DURATIONS = ("drainDuration", "terminationDrainDuration", "parentShutdownDuration")


def proxy_config(value: str) -> str | None:
    """A ProxyConfig override: a YAML mapping whose well-known scalar fields have the right type."""
    import yaml  # lazy: only pods with this annotation need a YAML parser

    from meshctl.kube.yamlio import kubernetes_loader

    try:
        config = yaml.load(value, Loader=kubernetes_loader())
    except yaml.YAMLError as err:
        return f"not YAML: {str(err).splitlines()[0]}"
    if config is None:
        return None
    if not isinstance(config, dict):
        return "must be a ProxyConfig mapping"
    concurrency = config.get("concurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 0):
        return "concurrency must be a non-negative integer"
    for key in PROXY_CONFIG_PORTS:
        if key in config and (not isinstance(config[key], int) or not 0 < config[key] <= 65535):
            return f"{key} must be a port number"
    for key in PROXY_CONFIG_DURATIONS:
        if key in config and not (isinstance(config[key], str) and DURATION_RE.match(config[key])):
            return f"{key} must be a duration such as 5s"
    address = config.get("discoveryAddress")
    if address is not None and (not isinstance(address, str) or ":" not in address or _port(address.rpartition(":")[2])):
        return "discoveryAddress must be host:port"
    return None


VALUE_CHECKS: dict[str, Check] = {
    "sidecar.istio.io/interceptionMode": interception_mode,
    "status.sidecar.istio.io/port": lambda v: _port(v),
    "readiness.status.sidecar.istio.io/initialDelaySeconds": uint32,
    "readiness.status.sidecar.istio.io/periodSeconds": uint32,
    "readiness.status.sidecar.istio.io/failureThreshold": uint32,
    "traffic.sidecar.istio.io/includeOutboundIPRanges": cidr_list_or_star,
    "traffic.sidecar.istio.io/excludeOutboundIPRanges": cidr_list,
    "traffic.sidecar.istio.io/includeInboundPorts": port_list_or_star,
    "traffic.sidecar.istio.io/excludeInboundPorts": port_list,
    "traffic.sidecar.istio.io/includeOutboundPorts": port_list,
    "traffic.sidecar.istio.io/excludeOutboundPorts": port_list,
    "prometheus.istio.io/merge-metrics": boolean,
    "proxy.istio.io/config": proxy_config,
}


@analyzer
class K8sAnalyzer(Analyzer):
    name = "annotations.K8sAnalyzer"
    description = "Checks for unknown, misplaced, deprecated and invalid Istio annotations on Kubernetes resources"
    inputs = tuple(kind for kind, _ in CHECKED_KINDS)
    codes = ("IST0107", "IST0108", "IST0125", "IST0135")

    def analyze(self, ctx: Context) -> None:
        for kind, type_name in CHECKED_KINDS:
            for resource in ctx.resources(kind):
                for name, value in sorted(resource.annotations.items()):
                    if is_istio_annotation(name):
                        check_annotation(ctx, resource, type_name, name, value)


def check_annotation(ctx: Context, resource: Resource, type_name: str, name: str, value: object) -> None:
    field = f"metadata.annotations.{name}"
    definition = CATALOGUE.get(name)
    if definition is None:
        ctx.report("IST0108", resource, name, field_path=field)
        return
    # Someone who also set the replacement label knows; the old annotation is kept for old proxies.
    if definition.deprecated and not (name == L.SIDECAR_INJECT and L.SIDECAR_INJECT in resource.labels):
        ctx.report("IST0135", resource, name, DEPRECATION_HINTS.get(name, ""), field_path=field)
    if ANY in definition.resources:
        return
    if type_name not in definition.resources:
        ctx.report("IST0107", resource, name, ", ".join(definition.resources), field_path=field)
        return
    check = VALUE_CHECKS.get(name)
    problem = check(value if isinstance(value, str) else str(value)) if check else None
    if problem:
        ctx.report("IST0125", resource, name, problem, field_path=field)
