"""One ``meshctl analyze`` run, from options to output text and exit code (no printing here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshctl import __version__
from meshctl.analysis.formats import FORMATS, render_messages
from meshctl.analysis.framework import Suppression, filter_messages
from meshctl.analysis.messages import Level, Message
from meshctl.analysis.meshconfig import DEFAULT_MESH_CONFIG, default_objects, from_cluster, read_mesh_file
from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.errors import ExitCode, UsageError
from meshctl.kube.state import ClusterState, OverlayState
from meshctl.mesh.controlplane import name_clusters


@dataclass(frozen=True)
class AnalyzeRequest:
    paths: list[str] = field(default_factory=list)
    recursive: bool = False
    use_kube: bool | None = None  # None: the live cluster unless files or a snapshot are given
    contexts: list[str] = field(default_factory=list)
    kubeconfig: str | None = None
    snapshot: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    suppress: list[str] = field(default_factory=list)
    analyzers: list[str] = field(default_factory=list)
    failure_threshold: str = "Error"
    output_threshold: str = "Info"
    ignore_unknown: bool = False
    mesh_config_file: str | None = None
    mesh_networks_file: str | None = None
    output: str = "log"
    istio_namespace: str = "istio-system"
    schema_only: bool = False  # `meshctl validate`


@dataclass
class AnalyzeOutcome:
    stdout: str
    notes: list[str]  # for stderr
    exit_code: int
    messages: list[Message] = field(default_factory=list)


def _level(flag: str, value: str) -> Level:
    try:
        return Level.parse(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a level", hint="use Info, Warning or Error") from None


def analyzer_rows() -> list[tuple[str, str, str]]:
    """(name, codes, description) of every analyzer, for ``--list-analyzers``."""
    return [(a.name, " ".join(a.codes), a.description) for a in select_analyzers()]


def _states(req: AnalyzeRequest, notes: list[str]) -> tuple[list[ClusterState], bool]:
    """The states to analyze, and whether they come from a cluster (live or snapshot)."""
    from meshctl.kube.files import load_files
    from meshctl.kube.sources import SourceOptions, open_states

    use_kube = req.use_kube if req.use_kube is not None else not (req.paths or req.snapshot)
    if req.snapshot and use_kube:
        raise UsageError("--snapshot and --use-kube are two sources", hint="drop one of them")
    files = None
    if req.paths:
        files = load_files(req.paths, recursive=req.recursive, strict=not req.ignore_unknown)
        notes += [f"skipped: {p.message}" for p in files.problems]
    if req.snapshot or use_kube:
        bases = open_states(SourceOptions(snapshot=req.snapshot, contexts=req.contexts, kubeconfig=req.kubeconfig))
        return ([OverlayState(b, files) if files else b for b in bases]), True
    if req.contexts:
        raise UsageError("--context reads a cluster, but --use-kube=false was given", hint="drop one of them")
    if files is None:
        raise UsageError("nothing to analyze: --use-kube=false and no files",
                         hint="pass files or directories, or drop --use-kube=false to read the cluster")
    return [OverlayState(default_objects(req.istio_namespace), files)], False


def _namespace_filter(req: AnalyzeRequest, states: list[ClusterState], from_cluster_: bool) -> str | None:
    if req.all_namespaces:
        return None
    if req.namespace:
        return req.namespace
    live = [s for s in states if s.info.kind == "live"]
    if live and from_cluster_:
        # like kubectl: the context's namespace
        base = getattr(live[0], "base", live[0])
        return getattr(getattr(base, "conn", None), "namespace", "default")
    return None  # files and snapshots: everything they hold


def _mesh_configs(req: AnalyzeRequest, states: list[ClusterState], from_cluster_: bool):
    file_mesh = read_mesh_file(req.mesh_config_file) if req.mesh_config_file else None
    file_networks = read_mesh_file(req.mesh_networks_file) if req.mesh_networks_file else None
    configs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for state in states:
        mesh, networks = from_cluster(state, req.istio_namespace) if from_cluster_ else (DEFAULT_MESH_CONFIG, {})
        if file_mesh is not None:
            from meshctl.analysis.meshconfig import merge

            mesh = merge(DEFAULT_MESH_CONFIG, file_mesh)
        configs.append((mesh, file_networks if file_networks is not None else networks))
    return configs


def run_request(req: AnalyzeRequest) -> AnalyzeOutcome:
    if req.output not in FORMATS:
        raise UsageError(f"--output {req.output!r} is not one of: {', '.join(FORMATS)}", hint="use --output log")
    failure = _level("--failure-threshold", req.failure_threshold)
    shown = _level("--output-threshold", req.output_threshold)
    try:
        rules = [Suppression.parse(s) for s in req.suppress]
    except ValueError as err:
        raise UsageError(str(err), hint="e.g. --suppress \"IST0102=Namespace frod\"") from None
    analyzers = select_analyzers(["schema"] if req.schema_only else req.analyzers)
    notes: list[str] = []
    states, from_cluster_ = _states(req, notes)
    configs = _mesh_configs(req, states, from_cluster_)
    # Clusters go by Istio's name for them (istiod's CLUSTER_ID) wherever the state came from.
    names = name_clusters(states, None, req.istio_namespace) if from_cluster_ else None
    result = run_analysis(states, analyzers, mesh_configs=configs, cluster_names=names,
                          istio_namespace=req.istio_namespace)
    namespace = _namespace_filter(req, states, from_cluster_)
    relevant = filter_messages(result.messages, suppressions=rules, namespace=namespace)
    visible = [m for m in relevant if m.level >= shown]
    failing = any(m.level >= failure for m in relevant)
    stdout = render_messages(visible, req.output, version=__version__, analyzers=[a.name for a in analyzers])
    notes.append(_summary(relevant, result.resources, namespace))
    return AnalyzeOutcome(stdout, notes, int(ExitCode.ANALYSIS if failing else ExitCode.OK), visible)


def _summary(messages: list[Message], resources: int, namespace: str | None) -> str:
    scope = f"namespace {namespace}" if namespace else "all namespaces"
    if not messages:
        return f"\u2714 No validation issues found when analyzing {scope} ({resources} resources)."
    counts = {level: sum(1 for m in messages if m.level == level) for level in Level}
    parts = [f"{counts[Level.ERROR]} error{'s' * (counts[Level.ERROR] != 1)}",
             f"{counts[Level.WARNING]} warning{'s' * (counts[Level.WARNING] != 1)}",
             f"{counts[Level.INFO]} info"]
    return f"{', '.join(parts)} in {resources} resources ({scope})."
