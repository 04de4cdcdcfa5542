"""Custom resources against their CRD schema, as kube-apiserver 1.33-1.35 treats them: prune,
default, validate (OpenAPI value validations, list types, embedded resources) and run the CEL
rules (``x-kubernetes-validations``), with update ratcheting. Pure: no HTTP, no store.

How ``api.py`` calls it (not wired yet)
---------------------------------------
On **create, update, patch and apply** of a custom resource, after decoding the body / merging the
patch and before storing (and before the server's own status handling)::

    schema = crd_version_schema(crd, version)      # version of the request URL; None: no schema
    adm = admit(compile_schema(schema), obj, old,  # old: stored object on update/patch/apply, else None
                strict=(query.get("fieldValidation") == "Strict"),
                subresource=sub,                   # "status" for .../status writes, else None
                status_subresource=rt.status)
    if adm.bad_request:                            # undecodable metadata (wrong JSON types)
        raise bad_request(adm.bad_request)
    if strict and adm.unknown:
        raise bad_request(strict_error_message(adm.unknown, verb, rt.kind, version))
    if adm.errors:
        raise invalid(rt.kind, rt.group, name, adm.errors)      # 422, causes = adm.errors
    for w in adm.warnings_for(query.get("fieldValidation")):   # "Ignore" drops unknown-field ones
        response.headers.add("Warning", warning_header(w))      # 299 - "unknown field \"spec.foo\""
    store(adm.obj)

On reads (get, list, watch) a real server also applies the CRD's defaults while decoding from
storage: ``defaulted(compiled, stored)`` gives that view (e.g. a Gateway created without status
reads back with the CRD's defaulted ``status.conditions``).

``compile_schema`` caches by schema content, so calling it per request is cheap (a CRD registered
again yields the same ``Compiled``); CEL programs are cached per rule text across CRDs.
``fieldValidation`` defaults to Warn on a real server when absent; kubectl sends Strict.

What a real server prints (and this module reproduces)
------------------------------------------------------
- 422 ``Gateway.gateway.networking.k8s.io "gw" is invalid: spec.listeners[0].port: Invalid value:
  70000: spec.listeners[0].port in body should be less than or equal to 65535`` (errors.invalid).
- Schema (OpenAPI) errors name map values with dots (``spec.labels.foo``: kube-openapi builds those
  paths), CEL, list-type and embedded-resource errors with brackets (``spec.labels[foo]``,
  field.Path.Key). CEL errors on the root object are reported at field ``<nil>``, as are
  allOf/anyOf/oneOf/not failures (``<nil>: Invalid value: "": "spec.x" must validate one and only
  one schema (oneOf). Found none valid``).
- When any error is of a blocking kind (Unsupported value, Required value, Too long, Too many,
  type errors), CEL rules are skipped and ``<nil>: Invalid value: "null": some validation rules
  were not checked because the object was invalid; correct the existing errors to complete
  validation`` is appended.
- Unknown fields: warnings ``unknown field "spec.listeners[0].foo"`` (one per field, sorted, root
  ``metadata.*`` ones first); with fieldValidation=Strict a 400 whose message is, for create and
  update (POST/PUT) ``Gateway in version "v1" cannot be handled as a Gateway: strict decoding
  error: unknown field "spec.foo", unknown field "spec.bar"``, for merge/JSON patches ``strict
  decoding error: unknown field "spec.foo"`` and for server-side apply ``.spec.foo: field not
  declared in schema`` (structured-merge-diff's text; see ``strict_error_message``).
- A CEL error on a value that did not change in an update (ratcheting) is not an error but a
  warning with the error's text, as on a real server.

Semantics (sources: apiextensions-apiserver pkg/apiserver/schema/{pruning,defaulting,objectmeta,
listtype,cel}, pkg/apiserver/validation, pkg/registry/customresource, kube-openapi validate):
order is decode -> root metadata reduced to ObjectMeta fields -> prune -> drop nulls of
non-nullable fields without default -> embedded-resource metadata -> defaults -> validation
(schema with ratcheting, embedded ObjectMeta, list types, then CEL).

Approximated or left out (documented here so tests do not rely on them):
- ``pattern`` uses Python ``re`` (ASCII classes, ``$`` = end of text as in RE2); a pattern Python
  cannot compile is not checked. Formats: hostname ``\\p{S}`` symbols, email, uri, mac and
  date-time are regex approximations of the Go parsers; unknown formats are ignored as on the
  server (format names the server strips for the node's type are stripped here too).
- Metadata: only unknown keys are pruned (and reported) and JSON types checked; the round trip
  through ObjectMeta (dropping empty values, ``creationTimestamp: null``) is not reproduced, and
  ObjectMeta validation of embedded resources checks only names. Names, namespaces, labels of the
  object itself are api.py's business.
- Schema ratcheting drops errors of unchanged values entirely (real servers keep them as
  unreported warnings); list-type validation on update is skipped when the old object already
  violated it (as real servers do, coarsely); CEL oldSelf correlation and ratcheting follow the
  server (map lists by key; other lists not per item).
- No CEL cost limits, no compile-time type checking (see celeval.py).
- Error order among sibling properties follows the object's key order (Go's is random).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import celeval

_MISSING: Any = object()

# ---------------------------------------------------------------------------------------------
# CRD helpers
# ---------------------------------------------------------------------------------------------


def crd_version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema of served ``version`` of ``crd`` (v1 per-version schema, or the
    v1beta1 top-level ``spec.validation``), or None when the version has none or is not served."""
    spec = crd.get("spec") or {}
    versions = spec.get("versions") or []
    entry = next((v for v in versions if isinstance(v, dict) and v.get("name") == version), None)
    if entry is None:
        if versions or spec.get("version") != version:
            return None
        entry = {}
    elif entry.get("served") is False:
        return None
    schema = (entry.get("schema") or {}).get("openAPIV3Schema")
    if schema is None:
        schema = (spec.get("validation") or {}).get("openAPIV3Schema")
    return schema


def crd_version_has_status(crd: dict[str, Any], version: str) -> bool:
    """Whether ``version`` has the /status subresource (per version, or v1beta1 top level)."""
    spec = crd.get("spec") or {}
    entry = next((v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("name") == version), {})
    subs = entry.get("subresources") if "subresources" in entry else spec.get("subresources")
    return isinstance(subs, dict) and "status" in subs


# ---------------------------------------------------------------------------------------------
# Go-like value printing (field.Error bodies) and paths
# ---------------------------------------------------------------------------------------------


def go_quote(s: str) -> str:
    """strconv.Quote, close enough: JSON escaping, printable non-ASCII kept."""
    return json.dumps(s, ensure_ascii=False)


def _go_float(f: float) -> str:
    if f != f or f in (float("inf"), float("-inf")):
        return {True: "+Inf", False: "-Inf"}.get(f > 0, "NaN") if f == f else "NaN"
    if f.is_integer() and abs(f) < 1e21:
        return str(int(f))
    r = repr(f)
    if "e" in r:
        mant, exp = r.split("e")
        sign = "-" if exp.startswith("-") else "+"
        exp = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{exp}"
    return r


def _go_syntax(v: Any) -> str:
    """Go's %#v of an unstructured value."""
    if v is None:
        return "interface {}(nil)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, dict):
        return "map[string]interface {}{" + ", ".join(f"{go_quote(k)}:{_go_syntax(v[k])}" for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[]interface {}{" + ", ".join(_go_syntax(x) for x in v) + "}"
    return str(v)


def _go_type(v: Any) -> str:
    return {"boolean": "bool", "integer": "int64", "number": "float64", "string": "string",
            "array": "[]interface {}", "object": "map[string]interface {}"}.get(_jtype(v), "<nil>")


def _go_plain(v: Any) -> str:
    """Go's %v of an unstructured value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_plain(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_plain(x) for x in v) + "]"
    return "<nil>" if v is None else str(v)


def go_value(v: Any) -> str:
    """How field.Error prints a bad value."""
    if v is None:
        return '"null"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    return _go_syntax(v)


def _fp(path: str) -> str:
    return path or "<nil>"


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---------------------------------------------------------------------------------------------
# Formats (kube-openapi strfmt, as validated for CRDs)
# ---------------------------------------------------------------------------------------------

_SUPPORTED_FORMATS = frozenset({
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4", "uuid5",
    "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password", "date",
    "duration", "datetime", "quantity", "k8sshortname", "k8slongname",
})

_HOST_CH = r"[^\W_]"
_HOSTNAME = re.compile(
    rf"^({_HOST_CH}((-?{_HOST_CH}{{0,62}})?)|({_HOST_CH}(([^\W_]|-){{0,61}}{_HOST_CH})?(\.)){{1,}}({_HOST_CH})(-?{_HOST_CH}){{1,62}})$")
_UUID = {
    "uuid": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid3": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid4": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
    "uuid5": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
}
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
_MAC = re.compile(r"^(?:[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){7}"
                  r"|[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){19}|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2,9})$")
_EMAIL = re.compile(r"^(?:[^<>@\s]+@[^<>@\s]+\.?[^<>@\s]*|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$")
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB_PART = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*"
_RGBCOLOR = re.compile(rf"^rgb\({_RGB_PART},{_RGB_PART},{_RGB_PART}\)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_GO_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_SCALA_DURATION = re.compile(r"^\s*(?:\d+\s*[A-Za-zµ]+\s*)+$")
_SCALA_PART = re.compile(r"(\d+)\s*([A-Za-zµ]+)")
_SCALA_UNITS = (("ns", "nano"), ("us", "µs", "micro"), ("ms", "milli"), ("s", "sec"), ("m", "min"),
                ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_SCALA_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
             "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def parse_go_duration(s: str) -> int | None:
    """Nanoseconds of a Go/strfmt duration (``1h30m``, ``15 minutes``), or None."""
    if s in ("0", "+0", "-0"):
        return 0
    if _GO_DURATION.match(s):
        sign = -1 if s.startswith("-") else 1
        total = 0.0
        for num, unit in re.findall(r"((?:\d+(?:\.\d*)?|\.\d+))(ns|us|µs|μs|ms|s|m|h)", s):
            total += float(num) * _UNIT_NS[unit]
        return sign * int(round(total))
    if not _SCALA_DURATION.match(s):
        return None
    total, ok = 0, False
    for num, unit in _SCALA_PART.findall(s):
        unit = unit.lower().strip()
        for variants in _SCALA_UNITS:
            if any(unit == v or (i == len(variants) - 1 and unit.startswith(v)) for i, v in enumerate(variants)):
                ok = True
                total += int(num) * _SCALA_NS[variants[0]]
    return total if ok else None


def _valid_date(y: str, m: str, d: str) -> bool:
    try:
        datetime.date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def _parse_datetime(s: str) -> datetime.datetime | None:
    m = _DATETIME.match(s)
    if not m or not _valid_date(*m.group(1, 2, 3)):
        return None
    hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
    if hh > 23 or mm > 59 or ss > 60:
        return None
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = m.group(8)
    if not tz or tz in "Zz":
        tzinfo = datetime.timezone.utc
    else:
        digits = tz[1:].replace(":", "")
        delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tzinfo = datetime.timezone(delta if tz[0] == "+" else -delta)
    return datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), hh, mm, min(ss, 59), micro, tzinfo)


def _isbn10(s: str) -> bool:
    s = s.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"[0-9]{9}[0-9X]", s):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
    return total % 11 == 0


def _isbn13(s: str) -> bool:
    s = s.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"[0-9]{13}", s):
        return False
    return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s)) % 10 == 0


def _creditcard(s: str) -> bool:
    digits = re.sub(r"[^0-9]", "", s)
    if not re.fullmatch(r"(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)"
                        r"[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}"
                        r"|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})", digits):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _go_parse_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s


def _go_parse_cidr(s: str) -> bool:
    if "/" not in s or "%" in s:
        return False
    addr, _, bits = s.partition("/")
    if not bits.isdigit() or (len(bits) > 1 and bits[0] == "0"):
        return False
    try:
        ipaddress.ip_interface(s)
    except ValueError:
        return False
    return _go_parse_ip(addr)


FORMAT_CHECKS: dict[str, Any] = {
    "bsonobjectid": lambda s: re.fullmatch(r"[0-9a-fA-F]{24}", s) is not None,
    "uri": celeval._is_url,
    "email": lambda s: _EMAIL.match(s) is not None,
    "hostname": lambda s: _HOSTNAME.match(s) is not None and len(s) <= 255 and all(len(p) <= 63 for p in s.split(".")),
    "ipv4": lambda s: _go_parse_ip(s) and "." in s,
    "ipv6": lambda s: _go_parse_ip(s) and ":" in s,
    "cidr": _go_parse_cidr,
    "mac": lambda s: _MAC.match(s) is not None,
    **{k: (lambda rx: lambda s: rx.match(s) is not None)(v) for k, v in _UUID.items()},
    "isbn": lambda s: _isbn10(s) or _isbn13(s),
    "isbn10": _isbn10,
    "isbn13": _isbn13,
    "creditcard": _creditcard,
    "ssn": lambda s: _SSN.match(s) is not None,
    "hexcolor": lambda s: _HEXCOLOR.match(s) is not None,
    "rgbcolor": lambda s: _RGBCOLOR.match(s) is not None,
    "byte": lambda s: _BASE64.match(s) is not None,
    "password": lambda s: True,
    "date": lambda s: (m := _DATE.match(s)) is not None and _valid_date(*m.groups()),
    "datetime": lambda s: _parse_datetime(s) is not None,
    "duration": lambda s: parse_go_duration(s) is not None,
    "quantity": celeval._is_quantity,
    "k8sshortname": lambda s: len(s) <= 63 and _DNS1123_LABEL.match(s) is not None,
    "k8slongname": lambda s: len(s) <= 253 and _DNS1123_SUBDOMAIN.match(s) is not None,
}


def _normalize_format(fmt: str) -> str:
    return fmt.replace("-", "").replace("_", "").lower()


def _strip_format(fmt: str, type_: str) -> str:
    """StripUnsupportedFormatsPostProcess: the format the server keeps for a node of this type."""
    if not fmt:
        return ""
    if type_ in ("", "string"):
        return fmt if _normalize_format(fmt) in _SUPPORTED_FORMATS else ""
    if type_ == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if type_ == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


def _translate_pattern(p: str) -> re.Pattern[str] | None:
    """ECMA/RE2 pattern -> Python re: ``$`` (outside classes, unescaped) means end of text."""
    out, i, in_class = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        elif c == "$" and not in_class:
            out.append(r"\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error:
        return None


# ---------------------------------------------------------------------------------------------
# Compiled schema
# ---------------------------------------------------------------------------------------------


@dataclass
class Rule:
    rule: str
    message: str
    message_expression: str
    reason: str | None
    field_path: str
    optional_old_self: bool
    program: celeval.Program
    message_program: celeval.Program | None

    @property
    def error_string(self) -> str:
        return self.message.strip() if self.message else self.rule.strip()

    @property
    def default_message(self) -> str:
        return self.message.strip() if self.message else f"failed rule: {self.rule.strip()}"


class Node:
    """One schema node. Spine nodes (properties/items/additionalProperties from the root) carry
    the structural bits; junctor branches (allOf/anyOf/oneOf/not) only value validations."""

    __slots__ = (
        "type", "types", "nullable", "preserve", "embedded", "properties", "has_additional", "additional",
        "items", "default", "required", "enum", "maximum", "minimum", "exclusive_maximum", "exclusive_minimum",
        "multiple_of", "max_length", "min_length", "pattern", "pattern_re", "format", "format_key", "max_items",
        "min_items", "unique_items", "max_properties", "min_properties", "list_type", "list_map_keys",
        "map_type", "all_of", "any_of", "one_of", "not_", "rules", "has_rules", "has_defaults", "has_embedded",
        "has_lists", "cel_identity", "cel_fields",
    )

    def __init__(self) -> None:
        self.type = ""
        self.types: tuple[str, ...] = ()
        self.nullable = False
        self.preserve = False
        self.embedded = False
        self.properties: dict[str, Node] | None = None
        self.has_additional = False
        self.additional: Node | None = None
        self.items: Node | None = None
        self.default: Any = _MISSING
        self.required: tuple[str, ...] = ()
        self.enum: list[Any] | None = None
        self.maximum: float | None = None
        self.minimum: float | None = None
        self.exclusive_maximum = False
        self.exclusive_minimum = False
        self.multiple_of: float | None = None
        self.max_length: int | None = None
        self.min_length: int | None = None
        self.pattern = ""
        self.pattern_re: re.Pattern[str] | None = None
        self.format = ""
        self.format_key = ""
        self.max_items: int | None = None
        self.min_items: int | None = None
        self.unique_items = False
        self.max_properties: int | None = None
        self.min_properties: int | None = None
        self.list_type = ""
        self.list_map_keys: tuple[str, ...] = ()
        self.map_type = ""
        self.all_of: list[Node] = []
        self.any_of: list[Node] = []
        self.one_of: list[Node] = []
        self.not_: Node | None = None
        self.rules: list[Rule] = []
        self.has_rules = False
        self.has_defaults = False
        self.has_embedded = False
        self.has_lists = False
        self.cel_identity = True
        self.cel_fields: dict[str, str] = {}


def _num(v: Any) -> float | None:
    return None if v is None or isinstance(v, bool) else v


def _build(s: Any, spine: bool, backend: str) -> Node:
    n = Node()
    if not isinstance(s, dict):
        if s is True or s is None:
            n.preserve = True
        return n
    n.type = s.get("type") or ""
    if s.get("x-kubernetes-int-or-string"):
        n.types = ("integer", "string")
        n.type = ""
    elif n.type:
        n.types = (n.type,)
    n.nullable = bool(s.get("nullable"))
    n.format = _strip_format(s.get("format") or "", n.type)
    n.format_key = _normalize_format(n.format) if n.format else ""
    for k, attr in (("maximum", "maximum"), ("minimum", "minimum"), ("multipleOf", "multiple_of")):
        setattr(n, attr, _num(s.get(k)))
    n.exclusive_maximum = bool(s.get("exclusiveMaximum"))
    n.exclusive_minimum = bool(s.get("exclusiveMinimum"))
    for k, attr in (("maxLength", "max_length"), ("minLength", "min_length"), ("maxItems", "max_items"),
                    ("minItems", "min_items"), ("maxProperties", "max_properties"), ("minProperties", "min_properties")):
        v = s.get(k)
        setattr(n, attr, None if v is None else int(v))
    n.unique_items = bool(s.get("uniqueItems"))
    n.pattern = s.get("pattern") or ""
    if n.pattern:
        n.pattern_re = _translate_pattern(n.pattern)
    if "enum" in s and s["enum"] is not None:
        n.enum = list(s["enum"])
    n.required = tuple(s.get("required") or ())
    n.all_of = [_build(x, False, backend) for x in s.get("allOf") or ()]
    n.any_of = [_build(x, False, backend) for x in s.get("anyOf") or ()]
    n.one_of = [_build(x, False, backend) for x in s.get("oneOf") or ()]
    if isinstance(s.get("not"), dict):
        n.not_ = _build(s["not"], False, backend)
    props = s.get("properties")
    if isinstance(props, dict):
        n.properties = {k: _build(v, spine, backend) for k, v in props.items()}
    ap = s.get("additionalProperties")
    if ap is not None and ap is not False:
        n.has_additional = True
        n.additional = _build(ap, spine, backend) if isinstance(ap, dict) else None
    items = s.get("items")
    if isinstance(items, dict):
        n.items = _build(items, spine, backend)
    if not spine:
        return n
    n.preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    n.embedded = bool(s.get("x-kubernetes-embedded-resource"))
    if "default" in s:
        n.default = s["default"]
    n.list_type = s.get("x-kubernetes-list-type") or ""
    n.list_map_keys = tuple(s.get("x-kubernetes-list-map-keys") or ())
    n.map_type = s.get("x-kubernetes-map-type") or ""
    for r in s.get("x-kubernetes-validations") or ():
        if not isinstance(r, dict) or not r.get("rule"):
            continue
        msg_expr = r.get("messageExpression") or ""
        n.rules.append(Rule(
            rule=r["rule"], message=r.get("message") or "", message_expression=msg_expr, reason=r.get("reason"),
            field_path=r.get("fieldPath") or "", optional_old_self=bool(r.get("optionalOldSelf")),
            program=celeval.compile_program(r["rule"], backend),
            message_program=celeval.compile_program(msg_expr, backend) if msg_expr else None,
        ))
    kids = [c for c in (n.items, n.additional) if c is not None] + list((n.properties or {}).values())
    n.has_rules = bool(n.rules) or any(c.has_rules for c in kids)
    n.has_defaults = any(c.default is not _MISSING or c.has_defaults for c in kids)
    n.has_embedded = n.embedded or any(c.has_embedded for c in kids)
    n.has_lists = n.list_type in ("set", "map") or any(c.has_lists for c in kids)
    if n.properties:
        n.cel_fields = {k: e for k in n.properties if (e := celeval.escape(k)) is not None}
    n.cel_identity = (
        n.type != "number" and n.format_key not in ("datetime", "date", "duration", "byte") and not n.embedded
        and all(k == e for k, e in n.cel_fields.items()) and len(n.cel_fields) == len(n.properties or {})
        and all(c.cel_identity for c in kids)
    )
    return n


class Compiled:
    """One CRD version's openAPIV3Schema, preprocessed (see ``compile_schema``)."""

    def __init__(self, schema: dict[str, Any] | None, backend: str = "rust") -> None:
        self.schema = schema
        self.backend = backend
        self.root: Node | None = _build(schema, True, backend) if isinstance(schema, dict) else None

    @property
    def rule_count(self) -> int:
        def count(n: Node | None) -> int:
            if n is None:
                return 0
            kids = [n.items, n.additional, *(n.properties or {}).values()]
            return len(n.rules) + sum(count(c) for c in kids)

        return count(self.root)


_CACHE: OrderedDict[str, Compiled] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def compile_schema(schema: dict[str, Any] | None, *, backend: str = "rust") -> Compiled:
    """The ``Compiled`` form of ``schema``, cached by content (a CRD registered again - a new dict
    with the same schema - costs one JSON dump, not a recompilation)."""
    if schema is None:
        return Compiled(None, backend)
    key = backend + json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    compiled = Compiled(schema, backend)
    with _CACHE_LOCK:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclass
class Admission:
    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # A body the real server would not decode (400): wrong JSON types in metadata, or a
    # non-string apiVersion/kind of an embedded resource.
    bad_request: str | None = None

    def warnings_for(self, field_validation: str | None) -> list[str]:
        """Warnings to send for this ``fieldValidation`` (Ignore: none about unknown fields)."""
        if field_validation == "Ignore":
            unknown = {f'unknown field "{p}"' for p in self.unknown}
            return [w for w in self.warnings if w not in unknown]
        return list(self.warnings)


def strict_error_message(unknown: Iterable[str], verb: str = "create", kind: str = "", version: str = "") -> str:
    """The 400 message of fieldValidation=Strict for unknown fields. ``verb``: create/update
    (POST/PUT: decoding error with the kind prefix), patch (merge/JSON patch), apply (SSA: only
    structured-merge-diff's per-field text; the real message starts with ``failed to create typed
    patch object (<namespace>/<name>; <group>/<version>, Kind=<kind>): ``)."""
    paths = list(unknown)
    if verb == "apply":
        return ", ".join(f".{p}: field not declared in schema" for p in paths)
    text = "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)
    if verb in ("create", "update") and kind:
        return f'{kind} in version "{version}" cannot be handled as a {kind}: {text}'
    return text


def warning_header(text: str) -> str:
    """A ``Warning`` header value as real servers send it: ``299 - "unknown field \\"spec.foo\\""``."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# Helpers on JSON values
# ---------------------------------------------------------------------------------------------


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _deq(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on unstructured values: int64 1, float64 1 and true all differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and _deq(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_deq(x, y) for x, y in zip(a, b))
    return a == b


def _jtype(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null" if v is None else ""


def _scalar_key(v: Any) -> Any:
    return (type(v).__name__, v)


def _json_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# ObjectMeta (the root's metadata and embedded resources')
# ---------------------------------------------------------------------------------------------

_STR, _INT, _TIME, _STRMAP, _STRLIST, _BOOL, _ANY = "string", "int64", "time", "map", "strings", "bool", "any"
_OWNER_REF = {"apiVersion": _STR, "kind": _STR, "name": _STR, "uid": _STR, "controller": _BOOL,
              "blockOwnerDeletion": _BOOL}
_MANAGED = {"manager": _STR, "operation": _STR, "apiVersion": _STR, "time": _TIME, "fieldsType": _STR,
            "fieldsV1": _ANY, "subresource": _STR}
OBJECT_META: dict[str, Any] = {
    "name": _STR, "generateName": _STR, "namespace": _STR, "selfLink": _STR, "uid": _STR,
    "resourceVersion": _STR, "generation": _INT, "creationTimestamp": _TIME, "deletionTimestamp": _TIME,
    "deletionGracePeriodSeconds": _INT, "labels": _STRMAP, "annotations": _STRMAP,
    "ownerReferences": [_OWNER_REF], "finalizers": _STRLIST, "managedFields": [_MANAGED],
}
_GO_TYPES = {_STR: "string", _INT: "int64", _TIME: "v1.Time", _STRMAP: "map[string]string", _STRLIST: "[]string",
             _BOOL: "bool"}
_JSON_KIND = {"string": "string", "integer": "number", "number": "number", "boolean": "bool", "array": "array",
              "object": "object"}


class _DecodeError(Exception):
    pass


def _coerce_meta(meta: Any, where: str, unknown: list[str]) -> Any:
    """Strict-decode ``meta`` into ObjectMeta: prune and record unknown keys (``where.foo``),
    raise _DecodeError on JSON type mismatches, as json.Unmarshal would."""
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise _DecodeError(f"json: cannot unmarshal {_JSON_KIND.get(_jtype(meta), 'value')} into Go value of type "
                           "v1.ObjectMeta")
    _coerce_struct(meta, OBJECT_META, "ObjectMeta", where, unknown)
    return meta


def _coerce_struct(obj: dict[str, Any], spec: dict[str, Any], struct: str, where: str, unknown: list[str]) -> None:
    for k in list(obj):
        want = spec.get(k)
        v = obj[k]
        if want is None:
            unknown.append(f"{where}.{k}")
            del obj[k]
            continue
        if v is None or want == _ANY:
            continue
        if isinstance(want, list):
            if not isinstance(v, list):
                elem = "OwnerReference" if k == "ownerReferences" else "ManagedFieldsEntry"
                _type_mismatch(v, struct, f"{where}.{k}", f"[]v1.{elem}")
            for i, item in enumerate(v):
                if item is None:
                    continue
                if not isinstance(item, dict):
                    _type_mismatch(item, struct, f"{where}.{k}", "v1.OwnerReference")
                _coerce_struct(item, want[0], struct, f"{where}.{k}[{i}]", unknown)
            continue
        ok = {
            _STR: lambda x: isinstance(x, str),
            _TIME: lambda x: isinstance(x, str),
            _INT: lambda x: isinstance(x, int) and not isinstance(x, bool) or isinstance(x, float) and x.is_integer(),
            _BOOL: lambda x: isinstance(x, bool),
            _STRMAP: lambda x: isinstance(x, dict) and all(isinstance(y, str) or y is None for y in x.values()),
            _STRLIST: lambda x: isinstance(x, list) and all(isinstance(y, str) or y is None for y in x),
        }[want](v)
        if not ok:
            _type_mismatch(v, struct, f"{where}.{k}", _GO_TYPES[want])


def _type_mismatch(v: Any, struct: str, where: str, go_type: str) -> None:
    raise _DecodeError(f"json: cannot unmarshal {_JSON_KIND.get(_jtype(v), 'value')} into Go struct field "
                       f"{struct}.{where} of type {go_type}")


# ---------------------------------------------------------------------------------------------
# Pruning, nulls, defaults
# ---------------------------------------------------------------------------------------------

_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


def _prune(x: Any, s: Node | None, path: str, unknown: list[str], embedded_root: bool = False) -> None:
    if s is not None and s.preserve:
        _skip_prune(x, s, path, unknown, embedded_root)
        return
    if isinstance(x, dict):
        if s is None:
            for k in list(x):
                unknown.append(_child(path, k))
                del x[k]
            return
        props = s.properties or {}
        embedded = s.embedded or embedded_root
        for k in list(x):
            if embedded and k in _META_FIELDS:
                continue
            prop = props.get(k)
            if prop is not None:
                _prune(x[k], prop, _child(path, k), unknown)
            elif s.has_additional:
                _prune(x[k], s.additional, _child(path, k), unknown)
            else:
                if k not in _META_FIELDS or path:
                    unknown.append(_child(path, k))
                del x[k]
    elif isinstance(x, list):
        items = s.items if s is not None else None
        for i, v in enumerate(x):
            _prune(v, items, f"{path}[{i}]", unknown)


def _skip_prune(x: Any, s: Node, path: str, unknown: list[str], embedded_root: bool) -> None:
    if isinstance(x, dict):
        props = s.properties or {}
        embedded = s.embedded or embedded_root
        for k, v in x.items():
            if embedded and k in _META_FIELDS:
                continue
            prop = props.get(k)
            if prop is not None:
                _prune(v, prop, _child(path, k), unknown)
            elif s.has_additional:
                _prune(v, s.additional, _child(path, k), unknown)
    elif isinstance(x, list) and s.items is not None:
        for i, v in enumerate(x):
            _skip_prune(v, s.items, f"{path}[{i}]", unknown, False)


def _field_schema(s: Node | None, k: str) -> Node | None:
    if s is None:
        return None
    if s.properties is not None and k in s.properties:
        return s.properties[k]
    return s.additional if s.has_additional else None


def _prune_nulls(x: Any, s: Node | None) -> None:
    if isinstance(x, dict):
        for k in list(x):
            sub = _field_schema(s, k)
            v = x[k]
            if v is None and sub is not None and not sub.nullable and sub.default is _MISSING:
                del x[k]
            elif isinstance(v, (dict, list)):
                _prune_nulls(v, sub)
    elif isinstance(x, list):
        items = s.items if s is not None else None
        for v in x:
            if isinstance(v, (dict, list)):
                _prune_nulls(v, items)


def _default(x: Any, s: Node | None) -> None:
    if s is None or not s.has_defaults:
        return
    if isinstance(x, dict):
        props = s.properties or {}
        for k, prop in props.items():
            if prop.default is _MISSING:
                continue
            if k not in x or (x[k] is None and not prop.nullable):
                x[k] = _copy(prop.default)
        for k, v in x.items():
            prop = props.get(k)
            if prop is not None:
                if isinstance(v, (dict, list)):
                    _default(v, prop)
            elif s.has_additional and s.additional is not None:
                ap = s.additional
                if v is None and not ap.nullable:
                    x[k] = v = _copy(ap.default) if ap.default is not _MISSING else None
                _default(v, ap)
    elif isinstance(x, list) and s.items is not None:
        it = s.items
        for i, v in enumerate(x):
            if v is None and not it.nullable:
                x[i] = v = _copy(it.default) if it.default is not _MISSING else None
            _default(v, it)


def _coerce_embedded(x: Any, s: Node | None, fpath: str, unknown: list[str]) -> None:
    """objectmeta.Coerce below the root: embedded resources' apiVersion/kind must be strings and
    their metadata is reduced to ObjectMeta (unknown keys recorded as ``spec.x.metadata.foo``)."""
    if s is None or not s.has_embedded:
        return
    if isinstance(x, dict):
        if s.embedded:
            for k in ("apiVersion", "kind"):
                if k in x and not isinstance(x[k], str):
                    raise _DecodeError(f"{_child(fpath, k)}: Invalid value: {go_value(x[k])}: must be a string")
            if "metadata" in x:
                _coerce_meta(x["metadata"], _child(fpath, "metadata"), unknown)
        for k, v in x.items():
            prop = (s.properties or {}).get(k)
            if prop is not None:
                _coerce_embedded(v, prop, _child(fpath, k), unknown)
            elif s.has_additional:
                _coerce_embedded(v, s.additional, f"{fpath}[{k}]", unknown)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _coerce_embedded(v, s.items, f"{fpath}[{i}]", unknown)


# ---------------------------------------------------------------------------------------------
# OpenAPI value validation (kube-openapi's SchemaValidator) -> field errors
# ---------------------------------------------------------------------------------------------

_BLOCKING = frozenset({"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany",
                       "FieldValueTypeInvalid"})
Err = tuple[str, str, str]


def _name_path(name: str) -> str:
    return "<nil>" if name in ("", ".") else name.lstrip(".")


def _invalid(name: str, value: Any, msg: str) -> Err:
    return (_name_path(name), "FieldValueInvalid", f"Invalid value: {go_value(value)}: {msg}")


def _type_invalid(name: str, type_name: str, value: str) -> Err:
    msg = f"{name} in body must be of type {type_name}: {go_quote(value)}"
    return (_name_path(name), "FieldValueTypeInvalid", f"Invalid value: {go_quote(value)}: {msg}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _composite(msg: str) -> Err:
    return ("<nil>", "FieldValueInvalid", f'Invalid value: "": {msg}')


def _enum_match(v: Any, enum: list[Any]) -> bool:
    for e in enum:
        if isinstance(e, bool) or isinstance(v, bool):
            if type(e) is type(v) and e == v:
                return True
        elif isinstance(e, (int, float)) and isinstance(v, (int, float)):
            if (int(v) if isinstance(e, int) else float(v)) == e:
                return True
        elif _deq(v, e):
            return True
    return False


def _enum_text(e: Any) -> str:
    return go_quote(e if isinstance(e, str) else json.dumps(e, separators=(",", ":")))


def _validate(n: Node, v: Any, name: str, old: Any, out: list[Err]) -> None:
    """Value validations of ``v`` against ``n`` (path ``name`` in kube-openapi's dotted form).
    With ``old`` (not _MISSING) errors of an unchanged value are dropped (ratcheting)."""
    start = len(out)
    types = n.types
    # type
    if v is None:
        if types and not n.nullable:
            out.append(_type_invalid(name, ",".join(types), "null"))
        if n.enum is not None:  # kube-openapi: null never matches an enum
            out.append((_name_path(name), "FieldValueNotSupported",
                        "Unsupported value: \"null\": supported values: " + ", ".join(_enum_text(e) for e in n.enum)))
        if old is not _MISSING and len(out) > start and old is None:
            del out[start:]
        return
    jt = _jtype(v)
    if types or n.format:
        value_fmt = "int64" if jt == "integer" else "float64" if jt == "number" else ""
        float_int = jt == "number" and v.is_integer() and "integer" in types
        int_float = jt == "integer" and "number" in types
        if jt not in ("string", "array") and n.format and not (jt in types or value_fmt == n.format or float_int or int_float):
            out.append(_type_invalid(name, n.format, value_fmt))
        elif not ("number" in types or "integer" in types) and n.format and jt in ("string", "array"):
            pass
        elif not (jt in types or float_int or int_float):
            out.append(_type_invalid(name, ",".join(types), jt))
    # allOf / anyOf / oneOf / not
    if n.any_of or n.one_of or n.all_of or n.not_ is not None:
        _junctors(n, v, name, out)
    # string
    if jt == "string":
        if n.max_length is not None and len(v) > n.max_length:
            out.append((_name_path(name), "FieldValueTooLong",
                        f"Too long: may not be more than {_plural(n.max_length, 'byte')}"))
        elif n.min_length is not None and len(v) < n.min_length:
            out.append(_invalid(name, v, f"{name} in body should be at least {n.min_length} chars long"))
        elif n.pattern and n.pattern_re is not None and n.pattern_re.search(v) is None:
            out.append(_invalid(name, v, f"{name} in body should match '{n.pattern}'"))
        if n.format_key:
            check = FORMAT_CHECKS.get(n.format_key)
            if check is not None and not check(v):
                msg = f"{name} in body must be of type {n.format}: {go_quote(v)}"
                out.append((_name_path(name), "FieldValueTypeInvalid", f"Invalid value: {go_quote(v)}: {msg}"))
    # numbers
    elif jt in ("integer", "number"):
        _numbers(n, v, jt == "integer", name, out)
    # arrays
    elif jt == "array":
        if n.items is not None:
            it = n.items
            olds = _correlate_items(n, v, old) if old is not _MISSING else None
            for i, x in enumerate(v):
                _validate(it, x, f"{name}[{i}]", olds[i] if olds is not None else _MISSING, out)
        size = len(v)
        if n.min_items is not None and size < n.min_items:
            out.append(_invalid(name, size, f"{name} in body should have at least {n.min_items} items"))
        if n.max_items is not None and size > n.max_items:
            out.append((_name_path(name), "FieldValueTooMany",
                        f"Too many: {size}: must have at most {_plural(n.max_items, 'item')}"))
        if n.unique_items and _has_duplicates(v):
            out.append(_invalid(name, "", f"{name} in body shouldn't contain duplicates"))
    # enum
    if n.enum is not None and not _enum_match(v, n.enum):
        out.append((_name_path(name), "FieldValueNotSupported",
                    f"Unsupported value: {go_value(v)}: supported values: " + ", ".join(_enum_text(e) for e in n.enum)))
    # objects
    if jt == "object":
        _object(n, v, name, old, out)
    if old is not _MISSING and len(out) > start and _deq(old, v):
        del out[start:]


def _numbers(n: Node, v: Any, is_int: bool, name: str, out: list[Err]) -> None:
    if n.multiple_of is not None:
        f = n.multiple_of
        if is_int:
            fi = int(f)
            if fi != 0 and v % fi != 0:
                out.append(_invalid(name, v, f"{name} in body should be a multiple of {fi}"))
        elif f > 0:
            mult = (1 / f * v) if f < 1 else (v / f)
            if not float(mult).is_integer():
                out.append(_invalid(name, v, f"{name} in body should be a multiple of {_go_float(float(f))}"))
    if n.minimum is not None:
        lo = int(n.minimum) if is_int else n.minimum
        if v < lo or (n.exclusive_minimum and v <= lo):
            word = "greater than" if n.exclusive_minimum else "greater than or equal to"
            out.append(_invalid(name, v, f"{name} in body should be {word} {lo if is_int else _go_float(float(lo))}"))
    if n.maximum is not None:
        hi = int(n.maximum) if is_int else n.maximum
        if v > hi or (n.exclusive_maximum and v >= hi):
            word = "less than" if n.exclusive_maximum else "less than or equal to"
            out.append(_invalid(name, v, f"{name} in body should be {word} {hi if is_int else _go_float(float(hi))}"))


def _has_duplicates(v: list[Any]) -> bool:
    seen: list[Any] = []
    for x in v:
        if any(_deq(x, y) for y in seen):
            return True
        seen.append(x)
    return False


def _object(n: Node, v: dict[str, Any], name: str, old: Any, out: list[Err]) -> None:
    size = len(v)
    if n.min_properties is not None and size < n.min_properties:
        out.append(_invalid(name, size, f"{name} in body should have at least {n.min_properties} properties"))
        return
    if n.max_properties is not None and size > n.max_properties:
        out.append((_name_path(name), "FieldValueTooMany",
                    f"Too many: {size}: must have at most {_plural(n.max_properties, 'item')}"))
        return
    props = n.properties or {}
    old_map = old if isinstance(old, dict) else None
    if n.additional is not None:
        ap = n.additional
        for k, x in v.items():
            if k not in props:
                o = old_map.get(k, _MISSING) if old_map is not None else _MISSING
                _validate(ap, x, f"{name}.{k}", o, out)
    if props:
        for k, x in v.items():
            prop = props.get(k)
            if prop is not None:
                o = old_map.get(k, _MISSING) if old_map is not None else _MISSING
                _validate(prop, x, f"{name}.{k}" if name else k, o, out)
    for k in n.required:
        if k not in v:
            out.append((_name_path(f"{name}.{k}"), "FieldValueRequired", "Required value"))


def _match_count(n: Node, v: Any) -> int:
    """kube-openapi's MatchCount, roughly: how many schema nodes a value was checked against.
    Of failing junctor branches, the errors of the one that matched most are reported."""
    count = 1 + sum(_match_count(b, v) for b in (*n.all_of, *n.any_of, *n.one_of))
    if n.not_ is not None:
        count += _match_count(n.not_, v)
    if isinstance(v, dict):
        props = n.properties or {}
        for k, x in v.items():
            sub = props.get(k) or (n.additional if k not in props else None)
            if sub is not None:
                count += _match_count(sub, x)
    elif isinstance(v, list) and n.items is not None:
        count += sum(_match_count(n.items, x) for x in v)
    return count


def _junctors(n: Node, v: Any, name: str, out: list[Err]) -> None:
    quoted = go_quote(name)
    if n.any_of:
        best: list[Err] | None = None
        best_count = -1
        for sub in n.any_of:
            res: list[Err] = []
            _validate(sub, v, name, _MISSING, res)
            if not res:
                best = None
                break
            count = _match_count(sub, v)
            if count > best_count:
                best, best_count = res, count
        else:
            out.append(_composite(f"{quoted} must validate at least one schema (anyOf)"))
            out.extend(best or ())
    if n.one_of:
        valid, best, best_count = 0, None, -1
        for sub in n.one_of:
            res = []
            _validate(sub, v, name, _MISSING, res)
            if not res:
                valid += 1
            elif valid == 0:
                count = _match_count(sub, v)
                if count > best_count:
                    best, best_count = res, count
        if valid != 1:
            extra = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(_composite(f"{quoted} must validate one and only one schema (oneOf). {extra}"))
            if valid == 0:
                out.extend(best or ())
    if n.all_of:
        valid = 0
        for sub in n.all_of:
            res = []
            _validate(sub, v, name, _MISSING, res)
            valid += not res
            out.extend(res)
        if valid != len(n.all_of):
            out.append(_composite(f"{quoted} must validate all the schemas (allOf)" + (". None validated" if not valid else "")))
    if n.not_ is not None:
        res = []
        _validate(n.not_, v, name, _MISSING, res)
        if not res:
            out.append(_composite(f"{quoted} must not validate the schema (not)"))


def _map_key(n: Node, item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    if any(k not in item for k in n.list_map_keys):
        return None
    return tuple(_json_key(item[k]) for k in n.list_map_keys)


def _correlate_items(n: Node, new: list[Any], old: Any) -> list[Any] | None:
    """Old value per new index for ratcheting: map lists by key, unspecified list types by index,
    sets and atomic lists not at all."""
    if not isinstance(old, list):
        return None
    if n.list_type == "map":
        by_key = {}
        for item in old:
            key = _map_key(n, item)
            if key is not None:
                by_key.setdefault(key, item)
        return [by_key.get(_map_key(n, x), _MISSING) if _map_key(n, x) is not None else _MISSING for x in new]
    if n.list_type in ("set", "atomic"):
        return None
    return [old[i] if i < len(old) else _MISSING for i in range(len(new))]


# ---------------------------------------------------------------------------------------------
# Embedded ObjectMeta validation and list types (field.Path-style paths)
# ---------------------------------------------------------------------------------------------

_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _validate_embedded(x: Any, s: Node | None, fpath: str, out: list[Err]) -> None:
    if s is None or not s.has_embedded:
        return
    if isinstance(x, dict):
        if s.embedded:
            _embedded_meta(x, fpath, out)
        for k, v in x.items():
            prop = (s.properties or {}).get(k)
            if prop is not None:
                _validate_embedded(v, prop, _child(fpath, k), out)
            elif s.has_additional:
                _validate_embedded(v, s.additional, f"{fpath}[{k}]", out)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _validate_embedded(v, s.items, f"{fpath}[{i}]", out)


def _embedded_meta(x: dict[str, Any], fpath: str, out: list[Err]) -> None:
    for k in ("apiVersion", "kind"):
        if k not in x:
            out.append((_fp(_child(fpath, k)), "FieldValueRequired", "Required value"))
    av = x.get("apiVersion")
    if isinstance(av, str):
        if not av:
            out.append((_fp(_child(fpath, "apiVersion")), "FieldValueRequired", "Required value"))
        elif av.count("/") > 1:
            out.append((_fp(_child(fpath, "apiVersion")), "FieldValueInvalid",
                        f"Invalid value: {go_quote(av)}: unexpected GroupVersion string: {av}"))
    kind = x.get("kind")
    if isinstance(kind, str):
        if not kind:
            out.append((_fp(_child(fpath, "kind")), "FieldValueRequired", "Required value"))
        elif len(kind) > 63 or not _DNS1035_LABEL.match(kind.lower()):
            msgs = ([f"must be no more than 63 characters"] if len(kind) > 63 else []) + (
                [_DNS1035_MSG] if not _DNS1035_LABEL.match(kind.lower()) else [])
            out.append((_fp(_child(fpath, "kind")), "FieldValueInvalid",
                        f"Invalid value: {go_quote(kind)}: may have mixed case, but should otherwise match: " + ",".join(msgs)))
    meta = x.get("metadata")
    if isinstance(meta, dict):
        name = meta.get("name")
        if isinstance(name, str) and name:
            for msg in _path_segment_errors(name):
                out.append((_fp(_child(_child(fpath, "metadata"), "name")), "FieldValueInvalid",
                            f"Invalid value: {go_quote(name)}: {msg}"))


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _listtypes(x: Any, s: Node | None, fpath: str, out: list[Err]) -> None:
    if s is None or not s.has_lists:
        return
    if isinstance(x, dict):
        props = s.properties or {}
        if s.has_additional and s.additional is not None:
            for k, v in x.items():
                _listtypes(v, s.additional, f"{fpath}[{k}]", out)
        if props:
            for k, v in x.items():
                prop = props.get(k)
                if prop is not None:
                    _listtypes(v, prop, _child(fpath, k), out)
    elif isinstance(x, list):
        if s.list_type == "set":
            for i in _non_unique(x):
                out.append((_fp(f"{fpath}[{i}]"), "FieldValueDuplicate", f"Duplicate value: {go_value(x[i])}"))
        elif s.list_type == "map":
            _list_map(x, s, fpath, out)
        if s.items is not None:
            for i, v in enumerate(x):
                _listtypes(v, s.items, f"{fpath}[{i}]", out)


def _non_unique(items: list[Any]) -> list[int]:
    seen: dict[Any, int] = {}
    dup: list[int] = []
    for i, x in enumerate(items):
        key = ("c", _json_key(x)) if isinstance(x, (dict, list)) else _scalar_key(x)
        times = seen.get(key, 0)
        seen[key] = times + 1
        if times == 1:
            dup.append(i)
    return dup


_UNSPECIFIED = ("unspecified",)


def _list_map(items: list[Any], s: Node, fpath: str, out: list[Err]) -> None:
    for i, x in enumerate(items):
        if x is not None and not isinstance(x, dict):
            out.append((_fp(f"{fpath}[{i}]"), "FieldValueInvalid",
                        f"Invalid value: {go_value(x)}: must be an object for an array of list-type map"))
            return
    if len(items) <= 1:
        return
    keys_fields = s.list_map_keys
    if len(keys_fields) == 1:
        kf = keys_fields[0]
        keys = [(_UNSPECIFIED if x is None or kf not in x else x[kf]) for x in items]
        seen: dict[Any, int] = {}
        for i, key in enumerate(keys):
            k = _UNSPECIFIED if key is _UNSPECIFIED else (
                ("c", _json_key(key)) if isinstance(key, (dict, list)) else _scalar_key(key))
            times = seen.get(k, 0)
            seen[k] = times + 1
            if times == 1:
                shown = {} if key is _UNSPECIFIED else {kf: key}
                out.append((_fp(f"{fpath}[{i}]"), "FieldValueDuplicate", f"Duplicate value: {go_value(shown)}"))
        return
    composite = [{kf: x[kf] for kf in keys_fields if x is not None and kf in x} for x in items]
    for i in _non_unique(composite):
        out.append((_fp(f"{fpath}[{i}]"), "FieldValueDuplicate", f"Duplicate value: {go_value(composite[i])}"))


# ---------------------------------------------------------------------------------------------
# CEL
# ---------------------------------------------------------------------------------------------


def _to_cel(v: Any, n: Node | None, resource_root: bool = False) -> Any:
    """The value a rule sees: escaped property names, numbers of ``type: number`` as doubles,
    date/date-time/duration/byte strings as timestamps/durations/bytes, and at a resource root
    (or embedded resource) only apiVersion, kind, metadata.name and metadata.generateName."""
    if n is None or v is None:
        return v
    if n.cel_identity and not resource_root:
        return v
    if isinstance(v, dict):
        if n.properties:
            out = {}
            for k, x in v.items():
                e = n.cel_fields.get(k)
                if e is not None:
                    out[e] = _to_cel(x, n.properties[k])
        elif n.has_additional:
            out = {k: _to_cel(x, n.additional) for k, x in v.items()}
        else:
            out = dict(v)
        if resource_root or n.embedded:
            for k in ("apiVersion", "kind"):
                if k in v:
                    out[k] = v[k]
            meta = v.get("metadata")
            if isinstance(meta, dict):
                out["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
        return out
    if isinstance(v, list):
        return [_to_cel(x, n.items) for x in v] if n.items is not None else v
    if n.type == "number" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str) and n.format_key:
        if n.format_key in ("datetime", "date"):
            if n.format_key == "date" and _DATE.match(v):
                return _parse_datetime(v + "T00:00:00Z") or v
            return _parse_datetime(v) or v
        if n.format_key == "duration":
            ns = parse_go_duration(v)
            return datetime.timedelta(microseconds=ns // 1000) if ns is not None else v
        if n.format_key == "byte":
            try:
                return base64.b64decode(v, validate=True)
            except ValueError:
                return v
    return v


class _Corr:
    """A node of CorrelatedObject: the (new, old) pair ratcheting compares; ``old`` is _MISSING
    where the value could not be correlated."""

    __slots__ = ("new", "old", "_eq")

    def __init__(self, new: Any, old: Any) -> None:
        self.new, self.old, self._eq = new, old, None

    def equal(self) -> bool:
        if self._eq is None:
            self._eq = self.old is not _MISSING and _deq(self.old, self.new)
        return self._eq


def _cel_field_path(n: Node, fp: str) -> str:
    """Normalize a rule's fieldPath (``.spec.x``, ``['a.b']``) against the node's schema."""
    out, s = "", n
    for tok in re.findall(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]", fp):
        name = tok[0] or tok[1].replace("\\'", "'").replace("\\\\", "\\")
        if s is not None and s.properties is not None and name in s.properties:
            out, s = _child(out, name), s.properties[name]
        elif s is not None and s.has_additional:
            out, s = f"{out}[{name}]", s.additional
        else:
            out, s = _child(out, name), None
    return out or fp.lstrip(".")


class _CelRun:
    def __init__(self, backend: str, ratchet: bool) -> None:
        self.backend = backend
        self.errors: list[Err] = []
        self.warnings: list[str] = []
        self.ratchet = ratchet

    def node(self, n: Node, v: Any, old: Any, fpath: str, corr: _Corr | None, parent: _Corr | None,
             resource_root: bool) -> None:
        if v is None or not n.has_rules:
            return
        if n.rules:
            self._rules(n, v, old, fpath, corr, parent, resource_root)
        if isinstance(v, dict):
            props = n.properties or {}
            old_map = old if isinstance(old, dict) else None
            if n.additional is not None and n.additional.has_rules:
                for k, x in v.items():
                    if k in props:
                        continue
                    o = old_map.get(k, _MISSING) if old_map is not None else _MISSING
                    self.node(n.additional, x, o, f"{fpath}[{k}]", *self._key(corr, parent, k, resource_root),
                              n.additional.embedded)
            if props:
                for k, x in v.items():
                    prop = props.get(k)
                    if prop is None or not prop.has_rules:
                        continue
                    o = old_map.get(k, _MISSING) if old_map is not None else _MISSING
                    self.node(prop, x, o, _child(fpath, k), *self._key(corr, parent, k, resource_root), prop.embedded)
        elif isinstance(v, list) and n.items is not None and n.items.has_rules:
            it = n.items
            olds = _correlate_items(n, v, old) if n.list_type == "map" else None
            for i, x in enumerate(v):
                o = olds[i] if olds is not None else _MISSING
                if corr is not None and n.list_type == "map" and o is not _MISSING:
                    child, par = _Corr(x, o), corr
                else:
                    child, par = None, corr if corr is not None else parent
                self.node(it, x, o, f"{fpath}[{i}]", child, par, it.embedded)

    @staticmethod
    def _key(corr: _Corr | None, parent: _Corr | None, k: str, root: bool) -> tuple[_Corr | None, _Corr | None]:
        if corr is None:
            return None, parent
        if root and k in ("apiVersion", "kind"):
            return None, None
        old = corr.old.get(k, _MISSING) if isinstance(corr.old, dict) else _MISSING
        if old is _MISSING:
            return None, corr
        return _Corr(corr.new[k], old), corr

    def _should_ratchet(self, corr: _Corr | None, parent: _Corr | None) -> bool:
        if not self.ratchet:
            return False
        if corr is not None:
            return corr.equal()
        return parent is not None and parent.equal()

    def _rules(self, n: Node, v: Any, old: Any, fpath: str, corr: _Corr | None, parent: _Corr | None,
               resource_root: bool) -> None:
        act = celeval.activation(self.backend)
        act.set("self", _to_cel(v, n, resource_root))
        has_old = old is not _MISSING and old is not None
        old_val: Any = _to_cel(old, n, resource_root) if has_old and any(r.program.uses_old_self for r in n.rules) else None
        old_state = ""  # which oldSelf is bound: "plain", "some", "none"
        type_name = n.type
        for rule in n.rules:
            prog = rule.program
            if prog.uses_old_self:
                if not has_old and not rule.optional_old_self:
                    continue  # transition rules need an old value at this path
                want = "none" if not has_old else "some" if rule.optional_old_self else "plain"
                if want != old_state:
                    act.set("oldSelf", old_val if want == "plain" else prog.optional(old_val, want == "some"))
                    old_state = want
            try:
                result = act.evaluate(prog)
            except celeval.CelError as e:
                if e.compile:
                    detail = f"rule compile error: compilation failed: {e}"
                elif e.overload:
                    detail = (f"'{e}': call arguments did not match a supported operator, function or macro "
                              f"signature for rule: {rule.error_string}")
                else:
                    detail = f"{e} evaluating rule: {rule.error_string}"
                self.errors.append((_fp(fpath), "FieldValueInvalid", f"Invalid value: {go_quote(type_name)}: {detail}"))
                continue
            if result is True:
                continue
            path = fpath
            if rule.field_path:
                path = _child(fpath, _cel_field_path(n, rule.field_path))
            detail = rule.default_message
            mp = rule.message_program
            # messageExpression sees oldSelf as a plain value, and no oldSelf when there is none.
            if mp is not None and (has_old or not mp.uses_old_self):
                if mp.uses_old_self and old_state != "plain":
                    act.set("oldSelf", old_val)
                    old_state = "plain"
                try:
                    text = act.evaluate(mp)
                    if isinstance(text, str) and text.strip() and "\n" not in text.strip():
                        detail = text.strip()
                except celeval.CelError:
                    pass
            err = _reason_error(_fp(path), type_name, detail, rule.reason)
            if not prog.uses_old_self and self._should_ratchet(corr, parent):
                self.warnings.append(f"{err[0]}: {err[2]}")
            else:
                self.errors.append(err)


def _reason_error(path: str, type_name: str, detail: str, reason: str | None) -> Err:
    if reason == "FieldValueForbidden":
        return (path, "FieldValueForbidden", f"Forbidden: {detail}")
    if reason == "FieldValueRequired":
        return (path, "FieldValueRequired", f"Required value: {detail}")
    if reason == "FieldValueDuplicate":
        return (path, "FieldValueDuplicate", f"Duplicate value: {go_quote(type_name)}")
    return (path, "FieldValueInvalid", f"Invalid value: {go_quote(type_name)}: {detail}")


# ---------------------------------------------------------------------------------------------
# admit
# ---------------------------------------------------------------------------------------------


def admit(compiled: Compiled, obj: dict[str, Any], old: dict[str, Any] | None, *, strict: bool,
          subresource: str | None = None, status_subresource: bool = False) -> Admission:
    """Prune, default and validate ``obj`` (``old``: the stored object on update, else None).

    ``strict``: fieldValidation=Strict - unknown fields make the request fail before validation
    (``unknown`` is filled, ``errors`` and ``warnings`` stay empty). Otherwise each unknown field
    is a warning. ``status_subresource``: the kind has /status, so a main-resource write does not
    validate the incoming status (create drops it, update keeps the old one) and
    ``subresource="status"`` validates only the status change. The input is not modified.
    """
    new = _copy(obj)
    root = compiled.root
    unknown: list[str] = []
    try:
        for k in ("kind", "apiVersion"):
            if k in new and not isinstance(new[k], str):
                raise _DecodeError(f".{k} accessor error: {_go_plain(new[k])} is of the type {_go_type(new[k])}, "
                                   "expected string")
        if "metadata" in new:
            _coerce_meta(new["metadata"], "metadata", unknown)
        if root is not None:
            tree_unknown: list[str] = []
            _prune(new, root, "", tree_unknown, embedded_root=True)
            unknown.extend(sorted(tree_unknown))
            _prune_nulls(new, root)
            embedded_unknown: list[str] = []
            _coerce_embedded(new, root, "", embedded_unknown)
            unknown.extend(sorted(embedded_unknown))
            _default(new, root)
    except _DecodeError as e:
        return Admission(obj=new, unknown=unknown, bad_request=str(e))
    if strict and unknown:
        return Admission(obj=new, unknown=unknown)
    adm = Admission(obj=new, warnings=[f'unknown field "{p}"' for p in unknown], unknown=unknown)
    if root is None:
        return adm

    view, old_view = new, old
    if status_subresource:
        if subresource == "status":
            if old is not None:
                view = {k: v for k, v in old.items() if k != "status"}
                if "status" in new:
                    view["status"] = new["status"]
        else:
            view = {k: v for k, v in new.items() if k != "status"}
            if old is not None and "status" in old:
                view["status"] = old["status"]

    errors: list[Err] = []
    _validate(root, view, "", old_view if old_view is not None else _MISSING, errors)
    _validate_embedded(view, root, "", errors)
    if old_view is None:
        _listtypes(view, root, "", errors)
    else:
        old_list_errors: list[Err] = []
        _listtypes(old_view, root, "", old_list_errors)
        if not old_list_errors:
            _listtypes(view, root, "", errors)
    if root.has_rules:
        if any(e[1] in _BLOCKING for e in errors):
            errors.append(("<nil>", "FieldValueInvalid",
                           'Invalid value: "null": some validation rules were not checked because the object was '
                           "invalid; correct the existing errors to complete validation"))
        else:
            run = _CelRun(compiled.backend, ratchet=old_view is not None)
            corr = _Corr(view, old_view) if old_view is not None else None
            run.node(root, view, old_view if old_view is not None else _MISSING, "", corr, None, True)
            errors.extend(run.errors)
            adm.warnings.extend(run.warnings)
    adm.errors = errors
    return adm


def defaulted(compiled: Compiled, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as a real server returns it on a read: it applies the storage version's defaults
    (and null pruning) when decoding from etcd, so a default added to a CRD shows up on stored
    objects, and a Gateway created without status reads back with the defaulted status. A copy."""
    new = _copy(obj)
    if compiled.root is not None:
        _prune_nulls(new, compiled.root)
        _default(new, compiled.root)
    return new
