"""Placing a row, never guessing: Mexican cities, shared names, numbered bridges, place
names inside free text, coordinates, and suggestions only when they are close."""

import json
import re

import pytest

from etl.ports import PortIndex, plain
from garita.db import DATA_DIR
from garita.reference import ports


@pytest.fixture(scope="module")
def index():
    return PortIndex(ports())


@pytest.fixture(scope="module")
def places():
    from etl import places
    return places


# -- the 28 ports still resolve by code, name and alias ---------------------------------

def _shared_names() -> set[str]:
    """Crossing names that data/places.csv says two places share (held, never guessed)."""
    from etl.ports import places as place_rows, plain

    return {plain(row["name"]) for row in place_rows() if row["kind"] == "shared"}


@pytest.mark.parametrize("port", ports(), ids=lambda p: p["port_name"])
def test_every_port_resolves_by_code_name_and_alias(index, port):
    """Every name of data/ports.csv (kept as the reference ships it) resolves to its port,
    except the names another place shares, which are held with both candidates."""
    from etl.ports import plain

    shared = _shared_names()
    code = port["port_code"]
    assert index.resolve(code).code == code
    assert index.resolve(port["port_name"]).kind == "exact"
    written = [port["port_name"], f"{port['port_name']}, {port['state']}",
               f"{port['port_name'].upper()} POE", *filter(None, port["aliases"].split(";"))]
    for value in written:
        match = index.resolve(value)
        if plain(value) in shared:
            assert match.code is None and code in match.candidates, value
            continue
        assert (match.code, match.message, match.state) == (code, None, port["state"]), value


# -- Mexican cities ---------------------------------------------------------------------

@pytest.mark.parametrize("value, code", [
    ("Nuevo Laredo", "2304"), ("Piedras Negras", "2303"), ("Matamoros", "2301"),
    ("Ciudad Acuña", "2302"), ("Acuña", "2302"), ("Reynosa", "2305"), ("Ojinaga", "2403"),
    ("Agua Prieta", "2601"), ("Heroica Matamoros", "2301"), ("Nuevo Progreso", "2309"),
    ("Ciudad Miguel Alemán", "2310"), ("Colombia, Nuevo León", "2304"),
    ("Nuevo Laredo, Tamaulipas", "2304"), ("Piedras Negras, Coah.", "2303"),
    ("Cd. Acuña, Coahuila", "2302"), ("Nogales, Sonora", "2604"), ("Nogales, AZ", "2604"),
    ("San Luis Río Colorado, Son.", "2608"), ("Naco, Sonora, México", "2603"),
])
def test_a_city_served_by_one_port_resolves_to_it(index, value, code):
    match = index.resolve(value)
    assert (match.code, match.message) == (code, None)


def test_a_city_is_read_as_a_city(index):
    assert index.resolve("Nuevo Laredo").kind == "city"
    assert index.resolve("Piedras Negras, Coahuila").kind == "city"


@pytest.mark.parametrize("value, candidates, state", [
    ("Tijuana", ("2504", "2506", "2582"), "CA"),
    ("Tijuana, Baja California", ("2504", "2506", "2582"), "CA"),
    ("Ciudad Juárez", ("2401", "2402"), "TX"), ("Cd. Juárez, Chih.", ("2401", "2402"), "TX"),
    ("Mexicali", ("2503", "2507"), "CA"),
])
def test_a_city_served_by_several_ports_is_held_with_its_candidates(index, value, candidates,
                                                                     state):
    match = index.resolve(value)
    assert match.code is None and match.kind == "ambiguous"
    assert match.candidates == candidates and match.params["candidates"] == list(candidates)
    assert match.problem == "port.ambiguous" and match.suggestion is None
    assert match.state == state  # staff may keep the state only
    assert "could be" in match.message


def test_ports_that_share_a_mexican_city_are_exactly_the_ambiguous_ones(index):
    """The city table follows ports.csv: each port's Mexican city names it, and a city
    named by several ports is held with all of them."""
    by_city = {}
    for port in ports():
        city = re.split(r"[,(]", port["mexican_city"])[0].strip()
        by_city.setdefault(city, set()).add(port["port_code"])
    assert {c for c, codes in by_city.items() if len(codes) > 1} == {
        "Tijuana", "Mexicali", "Ciudad Juárez"}
    for city, codes in by_city.items():
        match = index.resolve(city)
        assert {match.code} - {None} | set(match.candidates) == codes, city


def test_places_csv_names_real_ports_and_a_shared_name_keeps_its_alias_port(index):
    """A shared name names at least two ports, one of them the port whose alias it is in
    data/ports.csv (which stays as the reference ships it)."""
    codes = {p["port_code"] for p in ports()}
    alias_port = {plain(a): p["port_code"] for p in ports() for a in p["aliases"].split(";")
                  if a}
    from etl.ports import places as place_rows
    for row in place_rows():
        named = set(filter(None, row["port_codes"].split(";")))
        assert named <= codes, row["name"]
        if row["kind"] == "shared":
            assert len(named) >= 2, row["name"]
            assert alias_port.get(plain(row["name"]), next(iter(named))) in named, row["name"]


# -- names shared by two places, and states ------------------------------------------------

def test_puerta_mexico_is_both_san_ysidro_and_matamoros(index):
    match = index.resolve("Puerta México")
    assert match.code is None and match.candidates == ("2301", "2504")
    assert match.state is None  # California or Texas: no state to keep either
    assert index.resolve("Puerta Mexico, Tamaulipas").code == "2301"
    assert index.resolve("Garita Puerta México").code == "2504"
    assert index.resolve("Puente Internacional Puerta México").code == "2301"


def test_zaragoza_bridge_is_both_ysleta_and_brownsville(index):
    assert index.resolve("Puente Zaragoza").candidates == ("2301", "2401")
    assert index.resolve("Ysleta-Zaragoza International Bridge").code == "2401"
    assert index.resolve("Puente Internacional General Ignacio Zaragoza").code == "2301"


def test_a_mexican_state_is_held_with_the_ports_across_from_it(index):
    sonora = index.resolve("Sonora")
    assert sonora.candidates == ("2601", "2602", "2603", "2604", "2606", "2608")
    assert sonora.state == "AZ"
    assert index.resolve("Chihuahua").state is None  # Texas and New Mexico ports
    # Only Laredo's Colombia bridge faces Nuevo León: still held, never read as Laredo.
    assert index.resolve("Nuevo León").candidates == ("2304",)


def test_a_state_that_contradicts_the_port_is_refused(index):
    match = index.resolve("Santa Fe, NM")  # the Santa Fe bridge is in El Paso, Texas
    assert match.code is None and match.problem == "port.wrong_state"
    assert "El Paso" in match.message and "New Mexico" in match.message


def test_a_us_state_in_the_port_column_says_where_it_belongs(index):
    match = index.resolve("Texas")
    assert match.code is None and match.problem == "port.state_only"
    assert "state column" in match.message


# -- numbered bridges and other word orders ----------------------------------------------

@pytest.mark.parametrize("value, code", [
    ("Laredo Bridge 1", "2304"), ("Laredo Bridge I", "2304"), ("Laredo Bridge III", "2304"),
    ("Bridge IV Laredo", "2304"), ("Laredo International Bridge No. 2", "2304"),
    ("Puente 2 Nuevo Laredo", "2304"), ("Puente Internacional Nuevo Laredo III", "2304"),
    ("Eagle Pass Bridge No. 1", "2303"), ("Eagle Pass Bridge #2", "2303"),
    ("Puente Uno Piedras Negras", "2303"),
    ("International Bridge Reynosa-Hidalgo", "2305"), ("Reynosa Hidalgo bridge", "2305"),
    ("San Ysidro PedWest", "2504"), ("Tijuana - San Ysidro", "2504"),
    ("Ciudad Juárez (Ysleta)", "2401"), ("Bridge of the Americas", "2402"),
    ("Puente Internacional Córdova de las Américas", "2402"),
])
def test_bridges_and_word_orders_resolve(index, value, code):
    match = index.resolve(value)
    assert (match.code, match.message) == (code, None)


def test_a_numbered_bridge_is_read_as_a_bridge(index):
    assert index.resolve("Eagle Pass Bridge No. 1").kind == "bridge"
    assert index.resolve("Laredo Bridge 1").kind == "bridge"


def test_a_bridge_number_without_its_city_is_not_guessed(index):
    match = index.resolve("International Bridge III")
    assert match.code is None and match.kind == "ambiguous"
    assert match.candidates == ("2304",) and match.params["bridge"] == "Bridge III"
    assert match.suggestion is None and "Hidalgo" not in match.message
    assert index.resolve("International Bridge 1").candidates == ("2303", "2304")


# -- suggestions only when they are close --------------------------------------------------

@pytest.mark.parametrize("value, suggestion", [
    ("San Ysdro", "San Ysidro"), ("Otai Mesa", "Otay Mesa"), ("Brownsvile", "Brownsville"),
    ("Tijuna", "Tijuana"),
])
def test_a_close_misspelling_gets_a_suggestion(index, value, suggestion):
    match = index.resolve(value)
    assert match.code is None and match.suggestion == suggestion
    assert f"did you mean {suggestion}?" in match.message


@pytest.mark.parametrize("value", [
    "Santa Tecla",         # El Salvador, not Santa Teresa
    "Calexico Est",        # one letter from Calexico West and from Calexico East
    "Cancún", "Guadalajara", "International Bridge",
])
def test_a_far_name_gets_no_suggestion(index, value):
    match = index.resolve(value)
    assert match.suggestion is None and "did you mean" not in match.message
    assert match.code is None and not match.candidates


# -- place names inside free text -------------------------------------------------------------

def test_a_place_name_inside_free_text_is_found(index):
    tijuana = index.resolve("rechazados en Tijuana")
    assert tijuana.candidates == ("2504", "2506", "2582") and tijuana.found == "Tijuana"
    assert index.resolve("turned away at the San Ysidro port").code == "2504"
    assert index.resolve("esperando en el puente de Reynosa").code == "2305"
    assert index.resolve("Nuevo Laredo: lo regresaron al puente").code == "2304"


@pytest.mark.parametrize("value", [
    "migrantes de Colombia",     # a country (Colombia, N.L. is Laredo's bridge)
    "Pachuca, Hidalgo",          # the Mexican state of Hidalgo, not the port
    "Ciudad Hidalgo",            # Chiapas, on the Guatemalan border
    "Columbus, Ohio",
])
def test_free_text_that_names_no_border_place_is_not_placed(index, value):
    match = index.resolve(value)
    assert match.code is None and not match.candidates and match.message


# -- coordinates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("port", ports(), ids=lambda p: p["port_name"])
def test_a_point_at_a_port_is_that_port(places, port):
    match = places.resolve_point(port["latitude"], port["longitude"])
    assert (match.code, match.kind, match.message) == (port["port_code"], "coordinates", None)


@pytest.mark.parametrize("lat, lon, code", [
    (27.4936, -99.5069, "2304"),    # Nuevo Laredo, 700 m south of the Laredo port (Mexico)
    (25.88, -97.50, "2301"),        # Matamoros (Natural Earth's point), 2 km from Brownsville
    (31.7455, -106.4700, "2402"),   # El Paso's Paso del Norte bridge area, 2.7 km from BOTA
    (32.5540, -116.9470, "2506"),   # 0.9 km from Otay Mesa, 2.5 km from Cross Border Xpress
])
def test_a_point_within_a_few_km_of_one_port_is_that_port(places, lat, lon, code):
    assert places.resolve_point(lat, lon).code == code


@pytest.mark.parametrize("lat, lon, candidates", [
    (32.5493, -116.9565, {"2506", "2582"}),  # halfway between Otay Mesa and CBX
    (32.5454, -117.0016, {"2504", "2582"}),  # halfway between San Ysidro and CBX
])
def test_a_point_between_two_ports_is_held_with_both(places, lat, lon, candidates):
    match = places.resolve_point(lat, lon)
    assert match.code is None and match.kind == "ambiguous"
    assert set(match.candidates) == candidates and match.problem == "port.ambiguous"
    assert match.state == "CA"


@pytest.mark.parametrize("lat, lon, state", [
    (32.822, -117.1819, "CA"),     # San Diego, 30 km from the border
    (31.7965, -106.58, "NM"),      # Sunland Park, between El Paso and Santa Teresa
    (27.2267, -98.1442, "TX"),     # Falfurrias checkpoint, 114 km inland
    (28.9501, -100.6327, "TX"),    # US side by 1.5 km, where Natural Earth draws Coahuila
])
def test_a_point_in_a_border_state_away_from_ports_keeps_the_state(places, lat, lon, state):
    match = places.resolve_point(lat, lon)
    assert (match.code, match.kind, match.state, match.message) == (None, "state", state, None)


@pytest.mark.parametrize("lat, lon, mx_state", [
    (32.502, -117.0819, "Baja California"),  # Tijuana, 6.7 km from San Ysidro
    (31.6923, -106.492, "Chihuahua"),         # Ciudad Juárez
    (32.6423, -115.6622, "Baja California"),  # 1 km into Mexico, where NE draws California
    (25.6719, -100.3319, "Nuevo León"),       # Monterrey
])
def test_a_point_in_mexico_away_from_ports_is_rejected_naming_the_state(places, lat, lon,
                                                                        mx_state):
    match = places.resolve_point(lat, lon)
    assert match.code is None and match.state is None and match.problem == "point.mexico"
    assert f"falls in Mexico ({mx_state})" in match.message


@pytest.mark.parametrize("lat, lon", [(33.5419, -112.0719), (41.8781, -87.6298), (0, 0)])
def test_a_point_far_from_the_border_is_rejected(places, lat, lon):
    match = places.resolve_point(lat, lon)
    assert match.code is None and match.problem == "point.far"
    assert "km from the US–Mexico border" in match.message


def test_a_far_point_suggests_the_sign_or_order_that_would_place_it(places):
    sign = places.resolve_point(32.5425, 117.0288)
    assert sign.problem == "point.far_sign" and sign.suggestion == "32.5425, -117.0288"
    swapped = places.resolve_point(-117.0288, 32.5425)
    assert swapped.problem == "point.not_on_earth" and swapped.suggestion == "32.5425, -117.0288"


def test_many_points_are_placed_at_once_as_one_by_one(places):
    points = [(32.5425, -117.0288), (32.822, -117.1819), (31.6923, -106.492), (0, 0)]
    together = places.resolve_points(*zip(*points))
    assert together == [places.resolve_point(*p) for p in points]


@pytest.mark.parametrize("cell, point", [
    ("32.54 -117.03 0 5", (32.54, -117.03)),             # ODK / KoBo geopoint
    ("32.5425, -117.0288", (32.5425, -117.0288)),
    ("32.5425;-117.0288", (32.5425, -117.0288)),
    ("(32.5425, -117.0288)", (32.5425, -117.0288)),
    ("POINT (-117.0288 32.5425)", (32.5425, -117.0288)),  # WKT: longitude first
    ("32.54N 117.03W", (32.54, -117.03)), ("117.03 W, 32.54 N", (32.54, -117.03)),
    ("32°32'33\"N 117°01'44\"W", (32.5425, -117.0289)), ("  ", None),
])
def test_geopoints_are_read(places, cell, point):
    parsed = places.parse_geopoint(cell)
    assert parsed == point if point is None else parsed == pytest.approx(point, abs=1e-4)


@pytest.mark.parametrize("cell, problem", [
    ("32.54", "point.unreadable"), ("near the bridge", "point.unreadable"),
    ("-117.03 32.54", "point.latitude_range"),
])
def test_unreadable_geopoints_are_refused_with_a_reason(places, cell, problem):
    from etl.problems import Invalid
    with pytest.raises(Invalid) as caught:
        places.parse_geopoint(cell)
    assert caught.value.code == problem


@pytest.mark.parametrize("cell, axis, value", [
    ("32.5425", "latitude", 32.5425), ("32,5425", "latitude", 32.5425),
    ("117.0288 W", "longitude", -117.0288), ("O 117.0288", "longitude", -117.0288),
    ("32°32'33\"N", "latitude", 32.5425), ("", "latitude", None),
])
def test_coordinate_cells_are_read(places, cell, axis, value):
    parsed = places.parse_coordinate(cell, axis)
    assert parsed == value if value is None else parsed == pytest.approx(value, abs=1e-4)


@pytest.mark.parametrize("lat, lon, problem", [
    ("32.5425", "", "point.no_longitude"), ("", "-117.0288", "point.no_latitude"),
    ("32.54 N", "32.54 N", "point.longitude_is_latitude"),
    ("abc", "-117.0288", "point.latitude_unreadable"),
    ("-117.0288", "32.5425", "point.latitude_range"),
])
def test_coordinate_cells_that_cannot_place_a_row_say_why(places, lat, lon, problem):
    match = places.resolve_coordinates(lat, lon)
    assert match.code is None and match.problem == problem and match.message


def test_coordinate_cells_place_the_row(places):
    assert places.resolve_coordinates("32.5425", "-117.0288").code == "2504"
    assert places.resolve_coordinates(" ", "").kind == "blank"
    assert places.resolve_geopoint("31.7965 -106.58 1140 8").state == "NM"


# -- the layers the loader ships ---------------------------------------------------------------

def test_the_state_layer_names_each_state_and_its_country():
    layer = json.loads((DATA_DIR / "basemap" / "states.geojson").read_text(encoding="utf-8"))
    named = {(f["properties"]["name"], f["properties"]["country"]) for f in layer["features"]}
    assert {("California", "US"), ("Arizona", "US"), ("New Mexico", "US"),
            ("Texas", "US"), ("Baja California", "MX"), ("Sonora", "MX"),
            ("Chihuahua", "MX"), ("Coahuila", "MX"), ("Nuevo León", "MX"),
            ("Tamaulipas", "MX")} <= named


def test_the_census_border_puts_every_mapped_city_on_its_own_side(places):
    import shapely
    cities = json.loads((DATA_DIR / "basemap" / "cities.geojson").read_text(encoding="utf-8"))
    us_side = places.us_side_polygon()
    for city in cities["features"]:
        lon, lat = city["geometry"]["coordinates"]
        on_us_side = bool(shapely.contains_xy(us_side, lon, lat))
        assert on_us_side == (city["properties"]["country"] == "US"), city["properties"]["name"]


# -- the loader places each row (etl.validate) ----------------------------------------------

def _checked(text: str):
    from etl.read import read_table
    from etl.validate import validate
    return validate(read_table(text.encode()))


def _outcome(checked, row: int):
    """(port_code, state) for a loaded row, else the problem codes (row counts the header)."""
    if row - 2 in checked.problems:
        return [(p.code, p.suggestion) for p in checked.problems[row - 2]]
    at = list(checked.good_rows).index(row - 2)
    return checked.records["port_code"][at].as_py(), checked.records["state"][at].as_py()


def test_a_row_with_neither_port_nor_state_is_rejected_unless_it_says_unknown():
    checked = _checked("date,incident type,port,state\n"
                       "2018-05-01,turned_away,,\n"
                       "2018-05-02,turned_away,,unknown\n"
                       "2018-05-03,turned_away,,desconocido\n"
                       "2018-05-04,turned_away,,TX\n")
    assert _outcome(checked, 2) == [("place.missing", None)]
    assert _outcome(checked, 3) == _outcome(checked, 4) == (None, None)
    assert _outcome(checked, 5) == (None, "TX")


def test_the_upload_gets_the_candidates_of_an_ambiguous_port():
    checked = _checked("date,incident type,garita\n2018-05-01,turned_away,Ciudad Juárez\n")
    (problem,) = checked.problems[0]
    assert problem.code == "port.ambiguous" and problem.column == "garita"
    assert problem.params["candidates"] == ["2401", "2402"]
    assert problem.params["keep_state"] == "TX"


def test_coordinate_columns_place_rows():
    checked = _checked(
        "fecha,tipo de incidente,garita,estado,latitud,longitud\n"
        "2018-05-01,turned_away,,,\"32,5425\",\"-117,0288\"\n"   # at San Ysidro
        "2018-05-02,turned_away,,,32.822,-117.1819\n"            # San Diego: CA only
        "2018-05-03,turned_away,,,32.502,-117.0819\n"            # Tijuana, 6.7 km out
        "2018-05-04,turned_away,Tijuana,,32.550330,-116.938538\n"  # held: Otay Mesa?
        "2018-05-05,turned_away,El Paso,,32.5425,-117.0288\n"    # port and point disagree
        "2018-05-06,turned_away,Laredo,,27.597,-99.537\n"        # World Trade Bridge, 11 km
        "2018-05-07,turned_away,,,32.5425,\n"
        "2018-05-08,turned_away,,AZ,32.822,-117.1819\n"
        "2018-05-09,turned_away,,,32.5425,117.0288\n")
    assert _outcome(checked, 2) == ("2504", "CA")
    assert _outcome(checked, 3) == (None, "CA")
    assert _outcome(checked, 4) == [("point.mexico", None)]
    assert _outcome(checked, 5) == [("port.ambiguous", "Otay Mesa")]
    assert _outcome(checked, 6) == [("place.port_mismatch", None)]
    assert _outcome(checked, 7) == ("2304", "TX")
    assert _outcome(checked, 8) == [("point.no_longitude", None)]
    assert _outcome(checked, 9) == [("place.state_mismatch", None)]
    assert _outcome(checked, 10) == [("point.far_sign", "32.5425, -117.0288")]


def test_a_location_column_takes_a_geopoint_or_a_place_name():
    checked = _checked("date,incident type,location\n"
                       "2018-05-01,turned_away,32.5425 -117.0288 0 5\n"
                       "2018-05-02,turned_away,rechazados en Nuevo Laredo\n"
                       "2018-05-03,turned_away,Mexicali\n"
                       "2018-05-04,turned_away,Santa Tecla\n")
    assert _outcome(checked, 2) == ("2504", "CA")
    assert _outcome(checked, 3) == ("2304", "TX")
    assert _outcome(checked, 4) == [("port.ambiguous", None)]
    assert _outcome(checked, 5) == [("port.unknown_no_suggestion", None)]
