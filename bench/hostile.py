"""A hostile tester's battery, run again against the current code. SYNTHETIC data only.

    .venv/bin/python -m bench.hostile [--only files kills databases browser passwords]
                                      [--kills 14] [--rows 300000]

Issue 10's tester tried odd files, SIGKILL during a large load, damaged and read-only
databases, hostile text in a real browser and password guessing. This script tries the same
kinds of attack against the code as it is now and counts, for each attempt, whether every
promise of SECURITY.md held:

1. **files**: about 80 odd files built here, each loaded into a fresh copy of a built
   database: nothing escapes as an exception, every row read is accounted for (or the file
   is refused and nothing changes), a dry run agrees with the load, nothing personal or
   garbled (``Ã``) is published, and the CLI exits 1 when nothing loads.
2. **kills**: ``python -m etl load`` of a synthetic 300,000-row file killed with SIGKILL at
   moments spread over a measured load (while it reads the file, while it writes) and when
   its files show a step (the lock, the log, the published copy): the master holds the whole
   batch or none of it, read commands show what the master holds, no ``*.tmp`` is left, a
   later load works.
3. **databases**: cut short, random bytes, a rotten block, a garbage log, read-only file,
   folder, lock and published folder, a missing master, a garbled pointer, restores of files
   that are not Garita's: each command gives a plain message, exits as documented and never
   changes a file it should not; a good backup brings the database back.
4. **browser**: about 30 payloads (Markdown images and links, colours, formulas, HTML,
   ``javascript:`` links, bare addresses, icons, spreadsheet formulas) loaded as data and put
   in the URL, every public page opened in Chromium: requests to other hosts, dialogs,
   outside images and links, KaTeX and coloured Markdown are recorded and traced to a payload.
5. **passwords**: ``garita.auth`` with a cheap hash: 25 wrong then right, six parallel
   guessers, unknown against known user timing, the global limit, a restart, the audit log.

Everything runs on localhost in temporary folders; every file is built here and every row
says SYNTHETIC. Not part of the test suite (``tests/security/`` holds the promises); this
prints figures for the README. About 6 minutes on the 2-core development machine, most of
it the kills (``--only`` picks areas, ``--verbose`` prints every attempt).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
from click.testing import CliRunner

from etl import load as loader
from etl.cli import main as etl_main
from garita import db
from tests import faults
from tests.faults import read_only

ROOT = Path(__file__).resolve().parent.parent
VERBOSE = False
AREAS = ("files", "kills", "databases", "browser", "passwords")


@dataclass
class Outcome:
    """One attempt: what was tried, whether every promise held, and what broke if not."""

    area: str
    case: str
    held: bool
    detail: str = ""
    note: str = ""


@dataclass
class Area:
    """An area's attempts and figures, for the summary table."""

    name: str
    tried: str
    outcomes: list[Outcome] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, case: str, problems: list[str], note: str = "") -> None:
        self.outcomes.append(Outcome(self.name, case, not problems, "; ".join(problems), note))
        if VERBOSE:
            print(f"  {'held' if not problems else 'BROKEN'}: {case}: {note} "
                  f"{'; '.join(problems)}", flush=True)

    @property
    def held(self) -> int:
        return sum(o.held for o in self.outcomes)


# --- shared helpers -------------------------------------------------------------------------

def build_template(folder: Path) -> Path:
    """A database as `python -m etl init` builds it (ports, 57 default incidents)."""
    folder.mkdir(parents=True)
    loader.init(folder / "garita.duckdb")
    return folder


def fresh_copy(template: Path, folder: Path) -> Path:
    """A copy of the template's master, published copies and pointer; returns the master."""
    folder.mkdir(parents=True)
    for item in template.iterdir():
        if item.is_dir():
            shutil.copytree(item, folder / item.name)
        elif not item.name.endswith(".lock"):
            shutil.copy2(item, folder / item.name)
    return folder / "garita.duckdb"


def sha(path: Path) -> str | None:
    """The SHA-256 of a file, None if it does not exist."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def files_state(master: Path) -> tuple:
    """The master's and its write-ahead log's bytes, and the pointer readers follow."""
    pointer = db.published_dir(master) / "CURRENT"
    return (sha(master), sha(master.with_name(master.name + ".wal")),
            pointer.read_text() if pointer.exists() else None)


def published(master: Path, sql: str, params=None) -> list[tuple]:
    """A query on the newest published copy, as the dashboard reads it."""
    con = db.connect_reader(db.published_file(master))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def master_query(master: Path, folder: Path, sql: str, params=None) -> list[tuple]:
    """A query on a copy of the master (and its log), so the master itself is never opened."""
    copy = folder / f"peek-{time.time_ns()}.duckdb"
    shutil.copyfile(master, copy)
    wal = master.with_name(master.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    con = duckdb.connect(str(copy))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
        copy.unlink(missing_ok=True)
        copy.with_name(copy.name + ".wal").unlink(missing_ok=True)


def cli(master: Path, *args: str) -> tuple[int, str, str, str | None]:
    """``python -m etl ARGS --db master`` in this process: exit code, stdout, stderr and the
    traceback of an exception that escaped (None when none did)."""
    result = CliRunner().invoke(etl_main, [*args, "--db", str(master)])
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = "".join(traceback.format_exception(result.exception))[-600:]
    return result.exit_code, result.stdout, result.stderr, crash


def run_etl(master: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m etl`` as its own process, which file permissions apply to."""
    try:
        return faults.run_etl(master, *args, timeout=timeout)
    except faults.PermissionsWouldNotApply as exc:
        raise SystemExit(str(exc)) from None


# --- 1. odd files ---------------------------------------------------------------------------

HEADER = "date,port,incident_types,people,summary,source_url"
# The tester's look-alikes of an A-number, a phone number and an e-mail address (issue 10).
LOOK_ALIKES = ["a123456789", "A 123 456 789", "A-123-456-789", "A\u200b123456789",
               "A\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19", "A#123456789",
               "6195550100", "(619)5550100", "664-123-45-67", "maria\uff20example.org",
               "maria [at] example.org"]
# What the look-alikes become once folded; none may be found in a published incident.
PERSONAL_MARKS = ("a123456789", "6195550100", "6641234567", "mariaexampleorg",
                  "mariaatexampleorg")
FORMULAS = ['=HYPERLINK("https://evil.example/f","x")', "+1+1", "-2+3", "@SUM(A1)",
            "\tlead tab", "\uff1d1+1"]
TEXT_COLUMNS = ("incident_id", "port_as_written", "state", "group_type", "children",
                "nationality", "outcome", "summary", "source", "source_page", "source_url",
                "notes")


def row(i: int, tag: str = "odd", summary: str | None = None, people: str = "2",
        port: str = "Hidalgo", date: str | None = None) -> str:
    """One valid synthetic row of ``HEADER`` (cells containing commas must be quoted)."""
    date = date or f"2018-05-{i % 28 + 1:02d}"
    summary = summary if summary is not None else f"SYNTHETIC {tag} row {i}"
    return f"{date},{port},turned_away,{people},{summary},https://example.org/{tag}/{i}"


def rows(n: int, tag: str = "odd", start: int = 0) -> list[str]:
    """``n`` valid synthetic rows."""
    return [row(i, tag) for i in range(start, start + n)]


def text_file(lines: list[str], end: str = "\n", header: str = HEADER) -> str:
    """A CSV text: the header, then ``lines``, each ended by ``end``."""
    return end.join([header, *lines]) + end


def _csv(cells: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(cells)
    return buffer.getvalue()


def _xlsx() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@dataclass
class OddFile:
    """A file to load, and what is known about it.

    ``rows``: the data rows a reader must count if it accepts the file. ``expect``: report
    fields the README promises for this file. ``first``: a file loaded before it. ``cli``:
    also load it with the CLI into another copy and check the exit code.
    """

    name: str
    data: bytes | None = None
    rows: int | None = None
    expect: dict = field(default_factory=dict)
    first: bytes | None = None
    cli: bool = False
    path: str | None = None       # load this path instead of bytes (devices, pipes)
    check: Callable | None = None  # extra check(master, report) -> problems


def _export_has_no_formula(master: Path, report) -> list[str]:
    code, out, err, crash = cli(master, "export")
    if crash or code != 0:
        return [f"export failed: {crash or err[-300:]}"]
    from garita.exports import FORMULA_LEADS

    found = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    ours = [r for r in found if r.get("batch_id") == str(report.batch_id)]
    numeric = {"latitude", "longitude", "people_count", "batch_id"}
    live = [cell for r in ours for name, cell in r.items()
            if name not in numeric and cell and cell.startswith(FORMULA_LEADS)]
    problems = [f"a formula reaches the CSV export: {live[0]!r}"] if live else []
    if len(ours) != report.loaded:
        problems.append(f"export has {len(ours)} of the batch's {report.loaded} incidents")
    return problems


def odd_files() -> list[OddFile]:
    """About 80 odd files, built here."""
    ten = rows(10)
    files = [
        # The tester's list in tests/security/test_files_and_data.py.
        OddFile("empty", b"", cli=True),
        OddFile("header only", (HEADER + "\n").encode(), cli=True),
        OddFile("unbalanced quote", (text_file(['2018,Hidalgo,turned_away,1,"never closed'])
                                     ).encode()),
        OddFile("NUL bytes", (HEADER + "\n").encode() + b"2018,Hidalgo\x00,turned_away,1,x,y\n"),
        OddFile("xlsx renamed .csv", _xlsx()),
        OddFile("pdf renamed .csv", b"%PDF-1.4\n1 0 obj<<>>endobj\n"),
        OddFile("gzip renamed .csv", b"\x1f\x8b\x08\x00" + b"\x00" * 20),
        OddFile("invalid in every encoding",
                (HEADER + "\n").encode() + b"2018,Hidalgo,turned_away,1,\x81\x8d\x90,u\n"),
        OddFile("10,000 columns", (",".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode()),
        OddFile("a 5 MB cell", text_file([f'2018,Hidalgo,turned_away,1,"{"x" * 5_000_000}",u']
                                         ).encode()),
        OddFile("only ragged rows", text_file(["2018,Hidalgo"]).encode(), rows=1,
                expect={"loaded": 0}),
        # The tester's cases in tests/security/test_rows_never_lost.py.
        *[OddFile(f"quote never closed, {where}",
                  text_file(ten[:at] + ['2018-06-01,Hidalgo,turned_away,1,"opens and never '
                                        'closes,https://example.org/q'] + ten[at:]).encode(),
                  expect={"status": "rejected", "loaded": 0}, cli=where == "middle")
          for where, at in (("first row", 0), ("middle", 5), ("last row", 10))],
        OddFile("two unclosed quotes pairing up across rows",
                text_file([r.replace("SYNTHETIC", '"SYNTHETIC') if i in (3, 7) else r
                           for i, r in enumerate(ten)]).encode(),
                expect={"status": "rejected", "loaded": 0}),
        OddFile("a quoted cell over several lines",
                (text_file(rows(3)) + '2018-06-01,Hidalgo,turned_away,1,"SYNTHETIC first line.'
                 '\nSecond line, with a comma.",https://example.org/m\n').encode(),
                rows=4, expect={"loaded": 4}),
        OddFile("UTF-8 and Windows-1252 rows mixed",
                text_file([row(0, summary="SYNTHETIC Tomás was refused")]).encode()
                + (row(1, summary="SYNTHETIC José was refused") + "\n").encode("cp1252"),
                expect={"status": "rejected", "loaded": 0}),
        OddFile("text garbled by a wrong encoding (TomÃ¡s)",
                text_file([row(0, summary="SYNTHETIC TomÃ¡s was refused"), row(1)]).encode(),
                rows=2, expect={"loaded": 1, "rejected": 1}),
        OddFile("no row loads (unknown port, bad date)",
                text_file([row(0, port="San Ysdro"), row(1, date="not a date")]).encode(),
                rows=2, expect={"loaded": 0}, cli=True),
        OddFile("header then blank lines only", (HEADER + "\n,,,,,\n\n,,,,,\n").encode(),
                expect={"status": "rejected"}, cli=True),
        *[OddFile(f"same row again with U+{ord(space):04X} spaces",
                  text_file([row(0, summary=f"SYNTHETIC{space}family{space}{space}of four")]
                            ).encode(),
                  first=text_file([row(0, summary="SYNTHETIC family of four")]).encode(),
                  rows=1, expect={"loaded": 0, "duplicate": 1})
          for space in ("\u00a0", "\u2003", "\u2009", "\u202f", "\u3000")],
        *[OddFile(f"people count {count}", text_file([row(0, people=count)]).encode(), rows=1,
                  expect={"loaded": 0, "rejected": 1})
          for count in ("2.000", "1.500", "12.000.000")],
        OddFile("plain counts 2, 2.0, 1,200, 0",
                text_file([row(0, people="2"), row(1, people="2.0"), row(2, people='"1,200"'),
                           row(3, people="0")]).encode(), rows=4, expect={"loaded": 4}),
        OddFile("/dev/zero", path="/dev/zero", expect={"status": "rejected"}, cli=True),
        OddFile("a pipe with no writer", path="fifo", expect={"status": "rejected"}, cli=True),
        # Personal-data look-alikes from the issue, one row each.
        *[OddFile(f"look-alike {text!r}",
                  text_file([row(0, summary=f"SYNTHETIC woman ({text}) turned away")]).encode(),
                  rows=1, expect={"loaded": 0, "rejected": 1}) for text in LOOK_ALIKES],
        # More variants.
        OddFile("UTF-8 with BOM", b"\xef\xbb\xbf" + text_file(ten).encode(), rows=10,
                expect={"loaded": 10}),
        OddFile("UTF-8 BOM twice", b"\xef\xbb\xbf\xef\xbb\xbf" + text_file(ten).encode(),
                rows=10),
        OddFile("UTF-16 LE with BOM", text_file(ten).encode("utf-16"), rows=10,
                expect={"loaded": 10}),
        OddFile("UTF-16 BE with BOM", b"\xfe\xff" + text_file(ten).encode("utf-16-be"),
                rows=10, expect={"loaded": 10}),
        OddFile("UTF-16 LE without BOM", text_file(ten).encode("utf-16-le"), rows=10),
        OddFile("UTF-32", text_file(ten).encode("utf-32"), rows=10),
        OddFile("Windows-1252, semicolons, accents",
                text_file([r.replace(",", ";").replace("SYNTHETIC", "SYNTHETIC niño José")
                           for r in ten], header=HEADER.replace(",", ";")).encode("cp1252"),
                rows=10, expect={"loaded": 10}),
        OddFile("CRLF line endings", text_file(ten, "\r\n").encode(), rows=10,
                expect={"loaded": 10}),
        OddFile("CR-only line endings", text_file(ten, "\r").encode(), rows=10),
        OddFile("LF, CRLF and CR mixed",
                (HEADER + "\n" + ten[0] + "\r\n" + ten[1] + "\r" + ten[2] + "\n" + ten[3]
                 + "\r\n").encode(), rows=4),
        OddFile("no newline at the end", (HEADER + "\n" + "\n".join(ten)).encode(), rows=10,
                expect={"loaded": 10}),
        OddFile("quote never closed in the last cell, no newline",
                (HEADER + "\n" + "\n".join(ten) + '\n2018-06-01,Hidalgo,turned_away,1,x,'
                 '"https://example.org/open').encode(), expect={"loaded": 0}),
        OddFile("quote never closed in the header",
                text_file(ten, header='date,port,"incident_types,people,summary,source_url'
                          ).encode(), expect={"loaded": 0}),
        OddFile("a quote inside an unquoted cell",
                text_file([row(0, summary='SYNTHETIC 5" wall'), *rows(3, start=1)]).encode(),
                rows=4),
        OddFile("control characters (BEL, ESC, backspace)",
                text_file([row(0, summary="SYNTHETIC \x07bell \x1b[31mred\x08"), *rows(2, start=1)]
                          ).encode(), rows=3),
        OddFile("right-to-left override and zero-width joiner",
                text_file([row(0, summary="SYNTHETIC \u202eevil\u202c \u200dx"),
                           row(1, port="Hid\u200balgo")]).encode(), rows=2),
        OddFile("Unicode line separators in a cell",
                text_file([row(0, summary="SYNTHETIC one\u2028two\u2029three\x85four")]
                          ).encode(), rows=1),
        OddFile("201 columns", text_file(
            [row(0) + "," * 195], header=HEADER + "".join(f",extra{i}" for i in range(195))
        ).encode(), expect={"loaded": 0}),
        OddFile("a 25,000-character cell", text_file([row(0, summary="x" * 25_000)]).encode(),
                expect={"loaded": 0}),
        OddFile("a 19,000-character summary (limit 5,000)",
                text_file([row(0, summary="S" * 19_000)]).encode(), rows=1,
                expect={"rejected": 1}),
        OddFile("a 4,900-character summary", text_file([row(0, summary="S" * 4_900)]).encode(),
                rows=1, expect={"loaded": 1}),
        OddFile("blank lines only, no header", b"\n\n\n\n"),
        OddFile("spaces only", b"   \n  \n \t \n"),
        OddFile("header only, CRLF and BOM", b"\xef\xbb\xbf" + (HEADER + "\r\n").encode()),
        OddFile("a duplicated header (date twice)",
                text_file([row(0) + ",2019-01-01"], header=HEADER + ",date").encode()),
        OddFile("the same header in English and Spanish (date, fecha)",
                text_file([row(0) + ",2019-01-01"], header=HEADER + ",fecha").encode()),
        OddFile("rows longer than the header among good rows",
                text_file([*rows(5), row(5) + ",extra,cells", *rows(4, start=6)]).encode(),
                rows=10),
        OddFile("rows of delimiters among good rows",
                text_file([*rows(3), ",,,,,", ",,,,,", *rows(3, start=3)]).encode(), rows=8,
                expect={"loaded": 6, "skipped": 2}),
        OddFile("dates in the future and before 1980",
                text_file([row(0, date="2099-01-01"), row(1, date="1975-06-01"), row(2)]
                          ).encode(), rows=3, expect={"loaded": 1, "rejected": 2}),
        OddFile("tab-separated with commas inside cells",
                text_file([r.replace(",", "\t").replace("SYNTHETIC", "SYNTHETIC a, b,")
                           for r in ten], header=HEADER.replace(",", "\t")).encode(), rows=10,
                expect={"loaded": 10}),
        OddFile("emoji and astral characters",
                text_file([row(0, summary="SYNTHETIC 🚸 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👨‍👩‍👧")]).encode(), rows=1,
                expect={"loaded": 1}),
        OddFile("formula cells", _csv([HEADER.split(",")] + [
            ["2018-06-%02d" % (i + 1), "Hidalgo", "turned_away", "1", f"{f} SYNTHETIC",
             "https://example.org/f/%d" % i] for i, f in enumerate(FORMULAS)]).encode(),
                rows=len(FORMULAS), expect={"loaded": len(FORMULAS)},
                check=_export_has_no_formula),
        OddFile("a formula as the nationality and port",
                _csv([["date", "port", "incident_types", "nationality", "summary"],
                      ["2018-06-01", "=HYPERLINK(\"https://evil.example\")", "turned_away",
                       "SYNTHETIC", "x"],
                      ["2018-06-02", "Hidalgo", "turned_away", "@SUM(1+1)*cmd|' /C calc'!A0",
                       "SYNTHETIC y"]]).encode(), rows=2, check=_export_has_no_formula),
        OddFile("the same file twice", text_file(rows(3, "twice")).encode(),
                first=text_file(rows(3, "twice")).encode(), rows=3,
                expect={"status": "already_loaded", "loaded": 0}, cli=True),
        OddFile("a superset of a loaded file", text_file(rows(5, "super")).encode(),
                first=text_file(rows(3, "super")).encode(), rows=5,
                expect={"loaded": 2, "duplicate": 3}),
        OddFile("SQL in every cell",
                _csv([HEADER.split(","), ["2018-06-01'; DROP TABLE incidents; --",
                                         "Hidalgo' OR 1=1 --", "turned_away", "1",
                                         "SYNTHETIC'); DELETE FROM batches; --", "x"]]).encode(),
                rows=1, expect={"loaded": 0}),
        OddFile("10,000 rows, every 7th bad",
                text_file([row(i, "big", port="Nowhere") if i % 7 == 0 else row(i, "big")
                           for i in range(10_000)]).encode(), rows=10_000,
                expect={"rejected": 1429, "loaded": 8571}),
    ]
    return files


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKC", text).lower())


def _published_problems(master: Path, batch_id: int | None) -> list[str]:
    """Personal look-alikes in the batch's published incidents; garbled text anywhere."""
    problems = []
    columns = " || ' ' || ".join(f"coalesce({c}, '')" for c in TEXT_COLUMNS)
    if batch_id is not None:
        for (text,) in published(master, f"SELECT {columns} FROM incidents WHERE batch_id = ?",
                                 [batch_id]):
            squashed = _squash(text)
            found = [m for m in PERSONAL_MARKS if m in squashed]
            if found:
                problems.append(f"personal look-alike published: {text[:80]!r}")
    garbled = published(master, f"SELECT count(*) FROM incidents WHERE ({columns}) LIKE '%Ã%'")
    if garbled[0][0]:
        problems.append(f"{garbled[0][0]} published incidents hold 'Ã'")
    return problems


def _counts(master: Path) -> tuple:
    return published(master, "SELECT (SELECT value FROM meta WHERE key = 'data_version'), "
                             "(SELECT count(*) FROM incidents), (SELECT count(*) FROM batches)")[0]


def _source_path(case: OddFile, folder: Path) -> Path:
    if case.path == "fifo":
        fifo = folder / "pipe.csv"
        os.mkfifo(fifo)
        return fifo
    if case.path:
        return Path(case.path)
    path = folder / "odd.csv"
    path.write_bytes(case.data)
    return path


def try_odd_file(case: OddFile, template: Path, folder: Path, notes: list[str]) -> list[str]:
    """Load one odd file the ways staff would; the promises it broke, if any (and, in
    ``notes``, what became of it)."""
    master = fresh_copy(template, folder / "db")
    problems: list[str] = []
    if case.first is not None:
        loader.load_bytes(case.first, "first.csv", db_path=master)
    source = _source_path(case, folder)
    before, files_before = _counts(master), files_state(master)
    if case.path == "fifo":  # opening a pipe could hang: only ever in a child with a timeout
        try:
            done = subprocess.run([sys.executable, "-m", "etl", "load", str(source), "--json",
                                   "--db", str(master)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return ["the load hung on a pipe"]
        if done.returncode != 1 or "Traceback" in done.stderr:
            problems.append(f"CLI exit {done.returncode}: {done.stderr[-300:]}")
        report = json.loads(done.stdout) if done.stdout.strip() else {}
        if report.get("status") != "rejected":
            problems.append(f"status {report.get('status')}")
        if _counts(master) != before or files_state(master) != files_before:
            problems.append("the refused pipe changed the database")
        return problems
    code, out, err, crash = cli(master, "load", str(source), "--dry-run", "--json")
    dry = None
    if crash:
        problems.append(f"dry run raised: {crash}")
    elif "Traceback" in err:
        problems.append(f"dry run printed a traceback: {err[-300:]}")
    else:
        try:
            dry = json.loads(out)
        except ValueError:
            problems.append(f"dry run printed no JSON: {out[-200:]!r} {err[-200:]!r}")
        if dry is not None:
            nothing = dry["status"] == "rejected" or dry["rows"]["loaded"] == 0
            if code != (1 if nothing else 0):
                problems.append(f"dry run exit {code} with {dry['rows']['loaded']} to load")
    if files_state(master) != files_before:
        problems.append("the dry run changed the master")
    try:
        if case.path:
            report = loader.load_file(source, db_path=master)
        else:
            report = loader.load_bytes(case.data, f"{case.name}.csv", db_path=master)
    except Exception as exc:  # noqa: BLE001 - any escape is what is being counted
        return problems + [f"load raised {type(exc).__name__}: {str(exc)[:200]}"]
    after = _counts(master)
    notes.append(f"{report.status} {report.total} rows: {report.loaded} loaded, "
                 f"{report.duplicate} dup, {report.skipped} blank, {report.rejected} rejected"
                 f" | {report.message[:90]!r}")
    if not report.message or "Traceback" in report.message:
        problems.append(f"no plain message: {report.message[:200]!r}")
    refused = report.status == "rejected" and report.batch_id is None
    if report.batch_id is None:
        if after != before:
            problems.append(f"nothing was saved, yet the published data changed: {before} -> "
                            f"{after}")
        if refused and files_state(master) != files_before:
            problems.append("a refused file changed the master")
    if not refused:
        parts = (report.loaded, report.duplicate, report.skipped, report.rejected)
        if sum(parts) != report.total:
            problems.append(f"rows do not add up: {parts} vs {report.total}")
        if case.rows is not None and report.total != case.rows:
            problems.append(f"read {report.total} rows of {case.rows}")
        if after[1] != before[1] + report.loaded:
            problems.append(f"published incidents {before[1]} -> {after[1]}, loaded "
                            f"{report.loaded}")
    if dry is not None and not crash:
        same = (dry["status"] == "rejected" and dry["batch_id"] is None) == refused
        if not same or (not refused and case.first is None
                        and dry["rows"]["loaded"] != report.loaded):
            problems.append(f"dry run said {dry['status']}/{dry['rows']['loaded']}, load said "
                            f"{report.status}/{report.loaded}")
    for key, value in case.expect.items():
        if getattr(report, key) != value:
            problems.append(f"{key} = {getattr(report, key)!r}, expected {value!r}")
    problems += _published_problems(master, report.batch_id)
    if case.check is not None and report.batch_id is not None:
        problems += case.check(master, report)
    if case.cli:
        other = fresh_copy(template, folder / "cli-db")
        if case.first is not None:
            loader.load_bytes(case.first, "first.csv", db_path=other)
        code, _out, err, crash = cli(other, "load", str(source))
        if crash or "Traceback" in err:
            problems.append(f"CLI load raised: {crash}")
        elif code != (1 if report.loaded == 0 else 0):
            problems.append(f"CLI load exit {code} with {report.loaded} loaded")
    return problems


def files_area(area: Area, work: Path, template: Path) -> None:
    """Area 1: every odd file, each into a fresh copy of the built database."""
    cases = odd_files()
    for number, case in enumerate(cases):
        folder = work / f"file-{number}"
        folder.mkdir()
        notes: list[str] = []
        try:
            problems = try_odd_file(case, template, folder, notes)
        except Exception as exc:  # noqa: BLE001
            problems = [f"battery error {type(exc).__name__}: {exc}"]
        area.add(case.name, problems, " ".join(notes))
        shutil.rmtree(folder, ignore_errors=True)
    area.tried = f"{len(cases)} odd files, each loaded into a fresh database"
    area.figures.append(f"{len(cases)} files, CLI exit code checked on "
                        f"{sum(c.cli for c in cases) + len(cases)} runs (dry run on each)")


# --- 2. SIGKILL during a large load -------------------------------------------------------

def _batch_in_master(master: Path, folder: Path) -> tuple:
    """Batch 2 as the master holds it: ledger rows, incidents, duplicates, rejected, audit,
    the counts the ledger records, all incidents, and the data version."""
    return master_query(master, folder, """
        SELECT (SELECT count(*) FROM batches WHERE batch_id = 2),
               (SELECT count(*) FROM incidents WHERE batch_id = 2),
               (SELECT count(*) FROM duplicate_rows WHERE batch_id = 2),
               (SELECT count(*) FROM rejected_rows WHERE batch_id = 2),
               (SELECT count(*) FROM audit_log WHERE batch_id = 2),
               (SELECT list_value(rows_total, rows_loaded, rows_duplicate, rows_skipped,
                                  rows_rejected) FROM batches WHERE batch_id = 2),
               (SELECT count(*) FROM incidents),
               (SELECT value FROM meta WHERE key = 'data_version')""")[0]


def check_after_kill(master: Path, folder: Path, n_rows: int, port: str,
                     notes: list[str]) -> list[str]:
    """After a writer was killed: all or nothing, readers agree, no leftovers, loads work."""
    problems = []
    ledger, incidents, duplicates, rejected, audited, counts, total, version = \
        _batch_in_master(master, folder)
    if ledger == 0:
        state = "none"
        if (incidents, duplicates, rejected, audited) != (0, 0, 0, 0):
            problems.append(f"half a batch: no ledger row but {incidents} incidents, "
                            f"{duplicates} duplicates, {rejected} rejected, {audited} audit")
    else:
        state = "whole"
        if counts != [n_rows, incidents, duplicates, 0, rejected] or audited != 1:
            problems.append(f"ledger {counts} against {incidents} incidents, {duplicates} "
                            f"duplicates, {rejected} rejected, {audited} audit rows")
        if incidents + duplicates + rejected != n_rows:
            problems.append(f"{incidents + duplicates + rejected} of {n_rows} rows kept")
    pointer = json.loads((db.published_dir(master) / "CURRENT").read_text())
    if state == "whole" and pointer["version"] != int(version):
        state = "whole, unpublished until the next command"
    notes.append(state)
    code, out, err, crash = cli(master, "batches", "--json")
    if crash or code != 0:
        return problems + [f"batches failed ({code}): {crash or err[-300:]}"]
    shown = [b["batch_id"] for b in json.loads(out)]
    if shown != ([2, 1] if ledger else [1]):
        problems.append(f"batches shows {shown}, the master holds batch 2: {bool(ledger)}")
    leftovers = [p.name for p in db.published_dir(master).iterdir() if ".tmp" in p.name]
    if leftovers:
        problems.append(f"left in the published folder: {leftovers}")
    out_file = folder / "export.csv"
    code, out, err, crash = cli(master, "export", "--port", port, "--out", str(out_file))
    expected = master_query(master, folder, "SELECT count(*) FROM incidents WHERE port_code = ?",
                            [port])[0][0]
    if crash or code != 0:
        problems.append(f"export failed ({code}): {crash or err[-300:]}")
    elif f"Wrote {expected} incidents" not in err:
        problems.append(f"export said {err.strip()[:120]!r}; the master holds {expected}")
    if published(master, "SELECT count(*) FROM incidents")[0][0] != total:
        problems.append("the published copy differs from the master")
    later = loader.load_bytes(text_file(rows(5, "after-kill")).encode(), "later.csv",
                              db_path=master)
    if later.status != "loaded" or later.loaded != 5:
        problems.append(f"a later load: {later.status}, {later.message[:150]}")
    elif published(master, "SELECT count(*) FROM incidents")[0][0] != total + 5:
        problems.append("a later load is not published")
    return problems


def _etl_load(data: Path, master: Path) -> list[str]:
    return [sys.executable, "-m", "etl", "load", str(data), "--json", "--db", str(master)]


def _moments(master: Path) -> dict[str, Callable[[], bool]]:
    """Moments of a load a tester can see from outside, by watching its files."""
    lock, wal = db.lock_path(master), master.with_name(master.name + ".wal")
    folder = db.published_dir(master)

    def copying() -> bool:
        return any(folder.glob("v*.duckdb.tmp"))

    def copied() -> bool:
        size = master.stat().st_size
        with contextlib.suppress(OSError):
            return any(p.stat().st_size >= size for p in folder.glob("v*.duckdb.tmp"))
        return False
    return {"the writer takes the lock": lambda: lock.exists() and bool(lock.read_text()),
            "a write-ahead log appears": wal.exists,
            "the published copy is being written": copying,
            "the published copy is whole, not yet renamed": copied}


def _timed_load(command: list[str], lock: Callable[[], bool]) -> tuple[float, float, str]:
    """Run a load to its end: when it took the writer lock, when it ended, its output."""
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    began, locked = time.perf_counter(), None
    reader = threading.Thread(target=lambda: setattr(child, "out", child.communicate()))
    reader.start()
    while reader.is_alive():
        if locked is None and lock():
            locked = time.perf_counter() - began
        time.sleep(0.002)
    ended = time.perf_counter() - began
    out, err = child.out
    if child.returncode != 0:
        raise RuntimeError(f"the uninterrupted load failed: {err[-300:]}")
    return locked or ended, ended, out


def kills_area(area: Area, work: Path, template: Path, kills: int, n_rows: int) -> None:
    """Area 2: a large CLI load killed at ``kills`` moments, each in a fresh database."""
    from bench.synthetic import csv_bytes
    from garita.reference import ports

    data = work / "synthetic.csv"
    data.write_bytes(csv_bytes(n_rows, seed=11))
    port = list(ports())[-1]["port_code"]  # few rows: a quick export to compare
    master = fresh_copy(template, work / "measure")
    locked, duration, out = _timed_load(_etl_load(data, master),
                                        _moments(master)["the writer takes the lock"])
    whole = json.loads(out)["rows"]["loaded"]
    area.add(f"uninterrupted load of {n_rows:,} rows", [] if whole == n_rows else
             [f"loaded {whole}"], f"{duration:.1f} s, lock at {locked:.1f} s")
    shutil.rmtree(work / "measure")
    # Moments spread over the load: while it reads and checks the file (before the lock),
    # while it writes (after the lock), and at what a watcher sees of its files.
    events = list(_moments(master))
    writing = max((kills - len(events)) // 3, 1)
    reading = max(kills - len(events) - writing, 1)
    plan = [(f"reading, {100 * (k + 1) / (reading + 1):.0f}% of the way to the lock", None,
             locked * (k + 1) / (reading + 1)) for k in range(reading)]
    plan += [(f"{(duration - locked) * (k + 1) / (writing + 1):.1f} s after the lock",
              events[0], (duration - locked) * (k + 1) / (writing + 1)) for k in range(writing)]
    plan += [(f"when {event}", event, 0.0) for event in events]
    states: dict[str, int] = {}
    for k, (label, event, delay) in enumerate(plan[:kills]):
        folder = work / f"kill-{k}"
        master = fresh_copy(template, folder / "db")
        moment = _moments(master)[event] if event else None
        at, ended, _ = faults.kill_when(_etl_load(data, master), moment, delay,
                                        deadline=3 * duration, poll=0.002,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        notes = ["(the load had ended first)"] if ended else []
        try:
            problems = check_after_kill(master, folder, n_rows, port, notes)
        except Exception as exc:  # noqa: BLE001
            problems = [f"check raised {type(exc).__name__}: {str(exc)[:300]}"]
        state = ("not killed: ended first" if ended else notes[-1]) if notes else "?"
        states[state] = states.get(state, 0) + 1
        area.add(f"SIGKILL at {at:.1f} s: {label}", problems, " ".join(notes))
        shutil.rmtree(folder, ignore_errors=True)
    area.tried = (f"SIGKILL at {min(kills, len(plan))} moments of a {n_rows:,}-row CLI load "
                  "(+1 uninterrupted)")
    area.figures.append(f"Uninterrupted load {duration:.1f} s (writer lock at {locked:.1f} s); "
                        "after the kills the master held "
                        + ", ".join(f"{k}: {v}" for k, v in sorted(states.items())) + ".")


# --- 3. damaged, missing and read-only databases ------------------------------------------

DAMAGED = ("damaged or not a Garita database", "python -m etl restore")
READ_ONLY = ("read-only", "chmod u+w", "Nothing was changed")


@dataclass
class Step:
    """One command against a hurt database and what it must do.

    ``code``: the documented exit code (None: 0 or 1 both fine, but a 1 must say what to do).
    ``keep``: "master" (its bytes and log unchanged), "all" (also the published pointer) or
    "" (it may write). ``alone``: run as a separate, unprivileged process (file permissions).
    """

    args: tuple[str, ...]
    code: int | None
    says: tuple[str, ...] = ()
    keep: str = "master"
    alone: bool = False


@dataclass
class DbCase:
    name: str
    hurt: Callable[[Path, Path], None]
    steps: list[Step]
    during: Callable[[Path], contextlib.AbstractContextManager] | None = None
    after: Callable[[Path, Path], list[str]] | None = None


def _every_command(code: int | None, says: tuple[str, ...]) -> list[Step]:
    return [Step(("batches",), code, says), Step(("export", "--out", "{folder}/x.csv"), code, says),
            Step(("load", "{csv}", "--dry-run"), code, says),
            Step(("rejected", "1", "--out", "{folder}/r.csv"), code, says),
            Step(("backup", "--out", "{folder}/b.duckdb"), code, says),
            Step(("load", "{csv}"), code, says), Step(("rollback", "1"), code, says),
            Step(("init",), code, says)]


def _cut(size: Callable[[int], int]):
    def hurt(master: Path, folder: Path) -> None:
        with open(master, "r+b") as handle:
            handle.truncate(size(master.stat().st_size))
    return hurt


def _random_bytes(master: Path, folder: Path) -> None:
    master.write_bytes(random.Random(3).randbytes(master.stat().st_size))


def _data_block(path: Path) -> int:
    """The file offset of a block holding the incidents table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block = con.execute("SELECT max(block_id) FROM pragma_storage_info('incidents') "
                            "WHERE persistent").fetchone()[0]
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    finally:
        con.close()
    return db.HEADER_BYTES + block * size


def _rot(path: Path) -> None:
    """Random bytes over part of a block of the incidents table (a disk error, bit rot)."""
    offset = _data_block(path) + 64
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(random.Random(4).randbytes(4096))


def _recovers(master: Path, folder: Path) -> list[str]:
    """Restoring the backup taken before the harm brings back a database that loads."""
    code, out, err, crash = cli(master, "restore", str(folder / "good.duckdb"))
    if crash or code != 0:
        return [f"restore of a good backup failed ({code}): {crash or err[-300:]}"]
    report = loader.load_bytes(text_file(rows(5, "recovered")).encode(), "r.csv",
                               db_path=master)
    if report.loaded != 5 or published(master, "SELECT count(*) FROM incidents")[0][0] != 62:
        return [f"after the restore a load gives {report.status}: {report.message[:150]}"]
    return []


def _still_readable(master: Path, folder: Path) -> list[str]:
    """What readers are shown is still a whole database."""
    try:
        count = published(master, "SELECT count(*) FROM incidents_mapped")[0][0]
        published(master, "SELECT * FROM incidents")
    except duckdb.Error as exc:
        return [f"the published copy cannot be read: {type(exc).__name__}: {str(exc)[:200]}"]
    return [] if count >= 57 else [f"the published copy shows {count} incidents"]


def _loads_then_shows(batches: list[int]):
    def check(master: Path, folder: Path) -> list[str]:
        problems = _still_readable(master, folder)
        code, out, err, crash = cli(master, "batches", "--json")
        shown = [b["batch_id"] for b in json.loads(out)] if code == 0 and not crash else None
        if shown != batches:
            problems.append(f"batches shows {shown}, expected {batches}: {crash or err[-200:]}")
        leftovers = [p.name for p in db.published_dir(master).iterdir() if ".tmp" in p.name]
        return problems + ([f"leftovers {leftovers}"] if leftovers else [])
    return check


def _candidate(*statements: str, hurt: Callable[[Path], None] | None = None):
    """A backup of the master, then changed as a tester would, as ``{folder}/candidate``."""
    def make(master: Path, folder: Path) -> None:
        out = folder / "candidate.duckdb"
        shutil.copyfile(folder / "good.duckdb", out)
        con = duckdb.connect(str(out))
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.close()
        if hurt:
            hurt(out)
        loader.load_bytes(text_file(rows(3, "kept")).encode(), "kept.csv", db_path=master)
    return make


def _restore_refused(says: str) -> list[Step]:
    return [Step(("restore", "{folder}/candidate.duckdb"), 1, (says, "Nothing was changed"),
                 keep="all")]


def _restore_safe(master: Path, folder: Path) -> list[str]:
    """A restore that went through must leave nothing a reader could be fooled by."""
    problems = _still_readable(master, folder)
    con = db.connect_reader(db.published_file(master))
    try:
        mapped = con.execute("SELECT (SELECT count(*) FROM incidents_mapped), "
                             "(SELECT count(*) FROM incidents)").fetchone()
        if mapped[0] != mapped[1]:
            problems.append(f"incidents_mapped shows {mapped[0]} of {mapped[1]} incidents")
        with contextlib.suppress(duckdb.Error):
            if con.execute("SELECT count(*) FROM passwd").fetchone()[0]:
                problems.append("the app's connection read /etc/passwd through a view")
    finally:
        con.close()
    return problems


def db_cases() -> list[DbCase]:
    """Damaged, missing and read-only databases, and restores of files that are not Garita's."""
    ro_steps = [Step(("load", "{csv}"), 1, READ_ONLY, "all", True),
                Step(("rollback", "1"), 1, READ_ONLY, "all", True),
                Step(("init",), 1, ("read-only",), "all", True),
                Step(("batches", "--json"), 0, (), "master", True),
                Step(("export", "--out", "{folder}/x.csv"), 0, (), "master", True)]
    return [
        DbCase("master cut to nothing", _cut(lambda n: 0), _every_command(1, DAMAGED),
               after=_recovers),
        DbCase("master cut inside its header", _cut(lambda n: 100), _every_command(1, DAMAGED),
               after=_recovers),
        DbCase("master cut in half", _cut(lambda n: n // 2), _every_command(1, DAMAGED),
               after=_recovers),
        DbCase("master overwritten with random bytes", _random_bytes,
               _every_command(1, DAMAGED), after=_recovers),
        DbCase("random bytes over a data block of the master", lambda m, f: _rot(m),
               _every_command(None, ("restore",)), after=_still_readable),
        DbCase("random bytes as the master's write-ahead log",
               lambda m, f: m.with_name(m.name + ".wal").write_bytes(
                   random.Random(5).randbytes(5000)),
               [Step(("batches",), None), Step(("export", "--out", "{folder}/x.csv"), None),
                Step(("load", "{csv}"), None, keep="")], after=_still_readable),
        DbCase("master missing, published copies kept", lambda m, f: m.unlink(),
               [Step(("batches",), 1, ("is missing", "python -m etl restore")),
                Step(("export", "--out", "{folder}/x.csv"), 1, ("is missing",)),
                Step(("load", "{csv}"), 1, ("is missing",)),
                Step(("init",), 1, ("is missing",))],
               after=lambda m, f: [] if not m.exists() else ["a command made the master again"]),
        DbCase("read-only master file", lambda m, f: None, ro_steps,
               during=lambda m: read_only(m), after=_loads_then_shows([1])),
        DbCase("read-only data folder", lambda m, f: None, ro_steps,
               during=lambda m: read_only(m.parent), after=_loads_then_shows([1])),
        DbCase("read-only lock file", lambda m, f: db.lock_path(m).touch(),
               [Step(("load", "{csv}"), 1, ("read-only",), "all", True),
                Step(("batches", "--json"), 0, (), "master", True)],
               during=lambda m: read_only(db.lock_path(m)), after=_loads_then_shows([1])),
        DbCase("read-only published folder", lambda m, f: None,
               [Step(("load", "{csv}", "--json"), 0, ("not yet published", "chmod u+w"), "",
                     True),
                Step(("batches", "--json"), 0, ("not yet published",), "master", True)],
               during=lambda m: read_only(db.published_dir(m)),
               after=_loads_then_shows([2, 1])),
        DbCase("garbage in the published pointer (CURRENT)",
               lambda m, f: (db.published_dir(m) / "CURRENT").write_text("{not json"),
               [Step(("batches",), 0), Step(("export", "--out", "{folder}/x.csv"), 0),
                Step(("load", "{csv}"), 0, keep="")], after=_loads_then_shows([2, 1])),
        DbCase("published copies deleted",
               lambda m, f: [p.unlink() for p in db.published_dir(m).glob("v*.duckdb")],
               [Step(("batches",), 0), Step(("export", "--out", "{folder}/x.csv"), 0)],
               after=_loads_then_shows([1])),
        DbCase("restore: a backup with an extra column",
               _candidate("ALTER TABLE batches ADD COLUMN reviewer VARCHAR"),
               _restore_refused("columns Garita does not know"), after=_loads_then_shows([2, 1])),
        DbCase("restore: views where tables should be",
               _candidate("CREATE TABLE kept AS SELECT * FROM batches", "DROP TABLE batches",
                          "CREATE VIEW batches AS SELECT * FROM kept"),
               _restore_refused("is a view where Garita keeps a table"),
               after=_loads_then_shows([2, 1])),
        DbCase("restore: a column of another type",
               _candidate("DROP VIEW incidents_mapped",
                          "ALTER TABLE incidents ALTER COLUMN people_count TYPE VARCHAR"),
               _restore_refused("expected INTEGER"), after=_loads_then_shows([2, 1])),
        DbCase("restore: a required column missing",
               _candidate("DROP VIEW incidents_mapped",
                          "ALTER TABLE incidents DROP COLUMN fingerprint"),
               _restore_refused("lacks required columns"), after=_loads_then_shows([2, 1])),
        DbCase("restore: random bytes",
               lambda m, f: (f / "candidate.duckdb").write_bytes(
                   random.Random(6).randbytes(1 << 20)),
               _restore_refused("not a DuckDB database"), after=_loads_then_shows([1])),
        DbCase("restore: a CSV file named .duckdb",
               lambda m, f: (f / "candidate.duckdb").write_text(text_file(rows(3))),
               _restore_refused("not a DuckDB database"), after=_loads_then_shows([1])),
        DbCase("restore: a backup cut in half",
               _candidate(hurt=lambda p: _cut(lambda n: n // 2)(p, p.parent)),
               _restore_refused("damaged"), after=_loads_then_shows([2, 1])),
        DbCase("restore: random bytes over a data block of the backup",
               _candidate(hurt=_rot), _restore_refused("damaged"),
               after=_loads_then_shows([2, 1])),
        DbCase("restore: an older schema",
               _candidate("DROP VIEW incidents_mapped", "DROP TABLE audit_log",
                          "ALTER TABLE ports DROP COLUMN mexican_city",
                          "ALTER TABLE batches DROP COLUMN date_order"),
               [Step(("restore", "{folder}/candidate.duckdb"), 0, ("Restored",), "")],
               after=_loads_then_shows([1])),
        DbCase("restore: incidents_mapped redefined to hide rows",
               _candidate("CREATE OR REPLACE VIEW incidents_mapped AS SELECT i.*, p.port_name, "
                          "p.latitude, p.longitude, p.field_office, p.mexican_city, p.state AS "
                          "port_state FROM incidents i LEFT JOIN ports p USING (port_code) "
                          "WHERE i.people_count > 3"),
               [Step(("restore", "{folder}/candidate.duckdb"), None, (), "")],
               after=_restore_safe),
        DbCase("restore: an extra view reading /etc/passwd",
               _candidate("CREATE VIEW passwd AS SELECT * FROM read_csv('/etc/passwd', "
                          "header = false, all_varchar = true)"),
               [Step(("restore", "{folder}/candidate.duckdb"), None, (), "")],
               after=_restore_safe),
    ]


def _run_step(step: Step, master: Path, folder: Path, csv_path: Path
              ) -> tuple[int, str, str | None]:
    args = [a.format(folder=folder, csv=csv_path) for a in step.args]
    if step.alone:
        done = run_etl(master, *args)
        crash = done.stderr[-600:] if "Traceback" in done.stderr else None
        return done.returncode, done.stdout + done.stderr, crash
    code, out, err, crash = cli(master, *args)
    return code, out + err, crash


def try_db_case(case: DbCase, template: Path, folder: Path, area: Area) -> None:
    master = fresh_copy(template, folder / "db")
    csv_path = folder / "new.csv"
    csv_path.write_text(text_file(rows(5, "db")))
    assert cli(master, "backup", "--out", str(folder / "good.duckdb"))[0] == 0
    case.hurt(master, folder)
    with (case.during(master) if case.during else contextlib.nullcontext()):
        for step in case.steps:
            before = files_state(master)
            try:
                code, text, crash = _run_step(step, master, folder, csv_path)
            except Exception as exc:  # noqa: BLE001
                area.add(f"{case.name}: {' '.join(step.args[:1])}",
                         [f"battery error {type(exc).__name__}: {exc}"])
                continue
            problems = []
            if crash:
                problems.append(f"traceback: {crash}")
            elif step.code is not None and code != step.code:
                problems.append(f"exit {code}, documented {step.code}: {text[-300:]!r}")
            elif code not in (0, 1):
                problems.append(f"exit {code}: {text[-300:]!r}")
            if code == 1 and not text.strip():
                problems.append("exit 1 without a message")
            says = step.says if step.code is not None or code == 1 else ()
            missing = [s for s in says if s not in text]
            if missing and not crash:
                problems.append(f"message lacks {missing}: {text[-300:]!r}")
            after = files_state(master)
            if step.keep and before[:2] != after[:2]:
                problems.append("the master's file changed")
            if step.keep == "all" and before[2] != after[2]:
                problems.append("the published pointer changed")
            area.add(f"{case.name}: {step.args[0]}", problems,
                     f"exit {code}: {' '.join(text.split())[:110]!r}")
    if case.after is not None:
        try:
            problems = case.after(master, folder)
        except Exception as exc:  # noqa: BLE001
            problems = [f"check raised {type(exc).__name__}: {str(exc)[:300]}"]
        area.add(f"{case.name}: afterwards", problems)


def databases_area(area: Area, work: Path, template: Path) -> None:
    """Area 3: every hurt database, every command against it."""
    cases = db_cases()
    for number, case in enumerate(cases):
        folder = work / f"db-{number}"
        folder.mkdir()
        try:
            try_db_case(case, template, folder, area)
        except Exception as exc:  # noqa: BLE001
            area.add(case.name, [f"battery error {type(exc).__name__}: {exc}"])
        shutil.rmtree(folder, ignore_errors=True)
    area.tried = (f"{len(cases)} damaged, missing or read-only databases and restores, "
                  "each command run against them")
    area.figures.append(f"{len(cases)} states; {len(area.outcomes)} command runs and checks "
                        "(message, exit code, bytes of the master before and after).")


# --- 4. hostile text in a real browser -------------------------------------------------------

# Each payload carries its number (pNN in addresses and text, alert(NN)), so anything that
# leaks can be traced back to the payload that caused it.
BROWSER_PAYLOADS = {
    1: "![p01](https://evil.example/p01.png)",
    2: "[p02](https://evil.example/p02)",
    3: "[p03](javascript:alert(3))",
    4: "<img src=x onerror=alert(4)> p04",
    5: "<img src=https://evil.example/p05.png>",
    6: "<script>alert(6)</script> p06",
    7: ":red[p07 coloured] **p07**",
    8: ":blue-background[p08 background]",
    9: ":green-badge[p09 badge]",
    10: "$\\KaTeX$ p10",
    11: "$$x^2$$ p11",
    12: "www.evil.example/p12",
    13: "https://evil.example/p13",
    14: ":material/warning: p14",
    15: ":smile: p15",
    16: '=HYPERLINK("https://evil.example/p16","p16")',
    17: "@SUM(1+1)*cmd|' /C calc'!A0 p17",
    18: "<iframe src=https://evil.example/p18></iframe>",
    19: "<a href=https://evil.example/p19>p19</a>",
    20: "<svg onload=alert(20)> p20",
    21: "[p21][r] [r]: https://evil.example/p21",
    22: "<style>*{background:url(https://evil.example/p22.png)}</style> p22",
    23: "{port_name} {nationality} <b>p23</b>",
    24: "javascript:alert(24) p24",
    25: '<meta http-equiv="refresh" content="0;url=https://evil.example/p25"> p25',
    26: '"><img src=https://evil.example/p26.png>',
    27: "<https://evil.example/p27>",
    28: "![p28](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMjgpPg==)",
    29: "<details open ontoggle=alert(29)>p29</details>",
    30: "&lt;img src=x onerror=alert(30)&gt; p30",
}
# Every public page, with a text it writes once drawn.
BROWSER_PAGES = [("", "Ports with incidents"), ("over_time", "Incidents per year"),
                 ("by_port?port=Hidalgo%2C+TX", "One port in detail"),
                 ("incidents", re.compile(r"incidents? match")), ("sources", "Batches loaded"),
                 ("present", "documented in public reporting")]
HOSTILE_QUERY = urllib.parse.urlencode(
    {"nat": list(BROWSER_PAYLOADS.values()), "q": BROWSER_PAYLOADS[7],
     "ports": BROWSER_PAYLOADS[1], "types": BROWSER_PAYLOADS[2],
     "states": BROWSER_PAYLOADS[13]}, doseq=True)
IN_PAGE = """() => {
  const box = e => (e.closest('[data-testid="stMarkdownContainer"]') || e.parentElement
                    || e).innerText || '';
  const markdown = '[data-testid="stMarkdownContainer"] ';
  const marked = sel => [...document.querySelectorAll(sel)].map(e => box(e));
  return {
    images: [...document.querySelectorAll('img, image')].map(i => i.src || i.href?.baseVal || ''),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    frames: [...document.querySelectorAll('iframe[src], frame[src]')].map(f => f.src),
    formulas: marked('.katex, math'),
    markup: marked(['[class*="stMarkdownColored"]', '[class*="stMarkdownBadge"]',
                    'span[role="img"]', '[data-testid="stIconMaterial"]']
                   .map(c => markdown + c).join()),
    text: (document.querySelector('[data-testid="stMain"]') || document.body)
          .innerText.replaceAll('\\u2060', ''),
  };
}"""


def _payload_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "port", "incident_types", "nationality", "summary", "notes",
                     "outcome", "source", "source_url"])
    for number, text in BROWSER_PAYLOADS.items():
        writer.writerow([f"2018-06-{number % 28 + 1:02d}", "Hidalgo", "turned_away", text,
                         f"SYNTHETIC {text}", text, text, text,
                         f"https://evil.example/p{number:02d}/source"])
    return buffer.getvalue().encode()


def _traced(items: list[str]) -> tuple[set[int], list[str]]:
    """Payload numbers named in ``items``, and the items that name none."""
    found, untraced = set(), []
    for item in items:
        numbers = {int(n) for n in re.findall(r"(?<![0-9a-z])p(\d\d)(?![0-9])", item)}
        numbers |= {int(n) for n in re.findall(r"^\s*(\d+)\s*$", item)}  # alert(N)
        if numbers & set(BROWSER_PAYLOADS):
            found |= numbers & set(BROWSER_PAYLOADS)
        else:
            untraced.append(item[:120])
    return found, untraced


def _visit(browser, app: str, url: str, text, spoil: str | None = None) -> dict:
    """Open ``url`` in a new page; what it asked for, showed and held once drawn.
    ``spoil``: HTML the battery itself adds to the page (its control: must be caught)."""
    from playwright.sync_api import Error as PlaywrightError

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda w: requests.append(
        w.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)))
    error = None
    try:
        page.goto(url)
        page.get_by_text(text).first.wait_for(timeout=60_000)
        page.get_by_text("Data version").first.wait_for(timeout=30_000)
    except PlaywrightError as exc:
        error = str(exc).splitlines()[0][:100]
    if spoil:
        page.evaluate("html => document.querySelector('[data-testid=\"stMain\"]')"
                      ".insertAdjacentHTML('beforeend', html)", spoil)
    time.sleep(2.5)
    found = page.evaluate(IN_PAGE)
    page.close()
    outside = [u for u in [*requests, *found["images"], *found["links"], *found["frames"]]
               if not u.startswith((app + "/", "data:", "blob:", "about:")) and u != app]
    return {"outside": outside, "dialogs": dialogs, "formulas": found["formulas"],
            "markup": found["markup"], "text": found["text"], "error": error}


def browser_area(area: Area, work: Path, template: Path) -> None:
    """Area 4: payloads as data and in the URL, every public page in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path, running_app

    if chromium_path() is None:
        area.tried = "skipped: no Chromium"
        return
    master = fresh_copy(template, work / "db")
    report = loader.load_bytes(_payload_csv(), "payloads.csv", db_path=master,
                               source="SYNTHETIC hostile payloads")
    evidence: dict[int, list[str]] = {n: [] for n in BROWSER_PAYLOADS}
    untraced: list[str] = []
    shown: set[int] = set()
    visits, errors = 0, []
    with running_app(master) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS)
        try:
            # The control: what a broken page would hold is caught and traced.
            control = _visit(browser, app, f"{app}/sources", "Batches loaded",
                             spoil='<img src="https://evil.example/p05.png">'
                                   '<img src=x onerror="alert(4)">')
            caught = _traced(control["outside"])[0] == {5} and _traced(control["dialogs"])[0] == {4}
            if not caught:
                area.add("control: an outside image and an alert added by the battery",
                         [f"not caught: {control['outside']} {control['dialogs']}"])
            for path, text in BROWSER_PAGES:
                for query in (HOSTILE_QUERY, ""):
                    url = f"{app}/{path}" + (("&" if "?" in path else "?") + query
                                             if query else "")
                    found = _visit(browser, app, url, text)
                    visits += 1
                    where = "/" + path.split("?")[0] + (" (hostile URL)" if query else "")
                    if found["error"]:
                        errors.append(f"{where}: {found['error']}")
                    for kind, items in (("request/link/image to another host", found["outside"]),
                                        ("dialog", found["dialogs"]),
                                        ("KaTeX", found["formulas"]),
                                        ("colour, badge or icon", found["markup"])):
                        numbers, rest = _traced(items)
                        for number in numbers:
                            evidence[number].append(f"{kind} on {where}")
                        untraced += [f"{kind} on {where}: {r}" for r in rest]
                    shown |= {n for n, typed in BROWSER_PAYLOADS.items() if typed in found["text"]}
        finally:
            browser.close()
    for number, typed in BROWSER_PAYLOADS.items():
        area.add(f"payload {number:02d} {typed[:40]!r}", sorted(set(evidence[number])))
    area.add("nothing else reached another host or drew markup", sorted(set(untraced))[:10])
    area.tried = (f"{len(BROWSER_PAYLOADS)} payloads as data ({report.loaded} rows loaded) and "
                  f"in the URL; {visits} visits of the public pages in Chromium")
    area.figures.append(f"{visits} visits of {len(BROWSER_PAGES)} public pages (with and "
                        f"without the hostile URL); {len(shown)} of {len(BROWSER_PAYLOADS)} "
                        "payloads seen as typed on some page; the control was "
                        + ("caught." if caught else "NOT caught: the battery is blind."))
    if errors:
        area.figures.append("Pages slow to draw: " + "; ".join(errors))


# --- 5. password guessing -----------------------------------------------------------------

PASSWORD = "synthetic staff password 42"
WRONG = "synthetic wrong guess"


@contextlib.contextmanager
def counted_checks(delay: float = 0.0):
    """Count the passwords ``garita.auth`` actually checks (optionally slowing each one)."""
    from garita import auth

    checked: list[str] = []
    real = auth.check_password

    def check(stored: str, password: str) -> bool:
        checked.append(password)
        time.sleep(delay)
        return real(stored, password)
    auth.check_password = check
    try:
        yield checked
    finally:
        auth.check_password = real


def passwords_area(area: Area, work: Path, template: Path) -> None:
    """Area 5: guessing through ``garita.auth`` with a cheap hash (a costly one for timing)."""
    from garita import auth

    master = fresh_copy(template, work / "db")
    stored = auth.hash_password(PASSWORD, iterations=1_000)

    def staff(limiter=None, password_hash: str = stored) -> auth.StaffConfig:
        limiter = limiter or auth.SignInLimiter(work / f"limits-{time.time_ns()}.json")
        return auth.StaffConfig(passwords={"ana": password_hash}, limiter=limiter)

    # 25 wrong, then the right one: refused while locked, however the name is typed.
    config = staff()
    with counted_checks() as checked:
        for n in range(25):
            config.check("ana", f"{WRONG} {n}")
        right = [config.attempt(name, PASSWORD) for name in ("ana", " ANA ", "\uff41\uff4e\uff41")]
    problems = [f"{len(checked)} of 25 wrong passwords were checked"] if len(checked) > 5 else []
    if any(a.accepted or a.checked for a in right):
        problems.append("the right password was checked or accepted during the lock")
    restarted = staff(auth.SignInLimiter(config.limiter.state_file))
    if restarted.check("ana", PASSWORD):
        problems.append("a restart lifted the lock")
    restarted.limiter.clock = lambda: time.time() + auth.LONGEST_LOCK_SECONDS + 1
    if not restarted.check("ana", PASSWORD):
        problems.append("the right password is refused after the lock ends")
    area.add("25 wrong then the right password (3 spellings, a restart)", problems,
             f"{len(checked)} checked, wait {right[0].wait:.0f} s")
    area.figures.append(f"25 wrong then right: {len(checked)} checked, the right one refused "
                        f"unchecked for {right[0].wait:.0f} s, also after a restart.")

    # Six sessions at once, four guesses each: the name's limit is shared.
    for label, names in (("one spelling", ["ana"] * 6),
                         ("six spellings", ["ana", "ANA", " ana", "\uff41\uff4e\uff41", "Ana ",
                                            "aNa"])):
        config = staff()
        start = threading.Barrier(6)

        def session(name: str, number: int) -> None:
            start.wait()
            for guess in range(4):
                config.check(name, f"{WRONG} {number}-{guess}")

        with counted_checks(delay=0.02) as checked:
            threads = [threading.Thread(target=session, args=(name, n))
                       for n, name in enumerate(names)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        problems = [f"{len(checked)} of 24 parallel guesses checked"] if len(checked) > 5 else []
        if config.check("ana", PASSWORD):
            problems.append("accepted while locked")
        area.add(f"6 parallel sessions x 4 guesses, {label}", problems, f"{len(checked)} checked")
        area.figures.append(f"6 parallel sessions x 4 guesses ({label}): {len(checked)} checked.")

    # Many names: the global limit stops everyone for a minute.
    config = staff()
    with counted_checks() as checked:
        for n in range(40):
            config.check(f"guess{n}", WRONG)
        refused = config.attempt("ana", PASSWORD)
    problems = [] if len(checked) <= auth.GLOBAL_FAILURES_PER_MINUTE else [
        f"{len(checked)} of 40 names checked in a minute"]
    if refused.accepted or refused.scope != "all":
        problems.append(f"after 40 names the right password gives {refused}")
    area.add("40 names in a minute, then the right password", problems,
             f"{len(checked)} checked")
    area.figures.append(f"40 names in a minute: {len(checked)} checked, then every sign-in "
                        f"waits {refused.wait:.0f} s.")

    # Unknown against known names: the same time, the same lock.
    slow = auth.hash_password(PASSWORD, iterations=100_000)
    config = staff(auth.SignInLimiter(None, per_user=10**6, per_minute=10**6), slow)

    def seconds(user: str) -> float:
        began = time.perf_counter()
        config.check(user, WRONG)
        return time.perf_counter() - began

    known, unknown = [], []
    for n in range(15):
        known.append(seconds("ana"))
        unknown.append(seconds(f"nadie{n}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    area.add("unknown against known name, median time", [] if 0.7 <= ratio <= 1.4 else
             [f"unknown/known = {ratio:.2f}"], f"ratio {ratio:.2f}")
    config = staff()
    waits = {}
    for name in ("ana", "nadie"):
        for n in range(6):
            last = config.attempt(name, f"{WRONG} {n}")
        waits[name] = (last.checked, round(last.wait), last.scope)
    area.add("unknown against known name, lockout", [] if waits["ana"] == waits["nadie"] else
             [f"locks differ: {waits}"], str(waits))
    area.figures.append(f"Unknown/known name time ratio {ratio:.2f} (medians of 15, PBKDF2 "
                        "100,000 iterations); the same lock for both.")

    # The audit log: failures as typed, the lock, never the password.
    config = staff()
    typed = '=HYPERLINK("https://evil.example")\n' + "x" * 100
    auth.sign_in(config, typed, WRONG, master)
    for n in range(auth.PER_USER_FAILURES):
        auth.sign_in(config, "ana", f"{WRONG} {n}", master)
    auth.sign_in(config, "ana", PASSWORD, master)
    auth.sign_in(config, "nadie", PASSWORD, master)
    entries = published(master, "SELECT who, action, coalesce(detail, '') FROM audit_log "
                                "WHERE action LIKE 'sign_in%' ORDER BY logged_at")
    failed = [e for e in entries if e[1] == "sign_in_failed"]
    locked = [e for e in entries if e[1] == "sign_in_locked"]
    problems = []
    if len(failed) != 2 + auth.PER_USER_FAILURES or len(locked) != 1:
        problems.append(f"{len(failed)} failures and {len(locked)} locks audited")
    if any(WRONG in cell or PASSWORD in cell for e in entries for cell in e):
        problems.append("a password is in the audit log")
    odd = [e[0] for e in failed if "HYPERLINK" in e[0]]
    if not odd or not odd[0].startswith("'") or "\n" in odd[0] or len(odd[0]) > 66:
        problems.append(f"the odd name is audited as {odd!r}")
    area.add("audit log of failures and locks", problems,
             f"{len(failed)} failures, {len(locked)} lock")
    area.figures.append(f"Audit: {len(failed)} failed sign-ins and {len(locked)} lock logged, "
                        "no password, the formula-like name neutralised.")
    area.tried = "password guessing through garita.auth"


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    """Run the chosen areas and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=AREAS, default=list(AREAS))
    parser.add_argument("--kills", type=int, default=14)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--verbose", action="store_true", help="Print every attempt.")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    began = time.perf_counter()
    print("SYNTHETIC data only (built in bench/hostile.py and bench/synthetic.py); "
          "temporary folders; localhost.", flush=True)
    areas = []
    with tempfile.TemporaryDirectory(prefix="garita-hostile-") as tmp:
        work = Path(tmp)
        template = build_template(work / "template")
        runners = {"files": files_area, "databases": databases_area,
                   "browser": browser_area, "passwords": passwords_area,
                   "kills": lambda a, w, t: kills_area(a, w, t, args.kills, args.rows)}
        for name in args.only:
            area = Area(name, name)
            start = time.perf_counter()
            folder = work / name
            folder.mkdir()
            try:
                runners[name](area, folder, template)
            except Exception as exc:  # noqa: BLE001 - report it, run the other areas
                area.add("the battery itself", [f"{type(exc).__name__}: {str(exc)[:300]}"])
            area.seconds = time.perf_counter() - start
            areas.append(area)
            print(f"{name}: {area.held}/{len(area.outcomes)} held "
                  f"({area.seconds:.0f} s)", flush=True)
    report(areas, time.perf_counter() - began)


def report(areas: list[Area], seconds: float) -> None:
    """The summary table (Markdown, as the README shows it), then a verdict per area."""
    print()
    print("| area | what was tried | attempts | held | broken | time |")
    print("|---|---|---|---|---|---|")
    for area in areas:
        print(f"| {area.name} | {area.tried} | {len(area.outcomes)} | {area.held} | "
              f"{len(area.outcomes) - area.held} | {area.seconds:.0f} s |")
    print()
    for area in areas:
        broken = [o for o in area.outcomes if not o.held]
        verdict = "all held" if not broken else f"{len(broken)} BROKE"
        print(f"{area.name}: {verdict}. " + " ".join(area.figures))
        for outcome in broken:
            print(f"  BROKEN {outcome.case}: {outcome.detail}")
    print(f"\nTotal {seconds / 60:.1f} min on {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
