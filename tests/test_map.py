"""The map reads at a glance, on any screen, with no internet.

AppTest checks what the deck sends (no map provider, the shipped layers, smaller circles over
larger ones, a label for every port with incidents, the key beside the map, the clicked port
in the URL); the layout is checked at a phone's, a laptop's and a projector's size; and a real
browser opens the map and the Present page at those sizes, records every request, and
saves screenshots (tests.browser.SHOTS) to look at.
"""

from __future__ import annotations

import io
import json
import os
import time
from urllib.parse import urlparse

import pandas as pd
import pytest

from garita import maps
from garita.reference import ports

LAYERS_IN_ORDER = ["states", "rivers", "border", "cities", "ports", "incidents", "leaders",
                   "labels"]
SCREENS = {"phone": ({"width": 360, "height": 844}, False),
           "laptop": ({"width": 820, "height": 900}, False),
           "projector": ({"width": 1460, "height": 1080}, True)}


def _deck(at) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


def _layers(at) -> dict:
    return {layer["id"]: layer for layer in _deck(at)["layers"]}


@pytest.mark.parametrize("page", ["pages/map.py", "pages/present.py"])
def test_the_deck_names_no_map_provider_style_or_other_host(app, page):
    at = app(page)
    assert not at.exception
    raw = at.get("deck_gl_json_chart")[0].proto.json
    deck = json.loads(raw)
    assert "mapProvider" not in deck
    # pydeck's "no style given" marker, which Streamlit reads as "draw no basemap"
    assert deck.get("mapStyle") in (None, "__MAP_STYLE__")
    assert "http" not in raw and "//" not in raw
    assert len(raw) < 100_000  # the whole deck, basemap included, stays small


def test_the_map_draws_shipped_place_layers_under_the_ports(app):
    data = _layers(app())
    layers = list(data)
    for name in LAYERS_IN_ORDER:
        assert name in layers, name
    order = [layers.index(name) for name in LAYERS_IN_ORDER]
    assert order == sorted(order)  # fills, then rivers, the border line on top, then ports
    assert {row["fill"][:3] == maps.LAND["US"][:3] for row in data["states"]["data"]} \
        == {True, False}  # two countries, two tones
    named = {row["text"] for row in data["cities"]["data"]}
    assert "Ciudad Juárez" in named and len(named) >= 8  # where they fit beside the ports


def test_smaller_circles_are_drawn_over_larger_ones(app):
    rows = _layers(app())["incidents"]["data"]
    codes = [row["port_code"] for row in rows]
    assert codes.index("2506") > codes.index("2504")  # Otay Mesa over San Ysidro
    # whatever order the rows come in (here smallest first)
    per_port = _per_port().sort_values("value")
    deck = json.loads(maps.incident_deck(per_port).to_json())
    rows = next(layer for layer in deck["layers"] if layer["id"] == "incidents")["data"]
    radii = [row["radius"] for row in rows]
    assert radii == sorted(radii, reverse=True) and radii[0] > radii[-1]


def test_every_port_with_incidents_has_a_label(app):
    layers = _layers(app())
    circles = {row["port_code"]: row for row in layers["incidents"]["data"]}
    labels = {row["port_code"]: row["text"] for row in layers["labels"]["data"]}
    assert set(labels) == set(circles) and len(labels) == 10
    for code, text in labels.items():
        assert text == f"{circles[code]['port_name']} {circles[code]['incidents']}"


def _per_port() -> pd.DataFrame:
    """Every one of the 28 ports with incidents, the worst case for crowding."""
    rows = [{**p, "incidents": n, "people": 3 * n, "value": n, "top_type": "turned_away",
             "top_types": "turned_away (1)"}
            for n, p in enumerate(ports(), start=1)]
    return pd.DataFrame(rows).sort_values("value", ascending=False)


def _label_boxes(deck: dict, frame: maps.Frame) -> tuple[dict, object]:
    """Each label's box in canvas pixels, as drawn at the deck's opening view."""
    view = deck["initialViewState"]
    project = maps._Projection(maps.pdk.ViewState(**{
        "longitude": view["longitude"], "latitude": view["latitude"], "zoom": view["zoom"]}),
        frame)
    boxes = {}
    for row in next(layer for layer in deck["layers"] if layer["id"] == "labels")["data"]:
        x, y = project.pixel(*row["position"])
        width = maps.BOLD_WIDTH * frame.label_px * len(row["text"]) + 6
        boxes[row["port_code"]] = maps._box(x + row["offset"][0], y + row["offset"][1], width,
                                            frame.label_px * 1.15, row["anchor"],
                                            row["baseline"])
    return boxes, project


@pytest.mark.parametrize("size", list(SCREENS))
@pytest.mark.parametrize("crowd", ["default data", "all 28 ports"])
def test_labels_do_not_collide_and_the_border_fits(built_db, size, crowd):
    from garita import db, queries
    from garita.filters import Filters

    if crowd == "all 28 ports":
        per_port = _per_port()
    else:
        con = db.connect_reader(db.published_file(built_db))
        per_port = queries.by_port(con.cursor(), Filters())
        con.close()
    screen, present = SCREENS[size]
    frame = maps.frame_for(screen, present=present, crowd=len(per_port))
    deck = json.loads(maps.incident_deck(per_port, frame=frame).to_json())
    boxes, project = _label_boxes(deck, frame)
    assert set(boxes) == set(per_port["port_code"])
    items = list(boxes.items())
    for i, (code, box) in enumerate(items):
        assert 0 <= box[0] and box[2] <= frame.width and 0 <= box[1] and \
            box[3] <= frame.height, (code, box)
        for other, second in items[i + 1:]:
            assert not maps._boxes_meet(box, second, pad=0), (code, other)
    # each label reads as its own port's: next to its circle and nearer to it than to any
    # other, or at the end of a leader line and clear of other circles
    circles = {row["port_code"]: (*project.pixel(row["longitude"], row["latitude"]),
                                  row["radius"])
               for row in next(layer for layer in deck["layers"]
                               if layer["id"] == "incidents")["data"]}
    ends = {tuple(round(c, 3) for c in row["path"][1]) for row in next(
        (layer for layer in deck["layers"] if layer["id"] == "leaders"), {"data": []})["data"]}
    labels = {row["port_code"]: row for row in next(
        layer for layer in deck["layers"] if layer["id"] == "labels")["data"]}

    def gap(circle, box):
        x, y, r = circle
        return ((max(box[0] - x, 0, x - box[2]) ** 2
                 + max(box[1] - y, 0, y - box[3]) ** 2) ** 0.5) - r

    for code, box in boxes.items():
        others = [gap(circle, box) for other, circle in circles.items() if other != code]
        if tuple(round(c, 3) for c in labels[code]["position"]) in ends:
            assert min(others) > 2, code
        else:
            assert gap(circles[code], box) < min(others), code
    # the whole border line and every circle are inside the map
    for path in maps.border_paths():
        for lon, lat in path["path"][:: max(1, len(path["path"]) // 50)]:
            x, y = project.pixel(lon, lat)
            assert 0 <= x <= frame.width and 0 <= y <= frame.height
    for row in next(layer for layer in deck["layers"] if layer["id"] == "incidents")["data"]:
        x, y = project.pixel(row["longitude"], row["latitude"])
        assert row["radius"] <= x <= frame.width - row["radius"]


def test_the_present_map_grows_with_the_window_and_a_phone_map_fits_its_width():
    small = maps.frame_for({"width": 1100, "height": 720}, present=True)
    large = maps.frame_for({"width": 1460, "height": 1080}, present=True)
    assert large.height >= 800 > small.height and large.label_px >= 16
    phone, laptop = (maps.frame_for({"width": 360, "height": 844}),
                     maps.frame_for({"width": 820, "height": 900}))
    assert maps.fit_view(phone).zoom < maps.fit_view(laptop).zoom < maps.fit_view(large).zoom


def test_the_key_beside_the_map_shows_circles_at_the_map_sizes(app):
    at = app()
    radii = [row["radius"] for row in _layers(at)["incidents"]["data"]]
    assert "**Circle area: incidents**  \ndarker means more" in [m.value for m in at.markdown]
    legend = next(chart for chart in at.get("plotly_chart")
                  if "none matching" in chart.proto.spec)
    spec = json.loads(legend.proto.spec)
    sizes = spec["data"][0]["marker"]["size"]
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert texts == ["15 incidents", "4 incidents", "1 incident", "none matching"]
    # the largest and the smallest circles are those of El Paso (15) and Tecate (1)
    assert sizes[0] == pytest.approx(2 * max(radii), abs=0.2)
    assert sizes[2] == pytest.approx(2 * min(radii), abs=0.2)


def test_the_present_page_writes_labels_and_key_of_at_least_16_px(app):
    at = app("pages/present.py")
    layers = _layers(at)
    assert len(layers["labels"]["data"]) == 10
    for name in ("labels", "cities", "countries"):
        assert layers[name]["getSize"] >= 16, name
    legend = json.loads(next(chart for chart in at.get("plotly_chart")
                             if "none matching" in chart.proto.spec).proto.spec)
    assert min(a["font"]["size"] for a in legend["layout"]["annotations"]) >= 16
    # the key's title is a heading (20 px) and a line of body text (16 px)
    assert "#### Circle area: incidents\n\ndarker means more" in [m.value for m in at.markdown]


def test_a_link_with_the_clicked_port_reopens_its_incidents(app):
    at = app(port_detail="2504")
    assert not at.exception
    assert at.subheader[0].value == "Incidents at San Ysidro"
    table = at.dataframe[0].value
    assert len(table) == 7 and set(table["port_name"]) == {"San Ysidro"}
    ring = _layers(at)["selected"]["data"]
    assert [row["port_code"] for row in ring] == ["2504"]


def test_an_unknown_port_in_the_link_is_ignored(app):
    at = app(port_detail="<b>9999</b>")
    assert not at.exception
    assert at.subheader[0].value == "Ports with incidents"
    assert "selected" not in _layers(at)


def test_the_clicked_circle_or_dot_gives_the_port_code():
    assert maps.port_from_selection(
        {"objects": {"incidents": [{"port_code": "2506", "port_name": "Otay Mesa"}]}}) == "2506"
    assert maps.port_from_selection({"objects": {"ports": [{"port_code": "2505"}]}}) == "2505"
    assert maps.port_from_selection({"indices": {}, "objects": {}}) is None


# --- in a real browser -----------------------------------------------------------------------

def _browser_ready():
    from tests.browser import chromium_path

    if chromium_path() is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: install Debian's chromium.")
        pytest.skip("no chromium on this machine (apt-get install chromium)")


@pytest.fixture
def server(request):
    """The session's app server (tests/conftest.py): these tests change no data."""
    _browser_ready()
    return request.getfixturevalue("shared_app")


VIEWS = [  # name, path, viewport, text the page writes after its map
    ("map-phone", "", (390, 844), "Ports with incidents"),
    ("map-laptop", "", (1440, 900), "Ports with incidents"),
    ("map-wide", "", (1920, 1080), "Ports with incidents"),
    ("present-1080p", "present", (1920, 1080), "To hand over"),
]


def _orange(r: int, g: int, b: int) -> bool:
    """The count colours of the circles (light orange to dark red), on any fill."""
    return r > 150 and r - b > 90 and g < r - 30


@pytest.mark.browser
@pytest.mark.parametrize("name, path, size, text", VIEWS)
def test_the_map_loads_nothing_from_other_hosts_and_fits_the_screen(server, name, path,
                                                                     size, text, chromium):
    from PIL import Image

    from tests.browser import SHOTS, browser_page, wait_settled

    SHOTS.mkdir(parents=True, exist_ok=True)
    own = urlparse(server).netloc
    with browser_page(*size, browser=chromium) as page:
        asked, errors = [], []
        page.on("request", lambda request: asked.append(request.url))
        page.on("websocket", lambda socket: asked.append(socket.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/{path}")
        page.get_by_text(text).first.wait_for(timeout=60_000)
        canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
        canvas.wait_for(state="visible", timeout=60_000)
        wait_settled(page)  # the map is refitted once the browser has said how wide it is
        canvas.evaluate("element => element.scrollIntoView({block: 'center'})")
        time.sleep(1)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        if size[0] < 600:  # on a phone the key comes after the map
            key = page.locator(".st-key-size_legend").first
            key.evaluate("element => element.scrollIntoView({block: 'center'})")
            time.sleep(1)
            page.screenshot(path=str(SHOTS / f"{name}-key.png"))
        image = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        box = canvas.bounding_box()
    foreign = [url for url in asked if urlparse(url).scheme in ("http", "https", "ws", "wss")
               and urlparse(url).netloc != own]
    assert not foreign, foreign
    assert not errors, errors
    assert box["x"] >= 0 and box["x"] + box["width"] <= size[0]
    width, height = image.size
    pixels = image.load()
    columns = [x for x in range(width) for y in range(0, height, 2) if _orange(*pixels[x, y])]
    # circles at both ends of the border (San Ysidro, Brownsville), neither cut off
    assert min(columns) > 2 and max(columns) < width - 3
    assert min(columns) < 0.2 * width and max(columns) > 0.8 * width
    if name == "present-1080p":
        assert box["height"] >= 700  # the map fills the window below the headline


@pytest.mark.browser
def test_a_clicked_port_is_in_the_url_and_the_link_reopens_it(server, chromium):
    from PIL import Image

    from tests.browser import SHOTS, browser_page, wait_settled

    with browser_page(1440, 900, browser=chromium) as page:
        page.goto(server)
        page.get_by_text("Ports with incidents").first.wait_for(timeout=60_000)
        canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
        canvas.wait_for(state="visible", timeout=60_000)
        wait_settled(page)
        image = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        pixels = image.load()
        inside = [(x, y) for x in range(4, image.width - 4, 2)
                  for y in range(4, image.height - 4, 2)
                  if all(_orange(*pixels[x + dx, y + dy])
                         for dx in (-4, 0, 4) for dy in (-4, 0, 4))]
        assert inside
        x, y = inside[len(inside) // 2]
        canvas.hover(position={"x": x, "y": y})  # as a person does; deck.gl picks on hover
        time.sleep(1)
        canvas.click(position={"x": x, "y": y})
        page.wait_for_url("**port_detail=**", timeout=30_000)
        heading = page.get_by_text("Incidents at ").first
        heading.wait_for(timeout=30_000)
        port = heading.inner_text()
        link = page.url
    with browser_page(1440, 900, browser=chromium) as page:
        page.goto(link)
        page.get_by_text(port).first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Show all ports").wait_for()
        page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(
            state="visible", timeout=60_000)
        wait_settled(page)
        page.screenshot(path=str(SHOTS / "map-port-from-link.png"))  # ringed on the map
        page.get_by_text(port).first.evaluate(
            "element => element.scrollIntoView({block: 'start'})")
        time.sleep(1)
        page.screenshot(path=str(SHOTS / "map-port-from-link-list.png"))
