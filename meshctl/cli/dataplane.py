"""``meshctl dataplane upgrade``: move the shared data plane (istio-cni, ztunnel) to a revision."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import install_options as io
from meshctl.cli import options as opt

app = opt.command_app(help="Move the shared data plane (istio-cni, ztunnel) to a control-plane revision, node by node.",
                      no_args_is_help=True)


@app.callback()
def dataplane() -> None:
    """Move the shared data plane (istio-cni, ztunnel) to a control-plane revision, node by node."""


@app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Option(
        "--revision", "-r", metavar="REV", help="the installed revision to follow ('default' for the unrevisioned one).")],
    nodes: Annotated[Optional[str], typer.Option(
        "--nodes", metavar="SELECTOR", show_default=False,
        help="only the nodes with these labels (KEY=VALUE,...), e.g. a new node pool; the others keep their pods.")] = None,
    max_unavailable: Annotated[int, typer.Option(
        "--max-unavailable", min=1, metavar="N", help="how many nodes restart at once.")] = 1,
    timeout: Annotated[str, typer.Option(
        "--timeout", metavar="DURATION", help="how long each node's new pod may take to become ready.")] = "300s",
    artifacts: io.Artifacts = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would restart; change nothing.")] = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Point istio-cni, then ztunnel, at another revision's istiod, one node at a time.

    In ambient mode ztunnel and istio-cni serve every revision on a node, so `install --revision` leaves
    them alone; this is the step that moves them, once the new istiod runs. Each DaemonSet is applied
    with updateStrategy OnDelete, then its pod is replaced node by node (--max-unavailable at a time),
    each new pod Ready before the next. It stops at the first node that does not become ready, with the
    commands to resume or roll back. Rolling back is the same command with the old revision.
    """
    from meshctl.cli.common import parse_timeout
    from meshctl.cli.installing import RenderRequest, confirm, live_target, render_components, resolve_spec
    from meshctl.errors import MeshctlError
    from meshctl.install import dataplane as dp
    from meshctl.install import operations as ops
    from meshctl.install.render import CNI, ZTUNNEL
    from meshctl.kube.apply import WaitTimeout
    from meshctl.mesh.controlplane import dataplane_revision
    from meshctl.render.console import print_err, print_out, warn

    wait = parse_timeout(timeout)
    selector = dp.parse_node_selector(nodes)
    state, writer = live_target(context, kubeconfig)
    name = ops.revision_name("" if revision == "default" else revision)
    installed = ops.installed_revisions(state, istio_namespace)
    if name not in installed:
        listed = ", ".join(sorted(installed)) or "none"
        raise MeshctlError(f"revision {name} is not installed in {istio_namespace} (context {state.info.context}; "
                           f"installed: {listed})", hint=f"install it first: meshctl install --revision {name}")
    follows = dataplane_revision(state, istio_namespace) or "none"
    chosen = dp.node_names(state, selector) if selector else None
    if chosen == []:
        raise MeshctlError(f"no node has the labels {nodes}", hint="list the nodes' labels: kubectl get nodes --show-labels")
    stored = ops.stored_user_values(state, istio_namespace, name)
    req = RenderRequest(profile=None, revision=name, istio_version=installed[name].version or None,
                        artifacts=artifacts, components=["cni", "ztunnel"])
    spec = resolve_spec(req, stored)
    components = [c for c in render_components(spec, req, default_tag=False) if c.name in (CNI, ZTUNNEL) and c.objects]
    where = f"nodes {', '.join(chosen)}" if chosen is not None else "every node"
    print_err(f"Moving the data plane of context {state.info.context} from revision {follows} to {name}: "
              f"istio-cni, then ztunnel, on {where}, {max_unavailable} node(s) at a time")
    warn(dp.CAVEAT)
    if dry_run:
        for comp in components:
            for obj in comp.objects:
                print_out(f"would apply {obj['kind'].lower()}/{obj['metadata']['name']}")
        print_err("dry run: nothing was changed")
        return
    confirm(f"Restart istio-cni and ztunnel on {where} of context {state.info.context}?", yes)
    again = f"meshctl dataplane upgrade --revision {name}" + (f" --nodes {nodes}" if nodes else "")
    back = f"meshctl dataplane upgrade --revision {follows}" + (f" --nodes {nodes}" if nodes else "")
    results = []
    for comp in components:
        daemonsets = [o for o in comp.objects if o["kind"] == "DaemonSet"]
        for obj in comp.objects:
            writer.apply(dp.with_on_delete(obj) if obj["kind"] == "DaemonSet" else obj)
        for ds in daemonsets:
            try:
                results.append((ds, dp.roll(state, writer, ds, nodes=chosen, max_unavailable=max_unavailable,
                                            timeout=wait, progress=print_err)))
            except WaitTimeout as err:
                raise MeshctlError(f"{err}; stopped there", hint=f"see why: kubectl -n {istio_namespace} get pods "
                                   f"-o wide; resume with: {again}; or roll back with: {back}") from None
    left = sorted({n for _, r in results for n in r.left})
    if left:
        print_err(f"{len(left)} node(s) outside --nodes keep the pods of revision {follows}: {', '.join(left)}; "
                  f"move them with: meshctl dataplane upgrade --revision {name} (the DaemonSets stay OnDelete "
                  "until then)")
    else:
        for ds, _ in results:  # every node is on the new pods: the rendered strategy again, no restart
            writer.apply(ds)
    rolled = sorted({n for _, r in results for n in r.rolled + r.current})
    print_err(f"✔ The data plane follows revision {name} on {len(rolled)} node(s) of context {state.info.context}.")
