"""The install values schema: every key ``meshctl install`` accepts, its type and what it does.

The key tree is meshctl's defaults (``meshctl/templates/profiles/default.yaml``); this module adds what a
default value cannot say: which maps are open (env, labels, annotations, Kubernetes structures such as
``resources``), what a list holds, and a one-line description of each key. ``docs/values.md`` is
generated from it (``python -m meshctl.install.schema > docs/values.md``).

Open maps, decided here once:

* ``*.env``: any variable name; values are strings (numbers and booleans are written as text).
* labels, annotations, ``nodeSelector``, ``injectedAnnotations``, ``sidecarInjectorWebhook.templates``:
  any key, string values.
* Kubernetes structures (``resources``, ``affinity``, ``securityContext``, ``seccompProfile``,
  ``seLinuxOptions``, ``autoscaleBehavior``, ``lifecycle``, ``meshNetworks``, list items such as
  tolerations or volumes): not checked here; the API server checks them when the objects are applied.
* ``meshConfig``: its top-level keys are Istio's MeshConfig fields and are checked (a typo is caught);
  below them everything is Istio's to validate.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# Field types.
MAP, OPEN, LIST, ANY = "map", "open", "list", "any"
BOOL, INT, NUMBER, STRING, SCALAR = "bool", "int", "number", "string", "scalar"

PROFILE_DIR = "profiles"
BUILTIN_PROFILES = ("ambient", "minimal", "ambient-ingress")


@dataclass(frozen=True)
class Field:
    type: str
    description: str = ""
    children: Mapping[str, Field] = field(default_factory=dict)  # MAP
    item: Field | None = None  # LIST items, OPEN values
    default: Any = None


class SchemaProblem(Exception):
    """A value that does not fit the schema: where (a key path) and what is wrong."""

    def __init__(self, path: str, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.suggestion = suggestion


# -- what the defaults cannot say -------------------------------------------------------------------

STRING_MAP = Field(OPEN, item=Field(STRING))
ENV_MAP = Field(OPEN, item=Field(SCALAR))
GATEWAY_ITEM = {
    "name": Field(STRING, "name of the Gateway (and of the Deployment and Service istiod makes for it)", default=""),
    "namespace": Field(STRING, "namespace of the Gateway; created when missing and never "
                                    "deleted by meshctl (default istio-ingress)",
                       default="istio-ingress"),
    "enabled": Field(BOOL, "render this gateway", default=True),
}

# Paths whose value is a free-form Kubernetes (or Istio) structure.
ANY_PATHS = frozenset("""
values.global.defaultResources values.global.meshNetworks values.global.proxy.lifecycle
values.global.proxy.seccompProfile values.global.proxy.resources values.global.waypoint.resources
values.global.waypoint.affinity
values.pilot.autoscaleBehavior values.pilot.resources values.pilot.seccompProfile values.pilot.affinity
values.pilot.memory
values.cni.resources values.cni.affinity values.cni.seccompProfile values.cni.seLinuxOptions
values.ztunnel.resources values.ztunnel.affinity values.ztunnel.seLinuxOptions
values.gateways.securityContext values.gateways.seccompProfile
""".split())

OPEN_PATHS = {
    "values.pilot.env": ENV_MAP, "values.cni.env": ENV_MAP, "values.ztunnel.env": ENV_MAP,
    **{p: STRING_MAP for p in """
        values.global.waypoint.nodeSelector values.pilot.nodeSelector values.pilot.podAnnotations
        values.pilot.podLabels values.pilot.deploymentLabels values.pilot.deploymentAnnotations
        values.pilot.serviceAnnotations values.pilot.serviceAccountAnnotations
        values.pilot.sidecarInjectorWebhookAnnotations values.cni.podAnnotations values.cni.podLabels
        values.ztunnel.labels values.ztunnel.annotations values.ztunnel.podLabels values.ztunnel.podAnnotations
        values.ztunnel.nodeSelector values.sidecarInjectorWebhook.injectedAnnotations
        values.sidecarInjectorWebhook.templates""".split()},
}

# Kubernetes int-or-string fields (a count or a percentage).
INT_OR_STRING = frozenset(
    "values.pilot.rollingMaxSurge values.pilot.rollingMaxUnavailable values.cni.rollingMaxUnavailable".split())

LIST_ITEMS = {
    "components.ingressGateways": Field(MAP, children=GATEWAY_ITEM),
    **{p: Field(STRING) for p in """
        values.global.imagePullSecrets values.global.certSigners values.pilot.extraContainerArgs
        values.pilot.ipFamilies values.cni.excludeNamespaces values.sidecarInjectorWebhook.defaultTemplates
        """.split()},
    **{p: Field(ANY) for p in """
        values.global.waypoint.tolerations values.global.waypoint.topologySpreadConstraints
        values.pilot.envVarFrom values.pilot.tolerations values.pilot.topologySpreadConstraints
        values.pilot.volumes values.pilot.volumeMounts values.pilot.initContainers
        values.cni.ambient.enablementSelectors values.cni.tolerations values.ztunnel.tolerations
        values.ztunnel.volumes values.ztunnel.volumeMounts
        values.sidecarInjectorWebhook.alwaysInjectSelector values.sidecarInjectorWebhook.neverInjectSelector
        """.split()},
}

# Istio's MeshConfig top-level fields (istio.mesh.v1alpha1.MeshConfig); below them, Istio validates.
MESH_CONFIG_KEYS = {
    "accessLogEncoding": "encoding of the proxies' access log: TEXT or JSON",
    "accessLogFile": "file the proxies write access logs to, e.g. /dev/stdout; empty turns them off",
    "accessLogFormat": "format of the proxies' access log lines",
    "ca": "an external CA istiod forwards certificate requests to",
    "caCertificates": "extra root certificates trusted for workload-to-workload mTLS",
    "certificates": "(deprecated) DNS certificates istiod issues",
    "configSources": "where istiod reads its configuration from, other than the Kubernetes API",
    "connectTimeout": "connection timeout of the proxies' upstream connections",
    "defaultConfig": "default proxy configuration (ProxyConfig) of sidecars, gateways and waypoints",
    "defaultDestinationRuleExportTo": "default exportTo of DestinationRules",
    "defaultHttpRetryPolicy": "default retry policy of HTTP routes",
    "defaultProviders": "extension providers used when a Telemetry resource names none",
    "defaultServiceExportTo": "default exportTo of Services and ServiceEntries",
    "defaultVirtualServiceExportTo": "default exportTo of VirtualServices",
    "disableEnvoyListenerLog": "turn off Envoy's listener access logs",
    "discoverySelectors": "label selectors of the namespaces istiod watches (all when empty)",
    "dnsRefreshRate": "how often proxies refresh DNS names of STRICT_DNS clusters",
    "enableAutoMtls": "use mTLS automatically towards workloads that accept it",
    "enableEnvoyAccessLogService": "send access logs to Envoy's gRPC access log service",
    "enablePrometheusMerge": "merge application metrics into the proxy's Prometheus endpoint",
    "enableTracing": "generate trace spans and request ids",
    "extensionProviders": "named providers for tracing, access logging, metrics and external authorization",
    "fileFlushInterval": "how often the proxies flush access log files",
    "fileFlushMinSizeKb": "buffer size before the proxies flush access log files",
    "h2UpgradePolicy": "whether HTTP/1.1 connections are upgraded to HTTP/2 by default",
    "inboundClusterStatName": "stat name pattern of inbound clusters",
    "inboundTrafficPolicy": "how sidecars handle inbound traffic (passthrough or localhost)",
    "ingressClass": "Ingress class istiod serves",
    "ingressControllerMode": "which Ingress resources istiod serves: OFF, DEFAULT or STRICT",
    "ingressSelector": "gateway selector that serves Kubernetes Ingress resources",
    "ingressService": "Service of the gateway that serves Kubernetes Ingress resources",
    "localityLbSetting": "locality load balancing and failover settings",
    "meshMTLS": "TLS settings of mesh-internal (ISTIO_MUTUAL) traffic",
    "outboundClusterStatName": "stat name pattern of outbound clusters",
    "outboundTrafficPolicy": "what sidecars do with traffic to unknown destinations (ALLOW_ANY or REGISTRY_ONLY)",
    "pathNormalization": "how proxies normalise URL paths",
    "protocolDetectionTimeout": "how long a proxy waits to detect the protocol of a connection",
    "proxyHttpPort": "port of the proxies' HTTP proxy listener, if any",
    "proxyInboundListenPort": "port the proxies capture inbound traffic on (15006)",
    "proxyListenPort": "port the proxies capture outbound traffic on (15001)",
    "rootNamespace": "namespace whose configuration applies to every namespace (the istio namespace)",
    "serviceScopeConfigs": "which Services are shared across clusters (scope GLOBAL) in ambient multicluster",
    "serviceSettings": "per-host settings, such as cluster-local Services",
    "tcpKeepalive": "TCP keepalive of the proxies' upstream connections",
    "tlsDefaults": "TLS settings of traffic other than ISTIO_MUTUAL",
    "trustDomain": "SPIFFE trust domain of the mesh's workload identities (cluster.local)",
    "trustDomainAliases": "other trust domains treated as this one",
    "verifyCertificateAtClient": "verify server certificates of DestinationRules with the system roots",
}

DOCS: dict[str, str] = {
    "profile": "built-in profile the install starts from: ambient (what --profile defaults to), minimal or "
               "ambient-ingress; a value in a -f file or --set replaces --profile",
    "hub": "registry of the Istio images; wins over values.global.hub (default: the release registry "
           "of the Istio version)",
    "tag": "image tag of the Istio images; wins over values.global.tag (default: the Istio version)",
    "revision": "control plane revision: names the objects (istiod-<rev>) and lets two versions run side "
                "by side; empty is the default revision",
    "namespace": "namespace of the control plane",
    "features": "meshctl's switches for optional Istio features (each sets istiod environment variables; "
                "a variable set in values.pilot.env wins)",
    "features.multiNetwork": "ambient multi-network multicluster: AMBIENT_ENABLE_MULTI_NETWORK=true "
                             "(and the istio-east-west gateway class)",
    "features.inferenceExtension": "Gateway API Inference Extension support: "
                                   "ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true",
    "features.agentgateway": "agentgateway as a Gateway API data plane: PILOT_ENABLE_AGENTGATEWAY=true",
    "components": "which parts of the control plane to install",
    "components.base": "Istio's CRDs and the reader service account",
    "components.base.enabled": "install the Base component",
    "components.pilot": "istiod",
    "components.pilot.enabled": "install istiod",
    "components.cni": "the istio-cni node agent (ambient traffic redirection)",
    "components.cni.enabled": "install istio-cni",
    "components.ztunnel": "the ztunnel node proxy (ambient data plane)",
    "components.ztunnel.enabled": "install ztunnel",
    "components.ingressGateways": "ingress gateways as Gateway API Gateways of class istio (istiod deploys them)",
    "meshConfig": "Istio's MeshConfig, merged over the mesh configuration meshctl renders into ConfigMap "
                  "istio[-<rev>]",
    **{f"meshConfig.{k}": v for k, v in MESH_CONFIG_KEYS.items()},
    "values": "Istio chart values, by the paths istioctl's values.* use",
    "values.revision": "same as the top-level revision (the top-level one wins)",
    # global
    "values.global": "settings shared by every component and by the templates istiod runs to make "
                     "sidecars, gateways and waypoints",
    "values.global.istioNamespace": "namespace of the control plane, as the templates see it "
                                    "(follows the top-level namespace)",
    "values.global.hub": "registry of the Istio images (see the top-level hub)",
    "values.global.tag": "image tag of the Istio images (see the top-level tag)",
    "values.global.variant": "image variant appended to the tag: distroless (ambient profiles) or debug",
    "values.global.imagePullPolicy": "imagePullPolicy of every Istio container (Kubernetes' default when empty)",
    "values.global.imagePullSecrets": "names of Secrets to pull the images with, added to the service accounts",
    "values.global.certSigners": "Kubernetes certificate signers istiod may approve requests for",
    "values.global.defaultPodDisruptionBudget": "PodDisruptionBudget of istiod",
    "values.global.defaultPodDisruptionBudget.enabled": "render istiod's PodDisruptionBudget when it runs more "
                                                        "than one replica",
    "values.global.defaultResources": "resources of containers that set none",
    "values.global.istiod": "istiod options shared through the global section",
    "values.global.istiod.enableAnalysis": "istiod analyses configuration and writes status (PILOT_ENABLE_ANALYSIS)",
    "values.global.logAsJson": "control plane and proxies log in JSON",
    "values.global.logging": "control plane logging",
    "values.global.logging.level": "istiod log levels, as scope:level pairs separated by commas",
    "values.global.nativeNftables": "use nftables instead of iptables rules for traffic capture",
    "values.global.networkPolicy": "NetworkPolicies for the control plane",
    "values.global.networkPolicy.enabled": "(read by the injection templates; meshctl renders no NetworkPolicy)",
    "values.global.omitSidecarInjectorConfigMap": "(read by the injection templates; meshctl always renders the "
                                                  "injector ConfigMap)",
    "values.global.operatorManageWebhooks": "(kept for istioctl compatibility; istiod manages its webhooks)",
    "values.global.priorityClassName": "priorityClassName of istiod",
    "values.global.proxy": "the Envoy proxies istiod injects or deploys (sidecars, gateways, waypoints)",
    "values.global.proxy.image": "image name of the proxy (proxyv2), or a full image reference",
    "values.global.proxy.autoInject": "sidecar injection policy: enabled or disabled",
    "values.global.proxy.clusterDomain": "DNS domain of the cluster",
    "values.global.proxy.componentLogLevel": "per-component Envoy log levels",
    "values.global.proxy.excludeInboundPorts": "inbound ports sidecars do not capture",
    "values.global.proxy.includeInboundPorts": "inbound ports sidecars capture (* for all)",
    "values.global.proxy.includeIPRanges": "outbound IP ranges sidecars capture (* for all)",
    "values.global.proxy.excludeIPRanges": "outbound IP ranges sidecars do not capture",
    "values.global.proxy.includeOutboundPorts": "outbound ports sidecars always capture",
    "values.global.proxy.excludeOutboundPorts": "outbound ports sidecars do not capture",
    "values.global.proxy.holdApplicationUntilProxyStarts": "start application containers after the sidecar is ready",
    "values.global.proxy.lifecycle": "lifecycle hooks of the proxy container",
    "values.global.proxy.logLevel": "Envoy log level",
    "values.global.proxy.outlierLogPath": "file for Envoy's outlier detection events",
    "values.global.proxy.privileged": "run the proxy container privileged",
    "values.global.proxy.readinessFailureThreshold": "failures before the proxy is unready",
    "values.global.proxy.readinessInitialDelaySeconds": "delay before the first readiness probe of the proxy",
    "values.global.proxy.readinessPeriodSeconds": "seconds between readiness probes of the proxy",
    "values.global.proxy.seccompProfile": "seccompProfile of the proxy container",
    "values.global.proxy.startupProbe": "startup probe of the proxy",
    "values.global.proxy.startupProbe.enabled": "give the proxy a startup probe",
    "values.global.proxy.startupProbe.failureThreshold": "failures before the proxy is restarted at startup",
    "values.global.proxy.resources": "resources of the proxy container",
    "values.global.proxy.statusPort": "port of the proxy's health and metrics endpoint",
    "values.global.proxy.tracer": "tracer of sidecars and gateways (none, or one configured in meshConfig)",
    "values.global.proxy_init": "the init container that sets up sidecar traffic capture",
    "values.global.proxy_init.image": "image name of the init container, or a full image reference",
    "values.global.proxy_init.forceApplyIptables": "apply iptables rules even when some exist",
    "values.global.remotePilotAddress": "address of a remote istiod (external control plane setups)",
    "values.global.caAddress": "address of the CA proxies and ztunnel ask for certificates (istiod when empty)",
    "values.global.caName": "name of the CA for workload certificates (e.g. GkeWorkloadCertificate)",
    "values.global.externalIstiod": "(kept for istioctl compatibility; external istiod is not supported)",
    "values.global.configCluster": "(kept for istioctl compatibility)",
    "values.global.configValidation": "render the validating webhook of Istio configuration",
    "values.global.meshID": "mesh identifier, the same in every cluster of a multicluster mesh",
    "values.global.meshNetworks": "mesh networks for sidecar multi-network setups (ConfigMap key meshNetworks)",
    "values.global.mountMtlsCerts": "proxies load mTLS certificates from mounted secrets",
    "values.global.multiCluster": "multicluster identity",
    "values.global.multiCluster.clusterName": "name of this cluster in the mesh (istiod CLUSTER_ID, ztunnel "
                                              "ISTIO_META_CLUSTER_ID; Kubernetes when empty)",
    "values.global.network": "network of this cluster; also labels the istio namespace topology.istio.io/network",
    "values.global.pilotCertProvider": "who signs istiod's serving certificate: istiod or kubernetes",
    "values.global.platform": "platform the cluster runs on: k3d, k3s, microk8s and minikube set the CNI "
                              "directories, gke the CNI binary directory; empty for plain Kubernetes",
    "values.global.sds": "secret discovery",
    "values.global.sds.token": "the service account token proxies present to the CA",
    "values.global.sds.token.aud": "audience of that token",
    "values.global.sts": "security token service of the proxies",
    "values.global.sts.servicePort": "port of the proxies' token service (0 turns it off)",
    "values.global.trustBundleName": "ConfigMap with the root certificates (istio-ca-root-cert when empty)",
    "values.global.trustDomain": "trust domain the templates use when the mesh config has none",
    "values.global.agentgateway": "agentgateway deployments istiod makes",
    "values.global.agentgateway.image": "agentgateway image name, or a full image reference",
    "values.global.waypoint": "waypoint proxies istiod deploys",
    "values.global.waypoint.resources": "resources of waypoint proxies",
    "values.global.waypoint.affinity": "affinity of waypoint pods",
    "values.global.waypoint.nodeSelector": "nodeSelector of waypoint pods",
    "values.global.waypoint.tolerations": "tolerations of waypoint pods",
    "values.global.waypoint.topologySpreadConstraints": "topologySpreadConstraints of waypoint pods",
    # pilot
    "values.pilot": "istiod",
    "values.pilot.autoscaleEnabled": "scale istiod with a HorizontalPodAutoscaler",
    "values.pilot.autoscaleMin": "fewest istiod replicas the autoscaler keeps",
    "values.pilot.autoscaleMax": "most istiod replicas the autoscaler runs",
    "values.pilot.autoscaleBehavior": "behavior of istiod's HorizontalPodAutoscaler",
    "values.pilot.replicaCount": "istiod replicas when autoscaling is off",
    "values.pilot.rollingMaxSurge": "maxSurge of istiod's rolling update",
    "values.pilot.rollingMaxUnavailable": "maxUnavailable of istiod's rolling update",
    "values.pilot.hub": "registry of the istiod image (values.global.hub when empty)",
    "values.pilot.tag": "tag of the istiod image (values.global.tag when empty)",
    "values.pilot.variant": "variant of the istiod image (values.global.variant when empty)",
    "values.pilot.image": "image name of istiod (pilot), or a full image reference",
    "values.pilot.traceSampling": "percentage of requests traced (PILOT_TRACE_SAMPLING)",
    "values.pilot.resources": "resources of the istiod container",
    "values.pilot.seccompProfile": "seccompProfile of the istiod container",
    "values.pilot.cni": "how injected sidecars set up traffic capture",
    "values.pilot.cni.enabled": "sidecars rely on istio-cni instead of a privileged init container",
    "values.pilot.cni.provider": "CNI provider the sidecar templates assume (default or multus)",
    "values.pilot.env": "environment variables of istiod (feature flags); they win over features.*",
    "values.pilot.envVarFrom": "environment variables of istiod taken from other sources",
    "values.pilot.extraContainerArgs": "extra arguments of istiod",
    "values.pilot.affinity": "affinity of istiod pods",
    "values.pilot.tolerations": "tolerations of istiod pods, after cni.istio.io/not-ready",
    "values.pilot.nodeSelector": "nodeSelector of istiod pods",
    "values.pilot.topologySpreadConstraints": "topologySpreadConstraints of istiod pods",
    "values.pilot.cpu": "CPU autoscaling target",
    "values.pilot.cpu.targetAverageUtilization": "CPU utilisation (percent) the autoscaler aims for",
    "values.pilot.memory": "memory autoscaling target (targetAverageUtilization; off when empty)",
    "values.pilot.volumes": "extra volumes of istiod pods",
    "values.pilot.volumeMounts": "extra volume mounts of the istiod container",
    "values.pilot.initContainers": "init containers of istiod pods",
    "values.pilot.podAnnotations": "extra annotations of istiod pods",
    "values.pilot.podLabels": "extra labels of istiod pods",
    "values.pilot.deploymentLabels": "extra labels of the istiod Deployment",
    "values.pilot.deploymentAnnotations": "extra annotations of the istiod Deployment",
    "values.pilot.serviceAnnotations": "annotations of the istiod Service",
    "values.pilot.serviceAccountAnnotations": "annotations of istiod's service account",
    "values.pilot.sidecarInjectorWebhookAnnotations": "annotations of the injection webhook configuration",
    "values.pilot.keepaliveMaxServerConnectionAge": "how long a proxy stays connected to one istiod",
    "values.pilot.ipFamilyPolicy": "ipFamilyPolicy of the istiod Service",
    "values.pilot.ipFamilies": "ipFamilies of the istiod Service",
    "values.pilot.trustedZtunnelNamespace": "namespace of the ztunnel istiod trusts (the istio namespace when empty)",
    "values.pilot.trustedZtunnelName": "service account of the ztunnel istiod trusts (ztunnel when empty)",
    # cni
    "values.cni": "the istio-cni node agent",
    "values.cni.hub": "registry of the install-cni image (values.global.hub when empty)",
    "values.cni.tag": "tag of the install-cni image (values.global.tag when empty)",
    "values.cni.variant": "variant of the install-cni image (values.global.variant when empty)",
    "values.cni.image": "image name of the CNI agent (install-cni), or a full image reference",
    "values.cni.pullPolicy": "imagePullPolicy of the CNI agent (values.global.imagePullPolicy when empty)",
    "values.cni.logging": "CNI agent logging",
    "values.cni.logging.level": "log level of the CNI agent",
    "values.cni.cniBinDir": "node directory of CNI plugin binaries (/opt/cni/bin when empty)",
    "values.cni.cniConfDir": "node directory of CNI network configurations",
    "values.cni.cniConfFileName": "CNI configuration file to chain into (the first one found when empty)",
    "values.cni.cniNetnsDir": "node directory of pod network namespaces (/var/run/docker/netns on minikube)",
    "values.cni.chained": "add Istio's plugin to the existing CNI configuration instead of its own file",
    "values.cni.istioOwnedCNIConfig": "write an Istio-owned CNI configuration file",
    "values.cni.excludeNamespaces": "namespaces whose pods the CNI agent leaves alone",
    "values.cni.ambient": "ambient traffic redirection",
    "values.cni.ambient.enabled": "redirect traffic of ambient pods to ztunnel",
    "values.cni.ambient.dnsCapture": "capture DNS of ambient pods for ztunnel's DNS proxy",
    "values.cni.ambient.ipv6": "redirect IPv6 traffic too",
    "values.cni.ambient.reconcileIptablesOnStartup": "repair the redirection rules of running pods at startup",
    "values.cni.ambient.enableAmbientDetectionRetry": "retry detecting ambient pods whose enrolment failed",
    "values.cni.ambient.shareHostNetworkNamespace": "run the CNI agent in the host network namespace",
    "values.cni.ambient.enablementSelectors": "which pods are ambient: label selectors of pods and namespaces",
    "values.cni.repair": "repair of pods started before the CNI agent was ready",
    "values.cni.repair.enabled": "run the repair controller",
    "values.cni.repair.labelPods": "label broken pods",
    "values.cni.repair.deletePods": "delete broken pods",
    "values.cni.repair.repairPods": "fix broken pods in place",
    "values.cni.repair.initContainerName": "init container that detects a broken pod",
    "values.cni.repair.brokenPodLabelKey": "label key put on broken pods",
    "values.cni.repair.brokenPodLabelValue": "label value put on broken pods",
    "values.cni.resources": "resources of the CNI agent",
    "values.cni.env": "extra environment variables of the CNI agent",
    "values.cni.affinity": "affinity of CNI agent pods",
    "values.cni.tolerations": "tolerations of CNI agent pods (all taints by default)",
    "values.cni.podAnnotations": "extra annotations of CNI agent pods",
    "values.cni.podLabels": "extra labels of CNI agent pods",
    "values.cni.rollingMaxUnavailable": "maxUnavailable of the DaemonSet's rolling update",
    "values.cni.seccompProfile": "seccompProfile of the CNI agent",
    "values.cni.seLinuxOptions": "seLinuxOptions of the CNI agent (type spc_t added)",
    # ztunnel
    "values.ztunnel": "the ztunnel node proxy",
    "values.ztunnel.hub": "registry of the ztunnel image (values.global.hub when empty)",
    "values.ztunnel.tag": "tag of the ztunnel image (values.global.tag when empty)",
    "values.ztunnel.variant": "variant of the ztunnel image (values.global.variant when empty)",
    "values.ztunnel.image": "image name of ztunnel, or a full image reference",
    "values.ztunnel.pullPolicy": "imagePullPolicy of ztunnel (values.global.imagePullPolicy when empty)",
    "values.ztunnel.logLevel": "ztunnel log level (RUST_LOG)",
    "values.ztunnel.caAddress": "CA address of ztunnel (values.global.caAddress, then istiod, when empty)",
    "values.ztunnel.xdsAddress": "xDS address of ztunnel (istiod when empty)",
    "values.ztunnel.resources": "resources of ztunnel",
    "values.ztunnel.env": "extra environment variables of ztunnel",
    "values.ztunnel.labels": "extra labels of the ztunnel DaemonSet",
    "values.ztunnel.annotations": "extra annotations of the ztunnel DaemonSet",
    "values.ztunnel.podLabels": "extra labels of ztunnel pods",
    "values.ztunnel.podAnnotations": "extra annotations of ztunnel pods",
    "values.ztunnel.nodeSelector": "extra nodeSelector of ztunnel pods (kubernetes.io/os: linux always)",
    "values.ztunnel.affinity": "affinity of ztunnel pods",
    "values.ztunnel.tolerations": "tolerations of ztunnel pods (all taints by default)",
    "values.ztunnel.terminationGracePeriodSeconds": "how long ztunnel drains connections when it stops",
    "values.ztunnel.volumes": "extra volumes of ztunnel pods",
    "values.ztunnel.volumeMounts": "extra volume mounts of ztunnel",
    "values.ztunnel.seLinuxOptions": "seLinuxOptions of ztunnel",
    # gateways and injection
    "values.gateways": "gateways istiod deploys (read by its templates)",
    "values.gateways.securityContext": "pod securityContext of gateways (lets them bind ports 80 and 443 when empty)",
    "values.gateways.seccompProfile": "seccompProfile of gateway pods",
    "values.sidecarInjectorWebhook": "sidecar injection",
    "values.sidecarInjectorWebhook.alwaysInjectSelector": "pod selectors always injected",
    "values.sidecarInjectorWebhook.neverInjectSelector": "pod selectors never injected",
    "values.sidecarInjectorWebhook.injectedAnnotations": "annotations added to injected pods",
    "values.sidecarInjectorWebhook.defaultTemplates": "injection templates applied by default ([sidecar] when empty)",
    "values.sidecarInjectorWebhook.templates": "extra injection templates by name (Go templates istiod runs)",
    "values.sidecarInjectorWebhook.reinvocationPolicy": "reinvocationPolicy of the injection webhooks",
    "values.sidecarInjectorWebhook.rewriteAppHTTPProbe": "rewrite application HTTP probes through the sidecar",
}

# -- the schema ---------------------------------------------------------------------------------------


def read_resource(*parts: str) -> str:
    """A file of meshctl's package data (``meshctl/templates/...``) as text."""
    from importlib.resources import files

    return files("meshctl").joinpath("templates", *parts).read_text(encoding="utf-8")


def load_yaml_text(text: str, where: str) -> Any:
    """One YAML document read with Kubernetes' scalar rules (meshctl.kube.yamlio)."""
    from meshctl.kube.files import parse_yaml_documents

    docs = [d.data for d in parse_yaml_documents(text, where, item_lines=False)]
    if len(docs) > 1:
        from meshctl.errors import InputError

        raise InputError(f"{where}: expected one YAML document, found {len(docs)}",
                         hint="put all values in one document (no --- separators)")
    return docs[0] if docs else {}


@cache
def profile_tree(name: str) -> dict:
    """A built-in profile file as written (``default`` is the full defaults tree)."""
    return load_yaml_text(read_resource(PROFILE_DIR, f"{name}.yaml"), f"profiles/{name}.yaml") or {}


def _build(value: Any, path: str) -> Field:
    doc = DOCS.get(path, "")
    if path in OPEN_PATHS:
        base = OPEN_PATHS[path]
        return Field(OPEN, doc, item=base.item, default=value)
    if path in INT_OR_STRING:
        return Field(SCALAR, doc, default=value)
    if path in ANY_PATHS:  # free-form inside, but a map: the templates spread it into one
        return Field(OPEN, doc, item=Field(ANY), default=value)
    if path.startswith("meshConfig."):
        return Field(ANY, doc, default=value)
    if path in LIST_ITEMS:
        return Field(LIST, doc, item=LIST_ITEMS[path], default=value)
    if isinstance(value, dict):
        children = {k: _build(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if path == "meshConfig":
            for key in MESH_CONFIG_KEYS:
                children.setdefault(key, Field(ANY, DOCS[f"meshConfig.{key}"]))
            children = dict(sorted(children.items()))
        return Field(MAP, doc, children=children, default=value)
    if isinstance(value, list):
        raise AssertionError(f"schema: say what the list {path} holds (LIST_ITEMS)")
    if isinstance(value, bool):
        return Field(BOOL, doc, default=value)
    if isinstance(value, int):
        return Field(INT, doc, default=value)
    if isinstance(value, float):
        return Field(NUMBER, doc, default=value)
    if isinstance(value, str):
        return Field(STRING, doc, default=value)
    raise AssertionError(f"schema: unexpected default at {path}: {value!r}")


@cache
def schema() -> Field:
    """The schema of the whole values tree, from the defaults."""
    return _build(profile_tree("default"), "")


def walk(node: Field | None = None, path: str = "") -> Iterator[tuple[str, Field]]:
    """Every documented key: (path, field), depth first in file order; list items as ``path[]``."""
    node = node or schema()
    for key, child in node.children.items():
        sub = f"{path}.{key}" if path else key
        yield sub, child
        if child.type == MAP:
            yield from walk(child, sub)
        elif child.type == LIST and child.item is not None and child.item.type == MAP:
            yield from walk(child.item, f"{sub}[]")


def known_paths() -> list[str]:
    return [p for p, _ in walk()]


def field_at(path: list[str | int]) -> Field | None:
    """The field of a key path (list indexes as ints); None when the path is unknown."""
    node = schema()
    for part in path:
        if node.type == MAP and isinstance(part, str):
            if part not in node.children:
                return None
            node = node.children[part]
        elif node.type == LIST and isinstance(part, int):
            node = node.item or Field(ANY)
        elif node.type == OPEN and isinstance(part, str):
            node = node.item or Field(ANY)
        elif node.type == ANY:
            return node
        else:
            return None
    return node


def format_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def suggest(parts: list[str | int]) -> str | None:
    """The known key closest to an unknown one (difflib), or None."""
    known = known_paths()
    wanted = format_path(parts)
    generic = _generic(wanted)
    if f"values.{generic}" in known:  # a chart value given without istioctl's values. prefix
        return f"values.{wanted}"
    # Siblings first: a typo in the last key is the common case.
    parent = parts[:-1]
    node = field_at(parent)
    last = parts[-1]
    if node is not None and node.type == MAP and isinstance(last, str):
        close = difflib.get_close_matches(last, list(node.children), n=1, cutoff=0.6)
        if close:
            return format_path([*parent, close[0]])
    close = difflib.get_close_matches(generic, known, n=1, cutoff=0.75)
    return close[0] if close else None


def _generic(path: str) -> str:
    """``a[0].b`` -> ``a[].b`` (how walk() names list items)."""
    import re

    return re.sub(r"\[\d+\]", "[]", path)


_TYPE_NAMES = {BOOL: "true or false", INT: "an integer", NUMBER: "a number", STRING: "a string",
               SCALAR: "a string, number or boolean", MAP: "a map", OPEN: "a map", LIST: "a list"}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def check(value: Any, node: Field | None = None, path: list[str | int] | None = None) -> Any:
    """The value made to fit the schema (numbers where a string is wanted become text; null keys are
    dropped); raises SchemaProblem at the first key that is unknown or of the wrong type."""
    node = node or schema()
    path = path or []
    if node.type == ANY:
        return value
    if node.type in (MAP, OPEN):
        if not isinstance(value, dict):
            raise _type_problem(path, node, value)
        out = {}
        for key, sub in value.items():
            if sub is None:
                continue
            key = str(key) if isinstance(key, (int, float)) and not isinstance(key, bool) else key
            if not isinstance(key, str):
                raise SchemaProblem(format_path(path), f"{format_path(path) or 'the values'} has a key that "
                                    f"is not a string ({key!r})")
            if node.type == MAP:
                child = node.children.get(key)
                if child is None:
                    where = [*path, key]
                    raise SchemaProblem(format_path(where), f"unknown key {format_path(where)}", suggest(where))
            else:
                child = node.item or Field(ANY)
            out[key] = check(sub, child, [*path, key])
        return out
    if node.type == LIST:
        if not isinstance(value, list):
            raise _type_problem(path, node, value)
        item = node.item or Field(ANY)
        return [check(v, item, [*path, i]) for i, v in enumerate(value)]
    if node.type == BOOL and isinstance(value, bool):
        return value
    if node.type == INT and isinstance(value, int) and not isinstance(value, bool):
        return value
    if node.type == NUMBER and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if node.type == STRING:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _number_text(value)
    if node.type == SCALAR and isinstance(value, (str, int, float, bool)):
        return value
    raise _type_problem(path, node, value)


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _type_problem(path: list[str | int], node: Field, value: Any) -> SchemaProblem:
    where = format_path(path) or "the values"
    return SchemaProblem(where, f"{where} must be {_TYPE_NAMES.get(node.type, node.type)}, not {_describe(value)}")


# -- docs/values.md -----------------------------------------------------------------------------------


def _type_text(node: Field) -> str:
    if node.type == LIST:
        item = node.item or Field(ANY)
        return "list of objects" if item.type in (MAP, ANY) else f"list of {item.type}s"
    if node.type == OPEN:
        item = node.item or Field(ANY)
        return "map of strings" if item.type in (STRING, SCALAR) else "object" if item.type == ANY else "map"
    if node.type == ANY:
        return "object" if isinstance(node.default, dict) else "any"
    if node.type == SCALAR:
        return "int or string"
    return node.type


def _default_text(node: Field) -> str:
    if node.type == MAP or node.default is None:
        return ""
    text = json.dumps(node.default, separators=(", ", ": "))
    if len(text) > 48:
        return "(see default.yaml)"
    return f"`{text}`"


def _flatten(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict) and tree and path not in ("meshConfig.serviceScopeConfigs",):
        for key, value in tree.items():
            yield from _flatten(value, f"{path}.{key}" if path else key)
    else:
        yield path, tree


def render_values_doc() -> str:
    """docs/values.md: every key with type, default and description, and what each profile sets."""
    lines = [
        "# Install values",
        "",
        "<!-- Generated by `python -m meshctl.install.schema > docs/values.md`; do not edit. -->",
        "",
        "`meshctl install`, `upgrade` and `manifest generate` take values in istioctl's IstioOperator layout, so",
        "istioctl users' files work unchanged. Precedence, lowest first: meshctl's defaults, the profile",
        "(`--profile`), the values an earlier install stored (upgrade), `-f` files left to right (a plain tree or",
        "an `IstioOperator` resource, whose `spec` is read), `--set path=value`, then the flags `--revision`,",
        "`--istio-version`, `--hub` and `--tag`.",
        "",
        "- `--set a.b.c=v`: `\\.` keeps a dot inside a key (`values.pilot.env.A\\.B=1`), `[N]` picks a list",
        "  item (`components.ingressGateways[0].enabled=false`; `N` may be the list's length to append).",
        "  `true`/`false` become booleans and whole numbers integers; keys typed as strings keep the text.",
        "- Maps merge key by key; a list replaces the list below it; `null` leaves the value below unchanged.",
        "- An unknown key is an error naming the closest known key (exit 65 in a file, 2 in `--set`), and so",
        "  is a value of the wrong type. Numbers given where a string is expected are taken as text.",
        "- Open maps (environment variables, labels, annotations, Kubernetes structures such as `resources`)",
        "  take any key; the API server validates Kubernetes structures when the objects are applied.",
        "  `meshConfig` checks its top-level keys (Istio's MeshConfig fields); Istio validates below them.",
        "",
        "## Profiles",
        "",
        "Every profile starts from the defaults below. A profile file given to `--profile FILE` has the same",
        "layout and may name a built-in profile to start from with `profile: <name>`.",
        "",
    ]
    for name in BUILTIN_PROFILES:
        tree = profile_tree(name)
        first = next(iter(_comment_lines(read_resource(PROFILE_DIR, f"{name}.yaml"))), "")
        lines += [f"### `{name}`", "", first, ""]
        for path, value in _flatten(tree):
            lines.append(f"- `{path}`: `{json.dumps(value, separators=(', ', ': '))}`")
        lines.append("")
    lines += ["## Keys", ""]
    sections: dict[str, list[tuple[str, Field]]] = {}
    for path, node in walk():
        sections.setdefault(_section(path), []).append((path, node))
    for top, rows in sections.items():
        title = f"`{top}`" if top != "top level" else "Top level"
        lines += [f"### {title}", "", "| Key | Type | Default | Description |", "|---|---|---|---|"]
        for path, node in rows:
            kind = "MeshConfig field" if path.startswith("meshConfig.") else _type_text(node)
            lines.append(f"| `{path}` | {kind} | {_default_text(node)} | {node.description} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _section(path: str) -> str:
    """Which table of docs/values.md a key goes in: top-level scalars together, values.* by chart."""
    parts = path.split(".")
    if len(parts) == 1:
        return parts[0] if schema().children[parts[0]].type == MAP else "top level"
    if parts[0] == "values" and schema().children["values"].children[parts[1].split("[")[0]].type == MAP:
        return f"values.{parts[1]}"
    return parts[0]


def _comment_lines(text: str) -> Iterator[str]:
    """The leading comment of a profile file, joined into one paragraph."""
    words = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("# ").strip())
    yield " ".join(words)


if __name__ == "__main__":  # pragma: no cover - the regeneration command named in the doc
    print(render_values_doc())
