"""Deletion as a real cluster carries it out: finalizers, graceful pods, Terminating namespaces,
CRD cleanup and garbage collection by ownerReferences.

A DELETE either removes the object at once or marks it (``deletionTimestamp``) and leaves the rest
to the "controllers" here, which a real cluster runs in kube-controller-manager (namespace
controller, garbage collector), the apiextensions server (CRD finalizer) and the kubelet (pods):

- an object with ``metadata.finalizers`` stays, Terminating, until an update removes the last one;
- a Pod bound to a node is deleted gracefully: ``deletionTimestamp`` is now + its grace period and
  it goes when that passes (``Reaper.pod_grace`` caps the wait so tests stay fast);
- a Namespace goes ``Terminating``: its contents are deleted (waiting on their finalizers), new
  content is refused (403 NamespaceTerminating), then the ``kubernetes`` finalizer goes and so does
  the namespace, after ``Reaper.cleanup_delay``;
- a CRD gets the ``customresourcecleanup`` finalizer and a Terminating condition; its custom
  resources are deleted (creates refused with 405) and then the CRD and its kind go;
- ``propagationPolicy``: Background (the default) removes the owner now and its dependents right
  after; Foreground keeps the owner (finalizer ``foregroundDeletion``) until dependents that block
  it are gone; Orphan (finalizer ``orphan``) strips the ownerReferences from dependents first.

Work that is due runs at the end of the request that caused it (like the simulated controllers) and
on a timer thread for what is due later, so a client polling or watching sees it happen.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from typing import TYPE_CHECKING, Any

from . import meta
from .errors import ApiError, invalid
from .kinds import CRD_GROUP, CRDError, ResourceType, crd_to_type

if TYPE_CHECKING:
    from .api import ApiServer

NAMESPACES = ("", "namespaces")
PODS = ("", "pods")
CRDS = (CRD_GROUP, "customresourcedefinitions")
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NAMESPACE_FINALIZER = "kubernetes"
POLICIES = ("Orphan", "Background", "Foreground")
DEFAULT_POD_GRACE = 30


def terminating(obj: dict[str, Any] | None) -> bool:
    return bool(obj and (obj.get("metadata") or {}).get("deletionTimestamp"))


def _stamp(offset: float = 0.0) -> str:
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slot(obj: dict[str, Any]) -> tuple[str, str]:
    m = obj["metadata"]
    return m.get("namespace", ""), m["name"]


class Reaper:
    """Carries out pending deletions for one fake cluster (see the module docstring)."""

    def __init__(self, api: "ApiServer") -> None:
        self.api = api
        self.store = api.store
        self.registry = api.registry
        # Seconds before a Terminating namespace or CRD is emptied and removed, and the most a
        # graceful pod deletion waits (a real one waits terminationGracePeriodSeconds, 30 by default).
        self.cleanup_delay = 0.05
        self.pod_grace = 0.05
        self._due: dict[tuple[tuple[str, str], str, str], float] = {}  # (key, ns, name) -> monotonic time
        self._gc_pending = False
        self._held = 0
        self._wake = threading.Condition(threading.Lock())
        self._stopped = False
        self._thread: threading.Thread | None = None

    # --- the DELETE verb -------------------------------------------------------------------------

    def delete(self, rt: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Delete ``obj`` (under the store lock). Returns (the object, removed now?)."""
        policy = self.policy(options)
        m = obj["metadata"]
        if terminating(obj):
            grace = options.get("gracePeriodSeconds")
            if rt.key == PODS and grace is not None and int(grace) == 0 and not m.get("finalizers"):
                return self.remove_now(rt, obj), True  # a forced delete of a terminating pod
            return obj, False  # already on its way; deleting again changes nothing
        new = copy.deepcopy(obj)
        nm = new["metadata"]
        finalizers = list(nm.get("finalizers") or [])
        extra = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(policy)
        if extra and extra not in finalizers and self._has_dependents(m.get("uid")):
            finalizers.append(extra)
        if rt.key == CRDS and CRD_CLEANUP not in finalizers:
            finalizers.append(CRD_CLEANUP)
        grace = self._pod_grace(rt, obj, options)
        namespace = rt.key == NAMESPACES
        if not finalizers and not grace and not namespace:
            return self.remove_now(rt, obj), True
        if finalizers:
            nm["finalizers"] = finalizers
        nm["deletionTimestamp"] = _stamp(grace or 0)
        nm["deletionGracePeriodSeconds"] = grace or 0
        if namespace:
            new.setdefault("status", {})["phase"] = "Terminating"
        if rt.key == CRDS:
            self._condition(new, "Terminating", "True", "InstanceDeletionPending",
                            "CustomResourceDefinition marked for deletion; CR deletion pending")
        if rt.generation:
            nm["generation"] = int(nm.get("generation") or 1) + 1  # a real server bumps it on deletion
        stored = self.store.write(rt.key, new).obj
        key = (rt.key, *_slot(stored))
        if grace:
            self._schedule(key, min(float(grace), self.pod_grace))
        if namespace or rt.key == CRDS:
            self._schedule(key, self.cleanup_delay)
        if extra:
            self._schedule(key, 0.0)
        return stored, False

    def policy(self, options: dict[str, Any]) -> str:
        """The propagation policy DeleteOptions ask for (422 when they contradict themselves)."""
        policy = options.get("propagationPolicy")
        orphan = options.get("orphanDependents")
        if policy is not None and orphan is not None:
            raise invalid("DeleteOptions", "meta.k8s.io", "", [(
                "propagationPolicy", "FieldValueInvalid",
                f'Invalid value: "{policy}": orphanDependents and deletionPropagation cannot be both set')])
        if policy is None:
            return "Orphan" if orphan else "Background"
        if policy not in POLICIES:
            raise invalid("DeleteOptions", "meta.k8s.io", "", [(
                "propagationPolicy", "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan", "nil"')])
        return str(policy)

    def _pod_grace(self, rt: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> int:
        """A pod's grace period in seconds (0: delete now). Pods never scheduled go at once."""
        if rt.key != PODS:
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE)
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise ApiError(400, f"invalid gracePeriodSeconds: {grace!r}") from None
        return max(grace, 0)

    @staticmethod
    def _condition(crd: dict[str, Any], ctype: str, status: str, reason: str, message: str) -> None:
        conditions = [c for c in (crd.setdefault("status", {}).get("conditions") or []) if c.get("type") != ctype]
        conditions.append({"type": ctype, "status": status, "reason": reason, "message": message,
                           "lastTransitionTime": meta.now()})
        crd["status"]["conditions"] = conditions

    # --- updates of Terminating objects ----------------------------------------------------------

    def check_update(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        """No finalizer may be added to an object being deleted (what a real server refuses)."""
        if not terminating(old):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            raise invalid(rt.kind, rt.group, old["metadata"]["name"], [(
                "metadata.finalizers", "FieldValueForbidden",
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers "
                + "[" + " ".join(f'"{f}"' for f in added) + "]")])

    def after_write(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Called after an update of ``obj``: a Terminating object whose last finalizer went is
        removed now (a pod only once its grace period has passed). Returns it when removed."""
        if not terminating(obj) or obj["metadata"].get("finalizers"):
            return None
        if rt.key == NAMESPACES and (obj.get("spec") or {}).get("finalizers"):
            return None
        if rt.key == PODS and (rt.key, *_slot(obj)) in self._due:
            return None  # still within its grace period
        return self.remove_now(rt, obj)

    def refuse_create(self, rt: ResourceType, namespace: str, name: str) -> None:
        """Creates in a Terminating namespace, or of a kind whose CRD is being deleted, are refused."""
        if rt.namespaced and namespace:
            ns = self.store.get(NAMESPACES, "", namespace)
            if terminating(ns):
                message = f"unable to create new content in namespace {namespace} because it is being terminated"
                what = f'{rt.resource} "{name}"' if name else rt.resource
                raise ApiError(403, f"{what} is forbidden: {message}", name=name or None, group=rt.group,
                               kind=rt.plural, causes=[{"reason": "NamespaceTerminating", "message": message,
                                                        "field": "metadata.namespace"}])
        if rt.custom:
            crd = self.store.get(CRDS, "", f"{rt.plural}.{rt.group}")
            if terminating(crd):
                raise ApiError(405, f'create is not supported on resources of kind "{rt.resource}"',
                               group=rt.group, kind=rt.plural)

    # --- removal and garbage collection ----------------------------------------------------------

    def remove_now(self, rt: ResourceType, obj: dict[str, Any], *, collect: bool = True) -> dict[str, Any]:
        """Remove an object from the store at once (a CRD takes its kind and resources along); with
        ``collect`` its dependents are garbage-collected after, as a real deletion's are."""
        self._due.pop((rt.key, *_slot(obj)), None)
        if rt.key == CRDS:
            try:
                crd_type = crd_to_type(obj)
            except CRDError:
                crd_type = None
            if crd_type is not None:
                self.registry.unregister(crd_type.key)
                self.store.drop_type(crd_type.key)
        event = self.store.delete(rt.key, *_slot(obj))
        if collect and obj["metadata"].get("uid"):
            self._gc_pending = True  # its dependents may be orphans now
        return event.obj if event else obj

    def _has_dependents(self, uid: str | None) -> bool:
        if not uid:
            return False
        return any(ref.get("uid") == uid for _, o in self.store for ref in (o["metadata"].get("ownerReferences") or []))

    def _collect_garbage(self) -> None:
        """Background GC: delete objects whose every owner is gone; drop references to absent owners
        from objects that still have one. One pass over the store."""
        self._gc_pending = False
        objects = list(self.store)
        alive = {o["metadata"].get("uid") for _, o in objects}
        for key, obj in objects:
            refs = obj["metadata"].get("ownerReferences") or []
            if not refs:
                continue
            live = [r for r in refs if r.get("uid") in alive]
            if len(live) == len(refs):
                continue
            rt = self.registry.get(*key)
            if rt is None:
                continue
            current = self.store.get(key, *_slot(obj))
            if current is None:
                continue
            if live:
                new = copy.deepcopy(current)
                new["metadata"]["ownerReferences"] = live
                self.store.write(key, new)
            elif not terminating(current):
                self.delete(rt, current, {})

    def _dependents(self, uid: str) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        return [(key, o) for key, o in self.store
                if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]

    # --- pending work ----------------------------------------------------------------------------

    def _schedule(self, key: tuple[tuple[str, str], str, str], delay: float) -> None:
        due = time.monotonic() + max(delay, 0.0)
        self._due[key] = min(due, self._due.get(key, due))
        with self._wake:
            self._wake.notify()

    def hold(self) -> "_Hold":
        """``with kube.reaper.hold():`` pauses every pending deletion, so a test can look at the
        Terminating state for as long as it likes."""
        return _Hold(self)

    def tick(self) -> None:
        """Carry out what is due (under the store lock)."""
        if self._held:
            return
        with self.store.lock:
            for _ in range(100):  # each round may make more work due at once (e.g. a namespace's pods)
                now = time.monotonic()
                due = [k for k, t in self._due.items() if t <= now]
                if not due and not self._gc_pending:
                    return
                for key in due:
                    self._due.pop(key, None)
                    self._advance(*key)
                if self._gc_pending:
                    self._collect_garbage()

    def _advance(self, key: tuple[str, str], namespace: str, name: str) -> None:
        obj = self.store.get(key, namespace, name)
        rt = self.registry.get(*key)
        if obj is None or rt is None or not terminating(obj):
            return
        m = obj["metadata"]
        finalizers = list(m.get("finalizers") or [])
        if key == NAMESPACES:
            if self._empty_namespace(name):
                spec_finalizers = [f for f in (obj.get("spec") or {}).get("finalizers") or [] if f != NAMESPACE_FINALIZER]
                new = copy.deepcopy(obj)
                new.setdefault("spec", {})["finalizers"] = spec_finalizers
                if not spec_finalizers:
                    new["spec"].pop("finalizers")
                if not spec_finalizers and not finalizers:
                    self.remove_now(rt, obj)
                else:
                    self.store.write(key, new)
            else:
                self._schedule((key, namespace, name), self.cleanup_delay)
            return
        if key == CRDS and CRD_CLEANUP in finalizers:
            crd_type = crd_to_type(obj)
            remaining = self.store.list(crd_type.key)
            for cr in remaining:
                if not terminating(cr):
                    self.delete(crd_type, cr, {})
            if self.store.list(crd_type.key):
                self._schedule((key, namespace, name), self.cleanup_delay)
                return
            finalizers.remove(CRD_CLEANUP)
            obj = self._set_finalizers(key, obj, finalizers)
        uid = m.get("uid", "")
        if ORPHAN in finalizers:
            for dkey, dep in self._dependents(uid):
                new = copy.deepcopy(dep)
                new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid]
                meta.omit_empty_meta(new)
                self.store.write(dkey, new)
            finalizers.remove(ORPHAN)
            obj = self._set_finalizers(key, obj, finalizers)
        if FOREGROUND in finalizers:
            blocking = False
            for dkey, dep in self._dependents(uid):
                drt = self.registry.get(*dkey)
                if drt is not None and not terminating(dep):
                    self.delete(drt, dep, {"propagationPolicy": "Foreground"})
                if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in dep["metadata"]["ownerReferences"]) \
                        and self.store.get(dkey, *_slot(dep)) is not None:
                    blocking = True
            if blocking:
                self._schedule((key, namespace, name), self.cleanup_delay)
                return
            finalizers.remove(FOREGROUND)
            obj = self._set_finalizers(key, obj, finalizers)
        if not finalizers:
            self.remove_now(rt, obj)

    def _set_finalizers(self, key: tuple[str, str], obj: dict[str, Any], finalizers: list[str]) -> dict[str, Any]:
        if finalizers == list(obj["metadata"].get("finalizers") or []):
            return obj
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = finalizers
        meta.omit_empty_meta(new)
        if not finalizers:
            return new  # removed by the caller; no write of an intermediate state needed
        return self.store.write(key, new).obj

    def _empty_namespace(self, namespace: str) -> bool:
        """Delete what is left in a Terminating namespace; True when nothing is."""
        left = False
        for key in self.store.keys():
            rt = self.registry.get(*key)
            if rt is None or not rt.namespaced:
                continue
            for obj in self.store.list(key, namespace):
                left = True
                if not terminating(obj):
                    self.delete(rt, obj, {})
        if left:
            # What went at once is gone now; what waits on a finalizer or a grace period keeps us waiting.
            left = any(self.store.list(key, namespace) for key in self.store.keys()
                       if (rt := self.registry.get(*key)) is not None and rt.namespaced)
        return not left

    # --- the timer thread ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="fakekube-reaper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stopped:
            with self._wake:
                soonest = min(self._due.values(), default=None)
                wait = 0.5 if soonest is None or self._held else max(0.0, soonest - time.monotonic())
                if wait > 0:
                    self._wake.wait(timeout=min(wait, 0.5))
            if self._stopped:
                return
            try:
                self.tick()
                self.api.controllers.drain()
            except Exception:  # a bug here must not kill the thread silently: say so and go on
                import traceback
                traceback.print_exc()


class _Hold:
    def __init__(self, reaper: Reaper) -> None:
        self.reaper = reaper

    def __enter__(self) -> Reaper:
        self.reaper._held += 1
        return self.reaper

    def __exit__(self, *exc: object) -> None:
        self.reaper._held -= 1
        with self.reaper._wake:
            self.reaper._wake.notify()
