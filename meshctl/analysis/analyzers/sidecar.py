"""sidecar.SelectorAnalyzer: which workloads each Sidecar resource applies to, and whether that is ambiguous.

In ambient mode there is no sidecar to configure, so a Sidecar that selects ambient pods (or applies to an
ambient namespace) has no effect: IST0167 instead of the conflict errors.
"""

from __future__ import annotations

from collections import defaultdict

from meshctl.analysis.common import has_ambient_label, offline_workload_matches, pod_in_ambient, selector_text
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L


def namespace_in_ambient(ns: Resource | None) -> bool:
    """Ambient-enrolled, and no sidecar-injection label taking precedence."""
    if ns is None:
        return False
    if ns.labels.get(L.INJECTION) == "enabled" or ns.labels.get(L.REV):
        return False
    return has_ambient_label(ns)


def workload_labels(sidecar: Resource) -> dict[str, str]:
    selector = sidecar.spec.get("workloadSelector") or {}
    labels = selector.get("labels") if isinstance(selector, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


@analyzer
class SelectorAnalyzer(Analyzer):
    name = "sidecar.SelectorAnalyzer"
    description = "Checks that Sidecar selectors select pods without overlap, and flags Sidecars ambient ignores"
    inputs = (K.SIDECAR, K.POD, K.NAMESPACE)
    codes = ("IST0110", "IST0111", "IST0127", "IST0167")

    def analyze(self, ctx: Context) -> None:
        namespace_wide: dict[str, list[Resource]] = defaultdict(list)
        selected: dict[tuple[str, str], list[Resource]] = defaultdict(list)  # pod (ns, name) -> Sidecars
        pods: dict[tuple[str, str], Resource] = {}
        know_pods = ctx.has(K.POD)
        for sidecar in ctx.resources(K.SIDECAR):
            labels = workload_labels(sidecar)
            if not labels:
                namespace_wide[sidecar.namespace].append(sidecar)
                continue
            if not know_pods:
                continue
            matches = ctx.select(K.POD, sidecar.namespace, labels)
            if not matches and not offline_workload_matches(ctx, sidecar.namespace, labels):
                ctx.report("IST0127", sidecar, selector_text(labels), field_path="spec.workloadSelector")
            for pod in matches:
                selected[(pod.namespace, pod.name)].append(sidecar)
                pods[(pod.namespace, pod.name)] = pod
        ineffective: set[tuple[str, str]] = set()  # Sidecars already told they have no effect
        self._report_pod_conflicts(ctx, selected, pods, ineffective)
        self._report_namespace_wide(ctx, namespace_wide, ineffective)

    def _report_pod_conflicts(self, ctx, selected, pods, ineffective) -> None:
        for key, sidecars in sorted(selected.items()):
            pod = pods[key]
            if pod_in_ambient(pod):
                for sidecar in sidecars:
                    self._ineffective(ctx, sidecar, ineffective, "the selected workload is in ambient mode")
                continue
            if len(sidecars) < 2:
                continue
            names = ", ".join(s.name for s in sidecars)
            for sidecar in sidecars:
                ctx.report("IST0110", sidecar, names, pod.namespace, pod.name)

    def _report_namespace_wide(self, ctx, namespace_wide, ineffective) -> None:
        for ns_name, sidecars in sorted(namespace_wide.items()):
            if namespace_in_ambient(ctx.get(K.NAMESPACE, "", ns_name)):
                for sidecar in sidecars:
                    self._ineffective(ctx, sidecar, ineffective, "the namespace is in ambient mode")
                continue
            if len(sidecars) < 2:
                continue
            names = ", ".join(s.name for s in sidecars)
            for sidecar in sidecars:
                ctx.report("IST0111", sidecar, names, ns_name)

    @staticmethod
    def _ineffective(ctx: Context, sidecar: Resource, done: set, why: str) -> None:
        key = (sidecar.namespace, sidecar.name)
        if key not in done:
            done.add(key)
            ctx.report("IST0167", sidecar, why)
