"""A small declarative schema language for object specs, and the validator that walks it.

A schema is a tree of nodes (``Obj``, ``List``, ``Map``, ``Str``, ``Int``, ``Num``, ``Bool``,
``Duration``, ``Any_``). ``node.check(value, path, v)`` walks a value once, depth first, and records
findings on ``v`` (a ``Validation``): wrong types, unknown fields (strict decoding, as Istio's
webhook does), missing required fields, enum and range violations. Cross-field rules are plain
functions attached to an ``Obj``; they run right after that object's fields, in the same pass, and
read the raw dicts through the ``as_*`` accessors so that junk of the wrong type never crashes them
(the type error has already been reported by the node).

Nothing here copies the input, and every pattern is compiled when the schema is built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

ERROR = "error"
WARNING = "warning"
UNREACHABLE = "unreachable"  # a VirtualService rule that can never match (IST0130)
INEFFECTIVE = "ineffective"  # a VirtualService match shadowed by an earlier one (IST0131)

_EMPTY: Mapping[str, Any] = MappingProxyType({})  # what as_dict gives for a non-object: read-only

Rule = Callable[[dict, str, "Validation"], None]


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # ERROR, WARNING, UNREACHABLE or INEFFECTIVE
    path: str  # where in the object, e.g. "spec.http[0].route"
    text: str
    args: tuple[str, ...] = ()  # the message arguments of UNREACHABLE / INEFFECTIVE findings

    def __str__(self) -> str:
        return f"{self.path}: {self.text}" if self.path else self.text


class Validation:
    """The findings about one object, and the object facts rules may need (name, namespace, ...)."""

    __slots__ = ("annotations", "api_version", "findings", "name", "namespace", "spec")

    def __init__(self, name: str = "", namespace: str = "", annotations: Mapping[str, Any] | None = None,
                 api_version: str = "", spec: Any = None) -> None:
        self.findings: list[Finding] = []
        self.name = name
        self.namespace = namespace
        self.annotations = annotations if isinstance(annotations, Mapping) else _EMPTY
        self.api_version = api_version
        self.spec = as_dict(spec)

    def error(self, path: str, text: str) -> None:
        self.findings.append(Finding(ERROR, path, text))

    def warn(self, path: str, text: str) -> None:
        self.findings.append(Finding(WARNING, path, text))

    def unreachable(self, path: str, rule: str, reason: str) -> None:
        self.findings.append(Finding(UNREACHABLE, path, f"rule {rule} is never used ({reason})", (rule, reason)))

    def ineffective(self, path: str, rule: str, match: str, earlier: str) -> None:
        text = f"rule {rule} match {match} is never used: rule {earlier} already matches the same requests"
        self.findings.append(Finding(INEFFECTIVE, path, text, (rule, match, earlier)))


# -- safe accessors for rules: the value if it has the right type, an empty one otherwise --------


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def as_list(value: Any) -> list | tuple:
    return value if isinstance(value, list) else ()


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def as_num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def is_set(obj: Mapping[str, Any], key: str) -> bool:
    """Whether a field is present with a non-null value (what ``!= nil`` means for a decoded proto)."""
    return obj.get(key) is not None


def is_nonempty(obj: Mapping[str, Any], key: str) -> bool:
    """Whether a field has a value a decoded proto would keep (empty lists and maps decode to nothing)."""
    value = obj.get(key)
    return value is not None and value != [] and value != {} and value != ""


# JSON's names for Python's types, bool before int (a bool is an int)
_TYPE_NAMES = ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (list, "array"), (dict, "object"))


def type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


# -- nodes ----------------------------------------------------------------------------------------


class Node:
    """A schema node. ``check`` is only called with non-null values."""

    __slots__ = ("rules",)

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = tuple(rules)

    def check(self, value: Any, path: str, v: Validation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run_rules(self, value: Any, path: str, v: Validation) -> None:
        for rule in self.rules:
            rule(value, path, v)


class Any_(Node):
    """Anything goes (``x-kubernetes-preserve-unknown-fields``: Envoy patches, plugin config)."""

    __slots__ = ("kind",)

    def __init__(self, kind: type | None = None, rules: Iterable[Rule] = ()) -> None:
        super().__init__(rules)
        self.kind = kind

    def check(self, value: Any, path: str, v: Validation) -> None:
        if self.kind is not None and not isinstance(value, self.kind):
            v.error(path, f"expected {type_name(self.kind())}, got {type_name(value)}")
            return
        self._run_rules(value, path, v)


class Str(Node):
    __slots__ = ("enum", "fmt", "max_len", "min_len", "pattern", "pattern_text")

    def __init__(self, enum: Iterable[str] | None = None, pattern: str | None = None, min_len: int = 0,
                 max_len: int | None = None, fmt: Callable[[str], str | None] | None = None,
                 rules: Iterable[Rule] = (), hint: str | None = None) -> None:
        super().__init__(rules)
        self.enum = frozenset(enum) if enum is not None else None
        # what a value must be, for messages: "a DNS subdomain", or the pattern itself
        self.pattern_text = hint or (f"matching {pattern}" if pattern else None)
        self.pattern = re.compile(pattern) if pattern is not None else None
        self.min_len = min_len
        self.max_len = max_len
        self.fmt = fmt  # returns an error text, or None when the value is fine

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, str):
            v.error(path, f"expected string, got {type_name(value)}")
            return
        if self.enum is not None and value not in self.enum:
            v.error(path, f"unsupported value {value!r}: must be one of {', '.join(sorted(self.enum))}")
            return
        if len(value) < self.min_len:
            v.error(path, "must not be empty" if self.min_len == 1 else f"must be at least {self.min_len} characters")
        elif self.max_len is not None and len(value) > self.max_len:
            v.error(path, f"must be at most {self.max_len} characters")
        elif self.pattern is not None and not self.pattern.search(value):
            v.error(path, f"{value!r} is not valid: must be {self.pattern_text}")
        elif self.fmt is not None:
            problem = self.fmt(value)
            if problem:
                v.error(path, problem)
        if self.rules:
            self._run_rules(value, path, v)


class _Ranged(Node):
    """A number node with optional bounds."""

    __slots__ = ("maximum", "minimum")

    def __init__(self, minimum: float | None, maximum: float | None, rules: Iterable[Rule]) -> None:
        super().__init__(rules)
        self.minimum = minimum
        self.maximum = maximum

    def _check_range(self, value: float, path: str, v: Validation, spell: Callable[[Any], str] = str) -> None:
        if self.minimum is not None and value < self.minimum:
            v.error(path, f"must be at least {spell(self.minimum)}")
        elif self.maximum is not None and value > self.maximum:
            v.error(path, f"must be at most {spell(self.maximum)}")


class Int(_Ranged):
    __slots__ = ("enum",)

    def __init__(self, minimum: int | None = None, maximum: int | None = None, enum: Iterable[int] | None = None,
                 rules: Iterable[Rule] = ()) -> None:
        super().__init__(minimum, maximum, rules)
        self.enum = frozenset(enum) if enum is not None else None

    def check(self, value: Any, path: str, v: Validation) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not value.is_integer()
        ):
            v.error(path, f"expected integer, got {type_name(value)}")
            return
        if self.enum is not None and value not in self.enum:
            v.error(path, f"unsupported value {value}: must be one of {', '.join(map(str, sorted(self.enum)))}")
        else:
            self._check_range(value, path, v)
        if self.rules:
            self._run_rules(value, path, v)


class Num(_Ranged):
    __slots__ = ()

    def __init__(self, minimum: float | None = None, maximum: float | None = None, rules: Iterable[Rule] = ()) -> None:
        super().__init__(minimum, maximum, rules)

    def check(self, value: Any, path: str, v: Validation) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and math.isnan(value)
        ):
            v.error(path, f"expected number, got {type_name(value)}")
            return
        self._check_range(value, path, v, "{:g}".format)
        if self.rules:
            self._run_rules(value, path, v)


class Bool(Node):
    __slots__ = ()

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, bool):
            v.error(path, f"expected boolean, got {type_name(value)}")
        elif self.rules:
            self._run_rules(value, path, v)


# Go's time.ParseDuration syntax (what the CRDs' CEL duration() accepts), e.g. "1h30m", "0.5s", "250ms".
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_NANOS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}


def parse_duration_ns(text: str) -> int | None:
    """Nanoseconds of a Go duration string ("0" too), or None when it is not one."""
    if text == "0":
        return 0
    if not _DURATION.fullmatch(text):
        return None
    total = 0
    for number, unit in _DURATION_PART.findall(text):
        whole, _, frac = number.partition(".")
        scale = _NANOS[unit]
        total += int(whole or 0) * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
    return total


class Duration(Node):
    """A duration string. ``istio`` applies Istio's rule: at least 1ms, in whole milliseconds."""

    __slots__ = ("allow_zero", "istio")

    def __init__(self, istio: bool = True, allow_zero: bool = False, rules: Iterable[Rule] = ()) -> None:
        super().__init__(rules)
        self.istio = istio
        self.allow_zero = allow_zero

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, str):
            v.error(path, f"expected duration string, got {type_name(value)}")
            return
        nanos = parse_duration_ns(value)
        if nanos is None:
            v.error(path, f"{value!r} is not a duration (e.g. 500ms, 10s, 1h30m)")
        elif self.istio and not (self.allow_zero and nanos == 0):
            if nanos < 1_000_000:
                v.error(path, "must be at least 1ms")
            elif nanos % 1_000_000:
                v.error(path, "must be a whole number of milliseconds")
        if self.rules:
            self._run_rules(value, path, v)


class List(Node):
    __slots__ = ("item", "max_items", "min_items")

    def __init__(self, item: Node, min_items: int = 0, max_items: int | None = None,
                 rules: Iterable[Rule] = ()) -> None:
        super().__init__(rules)
        self.item = item
        self.min_items = min_items
        self.max_items = max_items

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, list):
            v.error(path, f"expected array, got {type_name(value)}")
            return
        if len(value) < self.min_items:
            v.error(path, "must not be empty" if self.min_items == 1 else f"must have at least {self.min_items} items")
        elif self.max_items is not None and len(value) > self.max_items:
            v.error(path, f"must have at most {self.max_items} items")
        item = self.item
        for i, element in enumerate(value):
            if element is None:
                v.error(f"{path}[{i}]", "must not be null")
            else:
                item.check(element, f"{path}[{i}]", v)
        if self.rules:
            self._run_rules(value, path, v)


class Map(Node):
    """An object with free keys (labels, headers, ports by name) and values of one schema."""

    __slots__ = ("key", "value")

    def __init__(self, value: Node, key: Callable[[str], str | None] | None = None, rules: Iterable[Rule] = ()) -> None:
        super().__init__(rules)
        self.value = value
        self.key = key  # returns an error text for a bad key, or None

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, dict):
            v.error(path, f"expected object, got {type_name(value)}")
            return
        node, key_check = self.value, self.key
        for key, element in value.items():
            at = f"{path}.{key}"
            if key_check is not None:
                problem = key_check(key) if isinstance(key, str) else f"key {key!r} is not a string"
                if problem:
                    v.error(at, problem)
            if element is not None:
                node.check(element, at, v)
        if self.rules:
            self._run_rules(value, path, v)


class Obj(Node):
    """An object with known fields. Unknown fields are errors, as with Istio's strict decoding."""

    __slots__ = ("fields", "one_of", "required")

    def __init__(self, fields: Mapping[str, Node], required: Iterable[str] = (),
                 one_of: Iterable[Iterable[str]] = (), rules: Iterable[Rule] = ()) -> None:
        super().__init__(rules)
        self.fields = dict(fields)
        self.required = tuple(required)
        self.one_of = tuple(tuple(group) for group in one_of)  # groups of which at most one may be set
        unknown = [k for k in self.required if k not in self.fields]
        if unknown:
            raise ValueError(f"required fields {unknown} are not fields of the schema")

    def check(self, value: Any, path: str, v: Validation) -> None:
        if not isinstance(value, dict):
            v.error(path, f"expected object, got {type_name(value)}")
            return
        fields = self.fields
        for key, element in value.items():
            node = fields.get(key)
            if node is None:
                v.error(f"{path}.{key}", f"unknown field {str(key)!r}")
            elif element is not None:
                node.check(element, f"{path}.{key}", v)
        for key in self.required:
            if value.get(key) is None:
                v.error(f"{path}.{key}", "required")
        for group in self.one_of:
            present = [k for k in group if value.get(k) is not None]
            if len(present) > 1:
                v.error(path, f"only one of {', '.join(group)} may be set (found {', '.join(present)})")
        if self.rules:
            self._run_rules(value, path, v)


@dataclass(frozen=True)
class KindSchema:
    """How to validate one kind: the spec's schema, plus rules on the whole object (name, annotations)."""

    spec: Obj
    spec_required: bool = False  # Gateway API objects must have a spec; Istio's may omit it (empty)
    object_rules: tuple[Callable[[Validation], None], ...] = ()


def validate_object(schema: KindSchema, raw: Mapping[str, Any]) -> list[Finding]:
    """Validate one raw object (a dict as read from YAML or the API server); never raises on bad data."""
    raw = as_dict(raw)
    metadata = as_dict(raw.get("metadata"))
    spec = raw.get("spec")
    v = Validation(
        name=as_str(metadata.get("name")),
        namespace=as_str(metadata.get("namespace")),
        annotations=as_dict(metadata.get("annotations")),
        api_version=as_str(raw.get("apiVersion")),
        spec=spec,
    )
    for rule in schema.object_rules:
        rule(v)
    if spec is None:
        if schema.spec_required:
            v.error("spec", "required")
            return v.findings
        spec = {}
    schema.spec.check(spec, "spec", v)
    return v.findings
