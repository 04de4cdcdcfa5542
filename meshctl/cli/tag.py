"""``meshctl tag set|list|remove``: revision tags (stable names such as ``default`` for a revision)."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli import options as opt

app = opt.command_app(help="Point revision tags (such as default) at control-plane revisions.", no_args_is_help=True)

TagName = Annotated[str, typer.Argument(metavar="TAG", help="the tag, e.g. default or prod-stable.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the objects; change nothing.")]


@app.command("list")
def list_(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    snapshot: opt.Snapshot = None,
    files: opt.Filenames = None,
    output: opt.DataOutput = None,
) -> None:
    """List revision tags: the revision each points at and the namespaces that use it."""
    from meshctl.cli.common import check_choice, emit
    from meshctl.install.operations import revision_tags
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.render.formats import render_data
    from meshctl.render.tables import render_table

    check_choice("--output", output, ("json", "yaml"))
    states = open_states(SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [],
                                       kubeconfig=kubeconfig))
    rows = [(s.info.cluster, t) for s in states for t in revision_tags(s)]
    if output:
        emit(render_data([{"cluster": c, "tag": t.name, "revision": t.revision, "namespaces": list(t.namespaces)}
                          for c, t in rows], output))
        return
    headers = (["CLUSTER"] if len(states) > 1 else []) + ["TAG", "REVISION", "NAMESPACES"]
    table = [([c] if len(states) > 1 else []) + [t.name, t.revision, ",".join(t.namespaces) or "-"] for c, t in rows]
    emit(render_table(headers, table) if table else "no revision tags")


@app.command("set")
def set_(
    tag: TagName,
    revision: Annotated[str, typer.Option("--revision", "-r", metavar="REV",
                                          help="the installed revision the tag should point at.")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="move a tag that points at another revision.")] = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Point a tag at a revision: namespaces labelled istio.io/rev=TAG then use that revision.

    The tag is a mutating webhook, a Service and (for the default tag) the default validating webhook,
    as istioctl creates them. Moving the default tag is the last step of a canary upgrade.
    """
    from meshctl.cli.installing import confirm, live_target
    from meshctl.errors import MeshctlError
    from meshctl.install import operations as ops
    from meshctl.install.values import resolve
    from meshctl.install.render import render_tag
    from meshctl.kube.yamlio import dump
    from meshctl.render.console import print_err, print_out

    state, writer = live_target(context, kubeconfig)
    rev = "" if revision == "default" else revision
    installed = ops.installed_revisions(state, istio_namespace)
    if ops.revision_name(rev) not in installed:
        raise MeshctlError(f"revision {ops.revision_name(rev)} is not installed in {istio_namespace} "
                           f"(context {state.info.context})",
                           hint=f"installed revisions: {', '.join(installed) or 'none'}")
    current = next((t for t in ops.revision_tags(state) if t.name == tag), None)
    if current and current.revision == ops.revision_name(rev):
        print_err(f"tag {tag} already points at revision {current.revision}; nothing to do")
        return
    if current and not overwrite:
        raise MeshctlError(f"tag {tag} points at revision {current.revision}",
                           hint=f"pass --overwrite to move it to {ops.revision_name(rev)}")
    spec = resolve("ambient", [], [f"namespace={istio_namespace}"], overrides={"revision": rev})
    objects = render_tag(spec, tag, rev).objects
    if dry_run:
        print_out("".join(f"---\n{dump(o)}" for o in objects).rstrip("\n"))
        return
    users = f" ({len(current.namespaces)} namespaces use it)" if current and current.namespaces else ""
    confirm(f"Point tag {tag} at revision {ops.revision_name(rev)}{users}?", yes or current is None)
    for obj in objects:
        writer.apply(obj)
    print_err(f"✔ tag {tag} → revision {ops.revision_name(rev)}"
              + ("; ambient namespaces and their waypoints follow at once (nothing restarts); pods with "
                 "sidecars move when restarted (kubectl -n NAMESPACE rollout restart deployment)" if current else ""))


@app.command("remove")
def remove(
    tag: TagName,
    force: Annotated[bool, typer.Option("--force", help="remove it although namespaces still use it.")] = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
) -> None:
    """Remove a revision tag (its webhooks and Service); refuses while namespaces use it unless --force."""
    from meshctl.cli.installing import delete_after_confirming, live_target
    from meshctl.errors import MeshctlError
    from meshctl.install import operations as ops
    from meshctl.render.console import print_err

    state, writer = live_target(context, kubeconfig)
    current = next((t for t in ops.revision_tags(state) if t.name == tag), None)
    objects = ops.tag_objects(state, tag)
    if not objects:
        print_err(f"tag {tag} does not exist; nothing to do")
        return
    if current and current.namespaces and not force:
        raise MeshctlError(f"namespaces {', '.join(current.namespaces)} use tag {tag}",
                           hint="relabel them (istio.io/rev) first, or pass --force")
    if delete_after_confirming(writer, objects, question=f"Remove tag {tag}?", yes=yes, dry_run=dry_run):
        print_err(f"✔ tag {tag} removed")
