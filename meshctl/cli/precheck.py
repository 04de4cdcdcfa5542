"""``meshctl precheck``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt
from meshctl.cli.check import Output

app = opt.command_app()


@app.command("precheck")
def precheck(
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_version: Annotated[Optional[str], typer.Option(
        "--istio-version", metavar="VERSION", help="Istio version to check for (default: the one meshctl installs).",
        show_default=False)] = None,
    revision: Annotated[str, typer.Option("--revision", "-r", metavar="REV",
                                          help="control-plane revision the install will create.")] = "default",
    istio_namespace: opt.IstioNamespace = "istio-system",
    output: Output = "text",
    files: Annotated[Optional[list[str]], typer.Option("--filename", "-f", hidden=True)] = None,
    snapshot: Annotated[Optional[str], typer.Option("--snapshot", hidden=True)] = None,
) -> None:
    """Check that a cluster is ready for an ambient install and give a hint for every problem found.

    Checks the Kubernetes version, your permissions (one SelfSubjectAccessReview per verb and kind
    the install writes), Istio and CNI already there, the platform, the Gateway API CRDs and the
    nodes. Exits 1 when a check fails; warnings alone exit 0.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.errors import UsageError
    from meshctl.install.precheck import precheck as run_precheck
    from meshctl.install.versions import DEFAULT_ISTIO_VERSION, resolve_istio_version
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.health import exit_code
    from meshctl.render.checks import render_checks
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("text", "json", "yaml"))
    if files or snapshot:
        raise UsageError("precheck asks the live API server (versions, permissions), so it cannot read files or "
                         "a snapshot", hint="drop -f/--snapshot and pass --context; to check an installed mesh "
                                            "offline use 'meshctl check --snapshot'")
    version = resolve_istio_version(istio_version or DEFAULT_ISTIO_VERSION)
    [state] = open_states(SourceOptions(contexts=[context] if context else [], kubeconfig=kubeconfig), multi=False)
    categories = run_precheck(state, istio_version=version, revision=revision, istio_namespace=istio_namespace)
    emit(render_checks(categories) if output == "text" else render_data([c.to_dict() for c in categories], output))
    raise typer.Exit(exit_code(categories))
