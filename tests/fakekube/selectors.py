"""Label and field selectors with the real server's syntax and semantics.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
``a>1``, ``a<1``, comma-joined (all must hold). Like the real server, ``!=`` and ``notin`` also
match objects that lack the label.

Field selectors: ``field=value``, ``field==value``, ``field!=value`` over the fields a kind
supports (``metadata.name`` and ``metadata.namespace`` always); anything else is a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import bad_request

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        # > and < compare integers; a non-integer label value never matches.
        try:
            n = int(value) if has else None
        except ValueError:
            return False
        if n is None:
            return False
        return n > int(self.values[0]) if self.op == ">" else n < int(self.values[0])


class LabelSelector:
    def __init__(self, requirements: list[Requirement]) -> None:
        self.requirements = requirements

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def parse(cls, text: str | None) -> "LabelSelector":
        """Parse a selector; raise a 400 ApiError on bad syntax, as the real server does."""
        if not text or not text.strip():
            return cls([])
        try:
            return cls(_Parser(text).parse())
        except _SyntaxError as e:
            raise bad_request(f"unable to parse requirement: {e}") from None


class _SyntaxError(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or not m.group(1):
                raise _SyntaxError(f"unexpected character at {pos} in {text!r}")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _SyntaxError("unexpected end of selector")
        self.i += 1
        return tok

    def word(self, what: str) -> str:
        tok = self.take()
        if tok in ("==", "!=", "=", "!", "(", ")", ",", ">", "<"):
            raise _SyntaxError(f"expected {what}, found {tok!r}")
        return tok

    def parse(self) -> list[Requirement]:
        reqs = [self.requirement()]
        while self.peek() == ",":
            self.take()
            reqs.append(self.requirement())
        if self.peek() is not None:
            raise _SyntaxError(f"unexpected {self.peek()!r}")
        return reqs

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.word("label key"), "!")
        key = self.word("label key")
        op = self.peek()
        if op is None or op == ",":
            return Requirement(key, "exists")
        if op in ("=", "==", "!="):
            self.take()
            # An empty value (``a=``) is legal and means the label is the empty string.
            value = "" if self.peek() in (None, ",") else self.word("value")
            return Requirement(key, "!=" if op == "!=" else "=", (value,))
        if op in (">", "<"):
            self.take()
            value = self.word("integer")
            if not re.fullmatch(r"-?\d+", value):
                raise _SyntaxError(f"for {op!r} operator, the value must be an integer, not {value!r}")
            return Requirement(key, op, (value,))
        if op in ("in", "notin"):
            self.take()
            if self.take() != "(":
                raise _SyntaxError(f"expected '(' after {op}")
            values: list[str] = []
            while self.peek() != ")":
                if values:
                    if self.take() != ",":
                        raise _SyntaxError("expected ',' between values")
                values.append("" if self.peek() in (",", ")") else self.word("value"))
            self.take()
            return Requirement(key, op, tuple(values))
        raise _SyntaxError(f"unexpected {op!r} after key {key!r}")


# --- field selectors ----------------------------------------------------------------------------


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string a field selector compares: missing fields are the empty string."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class FieldSelector:
    def __init__(self, terms: list[tuple[str, bool, str]]) -> None:
        self.terms = terms  # (field, equal?, value)

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((field_value(obj, f) == v) == eq for f, eq, v in self.terms)

    @classmethod
    def parse(cls, text: str | None, supported: frozenset[str]) -> "FieldSelector":
        terms: list[tuple[str, bool, str]] = []
        for raw in (text or "").split(","):
            raw = raw.strip()
            if not raw:
                continue
            for op, eq in (("!=", False), ("==", True), ("=", True)):
                if op in raw:
                    field, _, value = raw.partition(op)
                    break
            else:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{raw}'")
            field = field.strip()
            if field not in supported:
                raise bad_request(f'field label not supported: {field}')
            terms.append((field, eq, value.strip()))
        return cls(terms)


def object_filter(label_selector: str | None, field_selector: str | None,
                  supported_fields: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    """One predicate for both selectors; raises ApiError (400) on bad syntax."""
    labels = LabelSelector.parse(label_selector)
    fields = FieldSelector.parse(field_selector, supported_fields)
    if not labels.requirements and not fields.terms:
        return lambda obj: True
    return lambda obj: labels.matches((obj.get("metadata") or {}).get("labels")) and fields.matches(obj)

