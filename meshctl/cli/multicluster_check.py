"""``meshctl multicluster check`` and ``meshctl multicluster status``: read the links between clusters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshctl.cli import options as opt

if TYPE_CHECKING:
    from meshctl.kube.state import ClusterState
    from meshctl.mesh.health import Category
    from meshctl.mesh.multicluster import MeshView

ProbeTimeout = Annotated[float, typer.Option(
    "--probe-timeout", metavar="SECONDS", help="how long each call to a peer's API server with a remote "
                                               "secret's credentials may take.")]
PROBE_TIMEOUT = 5.0


def check(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    snapshot: opt.Snapshot = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    probe_timeout: ProbeTimeout = PROBE_TIMEOUT,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FORMAT", help="text, json or yaml.",
                                        rich_help_panel=opt.OUTPUT)] = "text",
) -> None:
    """Check the links between clusters and give a hint for every problem found.

    Compares the clusters' names, meshIDs, root CAs, networks and east-west gateways, calls each
    peer's API server with the credentials of every remote secret, and compares global services
    and waypoint names. Exits 1 when a check fails; warnings alone exit 0. A snapshot holds no
    secret values, so there the links are reported as unknown.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.mesh.health import exit_code
    from meshctl.mesh.multicluster import check_multicluster
    from meshctl.render.checks import render_checks
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("text", "json", "yaml"))
    view = _read(contexts, kubeconfig, snapshot, istio_namespace, probe_timeout)
    categories = check_multicluster(view)
    emit(render_checks(categories) if output == "text" else render_data([c.to_dict() for c in categories], output))
    raise typer.Exit(exit_code(categories))


def status(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    snapshot: opt.Snapshot = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    probe_timeout: ProbeTimeout = PROBE_TIMEOUT,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FORMAT", help="table, json or yaml.",
                                        rich_help_panel=opt.OUTPUT)] = "table",
) -> None:
    """Show which clusters are linked, and each cluster's network, east-west gateway, istiod and root.

    A matrix of every pair of clusters (linked both ways, one-way, missing, broken, or unknown
    from a snapshot), then one row per cluster.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.render.console import warn
    from meshctl.render.formats import render_data
    from meshctl.render.multicluster import render_status, status_data

    check_choice("--output", output, ("table", "json", "yaml"))
    view = _read(contexts, kubeconfig, snapshot, istio_namespace, probe_timeout)
    for cluster in view.unreadable:
        warn(cluster.line)
    emit(render_status(view) if output == "table" else render_data(status_data(view), output))


def verify_links(states: list[ClusterState], *, istio_namespace: str = "istio-system",
                 probe_timeout: float = PROBE_TIMEOUT) -> list[Category]:
    """The checks of ``multicluster check`` on clusters already open (``multicluster link`` runs them
    after writing): every state reads its cluster afresh first."""
    from meshctl.kube import kinds as K
    from meshctl.kube.live import preload_client, probe_kubeconfig
    from meshctl.mesh.multicluster import check_multicluster, read_mesh

    preload_client()
    for state in states:
        if hasattr(state, "forget"):
            state.rediscover()
            for kind in K.ALL_KINDS:
                state.forget(kind)
    view = read_mesh(states, prober=probe_kubeconfig, timeout=probe_timeout, namespace=istio_namespace)
    return list(check_multicluster(view))


def _read(contexts: list[str] | None, kubeconfig: str | None, snapshot: str | None, namespace: str,
          probe_timeout: float) -> MeshView:
    """Every cluster asked for, opened at once, and what they say about their links (probed when live).
    A cluster that cannot be reached is a finding, unless none can be."""
    from concurrent.futures import ThreadPoolExecutor

    from meshctl.errors import ClusterUnavailableError, UsageError
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.multicluster import Unreadable, read_mesh

    if not probe_timeout > 0:
        raise UsageError(f"--probe-timeout {probe_timeout:g} is not a positive number of seconds",
                         hint="use --probe-timeout 5")
    if snapshot:
        states = open_states(SourceOptions(snapshot=snapshot, contexts=contexts or []))
        return read_mesh(states, namespace=namespace)
    from meshctl.kube.live import preload_client, probe_kubeconfig

    def open_one(name: str):
        try:
            return open_states(SourceOptions(contexts=[name], kubeconfig=kubeconfig)), None
        except ClusterUnavailableError as err:
            if not name:
                raise
            return [], (err, Unreadable(name, err.message, err.hint or ""))

    preload_client()
    names = list(dict.fromkeys(contexts or [""]))  # "" is the current context
    with ThreadPoolExecutor(max_workers=min(len(names), 16)) as pool:
        opened = list(pool.map(open_one, names))
    failed = [failure for _, failure in opened if failure is not None]
    if len(failed) == len(names):
        raise failed[0][0]
    states = [state for group, _ in opened for state in group]
    return read_mesh(states, prober=probe_kubeconfig, timeout=probe_timeout, namespace=namespace,
                     unreachable=[unreadable for _, unreadable in failed])
