"""Every problem the loader reports, by a stable code, and the English text it renders to.

A problem travels as ``code`` + ``params`` (values from the file or the configuration, never
English phrases): ``Problem`` (a rejected cell), ``FileRefused`` (a refused file) and the
parsers' errors all carry them, the CLI's ``--json`` prints the code beside the English
``message``, and the rejected rows keep both. ``TEMPLATES`` is the one place the English
is written; the Spanish of each code is in ``garita/locales/problems.es.json``, rendered by
``render(code, params, "es")`` (or ``localized``) for the app's staff pages, while the CLI and
``--json`` stay English.

Templates are ``str.format`` strings with three extra format specs for lists:
``{rows:rows_are}`` ("row 3 is" / "rows 3, 4 are"), ``{names:or}`` ("A or B") and
``{names:quoted}`` ("'a', 'b'").
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path

SAVE_AS_CSV = "In Excel or LibreOffice use File > Save As > 'CSV UTF-8 (comma delimited)'."
_KEEP_QUOTE = ("Close or delete that quote in the spreadsheet and save it again as CSV; "
               "nothing was loaded.")
_PERSONAL = {"a_number": "an A-number", "e_mail": "an e-mail address",
             "phone": "a phone number"}

TEMPLATES: dict[str, str] = {
    # The file as a whole (etl.read, etl.load)
    "file.empty": "The file is empty. Choose the CSV file that has your rows.",
    "file.xlsx": f"This file is an Excel workbook (.xlsx) or a ZIP archive, not a CSV file. "
                 f"{SAVE_AS_CSV}",
    "file.zip_empty": f"This file is an empty ZIP archive, not a CSV file. {SAVE_AS_CSV}",
    "file.xls": f"This file is an old Excel workbook (.xls), not a CSV file. {SAVE_AS_CSV}",
    "file.pdf": f"This file is a PDF document, not a CSV file. {SAVE_AS_CSV}",
    "file.gzip": f"This file is a gzip-compressed file, not a CSV file. {SAVE_AS_CSV}",
    "file.rtf": f"This file is a Rich Text document, not a CSV file. {SAVE_AS_CSV}",
    "file.control_characters": "The file contains control characters that do not belong in a "
                               f"text file; it may be a binary file renamed .csv. {SAVE_AS_CSV}",
    "file.nul_bytes": "The file contains NUL bytes, so it is not a text file (or it is UTF-16 "
                      f"without a byte-order mark). {SAVE_AS_CSV}",
    "file.encoding": "The file is not text in UTF-8, UTF-16 or Windows-1252, the encodings "
                     f"spreadsheets write. {SAVE_AS_CSV}",
    "file.mixed_encodings": "The file mixes two text encodings: {utf8_rows:rows_are} UTF-8 and "
                            "{cp1252_rows:rows_are} Windows-1252 (perhaps rows pasted from "
                            "another file), so accented letters in one group would come out "
                            "garbled (\"TomÃ¡s\"). Check the accents in those rows in your "
                            "spreadsheet, then save the whole file again as 'CSV UTF-8'.",
    "file.header_empty": "The first line, where the column names belong, is empty.",
    "file.too_many_columns": "The file has {columns:,} columns; Garita reads at most {limit}. "
                             "Is the delimiter right, and is this the incident spreadsheet?",
    "file.no_rows": "The file has a header but no rows. Add the incidents under the column "
                    "names.",
    "file.all_blank": "The file has a header but every row under it is blank. Add the "
                      "incidents under the column names.",
    "file.unclosed_quote": "Row {row} (line {line} of the file) opens a cell with a double "
                           "quote (\") that is never closed, so every line after it would be "
                           f"read as part of that one cell. {_KEEP_QUOTE}",
    "file.swallowed_rows": "Row {row}, column '{column}': a double quote (\") opens a cell that "
                           "runs over {lines} more lines, {shaped} of them shaped like rows of "
                           "their own, so those rows would be lost inside one cell. "
                           f"{_KEEP_QUOTE}",
    "file.cell_too_long": "The file could not be read as CSV near line {line}: a cell is longer "
                          "than {limit:,} characters. Fix that line in the spreadsheet and "
                          "save it again as CSV.",
    "file.unreadable_line": "The file could not be read as CSV near line {line}: {reason}. Fix "
                            "that line in the spreadsheet and save it again as CSV.",
    "file.cannot_open": "The file cannot be opened: {reason}.",
    "file.not_regular": "This is not a regular file (it is a device, a pipe or a folder). Give "
                        "the path of a CSV file.",
    "file.too_large": "The file is larger than {limit_mb:,} MB, more than one load reads. "
                      "Split it into several files and load each.",
    # Headers (etl.columns)
    "columns.unknown_field": "'{field}' is not a field Garita knows.",
    "columns.same_field": "Columns '{first}' and '{second}' both mean '{label}'. Rename or "
                          "delete one of them.",
    "columns.missing": "No column is read as {missing:quoted}. The file's columns are "
                       "{headers:quoted}. Give the column that holds it that name (in English "
                       "or Spanish), or choose how that column is read.",
    "columns.missing_one_column": "The whole first row was read as one column ('{header}'), "
                                  "so the file is not split into columns. Save it again as "
                                  "CSV with commas, semicolons or tabs between columns.",
    "columns.no_place": "No column for the port of entry (port, puerto, garita), the state "
                        "(estado) or coordinates (latitude, longitude): Garita needs one of "
                        "them to place incidents. The file's columns are {headers:quoted}.",
    "file.counts_table": "This file holds counts ('{count}' per '{period}'), such as CBP's "
                         "monthly encounter statistics, not one row per incident. Garita "
                         "loads incidents, one row each.",
    # Notes on how a file was read (etl.read, etl.columns), shown with the load report
    "header.found_at_row": "Column names found on row {row}; the {skipped} rows above them "
                          "(a title, notes or blank rows) were skipped: {texts:quoted}.",
    "header.found_at_row_blank": "Column names found on row {row}; the blank rows above them "
                                "were skipped.",
    "header.tag_row": "Row {row}, under the column names, holds HXL tags ({tags:quoted}), not "
                      "an incident: skipped and not counted.",
    "header.empty_tag_row": "Row {row}, under the column names, is the empty tag row "
                            "{tool} writes: skipped and not counted.",
    "file.tool": "Read as a {tool} export: its own columns ({own:quoted}) are not "
                 "incident fields and are not stored.",
    # What staff chose for a batch (etl.load): replacements and values for every row
    "choices.replace_no_column": "No column is read as {field}, so '{value}' cannot be "
                                 "replaced there. Read a column as {field}, or drop the "
                                 "replacement.",
    "choices.same_id_for_all": "One id for every row would make every row the same record. "
                               "Give each row its own id in the file, or none.",
    # The batch source (etl.load)
    "source.too_long": "The batch source has {length:,} characters; the limit is {limit:,}.",
    **{f"source.personal.{kind}": f"The batch source seems to contain {what}. It is shown "
                                  "publicly with every row it fills in: name the organisation "
                                  "or document instead." for kind, what in _PERSONAL.items()},
    # Dates (etl.dates): the whole file's day/month order, then single values
    "date.order_mixed": "The dates mix day-first ('{day_first}') and month-first "
                        "('{month_first}') order. Use one order in the whole file, or write "
                        "dates as YYYY-MM-DD.",
    "date.order_unknown": "Dates such as '{value}' could be day/month or month/day, and no date "
                          "in the file settles it. Say which with --date-order dmy (14/03/2017, "
                          "as written in Mexico) or --date-order mdy (3/14/2017, as written in "
                          "the US).",
    "date.ambiguous": "'{value}' could be day/month or month/day.",
    "date.too_early": "'{value}': the year {year} is before {earliest}; check the date.",
    "date.does_not_exist": "'{value}' is not a date that exists (month {month}, day {day}).",
    "date.future": "'{value}' is in the future.",
    "date.unreadable": "'{value}' is not a date Garita can read. Write it as 2017-03-14, "
                       "2017-03 or 2017 (or 14/03/2017, Mar 2017, marzo 2017).",
    "date.excel_serial": "'{value}' looks like an Excel date serial number ({date}). If "
                         "this column holds Excel serial numbers, confirm it (--excel-dates) "
                         "and load again; otherwise format the column as dates in the "
                         "spreadsheet and save it again as CSV.",
    "date.excel_serials": "The column '{column}' holds numbers where dates belong ({rows} "
                          "rows), such as '{value}': Excel date serial numbers? '{value}' "
                          "would be {date}. If they are, confirm it (--excel-dates) and load "
                          "again.",
    "date.excel_serial_range": "'{value}' is not an Excel date serial number of a date "
                               "Garita can hold (1980 until today).",
    "state.mexican": "'{value}' is a Mexican state: write the port of entry, or the US border "
                     "state across from it ({across:or}).",
    "state.mexican_mismatch": "'{value}' is a Mexican state that does not border {port} "
                              "({port_state}): check the port and the state.",
    "date_precision.unknown": "'{value}' is not a precision: use day, month, year or unknown.",
    # Rows and cells (etl.validate, etl.load)
    "row.too_many_cells": "This row has {cells} cells but the header has {width} (more); a "
                          "delimiter or a quote is probably missing or extra in this row.",
    "row.too_few_cells": "This row has {cells} cells but the header has {width} (fewer); a "
                         "delimiter or a quote is probably missing or extra in this row.",
    "incident_id.taken": "The record '{value}' of this source is already loaded (batch "
                         "{batch}) with different content. To replace it, roll back batch "
                         "{batch} and load this file again; if it is another incident, give it "
                         "its own id.",
    "incident_id.repeated": "The record '{value}' of this source is already an earlier row "
                            "with different content. Keep one of the two rows, or give this one "
                            "its own id.",
    "port.ambiguous": "'{value}' could be {ports:or}: write the port's name or code, or leave "
                      "the port blank and fill in the state.",
    "port.unknown": "'{value}' is not a known port of entry: did you mean {suggestion}?",
    "port.unknown_no_suggestion": "'{value}' is not a known port of entry. Check the spelling, "
                                  "or leave the port blank and fill in the state.",
    "port_code.unknown": "'{value}' is not a CBP port code on the US–Mexico border.",
    "port.code_mismatch": "The port name says {name_port} but the port code says {code_port} "
                          "({code}).",
    "state.unknown": "'{value}' is not a US border state: use {states}.",
    "state.port_mismatch": "{port} is in {port_state}, not {state}.",
    "port.state_only": "'{value}' is a state, not a port of entry: leave the port blank and "
                       "write {state} in the state column.",
    "port.elsewhere": "'{value}' is in {where}, not on the US–Mexico border: write the port of "
                      "entry, or leave the port blank and fill in the state.",
    "port.wrong_state": "'{value}' names {name}, which is {ports:or}, not in or across from "
                        "{state}: check the port and the state.",
    # Coordinates (etl.places)
    "point.latitude_unreadable": "'{value}' is not a latitude: write decimal degrees such as "
                                 "32.5425.",
    "point.longitude_unreadable": "'{value}' is not a longitude: write decimal degrees such as "
                                  "-117.0288.",
    "point.latitude_range": "'{value}' is outside -90…90, so it is not a latitude: are "
                            "latitude and longitude swapped?",
    "point.longitude_range": "'{value}' is outside -180…180, so it is not a longitude.",
    "point.latitude_is_longitude": "'{value}' is a longitude (east or west), not a latitude: "
                                   "check which column is which.",
    "point.longitude_is_latitude": "'{value}' is a latitude (north or south), not a longitude: "
                                   "check which column is which.",
    "point.sign_and_letter": "'{value}' has both a sign and a hemisphere letter: write one of "
                             "them.",
    "point.minutes": "'{value}' has minutes or seconds of 60 or more.",
    "point.unreadable": "'{value}' is not a point: write latitude and longitude in decimal "
                        "degrees, such as 32.5425 -117.0288.",
    "point.no_longitude": "This row has a latitude but no longitude: write both, or neither.",
    "point.no_latitude": "This row has a longitude but no latitude: write both, or neither.",
    "point.not_on_earth": "({latitude}, {longitude}) is not a point on Earth: latitude must be "
                          "within -90…90 and longitude within -180…180.",
    "point.far": "The point {point} is {km:,} km from the US–Mexico border; Garita places rows "
                 "within {zone} km (100 miles) of it. Check the coordinates.",
    "point.far_swapped": "The point {point} is {km:,} km from the US–Mexico border. Latitude "
                         "and longitude look swapped: did you mean {suggestion}?",
    "point.far_sign": "The point {point} is {km:,} km from the US–Mexico border. The longitude "
                      "may be missing its minus sign: did you mean {suggestion}?",
    "point.mexico": "The point {point} falls in Mexico ({mx_state}), {km} km from the border; "
                    "the nearest port of entry is {port}, {port_km} km away. Garita places "
                    "rows at a port (within {radius} km of it) or in a US border state: check "
                    "the coordinates, or write the port.",
    "point.outside": "The point {point} is not in California, Arizona, New Mexico or Texas (at "
                     "sea?): check the coordinates, or write the port.",
    # A row as a whole (etl.validate)
    "place.port_mismatch": "The {column} column places this row at {place}, but the port is "
                           "{port}: check which is right.",
    "place.state_mismatch": "The {column} column places this row in {place}, not {state}: "
                            "check which is right.",
    "place.missing": "This row has neither a port of entry nor a US border state: write the "
                     "port (or its code), the state or coordinates, or 'unknown' in the state "
                     "column if the source does not say where.",
    "people_count.thousands_dot": "'{value}' could be {small} people or {whole:,} (a dot between "
                                  "thousands, as Spanish writes them). Write the number with no "
                                  "dot: {whole} or {small}.",
    "people_count.not_a_count": "'{value}' is not a whole number of people (0 or more); leave "
                                "it blank if unknown and explain in notes.",
    "people_count.implausible": "{count:,} people in one incident is not plausible; check the "
                                "cell.",
    "group_type.unknown": "'{value}' is not a group type: use individual, family, group or "
                          "unaccompanied_minor (individual, familia, grupo, menor no acompañado).",
    "children.unknown": "'{value}' is not yes, no or unknown (sí, no, desconocido).",
    "choice.unknown": "'{value}' is not one of: {allowed:quoted}.",
    "incident_types.unknown": "Unknown incident type {values:quoted}. Allowed: {allowed} (or "
                              "their English or Spanish labels), separated by ';'.",
    "incident_types.missing": "No incident type. Use one or more of: {allowed}, separated by "
                              "';'.",
    "text.too_long": "This '{field}' cell has {length:,} characters; the limit is {limit:,}.",
    "text.not_a_url": "A source URL must be a web address starting with http:// or https://, "
                      "with no spaces.",
    "text.garbled": "This '{field}' cell looks garbled by an encoding mix-up (accented "
                    "letters shown as two characters, like 'Ã¡' for 'á'). It probably reads: "
                    "{repaired} Fix the text, or save the file again as 'CSV UTF-8'.",
    "text.garbled_unrepairable": "This '{field}' cell looks garbled by an encoding mix-up "
                                 "(accented letters shown as two characters, like 'Ã¡' for "
                                 "'á'). Fix the text, or save the file again as 'CSV UTF-8'.",
    **{f"text.personal.{kind}": f"This '{{field}}' cell seems to contain {what}. Public "
                                "fields must not identify anyone: remove it, then load the row "
                                "again. The row is kept for staff review and is not published."
       for kind, what in _PERSONAL.items()},
    "review.not_approved": "This record is marked '{value}' in the tool it was exported "
                           "from, so it is held until it is approved: approve it there and "
                           "export again, or clear this cell to load it.",
    "review.unknown": "'{value}' is not a review state Garita knows (approved, not approved, "
                      "on hold, draft, published, archived), so the record is held: clear "
                      "the cell to load it.",
    # BTS border-crossing exports (etl.crossings)
    "crossings.unreadable": "This is not a readable BTS export: {reason}",
    "crossings.not_bts": "This is not the BTS Border Crossing Entry Data export: no {missing} "
                         "column. Download it from {download}.",
}


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec):
        if format_spec == "rows_are":
            rows = list(value)
            if len(rows) == 1:
                return f"row {rows[0]} is"
            shown = ", ".join(map(str, rows[:10]))
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            return f"rows {shown}{more} are"
        if format_spec == "or":
            return " or ".join(map(str, value))
        if format_spec == "quoted":
            return ", ".join(f"'{item}'" for item in value)
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


class _SpanishFormatter(string.Formatter):
    def format_field(self, value, format_spec):
        if format_spec == "rows_are":
            rows = list(value)
            if len(rows) == 1:
                return f"la fila {rows[0]} está"
            shown = [str(row) for row in rows[:10]]
            if len(rows) > 10:
                shown.append(f"{len(rows) - 10} más")
            return f"las filas {', '.join(shown[:-1])} y {shown[-1]} están"
        if format_spec == "or":
            items = [str(item) for item in value]
            return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} o {items[-1]}"
        if format_spec == "quoted":
            return ", ".join(f"“{item}”" for item in value)
        return super().format_field(value, format_spec)


_SPANISH_FORMATTER = _SpanishFormatter()
SPANISH_TEMPLATES = Path(__file__).resolve().parent.parent / "garita" / "locales" / \
    "problems.es.json"


@lru_cache(maxsize=1)
def spanish_templates() -> dict[str, str]:
    """The Spanish template of each code (``garita/locales/problems.es.json``)."""
    return json.loads(SPANISH_TEMPLATES.read_text(encoding="utf-8"))


def _spanish_params(params: dict) -> dict:
    """Parameters that carry English words, said in Spanish: a field's name becomes its
    Spanish label, lists joined with 'or' are joined with 'o', and the few phrases the
    reference data gives (the states, a place's note) are translated."""
    from garita import fields
    from garita.reference import STATES

    said = dict(params)
    if isinstance(said.get("field"), str):
        try:
            said["field"] = said["label"] = fields.field(said["field"]).label_es
        except KeyError:
            pass
    if isinstance(said.get("place"), str):
        said["place"] = said["place"].replace(" or ", " o ")
    if isinstance(said.get("states"), str):
        for name in STATES.values():
            said["states"] = said["states"].replace(name, _SPANISH_WORDS.get(name, name))
    if isinstance(said.get("where"), str):
        said["where"] = _SPANISH_WORDS.get(said["where"], said["where"])
    return said


# English phrases that reach a message as parameters, from the reference data.
_SPANISH_WORDS = {"New Mexico": "Nuevo México",
                  "Chiapas, on Mexico's border with Guatemala":
                      "Chiapas, en la frontera de México con Guatemala"}


def render(code: str, params: dict | None = None, lang: str = "en") -> str:
    """The message for a problem code and its parameters, in English (the CLI, ``--json``,
    the rejected rows' files) or in Spanish (``lang="es"``, for the app's staff pages).
    A code with no Spanish template yet falls back to English."""
    if lang == "es" and code in spanish_templates():
        return _SPANISH_FORMATTER.format(spanish_templates()[code],
                                         **_spanish_params(params or {}))
    return _FORMATTER.format(TEMPLATES[code], **(params or {}))


def localized(code: str, params: dict | None = None) -> str:
    """``render`` in the language of the reader being served (``garita.i18n``)."""
    from garita.i18n import language

    return render(code, params, language())


class LoaderError(ValueError):
    """An error the loader reports by ``code`` and ``params``; ``str()`` is its English
    message."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(render(code, params))


class FileRefused(LoaderError):
    """The whole file cannot be read as a table; nothing was loaded. Carries a ``code`` and
    ``params``; ``str()`` is the English message. (``etl.read.FileRefused`` is this class.)"""


class Invalid(LoaderError):
    """One cell's value cannot be read; raised by the field parsers (``etl.fields``).

    A ``suggestion`` is offered to the user and is also a parameter of the message.
    """

    def __init__(self, code: str, suggestion: str | None = None, **params):
        if suggestion is not None:
            params["suggestion"] = suggestion
        super().__init__(code, **params)
        self.suggestion = suggestion
