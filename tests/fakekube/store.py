"""The object store of one fake cluster: objects, the resourceVersion counter, watch events.

Stored objects are treated as immutable: every write stores a new dict and readers may share
references without copying. One re-entrant lock guards everything, so a handler can read, check
and write as one step (optimistic concurrency needs that).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator

Key = tuple[str, str]  # (group, plural)
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(frozen=True)
class Event:
    rv: int
    type: str
    key: Key
    obj: dict[str, Any]
    old: dict[str, Any] | None = None  # the previous state, for MODIFIED


class TooOld(Exception):
    """A watch asked for events the bounded history no longer holds."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


class Watcher:
    """One open watch: the store pushes events into its queue; ``None`` means the stream ends."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()

    def push(self, event: Event | None) -> None:
        self.queue.put(event)


class Store:
    def __init__(self, history: int = 1000) -> None:
        self.lock = threading.RLock()
        self._objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 0
        self._history: deque[Event] = deque(maxlen=max(1, history))
        self._compacted = 0  # events with rv <= this were dropped from the history
        self._watchers: set[Watcher] = set()
        # Called with every event, under the lock (the controller manager queues them).
        self.listeners: list[Callable[[Event], None]] = []

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    # --- reads -----------------------------------------------------------------------------------

    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self._objects.get(key, {}).get((namespace, name))

    def list(self, key: Key, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of a type sorted by (namespace, name); ``namespace=None`` means all."""
        with self.lock:
            objs = self._objects.get(key, {})
            keys = sorted(k for k in objs if namespace is None or k[0] == namespace)
            return [objs[k] for k in keys]

    def keys(self) -> list[Key]:
        with self.lock:
            return [k for k, objs in self._objects.items() if objs]

    # --- writes ----------------------------------------------------------------------------------

    def write(self, key: Key, obj: dict[str, Any]) -> Event:
        """Store ``obj`` (created or replaced), stamping the next resourceVersion."""
        with self.lock:
            self._rv += 1
            meta = dict(obj.get("metadata") or {})
            meta["resourceVersion"] = str(self._rv)
            obj = {**obj, "metadata": meta}
            slot = (meta.get("namespace") or "", meta["name"])
            objs = self._objects.setdefault(key, {})
            old = objs.get(slot)
            objs[slot] = obj
            return self._record(Event(self._rv, MODIFIED if old is not None else ADDED, key, obj, old))

    def delete(self, key: Key, namespace: str, name: str) -> Event | None:
        with self.lock:
            old = self._objects.get(key, {}).pop((namespace, name), None)
            if old is None:
                return None
            self._rv += 1
            # Like the real server, the DELETED event carries the deletion's resourceVersion.
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
            return self._record(Event(self._rv, DELETED, key, gone))

    def drop_type(self, key: Key) -> list[Event]:
        """Delete every object of a type (its CRD went away) and end its watches."""
        with self.lock:
            events = [e for e in (self.delete(key, *slot) for slot in sorted(self._objects.get(key, {}))) if e]
            self._objects.pop(key, None)
            for w in [w for w in self._watchers if w.key == key]:
                w.push(None)
            return events

    def _record(self, event: Event) -> Event:
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].rv
        self._history.append(event)
        for w in self._watchers:
            if w.key == event.key:
                w.push(event)
        for listener in self.listeners:
            listener(event)
        return event

    # --- watches ---------------------------------------------------------------------------------

    def watch(self, key: Key, since: int | None) -> tuple[Watcher, list[Event]]:
        """Open a watch. With ``since`` the backlog is every kept event newer than it (TooOld if
        some were dropped); without, the caller lists current objects itself under the lock."""
        with self.lock:
            backlog: list[Event] = []
            if since is not None:
                if since < self._compacted:
                    raise TooOld(since, self._compacted + 1)
                backlog = [e for e in self._history if e.key == key and e.rv > since]
            w = Watcher(key)
            self._watchers.add(w)
            return w, backlog

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers.discard(watcher)

    def close_watches(self) -> None:
        with self.lock:
            for w in self._watchers:
                w.push(None)
            self._watchers.clear()

    def __iter__(self) -> Iterator[tuple[Key, dict[str, Any]]]:
        with self.lock:
            items = [(k, o) for k, objs in self._objects.items() for o in objs.values()]
        return iter(items)
