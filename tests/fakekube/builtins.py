"""Defaulting and validation of built-in kinds, as a real kube-apiserver (1.32) does them.

Pure functions, no HTTP: the API layer calls :func:`default` then :func:`validate_metadata` and
:func:`validate` on create/update/patch/apply, and turns a non-empty list into a 422
(``errors.invalid``). Errors are ``(field path, cause reason, message)`` like ``field.ErrorList``,
with the paths and messages the Go validators print (``pkg/apis/core/validation``,
``pkg/apis/apps/validation``, ``apimachinery/pkg/util/validation``), for the kinds meshctl writes.

Where Go prints a struct with ``%#v`` the text is rebuilt field by field (:class:`Go`); pointer
addresses (``(*int64)(0xc000...)``) cannot be, and print as ``(*T)(0x1)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from .meta import NAME_RULES

ErrorList = list[tuple[str, str, str]]
Key = tuple[str, str]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
TYPE_INVALID = "FieldValueTypeInvalid"
NOT_FOUND = "FieldValueNotFound"


# --- field errors, printed as field.Error.ErrorBody() prints them ---------------------------------


class Go:
    """A bad value printed verbatim: Go's ``%#v`` of a struct, rebuilt by the caller."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _q(s: Any) -> str:
    """strconv.Quote, near enough."""
    return json.dumps(str(s), ensure_ascii=False)


def _val(v: Any) -> str:
    """The bad value as ErrorBody prints it: simple types with %v, strings %q, the rest %#v."""
    if isinstance(v, Go):
        return v.text
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return _q(v)
    if isinstance(v, dict):
        return _go_map(v)
    if isinstance(v, list):
        if all(isinstance(x, str) for x in v):
            return _go_strings(v)
        return "[]interface {}{" + ", ".join(_val(x) for x in v) + "}"
    return str(v)


def _go_map(m: dict | None) -> str:
    """%#v of a map[string]string (Go sorts the keys)."""
    if m is None:
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(f"{_q(k)}:{_q(m[k])}" for k in sorted(m)) + "}"


def _go_strings(v: list | None, typ: str = "[]string") -> str:
    if v is None:
        return f"{typ}(nil)"
    return typ + "{" + ", ".join(_q(x) for x in v) + "}"


def _go_intstr(v: Any) -> Go:
    """%#v of an intstr.IntOrString (its String() has a pointer receiver, so Go prints the struct)."""
    if isinstance(v, str):
        return Go(f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:{_q(v)}}}')
    return Go(f'intstr.IntOrString{{Type:0, IntVal:{int(v or 0)}, StrVal:""}}')


def _go_ptr(v: Any, typ: str) -> str:
    return f"(*{typ})(nil)" if v is None else f"(*{typ})(0x1)"


def required(path: str, detail: str = "") -> tuple[str, str, str]:
    return (path, REQUIRED, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: Any, detail: str) -> tuple[str, str, str]:
    return (path, INVALID, f"Invalid value: {_val(value)}" + (f": {detail}" if detail else ""))


def not_supported(path: str, value: Any, valid: list[str] | tuple[str, ...]) -> tuple[str, str, str]:
    detail = "supported values: " + ", ".join(_q(v) for v in valid) if valid else ""
    return (path, NOT_SUPPORTED, f"Unsupported value: {_val(value)}" + (f": {detail}" if detail else ""))


def duplicate(path: str, value: Any) -> tuple[str, str, str]:
    return (path, DUPLICATE, f"Duplicate value: {_val(value)}")


def forbidden(path: str, detail: str) -> tuple[str, str, str]:
    return (path, FORBIDDEN, f"Forbidden: {detail}")


def not_found(path: str, value: Any) -> tuple[str, str, str]:
    return (path, NOT_FOUND, f"Not found: {_val(value)}")


def too_long(path: str, max_bytes: int) -> tuple[str, str, str]:
    return (path, TOO_LONG, f"Too long: may not be more than {max_bytes} bytes")


def too_many(path: str, actual: int, max_items: int) -> tuple[str, str, str]:
    return (path, TOO_MANY, f"Too many: {actual}: must have at most {max_items} items")


def type_invalid(path: str, value: Any, detail: str) -> tuple[str, str, str]:
    # A value of the wrong JSON type never reaches validation on a real server: decoding fails
    # with a 400 ("json: cannot unmarshal number into Go struct field ... of type string"). Here it
    # becomes a cause with reason FieldValueTypeInvalid, so the caller can still answer.
    return (path, TYPE_INVALID, f"Invalid value: {_val(value)}: {detail}")


# --- small typed accessors (bodies are user JSON: be forgiving about shapes) ----------------------


def _d(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list:
    return v if isinstance(v, list) else []


def _int(v: Any, default: int = 0) -> int:
    if isinstance(v, bool) or v is None:
        return default
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return default


# --- apimachinery/pkg/util/validation ------------------------------------------------------------

_DNS1123_LABEL_RE = re.compile(NAME_RULES["label"][0])
_DNS1123_SUBDOMAIN_RE = re.compile(NAME_RULES["subdomain"][0])
_DNS1035_LABEL_RE = re.compile(NAME_RULES["dns1035"][0])
_QNAME_CHAR = "[A-Za-z0-9]"
_QNAME_EXT = "[-A-Za-z0-9_.]"
_QUALIFIED_NAME_FMT = f"({_QNAME_CHAR}{_QNAME_EXT}*)?{_QNAME_CHAR}"
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_FMT = f"(({_QNAME_CHAR}{_QNAME_EXT}*)?{_QNAME_CHAR})?"
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_PERCENT_RE = re.compile("[0-9]+%")
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")
_HAS_LETTER_RE = re.compile("[a-z]")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


_QNAME_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_QNAME_REGEX_MSG = _regex_error("name part " + _QNAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
_QNAME_BAD_SPLIT = ("a qualified name " + _regex_error(_QNAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
_LABEL_VALUE_MSG = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character", _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
_CONFIG_KEY_MSG = _regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                               _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
_PERCENT_MSG = _regex_error("a valid percent string must be a numeric string followed by an ending '%'",
                            "[0-9]+%", "1%", "93%")
PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"
NONNEGATIVE_MSG = "must be greater than or equal to 0"
IMMUTABLE_MSG = "field is immutable"


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errs.append(NAME_RULES["label"][2])
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(NAME_RULES["subdomain"][2])
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(NAME_RULES["dns1035"][2])
    return errs


def qualified_name(value: str) -> list[str]:
    """validation.IsQualifiedName: [DNS-1123 subdomain prefix '/'] name (<= 63)."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        errs: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        errs = []
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(prefix)]
    else:
        return [_QNAME_BAD_SPLIT]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(_QNAME_REGEX_MSG)
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(_LABEL_VALUE_MSG)
    return errs


def config_map_key(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(_CONFIG_KEY_MSG)
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    """validation.IsValidPortName (IANA_SVC_NAME)."""
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET_RE.fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _HAS_LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _port_num_ok(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


def _labels(labels: Any, path: str) -> ErrorList:
    """ValidateLabels: keys qualified names, values label values; non-strings are decode errors."""
    errs: ErrorList = []
    if labels is None:
        return errs
    if not isinstance(labels, dict):
        return [type_invalid(path, labels, "must be of type map[string]string")]
    for k, v in labels.items():
        for msg in qualified_name(k):
            errs.append(invalid(path, k, msg))
        if not isinstance(v, str):
            errs.append(type_invalid(f"{path}[{k}]", v, "must be of type string"))
            continue
        for msg in label_value(v):
            errs.append(invalid(path, v, msg))
    return errs


TOTAL_ANNOTATION_SIZE = 256 * 1024


def _annotations(annotations: Any, path: str) -> ErrorList:
    errs: ErrorList = []
    if annotations is None:
        return errs
    if not isinstance(annotations, dict):
        return [type_invalid(path, annotations, "must be of type map[string]string")]
    total = 0
    for k, v in annotations.items():
        for msg in qualified_name(k.lower()):
            errs.append(invalid(path, k, msg))
        if not isinstance(v, str):
            errs.append(type_invalid(f"{path}[{k}]", v, "must be of type string"))
            continue
        total += len(k.encode()) + len(v.encode())
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errs


# --- resource.Quantity ---------------------------------------------------------------------------

_QUANTITY_RE = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
QUANTITY_FORMAT_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {e: s for s, e in _DEC_SUFFIX.items()}
_BIN_BY_EXP = {e // 10: s for s, e in _BIN_SUFFIX.items()}


class QuantityError(ValueError):
    pass


def parse_quantity(text: Any) -> tuple[Fraction, str]:
    """resource.ParseQuantity: (exact value rounded up to nano units, format) where format is
    "DecimalSI", "BinarySI" or "DecimalExponent". A JSON number is read as its decimal text."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(QUANTITY_FORMAT_MSG)
    s = str(text).strip() if isinstance(text, str) else (str(text) if isinstance(text, int) else repr(text))
    if not s:
        raise QuantityError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    m = _QUANTITY_RE.fullmatch(s)
    if not m:
        raise QuantityError(QUANTITY_FORMAT_MSG)
    number, suffix = m.groups()
    sign = -1 if number.startswith("-") else 1
    digits = number.lstrip("+-")
    if digits.count(".") > 1 or digits in ("", "."):
        raise QuantityError(QUANTITY_FORMAT_MSG)
    value = Fraction(digits if not digits.endswith(".") else digits[:-1] or "0")
    if suffix in _BIN_SUFFIX:
        value *= 2 ** _BIN_SUFFIX[suffix]
        fmt = "BinarySI"
    elif suffix in _DEC_SUFFIX:
        value *= Fraction(10) ** _DEC_SUFFIX[suffix]
        fmt = "DecimalSI"
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", suffix[1:]):
        value *= Fraction(10) ** int(suffix[1:])
        fmt = "DecimalExponent"
    else:
        raise QuantityError("unable to parse quantity's suffix")
    nanos = value * 10**9
    if nanos.denominator != 1:  # Go rounds anything finer than nano up (away from zero)
        nanos = Fraction(-(-nanos.numerator // nanos.denominator))
    return sign * nanos / 10**9, fmt


def format_quantity(value: Fraction, fmt: str) -> str:
    """Quantity.String(): the canonical form a real server writes back ("0.5" -> "500m")."""
    if fmt == "BinarySI" and (-1024 < value < 1024 or value.denominator != 1):
        fmt = "DecimalSI"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if fmt == "BinarySI":
        n, exp = int(value), 0
        while n and n % 1024 == 0 and exp < 6:
            n //= 1024
            exp += 1
        return f"{sign}{n}{_BIN_BY_EXP.get(exp, '')}"
    n, exp = int(value * 10**9), -9
    if n == 0:
        return "0"
    while n % 10 == 0:
        n //= 10
        exp += 1
    while exp % 3:  # exponents are multiples of 3
        n *= 10
        exp -= 1
    if fmt == "DecimalExponent":
        return f"{sign}{n}" + (f"e{exp}" if exp else "")
    if exp in _DEC_BY_EXP:
        return f"{sign}{n}{_DEC_BY_EXP[exp]}"
    return f"{sign}{n}e{exp}"


def canonical_quantity(text: Any) -> Any:
    """The canonical text of a quantity, or the input unchanged when it does not parse."""
    try:
        return format_quantity(*parse_quantity(text))
    except QuantityError:
        return text


# --- ObjectMeta ----------------------------------------------------------------------------------

_OWNER_FIELDS = (("apiVersion", "APIVersion"), ("kind", "Kind"), ("name", "Name"), ("uid", "UID"))


def _go_owner_refs(refs: list) -> Go:
    def one(r: dict) -> str:
        fields = [f"{go}:{_q(r.get(js) or '')}" for js, go in _OWNER_FIELDS]
        fields.append(f"Controller:{_go_ptr(r.get('controller'), 'bool')}")
        fields.append(f"BlockOwnerDeletion:{_go_ptr(r.get('blockOwnerDeletion'), 'bool')}")
        return "v1.OwnerReference{" + ", ".join(fields) + "}"

    return Go("[]v1.OwnerReference{" + ", ".join(one(_d(r)) for r in refs) + "}")


def validate_metadata(obj: dict, old: dict | None) -> ErrorList:
    """ObjectMeta rules every kind shares (custom resources too): labels, annotations, finalizers
    and ownerReferences. Names are meta.validate_name's job."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return []
    errs = _labels(meta.get("labels"), "metadata.labels")
    errs += _annotations(meta.get("annotations"), "metadata.annotations")
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list):
            errs.append(type_invalid("metadata.finalizers", finalizers, "must be of type []string"))
        else:
            for f in finalizers:
                if not isinstance(f, str):
                    errs.append(type_invalid("metadata.finalizers", f, "must be of type string"))
                    continue
                errs += [invalid("metadata.finalizers", f, m) for m in qualified_name(f)]
            if "orphan" in finalizers and "foregroundDeletion" in finalizers:
                errs.append(invalid("metadata.finalizers", finalizers,
                                    'finalizers "orphan" and "foregroundDeletion" cannot be both set'))
    refs = meta.get("ownerReferences")
    if refs is not None:
        errs += _owner_references(refs)
    return errs


def _owner_references(refs: Any) -> ErrorList:
    path = "metadata.ownerReferences"  # Go does not index it: every error names the list
    if not isinstance(refs, list):
        return [type_invalid(path, refs, "must be of type []v1.OwnerReference")]
    errs: ErrorList = []
    controller = None
    for ref in refs:
        ref = _d(ref)
        api_version = ref.get("apiVersion") or ""
        version = api_version.rpartition("/")[2]
        if not version:
            errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        if not ref.get("kind"):
            errs.append(invalid(f"{path}.kind", ref.get("kind") or "", "kind must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(f"{path}.name", ref.get("name") or "", "name must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(f"{path}.uid", ref.get("uid") or "", "uid must not be empty"))
        if api_version == "v1" and ref.get("kind") == "Event":
            errs.append(invalid(path, Go(_go_owner_refs([ref]).text[len("[]v1.OwnerReference{"):-1]),
                                "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            if controller is not None:
                errs.append(invalid(path, _go_owner_refs(refs),
                                    'Only one reference can have Controller set to true. Found "true" in references '
                                    f"for {controller} and {ref.get('name') or ''}"))
            else:
                controller = ref.get("name") or ""
    return errs


# --- label selectors -----------------------------------------------------------------------------


def _selector_errors(sel: Any, path: str) -> ErrorList:
    """metav1validation.ValidateLabelSelector (label values checked strictly)."""
    if sel is None:
        return []
    sel = _d(sel)
    errs = _labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, req in enumerate(_l(sel.get("matchExpressions"))):
        req, p = _d(req), f"{path}.matchExpressions[{i}]"
        op, values = req.get("operator") or "", _l(req.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        errs += [invalid(f"{p}.key", req.get("key") or "", m) for m in qualified_name(req.get("key") or "")]
        for j, v in enumerate(values):
            errs += [invalid(f"{p}.values[{j}]", v, m) for m in label_value(str(v))]
    return errs


def selector_matches(sel: dict | None, labels: dict | None) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels); a nil selector matches nothing."""
    if sel is None:
        return False
    labels = labels if isinstance(labels, dict) else {}
    for k, v in _d(sel.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for req in _l(sel.get("matchExpressions")):
        req = _d(req)
        key, op, values = req.get("key"), req.get("operator"), _l(req.get("values"))
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _go_selector(sel: Any) -> Go:
    sel = _d(sel)
    ml = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        ex = "[]v1.LabelSelectorRequirement(nil)"
    else:
        ex = "[]v1.LabelSelectorRequirement{" + ", ".join(
            f'v1.LabelSelectorRequirement{{Key:{_q(_d(e).get("key") or "")}, Operator:{_q(_d(e).get("operator") or "")}, '
            f'Values:{_go_strings(_d(e).get("values"))}}}' for e in _l(exprs)) + "}"
    return Go(f"v1.LabelSelector{{MatchLabels:{_go_map(ml if isinstance(ml, dict) else None)}, MatchExpressions:{ex}}}")


def _empty(v: Any) -> bool:
    return v is None or v == {} or v == []


def _semantic_equal(a: Any, b: Any) -> bool:
    """apimachinery's Semantic.DeepEqual: nil and empty maps/lists (and absent fields) are equal."""
    if _empty(a) and _empty(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_semantic_equal(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_semantic_equal, a, b))
    return a == b


# --- PodSpec (pkg/apis/core/validation) ----------------------------------------------------------

PROTOCOLS = ("SCTP", "TCP", "UDP")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
                   "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
RESOURCE_FIELD_REFS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                       "requests.ephemeral-storage", "requests.memory")
VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
    "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
    "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_OVERCOMMIT = ("cpu", "memory", "ephemeral-storage")
_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
_RELAXED_ENV_MSG = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def _nonnegative(path: str, v: Any) -> ErrorList:
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        return [invalid(path, v, NONNEGATIVE_MSG)]
    return []


def _port_num_or_name(v: Any, path: str) -> ErrorList:
    """ValidatePortNumOrName: an int is a port number, a string (even "8080") an IANA_SVC_NAME."""
    if isinstance(v, str):
        return [invalid(path, v, m) for m in port_name(v)]
    if isinstance(v, int) and not isinstance(v, bool):
        return [] if _port_num_ok(v) else [invalid(path, v, PORT_RANGE_MSG)]
    return [type_invalid(path, v, "must be an integer or a string")]


def _mode(v: Any, path: str) -> ErrorList:
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0o777):
        return [invalid(path, v, _MODE_MSG)]
    return []


def _volume_source(vol: dict, path: str) -> ErrorList:
    present = [s for s in VOLUME_SOURCES if vol.get(s) is not None]
    errs: ErrorList = []
    if not present:
        return [required(path, "must specify a volume type")]
    for extra in present[1:]:
        errs.append(forbidden(f"{path}.{extra}", "may not specify more than 1 volume type"))
    kind, src = present[0], _d(vol.get(present[0]))
    p = f"{path}.{kind}"
    if kind == "secret":
        if not src.get("secretName"):
            errs.append(required(f"{p}.secretName", ""))
        errs += _mode(src.get("defaultMode"), f"{p}.defaultMode") + _key_to_paths(src.get("items"), f"{p}.items")
    elif kind == "configMap":
        if not src.get("name"):
            errs.append(required(f"{p}.name", ""))
        errs += _mode(src.get("defaultMode"), f"{p}.defaultMode") + _key_to_paths(src.get("items"), f"{p}.items")
    elif kind == "hostPath":
        if not src.get("path"):
            errs.append(required(f"{p}.path", ""))
        t = src.get("type")
        types = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice")
        if t is not None and t not in types:
            errs.append(not_supported(f"{p}.type", t, types))
    elif kind == "persistentVolumeClaim":
        if not src.get("claimName"):
            errs.append(required(f"{p}.claimName", ""))
    elif kind == "csi":
        if not src.get("driver"):
            errs.append(required(f"{p}.driver", ""))
    elif kind == "projected":
        errs += _mode(src.get("defaultMode"), f"{p}.defaultMode")
        for i, source in enumerate(_l(src.get("sources"))):
            source, sp = _d(source), f"{p}.sources[{i}]"
            kinds = [k for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                     if source.get(k) is not None]
            if not kinds:
                errs.append(required(sp, "must specify exactly 1 of: secret, configMap, downwardAPI, "
                                         "serviceAccountToken, clusterTrustBundle"))
            for k in kinds[1:]:
                errs.append(forbidden(f"{sp}.{k}", "may not specify more than 1 volume type per source"))
            token = source.get("serviceAccountToken")
            if isinstance(token, dict):
                if not token.get("path"):
                    errs.append(required(f"{sp}.serviceAccountToken.path", ""))
                exp = token.get("expirationSeconds")
                if isinstance(exp, int) and exp < 600:
                    errs.append(invalid(f"{sp}.serviceAccountToken.expirationSeconds", exp,
                                        "may not specify a duration less than 10 minutes"))
    elif kind == "downwardAPI":
        errs += _mode(src.get("defaultMode"), f"{p}.defaultMode")
    elif kind == "emptyDir" and src.get("sizeLimit") is not None:
        errs += _quantity_field(src["sizeLimit"], f"{p}.sizeLimit")
    return errs


def _key_to_paths(items: Any, path: str) -> ErrorList:
    errs: ErrorList = []
    for i, item in enumerate(_l(items)):
        item, p = _d(item), f"{path}[{i}]"
        if not item.get("key"):
            errs.append(required(f"{p}.key", ""))
        if not item.get("path"):
            errs.append(required(f"{p}.path", ""))
        errs += _mode(item.get("mode"), f"{p}.mode")
    return errs


def _quantity_field(q: Any, path: str) -> ErrorList:
    # A quantity that does not parse fails decoding on a real server (400 "quantities must match
    # the regular expression ..."); here it is a FieldValueTypeInvalid cause with that text.
    try:
        value, _ = parse_quantity(q)
    except QuantityError as e:
        return [type_invalid(path, q, str(e))]
    return [invalid(path, canonical_quantity(q), NONNEGATIVE_MSG)] if value < 0 else []


def _volumes(volumes: Any, path: str) -> tuple[ErrorList, set[str]]:
    errs: ErrorList = []
    names: set[str] = set()
    for i, vol in enumerate(_l(volumes)):
        vol, p = _d(vol), f"{path}[{i}]"
        el = _volume_source(vol, p)
        name = vol.get("name") or ""
        if not name:
            el.append(required(f"{p}.name", ""))
        else:
            el += [invalid(f"{p}.name", name, m) for m in dns1123_label(name)]
        if name in names:
            el.append(duplicate(f"{p}.name", name))
        if el:
            errs += el
        else:
            names.add(name)
    return errs, names


def _probe(probe: Any, path: str, liveness_like: bool) -> ErrorList:
    if probe is None:
        return []
    probe = _d(probe)
    errs = _handler(probe, path)
    for f in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errs += _nonnegative(f"{path}.{f}", probe.get(f))
    tgp = probe.get("terminationGracePeriodSeconds")
    if isinstance(tgp, int) and tgp <= 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", tgp, "must be greater than 0"))
    if liveness_like and probe.get("successThreshold", 1) != 1:
        errs.append(invalid(f"{path}.successThreshold", probe.get("successThreshold"), "must be 1"))
    return errs


def _handler(h: dict, path: str) -> ErrorList:
    errs: ErrorList = []
    found = 0
    for kind in _HANDLERS:
        if h.get(kind) is None:
            continue
        if found:
            errs.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        found += 1
        action, p = _d(h[kind]), f"{path}.{kind}"
        if kind == "exec":
            if not _l(action.get("command")):
                errs.append(required(f"{p}.command", ""))
        elif kind == "httpGet":
            if not action.get("path"):
                errs.append(required(f"{p}.path", ""))
            errs += _port_num_or_name(action.get("port"), f"{p}.port")
            scheme = action.get("scheme")
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(f"{p}.scheme", scheme or "", ("HTTP", "HTTPS")))
        elif kind == "tcpSocket":
            errs += _port_num_or_name(action.get("port"), f"{p}.port")
        elif kind == "grpc":
            port = action.get("port")
            if not _port_num_ok(port):
                errs.append(invalid(f"{p}.port", port, PORT_RANGE_MSG))
    if not found:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _env(env: Any, path: str) -> ErrorList:
    errs: ErrorList = []
    for i, ev in enumerate(_l(env)):
        ev, p = _d(ev), f"{path}[{i}]"
        name = ev.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name", ""))
            errs.append(invalid(f"{p}.name", name, "environment variable name must be non-empty"))
        elif any(c == "=" or not (32 <= ord(c) < 127) for c in name):
            # RelaxedEnvironmentVariableValidation is on by default since 1.32.
            errs.append(invalid(f"{p}.name", name, _RELAXED_ENV_MSG))
        vf = ev.get("valueFrom")
        if vf is None:
            continue
        vf, vp = _d(vf), f"{p}.valueFrom"
        sources = [s for s in _ENV_SOURCES if vf.get(s) is not None]
        for s in sources:
            errs += _env_source(s, _d(vf[s]), f"{vp}.{s}")
        if not sources:
            errs.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                                        "`secretKeyRef`"))
        elif ev.get("value"):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif len(sources) > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _env_source(kind: str, src: dict, path: str) -> ErrorList:
    if kind == "fieldRef":
        if not src.get("apiVersion"):
            return [required(f"{path}.apiVersion", "")]
        fp = src.get("fieldPath") or ""
        if not fp:
            return [required(f"{path}.fieldPath", "")]
        m = re.fullmatch(r"(metadata\.(?:labels|annotations))\['(.*)'\]", fp)
        if m:
            key = m.group(2).lower() if m.group(1).endswith("annotations") else m.group(2)
            return [invalid(path, key, msg) for msg in qualified_name(key)]
        if fp not in ENV_FIELD_PATHS:
            return [not_supported(f"{path}.fieldPath", fp, ENV_FIELD_PATHS)]
        return []
    if kind == "resourceFieldRef":
        res = src.get("resource") or ""
        if not res:
            return [required(f"{path}.resource", "")]
        if res not in RESOURCE_FIELD_REFS and not res.startswith(("limits.hugepages-", "requests.hugepages-")):
            return [not_supported(f"{path}.resource", res, RESOURCE_FIELD_REFS)]
        return []
    errs: ErrorList = []
    name = src.get("name") or ""
    if name:
        errs += [invalid(f"{path}.name", name, m) for m in dns1123_subdomain(name)]
    key = src.get("key") or ""
    if not key:
        errs.append(required(f"{path}.key", ""))
    else:
        errs += [invalid(f"{path}.key", key, m) for m in config_map_key(key)]
    return errs


def _resources(res: Any, path: str) -> ErrorList:
    res = _d(res)
    errs: ErrorList = []
    limits: dict[str, Fraction] = {}
    for kind in ("limits", "requests"):
        rl = res.get(kind)
        if rl is not None and not isinstance(rl, dict):
            errs.append(type_invalid(f"{path}.{kind}", rl, "must be of type map[string]resource.Quantity"))
            continue
        for name, q in _d(rl).items():
            p = f"{path}.{kind}[{name}]"
            if "/" not in name and name not in _OVERCOMMIT and not name.startswith("hugepages-"):
                errs.append(invalid(p, name, "must be a standard resource for containers"))
            else:
                errs += [invalid(p, name, m) for m in qualified_name(name)]
            try:
                value, _ = parse_quantity(q)
            except QuantityError as e:
                errs.append(type_invalid(p, q, str(e)))
                continue
            if value < 0:
                errs.append(invalid(p, canonical_quantity(q), NONNEGATIVE_MSG))
            if kind == "limits":
                limits[name] = value
                continue
            # helper.IsOvercommitAllowed: native (no domain, or kubernetes.io/) and not hugepages.
            native = "/" not in name or name.startswith("kubernetes.io/")
            overcommit = native and not name.startswith("hugepages-")
            if name in limits:
                lim = canonical_quantity(_d(res.get("limits"))[name])
                if value != limits[name] and not overcommit:
                    errs.append(invalid(f"{path}.requests", canonical_quantity(q), f"must be equal to {name} limit of {lim}"))
                elif value > limits[name]:
                    errs.append(invalid(f"{path}.requests", canonical_quantity(q),
                                        f"must be less than or equal to {name} limit of {lim}"))
            elif not overcommit and name not in _d(res.get("limits")):
                errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return errs


def _container_ports(ports: Any, path: str) -> ErrorList:
    errs: ErrorList = []
    names: set[str] = set()
    for i, port in enumerate(_l(ports)):
        port, p = _d(port), f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = port_name(name)
            errs += [invalid(f"{p}.name", name, m) for m in msgs]
            if not msgs:
                if name in names:
                    errs.append(duplicate(f"{p}.name", name))
                names.add(name)
        cp = port.get("containerPort")
        if not cp:
            errs.append(required(f"{p}.containerPort", ""))
        elif not _port_num_ok(cp):
            errs.append(invalid(f"{p}.containerPort", cp, PORT_RANGE_MSG))
        hp = port.get("hostPort")
        if hp and not _port_num_ok(hp):
            errs.append(invalid(f"{p}.hostPort", hp, PORT_RANGE_MSG))
        proto = port.get("protocol")
        if not proto:
            errs.append(required(f"{p}.protocol", ""))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", proto, PROTOCOLS))
    return errs


def _volume_mounts(mounts: Any, volumes: set[str], path: str) -> ErrorList:
    errs: ErrorList = []
    seen: set[str] = set()
    for i, m in enumerate(_l(mounts)):
        m, p = _d(m), f"{path}[{i}]"
        name = m.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name", ""))
        if name not in volumes:
            errs.append(not_found(f"{p}.name", name))
        mp = m.get("mountPath") or ""
        if not mp:
            errs.append(required(f"{p}.mountPath", ""))
        if mp in seen:
            errs.append(invalid(f"{p}.mountPath", mp, "must be unique"))
        seen.add(mp)
        sub = m.get("subPath") or ""
        if sub.startswith("/"):
            errs.append(invalid(f"{path}.subPath", sub, "must be a relative path"))
        elif ".." in sub.split("/"):
            errs.append(invalid(f"{path}.subPath", sub, "must not contain '..'"))
    return errs


def _container(c: dict, path: str, volumes: set[str], names: set[str], init: bool) -> ErrorList:
    errs: ErrorList = []
    name = c.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", ""))
    else:
        errs += [invalid(f"{path}.name", name, m) for m in dns1123_label(name)]
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    image = c.get("image")
    if not image:
        errs.append(required(f"{path}.image", ""))
    elif image != image.strip():
        errs.append(invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    restartable = init and c.get("restartPolicy") == "Always"  # a sidecar
    if init and c.get("restartPolicy") is not None and c.get("restartPolicy") != "Always":
        errs.append(not_supported(f"{path}.restartPolicy", c["restartPolicy"], ("Always",)))
    if not init or restartable:
        errs += _probe(c.get("livenessProbe"), f"{path}.livenessProbe", True)
        errs += _probe(c.get("readinessProbe"), f"{path}.readinessProbe", False)
        errs += _probe(c.get("startupProbe"), f"{path}.startupProbe", True)
    else:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(probe) is not None:
                errs.append(forbidden(f"{path}.{probe}", "may not be set for init containers without restartPolicy=Always"))
    errs += _container_ports(c.get("ports"), f"{path}.ports")
    errs += _env(c.get("env"), f"{path}.env")
    errs += _volume_mounts(c.get("volumeMounts"), volumes, f"{path}.volumeMounts")
    pull = c.get("imagePullPolicy")
    if not pull:
        errs.append(required(f"{path}.imagePullPolicy", ""))
    elif pull not in PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES))
    tmp = c.get("terminationMessagePolicy")
    if not tmp:
        errs.append(required(f"{path}.terminationMessagePolicy", ""))
    elif tmp not in TERMINATION_MESSAGE_POLICIES:
        errs.append(not_supported(f"{path}.terminationMessagePolicy", tmp, TERMINATION_MESSAGE_POLICIES))
    errs += _resources(c.get("resources"), f"{path}.resources")
    return errs


def _go_toleration(t: dict) -> Go:
    return Go(f'core.Toleration{{Key:{_q(t.get("key") or "")}, Operator:{_q(t.get("operator") or "")}, '
              f'Value:{_q(t.get("value") or "")}, Effect:{_q(t.get("effect") or "")}, '
              f'TolerationSeconds:{_go_ptr(t.get("tolerationSeconds"), "int64")}}}')


def _tolerations(tols: Any, path: str) -> ErrorList:
    errs: ErrorList = []
    for i, t in enumerate(_l(tols)):
        t, p = _d(t), f"{path}[{i}]"
        key, op, value, effect = t.get("key") or "", t.get("operator") or "", t.get("value") or "", t.get("effect") or ""
        if key:
            errs += [invalid(f"{p}.key", key, m) for m in qualified_name(key)]
        if not key and op != "Exists":
            errs.append(invalid(f"{p}.operator", op, 'operator must be Exists when `key` is empty, which means '
                                                     '"match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(f"{p}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = label_value(value)
            if msgs:
                errs.append(invalid(f"{p}.operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(invalid(f"{p}.operator", _go_toleration(t), "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{p}.operator", op, ("Equal", "Exists")))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
    return errs


def validate_pod_spec(spec: Any, path: str) -> ErrorList:
    """ValidatePodSpec for a PodSpec at ``path`` ("spec", "spec.template.spec", ...)."""
    spec = _d(spec)
    errs, volumes = _volumes(spec.get("volumes"), f"{path}.volumes")
    names: set[str] = set()
    containers = _l(spec.get("containers"))
    if not containers:
        errs.append(required(f"{path}.containers", ""))
    for i, c in enumerate(containers):
        errs += _container(_d(c), f"{path}.containers[{i}]", volumes, names, False)
    for i, c in enumerate(_l(spec.get("initContainers"))):
        errs += _container(_d(c), f"{path}.initContainers[{i}]", volumes, names, True)
    rp = spec.get("restartPolicy")
    if not rp:
        errs.append(required(f"{path}.restartPolicy", ""))
    elif rp not in RESTART_POLICIES:
        errs.append(not_supported(f"{path}.restartPolicy", rp, RESTART_POLICIES))
    dp = spec.get("dnsPolicy")
    if not dp:
        errs.append(required(f"{path}.dnsPolicy", ""))
    elif dp not in DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dp, DNS_POLICIES))
    errs += _labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    if dp == "None":
        dns = spec.get("dnsConfig")
        if dns is None:
            errs.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
        elif not _l(_d(dns).get("nameservers")):
            errs.append(required(f"{path}.dnsConfig.nameservers",
                                 "must provide at least one DNS nameserver when `dnsPolicy` is None"))
    sa = spec.get("serviceAccountName") or ""
    if sa:
        errs += [invalid(f"{path}.serviceAccountName", sa, m) for m in dns1123_subdomain(sa)]
    for f in ("hostname", "subdomain"):
        if spec.get(f):
            errs += [invalid(f"{path}.{f}", spec[f], m) for m in dns1123_label(spec[f])]
    ads = spec.get("activeDeadlineSeconds")
    if isinstance(ads, int) and not 1 <= ads:
        errs.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    errs += _tolerations(spec.get("tolerations"), f"{path}.tolerations")
    errs += _nonnegative(f"{path}.terminationGracePeriodSeconds", spec.get("terminationGracePeriodSeconds"))
    pcn = spec.get("priorityClassName") or ""
    if pcn:
        errs += [invalid(f"{path}.priorityClassName", pcn, m) for m in dns1123_subdomain(pcn)]
    return errs


def validate_pod_template(tpl: Any, path: str) -> ErrorList:
    """ValidatePodTemplateSpec. Go names template labels ``<path>.labels`` (no ``metadata``)."""
    tpl = _d(tpl)
    meta = _d(tpl.get("metadata"))
    errs = _labels(meta.get("labels"), f"{path}.labels")
    errs += _annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_pod_spec(tpl.get("spec"), f"{path}.spec")
    if _d(tpl.get("spec")).get("ephemeralContainers"):
        errs.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


def validate_pod(obj: dict, old: dict | None) -> ErrorList:
    errs = validate_pod_spec(obj.get("spec"), "spec")
    if old is not None:
        errs += _pod_update(_d(obj.get("spec")), _d(old.get("spec")))
    return errs


_POD_UPDATE_MSG = ("pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                   "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                   "(allow it to be set to 1 if it was previously negative)")


def _pod_update(new: dict, old: dict) -> ErrorList:
    """ValidatePodUpdate's catch-all: only images, activeDeadlineSeconds and added tolerations may
    change. (Go appends a cmp.Diff of the two specs to the message; that part is left out.)"""
    def masked(spec: dict) -> dict:
        spec = json.loads(json.dumps(spec))
        for key in ("containers", "initContainers"):
            for c in _l(spec.get(key)):
                if isinstance(c, dict):
                    c.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "ephemeralContainers"):
            spec.pop(key, None)
        return spec

    errs: ErrorList = []
    if not _semantic_equal(masked(new), masked(old)):
        errs.append(forbidden("spec", _POD_UPDATE_MSG))
    old_tols = _l(old.get("tolerations"))
    new_tols = _l(new.get("tolerations"))
    if any(t not in new_tols for t in old_tols):
        errs.append(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"))
    return errs


# --- apps/v1 -------------------------------------------------------------------------------------


def _percent(v: Any) -> int | None:
    if isinstance(v, str) and _PERCENT_RE.fullmatch(v):
        return int(v[:-1])
    return None


def _int_or_percent_value(v: Any) -> int:
    p = _percent(v)
    if p is not None:
        return p
    return _int(v) if not isinstance(v, str) else 0


def _positive_int_or_percent(v: Any, path: str) -> ErrorList:
    if isinstance(v, str):
        return [] if _PERCENT_RE.fullmatch(v) else [invalid(path, _go_intstr(v), _PERCENT_MSG)]
    if isinstance(v, int) and not isinstance(v, bool):
        return _nonnegative(path, v)
    if v is None:
        return []
    return [invalid(path, Go(repr(v)), "must be an integer or percentage (e.g '5%')")]


def _not_more_than_100(v: Any, path: str) -> ErrorList:
    p = _percent(v)
    return [invalid(path, _go_intstr(v), "must not be greater than 100%")] if p is not None and p > 100 else []


def _workload_selector(spec: dict, kind: str) -> tuple[ErrorList, bool]:
    """The selector checks Deployment/ReplicaSet/StatefulSet share; (errors, usable)."""
    sel = spec.get("selector")
    if sel is None:
        return [required("spec.selector", "")], True
    errs = _selector_errors(sel, "spec.selector")
    sel = _d(sel)
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        errs.append(invalid("spec.selector", _go_selector(sel), f"empty selector is invalid for {kind}"))
    return errs, not errs or all(e[0].startswith("spec.selector") and "empty selector" in e[2] for e in errs)


def _template_for_workload(spec: dict, kind: str, check_match: bool = True) -> ErrorList:
    """ValidatePodTemplateSpecForReplicaSet: labels match the selector, restartPolicy Always."""
    tpl = _d(spec.get("template"))
    errs: ErrorList = []
    sel = spec.get("selector")
    labels = _d(tpl.get("metadata")).get("labels")
    non_empty = sel is None or bool(_d(sel).get("matchLabels") or _d(sel).get("matchExpressions"))
    if check_match and non_empty and not selector_matches(_d(sel) if sel is not None else None, labels):
        errs.append(invalid("spec.template.metadata.labels", Go(_go_map(labels if isinstance(labels, dict) else None)),
                            "`selector` does not match template `labels`"))
    errs += validate_pod_template(tpl, "spec.template")
    pod = _d(tpl.get("spec"))
    if pod.get("restartPolicy") != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", pod.get("restartPolicy") or "", ("Always",)))
    if pod.get("activeDeadlineSeconds") is not None:
        if kind == "DaemonSet":
            errs.append(invalid("spec.template.spec.activeDeadlineSeconds", pod["activeDeadlineSeconds"],
                                "activeDeadlineSeconds in DaemonSet is not Supported"))
        else:
            errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind} is not Supported"))
    return errs


def _selector_immutable(obj: dict, old: dict | None) -> ErrorList:
    if old is None:
        return []
    new_sel, old_sel = _d(obj.get("spec")).get("selector"), _d(old.get("spec")).get("selector")
    if not _semantic_equal(new_sel, old_sel):
        return [invalid("spec.selector", _go_selector(new_sel), IMMUTABLE_MSG)]
    return []


def validate_deployment(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    errs = _nonnegative("spec.replicas", spec.get("replicas"))
    sel_errs, usable = _workload_selector(spec, "deployment")
    errs += sel_errs
    if usable:
        errs += _template_for_workload(spec, "ReplicaSet")
    else:
        errs.append(invalid("spec.selector", _go_selector(spec.get("selector")), "invalid label selector"))
    errs += _deployment_strategy(_d(spec.get("strategy")))
    errs += _nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    errs += _nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    pds = spec.get("progressDeadlineSeconds")
    if isinstance(pds, int):
        errs += _nonnegative("spec.progressDeadlineSeconds", pds)
        if pds <= _int(spec.get("minReadySeconds")):
            errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs + _selector_immutable(obj, old)


def _go_deployment_strategy(s: dict) -> Go:
    ru = s.get("rollingUpdate")
    return Go(f'apps.DeploymentStrategy{{Type:{_q(s.get("type") or "")}, '
              f'RollingUpdate:{_go_ptr(ru, "apps.RollingUpdateDeployment")}}}')


def _deployment_strategy(s: dict) -> ErrorList:
    t, ru = s.get("type") or "", s.get("rollingUpdate")
    p = "spec.strategy"
    if t == "Recreate":
        return [forbidden(f"{p}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")] if ru is not None else []
    if t == "RollingUpdate":
        if ru is None:
            return [required(f"{p}.rollingUpdate", "this should be defaulted and never be nil")]
        ru, rp = _d(ru), f"{p}.rollingUpdate"
        mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
        errs = _positive_int_or_percent(mu, f"{rp}.maxUnavailable") + _positive_int_or_percent(ms, f"{rp}.maxSurge")
        if _int_or_percent_value(mu) == 0 and _int_or_percent_value(ms) == 0:
            errs.append(invalid(f"{rp}.maxUnavailable", _go_intstr(mu if mu is not None else 0), "may not be 0 when `maxSurge` is 0"))
        return errs + _not_more_than_100(mu, f"{rp}.maxUnavailable")
    return [not_supported(p, _go_deployment_strategy(s), ("Recreate", "RollingUpdate"))]


def validate_replicaset(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    errs = _nonnegative("spec.replicas", spec.get("replicas"))
    errs += _nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    sel_errs, usable = _workload_selector(spec, "deployment")  # sic: Go says "deployment" here too
    errs += sel_errs
    if usable:
        errs += _template_for_workload(spec, "ReplicaSet")
    else:
        errs.append(invalid("spec.selector", _go_selector(spec.get("selector")), "invalid label selector"))
    return errs + _selector_immutable(obj, old)


def validate_daemonset(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    sel = spec.get("selector")
    errs: ErrorList = []
    if sel is None:
        errs.append(required("spec.selector", ""))
    sel_errs = _selector_errors(sel, "spec.selector")
    errs += sel_errs
    if sel is not None and not _d(sel).get("matchLabels") and not _d(sel).get("matchExpressions"):
        errs.append(invalid("spec.selector", _go_selector(sel), "empty selector is invalid for daemonset"))
    errs += _template_for_workload(spec, "DaemonSet", check_match=not sel_errs)
    errs += _nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    errs += _nonnegative("spec.templateGeneration", spec.get("templateGeneration"))
    errs += _daemonset_strategy(_d(spec.get("updateStrategy")))
    errs += _nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    return errs + _selector_immutable(obj, old)


def _daemonset_strategy(s: dict) -> ErrorList:
    t, p = s.get("type") or "", "spec.updateStrategy"
    if t == "OnDelete":
        return []
    if t == "RollingUpdate":
        ru = s.get("rollingUpdate")
        if ru is None:
            return [required(f"{p}.rollingUpdate", "")]
        ru, rp = _d(ru), f"{p}.rollingUpdate"
        mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
        errs = _positive_int_or_percent(mu, f"{rp}.maxUnavailable") + _positive_int_or_percent(ms, f"{rp}.maxSurge")
        errs += _not_more_than_100(mu, f"{rp}.maxUnavailable") + _not_more_than_100(ms, f"{rp}.maxSurge")
        has_u, has_s = _int_or_percent_value(mu) != 0, _int_or_percent_value(ms) != 0
        if has_u and has_s:
            errs.append(invalid(f"{rp}.maxSurge", _go_intstr(ms), "may not be set when maxUnavailable is non-zero"))
        elif not has_u and not has_s:
            errs.append(required(f"{rp}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
        return errs
    ru = s.get("rollingUpdate")
    return [not_supported(p, Go(f'apps.DaemonSetUpdateStrategy{{Type:{_q(t)}, '
                                f'RollingUpdate:{_go_ptr(ru, "apps.RollingUpdateDaemonSet")}}}'),
                          ("RollingUpdate", "OnDelete"))]


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds")


def validate_statefulset(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    errs: ErrorList = []
    pmp = spec.get("podManagementPolicy") or ""
    if not pmp:
        errs.append(required("spec.podManagementPolicy", ""))
    elif pmp not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    us = _d(spec.get("updateStrategy"))
    t = us.get("type") or ""
    if not t:
        errs.append(required("spec.updateStrategy", ""))
    elif t == "OnDelete":
        if us.get("rollingUpdate") is not None:
            errs.append(invalid("spec.updateStrategy.rollingUpdate",
                                Go("apps.RollingUpdateStatefulSetStrategy{...}"), "only allowed for updateStrategy 'RollingUpdate'"))
    elif t == "RollingUpdate":
        errs += _nonnegative("spec.updateStrategy.rollingUpdate.partition", _d(us.get("rollingUpdate")).get("partition"))
    else:
        errs.append(invalid("spec.updateStrategy", Go(f'apps.StatefulSetUpdateStrategy{{Type:{_q(t)}, '
                                                       f'RollingUpdate:{_go_ptr(us.get("rollingUpdate"), "apps.RollingUpdateStatefulSetStrategy")}}}'),
                            "must be 'RollingUpdate' or 'OnDelete'"))
    policy = _d(spec.get("persistentVolumeClaimRetentionPolicy"))
    for f in ("whenDeleted", "whenScaled"):
        v = policy.get(f)
        if v not in ("Retain", "Delete"):
            errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{f}", v or "", ("Retain", "Delete")))
    errs += _nonnegative("spec.replicas", spec.get("replicas"))
    errs += _nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    errs += _nonnegative("spec.ordinals.start", _d(spec.get("ordinals")).get("start"))
    sel_errs, usable = _workload_selector(spec, "statefulset")
    errs += sel_errs
    if usable:
        tpl_errs = _template_for_workload(spec, "StatefulSet")
        errs += tpl_errs
    else:
        errs.append(invalid("spec.selector", _go_selector(spec.get("selector")), ""))
        pod = _d(_d(spec.get("template")).get("spec"))
        if pod.get("restartPolicy") != "Always":
            errs.append(not_supported("spec.template.spec.restartPolicy", pod.get("restartPolicy") or "", ("Always",)))
    if old is not None:
        old_spec = _d(old.get("spec"))
        strip = lambda s: {k: v for k, v in s.items() if k not in _STS_MUTABLE}  # noqa: E731
        if not _semantic_equal(strip(spec), strip(old_spec)):
            errs.append(forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                          "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                                          "'minReadySeconds' are forbidden"))
    return errs


# --- Service -------------------------------------------------------------------------------------

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _go_service_port_key(protocol: str, port: Any) -> Go:
    return Go(f'core.ServicePort{{Name:"", Protocol:{_q(protocol)}, AppProtocol:(*string)(nil), Port:{_int(port)}, '
              'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}')


def validate_service(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    typ = spec.get("type") or ""
    ports = _l(spec.get("ports"))
    headless = spec.get("clusterIP") == "None"
    cips = _l(spec.get("clusterIPs"))
    errs: ErrorList = []
    if old is not None:
        errs += _service_update(spec, _d(old.get("spec")))
    if not ports and not headless and typ != "ExternalName":
        errs.append(required("spec.ports", ""))
    if typ in ("LoadBalancer", "NodePort"):
        for i, p in enumerate(ports):
            if typ == "LoadBalancer" and _d(p).get("port") == 10250:
                errs.append(invalid(f"spec.ports[{i}]", 10250, "may not expose port 10250 externally since it is used by kubelet"))
        if headless:
            errs.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {typ} services"))
    elif typ == "ExternalName":
        if cips:
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if spec.get("ipFamilies"):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            errs += [invalid("spec.externalName", cname, m) for m in dns1123_subdomain(cname)]
        else:
            errs.append(required("spec.externalName", ""))
    names: set[str] = set()
    for i, sp in enumerate(ports):
        sp, p = _d(sp), f"spec.ports[{i}]"
        name = sp.get("name") or ""
        if len(ports) > 1 and not name:
            errs.append(required(f"{p}.name", ""))
        elif name:
            errs += [invalid(f"{p}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        if not _port_num_ok(sp.get("port")):
            errs.append(invalid(f"{p}.port", _int(sp.get("port")), PORT_RANGE_MSG))
        proto = sp.get("protocol")
        if not proto:
            errs.append(required(f"{p}.protocol", ""))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", proto, PROTOCOLS))
        errs += _port_num_or_name(sp.get("targetPort", 0), f"{p}.targetPort")
        if sp.get("appProtocol") is not None:
            errs += [invalid(f"{p}.appProtocol", sp["appProtocol"], m) for m in qualified_name(str(sp["appProtocol"]))]
        np = sp.get("nodePort")
        if np and not _port_num_ok(np):
            errs.append(invalid(f"{p}.nodePort", np, PORT_RANGE_MSG))
    if spec.get("selector") is not None:
        errs += _labels(spec.get("selector"), "spec.selector")
    sa = spec.get("sessionAffinity") or ""
    if not sa:
        errs.append(required("spec.sessionAffinity", ""))
    elif sa not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", sa, ("ClientIP", "None")))
    if sa == "ClientIP":
        timeout = _d(_d(spec.get("sessionAffinityConfig")).get("clientIP")).get("timeoutSeconds")
        if spec.get("sessionAffinityConfig") is None or _d(spec["sessionAffinityConfig"]).get("clientIP") is None:
            errs.append(required("spec.sessionAffinityConfig.clientIP", ""))
        elif not isinstance(timeout, int) or not 0 < timeout <= 86400:
            errs.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                                "must be greater than 0 and less than 86400"))
    elif sa == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    cip = spec.get("clusterIP") or ""
    if cip and cips and cip != cips[0]:
        errs.append(invalid("spec.clusterIPs", cips, "first value must match `clusterIP`"))
    if not typ:
        errs.append(required("spec.type", ""))
    elif typ not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", typ, SERVICE_TYPES))
    if typ == "ClusterIP":
        for i, sp in enumerate(ports):
            if _d(sp).get("nodePort"):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    seen_np: set[tuple] = set()
    seen: set[tuple] = set()
    for i, sp in enumerate(ports):
        sp = _d(sp)
        if sp.get("nodePort"):
            key = (sp.get("protocol"), sp.get("nodePort"))
            if key in seen_np:
                errs.append(duplicate(f"spec.ports[{i}].nodePort", sp["nodePort"]))
            seen_np.add(key)
        key = (sp.get("protocol") or "", _int(sp.get("port")))
        if key in seen:
            errs.append(duplicate(f"spec.ports[{i}]", _go_service_port_key(*key)))
        seen.add(key)
    etp = spec.get("externalTrafficPolicy")
    externally = typ in ("NodePort", "LoadBalancer") or (typ == "ClusterIP" and spec.get("externalIPs"))
    if etp and not externally:
        errs.append(invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"))
    elif externally and not etp:
        errs.append(required("spec.externalTrafficPolicy", ""))
    elif etp and etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ("Cluster", "Local")))
    itp = spec.get("internalTrafficPolicy")
    if typ in ("ClusterIP", "NodePort", "LoadBalancer") and not itp:
        errs.append(required("spec.internalTrafficPolicy", ""))
    elif itp and itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ("Cluster", "Local")))
    return errs


def _service_update(new: dict, old: dict) -> ErrorList:
    """validateUpgradeDowngradeClusterIPs: the primary cluster IP may not change (unless the
    Service goes to or from ExternalName). Go prints the whole list as the bad value."""
    if "ExternalName" in (new.get("type"), old.get("type")):
        return []
    new_ips, old_ips = _l(new.get("clusterIPs")), _l(old.get("clusterIPs"))
    if new_ips and old_ips and new_ips[0] != old_ips[0]:
        return [invalid("spec.clusterIPs[0]", new_ips, "may not change once set")]
    return []


# --- Secret, ConfigMap ---------------------------------------------------------------------------

MAX_SECRET_SIZE = 1024 * 1024
_IMMUTABLE_SET = "field is immutable when `immutable` is set"


def _b64_problem(v: Any) -> str | None:
    """Why ``v`` is not what Go's encoding/json reads into a []byte (base64.StdEncoding; CR and LF
    are skipped), or None."""
    if not isinstance(v, str):
        return "must be a base64-encoded string"
    s = v.replace("\r", "").replace("\n", "")
    for i, c in enumerate(s):
        if not (c.isascii() and (c.isalnum() or c in "+/=")):
            return f"illegal base64 data at input byte {i}"
    try:
        base64.b64decode(s, validate=True)
    except binascii.Error:
        return f"illegal base64 data at input byte {max(len(s) - len(s) % 4, 0) if len(s) % 4 else len(s) - 1}"
    return None


def _b64_len(v: Any) -> int:
    try:
        return len(base64.b64decode(str(v).replace("\r", "").replace("\n", ""), validate=True))
    except (binascii.Error, ValueError):
        return 0


def validate_secret(obj: dict, old: dict | None) -> ErrorList:
    errs: ErrorList = []
    data = obj.get("data")
    total = 0
    for k, v in _d(data).items():
        errs += [invalid(f"data[{k}]", k, m) for m in config_map_key(k)]
        problem = _b64_problem(v)
        if problem:
            # A real server fails to decode such a body: 400 "Secret in version \"v1\" cannot be
            # handled as a Secret: illegal base64 data at input byte N". Reported here as an
            # invalid value (redacted, as Go redacts secret contents in its messages).
            errs.append(invalid(f"data[{k}]", "<secret contents redacted>", problem))
        total += _b64_len(v)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    typ = obj.get("type") or ""
    meta = _d(obj.get("metadata"))
    data = _d(data)
    if typ == "kubernetes.io/service-account-token":
        if not _d(meta.get("annotations")).get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]", ""))
    elif typ in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if typ.endswith("dockercfg") else ".dockerconfigjson"
        if key not in data:
            errs.append(required(f"data[{key}]", ""))
        else:
            try:
                parsed = json.loads(base64.b64decode(data[key]))
                if not isinstance(parsed, dict):
                    raise ValueError
            except ValueError:
                errs.append(invalid(f"data[{key}]", "<secret contents redacted>", "invalid character looking for beginning of value"))
    elif typ == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs += [required("data[username]", ""), required("data[password]", "")]
    elif typ == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.append(required("data[ssh-privatekey]", ""))
    elif typ == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errs.append(required(f"data[{key}]", ""))
    if old is not None:
        first: ErrorList = []
        if (obj.get("type") or "") != (old.get("type") or ""):
            first.append(invalid("type", obj.get("type") or "", IMMUTABLE_MSG))
        errs[:0] = first + _immutable_data(obj, old, ("data",))
    return errs


def _immutable_data(obj: dict, old: dict, fields: tuple[str, ...]) -> ErrorList:
    if old.get("immutable") is not True:
        return []
    errs: ErrorList = []
    if obj.get("immutable") is not True:
        errs.append(forbidden("immutable", _IMMUTABLE_SET))
    for f in fields:
        if (obj.get(f) or {}) != (old.get(f) or {}):
            errs.append(forbidden(f, _IMMUTABLE_SET))
    return errs


def validate_configmap(obj: dict, old: dict | None) -> ErrorList:
    errs: ErrorList = []
    data, binary = _d(obj.get("data")), _d(obj.get("binaryData"))
    total = 0
    for k, v in data.items():
        errs += [invalid(f"data[{k}]", k, m) for m in config_map_key(k)]
        if k in binary:
            errs.append(invalid(f"data[{k}]", k, "duplicate of key present in binaryData"))
        if not isinstance(v, str):
            errs.append(type_invalid(f"data[{k}]", v, "must be of type string"))
            continue
        total += len(v.encode())
    for k, v in binary.items():
        errs += [invalid(f"binaryData[{k}]", k, m) for m in config_map_key(k)]
        if k in data:
            errs.append(invalid(f"binaryData[{k}]", k, "duplicate of key present in data"))
        problem = _b64_problem(v)
        if problem:  # a 400 decode error on a real server, as for Secret data
            errs.append(type_invalid(f"binaryData[{k}]", v, problem))
        total += _b64_len(v)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", MAX_SECRET_SIZE))
    if old is not None:
        errs[:0] = _immutable_data(obj, old, ("data", "binaryData"))
    return errs


# --- rbac.authorization.k8s.io/v1 ----------------------------------------------------------------

RBAC_GROUP = "rbac.authorization.k8s.io"


def _path_segment(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _rules(rules: Any, namespaced: bool) -> ErrorList:
    errs: ErrorList = []
    for i, rule in enumerate(_l(rules)):
        rule, p = _d(rule), f"rules[{i}]"
        if not _l(rule.get("verbs")):
            errs.append(required(f"{p}.verbs", "verbs must contain at least one value"))
        urls = _l(rule.get("nonResourceURLs"))
        if urls:
            if namespaced:
                errs.append(invalid(f"{p}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.append(invalid(f"{p}.nonResourceURLs", urls,
                                    "rules cannot apply to both regular resources and non-resource URLs"))
            continue
        if not _l(rule.get("apiGroups")):
            errs.append(required(f"{p}.apiGroups", "resource rules must supply at least one api group"))
        if not _l(rule.get("resources")):
            errs.append(required(f"{p}.resources", "resource rules must supply at least one resource"))
    return errs


def validate_role(obj: dict, old: dict | None) -> ErrorList:
    return _rules(obj.get("rules"), True)


def validate_clusterrole(obj: dict, old: dict | None) -> ErrorList:
    errs = _rules(obj.get("rules"), False)
    agg = obj.get("aggregationRule")
    if agg is not None:
        selectors = _l(_d(agg).get("clusterRoleSelectors"))
        if not selectors:
            errs.append(required("aggregationRule.clusterRoleSelectors",
                                 "at least one clusterRoleSelector required if aggregationRule is non-nil"))
        for i, sel in enumerate(selectors):
            errs += _selector_errors(sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    return errs


def _go_role_ref(r: dict) -> Go:
    return Go(f'rbac.RoleRef{{APIGroup:{_q(r.get("apiGroup") or "")}, Kind:{_q(r.get("kind") or "")}, '
              f'Name:{_q(r.get("name") or "")}}}')


def _binding(obj: dict, old: dict | None, namespaced: bool) -> ErrorList:
    ref = _d(obj.get("roleRef"))
    errs: ErrorList = []
    if (ref.get("apiGroup") or "") != RBAC_GROUP:
        errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC_GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if (ref.get("kind") or "") not in kinds:
        errs.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    name = ref.get("name") or ""
    if not name:
        errs.append(required("roleRef.name", ""))
    else:
        errs += [invalid("roleRef.name", name, m) for m in _path_segment(name)]
    for i, s in enumerate(_l(obj.get("subjects"))):
        s, p = _d(s), f"subjects[{i}]"
        sname, kind, group = s.get("name") or "", s.get("kind") or "", s.get("apiGroup") or ""
        if not sname:
            errs.append(required(f"{p}.name", ""))
        if kind == "ServiceAccount":
            if sname:
                errs += [invalid(f"{p}.name", sname, m) for m in dns1123_subdomain(sname)]
            if group:
                errs.append(not_supported(f"{p}.apiGroup", group, ("",)))
            if not namespaced and not s.get("namespace"):
                errs.append(required(f"{p}.namespace", ""))
        elif kind in ("User", "Group"):
            if group != RBAC_GROUP:
                errs.append(not_supported(f"{p}.apiGroup", group, (RBAC_GROUP,)))
        else:
            errs.append(not_supported(f"{p}.kind", kind, ("ServiceAccount", "User", "Group")))
    if old is not None:
        old_ref = _d(old.get("roleRef"))
        if any((ref.get(k) or "") != (old_ref.get(k) or "") for k in ("apiGroup", "kind", "name")):
            errs.append(invalid("roleRef", _go_role_ref(ref), "cannot change roleRef"))
    return errs


def validate_rolebinding(obj: dict, old: dict | None) -> ErrorList:
    return _binding(obj, old, True)


def validate_clusterrolebinding(obj: dict, old: dict | None) -> ErrorList:
    return _binding(obj, old, False)


# --- admissionregistration.k8s.io/v1 webhooks ----------------------------------------------------

_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_SCOPES = ("*", "Cluster", "Namespaced")


def _fully_qualified(name: str, path: str) -> ErrorList:
    if not name:
        return [required(path, "")]
    msgs = dns1123_subdomain(name)
    if msgs:
        return [invalid(path, name, ",".join(msgs))]
    if len(name.split(".")) < 3:
        return [invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def _webhook_rule(rule: dict, path: str) -> ErrorList:
    errs: ErrorList = []
    ops = _l(rule.get("operations"))
    if not ops:
        errs.append(required(f"{path}.operations", ""))
    if len(ops) > 1 and "*" in ops:
        errs.append(invalid(f"{path}.operations", ops, "if '*' is present, must not specify other operations"))
    for i, op in enumerate(ops):
        if op not in _OPERATIONS:
            errs.append(not_supported(f"{path}.operations[{i}]", op, _OPERATIONS))
    groups, versions = _l(rule.get("apiGroups")), _l(rule.get("apiVersions"))
    if not groups:
        errs.append(required(f"{path}.apiGroups", ""))
    if len(groups) > 1 and "*" in groups:
        errs.append(invalid(f"{path}.apiGroups", groups, "if '*' is present, must not specify other API groups"))
    if not versions:
        errs.append(required(f"{path}.apiVersions", ""))
    if len(versions) > 1 and "*" in versions:
        errs.append(invalid(f"{path}.apiVersions", versions, "if '*' is present, must not specify other API versions"))
    for i, v in enumerate(versions):
        if not v:
            errs.append(required(f"{path}.apiVersions[{i}]", ""))
    resources = _l(rule.get("resources"))
    if not resources:
        errs.append(required(f"{path}.resources", ""))
    seen: set[str] = set()
    for i, r in enumerate(resources):
        if not r:
            errs.append(required(f"{path}.resources[{i}]", ""))
        if r in seen:
            errs.append(duplicate(f"{path}.resources[{i}]", r))
        seen.add(r)
    if "*" in resources and len(resources) > 1:
        errs.append(invalid(f"{path}.resources", resources, "if '*' is present, must not specify other resources without subresources"))
    scope = rule.get("scope")
    if scope is not None and scope not in _SCOPES:
        errs.append(not_supported(f"{path}.scope", scope, _SCOPES))
    return errs


def _webhook_url(url: str, path: str) -> ErrorList:
    from urllib.parse import urlsplit

    form = "; desired format: https://host[/path]"
    try:
        u = urlsplit(url)
    except ValueError as e:
        return [required(path, f"url must be a valid URL: {e}{form}")]
    errs: ErrorList = []
    if u.scheme != "https":
        errs.append(invalid(path, u.scheme, "'https' is the only allowed URL scheme" + form))
    host = u.netloc.rpartition("@")[2]
    if not host:
        errs.append(invalid(path, host, "host must be specified" + form))
    if "@" in u.netloc:
        errs.append(invalid(path, u.netloc.rpartition("@")[0], "user information is not permitted in the URL"))
    if u.fragment:
        errs.append(invalid(path, u.fragment, "fragments are not permitted in the URL"))
    if u.query:
        errs.append(invalid(path, u.query, "query parameters are not permitted in the URL"))
    return errs


def _webhooks(obj: dict, old: dict | None, mutating: bool) -> ErrorList:
    errs: ErrorList = []
    names: set[str] = set()
    old_side_effects = {_d(h).get("sideEffects") for h in _l((old or {}).get("webhooks"))}
    for i, hook in enumerate(_l(obj.get("webhooks"))):
        hook, p = _d(hook), f"webhooks[{i}]"
        name = hook.get("name") or ""
        errs += _fully_qualified(name, f"{p}.name")
        for j, rule in enumerate(_l(hook.get("rules"))):
            errs += _webhook_rule(_d(rule), f"{p}.rules[{j}]")
        fp = hook.get("failurePolicy")
        if fp is not None and fp not in ("Fail", "Ignore"):
            errs.append(not_supported(f"{p}.failurePolicy", fp, ("Fail", "Ignore")))
        mp = hook.get("matchPolicy")
        if mp is not None and mp not in ("Equivalent", "Exact"):
            errs.append(not_supported(f"{p}.matchPolicy", mp, ("Equivalent", "Exact")))
        se = hook.get("sideEffects")
        accepted = ("None", "NoneOnDryRun")
        if old is not None and old_side_effects & {"Some", "Unknown"}:
            accepted = ("None", "NoneOnDryRun", "Some", "Unknown")
        if se is None:
            errs.append(required(f"{p}.sideEffects", "must specify one of " + ", ".join(accepted)))
        elif se not in accepted:
            errs.append(not_supported(f"{p}.sideEffects", se, accepted))
        ts = hook.get("timeoutSeconds")
        if ts is not None and (not isinstance(ts, int) or not 1 <= ts <= 30):
            errs.append(invalid(f"{p}.timeoutSeconds", ts, "the timeout value must be between 1 and 30 seconds"))
        for sel in ("namespaceSelector", "objectSelector"):
            errs += _selector_errors(hook.get(sel), f"{p}.{sel}")
        if mutating:
            rp = hook.get("reinvocationPolicy")
            if rp is not None and rp not in ("IfNeeded", "Never"):
                errs.append(not_supported(f"{p}.reinvocationPolicy", rp, ("IfNeeded", "Never")))
        cc = _d(hook.get("clientConfig"))
        cp = f"{p}.clientConfig"
        if (cc.get("url") is None) == (cc.get("service") is None):
            errs.append(required(cp, "exactly one of url or service is required"))
        elif cc.get("url") is not None:
            errs += _webhook_url(str(cc["url"]), f"{cp}.url")
        else:
            svc, sp = _d(cc["service"]), f"{cp}.service"
            if not svc.get("name"):
                errs.append(required(f"{sp}.name", "service name is required"))
            if not svc.get("namespace"):
                errs.append(required(f"{sp}.namespace", "service namespace is required"))
            port = svc.get("port", 443)
            if not _port_num_ok(port):
                errs.append(invalid(f"{sp}.port", port, "port is not valid: " + PORT_RANGE_MSG))
            path = svc.get("path")
            if path and path != "/" and not str(path).startswith("/"):
                errs.append(invalid(f"{sp}.path", path, "must start with a '/'"))
        versions = hook.get("admissionReviewVersions")
        vp = f"{p}.admissionReviewVersions"
        if not _l(versions):
            errs.append(required(vp, "must specify one of v1, v1beta1"))
        else:
            seen: set[str] = set()
            for j, v in enumerate(versions):
                if v in seen:
                    errs.append(invalid(f"{vp}[{j}]", v, "duplicate version"))
                    continue
                seen.add(v)
                errs += [invalid(f"{vp}[{j}]", v, m) for m in dns1035_label(str(v))]
            if old is None and not seen & {"v1", "v1beta1"}:
                errs.append(invalid(vp, versions, "must include at least one of v1, v1beta1"))
        if name:
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
    return errs


def validate_mutating_webhooks(obj: dict, old: dict | None) -> ErrorList:
    return _webhooks(obj, old, True)


def validate_validating_webhooks(obj: dict, old: dict | None) -> ErrorList:
    return _webhooks(obj, old, False)


# --- CRD, HPA, PDB, EndpointSlice, Namespace -----------------------------------------------------


def validate_crd(obj: dict, old: dict | None) -> ErrorList:
    """What kinds.crd_to_type does not check: names, version names, schemas, conversion."""
    spec = _d(obj.get("spec"))
    names = _d(spec.get("names"))
    errs: ErrorList = []
    for f in ("plural", "singular"):
        v = names.get(f)
        if v:
            errs += [invalid(f"spec.names.{f}", v, m) for m in dns1035_label(v)]
    for f in ("kind", "listKind"):
        v = names.get(f)
        if v and not re.fullmatch(r"[A-Za-z][-_A-Za-z0-9]*", v) and v.lower() == v:
            errs.append(invalid(f"spec.names.{f}", v, "may have mixed case, but should otherwise match: "
                                                       f"{NAME_RULES['dns1035'][0]}"))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid("spec.names.listKind", names["listKind"], "kind and listKind may not be the same"))
    for i, short in enumerate(_l(names.get("shortNames"))):
        errs += [invalid(f"spec.names.shortNames[{i}]", short, m) for m in dns1035_label(str(short))]
    seen: set[str] = set()
    for i, v in enumerate(_l(spec.get("versions"))):
        v, p = _d(v), f"spec.versions[{i}]"
        vname = v.get("name") or ""
        if not vname:
            errs.append(required(f"{p}.name", ""))
        else:
            errs += [invalid(f"{p}.name", vname, m) for m in dns1035_label(vname)]
            if vname in seen:
                errs.append(invalid("spec.versions", spec["versions"], "must contain unique version names"))
            seen.add(vname)
        if v.get("served", True) and _d(v.get("schema")).get("openAPIV3Schema") is None:
            errs.append(required(f"{p}.schema.openAPIV3Schema", "schemas are required"))
    conv = _d(spec.get("conversion"))
    strategy = conv.get("strategy")
    if strategy is not None and strategy not in ("None", "Webhook"):
        errs.append(not_supported("spec.conversion.strategy", strategy, ("None", "Webhook")))
    if strategy == "Webhook" and conv.get("webhook") is None:
        errs.append(required("spec.conversion.webhook", "required when strategy is set to Webhook"))
    if old is not None:
        old_spec = _d(old.get("spec"))
        if spec.get("scope") != old_spec.get("scope"):
            errs.append(invalid("spec.scope", spec.get("scope") or "", IMMUTABLE_MSG))
        old_names = _d(old_spec.get("names"))
        if names.get("plural") != old_names.get("plural"):
            errs.append(invalid("spec.names.plural", names.get("plural") or "", IMMUTABLE_MSG))
    return errs


def validate_hpa(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    errs: ErrorList = []
    mn, mx = spec.get("minReplicas"), _int(spec.get("maxReplicas"))
    if isinstance(mn, int) and mn < 1:
        errs.append(invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
    if mx < 1:
        errs.append(invalid("spec.maxReplicas", mx, "must be greater than 0"))
    if isinstance(mn, int) and mx < mn:
        errs.append(invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
    ref = _d(spec.get("scaleTargetRef"))
    for f in ("kind", "name"):
        v = ref.get(f) or ""
        if not v:
            errs.append(required(f"spec.scaleTargetRef.{f}", ""))
        else:
            errs += [invalid(f"spec.scaleTargetRef.{f}", v, m) for m in _path_segment(v)]
    for i, m in enumerate(_l(spec.get("metrics"))):
        t = _d(m).get("type")
        types = ("ContainerResource", "External", "Object", "Pods", "Resource")
        if not t:
            errs.append(required(f"spec.metrics[{i}].type", "must specify a metric source type"))
        elif t not in types:
            errs.append(not_supported(f"spec.metrics[{i}].type", t, types))
    return errs


def validate_pdb(obj: dict, old: dict | None) -> ErrorList:
    spec = _d(obj.get("spec"))
    errs: ErrorList = []
    mina, maxu = spec.get("minAvailable"), spec.get("maxUnavailable")
    if mina is not None and maxu is not None:
        errs.append(invalid("spec", Go("policy.PodDisruptionBudgetSpec{...}"), "minAvailable and maxUnavailable cannot be both set"))
    for f, v in (("minAvailable", mina), ("maxUnavailable", maxu)):
        if v is not None:
            errs += _positive_int_or_percent(v, f"spec.{f}") + _not_more_than_100(v, f"spec.{f}")
    errs += _selector_errors(spec.get("selector"), "spec.selector")
    uep = spec.get("unhealthyPodEvictionPolicy")
    if uep is not None and uep not in ("AlwaysAllow", "IfHealthyBudget"):
        errs.append(not_supported("spec.unhealthyPodEvictionPolicy", uep, ("AlwaysAllow", "IfHealthyBudget")))
    return errs


def validate_endpointslice(obj: dict, old: dict | None) -> ErrorList:
    at = obj.get("addressType") or ""
    types = ("FQDN", "IPv4", "IPv6")
    errs: ErrorList = []
    if not at:
        errs.append(required("addressType", ""))
    elif at not in types:
        errs.append(not_supported("addressType", at, types))
    if old is not None and at != (old.get("addressType") or ""):
        errs.append(invalid("addressType", at, IMMUTABLE_MSG))
    for i, ep in enumerate(_l(obj.get("endpoints"))):
        addrs = _l(_d(ep).get("addresses"))
        if not addrs:
            errs.append(required(f"endpoints[{i}].addresses", "must contain at least 1 address"))
        elif len(addrs) > 100:
            errs.append(too_many(f"endpoints[{i}].addresses", len(addrs), 100))
    return errs


_STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def validate_namespace(obj: dict, old: dict | None) -> ErrorList:
    errs: ErrorList = []
    for f in _l(_d(obj.get("spec")).get("finalizers")):
        f = str(f)
        errs += [invalid("spec.finalizers", f, m) for m in qualified_name(f)]
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            errs.append(invalid("spec.finalizers", f, "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def validate_serviceaccount(obj: dict, old: dict | None) -> ErrorList:
    return []  # ObjectMeta only (validate_metadata); secrets and imagePullSecrets are references


# --- defaulting (pkg/apis/*/v1/defaults.go, plus what registries do on write) ---------------------


def _image_tag(image: str) -> str:
    """The tag parsers.ParseImageName finds: "latest" when neither tag nor digest is given."""
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if at else "latest"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for f, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(f):
            probe[f] = v
    _default_handler(probe)


def _default_handler(h: dict) -> None:
    get = h.get("httpGet")
    if isinstance(get, dict):
        if not get.get("path"):
            get["path"] = "/"
        if not get.get("scheme"):
            get["scheme"] = "HTTP"


def _default_container(c: Any, host_network: bool) -> None:
    if not isinstance(c, dict):
        return
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = "Always" if _image_tag(str(c.get("image") or "")) == "latest" else "IfNotPresent"
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    for port in _l(c.get("ports")):
        if isinstance(port, dict):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            if host_network and not port.get("hostPort") and port.get("containerPort"):
                port["hostPort"] = port["containerPort"]
    for ev in _l(c.get("env")):
        ref = _d(_d(ev).get("valueFrom")).get("fieldRef")
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    for hook in ("postStart", "preStop"):
        h = _d(c.get("lifecycle")).get(hook)
        if isinstance(h, dict):
            _default_handler(h)
    res = c.get("resources")
    if isinstance(res, dict):
        for kind in ("limits", "requests"):
            rl = res.get(kind)
            if isinstance(rl, dict):  # stored and served in canonical form, as Quantity marshals it
                for k, q in rl.items():
                    rl[k] = canonical_quantity(q)


def _default_volume(vol: Any) -> None:
    if not isinstance(vol, dict):
        return
    if not any(vol.get(s) is not None for s in VOLUME_SOURCES):
        vol["emptyDir"] = {}
    for kind in ("secret", "configMap", "projected", "downwardAPI"):
        src = vol.get(kind)
        if isinstance(src, dict) and src.get("defaultMode") is None:
            src["defaultMode"] = 420
    hp = vol.get("hostPath")
    if isinstance(hp, dict) and hp.get("type") is None:
        hp["type"] = ""
    for item in _l(_d(vol.get("downwardAPI")).get("items")):
        ref = _d(item).get("fieldRef")
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"
    for source in _l(_d(vol.get("projected")).get("sources")):
        token = _d(source).get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600
        for item in _l(_d(_d(source).get("downwardAPI")).get("items")):
            ref = _d(item).get("fieldRef")
            if isinstance(ref, dict) and not ref.get("apiVersion"):
                ref["apiVersion"] = "v1"
    sl = _d(vol.get("emptyDir")).get("sizeLimit")
    if sl is not None:
        vol["emptyDir"]["sizeLimit"] = canonical_quantity(sl)


def default_pod_spec(spec: Any, *, pod: bool = False) -> None:
    """SetDefaults_PodSpec and its parts (containers, ports, probes, volumes, env)."""
    if not isinstance(spec, dict):
        return
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    # serviceAccount is the deprecated twin of serviceAccountName; conversion keeps them in step.
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    # Only Pods (SetDefaults_Pod) copy containerPort to hostPort under hostNetwork (the gate for
    # templates is off) and default requests to limits.
    host_network = pod and spec.get("hostNetwork") is True
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _l(spec.get(key)):
            _default_container(c, host_network)
            if pod and key != "ephemeralContainers" and isinstance(c, dict):
                res = c.get("resources")
                if isinstance(res, dict) and isinstance(res.get("limits"), dict):
                    requests = res.setdefault("requests", {})
                    if isinstance(requests, dict):
                        for k, v in res["limits"].items():
                            requests.setdefault(k, v)
    for vol in _l(spec.get("volumes")):
        _default_volume(vol)


_SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def default_pod(obj: dict, old: dict | None) -> None:
    spec = obj.get("spec")
    default_pod_spec(spec, pod=True)
    if isinstance(spec, dict) and old is None:
        # The Priority admission plugin: no PriorityClass objects exist in the fake, so only the
        # built-in classes and "none" (priority 0) resolve.
        pcn = spec.get("priorityClassName") or ""
        if spec.get("priority") is None and (not pcn or pcn in _SYSTEM_PRIORITIES):
            spec["priority"] = _SYSTEM_PRIORITIES.get(pcn, 0)
        if spec.get("preemptionPolicy") is None and (not pcn or pcn in _SYSTEM_PRIORITIES):
            spec["preemptionPolicy"] = "PreemptLowerPriority"


def _default_template(obj: dict) -> None:
    default_pod_spec(_d(_d(obj.get("spec")).get("template")).get("spec"))


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    if spec is None:
        spec = obj["spec"] = {}
    return spec if isinstance(spec, dict) else {}


def default_deployment(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            ru = strategy.get("rollingUpdate")
            if ru is None:
                ru = strategy["rollingUpdate"] = {}
            if isinstance(ru, dict):
                for f in ("maxUnavailable", "maxSurge"):
                    if ru.get(f) is None:
                        ru[f] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _default_template(obj)


def default_daemonset(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    us = spec.setdefault("updateStrategy", {})
    if isinstance(us, dict):
        if not us.get("type"):
            us["type"] = "RollingUpdate"
        if us["type"] == "RollingUpdate":
            ru = us.get("rollingUpdate")
            if ru is None:
                ru = us["rollingUpdate"] = {}
            if isinstance(ru, dict):
                if ru.get("maxUnavailable") is None:
                    ru["maxUnavailable"] = 1
                if ru.get("maxSurge") is None:
                    ru["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _default_template(obj)


def default_statefulset(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    us = spec.setdefault("updateStrategy", {})
    if isinstance(us, dict):
        if not us.get("type"):
            us["type"] = "RollingUpdate"
            if us.get("rollingUpdate") is None:
                us["rollingUpdate"] = {}
        ru = us.get("rollingUpdate")
        if us["type"] == "RollingUpdate" and isinstance(ru, dict) and ru.get("partition") is None:
            ru["partition"] = 0
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    if isinstance(policy, dict):
        for f in ("whenDeleted", "whenScaled"):
            if not policy.get(f):
                policy[f] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    for pvc in _l(spec.get("volumeClaimTemplates")):
        pspec = _d(pvc).get("spec")
        if isinstance(pspec, dict) and not pspec.get("volumeMode"):
            pspec["volumeMode"] = "Filesystem"
    _default_template(obj)


def default_replicaset(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _default_template(obj)


def default_service(obj: dict, old: dict | None, allocate_ip: Callable[[], str] | None = None) -> None:
    """SetDefaults_Service plus what the Service registry does on create/update: allocate the
    cluster IP, mirror clusterIP/clusterIPs, set the IP family fields, and on update keep the
    allocated values the new object leaves out. Node ports are not allocated."""
    spec = _spec(obj)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    typ = spec["type"]
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP":
        cfg = spec.setdefault("sessionAffinityConfig", {})
        if isinstance(cfg, dict):
            cip = cfg.setdefault("clientIP", {})
            if isinstance(cip, dict) and cip.get("timeoutSeconds") is None:
                cip["timeoutSeconds"] = 10800
    for sp in _l(spec.get("ports")):
        if not isinstance(sp, dict):
            continue
        if not sp.get("protocol"):
            sp["protocol"] = "TCP"
        if sp.get("targetPort") in (None, 0, ""):
            sp["targetPort"] = sp.get("port")
    externally = typ in ("NodePort", "LoadBalancer") or (typ == "ClusterIP" and spec.get("externalIPs"))
    if externally and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and typ in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if typ == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if typ == "ExternalName":
        return
    old_spec = _d((old or {}).get("spec"))
    if old is not None and old_spec.get("type") != "ExternalName":
        # patchAllocatedValues: an update that leaves out the allocated values keeps them.
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
        if typ in ("NodePort", "LoadBalancer") and old_spec.get("type") in ("NodePort", "LoadBalancer"):
            old_np = {(_d(p).get("port"), _d(p).get("protocol") or "TCP"): _d(p).get("nodePort")
                      for p in _l(old_spec.get("ports"))}
            for sp in _l(spec.get("ports")):
                if isinstance(sp, dict) and not sp.get("nodePort"):
                    np = old_np.get((sp.get("port"), sp.get("protocol")))
                    if np:
                        sp["nodePort"] = np
        if spec.get("clusterIPs") == old_spec.get("clusterIPs"):
            for f in ("ipFamilies", "ipFamilyPolicy"):
                if spec.get(f) is None and old_spec.get(f) is not None:
                    spec[f] = old_spec[f]
    cip, cips = spec.get("clusterIP") or "", _l(spec.get("clusterIPs"))
    if cip and not cips:
        spec["clusterIPs"] = [cip]
    elif cips and not cip:
        spec["clusterIP"] = cips[0]
    elif cip and cips and old is not None and cips == old_spec.get("clusterIPs") and cip != old_spec.get("clusterIP"):
        spec["clusterIPs"] = [cip] + list(cips[1:])  # the user changed only the singular field
    if not spec.get("clusterIP") and allocate_ip is not None:
        ip = allocate_ip()
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    if spec.get("ipFamilyPolicy") is None:
        headless_unselected = spec.get("clusterIP") == "None" and not spec.get("selector")
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_unselected else "SingleStack"
    if not spec.get("ipFamilies"):
        first = (_l(spec.get("clusterIPs")) or [""])[0]
        spec["ipFamilies"] = ["IPv6"] if ":" in str(first) else ["IPv4"]


def default_secret(obj: dict, old: dict | None) -> None:
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
    if not obj.get("type"):
        obj["type"] = "Opaque"


def default_namespace(obj: dict, old: dict | None) -> None:
    """SetDefaults_Namespace's name label; on create the strategy adds the "kubernetes" finalizer."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and meta.get("name"):
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels["kubernetes.io/metadata.name"] = meta["name"]
    if old is None:
        spec = _spec(obj)
        finalizers = spec.get("finalizers")
        if not isinstance(finalizers, list):
            finalizers = spec["finalizers"] = []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")


def _default_binding(obj: dict, old: dict | None) -> None:
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for s in _l(obj.get("subjects")):
        if isinstance(s, dict) and not s.get("apiGroup") and s.get("kind") in ("User", "Group"):
            s["apiGroup"] = RBAC_GROUP


def _default_webhooks(obj: dict, mutating: bool) -> None:
    for hook in _l(obj.get("webhooks")):
        if not isinstance(hook, dict):
            continue
        if hook.get("failurePolicy") is None:
            hook["failurePolicy"] = "Fail"
        if hook.get("matchPolicy") is None:
            hook["matchPolicy"] = "Equivalent"
        for sel in ("namespaceSelector", "objectSelector"):
            if hook.get(sel) is None:
                hook[sel] = {}
        if hook.get("timeoutSeconds") is None:
            hook["timeoutSeconds"] = 10
        if mutating and hook.get("reinvocationPolicy") is None:
            hook["reinvocationPolicy"] = "Never"
        for rule in _l(hook.get("rules")):
            if isinstance(rule, dict) and rule.get("scope") is None:
                rule["scope"] = "*"
        svc = _d(hook.get("clientConfig")).get("service")
        if isinstance(svc, dict) and svc.get("port") is None:
            svc["port"] = 443


def default_crd(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        if not names.get("singular"):
            names["singular"] = names["kind"].lower()
        if not names.get("listKind"):
            names["listKind"] = names["kind"] + "List"
    conv = spec.get("conversion")
    if conv is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conv, dict) and conv.get("strategy") == "Webhook":
        cc = _d(_d(conv.get("webhook")).get("clientConfig")).get("service")
        if isinstance(cc, dict) and cc.get("port") is None:
            cc["port"] = 443


_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
             "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                          {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_SCALE_DOWN = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
               "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_hpa(obj: dict, old: dict | None) -> None:
    spec = _spec(obj)
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for key, dflt in (("scaleUp", _SCALE_UP), ("scaleDown", _SCALE_DOWN)):
            rules = behavior.get(key)
            if not isinstance(rules, dict):
                rules = behavior[key] = {}
            for f, v in dflt.items():
                if rules.get(f) is None:
                    rules[f] = json.loads(json.dumps(v))


# --- dispatch ------------------------------------------------------------------------------------

_VALIDATORS: dict[Key, Callable[[dict, dict | None], ErrorList]] = {
    ("", "pods"): validate_pod,
    ("", "services"): validate_service,
    ("", "secrets"): validate_secret,
    ("", "configmaps"): validate_configmap,
    ("", "serviceaccounts"): validate_serviceaccount,
    ("", "namespaces"): validate_namespace,
    ("apps", "deployments"): validate_deployment,
    ("apps", "daemonsets"): validate_daemonset,
    ("apps", "statefulsets"): validate_statefulset,
    ("apps", "replicasets"): validate_replicaset,
    (RBAC_GROUP, "roles"): validate_role,
    (RBAC_GROUP, "clusterroles"): validate_clusterrole,
    (RBAC_GROUP, "rolebindings"): validate_rolebinding,
    (RBAC_GROUP, "clusterrolebindings"): validate_clusterrolebinding,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): validate_mutating_webhooks,
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): validate_validating_webhooks,
    ("apiextensions.k8s.io", "customresourcedefinitions"): validate_crd,
    ("autoscaling", "horizontalpodautoscalers"): validate_hpa,
    ("policy", "poddisruptionbudgets"): validate_pdb,
    ("discovery.k8s.io", "endpointslices"): validate_endpointslice,
}

_DEFAULTERS: dict[Key, Callable[[dict, dict | None], None]] = {
    ("", "pods"): default_pod,
    ("", "secrets"): default_secret,
    ("", "namespaces"): default_namespace,
    ("apps", "deployments"): default_deployment,
    ("apps", "daemonsets"): default_daemonset,
    ("apps", "statefulsets"): default_statefulset,
    ("apps", "replicasets"): default_replicaset,
    (RBAC_GROUP, "rolebindings"): _default_binding,
    (RBAC_GROUP, "clusterrolebindings"): _default_binding,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): lambda o, _old: _default_webhooks(o, True),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): lambda o, _old: _default_webhooks(o, False),
    ("apiextensions.k8s.io", "customresourcedefinitions"): default_crd,
    ("autoscaling", "horizontalpodautoscalers"): default_hpa,
}


def default(key: Key, obj: dict, old: dict | None, *, allocate_ip: Callable[[], str] | None = None) -> None:
    """Fill in what a real server defaults for kind ``key`` = (group, plural), in place. ``old``
    is the stored object on update (None on create); ``allocate_ip`` hands out a Service IP."""
    if not isinstance(obj, dict):
        return
    if key == ("", "services"):
        default_service(obj, old, allocate_ip)
        return
    fn = _DEFAULTERS.get(key)
    if fn is not None:
        fn(obj, old)


def validate(key: Key, obj: dict, old: dict | None) -> ErrorList:
    """The kind-specific rules for ``key`` (ObjectMeta is :func:`validate_metadata`'s); [] when
    valid or when the kind has no rules here."""
    fn = _VALIDATORS.get(key)
    if fn is None or not isinstance(obj, dict):
        return []
    return fn(obj, old if isinstance(old, dict) else None)
