"""serviceentry.Analyzer (IST0134) and serviceentry.ConflictingServiceEntryProtocolAnalyzer (IST0177)."""

import pytest

ADDRESSES = "serviceentry.Analyzer"
PROTOCOLS = "serviceentry.ConflictingServiceEntryProtocolAnalyzer"


def service_entry(name="db", namespace="web", hosts=("db.example.com",), ports=((5432, "TCP"),), addresses=None,
                  export_to=None, status=None, meta=""):
    spec = {"hosts": list(hosts), "ports": [{"number": n, "name": f"p{n}", **({"protocol": p} if p else {})}
                                            for n, p in ports], "resolution": "DNS"}
    if addresses is not None:
        spec["addresses"] = list(addresses)
    if export_to is not None:
        spec["exportTo"] = list(export_to)
    return f"""
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec: {spec}
status: {status or {}}
"""


# -- serviceentry.Analyzer -----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, count", [
    ({}, 1),
    ({"ports": ((5432, None),)}, 1),  # no protocol: TCP
    ({"ports": ((5432, "tcp"), (6432, "TCP"))}, 2),  # one message per TCP port
    ({"ports": ((443, "TLS"), (80, "HTTP"))}, 0),  # matched by SNI or Host header
    ({"addresses": ["240.0.0.1"]}, 0),
    ({"status": {"addresses": [{"value": "240.240.0.1", "host": "db.example.com"}]}}, 0),  # allocated by istiod
], ids=["tcp", "unset", "two", "tls-http", "spec-address", "status-address"])
def test_tcp_ports_need_addresses(analyze, kwargs, count):
    assert analyze(service_entry(**kwargs), ADDRESSES) == [("IST0134", "ServiceEntry web/db")] * count


@pytest.mark.parametrize("metadata, expected", [
    ({"ISTIO_META_DNS_CAPTURE": "true", "ISTIO_META_DNS_AUTO_ALLOCATE": "true"}, []),
    ({"ISTIO_META_DNS_CAPTURE": "true", "PILOT_ENABLE_IP_AUTOALLOCATE": "true"}, []),
    ({"ISTIO_META_DNS_AUTO_ALLOCATE": "true"}, [("IST0134", "ServiceEntry web/db")]),  # no DNS capture
    ({"ISTIO_META_DNS_CAPTURE": "true"}, [("IST0134", "ServiceEntry web/db")]),
], ids=["auto-allocate", "ip-autoallocate", "no-capture", "capture-only"])
def test_mesh_wide_address_allocation(analyze, metadata, expected):
    mesh = {"defaultConfig": {"proxyMetadata": metadata}}
    assert analyze(service_entry(), ADDRESSES, mesh_configs=[(mesh, {})]) == expected


def test_addresses_suppression(analyze):
    quiet = ", annotations: {galley.istio.io/analyze-suppress: IST0134}"
    assert analyze(service_entry(meta=quiet), ADDRESSES) == []


# -- ConflictingServiceEntryProtocolAnalyzer -----------------------------------------------------


@pytest.mark.parametrize("docs, expected", [
    ([service_entry("a", ports=((443, "TLS"),)), service_entry("b", ports=((443, "HTTPS"),))],
     ["ServiceEntry web/a", "ServiceEntry web/b"]),
    ([service_entry("a", ports=((443, "TLS"),)), service_entry("b", ports=((443, "tls"),))], []),  # case
    ([service_entry("a", ports=((443, "TLS"),)), service_entry("b", ports=((8443, "HTTPS"),))], []),  # port
    ([service_entry("a", ports=((443, "TLS"),)),
      service_entry("b", hosts=["other.example.com"], ports=((443, "HTTPS"),))], []),  # host
    # both exported everywhere, from two namespaces
    ([service_entry("a", ports=((443, "TLS"),)), service_entry("b", namespace="ops", ports=((443, "HTTPS"),))],
     ["ServiceEntry ops/b", "ServiceEntry web/a"]),
    # each only in its own namespace: they never meet
    ([service_entry("a", ports=((443, "TLS"),), export_to=["."]),
      service_entry("b", namespace="ops", ports=((443, "HTTPS"),), export_to=["."])], []),
    # a namespace-local one meets one exported everywhere
    ([service_entry("a", ports=((443, "TLS"),), export_to=["."]),
      service_entry("b", namespace="ops", ports=((443, "HTTPS"),))],
     ["ServiceEntry ops/b", "ServiceEntry web/a"]),
    # exported to the other's namespace
    ([service_entry("a", ports=((443, "TLS"),), export_to=["ops"]),
      service_entry("b", namespace="ops", ports=((443, "HTTPS"),), export_to=["."])],
     ["ServiceEntry ops/b", "ServiceEntry web/a"]),
], ids=["conflict", "same-protocol", "other-port", "other-host", "two-namespaces", "local-only",
        "local-and-global", "exported-to"])
def test_conflicting_protocols(analyze, docs, expected):
    assert analyze("".join(docs), PROTOCOLS) == [("IST0177", origin) for origin in expected]


def test_each_serviceentry_reported_once(analyze):
    ports = ((443, "TLS"), (80, "HTTP"))
    docs = service_entry("a", ports=ports) + service_entry("b", ports=((443, "HTTPS"), (80, "TCP")))
    assert analyze(docs, PROTOCOLS) == [("IST0177", "ServiceEntry web/a"), ("IST0177", "ServiceEntry web/b")]


def test_conflict_message(tmp_path):
    from meshctl.analysis.run import run_analysis, select_analyzers
    from meshctl.kube.files import load_files

    path = tmp_path / "se.yaml"
    path.write_text(service_entry("a", ports=((443, "TLS"),)) + service_entry("b", ports=((443, "HTTPS"),)))
    messages = run_analysis([load_files([str(path)])], select_analyzers([PROTOCOLS])).messages
    assert messages[0].text == (
        'ServiceEntries web/a, web/b declare port 443 of host "db.example.com" with different protocols HTTPS, TLS.'
    )
