"""``meshctl snapshot save|show``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app(help="Capture cluster state for later, offline use, and inspect snapshots.",
                      no_args_is_help=True)


@app.command("save")
def save(
    path: Annotated[str, typer.Argument(metavar="PATH", help="where to write: a directory, or a file ending in .tar.gz.")],
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    cluster_name: Annotated[Optional[str], typer.Option(
        "--cluster-name", metavar="NAME",
        help="name the cluster in the snapshot (default: Istio's cluster name, else the context name).",
        show_default=False)] = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    force: Annotated[bool, typer.Option("--force", help=(
        "replace PATH even if it is not a meshctl snapshot (a link is replaced, never followed; a "
        "directory only if it holds nothing but snapshot files)."))] = False,
) -> None:
    """Capture every kind meshctl reads from one or more clusters (one folder per cluster).

    Secret values are removed (type, keys and metadata are kept); CRD schemas are left out.
    """
    from meshctl.cli.common import emit
    from meshctl.kube.snapshot import save_snapshot
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.controlplane import name_clusters
    from meshctl.render.progress import spinner
    from meshctl.render.snapshot import render_saved

    states = open_states(SourceOptions(files=files or [], contexts=contexts or [], kubeconfig=kubeconfig))
    names = name_clusters(states, cluster_name, istio_namespace)
    with spinner("capturing") as update:
        saved = save_snapshot(states, path, names=names, force=force, progress=update)
    emit(render_saved(path, saved))


@app.command("show")
def show(
    path: Annotated[str, typer.Argument(metavar="PATH", help="a snapshot directory or .tar.gz.")],
    contexts: opt.Contexts = None,
    kind: Annotated[Optional[str], typer.Option(
        "--kind", "-k", metavar="KIND", help="list the objects of one kind (kubectl names: pods, deploy, vs, ...).",
        show_default=False)] = None,
    namespace: opt.Namespace = None,
    all_namespaces: opt.AllNamespaces = False,
    output: opt.DataOutput = None,
) -> None:
    """Print what a snapshot holds: its clusters and how many objects of each kind."""
    from meshctl.cli.common import check_choice, emit
    from meshctl.kube.kinds import REGISTRY
    from meshctl.kube.snapshot import contents, load_snapshot
    from meshctl.render import snapshot as view
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("json", "yaml"))
    snap = load_snapshot(path)
    clusters = snap.select(contexts or [])
    if kind is None:
        found = [contents(c) for c in clusters]
        emit(render_data(view.contents_data(snap, found), output) if output else view.render_contents(snap, found))
        return
    k = REGISTRY.lookup(kind)
    ns = None if all_namespaces else namespace
    by_cluster = [(c.info.cluster, c.list(k, ns)) for c in clusters]
    if output:
        items = [r.raw for _, objs in by_cluster for r in objs]
        emit(render_data({"apiVersion": "v1", "kind": "List", "items": items}, output))
    else:
        text = view.render_objects(k, by_cluster)
        if text:
            emit(text)
        else:
            from meshctl.render.console import print_err

            print_err(f"No {k.resource} found" + (f" in namespace {ns}" if ns else "") + ".")
