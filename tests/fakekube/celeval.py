"""CEL for ``x-kubernetes-validations``: compile once, evaluate many times, with the functions
Kubernetes adds to CEL.

Two interchangeable backends sit behind one interface (``bench/cel_rules.py`` measures both):

- ``rust``: the PyPI package ``common-expression-language`` (import name ``cel``, Rust
  ``cel-rust`` core). The default: every upstream Gateway API / inference-extension rule
  compiles and evaluates, at tens of microseconds per rule.
- ``python``: ``cel-python`` (import name ``celpy``), pure Python; correct on the same rules but
  two to three orders of magnitude slower. Optional, for comparison only.

What real servers do that this does not (documented approximations):

- No type checking at compile time. Kubernetes rejects a CRD whose rule does not type-check
  against the schema, and estimates each rule's cost; here a rule is only parsed, so a mistyped
  rule fails at evaluation (as a ``no such overload`` / ``no such key`` evaluation error).
- No cost budget: rules never fail with "call cost exceeds limit".
- ``self == oldSelf`` on ``x-kubernetes-list-type: set``/``map`` lists compares in order
  (Kubernetes compares them as sets / by key).
- The optional-field syntax ``self.?field`` is not parsed by the Rust backend; optional values
  (``oldSelf`` of an ``optionalOldSelf`` rule: ``hasValue()``, ``value()``, ``orValue()``) work.
- Regular expressions are Rust ``regex`` (rust backend) or RE2 (python backend) - the same
  syntax family as Go's RE2 that Kubernetes uses.

Kubernetes library functions provided (Python implementations, see ``FUNCTIONS``): the cel-go
string extension (``charAt``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``, ``upperAscii``,
``replace``, ``split``, ``substring``, ``trim``, ``join``, ``reverse``, ``format``,
``strings.quote``), lists (``isSorted``, ``sum``, ``min``, ``max``, ``indexOf``,
``lastIndexOf``, ``sort``, ``distinct``, ``flatten``, ``slice``, ``lists.range``), sets
(``sets.contains``, ``sets.equivalent``, ``sets.intersects``), regex (``find``, ``findAll``),
URLs (``isURL``, ``url``, ``getScheme``, ``getHost``, ``getHostname``, ``getPort``,
``getEscapedPath``, ``getQuery``), IPs and CIDRs (``isIP``, ``ip``, ``family``, ``isCanonical``,
``isUnspecified``, ``isLoopback``, ``isLinkLocalMulticast``, ``isLinkLocalUnicast``,
``isGlobalUnicast``, ``isCIDR``, ``cidr``, ``containsIP``, ``containsCIDR``, ``prefixLength``,
``masked``), quantities (``isQuantity``, ``quantity``, ``sign``, ``isInteger``, ``asInteger``,
``asApproximateFloat``, ``add``, ``sub``, ``isGreaterThan``, ``isLessThan``, ``compareTo``),
``base64.encode``/``base64.decode`` and ``math.greatest``/``math.least``/``math.abs``.
IP, CIDR, URL and quantity values are carried as one-key maps (``{"\\x00ip": "10.0.0.1"}``), so
they compare by value with ``==`` and never leak into a message.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import threading
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class CelError(Exception):
    """A rule that does not compile (``compile=True``) or failed while evaluating.

    ``str()`` is phrased like cel-go's errors (``no such key: value``), which is what the real
    server puts before ``evaluating rule: ...``.
    """

    def __init__(self, message: str, *, compile: bool = False, overload: bool = False) -> None:
        super().__init__(message)
        self.compile = compile
        self.overload = overload


class _FnError(Exception):
    """Raised by a library function; its text is the cel-go-like message."""


# ---------------------------------------------------------------------------------------------
# Property-name escaping (apiserver/pkg/cel: names that are CEL keywords or hold characters CEL
# identifiers cannot are rewritten; unescapable names are not visible to rules at all).
# ---------------------------------------------------------------------------------------------

RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")


def escape(name: str) -> str | None:
    """The CEL field name for a schema property, or None if rules cannot see it."""
    if name in RESERVED:
        return f"__{name}__"
    if not _ESCAPABLE.match(name):
        return None
    if "__" not in name and "." not in name and "-" not in name and "/" not in name:
        return name
    out = name.replace("__", "__underscores__")
    return out.replace(".", "__dot__").replace("-", "__dash__").replace("/", "__slash__")


# ---------------------------------------------------------------------------------------------
# Kubernetes CEL library, on plain Python values
# ---------------------------------------------------------------------------------------------

IP_KEY, CIDR_KEY, URL_KEY, QTY_KEY = "\x00ip", "\x00cidr", "\x00url", "\x00quantity"


def _tagged(value: Any, key: str, what: str) -> str:
    if isinstance(value, dict) and len(value) == 1 and key in value:
        return value[key]
    raise _FnError(f"no such overload: {what}")


def _parse_ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Kubernetes' ip() refuses zones and IPv4-mapped IPv6 addresses; leading zeros are refused
    # by Python too.
    if not isinstance(s, str) or "%" in s:
        return None
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return None
    return addr


def _parse_cidr(s: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    if not isinstance(s, str) or "/" not in s or "%" in s:
        return None
    try:
        iface = ipaddress.ip_interface(s)
    except ValueError:
        return None
    if isinstance(iface, ipaddress.IPv6Interface) and iface.ip.ipv4_mapped is not None:
        return None
    return iface


def _is_ip(s: Any) -> bool:
    return _parse_ip(s) is not None


def _ip(s: Any) -> dict[str, str]:
    if isinstance(s, dict) and CIDR_KEY in s:  # cidr.ip()
        return {IP_KEY: str(ipaddress.ip_interface(s[CIDR_KEY]).ip)}
    addr = _parse_ip(s)
    if addr is None:
        raise _FnError(f"IP Address {s!r} parse error during conversion from string")
    return {IP_KEY: s}


def _ip_obj(v: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(_tagged(v, IP_KEY, "ip"))


def _is_cidr(s: Any) -> bool:
    return _parse_cidr(s) is not None


def _cidr(s: Any) -> dict[str, str]:
    if _parse_cidr(s) is None:
        raise _FnError(f"network address parse error during conversion from string: {s!r}")
    return {CIDR_KEY: s}


def _cidr_obj(v: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(_tagged(v, CIDR_KEY, "cidr"))


def _contains_ip(c: Any, ip: Any) -> bool:
    net = _cidr_obj(c).network
    addr = _ip_obj(ip) if isinstance(ip, dict) else _parse_ip(ip)
    if addr is None:
        raise _FnError("IP Address parse error")
    return addr.version == net.version and addr in net


def _contains_cidr(c: Any, other: Any) -> bool:
    net = _cidr_obj(c).network
    sub = (_cidr_obj(other) if isinstance(other, dict) else ipaddress.ip_interface(other)).network
    return sub.version == net.version and sub.subnet_of(net)  # type: ignore[arg-type]


def _masked(c: Any) -> dict[str, str]:
    return {CIDR_KEY: str(_cidr_obj(c).network)}


def _family(v: Any) -> int:
    if isinstance(v, dict) and CIDR_KEY in v:
        return _cidr_obj(v).version
    return _ip_obj(v).version


def _is_canonical(s: Any) -> bool:
    if isinstance(s, dict):
        s = _tagged(s, IP_KEY, "ip")
    addr = _parse_ip(s)
    return addr is not None and str(addr) == s


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _parse_url(s: Any) -> urllib.parse.SplitResult | None:
    # Go's url.ParseRequestURI: an absolute URL or an absolute path; no fragment.
    if not isinstance(s, str) or not s or "#" in s or " " in s:
        return None
    if not (s.startswith("/") or _URL_SCHEME.match(s)):
        return None
    try:
        parts = urllib.parse.urlsplit(s)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    return parts


def _is_url(s: Any) -> bool:
    return _parse_url(s) is not None


def _url(s: Any) -> dict[str, str]:
    if _parse_url(s) is None:
        raise _FnError(f"URL parse error during conversion from string: {s!r}")
    return {URL_KEY: s}


def _url_parts(v: Any) -> urllib.parse.SplitResult:
    parts = _parse_url(_tagged(v, URL_KEY, "url"))
    assert parts is not None
    return parts


def _get_host(v: Any) -> str:
    return _url_parts(v).netloc.rpartition("@")[2]


def _get_hostname(v: Any) -> str:
    return _url_parts(v).hostname or ""


def _get_port(v: Any) -> str:
    host = _get_host(v)
    if host.startswith("["):
        _, _, rest = host.partition("]")
        return rest[1:] if rest.startswith(":") else ""
    return host.rpartition(":")[2] if ":" in host else ""


def _get_query(v: Any) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(_url_parts(v).query, keep_blank_values=True)


# Quantities (k8s.io/apimachinery resource.Quantity), as exact decimals.
_QTY = re.compile(r"^([+-]?[0-9.]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$")
_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}


def _parse_quantity(s: Any) -> Decimal | None:
    if not isinstance(s, str):
        return None
    m = _QTY.match(s)
    if not m or m.group(1) in ("", ".", "+", "-") or m.group(1).count(".") > 1:
        return None
    try:
        num = Decimal(m.group(1))
    except InvalidOperation:
        return None
    suffix = m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return num * (Decimal(10) ** int(suffix[1:]))
    return num * _SUFFIX[suffix]


def _is_quantity(s: Any) -> bool:
    return _parse_quantity(s) is not None


def _quantity(s: Any) -> dict[str, str]:
    if _parse_quantity(s) is None:
        raise _FnError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return {QTY_KEY: s}


def _qty(v: Any) -> Decimal:
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    q = _parse_quantity(_tagged(v, QTY_KEY, "quantity"))
    assert q is not None
    return q


def _qty_value(d: Decimal) -> dict[str, str]:
    return {QTY_KEY: format(d.normalize(), "f")}


def _compare(a: Any, b: Any) -> int:
    x, y = _qty(a), _qty(b)
    return (x > y) - (x < y)


def _as_integer(v: Any) -> int:
    q = _qty(v)
    if q != q.to_integral_value() or not -(2**63) <= q < 2**63:
        raise _FnError("cannot convert value to integer")
    return int(q)


# Strings.


def _substring(s: str, start: int, end: int | None = None) -> str:
    end = len(s) if end is None else end
    if start < 0 or end > len(s) or start > end:
        raise _FnError(f"index out of range: {start if start < 0 or start > len(s) else end}")
    return s[start:end]


def _char_at(s: str, i: int) -> str:
    if i < 0 or i > len(s):
        raise _FnError(f"index out of range: {i}")
    return s[i:i + 1]


def _index_of(x: Any, sub: Any, offset: int = 0) -> int:
    if isinstance(x, list):
        for i, item in enumerate(x):
            if _equal(item, sub):
                return i
        return -1
    if offset < 0 or offset > len(x):
        raise _FnError(f"index out of range: {offset}")
    return x.find(sub, offset)


def _last_index_of(x: Any, sub: Any, offset: int | None = None) -> int:
    if isinstance(x, list):
        for i in range(len(x) - 1, -1, -1):
            if _equal(x[i], sub):
                return i
        return -1
    if offset is None:
        return x.rfind(sub)
    if offset < 0 or offset > len(x):
        raise _FnError(f"index out of range: {offset}")
    return x.rfind(sub, 0, offset + len(sub))


def _replace(s: str, old: str, new: str, n: int = -1) -> str:
    return s.replace(old, new, n if n >= 0 else -1)


def _split(s: str, sep: str, n: int = -1) -> list[str]:
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        return chars if n < 0 or n >= len(chars) else chars[:n - 1] + ["".join(chars[n - 1:])]
    return s.split(sep, n - 1) if n > 0 else s.split(sep)


def _join(items: list[Any], sep: str = "") -> str:
    if not all(isinstance(i, str) for i in items):
        raise _FnError("no such overload: join")
    return sep.join(items)


def _lower_ascii(s: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in s)


def _upper_ascii(s: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s)


def _trim(s: str) -> str:
    return s.strip()


def _reverse(x: Any) -> Any:
    return x[::-1]


def _quote(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{out}"'


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return repr(v) if v != int(v) else str(int(v))
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_fmt_value(k)}: {_fmt_value(x)}" for k, x in v.items()) + "}"
    return str(v)


_VERB = re.compile(r"%(\.\d+)?([sdfeXxbo%])")


def _format(fmt: str, args: list[Any]) -> str:
    """cel-go's string.format: %s %d %f %e %x %X %o %b and %%."""
    it = iter(args)

    def one(m: re.Match[str]) -> str:
        verb = m.group(2)
        if verb == "%":
            return "%"
        try:
            v = next(it)
        except StopIteration:
            raise _FnError("index out of range: too few arguments for format") from None
        prec = int(m.group(1)[1:]) if m.group(1) else None
        if verb == "s":
            return v if isinstance(v, str) else _fmt_value(v)
        if verb == "d":
            return str(int(v))
        if verb == "f":
            return f"{float(v):.{6 if prec is None else prec}f}"
        if verb == "e":
            return f"{float(v):.{6 if prec is None else prec}e}"
        if verb in ("x", "X"):
            out = v.encode().hex() if isinstance(v, str) else format(int(v), "x")
            return out.upper() if verb == "X" else out
        if verb == "o":
            return format(int(v), "o")
        return format(int(v), "b")

    return _VERB.sub(one, fmt)


# Lists and sets.


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _sortable(items: list[Any]) -> list[Any]:
    if any(isinstance(i, (dict, list, bool)) for i in items) or len({type(i) for i in items}) > 1:
        if not all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
            raise _FnError("no such overload: list elements must be of one comparable type")
    return items


def _is_sorted(items: list[Any]) -> bool:
    _sortable(items)
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def _sum(items: list[Any]) -> Any:
    if not items:
        return 0
    total = items[0]
    for i in items[1:]:
        total = total + i
    return total


def _min(*args: Any) -> Any:
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not items:
        raise _FnError("min called on empty list")
    return min(_sortable(items))


def _max(*args: Any) -> Any:
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not items:
        raise _FnError("max called on empty list")
    return max(_sortable(items))


def _sort(items: list[Any]) -> list[Any]:
    return sorted(_sortable(items))


def _distinct(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if not any(_equal(i, o) for o in out):
            out.append(i)
    return out


def _flatten(items: list[Any], depth: int = 1) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if isinstance(i, list) and depth > 0:
            out.extend(_flatten(i, depth - 1))
        else:
            out.append(i)
    return out


def _slice(items: list[Any], start: int, end: int) -> list[Any]:
    if start < 0 or end > len(items) or start > end:
        raise _FnError(f"cannot slice({start}, {end}), invalid range")
    return items[start:end]


def _sets_contains(a: list[Any], b: list[Any]) -> bool:
    return all(any(_equal(x, y) for y in a) for x in b)


def _sets_equivalent(a: list[Any], b: list[Any]) -> bool:
    return _sets_contains(a, b) and _sets_contains(b, a)


def _sets_intersects(a: list[Any], b: list[Any]) -> bool:
    return any(any(_equal(x, y) for y in a) for x in b)


# Regex extension.


def _find(s: str, pattern: str) -> str:
    m = re.search(pattern, s)
    return m.group(0) if m else ""


def _find_all(s: str, pattern: str, n: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, s)]
    return found if n < 0 else found[:n]


def _b64encode(b: Any) -> str:
    return base64.b64encode(b if isinstance(b, bytes) else str(b).encode()).decode()


def _b64decode(s: str) -> bytes:
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except ValueError:
        raise _FnError("illegal base64 data") from None


def _greatest(*args: Any) -> Any:
    return _max(*args)


def _least(*args: Any) -> Any:
    return _min(*args)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # strings (cel-go ext.Strings)
    "charAt": _char_at, "indexOf": _index_of, "lastIndexOf": _last_index_of, "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii, "replace": _replace, "split": _split, "substring": _substring, "trim": _trim,
    "join": _join, "reverse": _reverse, "format": _format, "strings.quote": _quote,
    # lists (Kubernetes library + cel-go ext.Lists)
    "isSorted": _is_sorted, "sum": _sum, "min": _min, "max": _max, "sort": _sort, "distinct": _distinct,
    "flatten": _flatten, "slice": _slice, "lists.range": lambda n: list(range(n)),
    # sets
    "sets.contains": _sets_contains, "sets.equivalent": _sets_equivalent, "sets.intersects": _sets_intersects,
    # regex
    "find": _find, "findAll": _find_all,
    # URLs
    "isURL": _is_url, "url": _url, "getScheme": lambda u: _url_parts(u).scheme, "getHost": _get_host,
    "getHostname": _get_hostname, "getPort": _get_port, "getEscapedPath": lambda u: _url_parts(u).path,
    "getQuery": _get_query,
    # IP / CIDR
    "isIP": _is_ip, "ip": _ip, "family": _family, "isCanonical": _is_canonical, "ip.isCanonical": _is_canonical,
    "isUnspecified": lambda v: _ip_obj(v).is_unspecified, "isLoopback": lambda v: _ip_obj(v).is_loopback,
    "isLinkLocalMulticast": lambda v: _ip_obj(v) in (ipaddress.ip_network("224.0.0.0/24") if _ip_obj(v).version == 4
                                                     else ipaddress.ip_network("ff02::/16")),
    "isLinkLocalUnicast": lambda v: _ip_obj(v).is_link_local,
    "isGlobalUnicast": lambda v: not (_ip_obj(v).is_multicast or _ip_obj(v).is_loopback or _ip_obj(v).is_link_local
                                      or _ip_obj(v).is_unspecified or str(_ip_obj(v)) == "255.255.255.255"),
    "isCIDR": _is_cidr, "cidr": _cidr, "containsIP": _contains_ip, "containsCIDR": _contains_cidr,
    "prefixLength": lambda c: _cidr_obj(c).network.prefixlen, "masked": _masked,
    # quantities
    "isQuantity": _is_quantity, "quantity": _quantity, "sign": lambda q: (_qty(q) > 0) - (_qty(q) < 0),
    "isInteger": lambda q: _qty(q) == _qty(q).to_integral_value(), "asInteger": _as_integer,
    "asApproximateFloat": lambda q: float(_qty(q)), "add": lambda a, b: _qty_value(_qty(a) + _qty(b)),
    "sub": lambda a, b: _qty_value(_qty(a) - _qty(b)), "isGreaterThan": lambda a, b: _compare(a, b) > 0,
    "isLessThan": lambda a, b: _compare(a, b) < 0, "compareTo": _compare,
    # encoders, math
    "base64.encode": _b64encode, "base64.decode": _b64decode,
    "math.greatest": _greatest, "math.least": _least, "math.abs": lambda x: abs(x),
}


def _safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn Python errors inside a library function into cel-go-like messages."""

    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except _FnError:
            raise
        except (TypeError, AttributeError, KeyError, AssertionError) as e:
            raise _FnError(f"no such overload: {fn.__name__}") from e
        except (ValueError, IndexError) as e:
            raise _FnError(str(e)) from e

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


# ---------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------


class _RustBackend:
    """common-expression-language (``cel``): a compiled program per rule; each evaluation uses a
    per-thread Context (functions registered once) whose variables come from a resolver."""

    name = "rust"

    def __init__(self) -> None:
        import logging

        import cel as _cel

        # The extension logs every exception a Python function raises at WARNING on logger
        # "cel"; the errors are reported as validation errors instead.
        log = logging.getLogger("cel")
        log.addHandler(logging.NullHandler())
        log.propagate = False
        self._cel = _cel
        self._local = threading.local()
        self._functions = {name: _safe(fn) for name, fn in FUNCTIONS.items()}

    def _context(self) -> tuple[Any, dict[str, Any]]:
        loc = self._local
        ctx = getattr(loc, "ctx", None)
        if ctx is None:
            variables: dict[str, Any] = {}
            ctx = self._cel.Context(functions=self._functions)
            ctx.set_variable_resolver(variables.get)
            loc.ctx, loc.variables = ctx, variables
        return ctx, loc.variables

    def compile(self, source: str) -> Any:
        try:
            return self._cel.compile(source)
        except Exception as e:  # ValueError: parse error
            raise CelError(_first_line(str(e)), compile=True) from None

    def optional(self, value: Any, present: bool) -> Any:
        return self._cel.OptionalValue.of(value) if present else self._cel.OptionalValue.none()

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        ctx, slot = self._context()
        slot.clear()
        slot.update(variables)
        try:
            return self._execute(program, ctx)
        finally:
            slot.clear()

    def bind(self) -> "_RustActivation":
        return _RustActivation(self)

    def _execute(self, program: Any, ctx: Any) -> Any:
        try:
            return program.execute(ctx)
        except KeyError as e:
            raise CelError(f"no such key: {e.args[0] if e.args else ''}") from None
        except IndexError as e:
            raise CelError(str(e) or "index out of bounds") from None
        except ZeroDivisionError:
            raise CelError("division by zero") from None
        except OverflowError:
            raise CelError("integer overflow") from None
        except TypeError as e:
            raise CelError(f"no such overload: {_first_line(str(e))}", overload=True) from None
        except Exception as e:  # RuntimeError from functions, undefined names, ...
            raise CelError(_runtime_message(str(e))) from None


class _RustActivation:
    """Variables converted to CEL once (``set``) for several programs: the conversion of a large
    ``self`` costs far more than evaluating a rule. Uses the thread's Context, so one activation
    at a time per thread (validation evaluates a node's rules before descending)."""

    def __init__(self, be: _RustBackend) -> None:
        self._be = be
        self._ctx, slot = be._context()
        slot.clear()

    def set(self, name: str, value: Any) -> None:
        try:
            self._ctx.add_variable(name, value)
        except Exception as e:
            raise CelError(f"unsupported value: {_first_line(str(e))}") from None

    def evaluate(self, program: "Program") -> Any:
        if program.error is not None:
            raise program.error
        return self._be._execute(program._compiled, self._ctx)


_FN_ERR = re.compile(r"Function '([^']*)' error: (?:Python function call failed: _FnError: )?(.*?)"
                     r"(?:\. Check function arguments and their types\.)?$", re.S)


def _runtime_message(text: str) -> str:
    m = _FN_ERR.match(text)
    if m:
        inner = m.group(2).strip()
        if inner.startswith("no such overload"):
            return inner
        return inner.splitlines()[0] if inner else f"error in {m.group(1)}"
    if text.startswith("Undefined variable or function"):
        name = text.split("'")[1] if "'" in text else ""
        return f"no such attribute: {name}" if name in ("self", "oldSelf") else f"undeclared reference to '{name}'"
    return _first_line(text)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


class _PythonBackend:
    """cel-python (``celpy``): pure Python; same function library, wrapped to convert values."""

    name = "python"

    def __init__(self) -> None:
        import logging

        import celpy
        from celpy import celtypes

        logging.getLogger("celpy").setLevel(logging.CRITICAL)
        self._celpy, self._t = celpy, celtypes
        self._env = celpy.Environment()
        self._functions = {name: self._wrap(fn) for name, fn in FUNCTIONS.items()}

    def _to_py(self, v: Any) -> Any:
        t = self._t
        if isinstance(v, t.BoolType):
            return bool(v)
        if isinstance(v, (t.IntType, t.UintType)):
            return int(v)
        if isinstance(v, t.DoubleType):
            return float(v)
        if isinstance(v, t.StringType):
            return str(v)
        if isinstance(v, t.BytesType):
            return bytes(v)
        if isinstance(v, t.ListType):
            return [self._to_py(x) for x in v]
        if isinstance(v, t.MapType):
            return {self._to_py(k): self._to_py(x) for k, x in v.items()}
        return v

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        safe = _safe(fn)

        def call(*args: Any) -> Any:
            try:
                result = safe(*(self._to_py(a) for a in args))
            except _FnError as e:
                return self._celpy.CELEvalError(str(e))
            return self._celpy.json_to_cel(result) if not isinstance(result, bytes) else self._t.BytesType(result)

        return call

    def compile(self, source: str) -> Any:
        try:
            ast = self._env.compile(source)
            return self._env.program(ast, functions=self._functions)
        except Exception as e:
            raise CelError(_first_line(str(e)), compile=True) from None

    def optional(self, value: Any, present: bool) -> Any:
        raise CelError("optionalOldSelf is not supported by the python backend")

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        act = {k: self._celpy.json_to_cel(v) for k, v in variables.items()}
        try:
            result = program.evaluate(act)
        except Exception as e:
            raise CelError(self._message(e)) from None
        if isinstance(result, self._celpy.CELEvalError):
            raise CelError(self._message(result))
        return self._to_py(result)

    def bind(self) -> "_PythonActivation":
        return _PythonActivation(self)

    @staticmethod
    def _message(e: Exception) -> str:
        args = getattr(e, "args", ())
        text = str(args[0]) if args else str(e)
        if "no such member" in text or "no such key" in text:
            return "no such key: " + text.split("'")[1] if "'" in text else text
        if "no matching overload" in text:
            return "no such overload"
        return _first_line(text)


class _PythonActivation:
    def __init__(self, be: _PythonBackend) -> None:
        self._be = be
        self._vars: dict[str, Any] = {}

    def set(self, name: str, value: Any) -> None:
        self._vars[name] = value

    def evaluate(self, program: "Program") -> Any:
        return program.evaluate(self._vars)


_BACKENDS: dict[str, Any] = {}
_LOCK = threading.Lock()


def backend(name: str = "rust") -> Any:
    """The backend called ``name`` ("rust" or "python"), created once."""
    with _LOCK:
        b = _BACKENDS.get(name)
        if b is None:
            b = _BACKENDS[name] = _RustBackend() if name == "rust" else _PythonBackend()
        return b


# ---------------------------------------------------------------------------------------------
# Programs, cached per (backend, source): CRDs are registered again and again in tests.
# ---------------------------------------------------------------------------------------------

_OLD_SELF = re.compile(r"\boldSelf\b")
_PROGRAMS: dict[tuple[str, str], "Program"] = {}


class Program:
    """One compiled expression. ``error`` holds the compile error (programs that do not compile
    are cached too, and reported at validation time as the real server would never have let the
    CRD in)."""

    __slots__ = ("source", "uses_old_self", "error", "_compiled", "_backend")

    def __init__(self, source: str, be: Any) -> None:
        self.source = source
        self.uses_old_self = bool(_OLD_SELF.search(source))
        self._backend = be
        self.error: CelError | None = None
        self._compiled: Any = None
        try:
            self._compiled = be.compile(source)
        except CelError as e:
            self.error = e

    def evaluate(self, variables: dict[str, Any]) -> Any:
        if self.error is not None:
            raise self.error
        return self._backend.run(self._compiled, variables)

    def optional(self, value: Any, present: bool) -> Any:
        return self._backend.optional(value, present)


def activation(backend_name: str = "rust") -> Any:
    """A fresh activation: ``set(name, value)`` then ``evaluate(program)`` any number of times."""
    return backend(backend_name).bind()


def compile_program(source: str, backend_name: str = "rust") -> Program:
    key = (backend_name, source)
    prog = _PROGRAMS.get(key)
    if prog is None:
        prog = _PROGRAMS[key] = Program(source, backend(backend_name))
    return prog
