"""Value checks Istio's validation applies to many fields: hosts, ports, IPs, labels, headers, regexes.

Each returns an error text, or None when the value is fine. Patterns are compiled once, here.
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from meshctl.analysis.schema.core import Validation, as_dict, as_list, as_str

_LABEL = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
DNS1123_LABEL = re.compile(f"^{_LABEL}$")
WILDCARD_LABEL = re.compile(rf"^(?:\*|(?:\*|\*-)?{_LABEL})$")
_QUALIFIED_NAME = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_KEY = re.compile(rf"^((?:{_LABEL}(?:\.{_LABEL})*)/)?({_QUALIFIED_NAME})$")
LABEL_VALUE = re.compile(rf"^(?:{_QUALIFIED_NAME})?$")
# RFC 7230 token characters: what Istio accepts as an HTTP header name
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$")
STRICT_HEADER_NAME = re.compile(r"^[-A-Za-z0-9]+$")
HEADER_VALUE_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
PSEUDO_HEADERS = frozenset({":method", ":scheme", ":authority", ":path", ":status"})
JWT_CLAIM_PREFIX = "@request.auth.claims"
OUTBOUND_SNI = re.compile(r"outbound_.([0-8].*).*")
UNIX_PREFIX = "unix://"
DNS1123_LABEL_MAX = 63


def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX and DNS1123_LABEL.match(value) is not None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def check_ip(value: str) -> str | None:
    return None if is_ip(value) else f"{value} is not an IP address"


def check_ip_or_cidr(value: str) -> str | None:
    """Istio's ValidateIPSubnet: an address, or a CIDR block when the value has one '/'."""
    if value.count("/") == 1:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value} is not a CIDR block such as 10.0.0.0/16"
        return None
    return check_ip(value)


def check_port(number: Any) -> str | None:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        return f"port {number} is out of range: use 1-65535"
    return None


def _bad_label(domain: str, label: str) -> str:
    return f"host name {domain!r} is not valid: {label!r} is not a DNS label"


def _check_dns_labels(domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"host name {domain!r} is not valid: its last label {parts[-1]!r} is all digits"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":  # a trailing dot, as in "istio.io."
            return None
        if not is_dns1123_label(label):
            return _bad_label(domain, label)
    return None


def _check_domain_length(domain: str) -> str | None:
    if len(domain) > 255:
        return f"host name {domain!r} is longer than 255 characters"
    if not domain:
        return "host name must not be empty"
    return None


def check_fqdn(domain: str) -> str | None:
    return _check_domain_length(domain) or _check_dns_labels(domain)


def check_wildcard_domain(domain: str) -> str | None:
    """A host name that may start with a wildcard label: ``*``, ``*.example.com``, ``reviews``."""
    problem = _check_domain_length(domain)
    if problem:
        return problem
    first, dot, rest = domain.partition(".")
    if len(first) > DNS1123_LABEL_MAX or not WILDCARD_LABEL.match(first):
        return _bad_label(domain, first)
    return _check_dns_labels(rest) if dot else None


def check_wildcard_domain_for_gateway_route(domain: str, sni: bool) -> str | None:
    """Hosts of a VirtualService bound to gateways: also allows the ``outbound_.<port>_...`` SNI form."""
    first = domain.partition(".")[0]
    if sni and first == "outbound_" and _check_domain_length(domain) is None:
        return None if OUTBOUND_SNI.match(domain) else _bad_label(domain, first)
    return check_wildcard_domain(domain)


def check_partial_wildcard(host: str) -> str | None:
    if "*" in host and len(host) != 1 and not host.startswith("*."):
        return f"{host!r} has a partial wildcard: use '*' alone or as a leading '*.' label"
    return None


def _check_host_part(host: str, gateway: bool) -> list[str]:
    problems = []
    if host != "*" and "." not in host:
        problems.append("use a fully qualified host name, not a short name")
    problem = check_wildcard_domain(host)
    if problem and not (gateway and is_ip(host)):
        problems.append(problem)
    partial = check_partial_wildcard(host)
    if partial:
        problems.append(partial)
    return problems


def check_namespace_host(entry: str, gateway: bool) -> list[str]:
    """A ``namespace/dnsName`` entry of a Sidecar egress listener or (``gateway``) a Gateway server."""
    ns, slash, host = entry.partition("/")
    if not slash:
        if gateway:  # old-style host without a namespace
            return _check_host_part(entry, True)
        return ["write the host as <namespace>/<dnsName>"]
    problems = []
    if not ns or not host:
        problems.append("both parts of <namespace>/<dnsName> must be set")
    allowed = ("*", ".") if gateway else ("*", ".", "~")
    if ns not in allowed and not is_dns1123_label(ns):
        problems.append(f"{ns!r} cannot be the namespace of a {'gateway' if gateway else 'sidecar'} host")
    return problems + _check_host_part(host, gateway)


def check_unix_address(path: str) -> str | None:
    if not path:
        return "unix socket path must not be empty"
    if path.startswith("@"):
        return None
    if not path.startswith("/") or path.endswith("/"):
        return f"unix socket path {path} must be an absolute file path"
    return None


def check_labels(labels: Any, path: str, v: Validation) -> None:
    """Kubernetes-style label keys and values (Istio's labels.Instance.Validate)."""
    for key, value in as_dict(labels).items():
        key = str(key)
        match = LABEL_KEY.match(key)
        if match is None:
            v.error(f"{path}.{key}", f"{key!r} is not a valid label key")
        elif match.group(1) and len(match.group(1)) - 1 > 253:
            v.error(f"{path}.{key}", f"label key {key!r} has a prefix longer than 253 characters")
        elif len(match.group(2)) > DNS1123_LABEL_MAX:
            v.error(f"{path}.{key}", f"label key {key!r} has a name longer than 63 characters")
        if isinstance(value, str) and not LABEL_VALUE.match(value):
            v.error(f"{path}.{key}", f"{value!r} is not a valid label value")


def check_port_name(name: str) -> str | None:
    return None if is_dns1123_label(name) else f"port name {name} is not a DNS label"


# -- protocols (Istio's protocol.Parse: case-insensitive names) ---------------------------------

HTTP_PROTOCOLS = frozenset({"http", "http2", "http_proxy", "grpc", "grpc-web"})
TLS_PROTOCOLS = frozenset({"https", "tls"})
TCP_PROTOCOLS = frozenset({"tcp", "https", "tls", "mongo", "redis", "mysql"})
KNOWN_PROTOCOLS = HTTP_PROTOCOLS | TLS_PROTOCOLS | TCP_PROTOCOLS | {"udp"}


def protocol_of(value: Any) -> str:
    """The lower-cased protocol name, or "" when it is unset or unknown."""
    name = as_str(value).lower()
    return name if name in KNOWN_PROTOCOLS else ""


def check_protocol(value: str) -> str | None:
    if value and value.lower() not in KNOWN_PROTOCOLS:
        return f"{value} is not a protocol Istio knows"
    return None


# -- HTTP headers ---------------------------------------------------------------------------------


EMPTY_HEADER_NAME = "header name must not be empty"


def _check_header_name(name: str, pattern: re.Pattern[str]) -> str | None:
    if not name:
        return EMPTY_HEADER_NAME
    return None if pattern.match(name) else f"{name} is not a valid HTTP header name"


def check_header_name(name: str) -> str | None:
    return _check_header_name(name, HEADER_NAME)


def check_strict_header_name(name: str) -> str | None:
    """Letters, digits and dashes only (headers Istio writes itself, and probe headers)."""
    return _check_header_name(name, STRICT_HEADER_NAME)


def is_jwt_claim_header(name: str) -> bool:
    return name.startswith(JWT_CLAIM_PREFIX) and len(name) > len(JWT_CLAIM_PREFIX) + 1


def check_match_header_name(name: str) -> str | None:
    """A header in a route match: a header, a pseudo header, or a ``@request.auth.claims...`` JWT claim."""
    if is_jwt_claim_header(name) or name in PSEUDO_HEADERS:
        return None
    return check_header_name(name)


def is_authority_header(name: str) -> bool:
    return name.lower() in (":authority", "host")


def _check_header_edit(name: str, authority_ok: bool) -> str | None:
    """A header a route adds, sets or removes: never a pseudo header, and Host (or :authority) only when
    ``authority_ok`` (requests' set and add)."""
    if not name:
        return EMPTY_HEADER_NAME
    if authority_ok and is_authority_header(name):
        return None
    if name.lower() == "host":
        return f"header {name!r} cannot be modified here: Host may only be set or added on requests"
    if name.startswith(":"):
        return f"header {name!r} cannot be modified: names starting with ':' are reserved pseudo-headers"
    return None


def check_request_header_to_set(name: str) -> str | None:
    return _check_header_edit(name, authority_ok=True)


def check_header_to_modify(name: str) -> str | None:
    """A header removed from requests, or added to / set on / removed from responses."""
    return _check_header_edit(name, authority_ok=False)


def check_header_value(value: str) -> str | None:
    """Control characters are refused; ``%`` must open an Envoy variable ``%NAME%`` or be doubled."""
    if HEADER_VALUE_FORBIDDEN.search(value):
        return f"header value {value!r} contains control characters"
    i, n = 0, len(value)
    while i < n:
        if value[i] != "%":
            i += 1
            continue
        if i + 1 < n and value[i + 1] == "%":
            i += 2
            continue
        end = value.find("%", i + 1)
        if end < 0:
            return f"header value {value!r}: unterminated variable (write a literal % as %%)"
        if end == i + 1:
            return f"header value {value!r}: empty variable name"
        i = end + 1
    return None


# -- regular expressions (Envoy and Istio use RE2) --------------------------------------------

# RE2 has no lookaround, backreferences, atomic groups, conditionals, possessive quantifiers or \Z.
_RE2_UNSUPPORTED = re.compile(
    r"\(\?[=!]|\(\?<[=!]|\(\?>|\(\?P=|\(\?\(|(?<!\\)\\[1-9Z]|(?<!\\)[*+?}]\+"
)
_RE2_REPEAT_COUNTS = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")
# RE2 syntax Python spells differently (or not at all), rewritten to something equivalent for compiling:
# \p{Greek} / \pL classes, \z, \C, \Q...\E, POSIX [:alpha:] classes, flags anywhere, (?<name>...) groups.
_RE2_ONLY_SYNTAX = re.compile(r"\\[pP](?:\{[^}]*\}|[A-Za-z])|\\z|\\C|\\Q|\\E|\[:\^?[a-z]+:\]")
_INLINE_FLAGS = re.compile(r"\(\?[imsU-]+\)")
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
MAX_REGEX_LENGTH = 1024
MAX_REPEAT = 1000  # RE2's limit on {n,m} counts


@lru_cache(maxsize=4096)  # the same patterns recur across objects
def check_regex(pattern: str) -> str | None:
    """Whether RE2 would accept a pattern (approximated with Python's engine minus RE2's gaps)."""
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"regex is longer than {MAX_REGEX_LENGTH} characters"
    if _RE2_UNSUPPORTED.search(pattern):
        return (f"regex {pattern!r} uses syntax RE2 lacks (lookaround, backreferences, possessive quantifiers or "
                "\\Z); Istio expects RE2 syntax")
    for low, high in _RE2_REPEAT_COUNTS.findall(pattern):
        if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            return f"regex {pattern!r} repeats more than {MAX_REPEAT} times, the most RE2 allows"
    translated = _NAMED_GROUP.sub("(?P<", _INLINE_FLAGS.sub("", _RE2_ONLY_SYNTAX.sub("a", pattern)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(translated)
    except (re.error, RecursionError, OverflowError) as err:
        return f"regex {pattern!r} does not compile: {err} (Istio expects RE2 syntax)"
    return None


# -- exportTo -------------------------------------------------------------------------------------


def check_export_to(export_to: Any, path: str, v: Validation, *, service_entry: bool = False,
                    with_selector: bool = False) -> None:
    """Istio's exportTo rules: namespaces, ``.`` (own namespace), ``*`` (all), ``~`` (none, ServiceEntry only)."""
    entries = [e for e in as_list(export_to) if isinstance(e, str)]
    if not entries:
        return
    seen: set[str] = set()
    for entry in entries:
        key = v.namespace if entry == "." else entry
        if key in seen:
            if key != entry:
                v.error(path, f"'.' and {v.namespace} both name the current namespace; keep one")
            else:
                v.error(path, f"{entry} is listed more than once")
            continue
        if entry == "~" and service_entry or entry in (".", "*") or is_dns1123_label(entry):
            seen.add(key)
        elif entry == "~":
            v.error(path, "'~' (no namespace) is only allowed in a ServiceEntry's exportTo")
        else:
            v.error(path, f"{entry!r} must be '.', '*' or a namespace name")
    if with_selector and seen:
        if v.namespace in seen:
            if len(seen) > 1:
                v.error(path, "a DestinationRule with a workloadSelector can only be exported to its own namespace; "
                              "remove the other entries")
        else:
            v.error(path, "a DestinationRule with a workloadSelector can only be exported to its own namespace ('.')")
    for entry, meaning in (("*", "all namespaces"), ("~", "no namespace")):
        if entry in seen and len(entries) > 1:
            v.error(path, f"'{entry}' ({meaning}) cannot be combined with other entries")


def find_selector_problems(labels: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, value in labels.items():
        key, value = str(key), value if isinstance(value, str) else ""
        if key == "":
            problems.append(f"selector label keys must not be empty ({key}={value})")
        if "*" in key or "*" in value:
            problems.append(f"selector labels cannot use wildcards ({key}={value})")
    return problems
