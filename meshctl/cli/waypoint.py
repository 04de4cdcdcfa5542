"""``meshctl waypoint apply|generate|list|status|delete``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app(help="Manage waypoint proxies (Gateways of class istio-waypoint).", no_args_is_help=True)

Name = Annotated[str, typer.Option("--name", metavar="NAME", help="name of the waypoint (its Gateway).")]
TargetNamespace = Annotated[
    Optional[str],
    typer.Option("--namespace", "-n", metavar="NS",
                 help="namespace of the waypoint (default: the context's namespace, else default).",
                 show_default=False),
]
TrafficFor = Annotated[
    Optional[str],
    typer.Option("--for", metavar="TYPE", show_default=False,
                 help="traffic the waypoint handles: service, workload, all or none "
                      "(default: no label, and istiod assumes service)."),
]
Revision = Annotated[
    Optional[str],
    typer.Option("--revision", "-r", metavar="REV", help="label the waypoint with this istio.io/rev.",
                 show_default=False),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="ask the API server what would change; change nothing.")]

def _live(context: str | None, kubeconfig: str | None):
    """The one live cluster a write command changes."""
    from meshctl.kube.sources import SourceOptions, open_states

    return open_states(SourceOptions(contexts=[context] if context else [], kubeconfig=kubeconfig), multi=False)[0]


@app.command("generate")
def generate(
    name: Name = "waypoint",
    namespace: Annotated[str, typer.Option("--namespace", "-n", metavar="NS",
                                           help="namespace of the waypoint.")] = "default",
    traffic_type: TrafficFor = None,
    revision: Revision = None,
) -> None:
    """Print a waypoint Gateway as YAML.

    The Gateway is what 'apply' creates; no cluster is read.
    """
    from meshctl.cli.common import emit
    from meshctl.mesh.waypoints import waypoint_gateway
    from meshctl.render.waypoints import render_manifest

    emit(render_manifest(waypoint_gateway(name, namespace, traffic_type, revision)))


@app.command("apply")
def apply(
    name: Name = "waypoint",
    namespace: TargetNamespace = None,
    traffic_type: TrafficFor = None,
    revision: Revision = None,
    enroll_namespace: Annotated[bool, typer.Option(
        "--enroll-namespace", help="then label the namespace istio.io/use-waypoint=NAME.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="with --enroll-namespace: replace the waypoint the namespace uses now.")] = False,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="wait until the waypoint is Programmed.")] = False,
    timeout: Annotated[str, typer.Option("--timeout", "--waypoint-timeout", metavar="DURATION",
                                         help="how long --wait waits (seconds, or 90s, 5m).")] = "300s",
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Create or update a waypoint (server-side apply).

    Optionally wait until it is Programmed and label its namespace to use it. Running it again
    changes nothing. A namespace that already uses another waypoint is left alone
    unless --overwrite.
    """
    from meshctl.cli.common import emit
    from meshctl.cli.sources import context_namespace
    from meshctl.kube.apply import writer_for
    from meshctl.mesh import waypoints as wp
    from meshctl.render import waypoints as view
    from meshctl.render.console import warn
    from meshctl.render.progress import spinner

    from meshctl.cli.common import parse_timeout

    seconds = parse_timeout(timeout)
    wp.check_options(name, traffic_type)  # before any cluster is contacted
    state = _live(context, kubeconfig)
    writer = writer_for(state)
    gateway = wp.waypoint_gateway(name, namespace or context_namespace(state), traffic_type, revision)
    plan = wp.plan_apply(state, gateway, enroll=enroll_namespace, overwrite=overwrite)
    for text in plan.enroll.warnings if plan.enroll else ():
        warn(text)
    emit(view.render_applied(plan, wp.apply_gateway(writer, plan, dry_run=dry_run), dry_run))
    if wait and not dry_run:
        with spinner(f"waiting for waypoint {plan.namespace}/{plan.name}") as update:
            wp.wait_programmed(writer, plan, seconds, update)
        emit(view.render_programmed(plan))
    if plan.enroll:
        emit(view.render_enrolled(plan.enroll, wp.enroll_namespace(writer, plan.enroll, dry_run=dry_run), dry_run))


def _show(conditions: bool, namespace, all_namespaces, output, contexts, kubeconfig, files, snapshot) -> None:
    from meshctl.cli.common import check_choice, emit
    from meshctl.cli.sources import read_scope
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.waypoints import find_waypoints
    from meshctl.render import waypoints as view

    check_choice("--output", output, ("json", "yaml"))
    states = open_states(SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [],
                                       kubeconfig=kubeconfig, namespace=namespace))
    found = [w for s in states for w in find_waypoints(s, read_scope(s, namespace, all_namespaces))]
    if output:
        from meshctl.render.formats import render_data

        emit(render_data(view.waypoints_data(found), output))
    elif not found:
        from meshctl.render.console import print_err

        print_err(view.none_found(None if all_namespaces else namespace))
    else:
        render = view.render_status if conditions else view.render_list
        emit(render(found, show_cluster=len(states) > 1))


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
    """List waypoints and whether each is Programmed.

    Shows each waypoint's revision and traffic type. Live, the context's namespace unless -n or -A; from files or a snapshot, every namespace unless -n.
    """
    _show(False, namespace, all_namespaces, output, contexts, kubeconfig, files, snapshot)


@app.command("status")
def status(
    namespace: opt.Namespace = None,
    all_namespaces: opt.AllNamespaces = False,
    output: opt.DataOutput = None,
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
) -> None:
    """Show the status conditions of each waypoint.

    One row per condition; namespaces are chosen as for 'list'.
    """
    _show(True, namespace, all_namespaces, output, contexts, kubeconfig, files, snapshot)


@app.command("delete")
def delete(
    names: Annotated[Optional[list[str]], typer.Argument(metavar="[NAME]...", help="waypoints to delete.",
                                                         show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="delete every waypoint in the namespace.")] = False,
    revision: Annotated[Optional[str], typer.Option(
        "--revision", "-r", metavar="REV", help="delete every waypoint of this revision in the namespace.",
        show_default=False)] = None,
    namespace: TargetNamespace = None,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Delete waypoints by name, or all in a namespace.

    --revision deletes all of one revision. Only Gateways of class istio-waypoint are deleted; a name that does not exist is reported.
    """
    from meshctl.cli.common import emit
    from meshctl.cli.sources import context_namespace
    from meshctl.errors import UsageError
    from meshctl.kube.apply import writer_for
    from meshctl.mesh.waypoints import delete_waypoints, plan_delete
    from meshctl.render import waypoints as view

    if (all_ or revision) and names:
        raise UsageError("name waypoints, or use --all/--revision, not both", hint="drop the names or the flag")
    if not (all_ or revision or names):
        raise UsageError("no waypoint to delete was named", hint="name one or more waypoints, or use --all")
    state = _live(context, kubeconfig)
    writer = writer_for(state)
    ns = namespace or context_namespace(state)
    plan = plan_delete(state, ns, names or [], everything=all_, revision=revision)
    if not (plan.delete or plan.missing):
        from meshctl.render.console import print_err

        print_err(view.none_found(ns))
        return
    emit(view.render_deleted(ns, delete_waypoints(writer, plan, dry_run=dry_run), dry_run))
