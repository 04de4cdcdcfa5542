"""``meshctl analyze`` and ``meshctl validate``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()

THRESHOLD_HELP = "Info, Warning or Error (any case)."


@app.command("analyze")
def analyze(
    paths: Annotated[Optional[list[str]], typer.Argument(
        metavar="[FILE|DIR|-]...", help="manifests to analyze (on their own, or over the cluster with --use-kube).",
        show_default=False)] = None,
    files: opt.Filenames = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-R", help="read directories recursively.")] = False,
    use_kube: Annotated[Optional[bool], typer.Option(
        "--use-kube/--no-use-kube", show_default=False,
        help="read the live cluster (default: yes, unless files or --snapshot are given; "
             "istioctl's --use-kube=false also works).")] = None,
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    snapshot: opt.Snapshot = None,
    namespace: opt.Namespace = None,
    all_namespaces: opt.AllNamespaces = False,
    suppress: Annotated[Optional[list[str]], typer.Option(
        "--suppress", "-S", metavar="CODE=Kind ns/name",
        help="suppress messages, e.g. \"IST0102=Namespace frod\"; * globs work; repeatable.",
        show_default=False)] = None,
    analyzer_names: Annotated[Optional[list[str]], typer.Option(
        "--analyzer", metavar="NAME", help="run only this analyzer (or family); repeatable.",
        show_default=False)] = None,
    list_analyzers: Annotated[bool, typer.Option("--list-analyzers", "-L", help="list the analyzers and exit.")] = False,
    failure_threshold: Annotated[str, typer.Option("--failure-threshold", metavar="LEVEL",
                                                   help=f"exit 79 at this level or above: {THRESHOLD_HELP}")] = "Error",
    output_threshold: Annotated[str, typer.Option("--output-threshold", metavar="LEVEL",
                                                  help=f"show messages at this level or above: {THRESHOLD_HELP}")] = "Info",
    ignore_unknown: Annotated[bool, typer.Option("--ignore-unknown", help="skip input that does not parse.")] = False,
    mesh_config_file: Annotated[Optional[str], typer.Option("--meshConfigFile", "--mesh-config-file", metavar="PATH",
                                                            help="MeshConfig to use.", show_default=False)] = None,
    mesh_networks_file: Annotated[Optional[str], typer.Option("--meshNetworksFile", "--mesh-networks-file",
                                                              metavar="PATH", help="MeshNetworks to use.",
                                                              show_default=False)] = None,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FORMAT",
                                        help="log, json, yaml, sarif, junit or github.")] = "log",
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Analyze Istio, Gateway API and inference configuration for problems (istioctl-compatible codes)."""
    from meshctl.analysis.session import AnalyzeRequest, analyzer_rows, run_request
    from meshctl.cli.common import emit, show_outcome

    if list_analyzers:
        from meshctl.render.tables import render_table

        emit(render_table(("ANALYZER", "CODES", "DESCRIPTION"), analyzer_rows()))
        return
    request = AnalyzeRequest(
        paths=[*(paths or []), *(files or [])], recursive=recursive, use_kube=use_kube, contexts=contexts or [],
        kubeconfig=kubeconfig, snapshot=snapshot, namespace=namespace, all_namespaces=all_namespaces,
        suppress=suppress or [], analyzers=analyzer_names or [], failure_threshold=failure_threshold,
        output_threshold=output_threshold, ignore_unknown=ignore_unknown, mesh_config_file=mesh_config_file,
        mesh_networks_file=mesh_networks_file, output=output, istio_namespace=istio_namespace,
    )
    outcome = run_request(request)
    show_outcome(outcome.stdout, outcome.notes)
    raise typer.Exit(outcome.exit_code)
