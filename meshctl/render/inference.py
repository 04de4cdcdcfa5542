"""``meshctl inference`` output: the pool table, what each parent reports, problems, and data forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshctl.mesh.inference import (
    POOL_GROUP,
    Condition,
    EndpointPicker,
    InferenceStatus,
    ParentStatus,
    PoolStatus,
)
from meshctl.render.tables import render_table

MARKS = {"error": "\u2718", "warning": "\u203c"}
NOT_KNOWN = "?"  # the source cannot say (manifests without pods or endpoints)


def _count(value: int | None) -> str:
    return NOT_KNOWN if value is None else str(value)


def _picker(p: PoolStatus) -> tuple[str, str]:
    """(ENDPOINT PICKER, EPP READY) cells."""
    picker = p.endpoint_picker
    if picker is None:
        return ("-" if not p.found else "none"), "-"
    where = f"{picker.service}:{picker.port}" if picker.port is not None else picker.service
    if picker.service_found is False:
        where += " (missing)"
    return where, _count(picker.ready_endpoints) if picker.service_found is not False else "-"


def _pods(p: PoolStatus) -> str:
    if not p.found:
        return "-"
    return NOT_KNOWN if p.pods_total is None else f"{p.pods_ready}/{p.pods_total}"


def _name(p: PoolStatus) -> str:
    name = p.name if p.group == POOL_GROUP else f"{p.name} ({p.group})"
    return name if p.found else f"{name} (not found)"


def render_pools(pools: Sequence[PoolStatus]) -> str:
    headers = ("NAMESPACE", "NAME", "ROUTES", "ENDPOINT PICKER", "EPP READY", "PODS", "TARGET PORTS",
               "FAILURE MODE", "PROBLEMS")
    rows = []
    for p in pools:
        picker, ready = _picker(p)
        rows.append((p.namespace, _name(p), len(p.routes), picker, ready, _pods(p),
                     ",".join(str(n) for n in p.target_ports) or "-", p.failure_mode or "-",
                     len(p.problems) or "none"))
    return render_table(headers, rows)


def _condition(c: Condition | None) -> str:
    if c is None:
        return "-"
    text = c.status + (f" ({c.reason})" if c.status != "True" and c.reason else "")
    return text + (" (stale)" if c.stale else "")


def _parent_rows(pools: Sequence[PoolStatus]) -> list[tuple[str, ...]]:
    """One row per (route or pool, parent), each route once even when it names several pools."""
    rows: list[tuple[str, ...]] = []
    seen: set[tuple[str, str]] = set()

    def add(what: str, parent: ParentStatus, exported: bool) -> None:
        rows.append((what, f"{parent.kind} {parent.ref}", parent.gateway_class or "-",
                     _condition(parent.condition("Accepted")), _condition(parent.condition("ResolvedRefs")),
                     _condition(parent.condition("Exported")) if exported else ""))

    for p in pools:
        for route in p.routes:
            if (route.ref, p.ref) in seen:
                continue
            seen.add((route.ref, p.ref))
            for parent in route.parents:
                add(f"HTTPRoute {route.ref}", parent, False)
        for parent in p.parents:
            add(f"InferencePool {p.ref}", parent, True)
    return rows


def render_parents(pools: Sequence[PoolStatus]) -> str:
    rows = _parent_rows(pools)
    if not rows:
        return ""
    headers = ("OBJECT", "PARENT", "CLASS", "ACCEPTED", "RESOLVED REFS", "EXPORTED")
    return render_table(headers, rows)


def render_problems(pools: Sequence[PoolStatus]) -> str:
    lines = []
    for p in pools:
        if not p.problems:
            continue
        lines.append(f"InferencePool {p.ref}" + ("" if p.found else " (not found)"))
        for problem in p.problems:
            lines.append(f"  {MARKS[problem.severity]} {problem.what}")
            lines.append(f"    hint: {problem.hint}")
    return "\n".join(lines)


def render_status(results: Sequence[InferenceStatus]) -> str:
    """Per cluster: the pool table, the parents' reports, then the problems (a heading per cluster
    only when there are several)."""
    blocks = []
    for r in results:
        parts = []
        if len(results) > 1:
            parts.append(f"cluster {r.cluster}")
        if not r.pools:
            parts.append("no InferencePools")
            blocks.append("\n".join(parts))
            continue
        parts.append(render_pools(r.pools))
        parents = render_parents(r.pools)
        if parents:
            parts.append("\n" + parents)
        problems = render_problems(r.pools)
        parts.append("\n" + (f"Problems ({r.problems})\n{problems}" if problems else "\u2714 no problems found"))
        blocks.append("\n".join(parts))
    return "\n\n".join(blocks)


def none_found(namespace: str | None, served: bool) -> str:
    where = f" in namespace {namespace}" if namespace else ""
    if not served:
        return (f"No InferencePools found{where}: the InferencePool CRD (inference.networking.k8s.io) is not "
                "installed; install it with: meshctl inference enable")
    return f"No InferencePools found{where}."


# -- data forms ------------------------------------------------------------------------------------------


def _condition_data(c: Condition) -> dict[str, Any]:
    return {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message, "stale": c.stale}


def _parent_data(p: ParentStatus) -> dict[str, Any]:
    return {"kind": p.kind, "namespace": p.namespace, "name": p.name, "gatewayClass": p.gateway_class,
            "conditions": [_condition_data(c) for c in p.conditions]}


def _picker_data(e: EndpointPicker | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"kind": e.kind, "service": e.service, "port": e.port, "host": e.host, "failureMode": e.failure_mode,
            "serviceFound": e.service_found, "servicePorts": list(e.service_ports),
            "readyEndpoints": e.ready_endpoints, "deployments": list(e.deployments), "tlsDestinationRule": e.tls_rule}


def pool_data(p: PoolStatus) -> dict[str, Any]:
    return {
        "namespace": p.namespace, "name": p.name, "group": p.group, "found": p.found,
        "selector": dict(p.selector), "targetPorts": list(p.target_ports),
        "routes": [{"namespace": r.namespace, "name": r.name, "backendGroup": r.backend_group,
                    "permitted": r.permitted, "requestTimeout": r.request_timeout,
                    "parents": [_parent_data(x) for x in r.parents]} for r in p.routes],
        "parents": [_parent_data(x) for x in p.parents],
        "endpointPicker": _picker_data(p.endpoint_picker),
        "pods": {"ready": p.pods_ready, "total": p.pods_total, "containerPorts": list(p.container_ports)},
        "problems": [{"severity": x.severity, "message": x.what, "hint": x.hint} for x in p.problems],
    }


def inference_data(results: Sequence[InferenceStatus]) -> list[dict[str, Any]]:
    return [{"cluster": r.cluster, "inferencePoolsServed": r.served, "inferenceExtension": r.inference_flag,
             "pools": [pool_data(p) for p in r.pools]} for r in results]


# -- scaffold --------------------------------------------------------------------------------------------


def render_manifests(objects: Sequence[dict[str, Any]]) -> str:
    """The objects as one YAML stream, in the order given (apply order), multi-line strings as blocks."""
    from meshctl.install.render import manifest_yaml

    return manifest_yaml(objects)


def render_applied(outcomes: Sequence[tuple[str, str, str]], dry_run: bool = False) -> str:
    suffix = " (dry run)" if dry_run else ""
    return "\n".join(f"{kind} {ref} {outcome}{suffix}" for kind, ref, outcome in outcomes)
