"""telemetry.*: Telemetry providers, selectors, and the deprecated Lightstep provider."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from meshctl.analysis.common import has_target_refs, offline_workload_matches, selector_text
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

# Providers istiod adds to every mesh config unless the user defines them (MeshConfig defaults).
BUILTIN_PROVIDERS = frozenset({"prometheus", "stackdriver", "envoy"})
TELEMETRY_SECTIONS = ("accessLogging", "tracing", "metrics")


def entries(telemetry: Resource, section: str) -> list[dict[str, Any]]:
    return [e for e in telemetry.spec.get(section) or [] if isinstance(e, dict)]


def provider_names(entry: dict[str, Any]) -> list[str]:
    return [str(p.get("name") or "") for p in entry.get("providers") or [] if isinstance(p, dict)]


def match_labels(telemetry: Resource) -> dict[str, str]:
    selector = telemetry.spec.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def disabled(entry: dict[str, Any]) -> bool:
    value = entry.get("disabled")
    return value is True or (isinstance(value, dict) and value.get("value") is True)


@analyzer
class ProviderAnalyzer(Analyzer):
    name = "telemetry.ProviderAnalyzer"
    description = "Checks that Telemetry access logging has a provider, and that named providers exist"
    inputs = (K.TELEMETRY,)
    codes = ("IST0157",)

    def analyze(self, ctx: Context) -> None:
        defaults = (ctx.mesh_config.get("defaultProviders") or {}).get("accessLogging") or []
        known = self._known_providers(ctx.mesh_config)
        for telemetry in ctx.resources(K.TELEMETRY):
            # Access logging without a provider logs nothing unless the mesh has a default one.
            if not defaults:
                for entry in entries(telemetry, "accessLogging"):
                    if not disabled(entry) and not provider_names(entry):
                        ctx.report("IST0157", telemetry, telemetry.name, telemetry.namespace, "",
                                   field_path="spec.accessLogging")
            if known is None:
                continue
            unknown = {name for section in TELEMETRY_SECTIONS for entry in entries(telemetry, section)
                       for name in provider_names(entry) if name not in known}
            for name in sorted(unknown):
                ctx.report("IST0157", telemetry, telemetry.name, telemetry.namespace, name)

    @staticmethod
    def _known_providers(mesh_config: dict[str, Any]) -> set[str] | None:
        """Provider names the mesh defines; None when no mesh config is known (nothing to compare with)."""
        if not mesh_config:
            return None
        names = {str(p.get("name")) for p in mesh_config.get("extensionProviders") or [] if isinstance(p, dict)}
        return names | BUILTIN_PROVIDERS


@analyzer
class SelectorAnalyzer(Analyzer):
    name = "telemetry.SelectorAnalyzer"
    description = "Checks that Telemetries with a selector select pods, and that no pod is selected by two"
    inputs = (K.TELEMETRY, K.POD)
    codes = ("IST0101", "IST0159")

    def analyze(self, ctx: Context) -> None:
        if not ctx.has(K.POD):
            return
        selected: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for telemetry in ctx.resources(K.TELEMETRY):
            labels = match_labels(telemetry)
            if not labels:
                continue
            pods = ctx.select(K.POD, telemetry.namespace, labels)
            if not pods and not offline_workload_matches(ctx, telemetry.namespace, labels):
                ctx.report("IST0101", telemetry, "selector", selector_text(labels), field_path="spec.selector")
            for pod in pods:
                selected[(pod.namespace, pod.name)].append(telemetry)
        for (ns, pod), telemetries in sorted(selected.items()):
            if len(telemetries) < 2:
                continue
            names = ", ".join(sorted(t.name for t in telemetries))
            for telemetry in telemetries:
                ctx.report("IST0159", telemetry, names, ns, pod)


@analyzer
class DefaultSelectorAnalyzer(Analyzer):
    name = "telemetry.DefaultSelectorAnalyzer"
    description = "Checks that a namespace has at most one Telemetry without a selector"
    inputs = (K.TELEMETRY,)
    codes = ("IST0160",)

    def analyze(self, ctx: Context) -> None:
        namespace_wide: dict[str, list[Resource]] = defaultdict(list)
        for telemetry in ctx.resources(K.TELEMETRY):
            # A Telemetry with targetRef(s) applies to a Gateway or Service, not to the whole namespace.
            if not match_labels(telemetry) and not has_target_refs(telemetry):
                namespace_wide[telemetry.namespace].append(telemetry)
        for ns, telemetries in sorted(namespace_wide.items()):
            if len(telemetries) < 2:
                continue
            names = ", ".join(sorted(t.name for t in telemetries))
            for telemetry in telemetries:
                ctx.report("IST0160", telemetry, names, ns)


@analyzer
class LightstepAnalyzer(Analyzer):
    name = "telemetry.LightstepAnalyzer"
    description = "Flags Telemetries tracing to a Lightstep provider (deprecated; use OpenTelemetry)"
    inputs = (K.TELEMETRY,)
    codes = ("IST0002",)

    def analyze(self, ctx: Context) -> None:
        lightstep = {str(p.get("name")) for p in ctx.mesh_config.get("extensionProviders") or []
                     if isinstance(p, dict) and "lightstep" in p}
        if not lightstep:
            return
        for telemetry in ctx.resources(K.TELEMETRY):
            used = {n for entry in entries(telemetry, "tracing") for n in provider_names(entry) if n in lightstep}
            for name in sorted(used):
                ctx.report("IST0002", telemetry,
                           f"tracing provider \"{name}\" is a Lightstep provider; it is deprecated, "
                           "use an OpenTelemetry provider instead",
                           field_path="spec.tracing")
