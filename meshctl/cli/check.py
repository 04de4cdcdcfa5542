"""``meshctl check``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()

Output = Annotated[str, typer.Option("--output", "-o", metavar="FORMAT", help="text, json or yaml.",
                                     rich_help_panel=opt.OUTPUT)]


@app.command("check")
def check(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
    revision: Annotated[Optional[str], typer.Option(
        "--revision", "-r", metavar="REV", help="check this control-plane revision only (default: every one).",
        show_default=False)] = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    wait: Annotated[Optional[str], typer.Option(
        "--wait", metavar="DURATION", help="check again until nothing fails or the time is up (120, 90s, 2m); "
                                           "live clusters only.", show_default=False)] = None,
    output: Output = "text",
) -> None:
    """Check an installed ambient mesh and give a hint for every problem found.

    Checks Istio's CRDs, istiod, its webhooks and revision tags, istio-cni and ztunnel on every
    node, pod capture in enrolled namespaces and the Gateway API. Exits 1 when a check fails;
    warnings alone exit 0.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.errors import UsageError
    from meshctl.install.precheck import version_facts
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.health import check_installation, exit_code, wait_until_passing
    from meshctl.render.checks import render_checks, wait_progress
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("text", "json", "yaml"))
    source = SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [], kubeconfig=kubeconfig)
    if wait is not None and source.offline:
        raise UsageError("--wait checks a live cluster again and again; files and snapshots do not change",
                         hint="drop --wait, or drop -f/--snapshot")
    seconds = _duration(wait) if wait is not None else None
    states = open_states(source)

    def evaluate():
        return [category for state in states for category in
                check_installation(state, facts_for=version_facts, istio_namespace=istio_namespace, revision=revision)]

    def evaluate_afresh():
        _reread(states)
        return evaluate()

    if seconds is None:
        categories = evaluate()
    else:
        with wait_progress("meshctl check --wait") as report:
            categories = wait_until_passing(evaluate_afresh, seconds, progress=report)
    emit(render_checks(categories) if output == "text" else render_data([c.to_dict() for c in categories], output))
    raise typer.Exit(exit_code(categories))


def _duration(text: str) -> float:
    from meshctl.cli.common import parse_timeout
    from meshctl.errors import UsageError

    try:
        return parse_timeout(text)
    except UsageError:
        raise UsageError(f"--wait {text!r} is not a duration", hint="use seconds (120) or a duration (90s, 2m)") from None


def _reread(states) -> None:
    """Make every live state read the cluster afresh (discovery included: CRDs may have appeared)."""
    from meshctl.kube import kinds as K

    for state in states:
        state.rediscover()
        for kind in K.ALL_KINDS:
            state.forget(kind)
