"""Injected failures (``kube.faults``) and access control (``kube.token``, ``kube.deny``).

Faults are checked first for every request, before authentication, because they stand for trouble
between the client and the server (an overloaded apiserver, a dropped connection).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable


@dataclass
class Fault:
    """One rule. ``times=None`` fires forever; ``path`` is a regex searched in the URL path."""

    status: int | None = None
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    delay: float = 0.0
    drop: bool = False
    retry_after: int = 1
    message: str | None = None
    hits: int = 0
    _pattern: re.Pattern | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return self._pattern is None or self._pattern.search(path) is not None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(self, status: int | None = None, *, times: int | None = 1, method: str | None = None,
            path: str | None = None, delay: float = 0.0, drop: bool = False, retry_after: int = 1,
            message: str | None = None) -> Fault:
        """Fail matching requests: answer ``status`` (429 carries ``Retry-After``), wait ``delay``
        seconds first (alone: just a slow answer), or ``drop`` the connection unanswered."""
        if status is None and not delay and not drop:
            raise ValueError("a fault needs a status, a delay or drop=True")
        rule = Fault(status, times, method, path, delay, drop, retry_after, message,
                     _pattern=re.compile(path) if path else None)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Fault) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def take(self, method: str, path: str) -> Fault | None:
        """The first rule matching this request, counting it down; spent rules are dropped."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule
        return None


@dataclass(frozen=True)
class Denial:
    """A 403 rule: each field left None matches anything. ``resource`` is the plural, or
    ``plural/subresource`` for a subresource (as in RBAC rules)."""

    verbs: frozenset[str] | None
    resource: str | None
    namespace: str | None
    group: str | None
    name: str | None

    def matches(self, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return ((self.verbs is None or verb in self.verbs or "*" in self.verbs)
                and (self.resource in (None, "*", resource))
                and (self.group is None or self.group == group)
                and (self.namespace is None or self.namespace == namespace)
                and (self.name is None or self.name == name))


class Access:
    """Bearer-token authentication plus deny rules (everything not denied is allowed)."""

    USER = "fakekube-admin"

    def __init__(self, token: str | None = None, anonymous: bool = False) -> None:
        self.token = token
        # Let requests with no Authorization header through (a wrong token is still a 401).
        # kubectl never sends a bearer token over plain http (kubernetes/kubectl#744), so the
        # standalone server needs this for kubectl to work at all.
        self.anonymous = anonymous
        # Besides the server's own token: is this one a service account's? (FakeKube wires it to the
        # token Secrets it stores, so deleting such a Secret revokes the token.)
        self.service_account_token: Callable[[str], bool] = lambda token: False
        self._lock = threading.Lock()
        self._denials: list[Denial] = []

    def authenticated(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        if authorization is None:
            return self.anonymous
        if authorization == f"Bearer {self.token}":
            return True
        scheme, _, token = authorization.partition(" ")
        return scheme == "Bearer" and bool(token) and self.service_account_token(token)

    def deny(self, verb: str | Iterable[str] | None = None, resource: str | None = None,
             namespace: str | None = None, *, group: str | None = None, name: str | None = None) -> Denial:
        verbs = None if verb is None else frozenset([verb] if isinstance(verb, str) else verb)
        rule = Denial(verbs, resource, namespace, group, name)
        with self._lock:
            self._denials.append(rule)
        return rule

    def allow(self, rule: Denial | None = None) -> None:
        """Lift one deny rule, or all of them."""
        with self._lock:
            if rule is None:
                self._denials.clear()
            elif rule in self._denials:
                self._denials.remove(rule)

    def denied(self, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> bool:
        with self._lock:
            return any(d.matches(verb, group, resource, namespace, name) for d in self._denials)
