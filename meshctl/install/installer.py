"""Put a rendered install on a live cluster: plan, ordered apply, readiness, prune.

A component starts once the components it depends on are ready, so the waits of components that do
not depend on each other (Pilot and Cni) overlap. One thread drives everything: applies are quick,
waiting is what takes time, and polling several components from one loop needs no locking and keeps
the order of requests (and of the output) deterministic.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from meshctl.errors import MeshctlError, NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.apply import FIELD_MANAGER
from meshctl.kube.kinds import REGISTRY, Kind
from meshctl.kube.state import Resource
from meshctl.kube.yamlio import dump
from meshctl.mesh import labels as L
from meshctl.mesh.status import pod_ready

CREATE, UPDATE, UNCHANGED, PRUNE = "create", "update", "unchanged", "prune"

# Every kind an install of any meshctl version may own: prune and uninstall look for owned objects of
# these kinds, so an object an older render had and the current one dropped is still found.
OWNED_KINDS: tuple[Kind, ...] = (
    K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.GATEWAY, K.HPA, K.PDB, K.DEPLOYMENT, K.DAEMON_SET,
    K.SERVICE, K.CONFIG_MAP, K.ROLE_BINDING, K.ROLE, K.CLUSTER_ROLE_BINDING, K.CLUSTER_ROLE,
    K.SERVICE_ACCOUNT, K.NAMESPACE, K.CRD,
)  # in the order objects are deleted: what sends traffic or admits pods first, definitions last
DELETE_ORDER = {kind: i for i, kind in enumerate(OWNED_KINDS)}

# Metadata the API server keeps for itself; two objects that differ only here are the same object.
SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class InstallInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) while the installer was changing the cluster, and how far it had got.

    A KeyboardInterrupt still, so nothing that handles errors swallows it; the CLI prints ``message``.
    """

    def __init__(self, done: int, total: int) -> None:
        self.message = f"interrupted after {done} of {total} changes; run the same command to finish"
        super().__init__(self.message)
        self.done, self.total = done, total


class InstallTimeout(MeshctlError):
    """A component did not become ready in time (exit 1).

    The message is one line; ``details`` explain each object still waiting (pods, reasons, events)
    and are shown above the error.
    """

    def __init__(self, message: str, hint: str, details: list[str]) -> None:
        super().__init__(message, hint)
        self.details = details


@dataclass(frozen=True, order=True)
class Ref:
    """One object: its kind, namespace and name."""

    kind: Kind = field(compare=False)
    namespace: str
    name: str
    kind_name: str = field(default="")  # compared instead of Kind, which does not order

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Ref:
        kind = REGISTRY.for_object(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "" if kind.namespaced else ""
        return cls(kind, namespace, meta["name"], kind.qualified_kind)

    @classmethod
    def of_resource(cls, res: Resource) -> Ref:
        return cls(res.kind, res.namespace or "" if res.kind.namespaced else "", res.name, res.kind.qualified_kind)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind.kind} {where}"


@dataclass(frozen=True)
class Change:
    action: str  # create, update, unchanged, prune
    component: str
    ref: Ref
    diff: str = ""  # update: a unified diff of the live object and what applying would make it


@dataclass(frozen=True)
class Conflict:
    ref: Ref
    owner: str  # who manages the object today (a managed-by label or a field manager)


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    conflicts: tuple[Conflict, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def changes_anything(self) -> bool:
        return any(c.action != UNCHANGED for c in self.changes)

    @cached_property
    def _actions(self) -> dict[Ref, str]:
        return {c.ref: c.action for c in self.changes if c.action != PRUNE}

    def action_for(self, ref: Ref) -> str | None:
        return self._actions.get(ref)


class Progress(Protocol):
    """What the installer reports while it works (a rich display on a terminal, lines otherwise)."""

    def component(self, name: str, state: str, detail: str = "") -> None:
        """state: applying, waiting, ready, failed or pruning."""

    def note(self, text: str) -> None: ...


class NoProgress:
    def component(self, name: str, state: str, detail: str = "") -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass(frozen=True)
class Component:
    """A named group of objects applied together (the shape of ``render.ComponentManifest``)."""

    name: str
    objects: tuple[dict[str, Any], ...]


@dataclass
class Summary:
    ready_after: dict[str, float] = field(default_factory=dict)  # component -> seconds until ready
    applied: list[Change] = field(default_factory=list)
    pruned: list[Ref] = field(default_factory=list)


def install_id(namespace: str, revision: str) -> str:
    """The label value naming one install: ``<istio namespace>.<revision or default>``."""
    return f"{namespace}.{revision or L.DEFAULT_REVISION}"


def owner_selector(install_id: str) -> str:
    """The label selector of every object one install owns."""
    return f"{L.MANAGED_BY}={L.MANAGED_BY_MESHCTL},{L.INSTALL_ID}={install_id}"


def is_owned(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(L.MANAGED_BY) == L.MANAGED_BY_MESHCTL


def foreign_owner(live: Mapping[str, Any]) -> str | None:
    """Who else manages an object meshctl wants to own; None when it is meshctl's already."""
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    managed_by = labels.get(L.MANAGED_BY)
    if managed_by == L.MANAGED_BY_MESHCTL:
        return None
    if managed_by:
        return managed_by
    if labels.get(L.OPERATOR_MANAGED):
        return "istioctl (operator.istio.io/managed)"
    managers = sorted({m.get("manager", "") for m in meta.get("managedFields") or []} - {FIELD_MANAGER, ""})
    return ", ".join(managers) or "another tool"


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object without what the server maintains (status, bookkeeping metadata)."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    # the same key order on both sides, or a diff shows apiVersion and kind moving about
    head = {k: out.pop(k) for k in ("apiVersion", "kind", "metadata") if k in out}
    return {**head, **out}


# -- is it applied already? --------------------------------------------------------------------------

_MISSING = object()
# What server-side apply never records as owned: the object's identity and what the server keeps.
_UNTRACKED = ("name", "namespace", *SERVER_METADATA)


def already_applied(obj: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """True when meshctl's server-side apply of ``obj`` would change nothing in ``live``, decided
    without asking the server (a dry run is a PATCH, and a re-run should send no writes).

    Applying sets the fields ``obj`` has, and drops those meshctl applied before and no longer does.
    So: meshctl's Apply entry in managedFields must own no field ``obj`` lacks (nothing to drop), and
    ``live`` must hold ``obj``'s value in every field. Where meshctl owns a map or a keyed list item
    field by field, fields ``live`` has beyond ``obj`` are server defaults or another manager's (apply
    leaves both alone); an atomic list or map, or a field meshctl does not own (another manager took
    it, e.g. ``kubectl edit``), must equal ``obj`` exactly. False whenever unsure: the caller then
    asks the server with a dry run.
    """
    meta = live.get("metadata") or {}
    entries = [m for m in meta.get("managedFields") or [] if isinstance(m, dict)
               and m.get("manager") == FIELD_MANAGER and m.get("operation") == "Apply" and not m.get("subresource")]
    if len(entries) != 1 or entries[0].get("fieldsType", "FieldsV1") != "FieldsV1":
        return False
    config = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
    config_meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _UNTRACKED}
    config.pop("metadata", None)
    if config_meta:
        config["metadata"] = config_meta
    have = {k: v for k, v in live.items() if k not in ("apiVersion", "kind", "status")}
    return _same(config, have, entries[0].get("fieldsV1") or {})


# Maps of resource quantities: the server stores a quantity in canonical form (2048Mi reads back as 2Gi).
QUANTITY_MAPS = frozenset({"limits", "requests"})
# Defaults the server sets inside the items of atomic lists meshctl renders (an atomic list is owned
# whole, so only a known default may stand beside the rendered fields; anything else may be a field an
# earlier render had, which applying would remove).
ATOMIC_ITEM_DEFAULTS: dict[str, dict[str, Any]] = {"rules": {"scope": "*"}}  # webhooks[].rules[]


def _owned_children(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "."}  # "." marks the map or item itself


def _same(want: Any, have: Any, node: Mapping[str, Any] | None, field: str = "",
          defaulted: frozenset[str] = frozenset(), quantities: bool = False) -> bool:
    """``want`` (rendered, at ``field``) against ``have`` (live) where meshctl's ownership is ``node``
    (None: meshctl owns nothing here). ``defaulted``: list-key fields the render leaves to the server's
    defaults; ``quantities``: the values are resource quantities."""
    if have is _MISSING:
        return False
    if node is None or not isinstance(node, Mapping):
        return _equal(want, have, quantities)
    children = _owned_children(node)
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        if not children:  # owned as a whole (an atomic map), or an empty map
            return _equal(want, have) if want else True
        extra = set(children) - {f"f:{k}" for k in want} - {f"f:{k}" for k in defaulted}
        if extra:
            return False  # meshctl applied a field before that it no longer renders: applying drops it
        return all(_same(v, have.get(k, _MISSING), children.get(f"f:{k}"), k, quantities=field in QUANTITY_MAPS)
                   for k, v in want.items())
    if isinstance(want, list):
        if not isinstance(have, list):
            return False
        if not children:  # an atomic list: applying replaces it whole
            return _same_atomic(want, have, ATOMIC_ITEM_DEFAULTS.get(field, {}))
        return _same_items(want, have, children, field)
    return not children and _equal(want, have, quantities)


def _same_atomic(want: list[Any], have: list[Any], defaults: Mapping[str, Any]) -> bool:
    if not defaults or len(want) != len(have):
        return _equal(want, have)
    for item, live in zip(want, have):
        if not (isinstance(item, dict) and isinstance(live, dict)):
            if not _equal(item, live):
                return False
            continue
        extra = live.keys() - item.keys()
        if any(k not in defaults or not _equal(live[k], defaults[k]) for k in extra):
            return False
        if not all(_equal(v, live.get(k, _MISSING)) for k, v in item.items()):
            return False
    return True


def _same_items(want: list[Any], have: list[Any], children: Mapping[str, Any], field: str) -> bool:
    """A keyed list (``k:{...}`` entries) or a set (``v:...``): the items meshctl owns must be exactly
    the rendered ones, found in ``have`` in the rendered order (others' items may sit between)."""
    if len(children) != len(want):
        return False
    try:
        keyed = [(json.loads(k[2:]), sub) for k, sub in children.items() if k.startswith("k:")]
        values = [json.loads(k[2:]) for k in children if k.startswith("v:")]
    except ValueError:
        return False
    if len(keyed) + len(values) != len(children):
        return False  # positional (i:) entries: not worth reasoning about
    used: set[int] = set()
    last = -1
    for item in want:
        if isinstance(item, dict):
            found = [i for i, (key, _) in enumerate(keyed) if isinstance(key, dict) and key
                     and any(f in item for f in key)
                     and all(f not in item or _equal(item[f], v) for f, v in key.items())]
            if len(found) != 1 or found[0] in used:
                return False
            used.add(found[0])
            key, sub = keyed[found[0]]
            at = [i for i, h in enumerate(have)
                  if isinstance(h, dict) and all(_equal(v, h.get(f, _MISSING)) for f, v in key.items())]
            if len(at) != 1 or at[0] <= last:
                return False
            last = at[0]
            if not _same(item, have[at[0]], sub, field, frozenset(f for f in key if f not in item)):
                return False
        else:
            found = [i for i, v in enumerate(values) if _equal(item, v)]
            at = [i for i, h in enumerate(have) if _equal(item, h)]
            if len(found) != 1 or len(at) != 1 or at[0] <= last:
                return False
            last = at[0]
    return True


def _equal(a: Any, b: Any, quantities: bool = False) -> bool:
    """Equal as JSON values (1 and True, or 1 and "1", are not), or as quantities when asked."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if type(a) is type(b) and a == b:
        return True
    if quantities:
        qa, qb = quantity(a), quantity(b)
        return qa is not None and qa == qb
    return False


_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?")
_SUFFIX = {"": Decimal(1), **{s: Decimal(10) ** (3 * e) for s, e in zip("numkMGTPE", (-3, -2, -1, 1, 2, 3, 4, 5, 6))},
           **{s: Decimal(2) ** (10 * e) for e, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)}}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity ("500m", "2Gi", 1) as a number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    return Decimal(match[1]) * _SUFFIX[match[2] or ""]


def unified_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, label: str) -> str:
    old = dump(before).splitlines(keepends=True) if before is not None else []
    new = dump(after).splitlines(keepends=True) if after is not None else []
    return "".join(difflib.unified_diff(old, new, f"live/{label}", f"meshctl/{label}"))


def keep_istiod_fields(obj: dict[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    """Leave istiod's decisions alone on re-apply.

    The validating webhooks are created with failurePolicy Ignore and istiod turns them to Fail once it
    serves; re-applying Ignore would undo that (and make every re-run an update). caBundle is never in
    the render, so server-side apply leaves it to istiod anyway.
    """
    if live is None or obj.get("kind") != "ValidatingWebhookConfiguration":
        return obj
    live_policy = {w.get("name"): w.get("failurePolicy") for w in live.get("webhooks") or []}
    webhooks = []
    for hook in obj.get("webhooks") or []:
        policy = live_policy.get(hook.get("name"))
        webhooks.append(dict(hook, failurePolicy=policy) if policy else hook)
    return dict(obj, webhooks=webhooks)


# -- readiness (rules in ISTIO-FACTS.md "Install") --------------------------------------------------


def _condition(obj: Mapping[str, Any], kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond.get("status")
    return None


def readiness(obj: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether a CRD, Deployment or DaemonSet is ready, and what it is doing when it is not."""
    if obj is None:
        return False, "not found"
    kind = obj.get("kind")
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation") or 0
    if kind == "CustomResourceDefinition":
        ok = _condition(obj, "Established") == "True"
        return ok, "established" if ok else "not established yet"
    if kind == "Deployment":
        want = (obj.get("spec") or {}).get("replicas")
        want = 1 if want is None else int(want)
        if (status.get("observedGeneration") or 0) < generation:
            return False, "rollout not observed yet"
        updated, ready = status.get("updatedReplicas") or 0, status.get("readyReplicas") or 0
        total = status.get("replicas") or 0
        if updated < want:
            return False, f"{updated}/{want} pods updated"
        if total > updated:
            return False, f"{total - updated} old pods terminating"
        if ready < want:
            return False, f"{ready}/{want} pods ready"
        return True, f"{ready}/{want} pods ready"
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled") or 0
        ready, updated = status.get("numberReady") or 0, status.get("updatedNumberScheduled") or 0
        if (status.get("observedGeneration") or 0) < generation:
            return False, "rollout not observed yet"
        if desired == 0:
            return False, "no node to run on yet"
        if updated < desired:
            return False, f"{updated}/{desired} nodes updated"
        if ready < desired:
            return False, f"{ready}/{desired} nodes ready"
        return True, f"{ready}/{desired} nodes ready"
    return True, "applied"


WAITED_KINDS = {"CustomResourceDefinition", "Deployment", "DaemonSet"}


# -- planning -----------------------------------------------------------------------------------------


def _live(state: Any, ref: Ref) -> Resource | None:
    try:
        return state.get(ref.kind, ref.name, ref.namespace or None)
    except NotCapturedError:
        return None  # the kind is not served yet (its CRD comes with this install, or is missing)


def make_plan(
    state: Any,
    writer: Any,
    components: Sequence[Component],
    install_id: str,
    *,
    prune_components: Iterable[str] = (),
    prune_crds: bool = False,
    with_diff: bool = False,
) -> Plan:
    """What applying ``components`` would do; ``writer`` answers server-side dry runs.

    Prune candidates are objects this install owns (selected by label, whatever meshctl version wrote
    them) in ``prune_components`` that the render no longer has. CRDs are pruned only when asked.
    """
    changes: list[Change] = []
    conflicts: list[Conflict] = []
    rendered: set[Ref] = set()
    crd_groups = {((o.get("spec") or {}).get("group"), (o.get("spec") or {}).get("names", {}).get("kind"))
                  for c in components for o in c.objects if o.get("kind") == "CustomResourceDefinition"}
    for comp in components:
        for obj in comp.objects:
            ref = Ref.of(obj)
            rendered.add(ref)
            if not state.serves(ref.kind) and (ref.kind.group, ref.kind.kind) not in crd_groups:
                from meshctl.kube.apply import install_hint

                raise MeshctlError(
                    f"{comp.name} needs {ref.kind.resource}, which context "
                    f"{state.info.context} does not serve ({ref})",
                    hint=install_hint(ref.kind),
                )
            live = _live(state, ref)
            if live is None:
                changes.append(Change(CREATE, comp.name, ref, unified_diff(None, obj, str(ref)) if with_diff else ""))
                continue
            if is_owned(obj):
                owner = foreign_owner(live.raw)
                if owner:
                    conflicts.append(Conflict(ref, owner))
            applied = keep_istiod_fields(obj, live.raw)
            if already_applied(applied, live.raw):
                changes.append(Change(UNCHANGED, comp.name, ref))
                continue
            preview = writer.apply(applied, dry_run=True)  # the server's word when the fields alone do not tell
            before, after = comparable(live.raw), comparable(preview)
            if before == after:
                changes.append(Change(UNCHANGED, comp.name, ref))
            else:
                diff = unified_diff(before, after, str(ref)) if with_diff else ""
                changes.append(Change(UPDATE, comp.name, ref, diff))
    scope = set(prune_components)
    if scope:
        for kind in OWNED_KINDS:
            if kind is K.CRD and not prune_crds:
                continue
            for res in state.list_selected(kind, owner_selector(install_id)):
                ref = Ref.of_resource(res)
                component = res.labels.get(L.INSTALL_COMPONENT, "")
                if ref not in rendered and component in scope:
                    changes.append(Change(PRUNE, component, ref,
                                          unified_diff(comparable(res.raw), None, str(ref)) if with_diff else ""))
    return Plan(tuple(changes), tuple(conflicts))


def diff_objects(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]) -> str:
    """Unified diffs, object by object (matched by kind, namespace and name), of two manifests."""
    before = {Ref.of(o): comparable(o) for o in old}
    after = {Ref.of(o): comparable(o) for o in new}
    return "".join(unified_diff(before.get(ref), after.get(ref), str(ref))
                   for ref in sorted(before.keys() | after.keys()) if before.get(ref) != after.get(ref))


# -- applying -----------------------------------------------------------------------------------------


@dataclass
class _Running:
    component: Component
    started: float
    waiting_on: list[Ref]


class Installer:
    """Applies components in dependency order, waits for each to be ready, then prunes."""

    def __init__(
        self,
        state: Any,
        writer: Any,
        components: Sequence[Component],
        dependencies: Mapping[str, Sequence[str]],
        *,
        timeout: float = 300.0,
        interval: float = 2.0,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state = state
        self.writer = writer
        self.components = list(components)
        present = {c.name for c in self.components}
        self.dependencies = {c.name: [d for d in dependencies.get(c.name, ()) if d in present]
                             for c in self.components}
        self.timeout = timeout
        self.interval = interval
        self.progress = progress or NoProgress()
        self.clock = clock
        self.sleep = sleep

    def run(self, plan: Plan) -> Summary:
        summary = Summary()
        try:
            return self._run(plan, summary)
        except InstallInterrupted:
            raise
        except KeyboardInterrupt:
            total = sum(1 for c in plan.changes if c.action != UNCHANGED)
            raise InstallInterrupted(len(summary.applied) + len(summary.pruned), total) from None

    def _run(self, plan: Plan, summary: Summary) -> Summary:
        start = self.clock()
        pending = list(self.components)
        running: list[_Running] = []
        ready: set[str] = set()
        while pending or running:
            for comp in [c for c in pending if all(d in ready for d in self.dependencies[c.name])]:
                pending.remove(comp)
                running.append(self._start(comp, plan, summary))
            progressed = False
            for run in list(running):
                waiting = self._not_ready(run)
                if not waiting:
                    running.remove(run)
                    ready.add(run.component.name)
                    summary.ready_after[run.component.name] = round(self.clock() - start, 1)
                    self.progress.component(run.component.name, "ready")
                    progressed = True
                elif self.clock() - run.started > self.timeout:
                    self.progress.component(run.component.name, "failed", waiting[0][1])
                    raise self._timed_out(run.component.name, waiting)
                else:
                    ref, why = waiting[0]
                    more = f" (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
                    self.progress.component(run.component.name, "waiting", f"{ref}: {why}{more}")
            if running and not progressed:
                self.sleep(self.interval)
        self._prune(plan, summary)
        return summary

    def _start(self, comp: Component, plan: Plan, summary: Summary) -> _Running:
        todo = sum(1 for o in comp.objects if plan.action_for(Ref.of(o)) != UNCHANGED)
        if todo:  # a component with nothing to apply goes straight to its readiness check
            whole = len(comp.objects)
            self.progress.component(comp.name, "applying",
                                    f"{todo} objects" if todo == whole else f"{todo} of {whole} objects")
        crds_applied = False
        for obj in comp.objects:
            ref = Ref.of(obj)
            if crds_applied and ref.kind is not K.CRD:
                self._wait_for_crds(comp)
                crds_applied = False
            action = plan.action_for(ref) or CREATE
            if action == UNCHANGED:
                continue
            live = _live(self.state, ref) if obj.get("kind") == "ValidatingWebhookConfiguration" else None
            self.writer.apply(keep_istiod_fields(obj, live.raw if live else None))
            summary.applied.append(Change(action, comp.name, ref))
            crds_applied = crds_applied or ref.kind is K.CRD
        if crds_applied:
            self.state.rediscover()  # the new kinds become servable for the components that follow
        waiting_on = [Ref.of(o) for o in comp.objects if o.get("kind") in WAITED_KINDS]
        return _Running(comp, self.clock(), waiting_on)

    def _wait_for_crds(self, comp: Component) -> None:
        """A component's own objects may be of kinds its CRDs define: those must be served first."""
        crds = [Ref.of(o) for o in comp.objects if o.get("kind") == "CustomResourceDefinition"]
        started = self.clock()
        while True:
            waiting = [(r, why) for r in crds for ok, why in [readiness(self._fresh(r))] if not ok]
            if not waiting:
                self.state.rediscover()
                return
            if self.clock() - started > self.timeout:
                raise self._timed_out(comp.name, waiting)
            self.sleep(self.interval)

    def _fresh(self, ref: Ref) -> dict[str, Any] | None:
        self.state.forget(ref.kind)
        live = _live(self.state, ref)
        return live.raw if live else None

    def _not_ready(self, run: _Running) -> list[tuple[Ref, str]]:
        waiting = []
        for ref in run.waiting_on:
            ok, why = readiness(self._fresh(ref))
            if not ok:
                waiting.append((ref, why))
        return waiting

    def _timed_out(self, component: str, waiting: list[tuple[Ref, str]]) -> InstallTimeout:
        details = []
        for ref, why in waiting:
            details.append(f"{ref}: {why}")
            details.extend("  " + line for line in explain_not_ready(self.state, ref))
        first, why = waiting[0]
        more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
        # CRDs have no pods: what holds them back is in their conditions.
        what = (f"see why: kubectl get crd {first.name} -o jsonpath='{{.status.conditions}}'"
                if all(r.kind is K.CRD for r, _ in waiting) else "fix what the pods report above")
        return InstallTimeout(
            f"{component} not ready after {self.timeout:g}s: {first}: {why}{more}",
            hint=f"{what}, then run the same command again: it continues where it stopped (or wait longer "
                 "with --readiness-timeout)",
            details=details,
        )

    def _prune(self, plan: Plan, summary: Summary) -> None:
        doomed = sorted((c.ref for c in plan.changes if c.action == PRUNE),
                        key=lambda r: (DELETE_ORDER.get(r.kind, len(DELETE_ORDER)), r))
        if doomed:
            self.progress.component("Prune", "pruning", f"{len(doomed)} objects")
        for ref in doomed:
            self.writer.delete(ref.kind, ref.name, ref.namespace or None)
            summary.pruned.append(ref)


# -- explaining a failed wait -------------------------------------------------------------------------

MAX_PODS_EXPLAINED = 5
MAX_EVENTS = 5


def explain_not_ready(state: Any, ref: Ref) -> list[str]:
    """Which pods of a workload are not ready, why (waiting reasons), and their latest events."""
    if ref.kind not in (K.DEPLOYMENT, K.DAEMON_SET):
        return []
    live = _live(state, ref)
    selector = (((live.raw.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}) if live else {}
    if not selector:
        return []
    state.forget(K.POD)
    pods = [p for p in state.list(K.POD, ref.namespace, labels=selector) if not pod_ready(p)]
    if not pods:
        return ["no pods yet: check the scheduler, quotas and the workload's events"]
    lines = []
    events = _events_by_object(state, ref.namespace)
    for pod in pods[:MAX_PODS_EXPLAINED]:
        reasons = _waiting_reasons(pod.raw) or [(pod.raw.get("status") or {}).get("phase") or "Pending"]
        lines.append(f"pod {pod.name}: {'; '.join(reasons)}")
        for event in events.get(pod.name, [])[-MAX_EVENTS:]:
            lines.append(f"  event {event.get('reason', '')}: {event.get('message', '').strip()}")
    if len(pods) > MAX_PODS_EXPLAINED:
        lines.append(f"... and {len(pods) - MAX_PODS_EXPLAINED} more pods not ready")
    return lines


def _waiting_reasons(pod: Mapping[str, Any]) -> list[str]:
    status = pod.get("status") or {}
    reasons = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        waiting = state.get("waiting") or state.get("terminated")
        if waiting and waiting.get("reason") not in (None, "Completed"):
            message = (waiting.get("message") or "").strip().splitlines()
            detail = f" ({message[0][:160]})" if message else ""
            reasons.append(f"container {cs.get('name')}: {waiting.get('reason')}{detail}")
    return reasons


def _events_by_object(state: Any, namespace: str) -> dict[str, list[dict[str, Any]]]:
    try:
        state.forget(K.EVENT)
        events = state.list(K.EVENT, namespace)
    except NotCapturedError:
        return {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for event in sorted((e.raw for e in events), key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
        name = (event.get("involvedObject") or {}).get("name", "")
        by_name.setdefault(name, []).append(event)
    return by_name
