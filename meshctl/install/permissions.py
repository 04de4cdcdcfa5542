"""What the user running ``meshctl install`` must be allowed to do, as data (checked by ``precheck``).

The kinds are the ones an install writes (WORKLOADS.md §1; the same list prune and uninstall walk). The
verbs are what installing takes: get and list to read what is there and wait for readiness, create
and patch for server-side apply, delete for prune and uninstall.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind

INSTALL_VERBS = ("get", "list", "create", "patch", "delete")

# Every kind an install writes, cluster-scoped ones first.
INSTALL_KINDS: tuple[Kind, ...] = (
    K.CRD, K.NAMESPACE, K.CLUSTER_ROLE, K.CLUSTER_ROLE_BINDING, K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK,
    K.SERVICE_ACCOUNT, K.ROLE, K.ROLE_BINDING, K.CONFIG_MAP, K.SERVICE, K.DEPLOYMENT, K.DAEMON_SET, K.HPA,
    K.PDB, K.GATEWAY,
)

# Creating a (Cluster)Role that grants permissions needs `escalate`, or holding every permission it
# grants; binding one needs `bind`, or the same. cluster-admin has both.
RBAC_VERBS = ("escalate", "bind")
RBAC_KINDS: tuple[Kind, ...] = (K.CLUSTER_ROLE, K.ROLE)


@dataclass(frozen=True)
class Permission:
    verb: str
    kind: Kind
    namespace: str | None  # None: cluster-scoped (or every namespace)

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.kind.resource}{where}"


def _scope(kind: Kind, namespace: str) -> str | None:
    return namespace if kind.namespaced else None


def install_permissions(istio_namespace: str) -> list[Permission]:
    """The permissions an install needs: every verb on every kind it writes (namespaced kinds in
    ``istio_namespace``, where the control plane lives)."""
    return [Permission(verb, kind, _scope(kind, istio_namespace)) for kind in INSTALL_KINDS for verb in INSTALL_VERBS]


def rbac_permissions(istio_namespace: str) -> list[Permission]:
    """The permissions that let the install grant RBAC it does not hold itself."""
    return [Permission(verb, kind, _scope(kind, istio_namespace)) for kind in RBAC_KINDS for verb in RBAC_VERBS]
