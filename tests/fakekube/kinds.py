"""Resource types the fake server serves: a table of built-in kinds plus kinds registered by CRDs.

A :class:`ResourceType` is one (group, plural) with every version it serves. Objects are stored
once per type whatever version they were written in; reads only rewrite ``apiVersion``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")
CREATE_ONLY = ("create",)

# Fields every kind can be selected by; kinds add their own (see BUILTINS).
COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class ResourceType:
    group: str
    kind: str
    plural: str
    namespaced: bool
    versions: tuple[str, ...]  # served versions, preferred first
    storage_version: str = ""
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    status: bool = False  # has a /status subresource
    categories: tuple[str, ...] = ()
    fields: frozenset[str] = COMMON_FIELDS  # selectable with fieldSelector
    name_rule: str = "subdomain"  # see meta.NAME_RULES
    # Only some kinds keep metadata.generation (their strategies set it), as on a real server:
    # workloads, EndpointSlices, PDBs, webhook configurations, CRDs and custom resources.
    generation: bool = False
    custom: bool = False  # defined by a CRD
    # Objects that are never stored (reviews): POST answers and forgets.
    virtual: bool = False
    returns_object_on_delete: bool = False

    def __post_init__(self) -> None:
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())
        if not self.storage_version:
            object.__setattr__(self, "storage_version", self.versions[0])

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def resource(self) -> str:
        """kubectl's qualified resource name: ``deployments.apps``, ``pods``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def preferred_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        v = version or self.preferred_version
        return f"{self.group}/{v}" if self.group else v


def _t(group: str, version: str, kind: str, plural: str, *short: str, **kw: Any) -> ResourceType:
    fields = COMMON_FIELDS | frozenset(kw.pop("fields", ()))
    return ResourceType(group, kind, plural, kw.pop("namespaced", True), (version,), short_names=short, fields=fields, **kw)


ALL = ("all",)
# Built-in kinds, in the order discovery lists their groups. Field selectors and name rules copy
# the real registries for the fields tests are likely to use.
BUILTINS: tuple[ResourceType, ...] = (
    _t("", "v1", "Namespace", "namespaces", "ns", namespaced=False, status=True, name_rule="label",
       verbs=("create", "delete", "get", "list", "patch", "update", "watch"), fields={"status.phase"},
       returns_object_on_delete=True),
    _t("", "v1", "Node", "nodes", "no", namespaced=False, status=True, fields={"spec.unschedulable"}),
    _t("", "v1", "Pod", "pods", "po", status=True, categories=ALL, returns_object_on_delete=True,
       fields={"status.phase", "spec.nodeName", "spec.serviceAccountName", "spec.restartPolicy",
               "spec.schedulerName", "status.podIP", "status.nominatedNodeName"}),
    _t("", "v1", "Service", "services", "svc", status=True, categories=ALL, name_rule="dns1035",
       fields={"spec.clusterIP", "spec.type"}),
    _t("", "v1", "Endpoints", "endpoints", "ep", singular="endpoints"),
    _t("", "v1", "ServiceAccount", "serviceaccounts", "sa"),
    _t("", "v1", "ConfigMap", "configmaps", "cm"),
    _t("", "v1", "Secret", "secrets", fields={"type"}),
    _t("", "v1", "Event", "events", "ev",
       fields={"involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid",
               "involvedObject.apiVersion", "reason", "type", "source"}),
    _t("apps", "v1", "Deployment", "deployments", "deploy", status=True, categories=ALL, generation=True),
    _t("apps", "v1", "StatefulSet", "statefulsets", "sts", status=True, categories=ALL, generation=True),
    _t("apps", "v1", "DaemonSet", "daemonsets", "ds", status=True, categories=ALL, generation=True),
    _t("apps", "v1", "ReplicaSet", "replicasets", "rs", status=True, categories=ALL, generation=True),
    _t("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", generation=True),
    _t("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa", status=True, categories=ALL),
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "pdb", status=True, generation=True),
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles", name_rule="path"),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", name_rule="path"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False, name_rule="path"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False, name_rule="path"),
    _t("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
       namespaced=False, generation=True),
    _t("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
       namespaced=False, generation=True),
    _t("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
       namespaced=False, status=True, generation=True),
    _t("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings",
       namespaced=False, generation=True),
    _t("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "crd", "crds",
       namespaced=False, status=True, name_rule="crd", generation=True),
    _t("coordination.k8s.io", "v1", "Lease", "leases"),
    _t("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", namespaced=False,
       verbs=CREATE_ONLY, virtual=True),
    _t("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced=False, verbs=CREATE_ONLY, virtual=True),
)

CRD_GROUP = "apiextensions.k8s.io"

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key giving Kubernetes' version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, "")


class CRDError(ValueError):
    """A CRD that cannot be registered; ``errors`` are (field, reason, message) like field.ErrorList."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, _, m in errors))
        self.errors = errors


def crd_to_type(crd: dict[str, Any]) -> ResourceType:
    """Build the ResourceType a CRD object declares, or raise CRDError saying why it cannot."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    plural = names.get("plural") or ""
    kind = names.get("kind") or ""
    errs: list[tuple[str, str, str]] = []
    if not group:
        errs.append(("spec.group", "FieldValueRequired", "Required value"))
    if not plural:
        errs.append(("spec.names.plural", "FieldValueRequired", "Required value"))
    if not kind:
        errs.append(("spec.names.kind", "FieldValueRequired", "Required value"))
    name = (crd.get("metadata") or {}).get("name", "")
    if group and plural and name != f"{plural}.{group}":
        errs.append(("metadata.name", "FieldValueInvalid",
                     f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions")
    if not versions and spec.get("version"):  # the v1beta1 single-version form
        versions = [{"name": spec["version"], "served": True, "storage": True}]
    versions = versions or []
    if not versions:
        errs.append(("spec.versions", "FieldValueRequired", "Required value: must have exactly one version marked as storage version"))
    storage = [v.get("name") for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        errs.append(("spec.versions", "FieldValueInvalid", "Invalid value: must have exactly one version marked as storage version"))
    scope = spec.get("scope") or "Namespaced"
    if scope not in ("Namespaced", "Cluster"):
        errs.append(("spec.scope", "FieldValueNotSupported", f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"'))
    if errs:
        raise CRDError(errs)
    served = sorted((v["name"] for v in versions if v.get("served", True)), key=version_priority)
    status = any("status" in ((v.get("subresources") or {}) | (spec.get("subresources") or {})) for v in versions)
    return ResourceType(
        group=group,
        kind=kind,
        plural=plural,
        namespaced=scope == "Namespaced",
        versions=tuple(served) or (storage[0],),
        storage_version=storage[0],
        singular=names.get("singular") or kind.lower(),
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        status=status,
        generation=True,
        custom=True,
        returns_object_on_delete=True,
    )


@dataclass
class Registry:
    """Every kind one fake cluster serves. Thread-safe; CRD writes change it at run time."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    _types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rt in BUILTINS:
            self._types[rt.key] = rt

    # --- lookups -------------------------------------------------------------------------------

    def all(self) -> list[ResourceType]:
        with self.lock:
            return list(self._types.values())

    def get(self, group: str, plural: str) -> ResourceType | None:
        with self.lock:
            return self._types.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at /<group>/<version>/<plural>, or None when that URL serves nothing."""
        rt = self.get(group, plural)
        return rt if rt is not None and version in rt.versions else None

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        with self.lock:
            for rt in self._types.values():
                if rt.group == group and rt.kind == kind:
                    return rt
        return None

    def for_object(self, obj: dict[str, Any]) -> tuple[ResourceType, str] | None:
        """(type, version) for an object's apiVersion and kind; None when not served."""
        group, _, version = (obj.get("apiVersion") or "").rpartition("/")
        rt = self.by_kind(group, obj.get("kind") or "")
        if rt is None or version not in rt.versions:
            return None
        return rt, version

    def resolve(self, name: str) -> ResourceType:
        """Find a type the way kubectl does: plural, singular, short name or Kind, optionally
        qualified by group (``deployments.apps``, ``Gateway.gateway.networking.k8s.io``)."""
        with self.lock:
            types = list(self._types.values())
        for rt in types:
            if name in (rt.resource, f"{rt.kind}.{rt.group}" if rt.group else rt.kind):
                return rt
        base, _, group = name.partition(".")
        for rt in types:
            if group and rt.group != group:
                continue
            if base in (rt.plural, rt.singular, rt.kind) or base in rt.short_names or base.lower() == rt.kind.lower():
                return rt
        raise KeyError(f"unknown resource type {name!r}")

    # --- CRDs ------------------------------------------------------------------------------------

    def register_crd(self, crd: dict[str, Any]) -> ResourceType:
        rt = crd_to_type(crd)
        with self.lock:
            self._types[rt.key] = rt
        return rt

    def unregister(self, key: tuple[str, str]) -> None:
        with self.lock:
            rt = self._types.get(key)
            if rt is not None and rt.custom:
                del self._types[key]

    # --- discovery views -------------------------------------------------------------------------

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, served versions preferred first) for every group but core, builtins first."""
        with self.lock:
            types = list(self._types.values())
        order: dict[str, set[str]] = {}
        builtin_groups = [rt.group for rt in BUILTINS]
        for g in builtin_groups + sorted({rt.group for rt in types if rt.custom}):
            if g:
                order.setdefault(g, set())
        for rt in types:
            if rt.group:
                order[rt.group].update(rt.versions)
        return [(g, sorted(vs, key=version_priority)) for g, vs in order.items() if vs]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        with self.lock:
            return [rt for rt in self._types.values() if rt.group == group and version in rt.versions]

