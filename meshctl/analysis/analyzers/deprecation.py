"""deprecation.DeprecationAnalyzer: Istio fields and types that are deprecated, ignored or removed.

Hand-kept, as Istio's is: a VirtualService fault delay given with the integer ``percent``, a Sidecar
``outboundTrafficPolicy.egressProxy`` (ignored), and CRDs of the removed ``rbac.istio.io`` API.
"""

from __future__ import annotations

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part

REMOVED_GROUP = "rbac.istio.io"
REMOVED_KINDS = frozenset({"ClusterRbacConfig", "RbacConfig", "ServiceRole", "ServiceRoleBinding"})


@analyzer
class DeprecationAnalyzer(Analyzer):
    name = "deprecation.DeprecationAnalyzer"
    description = "Checks for deprecated Istio types and fields"
    inputs = (K.VIRTUAL_SERVICE, K.SIDECAR, K.CRD)
    codes = ("IST0002",)

    def analyze(self, ctx: Context) -> None:
        for vs in ctx.resources(K.VIRTUAL_SERVICE):
            for i, route in enumerate(vs.fields.sequence("spec", "http")):
                percent = Part(route, vs.origin).number("fault", "delay", "percent")
                if percent is not None and percent > 0:
                    ctx.report("IST0002", vs, "HTTPRoute.fault.delay.percent is deprecated; use "
                               "HTTPRoute.fault.delay.percentage", field_path=f"spec.http[{i}].fault.delay.percent")
        for sidecar in ctx.resources(K.SIDECAR):
            if (sidecar.spec.get("outboundTrafficPolicy") or {}).get("egressProxy") is not None:
                ctx.report("IST0002", sidecar, "OutboundTrafficPolicy.EgressProxy is ignored",
                           field_path="spec.outboundTrafficPolicy.egressProxy")
        for crd in ctx.resources(K.CRD):
            group, kind = crd.fields.text("spec", "group"), crd.fields.text("spec", "names", "kind")
            if group == REMOVED_GROUP and kind in REMOVED_KINDS:
                ctx.report("IST0002", crd, f"custom resource type {group} {kind} has been removed")
