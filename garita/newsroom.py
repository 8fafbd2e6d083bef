"""For the newsroom: embed snippets, citations, earlier data versions and the data package.

Plain functions of their arguments (no Streamlit): the dashboard passes the address, the
query string and the data version in, and shows what comes back.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import shutil
import tempfile
import urllib.parse
import zipfile
from pathlib import Path

import duckdb
import pandas as pd

from garita import db, exports, fields, queries, words
from garita.filters import Filters
from garita.i18n import t
from garita.maps import type_label
from garita.reference import ports

EMBEDDABLE = ("map", "over_time", "by_port")
# Query parameters that are not filters of the view: never carried into a citation or embed.
_NOT_THE_VIEW = ("embed", "embed_options", "version")


def view_address(root: str, page: str, params: list[tuple[str, str]], *,
                 version: int | None = None, embed: bool = False) -> str:
    """The address of ``page`` under the app's ``root`` address with the given query
    parameters (filters, language), optionally pinned to a data ``version`` and opened for
    embedding (``embed=true``)."""
    kept = [(k, v) for k, v in params if k not in _NOT_THE_VIEW]
    if version is not None:
        kept.append(("version", str(version)))
    if embed:
        kept.append(("embed", "true"))
    query = urllib.parse.urlencode(kept)
    return f"{root.rstrip('/')}/{page}" + (f"?{query}" if query else "")


def app_root(url: str | None, page: str) -> str:
    """The app's own address from the browser's address of ``page`` (query dropped)."""
    address = (url or "").split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if address.endswith("/" + page):
        address = address[: -len(page) - 1]
    return address


def embed_snippet(src: str, title: str, height: int = 720) -> str:
    """An ``<iframe>`` a newsroom pastes into its page; every value is HTML-escaped."""
    return (f'<iframe src="{html.escape(src, quote=True)}" title="{html.escape(title, quote=True)}"'
            f' width="100%" height="{int(height)}" style="border:0" loading="lazy"></iframe>')


def title(filters: Filters) -> str:
    """'Incidents documented at San Ysidro, Apr 2018 – Nov 2020': the view's title in words."""
    text = t("Incidents documented")
    chosen = [c for c in filters.ports if c != "none"]
    if chosen:
        names = {p["port_code"]: p["port_name"] for p in ports()}
        text += " " + t("at {ports}", ports=", ".join(names.get(c, c) for c in chosen)
                        if len(chosen) <= 4 else t("{n} selected ports", n=len(chosen)))
    if filters.states:
        text += " " + t("in {states}", states=", ".join(
            words.state_name(s) for s in filters.states))
    rest = []
    if filters.types:
        rest.append(", ".join(type_label(x) for x in filters.types))
    if filters.nationalities:
        rest.append(", ".join(filters.nationalities))
    if filters.groups:
        rest.append(", ".join(words.group_label(g) for g in filters.groups))
    if filters.search:
        rest.append(t("matching “{q}”", q=filters.search))
    if rest:
        text += " (" + "; ".join(rest) + ")"
    if filters.has_date_range:
        text += ", " + words.period(filters)
    return text


def citation(filters: Filters, version: int, viewed: dt.date, address: str,
             incident_id: str | None = None) -> str:
    """``Garita, "Incidents documented at San Ysidro, Apr 2018 – Nov 2020" (data version 14),
    viewed 2026-11-29, <URL>`` (or ``"Incident CBP-INC-011"`` for one incident's page):
    plain text to copy (not Markdown)."""
    named = t("Incident {id}", id=incident_id) if incident_id else title(filters)
    return t('Garita, "{title}" (data version {v}), viewed {day}, <{url}>',
             title=named, v=version, day=f"{viewed:%Y-%m-%d}", url=address)


# --- earlier data versions -------------------------------------------------------------

def version_file(master: Path, version: int) -> Path | None:
    """The newest kept published copy of data ``version``, or None if none is kept."""
    copies = sorted(db.published_dir(master).glob(f"v{int(version):06d}-*.duckdb"))
    return copies[-1] if copies else None


def kept_versions(master: Path) -> list[int]:
    """The data versions whose published copies are kept, oldest first."""
    found = set()
    for path in db.published_dir(master).glob("v*-*.duckdb"):
        try:
            found.add(int(path.name[1:7]))
        except ValueError:
            continue
    return sorted(found)


def version_message(requested: int, current: int, kept: list[int]) -> str:
    """Why data version ``requested`` cannot be shown, in words that say what to do."""
    if requested > current:
        return t("There is no data version {v} yet: the newest is {c}. Remove `version` from "
                 "the address to see the current data.", v=requested, c=current)
    return t("Data version {v} is no longer kept (this deployment keeps earlier versions "
             "for {days} days and up to {mb} MB; the oldest kept is {oldest}). Its numbers "
             "are not shown rather than other numbers. Remove `version` from the address to "
             "see the current data (version {c}).", v=requested, days=db.keep_days(),
             mb=db.keep_mb(), oldest=kept[0] if kept else current, c=current)


# --- the data package --------------------------------------------------------------------

_TYPES = {"VARCHAR": "string", "DATE": "date", "INTEGER": "integer", "VARCHAR[]": "string",
          "DOUBLE": "number"}
_DESCRIPTIONS = {
    "date": "The date as precisely as it is known: YYYY, YYYY-MM or YYYY-MM-DD (see "
            "date_precision); empty when it is not known.",
    "date_precision": "How precisely the date is known: day, month, year or unknown.",
    "incident_types": "Codes from incident_types.csv, separated by ';'.",
    "people_count": "People the source says were involved; empty where it gives no count.",
    "port_code": "CBP port code (ports.csv); empty when the incident has no port.",
}
# The columns an export adds to the public fields (``queries.export_rows``).
_EXTRA_COLUMNS = {
    "port_name": {"title": "Port name", "type": "string",
                  "description": "The port's name, from ports.csv."},
    "latitude": {"title": "Port latitude", "type": "number", "unit": "degrees north (WGS 84)",
                 "description": "The port's latitude (public locations are ports, never a "
                                "person's position)."},
    "longitude": {"title": "Port longitude", "type": "number",
                  "unit": "degrees east (WGS 84)", "description": "The port's longitude."},
    "sources": {"title": "Sources", "type": "string",
                "description": "Every source that documents this incident, each as "
                               "'citation <link>', separated by ' | ' or ';'."},
    "batch_id": {"title": "Batch", "type": "integer",
                 "description": "The batch that loaded the incident (see the app's Data & "
                                "sources page)."},
}
LICENSE_NOTE = ("Garita has not chosen a licence for this compilation yet; each incident "
                "cites its own source, whose terms apply. See README.md in this package.")


def _field_column(f: fields.Field) -> dict:
    column = {"name": f.name, "title": f.label_en, "type": _TYPES[f.sql],
              "description": _DESCRIPTIONS.get(f.name, f"{f.label_en} (es: {f.label_es})."),
              "constraints": {}}
    if f.name == "date":
        column["type"] = "string"
        column["constraints"]["pattern"] = r"\d{4}(-\d{2}(-\d{2})?)?"
    if f.name == "date_precision":
        column["constraints"].update(required=True, enum=list(fields.PRECISIONS))
    if f.name == "incident_id":
        column["constraints"]["required"] = True
    if f.name == "people_count":
        column["unit"] = "people"
        column["constraints"]["minimum"] = 0
    if f.max_length:
        column["constraints"]["maxLength"] = f.max_length
    if f.choices:
        column["constraints"]["enum"] = sorted(set(f.choices.values()))
    if f.name == "source_url":
        column["format"] = "uri"
    if not column["constraints"]:
        del column["constraints"]
    return column


def incident_schema(columns) -> dict:
    """The Table Schema of ``incidents.csv`` (the export layout's ``columns``), derived
    from the field declarations of ``garita.fields``."""
    public = {f.name: f for f in fields.public()}
    described = []
    for name in columns:
        if name in public:
            described.append(_field_column(public[name]))
        elif name in _EXTRA_COLUMNS:
            described.append({"name": name, **_EXTRA_COLUMNS[name]})
        else:  # a column a newer export layout added: described as text
            described.append({"name": name, "type": "string"})
    return {"fields": described, "primaryKey": ["incident_id"],
            "foreignKeys": [{"fields": ["port_code"],
                             "reference": {"resource": "ports", "fields": ["port_code"]}}]}


def package_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The tables of the package from a published copy: the incidents exactly as the app
    exports them (public fields only), the ports, the vocabulary and the counts per port."""
    incidents = queries.export_rows(con, Filters())
    port_rows = queries.run(con, "SELECT port_code, port_name, state, latitude, longitude, "
                                 "field_office, mexican_city FROM ports ORDER BY port_code")
    vocabulary = queries.run(con, "SELECT code, label_en, label_es FROM incident_types "
                                  "ORDER BY code")
    per_port = queries.by_port(con, Filters())
    return {"incidents": incidents, "ports": port_rows, "incident_types": vocabulary,
            "per_port": per_port}


def _per_port_geojson(per_port: pd.DataFrame) -> bytes:
    features = [{"type": "Feature",
                 "geometry": {"type": "Point",
                              "coordinates": [float(r.longitude), float(r.latitude)]},
                 "properties": {"port_code": r.port_code, "port_name": r.port_name,
                                "state": r.state, "incidents": int(r.incidents),
                                "people": int(r.people)}}
                for r in per_port.itertuples()]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, indent=1).encode("utf-8")


def _csv_schema(frame: pd.DataFrame, types: dict[str, str], descriptions: dict | None = None
                ) -> dict:
    return {"fields": [{"name": c, "type": types.get(c, "string"),
                        **({"description": descriptions[c]} if descriptions and c in
                           descriptions else {})} for c in frame.columns]}


def write_package(con: duckdb.DuckDBPyConnection, out: Path, *,
                  now: dt.datetime | None = None) -> dict:
    """Write the whole public dataset as a Frictionless Data Package into folder ``out``;
    returns the descriptor (also written as ``datapackage.json``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = package_frames(con)
    version = queries.data_version(con)
    incidents = frames["incidents"]
    # As the app's CSV download: text a spreadsheet would run as a formula starts with '.
    (out / "incidents.csv").write_bytes(exports.to_csv(incidents).removeprefix(b"\xef\xbb\xbf"))
    incidents.to_parquet(out / "incidents.parquet", index=False)
    frames["ports"].to_csv(out / "ports.csv", index=False)
    frames["incident_types"].to_csv(out / "incident_types.csv", index=False)
    shutil.copyfile(db.DATA_DIR / "policy_events.csv", out / "policy_events.csv")
    policy = pd.read_csv(out / "policy_events.csv", dtype=str)
    (out / "incidents_by_port.geojson").write_bytes(_per_port_geojson(frames["per_port"]))
    shutil.copyfile(db.DATA_DIR / "README.md", out / "README.md")
    made = now or dt.datetime.now(dt.timezone.utc)
    port_types = {"latitude": "number", "longitude": "number"}
    descriptor = {
        "name": "garita-incidents",
        "title": "Garita: documented incidents at US–Mexico ports of entry",
        "description": "Incidents at US–Mexico ports of entry described individually in "
                       "public reporting and staff records, each with its source. Documented "
                       "incidents, not a rate: most are never reported.",
        "version": str(version["version"]),
        "created": f"{made:%Y-%m-%dT%H:%M:%SZ}",
        "keywords": ["asylum", "ports of entry", "US–Mexico border", "CBP"],
        "licenses": [{"name": "other-at", "title": LICENSE_NOTE, "path": "README.md"}],
        "sources": [{"title": "News articles, NGO posts and oversight reports; each incident "
                              "cites its own (source, source_url)"},
                    {"title": "US Bureau of Transportation Statistics, Border Crossing Entry "
                              "Data (port coordinates)",
                     "path": "https://data.bts.gov/"}],
        "resources": [
            {"name": "incidents", "path": "incidents.csv", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8",
             "description": "One row per incident in the published data, public fields only.",
             "schema": incident_schema(incidents.columns)},
            {"name": "incidents-parquet", "path": "incidents.parquet", "format": "parquet",
             "mediatype": "application/vnd.apache.parquet", "profile": "data-resource",
             "description": "The same incidents as incidents.csv, as Parquet."},
            {"name": "ports", "path": "ports.csv", "format": "csv", "mediatype": "text/csv",
             "encoding": "utf-8", "description": "The 28 CBP ports of entry on the border.",
             "schema": {**_csv_schema(frames["ports"], port_types,
                                      {"latitude": "Degrees north (WGS 84)",
                                       "longitude": "Degrees east (WGS 84)"}),
                        "primaryKey": ["port_code"]}},
            {"name": "incident_types", "path": "incident_types.csv", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8",
             "description": "The vocabulary of incident types, English and Spanish labels.",
             "schema": {**_csv_schema(frames["incident_types"], {}), "primaryKey": ["code"]}},
            {"name": "policy_events", "path": "policy_events.csv", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8",
             "description": "Dated policy, court and political events, each with a source.",
             "schema": _csv_schema(policy, {}, {
                 "date": "YYYY-MM-DD, or YYYY-MM when only the month is known",
                 "end_date": "Last day of a period, when the event lasted; else empty"})},
            {"name": "incidents_by_port", "path": "incidents_by_port.geojson",
             "format": "geojson", "mediatype": "application/geo+json",
             "profile": "data-resource",
             "description": "One point per port with incidents: incidents and people "
                            "(incidents with no port are not in it)."},
        ],
    }
    (out / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
    return descriptor


def package_zip(con: duckdb.DuckDBPyConnection) -> bytes:
    """The data package as one zip file (for the app's download button)."""
    with tempfile.TemporaryDirectory() as folder:
        write_package(con, Path(folder))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, f"garita-data/{path.name}")
        return buffer.getvalue()


def package_name(version: int) -> str:
    """``garita-data-v14.zip``."""
    return exports._slug(f"garita-data-v{version}") + ".zip"
