"""Carrying out write plans on a live cluster, with the messages users see (shared by write commands)."""

from __future__ import annotations

from meshctl.render.console import print_err, warn


def _writer(context: str | None, kubeconfig: str | None):
    from meshctl.kube.apply import writer_for
    from meshctl.kube.live import open_live

    [state] = open_live([context] if context else None, kubeconfig)
    return state, writer_for(state)


def enroll_namespaces(names: list[str], *, context, kubeconfig, waypoint, traffic, force, dry_run,
                      istio_namespace) -> None:
    from meshctl.cli.common import emit
    from meshctl.kube.yamlio import dump
    from meshctl.mesh.enrollment import plan_enroll

    state, writer = _writer(context, kubeconfig)
    plans = [plan_enroll(state, n, waypoint=waypoint, traffic=traffic, force=force,
                         istio_namespace=istio_namespace) for n in names]  # check all before changing any
    for plan in plans:
        for warning in plan.warnings:
            warn(warning)
        if dry_run:
            emit("---\n" + "---\n".join(dump(obj) for obj in plan.objects))
            continue
        for obj in plan.objects:
            writer.apply(obj)
        print_err(f"namespace {plan.namespace} {'already enrolled' if plan.already else 'enrolled'} in ambient"
                  + (f" (waypoint {waypoint})" if waypoint else ""))


def unenroll_namespaces(names: list[str], *, context, kubeconfig, delete_waypoint, dry_run) -> None:
    from meshctl.kube import kinds as K
    from meshctl.mesh.enrollment import plan_unenroll

    state, writer = _writer(context, kubeconfig)
    plans = [plan_unenroll(state, n, delete_waypoint=delete_waypoint) for n in names]
    for plan in plans:
        for note in plan.notes:
            print_err(note)
        if not plan.remove_labels and not plan.delete_waypoint:
            print_err(f"namespace {plan.namespace} was not enrolled; nothing to do")
            continue
        prefix = "would remove" if dry_run else "removed"
        writer.remove_labels(K.NAMESPACE, plan.namespace, None, plan.remove_labels, dry_run=dry_run)
        if plan.delete_waypoint:
            gone = writer.delete(K.GATEWAY, plan.delete_waypoint, plan.namespace, dry_run=dry_run)
            if gone:
                print_err(f"{prefix} waypoint {plan.namespace}/{plan.delete_waypoint}")
        print_err(f"namespace {plan.namespace}: {prefix} {', '.join(plan.remove_labels) or 'no labels'}")
