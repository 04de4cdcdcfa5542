"""``meshctl upgrade``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt
from meshctl.cli.install import DryRun, Force, ReadinessTimeout, Yes

KeptProfile = Annotated[Optional[str], typer.Option(
    "--profile", "-p", metavar="NAME|FILE", rich_help_panel=io.VALUES, show_default=False,
    help="change the profile (default: keep the one the revision was installed with).")]

app = opt.command_app()


@app.command("upgrade")
def upgrade(
    profile: KeptProfile = None,
    files: io.ValuesFiles = None,
    sets: io.Sets = None,
    revision: io.Revision = None,
    istio_version: io.IstioVersion = None,
    hub: io.Hub = None,
    tag: io.Tag = None,
    components: io.Components = None,
    artifacts: io.Artifacts = None,
    artifact_sha256: io.ArtifactSha256 = None,
    yes: Yes = False,
    dry_run: DryRun = False,
    force: Force = False,
    readiness_timeout: ReadinessTimeout = "300s",
    reset_values: io.ResetValues = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Upgrade an installed revision in place, one minor Istio version at a time.

    Keeps the values given at install time (meshctl stores them in the cluster) with this run's flags
    on top, shows the diff of every object that changes, asks (-y skips), then applies, waits and prunes
    as install does. For a canary upgrade install the new version as another revision instead
    (meshctl install --revision NEW), move the default tag to it (meshctl tag set default --revision NEW),
    and uninstall the old revision.
    """
    from meshctl.cli.common import parse_timeout
    from meshctl.cli.installing import render_request, run_install

    req = render_request(profile, files, sets, revision, istio_version, hub, tag, components, artifacts,
                         artifact_sha256)
    run_install(req, context=context, kubeconfig=kubeconfig, timeout=parse_timeout(readiness_timeout),
                yes=yes, dry_run=dry_run, force=force, show_diff=True, skip_precheck=True, upgrade=True,
                reset_values=reset_values)
