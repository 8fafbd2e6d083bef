"""Make the small basemap layers in ``data/basemap/`` from the Natural Earth reference layers.

The map draws its own place context (state fills, rivers, city names) because it may load
no tiles from the internet. The reference layers (admin-1 states, rivers, populated places,
clipped to the border region) are simplified here so that the whole deck a page sends stays
small: states as a coverage (shared edges stay identical, so neighbours never gap or
overlap), coordinates on a 0.01° grid (about 1 km, a pixel at the widest view), and only
the cities the map labels. Run it again to rebuild the files::

    python -m etl.basemap PATH/TO/reference/basemap data/basemap
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

STATE_TOLERANCE = 0.02  # coverage simplification, about the square root of a removed area (°)
RIVER_TOLERANCE = 0.01  # Douglas-Peucker distance (°)
GRID = 0.01             # coordinates snapped to this grid (°)
MIN_ISLAND = 0.01       # polygon parts smaller than this (square degrees) are dropped
# Mexican border cities (the twins of the ports, which carry US names) and a few large
# cities for orientation; US border cities would repeat the port names.
CITIES = ("Tijuana", "Mexicali", "Nogales", "Agua Prieta", "Ciudad Juárez", "Ojinaga",
          "Piedras Negras", "Nuevo Laredo", "Reynosa", "Matamoros", "Hermosillo",
          "Chihuahua", "Monterrey", "San Diego", "Phoenix", "San Antonio")


def _without_islands(geometry):
    parts = [p for p in getattr(geometry, "geoms", [geometry]) if p.area >= MIN_ISLAND]
    return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]


def _collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


def states(source: Path) -> str:
    """The ten states as a simplified coverage: ``name`` and ``country`` (US or MX)."""
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    geometries = [_without_islands(shape(f["geometry"])) for f in features]
    simplified = shapely.coverage_simplify(geometries, STATE_TOLERANCE)
    out = []
    for feature, geometry in zip(features, simplified):
        geometry = shapely.set_precision(geometry, GRID)
        out.append({"type": "Feature",
                    "properties": {"name": feature["properties"]["name"],
                                   "country": feature["properties"]["country"]},
                    "geometry": mapping(geometry)})
    return _collection(out)


def rivers(source: Path) -> str:
    """The Rio Grande and the Colorado, simplified: ``name`` and ``name_es``."""
    out = []
    for feature in json.loads(source.read_text(encoding="utf-8"))["features"]:
        geometry = shapely.set_precision(shape(feature["geometry"]).simplify(RIVER_TOLERANCE),
                                         GRID)
        properties = feature["properties"]
        out.append({"type": "Feature",
                    "properties": {"name": properties["name"], "name_es": properties["name_es"]},
                    "geometry": mapping(geometry)})
    return _collection(out)


def cities(source: Path) -> str:
    """The cities the map labels, with the reference layer's properties unchanged."""
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    chosen = [f for f in features if f["properties"]["name"] in CITIES]
    missing = set(CITIES) - {f["properties"]["name"] for f in chosen}
    if missing:
        raise ValueError(f"cities not in the reference layer: {sorted(missing)}")
    return _collection(chosen)


def build(source_dir: Path, out_dir: Path) -> dict[str, int]:
    """Write states, rivers and cities GeoJSON into ``out_dir``; return their sizes in bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = {"states.geojson": states(source_dir / "admin1.geojson"),
            "rivers.geojson": rivers(source_dir / "rivers.geojson"),
            "cities.geojson": cities(source_dir / "cities.geojson")}
    for name, text in made.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    return {name: len(text.encode("utf-8")) for name, text in made.items()}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m etl.basemap REFERENCE_BASEMAP_DIR OUT_DIR")
    for name, size in build(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(f"{name}: {size:,} bytes")
