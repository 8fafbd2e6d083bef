"""A batch is all in or all out, even when the loader is killed; writers take turns."""

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from etl import load as loader
from garita import db
from tests.conftest import read
from tests.faults import kill_when

ROOT = Path(__file__).resolve().parent.parent


def _batch(n: int, tag: str) -> bytes:
    lines = ["date,port,incident_types,summary"]
    lines += [f"2018-06-{1 + i % 28:02d},Hidalgo,turned_away,{tag} synthetic row {i}"
              for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


# The child loads a file and stops dead at a chosen point: it signals, then waits to be killed.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from etl import load as loader
    from garita import db
    where, signal_file, data_file, db_file = sys.argv[1:]

    def stop(*args, **kwargs):
        Path(signal_file).write_text("here")
        time.sleep(600)

    if where == "before_commit":
        original = db.bump_version
        def bump(con):
            original(con)
            stop()
        db.bump_version = bump
    else:
        loader._verify = stop
    loader.load_bytes(Path(data_file).read_bytes(), "killed.csv", db_path=db_file)
""")


@pytest.mark.parametrize("where, present", [("before_commit", False), ("after_commit", True)])
def test_a_load_killed_mid_batch_leaves_all_or_nothing(built_db, tmp_path, where, present):
    data_file = tmp_path / "big.csv"
    data_file.write_bytes(_batch(20_000, "killed"))
    signal_file = tmp_path / "reached"
    killed = kill_when(
        [sys.executable, "-c", CHILD, where, str(signal_file), str(data_file), str(built_db)],
        signal_file.exists)
    assert not killed.ended_first, "the loader ended before reaching the kill point"
    assert signal_file.exists(), "the loader did not reach the kill point in time"
    assert killed.returncode == -signal.SIGKILL

    db.ensure_published(built_db)  # what the next reader or writer does
    counts = read(built_db, "SELECT (SELECT count(*) FROM incidents), "
                            "(SELECT count(*) FROM batches), "
                            "(SELECT coalesce(sum(rows_loaded), 0) FROM batches "
                            " WHERE status = 'active')")[0]
    if present:
        assert counts == (57 + 20_000, 2, 57 + 20_000)
    else:
        assert counts == (57, 1, 57)
    again = loader.load_bytes(data_file.read_bytes(), "again.csv", db_path=built_db)
    assert again.status == ("already_loaded" if present else "loaded")


def test_two_threads_loading_different_files_both_land(built_db):
    reports = []
    threads = [threading.Thread(target=lambda t=tag: reports.append(
        loader.load_bytes(_batch(500, t), f"{t}.csv", db_path=built_db)))
        for tag in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in reports) == ["loaded", "loaded"]
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57 + 1000,)]


def test_two_threads_loading_the_same_file_load_it_once(built_db):
    data = _batch(500, "same")
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(
        loader.load_bytes(data, "same.csv", db_path=built_db))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in reports) == ["already_loaded", "loaded"]
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57 + 500,)]


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("open", flush=True)
    time.sleep(60)
""")


def test_cli_load_while_another_process_has_the_file_open_explains_who(built_db, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(built_db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        csv_file = tmp_path / "x.csv"
        csv_file.write_bytes(_batch(3, "lock"))
        result = subprocess.run([sys.executable, "-m", "etl", "load", str(csv_file),
                                 "--db", str(built_db)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"process {holder.pid}" in result.stderr and "Nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
