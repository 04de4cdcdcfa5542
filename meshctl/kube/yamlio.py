"""Reading YAML the way Kubernetes reads it, fast and safely.

PyYAML's C parser does the parsing; the scalar rules are Kubernetes' (sigs.k8s.io/yaml over go-yaml
v2), not PyYAML's YAML 1.1 defaults, because the two disagree on values people write in manifests:

==========================  ================  ==================
plain scalar                PyYAML default    Kubernetes (and here)
==========================  ================  ==================
``2024-01-01``              datetime          the string
``1e3``                     the string        1000.0
``0o755``                   the string        493
``y`` / ``n``               strings           true / false
``1:30`` (sexagesimal)      90                the string
``=``                       constructor error the string
==========================  ================  ==================

Each document also records the line it starts on, and documents whose aliases would expand beyond any
real manifest (an alias bomb) are refused before anything walks them.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

from meshctl.errors import InputError

log = logging.getLogger(__name__)

# An alias bomb ("billion laughs") is tiny on disk but expands exponentially when walked.
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200  # real manifests nest about 20 deep; every walker after parsing stays far from Python's limit
# Python refuses to turn longer integers into text (sys.get_int_max_str_digits), so nothing could
# print them; Kubernetes itself keeps integers to 64 bits.
MAX_INT_DIGITS = 4300
MAX_INT_BITS = int(MAX_INT_DIGITS * 3.32)  # about as many bits as that many decimal digits


_QUOTED = re.compile(r"'[^']{4,}'|\"[^\"]{4,}\"")


def yaml_problem(err: Exception) -> str:
    """A YAML error's complaint fit to print: what it quotes from the text (an alias or tag name, which
    can be a secret) is left out when longer than a character or three ("found character '\\t'" stays)."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return _QUOTED.sub("'…'", str(problem))


class LineError(InputError):
    """Bad input found while parsing, at a line of the text (the reader adds the file name)."""

    def __init__(self, message: str, line: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.line = line


def too_long_integer(line: int) -> LineError:
    return LineError(f"an integer longer than {MAX_INT_DIGITS} digits", line,
                     hint="Kubernetes integers are 64-bit; quote the value if it is meant as text")


def too_deep(line: int) -> LineError:
    return LineError(f"nested deeper than {MAX_DEPTH} levels", line,
                     hint="Kubernetes manifests are never this deep; check the file is what you meant")

BOOL_TAG, INT_TAG = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int"
FLOAT_TAG, NULL_TAG = "tag:yaml.org,2002:float", "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"

TRUE_WORDS = frozenset("y Y yes Yes YES true True TRUE on On ON".split())
BOOL_RE = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
# Go's strconv.ParseInt(s, 0, 64) after go-yaml drops underscores: 0b, 0o, 0x, legacy 0-octal, decimal.
# go-yaml drops underscores before trying a number, so they may stand anywhere among the digits.
INT_RE = re.compile(
    r"^[-+]?_*(?:0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[0-7_]*|[1-9][0-9_]*)$"
)
FLOAT_RE = re.compile(
    r"^(?:[-+]?(?=[0-9_.]*[0-9])_*(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
LEGACY_OCTAL_RE = re.compile(r"^[-+]?0[0-7]+$")


@cache
def kubernetes_resolver():
    """Which plain scalars are booleans, numbers and nulls: Kubernetes' answer, not YAML 1.1's."""
    from yaml.resolver import BaseResolver

    class KubernetesResolver(BaseResolver):
        pass

    KubernetesResolver.yaml_implicit_resolvers = {}
    implicit = (
        (BOOL_TAG, BOOL_RE, "yYnNtTfFoO"),
        (INT_TAG, INT_RE, "-+_0123456789"),
        (FLOAT_TAG, FLOAT_RE, "-+_.0123456789"),
        (NULL_TAG, NULL_RE, ["~", "n", "N", ""]),
        (MERGE_TAG, re.compile(r"^<<$"), "<"),
    )
    for tag, regexp, first in implicit:
        KubernetesResolver.add_implicit_resolver(tag, regexp, list(first))
    return KubernetesResolver


@cache
def kubernetes_loader():
    """The loader class: libyaml's parser, Kubernetes' scalar rules, line and alias bookkeeping."""
    import yaml
    from yaml.constructor import SafeConstructor

    parser = getattr(getattr(yaml, "cyaml", None), "CParser", None)
    if parser is None:  # pragma: no cover - depends on how PyYAML was built
        log.warning("PyYAML has no libyaml support; reading YAML with the slower pure-Python parser")
        from yaml.composer import Composer
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
            def __init__(self, stream):
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)
                Composer.__init__(self)

    KubernetesResolver = kubernetes_resolver()

    class KubernetesConstructor(SafeConstructor):
        def construct_yaml_bool(self, node):
            return self.construct_scalar(node) in TRUE_WORDS

        def construct_yaml_int(self, node):
            text = self.construct_scalar(node).replace("_", "")
            if len(text) > MAX_INT_DIGITS:
                raise too_long_integer(node.start_mark.line + 1)
            if LEGACY_OCTAL_RE.match(text):
                return int(text, 8)
            return int(text, 0)

        def construct_yaml_float(self, node):
            text = self.construct_scalar(node).lower().replace("_", "")
            if text.endswith(".inf"):
                return float("-inf") if text.startswith("-") else float("inf")
            if text == ".nan":
                return float("nan")
            return float(text)

        def construct_yaml_timestamp(self, node):
            # Only an explicit !!timestamp tag lands here; Kubernetes keeps the text.
            return self.construct_scalar(node)

        def construct_yaml_set(self, node):
            # A YAML set is a map of keys to null, which is how Kubernetes (through JSON) reads it.
            return {key: None for key in self.construct_mapping(node)}

        def construct_yaml_binary(self, node):
            # JSON carries bytes as base64 text; keep the text (without line breaks) rather than bytes.
            return "".join(self.construct_scalar(node).split())

    KubernetesConstructor.add_constructor(BOOL_TAG, KubernetesConstructor.construct_yaml_bool)
    KubernetesConstructor.add_constructor(INT_TAG, KubernetesConstructor.construct_yaml_int)
    KubernetesConstructor.add_constructor(FLOAT_TAG, KubernetesConstructor.construct_yaml_float)
    KubernetesConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                          KubernetesConstructor.construct_yaml_timestamp)
    KubernetesConstructor.add_constructor("tag:yaml.org,2002:set", KubernetesConstructor.construct_yaml_set)
    KubernetesConstructor.add_constructor("tag:yaml.org,2002:binary", KubernetesConstructor.construct_yaml_binary)

    class KubernetesLoader(parser, KubernetesConstructor, KubernetesResolver):  # type: ignore[misc, valid-type]
        check_aliases = True
        doc_line = 1
        item_lines: list[int] = []

        def __init__(self, stream):
            parser.__init__(self, stream)
            KubernetesConstructor.__init__(self)
            KubernetesResolver.__init__(self)

        def construct_document(self, node):  # PyYAML hook, once per document
            if self.check_aliases:
                check_expansion(node)
            self.doc_line = node.start_mark.line + 1
            self.item_lines = list_item_lines(node)
            data = super().construct_document(node)
            # Walking the built data is cheaper than walking the nodes; the nodes say where.
            if not self.check_aliases and not depth_within(data, MAX_DEPTH):
                check_depth(node)
            return data

    return KubernetesLoader


def list_item_lines(node) -> list[int]:
    """Lines of ``items[]`` entries when the document is a ``kind: List``."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return []
    is_list = False
    items = None
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value == "kind" and isinstance(value, yaml.ScalarNode) and value.value.endswith("List"):
            is_list = True
        elif key.value == "items" and isinstance(value, yaml.SequenceNode):
            items = value
    if not is_list or items is None:
        return []
    return [item.start_mark.line + 1 for item in items.value]


def depth_within(data: Any, limit: int) -> bool:
    """Whether maps and lists nest at most ``limit`` deep (walked without recursion)."""
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def check_depth(root) -> None:
    """Refuse a document nested deeper than MAX_DEPTH (without aliases: a tree, each node seen once)."""
    import yaml

    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > MAX_DEPTH:
            raise too_deep(node.start_mark.line + 1)
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        stack.extend((c, depth + 1) for c in children if not isinstance(c, yaml.ScalarNode))


def check_expansion(root) -> None:
    """Count the nodes a document expands to, sharing work between aliased nodes."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if depth > MAX_DEPTH:
            raise too_deep(node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        if isinstance(node, yaml.MappingNode):
            children = [c for pair in node.value for c in pair]
        else:
            children = list(node.value)
        if not children_done:
            stack.append((node, depth, True))
            stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise InputError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                f"(document at line {root.start_mark.line + 1})",
                hint="this looks like an alias bomb; meshctl refuses to expand it",
            )
        sizes[id(node)] = total


@cache
def kubernetes_dumper():
    """libyaml's emitter with Kubernetes' resolver: a string such as ``"y"`` or ``"1e3"`` is quoted,
    so Kubernetes (and meshctl) read back exactly the value that was written."""
    import yaml
    from yaml.representer import SafeRepresenter

    emitter = getattr(getattr(yaml, "cyaml", None), "CEmitter", None)
    if emitter is None:  # pragma: no cover - depends on how PyYAML was built
        from yaml.emitter import Emitter
        from yaml.serializer import Serializer

        class emitter(Emitter, Serializer):  # type: ignore[no-redef]
            def __init__(self, stream, **kwargs):
                Emitter.__init__(self, stream, canonical=kwargs.get("canonical"), indent=kwargs.get("indent"),
                                 width=kwargs.get("width"), allow_unicode=kwargs.get("allow_unicode"),
                                 line_break=kwargs.get("line_break"))
                Serializer.__init__(self, encoding=kwargs.get("encoding"),
                                    explicit_start=kwargs.get("explicit_start"),
                                    explicit_end=kwargs.get("explicit_end"), version=kwargs.get("version"),
                                    tags=kwargs.get("tags"))

    resolver = kubernetes_resolver()

    class KubernetesDumper(emitter, SafeRepresenter, resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream, default_style=None, default_flow_style=False, sort_keys=True, **kwargs):
            emitter.__init__(self, stream, **kwargs)
            SafeRepresenter.__init__(self, default_style=default_style, default_flow_style=default_flow_style,
                                     sort_keys=sort_keys)
            resolver.__init__(self)

        def ignore_aliases(self, data):  # never write anchors: every reader gets plain data
            return True

    return KubernetesDumper


def dump(data: Any) -> str:
    """Block-style YAML, keys in their given order."""
    import yaml

    return yaml.dump(data, Dumper=kubernetes_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=120)


# -- the fast path ---------------------------------------------------------------------------
#
# yaml-rs (Rust) parses Kubernetes YAML about 8x faster than libyaml + PyYAML's constructor, but it
# follows YAML 1.2, which reads a few plain scalars differently from Kubernetes (`yes`/`on`/`y` stay
# strings, `0755` is decimal, `0b1`/`1_000` are strings, `<<` does not merge) and accepts tabs as
# indentation. A text keeps the fast result only when none of those occurs in it (checked in the text
# and in the parsed values); anything else, and any fast-path error, takes the libyaml path, which
# also gives the precise error messages.

# Plain scalars YAML 1.2 reads as strings but Kubernetes as booleans (checked after parsing).
_BOOL_WORDS = frozenset("y Y n N yes Yes YES no No NO on On ON off Off OFF".split())
# Leading-zero integers parse as decimal in YAML 1.2 but octal in Kubernetes; they can only be seen
# in the text. These are the places a plain number can start.
_LEADING_ZERO_PREFIXES = (": 0", ":0", "- 0", "[0", ", 0", ",0", ": +0", ": -0", "- +0", "- -0")
# A plain scalar that looks like a number and has an underscore (1_000, _010, 0b1_0, 0x_1f): YAML 1.1 reads
# underscores in numbers its own way.
_UNDERSCORE_NUMBER = re.compile(
    r"(?<![^\s\[{,:])[-+]?(?=[0-9a-fA-FxXoObB_.:+-]*_)[_0-9][0-9a-fA-FxXoObB_.:+-]*(?=$|[\s\]},#])", re.MULTILINE)
_TAG = re.compile(r"(?:^|[ \t\[{,])![!<\w]", re.MULTILINE)
_LIST_KIND = re.compile(r"^kind:[ \t]*['\"]?\w*List['\"]?[ \t]*$", re.MULTILINE)
_MAX_REPLAYED = MAX_EXPANDED_NODES


def _text_is_portable(text: str) -> bool:
    """No tab indentation, directive, tag, merge key or leading-zero number in the text."""
    if "\n\t" in text or text.startswith(("\t", "%")) or "\n%" in text or "<<" in text:
        return False
    if "!" in text and _TAG.search(text):
        return False
    if "_" in text and _UNDERSCORE_NUMBER.search(text):
        return False
    for prefix in _LEADING_ZERO_PREFIXES:
        at = text.find(prefix)
        while at != -1:
            after = at + len(prefix)
            # 010 (YAML 1.1 octal) and 0o10 (YAML 1.2 octal) read differently
            if after < len(text) and (text[after].isdigit() or text[after] == "o"):
                return False
            at = text.find(prefix, after)
    return True


def _values_are_portable(data: Any) -> bool:
    """No string key or value that Kubernetes would read as a boolean (``yes``, ``on``, ``y``…), and
    nothing the libyaml path refuses with a line number (nesting past MAX_DEPTH, an integer too long
    to print).

    A quoted ``"yes"`` is sent the slow way too: after parsing, quoting cannot be seen.
    """
    strings: list[str] = []
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str):
                    strings.append(key)
                elif isinstance(key, tuple):  # a sequence as a key: libyaml refuses it, with its line
                    return False
            values = item.values()
        elif isinstance(item, list):
            values = item
        else:
            continue
        if depth > MAX_DEPTH:
            return False
        for value in values:
            if isinstance(value, str):
                strings.append(value)
            elif isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
            elif type(value) is int and value.bit_length() > MAX_INT_BITS:
                return False
    return _BOOL_WORDS.isdisjoint(strings)


@cache
def _yaml_rs():
    try:
        import yaml_rs
    except ImportError:  # optional: without it every text takes the libyaml path
        return None
    return yaml_rs


def _document_lines(text: str) -> list[int]:
    """The line each document's content starts on, splitting at ``---`` lines as kubectl does."""
    separators = [0] if text.startswith("---") else []
    at = text.find("\n---")
    while at != -1:
        separators.append(at + 1)
        at = text.find("\n---", at + 1)
    separators = [p for p in separators if text[p + 3:p + 4] in ("", "\n", " ", "\t", "\r")]
    # Segments: before the first separator (a document only if it has content), then after each.
    bounds = [(0, separators[0] if separators else len(text), False)]
    for i, start in enumerate(separators):
        end = separators[i + 1] if i + 1 < len(separators) else len(text)
        bounds.append((text.find("\n", start) + 1 if text.find("\n", start) != -1 else end, end, True))
    lines = []
    counted_to, line = 0, 1  # count newlines incrementally: documents come in order
    for start, end, explicit in bounds:
        first = _first_content(text, start, end)
        if first is None and not explicit:
            continue
        offset = first if first is not None else start
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        lines.append(line)
    return lines


def _first_content(text: str, start: int, end: int) -> int | None:
    """Offset of the first line in [start, end) that is neither blank nor a comment."""
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl == -1 else nl
        stripped = text[pos:line_end].strip()
        if stripped and not stripped.startswith("#"):
            return pos
        pos = line_end + 1
    return None


def fast_documents(text: str, *, need_list_lines: bool = True) -> list[tuple[Any, int]] | None:
    """``[(document, start line)]`` through yaml-rs, or None when this text must take the libyaml path."""
    yaml_rs = _yaml_rs()
    if yaml_rs is None or not _text_is_portable(text) or (need_list_lines and _LIST_KIND.search(text)):
        return None
    try:
        data = yaml_rs.loads(
            text,
            parse_datetime=False,
            alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=_MAX_REPLAYED, max_replay_stack_depth=MAX_DEPTH),
            duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins,
        )
    except Exception:  # noqa: BLE001 - any doubt goes to the libyaml path, which explains errors well
        return None
    if not _values_are_portable(data):
        return None
    lines = _document_lines(text)
    docs = [data] if len(lines) <= 1 else data
    if len(lines) <= 1:
        lines = lines or [1]
    if not isinstance(docs, list) or len(docs) != len(lines):
        return None
    return list(zip(docs, lines))
