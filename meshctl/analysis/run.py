"""Run analyzers over one or more clusters and collect their messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshctl.analysis.framework import Analyzer, Context, MultiClusterAnalyzer, all_analyzers
from meshctl.analysis.messages import Message, MessageType, register
from meshctl.errors import InputError, UsageError
from meshctl.kube.state import ClusterState
from meshctl.mesh import labels as L

INTERNAL_ERROR = "IST0001"


@dataclass
class AnalysisResult:
    messages: list[Message] = field(default_factory=list)  # before suppression and thresholds
    resources: int = 0  # objects analyzed, over all clusters
    unknown: set[str] = field(default_factory=set)  # kinds some source could not provide


def select_analyzers(names: Iterable[str] = ()) -> list[type[Analyzer]]:
    """Every analyzer, or those named (Istio's metadata names; a family prefix such as
    ``virtualservice`` selects the whole family)."""
    available = all_analyzers()
    wanted = list(names)
    if not wanted:
        return available
    chosen: list[type[Analyzer]] = []
    for name in wanted:
        match = [a for a in available if a.name == name or a.name.split(".")[0] == name]
        if not match:
            raise UsageError(f"unknown analyzer {name!r}", hint="list them with 'meshctl analyze --list-analyzers'")
        chosen += [a for a in match if a not in chosen]
    return chosen


def run_analysis(
    states: Sequence[ClusterState],
    analyzers: Sequence[type[Analyzer]],
    *,
    mesh_configs: Sequence[tuple[dict[str, Any], dict[str, Any]]] | None = None,
    cluster_names: Sequence[str] | None = None,
    istio_namespace: str = L.ISTIO_NAMESPACE,
) -> AnalysisResult:
    """Run ``analyzers`` over each state; ``mesh_configs`` gives each state's (mesh config, mesh
    networks) and ``cluster_names`` the names messages carry when several clusters are analyzed."""
    result = AnalysisResult()
    multi = len(states) > 1
    contexts = []
    for i, state in enumerate(states):
        mesh_config, mesh_networks = mesh_configs[i] if mesh_configs else ({}, {})
        ctx = Context(
            state,
            cluster=(cluster_names[i] if cluster_names else state.info.cluster) if multi else "",
            mesh_config=mesh_config,
            mesh_networks=mesh_networks,
            istio_namespace=istio_namespace,
            live=state.info.kind != "files",
            multi_cluster=multi,
        )
        contexts.append(ctx)
        for cls in analyzers:
            _run_one(ctx, cls, lambda a: a.analyze(ctx))
        result.resources += ctx.objects_read()
        result.unknown |= ctx.unknown
    if multi:
        for cls in analyzers:
            if issubclass(cls, MultiClusterAnalyzer):
                for ctx in contexts:  # messages about any cluster's objects name this analyzer
                    ctx.current = cls.name
                _run_one(contexts[0], cls, lambda a: a.analyze_clusters(contexts))
                for ctx in contexts:
                    ctx.current = ""
        for ctx in contexts[1:]:
            contexts[0].messages.extend(ctx.messages)
            ctx.messages.clear()
    for ctx in contexts:
        result.messages.extend(ctx.messages)
    return result


def _run_one(ctx: Context, cls: type[Analyzer], call) -> None:
    """Run one analyzer; a bug in it becomes an IST0001 message, not a crash of the whole run."""
    ctx.current = cls.name
    try:
        call(cls())
    except InputError:  # a snapshot file that does not parse is bad input (65), not an analyzer's bug
        raise
    except Exception as err:  # noqa: BLE001 - reported as Istio does, as an internal error message
        from meshctl.analysis.messages import MESSAGE_TYPES
        from meshctl.errors import describe_bug

        ctx.messages.append(Message(type=MESSAGE_TYPES[INTERNAL_ERROR], origin=f"Analyzer {cls.name}",
                                    text=MESSAGE_TYPES[INTERNAL_ERROR].template.format(
                                        f"analyzer {cls.name} failed: {describe_bug(err)}"),
                                    cluster=ctx.cluster, analyzer=cls.name))
    finally:
        ctx.current = ""


__all__ = ["AnalysisResult", "MessageType", "register", "run_analysis", "select_analyzers"]
