"""Every Istio label, annotation, GatewayClass and well-known name meshctl relies on, once."""

# Ambient enrollment
DATAPLANE_MODE = "istio.io/dataplane-mode"
DATAPLANE_MODE_AMBIENT = "ambient"
DATAPLANE_MODE_NONE = "none"
REDIRECTION = "ambient.istio.io/redirection"  # pod annotation set by istio-cni
REDIRECTION_ENABLED = "enabled"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR = "istio.io/waypoint-for"

# Revisions and sidecar injection
REV = "istio.io/rev"
TAG = "istio.io/tag"
DEFAULT_REVISION = "default"
INJECTION = "istio-injection"
SIDECAR_INJECT = "sidecar.istio.io/inject"

# Multicluster
NETWORK = "topology.istio.io/network"
GLOBAL_SERVICE = "istio.io/global"
MULTICLUSTER_SECRET = "istio/multiCluster"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"

# Analysis
ANALYZE_SUPPRESS = "galley.istio.io/analyze-suppress"

# GatewayClasses istiod registers
CLASS_ISTIO = "istio"
CLASS_WAYPOINT = "istio-waypoint"
CLASS_EAST_WEST = "istio-east-west"
CLASS_REMOTE = "istio-remote"
CLASS_AGENTGATEWAY = "istio-agentgateway"

# Control-plane workloads
ISTIO_NAMESPACE = "istio-system"
ISTIOD_APP = "istiod"  # label app=istiod on istiod Deployments of every revision
CNI_APP_LABEL = ("k8s-app", "istio-cni-node")
ZTUNNEL_APP_LABEL = ("app", "ztunnel")
ISTIOD_CLUSTER_ID_ENV = "CLUSTER_ID"
DEFAULT_CLUSTER_ID = "Kubernetes"  # what istiod calls a cluster that was given no name

# Objects Kubernetes and istiod create
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"  # on the Deployment/Service istiod makes per Gateway
SIDECAR_STATUS = "sidecar.istio.io/status"  # set on pods that got an injected sidecar
POD_TEMPLATE_HASH = "pod-template-hash"  # names a Deployment's ReplicaSet and labels its pods

# Install ownership: every object `meshctl install` owns carries these (prune and uninstall select on
# MANAGED_BY + INSTALL_ID, never on a version label, so objects of every meshctl version are found).
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_MESHCTL = "meshctl"
INSTALL_COMPONENT = "operator.istio.io/component"  # Base, Pilot, Cni, Ztunnel, IngressGateways, RevisionTag
INSTALL_VERSION = "operator.istio.io/version"
INSTALL_ID = "install.meshctl.dev/id"  # "<istio namespace>.<revision or default>"

# Read by `precheck` and `check`
OPERATOR_MANAGED = "operator.istio.io/managed"  # istioctl (and the old operator) label what they install
OS_LABEL = "kubernetes.io/os"  # linux or windows, on every Node
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # an EndpointSlice's Service
GATEWAY_API_BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"  # on each Gateway API CRD
GATEWAY_API_CHANNEL = "gateway.networking.k8s.io/channel"  # standard or experimental

# Chart labels on what meshctl installs
PART_OF = "app.kubernetes.io/part-of"
INSTANCE = "app.kubernetes.io/instance"
APP_VERSION = "app.kubernetes.io/version"
RESOURCE_POLICY = "helm.sh/resource-policy"  # "keep" on CRDs: Helm and istioctl never delete them
WEBHOOK_DEACTIVATED = "istio.io/deactivated"  # never-match selector of a revision's own injector
WEBHOOK_NEVER_MATCH = "never-match"
