"""``meshctl ca generate|install|show``: one root of trust for every cluster of a mesh."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app(
    help="Create, install and inspect the certificate authorities that give clusters a shared root of trust.\n\n"
         "Workloads in different clusters accept each other's certificates only when every cluster's istiod "
         "signs with an intermediate of one root. 'generate' writes a root and an intermediate per cluster, "
         "'install' puts a cluster's intermediate into the cacerts Secret istiod reads, 'show' compares "
         "the clusters.",
    no_args_is_help=True,
)

FromDir = Annotated[
    Optional[str],
    typer.Option("--from", metavar="DIR", show_default=False,
                 help="the directory 'ca generate -o' wrote (holding one subdirectory per cluster)."),
]


@app.command("generate")
def generate(
    out_dir: Annotated[str, typer.Option("--output-dir", "-o", metavar="DIR",
                                         help="where to write the root and the cluster directories.")],
    clusters: Annotated[Optional[list[str]], typer.Option(
        "--cluster", metavar="NAME", show_default=False,
        help="a cluster to make an intermediate CA for (its global.multiCluster.clusterName); repeat.")] = None,
    root: Annotated[Optional[str], typer.Option(
        "--root", metavar="DIR", show_default=False,
        help="sign with the root in DIR (root-cert.pem, root-key.pem) instead of the one in -o DIR.")] = None,
    key_type: Annotated[Optional[str], typer.Option(
        "--key-type", metavar="TYPE", show_default=False,
        help="key of new CAs: rsa-4096 or ec-p256 (default: rsa-4096, or the type of a reused root).")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the intermediates of the named clusters.")] = False,
) -> None:
    """Write a root CA and an intermediate CA per cluster.

    The intermediates are signed by the root. Files: DIR/root-cert.pem and DIR/root-key.pem, and DIR/<cluster>/ with ca-cert.pem, ca-key.pem,
    cert-chain.pem and root-cert.pem (the cacerts Secret's keys). Keys are written 0600. An existing root
    is reused and an existing intermediate kept (unless --force), so running it again changes nothing.
    """
    from pathlib import Path

    from meshctl.cli.common import emit
    from meshctl.install import ca
    from meshctl.render.ca import render_generated
    from meshctl.render.console import print_err

    if key_type is not None:
        ca.check_key_type(key_type)  # before anything is written
    result = ca.generate(Path(out_dir), clusters or [], root_dir=Path(root) if root else None,
                         key_type=key_type, force=force)
    for c in result.clusters:
        if c.action == "kept":
            print_err(f"kept the existing intermediate of cluster {c.name} (pass --force to replace it)")
    emit(render_generated(result))
    if result.clusters:
        print_err(f"next: meshctl ca install --cluster NAME --from {out_dir} --context CONTEXT, for each cluster")
    else:
        print_err("no --cluster given: only the root exists; add intermediates with --cluster NAME")


@app.command("install")
def install(
    cluster: Annotated[str, typer.Option("--cluster", metavar="NAME",
                                         help="the cluster whose intermediate to install (a directory in --from).")],
    source: Annotated[str, typer.Option("--from", metavar="DIR", help="the directory 'ca generate -o' wrote.")],
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    force: Annotated[bool, typer.Option(
        "--force", help="replace a cacerts Secret that holds another root or another layout.")] = False,
    restart: Annotated[bool, typer.Option(
        "--restart", help="then restart every istiod Deployment in the namespace, so it reads the new CA.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="print the Secret (values redacted) and what would happen; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")] = False,
) -> None:
    """Put a cluster's intermediate CA into its cacerts Secret.

    istiod signs workload certificates with it. The Secret is server-side applied; the files are checked first (the key matches, the chain ends at the root). An unchanged Secret is
    left alone; one holding another root is replaced only with --force. istiod reads the Secret when it
    starts: --restart restarts it; workloads then get certificates of the new CA as theirs rotate.
    """
    from pathlib import Path

    from meshctl.cli.common import emit
    from meshctl.cli.installing import confirm, live_target
    from meshctl.install import ca
    from meshctl.kube import kinds as K
    from meshctl.render import ca as view
    from meshctl.render.console import print_err

    bundle = ca.load_cluster_ca(Path(source), ca.check_cluster_name(cluster))  # before touching the cluster
    now = ca.utcnow()
    ca.refuse_expired(bundle, now)
    secret = ca.cacerts_secret(bundle, istio_namespace)
    state, writer = live_target(context, kubeconfig)
    plan = ca.plan_install(state, secret, bundle, force=force)
    where = state.info.context
    if dry_run:
        emit(view.render_secret(ca.redacted(secret)))
        print_err(view.render_installed(plan, where, dry_run=True))
        if restart:
            names = [d.name for d in ca.istiod_deployments(state, istio_namespace)]
            print_err(f"would restart: {', '.join(names) or 'no istiod Deployment found'}")
        return
    changes = plan.changes
    if changes or restart:
        confirm(view.install_question(plan, where, restart), yes)
    if plan.create_namespace:
        writer.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": istio_namespace}})
    if plan.action == "replace":  # another layout: the type of a Secret cannot change in place
        writer.delete(K.SECRET, secret["metadata"]["name"], istio_namespace)
    if changes:
        writer.apply(secret)
    if plan.drop_keys:
        writer.merge_patch(K.SECRET, secret["metadata"]["name"], istio_namespace,
                           {"data": {key: None for key in plan.drop_keys}})
    emit(view.render_installed(plan, where, dry_run=False))
    if restart:
        deployments = ca.istiod_deployments(state, istio_namespace)
        for d in deployments:
            writer.merge_patch(K.DEPLOYMENT, d.name, istio_namespace, ca.restart_patch(now))
            emit(f"deployment/{d.name} restarted (namespace {istio_namespace})")
        if not deployments:
            print_err(f"no istiod Deployment in {istio_namespace} to restart; istiod reads cacerts when it starts")
        else:
            print_err("workloads get certificates of the new CA as theirs rotate (within 24 hours by default)")
    elif changes and not ca.istiod_deployments(state, istio_namespace):
        print_err("no istiod runs here yet; it will use this CA from its first start")
    elif changes:
        print_err(f"istiod reads cacerts only when it starts: restart it (--restart, or kubectl rollout restart "
                  f"deployment -n {istio_namespace} -l app=istiod); workloads then get certificates of the new "
                  "CA as theirs rotate")


@app.command("show")
def show(
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FORMAT", help="table, json or yaml (default: a table).",
        rich_help_panel=opt.OUTPUT, show_default=False)] = None,
    source: FromDir = None,
) -> None:
    """Show each cluster's CA and flag differing roots.

    Root fingerprint, issuer, expiry and days left per cluster. Reads the cacerts Secret (else istiod's self-signed istio-ca-secret) of each --context, and with
    --from the files 'ca generate' wrote. Warns about certificates expiring within 30 days and clusters
    on istiod's self-signed root; exits 1 when roots differ or a certificate has expired.
    """
    from pathlib import Path

    from meshctl.cli.common import check_choice, emit
    from meshctl.install import ca
    from meshctl.render import ca as view
    from meshctl.render.formats import render_data

    check_choice("--output", output, ("table", "json", "yaml"))
    infos = []
    if contexts or not source:  # --from alone reads no cluster
        from meshctl.kube.live import open_live

        infos += [ca.find_trust(state, istio_namespace) for state in open_live(contexts or None, kubeconfig)]
    if source:
        infos += ca.trust_from_files(Path(source))
    now = ca.utcnow()
    findings = ca.check_trust(infos, now)
    if output in ("json", "yaml"):
        emit(render_data(view.trust_data(infos, findings, now), output))
    else:
        emit(view.render_trust(infos, findings, now))
    if ca.has_failure(findings):
        raise typer.Exit(1)
