"""Generators of fuzz cases for every input path of meshctl's CLI.

Each ``gen_*`` function takes a ``random.Random`` (bench/fuzz.py, seeded) or hypothesis'
``st.randoms()`` (tests/fuzz, derandomized) and returns a ``Case``: files to lay out in a sandbox,
the command lines to run over them, standard input, and the secrets planted in them. Placeholders in
file contents and arguments (``@SANDBOX@``, ``@CLOSED@``, ``@FAKE@``, ``@UPSTREAM@``) are filled in
by the harness. No pytest or hypothesis import here.

The most valuable generator is ``mutate``: a real object (from the demo snapshot or
testdata/analyze) with ONE field replaced by a value of the wrong type.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import tarfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "testdata" / "clusters" / "demo"
CORPUS_DIRS = (ROOT / "testdata" / "analyze", ROOT / "testdata" / "inference")
UPSTREAM_DIR = ROOT.parent / "shared" / "data" / "upstream"

SANDBOX = "@SANDBOX@"  # the sandbox's absolute path (the case runs with it as working directory)
CLOSED = "@CLOSED@"  # a 127.0.0.1 port nothing listens on
FAKE = "@FAKE@"  # http://127.0.0.1:PORT of the fake API server (tests/fakekube)
UPSTREAM = "@UPSTREAM@"  # the upstream release files (manifest generate --artifacts)

SNAP = "in/snap"
TEMPLATE_PROBE = "{{ 12345*11111 }}"  # rendered, it would print TEMPLATE_RESULT
TEMPLATE_RESULT = "137165295"


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Hardlink:
    target: str  # a path inside the sandbox


@dataclass(frozen=True)
class Fifo:
    pass


@dataclass(frozen=True)
class CharDevice:
    major: int = 1
    minor: int = 5  # /dev/zero


@dataclass(frozen=True)
class Directory:
    pass


Entry = bytes | Symlink | Hardlink | Fifo | CharDevice | Directory


@dataclass
class Case:
    path: str  # the fuzz path (manifest-file, stdin, snapshot-dir, ...)
    commands: list[list[str]]  # every command line worth running on this input
    files: dict[str, Entry] = field(default_factory=dict)  # sandbox-relative path -> content
    stdin: bytes = b""
    secrets: list[str] = field(default_factory=list)
    note: str = ""  # what was generated, for reports
    isolate: bool = False  # run in a forked child with a memory limit (FIFOs, devices, bombs)
    timeout: float = 10.0
    needs_upstream: bool = False  # reads the upstream release files (manifest generate --artifacts)
    # For reducing a failing input (bench/fuzz.py): the input's documents, the mutated one first, and
    # how to make the same case (and command line) from fewer or smaller documents.
    docs: list[Any] | None = None
    rebuild: "Callable[[list[Any], list[str]], tuple[Case, list[str]]] | None" = None


def new_secret(rng: random.Random) -> str:
    """A unique string that must never be printed (38 ASCII characters)."""
    return f"s3cr3t{rng.getrandbits(128):032x}"


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------------------------------
# Values of the wrong type, and literal text


@dataclass(frozen=True)
class Raw:
    """A value written as literal text (YAML and JSON spellings), e.g. a 5000-digit integer."""

    yaml: str
    json: str


DELETE = object()  # "remove the field" as a mutation


def _deep(depth: int, as_map: bool) -> Raw:
    if as_map:
        return Raw("{a: " * depth + "1" + "}" * depth, '{"a": ' * depth + "1" + "}" * depth)
    return Raw("[" * depth + "1" + "]" * depth, "[" * depth + "1" + "]" * depth)


HUGE = "1" + "0" * 5000
COMMON_WRONG: tuple[Any, ...] = (
    None,
    "{{ 7*7 }}",
    TEMPLATE_PROBE,
    Raw(HUGE, HUGE),
    Raw("-" + HUGE, "-" + HUGE),
    Raw("1e999", "1e999"),
    Raw(".nan", "NaN"),
    Raw("-.inf", "-Infinity"),
    Raw("2026-01-01", '"2026-01-01"'),  # YAML reads a date object
    Raw("2026-01-01T00:00:00Z", '"2026-01-01T00:00:00Z"'),
    Raw("!!binary aGVsbG8=", '"aGVsbG8="'),  # YAML reads bytes
    Raw("!!set {a, b}", '["a", "b"]'),
    Raw("0o777", "511"),
    Raw("=", '"="'),
    _deep(40, False),
    _deep(40, True),
    _deep(3000, False),
    _deep(3000, True),
    "",
    "x" * 20000,
    "\x1b[31mred\x1b[0m\u202e\u2028",
    "../../../../etc/passwd",
)


def wrong_value(rng: random.Random, current: Any, *, allow_delete: bool = True) -> Any:
    """A value of another type than ``current`` (or a nasty one of the same type); ``DELETE`` (remove
    the field) only when ``allow_delete``."""
    if isinstance(current, dict):
        typed = ["a string", 5, [1, 2], ["x"], True, [], [{"k": "v"}], 0, [current]]
    elif isinstance(current, list):
        typed = [{"k": "v"}, "a string", 7, [None], [[1]], ["x", 5], {}, [], [{}], ["a string"], [5],
                 {"0": current[0] if current else 1}]
    elif isinstance(current, bool):
        typed = ["true", "yes", 1, [True], {"a": True}, "False", None]
    elif isinstance(current, (int, float)):
        typed = [[1], "1", "80", {"v": 1}, -1, 0, 2**63, 2**64 + 1, 1.5, True, "abc", [current], str(current)]
    elif isinstance(current, str):
        typed = [5, 0, -1, {"k": "v"}, [current], ["a", "b"], True, False, 3.25, current + "\n", current * 200,
                 " " + current, "ünï\x00cödé", "*", "~", "-1", "a/b/c", "A_B", "a" * 300, "True"]
    else:
        typed = [{"k": "v"}, "x", 1, [], [None], {}]
    roll = rng.random()
    if roll < 0.08 and allow_delete:
        return DELETE
    if roll < 0.6:
        return rng.choice(typed)
    return rng.choice(COMMON_WRONG)


def paths_of(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node's path (keys and list indexes), the root excluded."""
    out: list[tuple] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out.extend(paths_of(v, prefix + (k,)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out.extend(paths_of(v, prefix + (i,)))
    return out


def get_at(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


def set_at(obj: Any, path: tuple, value: Any) -> None:
    parent = get_at(obj, path[:-1])
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def show_path(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def show_value(value: Any) -> str:
    if value is DELETE:
        return "<deleted>"
    text = value.yaml if isinstance(value, Raw) else json.dumps(value, ensure_ascii=True, default=repr)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


def _last_key(path: tuple) -> str | None:
    return next((k for k in reversed(path) if isinstance(k, str)), None)


def _holds_document(value: Any) -> bool:
    return isinstance(value, str) and (value.lstrip()[:1] in ("{", "[") or ("\n" in value and ": " in value))


# Keys meshctl's readers look at most (a path through one of them is drawn more often).
HOT_KEYS = frozenset({
    "metadata", "labels", "annotations", "ownerReferences", "namespace", "name", "spec", "status", "conditions",
    "observedGeneration", "selector", "matchLabels", "ports", "port", "targetPort", "parentRefs", "backendRefs",
    "listeners", "addresses", "webhooks", "clientConfig", "namespaceSelector", "objectSelector", "containers",
    "image", "env", "replicas", "readyReplicas", "availableReplicas", "numberReady", "desiredNumberScheduled",
    "versions", "rules", "hosts", "gateways", "targetRefs", "subsets", "http", "route", "destination", "endpoints",
    "containerStatuses", "phase", "nodeName", "podIP", "podIPs", "gatewayClassName", "controllerName", "data",
    "hostnames", "selectorLabels", "endpointPickerRef", "targetPorts", "trafficPolicy", "tls", "mode", "kind",
    "apiVersion", "group", "items", "nodeInfo", "kubeletVersion", "capacity", "allocatable", "clusterIP", "type",
})


def mutate(rng: random.Random, obj: dict, paths: list[tuple] | None = None) -> str:
    """Replace ONE field of ``obj`` (in place) by a wrong value; return what was done.

    Paths are drawn three ways: any node, a shallow one (depth <= 3), or one through a key readers
    use. YAML or JSON kept inside a string (mesh config in a ConfigMap, JSON annotations) is
    parsed, mutated inside and written back now and then."""
    paths = paths if paths is not None else paths_of(obj)
    if not paths:
        return "no field to mutate"
    roll = rng.random()
    if roll < 0.4:
        nested = [p for p in paths if _holds_document(get_at(obj, p))]
        if nested:
            path = rng.choice(nested)
            try:
                inner = yaml.load(get_at(obj, path), Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                inner = None
            if isinstance(inner, (dict, list)) and paths_of(inner):
                what = mutate(rng, inner) if isinstance(inner, dict) else mutate(rng, {"_": inner})
                text = dump([inner], "yaml" if "\n" in get_at(obj, path) else "flow").decode("utf-8", "replace")
                set_at(obj, path, text)
                return f"{show_path(path)} (text inside) {what}"
    if roll < 0.6:
        pool = [p for p in paths if _last_key(p) in HOT_KEYS]
    elif roll < 0.75:
        pool = [p for p in paths if len(p) <= 3]
    else:
        pool = paths
    path = rng.choice(pool or paths)
    value = wrong_value(rng, get_at(obj, path))
    set_at(obj, path, value)
    return f"{show_path(path)} = {show_value(value)}"


# ---------------------------------------------------------------------------------------------
# Writing documents (Raw values become literal text)


def _swap_raw(obj: Any, raws: list[Raw]) -> Any:
    if isinstance(obj, Raw):
        raws.append(obj)
        return f"RAWVALUE{len(raws) - 1}X"
    if isinstance(obj, dict):
        return {k: _swap_raw(v, raws) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_swap_raw(v, raws) for v in obj]
    return obj


def dump(docs: list[Any], fmt: str = "yaml") -> bytes:
    """Documents as text: ``yaml`` (block style, several documents), ``flow`` (YAML written as JSON
    text, one document per object: quick to write), ``list`` (one block-style ``kind: List``) or
    ``json`` (a ``kind: List``)."""
    raws: list[Raw] = []
    docs = [_swap_raw(d, raws) for d in docs]
    if fmt in ("list", "json"):
        docs = [{"apiVersion": "v1", "kind": "List", "items": docs}]
    if fmt in ("json", "flow"):
        text = "\n---\n".join(json.dumps(d) for d in docs)
        for i, raw in enumerate(raws):
            text = text.replace(f'"RAWVALUE{i}X"', raw.json if fmt == "json" else raw.yaml)
    else:
        text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=1000)
        for i, raw in enumerate(raws):
            text = text.replace(f"RAWVALUE{i}X", raw.yaml)
    return text.encode("utf-8", "surrogatepass")


FORMATS = ["yaml", "flow", "flow", "list", "json"]


# ---------------------------------------------------------------------------------------------
# The corpus: real objects


@dataclass(frozen=True)
class Item:
    group: str  # neighbourhood: "demo/cluster1", or the testdata file
    resource: str  # snapshot file stem (pods, deployments.apps, ...)
    text: str  # the object as JSON (parsed afresh for every case)

    def fresh(self) -> dict:
        return json.loads(self.text)


def _resource_of(obj: dict) -> str:
    from meshctl.kube.kinds import REGISTRY

    try:
        return REGISTRY.for_object(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))).resource
    except Exception:  # noqa: BLE001 - an object the registry does not know
        return "unknown"


@lru_cache(maxsize=1)
def corpus() -> tuple[Item, ...]:
    items: list[Item] = []
    for cluster in sorted(p for p in DEMO.iterdir() if p.is_dir()):
        for f in sorted(cluster.glob("*.yaml")):
            if f.name == "meta.yaml":
                continue
            data = yaml.load(f.read_text(), Loader=yaml.CSafeLoader)
            for obj in data.get("items") or []:
                items.append(Item(f"demo/{cluster.name}", f.name.removesuffix(".yaml"), json.dumps(obj)))
    for d in CORPUS_DIRS:
        for f in sorted(d.rglob("*.yaml")):
            for obj in yaml.load_all(f.read_text(), Loader=yaml.CSafeLoader):
                if isinstance(obj, dict) and obj.get("kind"):
                    items.append(Item(str(f.relative_to(ROOT)), _resource_of(obj), json.dumps(obj)))
    return tuple(items)


@lru_cache(maxsize=1)
def _groups() -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = {}
    for item in corpus():
        groups.setdefault(item.group, []).append(item)
    return groups


@lru_cache(maxsize=1)
def demo_cluster_meta() -> dict:
    return yaml.safe_load((DEMO / "cluster1" / "meta.yaml").read_text())


def _namespace(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return ns if isinstance(ns, str) else ""


def neighbours(rng: random.Random, item: Item, size: int = 12) -> list[Item]:
    """Objects that keep ``item`` company: some of its namespace, the namespaces, a few others."""
    group = [i for i in _groups()[item.group] if i is not item]
    if not item.group.startswith("demo/"):
        return group
    ns = _namespace(json.loads(item.text))
    local = [i for i in group if ns and f'"namespace": "{ns}"' in i.text]
    nss = [i for i in group if i.resource == "namespaces"]
    taken = {id(i) for i in local}
    rest = [i for i in group if id(i) not in taken and i.resource != "namespaces"]
    picked = rng.sample(local, min(len(local), size)) + nss + rng.sample(rest, min(len(rest), 4))
    if rng.random() < 0.3:  # the control plane, which many checks look for
        core = [i for i in group if '"istio-system"' in i.text and i.resource in (
            "deployments.apps", "configmaps", "daemonsets.apps", "mutatingwebhookconfigurations.admissionregistration.k8s.io")]
        picked += rng.sample(core, min(len(core), 6))
    return list({id(i): i for i in picked}.values())


# ---------------------------------------------------------------------------------------------
# Secrets planted in the objects


def remote_kubeconfig(secret: str, server: str = "https://172.18.0.20:6443") -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "cluster2",
        "clusters": [{"name": "cluster2", "cluster": {"server": server, "certificate-authority-data": b64("CA")}}],
        "users": [{"name": "cluster2", "user": {"token": secret, "client-key-data": b64(f"KEY {secret}")}}],
        "contexts": [{"name": "cluster2", "context": {"cluster": "cluster2", "user": "cluster2"}}],
    })


def plant(objs: list[Any], secret: str) -> None:
    """Fill every Secret's values with the secret (remote secrets get a kubeconfig holding it)."""
    for obj in objs:
        if not (isinstance(obj, dict) and obj.get("kind") == "Secret"):
            continue
        labels = (obj.get("metadata") or {}).get("labels") if isinstance(obj.get("metadata"), dict) else None
        remote = isinstance(labels, dict) and labels.get("istio/multiCluster") == "true"
        for key in ("data", "stringData"):
            values = obj.get(key)
            if isinstance(values, dict):
                for k, v in values.items():
                    if isinstance(v, str):
                        text = remote_kubeconfig(secret) if remote else secret
                        values[k] = text if key == "stringData" else b64(text)


def planted_secrets(secret: str, ns: str = "default") -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fuzz-creds", "namespace": ns},
         "type": "Opaque", "data": {"password": b64(secret)}, "stringData": {"token": secret}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "istio-remote-secret-fuzz", "namespace": "istio-system",
                      "labels": {"istio/multiCluster": "true"}, "annotations": {"networking.istio.io/cluster": "fuzz"}},
         "type": "Opaque", "data": {"fuzz": b64(remote_kubeconfig(secret))}},
    ]


# ---------------------------------------------------------------------------------------------
# Commands


def offline_commands(src: list[str], *, files: bool, rng: random.Random | None = None) -> list[list[str]]:
    """Every read command over one offline source (``-f ...`` or ``--snapshot ...``)."""
    analyze_out = rng.choice(["log", "json", "yaml", "sarif", "junit", "github"]) if rng else "json"
    cmds = [
        ["analyze", *src],
        ["analyze", *src, "-o", analyze_out],
        ["status", *src],
        ["status", *src, "-o", "json"],
        ["topology", *src, "-o", "tree"],
        ["topology", *src, "-A", "-o", "json"],
        ["topology", *src, "-A", "-o", "dot"],
        ["topology", *src, "-o", "mermaid", "--analyze"],
        ["check", *src],
        ["check", *src, "-o", "json"],
        ["waypoint", "list", *src, "-A"],
        ["waypoint", "status", *src, "-A", "-o", "yaml"],
        ["namespace", "list", *src, "-A"],
        ["inference", "status", *src, "-A"],
    ]
    if files:
        cmds += [["validate", *src], ["snapshot", "save", "out/snap", *src], ["snapshot", "save", "out/s.tar.gz", *src]]
    else:
        cmds += [["version", *src], ["version", *src, "-o", "json"], ["snapshot", "show", *src, "-o", "json"]]
    return cmds


def live_commands(src: list[str]) -> list[list[str]]:
    return [
        ["status", *src],
        ["analyze", *src, "-A"],
        ["version", "--remote", *src],
        ["version", *src, "-o", "json"],
        ["namespace", "list", *src, "-A"],
        ["waypoint", "list", *src, "-A"],
        ["check", *src],
        ["topology", *src, "-o", "json"],
        ["inference", "status", *src],
        ["snapshot", "save", "out/snap", *src],
    ]


# ---------------------------------------------------------------------------------------------
# Manifests: -f FILE and -f - (standard input)


@dataclass
class Mutated:
    objs: list[Any]  # the mutated object first
    item: Item
    note: str
    secret: str


@lru_cache(maxsize=1)
def _by_kind() -> list[list[Item]]:
    kinds: dict[str, list[Item]] = {}
    for item in corpus():
        kinds.setdefault(json.loads(item.text).get("kind", ""), []).append(item)
    return [kinds[k] for k in sorted(kinds)]


def pick_item(rng: random.Random) -> Item:
    """A corpus object: a kind first (each as likely), then one object of it."""
    return rng.choice(rng.choice(_by_kind()))


@lru_cache(maxsize=64)
def _items_with(kind: str, path: tuple) -> tuple[Item, ...]:
    def has(obj: Any) -> bool:
        try:
            get_at(obj, path)
        except (KeyError, IndexError, TypeError):
            return False
        return True

    return tuple(i for i in corpus() if f'"kind": "{kind}"' in i.text and has(i.fresh()) and i.fresh().get("kind") == kind)


def mutated_objects(rng: random.Random, mutate_it: bool = True, company: int = 12) -> Mutated:
    item = pick_item(rng)
    obj = item.fresh()
    note = mutate(rng, obj) if mutate_it else "unmutated"
    if mutate_it and rng.random() < 0.2:  # a field readers are known to use, with a random wrong value
        kind, path, _ = rng.choice(KNOWN_MUTATIONS)
        candidates = _items_with(kind, path)
        if candidates:
            item = rng.choice(candidates)
            obj = item.fresh()
            note = mutate(rng, obj, [path])
    secret = new_secret(rng)
    others = [i.fresh() for i in neighbours(rng, item, company)]
    objs = [obj, *others, *planted_secrets(secret, _namespace(obj) or "default")]
    plant(objs, secret)
    orig = item.fresh()
    what = f"{orig.get('kind')} {_namespace(orig)}/{(orig.get('metadata') or {}).get('name')}"
    return Mutated(objs, item, f"{what} (from {item.group}/{item.resource}): {note}", secret)


def gen_manifest_file(rng: random.Random, company: int = 12) -> Case:
    """A generated manifest (``company``: how many objects of its namespace keep the mutated one company)."""
    m = mutated_objects(rng, company=company)
    fmt = rng.choice(FORMATS)
    name = "in/m.json" if fmt == "json" else "in/m.yaml"
    src = ["-f", name]
    layout = rng.random()
    if layout < 0.2:  # a directory: the mutated object alone in one file, the rest in another
        files = {"in/d/a.yaml": dump(m.objs[:1]), "in/d/b.yaml": dump(m.objs[1:])}
        src = ["-f", "in/d"]
    else:
        files = {name: dump(m.objs, fmt)}
    case = Case("manifest-file", offline_commands(src, files=True, rng=rng), files, secrets=[m.secret],
                note=f"{m.note} [{fmt}]")
    case.docs = m.objs
    case.rebuild = lambda docs, argv: (replace(case, files={name: dump(docs, fmt)}, docs=docs),
                                       [name if a == "in/d" else a for a in argv])
    return case


TEXT_NOISE = [":", ": ", "{", "}", "[", "]", "&a ", "*a", "!", "!!str ", "|", ">", "'", '"', "\t", "\n", "- ", "#",
              "%", "@", "`", "---\n", "...\n", "? ", "<<: *a\n", "\r", "\ufeff", "\x85", "\u2028", "\\"]
ALIAS_BOMB = ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
              "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
              "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
              "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n")


def garble_text(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One text-level change: truncation, an inserted character, an encoding change, ..."""
    roll = rng.randrange(9)
    pos = rng.randrange(len(data) + 1)
    if roll == 0:
        return data[:pos], f"truncated at byte {pos}"
    if roll in (1, 2, 3):
        noise = rng.choice(TEXT_NOISE)
        return data[:pos] + noise.encode() + data[pos:], f"inserted {noise!r} at byte {pos}"
    if roll == 4:
        return data.decode("utf-8", "replace").encode("utf-16"), "UTF-16"
    if roll == 5:
        return ALIAS_BOMB.encode() + b"---\n" + data, "alias bomb in front"
    if roll == 6:
        lines = data.split(b"\n")
        i = rng.randrange(len(lines))
        lines[i] = b"  " + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
        return b"\n".join(lines), f"re-indented line {i + 1}"
    if roll == 7:
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 300))), "random bytes"
    return data + b"\n---\n" + rng.choice([b"- 1\n", b"just text\n", b"42\n", b"{\n", b"kind: List\nitems: 5\n",
                                           b"kind: List\nitems: [1, [2]]\n"]), "extra document"


def gen_stdin(rng: random.Random, company: int = 12) -> Case:
    m = mutated_objects(rng, mutate_it=rng.random() < 0.7, company=company)
    fmt = rng.choice(FORMATS)
    data = dump(m.objs, fmt)
    note = m.note
    if rng.random() < 0.5:
        data, how = garble_text(rng, data)
        note += f"; text: {how}"
    case = Case("stdin", offline_commands(["-f", "-"], files=True, rng=rng), stdin=data, secrets=[m.secret],
                note=f"{note} [{fmt}]")
    if "; text:" not in note:
        case.docs = m.objs
        case.rebuild = lambda docs, argv: (replace(case, stdin=dump(docs, fmt), docs=docs), argv)
    return case


# Mutations worth trying on every run (issue 13): (kind, path, value).
KNOWN_MUTATIONS: list[tuple[str, tuple, Any]] = [
    ("Service", ("spec", "selector"), 5),
    ("Gateway", ("status", "conditions", 0, "observedGeneration"), "1"),
    ("MutatingWebhookConfiguration", ("webhooks", 0, "clientConfig", "service", "port"), "{{ 7*7 }}"),
    ("Pod", ("status",), "Running"),
    ("Deployment", ("spec", "replicas"), [1]),
    ("Namespace", ("metadata", "labels"), ["istio.io/dataplane-mode=ambient"]),
    ("Pod", ("metadata", "labels"), ["app=productpage"]),
    ("Gateway", ("spec", "listeners", 0, "port"), Raw(HUGE, HUGE)),
    ("DaemonSet", ("status", "numberReady"), "3"),
    ("HTTPRoute", ("spec", "parentRefs"), {"name": "bookinfo-gateway"}),
    ("ConfigMap", ("data",), ["mesh"]),
    ("Node", ("status", "nodeInfo"), 5),
    ("InferencePool", ("spec", "selector"), "app=vllm"),
    ("CustomResourceDefinition", ("spec", "versions"), {"name": "v1"}),
]


def known_mutation(kind: str, path: tuple, value: Any) -> list[Case]:
    """The first demo object of ``kind`` that has ``path``, with that field set to ``value``: as a
    manifest file and as a snapshot directory, each read by every read command."""
    for item in corpus():
        obj = item.fresh()
        if obj.get("kind") != kind or not item.group.startswith("demo/"):
            continue
        try:
            get_at(obj, path)
        except (KeyError, IndexError, TypeError):
            continue
        set_at(obj, path, value)
        rng = random.Random(0)
        secret = "s3cr3t" + "9" * 32
        objs = [obj, *(i.fresh() for i in neighbours(rng, item, 8)), *planted_secrets(secret, _namespace(obj) or "default")]
        plant(objs, secret)
        note = f"{kind} {_namespace(obj)}/{obj['metadata'].get('name')}: {show_path(path)} = {show_value(value)}"
        files = Case("manifest-file", offline_commands(["-f", "in/m.yaml"], files=True), {"in/m.yaml": dump(objs)},
                     secrets=[secret], note=note, docs=objs)
        files.rebuild = lambda docs, argv, case=files: (replace(case, files={"in/m.yaml": dump(docs)}, docs=docs), argv)
        m = Mutated(objs, item, note, secret)
        snap = snapshot_files({"cluster1": _in_files(m, objs)})
        snapshot = Case("snapshot-dir", offline_commands(["--snapshot", SNAP], files=False),
                        {f"{SNAP}/{k}": dump([d]) for k, d in snap.items()}, secrets=[secret], note=note)
        return [files, snapshot]
    raise LookupError(f"no {kind} with {show_path(path)} in the demo snapshot")


# ---------------------------------------------------------------------------------------------
# Snapshots: directories and archives


def snapshot_files(clusters: dict[str, list[tuple[str, Any]]], kinds: list[str] | None = None) -> dict[str, Any]:
    """A snapshot as {relative path: document}: meta.yaml files and one List per resource."""
    kinds = kinds if kinds is not None else list(demo_cluster_meta()["kinds"])
    docs: dict[str, Any] = {"meta.yaml": {"format": "meshctl.dev/snapshot/v1", "meshctlVersion": "0.1.0",
                                          "created": "2026-11-20T09:00:00Z", "clusters": list(clusters)}}
    for name, objs in clusters.items():
        meta = json.loads(json.dumps(demo_cluster_meta())) | {"cluster": name, "context": f"kind-{name}"}
        meta["kinds"] = list(kinds)
        docs[f"{name}/meta.yaml"] = meta
        lists: dict[str, list] = {}
        for resource, obj in objs:
            lists.setdefault(resource, []).append(obj)
        for resource, items in lists.items():
            docs[f"{name}/{resource}.yaml"] = {"apiVersion": "v1", "kind": "List", "items": items}
    return docs


def mutated_snapshot(rng: random.Random, company: int = 12) -> tuple[dict[str, Any], str, str, Mutated]:
    """A small snapshot of one or two clusters; one object mutated (most of the time)."""
    m = mutated_objects(rng, mutate_it=rng.random() < 0.7, company=company)
    clusters = {"cluster1": _in_files(m, m.objs)}
    if rng.random() < 0.25:
        other = rng.choice(_groups()["demo/cluster2"])
        more = [other.fresh()] + [i.fresh() for i in neighbours(rng, other)]
        plant(more, m.secret)
        clusters["cluster2"] = [(_resource_of(o), o) for o in more]
    return snapshot_files(clusters), m.note, m.secret, m


def _in_files(m: Mutated, objs: list[Any]) -> list[tuple[str, Any]]:
    """(snapshot file stem, object): the mutated object (the first) stays in its original file."""
    return [(m.item.resource if i == 0 else _resource_of(o), o) for i, o in enumerate(objs)]


def _outside_secret_file(secret: str) -> tuple[str, bytes]:
    return "outside/creds.yaml", f"token: {secret}\npassword: {secret}\n".encode()


def snapshot_attack(rng: random.Random, docs: dict[str, Any], secret: str,
                    fmt: str = "flow") -> tuple[dict[str, Entry], str, bool]:
    """One change to a snapshot's layout or metadata. Returns (files relative to the snapshot, what, isolate)."""
    files: dict[str, Entry] = {}
    roll = rng.randrange(12)
    cluster = rng.choice([k.split("/")[0] for k in docs if "/" in k])
    resources = sorted(k for k in docs if k.startswith(f"{cluster}/") and not k.endswith("meta.yaml"))
    victim = rng.choice(resources) if resources else f"{cluster}/pods.yaml"
    note, isolate = "", False
    if roll in (0, 1):  # top meta.yaml: one field wrong
        note = "meta.yaml: " + mutate(rng, docs["meta.yaml"], [(k,) for k in docs["meta.yaml"]] +
                                      [("clusters", i) for i in range(len(docs["meta.yaml"]["clusters"]))])
    elif roll == 2:  # a cluster name that walks out of the snapshot
        bad = rng.choice(["../outside", "/tmp", "..", ".", "", "../../../../etc", f"{cluster}/../{cluster}",
                          "cluster1\x00x", "a" * 300, "café", "cluster1\n"])
        docs["meta.yaml"]["clusters"] = [bad] + list(docs["meta.yaml"]["clusters"])
        files["@in/outside/meta.yaml"] = dump([dict(demo_cluster_meta(), cluster="outside", context=secret)])
        note = f"meta.yaml: clusters starts with {bad!r}"
    elif roll in (3, 4):  # a cluster's meta.yaml: one field wrong
        meta = docs[f"{cluster}/meta.yaml"]
        note = f"{cluster}/meta.yaml: " + mutate(rng, meta, [(k,) for k in meta] + [("kinds", 0), ("missing", 0)])
    elif roll == 5:  # the wrong kind of object in a file
        target = rng.choice(["pods", "services", "namespaces", "gateways.gateway.networking.k8s.io", "secrets",
                             "deployments.apps", "mutatingwebhookconfigurations.admissionregistration.k8s.io",
                             "configmaps", "inferencepools.inference.networking.k8s.io", "nodes"])
        src = docs.get(victim) or {"items": []}
        items = list(src.get("items") or [])
        if items:
            moved = rng.choice(items)
            dest = docs.setdefault(f"{cluster}/{target}.yaml", {"apiVersion": "v1", "kind": "List", "items": []})
            dest["items"] = list(dest.get("items") or []) + [moved]
            note = f"a {moved.get('kind')} from {victim} also put in {cluster}/{target}.yaml"
    elif roll == 6:  # a List that is not a list of objects
        docs[victim] = rng.choice([{"kind": "List", "items": {"a": 1}}, {"kind": "List", "items": [1, "x", None]},
                                   {"kind": "List", "items": [{"metadata": 5}]}, {"kind": "List", "items": None},
                                   {"kind": "List"}, "just text", [1, 2], {"kind": "List", "items": [[{}]]},
                                   {"kind": "List", "items": [{"metadata": {"name": ["x"]}}]},
                                   {"kind": "List", "items": [{"metadata": {}, "kind": 5}]}])
        note = f"{victim}: {show_value(docs[victim])}"
    elif roll == 7:  # a file that is a link
        where, data = _outside_secret_file(secret)
        target = rng.choice(["outside", "loop", "dangling", "passwd", "hardlink", "dir-link"])
        docs.pop(victim, None)
        if target == "outside":
            files[victim] = Symlink(f"{SANDBOX}/{where}")
        elif target == "loop":
            files[victim] = Symlink(victim.rsplit("/", 1)[-1])
        elif target == "dangling":
            files[victim] = Symlink("does-not-exist.yaml")
        elif target == "passwd":
            files[victim] = Symlink("/etc/passwd")
        elif target == "hardlink":
            files[victim] = Hardlink(where)
        else:
            files[victim] = Symlink(f"{SANDBOX}/outside")
        files["@" + where] = data  # "@": relative to the sandbox, not the snapshot
        note = f"{victim} is a {target} link"
    elif roll == 8:  # a special file (opening it blocks or never ends): isolated
        what = rng.choice(["fifo", "device", "dev-zero"])
        victim = rng.choice([victim, "meta.yaml", f"{cluster}/meta.yaml"])
        docs.pop(victim, None)
        files[victim] = {"fifo": Fifo(), "device": CharDevice(1, 5), "dev-zero": Symlink("/dev/zero")}[what]
        note, isolate = f"{victim} is a {what}", True
    elif roll == 9:  # a directory where a file should be
        docs.pop(victim, None)
        files[victim] = Directory()
        note = f"{victim} is a directory"
    elif roll == 10:  # a file's text garbled
        text = dump([docs.pop(victim)], fmt) if victim in docs else b""
        files[victim], how = garble_text(rng, text)
        note = f"{victim}: {how}"
    else:  # meta.yaml missing, or the cluster folder missing
        gone = rng.choice(["meta.yaml", f"{cluster}/meta.yaml"] + [k for k in docs if k.startswith(cluster)])
        docs = {k: v for k, v in docs.items() if not (k == gone or k.startswith(gone + "/"))}
        note = f"{gone} removed"
    for rel, doc in docs.items():
        files.setdefault(rel, dump([doc], fmt))
    return files, note, isolate


def gen_snapshot_dir(rng: random.Random, company: int = 12) -> Case:
    docs, note, secret, m = mutated_snapshot(rng, company)
    isolate = False
    fmt = rng.choice(["yaml", "flow", "flow"])
    attacked = rng.random() < 0.8
    if attacked:
        rel_files, how, isolate = snapshot_attack(rng, docs, secret, fmt)
        note = f"{note}; {how}"
    else:
        rel_files = {rel: dump([doc], fmt) for rel, doc in docs.items()}
    files = {(k[1:] if k.startswith("@") else f"{SNAP}/{k}"): v for k, v in rel_files.items()}
    src = ["--snapshot", SNAP]
    if rng.random() < 0.2:
        src += ["--context", rng.choice(["cluster1", "kind-cluster2", "nope", "../x"])]
    case = Case("snapshot-dir", offline_commands(src, files=False, rng=rng), files, secrets=[secret], note=note,
                isolate=isolate, timeout=3.0 if isolate else 10.0)
    if not attacked:
        def rebuild(objs: list[Any], argv: list[str]) -> tuple[Case, list[str]]:
            snap = snapshot_files({"cluster1": _in_files(m, objs)})
            return replace(case, files={f"{SNAP}/{k}": dump([d], fmt) for k, d in snap.items()}, docs=objs), argv
        case.docs, case.rebuild = m.objs, rebuild
    return case


# Tar archives -------------------------------------------------------------------------------


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE,
                linkname: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 5
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _raw_tar_member(name: str, data: bytes) -> bytes:
    """One member as raw tar blocks (header, data, padding), without the end-of-archive marker."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(format=tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % 512)


BOMB_MEMBERS, BOMB_MIB = 8, 256  # 2 GiB unpacked, from 2 MiB; isolated cases may use 1 GiB


@lru_cache(maxsize=4)
def gzip_bomb(members: int, mib: int) -> bytes:
    """A .tar.gz holding a valid snapshot of one cluster plus ``members`` files of ``mib`` MiB of zeros,
    built from concatenated gzip members (1 MiB of zeros compresses to about 1 KiB)."""
    zeros = gzip.compress(b"\0" * (1 << 20), 9)
    head = b"".join(_raw_tar_member(f"snap/{rel}", dump([doc])) for rel, doc in snapshot_files({"cluster1": []}).items())
    parts = [gzip.compress(head)]
    for i in range(members):
        info = tarfile.TarInfo(f"snap/cluster1/{'pods' if i == 0 else f'junk{i}'}.yaml")
        info.size = mib << 20
        parts += [gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)), zeros * mib]
    parts.append(gzip.compress(b"\0" * 1024))
    return b"".join(parts)


def gen_snapshot_tar(rng: random.Random, company: int = 12) -> Case:
    docs, note, secret, _ = mutated_snapshot(rng, company)
    name = rng.choice(["in/snap.tar.gz", "in/snap.tgz"])
    isolate, timeout = False, 10.0
    if rng.random() < 0.03:  # gzip bomb: several big members of zeros
        data = gzip_bomb(BOMB_MEMBERS, BOMB_MIB)
        note += f"; gzip bomb ({BOMB_MEMBERS} members of {BOMB_MIB} MiB of zeros)"
        isolate, timeout = True, 20.0
        return Case("snapshot-tar", offline_commands(["--snapshot", name], files=False, rng=rng), {name: data},
                    secrets=[secret], note=note, isolate=isolate, timeout=timeout)
    fmt = rng.choice(["yaml", "flow", "flow"])
    rel_files: dict[str, Any] = {rel: dump([doc], fmt) for rel, doc in docs.items()}
    if rng.random() < 0.5:
        rel_files, how, _ = snapshot_attack(rng, docs, secret, fmt)
        rel_files = {k: v for k, v in rel_files.items() if isinstance(v, bytes) and not k.startswith("@")}
        note += f"; {how}"
    top = rng.choice(["snap/", "", "./snap/", "snap/"])
    buf = io.BytesIO()
    attack = rng.randrange(12)
    how = ""
    with tarfile.open(fileobj=buf, mode="w", format=rng.choice([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])) as tar:
        for rel, data in rel_files.items():
            _tar_member(tar, top + rel, data)
        victim = rng.choice(sorted(rel_files) or ["meta.yaml"])
        if attack == 0:
            how = "members named ../ (path traversal)"
            _tar_member(tar, "../../../../PWNED-fuzz.yaml", b"x: 1\n")
            _tar_member(tar, f"{top}../{victim}", b"kind: List\nitems: 5\n")
        elif attack == 1:
            how = "absolute member names"
            _tar_member(tar, "/tmp/PWNED-fuzz.yaml", b"x: 1\n")
            _tar_member(tar, "/" + top + victim, rel_files.get(victim, b""))
        elif attack == 2:
            how = f"symlink member {victim} -> /etc/passwd"
            _tar_member(tar, top + victim, kind=tarfile.SYMTYPE, linkname="/etc/passwd")
        elif attack == 3:
            how = f"hardlink member {victim} -> ../../outside"
            _tar_member(tar, top + victim, kind=tarfile.LNKTYPE, linkname="../../outside/creds.yaml")
        elif attack == 4:
            how = f"device and FIFO members named {victim}"
            _tar_member(tar, top + victim, kind=tarfile.CHRTYPE)
            _tar_member(tar, top + victim + ".fifo", kind=tarfile.FIFOTYPE)
        elif attack == 5:
            how = f"duplicate member {victim} (garbage second)"
            _tar_member(tar, top + victim, rng.choice([b"\x00\xff", b"{", b"5\n", b"kind: List\nitems: {}\n"]))
        elif attack == 6:
            how = "a long, non-ASCII member name"
            _tar_member(tar, top + "ç" * 200 + "/meta.yaml", b"format: x\n")
        elif attack == 7:
            how = "a directory member named meta.yaml"
            _tar_member(tar, top + "cluster1/meta.yaml/", kind=tarfile.DIRTYPE)
        elif attack == 8:
            how = "a second top-level folder"
            _tar_member(tar, "other/meta.yaml", b"format: meshctl.dev/snapshot/v1\nclusters: [x]\n")
    raw = buf.getvalue()
    data = gzip.compress(raw, 1)
    if attack == 9:
        how, data = "truncated gzip", data[: rng.randrange(len(data))]
    elif attack == 10:
        how, data = rng.choice([("not gzip (a plain tar)", raw), ("gzip of YAML, not a tar", gzip.compress(b"a: 1\n")),
                                ("empty file", b""), ("random bytes", bytes(rng.getrandbits(8) for _ in range(64)))])
    elif attack == 11:
        pos = rng.randrange(10, len(data))
        how, data = f"one byte flipped at {pos}", data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:]
    note += f"; archive top {top!r}: {how or 'well formed'}"
    files: dict[str, Entry] = {name: data}
    files.update({"outside/creds.yaml": _outside_secret_file(secret)[1]})
    return Case("snapshot-tar", offline_commands(["--snapshot", name], files=False, rng=rng), files,
                secrets=[secret], note=note)


# ---------------------------------------------------------------------------------------------
# kubeconfigs (live commands against a closed port or the fake API server)


WEIRD_TOKEN_ENDS = ["\n", "\r\n", " ", "\t", "\x00", "\x1b[2J", "é", "\u2028", "\n\n", "\x7f", "", "\\n", "%0a", "\"'"]


def _weird_token(rng: random.Random, secret: str) -> str:
    end = rng.choice(WEIRD_TOKEN_ENDS)
    return rng.choice([secret + end, end + secret, secret[:19] + end + secret[19:]])


def _exec_entry(rng: random.Random, secret: str) -> tuple[dict, str]:
    cred = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
            "status": {"token": secret}}
    outputs = [
        ("a valid ExecCredential", json.dumps(cred), 0),
        ("output that is not JSON", f"token: {secret}", 0),
        ("an ExecCredential of another apiVersion", json.dumps(dict(cred, apiVersion="v9")), 0),
        ("a failing plugin", f"token={secret}", 1),
        ("an ExecCredential with a weird token", json.dumps({**cred, "status": {"token": secret + "\n\x00"}}), 0),
        ("an ExecCredential without status", json.dumps({k: v for k, v in cred.items() if k != "status"}), 0),
    ]
    what, out, code = rng.choice(outputs)
    entry: dict[str, Any] = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
                             "args": ["-c", f"printf '%s' '{out}'; echo '{secret}' >&2; exit {code}"]}
    roll = rng.random()
    if roll < 0.15:
        entry["command"], what = "/nonexistent/kube-plugin", "a missing plugin"
    elif roll < 0.3:
        key = rng.choice(["command", "args", "env", "apiVersion", "interactiveMode", "provideClusterInfo"])
        entry[key] = wrong_value(rng, entry.get(key, "x"), allow_delete=False)
        what += f" with {key} = {show_value(entry[key])}"
    return entry, f"exec plugin: {what}"


def gen_kubeconfig(rng: random.Random) -> Case:
    secret = new_secret(rng)
    secrets = [secret]
    server = rng.choice([f"http://127.0.0.1:{CLOSED}", f"https://127.0.0.1:{CLOSED}", FAKE, FAKE, FAKE,
                         FAKE.replace("http://", "https://")])
    user: dict[str, Any] = {"token": secret}
    cluster: dict[str, Any] = {"server": server}
    files: dict[str, Entry] = {}
    roll = rng.randrange(11)
    isolate, note = False, ""
    if roll == 0:
        user["token"] = _weird_token(rng, secret)
        note = f"token {user['token'][-6:]!r}-ish"
    elif roll == 1:
        content = rng.choice([secret + "\n", secret + "\r\n", secret + "\x00", "é" + secret, "\n", "",
                              secret + "\n" + secret, "\xff\xfe" + secret])
        target = rng.choice(["file", "file", "missing", "dir", "/dev/null", "fifo", "relative"])
        del user["token"]
        if target in ("file", "relative"):
            files["in/token"] = content.encode("utf-8", "surrogatepass")
            user["tokenFile"] = "token" if target == "relative" else f"{SANDBOX}/in/token"
        elif target == "missing":
            user["tokenFile"] = f"{SANDBOX}/in/no-such-token"
        elif target == "dir":
            user["tokenFile"] = f"{SANDBOX}/in"
        elif target == "fifo":
            files["in/token"] = Fifo()
            user["tokenFile"] = f"{SANDBOX}/in/token"
            isolate = True
        else:
            user["tokenFile"] = "/dev/null"
        note = f"tokenFile ({target}) holding {content[-4:]!r}"
    elif roll == 2:
        entry, note = _exec_entry(rng, secret)
        del user["token"]
        user["exec"] = entry
    elif roll == 3:
        name = rng.choice(["oidc", "gcp", "azure", "no-such-provider", ""])
        config = {"oidc": {"id-token": secret, "refresh-token": secret, "client-id": "x", "client-secret": secret,
                           "idp-issuer-url": f"http://127.0.0.1:{CLOSED}"},
                  "gcp": {"access-token": secret, "expiry": rng.choice(["garbage", "2000-01-01T00:00:00Z", "5"])},
                  }.get(name, {"token": secret})
        if rng.random() < 0.3:
            config = wrong_value(rng, config, allow_delete=False)
        del user["token"]
        user["auth-provider"] = {"name": name, "config": config}
        note = f"auth-provider {name!r}"
    elif roll == 4:
        del user["token"]
        user.update(username="admin", password=_weird_token(rng, secret) if rng.random() < 0.5 else secret)
        note = "basic auth"
    elif roll == 5:
        cluster["server"] = rng.choice([f"https://127.0.0.1:{CLOSED}", FAKE.replace("http://", "https://")])
        key = rng.choice([b64(f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
                          secret, b64(secret), "%%%" + secret])
        user.update({"client-certificate-data": rng.choice([b64("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"),
                                                            "not base64!"]),
                     "client-key-data": key})
        secrets.append(key)
        cluster["certificate-authority-data"] = rng.choice([b64("garbage"), "!!", b64(secret)])
        note = "client certificate data"
    elif roll == 6:
        cluster["server"] = rng.choice(["", "127.0.0.1:" + CLOSED, f"http://admin:{secret}@127.0.0.1:{CLOSED}",
                                        FAKE.replace("http://", f"http://admin:{secret}@"), "http://[::1",
                                        "http://127.0.0.1:99999", "unix:///var/run/x.sock", "ftp://127.0.0.1/",
                                        f"http://127.0.0.1:{CLOSED}/\n", "http://localhost\u2028:1", "//", "http://"])
        note = f"server {cluster['server']!r}"
    elif roll == 7:
        cluster.update(rng.choice([{"insecure-skip-tls-verify": "yes"}, {"certificate-authority": "/no/such/ca.pem"},
                                   {"proxy-url": f"http://{secret}@127.0.0.1:{CLOSED}"}, {"tls-server-name": 5},
                                   {"certificate-authority": f"{SANDBOX}/in"}]))
        note = f"cluster fields {sorted(cluster)}"
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "fuzz",
              "clusters": [{"name": "fuzz", "cluster": cluster}], "users": [{"name": "fuzz", "user": user}],
              "contexts": [{"name": "fuzz", "context": {"cluster": "fuzz", "user": "fuzz", "namespace": "default"}}]}
    if roll == 8:  # ONE field of the kubeconfig of the wrong type
        note = "kubeconfig " + mutate(rng, config)
    text = dump([config])
    kc = "in/kc.yaml"
    path_arg = kc
    if roll == 9:
        how = rng.choice(["dir", "missing", "empty", "binary", "bad-yaml", "multi", "devnull", "list"])
        note = f"kubeconfig path: {how}"
        if how == "dir":
            path_arg = "in"
        elif how == "missing":
            path_arg = "in/nope.yaml"
        elif how == "empty":
            text = b""
        elif how == "binary":
            text = b"\x00\xff\xfe" + secret.encode()
        elif how == "bad-yaml":
            text = f"users:\n- name: x\n  user: {{token: {secret}\n: : :\n".encode()
        elif how == "multi":
            path_arg = f"in/nope.yaml:{kc}:{kc}"
        elif how == "devnull":
            path_arg = "/dev/null"
        else:
            text = dump([[config]])
    elif roll == 10:  # garbled text
        text, how = garble_text(rng, text)
        note = f"kubeconfig text: {how}"
    files[kc] = text
    src = ["--kubeconfig", path_arg]
    if rng.random() < 0.2:
        src += ["--context", rng.choice(["fuzz", "other", "", "fuzz\n", "a" * 500])]
    return Case("kubeconfig", live_commands(src), files, secrets=secrets, note=note or "plain token",
                isolate=isolate, timeout=3.0 if isolate else 10.0)


# ---------------------------------------------------------------------------------------------
# Install values: --set and -f for manifest generate (and install --dry-run)


@lru_cache(maxsize=1)
def default_values() -> dict:
    from importlib.resources import files

    profiles = files("meshctl") / "templates" / "profiles"
    return yaml.safe_load((profiles / "default.yaml").read_text())


SET_VALUES = ["[1,2]", "{a: b}", "null", "~", "1e999", HUGE, "{{ 7*7 }}", TEMPLATE_PROBE, "{% raw %}", "${HOME}", "true",
              "", "-", "a,b", "0x10", "-1", "2026-01-01", "!!binary aGk=", "&a x", "*a", "'", "\"", "x\ny", "é",
              "{a: {b: {c: [1, {d: e}]}}}", "[[[[[[[[[[1]]]]]]]]]]", "99999999999999999999", "3.5", "1.30"]
SET_PATHS = ["values..x", "values.global.x[0]", "values.global.imagePullSecrets[0]", "values.global.imagePullSecrets[-1]",
             "values.global.imagePullSecrets[99999999]", "components.ingressGateways[0].name", "components.ingressGateways[x]",
             "values\\.global", "", ".", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", "profile", "revision", "namespace", "hub", "tag",
             "meshConfig", "values", "components", "features.multiNetwork", "spec.values.global.meshID",
             "components.pilot.k8s.replicaCount", "meshConfig.defaultConfig.proxyMetadata.X"]


def gen_values(rng: random.Random) -> Case:
    comps = rng.sample(["base", "pilot", "cni", "ztunnel", "ingress", "tag"], rng.randint(1, 3))
    args = ["manifest", "generate", "--artifacts", UPSTREAM, "--components", ",".join(comps)]
    files: dict[str, Entry] = {}
    notes = []
    roll = rng.random()
    if roll < 0.5:
        leaves = [p for p in paths_of(default_values()) if all(isinstance(x, str) for x in p)]
        for _ in range(rng.randint(1, 3)):
            path = ".".join(rng.choice(leaves)) if rng.random() < 0.7 else rng.choice(SET_PATHS)
            value = rng.choice(SET_VALUES)
            flag = f"{path}={value}" if rng.random() < 0.95 else rng.choice([path, "=x", "==", path + "=="])
            args += ["--set", flag]
            notes.append(f"--set {flag[:70]!r}")
    else:
        tree = json.loads(json.dumps(default_values()))
        note = mutate(rng, tree)
        if rng.random() < 0.3:
            tree = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "metadata": {"name": "x"},
                    "spec": tree}
            note = "IstioOperator spec." + note
        data = dump([tree])
        if rng.random() < 0.15:
            data, how = garble_text(rng, data)
            note += f"; text: {how}"
        files["in/values.yaml"] = data
        flag = rng.choice(["-f", "-f", "-p"])
        args += [flag, "in/values.yaml"]
        notes.append(f"{flag} values file: {note}")
    if rng.random() < 0.2:
        opt = rng.choice([["--revision", rng.choice(["", "1-30", "a.b", "X" * 70, "{{ 7*7 }}", "-", "default"])],
                          ["--istio-version", rng.choice(["1.30", "1.99", "x", "", "1.30.3.4", "01.30"])],
                          ["--hub", rng.choice(["", "a b", "{{ 7*7 }}", "x" * 500])],
                          ["--tag", rng.choice(["", ":", "{{ 7*7 }}", "1.30\n"])],
                          ["--profile", rng.choice(["nope", "", "../../etc/passwd", "ambient", "minimal"])]])
        args += opt
        notes.append(" ".join(opt))
    commands = [args]
    if rng.random() < 0.1:  # the same values through install --dry-run, against the fake API server
        files["in/kc.yaml"] = dump([{"apiVersion": "v1", "kind": "Config", "current-context": "fuzz",
                                     "clusters": [{"name": "fuzz", "cluster": {"server": FAKE}}],
                                     "users": [{"name": "fuzz", "user": {"token": "t"}}],
                                     "contexts": [{"name": "fuzz", "context": {"cluster": "fuzz", "user": "fuzz"}}]}])
        install = ["install", "--dry-run", "--kubeconfig", "in/kc.yaml", *args[2:]]
        commands.append(install)
    return Case("values", commands, files, note="; ".join(notes), needs_upstream=True)


# ---------------------------------------------------------------------------------------------
# analyze --suppress (and the other analyze flags)


SUPPRESS = ["IST0101=VirtualService bookinfo/reviews", "*", "IST*=*", "", "=", "IST0101", "IST0101=", "=Kind",
            "IST0101=Kind", "IST0101=Kind ns/name/extra", "[", "**", "IST0101=*[", "(", "\\", "é=é", "\x00", "IST0101=\n",
            "x" * 10000, "IST0101=Kind ns/name=x", "IST0101=VirtualService */*", "IST0101=VirtualService [!a]*/[z-a]",
            "IST0101=VirtualService bookinfo/*,IST0104=*", " IST0101 = VirtualService bookinfo/reviews ",
            "MSH0001=Namespace bookinfo", "IST0101=virtualservice bookinfo/reviews", "{{ 7*7 }}", "IST0101=* ../..",
            "IST0101=Kind ns/", "IST0101=Kind /name", "IST0101=Kind ns /name", "%s%n", "IST01010101=*"]


def gen_suppress(rng: random.Random) -> Case:
    m = mutated_objects(rng, mutate_it=rng.random() < 0.3)
    files: dict[str, Entry] = {"in/m.yaml": dump(m.objs, "flow")}
    args = ["analyze", "-f", "in/m.yaml", "-f", str(ROOT / "testdata/analyze/virtualservice/bookinfo.yaml")]
    notes = [m.note]
    for _ in range(rng.randint(1, 3)):
        s = rng.choice(SUPPRESS)
        if rng.random() < 0.3:  # splice two
            s = s[: rng.randrange(len(s) + 1)] + rng.choice(SUPPRESS)
        args += [rng.choice(["-S", "--suppress"]), s]
        notes.append(f"-S {s[:60]!r}")
    if rng.random() < 0.3:
        annotated = m.objs[0]
        if isinstance(annotated.get("metadata"), dict):
            annotated["metadata"]["annotations"] = {"galley.istio.io/analyze-suppress": rng.choice(SUPPRESS)}
            files["in/m.yaml"] = dump(m.objs, "flow")
            notes.append("analyze-suppress annotation")
    if rng.random() < 0.3:
        opt = rng.choice([["--analyzer", rng.choice(["nope", "", "virtualservice", "*", "a.b.c", "."])],
                          ["--failure-threshold", rng.choice(["Info", "nope", "", "error", "0"])],
                          ["--output-threshold", rng.choice(["Warning", "x", ""])],
                          ["-o", rng.choice(["json", "sarif", "junit", "github", "yaml", "nope"])],
                          ["-n", rng.choice(["bookinfo", "", "a/b", "ü"])]])
        args += opt
        notes.append(" ".join(opt))
    if rng.random() < 0.3:  # a mesh config file with ONE field wrong
        mesh = {"defaultConfig": {"proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"}}, "rootNamespace": "istio-system",
                "trustDomain": "cluster.local", "enablePrometheusMerge": True, "meshId": "mesh1",
                "defaultProviders": {"metrics": ["prometheus"]},
                "serviceScopeConfigs": [{"servicesSelector": {"matchExpressions": [{"key": "istio.io/global",
                                         "operator": "In", "values": ["true"]}]}, "scope": "GLOBAL"}]}
        notes.append("meshConfigFile " + mutate(rng, mesh))
        files["in/mesh.yaml"] = dump([mesh])
        args += ["--meshConfigFile", "in/mesh.yaml"]
    return Case("suppress", [args], files, secrets=[m.secret], note="; ".join(notes))


# ---------------------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[random.Random], Case]] = {
    "manifest-file": gen_manifest_file,
    "stdin": gen_stdin,
    "snapshot-dir": gen_snapshot_dir,
    "snapshot-tar": gen_snapshot_tar,
    "kubeconfig": gen_kubeconfig,
    "values": gen_values,
    "suppress": gen_suppress,
}
