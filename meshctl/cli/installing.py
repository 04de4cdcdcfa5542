"""The steps install, upgrade and manifest share: values → upstream files → render → plan → apply.

Typer-free (the commands declare the flags); the domain work is in ``meshctl.install``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meshctl.errors import ClusterUnavailableError, MeshctlError, UsageError

# The --components name of each component, and the aliases --components also takes.
COMPONENT_FLAGS = {"base": "Base", "pilot": "Pilot", "cni": "Cni", "ztunnel": "Ztunnel", "ingress": "IngressGateways",
                   "tag": "RevisionTag"}
COMPONENT_NAMES = {**COMPONENT_FLAGS, "istiod": "Pilot", "ingressgateways": "IngressGateways",
                   "revisiontag": "RevisionTag"}


@dataclass
class RenderRequest:
    """What the user asked to render (the install flags)."""

    profile: str | None = "ambient"  # None: keep the stored profile (upgrade)
    files: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    revision: str | None = None
    istio_version: str | None = None
    hub: str | None = None
    tag: str | None = None
    artifacts: str | None = None
    artifact_sha256: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    crds: bool = True


def render_request(profile, files, sets, revision, istio_version, hub, tag, components, artifacts,
                   artifact_sha256, *, crds: bool = True) -> RenderRequest:
    """A RenderRequest from the install flags as typer hands them over (lists may be None)."""
    return RenderRequest(profile=profile, files=files or [], sets=sets or [], revision=revision,
                         istio_version=istio_version, hub=hub, tag=tag, artifacts=artifacts,
                         artifact_sha256=artifact_sha256 or [], components=components or [], crds=crds)


def parse_components(names: list[str]) -> set[str] | None:
    if not names:
        return None
    chosen = set()
    for raw in names:
        for name in filter(None, (n.strip().lower() for n in raw.split(","))):
            if name not in COMPONENT_NAMES:
                raise UsageError(f"--components: unknown component {name!r}",
                                 hint="choose from base, pilot, cni, ztunnel, ingress, tag")
            chosen.add(COMPONENT_NAMES[name])
    return chosen


def resolve_spec(req: RenderRequest, stored_user_values: dict | None = None):
    from meshctl.install.values import resolve

    overrides = {k: v for k, v in (("revision", req.revision), ("istio_version", req.istio_version),
                                   ("hub", req.hub), ("tag", req.tag)) if v is not None}
    if overrides.get("revision") == "default":
        overrides["revision"] = ""
    return resolve(req.profile, [Path(f) for f in req.files], req.sets, overrides=overrides,
                   base=stored_user_values)


def open_artifacts(source: str | None, sha256: list[str] | None):
    """The upstream release files, from --artifacts (never the network) or the cache/download."""
    from meshctl.install.artifacts import Artifacts, parse_sha256_pins

    return Artifacts(source=Path(source) if source else None, sha256=parse_sha256_pins(sha256 or []))


def render_components(spec, req: RenderRequest, *, default_tag: bool) -> list[Any]:
    """Render with the upstream files the chosen components need (fetched, cached or from --artifacts)."""
    from meshctl.install.render import render

    wanted = parse_components(req.components)
    store = open_artifacts(req.artifacts, req.artifact_sha256)
    needs = wanted or {"Base", "Pilot"}
    crds = store.istio_crds(spec.istio_version) if req.crds and "Base" in needs else None
    templates = store.injection_templates(spec.istio_version) if "Pilot" in needs else None
    return render(spec, crds=crds, injection_templates=templates, default_tag=default_tag, components=wanted)


def leave_shared_dataplane(state, spec, req: RenderRequest) -> RenderRequest:
    """ztunnel and istio-cni serve every revision on a node: a revision install leaves them following
    the revision they follow (re-pointing them would restart ztunnel on every node before any tag
    moved). ``meshctl dataplane upgrade`` moves them node by node, an explicit ``--components cni,ztunnel``
    all at once."""
    from meshctl.install import operations as ops
    from meshctl.install.render import CNI, ZTUNNEL
    from meshctl.render.console import print_err

    follows = ops.shared_dataplane_owner(state, spec.namespace, spec.revision)
    wanted = parse_components(req.components)
    if follows is None or (wanted is not None and wanted & {CNI, ZTUNNEL}):
        return req
    keep = [name for name, canonical in COMPONENT_FLAGS.items()
            if canonical not in (CNI, ZTUNNEL) and (wanted is None or canonical in wanted)]
    print_err(f"the data plane (ztunnel, istio-cni) follows revision {follows} and stays on it; move it when "
              f"ready, node by node, with: meshctl dataplane upgrade --revision {ops.revision_name(spec.revision)}")
    return replace(req, components=keep)


def live_target(context: str | None, kubeconfig: str | None):
    """The one live cluster a write command changes, and its writer."""
    from meshctl.kube.apply import writer_for
    from meshctl.kube.live import open_live

    [state] = open_live([context] if context else None, kubeconfig)
    return state, writer_for(state)


def confirm(question: str, yes: bool) -> None:
    """Ask before changing a cluster; -y answers yes. Without a terminal to ask on, refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to change the cluster without confirmation (stdin is not a terminal)",
                         hint="pass -y to confirm in scripts, or --dry-run to see the plan")
    import typer

    if not typer.confirm(question, default=False, err=True):
        raise MeshctlError("cancelled; nothing was changed", hint="run again and answer y, or pass -y")


def delete_after_confirming(writer, resources, *, question: str, yes: bool, dry_run: bool,
                            before_asking: str = "", timeout: float = 120.0) -> bool:
    """List what will be deleted on stdout, ask (unless -y or --dry-run), delete, and wait until the
    server has really removed them (finalizers, Terminating CRDs); True when deleted."""
    from meshctl.install.installer import Ref
    from meshctl.kube.apply import WaitTimeout
    from meshctl.render.console import print_err, print_out

    for res in resources:
        print_out(f"{'would delete' if dry_run else 'delete'} {Ref.of_resource(res)}")
    if before_asking:
        print_err(before_asking)
    if dry_run:
        return False
    confirm(question, yes)
    targets = [(res.kind, res.name, res.namespace if res.kind.namespaced else None) for res in resources]
    for kind, name, namespace in targets:
        writer.delete(kind, name, namespace)
    said = []

    def waiting(count: int) -> None:
        if not said:  # once: the server is still removing some (a CRD's resources, finalizers)
            print_err(f"waiting for the cluster to remove {count} of them…")
            said.append(count)

    held = writer.wait_gone(targets, timeout=timeout, progress=waiting)
    if held:
        shown = "; ".join(f"{kind.kind.lower()} {f'{ns}/' if ns else ''}{name} ({why})"
                          for kind, name, ns, why in held[:10])
        more = f" and {len(held) - 10} more" if len(held) > 10 else ""
        raise WaitTimeout(f"{len(held)} deleted object(s) still exist after {timeout:g}s: {shown}{more}",
                          hint="a finalizer's controller has not released them; check it, or wait longer "
                               "with --timeout and run the command again")
    return True


def default_tag_needed(state, namespace: str, revision: str) -> bool:
    """istioctl's rule: the default tag is (re)made for the default revision, or when no tag exists yet."""
    from meshctl.install.operations import revision_tags

    if not revision:
        return True
    return not any(t.name == "default" for t in revision_tags(state))


def prune_scope(req: RenderRequest) -> list[str]:
    """Components whose dropped objects are deleted: every component of the install (so a profile that
    drops istio-cni removes it), or only those named with --components. Tags are managed by `tag`."""
    from meshctl.install.render import COMPONENTS, NAMESPACE, REVISION_TAG

    wanted = parse_components(req.components)
    names = wanted if wanted is not None else set(COMPONENTS)
    return sorted(names - {NAMESPACE, REVISION_TAG})


def plan_install(state, writer, components, spec, req: RenderRequest, *, with_diff: bool):
    """The components worth applying (empty ones dropped) and what applying them would do."""
    from meshctl.install.installer import install_id, make_plan

    comps = [c for c in components if c.objects]
    plan = make_plan(state, writer, comps, install_id(spec.namespace, spec.revision),
                     prune_components=prune_scope(req), with_diff=with_diff)
    return comps, plan


def apply_install(state, writer, components, spec, req: RenderRequest, *, timeout: float, yes: bool,
                  dry_run: bool, force: bool, show_diff: bool, verb: str = "Install") -> bool:
    """Plan, show, confirm, apply with progress, prune, summarise; True when something changed."""
    from meshctl.install.installer import Installer
    from meshctl.install.render import DEPENDENCIES
    from meshctl.render.console import print_err
    from meshctl.render.install import InstallProgress, colour_diff, render_plan, render_summary

    comps, plan = plan_install(state, writer, components, spec, req, with_diff=show_diff or dry_run)
    text = render_plan(plan, diffs=show_diff or dry_run)
    if dry_run:
        sys.stdout.write(colour_diff(text))
        print_err("dry run: nothing was changed")
        return plan.changes_anything
    sys.stderr.write(colour_diff(text, sys.stderr))
    if plan.conflicts and not force:
        first = plan.conflicts[0]
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise MeshctlError(f"{first.ref} is managed by {first.owner}{more}; meshctl will not take it over",
                           hint="remove the other installation first, or pass --force to take ownership")
    if not plan.changes_anything:
        print_err(f"✔ Already up to date: {len(plan.changes)} objects unchanged in context {state.info.context}.")
        # Still make sure everything is ready (an earlier run may have been interrupted while waiting).
    else:
        confirm(f"{verb} into context {state.info.context}?", yes)
    with InstallProgress([c.name for c in comps]) as progress:
        try:
            summary = Installer(state, writer, comps, DEPENDENCIES, timeout=timeout, progress=progress).run(plan)
        except MeshctlError as err:
            for line in getattr(err, "details", ()):
                progress.note(line)
            raise
    sys.stderr.write(render_summary(plan, summary, done="Upgraded" if verb == "Upgrade" else "Installed"))
    return plan.changes_anything


def run_install(req: RenderRequest, *, context, kubeconfig, timeout: float, yes: bool, dry_run: bool,
                force: bool, show_diff: bool, skip_precheck: bool, upgrade: bool = False,
                gateway_api: bool = False, reset_values: bool = False) -> None:
    """``install`` and ``upgrade``: the same path; upgrade adds its checks before applying."""
    state, writer = live_target(context, kubeconfig)
    install_into(state, writer, req, timeout=timeout, yes=yes, dry_run=dry_run, force=force,
                 show_diff=show_diff, skip_precheck=skip_precheck, upgrade=upgrade, gateway_api=gateway_api,
                 reset_values=reset_values)


def with_stored_values(state, spec, req: RenderRequest, *, reset_values: bool, force: bool):
    """(the spec to render, whether values were stored). The spec: what the user chose at the last install (meshctl keeps it in the cluster) with
    this run's flags on top, as `helm upgrade --reuse-values`; --reset-values starts from the profile.
    The value changes are printed first (install, upgrade and manifest diff alike)."""
    from meshctl.install import operations as ops

    stored = ops.stored_user_values(state, spec.namespace, spec.revision)
    if stored is None:
        return spec, False
    before = resolve_spec(RenderRequest(profile=None, revision=req.revision, artifacts=req.artifacts), stored)
    after = spec if reset_values else resolve_spec(req, stored)
    show_value_changes(before, after, force=force)
    return after, True


def show_value_changes(before, after, *, force: bool) -> None:
    """Print the user-value changes since the stored install (first, before any object), and refuse to
    drop a value that identifies the cluster in a mesh unless --force."""
    from meshctl.install.values import dropped_identity, value_changes
    from meshctl.render.console import print_err

    lines = value_changes(before, after)
    if lines:
        print_err("Values changed since the last install:\n" + "\n".join(f"  {line}" for line in lines))
    lost = dropped_identity(before, after)
    if lost and not force:
        key, was = lost[0]
        raise MeshctlError(f"{key} would be dropped (it was {was!r}): it identifies this cluster in its mesh, "
                           "and its peers would no longer recognise it",
                           hint=f"keep it (drop --reset-values, or --set {key}={was}), or pass --force if that is the intent")


def install_into(state, writer, req: RenderRequest, *, timeout: float, yes: bool, dry_run: bool, force: bool,
                 show_diff: bool, skip_precheck: bool, upgrade: bool = False, gateway_api: bool = False,
                 reset_values: bool = False) -> bool:
    """Install or upgrade one revision in an open cluster; True when something changed."""
    from meshctl.install import operations as ops
    from meshctl.render.console import print_err, warn

    spec = resolve_spec(req)
    if not upgrade and not skip_precheck:
        run_prechecks(state, spec, force=force)
    spec, stored = with_stored_values(state, spec, req, reset_values=reset_values, force=force)
    if upgrade:
        check_upgrade(state, spec, force=force)
    req = leave_shared_dataplane(state, spec, req)
    components = render_components(spec, req, default_tag=default_tag_needed(state, spec.namespace, spec.revision))
    changed = False
    if gateway_api:
        changed = install_gateway_api(state, writer, spec.istio_version, artifacts=req.artifacts,
                                      artifact_sha256=req.artifact_sha256, dry_run=dry_run, yes=yes)
    print_err(f"{'Upgrading' if upgrade else 'Installing'} Istio {spec.istio_version} "
              f"(profile {spec.profile}, revision {ops.revision_name(spec.revision)}) "
              f"into context {state.info.context}")
    if upgrade and not stored:
        warn("no values stored by an earlier meshctl install were found; using the given values only")
    return apply_install(state, writer, components, spec, req, timeout=timeout, yes=yes, dry_run=dry_run,
                         force=force, show_diff=show_diff or upgrade,
                         verb="Upgrade" if upgrade else "Install") or changed


# -- features and CRD bundles other commands turn on ------------------------------------------------------

ALREADY, CHANGED, MANUAL = "already", "changed", "manual"


def enable_feature(state, writer, feature: str, *, artifacts: str | None, artifact_sha256: list[str], yes: bool,
                   dry_run: bool, timeout: float, extra_sets: tuple[str, ...] = (),
                   namespace: str = "istio-system") -> str:
    """Turn an install feature (``features.<feature>``, e.g. multiNetwork) on for every control-plane
    revision in ``namespace``: an in-place upgrade of meshctl-managed revisions at their installed
    version (their stored values kept, ``extra_sets`` on top); for a control plane meshctl did not
    install, print the exact change to make and change nothing.

    Returns ALREADY (nothing to do), CHANGED (or would change, with dry_run) or MANUAL."""
    from meshctl.install import operations as ops
    from meshctl.install.values import FEATURE_ENV
    from meshctl.mesh.controlplane import istiod_env_by_revision
    from meshctl.render.console import print_err

    env_name = FEATURE_ENV[feature]
    installed = ops.installed_revisions(state, namespace)
    if not installed:
        raise MeshctlError(
            f"no istiod found in {namespace} (context {state.info.context}); there is no control plane to change",
            hint=f"install one with the feature on: meshctl install --set features.{feature}=true")
    env = istiod_env_by_revision(state, namespace)
    result = ALREADY
    for revision, current in sorted(installed.items()):
        is_on = env.get(revision, {}).get(env_name, "").lower() == "true"
        if is_on and not extra_sets:
            print_err(f"✔ {env_name} is already on for istiod revision {revision} (context {state.info.context})")
            continue
        if not current.managed:
            print_err(manual_feature_change(feature, env_name, revision, namespace, extra_sets))
            result = MANUAL
            continue
        if not current.version:
            raise MeshctlError(f"cannot tell which Istio version istiod revision {revision} runs (its image has "
                               "no version tag)", hint=f"run: meshctl upgrade --revision {revision} "
                               f"--istio-version VERSION --set features.{feature}=true")
        req = RenderRequest(profile=None, sets=[f"features.{feature}=true", *extra_sets],
                            revision="" if revision == "default" else revision, istio_version=current.version,
                            artifacts=artifacts, artifact_sha256=list(artifact_sha256))
        changed = install_into(state, writer, req, timeout=timeout, yes=yes, dry_run=dry_run, force=False,
                               show_diff=True, skip_precheck=True, upgrade=True)
        if changed and result != MANUAL:
            result = CHANGED
    return result


def manual_feature_change(feature: str, env_name: str, revision: str, namespace: str,
                          extra_sets: tuple[str, ...]) -> str:
    """The exact change for a control plane meshctl did not install (istioctl or Helm did)."""
    rev_flag = "" if revision == "default" else f" --revision {revision}"
    deployment = "istiod" if revision == "default" else f"istiod-{revision}"
    sets = "".join(f" --set {s}" for s in extra_sets)
    return (f"! istiod revision {revision} in {namespace} was not installed by meshctl, so meshctl leaves it "
            f"alone. Turn {env_name} on where it was installed:\n"
            f"    istioctl install{rev_flag} --set values.pilot.env.{env_name}=true{sets}   "
            "(with the options you installed it with)\n"
            f"  or with Helm: helm upgrade istiod istio/istiod -n {namespace} --reuse-values "
            f"--set env.{env_name}=true\n"
            f"  or for a quick test (undone by the next install): kubectl -n {namespace} set env "
            f"deployment/{deployment} {env_name}=true")


def install_gateway_api(state, writer, istio_version: str, *, artifacts: str | None, artifact_sha256: list[str],
                        dry_run: bool, yes: bool) -> bool:
    """Apply the Gateway API standard bundle that goes with this Istio version, unless the cluster already
    has that release or a newer one (or the experimental channel, which the standard bundle must not
    overwrite); True when something changed."""
    from meshctl.install import versions
    from meshctl.kube import kinds as K
    from meshctl.mesh.health import GATEWAY_API_REQUIRED, bundle_summary, find_gateway_api_crds, parse_version
    from meshctl.render.console import print_err, warn

    wanted = versions.gateway_api_version(istio_version)
    crds = find_gateway_api_crds(state) if state.serves(K.CRD) else []
    present = [parse_version(c.bundle_version) for c in crds if c.bundle_version]
    complete = set(GATEWAY_API_REQUIRED) <= {c.name for c in crds}
    if any(c.channel == "experimental" for c in crds):
        warn(f"the Gateway API experimental channel is installed ({bundle_summary(crds)}); meshctl does not "
             "replace it with the standard bundle")
        return False
    if complete and present and min(present) >= parse_version(wanted):
        print_err(f"✔ Gateway API {bundle_summary(crds)} is installed (Istio {istio_version} needs {wanted} or newer)")
        return False
    objects = open_artifacts(artifacts, artifact_sha256).gateway_api_crds(wanted)
    return apply_bundle(state, writer, objects, what=f"Gateway API {wanted} (standard channel)",
                        dry_run=dry_run, yes=yes) > 0


def apply_bundle(state, writer, objects: list[dict], *, what: str, dry_run: bool, yes: bool,
                 timeout: float = 120.0) -> int:
    """Server-side apply a release bundle (CRDs first, each waited on until Established, then the rest);
    prints each object's action; returns how many objects were (or, with dry_run, would be) changed."""
    from meshctl.install.installer import Ref, comparable, readiness
    from meshctl.kube import kinds as K
    from meshctl.render.console import print_err, print_out

    crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
    ordered = crds + [o for o in objects if o.get("kind") != "CustomResourceDefinition"]
    actions = []
    for obj in ordered:
        kind = state.resolve_kind(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        live = state.get(kind, meta["name"], meta.get("namespace") if kind.namespaced else None) \
            if state.serves(kind) else None
        if live is None:
            action = "create"
        else:
            after = writer.apply(obj, dry_run=True)
            action = "unchanged" if comparable(after) == comparable(live.raw) else "change"
        actions.append((obj, action))
    changed = [(o, a) for o, a in actions if a != "unchanged"]
    show = print_out if dry_run else print_err
    for obj, action in actions:
        show(f"{'would ' + action if dry_run and action != 'unchanged' else action} {Ref.of(obj)}")
    if dry_run or not changed:
        if not changed:
            print_err(f"✔ {what}: {len(actions)} objects unchanged in context {state.info.context}")
        return len(changed)
    confirm(f"Apply {what} to context {state.info.context}?", yes)
    for obj, _ in changed:
        writer.apply(obj)
    state.rediscover()  # the new CRDs' kinds become servable
    for obj in crds:
        writer.wait(K.CRD, obj["metadata"]["name"], None, lambda res: readiness(res.raw if res else None),
                    timeout=timeout)
    print_err(f"✔ {what}: {len(changed)} of {len(actions)} objects applied in context {state.info.context}")
    return len(changed)


def check_upgrade(state, spec, *, force: bool) -> None:
    """Upgrades go one minor version at a time, onto an existing install of the revision."""
    from meshctl.install import operations as ops
    from meshctl.render.console import warn

    installed = ops.installed_revisions(state, spec.namespace)
    current = installed.get(ops.revision_name(spec.revision))
    if current is None:
        raise MeshctlError(
            f"revision {ops.revision_name(spec.revision)} is not installed in {spec.namespace} "
            f"(context {state.info.context}); there is nothing to upgrade",
            hint="use 'meshctl install' for a first install, or --revision NEW for a canary beside the "
                 f"installed revision(s): {', '.join(installed) or 'none'}")
    problem = ops.skew_problem(current.version, spec.istio_version)
    if problem and not force:
        raise MeshctlError(f"refusing to upgrade: {problem}",
                           hint="upgrade through each minor version in turn, or pass --force")
    if problem:
        warn(f"{problem}; going ahead because of --force")
    if not current.managed and not force:
        raise MeshctlError(
            f"revision {current.revision} was not installed by meshctl; meshctl will not take it over in place",
            hint="install a canary beside it (meshctl install --revision NEW), move the tag "
                 "(meshctl tag set default --revision NEW), then remove the old one; or pass --force")


def run_prechecks(state, spec, *, force: bool) -> None:
    """Stop before changing anything when a precheck fails (warnings are shown, not fatal)."""
    from meshctl.install.precheck import precheck
    from meshctl.mesh.health import failures, unreadable
    from meshctl.render.checks import render_checks

    results = precheck(state, istio_version=spec.istio_version, revision=spec.revision,
                       istio_namespace=spec.namespace)
    gone = unreadable(results)
    if gone is not None:  # no answer from the cluster: not something --force may push past
        raise ClusterUnavailableError(f"precheck could not read the cluster: {gone.detail}", hint=gone.hint)
    failed = failures(results)
    if failed:
        text = render_checks(results, stream=sys.stderr)
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        if not force:
            raise MeshctlError(f"{len(failed)} precheck(s) failed; nothing was changed",
                               hint="fix what the checks report, or pass --force (or --skip-precheck)")
