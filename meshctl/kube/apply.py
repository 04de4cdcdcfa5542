"""Writes to a live cluster: server-side apply as field manager ``meshctl``, label removal, delete, wait.

Every write goes through ``ClusterWriter`` so that errors read the same everywhere and the reading
side (``LiveState``) forgets what it had listed of a kind once that kind was written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from meshctl.errors import ClusterUnavailableError, MeshctlError, NotCapturedError
from meshctl.kube.kinds import Kind
from meshctl.kube.live import LiveState, resource_path
from meshctl.kube.state import Resource

FIELD_MANAGER = "meshctl"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


class WaitTimeout(MeshctlError):
    """A resource did not reach the wanted state in time (exit 1, with the last condition seen)."""


class ClusterWriter:
    def __init__(self, state: LiveState) -> None:
        self.state = state
        self.conn = state.conn

    def _location(self, kind: Kind, name: str, namespace: str | None) -> str:
        version = self.state.version_for(kind)
        if version is None:
            raise NotCapturedError(
                kind.qualified_kind,
                f"context {self.conn.context} (the cluster does not serve {kind.resource})",
                hint=install_hint(kind),
            )
        return resource_path(kind, version, namespace, name)

    def _fail(self, status: int, body: dict[str, Any], what: str) -> None:
        if status in (401, 403) or status >= 500 or status == 429:
            self.conn.check(status, body, what)
        message = _invalid_fields(body) if status == 422 else ""
        message = message or (body.get("message") if isinstance(body.get("message"), str) else "") or f"HTTP {status}"
        hint = "check the object and run again; meshctl writes are safe to repeat"
        if status == 422:
            hint = "the cluster's validation refused this field; fix the value (or the --set/values that made it)"
        if status == 404 and "namespaces" in message:
            hint = "create the namespace first (kubectl create namespace NAME)"
        raise MeshctlError(f"context {self.conn.context}: cannot {what}: {message}", hint=hint)

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply ``obj`` (create or update the fields meshctl manages); returns the result."""
        kind = self.state.resolve_kind(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        path = self._location(kind, meta["name"], meta.get("namespace") if kind.namespaced else None)
        query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        body = dict(obj, apiVersion=f"{kind.group}/{self.state.version_for(kind)}" if kind.group
                    else self.state.version_for(kind))
        status, answer = self.conn.request("PATCH", path, query, body=body, content_type=APPLY_PATCH,
                                           idempotent=True)
        if not 200 <= status < 300:
            self._fail(status, answer, f"apply {kind.kind} {_name(meta)}")
        if not dry_run:
            self.state.forget(kind)
        return answer

    def remove_labels(self, kind: Kind, name: str, namespace: str | None, keys: Iterable[str],
                      *, dry_run: bool = False) -> None:
        """Drop labels whoever set them (a merge patch setting each key to null)."""
        keys = list(keys)
        if keys:
            self.merge_patch(kind, name, namespace, {"metadata": {"labels": {k: None for k in keys}}}, dry_run=dry_run)

    def merge_patch(self, kind: Kind, name: str, namespace: str | None, patch: dict[str, Any],
                    *, dry_run: bool = False) -> dict[str, Any]:
        """A JSON merge patch, for one-off changes meshctl must not own through server-side apply
        (e.g. the restartedAt stamp of a rollout restart, which a later install would otherwise drop)."""
        path = self._location(kind, name, namespace)
        query = [("dryRun", "All")] if dry_run else []
        status, answer = self.conn.request("PATCH", path, query, body=patch, content_type=MERGE_PATCH,
                                           idempotent=True)
        if not 200 <= status < 300:
            self._fail(status, answer, f"patch {kind.kind} {_name({'name': name, 'namespace': namespace})}")
        if not dry_run:
            self.state.forget(kind)
        return answer

    def create(self, obj: dict[str, Any], *, dry_run: bool = False) -> bool:
        """Create ``obj`` only when it does not exist (never touching an existing one, whoever manages
        it); False when it already existed. Safe to retry: a repeated create answers AlreadyExists."""
        kind = self.state.resolve_kind(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") if kind.namespaced else None
        path = self._location(kind, "", namespace)  # the collection: POST creates in it
        query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.append(("dryRun", "All"))
        status, answer = self.conn.request("POST", path, query, body=obj, content_type="application/json",
                                           idempotent=True)
        if status == 409 and answer.get("reason") == "AlreadyExists":
            return False
        if not 200 <= status < 300:
            self._fail(status, answer, f"create {kind.kind} {_name(meta)}")
        if not dry_run:
            self.state.forget(kind)
        return True

    def delete(self, kind: Kind, name: str, namespace: str | None, *, dry_run: bool = False) -> bool:
        """Delete an object; False when it was already gone (deleting twice is fine)."""
        path = self._location(kind, name, namespace)
        query = [("dryRun", "All")] if dry_run else []
        status, answer = self.conn.request("DELETE", path, query, idempotent=True)
        if status == 404:
            return False
        if not 200 <= status < 300:
            self._fail(status, answer, f"delete {kind.kind} {name}")
        if not dry_run:
            self.state.forget(kind)
        return True

    def wait(
        self,
        kind: Kind,
        name: str,
        namespace: str | None,
        ready: Callable[[Resource | None], tuple[bool, str]],
        *,
        timeout: float,
        interval: float = 1.0,
        progress: Callable[[str], None] | None = None,
    ) -> Resource | None:
        """Poll until ``ready(obj)`` says done; ``ready`` also returns the state to show while waiting."""
        deadline = time.monotonic() + timeout
        while True:
            self.state.forget(kind)
            obj = self.state.get(kind, name, namespace)
            done, why = ready(obj)
            if done:
                return obj
            if progress:
                progress(why)
            if time.monotonic() >= deadline:
                where = f"{namespace}/{name}" if namespace else name
                raise WaitTimeout(f"{kind.kind} {where} not ready after {timeout:g}s: {why}",
                                  hint="check the controller's logs, or wait longer with --timeout")
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.05)))


    def wait_gone(self, targets: Iterable[tuple[Kind, str, str | None]], *, timeout: float, interval: float = 0.5,
                  progress: Callable[[int], None] | None = None) -> list[tuple[Kind, str, str | None, str]]:
        """Poll until every deleted object is really gone: a server keeps an object with finalizers, a
        Terminating namespace or CRD while its content is removed, and a pod through its grace period.
        Returns (kind, name, namespace, what holds it) for those still there at the deadline."""
        left = list(targets)
        deadline = time.monotonic() + timeout
        while True:
            for kind in {k for k, _, _ in left}:
                self.state.forget(kind)
            held = []
            for kind, name, namespace in left:
                try:
                    obj = self.state.get(kind, name, namespace)
                except NotCapturedError:
                    obj = None  # its kind went with its CRD
                if obj is not None:
                    held.append((kind, name, namespace, _holder(obj)))
            if not held or time.monotonic() >= deadline:
                return held
            left = [(k, n, ns) for k, n, ns, _ in held]
            if progress:
                progress(len(left))
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.05)))


def _invalid_fields(body: dict[str, Any]) -> str:
    """A 422's causes as one line: ``field: message`` for each (at most three), else ""."""
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    listed = details.get("causes")
    causes = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    parts = []
    for cause in causes:
        field, text = cause.get("field"), cause.get("message")
        if isinstance(text, str) and text:
            parts.append(f"{field}: {text}" if isinstance(field, str) and field else text)
    if not parts:
        return ""
    more = f" (and {len(parts) - 3} more)" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + more


def _holder(res: Resource) -> str:
    """Why an object that was deleted is still there, in a few words."""
    f = res.fields
    if not f.text("metadata", "deletionTimestamp"):
        return "not marked for deletion"
    finalizers = f.strings("metadata", "finalizers")
    if finalizers:
        return "held by finalizer " + ", ".join(finalizers)
    if f.strings("spec", "finalizers"):  # a Namespace's own: its content is being removed
        return "terminating while its content is removed"
    return "terminating"


def _name(meta: dict[str, Any]) -> str:
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta.get("name"))


def install_hint(kind: Kind) -> str:
    """What to run when a kind's CRD is missing."""
    if kind.group == "gateway.networking.k8s.io":
        return ("install the Gateway API CRDs Istio pins: meshctl install --gateway-api -y "
                "(add --artifacts DIR|BUNDLE where there is no network)")
    if kind.group.endswith("istio.io"):
        return "install Istio's CRDs first (meshctl install, or istioctl install)"
    return f"install the CRD that defines {kind.resource}"


def writer_for(state: Any) -> ClusterWriter:
    if not isinstance(state, LiveState):
        raise ClusterUnavailableError(
            "this command changes a cluster, so it needs a live cluster (not files or a snapshot)",
            hint="drop -f/--snapshot and pass --context",
        )
    return ClusterWriter(state)
