"""Kubernetes ``Status`` errors, shaped like the real API server's.

Handlers raise :class:`ApiError`; the HTTP layer turns it into a ``Status`` body with the same
``code``, ``reason`` and ``details`` a real server sends, so client code that branches on
``reason`` (or on ``ApiException.status``) behaves as it would against a cluster.
"""

from __future__ import annotations

from typing import Any

# HTTP code -> the StatusReason a real server pairs with it.
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An error answer; ``status()`` is the JSON body."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details: dict[str, Any] = {}
        if name:
            self.details["name"] = name
        if group:
            self.details["group"] = group
        if kind:
            self.details["kind"] = kind
        if causes:
            self.details["causes"] = causes
        if retry_after is not None:
            self.details["retryAfterSeconds"] = retry_after
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(retry_after))

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.message, self.reason, self.details)


def status_body(code: int, message: str, reason: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }
    return body


def success_status(name: str, group: str, plural: str, uid: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


# Constructors named after the apimachinery helpers (errors.NewNotFound, ...), so call sites read
# like the Go code whose behaviour they copy. ``resource`` is the qualified resource, e.g.
# "deployments.apps", which is what real messages print.


def qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(404, f'{qualified(plural, group)} "{name}" not found', name=name, group=group, kind=plural)


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409, f'{qualified(plural, group)} "{name}" already exists', "AlreadyExists", name=name, group=group, kind=plural
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    msg = f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}'
    return ApiError(409, msg, "Conflict", name=name, group=group, kind=plural)


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, field_errors: list[tuple[str, str, str]]) -> ApiError:
    """``field_errors`` is a list of (field, cause reason, message) like field.ErrorList."""
    qualified_kind = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{f}: {m}" for f, _, m in field_errors)
    if len(field_errors) > 1:
        text = "[" + text + "]"
    causes = [{"reason": r, "message": m, "field": f} for f, r, m in field_errors]
    return ApiError(422, f'{qualified_kind} "{name}" is invalid: {text}', name=name, group=group, kind=kind, causes=causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, message)


def page_not_found() -> ApiError:
    # What a real server answers for a URL that names no known group, version or resource.
    return ApiError(404, "the server could not find the requested resource")


def forbidden(user: str, verb: str, plural: str, group: str, namespace: str | None, name: str | None) -> ApiError:
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    what = f'{qualified(plural, group)} "{name}"' if name else qualified(plural, group)
    msg = f'{what} is forbidden: User "{user}" cannot {verb} resource "{plural}" in API group "{group}" {scope}'
    return ApiError(403, msg, name=name, group=group, kind=plural)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def expired(message: str) -> ApiError:
    # Real servers answer a too-old resourceVersion or continue token with 410 and reason
    # "Expired" (errors.NewResourceExpired); clients branch on the code, 410.
    return ApiError(410, message, "Expired")
