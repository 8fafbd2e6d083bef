"""Port names as staff write them, to CBP port codes: never guessed silently.

A value matches a port by code, canonical name or any alias (English or Spanish crossing
names from ``data/ports.csv``), ignoring case, accents, spacing, punctuation and suffixes
such as ", CA", "POE" or "port of entry". ``El Paso - Paso del Norte`` and
``San Ysidro (PedEast)`` match when every part that names a port names the same one.
A value that matches nothing gets the closest known name as a suggestion.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from garita.reference import STATES

_STATE_WORDS = {"ca", "az", "nm", "tx", "california", "arizona", "new mexico", "texas",
                "nuevo mexico", "tejas", "usa", "us", "eeuu", "eua"}
_SUFFIXES = ("port of entry", "land port of entry", "lpoe", "poe", "port", "puerto de entrada",
             "border crossing", "crossing", "international bridge", "bridge", "usa", "us")
_PREFIXES = ("garita de", "garita", "puerto de entrada de", "puerto de", "port of")
STATE_NAMES = {
    "ca": "CA", "california": "CA", "az": "AZ", "arizona": "AZ", "nm": "NM",
    "new mexico": "NM", "nuevo mexico": "NM", "tx": "TX", "texas": "TX", "tejas": "TX",
}


def plain(value: str) -> str:
    """Lower case, no accents, '&' as 'and', punctuation as spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _strip_affixes(key: str) -> str:
    changed = True
    while changed and key:
        changed = False
        for suffix in (*_SUFFIXES, *_STATE_WORDS):
            if key.endswith(" " + suffix) and len(key) > len(suffix) + 1:
                key, changed = key[: -len(suffix) - 1], True
        for prefix in _PREFIXES:
            if key.startswith(prefix + " ") and len(key) > len(prefix) + 1:
                key, changed = key[len(prefix) + 1:], True
    return key


@dataclass(frozen=True)
class PortMatch:
    """The outcome of resolving one value: a code, or a message and a suggestion."""

    code: str | None
    message: str | None = None
    suggestion: str | None = None


class PortIndex:
    """Resolves port names and codes against the ports of entry."""

    def __init__(self, ports):
        self.names = {p["port_code"]: p["port_name"] for p in ports}
        self.states = {p["port_code"]: p["state"] for p in ports}
        index: dict[str, set[str]] = {}
        for port in ports:
            code = port["port_code"]
            names = [port["port_name"], *filter(None, port["aliases"].split(";"))]
            for name in names:
                for key in {plain(name), _strip_affixes(plain(name))}:
                    if key:
                        index.setdefault(key, set()).add(code)
        self._index = {key: codes for key, codes in index.items()}
        self._keys = sorted(self._index)

    def _lookup(self, key: str) -> set[str]:
        if key in self.names:
            return {key}
        return self._index.get(key) or self._index.get(_strip_affixes(key)) or set()

    def _codes_for(self, value: str) -> set[str]:
        key = plain(value)
        if not key:
            return set()
        if codes := self._lookup(key):
            return codes
        outer = re.sub(r"\([^)]*\)", " ", value)
        inner = re.findall(r"\(([^)]*)\)", value)
        parts = [p for p in re.split(r"\s+[-–—/:]\s+|\s*[–—]\s*", outer) if plain(p)]
        found: set[str] = set()
        for part in [*parts, *inner]:
            found |= self._lookup(plain(part))
        return found

    def resolve(self, value: str) -> PortMatch:
        """Match one cell; a blank cell is ``PortMatch(None)`` with no message."""
        if not value.strip():
            return PortMatch(None)
        codes = self._codes_for(value)
        if len(codes) == 1:
            return PortMatch(next(iter(codes)))
        if len(codes) > 1:
            names = " or ".join(sorted(self.names[c] for c in codes))
            return PortMatch(None, f"'{value}' could be {names}: write the port's name or code.")
        suggestion = self.suggest(value)
        hint = f": did you mean {suggestion}?" if suggestion else ". Check the spelling, or " \
            "leave the port blank and fill in the state."
        return PortMatch(None, f"'{value}' is not a known port of entry{hint}", suggestion)

    def suggest(self, value: str) -> str | None:
        key = _strip_affixes(plain(value))
        close = difflib.get_close_matches(key, self._keys, n=1, cutoff=0.72)
        if not close:
            return None
        codes = self._index[close[0]]
        return self.names[next(iter(codes))] if len(codes) == 1 else None


def resolve_state(value: str) -> str | None:
    """Two-letter code for a border state written as code or name, else None."""
    return STATE_NAMES.get(plain(value))


STATE_LIST = ", ".join(f"{code} ({name})" for code, name in STATES.items())
