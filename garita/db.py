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

``CURRENT`` also records what the master's files looked like when it was published. A reader
compares that with a ``stat`` of the master (and of its write-ahead log): when they differ, a
writer was stopped between its commit and its publish, and the reader publishes the change
itself, if no writer holds the lock. Publishing only ever reads the master: it copies the
file (and the log) into the published folder and checks and completes the copy there.
Nothing that only reads ever opens the master read-write.

The incident tables are built from the field declarations (``garita.fields``). A database
records its **schema version** in ``meta``; ``MIGRATIONS`` holds the ordered steps from
each version to the next (version 1 is the first schema). A writer, a publish and a
restore check a database against the schema of its own version, then apply the steps it
lacks, in one transaction. Every change runs in ``with transaction(con):``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from garita import fields

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_DB = DATA_DIR / "garita.duckdb"
DB_ENV = "GARITA_DB"
KEEP_PUBLISHED = 3  # the newest copies always kept, whatever the retention settings
# How long earlier data versions stay reachable (``?version=N``): copies older than
# GARITA_KEEP_DAYS days, then the oldest beyond GARITA_KEEP_MB megabytes in all, are removed;
# the current copy never is. Of several copies of one version only the newest is kept.
KEEP_DAYS_ENV, KEEP_MB_ENV = "GARITA_KEEP_DAYS", "GARITA_KEEP_MB"
DEFAULT_KEEP_DAYS, DEFAULT_KEEP_MB = 365, 2048
RETRY_PUBLISH_SECONDS = 30
HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers
LOG = logging.getLogger("garita")

# The tables whose columns do not come from the fields; ``schema_sql`` adds the incident
# tables (``incidents``, ``incidents_rolled_back``, ``duplicate_rows``) from the fields and
# the batch ledger (``batches``) from ``_LEDGER`` and the columns migrations added to it.
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS ports (
    port_code VARCHAR PRIMARY KEY, port_name VARCHAR NOT NULL, state VARCHAR NOT NULL,
    latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, field_office VARCHAR,
    mexican_city VARCHAR, aliases VARCHAR, source VARCHAR);
CREATE TABLE IF NOT EXISTS incident_types (
    code VARCHAR PRIMARY KEY, label_en VARCHAR NOT NULL, label_es VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS rejected_rows (
    batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL, raw VARCHAR NOT NULL,
    problems VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
    logged_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, action VARCHAR NOT NULL, batch_id INTEGER,
    detail VARCHAR);
"""
_VIEWS = """
CREATE OR REPLACE VIEW incidents_mapped AS
    SELECT i.*, p.port_name, p.latitude, p.longitude, p.field_office, p.mexican_city,
           p.state AS port_state
    FROM incidents i LEFT JOIN ports p USING (port_code);
"""
# Columns of every incident table after the fields of the first schema: which batch and row
# a record came from and its fingerprint (see ``fields.fingerprint_sql``).
_BOOKKEEPING = (("batch_id", "INTEGER", "NOT NULL"), ("source_row", "INTEGER", "NOT NULL"),
                ("fingerprint", "VARCHAR", "NOT NULL"))
BOOKKEEPING_COLUMNS = tuple(name for name, _, _ in _BOOKKEEPING)
_DUPLICATE_OF = (("duplicate_of", "VARCHAR", ""), ("duplicate_of_batch", "INTEGER", ""))
# The batch ledger of the first schema; later columns come from ``add_columns`` steps.
_LEDGER = (
    ("batch_id", "INTEGER", "PRIMARY KEY"), ("file_name", "VARCHAR", ""),
    ("sha256", "VARCHAR", "NOT NULL"), ("loaded_at", "TIMESTAMP", "NOT NULL"),
    ("loaded_by", "VARCHAR", "NOT NULL"), ("source", "VARCHAR", ""),
    ("encoding", "VARCHAR", ""), ("delimiter", "VARCHAR", ""), ("date_order", "VARCHAR", ""),
    ("rows_total", "INTEGER", "NOT NULL"), ("rows_loaded", "INTEGER", "NOT NULL"),
    ("rows_duplicate", "INTEGER", "NOT NULL"), ("rows_skipped", "INTEGER", "NOT NULL"),
    ("rows_rejected", "INTEGER", "NOT NULL"),
    ("status", "VARCHAR", "NOT NULL CHECK (status IN ('active', 'rolled_back'))"),
    ("rolled_back_at", "TIMESTAMP", ""), ("rolled_back_by", "VARCHAR", ""))
INCIDENT_TABLES = ("incidents", "incidents_rolled_back", "duplicate_rows")


@dataclass(frozen=True)
class Migration:
    """One step from a schema version to the next; ``adds_field`` names the field whose
    column it adds, and ``refingerprint`` says the stored fingerprints must be computed
    again after it."""

    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]
    adds_field: str | None = None
    refingerprint: bool = False
    creates: str = ""  # SQL of the tables and views it adds, part of the schema from then on
    adds_columns: tuple[tuple[str, str, str], ...] = ()  # (table, column, type), not fields'


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def identifier(name: str) -> str:
    """``name`` quoted for SQL, where a table or column name must be written into the
    statement (DuckDB binds values, not names). Names come from Garita's own declarations
    (``garita.fields``, ``_LEDGER``, the schema); anything else is refused."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a table or column name Garita declares")
    return f'"{name}"'


def add_field(name: str) -> Migration:
    """The step that adds a declared field's column to the incident tables (``ALTER TABLE
    ADD COLUMN``; blank in the rows already there). A field that counts for duplicates
    changes every fingerprint, so they are computed again."""
    def apply(con: duckdb.DuckDBPyConnection) -> None:
        declared = fields.field(name)
        for table in INCIDENT_TABLES:
            con.execute(f"ALTER TABLE {identifier(table)} "
                        f"ADD COLUMN {identifier(declared.name)} {declared.sql}")
    return Migration(f"add the field {name}", apply, adds_field=name,
                     refingerprint=fields.field(name).dedup)


def add_columns(table: str, *columns: tuple[str, str], refingerprint: bool = False
                ) -> Migration:
    """The step that adds columns (name, type; blank in the rows already there) to a table
    that does not come from the fields, such as the batch ledger (``_LEDGER``)."""
    def apply(con: duckdb.DuckDBPyConnection) -> None:
        for name, kind in columns:
            con.execute(f"ALTER TABLE {identifier(table)} ADD COLUMN {identifier(name)} {kind}")
    return Migration(f"add {', '.join(name for name, _ in columns)} to {table}", apply,
                     refingerprint=refingerprint,
                     adds_columns=tuple((table, name, kind) for name, kind in columns))


def add_tables(name: str, sql: str) -> Migration:
    """The step that adds tables and views (``sql``: statements that may run again); they
    are part of the schema of every version after it."""
    return Migration(name, lambda con: con.execute(sql), creates=sql)


# Staff decisions on possible matches (``garita.matches``), keyed by fingerprints, which
# survive re-loads and rollbacks: ``a_key < b_key``. ``match_groups`` joins incidents decided
# "same" (transitively) and names each group's primary, the member of the earliest batch;
# ``incidents_counted`` is every incident but the other members: what public numbers count.
MATCH_SQL = """
CREATE TABLE IF NOT EXISTS match_decisions (
    a_key VARCHAR NOT NULL, b_key VARCHAR NOT NULL, decision VARCHAR NOT NULL
        CHECK (decision IN ('same', 'different')),
    decided_by VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, PRIMARY KEY (a_key, b_key));
CREATE OR REPLACE VIEW match_groups AS
    WITH RECURSIVE linked AS (
        SELECT a_key AS x, b_key AS y FROM match_decisions
        WHERE decision = 'same' AND a_key IN (SELECT fingerprint FROM incidents)
          AND b_key IN (SELECT fingerprint FROM incidents)),
    edges AS (SELECT x, y FROM linked UNION SELECT y, x FROM linked),
    reach(node, other) AS (
        SELECT x, x FROM edges
        UNION
        SELECT r.node, e.y FROM reach r JOIN edges e ON e.x = r.other)
    SELECT r.node AS fingerprint,
           arg_min(r.other, (i.batch_id, i.source_row)) AS primary_key,
           count(*) AS members
    FROM reach r JOIN incidents i ON i.fingerprint = r.other GROUP BY r.node;
CREATE OR REPLACE VIEW incidents_counted AS
    SELECT * FROM incidents WHERE fingerprint NOT IN (
        SELECT fingerprint FROM match_groups WHERE fingerprint <> primary_key);
"""

# Version 1 is Garita's first schema; step N brings a database from version N to N + 1.
# Append only: never edit, reorder or remove a step once a database may have taken it.
MIGRATIONS: list[Migration] = [add_tables("possible matches: decisions, groups, counted",
                                          MATCH_SQL),
    # What staff chose for a batch (JSON): how headers were read (header -> field, '' for
    # not used), values for every row (field -> value), replacements ([{field, value,
    # new}]); the header signature that offers the mapping again; rows edited in the app.
    # And a row with its source's own id becomes that source's record: the fingerprints
    # are computed again (``fields.fingerprint_sql``).
    add_columns("batches", ("header_signature", "VARCHAR"), ("mapping", "VARCHAR"),
                ("batch_values", "VARCHAR"), ("replacements", "VARCHAR"),
                ("rows_edited", "INTEGER"), refingerprint=True),
    # The tool's own record id (Kobo ``_uuid``, Ushahidi post number) and every link of a
    # link cell (``source_url`` is the first).
    add_field("record_id"), add_field("source_urls")]


def schema_version() -> int:
    """The newest schema version: the one this Garita builds and brings databases to."""
    return 1 + len(MIGRATIONS)


def _incident_columns(version: int) -> tuple[list[tuple], list[tuple]]:
    """The incident columns of schema ``version``, as (name, type, constraint): those of the
    first schema, and those added by migrations since, in the order they were added (a
    column added to a table goes last, so a fresh table puts them last too)."""
    added = [m.adds_field for m in MIGRATIONS if m.adds_field]
    added_by_then = [m.adds_field for m in MIGRATIONS[:version - 1] if m.adds_field]
    first = [(f.name, f.sql, f.constraint) for f in fields.stored() if f.name not in added]
    later = [(name, fields.field(name).sql, "") for name in added_by_then]
    return first + list(_BOOKKEEPING), later


def _table_sql(name: str, columns: list[tuple], constraints: bool = True) -> str:
    body = ", ".join(f'"{column}" {kind}' + (f" {rule}" if rule and constraints else "")
                     for column, kind, rule in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} ({body});"


def _ledger_columns(version: int) -> list[tuple]:
    """The batch ledger's columns at schema ``version``, as (name, type, constraint)."""
    return list(_LEDGER) + [(name, kind, "") for step in MIGRATIONS[:version - 1]
                            for table, name, kind in step.adds_columns if table == "batches"]


def schema_sql(version: int | None = None) -> str:
    """The SQL that builds Garita's tables as they are at schema ``version`` (default: the
    newest). Every statement may run again on a database that has them. The copies of
    incidents (rolled back, duplicates) keep the columns without their constraints."""
    first, later = _incident_columns(version or schema_version())
    return "\n".join([
        _TABLES,
        _table_sql("batches", _ledger_columns(version or schema_version())),
        _table_sql("incidents", first + later),
        _table_sql("incidents_rolled_back", first + later, constraints=False),
        _table_sql("duplicate_rows", first + list(_DUPLICATE_OF) + later, constraints=False),
        _VIEWS, *(m.creates for m in MIGRATIONS[:(version or schema_version()) - 1])])


def stored_schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version a database records; 1 for one made before versions were recorded
    (a database with no ``meta`` table is not Garita's: ``schema_check`` says so)."""
    try:
        row = one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    except duckdb.CatalogException:
        return 1
    return int(row[0]) if row else 1


@dataclass(frozen=True)
class Upgrade:
    """What brings a database to the newest schema: ``repairs`` (see ``schema_check``)
    bring it to the schema of its recorded ``version``, then the migrations since."""

    version: int
    repairs: tuple = ()

    @property
    def needed(self) -> bool:
        return bool(self.repairs) or self.version < schema_version()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block as one transaction: COMMIT at its end, ROLLBACK if it raises (the
    exception goes on). DuckDB can commit nothing after a failed statement without saying
    so: callers that must know recount after the block."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # the first error is the one to report
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class DatabaseProblem(RuntimeError):
    """The database cannot be used as asked; the message says why and what to do."""


class DatabaseBusy(DatabaseProblem):
    """Another writer holds the database; the message says who and what to do."""


class DatabaseMissing(DatabaseProblem):
    """No database has been built yet; the message says how to build it."""


class DatabaseDamaged(DatabaseProblem):
    """The master is cut short, not a DuckDB file, or not Garita's schema; the message says
    how to restore it. Nothing was changed."""


class DatabaseReadOnly(DatabaseProblem):
    """This user may not write the master or its folder; the message says how to fix it."""


class NotPublished(DatabaseProblem):
    """A change is saved in the master, but the published folder could not be written, so
    readers do not see it yet; the message says how to fix it."""


class RestoreFailed(DatabaseProblem):
    """A restore failed after the swap; the previous database was put back."""


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
    path = lock_path(master)
    try:
        master.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except PermissionError:
        raise DatabaseReadOnly(_read_only_message(master, path)) from None
    with handle:
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


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _read_only_message(master: Path, path: Path) -> str:
    return (f"{path} is read-only for this user, so {master.name} cannot be changed. Give the "
            f"user that runs Garita write permission on {master.parent} and the files in it "
            f"(for example `chmod u+w {path}`), or run the command as that user. Nothing was "
            "changed.")


def _why(exc: BaseException) -> str:
    """A short reason for a DuckDB error on a file, without its message (it can quote paths
    and internals that help nobody)."""
    text = str(exc)
    if "not a valid DuckDB database file" in text:
        return "not a DuckDB database file"
    if "Could not read enough bytes" in text:
        return "the file is cut short"
    return f"DuckDB could not read it: {type(exc).__name__}"


def _last_copy(master: Path) -> tuple[Path, int] | None:
    """The published copy readers see now and its data version, if there is one."""
    current = _current_pointer(master)
    if current is None or not (published_dir(master) / current["file"]).exists():
        return None
    return published_dir(master) / current["file"], current["version"]


def _damaged_message(master: Path, reason: str) -> str:
    message = (f"{master.name} is damaged or not a Garita database ({reason}): restore it "
               "from a backup with `python -m etl restore FILE`.")
    last = _last_copy(master)
    if last:
        message += (f" The app still shows the last published copy (data version {last[1]}); "
                    f"to go back to it: `python -m etl restore {last[0]}`.")
    return message + " Nothing was changed."


def _connect_master(master: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(master), read_only=read_only)
    except duckdb.Error as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise DatabaseReadOnly(_read_only_message(master, master)) from None
        if "does not exist" in text:
            raise DatabaseMissing(_missing_message(master)) from None
        if "Could not set lock" not in text and "Conflicting lock" not in text:
            raise DatabaseDamaged(_damaged_message(master, _why(exc))) from None
        pid = re.search(r"PID (\d+)", text)
        who = f"process {pid.group(1)}" if pid else "another program"
        raise DatabaseBusy(
            f"{master.name} is open in {who}. Garita's own tools take turns through a lock; "
            "close any other program (a DuckDB shell, a notebook) that has the file open, "
            "then try again. Nothing was changed."
        ) from None


def _check_writable(master: Path) -> None:
    for path in (master.parent, master, _wal(master)):
        if path.exists() and not os.access(path, os.W_OK):
            raise DatabaseReadOnly(_read_only_message(master, path))


def _ready_to_write(master: Path, create: bool) -> Upgrade | None:
    """Refuse, before anything is written, a master that is missing, damaged or read-only;
    returns what brings an older schema forward (None: a new database)."""
    if not master.exists():
        if not create or _last_copy(master):  # never make again empty what readers show
            raise DatabaseMissing(_missing_message(master))
        _check_writable(master)
        return None
    _check_writable(master)
    return _inspect(master)[2]


@contextlib.contextmanager
def writer(master: Path, wait_seconds: float = 30.0, *,
           create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the master for one change; publishes a copy afterwards.

    Refuses a missing master (unless ``create``, for ``init``), a damaged or read-only one,
    before anything is written; brings an older schema forward. Raises ``NotPublished``
    when the change is saved but the published copy could not be written.
    """
    with writer_lock(master, wait_seconds):
        upgrade = _ready_to_write(master, create)
        con = _connect_master(master)
        try:
            if upgrade is None or upgrade.needed:
                _migrate(con, upgrade)
            yield con
        finally:
            con.close()
        try:
            _publish_locked(master)
        except OSError as exc:
            raise NotPublished(_not_published_message(master, exc)) from None


def audit(con: duckdb.DuckDBPyConnection, who: str, action: str, batch_id: int | None = None,
          detail: str = "") -> None:
    """Record who did what (counts only, never row content); call inside the change's
    transaction so the record and the change land together."""
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
                [time.strftime("%Y-%m-%d %H:%M:%S"), who, action, batch_id, detail])


def record(master: Path, who: str, action: str, detail: str = "") -> None:
    """Append one audit entry on its own (a sign-in, a download of rejected rows)."""
    try:
        with writer(master) as con:
            audit(con, who, action, None, detail)
    except NotPublished as exc:  # the entry is saved; staff see it once it is published
        LOG.warning("%s", exc)


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


def _missing_message(master: Path) -> str:
    last = _last_copy(master)
    if last:
        return (f"{master} is missing, but the app still shows its last published copy (data "
                f"version {last[1]}). Put it back with `python -m etl restore {last[0]}`, or "
                "restore a backup with `python -m etl restore FILE`. Nothing was changed.")
    return (f"No database at {master}. Build it with `python -m etl init` (or `make run`), or "
            "restore a backup with `python -m etl restore FILE`.")


def _cannot_publish(master: Path, exc: OSError) -> str:
    folder = published_dir(master)
    return (f"{folder} cannot be written ({exc.strerror or type(exc).__name__}). Give the "
            f"user that runs Garita write permission on that folder (for example "
            f"`chmod u+w {folder}`)")


def _not_published_message(master: Path, exc: OSError) -> str:
    return (f"Saved in {master.name}, but not yet published: {_cannot_publish(master, exc)}; "
            "the next command, or the app within a minute, publishes it then. Until then "
            "the app and the read commands show the data as it was. Do not load the file "
            "again.")


def _stamp(master: Path) -> list[int] | None:
    """What the master's files look like now (inode, mtime, size of the file and of its
    write-ahead log); any commit changes it. None if there is no master."""
    try:
        main = master.stat()
    except FileNotFoundError:
        return None
    try:
        wal = _wal(master).stat()
        log = [wal.st_mtime_ns, wal.st_size]
    except FileNotFoundError:
        log = [0, 0]
    return [main.st_ino, main.st_mtime_ns, main.st_size, *log]


def _write_pointer(folder: Path, pointer: dict) -> None:
    tmp = folder / "CURRENT.tmp"
    tmp.write_text(json.dumps(pointer))
    os.replace(tmp, folder / "CURRENT")


def _short_reason(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """Why a just-opened database file is not whole, or None. DuckDB reads a block only when
    a query needs it, so a file cut short can open and answer some queries: every block in
    use (metadata, and each table's segments) must lie inside the file."""
    last = one(con, "SELECT max(block_id) FROM pragma_metadata_info()")[0]
    last = -1 if last is None else last
    for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main'").fetchall():
        used = one(con, "SELECT max(greatest(block_id, coalesce(list_max(additional_block_ids), "
                        "-1))) FROM pragma_storage_info(?) WHERE persistent",
                   ['"' + table.replace('"', '""') + '"'])[0]
        if used is not None:
            last = max(last, used)
    block_size = one(con, "SELECT block_size FROM pragma_database_size() "
                          "WHERE database_name = current_database()")[0]
    if path.stat().st_size < HEADER_BYTES + block_size * (last + 1):
        return "the file is cut short"
    return None


def _audited(con: duckdb.DuckDBPyConnection) -> int:
    """Audit entries so far: sign-ins add some without a new data version, and staff read
    them published."""
    if not one(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                    "current_database() AND schema_name = 'main' AND table_name = 'audit_log'")[0]:
        return 0
    return one(con, "SELECT count(*) FROM audit_log")[0]


def _inspect(master: Path) -> tuple[int, int, Upgrade]:
    """Open the master read-only and check it is whole and Garita's; returns its data
    version, its audit count and what brings an older schema forward."""
    con = _connect_master(master, read_only=True)
    try:
        reason = _short_reason(con, master)
        problems, upgrade = _plan(con)
        if reason or problems:
            raise DatabaseDamaged(_damaged_message(master, reason or "; ".join(problems)))
        return data_version(con), _audited(con), upgrade
    except duckdb.Error as exc:
        raise DatabaseDamaged(_damaged_message(master, _why(exc))) from None
    finally:
        con.close()


def _remove_leftovers(folder: Path) -> None:
    """Copies and pointers left by a publish that was stopped (called under the lock)."""
    for leftover in [*folder.glob("*.tmp"), *folder.glob("*.tmp.wal")]:
        leftover.unlink(missing_ok=True)


def _setting(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        LOG.warning("%s is not a whole number; using %s", name, default)
        return default


def keep_days() -> int:
    """Days an earlier published version stays reachable (``GARITA_KEEP_DAYS``, 365)."""
    return _setting(KEEP_DAYS_ENV, DEFAULT_KEEP_DAYS)


def keep_mb() -> int:
    """Megabytes all published copies may take (``GARITA_KEEP_MB``, 2048)."""
    return _setting(KEEP_MB_ENV, DEFAULT_KEEP_MB)


def _prune(folder: Path, keep: str) -> None:
    copies = sorted((p for p in folder.glob("v*.duckdb") if p.name != keep),
                    key=lambda p: p.stat().st_mtime_ns, reverse=True)
    protected = {p.name for p in copies[:max(0, KEEP_PUBLISHED - 1)]}
    seen, kept, doomed = {keep[:7]}, [], []
    for copy in copies:  # newest first: a version's newest copy holds its data
        (doomed if copy.name[:7] in seen and copy.name not in protected else kept).append(copy)
        seen.add(copy.name[:7])
    too_old = time.time() - keep_days() * 86400
    room = keep_mb() * 1024 * 1024 - (folder / keep).stat().st_size
    for copy in kept:  # newest first: once one is over the budget, every older one is too
        room -= copy.stat().st_size
        if copy.name not in protected and (copy.stat().st_mtime < too_old or room < 0):
            doomed.append(copy)
    for old in doomed:
        old.unlink(missing_ok=True)  # open readers keep their handle; Linux frees it later


def withdraw_earlier_versions(master: Path) -> int:
    """Delete every published copy but the current one; returns how many were deleted.

    Called after a rollback: a batch may be withdrawn because it should never have been
    public (personal data), so no earlier version that still holds it stays reachable
    through ``?version=``; citations of those versions then say they are no longer kept.
    """
    current = _current_pointer(master)
    if not current:
        return 0
    removed = 0
    for copy in published_dir(master).glob("v*.duckdb"):
        if copy.name != current["file"]:
            copy.unlink(missing_ok=True)  # open readers keep their handle until they close
            removed += 1
    return removed


def _publish_locked(master: Path) -> Path:
    """Under the writer lock: make the newest published copy hold what the master holds.

    The master is only read. Its file, and the write-ahead log a writer killed after its
    commit leaves, are copied into the published folder; the copy replays the log, is
    brought to the current schema and checked there, then renamed and pointed to.
    """
    stamp = _stamp(master)
    if stamp is None:
        raise DatabaseMissing(_missing_message(master))
    version, audited, upgrade = _inspect(master)
    folder = published_dir(master)
    folder.mkdir(exist_ok=True)
    _remove_leftovers(folder)
    current = _current_pointer(master)
    if current and (current.get("version"), current.get("audited")) == (version, audited) \
            and current.get("schema", 1) == schema_version() and not upgrade.needed \
            and (folder / current["file"]).exists():
        if current.get("master") != stamp:
            with contextlib.suppress(OSError):  # unrecorded, readers only check again
                _write_pointer(folder, {**current, "master": stamp})
        return folder / current["file"]
    name = f"v{version:06d}-{time.time_ns()}.duckdb"
    tmp = folder / (name + ".tmp")
    try:
        shutil.copyfile(master, tmp)
        if _wal(master).exists():
            shutil.copyfile(_wal(master), _wal(tmp))
        try:
            con = duckdb.connect(str(tmp))
            try:
                if upgrade.needed:
                    _migrate(con, upgrade)
                con.execute("CHECKPOINT")
                reason = _short_reason(con, tmp)
            finally:
                con.close()
        except duckdb.Error as exc:
            raise DatabaseDamaged(_damaged_message(master, _why(exc))) from None
        if reason:
            raise DatabaseDamaged(_damaged_message(master, reason))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)
        _wal(tmp).unlink(missing_ok=True)
    _write_pointer(folder, {"version": version, "audited": audited, "file": name,
                            "master": stamp, "schema": schema_version()})
    _prune(folder, keep=name)
    return folder / name


_UNPUBLISHABLE: dict[str, tuple[list[int], float]] = {}


def _catch_up(master: Path, stamp: list[int], strict: bool) -> None:
    """Publish what the master holds beyond the newest copy, without waiting for the lock."""
    failed = _UNPUBLISHABLE.get(str(master))
    if not strict and failed and failed[0] == stamp \
            and time.monotonic() - failed[1] < RETRY_PUBLISH_SECONDS:
        return  # the app asks on every rerun: do not copy a damaged file each time
    try:
        with writer_lock(master, wait_seconds=0):
            _publish_locked(master)
        _UNPUBLISHABLE.pop(str(master), None)
    except DatabaseBusy:
        pass  # a writer is at work and publishes when it ends
    except (DatabaseDamaged, DatabaseMissing) as exc:
        if strict:
            raise
        _UNPUBLISHABLE[str(master)] = (stamp, time.monotonic())
        LOG.error("%s", exc)
    except (OSError, DatabaseReadOnly) as exc:
        _UNPUBLISHABLE[str(master)] = (stamp, time.monotonic())
        why = exc if isinstance(exc, DatabaseReadOnly) else _not_published_message(master, exc)
        LOG.warning("The newest change is not shown. %s", why)


def ensure_published(master: Path) -> None:
    """Publish the master if the newest published copy is behind it (e.g. after a crash).

    Does nothing when another writer holds the lock: that writer publishes when it ends.
    """
    with contextlib.suppress(DatabaseProblem):
        published_file(master, strict=False)


def published_file(master: Path, *, strict: bool = True) -> Path:
    """The published copy readers should open now, caught up with the master first.

    Cheap enough for every rerun of the app: a read of ``CURRENT`` and two ``stat`` calls
    while the newest copy matches the master. When the master changed since (a writer was
    killed between its commit and its publish), the change is published here if no writer
    holds the lock; the master is only read.

    ``strict`` (the CLI) raises ``DatabaseDamaged``/``DatabaseMissing`` when the master is
    damaged or gone. The app passes ``strict=False`` and keeps showing the last published
    copy (the problem is logged). A published folder that cannot be written is logged as a
    warning and the last copy is served.
    """
    folder = published_dir(master)
    current = _current_pointer(master)
    stamp = _stamp(master)
    if stamp is None:
        if strict or current is None or not (folder / current["file"]).exists():
            raise DatabaseMissing(_missing_message(master))
        return folder / current["file"]
    if current is None or current.get("master") != stamp \
            or current.get("schema", 1) != schema_version() \
            or not (folder / current["file"]).exists():
        _catch_up(master, stamp, strict)
        current = _current_pointer(master)
    if current is None or not (folder / current["file"]).exists():
        raise DatabaseMissing(_missing_message(master))
    return folder / current["file"]


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a published copy that cannot touch any other file."""
    return duckdb.connect(
        str(path), read_only=True, config={"enable_external_access": False}
    )


# The tables of Garita's first schema: a database without one of them is not Garita's.
REQUIRED_TABLES = frozenset({"meta", "ports", "incident_types", "batches", "incidents",
                             "incidents_rolled_back", "rejected_rows", "duplicate_rows"})


def _shape(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, tuple]]:
    """Each table and view of the main schema: its kind and its columns (name, type,
    nullable) in order."""
    kinds = dict(con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() WHERE database_name = "
        "current_database() AND schema_name = 'main' UNION ALL SELECT view_name, 'view' "
        "FROM duckdb_views() WHERE database_name = current_database() AND schema_name = "
        "'main' AND NOT internal").fetchall())
    columns: dict[str, list] = {}
    for table, *column in con.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main' "
            "ORDER BY table_name, column_index").fetchall():
        columns.setdefault(table, []).append(tuple(column))
    return {name: (kind, tuple(columns.get(name, ()))) for name, kind in kinds.items()}


@functools.lru_cache(maxsize=8)
def _reference(schema: str) -> tuple[dict, dict[str, str], frozenset]:
    """A fresh database built from ``schema``: its shape, each table's CREATE, and the
    (table, column) pairs that have a default."""
    con = duckdb.connect()
    try:
        con.execute(schema)
        creates = dict(con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
        defaults = frozenset(con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE column_default IS NOT NULL").fetchall())
        return _shape(con), creates, defaults
    finally:
        con.close()


def schema_check(con: duckdb.DuckDBPyConnection, schema: str | None = None
                 ) -> tuple[list[str], list[tuple[str, tuple[str, ...]]]]:
    """Compare every table and column of a database with a fresh one built from ``schema``
    (default: the newest, ``schema_sql()``).

    Returns the problems that make it unusable (each says what differs), and the steps that
    bring an older Garita database forward: a table that came later is created empty, a
    table that lacks columns that may be blank (or have a default) is rebuilt with them.
    Extra columns, other types, a view where a table belongs, or a missing column that may
    not be blank are problems: loads would fail on them. Tables Garita does not know are
    left alone.
    """
    want, _, defaults = _reference(schema or schema_sql())
    have = _shape(con)
    problems: list[str] = []
    steps: list[tuple[str, tuple[str, ...]]] = []
    for table, (kind, columns) in want.items():
        if table not in have:
            if table in REQUIRED_TABLES:
                problems.append(f"no table {table}")
            else:
                steps.append((table, ()))
            continue
        have_kind, have_columns = have[table]
        if have_kind != kind:
            problems.append(f"{table} is a {have_kind} where Garita keeps a {kind}")
            continue
        if kind == "view" or have_columns == columns:
            continue
        expected = {column[0]: column for column in columns}
        extra = [c[0] for c in have_columns if c[0] not in expected]
        other = [f"{table}.{c[0]} is {c[1]}{'' if c[2] else ' NOT NULL'}, expected "
                 f"{expected[c[0]][1]}{'' if expected[c[0]][2] else ' NOT NULL'}"
                 for c in have_columns if c[0] in expected and c != expected[c[0]]]
        present = {c[0] for c in have_columns}
        required = [c[0] for c in columns
                    if c[0] not in present and not c[2] and (table, c[0]) not in defaults]
        if extra:
            problems.append(f"{table} has columns Garita does not know: {', '.join(extra)}")
        problems += other
        if required:
            problems.append(f"{table} lacks required columns: {', '.join(required)}")
        if not (extra or other or required):
            steps.append((table, tuple(c[0] for c in have_columns)))
    return problems, steps


def _plan(con: duckdb.DuckDBPyConnection, extra: str = ""
          ) -> tuple[list[str], Upgrade]:
    """What makes a database unusable, and what brings it to the newest schema: it is
    checked against the schema of the version it records (plus ``extra`` tables)."""
    version = stored_schema_version(con)
    if version > schema_version():
        return [f"its schema is version {version}, newer than this Garita knows "
                f"({schema_version()}): use a newer Garita"], Upgrade(version)
    problems, repairs = schema_check(con, schema_sql(version) + extra)
    return problems, Upgrade(version, tuple(repairs))


def _migrate(con: duckdb.DuckDBPyConnection, upgrade: Upgrade | None,
             extra: str = "") -> None:
    """Bring a database to the newest schema (plus ``extra`` tables) in one transaction and
    record its version. ``upgrade`` None: a new database, built. Otherwise it is first
    repaired to the schema of its version (see ``schema_check``), then the migrations it
    lacks are applied in order."""
    with transaction(con):
        if upgrade is not None:
            _upgrade(con, upgrade, extra)
        con.execute(schema_sql() + extra)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    [str(schema_version())])


def _upgrade(con: duckdb.DuckDBPyConnection, upgrade: Upgrade, extra: str) -> None:
    schema = schema_sql(upgrade.version) + extra
    want, creates, _ = _reference(schema)
    steps = MIGRATIONS[upgrade.version - 1:]
    rebuilds = [(table, columns) for table, columns in upgrade.repairs if columns]
    if rebuilds or steps:  # views are made again afterwards, over the new tables
        for name, (kind, _) in want.items():
            if kind == "view":
                con.execute(f"DROP VIEW IF EXISTS {identifier(name)}")
    for table, columns in rebuilds:
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'ALTER TABLE "{table}" RENAME TO "{table}__before_migration"')
        con.execute(creates[table])
        con.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} '
                    f'FROM "{table}__before_migration"')
        con.execute(f'DROP TABLE "{table}__before_migration"')
    con.execute(schema)  # tables that came later, at the database's version
    for step in steps:
        step.apply(con)
    if any(step.refingerprint for step in steps):
        _rekey_decisions(con)
        for table in INCIDENT_TABLES:
            con.execute(f"UPDATE {table} SET fingerprint = {fields.fingerprint_sql()}")


def _rekey_decisions(con: duckdb.DuckDBPyConnection) -> None:
    """Before fingerprints are computed again: decisions on possible matches follow their
    incidents to the new fingerprints (a decision whose incident is gone stays as it was)."""
    if not one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                    "'match_decisions' AND schema_name = 'main'")[0]:
        return
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rekeyed AS
        SELECT fingerprint AS old, min({fields.fingerprint_sql()}) AS new
        FROM (SELECT * FROM incidents UNION ALL BY NAME SELECT * FROM incidents_rolled_back)
        GROUP BY 1""")
    rows = con.execute("""
        SELECT coalesce(a.new, d.a_key), coalesce(b.new, d.b_key), d.decision, d.decided_by,
               d.decided_at
        FROM match_decisions d LEFT JOIN rekeyed a ON a.old = d.a_key
             LEFT JOIN rekeyed b ON b.old = d.b_key""").fetchall()
    if not rows:
        return
    con.execute("DELETE FROM match_decisions")
    con.executemany("INSERT INTO match_decisions VALUES (least($1, $2), greatest($1, $2), $3, "
                    "$4, $5) ON CONFLICT DO NOTHING", rows)
    con.execute("DROP TABLE rekeyed")


def backup(master: Path, out: Path) -> int:
    """Copy a consistent snapshot of the database to ``out``; returns its data version."""
    snapshot = published_file(master)
    tmp = out.with_name(out.name + ".tmp")
    shutil.copyfile(snapshot, tmp)
    os.replace(tmp, out)
    con = connect_reader(out)
    try:
        return data_version(con)
    finally:
        con.close()


def _known_version(master: Path) -> int:
    """The highest data version readers may have seen, even from a damaged master."""
    current = _current_pointer(master) or {}
    version = int(current.get("version", 0))
    if master.exists():
        with contextlib.suppress(DatabaseProblem, duckdb.Error):
            con = _connect_master(master, read_only=True)
            try:
                version = max(version, data_version(con))
            finally:
                con.close()
    return version


def _read_every_block(con: duckdb.DuckDBPyConnection) -> None:
    """Read every row of every table, so DuckDB checks each block's checksum: a backup with
    damaged data is refused before it replaces anything (raises ``duckdb.Error``)."""
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema = 'main'").fetchall()]
    for name in tables:
        quoted = '"' + name.replace('"', '""') + '"'
        reader = con.sql(f"SELECT * FROM {quoted}").to_arrow_reader(65_536)
        for _ in reader:
            pass


def _prepare_restore(source: Path, candidate: Path, master: Path, extra: str) -> int:
    """Copy a backup beside the master, check and bring it forward there, and give it a
    data version above any readers have seen; returns that version."""
    shutil.copyfile(source, candidate)
    if _wal(source).exists():
        shutil.copyfile(_wal(source), _wal(candidate))
    try:
        con = duckdb.connect(str(candidate))
    except duckdb.Error as exc:
        raise ValueError(f"{source} is not a DuckDB database file, or is damaged "
                         f"({_why(exc)}). Nothing was changed.") from None
    try:
        reason = _short_reason(con, candidate)
        if reason:
            raise ValueError(f"{source} is damaged ({reason}). Nothing was changed.")
        _read_every_block(con)
        problems, upgrade = _plan(con, extra)
        if problems:
            raise ValueError(f"{source} is not a Garita database this version can restore: "
                             f"{'; '.join(problems)}. Nothing was changed.")
        _migrate(con, upgrade, extra)
        version = max(_known_version(master), data_version(con)) + 1
        con.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', ?), ('changed_at', ?)",
                    [str(version), time.strftime("%Y-%m-%d %H:%M:%S")])
        con.execute("CHECKPOINT")
        return version
    except duckdb.Error as exc:
        raise ValueError(f"{source} is damaged ({_why(exc)}). Nothing was changed.") from None
    finally:
        con.close()


def _move(source: Path, target: Path) -> None:
    """Rename a database file and its write-ahead log, if it has one."""
    os.replace(source, target)
    if _wal(source).exists():
        os.replace(_wal(source), _wal(target))
    else:
        _wal(target).unlink(missing_ok=True)


def restore(master: Path, source: Path, *, extra: str = "") -> int:
    """Replace the database with a backup, then publish it; returns the new data version.

    The backup is copied beside the master and checked there: a whole DuckDB file whose
    every table and column matches the schema of the version it records, plus ``extra``
    (SQL of tables other parts of Garita create when first needed, such as the BTS
    crossings); an older Garita's is brought forward, anything else refused (see
    ``schema_check``). Only then is it swapped in; if anything
    fails after the swap, the previous master is put back. The replaced database is kept
    as ``<name>.before-restore`` until the next restore.
    """
    with writer_lock(master):
        _check_writable(master)
        candidate = master.with_name(master.name + ".restoring.tmp")
        kept = master.with_name(master.name + ".before-restore.tmp")
        for leftover in (candidate, _wal(candidate), kept, _wal(kept)):
            leftover.unlink(missing_ok=True)
        try:
            version = _prepare_restore(source, candidate, master, extra)
        except BaseException:
            candidate.unlink(missing_ok=True)
            _wal(candidate).unlink(missing_ok=True)
            raise
        had_master = master.exists()
        if had_master:
            try:
                os.link(master, kept)  # the old file stays whole under its new name
            except OSError:
                shutil.copyfile(master, kept)
            if _wal(master).exists():
                os.replace(_wal(master), _wal(kept))
        os.replace(candidate, master)
        try:
            _publish_locked(master)
        except BaseException as exc:
            if had_master:
                _move(kept, master)
            else:
                master.unlink(missing_ok=True)
            if not isinstance(exc, Exception):
                raise
            why = f"{_cannot_publish(master, exc)}, then restore again" \
                if isinstance(exc, OSError) else str(exc)
            raise RestoreFailed(
                f"The restored data could not be published, so the previous database was "
                f"put back and nothing changed. {why}.") from None
        if had_master:
            with contextlib.suppress(OSError):
                _move(kept, master.with_name(master.name + ".before-restore"))
    return version
