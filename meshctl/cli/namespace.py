"""``meshctl namespace enroll|unenroll|list``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app(help="Enroll namespaces in the ambient mesh, or list their enrollment.", no_args_is_help=True)

Names = Annotated[list[str], typer.Argument(metavar="NAMESPACE...", help="namespaces to change.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print what would change; change nothing.")]


@app.command("enroll")
def enroll(
    names: Names,
    waypoint: Annotated[Optional[str], typer.Option(
        "--waypoint", metavar="[=NAME]",
        help="also route the namespace through a waypoint: --waypoint for one named 'waypoint', "
             "--waypoint=NAME to choose the name (created if missing).", show_default=False)] = None,
    traffic: Annotated[Optional[str], typer.Option(
        "--for", metavar="TYPE", help="traffic the new waypoint handles: service, workload or all.",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="enroll even when sidecar injection is on.")] = False,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Label namespaces istio.io/dataplane-mode=ambient (and istio.io/use-waypoint with --waypoint)."""
    from meshctl.cli.common import check_choice
    from meshctl.cli.writes import enroll_namespaces

    check_choice("--for", traffic, ("service", "workload", "all"))
    enroll_namespaces(names, context=context, kubeconfig=kubeconfig, waypoint=waypoint, traffic=traffic,
                      force=force, dry_run=dry_run, istio_namespace=istio_namespace)


@app.command("unenroll")
def unenroll(
    names: Names,
    delete_waypoint: Annotated[bool, typer.Option("--delete-waypoint",
                                                  help="also delete the waypoint the namespace used.")] = False,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Remove exactly what enroll set: the ambient label and the use-waypoint label."""
    from meshctl.cli.writes import unenroll_namespaces

    unenroll_namespaces(names, context=context, kubeconfig=kubeconfig, delete_waypoint=delete_waypoint,
                        dry_run=dry_run)


@app.command("list")
def list_(
    namespace: opt.Namespace = None,
    all_namespaces: opt.AllNamespaces = False,
    output: opt.DataOutput = None,
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
) -> None:
    """Each namespace's mode (ambient, sidecar, none, conflict), waypoint, and pods captured or not."""
    from meshctl.cli.common import check_choice, emit
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.enrollment import describe_namespaces
    from meshctl.render import namespaces as view
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("json", "yaml"))
    states = open_states(SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [],
                                       kubeconfig=kubeconfig))
    selected = None if all_namespaces else namespace
    by_cluster = [(s.info.cluster, describe_namespaces(s, selected)) for s in states]
    emit(render_data(view.namespaces_data(by_cluster), output) if output else view.render_namespaces(by_cluster))
