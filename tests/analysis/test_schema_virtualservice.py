"""schema.ValidationAnalyzer.VirtualService: IST0130 for rules that can never match, IST0131 for matches an
earlier rule already takes (exact duplicates, or a URI prefix an earlier prefix covers)."""

import textwrap

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube.files import load_files

ANALYZER = "schema.ValidationAnalyzer.VirtualService"


def vs(routes, section="http", name="shop", annotations=None):
    body = textwrap.indent(textwrap.dedent(routes).strip(), "  ")
    return (f"---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            f"metadata: {{name: {name}, namespace: shop, annotations: {annotations or {}}}}\n"
            f"spec:\n  hosts: [shop]\n  {section}:\n{body}\n")


def texts(tmp_path, text):
    path = tmp_path / "vs.yaml"
    path.write_text(text)
    result = run_analysis([load_files([str(path)])], select_analyzers([ANALYZER]))
    return sorted((m.code, m.text) for m in result.messages)


CASES = [
    ("catch-all-then-match", """
     - route: [{destination: {host: web}}]
     - match: [{uri: {prefix: /api}}]
       route: [{destination: {host: api}}]
     """, [("IST0130", "VirtualService rule #1 is never used (an earlier rule without matches takes every request).")]),
    ("two-catch-alls", """
     - route: [{destination: {host: web}}]
     - route: [{destination: {host: web2}}]
     """, [("IST0130", "VirtualService rule #1 is never used (it has no matches, and neither has an earlier rule).")]),
    ("duplicate-match", """
     - match: [{uri: {exact: /a}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {exact: /a}}]
       route: [{destination: {host: b}}]
     """, [("IST0130", "VirtualService rule #1 is never used (earlier rules take all of its matches)."),
           ("IST0131", "VirtualService rule #1 match #0 is never used: rule #0 already matches the same requests.")]),
    ("one-of-two-matches-duplicate", """
     - match: [{uri: {exact: /a}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {exact: /b}}, {uri: {exact: /a}}]
       route: [{destination: {host: b}}]
     """, [("IST0131", "VirtualService rule #1 match #1 is never used: rule #0 already matches the same requests.")]),
    ("match-names-are-ignored", """
     - name: first
       match: [{name: one, uri: {exact: /a}}]
       route: [{destination: {host: a}}]
     - name: second
       match: [{name: two, uri: {exact: /a}}]
       route: [{destination: {host: b}}]
     """, [("IST0130", 'VirtualService rule "second" is never used (earlier rules take all of its matches).'),
           ("IST0131", ('VirtualService rule "second" match "two" is never used: rule "first" already matches '
                       "the same requests."))]),
    ("unset-and-false-fields-compare-equal", """
     - match: [{uri: {exact: /a}, ignoreUriCase: false}]
       route: [{destination: {host: a}}]
     - match: [{uri: {exact: /a}}]
       route: [{destination: {host: b}}]
     """, [("IST0130", "VirtualService rule #1 is never used (earlier rules take all of its matches)."),
           ("IST0131", "VirtualService rule #1 match #0 is never used: rule #0 already matches the same requests.")]),
    ("prefix-covered-by-shorter-prefix", """
     - match: [{uri: {prefix: /api}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {prefix: /api/v1}}]
       route: [{destination: {host: b}}]
     """, [("IST0131", ("VirtualService rule #1 match #0 (URI prefix /api/v1) is never used: rule #0 match #0 "
                       "(URI prefix /api) already matches the same requests."))]),
    ("longer-prefix-first-is-fine", """
     - match: [{uri: {prefix: /api/v1}}]
       route: [{destination: {host: b}}]
     - match: [{uri: {prefix: /api}}]
       route: [{destination: {host: a}}]
     """, []),
    ("different-method-is-not-covered", """
     - match: [{uri: {prefix: /api}, method: {exact: GET}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {prefix: /api/v1}, method: {exact: POST}}]
       route: [{destination: {host: b}}]
     """, []),
    ("different-headers-are-not-covered", """
     - match: [{uri: {prefix: /api}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {prefix: /api/v1}, headers: {x-canary: {exact: "1"}}}]
       route: [{destination: {host: b}}]
     """, []),
    ("distinct-matches-then-catch-all", """
     - match: [{uri: {exact: /a}}]
       route: [{destination: {host: a}}]
     - match: [{uri: {exact: /b}}]
       route: [{destination: {host: b}}]
     - route: [{destination: {host: c}}]
     """, []),
]


@pytest.mark.parametrize("name, routes, expected", CASES, ids=[c[0] for c in CASES])
def test_http_rules(tmp_path, name, routes, expected):
    assert texts(tmp_path, vs(routes)) == sorted(expected)


def test_tcp_rules_are_checked_the_same_way(tmp_path):
    routes = """
    - match: [{port: 5432}]
      route: [{destination: {host: db}}]
    - match: [{port: 5432}]
      route: [{destination: {host: replica}}]
    - route: [{destination: {host: db}}]
    - route: [{destination: {host: replica}}]
    """
    assert texts(tmp_path, vs(routes, "tcp")) == [
        ("IST0130", "VirtualService rule #1 is never used (earlier rules take all of its matches)."),
        ("IST0130", "VirtualService rule #3 is never used (it has no matches, and neither has an earlier rule)."),
        ("IST0131", "VirtualService rule #1 match #0 is never used: rule #0 already matches the same requests."),
    ]


def test_tls_rules_are_checked_the_same_way(tmp_path):
    routes = """
    - match: [{sniHosts: [shop]}]
      route: [{destination: {host: a}}]
    - match: [{sniHosts: [shop]}]
      route: [{destination: {host: b}}]
    """
    assert texts(tmp_path, vs(routes, "tls")) == [
        ("IST0130", "VirtualService rule #1 is never used (earlier rules take all of its matches)."),
        ("IST0131", "VirtualService rule #1 match #0 is never used: rule #0 already matches the same requests."),
    ]


def test_suppressing_one_code_keeps_the_other(tmp_path):
    routes = CASES[2][1]
    text = vs(routes, annotations={"galley.istio.io/analyze-suppress": "IST0130"})
    assert [code for code, _ in texts(tmp_path, text)] == ["IST0131"]


def test_testdata_file(analyze):
    assert analyze("schema/virtualservice-unreachable.yaml", ANALYZER) == [
        ("IST0130", "VirtualService shop/db"),
        ("IST0130", "VirtualService shop/db"),
        ("IST0130", "VirtualService shop/shop"),
        ("IST0130", "VirtualService shop/shop"),
        ("IST0131", "VirtualService shop/db"),
        ("IST0131", "VirtualService shop/shop"),
        ("IST0131", "VirtualService shop/shop"),
    ]
