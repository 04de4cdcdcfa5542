"""deployment.MultiServiceAnalyzer: Services that disagree about a sidecar workload's ports.

For each Deployment whose pods run a sidecar (waypoints excepted), the Services of its namespace that
select its pod template must not use one port number with two protocols (IST0116), nor reach one
target port from two different service ports (IST0137): the sidecar builds one inbound listener per
port and cannot serve both readings.
"""

from __future__ import annotations

from collections import defaultdict

from meshctl.analysis.common import sidecar_injected
from meshctl.analysis.framework import Analyzer, Context, analyzer, selector_matches
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource

MANAGED_BY = "gateway.istio.io/managed"
MESH_CONTROLLER = "istio.io-mesh-controller"  # value on the Deployments istiod makes for waypoints


def template_labels(deployment: Resource) -> dict:
    return deployment.fields.string_map("spec", "template", "metadata", "labels")


def deployment_in_mesh(deployment: Resource, ctx: Context) -> bool:
    meta = deployment.fields.part("spec", "template", "metadata")
    containers = [c.data for c in deployment.fields.iter_parts("spec", "template", "spec", "containers")]
    namespace = ctx.get(K.NAMESPACE, "", deployment.namespace)
    return sidecar_injected(meta.mapping("labels"), meta.mapping("annotations"), containers, namespace)


def services_by_deployment(ctx: Context, deployments: list[Resource]) -> dict[int, list[Resource]]:
    """For each Deployment (by id), the Services of its namespace whose selector matches its pod template.

    An inverted index of template labels keeps this near the number of matches, not Services x Deployments.
    """
    index: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for d in deployments:
        for key, value in template_labels(d).items():
            index[(d.namespace, key, value)].append(d)
    out: dict[int, list[Resource]] = defaultdict(list)
    for svc in ctx.resources(K.SERVICE):
        selector = svc.fields.string_map("spec", "selector")
        if not selector:
            continue  # a Service without selector selects no pods
        key, value = sorted(selector.items())[0]
        for d in index.get((svc.namespace, key, value), []):
            if selector_matches(selector, template_labels(d)):
                out[id(d)].append(svc)
    return out


def service_ports(services: list[Resource]):
    for svc in services:
        for port in svc.fields.sequence("spec", "ports"):
            if isinstance(port, dict) and isinstance(port.get("port"), int) and not isinstance(port["port"], bool):
                yield f"{svc.namespace}/{svc.name}", port


@analyzer
class MultiServiceAnalyzer(Analyzer):
    name = "deployment.MultiServiceAnalyzer"
    description = "Checks that the Services selecting a sidecar workload agree on its ports"
    inputs = (K.SERVICE, K.DEPLOYMENT, K.NAMESPACE)
    codes = ("IST0116", "IST0137")

    def analyze(self, ctx: Context) -> None:
        deployments = [
            d for d in ctx.resources(K.DEPLOYMENT)
            if d.labels.get(MANAGED_BY) != MESH_CONTROLLER and deployment_in_mesh(d, ctx)
        ]
        matches = services_by_deployment(ctx, deployments)
        for d in deployments:
            services = matches.get(id(d), [])
            if services:
                check_protocols(ctx, d, services)
                check_target_ports(ctx, d, services)


def check_protocols(ctx: Context, deployment: Resource, services: list[Resource]) -> None:
    # port number -> protocol -> service names
    by_port: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, port in service_ports(services):
        by_port[port["port"]][str(port.get("protocol") or "TCP")].append(name)
    for number in sorted(by_port):
        protocols = by_port[number]
        if len(protocols) > 1:
            names = sorted(n for names in protocols.values() for n in names)
            ctx.report("IST0116", deployment, deployment.name, number, ", ".join(names))


def check_target_ports(ctx: Context, deployment: Resource, services: list[Resource]) -> None:
    # target port (number or name, as written) -> service port -> service name
    by_target: dict[str, dict[int, str]] = defaultdict(dict)
    for name, port in service_ports(services):
        target = port.get("targetPort")
        target = str(target) if target not in (None, "", 0) else str(port["port"])
        by_target[target][port["port"]] = name
    for target in sorted(by_target):
        ports = by_target[target]
        if len(ports) > 1:
            names = ", ".join(sorted(set(ports.values())))
            numbers = ", ".join(str(p) for p in sorted(ports))
            ctx.report("IST0137", deployment, deployment.name, names, target, numbers)
