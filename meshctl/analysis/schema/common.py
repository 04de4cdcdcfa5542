"""Schema pieces several Istio kinds share: number types, workload selectors, policy target refs, annotations."""

from __future__ import annotations

from typing import Any

from meshctl.analysis.schema import checks as C
from meshctl.analysis.schema.core import (
    Int,
    List,
    Map,
    Obj,
    Str,
    Validation,
    as_dict,
    as_str,
    is_nonempty,
    is_set,
)

INT32 = Int(-(2**31), 2**31 - 1)
UINT32 = Int(0, 2**32 - 1)
NON_NEGATIVE_INT32 = Int(0, 2**31 - 1)
STRINGS = List(Str())
STRING_MAP = Map(Str())

DRY_RUN_ANNOTATION = "istio.io/dry-run"
ALWAYS_REJECT_ANNOTATION = "internal.istio.io/webhook-always-reject"
GO_BOOLS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


# -- workload selectors ---------------------------------------------------------------------------


def _selector_problems(labels: Any, path: str, v: Validation) -> None:
    for problem in C.find_selector_problems(as_dict(labels)):
        v.error(path, problem)


def _workload_selector_rule(selector: dict, path: str, v: Validation) -> None:
    """``selector: {matchLabels: ...}`` of the security, telemetry and extension APIs."""
    _selector_problems(selector.get("matchLabels"), f"{path}.matchLabels", v)
    if not as_dict(selector.get("matchLabels")):
        v.warn(path, "selector has no labels, so it selects every workload in the namespace")


WORKLOAD_SELECTOR = Obj({"matchLabels": Map(Str(max_len=63))}, rules=(_workload_selector_rule,))


def alpha_workload_selector(owner: str) -> Obj:
    """``workloadSelector: {labels: ...}`` of Sidecar, ServiceEntry and EnvoyFilter."""

    def rule(selector: dict, path: str, v: Validation) -> None:
        _selector_problems(selector.get("labels"), f"{path}.labels", v)
        if not as_dict(selector.get("labels")):
            v.warn(path, f"workloadSelector has no labels, so this {owner} applies to every workload in the "
                         "namespace")

    return Obj({"labels": Map(Str(max_len=63))}, rules=(rule,))


# -- policy target references ---------------------------------------------------------------------

GROUP_NAME = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND_NAME = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
# What Istio policies may target: a Service, a ServiceEntry, a Kubernetes Gateway or GatewayClass.
ALLOWED_TARGETS = frozenset({
    ("core", "Service"),
    ("networking.istio.io", "ServiceEntry"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
})
TARGET_REF_FIELDS = {
    "group": Str(max_len=253, pattern=GROUP_NAME, hint="an API group (a DNS subdomain, or empty for core)"),
    "kind": Str(min_len=1, max_len=63, pattern=KIND_NAME, hint="a kind name"),
    "name": Str(min_len=1, max_len=253),
    "namespace": Str(),
}


def _target_ref_rule(ref: dict, path: str, v: Validation) -> None:
    if as_str(ref.get("namespace")):
        v.error(f"{path}.namespace", "remove the namespace: a policy can only target objects in its own namespace")
    group, kind = as_str(ref.get("group")) or "core", as_str(ref.get("kind"))
    if kind and (group, kind) not in ALLOWED_TARGETS:
        allowed = ", ".join(f"{g}/{k}" for g, k in sorted(ALLOWED_TARGETS))
        v.error(path, f"a policy cannot target {as_str(ref.get('group'))}/{kind}: use one of {allowed}")


TARGET_REF = Obj(TARGET_REF_FIELDS, required=("kind", "name"), rules=(_target_ref_rule,))
TARGET_REFS = List(TARGET_REF, max_items=16)
# EnvoyFilter's targetRefs are not restricted to the kinds policies may target.
PLAIN_TARGET_REFS = List(Obj(TARGET_REF_FIELDS, required=("kind", "name")), max_items=16)


def policy_selector_rule(spec: dict, path: str, v: Validation) -> None:
    """A policy selects workloads by ``selector`` or by ``targetRef(s)``, never by more than one."""
    chosen = sum((is_set(spec, "selector"), is_set(spec, "targetRef"), is_nonempty(spec, "targetRefs")))
    if chosen > 1:
        v.error(path, "use only one of selector, targetRef and targetRefs")


POLICY_TARGETING = {"selector": WORKLOAD_SELECTOR, "targetRef": TARGET_REF, "targetRefs": TARGET_REFS}


# -- annotations every Istio kind is checked for -------------------------------------------------


def istio_annotation_rules(dry_run_allowed: bool = False):
    def rule(v: Validation) -> None:
        if ALWAYS_REJECT_ANNOTATION in v.annotations:
            v.error("metadata.annotations", f"the {ALWAYS_REJECT_ANNOTATION!r} annotation makes the webhook reject "
                                            "this object")
        if DRY_RUN_ANNOTATION not in v.annotations:
            return
        at = f"metadata.annotations.{DRY_RUN_ANNOTATION}"
        if not dry_run_allowed:
            v.error(at, f"{DRY_RUN_ANNOTATION} only works on AuthorizationPolicy; remove it")
            return
        action = as_str(v.spec.get("action")) or "ALLOW"
        if action not in ("ALLOW", "DENY"):
            v.error(at, f"{DRY_RUN_ANNOTATION} only works with action ALLOW or DENY, not {action}")
        elif str(v.annotations[DRY_RUN_ANNOTATION]) not in GO_BOOLS:
            v.error(at, f"{v.annotations[DRY_RUN_ANNOTATION]!r} is not a boolean: use true or false")

    return (rule,)
