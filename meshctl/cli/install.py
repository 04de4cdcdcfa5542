"""``meshctl install``."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt

app = opt.command_app()

Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the plan and the object diffs; change nothing.")]
Force = Annotated[bool, typer.Option(
    "--force", help="take over objects another tool manages, and go ahead despite failed prechecks.")]
ReadinessTimeout = Annotated[str, typer.Option(
    "--readiness-timeout", metavar="DURATION", help="how long each component may take to become ready.")]
SkipPrecheck = Annotated[bool, typer.Option("--skip-precheck", help="do not run the prechecks first.")]
Diff = Annotated[bool, typer.Option("--diff", help="show each changed object's diff in the plan.")]
GatewayApi = Annotated[bool, typer.Option(
    "--gateway-api", help="also install the Gateway API CRDs (the standard bundle this Istio version pins) "
    "unless that release or a newer one is there; waypoints and ingress Gateways need them.")]


@app.command("install")
def install(
    profile: io.StoredProfile = None,
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
    diff: Diff = False,
    readiness_timeout: ReadinessTimeout = "300s",
    skip_precheck: SkipPrecheck = False,
    gateway_api: GatewayApi = False,
    reset_values: io.ResetValues = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Install the ambient control plane (Istio's CRDs, istiod, istio-cni, ztunnel) into a cluster.

    Runs the prechecks, shows what will be created, changed and deleted, asks (-y skips), applies in
    dependency order with server-side apply, waits for every component to be ready, and deletes what this
    revision's install owned but no longer renders. Safe to re-run: a second run changes nothing, and a
    run interrupted half-way is completed by the next. A re-run keeps the values the last install stored
    in the cluster (--set/-f go on top; --reset-values starts afresh) and lists the value changes first.
    """
    from meshctl.cli.installing import render_request, run_install
    from meshctl.cli.common import parse_timeout

    req = render_request(profile, files, sets, revision, istio_version, hub, tag, components, artifacts,
                         artifact_sha256)
    run_install(req, context=context, kubeconfig=kubeconfig, timeout=parse_timeout(readiness_timeout),
                yes=yes, dry_run=dry_run, force=force, show_diff=diff, skip_precheck=skip_precheck,
                gateway_api=gateway_api, reset_values=reset_values)
