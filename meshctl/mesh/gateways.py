"""Which data plane serves a Gateway, read from its class: the one mapping ``status``, ``topology`` and
the analyzers share.

istiod's own classes name their data plane (Envoy or agentgateway) and role. A class of another name
is known by the controller its GatewayClass names: a custom class on one of istiod's controllers is
served like istiod's own, any other controller is shown by name, and "unknown" when the GatewayClass
is not in the source read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L

# Roles: what a Gateway is for.
INGRESS, WAYPOINT, EAST_WEST, REMOTE, GATEWAY = "ingress", "waypoint", "east-west", "remote", "gateway"
ENVOY, AGENTGATEWAY = "Envoy", "agentgateway"
UNKNOWN = "unknown"
TRUE_WORDS = ("1", "t", "T", "true", "TRUE", "True")  # what istiod's boolean env parsing takes as true


@dataclass(frozen=True)
class DataPlane:
    role: str  # ingress | waypoint | east-west | remote | gateway (a class istiod does not serve)
    proxy: str  # Envoy | agentgateway | the controller's name | unknown
    label: str  # what users read: "Envoy (ingress)", "agentgateway waypoint", a controller name...
    istio: bool  # istiod deploys and programs it

    @property
    def needs_agentgateway_switch(self) -> bool:
        """istiod serves it only while it runs with PILOT_ENABLE_AGENTGATEWAY=true."""
        return self.istio and self.proxy == AGENTGATEWAY


BY_CLASS: dict[str, DataPlane] = {
    L.CLASS_ISTIO: DataPlane(INGRESS, ENVOY, "Envoy (ingress)", True),
    L.CLASS_WAYPOINT: DataPlane(WAYPOINT, ENVOY, "waypoint (Envoy)", True),
    L.CLASS_EAST_WEST: DataPlane(EAST_WEST, ENVOY, "east-west (Envoy)", True),
    L.CLASS_AGENTGATEWAY: DataPlane(INGRESS, AGENTGATEWAY, "agentgateway", True),
    L.CLASS_AGENTGATEWAY_WAYPOINT: DataPlane(WAYPOINT, AGENTGATEWAY, "agentgateway waypoint", True),
    L.CLASS_AGENTGATEWAY_STANDALONE: DataPlane(GATEWAY, AGENTGATEWAY, "agentgateway (not Istio-managed)", False),
    L.CLASS_REMOTE: DataPlane(REMOTE, UNKNOWN, "unmanaged/remote", False),
}
BY_CONTROLLER: dict[str, DataPlane] = {
    L.CONTROLLER_ISTIO: BY_CLASS[L.CLASS_ISTIO],
    L.CONTROLLER_WAYPOINT: BY_CLASS[L.CLASS_WAYPOINT],
    L.CONTROLLER_EAST_WEST: BY_CLASS[L.CLASS_EAST_WEST],
    L.CONTROLLER_AGENTGATEWAY: BY_CLASS[L.CLASS_AGENTGATEWAY],
    L.CONTROLLER_AGENTGATEWAY_WAYPOINT: BY_CLASS[L.CLASS_AGENTGATEWAY_WAYPOINT],
    L.CONTROLLER_REMOTE: BY_CLASS[L.CLASS_REMOTE],
}


def data_plane(class_name: str, controller: str | None = None) -> DataPlane:
    """The data plane behind a GatewayClass; ``controller`` is its spec.controllerName when known."""
    known = BY_CLASS.get(class_name) or BY_CONTROLLER.get(controller or "")
    if known is not None:
        return known
    name = controller or UNKNOWN
    return DataPlane(GATEWAY, name, name, False)


def class_controllers(state: ClusterState) -> dict[str, str]:
    """spec.controllerName of each GatewayClass the source holds (none when it holds no GatewayClasses)."""
    return {gc.name: gc.fields.text("spec", "controllerName")
            for gc in list_if_served(state, K.GATEWAY_CLASS) or []}


def gateway_data_plane(gateway: Resource, controllers: Mapping[str, str]) -> DataPlane:
    class_name = gateway.fields.text("spec", "gatewayClassName")
    return data_plane(class_name, controllers.get(class_name))


def serving_revision(gateway: Resource, tags: Mapping[str, str]) -> str:
    """The istiod revision that serves a Gateway: its istio.io/rev label (a tag resolved), else the default."""
    revision = gateway.fields.text("metadata", "labels", L.REV) or L.DEFAULT_REVISION
    return tags.get(revision, revision)


def env_true(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "") in TRUE_WORDS
