"""What staff do on the Upload and Batches pages, in one place: the pages call only this,
``garita.ui`` and ``garita.i18n``.

Reading a file, how each header is read (with sample values, the mapping used last time for
the same headers), the choices staff make for a batch (``etl.load.Choices``: mapping, values
for every row, replacements, edited rows), the places to choose for values that name several
ports, the suggestions that apply to every row with the same value, loading through the
same loader as the CLI, the receipt, and the ledger with what was chosen for each batch.
Nothing here imports Streamlit; reads take a connection from the page
(``garita.ui.staff_reader``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd

from etl import load as loader
from etl import problems
from etl.cli import rejected_csv
from etl.columns import read_headers
from etl.load import Choices, LoadReport, Replacement
from etl.ports import resolve_state
from etl.read import FileRefused, Table, read_table
from etl.templates import template_csv
from etl.validate import Checked
from garita import db, fields, queries
from garita.i18n import number, t

SAMPLES = 3
# What a load or rollback may raise that staff can act on: the message says what to do.
CANNOT_DO = (db.DatabaseProblem, loader.LoadFailed, LookupError)
# Refusals that choosing how headers are read, or a value for every row, can undo.
MAPPING_CODES = ("columns.missing", "columns.no_place", "columns.same_field",
                 "columns.unknown_field", "choices.replace_no_column")


def template(lang: str) -> bytes:
    """The template spreadsheet with English (``en``) or Spanish (``es``) headers."""
    return template_csv(lang)


def readable_fields() -> list[str]:
    """The fields a column can be read as, in declaration order."""
    return [f.name for f in fields.read()]


def fields_for_every_row() -> list[str]:
    """The fields a value can be set for every row of a batch: all but the id (one id for
    every row would make them one record); the incident type first, the most often
    missing."""
    names = [n for n in readable_fields() if n != "incident_id"]
    return ["incident_types", *[n for n in names if n != "incident_types"]]


def label(name: str | None) -> str:
    """A field's name for people, in the interface language; "(not used)" for none."""
    return fields.field(name).label if name else t("(not used)")


def field_by_label(text: str) -> str:
    """The field whose label (in either language) is ``text``; '' for "(not used)"."""
    for f in fields.read():
        if text in (f.label, f.label_en, f.label_es):
            return f.name
    return ""


@dataclass
class Column:
    """One header of the file: how it is read now, and a few of its values."""

    header: str
    field: str | None
    samples: list[str]


@dataclass
class Preview:
    """A file as it would load with the staff's choices, before anything is saved.

    ``table`` is the file as read (with the rows edited so far), ``checked`` the validated
    file (None when it is refused: ``report.message`` says why, ``mapping_can_fix`` whether
    choosing how headers are read can help).
    """

    report: LoadReport
    checked: Checked | None
    table: Table | None
    columns: list[Column] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.checked is None

    @property
    def mapping_can_fix(self) -> bool:
        return self.refused and self.table is not None and self.report.code in MAPPING_CODES


def _samples(table: Table, index: int) -> list[str]:
    seen: list[str] = []
    for value in table.columns[index].to_pylist():
        value = (value or "").strip()
        if value and value not in seen:
            seen.append(value)
            if len(seen) == SAMPLES:
                break
    return seen


def read_file(data: bytes) -> Table:
    """The file's header and cells as read (raises ``FileRefused`` for what is not a CSV)."""
    return read_table(data)


def columns(table: Table, mapping: dict[str, str]) -> list[Column]:
    """How each header of ``table`` is read with the staff's ``mapping``, with samples."""
    return [Column(header, name, _samples(table, i))
            for i, (header, name) in enumerate(zip(table.header,
                                                   read_headers(table.header, mapping)))]


def preview(data: bytes, file_name: str, choices: Choices, *,
            date_order: str | None = None) -> Preview:
    """Check ``data`` with ``choices`` (nothing is saved), for the page to show."""
    report, checked = loader.preview(data, file_name, date_order=date_order, choices=choices)
    try:
        table = read_table(data, header_names=frozenset(choices.mapping))
    except FileRefused:
        return Preview(report, None, None)
    if choices.edits:
        table = read_table(table.to_csv(choices.edits))
    return Preview(report, checked, table, columns(table, choices.mapping))


def header_signature(table: Table) -> str:
    """What the next file with the same headers shares with this one."""
    return loader.header_signature(table.header)


def remembered_mapping(con, table: Table) -> tuple[dict[str, str], int | None]:
    """The mapping staff chose for the last batch with the same headers (ignoring case,
    accents and spacing), translated to this file's headers, and that batch's number."""
    row = queries.one(con, "SELECT mapping, batch_id FROM batches WHERE header_signature = ? "
                           "ORDER BY batch_id DESC LIMIT 1", [header_signature(table)])
    if not row or not row[0]:
        return {}, None
    from etl.columns import header_key

    by_key = {header_key(h): h for h in table.header}
    mapping = {by_key[header_key(h)]: name for h, name in json.loads(row[0]).items()
               if header_key(h) in by_key}
    return mapping, row[1]


@dataclass(frozen=True)
class PlaceChoice:
    """A value of the port column that names several ports: the rows holding it wait for
    staff to choose a port, or to keep only the state the ports share."""

    value: str
    rows: int
    ports: tuple[str, ...]           # port names
    keep_state: str | None           # the state all of them are in, if one


def place_choices(preview: Preview) -> list[PlaceChoice]:
    """The ambiguous port values of the file, each once, with its candidates."""
    port_header = _header_of(preview, "port")
    found: dict[str, PlaceChoice] = {}
    for p in preview.report.problems:
        if p.code != "port.ambiguous" or p.column != port_header:
            continue
        value = (p.value or "").strip()
        known = found.get(value)
        found[value] = PlaceChoice(value, (known.rows if known else 0) + 1,
                                   tuple(p.params.get("ports", ())),
                                   p.params.get("keep_state"))
    return list(found.values())


def place_replacement(choice: PlaceChoice, port: str | None) -> Replacement:
    """Staff's choice for every row with ``choice.value``: a port's name, or None to keep
    the state only (the port left blank, the state filled in where blank)."""
    return Replacement("port", choice.value, port or choice.keep_state or "")


@dataclass(frozen=True)
class Fix:
    """A suggestion that can apply at once to every row with the same value."""

    field: str
    header: str
    value: str
    suggestion: str
    rows: int


def _header_of(preview: Preview, name: str) -> str | None:
    for column in preview.columns:
        if column.field == name:
            return column.header
    return None


def fixes(preview: Preview) -> list[Fix]:
    """Suggestions that hold for every row with the value: offered once for all of them.

    A suggestion that depends on the rest of the row (a state that should be the port's)
    is not: replacing the value would change rows where it is right.
    """
    if preview.table is None:
        return []
    by_header = {c.header: c.field for c in preview.columns if c.field}
    groups: dict[tuple, int] = {}
    for p in preview.report.problems:
        if p.suggestion and p.column in by_header and p.code != "port.ambiguous":
            key = (by_header[p.column], p.column, (p.value or "").strip(), p.suggestion)
            groups[key] = groups.get(key, 0) + 1
    out = []
    for (name, header, value, suggestion), rows in groups.items():
        index = preview.table.header.index(header)
        holding = sum(1 for cell in preview.table.columns[index].to_pylist()
                      if (cell or "").strip() == value)
        if holding == rows:
            out.append(Fix(name, header, value, suggestion, rows))
    return out


def fix_replacement(fix: Fix) -> Replacement:
    return Replacement(fix.field, fix.value, fix.suggestion)


def describe_replacement(replacement: dict) -> str:
    """One replacement as staff read it: "Port: 'Tijuana' → 'San Ysidro'"."""
    name, new = replacement["field"], replacement["new"]
    state = resolve_state(new) if name == "port" and new else None
    if state:
        said = t("'{value}' → no port, state {state}", value=replacement["value"], state=state)
    else:
        said = t("'{value}' → '{new}'", value=replacement["value"], new=new)
    if "rows" in replacement:
        said += " " + t("({n} cells)", n=number(replacement["rows"]))
    return f"{label(name)}: {said}"


def describe_choices(chosen: dict) -> list[str]:
    """What staff chose for a batch (``LoadReport.choices`` or a ledger row's), one line
    each, in the words of the page."""
    lines = [t("Column '{header}' read as {field}", header=header, field=label(name))
             for header, name in (chosen.get("mapping") or {}).items()]
    lines += [t("Every row without one: {field} = '{value}'", field=label(name), value=value)
              for name, value in (chosen.get("values") or {}).items()]
    lines += [describe_replacement(r) for r in chosen.get("replacements") or []]
    if chosen.get("rows_edited"):
        lines.append(t("{n} rows edited on the Upload page", n=number(chosen["rows_edited"])))
    return lines


def problems_table(report: LoadReport) -> pd.DataFrame:
    """Every problem: row, column as written, value as written, what is wrong (in the
    reader's language), suggestion."""
    return pd.DataFrame([{**p.as_dict(), "message": problems.localized(p.code, p.params)}
                         for p in report.problems],
                        columns=["row", "column", "value", "message", "suggestion"]).fillna("")


def refusal(refused) -> str:
    """Why a file is refused, in the reader's language, and that nothing was loaded: from a
    ``FileRefused`` or a refused ``LoadReport`` (each carries a problem code)."""
    if getattr(refused, "code", None):
        return f"{problems.localized(refused.code, refused.params)} {t('Nothing was loaded.')}"
    return getattr(refused, "message", None) or str(refused)


def nothing_new(report: LoadReport) -> str:
    """Why a checked file has nothing to load: every row is blank or already loaded."""
    batches = ", ".join(map(str, report.duplicate_of_batches)) or "—"
    return t("Every row of this file is already loaded (batch {b}) or blank; there is nothing "
             "new to load.", b=batches)


def load(data: bytes, file_name: str, choices: Choices, *, who: str,
         date_order: str | None = None) -> LoadReport:
    """Load the file as one batch with ``choices``, through the CLI's loader; ``who`` was
    checked as staff by the caller just now. Raises ``db.DatabaseProblem`` (busy, damaged,
    read-only: the message says what to do)."""
    return loader.load_bytes(data, file_name, date_order=date_order, loaded_by=who,
                             choices=choices, wait_seconds=30)


def receipt(report: LoadReport) -> str:
    """What a load did, in the words of the page (never a command to type)."""
    counts = dict(total=number(report.total), loaded=number(report.loaded),
                  dup=number(report.duplicate), blank=number(report.skipped),
                  rej=number(report.rejected))
    if report.status == "already_loaded" and report.batch_id:
        said = t("This file was already loaded as batch {b} with the same choices; nothing "
                 "was loaded again.", b=report.batch_id)
    elif report.status == "already_loaded":
        said = t("Every row is already loaded; nothing was loaded again. {total} rows: "
                 "{dup} already loaded, {blank} blank.", **counts)
    elif report.status == "rejected":
        said = t("Nothing was loaded: {rej} of {total} rows have problems.", **counts)
    else:
        said = t("Loaded batch {b}. {total} rows: {loaded} loaded, {dup} already loaded, "
                 "{blank} blank, {rej} with problems.", b=report.batch_id, **counts)
        if report.rejected:
            said += " " + t("The rows with problems are kept with their reasons: download "
                            "them below, or later on the Batches page.")
        said += " " + t("The Batches page lists this batch and can roll it back.")
    if not report.published:
        said += " " + t("It is saved but readers do not see it yet; it appears within a "
                        "minute. Do not load the file again.")
    return said


def rejected_rows_csv(con, batch_id: int) -> bytes:
    """A batch's rejected rows as CSV: their cells, the row number and the reasons."""
    return rejected_csv(queries.rejected_rows(con, batch_id))


def ledger(con) -> pd.DataFrame:
    """The batch ledger, newest first, with what staff chose for each batch in words."""
    frame = queries.staff_batches(con)
    if frame.empty:
        return frame.assign(choices=pd.Series(dtype="object"))
    said = [" · ".join(describe_choices(loader.ledger_choices(row)))
            for row in frame.to_dict("records")]
    return frame.assign(choices=said)


def batch_choices(con, batch_id: int) -> list[str]:
    """What staff chose for one batch, one line each."""
    row = queries.run(con, "SELECT * FROM batches WHERE batch_id = ?", [int(batch_id)])
    if row.empty:
        return []
    return describe_choices(loader.ledger_choices(row.to_dict("records")[0]))


def batch_rows(con, batch_id: int) -> pd.DataFrame:
    return queries.batch_incidents(con, int(batch_id))


def audit_log(con) -> pd.DataFrame:
    return queries.audit_log(con)


def rollback(batch_id: int, who: str) -> str:
    """Roll a batch back (``etl.load.rollback``); ``who`` was checked as staff just now.
    Says what happened in the reader's language (the loader's own words are English)."""
    done = loader.rollback(int(batch_id), by=who)
    moved = re.findall(r"(\d+) row\(s\) of batch (\d+) that duplicated it", done)
    return " ".join([t("Batch {b} is rolled back: its incidents are out of every view.",
                       b=batch_id)] +
                    [t("{n} rows of batch {other} that duplicated it now count under batch "
                       "{other}.", n=n, other=other) for n, other in moved])


def record_download(who: str, batch_id: int) -> None:
    """Audit a download of a batch's rejected rows."""
    db.record(db.db_path(), who, "download_rejected", f"batch {batch_id}")
