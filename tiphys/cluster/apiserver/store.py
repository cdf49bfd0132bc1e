"""Object storage: every object in memory for reads, every write committed to SQLite first.

The SQLite file (WAL) holds the current state of each object plus the global resourceVersion
counter; a write is committed before it is acknowledged, so a SIGKILL loses nothing that a
client was told had been stored. Writes made in the same event-loop turn share one commit
(group commit): the HTTP layer awaits :meth:`Store.durable` before answering, and watch events
and controller callbacks are emitted only once the commit is done. Reads and watches are
served from memory. Stored objects are never mutated: callers get them read-only and build new
ones (``loads(entry.raw)`` is a fast deep copy).
"""

from __future__ import annotations

import asyncio
import bisect
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

__all__ = ["Entry", "Event", "Store", "Watcher"]

Obj = dict[str, Any]
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


# Entry and Event are immutable values made on every write: named tuples, because a frozen
# dataclass's __init__ (one object.__setattr__ per field) cost ~6x as much to build.
class Entry(NamedTuple):
    obj: Obj  # read-only
    raw: bytes  # the object serialized as JSON, served as is
    rv: int


class Event(NamedTuple):
    rv: int
    type: str
    key: str  # storage key "group/plural"
    namespace: str
    entry: Entry
    prev: Entry | None  # the object before a MODIFIED or DELETED


def _stored_bytes(obj: Obj) -> bytes:
    """``obj`` as JSON, in a bytes object of its own size, for keeping.

    orjson returns the buffer it wrote into, capacity and all: ~8 KiB for a 600-byte ConfigMap,
    64 KiB for a 5 KB object. Kept as is for every stored object, that was most of the server's
    memory per object, and each new page of it a page fault on the write path.
    """
    return bytes(memoryview(orjson.dumps(obj)))


class Watcher:
    """One open watch: filtered events are put on a queue the HTTP response drains."""

    def __init__(self, key: str, namespace: str | None, match: Callable[[Obj], bool], since: int) -> None:
        self.key = key
        self.namespace = namespace
        self.match = match
        self.since = since  # events at or below this version were already listed or replayed
        self.queue: asyncio.Queue[tuple[str, Entry] | None] = asyncio.Queue()

    def translate(self, event: Event) -> tuple[str, Entry] | None:
        """What this watch sees of an event: selector transitions become ADDED or DELETED."""
        if self.namespace is not None and event.namespace != self.namespace:
            return None
        now = self.match(event.entry.obj)
        if event.type != MODIFIED:
            return (event.type, event.entry) if now else None
        before = event.prev is not None and self.match(event.prev.obj)
        if now:
            return (MODIFIED if before else ADDED, event.entry)
        return (DELETED, event.entry) if before else None

    def offer(self, event: Event) -> None:
        if event.rv <= self.since:
            return
        seen = self.translate(event)
        if seen is not None:
            self.queue.put_nowait(seen)

    def close(self) -> None:
        self.queue.put_nowait(None)


class Store:
    """Objects by storage key and (namespace, name), the resourceVersion counter, and watch fan-out."""

    def __init__(self, path: Path | str, *, history: int = 20_000) -> None:
        self.path = Path(path)  # the cluster's data lives beside it (volumes, logs)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        # One process owns the file: exclusive locking keeps the WAL index in memory and takes
        # the file locks once, not on every transaction.
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit is in the OS before we answer, so it survives a killed process.
        self._db.execute("PRAGMA synchronous=NORMAL")
        _migrate(self._db)
        # One row per object, keyed by the resourceVersion that wrote it: a write appends at the
        # end of the table (and deletes its object's previous row), so a commit touches a page
        # or two rather than one page per object at its place in (key, ns, name) order.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects"
            " (rv INTEGER PRIMARY KEY, key TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER)")
        # The counter is the highest of the stored objects' versions and the last deletion's.
        row = self._db.execute(
            "SELECT max(v) FROM (SELECT v FROM meta WHERE k='rv' UNION ALL SELECT max(rv) FROM objects)"
        ).fetchone()
        self.rv: int = row[0] if row and row[0] else 1
        self._objects: dict[str, dict[tuple[str, str], Entry]] = {}
        # Sorted (namespace, name) keys per resource, rebuilt lazily after an add or a removal.
        self._sorted: dict[str, list[tuple[str, str]]] = {}
        self._by_owner: dict[str, set[tuple[str, str, str]]] = {}
        stale: list[int] = []
        for rv, key, ns, name, data in self._db.execute("SELECT rv, key, ns, name, data FROM objects ORDER BY rv"):
            entry = Entry(orjson.loads(data), bytes(data), rv)
            bucket = self._objects.setdefault(key, {})
            prev = bucket.get((ns, name))
            if prev is not None:  # never written so; kept safe anyway: the newest row wins
                stale.append(prev.rv)
                self._index_owner(key, prev.obj, add=False)
            bucket[(ns, name)] = entry
            self._index_owner(key, entry.obj, add=True)
        if stale:
            self._db.executemany("DELETE FROM objects WHERE rv=?", [(rv,) for rv in stale])
        self._cursor = self._db.cursor()  # one for every commit: Connection.execute makes one per call
        self._events: deque[Event] = deque(maxlen=history)
        # Rows written since the last commit, sent to SQLite by it: one executemany per statement
        # rather than one execute per write. New rows go in before old ones go (a row deleted may
        # be one inserted in the same batch); the transaction makes the batch all or nothing.
        self._inserts: list[tuple[int, str, str, str, bytes]] = []
        self._deletes: list[tuple[int]] = []
        self._deleted_rv: int | None = None  # the counter after the batch's last deletion
        self._pending: list[Event] = []  # written, not yet committed
        self._scheduled = False  # a commit is due at the end of this event-loop turn
        self._waiters: list[asyncio.Future[None]] = []  # requests to answer once it is done
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the commit that is due
        # The oldest resourceVersion a watch can start from without missing an event.
        self.compacted: int = self.rv
        self._watchers: dict[str, set[Watcher]] = {}
        self._listeners: list[Callable[[Event], None]] = []  # every event
        self._changes_listeners: list[Callable[[Event], None]] = []  # every event but ADDED
        self._listeners_by_key: dict[str, list[Callable[[Event], None]]] = {}  # events of some keys only

    def close(self) -> None:
        self.commit()
        for watchers in self._watchers.values():
            for w in watchers:
                w.close()
        self._db.close()

    # Reads -------------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Entry | None:
        bucket = self._objects.get(key)
        return bucket.get((namespace, name)) if bucket else None

    def scan(self, key: str, namespace: str | None = None, *, after: tuple[str, str] | None = None) -> list[Entry]:
        """Objects sorted by (namespace, name), optionally only those after a continue position."""
        bucket = self._objects.get(key)
        if not bucket:
            return []
        order = self._sorted.get(key)
        if order is None:
            order = self._sorted[key] = sorted(bucket)
        if namespace is not None:
            lo = bisect.bisect_left(order, (namespace, ""))
            hi = bisect.bisect_left(order, (namespace + "\x00", ""))
        else:
            lo, hi = 0, len(order)
        if after is not None:
            lo = max(lo, bisect.bisect_right(order, after))
        return [bucket[k] for k in order[lo:hi]]

    def count(self, key: str, namespace: str | None = None) -> int:
        bucket = self._objects.get(key) or {}
        if namespace is None:
            return len(bucket)
        return sum(1 for k in bucket if k[0] == namespace)

    def keys(self) -> list[str]:
        return [k for k, bucket in self._objects.items() if bucket]

    def namespaced_in(self, namespace: str) -> Iterator[tuple[str, Entry]]:
        for key, bucket in list(self._objects.items()):
            for (ns, _), entry in list(bucket.items()):
                if ns == namespace:
                    yield key, entry

    def dependents(self, owner_uid: str) -> list[tuple[str, Entry]]:
        """Objects whose ownerReferences name ``owner_uid``."""
        found = []
        for key, ns, name in list(self._by_owner.get(owner_uid, ())):
            entry = self.get(key, ns, name)
            if entry is not None:
                found.append((key, entry))
        return found

    def all_owned(self) -> Iterator[tuple[str, Entry]]:
        for key, bucket in list(self._objects.items()):
            for entry in list(bucket.values()):
                if entry.obj.get("metadata", {}).get("ownerReferences"):
                    yield key, entry

    # Writes ------------------------------------------------------------------------------

    def next_rv(self) -> int:
        return self.rv + 1

    def put(self, key: str, obj: Obj) -> Entry:
        """Store ``obj`` (its metadata.resourceVersion is set here) and emit ADDED or MODIFIED."""
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        rv = self.rv + 1
        meta["resourceVersion"] = str(rv)
        raw = _stored_bytes(obj)
        bucket = self._objects.setdefault(key, {})
        prev = bucket.get((ns, name))
        # The row carries the new counter value: no separate counter write is needed.
        self._inserts.append((rv, key, ns, name, raw))
        if prev is not None:
            self._deletes.append((prev.rv,))
        self.rv = rv
        entry = Entry(obj, raw, rv)
        bucket[(ns, name)] = entry
        if prev is None:
            self._sorted.pop(key, None)
        if prev is not None:
            self._index_owner(key, prev.obj, add=False)
        self._index_owner(key, obj, add=True)
        self._queue_event(Event(rv, MODIFIED if prev else ADDED, key, ns, entry, prev))
        return entry

    def delete(self, key: str, namespace: str, name: str) -> Entry | None:
        """Remove an object; the DELETED event carries its last state at the deletion revision."""
        bucket = self._objects.get(key)
        prev = bucket.pop((namespace, name), None) if bucket else None
        if prev is None:
            return None
        self._sorted.pop(key, None)
        rv = self.rv + 1
        self._deletes.append((prev.rv,))
        self._deleted_rv = rv
        self.rv = rv
        self._index_owner(key, prev.obj, add=False)
        obj = orjson.loads(prev.raw)
        obj["metadata"]["resourceVersion"] = str(rv)
        entry = Entry(obj, _stored_bytes(obj), rv)
        self._queue_event(Event(rv, DELETED, key, namespace, entry, prev))
        return entry

    def _index_owner(self, key: str, obj: Obj, *, add: bool) -> None:
        meta = obj.get("metadata", {})
        refs = meta.get("ownerReferences")
        if not refs:
            return
        ident = (key, meta.get("namespace", ""), meta["name"])
        for ref in refs:
            uid = ref.get("uid")
            if not uid:
                continue
            if add:
                self._by_owner.setdefault(uid, set()).add(ident)
            else:
                owned = self._by_owner.get(uid)
                if owned is not None:
                    owned.discard(ident)
                    if not owned:
                        del self._by_owner[uid]

    # Group commit ------------------------------------------------------------------------

    def _queue_event(self, event: Event) -> None:
        self._pending.append(event)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop: nothing batches, commit now
            self.commit()
            return
        self._scheduled = True
        self._loop = loop
        loop.call_soon(self.commit)

    def commit(self) -> None:
        """Commit the rows written so far in one transaction, then emit their events in order.

        If SQLite fails, the waiting requests fail with its error (answered 500), and the
        writes' events are not emitted.
        """
        events, self._pending = self._pending, []
        waiters, self._waiters = self._waiters, []
        self._scheduled = False
        try:
            self._write_rows()
        except Exception as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            if not waiters:
                raise
            return
        for event in events:
            self._emit(event)
        for waiter in waiters:
            if not waiter.done():  # a waiter cancelled (its client gone) only cancels itself
                waiter.set_result(None)

    def _write_rows(self) -> None:
        inserts, deletes, deleted_rv = self._inserts, self._deletes, self._deleted_rv
        if not inserts and not deletes:
            return
        self._inserts, self._deletes, self._deleted_rv = [], [], None
        cursor = self._cursor
        cursor.execute("BEGIN")
        try:
            if inserts:
                cursor.executemany("INSERT INTO objects VALUES (?, ?, ?, ?, ?)", inserts)
            if deletes:
                cursor.executemany("DELETE FROM objects WHERE rv=?", deletes)
            if deleted_rv is not None:
                cursor.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (deleted_rv,))
            cursor.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.rollback()
            raise

    async def durable(self) -> None:
        """Wait until every write made so far is committed (answer a client only after this)."""
        if self._scheduled and self._loop is not None:
            # The loop the commit was scheduled on: asyncio.get_running_loop() costs a getpid()
            # system call on every call in Python 3.11, and every write waits here.
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter

    # Watches -----------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self.compacted = self._events[0].rv
        self._events.append(event)
        for watcher in self._watchers.get(event.key, ()):
            watcher.offer(event)
        for listener in self._listeners:
            listener(event)
        if event.type != ADDED:
            for listener in self._changes_listeners:
                listener(event)
        for listener in self._listeners_by_key.get(event.key, ()):
            listener(event)

    def listen(
        self, callback: Callable[[Event], None], keys: Iterable[str] | None = None, *, added: bool = True
    ) -> None:
        """In-process subscribers (the built-in controllers) see events synchronously.

        With ``keys`` (storage keys, ``group/plural``) only those resources' events are passed
        on: a write then costs nothing to the subscribers it does not concern. Without ``added``,
        a subscriber to every resource hears of changes and deletions only, not of creates.
        """
        if keys is None:
            (self._listeners if added else self._changes_listeners).append(callback)
            return
        if not added:
            raise ValueError("added=False is for subscribers to every resource")
        for key in keys:
            self._listeners_by_key.setdefault(key, []).append(callback)

    def events_since(self, key: str, rv: int) -> list[Event] | None:
        """Events for ``key`` after ``rv``, or None when history no longer reaches back that far."""
        if rv < self.compacted:
            return None
        return [e for e in self._events if e.rv > rv and e.key == key]

    def watch(
        self, key: str, namespace: str | None, match: Callable[[Obj], bool], *, since: int | None = None
    ) -> Watcher:
        """A watch that receives events after ``since`` (default: everything stored so far is known)."""
        watcher = Watcher(key, namespace, match, self.rv if since is None else since)
        self._watchers.setdefault(key, set()).add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.key, set()).discard(watcher)

    def drop_key(self, key: str) -> None:
        """Forget a whole resource (its CRD was removed) after its objects were deleted."""
        self._objects.pop(key, None)
        self._sorted.pop(key, None)
        for watcher in list(self._watchers.pop(key, ())):
            watcher.close()


def _migrate(db: sqlite3.Connection) -> None:
    """Move a data file from the first layout (rows keyed by key, ns, name) to rows keyed by rv."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(objects)")]
    if not columns or columns[0] == "rv":
        return
    db.execute("BEGIN")
    db.execute("ALTER TABLE objects RENAME TO objects_by_name")
    db.execute(
        "CREATE TABLE objects"
        " (rv INTEGER PRIMARY KEY, key TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL)"
    )
    db.execute("INSERT INTO objects SELECT rv, key, ns, name, data FROM objects_by_name")
    db.execute("DROP TABLE objects_by_name")
    db.execute("COMMIT")
