"""Every analyzer istioctl has (ISTIO-FACTS.md's table) is registered under Istio's name with its codes."""

from meshctl.analysis.framework import all_analyzers

ISTIO_ANALYZERS = {
    "annotations.K8sAnalyzer": {"IST0107", "IST0108", "IST0125", "IST0135"},
    "authn.BlockedCIDRsAnalyzer": {"IST0175"},
    "auth.AuthorizationPoliciesAnalyzer": {"IST0101", "IST0127"},
    "conditions.ConditionAnalyzer": {"IST0171"},
    "deployment.MultiServiceAnalyzer": {"IST0116", "IST0137"},
    "applicationUID.Analyzer": {"IST0144"},
    "destinationrule.CaCertificateAnalyzer": {"IST0128", "IST0129"},
    "destinationrule.SubsetSelectPodAnalyzer": {"IST0173", "IST0174"},
    "deprecation.DeprecationAnalyzer": {"IST0002"},
    "envoyfilter.EnvoyPatchAnalyzer": {"IST0151", "IST0152", "IST0153", "IST0154", "IST0155"},
    "externalcontrolplane.ExternalControlPlaneAnalyzer": {"IST0163", "IST0164"},
    "gateway.IngressGatewayPortAnalyzer": {"IST0162"},
    "gateway.CertificateAnalyzer": {"IST0138"},
    "gateway.SecretAnalyzer": {"IST0161"},
    "gateway.ConflictingGatewayAnalyzer": {"IST0145", "IST0101"},
    "injection.Analyzer": {"IST0102", "IST0103", "IST0123", "IST0148"},
    "injection.ImageAnalyzer": {"IST0158"},
    "injection.ImageAutoAnalyzer": {"IST0146", "IST0147"},
    "k8sgateway.SelectorAnalyzer": {"IST0166"},
    "k8sgateway.CRDVersionAnalyzer": {"IST0176"},
    "meshnetworks.MeshNetworksAnalyzer": {"IST0126"},
    "services.MultiClusterServiceAnalyzer": {"IST0170"},
    "service.PortNameAnalyzer": {"IST0118", "IST0150"},
    "sidecar.SelectorAnalyzer": {"IST0110", "IST0111", "IST0127", "IST0167"},
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer": {"IST0109"},
    "virtualservice.DestinationHostAnalyzer": {"IST0101", "IST0112", "IST0140"},
    "virtualservice.DestinationRuleAnalyzer": {"IST0101"},
    "virtualservice.GatewayAnalyzer": {"IST0101", "IST0132", "IST0165"},
    "virtualservice.JWTClaimRouteAnalyzer": {"IST0149"},
    "serviceentry.Analyzer": {"IST0134"},
    "serviceentry.ConflictingServiceEntryProtocolAnalyzer": {"IST0177"},
    "webhook.Analyzer": {"IST0139"},
    "telemetry.ProviderAnalyzer": {"IST0157"},
    "telemetry.SelectorAnalyzer": {"IST0159", "IST0101"},
    "telemetry.DefaultSelectorAnalyzer": {"IST0160"},
    "telemetry.LightstepAnalyzer": {"IST0002"},
}
SCHEMA_CODES = {"IST0106", "IST0133", "IST0130", "IST0131"}


def test_every_istio_analyzer_is_registered_with_its_codes():
    registered = {a.name: set(a.codes) for a in all_analyzers()}
    for name, codes in ISTIO_ANALYZERS.items():
        assert name in registered, f"{name} is missing"
        assert codes <= registered[name], f"{name} lacks {codes - registered[name]}"


def test_schema_validation_analyzers_cover_istio_and_gateway_api_kinds():
    schema = {a.name: set(a.codes) for a in all_analyzers() if a.name.startswith("schema.ValidationAnalyzer.")}
    for kind in ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "AuthorizationPolicy",
                 "PeerAuthentication", "RequestAuthentication", "Telemetry", "EnvoyFilter", "WorkloadEntry",
                 "WorkloadGroup", "WasmPlugin", "HTTPRoute"):
        assert any(name.endswith("." + kind) for name in schema), kind
    assert set().union(*schema.values()) == SCHEMA_CODES


def test_list_analyzers_shows_them_all(cli):
    out = cli("analyze", "--list-analyzers").out
    for name in ISTIO_ANALYZERS:
        assert name in out
