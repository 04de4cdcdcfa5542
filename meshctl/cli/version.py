"""``meshctl version``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()


@app.command("version")
def version(
    short: Annotated[bool, typer.Option("--short", "-s", help="print the version numbers only.")] = False,
    output: opt.DataOutput = None,
    remote: Annotated[Optional[bool], typer.Option("--remote/--no-remote", show_default=False,
                                         help="also read the control-plane versions from the cluster(s) (default: when one is configured).")] = None,
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    snapshot: opt.Snapshot = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Show meshctl's version and, from the cluster(s), the control-plane versions per revision."""
    from meshctl import __version__
    from meshctl.cli.common import check_choice, emit
    from meshctl.render.version import render_version, version_data

    check_choice("--output", output, ("json", "yaml"))
    clusters = []
    if remote is not False or snapshot:  # only load the cluster machinery when a cluster may be read
        from meshctl.cli.sources import states_for_version
        from meshctl.mesh.controlplane import describe_versions

        states = states_for_version(remote, contexts, kubeconfig, snapshot)
        clusters = [describe_versions(s, istio_namespace) for s in states]
    if output:
        from meshctl.render.formats import render_data

        emit(render_data(version_data(__version__, clusters), output))
    else:
        emit(render_version(__version__, clusters, short))
