"""Message types (codes, names, levels, wording) and the messages analyzers report.

Codes, names and levels are Istio's (``IST0001``…), so output and suppressions written for istioctl
keep working; the wording is meshctl's own. meshctl's own checks use codes ``MSH…``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.capitalize()  # "Info", "Warning", "Error", as istioctl prints them

    @classmethod
    def parse(cls, text: str) -> "Level":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}: use Info, Warning or Error") from None


@dataclass(frozen=True)
class MessageType:
    code: str
    name: str
    level: Level
    template: str  # str.format template; positional arguments come from the analyzer

    @property
    def documentation_url(self) -> str:
        if self.code.startswith("IST"):
            return f"https://istio.io/latest/docs/reference/config/analysis/{self.code.lower()}/"
        return f"https://github.com/meshctl/meshctl/blob/main/docs/analyzers.md#{self.code.lower()}"


E, W, I = Level.ERROR, Level.WARNING, Level.INFO

_TYPES = [
    MessageType("IST0001", "InternalError", E, 'meshctl could not finish the analysis: {0}'),
    MessageType("IST0002", "Deprecated", W, "Deprecated configuration: {0}"),
    MessageType("IST0101", "ReferencedResourceNotFound", E, 'Referenced {0} not found: "{1}"'),
    MessageType("IST0102", "NamespaceNotInjected", I, 'Namespace {0} is neither in ambient mode nor enabled for sidecar injection; label it istio.io/dataplane-mode=ambient to add it to the mesh (or istio-injection=disabled to say it stays out).'),
    MessageType("IST0103", "PodMissingProxy", W, 'Pod {0} has no Istio proxy although its namespace injects one (restart it to get the sidecar).'),
    MessageType("IST0106", "SchemaValidationError", E, 'Schema validation error: {0}'),
    MessageType("IST0107", "MisplacedAnnotation", W, 'Annotation {0} has no effect here; it belongs on {1}.'),
    MessageType("IST0108", "UnknownAnnotation", W, 'Annotation {0} is not an Istio annotation.'),
    MessageType("IST0109", "ConflictingMeshGatewayVirtualServiceHosts", E, 'VirtualServices {0} all define host {1} for the mesh gateway; which one applies is undefined, so merge them into one.'),
    MessageType("IST0110", "ConflictingSidecarWorkloadSelectors", E, 'Sidecars {0} in namespace {1} all select pod "{2}"; which one applies is undefined.'),
    MessageType("IST0111", "MultipleSidecarsWithoutWorkloadSelectors", E, 'Sidecars {0} in namespace {1} have no workload selector; only one namespace-wide Sidecar may exist.'),
    MessageType("IST0112", "VirtualServiceDestinationPortSelectorRequired", E, 'The destination service "{0}" has several ports ({1}); name the port in the destination.'),
    MessageType("IST0116", "DeploymentAssociatedToMultipleServices", W, 'Deployment {0} is behind several services that use port {1} with different protocols: {2}'),
    MessageType("IST0118", "PortNameIsNotUnderNamingConvention", I, 'Port {0} (port {1}, targetPort {2}) has neither a protocol-prefixed name (<protocol>[-<suffix>]) nor an appProtocol, so Istio cannot tell its protocol.'),
    MessageType("IST0123", "NamespaceMultipleInjectionLabels", W, 'The namespace is enrolled by more than one label ({0}); keep exactly one of them.'),
    MessageType("IST0125", "InvalidAnnotation", W, 'Annotation {0} has an invalid value: {1}'),
    MessageType("IST0126", "UnknownMeshNetworksServiceRegistry", E, 'Network {1} names service registry {0}, which is not a known cluster.'),
    MessageType("IST0127", "NoMatchingWorkloadsFound", W, 'No matching workloads for this resource with the following labels: {0}'),
    MessageType("IST0128", "NoServerCertificateVerificationDestinationLevel", W, "DestinationRule {0} in namespace {1} uses TLS mode {2} for host {3} without caCertificates, so the server's identity is not verified."),
    MessageType("IST0129", "NoServerCertificateVerificationPortLevel", W, "DestinationRule {0} in namespace {1} uses TLS mode {2} for host {3}, port {4}, without caCertificates, so the server's identity is not verified."),
    MessageType("IST0130", "VirtualServiceUnreachableRule", W, 'VirtualService rule {0} is never used ({1}).'),
    MessageType("IST0131", "VirtualServiceIneffectiveMatch", I, 'VirtualService rule {0} match {1} is never used: rule {2} already matches the same requests.'),
    MessageType("IST0132", "VirtualServiceHostNotFoundInGateway", W, 'Gateway {2} admits none of the hosts {0} of VirtualService {1}.'),
    MessageType("IST0133", "SchemaWarning", W, 'Schema validation warning: {0}'),
    MessageType("IST0134", "ServiceEntryAddressesRequired", W, 'This ServiceEntry needs addresses for its protocol.'),
    MessageType("IST0135", "DeprecatedAnnotation", I, 'Annotation "{0}" is deprecated{1}; it may stop working in a later Istio release.'),
    MessageType("IST0136", "AlphaAnnotation", I, 'Annotation "{0}" belongs to an alpha feature and may not be fully supported.'),
    MessageType("IST0137", "DeploymentConflictingPorts", W, 'Deployment {0} is behind services {1} that send targetPort {2} to different ports: {3}.'),
    MessageType("IST0138", "GatewayDuplicateCertificate", W, 'Gateways {0} use the same certificate; with HTTP/2 connection reuse, requests may reach the wrong gateway and get 404s.'),
    MessageType("IST0139", "InvalidWebhook", E, 'Invalid webhook: {0}'),
    MessageType("IST0140", "IngressRouteRulesNotAffected", W, 'The subset in VirtualService {0} does not apply to requests entering through gateway {1}.'),
    MessageType("IST0141", "InsufficientPermissions", E, 'No permission to create {0} ({1}).'),
    MessageType("IST0142", "UnsupportedKubernetesVersion", E, 'Kubernetes {0} is older than {1}, the oldest this Istio supports.'),
    MessageType("IST0143", "LocalhostListener", E, 'Port {0} is published by a Service but the app listens on localhost only; other pods cannot reach it.'),
    MessageType("IST0144", "InvalidApplicationUID", W, "UID 1337 is the sidecar proxy's; the application must not run as it."),
    MessageType("IST0145", "ConflictingGateways", E, 'Gateways {0} conflict: same workload selector {1}, port {2} and hosts {3}.'),
    MessageType("IST0146", "ImageAutoWithoutInjectionWarning", W, "{0} {1} uses 'image: auto' but no Istio injection webhook selects it, so the image is never set."),
    MessageType("IST0147", "ImageAutoWithoutInjectionError", E, "{0} {1} uses 'image: auto' but no Istio injection webhook selects it, so the image is never set."),
    MessageType("IST0148", "NamespaceInjectionEnabledByDefault", I, 'No injection label is set, so sidecar injection applies to this namespace by default.'),
    MessageType("IST0149", "JwtClaimBasedRoutingWithoutRequestAuthN", E, 'The VirtualService routes on JWT claim {0}, but no RequestAuthentication applies to the pods of gateway {1}: {2}'),
    MessageType("IST0150", "ExternalNameServiceTypeInvalidPortName", W, 'An ExternalName service needs a protocol-prefixed port name, or the proxy may not pass TCP traffic.'),
    MessageType("IST0151", "EnvoyFilterUsesRelativeOperation", W, 'This EnvoyFilter has no priority but uses a relative patch operation, so it may apply in the wrong order.'),
    MessageType("IST0152", "EnvoyFilterUsesReplaceOperationIncorrectly", E, 'REPLACE only works on HTTP_FILTER and NETWORK_FILTER.'),
    MessageType("IST0153", "EnvoyFilterUsesAddOperationIncorrectly", E, 'ADD has no effect when applyTo is ROUTE_CONFIGURATION or HTTP_ROUTE.'),
    MessageType("IST0154", "EnvoyFilterUsesRemoveOperationIncorrectly", E, 'REMOVE has no effect when applyTo is ROUTE_CONFIGURATION or HTTP_ROUTE.'),
    MessageType("IST0155", "EnvoyFilterUsesRelativeOperationWithProxyVersion", W, 'This EnvoyFilter has no priority, uses a relative patch operation and matches a proxy version, so an upgrade may break it.'),
    MessageType("IST0156", "UnsupportedGatewayAPIVersion", E, 'Gateway API CRDs {0} are older than {1}, the oldest this Istio supports.'),
    MessageType("IST0157", "InvalidTelemetryProvider", W, 'Telemetry {0} in namespace {1} names provider "{2}", which is empty or not configured.'),
    MessageType("IST0158", "PodsIstioProxyImageMismatchInNamespace", W, 'Pods in namespace {0} do not run the current proxy image {1}: {2}'),
    MessageType("IST0159", "ConflictingTelemetryWorkloadSelectors", E, 'Telemetries {0} in namespace {1} all select pod "{2}"; which one applies is undefined.'),
    MessageType("IST0160", "MultipleTelemetriesWithoutWorkloadSelectors", E, 'Telemetries {0} in namespace {1} have no workload selector; only one namespace-wide Telemetry may exist.'),
    MessageType("IST0161", "InvalidGatewayCredential", E, 'The credential of Gateway {0} in namespace {1} is invalid: {2}'),
    MessageType("IST0162", "GatewayPortNotDefinedOnService", W, 'The gateway listens on port {0} of workloads "{1}", but no Service of those workloads exposes that port.'),
    MessageType("IST0163", "InvalidExternalControlPlaneConfig", W, "The {1} webhook's address {0} is invalid: {2}"),
    MessageType("IST0164", "ExternalControlPlaneAddressIsNotAHostname", I, "The {1} webhook's address {0} is an IP address; use a host name so its certificate can be verified."),
    MessageType("IST0165", "ReferencedInternalGateway", W, 'VirtualService {0} uses internal gateway {1}; traffic may not go where you expect.'),
    MessageType("IST0166", "IneffectiveSelector", W, 'Kubernetes Gateway {0} has a selector, which Istio ignores; use targetRefs instead.'),
    MessageType("IST0167", "IneffectivePolicy", W, 'This policy has no effect: {0}.'),
    MessageType("IST0168", "UnknownUpgradeCompatibility", W, '{0} changed in release {1}, and whether it affects you could not be checked: {2}'),
    MessageType("IST0169", "UpdateIncompatibility", W, '{0} changed in release {1}: {2}'),
    MessageType("IST0170", "MultiClusterInconsistentService", W, 'The service {0} in namespace {1} is inconsistent across clusters {2}: {3}'),
    MessageType("IST0171", "NegativeConditionStatus", W, '{0}'),
    MessageType("IST0172", "FutureUnsupportedGatewayAPIVersion", W, 'Gateway API CRDs {0} are older than {1}, which the next Istio release will need.'),
    MessageType("IST0173", "DestinationRuleSubsetNotSelectPods", E, 'The destination rule subset {0} does not select any pods: {1}'),
    MessageType("IST0174", "UnknownDestinationRuleHost", W, 'DestinationRule host {0} matches no service in the registry.'),
    MessageType("IST0175", "JwksUriFetchUnrestricted", W, 'The jwksUri {0} points to a non-public address, reachable from istiod.'),
    MessageType("IST0176", "GatewayAPICRDVersionBelowMinimum", W, 'The Gateway API CRD {0} has bundle version {1}, lower than the minimum {2} this Istio needs.'),
    MessageType("IST0177", "ConflictingServiceEntryProtocol", W, 'ServiceEntries {0} declare port {1} of host "{2}" with different protocols {3}.'),
]

MESSAGE_TYPES: dict[str, MessageType] = {t.code: t for t in _TYPES}


def register(*types: MessageType) -> None:
    """Add meshctl's own message types (analyzer modules call this at import)."""
    for t in types:
        if t.code in MESSAGE_TYPES and MESSAGE_TYPES[t.code] != t:
            raise ValueError(f"message code {t.code} registered twice")
        MESSAGE_TYPES[t.code] = t


@dataclass(frozen=True)
class Message:
    type: MessageType
    origin: str  # "Kind ns/name" or "Kind name"
    text: str
    reference: str = ""  # "file:line" for file input
    cluster: str = ""  # set when several clusters are analyzed together
    # Which analyzer said it; not part of a message's identity, so the same finding from two
    # analyzers (Istio has several that check gateway selectors) is shown once.
    analyzer: str = field(default="", compare=False)
    # identity of the resource, for suppression and grouping
    kind: str = ""
    namespace: str = ""
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def code(self) -> str:
        return self.type.code

    @property
    def level(self) -> Level:
        return self.type.level

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML shape istioctl prints, key for key."""
        out = {
            "code": self.code,
            "level": self.level.label,
            "origin": self.origin,
            "reference": self.reference,
            "message": self.text,
            "documentationUrl": self.type.documentation_url,
        }
        if self.cluster:  # only when several clusters were analyzed together
            out["cluster"] = self.cluster
        return out

    def sort_key(self) -> tuple:
        return (self.cluster, self.namespace, self.kind, self.name, self.code, self.text)
