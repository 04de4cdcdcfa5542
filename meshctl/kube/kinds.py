"""The Kind registry: every resource kind meshctl reads or writes, as data.

One ``Kind`` per (group, kind). ``version`` is the version meshctl reads and writes; ``versions``
lists every version a server may serve, so a file that says ``networking.istio.io/v1alpha3`` maps to
the same Kind as one that says ``networking.istio.io/v1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from meshctl.errors import UsageError


@dataclass(frozen=True)
class Kind:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    # Kinds the registry does not know (a CRD's objects in -f files) are built on the fly.
    known: bool = field(default=True, compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """kubectl's fully qualified resource name, e.g. ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Kind.group``, e.g. ``Gateway.networking.istio.io``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def all_versions(self) -> tuple[str, ...]:
        return self.versions or (self.version,)

    def __str__(self) -> str:
        return self.qualified_kind


def _k(group: str, versions: str, kind: str, plural: str, *short: str, namespaced: bool = True) -> Kind:
    vs = tuple(versions.split())
    return Kind(group, vs[0], kind, plural, namespaced, tuple(short), vs)


CORE, APPS = "", "apps"
RBAC = "rbac.authorization.k8s.io"
ADMISSION = "admissionregistration.k8s.io"
APIEXT = "apiextensions.k8s.io"
GATEWAY_API = "gateway.networking.k8s.io"
ISTIO_NETWORKING = "networking.istio.io"
ISTIO_SECURITY = "security.istio.io"
ISTIO_TELEMETRY = "telemetry.istio.io"
ISTIO_EXTENSIONS = "extensions.istio.io"
INFERENCE = "inference.networking.k8s.io"
INFERENCE_X = "inference.networking.x-k8s.io"
LLM_D = "llm-d.ai"
AGENTGATEWAY = "agentgateway.dev"

# Order matters twice: it is the order a snapshot lists kinds in, and for a name two groups share
# (Gateway, InferencePool, InferenceObjective) the first entry wins a bare lookup, as in kubectl.
NAMESPACE = _k(CORE, "v1", "Namespace", "namespaces", "ns", namespaced=False)
NODE = _k(CORE, "v1", "Node", "nodes", "no", namespaced=False)
POD = _k(CORE, "v1", "Pod", "pods", "po")
SERVICE = _k(CORE, "v1", "Service", "services", "svc")
ENDPOINTS = _k(CORE, "v1", "Endpoints", "endpoints", "ep")
EVENT = _k(CORE, "v1", "Event", "events", "ev")
SERVICE_ACCOUNT = _k(CORE, "v1", "ServiceAccount", "serviceaccounts", "sa")
CONFIG_MAP = _k(CORE, "v1", "ConfigMap", "configmaps", "cm")
SECRET = _k(CORE, "v1", "Secret", "secrets")
ENDPOINT_SLICE = _k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")
DEPLOYMENT = _k(APPS, "v1", "Deployment", "deployments", "deploy")
STATEFUL_SET = _k(APPS, "v1", "StatefulSet", "statefulsets", "sts")
DAEMON_SET = _k(APPS, "v1", "DaemonSet", "daemonsets", "ds")
REPLICA_SET = _k(APPS, "v1", "ReplicaSet", "replicasets", "rs")
HPA = _k("autoscaling", "v2 v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa")
PDB = _k("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "pdb")
CLUSTER_ROLE = _k(RBAC, "v1", "ClusterRole", "clusterroles", namespaced=False)
CLUSTER_ROLE_BINDING = _k(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False)
ROLE = _k(RBAC, "v1", "Role", "roles")
ROLE_BINDING = _k(RBAC, "v1", "RoleBinding", "rolebindings")
MUTATING_WEBHOOK = _k(
    ADMISSION, "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", namespaced=False
)
VALIDATING_WEBHOOK = _k(
    ADMISSION, "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", namespaced=False
)
CRD = _k(APIEXT, "v1", "CustomResourceDefinition", "customresourcedefinitions", "crd", "crds", namespaced=False)

GATEWAY_CLASS = _k(GATEWAY_API, "v1 v1beta1", "GatewayClass", "gatewayclasses", "gc", namespaced=False)
GATEWAY = _k(GATEWAY_API, "v1 v1beta1", "Gateway", "gateways", "gtw")
HTTP_ROUTE = _k(GATEWAY_API, "v1 v1beta1", "HTTPRoute", "httproutes")
GRPC_ROUTE = _k(GATEWAY_API, "v1", "GRPCRoute", "grpcroutes")
TLS_ROUTE = _k(GATEWAY_API, "v1 v1alpha3 v1alpha2", "TLSRoute", "tlsroutes")
TCP_ROUTE = _k(GATEWAY_API, "v1alpha2", "TCPRoute", "tcproutes")
REFERENCE_GRANT = _k(GATEWAY_API, "v1beta1 v1", "ReferenceGrant", "referencegrants", "refgrant")
BACKEND_TLS_POLICY = _k(GATEWAY_API, "v1 v1alpha3", "BackendTLSPolicy", "backendtlspolicies", "btlspolicy")
LISTENER_SET = _k(GATEWAY_API, "v1", "ListenerSet", "listenersets", "lset")

ISTIO_GATEWAY = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "Gateway", "gateways", "gw")
VIRTUAL_SERVICE = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "VirtualService", "virtualservices", "vs")
DESTINATION_RULE = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "DestinationRule", "destinationrules", "dr")
SERVICE_ENTRY = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "ServiceEntry", "serviceentries", "se")
SIDECAR = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "Sidecar", "sidecars")
ENVOY_FILTER = _k(ISTIO_NETWORKING, "v1alpha3", "EnvoyFilter", "envoyfilters")
WORKLOAD_ENTRY = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "WorkloadEntry", "workloadentries", "we")
WORKLOAD_GROUP = _k(ISTIO_NETWORKING, "v1 v1beta1 v1alpha3", "WorkloadGroup", "workloadgroups", "wg")
PROXY_CONFIG = _k(ISTIO_NETWORKING, "v1beta1", "ProxyConfig", "proxyconfigs")
AUTHORIZATION_POLICY = _k(ISTIO_SECURITY, "v1 v1beta1", "AuthorizationPolicy", "authorizationpolicies", "ap")
PEER_AUTHENTICATION = _k(ISTIO_SECURITY, "v1 v1beta1", "PeerAuthentication", "peerauthentications", "pa")
REQUEST_AUTHENTICATION = _k(
    ISTIO_SECURITY, "v1 v1beta1", "RequestAuthentication", "requestauthentications", "ra"
)
TELEMETRY = _k(ISTIO_TELEMETRY, "v1 v1alpha1", "Telemetry", "telemetries", "telemetry")
WASM_PLUGIN = _k(ISTIO_EXTENSIONS, "v1alpha1", "WasmPlugin", "wasmplugins")
TRAFFIC_EXTENSION = _k(ISTIO_EXTENSIONS, "v1alpha1", "TrafficExtension", "trafficextensions")

INFERENCE_POOL = _k(INFERENCE, "v1", "InferencePool", "inferencepools", "infpool")
INFERENCE_POOL_X = _k(INFERENCE_X, "v1alpha2", "InferencePool", "inferencepools")
INFERENCE_POOL_IMPORT = _k(INFERENCE_X, "v1alpha1", "InferencePoolImport", "inferencepoolimports", "infpimp")
INFERENCE_OBJECTIVE = _k(LLM_D, "v1alpha2", "InferenceObjective", "inferenceobjectives")
INFERENCE_OBJECTIVE_X = _k(INFERENCE_X, "v1alpha2", "InferenceObjective", "inferenceobjectives")
INFERENCE_MODEL = _k(INFERENCE_X, "v1alpha2", "InferenceModel", "inferencemodels")

AGENTGATEWAY_POLICY = _k(AGENTGATEWAY, "v1alpha1", "AgentgatewayPolicy", "agentgatewaypolicies")
AGENTGATEWAY_BACKEND = _k(AGENTGATEWAY, "v1alpha1", "AgentgatewayBackend", "agentgatewaybackends")
AGENTGATEWAY_PARAMETERS = _k(AGENTGATEWAY, "v1alpha1", "AgentgatewayParameters", "agentgatewayparameters")

ALL_KINDS: tuple[Kind, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Kind))
# What a snapshot captures: Events are transient, numerous and read only to explain a failed wait.
SNAPSHOT_KINDS: tuple[Kind, ...] = tuple(k for k in ALL_KINDS if k is not EVENT)

# The groups whose objects are mesh configuration (what `analyze` and `validate` care about most).
ISTIO_GROUPS = (ISTIO_NETWORKING, ISTIO_SECURITY, ISTIO_TELEMETRY, ISTIO_EXTENSIONS)


class KindRegistry:
    """Looks kinds up by any name a user or a manifest may use."""

    def __init__(self, kinds: tuple[Kind, ...]) -> None:
        self.kinds = kinds

    @cached_property
    def _by_group_kind(self) -> dict[tuple[str, str], Kind]:
        return {(k.group, k.kind): k for k in self.kinds}

    @cached_property
    def _by_alias(self) -> dict[str, Kind]:
        aliases: dict[str, Kind] = {}
        for k in self.kinds:
            names = [k.kind.lower(), k.plural, *k.short_names, k.qualified_kind.lower(), k.resource]
            names += [f"{k.plural}.{v}.{k.group}" for v in k.all_versions if k.group]
            names += [f"{k.kind.lower()}.{v}.{k.group}" for v in k.all_versions if k.group]
            for name in names:
                aliases.setdefault(name, k)  # first registered wins, like kubectl's preference
        return aliases

    def get(self, group: str, kind: str) -> Kind | None:
        return self._by_group_kind.get((group, kind))

    def for_object(self, api_version: str, kind: str) -> Kind:
        """The Kind of a manifest; kinds meshctl does not know get an ad-hoc Kind."""
        group, _, version = api_version.rpartition("/")
        found = self._by_group_kind.get((group, kind))
        if found is not None:
            return found
        return Kind(group, version, kind, kind.lower() + "s", True, (), (version,), known=False)

    def lookup(self, name: str) -> Kind:
        """Resolve a user-typed name: ``deploy``, ``deployments.apps``, ``Gateway.networking.istio.io``."""
        found = self._by_alias.get(name.strip().lower())
        if found is None:
            raise UsageError(
                f"unknown resource kind {name!r}",
                hint="use a kind, plural or short name as kubectl does, e.g. 'deploy', "
                "'virtualservices', or 'Gateway.networking.istio.io'",
            )
        return found


REGISTRY = KindRegistry(ALL_KINDS)
