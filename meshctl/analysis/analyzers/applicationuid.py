"""applicationUID.Analyzer: application containers that run as UID 1337, the sidecar proxy's user.

The sidecar's iptables rules let every packet from UID 1337 bypass the proxy, so an application
running as that user escapes the mesh. Pods and Deployments are checked (the pod, then each container
other than the proxy's own); Istio's own control plane is skipped.
"""

from __future__ import annotations

from meshctl.analysis.common import ISTIO_PROXY, is_istio_control_plane
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part

PROXY_UID = 1337
EXEMPT_CONTAINERS = frozenset({ISTIO_PROXY, "istio-operator"})


def runs_as_proxy_user(pod_spec: Part) -> bool:
    if pod_spec.integer("securityContext", "runAsUser") == PROXY_UID:
        return True
    return any(c.integer("securityContext", "runAsUser") == PROXY_UID
               for c in pod_spec.iter_parts("containers") if c.text("name") not in EXEMPT_CONTAINERS)


@analyzer
class ApplicationUIDAnalyzer(Analyzer):
    name = "applicationUID.Analyzer"
    description = "Checks that no application container runs as UID 1337, which the sidecar reserves"
    inputs = (K.POD, K.DEPLOYMENT)
    codes = ("IST0144",)

    def analyze(self, ctx: Context) -> None:
        for pod in ctx.resources(K.POD):
            if not is_istio_control_plane(pod) and runs_as_proxy_user(pod.fields.part("spec")):
                ctx.report("IST0144", pod, field_path="spec")
        for deployment in ctx.resources(K.DEPLOYMENT):
            pod_spec = deployment.fields.part("spec", "template", "spec")
            if not is_istio_control_plane(deployment) and runs_as_proxy_user(pod_spec):
                ctx.report("IST0144", deployment, field_path="spec.template.spec")
