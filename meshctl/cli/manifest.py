"""``meshctl manifest generate|diff``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt

app = opt.command_app(help="Render the control-plane manifest, or compare it with a cluster or another manifest.",
                      no_args_is_help=True)

NoCrds = Annotated[bool, typer.Option("--no-crds", help="leave Istio's CRDs out (no base chart archive needed).")]


@app.command("generate")
def generate(
    profile: io.Profile = "ambient",
    files: io.ValuesFiles = None,
    sets: io.Sets = None,
    revision: io.Revision = None,
    istio_version: io.IstioVersion = None,
    hub: io.Hub = None,
    tag: io.Tag = None,
    components: io.Components = None,
    artifacts: io.Artifacts = None,
    artifact_sha256: io.ArtifactSha256 = None,
    no_crds: NoCrds = False,
) -> None:
    """Print the manifest install would apply, as YAML, without contacting a cluster.

    Objects are sorted so the output applies cleanly and diffs well: CRDs, namespaces, RBAC,
    configuration, services, workloads, webhooks. The revision's default-tag objects are included for
    the default revision, as install would create them on a cluster without a default tag.
    """
    from meshctl.cli.common import emit
    from meshctl.cli.installing import render_components, render_request, resolve_spec
    from meshctl.install.render import manifest_order
    from meshctl.kube.yamlio import dump

    req = render_request(profile, files, sets, revision, istio_version, hub, tag, components, artifacts,
                         artifact_sha256, crds=not no_crds)
    spec = resolve_spec(req)
    rendered = render_components(spec, req, default_tag=not spec.revision)
    objects = manifest_order([o for c in rendered for o in c.objects])
    emit("".join(f"---\n{dump(o)}" for o in objects))


@app.command("diff")
def diff(
    files_to_compare: Annotated[Optional[list[str]], typer.Argument(
        metavar="[OLD NEW]", show_default=False,
        help="two manifest files to compare; without them the render is compared with the live cluster.")] = None,
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
    reset_values: io.ResetValues = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Show what differs, object by object, as a unified diff; exit 0 when nothing differs, 1 when
    something does (like kubectl diff).

    Without files it renders what `install` with the same flags would (the values stored by the last
    install, this run's on top; --reset-values for the profile only), lists the value changes, and asks
    the cluster what applying would change, including what the install would delete. With two files it
    compares them.
    """
    from meshctl.cli.common import emit
    from meshctl.cli.installing import render_request
    from meshctl.errors import UsageError
    from meshctl.render.install import colour_diff

    if files_to_compare and len(files_to_compare) != 2:
        raise UsageError("manifest diff compares two files (OLD NEW), or the render with the cluster",
                         hint="meshctl manifest diff old.yaml new.yaml")
    if files_to_compare:
        from meshctl.install.installer import diff_objects
        from meshctl.kube.files import load_files

        old, new = (load_files([path], recursive=False) for path in files_to_compare)
        text = diff_objects(*([r.raw for kind in s.kinds() for r in s.list(kind)] for s in (old, new)))
    else:
        text = _diff_live(render_request(profile, files, sets, revision, istio_version, hub, tag, components,
                                         artifacts, artifact_sha256), context, kubeconfig, reset_values=reset_values)
    emit(colour_diff(text))
    raise typer.Exit(1 if text else 0)


def _diff_live(req, context, kubeconfig, *, reset_values: bool) -> str:
    from meshctl.cli.installing import (default_tag_needed, leave_shared_dataplane, live_target, plan_install,
                                        render_components, resolve_spec, with_stored_values)

    state, writer = live_target(context, kubeconfig)
    # What `install` with the same flags would render: stored values, the shared data plane left alone.
    spec, _ = with_stored_values(state, resolve_spec(req), req, reset_values=reset_values, force=True)
    req = leave_shared_dataplane(state, spec, req)
    rendered = render_components(spec, req, default_tag=default_tag_needed(state, spec.namespace, spec.revision))
    _, plan = plan_install(state, writer, rendered, spec, req, with_diff=True)
    return "".join(change.diff for change in plan.changes)
