"""The write path survives faults: a writer killed between its commit and its publish, a
restore of a file that is not Garita's schema, a damaged, missing or read-only master, a
published folder that cannot be written. Every file is built here, as a tester would."""

import hashlib
import json
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import main as etl_main
from garita import db
from tests import faults
from tests.conftest import load_text, read
from tests.faults import read_only

HEADER = "date,port,incident_types,summary\n"


def rows(tag: str, n: int = 5) -> str:
    return HEADER + "".join(f"2019-03-{1 + i % 28:02d},Hidalgo,turned_away,{tag} row {i}\n"
                            for i in range(n))


def cli(master: Path, *args: str):
    """Run ``python -m etl`` in this process; it may exit, but never with a traceback."""
    result = CliRunner().invoke(etl_main, [*args, "--db", str(master)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(result.exception)))
    return result


def run_etl(master: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m etl`` as a separate process that file permissions apply to (the test
    is skipped where they cannot: as root without setpriv)."""
    try:
        return faults.run_etl(master, *args)
    except faults.PermissionsWouldNotApply as exc:
        pytest.skip(str(exc))


def state(master: Path) -> tuple:
    """The master's bytes, times and neighbours: what any write would change."""
    info = master.stat()
    return (hashlib.sha256(master.read_bytes()).hexdigest(), info.st_mtime_ns, info.st_size,
            sorted(p.name for p in master.parent.iterdir()))


def batch_ids(master: Path) -> list[int]:
    result = cli(master, "batches", "--json")
    assert result.exit_code == 0, result.output
    return [b["batch_id"] for b in json.loads(result.stdout)]


# --- a writer killed after its commit, before or during its publish -----------------------

# The child loads a file and stops dead at a chosen moment: it signals, then waits to be killed.
CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from etl import load as loader
    from garita import db
    where, signal_file, data_file, db_file = sys.argv[1:]

    def stop(*args, **kwargs):
        Path(signal_file).write_text(where)
        time.sleep(600)

    real_replace = os.replace
    def replace(src, dst):
        name = Path(src).name
        if (where == "copy_written" and name.endswith(".duckdb.tmp")) or \\
                (where == "before_pointer" and name == "CURRENT.tmp"):
            stop()
        real_replace(src, dst)

    if where == "before_publish":
        db._publish_locked = stop
    else:
        os.replace = replace
    loader.load_bytes(Path(data_file).read_bytes(), "killed.csv", db_path=db_file)
""")


def kill_writer_at(moment: str, master: Path, tmp_path: Path) -> Path:
    data_file = tmp_path / "killed.csv"
    data_file.write_text(rows("killed", 40))
    signal_file = tmp_path / "reached"
    killed = faults.kill_when([sys.executable, "-c", CHILD, moment, str(signal_file),
                               str(data_file), str(master)], signal_file.exists)
    assert not killed.ended_first, "the loader ended before reaching the kill point"
    assert signal_file.exists(), "the loader did not reach the kill point in time"
    return data_file


@pytest.mark.parametrize("moment", ["before_publish", "copy_written", "before_pointer"])
def test_a_batch_a_killed_writer_committed_is_shown_by_every_read_command(built_db, tmp_path,
                                                                          moment):
    data_file = kill_writer_at(moment, built_db, tmp_path)
    # No writer comes after it: each read command catches the published copy up itself.
    assert batch_ids(built_db) == [2, 1]
    exported = cli(built_db, "export", "--out", str(tmp_path / "all.csv"))
    assert exported.exit_code == 0 and "Wrote 97 incidents" in exported.output
    dry = cli(built_db, "load", str(data_file), "--dry-run", "--json")
    assert "already loaded as batch 2" in json.loads(dry.stdout)["message"]
    assert not list(db.published_dir(built_db).glob("*.tmp*")), "a stopped publish's leftovers"


def test_the_app_shows_a_batch_a_killed_writer_left_unpublished(built_db, tmp_path):
    from garita import ui

    kill_writer_at("before_publish", built_db, tmp_path)
    con = db.connect_reader(Path(ui.published_path()))
    try:
        assert con.execute("SELECT count(*) FROM incidents").fetchone() == (57 + 40,)
    finally:
        con.close()


# --- a damaged or missing master -----------------------------------------------------------

@pytest.mark.parametrize("cut", ["to nothing", "inside the header", "in half"])
def test_a_truncated_master_gets_a_plain_message_and_reads_never_change_it(built_db, tmp_path,
                                                                           cut):
    good = tmp_path / "good.duckdb"
    assert cli(built_db, "backup", "--out", str(good)).exit_code == 0
    new_csv = tmp_path / "new.csv"
    new_csv.write_text(rows("new"))
    size = {"to nothing": 0, "inside the header": 100,
            "in half": built_db.stat().st_size // 2}[cut]
    with open(built_db, "r+b") as handle:
        handle.truncate(size)
    before = state(built_db)
    for args in (["batches"], ["export"], ["load", str(new_csv), "--dry-run"],
                 ["rejected", "1", "--out", str(tmp_path / "rejected.csv")],
                 ["backup", "--out", str(tmp_path / "b.duckdb")],
                 ["load", str(new_csv)], ["rollback", "1"], ["init"]):
        result = cli(built_db, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "is damaged or not a Garita database" in result.output, (args, result.output)
        assert "python -m etl restore" in result.output
        assert state(built_db) == before, f"{args[0]} changed the damaged file"
    assert cli(built_db, "restore", str(good)).exit_code == 0
    assert load_text(built_db, rows("after")).status == "loaded"


def test_a_missing_master_is_named_and_never_made_again_empty(built_db, tmp_path):
    new_csv = tmp_path / "new.csv"
    new_csv.write_text(rows("new"))
    built_db.unlink()
    for args in (["batches"], ["load", str(new_csv)], ["init"]):
        result = cli(built_db, *args)
        assert result.exit_code == 1 and "is missing" in result.output, (args, result.output)
        assert "python -m etl restore" in result.output
        assert not built_db.exists(), f"{args[0]} made a new, empty database"
    copy = db.published_file(built_db, strict=False)  # what the app keeps showing
    assert str(copy) in cli(built_db, "batches").output
    assert cli(built_db, "restore", str(copy)).exit_code == 0
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_master_is_refused_before_any_write_and_still_read(built_db, tmp_path,
                                                                        what):
    new_csv = tmp_path / "new.csv"
    new_csv.write_text(rows("new"))
    before = state(built_db)
    with read_only(built_db if what == "file" else built_db.parent):
        loaded = run_etl(built_db, "load", str(new_csv))
        listed = run_etl(built_db, "batches", "--json")
    assert loaded.returncode == 1, loaded.stdout + loaded.stderr
    assert "read-only" in loaded.stderr and "chmod u+w" in loaded.stderr
    assert "Nothing was changed" in loaded.stderr and "Traceback" not in loaded.stderr
    assert state(built_db) == before
    assert listed.returncode == 0 and [b["batch_id"] for b in json.loads(listed.stdout)] == [1]
    assert load_text(built_db, rows("new")).status == "loaded"


# --- a published folder that cannot be written ---------------------------------------------

def test_a_batch_saved_while_the_published_folder_is_read_only_says_not_yet_published(
        built_db, tmp_path):
    new_csv = tmp_path / "new.csv"
    new_csv.write_text(rows("new"))
    folder = db.published_dir(built_db)
    with read_only(folder):
        loaded = run_etl(built_db, "load", str(new_csv), "--json")
        listed = run_etl(built_db, "batches", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert "Traceback" not in loaded.stderr
    report = json.loads(loaded.stdout)
    assert report["status"] == "loaded" and report["published"] is False
    assert report["message"].startswith("Loaded batch 2.")
    assert "not yet published" in report["message"] and "chmod u+w" in report["message"]
    # Until the folder is fixed, readers show what was published and say why.
    assert [b["batch_id"] for b in json.loads(listed.stdout)] == [1]
    assert "not yet published" in listed.stderr
    # Once it is, the next reader publishes the batch; loading it again changes nothing.
    assert batch_ids(built_db) == [2, 1]
    assert load_text(built_db, rows("new")).status == "already_loaded"
    assert not list(folder.glob("*.tmp*"))


# --- restore checks the whole schema on a copy, and puts the old master back on failure -----

def backup_changed(master: Path, tmp_path: Path, *statements: str) -> Path:
    """A backup of ``master``, then changed by ``statements`` the way a tester would."""
    out = tmp_path / "candidate.duckdb"
    assert cli(master, "backup", "--out", str(out)).exit_code == 0
    con = duckdb.connect(str(out))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    return out


REFUSED = {
    "older schema without a required column": (
        ["DROP VIEW incidents_mapped", "ALTER TABLE incidents DROP COLUMN fingerprint"],
        "incidents lacks required columns: fingerprint"),
    "views where tables should be": (
        ["CREATE TABLE kept AS SELECT * FROM batches", "DROP TABLE batches",
         "CREATE VIEW batches AS SELECT * FROM kept",
         "CREATE TABLE kept_rows AS SELECT * FROM rejected_rows", "DROP TABLE rejected_rows",
         "CREATE VIEW rejected_rows AS SELECT * FROM kept_rows"],
        "batches is a view where Garita keeps a table"),
    "an extra column": (["ALTER TABLE batches ADD COLUMN reviewer VARCHAR"],
                        "batches has columns Garita does not know: reviewer"),
    "a column of another type": (
        ["DROP VIEW incidents_mapped",
         "ALTER TABLE incidents ALTER COLUMN people_count TYPE VARCHAR"],
        "incidents.people_count is VARCHAR, expected INTEGER"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_restore_that_does_not_match_the_schema_is_refused_and_changes_nothing(
        built_db, tmp_path, case):
    statements, problem = REFUSED[case]
    candidate = backup_changed(built_db, tmp_path, *statements)
    assert load_text(built_db, rows("kept")).status == "loaded"
    before, pointer = state(built_db), (db.published_dir(built_db) / "CURRENT").read_text()
    result = cli(built_db, "restore", str(candidate))
    assert result.exit_code == 1 and problem in result.output, result.output
    assert "Nothing was changed" in result.output
    assert state(built_db) == before
    assert (db.published_dir(built_db) / "CURRENT").read_text() == pointer
    assert load_text(built_db, rows("later")).status == "loaded"
    assert batch_ids(built_db) == [3, 2, 1]


def test_a_backup_of_an_older_garita_is_brought_forward_and_loads_keep_working(built_db,
                                                                               tmp_path):
    candidate = backup_changed(
        built_db, tmp_path, "DROP VIEW incidents_mapped", "DROP TABLE audit_log",
        "ALTER TABLE ports DROP COLUMN mexican_city", "ALTER TABLE batches DROP COLUMN date_order")
    result = cli(built_db, "restore", str(candidate))
    assert result.exit_code == 0, result.output
    assert read(built_db, "SELECT count(*) FROM incidents_mapped") == [(57,)]
    assert load_text(built_db, rows("after")).status == "loaded"
    assert batch_ids(built_db) == [2, 1]
    assert read(built_db, "SELECT action FROM audit_log") == [("load",)]


def test_a_restore_that_fails_after_the_swap_puts_the_previous_database_back(built_db,
                                                                            tmp_path):
    good = tmp_path / "good.duckdb"
    assert cli(built_db, "backup", "--out", str(good)).exit_code == 0
    assert load_text(built_db, rows("kept")).status == "loaded"
    before = hashlib.sha256(built_db.read_bytes()).hexdigest()
    with read_only(db.published_dir(built_db)):  # the swap succeeds, publishing fails
        result = run_etl(built_db, "restore", str(good))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert hashlib.sha256(built_db.read_bytes()).hexdigest() == before
    assert "put back" in result.stderr and "chmod u+w" in result.stderr
    assert batch_ids(built_db) == [2, 1]
    assert load_text(built_db, rows("later")).status == "loaded"


def test_a_backup_with_damaged_data_blocks_is_refused_and_changes_nothing(built_db, tmp_path):
    """The hostile battery's find: random bytes inside a table's data (not a cut-short file)
    used to restore, then fail every read with a checksum error."""
    backup = tmp_path / "damaged-backup.duckdb"
    db.backup(built_db, backup)
    con = duckdb.connect(str(backup), read_only=True)
    block = con.execute("SELECT max(block_id) FROM pragma_storage_info('incidents') "
                        "WHERE persistent").fetchone()[0]
    size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    con.close()
    with open(backup, "r+b") as handle:
        handle.seek(db.HEADER_BYTES + block * size + 64)
        handle.write(b"\xa5" * 4096)
    before = built_db.read_bytes()
    with pytest.raises(ValueError, match="damaged"):
        db.restore(built_db, backup)
    assert built_db.read_bytes() == before
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]
