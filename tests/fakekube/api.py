"""The API semantics of one fake cluster, independent of HTTP: routing, verbs, discovery.

``ApiServer.handle`` takes a parsed request and returns a ``Response`` (a JSON body) or a
``WatchStream`` (an iterator of newline-delimited JSON events). The HTTP layer (server.py) only
moves bytes; the rules a client can observe live here.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from . import apply as ssa
from . import discovery, meta, openapi, tables
from .admission import Admission
from .controllers import Controllers
from .deletion import Reaper
from .errors import (STALE, ApiError, already_exists, bad_request, conflict, expired, forbidden, invalid,
                     method_not_allowed, not_found, page_not_found, success_status)
from .faults import Access
from .kinds import CRD_GROUP, CRDError, Registry, ResourceType, crd_to_type
from .patching import PatchError, json_patch, merge_patch, strategic_merge_patch
from .schema import warning_header as schema_warning
from .selectors import object_filter
from .store import ADDED, MODIFIED, DELETED, Event, Store, TooOld, Watcher

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"

NAMESPACES = ("", "namespaces")
CRDS = (CRD_GROUP, "customresourcedefinitions")
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
MAX_WATCH_SECONDS = 1800.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Response:
    code: int
    body: Any  # JSON-able, or bytes sent as text/plain
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    group: str
    version: str
    namespace: str | None
    resource: str
    name: str | None
    subresource: str | None
    watch: bool


class ApiServer:
    def __init__(self, registry: Registry, store: Store, access: Access, controllers: Controllers,
                 version: Callable[[], dict[str, Any]], address: Callable[[], str]) -> None:
        self.registry = registry
        self.store = store
        self.access = access
        self.controllers = controllers
        self.version = version
        self.address = address
        self.reaper = Reaper(self)
        self.admission = Admission(store, lambda: self.version().get("minor", "32"))
        self._local = threading.local()  # the request being handled on this thread: its Warning headers

    # --- entry point -----------------------------------------------------------------------------

    def handle(self, req: Request) -> "Response | WatchStream":
        self._local.warnings = []
        try:
            return self._with_warnings(self._dispatch(req))
        except ApiError as e:
            return self._with_warnings(Response(e.code, e.status(), e.headers))
        except Exception as e:  # a bug in the fake: say so loudly, answer like a real server would
            traceback.print_exc(file=sys.stderr)
            err = ApiError(500, f"fakekube internal error: {e!r}")
            return Response(500, err.status())
        finally:
            # Deletions due now and controllers react to whatever this request wrote, before the
            # client sees the answer.
            try:
                self.reaper.tick()
                self.controllers.drain()
            except Exception:  # a controller bug must not cost the client its answer
                traceback.print_exc(file=sys.stderr)

    def _with_warnings(self, answer: "Response | WatchStream") -> "Response | WatchStream":
        warnings = getattr(self._local, "warnings", None)
        if warnings and isinstance(answer, Response):
            # One header holding every warning, comma-separated, which clients split as RFC 7234 says.
            answer.headers["Warning"] = ", ".join(schema_warning(w) for w in dict.fromkeys(warnings))
        return answer

    def _admit(self, rt: ResourceType, version: str, obj: dict[str, Any], old: dict[str, Any] | None, verb: str,
               sub: str | None = None) -> dict[str, Any]:
        req = getattr(self._local, "request", None)
        mode = req.query.get("fieldValidation") if req is not None else None
        return self.admission.admit(rt, version, obj, old, verb=verb, mode=mode, sub=sub,
                                    warnings=self._local.warnings)

    def _dispatch(self, req: Request) -> "Response | WatchStream":
        self._local.request = req
        ctype = (req.headers.get("Content-Type") or "").lower()
        if "protobuf" in ctype or "cbor" in ctype:
            # Bodies are read as JSON or YAML only. kubectl's typed commands (create namespace,
            # auth can-i, ...) send protobuf and get this 415; `kubectl apply/create -f` send JSON.
            raise ApiError(415, f'the body of the request was in an unknown format - accepted media types include: '
                                f'application/json, application/yaml, {APPLY_PATCH}, {MERGE_PATCH}, {JSON_PATCH}')
        path = req.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok")
        if path == "/version":
            return self._discovery_doc(req, self.version())
        if path == "/api":
            return self._discovery_doc(req, discovery.api_versions(self.address()))
        if path == "/apis":
            return self._discovery_doc(req, discovery.api_group_list(self.registry))
        segs = path.strip("/").split("/")
        if segs[0] == "openapi":
            return self._openapi(req, segs[1:])
        if segs[0] == "api" and len(segs) >= 2:
            group, rest = "", segs[1:]
        elif segs[0] == "apis" and len(segs) >= 2:
            group, rest = segs[1], segs[2:]
            if not rest:
                return self._discovery_doc(req, discovery.api_group(self.registry, group))
        else:
            raise page_not_found()
        version, rest = rest[0], rest[1:]
        if not rest:
            return self._discovery_doc(req, discovery.api_resource_list(self.registry, group, version))
        return self._resource_request(req, self._route(group, version, rest))

    def _discovery_doc(self, req: Request, doc: dict[str, Any] | None) -> Response:
        if doc is None:
            raise page_not_found()
        if req.method != "GET":
            raise method_not_allowed()
        return Response(200, doc)

    def _openapi(self, req: Request, segs: list[str]) -> Response:
        """/openapi/v3 and its group-version documents (see openapi.py), and an empty /openapi/v2."""
        server_version = self.version().get("gitVersion", "")
        if segs == ["v2"]:
            # kubectl reads v2 (as protobuf) only for kinds v3 does not list, i.e. kinds the server
            # does not serve. An empty document (zero protobuf bytes) lets it skip client-side
            # checks and report "no matches for kind", as it does against a real server; a 404
            # would make it fail with "failed to download openapi" instead.
            if "protobuf" in (req.headers.get("Accept") or ""):
                return Response(200, b"", {"Content-Type": openapi.V2_PROTOBUF})
            return self._discovery_doc(req, openapi.empty_v2(server_version))
        if segs == ["v3"]:
            return self._discovery_doc(req, openapi.index(self.registry, server_version))
        if len(segs) >= 3 and segs[0] == "v3" and segs[1] in ("api", "apis"):
            if segs[1] == "api" and len(segs) == 3:
                doc = openapi.group_version_doc(self.registry, "", segs[2], server_version)
            elif segs[1] == "apis" and len(segs) == 4:
                doc = openapi.group_version_doc(self.registry, segs[2], segs[3], server_version)
            else:
                doc = None
            return self._discovery_doc(req, doc)
        raise page_not_found()

    @staticmethod
    def _route(group: str, version: str, rest: list[str]) -> Route:
        watch = False
        if rest[0] == "watch":  # the deprecated /watch/ URL form
            watch, rest = True, rest[1:]
        namespace = None
        is_namespace_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
        if len(rest) >= 3 and rest[0] == "namespaces" and not is_namespace_subresource:
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3 or not all(rest):
            raise page_not_found()
        return Route(group, version, namespace, rest[0], rest[1] if len(rest) > 1 else None,
                     rest[2] if len(rest) > 2 else None, watch)

    # --- resources -------------------------------------------------------------------------------

    def _resource_request(self, req: Request, route: Route) -> "Response | WatchStream":
        rt = self.registry.lookup(route.group, route.version, route.resource)
        if rt is None or (route.namespace is not None and not rt.namespaced):
            raise page_not_found()
        if route.subresource is not None and (route.subresource != "status" or not rt.status):
            raise page_not_found()
        if route.name is not None and rt.namespaced and route.namespace is None:
            raise page_not_found()
        verb = self._verb(req, route)
        allowed = ("get", "update", "patch") if route.subresource else rt.verbs
        if verb not in allowed:
            raise method_not_allowed()
        rbac_resource = f"{rt.plural}/{route.subresource}" if route.subresource else rt.plural
        if self.access.denied(verb, rt.group, rbac_resource, route.namespace, route.name):
            raise forbidden(Access.USER, verb, rt.plural, rt.group, route.namespace, route.name)
        if verb in ("create", "deletecollection") and rt.namespaced and route.namespace is None and not rt.virtual:
            raise method_not_allowed()
        dry_run = self._dry_run(req)
        ns = route.namespace or ""
        v = route.version
        if verb == "get":
            return self._get(req, rt, v, ns, route.name)
        if verb == "list":
            return self._list(req, rt, v, route.namespace)
        if verb == "watch":
            return self._watch(req, rt, v, route.namespace)
        manager = ssa.manager_name(req.query.get("fieldManager"), req.headers.get("User-Agent"))
        if verb == "create":
            body = self._body(req)
            if rt.virtual:
                return self._review(rt, v, body)
            return self._create(rt, v, ns, body, dry_run, manager)
        if verb == "update":
            return self._update(rt, v, ns, route.name, self._body(req), route.subresource, dry_run, manager)
        if verb == "patch":
            return self._patch(req, rt, v, ns, route.name, route.subresource, dry_run, manager)
        if verb == "delete":
            return self._delete(req, rt, v, ns, route.name, dry_run)
        return self._delete_collection(req, rt, v, route.namespace, dry_run)

    @staticmethod
    def _verb(req: Request, route: Route) -> str:
        watching = route.watch or req.query.get("watch") in ("true", "1")
        if route.name is None:
            verbs = {"GET": "watch" if watching else "list", "POST": "create", "DELETE": "deletecollection"}
        else:
            verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        if req.method not in verbs:
            raise method_not_allowed()
        return verbs[req.method]

    @staticmethod
    def _dry_run(req: Request) -> bool:
        value = req.query.get("dryRun")
        if value is None:
            return False
        if value != "All":
            raise bad_request(f'Unsupported value: "{value}": supported values: "All"')
        return True

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        obj = meta.parse_body(req.body, req.headers.get("Content-Type") or "")
        if not isinstance(obj, dict):
            raise bad_request("the request body must be a JSON object")
        return obj

    # --- rendering -------------------------------------------------------------------------------

    @staticmethod
    def _out(rt: ResourceType, version: str, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as the client asked for it: stored once, served at any served version."""
        return {"apiVersion": rt.api_version(version), "kind": rt.kind,
                **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}

    def _object_response(self, req: Request | None, rt: ResourceType, version: str, obj: dict[str, Any],
                         code: int = 200) -> Response:
        out = self._out(rt, version, obj)
        view = tables.wanted_view(req.headers.get("Accept") or "") if req is not None else None
        if view == "Table":
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            return Response(code, tables.table([out], {"resourceVersion": rv}, req.query.get("includeObject", "Metadata")))
        if view == "PartialObjectMetadata":
            return Response(code, tables.partial(out))
        return Response(code, out)

    # --- get / list / watch ----------------------------------------------------------------------

    def _get(self, req: Request, rt: ResourceType, version: str, ns: str, name: str) -> Response:
        obj = self.store.get(rt.key, ns, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return self._object_response(req, rt, version, obj)

    def _list(self, req: Request, rt: ResourceType, version: str, namespace: str | None) -> Response:
        q = req.query
        keep = object_filter(q.get("labelSelector"), q.get("fieldSelector"), rt.fields)
        limit = _int_param(q, "limit")
        start = _decode_continue(q["continue"]) if q.get("continue") else None
        with self.store.lock:
            rv = self.store.resource_version
            objs = self.store.list(rt.key, namespace)
        if start is not None:
            rv = start[0]
            objs = [o for o in objs if _slot(o) > start[1]]
        matching = [o for o in objs if keep(o)]
        page = matching[:limit] if limit else matching
        list_meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if limit and len(matching) > limit:
            list_meta["continue"] = _encode_continue(rv, _slot(page[-1]))
            if not q.get("labelSelector") and not q.get("fieldSelector"):
                # Like the real server: only countable when no selector filters the rest.
                list_meta["remainingItemCount"] = len(matching) - limit
        view = tables.wanted_view(req.headers.get("Accept") or "")
        if view == "Table":
            outs = [self._out(rt, version, o) for o in page]
            return Response(200, tables.table(outs, list_meta, q.get("includeObject", "Metadata")))
        if view == "PartialObjectMetadata":
            return Response(200, tables.partial_list(page, list_meta))
        # Items carry no apiVersion/kind: the real server leaves them out of lists too.
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page]
        return Response(200, {"kind": rt.list_kind, "apiVersion": rt.api_version(version), "metadata": list_meta,
                              "items": items})

    def _watch(self, req: Request, rt: ResourceType, version: str, namespace: str | None) -> "WatchStream":
        q = req.query
        keep = object_filter(q.get("labelSelector"), q.get("fieldSelector"), rt.fields)
        timeout = _seconds_param(q, "timeoutSeconds")
        rv_param = q.get("resourceVersion") or ""
        view = tables.wanted_view(req.headers.get("Accept") or "")

        def render(obj: dict[str, Any]) -> dict[str, Any]:
            out = self._out(rt, version, obj)
            if view == "Table":
                return tables.table([out], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            if view == "PartialObjectMetadata":
                return tables.partial(out)
            return out

        stream = WatchStream(self.store, namespace, keep, render, timeout or MAX_WATCH_SECONDS)
        with self.store.lock:
            if rv_param in ("", "0"):
                # No resourceVersion: the current state first, as synthetic ADDED events.
                watcher, _ = self.store.watch(rt.key, None)
                initial = [Event(0, ADDED, rt.key, o) for o in self.store.list(rt.key, namespace)]
                stream.open(watcher, initial)
                if q.get("sendInitialEvents") == "true" and q.get("allowWatchBookmarks") == "true":
                    stream.bookmark(rt, version, self.store.resource_version)
                return stream
            try:
                since = int(rv_param)
            except ValueError:
                raise bad_request(f'invalid resource version "{rv_param}"') from None
            try:
                watcher, backlog = self.store.watch(rt.key, since)
            except TooOld as e:
                stream.fail(expired(str(e)))
                return stream
            stream.open(watcher, backlog)
            return stream

    # --- create ----------------------------------------------------------------------------------

    def _check_type(self, rt: ResourceType, version: str, obj: dict[str, Any]) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rt.kind:
            raise bad_request(f"the kind of the provided object ({kind}) does not match the kind of the URL ({rt.kind})")
        if api_version and api_version != rt.api_version(version):
            raise bad_request(f"the API version in the data ({api_version}) does not match the expected API version "
                              f"({rt.api_version(version)})")

    def _new_object(self, rt: ResourceType, version: str, ns: str, body: dict[str, Any],
                    verb: str = "create") -> dict[str, Any]:
        """A request body made into a new object: checked, named, server fields set."""
        self._check_type(rt, version, body)
        obj = copy.deepcopy(body)
        m = obj.get("metadata")
        if not isinstance(m, dict):
            m = obj["metadata"] = {}
        if rt.namespaced:
            if m.get("namespace") and m["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            m["namespace"] = ns
        else:
            m.pop("namespace", None)
        if not m.get("name") and m.get("generateName"):
            m["name"] = meta.generate_name(m["generateName"])
        meta.validate_name(rt, obj)
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            m.pop(key, None)
        m["uid"] = meta.new_uid()
        m["creationTimestamp"] = meta.now()
        if rt.generation:
            m["generation"] = 1
        obj["apiVersion"], obj["kind"] = rt.api_version(version), rt.kind
        if rt.status:
            obj.pop("status", None)  # status is written through /status, never on create
        _status_on_create(rt, obj)
        obj = self._admit(rt, version, obj, None, verb)
        meta.omit_empty_meta(obj)
        if rt.key == CRDS:
            self._check_crd(obj)
        return obj

    def _check_crd(self, crd: dict[str, Any]) -> None:
        try:
            crd_to_type(crd)
        except CRDError as e:
            raise invalid("CustomResourceDefinition", CRD_GROUP, crd["metadata"].get("name", ""), e.errors) from None

    def _create(self, rt: ResourceType, version: str, ns: str, body: dict[str, Any], dry_run: bool,
                manager: str) -> Response:
        obj = self._new_object(rt, version, ns, body)
        obj["metadata"].pop("managedFields", None)  # a create starts the record afresh
        self._record(rt, version, None, obj, manager, None)
        with self.store.lock:
            self._require_namespace(rt, ns, obj["metadata"]["name"])
            if self.store.get(rt.key, ns, obj["metadata"]["name"]) is not None:
                raise already_exists(rt.plural, rt.group, obj["metadata"]["name"])
            stored = obj if dry_run else self._write(rt, obj)
        return self._object_response(None, rt, version, stored, 201)

    def _require_namespace(self, rt: ResourceType, ns: str, name: str = "") -> None:
        if rt.namespaced and self.store.get(NAMESPACES, "", ns) is None:
            raise not_found("namespaces", "", ns)
        self.reaper.refuse_create(rt, ns, name)

    def _write(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.write(rt.key, obj).obj
        if rt.key == CRDS:
            self.registry.register_crd(stored)
        return stored

    # --- update / patch / apply ------------------------------------------------------------------

    def _update(self, rt: ResourceType, version: str, ns: str, name: str, body: dict[str, Any],
                sub: str | None, dry_run: bool, manager: str) -> Response:
        self._check_type(rt, version, body)
        m = body.get("metadata") or {}
        if not m.get("name"):
            raise invalid(rt.kind, rt.group, "", [("metadata.name", "FieldValueRequired", "Required value: name is required")])
        if m["name"] != name:
            raise bad_request(f"the name of the object ({m['name']}) does not match the name on the URL ({name})")
        if rt.namespaced and m.get("namespace") and m["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        with self.store.lock:
            old = self._existing(rt, ns, name)
            if m.get("resourceVersion"):
                if m["resourceVersion"] != old["metadata"]["resourceVersion"]:
                    raise conflict(rt.plural, rt.group, name, STALE)
            elif rt.custom and not sub:
                # Custom resources refuse unconditional updates (built-ins allow them).
                raise invalid(rt.kind, rt.group, name, [("metadata.resourceVersion", "FieldValueInvalid",
                                                         "Invalid value: 0x0: must be specified for an update")])
            new = self._updated(rt, version, old, body, sub)
            self._record(rt, version, old, new, manager, sub)
            return Response(200, self._out(rt, version, self._commit(rt, old, new, dry_run)))

    @staticmethod
    def _record(rt: ResourceType, version: str, old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                sub: str | None) -> None:
        """Ownership of what a create, update or patch changed (see apply.record_update)."""
        ssa.record_update(old, new, manager=manager, api_version=rt.api_version(version), timestamp=meta.now(),
                          subresource=sub or "", status_apart=rt.status)

    def _existing(self, rt: ResourceType, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.key, ns, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def _updated(self, rt: ResourceType, version: str, old: dict[str, Any], incoming: dict[str, Any],
                 sub: str | None, *, take_managed_fields: bool = False, verb: str = "update") -> dict[str, Any]:
        """The object after an update: ``incoming`` with the fields a client cannot change kept
        from ``old``; a status update changes only status."""
        om = old["metadata"]
        if sub == "status":
            new = copy.deepcopy(old)
            if incoming.get("status") is not None:
                new["status"] = copy.deepcopy(incoming["status"])
            else:
                new.pop("status", None)
            if take_managed_fields and (incoming.get("metadata") or {}).get("managedFields") is not None:
                new["metadata"]["managedFields"] = incoming["metadata"]["managedFields"]
        else:
            new = copy.deepcopy(incoming)
            nm = new.get("metadata")
            if not isinstance(nm, dict):
                nm = new["metadata"] = {}
            for key in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp"):
                if key in om:
                    nm[key] = om[key]
                else:
                    nm.pop(key, None)
            if nm.get("managedFields") is None and "managedFields" in om:
                nm["managedFields"] = om["managedFields"]  # omitted means unchanged
            if rt.status:  # the main resource cannot change status
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
        new["apiVersion"], new["kind"] = rt.api_version(version), rt.kind
        new = self._admit(rt, version, new, old, verb, sub)
        new["metadata"]["resourceVersion"] = om["resourceVersion"]
        if rt.generation:
            new["metadata"]["generation"] = meta.next_generation(old, new)
        meta.omit_empty_meta(new)
        if rt.key == CRDS:
            self._check_crd(new)
        return new

    def _commit(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        # Only the stored version may differ after a change of apiVersion alone: that is no change;
        # nor is one that only moves managedFields timestamps.
        if ssa.without_times({**new, "apiVersion": old.get("apiVersion")}) == ssa.without_times(old):
            return old  # a no-op update keeps its resourceVersion, as on a real server
        self.reaper.check_update(rt, old, new)
        if dry_run:
            return new
        stored = self._write(rt, new)
        return self.reaper.after_write(rt, stored) or stored

    def _patch(self, req: Request, rt: ResourceType, version: str, ns: str, name: str, sub: str | None,
               dry_run: bool, manager: str) -> Response:
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == APPLY_PATCH:
            return self._apply(req, rt, version, ns, name, sub, dry_run)
        if ctype not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH) or (ctype == STRATEGIC_PATCH and rt.custom):
            # Custom resources have no patch strategy, so a real server refuses strategic merge too.
            accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH] + ([] if rt.custom else [STRATEGIC_PATCH])
            raise ApiError(415, f'the body of the request was in an unknown format - accepted media types include: '
                                f'{", ".join(accepted)}')
        if req.query.get("force"):
            raise bad_request("force may not be specified for non-apply patch")
        try:
            patch = json.loads(req.body or b"null")
        except ValueError as e:
            raise bad_request(f"error decoding patch: {e}") from None
        with self.store.lock:
            old = self._existing(rt, ns, name)
            current = self._out(rt, version, old)
            try:
                if ctype == JSON_PATCH:
                    patched = json_patch(current, patch)
                elif not isinstance(patch, dict):
                    raise PatchError(400, "a merge patch must be a JSON object")
                elif ctype == MERGE_PATCH:
                    patched = merge_patch(current, patch)
                else:
                    patched = strategic_merge_patch(current, patch)
            except PatchError as e:
                raise ApiError(e.code, e.message) from None
            if not isinstance(patched, dict):
                raise ApiError(422, "the patched object is not a JSON object")
            self._check_patched(rt, version, old, patched, ns, name)
            new = self._updated(rt, version, old, patched, sub, verb="patch")
            self._record(rt, version, old, new, manager, sub)
            return Response(200, self._out(rt, version, self._commit(rt, old, new, dry_run)))

    def _check_patched(self, rt: ResourceType, version: str, old: dict[str, Any], patched: dict[str, Any],
                       ns: str, name: str) -> None:
        self._check_type(rt, version, patched)
        pm = patched.get("metadata") or {}
        if pm.get("name") != name:
            raise bad_request(f"the name of the object ({pm.get('name')}) does not match the name on the URL ({name})")
        if rt.namespaced and pm.get("namespace") not in (None, ns):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if pm.get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]):
            raise conflict(rt.plural, rt.group, name, STALE)

    def _apply(self, req: Request, rt: ResourceType, version: str, ns: str, name: str, sub: str | None,
               dry_run: bool) -> Response:
        manager = req.query.get("fieldManager")
        if not manager:
            raise invalid("PatchOptions", "meta.k8s.io", "", [("fieldManager", "FieldValueRequired",
                                                              "Required value: is required for apply patch")])
        force_param = req.query.get("force", "false")
        if force_param not in ("true", "false"):
            raise bad_request(f'invalid value for force: "{force_param}"')
        config = meta.parse_body(req.body, APPLY_PATCH)
        if not isinstance(config, dict):
            raise bad_request("an apply patch must be a YAML or JSON object")
        if not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("apiVersion and kind must be set in an apply patch")
        self._check_type(rt, version, config)
        cm = config.get("metadata") or {}
        if cm.get("name") not in (None, name):
            raise bad_request(f"the name of the object ({cm.get('name')}) does not match the name on the URL ({name})")
        if rt.namespaced and cm.get("namespace") not in (None, "", ns):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if sub == "status":  # apply to /status manages status only
            config = {"apiVersion": config["apiVersion"], "kind": config["kind"], "status": config.get("status") or {}}
        elif rt.status:
            config = {k: v for k, v in config.items() if k != "status"}
        with self.store.lock:
            old = self.store.get(rt.key, ns, name)
            try:
                if old is None:
                    if sub:
                        raise not_found(rt.plural, rt.group, name)
                    merged = ssa.apply(None, config, manager=manager, force=force_param == "true",
                                       timestamp=meta.now())
                    merged.setdefault("metadata", {})["name"] = name
                    obj = self._new_object(rt, version, ns, merged, "apply")
                    self._require_namespace(rt, ns, name)
                    stored = obj if dry_run else self._write(rt, obj)
                    return Response(201, self._out(rt, version, stored))
                if cm.get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]):
                    raise conflict(rt.plural, rt.group, name, STALE)
                merged = ssa.apply(self._out(rt, version, old), config, manager=manager, force=force_param == "true",
                                   timestamp=meta.now(), subresource=sub or "")
            except ssa.ApplyConflict as e:
                message, causes = ssa.conflict_message(e.conflicts)
                raise ApiError(409, message, "Conflict", name=name, group=rt.group, kind=rt.plural,
                               causes=causes) from None
            new = self._updated(rt, version, old, merged, sub, take_managed_fields=True, verb="apply")
            return Response(200, self._out(rt, version, self._commit(rt, old, new, dry_run)))

    # --- delete ----------------------------------------------------------------------------------

    def _delete(self, req: Request, rt: ResourceType, version: str, ns: str, name: str, dry_run: bool) -> Response:
        options = meta.parse_body(req.body, req.headers.get("Content-Type") or "") or {}
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        dry_run = dry_run or "All" in (options.get("dryRun") or [])
        pre = options.get("preconditions") or {}
        with self.store.lock:
            old = self._existing(rt, ns, name)
            om = old["metadata"]
            if pre.get("uid") and pre["uid"] != om.get("uid"):
                raise conflict(rt.plural, rt.group, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                                          f"UID in object meta: {om.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != om["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name, "Precondition failed: ResourceVersion in precondition: "
                                                          f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                                          f"{om['resourceVersion']}")
            if rt.key == NAMESPACES and name in PROTECTED_NAMESPACES:
                raise ApiError(403, f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                               name=name, kind="namespaces")
            if dry_run:
                self.reaper.policy(options)  # a dry run still checks the options
                gone, removed = old, True
            else:
                gone, removed = self.reaper.delete(rt, old, options)
        if rt.returns_object_on_delete or not removed:
            # An object left Terminating (finalizers, grace period) is returned as it now is.
            return Response(200, self._out(rt, version, gone))
        return Response(200, success_status(name, rt.group, rt.plural, om.get("uid")))

    def remove(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Delete an object at once, with what goes with it (a namespace's contents, a CRD's
        objects), skipping finalizers and grace periods: the Python API's ``delete_object``."""
        m = obj["metadata"]
        if rt.key == NAMESPACES:
            for key in self.store.keys():
                inner = self.registry.get(*key)
                if inner is not None and inner.namespaced:
                    for o in self.store.list(key, m["name"]):
                        self.store.delete(key, m["name"], o["metadata"]["name"])
        return self.reaper.remove_now(rt, obj, collect=False)  # the seeding API: dependents stay

    def _delete_collection(self, req: Request, rt: ResourceType, version: str, namespace: str | None,
                           dry_run: bool) -> Response:
        keep = object_filter(req.query.get("labelSelector"), req.query.get("fieldSelector"), rt.fields)
        with self.store.lock:
            doomed = [o for o in self.store.list(rt.key, namespace) if keep(o)]
            options = meta.parse_body(req.body, req.headers.get("Content-Type") or "") or {}
            if not isinstance(options, dict):
                raise bad_request("DeleteOptions must be a JSON object")
            gone = doomed if dry_run else [self.reaper.delete(rt, o, options)[0] for o in doomed]
            rv = self.store.resource_version
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in gone]
        return Response(200, {"kind": rt.list_kind, "apiVersion": rt.api_version(version),
                              "metadata": {"resourceVersion": str(rv)}, "items": items})

    # --- reviews (create-only, never stored) -----------------------------------------------------

    def _review(self, rt: ResourceType, version: str, body: dict[str, Any]) -> Response:
        self._check_type(rt, version, body)
        review = copy.deepcopy(body)
        review["apiVersion"], review["kind"] = rt.api_version(version), rt.kind
        review.setdefault("metadata", {})
        spec = review.get("spec") or {}
        if rt.kind == "SelfSubjectAccessReview":
            attrs = spec.get("resourceAttributes")
            allowed = True
            if attrs:
                resource = attrs.get("resource", "")
                if attrs.get("subresource"):
                    resource += "/" + attrs["subresource"]
                allowed = not self.access.denied(attrs.get("verb", ""), attrs.get("group", ""), resource,
                                                 attrs.get("namespace") or None, attrs.get("name") or None)
            review["status"] = {"allowed": allowed}
            if not allowed:
                review["status"]["reason"] = "denied by a fakekube deny rule"
        else:
            review["status"] = self._token_review(spec.get("token") or "")
        return Response(201, review)

    def service_account_secret(self, token: str) -> dict[str, Any] | None:
        """The ``kubernetes.io/service-account-token`` Secret holding ``token``, or None (deleting the
        Secret revokes the token, as on a real server)."""
        for secret in self.store.list(("", "secrets")) if token else []:
            if secret.get("type") != SERVICE_ACCOUNT_TOKEN:
                continue
            try:
                known = base64.b64decode((secret.get("data") or {}).get("token") or "").decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
            if known and known == token:
                return secret
        return None

    def _token_review(self, token: str) -> dict[str, Any]:
        if not token:
            return {"authenticated": False, "error": "token is empty"}
        secret = self.service_account_secret(token)
        if secret is not None:
            sm = secret["metadata"]
            sa = (sm.get("annotations") or {}).get("kubernetes.io/service-account.name", "")
            return {"authenticated": True, "user": {
                "username": f"system:serviceaccount:{sm.get('namespace', '')}:{sa}",
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{sm.get('namespace', '')}",
                           "system:authenticated"]}}
        if self.access.token is None or token == self.access.token:
            return {"authenticated": True, "user": {"username": Access.USER,
                                                    "groups": ["system:masters", "system:authenticated"]}}
        return {"authenticated": False, "error": "invalid bearer token"}

    # --- seeding (the Python API's add) ----------------------------------------------------------

    def seed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as given (any served version, status kept), filling uid,
        creationTimestamp and generation when missing. Creates its namespace if needed."""
        obj = meta.plain(copy.deepcopy(obj))
        found = self.registry.for_object(obj)
        if found is None:
            raise KeyError(f"no served kind {obj.get('apiVersion')!r} {obj.get('kind')!r}; add its CRD first")
        rt, _ = found
        m = obj.get("metadata")
        if not isinstance(m, dict) or not m.get("name"):
            raise ValueError(f"{rt.kind} has no metadata.name")
        if rt.namespaced:
            m["namespace"] = m.get("namespace") or "default"
        else:
            m.pop("namespace", None)
        with self.store.lock:
            if rt.namespaced and self.store.get(NAMESPACES, "", m["namespace"]) is None:
                self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": m["namespace"]}})
            old = self.store.get(rt.key, m.get("namespace", ""), m["name"])
            om = old["metadata"] if old else {}
            m.setdefault("uid", om.get("uid") or meta.new_uid())
            m.setdefault("creationTimestamp", om.get("creationTimestamp") or meta.now())
            if rt.generation:
                m.setdefault("generation", om.get("generation") or 1)
            if rt.key == NAMESPACES:  # what every real namespace has
                m.setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", m["name"])
                obj.setdefault("status", {}).setdefault("phase", "Active")
            if rt.key == CRDS:
                try:
                    crd_to_type(obj)
                except CRDError as e:
                    raise ValueError(f"bad CRD {m['name']}: {e}") from None
            return self._write(rt, obj)


def _status_on_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """The status a real server's create strategy starts a few kinds with (other defaults:
    builtins.py, through admission)."""
    if rt.key == NAMESPACES:
        obj["status"] = {"phase": "Active"}
    elif rt.key == ("", "pods"):
        obj["status"] = {"phase": "Pending"}


def _int_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f'invalid value for {name}: "{raw}"') from None
    return value if value > 0 else None


def _seconds_param(query: dict[str, str], name: str) -> float | None:
    """Like _int_param, but fractions are accepted too (a real server takes whole seconds only)
    so that tests can keep watches short."""
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f'invalid value for {name}: "{raw}"') from None
    return value if value > 0 else None


def _slot(obj: dict[str, Any]) -> tuple[str, str]:
    m = obj["metadata"]
    return (m.get("namespace", ""), m["name"])


def _encode_continue(rv: int, last: tuple[str, str]) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(last)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                          "(version meta.k8s.io/v1)") from None


class WatchStream:
    """One watch response: newline-delimited JSON events until timeout, close or server stop."""

    def __init__(self, store: Store, namespace: str | None, keep: Callable[[dict[str, Any]], bool],
                 render: Callable[[dict[str, Any]], dict[str, Any]], timeout: float) -> None:
        self.store = store
        self.namespace = namespace
        self.keep = keep
        self.render = render
        self.deadline = time.monotonic() + timeout
        self.watcher: Watcher | None = None
        self._backlog: list[Event] = []
        self._extra: list[dict[str, Any]] = []
        self._error: ApiError | None = None

    def open(self, watcher: Watcher, backlog: list[Event]) -> None:
        self.watcher, self._backlog = watcher, backlog

    def fail(self, error: ApiError) -> None:
        self._error = error

    def bookmark(self, rt: ResourceType, version: str, rv: int) -> None:
        """The BOOKMARK that ends the initial events of a streaming list (sendInitialEvents)."""
        self._extra.append({"type": "BOOKMARK", "object": {
            "apiVersion": rt.api_version(version), "kind": rt.kind,
            "metadata": {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}}})

    def events(self, alive: Callable[[], bool] = lambda: True) -> Iterator[bytes]:
        if self._error is not None:
            yield _line({"type": "ERROR", "object": self._error.status()})
            return
        for event in self._backlog:
            if (line := self._encode(event)) is not None:
                yield line
        for extra in self._extra:
            yield _line(extra)
        assert self.watcher is not None
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                event = self.watcher.queue.get(timeout=min(remaining, 0.25))
            except Exception:  # queue.Empty: check the client is still there
                if not alive():
                    return
                continue
            if event is None:
                return
            if (line := self._encode(event)) is not None:
                yield line

    def close(self) -> None:
        if self.watcher is not None:
            self.store.unwatch(self.watcher)

    def _encode(self, event: Event) -> bytes | None:
        obj = event.obj
        if self.namespace is not None and obj["metadata"].get("namespace", "") != self.namespace:
            return None
        kind = event.type
        if kind == MODIFIED:
            # A change can move an object into or out of the selection: the watcher then sees
            # it appear (ADDED) or disappear (DELETED), as with a real server.
            now_in, was_in = self.keep(obj), event.old is not None and self.keep(event.old)
            if not now_in and not was_in:
                return None
            kind = MODIFIED if now_in and was_in else (ADDED if now_in else DELETED)
        elif not self.keep(obj):
            return None
        return _line({"type": kind, "object": self.render(obj)})


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"

