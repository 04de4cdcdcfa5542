"""Move the shared data plane (istio-cni, then ztunnel) to another revision, node by node.

ztunnel and istio-cni serve every revision on a node, so they move as one explicit step after the new
istiod runs: each DaemonSet is applied with ``updateStrategy: OnDelete`` (so nothing restarts by
itself), then its pods are replaced a batch of nodes at a time, each node's new pod Ready before the
next batch. When every node runs the new pods the DaemonSet gets back its rendered strategy; with
``--nodes`` (a blue/green node pool) the others keep the old pods until a later run reaches them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from meshctl.errors import MeshctlError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.apply import ClusterWriter, WaitTimeout
from meshctl.kube.fields import Part
from meshctl.kube.state import ClusterState, Resource, matches_labels
from meshctl.mesh.status import pod_ready

CAVEAT = ("a node's long-lived TCP connections through ztunnel are reset when its ztunnel restarts; to avoid "
          "it, drain each node first (kubectl drain NODE) or move workloads to a new node pool and pass "
          "--nodes SELECTOR for it")


def parse_node_selector(text: str | None) -> dict[str, str]:
    """``--nodes pool=blue,zone=a``: equality terms only (what node pools are told apart by)."""
    wanted: dict[str, str] = {}
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        key, sep, value = term.partition("=")
        if not sep or not key or "!" in key:
            raise UsageError(f"--nodes: {term!r} is not a KEY=VALUE term",
                             hint="select a node pool by its labels, e.g. --nodes cloud.google.com/gke-nodepool=blue")
        wanted[key.strip()] = value.strip()
    return wanted


@dataclass
class RollResult:
    rolled: list[str] = field(default_factory=list)  # nodes whose pod was replaced
    current: list[str] = field(default_factory=list)  # nodes already on the new pod
    left: list[str] = field(default_factory=list)  # nodes outside --nodes still on the old pod


def with_on_delete(daemonset: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(daemonset)
    out.setdefault("spec", {})["updateStrategy"] = {"type": "OnDelete"}
    return out


def _runs_template(pod: Resource, template: Part) -> bool:
    """Whether a pod runs the DaemonSet's current template, judged by what a revision or version change
    alters: the template's labels and each container's image and environment. (The pod's
    ``controller-revision-hash`` would say it exactly, but only against ControllerRevisions, and
    ``pod-template-generation`` moves with every spec change, updateStrategy too.)"""
    if any(pod.labels.get(k) != v for k, v in template.string_map("metadata", "labels").items()):
        return False
    running = {c.text("name"): c for c in pod.fields.parts("spec", "containers")}
    for want in template.parts("spec", "containers"):
        have = running.get(want.text("name"))
        if have is None or have.text("image") != want.text("image"):
            return False
        if have.sequence("env") != want.sequence("env"):
            return False
    return True


def _pods_by_node(state: ClusterState, ds: Resource) -> dict[str, list[Resource]]:
    state.forget(K.POD)
    selector = ds.fields.string_map("spec", "selector", "matchLabels")
    by_node: dict[str, list[Resource]] = {}
    for pod in state.list(K.POD, ds.namespace, labels=selector):
        node = pod.fields.text("spec", "nodeName")
        if node:
            by_node.setdefault(node, []).append(pod)
    return by_node


def roll(state: ClusterState, writer: ClusterWriter, daemonset: dict[str, Any], *, nodes: Iterable[str] | None,
         max_unavailable: int, timeout: float, progress: Callable[[str], None],
         interval: float = 0.5) -> RollResult:
    """Replace the pods of an applied OnDelete DaemonSet on each node (``nodes``: only those),
    ``max_unavailable`` nodes at a time, each new pod Ready before the next batch."""
    meta = daemonset["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    state.forget(K.DAEMON_SET)
    ds = state.get(K.DAEMON_SET, name, namespace)
    if ds is None:
        raise MeshctlError(f"DaemonSet {namespace}/{name} disappeared while upgrading",
                           hint="run the same command again")
    template = ds.fields.part("spec", "template")
    chosen = set(nodes) if nodes is not None else None
    result = RollResult()
    by_node = _pods_by_node(state, ds)
    todo = []
    for node in sorted(by_node):
        old = [p for p in by_node[node] if not _runs_template(p, template)]
        if not old:
            result.current.append(node)
        elif chosen is not None and node not in chosen:
            result.left.append(node)
        else:
            todo.append(node)
    for start in range(0, len(todo), max_unavailable):
        batch = todo[start:start + max_unavailable]
        for node in batch:
            for pod in by_node[node]:
                if not _runs_template(pod, template):
                    writer.delete(K.POD, pod.name, namespace)
        _wait_new_pods(state, ds, template, batch, timeout=timeout, interval=interval)
        result.rolled += batch
        progress(f"{name}: node{'s' if len(batch) > 1 else ''} {', '.join(batch)} ready on the new pod "
                 f"({len(result.rolled)}/{len(todo)})")
    return result


def _wait_new_pods(state: ClusterState, ds: Resource, template: Part, batch: list[str], *, timeout: float,
                   interval: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        by_node = _pods_by_node(state, ds)
        waiting = [n for n in batch if not any(_runs_template(p, template) and pod_ready(p)
                                               for p in by_node.get(n, []))]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{ds.name} on node{'s' if len(waiting) > 1 else ''} {', '.join(waiting)} has no ready "
                              f"new pod after {timeout:g}s")
        time.sleep(interval)


def node_names(state: ClusterState, selector: dict[str, str]) -> list[str]:
    return sorted(n.name for n in state.list(K.NODE) if matches_labels(n.labels, selector))
