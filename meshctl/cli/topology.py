"""``meshctl topology``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()


@app.command("topology")
def topology(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
    namespace: Annotated[Optional[str], typer.Option(
        "--namespace", "-n", metavar="NS",
        help="draw one namespace (default: the mesh's namespaces — enrolled, with gateways, or Istio's).",
        show_default=False)] = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A",
                                                 help="draw every namespace, kube-system included.")] = False,
    focus: Annotated[Optional[str], typer.Option(
        "--focus", metavar="KIND/NS/NAME",
        help="draw only this object's neighbourhood, e.g. Service/bookinfo/reviews, Namespace/llm, "
             "Cluster/cluster1 (in every cluster that has it; a node id from -o json names one).",
        show_default=False)] = None,
    depth: Annotated[int, typer.Option("--depth", metavar="N",
                                       help="with --focus: how many edges away to go, either way.")] = 1,
    group_by: Annotated[str, typer.Option("--group-by", metavar="cluster|namespace",
                                          help="box the drawing by cluster, or by namespace across clusters.")]
    = "cluster",
    output: Annotated[str, typer.Option("--output", "-o", metavar="FORMAT",
                                        help="tree, dot, mermaid, json (node-link), svg (needs Graphviz) or html "
                                             "(one self-contained page: pan, zoom, search, details).",
                                        rich_help_panel=opt.OUTPUT)] = "tree",
    analyze: Annotated[bool, typer.Option("--analyze", help="run the analyzers and put their findings on the "
                                                            "objects they are about.")] = False,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Draw the mesh as a graph: clusters, namespaces, workloads, services, waypoints, gateways and inference pools.

    Edges: Service -> workloads it selects; namespace or Service -> its waypoint; Gateway -> route ->
    Service or InferencePool; InferencePool -> endpoint picker and model servers; cluster -> cluster
    it reads through a remote secret (one-way links are marked) and the east-west gateway it crosses
    networks by. Every node carries its health; what is referred to but does not exist is shown as
    missing. Output is stable, so it diffs well.

    -o html writes one self-contained page (its script and style inline; it fetches nothing): the
    graph in cluster and namespace boxes coloured by health, pan and zoom, a search box (Enter goes to
    the first match; page.html#search=NAME opens on a search) and each node's details on click.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.errors import UsageError
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.controlplane import name_clusters
    from meshctl.mesh.topology import describe_topology
    from meshctl.render.topology import GROUP_BY, OUTPUTS, render_topology

    check_choice("--output", output, OUTPUTS)
    check_choice("--group-by", group_by, GROUP_BY)
    if namespace and all_namespaces:
        raise UsageError("-n and -A both given", hint="drop one of them")
    if depth != 1 and not focus:
        raise UsageError("--depth needs --focus", hint="e.g. --focus Service/bookinfo/reviews --depth 2")
    states = open_states(SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [],
                                       kubeconfig=kubeconfig))
    # analysis names clusters as the graph does; without it the graph names them itself
    names = name_clusters(states, None, istio_namespace) if analyze else None
    findings = _findings(states, names, istio_namespace) if analyze else ()
    topo = describe_topology(states, namespace=namespace, all_namespaces=all_namespaces, focus_on=focus, depth=depth,
                             istio_namespace=istio_namespace, cluster_names=names, findings=findings)
    emit(render_topology(topo, output, group_by))


def _findings(states, names, istio_namespace):
    """Every analyzer's messages, as findings the graph can carry (analysis sits above mesh)."""
    from meshctl.analysis.meshconfig import DEFAULT_MESH_CONFIG, from_cluster
    from meshctl.analysis.run import run_analysis, select_analyzers
    from meshctl.mesh.topology import Finding

    configs = [from_cluster(s, istio_namespace) if s.info.kind != "files" else (DEFAULT_MESH_CONFIG, {})
               for s in states]
    result = run_analysis(states, select_analyzers(), mesh_configs=configs, cluster_names=names,
                          istio_namespace=istio_namespace)
    return [Finding(m.cluster, m.kind, m.namespace, m.name, m.code, m.level.label, m.text) for m in result.messages]
