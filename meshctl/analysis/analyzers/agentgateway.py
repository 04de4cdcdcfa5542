"""agentgateway.IstioConfigAnalyzer: Istio resources attached to a Gateway that agentgateway serves.

agentgateway (Istio's ``istio-agentgateway`` classes, or agentgateway's own controller) is configured
through Gateway API resources and InferencePools only. Istio's own kinds never reach it, so a policy
or EnvoyFilter whose ``targetRef(s)`` name such a Gateway, or its GatewayClass, has no effect there.
Which data plane serves a class is ``meshctl.mesh.gateways``' one mapping.
"""

from __future__ import annotations

from meshctl.analysis.common import dicts, mapping
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.analysis.messages import Level, MessageType, register
from meshctl.kube import kinds as K
from meshctl.mesh.gateways import AGENTGATEWAY, data_plane

CODE = "MSH0201"
register(MessageType(CODE, "IneffectiveOnAgentgateway", Level.WARNING,
                     "{0} is served by {1}, which Istio's own resources do not configure; this has no effect there."))

# Istio kinds that attach to a Gateway or GatewayClass through targetRef(s).
ATTACHING_KINDS = (K.AUTHORIZATION_POLICY, K.REQUEST_AUTHENTICATION, K.TELEMETRY, K.WASM_PLUGIN, K.ENVOY_FILTER)


@analyzer
class IstioConfigAnalyzer(Analyzer):
    name = "agentgateway.IstioConfigAnalyzer"
    description = "Checks for Istio policies and EnvoyFilters attached to Gateways that agentgateway serves"
    inputs = (*ATTACHING_KINDS, K.GATEWAY, K.GATEWAY_CLASS)
    codes = (CODE,)

    def analyze(self, ctx: Context) -> None:
        controllers = {gc.name: str(gc.spec.get("controllerName") or "") for gc in ctx.resources(K.GATEWAY_CLASS)}

        def served_by(class_name: str) -> str | None:
            """The data plane's words when agentgateway serves the class; None otherwise."""
            plane = data_plane(class_name, controllers.get(class_name))
            return plane.label if plane.proxy == AGENTGATEWAY else None

        for kind in ATTACHING_KINDS:
            for resource in ctx.resources(kind):
                refs = [(f"spec.targetRefs[{i}]", ref) for i, ref in enumerate(dicts(resource.spec.get("targetRefs")))]
                refs += [("spec.targetRef", ref) for ref in dicts([resource.spec.get("targetRef")])]
                for path, ref in refs:
                    if ref.get("group") != K.GATEWAY.group:
                        continue
                    name = str(ref.get("name") or "")
                    if ref.get("kind") == K.GATEWAY.kind:
                        gateway = ctx.get(K.GATEWAY, resource.namespace, name)  # targetRefs stay in the namespace
                        if gateway is None:
                            continue  # a missing target is auth.AuthorizationPoliciesAnalyzer's to report
                        target = f"Gateway {resource.namespace}/{name}"
                        plane = served_by(str(mapping(gateway.spec).get("gatewayClassName") or ""))
                    elif ref.get("kind") == K.GATEWAY_CLASS.kind:
                        target, plane = f"GatewayClass {name}", served_by(name)
                    else:
                        continue
                    if plane is not None:
                        ctx.report(CODE, resource, target, plane, field_path=path)
