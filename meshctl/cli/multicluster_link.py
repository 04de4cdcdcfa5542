"""``meshctl multicluster expose|link|unlink``: the commands that change clusters (registered in
``multicluster.py``). The checking, planning and writing is in ``meshctl.install.multicluster``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt

Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="print what would be created, changed or removed (tokens redacted); change nothing.")]
Wait = Annotated[Optional[str], typer.Option(
    "--wait", metavar="DURATION", show_default=False,
    help="wait this long (90s, 5m) for the east-west gateway to be Programmed and get an address.")]
Contexts = Annotated[Optional[list[str]], typer.Option(
    "--context", metavar="NAME", show_default=False, rich_help_panel=opt.SOURCE,
    help="kubeconfig context of a cluster; repeat for each (two or more).")]

DEFAULT_TIMEOUT = 300.0
GatewayApi = Annotated[bool, typer.Option(
    "--gateway-api", help="install the Gateway API CRDs (the bundle istiod's version pins) where they are "
    "missing or older; the east-west gateway is a Gateway API Gateway.")]


def expose(
    network: Annotated[str, typer.Option("--network", metavar="NETWORK",
                                         help="the cluster's network (labels istio-system topology.istio.io/network).")],
    cluster_name: Annotated[Optional[str], typer.Option(
        "--cluster-name", metavar="NAME", show_default=False,
        help="also set the cluster's name (values.global.multiCluster.clusterName) in meshctl's install.")] = None,
    mesh_id: Annotated[Optional[str], typer.Option(
        "--mesh-id", metavar="ID", show_default=False,
        help="also set the mesh ID (values.global.meshID) in meshctl's install.")] = None,
    wait: Wait = None,
    force: Annotated[bool, typer.Option("--force", help="move a cluster already labelled with another network.")] = False,
    gateway_api: GatewayApi = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    artifacts: io.Artifacts = None,
    artifact_sha256: io.ArtifactSha256 = None,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Make a cluster reachable from other networks: network label, multi-network istiod, east-west gateway.

    Labels istio-system with the network, turns on AMBIENT_ENABLE_MULTI_NETWORK through an upgrade of
    meshctl's install (or prints the exact change for a control plane meshctl did not install), and
    creates the east-west Gateway (class istio-east-west). Running it again changes nothing.
    """
    from meshctl.cli.common import parse_timeout
    from meshctl.kube.apply import writer_for
    from meshctl.mesh.multicluster import describe_identity

    seconds = parse_timeout(wait) if wait else None
    [state] = _open([context] if context else [""], kubeconfig)
    run_expose(state, writer_for(state), describe_identity(state), network, force=force, cluster_name=cluster_name,
               mesh_id=mesh_id, artifacts=artifacts, artifact_sha256=artifact_sha256 or [], yes=yes,
               dry_run=dry_run, wait=seconds, gateway_api=gateway_api)


def link(
    contexts: Contexts = None,
    expose_: Annotated[bool, typer.Option(
        "--expose", help="first expose the clusters that need it (network label, multi-network, east-west gateway).")] = False,
    networks: Annotated[Optional[list[str]], typer.Option(
        "--network", metavar="CONTEXT=NETWORK", show_default=False,
        help="with --expose: the network of a cluster whose istio-system has no network label; repeatable.")] = None,
    servers: Annotated[Optional[list[str]], typer.Option(
        "--server", metavar="CONTEXT=URL", show_default=False,
        help="the API server address peers should use for a cluster (default: the kubeconfig's); repeatable.")] = None,
    gateway_api: Annotated[bool, typer.Option(
        "--gateway-api", help="with --expose: install the Gateway API CRDs where they are missing or older.")] = False,
    allow_loopback: Annotated[bool, typer.Option(
        "--allow-loopback", help="write remote secrets naming a loopback API server address (only for clusters "
                                 "that share one host's network, as in single-host test setups).")] = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    artifacts: io.Artifacts = None,
    artifact_sha256: io.ArtifactSha256 = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Link clusters into one mesh: each reads every other through a remote secret.

    Checks everything first (reachable, unique cluster names, one meshID, networks, one root CA,
    east-west gateways) and lists every problem with its fix before changing anything. Then creates
    in each cluster what is missing of the reader ServiceAccount, its ClusterRole and Binding and token
    Secret, and in every peer the cluster's remote secret; clusters are worked on in parallel. Finally
    verifies the links. Running it again changes nothing.
    """
    from meshctl.errors import MeshctlError
    from meshctl.install import multicluster as mc
    from meshctl.mesh.multicluster import is_loopback_server
    from meshctl.render.console import print_err, warn

    names = _two_or_more(contexts)
    network_of = mc.parse_pairs("--network", networks, names)
    server_of = mc.parse_pairs("--server", servers, names)
    states, identities = _preflight(names, kubeconfig, expose=expose_, networks=network_of)
    if expose_:
        identities = _expose_where_needed(names, states, identities, network_of, artifacts=artifacts,
                                          artifact_sha256=artifact_sha256 or [], yes=yes, dry_run=dry_run,
                                          gateway_api=gateway_api)
    targets = _targets(names, states, identities, server_of)
    local = [t for t in targets if is_loopback_server(t.server)]
    if local and not allow_loopback:
        # Inside a peer's pods a loopback address is the pod itself: the link could never work.
        first = local[0]
        more = "".join(f"; context {t.context}: cluster {t.name} at {t.server}" for t in local[1:])
        raise MeshctlError(f"context {first.context}: peers would reach cluster {first.name} at {first.server}, a "
                           f"local address they cannot reach{more}; nothing was changed",
                           hint="pass " + " ".join(f"--server {t.context}=URL" for t in local) + " with an address "
                                "the other clusters' pods can reach (e.g. the control-plane node's IP); "
                                "--allow-loopback only for clusters sharing one host's network")
    for t in local:
        warn(f"context {t.context}: remote secrets will name {t.server}, a loopback address (--allow-loopback)")
    plan = mc.plan_link(targets)
    if dry_run:
        _print_plan(plan.steps, targets)
        _raise_failures(plan.failures, "read")
        print_err("dry run: nothing was changed")
        return
    if plan.changed:
        from meshctl.cli.installing import confirm

        counts = _counts(plan.steps)
        confirm(f"Link {len(targets)} clusters ({counts})?", yes)
    result = mc.link(plan)
    _print_result(result.steps, targets, verb="linked")
    _raise_failures(result.failures, "link")
    _verify(list(states.values()))


def unlink(
    contexts: Contexts = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Remove the links between clusters: exactly what 'link' created among them.

    Deletes the remote secrets the named clusters hold of each other, and the reader token Secret,
    ServiceAccount, ClusterRole and Binding that link created in a cluster that is then linked with no
    other; what an install created is never removed. What 'expose' made (east-west gateway, network
    label, multi-network) stays, and is listed with the command that removes each. Running it again
    changes nothing.
    """
    from meshctl.install import multicluster as mc
    from meshctl.render.console import print_err

    names = _two_or_more(contexts)
    states, unreachable = mc.open_clusters(names, kubeconfig)
    identities, failed = mc.describe_all(states)
    unreachable.update(failed)
    if unreachable:
        _raise_problems([mc.Problem(c, e.message, e.hint or "") for c, e in unreachable.items()], (), "unlinking")
    targets = _targets(names, states, identities, {}, endpoints=False)
    plan = mc.unlink(targets, dry_run=True)
    if dry_run:
        _print_plan(plan.steps, targets)
        _raise_failures(plan.failures, "read")
        print_err("dry run: nothing was changed")
        return
    if not any(s.action == mc.DELETE for s in plan.steps):
        _raise_failures(plan.failures, "read")
        print_err(f"✔ nothing to remove: these {len(targets)} clusters hold nothing link created for each other")
        return
    from meshctl.cli.installing import confirm

    confirm(f"Unlink {len(targets)} clusters ({_counts(plan.steps)})?", yes)
    result = mc.unlink(targets)
    _print_result(result.steps, targets, verb="unlinked")
    _print_left_in_place(names, identities)
    _raise_failures(result.failures, "unlink")


def _print_left_in_place(names, identities) -> None:
    """What 'expose' made stays (other links or gateways may use it): say what, and how to remove each."""
    from meshctl.mesh import labels as L
    from meshctl.render.console import print_err

    for ctx in names:
        ident = identities.get(ctx)
        if ident is None:
            continue
        parts = [f"east-west gateway {g.namespace}/{g.name} (kubectl --context {ctx} -n {g.namespace} delete "
                 f"gateways.gateway.networking.k8s.io {g.name})" for g in ident.east_west]
        if ident.network:
            parts.append(f"network label {ident.network} (kubectl --context {ctx} label namespace "
                         f"{L.ISTIO_NAMESPACE} {L.NETWORK}-)")
        if ident.multi_network:
            parts.append(f"multi-network on (for a meshctl install: meshctl upgrade --context {ctx} --set "
                         "features.multiNetwork=false)")
        if parts:
            print_err(f"context {ctx}: left in place, as 'multicluster expose' made them: " + "; ".join(parts))


# -- the steps the commands share --------------------------------------------------------------------------


def _two_or_more(contexts: list[str] | None) -> list[str]:
    from meshctl.errors import UsageError

    names = list(dict.fromkeys(contexts or []))
    if len(names) < 2:
        raise UsageError("name at least two clusters to link, each with --context",
                         hint="meshctl multicluster link --context CTX1 --context CTX2")
    return names


def _open(contexts: list[str], kubeconfig: str | None):
    from meshctl.install import multicluster as mc

    states, failed = mc.open_clusters(contexts, kubeconfig)
    if failed:
        raise next(iter(failed.values()))
    return list(states.values())


def _preflight(names, kubeconfig, *, expose: bool, networks: dict[str, str]):
    """Open and read every cluster, check all of them; every problem listed, nothing changed on failure."""
    from meshctl.install import multicluster as mc
    from meshctl.render.console import warn

    states, unreachable = mc.open_clusters(names, kubeconfig)
    identities, failed = mc.describe_all(states)
    unreachable.update(failed)
    result = mc.check_clusters(names, identities, unreachable, expose=expose, networks=networks)
    for problem in result.warnings:
        warn(f"context {problem.context}: {problem.message} (hint: {problem.hint})")
    if result.fatal:
        _raise_problems(result.fatal, result.trust_fix, "linking")
    return states, identities


def _raise_problems(problems, trust_fix, doing: str) -> None:
    from meshctl.errors import MeshctlError
    from meshctl.render.console import print_err

    for p in problems:
        print_err(f"✘ context {p.context}: {p.message}")
        print_err(f"    hint: {p.hint}")
    if trust_fix:
        print_err("To give every cluster the same root CA (workloads get new certificates as istiod restarts):")
        for line in trust_fix:
            print_err(f"    {line}")
    raise MeshctlError(f"{len(problems)} problem(s) found before {doing}; nothing was changed",
                       hint="fix each problem listed above, then run the same command again")


def _expose_where_needed(names, states, identities, network_of, *, artifacts, artifact_sha256, yes, dry_run,
                         gateway_api=False):
    """link --expose: run expose on each cluster that lacks a network label, multi-network or an east-west
    gateway (one after the other: an upgrade shows its own progress); then read those clusters again."""
    from meshctl.kube.apply import writer_for
    from meshctl.mesh.multicluster import describe_identity

    for ctx in names:
        ident = identities[ctx]
        if ident.network and ident.multi_network and ident.east_west:
            continue
        state = states[ctx]
        run_expose(state, writer_for(state), ident, ident.network or network_of[ctx], force=False,
                   cluster_name=None, mesh_id=None, artifacts=artifacts, artifact_sha256=artifact_sha256, yes=yes,
                   dry_run=dry_run, wait=None, gateway_api=gateway_api)
        if not dry_run:
            identities[ctx] = describe_identity(state)
    return identities


def run_expose(state, writer, identity, network: str, *, force: bool, cluster_name, mesh_id, artifacts,
               artifact_sha256, yes: bool, dry_run: bool, wait: float | None, gateway_api: bool = False) -> None:
    """The expose steps on one cluster: network label, multi-network (through the install), gateway."""
    from meshctl.cli.installing import CHANGED, MANUAL, confirm, enable_feature, install_gateway_api
    from meshctl.install.versions import DEFAULT_ISTIO_VERSION
    from meshctl.install import multicluster as mc
    from meshctl.kube.yamlio import dump
    from meshctl.mesh import labels as L
    from meshctl.render.console import print_err, print_out, warn
    from meshctl.render.progress import spinner

    if gateway_api:
        istio_version = identity.istiod_versions[-1] if identity.istiod_versions else DEFAULT_ISTIO_VERSION
        if install_gateway_api(state, writer, istio_version, artifacts=artifacts, artifact_sha256=artifact_sha256,
                               dry_run=dry_run, yes=yes):
            state.rediscover()
    plan = mc.plan_expose(state, identity, network, force=force, cluster_name=cluster_name, mesh_id=mesh_id)
    ctx, would = plan.context, "would " if dry_run else ""
    gateway_ref = f"{plan.namespace}/{plan.gateway_name}"
    if not dry_run and (plan.label != mc.UNCHANGED or plan.gateway_action in (mc.CREATE, mc.UPDATE)):
        confirm(f"Expose context {ctx} on network {network}?", yes)
    if plan.label == mc.UNCHANGED:
        print_out(f"context {ctx}: {plan.namespace} is already on network {network}")
    else:
        if not dry_run:
            mc.label_network(writer, plan)
        moved = f" (was {plan.previous_network})" if plan.previous_network else ""
        print_out(f"context {ctx}: {would}label {plan.namespace} {L.NETWORK}={network}{moved}")
    outcome = enable_feature(state, writer, "multiNetwork", artifacts=artifacts, artifact_sha256=artifact_sha256,
                             yes=yes, dry_run=dry_run, timeout=wait or DEFAULT_TIMEOUT, extra_sets=plan.install_sets)
    if outcome == MANUAL:
        warn(f"context {ctx}: multi-network is not on until the change printed above is made; the east-west "
             "gateway stays unprogrammed until then")
    else:
        said = ("would be turned on" if dry_run else "turned on") if outcome == CHANGED else "already on"
        print_out(f"context {ctx}: multi-network ({L.MULTI_NETWORK_ENV}) {said}")
    if plan.gateway_action == mc.KEPT:
        print_out(f"context {ctx}: east-west gateway {plan.kept_gateway} exists; kept as it is")
    elif plan.gateway_action == mc.UNCHANGED:
        print_out(f"context {ctx}: east-west gateway {gateway_ref} unchanged")
    elif dry_run:
        print_out(f"context {ctx}: would {plan.gateway_action} east-west gateway {gateway_ref}:")
        print_out("---\n" + dump(plan.gateway).rstrip("\n"))
    else:
        mc.apply_east_west(writer, plan)
        print_out(f"context {ctx}: east-west gateway {gateway_ref} {plan.gateway_action}d")
    if wait is not None and not dry_run:
        with spinner(f"waiting for east-west gateway {gateway_ref}") as update:
            addresses = mc.wait_east_west(writer, plan, wait, update)
        print_out(f"context {ctx}: east-west gateway {gateway_ref} is Programmed at {', '.join(addresses)}")
    elif not dry_run:
        print_err(f"(see whether it is Programmed with: meshctl multicluster check --context {ctx})")


def _targets(names, states, identities, server_of, *, endpoints: bool = True):
    from meshctl.install import multicluster as mc
    from meshctl.kube.apply import writer_for

    targets = []
    for ctx in names:
        state = states[ctx]
        server, ca = mc.kubeconfig_endpoint(state) if endpoints else ("", "")
        if ctx in server_of:
            server = server_of[ctx].rstrip("/")
        targets.append(mc.LinkTarget(ctx, identities[ctx].cluster_name or "", state, writer_for(state), server, ca))
    return targets


def _counts(steps) -> str:
    from collections import Counter

    from meshctl.install import multicluster as mc

    counts = Counter(s.action for s in steps)
    parts = [f"{counts[a]} to {a}" for a in mc.CHANGES if counts[a]]
    return ", ".join(parts) or "nothing to change"


def _print_plan(steps, targets) -> None:
    """Per cluster, every object and what would happen to it (stdout)."""
    from meshctl.render.console import print_out

    for t in targets:
        mine = [s for s in steps if s.context == t.context]
        print_out(f"context {t.context} (cluster {t.name or 'unnamed'}):")
        for s in mine or []:
            print_out(f"  {s.line()}")
        if not mine:
            print_out("  nothing")


def _print_result(steps, targets, *, verb: str) -> None:
    """What changed (stdout), then a one-line summary (stderr); unchanged objects only counted."""
    from meshctl.install import multicluster as mc
    from meshctl.render.console import print_err, print_out

    for t in targets:
        for s in steps:
            if s.context == t.context and s.action != mc.UNCHANGED:
                print_out(f"context {t.context}: {s.line()}")
    changed = [s for s in steps if s.action in mc.CHANGES]
    unchanged = sum(1 for s in steps if s.action == mc.UNCHANGED)
    if changed:
        from collections import Counter

        counts = Counter(s.action for s in changed)
        done = ", ".join(f"{n} {action}d" for action, n in sorted(counts.items()))  # created, updated, deleted
        print_err(f"✔ {verb} {len(targets)} clusters: {done}, {unchanged} unchanged")
    else:
        print_err(f"✔ nothing to change: {len(targets)} clusters already {verb} ({unchanged} objects unchanged)")


def _raise_failures(failures, doing: str) -> None:
    """Every cluster that failed, then one error: finished work stays, and a re-run completes the rest."""
    from meshctl.errors import MeshctlError
    from meshctl.render.console import report_error

    if not failures:
        return
    for _ctx, err in failures[:-1]:
        report_error(err.message, err.hint)
    _ctx, last = failures[-1]
    more = f" ({len(failures)} clusters failed)" if len(failures) > 1 else ""
    error = MeshctlError(last.message + more,
                         hint=(last.hint + "; " if last.hint else "")
                         + f"what finished is kept: run the same command again to complete the {doing}")
    error.exit_code = last.exit_code
    raise error


def _verify(states) -> None:
    """The checks 'multicluster check' runs, on the clusters just linked; exit 1 when one fails."""
    import sys

    from meshctl.cli.multicluster_check import verify_links
    from meshctl.errors import MeshctlError
    from meshctl.mesh.health import failures
    from meshctl.render.checks import render_checks

    categories = verify_links(states)
    text = render_checks(categories)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    failed = failures(categories)
    if failed:
        raise MeshctlError(f"the clusters were linked, but {len(failed)} check(s) failed",
                           hint="see the checks above; 'meshctl multicluster check' runs them again")
