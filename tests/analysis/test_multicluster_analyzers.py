"""multicluster.* (MSH0301-MSH0306): configuration that must agree across the clusters analyzed together."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from tests.analysis.conftest import cluster_codes, load_cluster, namespace, run_on_demo

FAMILY = "multicluster"


def run(tmp_path, *texts, names=None, analyzer=FAMILY):
    """Messages of the family (or one analyzer) over clusters read from YAML texts, as ``meshctl analyze``
    runs several clusters together."""
    names = names or [f"cluster{i + 1}" for i in range(len(texts))]
    states = [load_cluster(tmp_path, name, text) for name, text in zip(names, texts)]
    return run_analysis(states, select_analyzers([analyzer])).messages


def found(tmp_path, *texts, **options):
    return cluster_codes(run(tmp_path, *texts, **options))


def service(name="cart", ns="shop", labels=None, ports=None):
    ports = ports or [{"name": "http", "port": 8080, "protocol": "TCP"}]
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}, labels: {labels or {}}}}
spec: {{selector: {{app: {name}}}, ports: {ports}}}
"""


def istiod(cluster_id=None, name="istiod"):
    env = f"[{{name: CLUSTER_ID, value: {cluster_id}}}]" if cluster_id else "[]"
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: istio-system, labels: {{app: istiod}}}}
spec:
  template:
    spec:
      containers: [{{name: discovery, image: "registry.istio.io/release/pilot:1.30.3", env: {env}}}]
"""


def mesh_config(mesh_id=None):
    mesh = f"defaultConfig: {{meshId: {mesh_id}}}" if mesh_id else "trustDomain: cluster.local"
    return f"""
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: istio, namespace: istio-system}}
data: {{mesh: "{mesh}"}}
"""


def waypoint(name, ns="shop"):
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {ns}}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{{name: mesh, port: 15008, protocol: HBONE}}]
"""


def remote_secret(peer, annotated=True, name=None):
    annotations = f"{{networking.istio.io/cluster: {peer}}}" if annotated else "{}"
    return f"""
---
apiVersion: v1
kind: Secret
metadata:
  name: {name or "istio-remote-secret-" + peer}
  namespace: istio-system
  labels: {{istio/multiCluster: "true"}}
  annotations: {annotations}
data: {{{peer}: ""}}
"""


GLOBAL = {"istio.io/global": "true"}
NOTHING_ELSE = namespace("elsewhere")  # a cluster that has none of the objects compared
AMBIENT = {"istio.io/dataplane-mode": "ambient"}


def uses(waypoint_name, ns="shop"):
    return namespace(ns, {**AMBIENT, "istio.io/use-waypoint": waypoint_name})


# -- a single cluster has nothing to compare --------------------------------------------------------


def test_one_cluster_reports_nothing(tmp_path):
    """Everything that differs between clusters below, put in one cluster, is not a finding."""
    text = (service(labels=GLOBAL) + service(ns="other") + istiod("c1") + mesh_config("mesh2") + uses("wp")
            + waypoint("wp") + remote_secret("c-one"))
    assert run(tmp_path, text) == []


# -- MSH0301: global in one cluster, not in another ----------------------------------------------


def test_a_service_global_in_one_cluster_only_is_reported_where_the_label_is_missing(tmp_path):
    messages = run(tmp_path, service(labels=GLOBAL), service(), service(labels={"istio.io/global": "false"}))
    assert cluster_codes(messages) == [("cluster2", "MSH0301", "Service shop/cart"),
                                       ("cluster3", "MSH0301", "Service shop/cart")]
    assert messages[0].level.label == "Warning"
    assert "labelled istio.io/global=true in cluster cluster1 but not here" in messages[0].text
    assert messages[0].extra == {"field": "metadata.labels"}


@pytest.mark.parametrize("second", [
    service(labels=GLOBAL),  # global in both
    service(name="other"),  # no copy in the other cluster
    NOTHING_ELSE,
], ids=["global-everywhere", "other-name", "absent"])
def test_no_msh0301_when_every_copy_is_global(tmp_path, second):
    assert found(tmp_path, service(labels=GLOBAL), second) == []


def test_a_copy_global_through_the_mesh_configs_scope_is_not_reported(tmp_path):
    states = [load_cluster(tmp_path, "cluster1", service(labels=GLOBAL)),
              load_cluster(tmp_path, "cluster2", namespace("shop", {"shared": "yes"}) + service())]
    scope = {"serviceScopeConfigs": [{"scope": "GLOBAL", "namespaceSelector": {"matchLabels": {"shared": "yes"}}}]}
    messages = run_analysis(states, select_analyzers(["multicluster.GlobalServiceAnalyzer"]),
                            mesh_configs=[({}, {}), (scope, {})]).messages
    assert messages == []


# -- ports of a global Service: Istio's IST0170, not repeated here -----------------------------------


def test_different_ports_of_a_global_service_are_left_to_ist0170(tmp_path):
    assert found(tmp_path, service(labels=GLOBAL),
                 service(labels=GLOBAL, ports=[{"name": "http", "port": 9090, "protocol": "TCP"}])) == []


# -- MSH0303: waypoint names differ across clusters ----------------------------------------------


def test_a_namespace_using_waypoints_of_different_names_is_reported_in_each_cluster(tmp_path):
    messages = run(tmp_path, uses("waypoint") + waypoint("waypoint"), uses("wp") + waypoint("wp"))
    assert cluster_codes(messages) == [("cluster1", "MSH0303", "Namespace shop"),
                                       ("cluster2", "MSH0303", "Namespace shop")]
    first = next(m for m in messages if m.cluster == "cluster1")
    assert first.level.label == "Error"
    assert "uses waypoint shop/waypoint here but waypoint shop/wp in cluster cluster2" in first.text
    assert first.extra == {"field": "metadata.labels.istio.io/use-waypoint"}


def test_the_minority_name_is_the_one_reported(tmp_path):
    same = uses("waypoint") + waypoint("waypoint")
    assert found(tmp_path, same, uses("wp") + waypoint("wp"), same) == [("cluster2", "MSH0303", "Namespace shop")]


@pytest.mark.parametrize("second", [
    uses("waypoint") + waypoint("waypoint") + waypoint("spare"),  # same waypoint in use; an unused extra one
    namespace("shop", AMBIENT) + waypoint("wp"),  # the namespace uses no waypoint there
    uses("none") + waypoint("wp"),
    uses("wp"),  # names a waypoint that does not exist: MSH0001's to report
    uses("waypoint", ns="other") + waypoint("waypoint", ns="other"),
], ids=["same", "not-used", "opted-out", "missing-waypoint", "other-namespace"])
def test_no_msh0303_unless_the_namespace_uses_existing_waypoints_of_different_names(tmp_path, second):
    assert found(tmp_path, uses("waypoint") + waypoint("waypoint"), second) == []


# -- MSH0304: two clusters of one name -----------------------------------------------------------


def test_clusters_of_one_name_are_reported_on_each_istiod(tmp_path):
    messages = run(tmp_path, istiod("east") + istiod("east", name="istiod-canary"), istiod("east"), istiod("west"))
    assert cluster_codes(messages) == [("cluster1", "MSH0304", "Deployment istio-system/istiod"),
                                       ("cluster1", "MSH0304", "Deployment istio-system/istiod-canary"),
                                       ("cluster2", "MSH0304", "Deployment istio-system/istiod")]
    first = next(m for m in messages if m.cluster == "cluster2")
    assert first.level.label == "Error"
    assert first.text.startswith("istiod calls this cluster east (CLUSTER_ID), as istiod in cluster cluster1 ")


def test_two_clusters_left_with_the_default_name_share_it(tmp_path):
    messages = run(tmp_path, istiod(), istiod("Kubernetes"))
    assert cluster_codes(messages) == [("cluster1", "MSH0304", "Deployment istio-system/istiod"),
                                       ("cluster2", "MSH0304", "Deployment istio-system/istiod")]
    assert "Kubernetes (the default: it was given no name)" in messages[0].text


@pytest.mark.parametrize("second", [istiod("west"), NOTHING_ELSE], ids=["distinct", "no-istiod"])
def test_no_msh0304_for_distinct_or_unknown_names(tmp_path, second):
    assert found(tmp_path, istiod(), second) == []


# -- MSH0305: different meshIDs ------------------------------------------------------------------


def test_different_mesh_ids_are_reported_on_both_mesh_configs_when_tied(tmp_path):
    messages = run(tmp_path, mesh_config("mesh1"), mesh_config("mesh2"))
    assert cluster_codes(messages) == [("cluster1", "MSH0305", "ConfigMap istio-system/istio"),
                                       ("cluster2", "MSH0305", "ConfigMap istio-system/istio")]
    first = next(m for m in messages if m.cluster == "cluster1")
    assert first.text.startswith("The meshID here is mesh1, but in cluster cluster2 it is mesh2;")
    assert first.extra == {"field": "data.mesh"}


def test_the_minority_mesh_id_is_the_one_reported(tmp_path):
    messages = run(tmp_path, mesh_config("mesh1"), mesh_config(), mesh_config("mesh1"))
    assert cluster_codes(messages) == [("cluster2", "MSH0305", "ConfigMap istio-system/istio")]
    assert messages[0].text.startswith("The meshID here is cluster.local (the trust domain: no meshID is set), "
                                       "but in cluster cluster1 it is mesh1;")


@pytest.mark.parametrize("second", [mesh_config("mesh1"), NOTHING_ELSE], ids=["same", "no-mesh-config"])
def test_no_msh0305_for_one_mesh_id_or_an_unknown_one(tmp_path, second):
    assert found(tmp_path, mesh_config("mesh1"), second) == []


# -- MSH0306: a remote secret for a cluster of an unknown name -------------------------------------


def test_a_remote_secret_for_an_unknown_name_is_reported_when_a_peer_lacks_one(tmp_path):
    messages = run(tmp_path, istiod("c1") + remote_secret("cluster-2"), istiod("c2") + remote_secret("c1"))
    assert cluster_codes(messages) == [("cluster1", "MSH0306", "Secret istio-system/istio-remote-secret-cluster-2")]
    assert messages[0].level.label == "Warning"
    assert messages[0].text.startswith("This remote secret is for a cluster named cluster-2, but the analyzed "
                                       "clusters are named c1, c2, and this cluster has no remote secret for c2;")
    assert messages[0].extra == {"field": "metadata.annotations.networking.istio.io/cluster"}


def test_only_the_misnamed_secret_is_reported(tmp_path):
    messages = run(tmp_path, istiod("c1") + remote_secret("c2") + remote_secret("cluster-3"), istiod("c2"),
                   istiod("c3"))
    assert cluster_codes(messages) == [("cluster1", "MSH0306", "Secret istio-system/istio-remote-secret-cluster-3")]
    assert "this cluster has no remote secret for c3;" in messages[0].text


def test_the_name_may_come_from_the_data_key(tmp_path):
    messages = run(tmp_path, istiod("c1") + remote_secret("cluster-2", annotated=False), istiod("c2"))
    assert cluster_codes(messages) == [("cluster1", "MSH0306", "Secret istio-system/istio-remote-secret-cluster-2")]
    assert messages[0].extra == {"field": "data"}


@pytest.mark.parametrize("first", [
    istiod("c1") + remote_secret("c2"),  # the right name
    istiod("c1") + remote_secret("c2") + remote_secret("c3"),  # a peer left out of this analysis
    istiod("c1"),  # no secret at all: a missing link, which multicluster check reports
], ids=["right-name", "peer-not-analyzed", "no-secret"])
def test_no_msh0306_when_every_analyzed_peer_has_its_secret(tmp_path, first):
    assert found(tmp_path, first, istiod("c2")) == []


def test_no_msh0306_when_a_clusters_name_is_unknown(tmp_path):
    assert found(tmp_path, istiod("c1") + remote_secret("cluster-2"), service()) == []


# -- the demo snapshot -----------------------------------------------------------------------------


def test_demo_snapshot_has_no_multicluster_configuration_problem_of_this_family():
    """The demo's multicluster problems are a missing link (problem 10: `multicluster check`) and the ports
    of the global ratings Service (problem 11: Istio's IST0170); reviews is global with the same ports in
    both, both use waypoint 'waypoint' in bookinfo, the names (cluster1, cluster2) and meshID (mesh1) are
    right, and cluster1's one remote secret names cluster2."""
    assert run_on_demo([FAMILY]) == []
