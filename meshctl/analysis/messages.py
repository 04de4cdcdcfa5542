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
    MessageType("IST0001", "InternalError", E, "Internal error: {0}"),
    MessageType("IST0002", "Deprecated", W, "Deprecated: {0}"),
    MessageType("IST0101", "ReferencedResourceNotFound", E, "Referenced {0} not found: \"{1}\""),
    MessageType("IST0102", "NamespaceNotInjected", I,
                "The namespace is not enabled for Istio injection. Run 'kubectl label namespace {0} "
                "istio-injection=enabled' to enable it, or 'kubectl label namespace {0} istio-injection=disabled' "
                "to explicitly mark it as not needing injection."),
    MessageType("IST0103", "PodMissingProxy", W, "The pod {0} is missing the Istio proxy."),
    MessageType("IST0106", "SchemaValidationError", E, "Schema validation error: {0}"),
    MessageType("IST0107", "MisplacedAnnotation", W, "Misplaced annotation: {0} can only be applied to {1}"),
    MessageType("IST0108", "UnknownAnnotation", W, "Unknown annotation: {0}"),
    MessageType("IST0109", "ConflictingMeshGatewayVirtualServiceHosts", E,
                "The VirtualServices {0} associated with mesh gateway define the same host {1}, which can "
                "lead to undefined behavior. Merge the conflicting VirtualServices into one."),
    MessageType("IST0110", "ConflictingSidecarWorkloadSelectors", E,
                "The Sidecars {0} in namespace {1} select the same workload pod \"{2}\", which can lead to "
                "undefined behavior."),
    MessageType("IST0111", "MultipleSidecarsWithoutWorkloadSelectors", E,
                "The Sidecars {0} in namespace {1} have no workload selector, which can lead to undefined "
                "behavior."),
    MessageType("IST0112", "VirtualServiceDestinationPortSelectorRequired", E,
                "This VirtualService routes to a service \"{0}\" that exposes multiple ports {1}. Specify a "
                "port in the destination to remove ambiguity."),
    MessageType("IST0116", "DeploymentAssociatedToMultipleServices", W,
                "This deployment {0} is associated with multiple services using port {1} but different "
                "protocols: {2}"),
    MessageType("IST0118", "PortNameIsNotUnderNamingConvention", I,
                "Port name {0} (port: {1}, targetPort: {2}) does not follow the protocol naming convention "
                "(<protocol>[-<suffix>]) and has no appProtocol."),
    MessageType("IST0123", "NamespaceMultipleInjectionLabels", W,
                "The namespace has both new-style injection labels (istio.io/rev) and old-style "
                "(istio-injection); the istio.io/rev label is ignored."),
    MessageType("IST0125", "InvalidAnnotation", W, "Invalid annotation {0}: {1}"),
    MessageType("IST0126", "UnknownMeshNetworksServiceRegistry", E,
                "Unknown service registry {0} in network {1}"),
    MessageType("IST0127", "NoMatchingWorkloadsFound", W,
                "No matching workloads for this resource with the following labels: {0}"),
    MessageType("IST0128", "NoServerCertificateVerificationDestinationLevel", W,
                "DestinationRule {0} in namespace {1} has TLS mode set to {2} but no caCertificates are "
                "set to validate server identity for host: {3}"),
    MessageType("IST0129", "NoServerCertificateVerificationPortLevel", W,
                "DestinationRule {0} in namespace {1} has TLS mode set to {2} but no caCertificates are "
                "set to validate server identity for host: {3} at port {4}"),
    MessageType("IST0130", "VirtualServiceUnreachableRule", W,
                "VirtualService rule {0} not used ({1})."),
    MessageType("IST0131", "VirtualServiceIneffectiveMatch", I,
                "VirtualService rule {0} match {1} is not used (duplicate/overlapping match in rule {2})."),
    MessageType("IST0132", "VirtualServiceHostNotFoundInGateway", W,
                "one or more host {0} defined in VirtualService {1} not found in Gateway {2}."),
    MessageType("IST0133", "SchemaWarning", W, "Schema validation warning: {0}"),
    MessageType("IST0134", "ServiceEntryAddressesRequired", W,
                "ServiceEntry addresses are required for this protocol."),
    MessageType("IST0135", "DeprecatedAnnotation", I,
                "Annotation \"{0}\" has been deprecated{1} and may not work in future Istio versions."),
    MessageType("IST0136", "AlphaAnnotation", I,
                "Annotation \"{0}\" is part of an alpha-phase feature and may be incompletely supported."),
    MessageType("IST0137", "DeploymentConflictingPorts", W,
                "This deployment {0} is associated with multiple services {1} using targetPort {2} but "
                "different ports: {3}."),
    MessageType("IST0138", "GatewayDuplicateCertificate", W,
                "Duplicate certificate in multiple gateways {0} may cause 404s if HTTP/2 connection "
                "coalescing occurs."),
    MessageType("IST0139", "InvalidWebhook", E, "Webhook is invalid: {0}"),
    MessageType("IST0140", "IngressRouteRulesNotAffected", W,
                "Subset in virtual service {0} has no effect on ingress gateway {1} requests"),
    MessageType("IST0141", "InsufficientPermissions", E,
                "Missing required permission to create resource {0} ({1})"),
    MessageType("IST0142", "UnsupportedKubernetesVersion", E,
                "The Kubernetes Version \"{0}\" is lower than the minimum version: {1}"),
    MessageType("IST0143", "LocalhostListener", E,
                "Port {0} is exposed in a Service but listens on localhost; it will not be exposed to other "
                "pods."),
    MessageType("IST0144", "InvalidApplicationUID", W,
                "User ID (UID) 1337 is reserved for the sidecar proxy."),
    MessageType("IST0145", "ConflictingGateways", E,
                "Conflict with gateways {0} (workload selector {1}, port {2}, hosts {3})."),
    MessageType("IST0146", "ImageAutoWithoutInjectionWarning", W,
                "{0} {1} contains 'image: auto' but does not match any Istio injection webhook selector."),
    MessageType("IST0147", "ImageAutoWithoutInjectionError", E,
                "{0} {1} contains 'image: auto' but does not match any Istio injection webhook selector."),
    MessageType("IST0148", "NamespaceInjectionEnabledByDefault", I,
                "Istio injection is enabled in this namespace by default because no injection label is set."),
    MessageType("IST0149", "JwtClaimBasedRoutingWithoutRequestAuthN", E,
                "The VirtualService uses JWT claim based routing (key: {0}) but found no "
                "RequestAuthentication applied for the gateway ({1}) pods: {2}"),
    MessageType("IST0150", "ExternalNameServiceTypeInvalidPortName", W,
                "Port name for ExternalName service is invalid. Proxy may prevent tcp traffic."),
    MessageType("IST0151", "EnvoyFilterUsesRelativeOperation", W,
                "This EnvoyFilter has no priority and uses a relative patch operation; it may not be applied "
                "in the intended order."),
    MessageType("IST0152", "EnvoyFilterUsesReplaceOperationIncorrectly", E,
                "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER."),
    MessageType("IST0153", "EnvoyFilterUsesAddOperationIncorrectly", E,
                "The ADD operation is ignored when applyTo is ROUTE_CONFIGURATION or HTTP_ROUTE."),
    MessageType("IST0154", "EnvoyFilterUsesRemoveOperationIncorrectly", E,
                "The REMOVE operation is ignored when applyTo is ROUTE_CONFIGURATION or HTTP_ROUTE."),
    MessageType("IST0155", "EnvoyFilterUsesRelativeOperationWithProxyVersion", W,
                "This EnvoyFilter has no priority, uses a relative patch operation and matches a proxy "
                "version; it may stop working after an upgrade."),
    MessageType("IST0156", "UnsupportedGatewayAPIVersion", E,
                "The Gateway API CRD version {0} is lower than the minimum version: {1}"),
    MessageType("IST0157", "InvalidTelemetryProvider", W,
                "The Telemetry {0} in namespace {1} uses an empty or unknown provider \"{2}\"."),
    MessageType("IST0158", "PodsIstioProxyImageMismatchInNamespace", W,
                "The pods under namespace {0} are not running the current proxy image: {1}"),
    MessageType("IST0159", "ConflictingTelemetryWorkloadSelectors", E,
                "The Telemetries {0} in namespace {1} select the same workload pod \"{2}\", which can lead to "
                "undefined behavior."),
    MessageType("IST0160", "MultipleTelemetriesWithoutWorkloadSelectors", E,
                "The Telemetries {0} in namespace {1} have no workload selector, which can lead to undefined "
                "behavior."),
    MessageType("IST0161", "InvalidGatewayCredential", E,
                "The credential provided for the Gateway {0} in namespace {1} is invalid: {2}"),
    MessageType("IST0162", "GatewayPortNotDefinedOnService", W,
                "The gateway refers to port {0} on workload with selector \"{1}\", but the workload has no "
                "service exposing that port."),
    MessageType("IST0163", "InvalidExternalControlPlaneConfig", W,
                "The address {0} set in the {1} webhook is invalid: {2}"),
    MessageType("IST0164", "ExternalControlPlaneAddressIsNotAHostname", I,
                "The address {0} set in the {1} webhook is not a hostname (use a hostname for certificate "
                "validation)."),
    MessageType("IST0165", "ReferencedInternalGateway", W,
                "VirtualService {0} references an internal gateway {1}; it may not behave as expected."),
    MessageType("IST0166", "IneffectiveSelector", W,
                "Ineffective selector on Kubernetes Gateway {0}. Use targetRefs instead."),
    MessageType("IST0167", "IneffectivePolicy", W, "The policy has no impact: {0}."),
    MessageType("IST0168", "UnknownUpgradeCompatibility", W,
                "The configuration \"{0}\" changed in release {1}, but the compatibility could not be checked: {2}"),
    MessageType("IST0169", "UpdateIncompatibility", W,
                "The configuration \"{0}\" changed in release {1}: {2}"),
    MessageType("IST0170", "MultiClusterInconsistentService", W,
                "The service {0} in namespace {1} is inconsistent across clusters {2}: {3}"),
    MessageType("IST0171", "NegativeConditionStatus", W, "{0}"),
    MessageType("IST0172", "FutureUnsupportedGatewayAPIVersion", W,
                "The Gateway API CRD version {0} is lower than the minimum version of the next release: {1}"),
    MessageType("IST0173", "DestinationRuleSubsetNotSelectPods", E,
                "The destination rule subset {0} does not select any pods: {1}"),
    MessageType("IST0174", "UnknownDestinationRuleHost", W,
                "DestinationRule host {0} is not found in the service registry."),
    MessageType("IST0175", "JwksUriFetchUnrestricted", W,
                "The jwksUri {0} points to a non-public address, reachable from istiod."),
    MessageType("IST0176", "GatewayAPICRDVersionBelowMinimum", W,
                "The Gateway API CRD {0} has bundle version {1}, lower than the minimum {2} this Istio needs."),
    MessageType("IST0177", "ConflictingServiceEntryProtocol", W,
                "ServiceEntries {0} declare port {1} of host \"{2}\" with different protocols {3}."),
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
    analyzer: str = ""
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
