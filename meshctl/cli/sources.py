"""From the leaf commands' source flags to ClusterStates (one place for the rules)."""

from __future__ import annotations

from meshctl.errors import ClusterUnavailableError
from meshctl.kube.sources import SourceOptions, open_states
from meshctl.kube.state import ClusterState
from meshctl.render.console import warn


def states_for_version(
    remote: bool | None, contexts: list[str] | None, kubeconfig: str | None, snapshot: str | None
) -> list[ClusterState]:
    """``version`` reads a cluster only when asked or when one is configured.

    Without --remote, --context or --kubeconfig an unreachable (or absent) cluster is a warning, so
    ``meshctl version`` still answers on a laptop with no cluster; when the user named one, it is an error.
    """
    if snapshot:
        return open_states(SourceOptions(snapshot=snapshot, contexts=contexts or []))
    if remote is False:
        return []
    try:
        return open_states(SourceOptions(contexts=contexts or [], kubeconfig=kubeconfig))
    except ClusterUnavailableError as err:
        if remote or contexts or kubeconfig:
            raise
        warn(f"{err.message}; showing the client version only")
        return []


def context_namespace(state) -> str:
    """kubectl's default: the kubeconfig context's namespace."""
    return getattr(getattr(state, "conn", None), "namespace", None) or "default"


def read_scope(state, namespace: str | None, all_namespaces: bool) -> str | None:
    """The namespace a namespaced read covers (None: all). -A reads every namespace; so do files and
    snapshots without -n (as analyze does); live, the context's namespace unless -n."""
    if all_namespaces or (namespace is None and state.info.kind != "live"):
        return None
    return namespace or context_namespace(state)
