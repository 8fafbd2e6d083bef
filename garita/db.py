"""The database: where it lives, its schema, who may write it and how readers see it.

DuckDB lets one process at a time open a database file for writing, and while it does no
other process may open the file at all, not even read-only. Garita therefore keeps two kinds
of file:

* the **master** database (``data/garita.duckdb`` by default), opened read-write only by a
  writer (``python -m etl load``, an upload in the app) for the length of one batch, under an
  exclusive lock file, so a second writer waits and is told who holds it;
* **published copies** in ``<master>.published/``: after every committed change the writer
  copies the closed master to a new file named after the data version and swaps a
  ``CURRENT`` pointer to it with an atomic rename. The dashboard only ever opens published
  copies, read-only and without file access, so it keeps serving while a batch loads and
  sees the data before or after a batch, never half of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterator

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_DB = DATA_DIR / "garita.duckdb"
DB_ENV = "GARITA_DB"
KEEP_PUBLISHED = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS ports (
    port_code VARCHAR PRIMARY KEY, port_name VARCHAR NOT NULL, state VARCHAR NOT NULL,
    latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, field_office VARCHAR,
    mexican_city VARCHAR, aliases VARCHAR, source VARCHAR);
CREATE TABLE IF NOT EXISTS incident_types (
    code VARCHAR PRIMARY KEY, label_en VARCHAR NOT NULL, label_es VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY, file_name VARCHAR, sha256 VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL, loaded_by VARCHAR NOT NULL, source VARCHAR,
    encoding VARCHAR, delimiter VARCHAR, date_order VARCHAR,
    rows_total INTEGER NOT NULL, rows_loaded INTEGER NOT NULL, rows_duplicate INTEGER NOT NULL,
    rows_skipped INTEGER NOT NULL, rows_rejected INTEGER NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('active', 'rolled_back')),
    rolled_back_at TIMESTAMP, rolled_back_by VARCHAR);
CREATE TABLE IF NOT EXISTS incidents (
    incident_id VARCHAR NOT NULL, date DATE,
    date_precision VARCHAR NOT NULL CHECK (date_precision IN ('day', 'month', 'year', 'unknown')),
    port_code VARCHAR, port_as_written VARCHAR, state VARCHAR, people_count INTEGER,
    group_type VARCHAR, children VARCHAR, nationality VARCHAR, incident_types VARCHAR[] NOT NULL,
    outcome VARCHAR, summary VARCHAR, source VARCHAR, source_page VARCHAR, source_url VARCHAR,
    notes VARCHAR, batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS incidents_rolled_back AS SELECT * FROM incidents LIMIT 0;
CREATE TABLE IF NOT EXISTS rejected_rows (
    batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL, raw VARCHAR NOT NULL,
    problems VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS duplicate_rows AS
    SELECT *, NULL::VARCHAR AS duplicate_of, NULL::INTEGER AS duplicate_of_batch
    FROM incidents LIMIT 0;
CREATE TABLE IF NOT EXISTS audit_log (
    logged_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, action VARCHAR NOT NULL, batch_id INTEGER,
    detail VARCHAR);
CREATE OR REPLACE VIEW incidents_mapped AS
    SELECT i.*, p.port_name, p.latitude, p.longitude, p.field_office, p.mexican_city,
           p.state AS port_state
    FROM incidents i LEFT JOIN ports p USING (port_code);
"""


class DatabaseBusy(RuntimeError):
    """Another writer holds the database; the message says who and what to do."""


class DatabaseMissing(RuntimeError):
    """No database has been built yet; the message says how to build it."""


def db_path(value: str | os.PathLike | None = None) -> Path:
    """The master database path: ``--db`` if given, else ``$GARITA_DB``, else the default."""
    chosen = value or os.environ.get(DB_ENV) or DEFAULT_DB
    return Path(chosen).expanduser().resolve()


def published_dir(master: Path) -> Path:
    return master.with_name(master.name + ".published")


def lock_path(master: Path) -> Path:
    return master.with_name(master.name + ".lock")


@contextlib.contextmanager
def writer_lock(master: Path, wait_seconds: float = 30.0) -> Iterator[None]:
    """Hold the exclusive writer lock, waiting up to ``wait_seconds`` for another writer."""
    master.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(master)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise DatabaseBusy(
                        f"Another load is still writing to {master.name} ({holder}). "
                        "Wait for it to finish and try again; nothing was changed."
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect_master(master: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(master), read_only=read_only)
    except duckdb.IOException as exc:
        pid = re.search(r"PID (\d+)", str(exc))
        who = f"process {pid.group(1)}" if pid else "another program"
        raise DatabaseBusy(
            f"{master.name} is open in {who}. Garita's own tools take turns through a lock; "
            "close any other program (a DuckDB shell, a notebook) that has the file open, "
            "then try again. Nothing was changed."
        ) from None


@contextlib.contextmanager
def writer(master: Path, wait_seconds: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the master for one change; publishes a copy afterwards."""
    with writer_lock(master, wait_seconds):
        con = _connect_master(master)
        try:
            con.execute(SCHEMA)
            yield con
        finally:
            con.close()
        _publish_locked(master)


def audit(con: duckdb.DuckDBPyConnection, who: str, action: str, batch_id: int | None = None,
          detail: str = "") -> None:
    """Record who did what (counts only, never row content); call inside the change's
    transaction so the record and the change land together."""
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
                [time.strftime("%Y-%m-%d %H:%M:%S"), who, action, batch_id, detail])


def record(master: Path, who: str, action: str, detail: str = "") -> None:
    """Append one audit entry on its own (a sign-in, a download of rejected rows)."""
    with writer(master) as con:
        audit(con, who, action, None, detail)


def one(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The first row of a query, or None. Reads the whole result: DuckDB 2.0 refuses
    ``register``/``sql`` on a connection that still holds a partly fetched result."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    row = one(con, "SELECT value FROM meta WHERE key = 'data_version'")
    return int(row[0]) if row else 0


def bump_version(con: duckdb.DuckDBPyConnection) -> int:
    """Increase the data version inside the caller's transaction; returns the new one."""
    version = data_version(con) + 1
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('data_version', ?), ('changed_at', ?)",
        [str(version), time.strftime("%Y-%m-%d %H:%M:%S")],
    )
    return version


def _current_pointer(master: Path) -> dict | None:
    try:
        return json.loads((published_dir(master) / "CURRENT").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _publish_locked(master: Path) -> Path:
    """Copy the (closed) master to a new published file and point CURRENT at it."""
    con = _connect_master(master)
    try:
        con.execute(SCHEMA)
        con.execute("CHECKPOINT")  # a crashed writer's committed WAL goes into the file
        version = data_version(con)
    finally:
        con.close()
    folder = published_dir(master)
    folder.mkdir(exist_ok=True)
    current = _current_pointer(master)
    if current and current.get("version") == version and (folder / current["file"]).exists():
        return folder / current["file"]
    name = f"v{version:06d}-{time.time_ns()}.duckdb"
    tmp = folder / (name + ".tmp")
    shutil.copyfile(master, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, folder / name)
    pointer = folder / "CURRENT.tmp"
    pointer.write_text(json.dumps({"version": version, "file": name}))
    os.replace(pointer, folder / "CURRENT")
    for old in sorted(folder.glob("v*.duckdb"))[:-KEEP_PUBLISHED]:
        old.unlink(missing_ok=True)  # open readers keep their handle; Linux frees it later
    return folder / name


def ensure_published(master: Path) -> None:
    """Publish the master if the newest published copy is behind it (e.g. after a crash).

    Does nothing when another writer holds the lock: that writer publishes when it ends.
    """
    if not master.exists():
        return
    try:
        with writer_lock(master, wait_seconds=0):
            _publish_locked(master)
    except DatabaseBusy:
        pass


def published_file(master: Path) -> Path:
    """The file readers should open now; raises ``DatabaseMissing`` if there is none."""
    current = _current_pointer(master)
    if current is None:
        ensure_published(master)
        current = _current_pointer(master)
    if current is None:
        raise DatabaseMissing(
            f"No database at {master}. Build it with `python -m etl init` (or `make run`)."
        )
    return published_dir(master) / current["file"]


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a published copy that cannot touch any other file."""
    return duckdb.connect(
        str(path), read_only=True, config={"enable_external_access": False}
    )


REQUIRED_TABLES = {"meta", "ports", "incidents", "batches", "rejected_rows"}


def backup(master: Path, out: Path) -> int:
    """Copy a consistent snapshot of the database to ``out``; returns its data version."""
    with writer_lock(master):
        _publish_locked(master)
    snapshot = published_file(master)
    tmp = out.with_name(out.name + ".tmp")
    shutil.copyfile(snapshot, tmp)
    os.replace(tmp, out)
    con = connect_reader(out)
    try:
        return data_version(con)
    finally:
        con.close()


def restore(master: Path, source: Path) -> int:
    """Replace the database with a backup, then publish it; returns the new data version.

    The backup is checked first (a DuckDB file with Garita's tables); the current database
    is kept beside it as ``<name>.before-restore`` until the next restore.
    """
    try:
        con = duckdb.connect(str(source), read_only=True)
    except duckdb.Error:
        raise ValueError(f"{source} is not a DuckDB database file.") from None
    try:
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        if not REQUIRED_TABLES <= tables:
            raise ValueError(f"{source} is not a Garita backup (missing tables: "
                             f"{', '.join(sorted(REQUIRED_TABLES - tables))}).")
        restored = data_version(con)
    finally:
        con.close()
    with writer_lock(master):
        current = 0
        if master.exists():
            con = _connect_master(master, read_only=True)
            try:
                current = data_version(con)
            finally:
                con.close()
            shutil.copyfile(master, master.with_name(master.name + ".before-restore"))
        tmp = master.with_name(master.name + ".restoring")
        shutil.copyfile(source, tmp)
        os.replace(tmp, master)
        con = _connect_master(master)
        try:
            version = max(current, restored) + 1  # readers must see a new published copy
            con.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', ?), "
                        "('changed_at', ?)", [str(version), time.strftime("%Y-%m-%d %H:%M:%S")])
        finally:
            con.close()
        _publish_locked(master)
    return version
