"""Port names as staff write them, to CBP port codes: never guessed silently.

A value is read as, in this order:

- a port code, canonical name or crossing name (``aliases`` in ``data/ports.csv``),
  ignoring case, accents, punctuation and affixes such as "POE", "port of entry", "Garita";
- a Mexican city, a Mexican state or a name shared by two crossings (``data/places.csv``);
- several names at once (``El Paso - Paso del Norte``, ``San Ysidro (PedEast)``,
  ``San Ysidro PedWest``, ``International Bridge Reynosa-Hidalgo``): kept when they all
  name the same port (``Tijuana - San Ysidro`` is San Ysidro);
- a numbered bridge in any word order (``Laredo Bridge 1``, ``Eagle Pass Bridge No. 1``,
  ``Puente III Laredo``);
- free text with a place name at its start or after "en", "at", "near"…
  (``rechazados en Tijuana``).

A value may end with its state, US or Mexican (``Nogales, Sonora``, ``San Ysidro, CA``):
only ports in, or across from, that state then count. A value that names a place served by
several ports (Tijuana, Ciudad Juárez, Mexicali, "Puerta México"), or a bridge number
without its city, is not guessed: it is ``ambiguous``, with the candidate ports. A value
that matches nothing gets a suggestion only when a known name is close to it.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from etl.problems import render
from garita.db import DATA_DIR
from garita.reference import STATES

PLACES_CSV = DATA_DIR / "places.csv"
KINDS = ("exact", "alias", "city", "bridge", "coordinates", "state", "ambiguous", "unknown",
         "blank")
_SUFFIXES = ("port of entry", "land port of entry", "lpoe", "poe", "port", "puerto de entrada",
             "border crossing", "crossing", "international bridge", "bridge")
_PREFIXES = ("garita de", "garita", "puerto de entrada de", "puerto de", "port of",
             "puente internacional", "puente", "international bridge")
STATE_NAMES = {
    "ca": "CA", "california": "CA", "az": "AZ", "arizona": "AZ", "nm": "NM",
    "new mexico": "NM", "nuevo mexico": "NM", "tx": "TX", "texas": "TX", "tejas": "TX",
}
MX_STATES = {
    "Baja California": ("baja california", "bc", "b c"),
    "Sonora": ("sonora", "son"),
    "Chihuahua": ("chihuahua", "chih"),
    "Coahuila": ("coahuila", "coahuila de zaragoza", "coah"),
    "Nuevo León": ("nuevo leon", "nl", "n l"),
    "Tamaulipas": ("tamaulipas", "tamps", "tamp"),
}
# A trailing state or country qualifies a name ("Nogales, Sonora"); longest words first.
_QUALIFIERS = sorted(
    [(w, ("US", c)) for w, c in {**STATE_NAMES, "calif": "CA", "ariz": "AZ", "n m": "NM",
                                 "tex": "TX"}.items()]
    + [(w, ("MX", name)) for name, words in MX_STATES.items() for w in words]
    + [(w, ("country", w)) for w in ("mexico", "mex", "mx", "usa", "us", "u s", "u s a",
                                     "eeuu", "ee uu", "eua", "estados unidos",
                                     "united states")],
    key=lambda item: -len(item[0]))
_BRIDGE_WORDS = {"bridge", "puente", "br"}
_NUMBER_MARKS = {"no", "num", "number", "numero", "nro", "n"}
_NUMBERS = {**{str(i): i for i in range(1, 10)},
            **{r: i for i, r in enumerate(("i", "ii", "iii", "iv", "v", "vi"), start=1)},
            **{w: i for i, w in enumerate(("one", "two", "three", "four"), start=1)},
            **{w: i for i, w in enumerate(("uno", "dos", "tres", "cuatro"), start=1)}}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "7", 8: "8", 9: "9"}
# Words that may sit between or around place names without changing which place is meant.
_FILLERS = {"el", "la", "los", "las", "the", "de", "del", "of", "y", "and", "garita", "puerto",
            "port", "poe", "lpoe", "entry", "entrada", "crossing", "cruce", "border",
            "frontera", "bridge", "puente", "international", "internacional", "intl",
            "pedestrian", "peatonal", "ciudad", "city"}
# In free text, a place name counts at the start or after one of these words.
_CUES = {"en", "at", "in", "near", "cerca", "junto", "frente", "desde", "from", "hacia", "to",
         "a", "al", "por", "via", "into", "toward", "towards", "outside", "afuera", "fuera"}
# Names that are also ordinary words, surnames or countries never count inside free text.
_NOT_IN_TEXT = {"colombia", "presidio", "progreso", "roma", "columbus", "douglas", "mission",
                "mariposa", "palomas", "tornillo", "naco", "algodones", "los tomates",
                "tomates", "express", "gateway", "amistad", "zaragoza", "lincoln", "santa fe",
                "libre", "bota", "pdn", "b and m", "b m", "camargo", "juarez lincoln",
                "de las americas", "las americas", "stanton", "lerdo", "cordova"}
# Tokens too common to make two names alike when suggesting a correction.
_GENERIC = _FILLERS | _BRIDGE_WORDS | _NUMBER_MARKS | set(_NUMBERS) | {
    "san", "santa", "nuevo", "nueva", "new", "rio", "east", "west", "este", "oeste", "north",
    "south", "norte", "sur", "mesa", "paso", "gate", "station", "commercial", "passenger"}
_RANK = {"exact": 0, "alias": 1, "bridge": 2, "city": 3, "mx_state": 4, "shared": 5,
         "elsewhere": 6}


def plain(value: str) -> str:
    """Lower case, no accents, '&' as 'and', punctuation as spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _strip_affixes(key: str) -> str:
    changed = True
    while changed and key:
        changed = False
        for suffix in _SUFFIXES:
            if key.endswith(" " + suffix) and len(key) > len(suffix) + 1:
                key, changed = key[: -len(suffix) - 1], True
        for prefix in _PREFIXES:
            if key.startswith(prefix + " ") and len(key) > len(prefix) + 1:
                key, changed = key[len(prefix) + 1:], True
    return key


def _strip_qualifiers(key: str) -> tuple[str, list[tuple[str, str]]]:
    """``"nogales sonora mexico"`` -> ``("nogales", [("country", "mexico"), ("MX", "Sonora")])``."""
    found: list[tuple[str, str]] = []
    changed = True
    while changed:
        changed = False
        for word, qualifier in _QUALIFIERS:
            if key.endswith(" " + word):
                key, changed = key[: -len(word) - 1], True
                found.append(qualifier)
                break
    return key, found


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class PortMatch:
    """How one value places a row: a port ``code``, or ``candidates`` to choose from, or a
    ``message`` saying why it cannot be placed (with a ``suggestion`` when one is close).

    ``kind`` says how the value was read (one of ``KINDS``); ``state`` is the US border
    state the value places the row in (the port's, the candidates' when they share one, or
    the state a point falls in); ``found`` is the place name read inside free text;
    ``problem`` and ``params`` name what is wrong (a code of ``etl.problems``, which renders
    ``message``); for ``ambiguous`` values ``params["candidates"]`` holds the port codes.
    """

    code: str | None
    message: str | None = None
    suggestion: str | None = None
    kind: str = "unknown"
    candidates: tuple[str, ...] = ()
    state: str | None = None
    found: str | None = None
    problem: str | None = None
    params: dict = field(default_factory=dict, compare=False)

    @classmethod
    def refused(cls, problem: str, suggestion: str | None = None, kind: str = "unknown",
                **params) -> "PortMatch":
        """A value that places nothing, with its problem code and parameters."""
        if suggestion is not None:
            params["suggestion"] = suggestion
        return cls(None, render(problem, params), suggestion, kind=kind,
                   candidates=tuple(params.get("candidates", ())),
                   state=params.get("keep_state"), found=params.get("found"),
                   problem=problem, params=params)


@dataclass(frozen=True)
class _Hit:
    codes: frozenset[str]
    kind: str
    label: str
    note: object = None           # why a name places nothing: where it is, or (ports, state)
    held: bool = False            # never one port by itself: a bridge number with no city

    def merged(self, other: "_Hit") -> "_Hit":
        best = self if _RANK[self.kind] <= _RANK[other.kind] else other
        return _Hit(self.codes | other.codes, best.kind, self.label, self.note or other.note)


@lru_cache(maxsize=1)
def places() -> tuple[dict, ...]:
    """Rows of ``data/places.csv``: Mexican cities, shared names and look-alikes elsewhere."""
    with open(PLACES_CSV, newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _codes(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(";") if c.strip())


class PortIndex:
    """Resolves port names, codes, cities, bridges and place names inside text."""

    def __init__(self, ports, places_rows=None):
        self.names = {p["port_code"]: p["port_name"] for p in ports}
        self.states = {p["port_code"]: p["state"] for p in ports}
        self.mx_states = {p["port_code"]: {name for name in MX_STATES
                                           if plain(name) in plain(p["mexican_city"])}
                          for p in ports}
        self._index: dict[str, _Hit] = {}
        self._numbered: dict[int, set[str]] = {}
        for port in ports:
            code = port["port_code"]
            self._add(port["port_name"], {code}, "exact")
            for alias in filter(None, port["aliases"].split(";")):
                self._add(alias, {code}, "alias")
        for state in MX_STATES:
            across = {c for c, states in self.mx_states.items() if state in states}
            self._add(state, across, "mx_state")
        for row in places() if places_rows is None else places_rows:
            self._add(row["name"], _codes(row["port_codes"]), row["kind"],
                      row.get("note") or None)
        self._keys = sorted(self._index)
        self._longest = max(len(k.split()) for k in self._keys)

    def _add(self, name: str, codes, kind: str, note: str | None = None) -> None:
        hit = _Hit(frozenset(codes), kind, name, note if kind == "elsewhere" else None)
        for key in {plain(name), _strip_affixes(plain(name))}:
            if key:
                self._index[key] = self._index[key].merged(hit) if key in self._index else hit
        tokens = plain(name).split()
        number, _rest = _bridge_number(tokens)
        if number and codes and _BRIDGE_WORDS & set(tokens):
            self._numbered.setdefault(number, set()).update(codes)

    # -- reading one name -------------------------------------------------------------

    def _name(self, key: str) -> _Hit | None:
        """One name: a code, an indexed key, the key without affixes or trailing state."""
        if key in self.names:
            return _Hit(frozenset({key}), "exact", self.names[key])
        for candidate in (key, _strip_affixes(key)):
            if candidate in self._index:
                return self._index[candidate]
        base, qualifiers = _strip_qualifiers(key)
        if qualifiers and base and base != key:
            hit = self._name(base) or self._bridge(base) or self._segments(base)
            if hit:
                return self._within(hit, qualifiers)
        return None

    def _within(self, hit: _Hit, qualifiers: list[tuple[str, str]]) -> _Hit:
        codes = set(hit.codes)
        for kind, value in qualifiers:
            if kind == "US":
                codes = {c for c in codes if self.states[c] == value}
            elif kind == "MX":
                codes = {c for c in codes if value in self.mx_states[c]}
        if codes or not hit.codes:
            return _Hit(frozenset(codes), hit.kind, hit.label, hit.note, hit.held)
        where = " and ".join(STATES.get(v, v) for k, v in qualifiers if k != "country")
        ports = sorted({f"{self.names[c]} ({self.states[c]})" for c in hit.codes})
        return _Hit(frozenset(), "unknown", hit.label, (tuple(ports), where))

    def _bridge(self, key: str) -> _Hit | None:
        """A numbered bridge in any word order: 'laredo bridge 1', 'puente iii laredo'."""
        tokens = key.split()
        if not _BRIDGE_WORDS & set(tokens):
            return None
        number, rest = _bridge_number(tokens)
        if number is None:
            return None
        place = [t for t in rest if t not in _FILLERS]
        numbered = self._numbered.get(number, set())
        if not place:
            if not numbered:
                return None
            return _Hit(frozenset(numbered), "bridge", f"Bridge {_ROMAN[number]}", held=True)
        hit = self._name(" ".join(place)) or self._segments(" ".join(place))
        if hit is None or not hit.codes:
            return None
        return _Hit(frozenset(hit.codes & numbered or hit.codes), "bridge",
                    f"{hit.label} Bridge {_ROMAN[number]}")

    def _spans(self, tokens: list[str]):
        """Greedy longest names from the left: ``(start, end, hit or None)`` per span."""
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                key = " ".join(tokens[i:i + size])
                hit = self._index.get(key) or (
                    _Hit(frozenset({key}), "exact", self.names[key]) if key in self.names
                    else None)
                if hit:
                    yield i, i + size, hit
                    i += size
                    break
            else:
                yield i, i + 1, None
                i += 1

    def _segments(self, key: str) -> _Hit | None:
        """Every word a place name or a filler ('san ysidro pedwest')."""
        tokens = key.split()
        hits, bridge = [], bool(_BRIDGE_WORDS & set(tokens))
        for start, _end, hit in self._spans(tokens):
            if hit is None:
                if tokens[start] not in _FILLERS:
                    return None
                continue
            hits.append(hit)
        if len(hits) < 1 or (len(hits) == 1 and not bridge and len(tokens) == 1):
            return None
        combined = _combine(hits)
        if bridge and combined.codes and combined.kind not in ("shared", "elsewhere"):
            return _Hit(combined.codes, "bridge", combined.label)
        return combined

    def _read(self, value: str) -> _Hit | None:
        key = plain(value)
        if not key:
            return None
        if hit := self._name(key):
            return hit
        outer = re.sub(r"\([^)]*\)", " ", value)
        inner = re.findall(r"\(([^)]*)\)", value)
        parts = [p for p in re.split(r"\s+[-–—/:]\s+|\s*[–—]\s*", outer) if plain(p)]
        if len(parts) + len(inner) > 1:
            hits = [self._name(plain(p)) or self._bridge(plain(p)) or self._segments(plain(p))
                    for p in [*parts, *inner]]
            if hits := [h for h in hits if h is not None]:
                return _combine(hits)
        return self._bridge(key) or self._segments(key)

    def _in_text(self, value: str) -> _Hit | None:
        """A place name inside free text: after 'en', 'at', 'near'…, or alone before the
        first comma, colon, dash or bracket ("Tijuana: rechazados"). A misspelt name
        ("Calexico Est") is not read as its first word."""
        head = plain(re.split(r"[,;:()\[\]/]|\s[-–—]\s", value, maxsplit=1)[0])
        if head != plain(value):
            spans = [hit for _s, _e, hit in self._spans(head.split())]
            if len(spans) == 1 and spans[0] is not None and spans[0].codes \
                    and head not in _NOT_IN_TEXT:
                return spans[0]
        tokens = plain(value).split()
        found, cue = [], False
        for start, end, hit in self._spans(tokens):
            if hit is None:
                if tokens[start] in _CUES:
                    cue = True
                elif tokens[start] not in _FILLERS:
                    cue = False
                continue
            if cue and hit.codes and " ".join(tokens[start:end]) not in _NOT_IN_TEXT:
                found.append(hit)
            cue = False
        return _combine(found) if found else None

    # -- the public answers -----------------------------------------------------------

    def resolve(self, value: str) -> PortMatch:
        """Read one cell; a blank cell is ``PortMatch(None, kind="blank")`` with no message."""
        if not value.strip():
            return PortMatch(None, kind="blank")
        hit, found = self._read(value), None
        if hit is None:
            hit = self._in_text(value)
            found = hit.label if hit else None
        if hit is not None and hit.codes:
            return self._placed(value, hit, found)
        if hit is not None and hit.note and hit.kind == "elsewhere":
            return PortMatch.refused("port.elsewhere", value=value, where=hit.note)
        if hit is not None and hit.note:
            return PortMatch.refused("port.wrong_state", value=value, name=hit.label,
                                     ports=list(hit.note[0]), state=hit.note[1])
        if (state := resolve_state(value)) is not None:
            return PortMatch.refused("port.state_only", value=value, state=state)
        suggestion = self.suggest(value)
        if suggestion:
            return PortMatch.refused("port.unknown", suggestion, value=value)
        return PortMatch.refused("port.unknown_no_suggestion", value=value)

    def _placed(self, value: str, hit: _Hit, found: str | None) -> PortMatch:
        codes = tuple(sorted(hit.codes))
        if len(codes) == 1 and not hit.held and hit.kind != "mx_state":
            kind = hit.kind if hit.kind in KINDS else "alias"
            return PortMatch(codes[0], kind=kind, state=self.states[codes[0]], found=found)
        states = {self.states[c] for c in codes}
        return PortMatch.refused(
            "port.ambiguous", kind="ambiguous", value=value, candidates=list(codes),
            ports=[self.names[c] for c in codes], found=found,
            keep_state=states.pop() if len(states) == 1 else None,
            bridge=hit.label if hit.held else None)

    def suggest(self, value: str) -> str | None:
        """The port (or place) to write instead, only when a known name is close: within
        two edits (one for names of five letters or fewer) or sharing a distinctive word,
        and not as close to another place — "San Ysdro" suggests San Ysidro; "Santa Tecla"
        (El Salvador) and "International Bridge III" suggest nothing."""
        key = _strip_affixes(plain(value))
        if not key:
            return None
        words = set(key.split()) - _GENERIC
        close = []
        for name in difflib.get_close_matches(key, self._keys, n=8, cutoff=0.75):
            hit, edits = self._index[name], _distance(key, name)
            shared = {w for w in words & set(name.split()) if len(w) >= 4}
            if hit.codes and (edits <= (1 if min(len(key), len(name)) <= 5 else 2) or shared):
                close.append((edits, hit))
        if not close:
            return None
        nearest = min(edits for edits, _hit in close)
        hits = [hit for edits, hit in close if edits == nearest]
        if len({hit.codes for hit in hits}) > 1:
            return None  # as close to two different places: 'Calexico Est'
        codes = hits[0].codes
        return self.names[next(iter(codes))] if len(codes) == 1 else hits[0].label


def _bridge_number(tokens: list[str]) -> tuple[int | None, list[str]]:
    """The one bridge number among ``tokens`` (with 'no'/'num' before it dropped), else None."""
    numbers = [i for i, t in enumerate(tokens) if t in _NUMBERS]
    if len(numbers) != 1:
        return None, tokens
    at = numbers[0]
    start = at - 1 if at and tokens[at - 1] in _NUMBER_MARKS else at
    rest = tokens[:start] + tokens[at + 1:]
    return _NUMBERS[tokens[at]], [t for t in rest if t not in _BRIDGE_WORDS]


def _combine(hits: list[_Hit]) -> _Hit:
    """Names read together: the port they all name, else every port any of them names."""
    with_codes = [h for h in hits if h.codes]
    if not with_codes:
        return hits[0]
    common = frozenset.intersection(*(h.codes for h in with_codes))
    if common:
        best = min(with_codes, key=lambda h: (len(h.codes), _RANK.get(h.kind, 9)))
        return _Hit(common, best.kind, best.label, held=best.held and len(with_codes) == 1)
    labels = []
    for h in with_codes:
        if h.label not in labels:
            labels.append(h.label)
    return _Hit(frozenset().union(*(h.codes for h in with_codes)), "shared",
                " and ".join(labels))


def resolve_state(value: str) -> str | None:
    """Two-letter code for a border state written as code or name, else None."""
    return STATE_NAMES.get(plain(value))


# Written in the state column when the source says nowhere: the row loads unplaced, by
# choice, where a blank port and state would be rejected.
UNKNOWN_PLACE = {"unknown", "desconocido", "desconocida", "se desconoce", "not stated",
                 "no consta"}


def place_unknown(value: str) -> bool:
    """True for a state cell that says the place is unknown ("unknown", "desconocido")."""
    return plain(value) in UNKNOWN_PLACE


STATE_LIST = ", ".join(f"{code} ({name})" for code, name in STATES.items())
