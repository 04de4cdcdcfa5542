"""``meshctl status``."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli import options as opt

app = opt.command_app()


@app.command("status")
def status(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
    output: opt.DataOutput = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="refresh in place every few seconds (a terminal).")] = False,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", help="refresh period for --watch.")] = 2.0,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """One screen per cluster: control plane, ztunnel coverage, enrollment, gateways, peers and problems."""
    from meshctl.cli.common import check_choice, emit
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.status import describe_status
    from meshctl.render.formats import render_data
    from meshctl.render.status import render_status

    check_choice("--output", output, ("json", "yaml"))
    source = SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [], kubeconfig=kubeconfig)

    def screen() -> str:
        statuses = [describe_status(s, istio_namespace) for s in open_states(source)]
        if output:
            return render_data([s.to_dict() for s in statuses], output)
        return render_status(statuses)

    if watch:
        from meshctl.render.live import refresh_until_interrupted

        refresh_until_interrupted(screen, interval)
        return
    emit(screen())
