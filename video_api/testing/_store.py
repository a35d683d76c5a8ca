"""The emulator's resources, by kind and id: in memory, optionally written through to SQLite.

Every change goes through ``put`` and ``drop`` so that ``--data PATH`` can keep the state
across restarts with the standard library alone; reads are plain dict lookups, so the
in-memory default costs nothing extra per request. Callers hold the emulator's lock.
``close`` releases the file (at the emulator's stop); the next ``open``, ``put`` or ``drop``
opens it again and writes through as before, so a restarted emulator keeps persisting.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Dict, List


class Store:
    """Resources as JSON-compatible values, ``kind -> id -> value``, in insertion order."""

    def __init__(self, path: str | None = None) -> None:
        self._kinds: Dict[str, Dict[str, Any]] = {}
        self._path = path
        self._db: sqlite3.Connection | None = None
        db = self.open()
        if db is None:
            return
        for kind, key, value in db.execute("SELECT kind, key, value FROM state ORDER BY rowid"):
            self.table(kind)[key] = json.loads(value)

    def open(self) -> sqlite3.Connection | None:
        """The file's connection, opened if it is closed; None for a store in memory only.
        Reopening does not read the file again: what is in memory is what was written."""
        if self._db is None and self._path is not None:
            # One connection, used under the emulator's lock from whichever handler thread.
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS state (kind TEXT, key TEXT, value TEXT, "
                "PRIMARY KEY (kind, key))"
            )
            self._db = db
        return self._db

    def table(self, kind: str) -> Dict[str, Any]:
        """The live dict of one kind: read it freely, change it only through put/drop."""
        table = self._kinds.get(kind)
        if table is None:
            table = self._kinds[kind] = {}
        return table

    def get(self, kind: str, key: str) -> Any:
        return self.table(kind).get(key)

    def values(self, kind: str) -> List[Any]:
        return list(self.table(kind).values())

    def put(self, kind: str, key: str, value: Any) -> None:
        self.table(kind)[key] = value
        db = self.open()
        if db is not None:
            db.execute(
                "INSERT OR REPLACE INTO state (kind, key, value) VALUES (?, ?, ?)",
                (kind, key, json.dumps(value, separators=(",", ":"))),
            )

    def drop(self, kind: str, key: str) -> Any:
        value = self.table(kind).pop(key, None)
        db = self.open() if value is not None else None
        if db is not None:
            db.execute("DELETE FROM state WHERE kind = ? AND key = ?", (kind, key))
        return value

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
