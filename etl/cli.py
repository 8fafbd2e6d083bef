"""``python -m etl``: build the database, load spreadsheets, list, undo and export batches.

A thin layer over ``etl.load`` and ``garita.queries``: every command's docstring is its
``--help``. Problems the user can fix are printed as messages with exit code 1, never as
tracebacks.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import getpass
import io
import json
import logging
import sys
from pathlib import Path

import click
import duckdb

from etl import load as loader
from etl.read import FileRefused
from garita import db, exports, fields, queries
from garita import matches as possible_matches
from garita.filters import Filters

DB_HELP = "Database file (default: $GARITA_DB, else data/garita.duckdb)."


def friendly(func):
    """Turn the errors a user can act on into a message and exit code 1.

    A change that is saved but not yet published is a warning with exit code 0: it is in
    the database, and doing it again would be wrong.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except db.NotPublished as exc:
            click.echo(f"Warning: {exc}", err=True)
        except (db.DatabaseProblem, loader.LoadFailed, LookupError, ValueError,
                OSError) as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except duckdb.Error as exc:
            click.echo(f"Error: the database could not be used ({type(exc).__name__}). If "
                       "this repeats, it may be damaged: restore it from a backup with "
                       "`python -m etl restore FILE`.", err=True)
            sys.exit(1)
    return wrapper


class _Warnings(logging.Handler):
    """The library's warnings (e.g. a change not yet published) on stderr, as messages."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {record.getMessage()}", err=True)


@click.group()
def main():
    """Garita's data tools: build the database and load incident spreadsheets.

    \b
    Example:
        python -m etl init
        python -m etl load reports.csv --source "Clinic intake, March" --dry-run
    """
    log = logging.getLogger("garita")
    if not any(isinstance(handler, _Warnings) for handler in log.handlers):
        log.addHandler(_Warnings(logging.WARNING))


@main.command()
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def init(db_file):
    """Create the database: schema, the 28 ports of entry and the default incidents.

    Running it again changes nothing.

    \b
    Example:
        python -m etl init --db data/garita.duckdb
    """
    click.echo(loader.init(db_file))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", help="Where these rows come from; used for rows with no source.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; save nothing.")
@click.option("--strict", is_flag=True, help="Load nothing if any row is rejected.")
@click.option("--date-order", type=click.Choice(["dmy", "mdy"]),
              help="Day/month order of dates like 03/04/2017 when the file cannot tell.")
@click.option("--map", "maps", multiple=True, metavar='"HEADER=field"',
              help="Read the column HEADER as this field (its name, label or any header "
                   "name), or 'ignore' to leave it out. Repeatable.")
@click.option("--set", "values", multiple=True, metavar='"field=value"',
              help="The value of a field in every row that has none (the whole batch when "
                   "the file has no such column). Repeatable.")
@click.option("--replace", "replacements", multiple=True, metavar='"field:VALUE=NEW"',
              help="Read VALUE as NEW in that field's column, for this batch "
                   "(port:Tijuana=San Ysidro; a state as NEW keeps the state only: "
                   "port:Tijuana=CA). Repeatable.")
@click.option("--excel-dates", is_flag=True,
              help="The date column holds Excel serial numbers (43843 = 2020-01-13).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def load(file, source, dry_run, strict, date_order, maps, values, replacements, excel_dates,
         as_json, db_file):
    """Load a CSV of incidents (English or Spanish headers) as one batch.

    Valid rows load; rejected rows are kept with their reasons (see `rejected`);
    rows already loaded count as duplicates. Exit code 1 if nothing could be loaded.
    --map, --set and --replace are recorded in the batch ledger.

    \b
    Example:
        python -m etl load intake-marzo.csv --source "Clinic intake" --date-order dmy
        python -m etl load casa-x.csv --map "Fecha de rechazo=date" --map "Notas=ignore" \\
            --set "incident type=turned away" --set state=AZ \\
            --replace "port:Tijuana=San Ysidro"
    """
    choices = dataclasses.replace(_choices(maps, values, replacements),
                                  excel_dates=excel_dates)
    report = loader.load_file(file, db_path=db_file, source=source, dry_run=dry_run,
                              strict=strict, date_order=date_order, choices=choices)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
        if report.status == "loaded" and report.loaded:
            _print_open_matches(db_file)
    if report.status == "rejected" or report.loaded == 0:
        sys.exit(1)


def _print_open_matches(db_file) -> None:
    """After a load: how many possible matches wait for review, and how to see them."""
    with contextlib.suppress(db.DatabaseProblem), _reader(db_file) as con:
        waiting = possible_matches.open_count(con)
        if waiting:
            click.echo(f"{waiting} possible matches not yet reviewed: "
                       "`python -m etl matches` lists them.")


def _split(text: str, sep: str, option: str, shape: str) -> tuple[str, str]:
    left, found, right = text.partition(sep)
    if not found or not left.strip():
        raise click.BadParameter(f"'{text}' is not {shape}.", param_hint=option)
    return left.strip(), right


def _field(text: str, option: str) -> str:
    try:
        return loader.field_named(text)
    except FileRefused:
        names = ", ".join(f.name for f in fields.read())
        raise click.BadParameter(f"'{text}' is not a field. Fields: {names}.",
                                 param_hint=option) from None


def _choices(maps, values, replacements) -> loader.Choices:
    """--map, --set and --replace as the loader's choices."""
    mapping = {}
    for text in maps:
        header, target = _split(text, "=", "--map", '"HEADER=field"')
        mapping[header] = _field(target, "--map")
    chosen = {}
    for text in values:
        name, value = _split(text, "=", "--set", '"field=value"')
        name = _field(name, "--set")
        if not name:
            raise click.BadParameter(f"'{text}' names no field.", param_hint="--set")
        chosen[name] = value.strip()
    replaced = []
    for text in replacements:
        name, rest = _split(text, ":", "--replace", '"field:VALUE=NEW"')
        value, new = _split(rest, "=", "--replace", '"field:VALUE=NEW"')
        name = _field(name, "--replace")
        if not name:
            raise click.BadParameter(f"'{text}' names no field.", param_hint="--replace")
        replaced.append(loader.Replacement(name, value, new.strip()))
    return loader.Choices(mapping=mapping, values=chosen, replacements=tuple(replaced))


def _choices_said(choices: dict) -> list[str]:
    """What staff chose for a batch, one line each (as ``load`` and ``batches`` print it)."""
    lines = [f"read '{header}' as {field or 'not used'}"
             for header, field in (choices.get("mapping") or {}).items()]
    lines += [f"every row without one: {name} = {value}"
              for name, value in (choices.get("values") or {}).items()]
    for r in choices.get("replacements") or []:
        cells = f" ({r['rows']} cells)" if "rows" in r else ""
        lines.append(f"{r['field']}: '{r['value']}' read as '{r['new']}'{cells}")
    if choices.get("rows_edited"):
        lines.append(f"{choices['rows_edited']} rows edited in the app")
    return lines


def _print_report(report: loader.LoadReport) -> None:
    if report.encoding:
        click.echo(f"Read {report.file_name}: {report.encoding}, {report.delimiter}-separated"
                   + (f", dates {report.date_order}" if report.date_order else ""))
    for line in _choices_said(report.choices):
        click.echo(f"  Chosen: {line}")
    if report.unknown_columns:
        click.echo("Columns not used (dropped, not stored): " + ", ".join(report.unknown_columns))
    if report.personal_columns:
        click.echo("Of those, these look like personal data: "
                   + ", ".join(report.personal_columns))
    for problem in report.problems[:50]:
        hint = f" (suggestion: {problem.suggestion})" if problem.suggestion else ""
        click.echo(f"  row {problem.row}, {problem.column}: {problem.message}{hint}")
    if len(report.problems) > 50:
        click.echo(f"  … and {len(report.problems) - 50} more problems (use --json for all).")
    click.echo(report.message)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def batches(as_json, db_file):
    """List the batches loaded, newest first, with their counts and status.

    \b
    Example:
        python -m etl batches --json
    """
    with _reader(db_file) as con:
        frame = queries.run(con, "SELECT * FROM batches ORDER BY batch_id DESC")
    if as_json:
        click.echo(frame.to_json(orient="records", date_format="iso", indent=2))
        return
    for row in frame.itertuples():
        click.echo(f"{row.batch_id:>4}  {row.status:<11} {row.loaded_at:%Y-%m-%d %H:%M}  "
                   f"{row.file_name}  total {row.rows_total}, loaded {row.rows_loaded}, "
                   f"duplicate {row.rows_duplicate}, blank {row.rows_skipped}, "
                   f"rejected {row.rows_rejected}  by {row.loaded_by}")
        for line in _choices_said(loader.ledger_choices(row._asdict())):
            click.echo(f"        {line}")


@main.command()
@click.argument("batch_id", type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="CSV file to write (original columns plus a 'problems' column).")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def rejected(batch_id, out, db_file):
    """Write a batch's rejected rows, with the reasons, to fix and load again.

    \b
    Example:
        python -m etl rejected 4 --out to-fix.csv
    """
    with _reader(db_file) as con:
        if not queries.one(con, "SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]):
            raise LookupError(f"There is no batch {batch_id}. `python -m etl batches` lists them.")
        rows = queries.rejected_rows(con, batch_id)
    Path(out).write_bytes(rejected_csv(rows))
    click.echo(f"Wrote {len(rows)} rejected rows of batch {batch_id} to {out}.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def crossings(file, as_json, db_file):
    """Load the official BTS Border Crossing Entry Data export (northbound traffic).

    Keeps the US–Mexico rows; a newer export replaces the months it covers. Garita does
    not ship this data: download it from data.bts.gov (Border Crossing Entry Data).

    \b
    Example:
        python -m etl crossings Border_Crossing_Entry_Data.csv
    """
    from etl.crossings import load_crossings

    try:
        report = load_crossings(Path(file).read_bytes(), file, db_path=db_file)
    except FileRefused as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        for problem in report.rejected[:20]:
            click.echo(f"  {problem}")
        click.echo(report.message)


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def backup(out, db_file):
    """Write a consistent copy of the database (safe while the app runs).

    \b
    Example:
        python -m etl backup --out backups/garita-2026-11-28.duckdb
    """
    version = db.backup(db.db_path(db_file), Path(out))
    click.echo(f"Backed up data version {version} to {out}.")


@main.command()
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def restore(backup_file, db_file):
    """Replace the database with a backup; the app shows it within seconds.

    The backup is checked on a copy first (a whole DuckDB file with Garita's tables and
    columns; an older Garita's is brought forward) and refused otherwise. If anything fails
    after the swap, the previous database is put back. The database being replaced is kept
    as <db>.before-restore.

    \b
    Example:
        python -m etl restore backups/garita-2026-11-28.duckdb
    """
    from etl.crossings import SCHEMA as CROSSINGS_SCHEMA

    version = db.restore(db.db_path(db_file), Path(backup_file), extra=CROSSINGS_SCHEMA)
    click.echo(f"Restored {backup_file}; it is published as data version {version}.")


@main.command("hash-password")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (asked for when not given).")
def hash_password(password):
    """Print a salted hash for a staff password, to put in .streamlit/secrets.toml.

    \b
    Example:
        python -m etl hash-password
        # then in .streamlit/secrets.toml:  [staff.passwords]  maria = "pbkdf2_sha256$..."
    """
    from garita.auth import hash_password as make_hash

    try:
        click.echo(make_hash(password))
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


def rejected_csv(rows) -> bytes:
    """Rejected rows as CSV: their original cells, then the row number and the reasons."""
    records = [json.loads(raw) for _, raw, _ in rows]
    header = list(dict.fromkeys(key for record in records for key in record))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*header, "original_row", "problems"])
    for (source_row, _, problems), record in zip(rows, records):
        reasons = "; ".join(f"{p['column']}: {p['message']}" for p in json.loads(problems))
        writer.writerow([exports.neutralize(record.get(h, "")) for h in header]
                        + [source_row, exports.neutralize(reasons)])
    return buffer.getvalue().encode("utf-8-sig")


@main.command()
@click.argument("batch_id", type=int)
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def rollback(batch_id, db_file):
    """Undo a batch: its incidents leave every view; the ledger keeps the record.

    \b
    Example:
        python -m etl rollback 4
    """
    click.echo(loader.rollback(batch_id, db_path=db_file))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--port", "ports", multiple=True, help="Port code, e.g. 2504 (repeatable).")
@click.option("--from", "start", help="First month, YYYY-MM.")
@click.option("--to", "end", help="Last month, YYYY-MM.")
@click.option("--type", "types", multiple=True, help="Incident type code (repeatable).")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def export(fmt, out, ports, start, end, types, db_file):
    """Export the filtered incidents as CSV or GeoJSON (the app's downloads are the same).

    With --from/--to, an incident counts when its whole period lies in the range.
    GeoJSON leaves out incidents with no port and says how many.

    \b
    Example:
        python -m etl export --port 2504 --from 2018-01 --to 2018-12 --out sy2018.csv
    """
    filters = Filters.from_strings(start=start, end=end, ports=ports, types=types)
    with _reader(db_file) as con:
        frame = queries.export_rows(con, filters)
    if fmt == "csv":
        data, note = exports.to_csv(frame), f"{len(frame)} incidents"
    else:
        data, unmapped = exports.to_geojson(frame)
        note = f"{len(frame) - unmapped} incidents ({unmapped} without a port left out)"
    if out:
        Path(out).write_bytes(data)
        click.echo(f"Wrote {note} to {out}.", err=True)
    else:
        sys.stdout.buffer.write(data)
        click.echo(note, err=True)


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder to write the package into (created if missing).")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def package(out, db_file):
    """Write the whole public dataset as a Frictionless Data Package.

    datapackage.json (a table schema for every field, units, licences, sources, the data
    version and the date), incidents as CSV and Parquet, ports, incident types, policy
    events and a GeoJSON of incidents per port. Public fields only, as the app shows them.

    \b
    Example:
        python -m etl package --out garita-data
    """
    from garita import newsroom

    with _reader(db_file) as con:
        descriptor = newsroom.write_package(con, Path(out))
    click.echo(f"Wrote data version {descriptor['version']} "
               f"({len(descriptor['resources'])} files and datapackage.json) to {out}.",
               err=True)


@main.command("matches")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def matches_command(as_json, db_file):
    """List the possible matches not yet decided, best first.

    Pairs of incidents from different batches or sources that may be the same incident:
    the same port (or the same state, both without a port), dates close and compatible
    with how precisely they are known, then scored on people, nationality, group, types
    and summary (English and Spanish), with the reasons. Decide each with `match`.

    \b
    Example:
        python -m etl matches
        python -m etl matches --json
    """
    with _reader(db_file) as con:
        found = possible_matches.candidates(con)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in found], ensure_ascii=False, default=str))
        return
    for candidate in found:
        click.echo(f"{candidate.ids[0]} and {candidate.ids[1]} (score {candidate.score}): "
                   + ", ".join(candidate.reasons))
        for side in (candidate.a, candidate.b):
            click.echo(f"    {side['incident_id']}: {side['date'] or 'no date'} · "
                       f"{side['port_code'] or side['state'] or 'no port'} · "
                       f"{side['people_count'] if side['people_count'] is not None else '?'} "
                       f"people · {side['nationality'] or '?'} · batch {side['batch_id']} · "
                       f"{side['source'] or ''}")
    click.echo(f"{len(found)} possible matches not yet reviewed." + (
        " Decide with `python -m etl match ID1 ID2 --same` (or --different)." if found else ""))


@main.command()
@click.argument("first")
@click.argument("second")
@click.option("--same", "decision", flag_value="same",
              help="They are one incident: count it once, with both sources.")
@click.option("--different", "decision", flag_value="different",
              help="They are different incidents: never ask again.")
@click.option("--db", "db_file", type=click.Path(dir_okay=False), help=DB_HELP)
@friendly
def match(first, second, decision, db_file):
    """Decide whether two incidents (by id) are the same incident.

    The decision is kept with who and when, in the audit log, and the pair is not asked
    again, also after the batches are loaded again.

    \b
    Example:
        python -m etl match B3-2 B4-7 --same
    """
    if decision is None:
        raise click.UsageError("Say --same or --different.")
    who = f"cli:{getpass.getuser()}"
    click.echo(possible_matches.decide(db.db_path(db_file), first, second, decision, who))


class _reader:
    def __init__(self, db_file):
        self.master = db.db_path(db_file)

    def __enter__(self):
        self.con = db.connect_reader(db.published_file(self.master))
        return self.con

    def __exit__(self, *exc):
        self.con.close()
