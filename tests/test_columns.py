"""Headers in English or Spanish map to Garita's fields; unknown ones are reported."""

import pytest

from etl.columns import map_columns
from etl.read import FileRefused


@pytest.mark.parametrize("header, field", [
    ("Fecha", "date"), ("DATE", "date"), ("Puerto", "port"), ("Garita", "port"),
    ("Port of Entry", "port"), ("port_of_entry", "port"), ("Personas", "people_count"),
    ("Nacionalidad", "nationality"), ("Tipo de incidente", "incident_types"),
    ("Incident type", "incident_types"), ("Descripción", "summary"), ("resumen", "summary"),
    ("Description", "summary"), ("Fuente", "source"), ("URL", "source_url"),
    ("Niños", "children"), ("  Estado ", "state"),
])
def test_staff_header_names_map_to_fields(header, field):
    mapping = map_columns(["date" if field != "date" else "x", "incident_types"
                           if field != "incident_types" else "y", "state"
                           if field != "state" else "z", header])
    assert mapping.fields[field] == 3


def test_unknown_columns_are_reported_not_mapped():
    mapping = map_columns(["date", "port", "incident type", "Client name", "A-number"])
    assert mapping.unknown == ["Client name", "A-number"]
    assert set(mapping.fields) == {"date", "port", "incident_types"}


def test_missing_required_column_is_refused_with_the_names_it_accepts():
    with pytest.raises(FileRefused, match="incident type") as refused:
        map_columns(["fecha", "puerto", "resumen"])
    assert "incident_types" not in str(refused.value)   # the words staff write, not ours


def test_two_columns_for_one_field_are_refused():
    with pytest.raises(FileRefused, match="both mean 'Summary'"):
        map_columns(["date", "port", "type", "summary", "descripción"])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_template_headers_all_map_to_fields(lang):
    from etl.templates import HEADERS, template_csv

    mapping = map_columns(HEADERS[lang])
    assert mapping.unknown == [] and len(mapping.fields) == len(HEADERS[lang])
    assert template_csv(lang).startswith(b"\xef\xbb\xbf")
