"""The bundled demo snapshot's planted problems for the networking analyzers (testdata/clusters/demo/README.md)."""

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube.snapshot import load_snapshot
from tests.conftest import DEMO

FAMILIES = ["virtualservice", "destinationrule", "gateway", "serviceentry", "k8sgateway"]


def findings(clusters):
    result = run_analysis(clusters, select_analyzers(FAMILIES))
    return sorted((m.cluster, m.code, m.origin, m.analyzer) for m in result.messages)


def test_both_clusters_yield_exactly_the_planted_problems():
    snapshot = load_snapshot(str(DEMO))
    assert findings(snapshot.clusters) == [
        # 1: the VirtualService names an Istio Gateway that does not exist
        ("cluster1", "IST0101", "VirtualService bookinfo/productpage-legacy", "virtualservice.GatewayAnalyzer"),
        # 2: subset v2 of ratings selects no pod in either cluster (reviews v3 runs in cluster2: fine)
        ("cluster1", "IST0173", "DestinationRule bookinfo/ratings", "destinationrule.SubsetSelectPodAnalyzer"),
    ]


def test_cluster1_alone_also_flags_the_subset_served_by_cluster2():
    # reviews v3 runs only in cluster2: seen from cluster1 alone, its subset selects nothing
    snapshot = load_snapshot(str(DEMO))
    assert findings(snapshot.select(["cluster1"])) == [
        ("", "IST0101", "VirtualService bookinfo/productpage-legacy", "virtualservice.GatewayAnalyzer"),
        ("", "IST0173", "DestinationRule bookinfo/ratings", "destinationrule.SubsetSelectPodAnalyzer"),
        ("", "IST0173", "DestinationRule bookinfo/reviews", "destinationrule.SubsetSelectPodAnalyzer"),
    ]
