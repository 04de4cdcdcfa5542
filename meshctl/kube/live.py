"""kubeconfig/context -> ClusterState over a live API server. The only reader that imports ``kubernetes``.

Reads go through ``ApiClient.call_api`` on raw JSON: the typed API classes cost more than a second to
import (they pull in pydantic) and would turn every object into a model we would turn back into a dict.
Every (kind, namespace) is LISTed at most once per invocation, in pages of ``PAGE_SIZE``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from meshctl.errors import ClusterUnavailableError, InputError, MeshctlError, NotCapturedError, UsageError
from meshctl.kube.kinds import Kind
from meshctl.kube.state import IndexedObjects, Resource, SourceInfo, matches_labels
from meshctl.kube.yamlio import yaml_problem

PAGE_SIZE = 500
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024  # read to find secrets to scrub from a loader error
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
RETRIES = 4  # for 429 and 5xx answers and dropped connections on reads
MAX_RETRY_WAIT = 10.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SELF_SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# Groups every conformant cluster serves: no discovery needed to read them.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "rbac.authorization.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "discovery.k8s.io",
        "autoscaling",
        "policy",
    }
)


def default_kubeconfig() -> str:
    """``--kubeconfig`` default: ``KUBECONFIG`` (several paths allowed, as in kubectl) or ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")


def redact_url(url: str) -> str:
    """A server URL fit to print: no user:password part (one that does not parse: its scheme and host
    as far as they can be told, never the rest)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. an unclosed [ in the host: drop whatever stands before an @ all the same
        scheme, sep, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}" if sep else url.rpartition("@")[2]
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if port:
            netloc += f":{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


@dataclass(frozen=True)
class KubeconfigInfo:
    paths: str
    contexts: tuple[str, ...]
    current: str
    namespaces: tuple[tuple[str, str], ...] = ()  # (context, its default namespace)
    files: tuple[tuple[str, str, str], ...] = ()  # (context, field, path) of the files its entries name


# Files a context's entries may name, which the client reads before the first request.
USER_FILE_FIELDS = ("tokenFile", "client-certificate", "client-key")
CLUSTER_FILE_FIELDS = ("certificate-authority",)


def read_kubeconfig(kubeconfig: str | None = None) -> KubeconfigInfo:
    """Contexts of a kubeconfig; bad files become one-line errors that name the file."""
    paths = kubeconfig or default_kubeconfig()
    existing = [p for p in paths.split(os.pathsep) if p and os.path.exists(os.path.expanduser(p))]
    if not existing:
        raise ClusterUnavailableError(
            f"no kubeconfig found at {paths}",
            hint="pass --kubeconfig, set KUBECONFIG, or read offline with -f FILES or --snapshot DIR",
        )
    # Read once per process while the files are unchanged: multicluster commands open one connection
    # per context, and parsing a kubeconfig of N contexts N times grows as N².
    stats = [_regular_file(p, f"kubeconfig {p}") for p in existing]
    return _read_kubeconfig(paths, tuple((st.st_mtime_ns, st.st_size, st.st_ino) for st in stats))


def _regular_file(path: str, what: str) -> os.stat_result:
    """A file the client may open: reading a FIFO or a device would block or never end."""
    import stat

    try:
        st = os.stat(os.path.expanduser(path))
    except OSError as err:
        raise InputError(f"{what}: cannot read it: {err.strerror}", hint="check the path and permissions") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} is not a regular file", hint="point it at a file (not a pipe, device or folder)")
    if st.st_size > MAX_KUBECONFIG_BYTES:
        raise InputError(f"{what} is larger than {MAX_KUBECONFIG_BYTES // (1024 * 1024)} MiB",
                         hint="point it at the file you meant")
    return st


@lru_cache(maxsize=8)
def _read_kubeconfig(paths: str, stamp: tuple[tuple[int, int, int], ...]) -> KubeconfigInfo:
    from kubernetes.config import ConfigException, list_kube_config_contexts

    try:
        contexts, active = list_kube_config_contexts(config_file=paths)
    except ConfigException as err:
        raise InputError(f"kubeconfig {paths}: {_loader_message(err, paths, '')}",
                         hint="check the file with 'kubectl config view'") from None
    except Exception as err:  # the loader raises yaml, type and key errors on malformed files
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            raise InputError(
                f"kubeconfig {paths}: invalid YAML at line {mark.line + 1}: {yaml_problem(err)}",
                hint="check the file with 'kubectl config view'",
            ) from None
        raise InputError(
            f"kubeconfig {paths}: cannot parse it ({type(err).__name__})",
            hint="check the file with 'kubectl config view'",
        ) from None
    entries = [c for c in contexts or [] if isinstance(c, dict)]
    names = tuple(str(c.get("name", "")) for c in entries)
    current = str(active.get("name", "")) if isinstance(active, dict) else ""
    namespaces = tuple((str(c.get("name", "")), str(_dict(c.get("context")).get("namespace") or "default"))
                       for c in entries)
    return KubeconfigInfo(paths, names, current, namespaces, _named_files(paths))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _kubeconfig_files(paths: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(folder, parsed text) of each regular file among ``paths`` that holds a kubeconfig map."""
    for path in paths.split(os.pathsep):
        full = os.path.expanduser(path)
        if not path or not os.path.isfile(full):
            continue
        try:
            with open(full, encoding="utf-8", errors="replace") as handle:
                config = parse_kubeconfig(handle.read(MAX_KUBECONFIG_BYTES))
        except OSError:
            continue
        if config is not None:
            yield os.path.dirname(os.path.abspath(full)), config


def _named_files(paths: str) -> tuple[tuple[str, str, str], ...]:
    """(context, field, path) for every file a context's user and cluster name; relative paths are
    relative to the kubeconfig that holds the entry, and the first file to name an entry wins, as in kubectl."""
    entries: dict[str, dict[str, tuple[dict[str, Any], str]]] = {"contexts": {}, "users": {}, "clusters": {}}
    for base, config in _kubeconfig_files(paths):
        for section, found in entries.items():
            listed = config.get(section)
            for entry in listed if isinstance(listed, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    found.setdefault(entry["name"], (_dict(entry.get(section[:-1])), base))
    files = []
    for name, (context, _) in entries["contexts"].items():
        for section, fields in (("users", USER_FILE_FIELDS), ("clusters", CLUSTER_FILE_FIELDS)):
            entry, base = entries[section].get(str(context.get(section[:-1])), ({}, ""))
            for key in fields:
                if isinstance(entry.get(key), str) and entry[key]:
                    files.append((name, f"{section[:-1]}.{key}", os.path.join(base, os.path.expanduser(entry[key]))))
    return tuple(files)


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


class ApiConnection:
    """One context's API server: raw JSON requests with retries and meshctl's error mapping."""

    def __init__(self, context: str, kubeconfig: str | None = None) -> None:
        from kubernetes.client import ApiClient, Configuration
        from kubernetes.config import ConfigException, load_kube_config

        info = read_kubeconfig(kubeconfig)
        if context and context not in info.contexts:
            raise UsageError(
                f"context {context!r} not found in kubeconfig {info.paths}",
                hint=f"available contexts: {', '.join(info.contexts) or 'none'}",
            )
        self.context = context or info.current
        if not self.context:
            raise UsageError(
                f"kubeconfig {info.paths} has no current context",
                hint="pass --context NAME or run 'kubectl config use-context NAME'",
            )
        where = f"kubeconfig {info.paths}, context {self.context}"
        for context, key, path in info.files:
            if context == self.context and os.path.exists(path):
                _regular_file(path, f"{where}: {key} {path}")
        try:
            config = Configuration()
            with _plugin_failures(where):
                load_kube_config(config_file=info.paths, context=self.context, client_configuration=config,
                                 persist_config=False, temp_file_path=_private_dir())
            # No retries inside urllib3: `request` retries reads itself, with backoff and Retry-After,
            # so a failing server is not asked four times for every one of our attempts.
            config.retries = False
            clean_bearer_token(config, where)
            self.client = ApiClient(configuration=config)
        except MeshctlError:
            raise
        except ConfigException as err:
            raise InputError(
                f"{where}: {_loader_message(err, info.paths, self.context)}",
                hint="check the context's cluster and user entries with 'kubectl config view'",
            ) from None
        except Exception as err:
            raise InputError(
                f"{where}: cannot load: {_loader_message(err, info.paths, self.context)}",
                hint="check the context's cluster and user entries with 'kubectl config view'",
            ) from None
        self.where = where
        self.server = redact_url(self.client.configuration.host)
        self.namespace = dict(info.namespaces).get(self.context, "default")  # the context's default namespace
        self.requests = 0

    def _unreachable(self, why: str) -> ClusterUnavailableError:
        return ClusterUnavailableError(
            f"context {self.context}: cannot reach the API server at {self.server}: {why}",
            hint=f"check the cluster is running and reachable (kubectl --context {self.context} get ns), "
            "or read offline with --snapshot",
        )

    def _unsendable(self, err: BaseException) -> InputError:
        # The HTTP layer's own text quotes the header it refused, credentials included: never shown.
        what = ("a header holds a character HTTP cannot carry" if isinstance(err, UnicodeError)
                else "a header or the URL is not valid HTTP")
        return InputError(f"{self.where}: cannot send a request to {self.server}: {what}",
                          hint="check the context's server URL and user credentials with 'kubectl config view'")

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        *,
        idempotent: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Send one request; returns (status, decoded JSON).

        Reads, and writes the caller marks ``idempotent`` (server-side apply, delete), are retried on
        429/5xx/dropped connections: sending them twice leaves the same state as sending them once.
        """
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            method_, url, headers, body_, post = self.client.param_serialize(
                method, path, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
        except (ValueError, UnicodeError) as err:
            raise self._unsendable(err) from None
        attempts = RETRIES + 1 if method == "GET" or idempotent else 1
        for attempt in range(attempts):
            self.requests += 1
            try:
                resp = self.client.call_api(
                    method_, url, header_params=headers, body=body_, post_params=post,
                    _request_timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
                data = resp.read() if hasattr(resp, "read") else resp.data
                status = resp.status
            except ApiException as err:  # the client wraps TLS failures (status 0) and Retry-After answers
                if not err.status:
                    raise self._unreachable(_reason(err)) from None
                resp, data, status = err, b"", err.status
            except urllib3.exceptions.LocationValueError:
                raise InputError(f"{self.where}: the server URL {self.server} is not valid",
                                 hint="fix the cluster's server entry (https://HOST:PORT) in the kubeconfig") from None
            except (urllib3.exceptions.HTTPError, OSError) as err:
                if attempt + 1 < attempts and not isinstance(err, urllib3.exceptions.NewConnectionError):
                    time.sleep(min(0.2 * 2**attempt, MAX_RETRY_WAIT))
                    continue
                raise self._unreachable(_reason(err)) from None
            except (ValueError, UnicodeError) as err:
                raise self._unsendable(err) from None
            if status in RETRY_STATUSES and attempt + 1 < attempts:
                time.sleep(_retry_wait(resp, attempt))
                continue
            return status, _decode(data)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def check(self, status: int, body: dict[str, Any], what: str) -> None:
        """Map a failed answer to meshctl's errors."""
        if 200 <= status < 300:
            return
        message = body.get("message") or body.get("reason") or f"HTTP {status}"
        if status == 401:
            raise ClusterUnavailableError(
                f"context {self.context}: the API server at {self.server} refused the credentials "
                "(401 Unauthorized)",
                hint="refresh the credentials in your kubeconfig (log in again) or choose another --context",
            )
        if status == 403:
            raise ClusterUnavailableError(
                f"context {self.context}: not allowed to {what}: {message}",
                hint="meshctl needs read access to that kind; ask for RBAC, or read offline with --snapshot",
            )
        if status in RETRY_STATUSES:
            raise ClusterUnavailableError(
                f"context {self.context}: the API server kept failing to {what} (HTTP {status}: {message})",
                hint="the cluster is overloaded or unhealthy; try again later",
            )
        raise ClusterUnavailableError(
            f"context {self.context}: cannot {what}: HTTP {status}: {message}",
            hint=f"run 'kubectl --context {self.context} get --raw /version' to check the API server",
        )

    def get_json(self, path: str, what: str, query: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        status, body = self.request("GET", path, query)
        self.check(status, body, what)
        return body


def _decode(data: bytes | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        out = json.loads(data)
    except ValueError:
        return {"message": data[:200].decode("utf-8", "replace")}
    return out if isinstance(out, dict) else {"items": out}


# What a connection failure says, in meshctl's words: the HTTP layer's own text is never shown (it can
# quote headers, and with them credentials). Searched for in the chain of causes, first match wins.
CONNECTION_REASONS = (
    ("certificate verify failed", "certificate verify failed"),
    ("wrong version number", "TLS handshake failed (is the server speaking plain HTTP?)"),
    ("Connection refused", "connection refused"),
    ("timed out", "timed out"),
    ("Name or service not known", "name or service not known"),
    ("nodename nor servname", "name or service not known"),
    ("Temporary failure in name resolution", "temporary failure in name resolution"),
    ("Connection reset", "connection reset"),
    ("Remote end closed connection", "remote end closed connection"),
    ("Network is unreachable", "network is unreachable"),
    ("No route to host", "no route to host"),
)


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (urllib3 keeps the socket error in ``reason`` or ``args``)."""
    chain: list[BaseException] = []
    todo = [err]
    while todo and len(chain) < 10:
        current = todo.pop()
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        todo.extend(e for e in (getattr(current, "reason", None), current.__cause__, current.__context__,
                                *current.args) if isinstance(e, BaseException))
    return chain


def _reason(err: BaseException) -> str:
    """Why a connection failed, in a few words of meshctl's own."""
    import ssl

    chain = _causes(err)
    texts = " ".join(str(e) for e in chain)
    for marker, said in CONNECTION_REASONS:
        if marker in texts:
            return said
    if any(isinstance(e, ssl.SSLError) or "SSLError" in str(getattr(e, "reason", "")) for e in chain):
        return "TLS handshake failed"
    return f"connection failed ({type(chain[-1]).__name__})"


def clean_bearer_token(config: Any, where: str) -> None:
    """Trim the bearer token as client-go does (``echo $T > token`` leaves a newline) and refuse one
    that still cannot be an HTTP header value, naming where it came from, never the value. The loader
    sets the token again before every request (credential plugins refresh it), so its hook is wrapped."""
    _clean_token(config, where)
    refresh = config.refresh_api_key_hook
    if refresh is not None:
        def refresh_and_clean(configuration: Any) -> None:
            with _plugin_failures(where):
                refresh(configuration)
            _clean_token(configuration, where)

        config.refresh_api_key_hook = refresh_and_clean


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _plugin_failures(where: str) -> Iterator[None]:
    """The client logs a credential plugin's failure on the root logger and goes on without
    credentials; kubectl stops there, and so does meshctl (in its own words, 69)."""
    records = _Records()
    root = logging.getLogger()
    root.addHandler(records)  # while a handler is there, Python's last-resort printer stays quiet
    try:
        yield
    finally:
        root.removeHandler(records)
    if records.messages:
        text = records.messages[0].strip()
        found = re.match(r"exec: process returned (\d+)", text)
        why = (f"exited with code {found.group(1)}" if found
               else "could not be run" if text.startswith("[Errno") else "gave no credentials")
        raise ClusterUnavailableError(f"{where}: the user's credential plugin {why}",
                                      hint="run the plugin's command yourself to see why (often: log in again)")


_PRIVATE_DIR: list[str] = []
_PRIVATE_DIR_LOCK = threading.Lock()  # multicluster commands open clusters in threads


def _private_dir() -> str:
    """A folder only this user can read, for the certificate and key files the client writes from
    inline kubeconfig data; removed when the command ends (``cleanup``), not only at exit."""
    import tempfile

    with _PRIVATE_DIR_LOCK:
        if not _PRIVATE_DIR:
            _PRIVATE_DIR.append(tempfile.mkdtemp(prefix="meshctl-"))
        return _PRIVATE_DIR[0]


def cleanup() -> None:
    """Remove the files the client wrote for this command (the client's own cache of them too)."""
    import shutil

    if not _PRIVATE_DIR:
        return
    from kubernetes.config import kube_config

    forget = getattr(kube_config, "_cleanup_temp_files", None)
    if forget is not None:
        forget()
    shutil.rmtree(_PRIVATE_DIR.pop(), ignore_errors=True)


def _clean_token(config: Any, where: str) -> None:
    value = config.api_key.get("BearerToken")
    if not isinstance(value, str):
        return
    scheme, _, token = value.partition(" ")
    token = token.strip()
    bad = next((i for i, c in enumerate(token) if not _header_char(c)), None)
    if bad is not None:
        raise InputError(
            f"{where}: the user's bearer token is not a valid HTTP header value "
            f"(character {bad + 1} of {len(token)} is a control or non-Latin-1 character)",
            hint="write the token without extra characters (printf '%s' \"$TOKEN\" > FILE) or log in again",
        )
    config.api_key["BearerToken"] = f"{scheme} {token}"


def _header_char(c: str) -> bool:
    code = ord(c)
    return 0x20 <= code < 0x7F or 0x80 <= code <= 0xFF


# The kubeconfig loader's complaints quote whole entries (credentials included): only these are said.
LOADER_MESSAGES = (
    (re.compile(r"Expected key ([\w.-]+) in"), "an entry lacks its '{}' key"),
    (re.compile(r"Expected only one object with name (\S{1,100}) in"), "more than one entry is named {}"),
    (re.compile(r"Expected object with name (\S{1,100}) in"), "no entry is named {}"),
    (re.compile(r"to be a list"), "a section that should be a list is not"),
    (re.compile(r"to have 'name' key"), "an entry of a list has no name"),
    (re.compile(r"^exec: process returned (\d+)"), "its credential plugin failed with exit code {}"),
    (re.compile(r"^File does not exist: (.{1,300})$"), "file does not exist: {}"),
)


def _loader_message(err: BaseException, paths: str, context: str) -> str:
    """The kubeconfig loader's complaint in meshctl's words (a credential plugin's first line of
    output kept, with the user's secrets removed)."""
    if isinstance(err, OSError) and err.strerror:
        return f"cannot read {err.filename}: {err.strerror}" if err.filename else err.strerror
    text = str(err).strip()
    for pattern, said in LOADER_MESSAGES:
        found = pattern.search(text.splitlines()[0] if text else "")
        if found:
            message = said.format(*found.groups())
            if text.startswith("exec:") and ". " in text.splitlines()[0]:
                output = text.splitlines()[0].split(". ", 1)[1][:200]
                message += f": {_scrub(output, _user_secrets(paths, context))}"
            return message
    return f"it is not a valid kubeconfig ({type(err).__name__})"


def _user_secrets(paths: str, context: str) -> list[str]:
    """The secret values of a context's user entry, to keep out of messages."""
    secrets: list[str] = []
    for _, config in _kubeconfig_files(paths):
        _, user = select_context({**config, "current-context": context})
        secrets += [str(user.get(k) or "") for k in SECRET_USER_FIELDS]
        provider = user.get("auth-provider")
        if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
            secrets += [str(v) for v in provider["config"].values()]
    return secrets


def _retry_wait(resp: Any, attempt: int) -> float:
    header = None
    getheader = getattr(resp, "getheader", None)
    if getheader is not None:
        header = getheader("Retry-After")
    try:
        wait = float(header) if header is not None else 0.2 * 2**attempt
    except ValueError:
        wait = 0.2 * 2**attempt
    return min(max(wait, 0.0), MAX_RETRY_WAIT)


def resource_path(kind: Kind, version: str, namespace: str | None, name: str | None = None) -> str:
    base = f"/api/{version}" if not kind.group else f"/apis/{kind.group}/{version}"
    if namespace and kind.namespaced:
        base += f"/namespaces/{namespace}"
    base += f"/{kind.plural}"
    if name:
        base += f"/{name}"
    return base


class LiveState:
    """A ClusterState over one kubeconfig context."""

    def __init__(self, conn: ApiConnection, cluster: str | None = None) -> None:
        self.conn = conn
        version = conn.get_json("/version", "read the server version")
        self.info = SourceInfo(
            "live",
            conn.context,
            cluster or conn.context,
            conn.context,
            conn.server,
            str(version.get("gitVersion", "")),
        )
        self._groups: dict[str, list[str]] | None = None  # group -> served versions
        self._resources: dict[tuple[str, str], set[str]] = {}  # (group, version) -> plurals
        self._versions: dict[tuple[str, str], str | None] = {}  # (group, kind) -> version to read
        self._discovered: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (group, version) -> resources
        self._lists: dict[tuple[str, str, str | None], list[Resource]] = {}
        self._indexes: dict[tuple[str, str, str | None], IndexedObjects] = {}

    # -- discovery ---------------------------------------------------------------------------

    def _served_groups(self) -> dict[str, list[str]]:
        if self._groups is None:
            body = self.conn.get_json("/apis", "discover API groups")
            self._groups = {
                g.get("name", ""): [v.get("version", "") for v in g.get("versions") or []]
                for g in body.get("groups") or []
            }
        return self._groups

    def _served_resources(self, group: str, version: str) -> set[str]:
        key = (group, version)
        if key not in self._resources:
            status, body = self.conn.request("GET", f"/apis/{group}/{version}")
            if status == 404:
                self._resources[key] = set()
            else:
                self.conn.check(status, body, f"discover {group}/{version}")
                self._resources[key] = {
                    r.get("name", "") for r in body.get("resources") or [] if "/" not in r.get("name", "")
                }
        return self._resources[key]

    def _version_for(self, kind: Kind) -> str | None:
        key = (kind.group, kind.kind)
        if key not in self._versions:
            chosen = None
            if kind.group in BUILTIN_GROUPS and kind.known:
                chosen = kind.version
            else:
                served = self._served_groups().get(kind.group, [])
                for version in kind.all_versions:
                    if version in served and kind.plural in self._served_resources(kind.group, version):
                        chosen = version
                        break
            self._versions[key] = chosen
        return self._versions[key]

    def resolve_kind(self, api_version: str, kind: str) -> Kind:
        """The Kind of an object to write. Kinds meshctl does not know get their plural and scope from
        discovery, as kubectl does (a guessed plural would be wrong for e.g. ...Policy -> ...policies)."""
        from meshctl.kube.kinds import REGISTRY

        found = REGISTRY.for_object(api_version, kind)
        if found.known:
            return found
        key = (found.group, found.version)
        if key not in self._discovered:
            path = f"/apis/{found.group}/{found.version}" if found.group else f"/api/{found.version}"
            status, body = self.conn.request("GET", path)
            if status != 404:
                self.conn.check(status, body, f"discover {api_version}")
            self._discovered[key] = [r for r in body.get("resources") or []
                                     if isinstance(r, dict) and "/" not in str(r.get("name", ""))]
        for entry in self._discovered[key]:
            if entry.get("kind") == kind:
                return Kind(found.group, found.version, kind, str(entry["name"]), bool(entry.get("namespaced")),
                            (), (found.version,), known=False)
        return found

    def serves(self, kind: Kind) -> bool:
        return self._version_for(kind) is not None

    def version_for(self, kind: Kind) -> str | None:
        """The version meshctl reads and writes this kind at on this cluster (None: not served)."""
        return self._version_for(kind)

    def rediscover(self) -> None:
        """Forget discovery answers (after CRDs were created, their kinds become servable)."""
        self._groups = None
        self._resources.clear()
        self._versions.clear()
        self._discovered.clear()

    def forget(self, kind: Kind) -> None:
        """Drop what was read of a kind (after writing it), so the next read sees the change."""
        # Safe from several threads writing into one cluster at once: a copy of the keys, and pop.
        for cache in (self._lists, self._indexes):
            for key in [k for k in list(cache) if k[:2] == (kind.group, kind.kind)]:
                cache.pop(key, None)

    # -- reads -------------------------------------------------------------------------------

    def _not_served(self, kind: Kind) -> NotCapturedError:
        return NotCapturedError(
            kind.qualified_kind,
            f"context {self.conn.context} (the cluster does not serve {kind.resource})",
            hint="install the CRD that defines it, if the feature needs it",
        )

    def _list_all(self, kind: Kind, namespace: str | None) -> list[Resource]:
        key = (kind.group, kind.kind, namespace)
        if key in self._lists:
            return self._lists[key]
        if namespace is not None and (kind.group, kind.kind, None) in self._lists:
            everything = self._lists[(kind.group, kind.kind, None)]
            return [r for r in everything if r.namespace == namespace]
        items = self._fetch(kind, namespace)
        self._lists[key] = items
        return items

    def _fetch(self, kind: Kind, namespace: str | None, selector: str | None = None) -> list[Resource]:
        """One paginated LIST (optionally with a server-side label selector); not cached."""
        version = self._version_for(kind)
        if version is None:
            raise self._not_served(kind)
        path = resource_path(kind, version, namespace)
        where = f" in namespace {namespace}" if namespace and kind.namespaced else ""
        what = f"list {kind.resource}{where}" + (f" labelled {selector}" if selector else "")
        items: list[Resource] = []
        token = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if selector:
                query.append(("labelSelector", selector))
            if token:
                query.append(("continue", token))
            status, body = self.conn.request("GET", path, query)
            if status == 404:
                raise self._not_served(kind)
            if status == 410 and token:
                # The continue token expired mid-list: start again for a consistent answer.
                items, token = [], ""
                continue
            self.conn.check(status, body, what)
            api_version = f"{kind.group}/{version}" if kind.group else version
            for raw in body.get("items") or []:
                raw.setdefault("apiVersion", api_version)
                raw.setdefault("kind", kind.kind)
                items.append(Resource(raw, kind))
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def list_selected(self, kind: Kind, selector: str) -> list[Resource]:
        """Objects of a kind in every namespace matching a label selector, asked of the server so only
        the matching ones travel (not cached: used to find what an install owns). Unserved kind: []."""
        if not self.serves(kind):
            return []
        return self._fetch(kind, None, selector)

    def can_i(self, verb: str, kind: Kind, namespace: str | None = None) -> bool:
        """Whether the caller may ``verb`` objects of ``kind`` (``kubectl auth can-i``): one
        SelfSubjectAccessReview, which every user may create."""
        attributes = {"verb": verb, "group": kind.group, "resource": kind.plural}
        if namespace and kind.namespaced:
            attributes["namespace"] = namespace
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": attributes}}
        status, body = self.conn.request("POST", SELF_SUBJECT_ACCESS_REVIEWS, body=review,
                                         content_type="application/json", idempotent=True)
        self.conn.check(status, body, f"ask whether it may {verb} {kind.resource}")
        return (body.get("status") or {}).get("allowed") is True

    def list(self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        items = self._list_all(kind, namespace if kind.namespaced else None)
        if not labels:
            return list(items)
        return [r for r in items if matches_labels(r.labels, labels)]

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Resource | None:
        # Answer from a list already read rather than sending a GET per object.
        for key in ((kind.group, kind.kind, None), (kind.group, kind.kind, namespace)):
            if key in self._lists:
                if key not in self._indexes:
                    self._indexes[key] = IndexedObjects(self._lists[key])
                return self._indexes[key].find(kind, name, namespace)
        version = self._version_for(kind)
        if version is None:
            raise self._not_served(kind)
        status, body = self.conn.request("GET", resource_path(kind, version, namespace, name))
        if status == 404:
            return None
        self.conn.check(status, body, f"get {kind.resource} {name}")
        return Resource(body, kind)


def open_live(contexts: list[str] | None, kubeconfig: str | None = None) -> list[LiveState]:
    """One LiveState per context (the current context when none is named)."""
    names = list(dict.fromkeys(contexts or [""]))  # repeated contexts are read once
    return [LiveState(ApiConnection(name, kubeconfig)) for name in names]


# -- probing another cluster with a kubeconfig's own credentials (remote secrets) ---------------------

PROBE_TIMEOUT = 5.0
# Only inline values are used. Paths in a remote secret name files on the machine istiod runs on, and
# a credential plugin would run a program a Secret names on this machine: neither is followed.
PROBE_CLUSTER_FIELDS = ("server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name")
PROBE_USER_FIELDS = ("token", "client-certificate-data", "client-key-data")
SECRET_USER_FIELDS = ("token", "client-key-data", "client-certificate-data", "password")


def preload_client() -> None:
    """Import the client in the calling thread. Threads that open clusters or probe them at once must
    not be the first to import it: concurrent first imports of its modules can fail halfway."""
    import importlib

    for module in ("kubernetes.client", "kubernetes.config"):
        importlib.import_module(module)


def parse_kubeconfig(text: str) -> dict[str, Any] | None:
    """A kubeconfig text as a dict (None when it is not one); libyaml's parser when PyYAML has it."""
    import yaml

    try:
        config = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    return config if isinstance(config, dict) else None


def select_context(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (cluster, user) entries of a kubeconfig's current context, or of its only one ({} when absent)."""
    def named(section: str, name: Any) -> dict[str, Any]:
        listed = config.get(section)
        entries = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
        chosen = next((e for e in entries if e.get("name") == name), entries[0] if len(entries) == 1 else None)
        return chosen or {}

    context = _dict(named("contexts", config.get("current-context")).get("context"))
    cluster = named("clusters", context.get("cluster")).get("cluster")
    user = named("users", context.get("user")).get("user")
    return _dict(cluster), _dict(user)


@dataclass(frozen=True)
class Probe:
    """What one call with a kubeconfig's credentials found; it never holds the credentials."""

    attempted: bool  # False: the kubeconfig gave nothing this machine can call with
    reachable: bool
    authenticated: bool
    allowed: bool  # may list pods (what istiod does first with a remote cluster)
    reason: str  # why not, in a few words ('' when all hold)

    @property
    def ok(self) -> bool:
        return self.attempted and self.reachable and self.authenticated and self.allowed


def _scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "<redacted>")
    return text


def probe_kubeconfig(text: str, timeout: float = PROBE_TIMEOUT) -> Probe:
    """Ask the API server a kubeconfig names whether its credentials may list pods (one
    SelfSubjectAccessReview). Never raises; no credential reaches the result."""
    config = parse_kubeconfig(text)
    if config is None:
        return Probe(True, False, False, False, "its kubeconfig does not parse")
    cluster, user = select_context(config)
    secrets = [str(user.get(k) or "") for k in SECRET_USER_FIELDS]
    inline_user = {k: user[k] for k in PROBE_USER_FIELDS if user.get(k)}
    if not cluster.get("server"):
        return Probe(True, False, False, False, "its kubeconfig names no API server")
    if not inline_user.get("token") and not inline_user.get("client-key-data"):
        return Probe(False, False, False, False, "its credentials are files or a plugin on istiod's side, "
                                                 "which this machine cannot use")
    sanitized = {
        "apiVersion": "v1", "kind": "Config", "current-context": "peer",
        "clusters": [{"name": "peer", "cluster": {k: cluster[k] for k in PROBE_CLUSTER_FIELDS if k in cluster}}],
        "users": [{"name": "peer", "user": inline_user}],
        "contexts": [{"name": "peer", "context": {"cluster": "peer", "user": "peer"}}],
    }
    try:
        probe = _probe(sanitized, timeout)
        return Probe(probe.attempted, probe.reachable, probe.authenticated, probe.allowed,
                     _scrub(probe.reason, secrets))
    except InputError as err:
        return Probe(True, False, False, False, _scrub(err.message, secrets))
    except Exception as err:  # whatever the loader or client raise: its text may quote credentials
        return Probe(True, False, False, False, f"its kubeconfig cannot be used ({type(err).__name__})")


def _probe(config: dict[str, Any], timeout: float) -> Probe:
    import urllib3
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import load_kube_config_from_dict

    configuration = Configuration()
    load_kube_config_from_dict(config, context="peer", client_configuration=configuration, persist_config=False)
    configuration.retries = False
    clean_bearer_token(configuration, "its kubeconfig")
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}}
    client = ApiClient(configuration=configuration)
    try:
        method, url, headers, body, post = client.param_serialize(
            "POST", SELF_SUBJECT_ACCESS_REVIEWS, header_params={"Accept": "application/json",
                                                                "Content-Type": "application/json"},
            body=review, auth_settings=["BearerToken"])
        try:
            resp = client.call_api(method, url, header_params=headers, body=body, post_params=post,
                                   _request_timeout=(timeout, timeout))
            status, answer = resp.status, _decode(resp.read() if hasattr(resp, "read") else resp.data)
        except (ValueError, UnicodeError):
            return Probe(True, False, False, False, "its server URL or credentials are not valid HTTP")
        except (urllib3.exceptions.HTTPError, OSError) as err:
            reason = _reason(err)
            if reason == "certificate verify failed":
                return Probe(True, False, False, False, "its certificate does not match the CA in the kubeconfig "
                                                        "(certificate verify failed)")
            return Probe(True, False, False, False, f"cannot reach it: {reason}")
    finally:
        client.close()
    if status == 401:
        return Probe(True, True, False, False, "it refused the credentials (401 Unauthorized): "
                                               "expired or revoked")
    if status == 403:
        return Probe(True, True, True, False, f"the credentials may not ask what they may do (403: "
                                              f"{answer.get('message') or 'Forbidden'})")
    if not 200 <= status < 300:
        message = answer.get("message")
        return Probe(True, True, False, False, f"it answered HTTP {status}" + (f": {message}" if message else ""))
    if (answer.get("status") or {}).get("allowed") is not True:
        why = (answer.get("status") or {}).get("reason")
        return Probe(True, True, True, False, "the credentials may not list pods" + (f" ({why})" if why else ""))
    return Probe(True, True, True, True, "")
