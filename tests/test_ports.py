"""Port names resolve by code, name or alias; unknown names get a suggestion, never a guess."""

import pytest

from etl.ports import PortIndex
from garita.reference import ports


@pytest.fixture(scope="module")
def index():
    return PortIndex(ports())


@pytest.mark.parametrize("value, code", [
    ("2504", "2504"), ("San Ysidro", "2504"), ("SAN YSIDRO", "2504"),
    ("San Ysidro, CA", "2504"), ("San Ysidro POE", "2504"),
    ("San Ysidro Port of Entry", "2504"), ("PedEast", "2504"), ("San Ysidro (PedEast)", "2504"),
    ("El Chaparral", "2504"), ("Garita de Otay", "2506"), ("Otay Mesa", "2506"),
    ("El Paso - Paso del Norte", "2402"), ("Puente Paso del Norte", "2402"),
    ("El Paso (port not specified)", "2402"), ("Nogales - DeConcini", "2604"),
    ("Nogales, AZ", "2604"), ("Laredo - Gateway to the Americas Bridge", "2304"),
    ("Brownsville - B&M Bridge", "2301"), ("Río Grande City", "2307"),
    ("Rio Grande City", "2307"), ("Sásabe", "2606"), ("Calexico East", "2507"),
])
def test_names_codes_and_aliases_resolve(index, value, code):
    assert index.resolve(value).code == code


def test_every_alias_in_ports_csv_resolves_to_its_own_port(index):
    """...or, for a name data/places.csv says two places share, is held with it."""
    from etl.ports import places, plain

    shared = {plain(row["name"]) for row in places() if row["kind"] == "shared"}
    for port in ports():
        for alias in filter(None, port["aliases"].split(";")):
            match = index.resolve(alias)
            if plain(alias) in shared:
                assert match.code is None and port["port_code"] in match.candidates, alias
            else:
                assert match.code == port["port_code"], alias


def test_misspelled_port_gets_a_suggestion_and_no_code(index):
    match = index.resolve("San Ysdro")
    assert match.code is None
    assert match.suggestion == "San Ysidro"
    assert "did you mean San Ysidro?" in match.message


def test_a_city_with_several_ports_is_not_guessed(index):
    assert index.resolve("Tijuana").code is None


def test_blank_port_is_allowed(index):
    match = index.resolve("  ")
    assert match.code is None and match.message is None
