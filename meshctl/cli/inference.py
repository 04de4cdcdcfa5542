"""``meshctl inference status|scaffold|enable``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from meshctl.cli import options as opt

app = opt.command_app(
    help="Serve AI inference traffic: enable the Gateway API Inference Extension, show pools, scaffold them.",
    no_args_is_help=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="ask the API server what would change; change nothing.")]


@app.command("status")
def status(
    namespace: opt.Namespace = None,
    all_namespaces: opt.AllNamespaces = False,
    output: opt.DataOutput = None,
    contexts: opt.Contexts = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
    snapshot: opt.Snapshot = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Show each InferencePool: its routes and their Gateways, endpoint picker, model-server pods and problems.

    One row per pool, then what each parent Gateway reports (Accepted, ResolvedRefs) for the routes
    and the pool, then every problem with a hint. Checked: the route's group and ReferenceGrants,
    the endpoint picker's Service, port, ready endpoints, --pool-name and (behind an istio
    Gateway) its TLS DestinationRule, pods the selector matches, target ports against container
    ports, and istiod's ENABLE_GATEWAY_API_INFERENCE_EXTENSION. Routes naming a pool that does not
    exist get a row marked (not found). Live, the context's namespace unless -n or -A; from files
    or a snapshot, every namespace unless -n. Exits 1 when any pool has a problem, 0 otherwise.
    """
    from meshctl.cli.common import check_choice, emit
    from meshctl.cli.sources import read_scope
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.mesh.inference import describe_inference
    from meshctl.render import inference as view

    if check_choice("--output", output, ("table", "json", "yaml")) == "table":
        output = None
    states = open_states(SourceOptions(files=files or [], snapshot=snapshot, contexts=contexts or [],
                                       kubeconfig=kubeconfig, namespace=namespace))
    scopes = [read_scope(s, namespace, all_namespaces) for s in states]
    results = [describe_inference(s, scope, istio_namespace) for s, scope in zip(states, scopes)]
    if output:
        from meshctl.render.formats import render_data

        emit(render_data(view.inference_data(results), output))
    elif not any(r.pools for r in results):
        from meshctl.render.console import print_err

        print_err(view.none_found(scopes[0] if len(set(scopes)) == 1 else None, any(r.served for r in results)))
    else:
        emit(view.render_status(results))
    raise typer.Exit(1 if any(r.problems for r in results) else 0)


@app.command("scaffold")
def scaffold(
    deployment: Annotated[str, typer.Option("--deployment", metavar="NS/NAME",
                                            help="the model-server Deployment the pool will select.")],
    port: Annotated[int, typer.Option("--port", metavar="N", help="the container port the model server serves on.")],
    gateway: Annotated[Optional[str], typer.Option(
        "--gateway", metavar="NS/NAME", help="also write an HTTPRoute from this Gateway to the pool.",
        show_default=False)] = None,
    path: Annotated[str, typer.Option("--path", metavar="PREFIX", help="path prefix the HTTPRoute matches.")] = "/",
    name: Annotated[Optional[str], typer.Option(
        "--name", metavar="POOL", help="name of the pool (default: DEPLOYMENT-pool); the endpoint picker is "
                                       "POOL-epp (default: DEPLOYMENT-epp).", show_default=False)] = None,
    apply: Annotated[bool, typer.Option("--apply", help="apply the set (server-side apply) instead of printing it.")]
    = False,
    dry_run: DryRun = False,
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    files: opt.Filenames = None,
) -> None:
    """Write an InferencePool, its endpoint picker and a route for an existing model-server Deployment.

    The set: InferencePool (selector = the Deployment's pod labels, targetPorts = --port, FailClose),
    the endpoint picker's ServiceAccount, Role, RoleBinding, plugins ConfigMap, Deployment and
    Service (gRPC 9002), the DestinationRule that makes Istio's gateway use TLS to it, and with
    --gateway an HTTPRoute (path prefix --path, 300s request timeout). Prints YAML, or with --apply
    applies it (running it again changes nothing). The Deployment is read from the cluster, or from
    -f files when printing. Refuses a Deployment that does not declare --port.
    """
    from meshctl.cli.common import emit
    from meshctl.install.inference import parse_ref, plan_scaffold
    from meshctl.kube.sources import SourceOptions, open_states
    from meshctl.render import inference as view

    namespace, server = parse_ref(deployment, "--deployment")
    parent = parse_ref(gateway, "--gateway") if gateway else None
    [state] = open_states(SourceOptions(files=files or [], contexts=[context] if context else [],
                                        kubeconfig=kubeconfig), multi=False)
    plan = plan_scaffold(state, namespace, server, port, gateway=parent, path=path, name=name)
    if not (apply or dry_run):
        emit(view.render_manifests(plan.objects))
        return
    from meshctl.install.inference import apply_scaffold
    from meshctl.kube.apply import writer_for

    writer = writer_for(state)
    emit(view.render_applied(apply_scaffold(state, writer, plan, dry_run=dry_run), dry_run))


@app.command("enable")
def enable(
    gateway_api: Annotated[bool, typer.Option(
        "--gateway-api", help="also install the Gateway API CRDs (the standard bundle the installed Istio "
                              "version pins) when they are missing or older.")] = False,
    inference_version: Annotated[Optional[str], typer.Option(
        "--inference-version", metavar="VERSION", help="Inference Extension release whose CRDs to install "
                                                      "(default: v1.6.0).", show_default=False)] = None,
    artifacts: Annotated[Optional[str], typer.Option(
        "--artifacts", metavar="DIR|BUNDLE", show_default=False,
        help="read the release files from a directory or a bundle made by 'meshctl artifacts pull' "
             "(the network is never used).")] = None,
    artifact_sha256: Annotated[Optional[list[str]], typer.Option(
        "--artifact-sha256", metavar="NAME=HEX", show_default=False,
        help="expect this SHA-256 for the release file NAME; repeatable.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would change; change nothing.")] = False,
    timeout: Annotated[str, typer.Option("--timeout", metavar="DURATION",
                                         help="how long istiod may take to become ready again.")] = "300s",
    context: opt.Context = None,
    kubeconfig: opt.Kubeconfig = None,
    istio_namespace: opt.IstioNamespace = "istio-system",
) -> None:
    """Install the Inference Extension CRDs and turn ENABLE_GATEWAY_API_INFERENCE_EXTENSION on in istiod.

    Checks that the Gateway API CRDs are there first (--gateway-api installs them), applies the
    InferencePool CRD bundle with server-side apply, then sets the flag through meshctl's install
    values (an in-place upgrade of istiod at its installed version, keeping its values). For a
    control plane meshctl did not install, it prints the exact change to make instead. Running it
    again changes nothing.
    """
    from meshctl.cli.common import parse_timeout
    from meshctl.cli.installing import live_target

    seconds = parse_timeout(timeout)
    state, writer = live_target(context, kubeconfig)
    _enable(state, writer, gateway_api=gateway_api, inference_version=inference_version, artifacts=artifacts,
            artifact_sha256=artifact_sha256 or [], yes=yes, dry_run=dry_run, timeout=seconds,
            istio_namespace=istio_namespace)


def _enable(state, writer, *, gateway_api: bool, inference_version: str | None, artifacts: str | None,
            artifact_sha256: list[str], yes: bool, dry_run: bool, timeout: float, istio_namespace: str) -> None:
    """Gateway API CRDs (checked, or installed with --gateway-api), then the Inference Extension CRDs,
    then the istiod flag; everything that can refuse is checked before the first write."""
    from meshctl.cli import installing
    from meshctl.errors import MeshctlError
    from meshctl.install import operations as ops
    from meshctl.install import versions
    from meshctl.install.values import FEATURE_ENV
    from meshctl.kube import kinds as K
    from meshctl.render.console import print_err

    where = f"context {state.info.context}"
    installed = ops.installed_revisions(state, istio_namespace)
    if not installed:
        raise MeshctlError(f"no istiod found in {istio_namespace} ({where}); nothing was changed",
                           hint="install the control plane with the extension on: "
                                "meshctl install --set features.inferenceExtension=true, then run this again")
    istio_version = _newest_supported([r.version for r in installed.values()])
    has_gateway_api = all(state.serves(k) for k in (K.GATEWAY_CLASS, K.GATEWAY, K.HTTP_ROUTE))
    if not has_gateway_api and not gateway_api:
        raise MeshctlError(f"the Gateway API CRDs are not installed in {where}; InferencePools are reached through "
                           "Gateways and HTTPRoutes; nothing was changed",
                           hint="add --gateway-api to install the standard bundle Istio "
                                f"{istio_version} pins ({versions.gateway_api_version(istio_version)})")
    store = installing.open_artifacts(artifacts, artifact_sha256)
    bundle = store.inference_crds(inference_version or versions.INFERENCE_EXTENSION_VERSION)  # read before writing
    if gateway_api:
        installing.install_gateway_api(state, writer, istio_version, artifacts=artifacts,
                                       artifact_sha256=artifact_sha256, dry_run=dry_run, yes=yes)
    version = versions.release_tag(inference_version or versions.INFERENCE_EXTENSION_VERSION, "--inference-version")
    installing.apply_bundle(state, writer, bundle, what=f"Gateway API Inference Extension {version}",
                            dry_run=dry_run, yes=yes)
    result = installing.enable_feature(state, writer, "inferenceExtension", artifacts=artifacts,
                                       artifact_sha256=artifact_sha256, yes=yes, dry_run=dry_run, timeout=timeout,
                                       namespace=istio_namespace)
    env = FEATURE_ENV["inferenceExtension"]
    if result == installing.MANUAL:
        print_err(f"‼ the CRDs are in place; istiod still needs {env}=true (see above)")
    elif dry_run:
        if result != installing.CHANGED:  # a planned istiod upgrade has said so already
            print_err("dry run: nothing was changed")
    else:
        print_err(f"✔ the Inference Extension is enabled in {where}: CRDs installed, istiod runs with {env}=true")


def _newest_supported(found: list[str]) -> str:
    """The newest installed Istio version meshctl knows (it picks the Gateway API release), else the default."""
    from meshctl.errors import UsageError
    from meshctl.install import versions
    from meshctl.mesh.health import parse_version

    for version in sorted(found, key=parse_version, reverse=True):
        try:
            return versions.resolve_istio_version(version)
        except UsageError:
            continue
    return versions.DEFAULT_ISTIO_VERSION
