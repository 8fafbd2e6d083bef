"""Normalize: map the column names staff write, in English or Spanish, to Garita's fields."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from etl.read import FileRefused

# Canonical field -> the names clinic staff use for it (compared after ``header_key``).
SYNONYMS: dict[str, list[str]] = {
    "incident_id": ["incident_id", "id", "incident id", "case id", "case", "caso",
                    "id del caso", "numero de caso", "folio"],
    "date": ["date", "incident date", "date of incident", "fecha", "fecha del incidente",
             "fecha de incidente", "fecha del caso"],
    "date_precision": ["date_precision", "precision", "date precision", "precision de fecha",
                       "precision de la fecha"],
    "port": ["port", "port_name", "port name", "port of entry", "poe", "crossing",
             "puerto", "puerto de entrada", "garita", "cruce", "nombre del puerto"],
    "port_code": ["port_code", "port code", "code", "codigo", "codigo del puerto",
                  "clave del puerto"],
    "state": ["state", "us state", "estado"],
    "people_count": ["people_count", "people", "number of people", "persons", "personas",
                     "numero de personas", "cantidad de personas", "num personas"],
    "group_type": ["group_type", "group", "group type", "grupo", "tipo de grupo"],
    "children": ["children", "with children", "minors", "ninos", "menores", "con ninos",
                 "con menores"],
    "nationality": ["nationality", "country", "country of origin", "nacionalidad", "pais",
                    "pais de origen"],
    "incident_types": ["incident_types", "incident type", "incident types", "type", "types",
                       "tipo", "tipos", "tipo de incidente", "tipos de incidente"],
    "outcome": ["outcome", "result", "resultado", "desenlace"],
    "summary": ["summary", "description", "descripcion", "resumen", "narrative", "relato",
                "hechos"],
    "source": ["source", "fuente", "citation", "cita"],
    "source_page": ["source_page", "page", "pagina", "source page"],
    "source_url": ["source_url", "url", "link", "enlace", "source url", "source link",
                   "url de la fuente", "liga"],
    "notes": ["notes", "note", "notas", "nota", "observaciones", "comentarios", "comments"],
}
REQUIRED = ("date", "incident_types")
# Headers that suggest a column identifies people; such columns are never stored.
PERSONAL_HEADER_WORDS = ("name", "nombre", "anumber", "alien", "phone", "telefono", "celular",
                         "email", "correo", "birth", "nacimiento", "dob", "address",
                         "direccion", "passport", "pasaporte", "curp", "ssn")


def header_key(name: str) -> str:
    """Compare headers ignoring case, accents, spaces and punctuation."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


_LOOKUP = {header_key(alias): canonical for canonical, names in SYNONYMS.items()
           for alias in names}


@dataclass
class ColumnMap:
    """Which input column feeds which field, and what was dropped."""

    fields: dict[str, int]                     # field -> column index
    unknown: list[str] = field(default_factory=list)

    @property
    def personal(self) -> list[str]:
        """Dropped columns whose header suggests personal data (never stored)."""
        return [h for h in self.unknown
                if any(word in header_key(h) for word in PERSONAL_HEADER_WORDS)]

    def header_for(self, header: list[str]) -> dict[str, str]:
        return {name: header[index] for name, index in self.fields.items()}


def map_columns(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map a header to fields; ``overrides`` maps a header cell to a field name (or '')."""
    overrides = overrides or {}
    fields: dict[str, int] = {}
    unknown: list[str] = []
    for index, name in enumerate(header):
        target = overrides[name] if name in overrides else _LOOKUP.get(header_key(name))
        if not target:
            if name:
                unknown.append(name)
            continue
        if target not in SYNONYMS:
            raise FileRefused(f"'{target}' is not a field Garita knows.")
        if target in fields:
            raise FileRefused(
                f"Columns '{header[fields[target]]}' and '{name}' both mean '{target}'. "
                "Rename or delete one of them."
            )
        fields[target] = index
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        wanted = "; ".join(f"{m} ({', '.join(SYNONYMS[m][:4])}…)" for m in missing)
        found = ", ".join(repr(h) for h in header[:12])
        raise FileRefused(
            f"No column for {wanted}. The header has {found}. Rename the column, or check "
            "that the file uses commas, semicolons or tabs between columns."
        )
    if "port" not in fields and "port_code" not in fields and "state" not in fields:
        raise FileRefused(
            "No column for the port of entry (port, puerto, garita) or the state (estado): "
            "Garita needs one of them to place incidents."
        )
    return ColumnMap(fields=fields, unknown=unknown)
