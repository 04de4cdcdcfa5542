"""envoyfilter.EnvoyPatchAnalyzer: EnvoyFilter patch operations that are ignored or fragile.

ADD and REMOVE do nothing on ROUTE_CONFIGURATION/HTTP_ROUTE; REPLACE only works on HTTP_FILTER and
NETWORK_FILTER. Relative operations (INSERT_BEFORE/AFTER, REPLACE, REMOVE) in a filter without
``priority`` depend on the order filters are applied in (IST0151), and worse when a filter for the same
Envoy filter name earlier in the list is pinned to a proxy version (IST0155): upgrading proxies
changes which filters apply, and so the order.
"""

from __future__ import annotations

from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

ROUTE_LEVEL = frozenset({"ROUTE_CONFIGURATION", "HTTP_ROUTE"})
REPLACEABLE = frozenset({"HTTP_FILTER", "NETWORK_FILTER"})
INSERTS = frozenset({"INSERT_BEFORE", "INSERT_AFTER"})

PatchName = tuple[str, str]  # where the name came from ("value" or "filter"), and the name
NO_NAME: PatchName = ("", "")


def patched_name(patch: dict) -> PatchName:
    """The Envoy filter a patch is about: its value's ``name``, else the listener filter it matches.

    The two sources are kept apart, as Istio compares them as different strings.
    """
    value = (patch.get("patch") or {}).get("value")
    if not isinstance(value, dict) or not value:
        return NO_NAME
    if "name" in value:
        return ("value", str(value["name"]))
    listener = ((patch.get("match") or {}).get("listener") or {})
    name = ((listener.get("filterChain") or {}).get("filter") or {}).get("name")
    return ("filter", name) if name else NO_NAME


def pins_proxy_version(patch: dict) -> bool:
    return bool(((patch.get("match") or {}).get("proxy") or {}).get("proxyVersion"))


@analyzer
class EnvoyPatchAnalyzer(Analyzer):
    name = "envoyfilter.EnvoyPatchAnalyzer"
    description = "Checks EnvoyFilter patch operations against what they apply to, and their ordering"
    inputs = (K.ENVOY_FILTER,)
    codes = ("IST0151", "IST0152", "IST0153", "IST0154", "IST0155")

    def analyze(self, ctx: Context) -> None:
        # Names patched by proxy-version-pinned patches so far, in the order filters are read.
        pinned: set[PatchName] = set()
        for ef in ctx.resources(K.ENVOY_FILTER):
            check_filter(ctx, ef, pinned)


def check_filter(ctx: Context, ef: Resource, pinned: set[PatchName]) -> None:
    priority = ef.spec.get("priority") or 0
    for i, patch in enumerate(ef.spec.get("configPatches") or []):
        if not isinstance(patch, dict) or not isinstance(patch.get("patch"), dict):
            break  # Istio stops at the first patch without a patch section
        field = f"spec.configPatches[{i}]"
        name = patched_name(patch)
        operation = str(patch["patch"].get("operation") or "")
        apply_to = str(patch.get("applyTo") or "")
        relative = False
        if operation == "ADD" and apply_to in ROUTE_LEVEL:
            ctx.report("IST0153", ef, field_path=field)
        elif operation == "REMOVE":
            if apply_to in ROUTE_LEVEL:
                ctx.report("IST0154", ef, field_path=field)
            else:
                relative = True
        elif operation == "REPLACE":
            if apply_to not in REPLACEABLE:
                ctx.report("IST0152", ef, field_path=field)
            else:
                relative = True
        elif operation in INSERTS:
            relative = True
        if relative and priority == 0:
            ctx.report("IST0155" if name in pinned else "IST0151", ef, field_path=field)
        if pins_proxy_version(patch):
            pinned.add(name)
