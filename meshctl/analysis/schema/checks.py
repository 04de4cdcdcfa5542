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
    return None if is_ip(value) else f"{value} is not a valid IP"


def check_ip_or_cidr(value: str) -> str | None:
    """Istio's ValidateIPSubnet: an address, or a CIDR block when the value has one '/'."""
    if value.count("/") == 1:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value} is not a valid CIDR block"
        return None
    return check_ip(value)


def check_port(number: Any) -> str | None:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        return f"port number {number} must be in the range 1..65535"
    return None


def _check_dns_labels(domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"domain name {domain!r} invalid (top level domain {parts[-1]!r} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":  # a trailing dot, as in "istio.io."
            return None
        if not is_dns1123_label(label):
            return f"domain name {domain!r} invalid (label {label!r} invalid)"
    return None


def _check_domain_length(domain: str) -> str | None:
    if len(domain) > 255:
        return f"domain name {domain!r} too long (max 255)"
    if not domain:
        return "empty domain name not allowed"
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
        return f"domain name {domain!r} invalid (label {first!r} invalid)"
    return _check_dns_labels(rest) if dot else None


def check_wildcard_domain_for_gateway_route(domain: str, sni: bool) -> str | None:
    """Hosts of a VirtualService bound to gateways: also allows the ``outbound_.<port>_...`` SNI form."""
    first = domain.partition(".")[0]
    if sni and first == "outbound_" and _check_domain_length(domain) is None:
        return None if OUTBOUND_SNI.match(domain) else f"domain name {domain!r} invalid (label {first!r} invalid)"
    return check_wildcard_domain(domain)


def check_partial_wildcard(host: str) -> str | None:
    if "*" in host and len(host) != 1 and not host.startswith("*."):
        return f"partial wildcard {host!r} not allowed"
    return None


def _check_host_part(host: str, gateway: bool) -> list[str]:
    problems = []
    if host != "*" and "." not in host:
        problems.append("short names (non FQDN) are not allowed")
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
        return ["host must be of form namespace/dnsName"]
    problems = []
    if not ns or not host:
        problems.append("config namespace and dnsName in host entry cannot be empty")
    allowed = ("*", ".") if gateway else ("*", ".", "~")
    if ns not in allowed and not is_dns1123_label(ns):
        problems.append(f"invalid namespace value {ns!r} in {'gateway' if gateway else 'sidecar'}")
    return problems + _check_host_part(host, gateway)


def check_unix_address(path: str) -> str | None:
    if not path:
        return "unix address must not be empty"
    if path.startswith("@"):
        return None
    if not path.startswith("/") or path.endswith("/"):
        return f"{path} is not an absolute path to a file"
    return None


def check_labels(labels: Any, path: str, v: Validation) -> None:
    """Kubernetes-style label keys and values (Istio's labels.Instance.Validate)."""
    for key, value in as_dict(labels).items():
        key = str(key)
        match = LABEL_KEY.match(key)
        if match is None:
            v.error(f"{path}.{key}", f"invalid label key {key!r}")
        elif match.group(1) and len(match.group(1)) - 1 > 253:
            v.error(f"{path}.{key}", f"invalid label key {key!r} (DNS prefix is too long)")
        elif len(match.group(2)) > DNS1123_LABEL_MAX:
            v.error(f"{path}.{key}", f"invalid label key {key!r} (name is too long)")
        if isinstance(value, str) and not LABEL_VALUE.match(value):
            v.error(f"{path}.{key}", f"invalid label value {value!r}")


def check_port_name(name: str) -> str | None:
    return None if is_dns1123_label(name) else f"invalid port name: {name}"


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
        return f"unsupported protocol: {value}"
    return None


# -- HTTP headers ---------------------------------------------------------------------------------


def check_header_name(name: str) -> str | None:
    if not name:
        return "header name cannot be empty"
    return None if HEADER_NAME.match(name) else f"header name {name} is not a valid header name"


def check_strict_header_name(name: str) -> str | None:
    if not name:
        return "header name cannot be empty"
    return None if STRICT_HEADER_NAME.match(name) else f"header name {name} is not a valid header name"


def is_jwt_claim_header(name: str) -> bool:
    return name.startswith(JWT_CLAIM_PREFIX) and len(name) > len(JWT_CLAIM_PREFIX) + 1


def check_match_header_name(name: str) -> str | None:
    """A header in a route match: a header, a pseudo header, or a ``@request.auth.claims...`` JWT claim."""
    if not name:
        return "header name cannot be empty"
    if is_jwt_claim_header(name) or name in PSEUDO_HEADERS:
        return None
    return check_header_name(name)


def _is_internal_header(name: str) -> bool:
    return name.startswith(":") or name.lower() == "host"


def is_authority_header(name: str) -> bool:
    return name.lower() in (":authority", "host")


def check_request_header_to_set(name: str) -> str | None:
    if not name:
        return "header name cannot be empty"
    if _is_internal_header(name) and not is_authority_header(name):
        return f'invalid header {name!r}: header cannot have ":" prefix'
    return None


def check_header_to_modify(name: str) -> str | None:
    """A header removed from requests, or added to / set on / removed from responses."""
    if not name:
        return "header name cannot be empty"
    if name.lower() == "host":
        return f"invalid header {name!r}: cannot set Host header"
    if _is_internal_header(name):
        return f'invalid header {name!r}: header cannot have ":" prefix'
    return None


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
        return f"regex is too large, max length allowed is {MAX_REGEX_LENGTH}"
    if _RE2_UNSUPPORTED.search(pattern):
        return (f"regex {pattern!r} uses syntax RE2 does not support (lookaround, backreference, possessive "
                "quantifier, \\Z); Istio uses RE2")
    for low, high in _RE2_REPEAT_COUNTS.findall(pattern):
        if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            return f"invalid regex {pattern!r}: repeat count above {MAX_REPEAT}"
    translated = _NAMED_GROUP.sub("(?P<", _INLINE_FLAGS.sub("", _RE2_ONLY_SYNTAX.sub("a", pattern)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(translated)
    except (re.error, RecursionError, OverflowError) as err:
        return f"invalid regex {pattern!r}: {err}; Istio uses RE2 style regex-based match"
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
                v.error(path, f"duplicate entries in exportTo: . and current namespace {v.namespace}")
            else:
                v.error(path, f"duplicate entries in exportTo for entry {entry}")
            continue
        if entry == "~" and service_entry or entry in (".", "*") or is_dns1123_label(entry):
            seen.add(key)
        elif entry == "~":
            v.error(path, "exportTo ~ (none) is only allowed on ServiceEntries")
        else:
            v.error(path, f"only . or * or a namespace name is allowed as exportTo entry, found {entry!r}")
    if with_selector and seen:
        if v.namespace in seen:
            if len(seen) > 1:
                v.error(path, "destination rule with workload selector cannot have multiple entries in exportTo")
        else:
            v.error(path, "destination rule with workload selector cannot have exportTo beyond current namespace")
    if "*" in seen and len(entries) > 1:
        v.error(path, "cannot have both public (*) and non-public exportTo values for a resource")
    if "~" in seen and len(entries) > 1:
        v.error(path, "cannot export service entry to no one (~) and someone")


def find_selector_problems(labels: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, value in labels.items():
        key, value = str(key), value if isinstance(value, str) else ""
        if key == "":
            problems.append(f"empty key is not supported in selector: {key}={value}")
        if "*" in key or "*" in value:
            problems.append(f"wildcard is not supported in selector: {key}={value}")
    return problems
