"""Every incident field, declared once: header names, parser, limits, SQL type, roles, labels.

The rest is derived from ``FIELDS``: the header names the loader accepts (``etl.columns``),
the checks it runs (``etl.validate``, parsers in ``etl.fields``), the incidents tables and
their migrations (``garita.db``), what counts for duplicates (``fingerprint_sql``), the
template spreadsheets (``etl.templates``), the export columns (``garita.queries``) and the
incident table's labels (``garita.ui``). README.md lists each field's first English and
Spanish header name (a test checks it).

Adding a field: declare it here (at the end), and when it adds a column append
``db.add_field("name")`` to ``garita.db.MIGRATIONS``, so existing databases gain the column
and keep their batches. A field added that way may be blank (it takes no ``constraint``).

This module is the library's: it imports nothing from ``etl``. A field names its parser;
the parsers live in ``etl.fields.PARSERS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from garita.i18n import language

# How staff write group types and children, folded with ``etl.ports.plain``, to the stored
# value.
GROUP_TYPES = {
    "individual": "individual", "single adult": "individual", "adult": "individual",
    "family": "family", "familia": "family", "group": "group", "grupo": "group",
    "unaccompanied minor": "unaccompanied_minor", "menor no acompanado": "unaccompanied_minor",
    "menor no acompanada": "unaccompanied_minor",
}
CHILDREN = {"yes": "yes", "y": "yes", "si": "yes", "true": "yes", "1": "yes",
            "no": "no", "n": "no", "false": "no", "0": "no",
            "unknown": "unknown", "desconocido": "unknown", "se desconoce": "unknown",
            "nd": "unknown", "n a": "unknown", "": "unknown"}
PRECISIONS = ("day", "month", "year", "unknown")


@dataclass(frozen=True, eq=False)
class Field:
    """One incident field.

    ``en``/``es``: header names staff write (compared ignoring case, accents, spaces and
    punctuation); the first of each is the template's header. A field with neither is
    derived by the loader from other fields. ``parser`` names a parser in
    ``etl.fields.PARSERS`` (``text`` and ``url`` are checked column-wise). ``sql`` is the
    DuckDB type of its column (None: read but not stored itself), ``constraint`` what the
    incidents table adds to it. ``dedup``: part of what makes two rows the same incident.
    ``public``: may be shown and exported. ``personal_check``: text checked for A-numbers,
    phone numbers and e-mail addresses. ``required``: a file needs this column; ``place``:
    a file needs at least one of the place columns. ``template``: a column of the template
    spreadsheets.
    """

    name: str
    en: tuple[str, ...]
    es: tuple[str, ...]
    label_en: str
    label_es: str
    parser: str | None
    sql: str | None = "VARCHAR"
    constraint: str = ""
    max_length: int | None = None
    maximum: int | None = None
    choices: dict | None = None
    default: str | None = None
    dedup: bool = False
    public: bool = True
    personal_check: bool = False
    required: bool = False
    place: bool = False
    template: bool = False

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header name that means this field, English then Spanish."""
        return (*self.en, *self.es)

    @property
    def label(self) -> str:
        """The field's name for people, in the interface language."""
        return self.label_es if language() == "es" else self.label_en


FIELDS: tuple[Field, ...] = (
    Field("incident_id", ("incident_id", "id", "incident id", "case id", "case",
                          "case number", "case no"),
          ("id del caso", "caso", "número de caso", "folio"), "Id", "Id", "text",
          constraint="NOT NULL", max_length=100, personal_check=True),
    Field("date", ("date", "incident date", "date of incident"),
          ("fecha", "fecha del incidente", "fecha de incidente", "fecha del caso"),
          "Date", "Fecha", "date", sql="DATE", dedup=True, required=True, template=True),
    Field("date_precision", ("date_precision", "precision", "date precision"),
          ("precisión de la fecha", "precisión de fecha"), "Date precision",
          "Precisión de la fecha", "precision",
          constraint="NOT NULL CHECK (date_precision IN ('day', 'month', 'year', 'unknown'))",
          dedup=True),
    Field("port", ("port of entry", "port", "port_name", "port name", "poe", "crossing"),
          ("garita", "puerto", "puerto de entrada", "cruce", "nombre del puerto"),
          "Port", "Garita", "port", sql=None, place=True, template=True),
    Field("port_code", ("port_code", "port code", "code"),
          ("código del puerto", "código", "clave del puerto"), "Port code",
          "Código del puerto", "port_code", dedup=True, place=True),
    Field("port_as_written", (), (), "Port as written", "Garita como se escribió", None,
          public=False),
    Field("state", ("state", "us state"), ("estado",), "State", "Estado", "state",
          place=True, template=True),
    Field("people_count", ("people", "people_count", "number of people", "persons"),
          ("personas", "número de personas", "cantidad de personas", "num personas"),
          "People", "Personas", "count", sql="INTEGER", maximum=100_000, dedup=True,
          template=True),
    Field("group_type", ("group", "group_type", "group type"), ("tipo de grupo", "grupo"),
          "Group", "Grupo", "choice", choices=GROUP_TYPES, template=True),
    Field("children", ("children", "with children", "minors"),
          ("niños", "menores", "con niños", "con menores"), "Children", "Niños", "choice",
          choices=CHILDREN, default="unknown", template=True),
    Field("nationality", ("nationality", "country", "country of origin"),
          ("nacionalidad", "país", "país de origen"), "Nationality", "Nacionalidad", "text",
          max_length=200, dedup=True, personal_check=True, template=True),
    Field("incident_types", ("incident type", "incident_types", "incident types", "type",
                             "types", "category", "categories"),
          ("tipo de incidente", "tipos de incidente", "tipo", "tipos", "categoría",
           "categorías"), "Types", "Tipos",
          "incident_types", sql="VARCHAR[]", constraint="NOT NULL", dedup=True,
          required=True, template=True),
    Field("outcome", ("outcome", "result"), ("resultado", "desenlace"), "Outcome",
          "Resultado", "text", max_length=200, personal_check=True, template=True),
    Field("summary", ("summary", "description", "narrative"),
          ("descripción", "resumen", "relato", "hechos"), "Summary", "Resumen", "text",
          max_length=5000, dedup=True, personal_check=True, template=True),
    Field("source", ("source", "citation"), ("fuente", "cita"), "Source", "Fuente", "text",
          max_length=1000, personal_check=True, template=True),
    Field("source_page", ("source_page", "page", "source page"), ("página",), "Source page",
          "Página de la fuente", "text", max_length=100, public=False,
          personal_check=True),
    Field("source_url", ("url", "source_url", "link", "source url", "source link"),
          ("enlace", "url de la fuente", "liga"), "Link", "Enlace", "url", max_length=2000,
          dedup=True, template=True),
    Field("notes", ("notes", "note", "comments"),
          ("notas", "nota", "observaciones", "comentarios"), "Notes", "Notas", "text",
          max_length=5000, public=False, personal_check=True, template=True),
    # Where the incident happened, as coordinates or a place: read to place the row at a
    # port or in a state (``etl.places``), never stored (public locations are ports).
    Field("latitude", ("latitude", "lat", "gps latitude", "location latitude"),
          ("latitud",), "Latitude", "Latitud", "latitude", sql=None, place=True),
    Field("longitude", ("longitude", "lon", "lng", "long", "gps longitude",
                        "location longitude"),
          ("longitud",), "Longitude", "Longitud", "longitude", sql=None, place=True),
    Field("location", ("location", "geopoint", "coordinates", "gps", "place"),
          ("ubicación", "lugar", "coordenadas", "punto"), "Location", "Ubicación", "location",
          sql=None, place=True),
    # The record's id in the tool that exported the file (KoboToolbox ``_uuid``, Ushahidi's
    # post number; ``etl.columns.TOOLS`` says which column each tool writes it in): kept to
    # trace an incident back to its record. A file with no case id uses it as incident_id.
    Field("record_id", ("record id", "source record id"), ("id del registro",), "Record id",
          "Id del registro", "text", max_length=200, public=False),
    # Whether the tool's reviewers approved the record (Kobo validation status, Ushahidi
    # approval or post status): a record not approved is held, never stored as such.
    Field("review_status", ("review status", "validation status"), ("estado de revisión",),
          "Review status", "Estado de revisión", "review", sql=None),
    # Every link of a link cell that holds several ("url1 url2", "url1; url2"); the first is
    # source_url. Blank when the cell holds one link (it is source_url) or none.
    Field("source_urls", (), (), "Links", "Enlaces", None, sql="VARCHAR[]"),
)


def field(name: str) -> Field:
    """The field called ``name`` (KeyError if there is none)."""
    for candidate in FIELDS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def read() -> tuple[Field, ...]:
    """The fields read from a column of the file (those with header names)."""
    return tuple(f for f in FIELDS if f.headers)


def stored() -> tuple[Field, ...]:
    """The fields that are columns of the incidents table, in declaration order."""
    return tuple(f for f in FIELDS if f.sql)


def public() -> tuple[Field, ...]:
    """The stored fields that may be shown and exported."""
    return tuple(f for f in stored() if f.public)


def _normalised(column: str) -> str:
    """SQL: lower case, runs of white space as one space (the regex only where needed)."""
    x = f"coalesce({column}, '')"
    return (f"lower(CASE WHEN contains({x}, '  ') OR contains({x}, chr(9)) OR "
            f"contains({x}, chr(10)) OR contains({x}, chr(13)) "
            f"THEN regexp_replace({x}, '\\s+', ' ', 'g') ELSE {x} END)")


def content_fingerprint_sql() -> str:
    """SQL for what makes two rows the same content: the ``dedup`` fields, free text
    compared ignoring white space and case, lists ignoring order.

    Changing which fields count changes every fingerprint: ``db.add_field`` recomputes the
    stored ones when the field it adds counts.
    """
    parts = []
    for f in FIELDS:
        if not f.dedup:
            continue
        if f.parser in ("text", "url"):
            parts.append(_normalised(f.name))
        elif f.sql == "VARCHAR[]":
            parts.append(f"array_to_string(list_sort({f.name}), ';')")
        else:
            parts.append(f"coalesce(CAST({f.name} AS VARCHAR), '')")
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


# A stored incident's own id: the one its file gave, or NULL when the loader made one up
# ('B<batch>-<row>', see ``etl.load``).
STORED_OWN_ID = ("CASE WHEN incident_id <> 'B' || batch_id || '-' || source_row "
                 "THEN incident_id END")


def fingerprint_sql(own_id: str = STORED_OWN_ID) -> str:
    """SQL for what makes two rows the same record. A row with its source's own id
    (``own_id``, NULL when it has none) is that source's record: the same id from the same
    source is the same record, different ids never are, whatever the other cells say. A
    row without one is the same record as another with the same content
    (``content_fingerprint_sql``).
    """
    own = f"NULLIF(trim({own_id}), '')"
    return (f"CASE WHEN {own} IS NULL THEN {content_fingerprint_sql()} ELSE "
            f"md5(concat_ws(chr(31), 'own id', {_normalised('source')}, {own})) END")
