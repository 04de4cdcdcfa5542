"""``meshctl uninstall``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app()


@app.command("uninstall")
def uninstall(
    revision: Annotated[Optional[str], typer.Option(
        "--revision", "-r", metavar="REV", show_default=False,
        help="remove this revision's control plane ('default' for the unrevisioned one).")] = None,
    purge: Annotated[bool, typer.Option(
        "--purge", help="remove everything meshctl installed: every revision, revision tags, Istio's CRDs, "
                        "and the waypoints and east-west gateways meshctl created.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="go ahead although enrolled namespaces, waypoints or tags still need the control "
                        "plane.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be deleted; delete nothing.")] = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    timeout: Annotated[str, typer.Option(
        "--timeout", metavar="DURATION",
        help="how long to wait for the cluster to remove what was deleted (finalizers, CRDs' resources).")] = "120s",
) -> None:
    """Remove a control-plane revision, or with --purge everything meshctl installed.

    Only objects meshctl owns are deleted (found by its owner labels); Istio's CRDs only with --purge.
    While ambient namespaces, waypoints or revision tags still rely on the control plane, it refuses
    and lists them (pods would lose their networking), unless --force.
    """
    from meshctl.cli.common import parse_timeout
    from meshctl.cli.installing import delete_after_confirming, live_target
    from meshctl.errors import MeshctlError, UsageError
    from meshctl.install import operations as ops
    from meshctl.mesh.controlplane import dataplane_revision
    from meshctl.render.console import print_err

    if (revision is None) == (not purge):
        raise UsageError("say what to remove: --revision REV, or --purge for everything",
                         hint="meshctl uninstall --revision default")
    if revision is not None and purge:
        raise UsageError("--revision and --purge exclude each other", hint="--purge removes every revision")
    wait = parse_timeout(timeout)
    state, writer = live_target(context, kubeconfig)
    rev = None if purge else ("" if revision == "default" else revision)
    installed = ops.installed_revisions(state, istio_namespace)
    others = [r for r in installed if r != ops.revision_name(rev)] if rev is not None else []
    doomed = ops.owned_objects(state, istio_namespace, rev, purge=purge, keep_shared=bool(others))
    if purge:
        doomed = ops.meshctl_gateways(state) + doomed
    if rev is not None and ops.revision_name(rev) not in installed and not doomed:
        listed = ", ".join(sorted(installed)) or "none"
        raise MeshctlError(f"no revision {ops.revision_name(rev)} in {istio_namespace} (context {state.info.context}; "
                           f"installed: {listed})", hint="list them with: meshctl version")
    if not doomed:
        what = "anything" if purge else f"revision {ops.revision_name(rev)} in {istio_namespace}"
        print_err(f"meshctl did not install {what}; nothing to do")
        return
    if rev is not None and others:
        follows = dataplane_revision(state, istio_namespace)
        if follows == ops.revision_name(rev):
            # ztunnel would keep pointing at an istiod that no longer exists, on every node.
            raise MeshctlError(
                f"ztunnel and istio-cni follow revision {follows}; removing it would leave every node's data "
                "plane without a control plane",
                hint=f"move them first, node by node: meshctl dataplane upgrade --revision {sorted(others)[0]}")
    blockers = ops.uninstall_blockers(state, rev, last=not others)
    if blockers and not force:
        parts = []
        if blockers.namespaces:
            parts.append(f"namespaces {', '.join(blockers.namespaces)}")
        if blockers.waypoints:
            parts.append(f"waypoints {', '.join(blockers.waypoints)}")
        if blockers.tags:
            parts.append(f"revision tags {', '.join(blockers.tags)}")
        steps = []
        if blockers.namespaces:
            steps.append(f"meshctl namespace unenroll {' '.join(blockers.namespaces)} --delete-waypoint")
        for ref in blockers.waypoints:
            ns, _, name = ref.partition("/")
            steps.append(f"meshctl waypoint delete -n {ns} {name}")
        for tag in blockers.tags:
            target = sorted(others)[0] if others else ""
            steps.append(f"meshctl tag set {tag} --revision {target} --overwrite" if target
                         else f"meshctl tag remove {tag}")
        raise MeshctlError(
            f"{' and '.join(parts)} still rely on the control plane being removed",
            hint="first: " + "; ".join(steps) + " — or pass --force if their pods may lose networking",
        )
    keeping = (f"keeping Base, istio-cni and ztunnel: revision(s) {', '.join(others)} still use them"
               if others and rev is not None else "")
    if delete_after_confirming(writer, doomed, question=f"Delete {len(doomed)} objects from context "
                               f"{state.info.context}?", yes=yes, dry_run=dry_run, before_asking=keeping,
                               timeout=wait):
        print_err(f"✔ Removed {len(doomed)} objects.")
