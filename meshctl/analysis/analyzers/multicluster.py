"""multicluster.*: meshctl's checks of configuration that must agree across clusters (codes MSH0301 and up).

They run only when several clusters are analyzed together, and read each cluster through the
multicluster read model (``meshctl.mesh.multicluster.describe_identity``), the one ``meshctl multicluster
check`` uses. Each finding is reported on the object to edit, in the cluster that holds it:

- a Service global (``istio.io/global=true``) in one cluster and not in another (MSH0301) (different
  ports of one global Service are Istio's IST0170, ``services.MultiClusterServiceAnalyzer``);
- a namespace that uses waypoints of different names in different clusters (MSH0303): traffic that
  crosses clusters is handed to the waypoint of the same name on the other side;
- two clusters that istiod calls by one name (MSH0304), or clusters with different meshIDs (MSH0305);
- a remote secret naming a cluster none of the analyzed clusters is, while one of them has no remote
  secret (MSH0306): most likely that one, under a wrong name.

Only configuration is compared: nothing is probed, and no secret value is read for a finding (the
names of remote secrets come from their annotation or data key, which snapshots keep).

Where clusters disagree on a value, the clusters outside the largest group are reported; when groups
tie for largest, every cluster is, each naming one cluster that differs.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from meshctl.analysis.analyzers.services import is_global
from meshctl.analysis.framework import Context, MultiClusterAnalyzer, analyzer
from meshctl.analysis.meshconfig import MESH_CONFIGMAP, MESH_KEY
from meshctl.analysis.messages import Level, MessageType, register
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L
from meshctl.mesh.multicluster import ClusterIdentity

# MSH0302 is left unused: ports that differ are Istio's IST0170.
NOT_GLOBAL, WAYPOINT_NAME = "MSH0301", "MSH0303"
SAME_NAME, MESH_ID, SECRET_NAME = "MSH0304", "MSH0305", "MSH0306"
register(
    MessageType(NOT_GLOBAL, "GlobalServiceNotGlobalEverywhere", Level.WARNING,
                "Service {0} is labelled istio.io/global=true in cluster {1} but not here, so this copy stays "
                "local: its endpoints are not shared with the other clusters, and its clients here reach only "
                "this cluster's endpoints."),
    MessageType(WAYPOINT_NAME, "WaypointNameDiffersAcrossClusters", Level.ERROR,
                "Namespace {0} uses waypoint {1} here but waypoint {2} in cluster {3}; traffic crossing "
                "clusters is handed to the waypoint of the same name on the other side, so the namespace "
                "needs one waypoint name in every cluster."),
    MessageType(SAME_NAME, "DuplicateClusterName", Level.ERROR,
                "istiod calls this cluster {0} (CLUSTER_ID), as istiod in {1} calls its own; Istio tells "
                "clusters apart by that name, so their endpoints and remote secrets are confused."),
    MessageType(MESH_ID, "MeshIDDiffers", Level.ERROR,
                "The meshID here is {0}, but in cluster {1} it is {2}; every cluster of one mesh needs the "
                "same meshID."),
    MessageType(SECRET_NAME, "RemoteSecretUnknownCluster", Level.WARNING,
                "This remote secret is for a cluster named {0}, but the analyzed clusters are named {1}, and "
                "this cluster has no remote secret for {2}; if it is meant for {2}, it must carry that "
                "cluster's own name (istiod's CLUSTER_ID there), or istiod knows the cluster by a wrong name."),
)

Member = TypeVar("Member")


def outliers(groups: dict[Hashable, list[Member]]) -> list[tuple[Member, Hashable, Member, Hashable]]:
    """(member, its value, a member that differs, that one's value) for each member to report when the
    groups (value -> members, in a stable order) disagree: those outside the single largest group, or
    every member when several groups tie for largest."""
    if len(groups) < 2:
        return []
    largest = max(len(members) for members in groups.values())
    leaders = [value for value, members in groups.items() if len(members) == largest]
    found = []
    for value, members in groups.items():
        if len(leaders) == 1 and value == leaders[0]:
            continue
        other = leaders[0] if value != leaders[0] else next(v for v in groups if v != value)
        found += [(member, value, groups[other][0], other) for member in members]
    return found


class ComparingAnalyzer(MultiClusterAnalyzer):
    """Reads its input kinds through each cluster's context in the per-cluster pass, so the run counts
    them among the objects analyzed (the comparison itself reads them through the read model)."""

    def analyze(self, ctx: Context) -> None:
        if ctx.multi_cluster:  # alone, a cluster has nothing to compare
            for kind in self.inputs:
                ctx.resources(kind)


def split(key: str) -> tuple[str, str]:
    namespace, name = key.split("/", 1)
    return namespace, name


@analyzer
class GlobalServiceAnalyzer(ComparingAnalyzer):
    name = "multicluster.GlobalServiceAnalyzer"
    description = ("Checks that a Service labelled istio.io/global=true in one cluster is global in every "
                   "analyzed cluster that has it")
    inputs = (K.SERVICE, K.NAMESPACE)
    codes = (NOT_GLOBAL,)

    def analyze_clusters(self, contexts: list[Context]) -> None:
        found = [ctx.identity for ctx in contexts]
        everywhere = sorted({s for identity in found for s in identity.global_services})
        for key in everywhere:
            global_in = [ctx for ctx, identity in zip(contexts, found) if key in identity.global_services]
            for ctx, identity in zip(contexts, found):
                if key in identity.services and key not in identity.global_services:
                    self._not_global(ctx, key, global_in[0])

    @staticmethod
    def _not_global(ctx: Context, key: str, global_in: Context) -> None:
        service = ctx.get(K.SERVICE, *split(key))
        if service is None:
            return
        namespace = ctx.get(K.NAMESPACE, "", service.namespace)
        if is_global(service, namespace, ctx.mesh_config):
            return  # global through the mesh config's serviceScopeConfigs, without the label
        ctx.report(NOT_GLOBAL, service, key, global_in.cluster, field_path="metadata.labels")


@analyzer
class WaypointNameAnalyzer(ComparingAnalyzer):
    name = "multicluster.WaypointNameAnalyzer"
    description = "Checks that a namespace uses a waypoint of the same name in every analyzed cluster"
    inputs = (K.NAMESPACE, K.GATEWAY)
    codes = (WAYPOINT_NAME,)

    def analyze_clusters(self, contexts: list[Context]) -> None:
        found = [ctx.identity for ctx in contexts]
        uses: dict[str, dict[Hashable, list[Context]]] = {}  # namespace -> waypoint it uses -> clusters
        for ctx, identity in zip(contexts, found):
            for ns in ctx.resources(K.NAMESPACE):
                name = ns.labels.get(L.USE_WAYPOINT) or ""
                waypoint = f"{ns.labels.get(L.USE_WAYPOINT_NAMESPACE) or ns.name}/{name}"
                # A label naming no existing waypoint is ambient.UseWaypointAnalyzer's to report (MSH0001).
                if name and name != "none" and waypoint in identity.waypoints:
                    uses.setdefault(ns.name, {}).setdefault(waypoint, []).append(ctx)
        for namespace, by_waypoint in sorted(uses.items()):
            for ctx, waypoint, other, other_waypoint in outliers(by_waypoint):
                ns = ctx.get(K.NAMESPACE, "", namespace)
                if ns is not None:
                    ctx.report(WAYPOINT_NAME, ns, namespace, waypoint, other_waypoint, other.cluster,
                               field_path=f"metadata.labels.{L.USE_WAYPOINT}")


def _where(ctx: Context) -> str:
    """A cluster named so that two clusters of one Istio name can be told apart."""
    return f"context {ctx.state.info.context}" if ctx.state.info.context else f"cluster {ctx.cluster}"


@analyzer
class ClusterIdentityAnalyzer(ComparingAnalyzer):
    name = "multicluster.ClusterIdentityAnalyzer"
    description = "Checks that the analyzed clusters have distinct cluster names and one meshID"
    inputs = (K.DEPLOYMENT, K.CONFIG_MAP)
    codes = (SAME_NAME, MESH_ID)

    def analyze_clusters(self, contexts: list[Context]) -> None:
        found = [ctx.identity for ctx in contexts]
        by_name: dict[str, list[Context]] = {}
        for ctx, identity in zip(contexts, found):
            if istiods(ctx):  # without istiod the cluster's name is not known
                by_name.setdefault(identity.cluster_name or L.DEFAULT_CLUSTER_ID, []).append(ctx)
        for name, sharing in by_name.items():
            for ctx in sharing if len(sharing) > 1 else []:
                other = next(c for c in sharing if c is not ctx)
                shown = name if name != L.DEFAULT_CLUSTER_ID else f"{name} (the default: it was given no name)"
                for deployment in istiods(ctx):
                    ctx.report(SAME_NAME, deployment, shown, _where(other))
        by_mesh: dict[Hashable, list[Context]] = {}
        for ctx, identity in zip(contexts, found):
            if ctx.get(K.CONFIG_MAP, ctx.istio_namespace, MESH_CONFIGMAP) is not None:
                by_mesh.setdefault(mesh_id(identity), []).append(ctx)
        for ctx, value, other, other_value in outliers(by_mesh):
            config_map = ctx.get(K.CONFIG_MAP, ctx.istio_namespace, MESH_CONFIGMAP)
            ctx.report(MESH_ID, config_map, value, other.cluster, other_value, field_path=f"data.{MESH_KEY}")


def istiods(ctx: Context) -> list[Resource]:
    return ctx.select(K.DEPLOYMENT, ctx.istio_namespace, {"app": L.ISTIOD_APP})


def mesh_id(identity: ClusterIdentity) -> str:
    if identity.mesh_id:
        return identity.mesh_id
    return f"{identity.effective_mesh_id} (the trust domain: no meshID is set)"


@analyzer
class RemoteSecretAnalyzer(ComparingAnalyzer):
    name = "multicluster.RemoteSecretAnalyzer"
    description = ("Checks for remote secrets naming a cluster that none of the analyzed clusters is while one of "
                   "them has no remote secret")
    inputs = (K.SECRET, K.DEPLOYMENT)
    codes = (SECRET_NAME,)

    def analyze_clusters(self, contexts: list[Context]) -> None:
        found = [ctx.identity for ctx in contexts]
        if not all(istiods(ctx) for ctx in contexts):
            return  # a cluster without istiod has no name to compare with
        names = [identity.cluster_name or L.DEFAULT_CLUSTER_ID for identity in found]
        for ctx, identity, own in zip(contexts, found, names):
            named = {secret.cluster for secret in identity.remote_secrets}
            lacking = [n for n in names if n != own and n not in named]
            if not lacking:
                continue  # a secret for a cluster left out of the analysis is no sign of a wrong name
            for remote in identity.remote_secrets:
                if remote.cluster in names:
                    continue
                secret = ctx.get(K.SECRET, remote.namespace, remote.name)
                if secret is None:
                    continue
                path = f"metadata.annotations.{L.CLUSTER_ANNOTATION}" \
                    if L.CLUSTER_ANNOTATION in secret.annotations else "data"
                ctx.report(SECRET_NAME, secret, remote.cluster, ", ".join(sorted(set(names))), " or ".join(lacking),
                           field_path=path)
