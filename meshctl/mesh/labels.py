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
# On a waypoint Gateway (or its class): which listener ztunnel sends to, instead of the HBONE one on 15008
WAYPOINT_INBOUND_BINDING = "ambient.istio.io/waypoint-inbound-binding"

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
REMOTE_SECRET_PREFIX = "istio-remote-secret-"  # + the peer cluster's name, in istio-system
READER_SERVICE_ACCOUNT = "istio-reader-service-account"  # what remote secrets authenticate as
MULTI_NETWORK_ENV = "AMBIENT_ENABLE_MULTI_NETWORK"  # istiod env: east-west class and cross-network routing
INFERENCE_ENV = "ENABLE_GATEWAY_API_INFERENCE_EXTENSION"  # istiod env: InferencePool backends
AGENTGATEWAY_ENV = "PILOT_ENABLE_AGENTGATEWAY"  # istiod env: the istio-agentgateway class
EAST_WEST_GATEWAY = "istio-eastwestgateway"  # the east-west Gateway's conventional name (istio-system)
CACERTS_SECRET = "cacerts"  # plugged-in CA (keys below), read by istiod at start
SELF_SIGNED_CA_SECRET = "istio-ca-secret"  # istiod's own self-signed CA when there is no cacerts
ROOT_CERT_CONFIGMAP = "istio-ca-root-cert"  # the root istiod distributes to every namespace (key root-cert.pem)
CA_CERT_KEY, CA_KEY_KEY, CERT_CHAIN_KEY, ROOT_CERT_KEY = "ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"
TLS_CERT_KEY, TLS_CA_KEY = "tls.crt", "ca.crt"  # the kubernetes.io/tls layout istiod also accepts
READER_TOKEN_SECRET = "istio-reader-service-account-istio-remote-secret-token"  # the reader's long-lived token
READER_CLUSTER_ROLE_PREFIX = "istio-reader-clusterrole-"  # + the istio namespace (ClusterRole and its Binding)
SA_TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"  # Kubernetes fills data.token of such a Secret
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"  # ... for the ServiceAccount named here
# What `meshctl multicluster link` created (so `unlink` removes exactly that, never what an install made)
LINK_CREATED_BY = "multicluster.meshctl.dev/created-by"
LINK_CREATED_BY_LINK = "link"

# Analysis
ANALYZE_SUPPRESS = "galley.istio.io/analyze-suppress"

# GatewayClasses istiod registers
CLASS_ISTIO = "istio"
CLASS_WAYPOINT = "istio-waypoint"
CLASS_EAST_WEST = "istio-east-west"
CLASS_REMOTE = "istio-remote"
CLASS_AGENTGATEWAY = "istio-agentgateway"  # only while istiod runs with AGENTGATEWAY_ENV=true
CLASS_AGENTGATEWAY_WAYPOINT = "istio-agentgateway-waypoint"  # Istio 1.31+, same switch
# agentgateway's own controller (outside Istio) registers this one
CLASS_AGENTGATEWAY_STANDALONE = "agentgateway"
# The controllers (GatewayClass spec.controllerName) behind istiod's classes; a class of another name
# on one of them is served the same way.
CONTROLLER_ISTIO = "istio.io/gateway-controller"
CONTROLLER_WAYPOINT = "istio.io/mesh-controller"
CONTROLLER_EAST_WEST = "istio.io/eastwest-controller"
CONTROLLER_REMOTE = "istio.io/unmanaged-gateway"
CONTROLLER_AGENTGATEWAY = "istio.io/agentgateway-controller"
CONTROLLER_AGENTGATEWAY_WAYPOINT = "istio.io/agentgateway-waypoint-controller"

# Control-plane workloads
ISTIO_NAMESPACE = "istio-system"
ISTIOD_APP = "istiod"  # label app=istiod on istiod Deployments of every revision
CNI_APP_LABEL = ("k8s-app", "istio-cni-node")
ZTUNNEL_APP_LABEL = ("app", "ztunnel")
ISTIOD_CLUSTER_ID_ENV = "CLUSTER_ID"
DEFAULT_CLUSTER_ID = "Kubernetes"  # what istiod calls a cluster that was given no name

# Objects Kubernetes and istiod create
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"  # on the Deployment/Service istiod makes per Gateway
GATEWAY_MANAGED = "gateway.istio.io/managed"  # ... with the controller that made them, as a label value:
GATEWAY_MANAGED_WAYPOINT = "istio.io-mesh-controller"  # a waypoint's (istiod ignores use-waypoint there)
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # the API server puts it on every Namespace
SIDECAR_STATUS = "sidecar.istio.io/status"  # set on pods that got an injected sidecar
POD_TEMPLATE_HASH = "pod-template-hash"  # names a Deployment's ReplicaSet and labels its pods
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # pod-template annotation; changing it rolls the pods

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
