"""CEL library benchmark for the fake API server: which PyPI CEL implementation evaluates the
upstream CRDs' ``x-kubernetes-validations`` rules correctly, and how fast? Not a timed test.

    python bench/cel_rules.py [--repeat N]

Extracts every rule from the Gateway API v1.5.1 standard install and the inference extension
v1.6.0 manifests (in ../shared/data/upstream), compiles each unique rule with each library, and
evaluates each on a valid and an invalid sample value (samples built by pattern for the rule
families, by hand for the rest; every rule has a pair). Prints per library: rules compiled, rules
evaluated correctly on both samples, failures by cause, and times. Both libraries run behind the
same adapter (tests/fakekube/celeval.py), with the same Kubernetes function library. Last, the
time of schema.admit() on a Gateway and an HTTPRoute with the chosen (rust) backend.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakekube import celeval  # noqa: E402

UPSTREAM = ROOT.parent / "shared" / "data" / "upstream"
FILES = ("gateway-api-v1.5.1-standard-install.yaml", "gateway-api-inference-extension-v1.6.0-manifests.yaml")


def collect_rules() -> list[tuple[str, str, dict[str, Any]]]:
    """(crd/version, schema path, rule) for every x-kubernetes-validations entry."""
    found: list[tuple[str, str, dict[str, Any]]] = []

    def walk(node: Any, where: str, path: str) -> None:
        if isinstance(node, dict):
            for rule in node.get("x-kubernetes-validations") or ():
                found.append((where, path, rule))
            for k, v in node.items():
                walk(v, where, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, where, f"{path}[{i}]")

    for name in FILES:
        for doc in yaml.safe_load_all((UPSTREAM / name).read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for ver in doc["spec"]["versions"]:
                schema = (ver.get("schema") or {}).get("openAPIV3Schema")
                walk(schema, f"{doc['metadata']['name']}/{ver['name']}", "")
    return found


# --- samples: (valid self, invalid self[, oldSelf for both]) per rule ---------------------------

PREFIX_PATH = {"type": "PathPrefix", "value": "/foo/bar"}


def family_samples(rule: str) -> tuple[Any, Any] | None:
    m = re.fullmatch(r"!\(!has\(self\.(\w+)\) && self\.type == '(\w+)'\)", rule)
    if m:
        f, t = m.groups()
        return {"type": t, f: {}}, {"type": t}
    m = re.fullmatch(r"!\(has\(self\.(\w+)\) && self\.type != '(\w+)'\)", rule)
    if m:
        f, t = m.groups()
        return {"type": t, f: {}}, {"type": "Other", f: {}}
    m = re.fullmatch(r"self\.filter\(f, f\.type == '(\w+)'\)\.size\(\) <= 1", rule)
    if m:
        t = m.group(1)
        return [{"type": t}, {"type": "X"}], [{"type": t}, {"type": t}]
    m = re.fullmatch(r"has\(self\.(\w+)\) \? self\.type == '(\w+)' : true", rule)
    if m:
        f, t = m.groups()
        return {"type": t, f: "/x"}, {"type": "Other", f: "/x"}
    m = re.fullmatch(r"self\.type == '(\w+)' \? has\(self\.(\w+)\) : true", rule)
    if m:
        t, f = m.groups()
        return {"type": t, f: "/x"}, {"type": t}
    m = re.fullmatch(r"\(self\.type in \['Exact','PathPrefix'\]\) \? (.*) : true", rule)
    if m:
        body = m.group(1)
        c = re.fullmatch(r"!self\.value\.contains\('(.*)'\)", body)
        if c:
            return PREFIX_PATH, {"type": "Exact", "value": "/a" + c.group(1) + "b"}
        c = re.fullmatch(r"!self\.value\.endsWith\('(.*)'\)", body)
        if c:
            return PREFIX_PATH, {"type": "PathPrefix", "value": "/a" + c.group(1)}
        if body.startswith("self.value.matches("):
            return PREFIX_PATH, {"type": "PathPrefix", "value": "/a b"}
        if body == "self.value.startsWith('/')":
            return PREFIX_PATH, {"type": "PathPrefix", "value": "a/b"}
    return None


def ref(name: str, **kw: Any) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name, **kw}


def redirect_rule(field: str, match_type: str, in_backend: bool) -> dict[str, Any]:
    flt = {field: {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}}}
    rule: dict[str, Any] = {"matches": [{"path": {"type": match_type, "value": "/"}}]}
    if in_backend:
        rule["backendRefs"] = [{"name": "svc", "filters": [flt]}]
    else:
        rule["filters"] = [flt]
    return rule


MANY = [{"matches": [{}] * 65}, {"matches": [{}] * 65}]

# Hand samples, keyed by a substring that identifies the rule.
HAND: list[tuple[str, Any, Any, Any]] = [
    # (key, valid, invalid, oldSelf or None)
    ("'*' in self && self.size() > 1", ["a", "b"], ["*", "a"], None),
    ("!(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 && has(self.wellKnown",
     {"caCertificateRefs": [{"name": "a"}]}, {"caCertificateRefs": [{"name": "a"}], "wellKnownCACertificates": "System"},
     None),
    ("has(self.percent) && has(self.fraction)", {"percent": 5}, {"percent": 5, "fraction": {"numerator": 1}}, None),
    ("duration(self.backendRequest) > duration(self.request)", {"request": "10s", "backendRequest": "5s"},
     {"request": "10s", "backendRequest": "20s"}, None),
    ("self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite')",
     [{"type": "RequestRedirect"}], [{"type": "RequestRedirect"}, {"type": "URLRewrite"}], None),
    ('!(self.type != "Hostname" && has(self.hostname)', {"type": "Hostname", "hostname": "a"},
     {"type": "URI", "hostname": "a"}, None),
    ('!(self.type != "URI" && has(self.uri)', {"type": "URI", "uri": "spiffe://a"}, {"type": "Hostname", "uri": "x"}, None),
    ('!(self.type == "Hostname" && (!has(self.hostname)', {"type": "Hostname", "hostname": "a"}, {"type": "Hostname"}, None),
    ('!(self.type == "URI" && (!has(self.uri)', {"type": "URI", "uri": "x"}, {"type": "URI"}, None),
    ("self.method.matches(", {"type": "Exact", "method": "Foo"}, {"type": "Exact", "method": "1bad"}, None),
    ("self.service.matches(", {"type": "Exact", "service": "foo.Bar"}, {"type": "Exact", "service": "foo..bar"}, None),
    ("self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.requestRedirect)",
     redirect_rule("requestRedirect", "PathPrefix", True), redirect_rule("requestRedirect", "Exact", True), None),
    ("self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.urlRewrite)",
     redirect_rule("urlRewrite", "PathPrefix", True), redirect_rule("urlRewrite", "Exact", True), None),
    ("self.filters.all(f, !has(f.requestRedirect))", {"backendRefs": [{"name": "a"}], "filters": [{"type": "X"}]},
     {"backendRefs": [{"name": "a"}], "filters": [{"requestRedirect": {}}]}, None),
    ("(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 || has(",
     {"wellKnownCACertificates": "System"}, {}, None),
    ("(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect)",
     redirect_rule("requestRedirect", "PathPrefix", False), redirect_rule("requestRedirect", "Exact", False), None),
    ("(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite)",
     redirect_rule("urlRewrite", "PathPrefix", False), redirect_rule("urlRewrite", "Exact", False), None),
    ("(has(self[0].matches) ? self[0].matches.size() : 0)", [{"matches": [{}]}, {}], MANY, None),
    ("(self.size() > 0 ? self[0].matches.size() : 0)", [{"matches": [{}]}], MANY, None),
    ("(size(self.group) == 0 && self.kind == 'Service') ? has(self.port)", {"group": "", "kind": "Service", "port": 80},
     {"group": "", "kind": "Service"}, None),
    ("has(self.type) ? has(self.service) || has(self.method)", {"type": "Exact", "method": "A"}, {"type": "Exact"}, None),
    ("self == oldSelf", "a", "b", "a"),
    ("a1.type == 'Hostname'", [{"type": "Hostname", "value": "a"}, {"type": "Hostname", "value": "b"}],
     [{"type": "Hostname", "value": "a"}, {"type": "Hostname", "value": "a"}], None),
    ("a1.type == 'IPAddress'", [{"type": "IPAddress", "value": "1.1.1.1"}, {"type": "IPAddress", "value": "1.1.1.2"}],
     [{"type": "IPAddress", "value": "1.1.1.1"}, {"type": "IPAddress", "value": "1.1.1.1"}], None),
    ("self.all(h, !h.contains('*') ? h.matches(", ["foo.example.com"], ["Foo_bar"], None),
    ("self.all(h, !isIP(h))", ["foo.example.com"], ["10.0.0.1"], None),
    ("h.substring(2).matches(", ["*.example.com"], ["foo*.com"], None),
    ("self.all(key, key.matches(", {"example.com/foo": "x"}, {"-bad-": "x"}, None),
    ("key.split(\"/\")[0].size() < 253", {"example.com/a": "x"}, {"a" * 253 + "/b": "x"}, None),
    ("l.protocol == 'HTTPS' && has(l.tls)", [{"protocol": "HTTPS", "tls": {"mode": "Terminate"}}],
     [{"protocol": "HTTPS", "tls": {"mode": "Passthrough"}}], None),
    ("l.protocol == 'TLS' ? has(l.tls)", [{"protocol": "TLS", "tls": {"mode": "Passthrough"}}], [{"protocol": "TLS"}], None),
    ("l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls)", [{"protocol": "HTTP"}], [{"protocol": "HTTP", "tls": {}}], None),
    ("l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname)", [{"protocol": "TCP"}], [{"protocol": "TCP", "hostname": "a"}], None),
    ("self.all(l1, !has(l1.port) || self.exists_one(l2,",
     [{"port": 80, "protocol": "HTTP"}, {"port": 81, "protocol": "HTTP"}],
     [{"port": 80, "protocol": "HTTP", "hostname": "a"}, {"port": 80, "protocol": "HTTP", "hostname": "a"}], None),
    ("self.all(l1, self.exists_one(l2, l1.name == l2.name))", [{"name": "a"}, {"name": "b"}],
     [{"name": "a"}, {"name": "a"}], None),
    ("self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol",
     [{"port": 80, "protocol": "HTTP"}, {"port": 80, "protocol": "HTTPS"}],
     [{"port": 80, "protocol": "HTTP"}, {"port": 80, "protocol": "HTTP"}], None),
    ("self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
     "(((!has(p1.__namespace__)",
     [ref("a", namespace="x", sectionName="s1"), ref("a", namespace="x", sectionName="s2")],
     [ref("a", namespace="x", sectionName="s1"), ref("a", namespace="x")], None),
    ("self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name ?",
     [ref("a", sectionName="s1"), ref("a", sectionName="s2")], [ref("a", sectionName="s1"), ref("a")], None),
    ("self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
     "(((!has(p1.__namespace__)",
     [ref("a", namespace="x"), ref("a", namespace="y")], [ref("a", namespace="x"), ref("a", namespace="x")], None),
    ("self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
     "(((!has(p1.sectionName)",
     [ref("a", sectionName="s1"), ref("a", sectionName="s2")], [ref("a", sectionName="s1"), ref("a", sectionName="s1")],
     None),
    ("p1.number==p2.number", [{"number": 8000}, {"number": 8001}], [{"number": 8000}, {"number": 8000}], None),
    ("t1.port == t2.port", [{"port": 80}, {"port": 81}], [{"port": 80}, {"port": 80}], None),
    ("self.kind != 'Service' || has(self.port)", {"kind": "Service", "name": "epp", "port": {"number": 9002}},
     {"kind": "Service", "name": "epp"}, None),
    ("self.mode == 'Terminate' ?", {"mode": "Terminate", "certificateRefs": [{"name": "c"}], "options": {}},
     {"mode": "Terminate", "certificateRefs": [], "options": {}}, None),
    ("self.numerator <= self.denominator", {"numerator": 1, "denominator": 100}, {"numerator": 101, "denominator": 100},
     None),
    ("self.type == 'Hostname' ? (!has(self.value) || self.value.matches(", {"type": "Hostname", "value": "foo.com"},
     {"type": "Hostname", "value": "Foo_"}, None),
    ("self.type == 'Hostname' ? self.value.matches(", {"type": "Hostname", "value": "*.foo.com"},
     {"type": "Hostname", "value": "foo..com"}, None),
    ("self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'", {"type": "RegularExpression"},
     {"type": "Other"}, None),
]


def escape_keys(value: Any) -> Any:
    """What the real server does to property names before a rule sees them (namespace ->
    __namespace__): the samples are written with the names users write."""
    if isinstance(value, dict):
        return {(celeval.escape(k) or k): escape_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_keys(v) for v in value]
    return value


def samples_for(rule: str) -> tuple[Any, Any, Any] | None:
    fam = family_samples(rule)
    if fam:
        return fam[0], fam[1], None
    for key, valid, invalid, old in HAND:
        if key in rule:
            return valid, invalid, old
    return None


def run(backend_name: str, rules: list[str], repeat: int) -> dict[str, Any]:
    celeval._PROGRAMS.clear()
    be = celeval.backend(backend_name)
    compiled: dict[str, Any] = {}
    causes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    t0 = time.perf_counter()
    for r in rules:
        try:
            compiled[r] = be.compile(r)
        except celeval.CelError as e:
            causes["compile error"] += 1
            examples.setdefault("compile error", f"{r[:60]}: {e}")
    compile_s = time.perf_counter() - t0
    correct = 0
    evals = 0
    eval_s = 0.0
    for r in rules:
        s = samples_for(r)
        if s is None:
            causes["no sample"] += 1
            continue
        if r not in compiled:
            continue
        valid, invalid, old = s
        ok = True
        for value, want in ((valid, True), (invalid, False)):
            variables = {"self": escape_keys(value)}
            if old is not None:
                variables["oldSelf"] = escape_keys(old)
            try:
                t = time.perf_counter()
                for _ in range(repeat):
                    got = be.run(compiled[r], variables)
                eval_s += time.perf_counter() - t
                evals += repeat
            except celeval.CelError as e:
                ok = False
                causes["evaluation error"] += 1
                examples.setdefault("evaluation error", f"{r[:60]}: {e}")
                break
            if got is not want:
                ok = False
                causes["wrong result"] += 1
                examples.setdefault("wrong result", f"{r[:60]}: got {got!r} for {want}")
                break
        correct += ok
    return {"compiled": len(compiled), "correct": correct, "causes": causes, "examples": examples,
            "compile_ms": compile_s * 1e3, "eval_us": eval_s / max(evals, 1) * 1e6, "evals": evals}


GATEWAY = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
           "metadata": {"name": "gw", "namespace": "default"},
           "spec": {"gatewayClassName": "istio", "listeners": [
               {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"},
               {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "*.example.com",
                "tls": {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}}]}}
HTTPROUTE = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "bookinfo", "namespace": "default"},
             "spec": {"parentRefs": [{"name": "gw", "namespace": "istio-system"}],
                      "hostnames": ["bookinfo.example.com"],
                      "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                                 "filters": [{"type": "RequestHeaderModifier",
                                              "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]}}],
                                 "backendRefs": [{"name": "reviews", "port": 9080, "weight": 90},
                                                 {"name": "reviews-v2", "port": 9080, "weight": 10}]},
                                {"matches": [{"path": {"type": "Exact", "value": "/"}}],
                                 "backendRefs": [{"name": "productpage", "port": 9080}]}]}}


def time_admit(runs: int) -> None:
    """admit() per call on a Gateway and an HTTPRoute (create and update), CRDs compiled once."""
    from tests.fakekube import schema

    crds = {}
    for doc in yaml.safe_load_all((UPSTREAM / FILES[0]).read_text()):
        if doc and doc.get("kind") == "CustomResourceDefinition":
            crds[doc["metadata"]["name"]] = doc
    for name, obj in (("gateways", GATEWAY), ("httproutes", HTTPROUTE)):
        crd = crds[f"{name}.gateway.networking.k8s.io"]
        t = time.perf_counter()
        compiled = schema.compile_schema(schema.crd_version_schema(crd, "v1"))
        first_ms = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        schema.compile_schema(schema.crd_version_schema(crd, "v1"))
        cached_ms = (time.perf_counter() - t) * 1e3
        res = schema.admit(compiled, obj, None, strict=False, status_subresource=True)
        assert not res.errors, res.errors
        timings = []
        for old in (None, res.obj):
            t = time.perf_counter()
            for _ in range(runs):
                schema.admit(compiled, obj, old, strict=False, status_subresource=True)
            timings.append((time.perf_counter() - t) / runs * 1e6)
        print(f"admit() {obj['kind']:<10} {compiled.rule_count:>3} rules: create {timings[0]:7.0f} us, "
              f"update {timings[1]:7.0f} us per call; compile_schema {first_ms:.1f} ms first, {cached_ms:.1f} ms cached")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="evaluations per sample for the timing (default 20)")
    ap.add_argument("--admit-runs", type=int, default=300, help="admit() calls per timing (default 300)")
    args = ap.parse_args()
    found = collect_rules()
    rules = list(dict.fromkeys(r["rule"] for _, _, r in found))
    with_samples = sum(samples_for(r) is not None for r in rules)
    print(f"{len(found)} x-kubernetes-validations entries, {len(rules)} unique rules; "
          f"{with_samples} with a valid and an invalid sample")
    print(f"{'library':<34} {'compiled':>9} {'correct':>8} {'compile ms':>11} {'eval us/call':>13}  failures")
    for name, label in (("rust", "common-expression-language (cel)"), ("python", "cel-python (celpy)")):
        try:
            res = run(name, rules, args.repeat if name == "rust" else max(1, args.repeat // 10))
        except ImportError as e:
            print(f"{label:<34} not installed ({e})")
            continue
        fails = ", ".join(f"{k}: {v}" for k, v in sorted(res["causes"].items())) or "none"
        print(f"{label:<34} {res['compiled']:>5}/{len(rules):<3} {res['correct']:>4}/{len(rules):<3} "
              f"{res['compile_ms']:>11.1f} {res['eval_us']:>13.1f}  {fails}")
        for cause, ex in res["examples"].items():
            print(f"    e.g. {cause}: {ex}")
    time_admit(args.admit_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
