"""Exit codes and the error family every layer raises.

Each error carries the exit code the CLI returns for it and a hint for the user, so the single
exit point in ``meshctl.cli.app`` can print "what and where" plus the hint, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    DATA = 65  # unparseable YAML, schema errors in given files
    UNAVAILABLE = 69  # cluster unreachable or unauthorized
    ANALYSIS = 79  # analysis found issues at or above the failure threshold
    INTERRUPTED = 130


class MeshctlError(Exception):
    """Base class: a message saying what is wrong and where, and a hint."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MeshctlError):
    exit_code = ExitCode.USAGE


class InputError(MeshctlError):
    """Bad input data: a file that does not parse or a document that is not a Kubernetes object."""

    exit_code = ExitCode.DATA


class ClusterUnavailableError(MeshctlError):
    """The cluster cannot be reached, or refused our credentials."""

    exit_code = ExitCode.UNAVAILABLE


class NotCapturedError(MeshctlError):
    """The source cannot provide this kind (CRD absent, or not in the snapshot): unknown, not empty."""

    def __init__(self, kind_name: str, source: str, hint: str | None = None) -> None:
        super().__init__(f"{kind_name} is not available from {source}", hint)
        self.kind_name = kind_name
        self.source = source


def describe_bug(err: BaseException) -> str:
    """An unexpected exception as its type and the innermost meshctl line it came from: never its text,
    which can quote the input (or credentials) it choked on."""
    import traceback

    where = ""
    for frame in traceback.extract_tb(err.__traceback__):
        path = frame.filename.replace("\\", "/")
        if "/meshctl/" in path:
            where = f"{path[path.rindex('/meshctl/') + 1:]}:{frame.lineno}"
    return f"{type(err).__name__} at {where}" if where else type(err).__name__
