"""Possible matches: the same incident reported by two sources, found, scored and decided.

Exact duplicates never reach ``incidents`` (the loader's fingerprint). These are the near
ones — a day apart, "2" against "a couple", another summary — that only a person can
decide. ``candidates`` finds them with a blocking join in DuckDB and a transparent score
(points with a reason each); staff decide with ``decide``, kept in ``match_decisions`` and
the audit log. Incidents decided "same" form one group counted once (the views
``match_groups`` and ``incidents_counted``, see ``garita.db``).

Why not Splink: it is light to install (a 2.2 MB wheel needing duckdb, pyarrow, sqlglot),
but its Fellegi–Sunter weights must be estimated from the data (EM or labelled pairs), and a
few hundred incidents cannot estimate them; its match weights are harder for staff to read
than "same port, 1 day apart"; it writes its working tables into the database it links,
and Garita's readers open published copies read-only. A blocking join does the work: two
incidents are compared only when they share a place (port, or state when neither has a
port) and a month their dates allow, then scored in SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from garita import db

DECISIONS = ("same", "different")
MIN_SCORE = 5        # below this a pair is not worth a reviewer's time
MAX_DAYS_APART = 3   # two incidents dated to the day may be this many days apart

# Words that say nothing about which incident it was (English and Spanish), and the words
# that say the same thing in both languages, folded to one token. Summaries are compared
# by the share of tokens they have in common after lower-casing, removing accents, a plural
# "s" and these: cheap, explainable, and enough to see a translated summary as similar.
STOPWORDS = frozenset("""
a an and are as at be been but by for from had has have he her his in into is it its of on
or our she that the their them there they this to told was were with who away after before
el la los las un una unos unas y o de del al en con por para que se su sus les le lo fue
fueron era eran estaba estaban hay no si pero como mas muy ya sin sobre entre cuando donde
""".split())
_SYNONYMS = {
    "reject": "turned rechazado rechazada rechazaron rechazo denied negaron negado negada "
              "refused expulsado devuelto devuelta devolvieron",
    "asylum": "asilo",
    "mother": "madre mama",
    "father": "padre papa",
    "child": "children hijo hija nino nina kid menor minor son daughter",
    "family": "familia",
    "woman": "women mujer",
    "man": "men hombre",
    "bridge": "puente",
    "officer": "officers agent agente oficial cbp guard guardia",
    "threat": "threatened amenaza amenazaron amenazado amenazada",
    "honduras": "honduran hondurena hondureno",
    "guatemala": "guatemalan guatemalteca guatemalteco",
    "salvador": "salvadoran salvadorena salvadoreno",
    "cuba": "cuban cubana cubano",
    "venezuela": "venezuelan venezolana venezolano",
    "haiti": "haitian haitiana haitiano",
    "mexico": "mexican mexicana mexicano",
    "two": "dos couple pareja",
    "three": "tres",
    "four": "cuatro",
    "wait": "waiting waited esperar espera esperaron esperando",
    "capacity": "capacidad full lleno",
    "said": "dijeron dijo told",
    "port": "garita puerto",
    "pregnant": "embarazada",
    "sick": "ill enfermo enferma",
    "night": "noche",
    "day": "dia",
    "return": "returned regresaron regresado regresada sent enviado enviados",
}
SYNONYMS = {word: canon for canon, words in _SYNONYMS.items() for word in words.split()}


@dataclass(frozen=True)
class Candidate:
    """Two incidents that may be the same, with the score and the reasons for it."""

    a: dict
    b: dict
    score: int
    parts: tuple[tuple[str, dict], ...]   # see ``reasons``

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons in English ("same port", "1 day apart", "2 vs 3 people" …)."""
        return tuple(text.format(**values) for text, values in self.parts)

    @property
    def ids(self) -> tuple[str, str]:
        return self.a["incident_id"], self.b["incident_id"]

    def as_dict(self) -> dict:
        return {"a": self.a["incident_id"], "b": self.b["incident_id"], "score": self.score,
                "reasons": list(self.reasons), "incidents": [self.a, self.b]}


# Each incident once, with its period (first and last day its date allows), its place key
# and its summary's tokens. Incidents known only to the year, or not dated, are not matched.
_BASE = """
    SELECT i.incident_id, i.fingerprint, i.batch_id, i.source, i.source_url, i.date,
           i.date_precision, i.port_code, i.state, i.people_count, i.group_type,
           lower(trim(i.nationality)) AS nat, i.nationality, i.incident_types, i.summary,
           coalesce(i.port_code, 'state ' || i.state) AS place,
           i.date AS first_day,
           CASE i.date_precision WHEN 'day' THEN i.date ELSE last_day(i.date) END AS last_day,
           list_distinct(list_filter(list_transform(
               string_split_regex(lower(strip_accents(coalesce(i.summary, ''))), '[^a-z0-9]+'),
               lambda w: coalesce(list_extract($syn_to, list_position($syn_from,
                        CASE WHEN length(w) > 4 THEN regexp_replace(w, 's$', '') ELSE w END)),
                    CASE WHEN length(w) > 4 THEN regexp_replace(w, 's$', '') ELSE w END)),
               lambda w: length(w) > 1 AND NOT list_contains($stop, w))) AS tokens,
           CASE i.date_precision WHEN 'day' THEN list_distinct([
               date_trunc('month', i.date - INTERVAL 3 DAY)::DATE,
               date_trunc('month', i.date + INTERVAL 3 DAY)::DATE])
               ELSE [i.date] END AS months
    FROM incidents i
    WHERE i.date_precision IN ('day', 'month') AND i.date IS NOT NULL
      AND (i.port_code IS NOT NULL OR i.state IS NOT NULL)"""

# Pairs sharing a place and a month, from different batches or sources, not yet decided
# and not already in one group (the earlier batch's incident first); then the points.
_PAIRS = f"""
    WITH base AS MATERIALIZED ({_BASE}),
    keyed AS (SELECT *, unnest(months) AS month FROM base),
    pairs AS (
        SELECT DISTINCT a.fingerprint AS a_fp, b.fingerprint AS b_fp,
               CASE WHEN a.batch_id < b.batch_id OR (a.batch_id = b.batch_id
                    AND a.incident_id < b.incident_id) THEN a.fingerprint
                    ELSE b.fingerprint END AS first_fp
        FROM keyed a JOIN keyed b ON a.place = b.place AND a.month = b.month
             AND a.fingerprint < b.fingerprint
        WHERE (a.batch_id <> b.batch_id OR a.source IS DISTINCT FROM b.source)
          AND CASE WHEN a.date_precision = 'day' AND b.date_precision = 'day'
                   THEN abs(date_diff('day', a.date, b.date)) <= {MAX_DAYS_APART}
                   ELSE a.first_day <= b.last_day AND b.first_day <= a.last_day END),
    open AS (
        SELECT p.* FROM pairs p
        WHERE NOT EXISTS (SELECT 1 FROM match_decisions d
                          WHERE d.a_key = p.a_fp AND d.b_key = p.b_fp)
          AND NOT EXISTS (SELECT 1 FROM match_groups ga JOIN match_groups gb
                              ON ga.primary_key = gb.primary_key
                          WHERE ga.fingerprint = p.a_fp AND gb.fingerprint = p.b_fp)),
    scored AS (
        SELECT a.incident_id AS a_id, b.incident_id AS b_id,
               a.port_code IS NOT NULL AS same_port,
               CASE WHEN a.date_precision = 'day' AND b.date_precision = 'day'
                    THEN abs(date_diff('day', a.date, b.date)) END AS days_apart,
               a.date_precision = 'month' AND b.date_precision = 'month' AS same_month,
               a.people_count AS a_people, b.people_count AS b_people,
               a.nat AS a_nat, b.nat AS b_nat, a.nationality AS a_nationality,
               b.nationality AS b_nationality, a.group_type AS a_group,
               b.group_type AS b_group,
               list_intersect(a.incident_types, b.incident_types) AS shared_types,
               len(a.incident_types) > 0 AND len(b.incident_types) > 0 AS both_typed,
               a.fingerprint AS first_key, b.fingerprint AS second_key
        FROM open p JOIN base a ON a.fingerprint = p.first_fp
             JOIN base b ON b.fingerprint = CASE WHEN p.first_fp = p.a_fp THEN p.b_fp
                                                 ELSE p.a_fp END),
    points AS (
        SELECT *,
            CASE WHEN same_port THEN 2 ELSE 1 END AS p_place,
            CASE WHEN days_apart = 0 THEN 3 WHEN days_apart = 1 THEN 2
                 WHEN days_apart IS NOT NULL THEN 1 ELSE 1 END AS p_date,
            CASE WHEN a_people IS NULL OR b_people IS NULL THEN 0
                 WHEN a_people = b_people THEN 2
                 WHEN abs(a_people - b_people) <= greatest(1, greatest(a_people, b_people) // 3)
                 THEN 1 ELSE -2 END AS p_people,
            CASE WHEN a_nat IS NULL OR b_nat IS NULL OR 'unknown' IN (a_nat, b_nat) THEN 0
                 WHEN a_nat = b_nat THEN 2 ELSE -4 END AS p_nat,
            CASE WHEN a_group IS NULL OR b_group IS NULL THEN 0
                 WHEN a_group = b_group THEN 1 ELSE -1 END AS p_group,
            CASE WHEN len(shared_types) > 0 THEN 1 WHEN both_typed THEN -1 ELSE 0 END
                AS p_types
        FROM scored),
    -- summaries are compared only where their 3 points at most could reach the minimum
    worded AS (
        SELECT p.*, len(list_intersect(a.tokens, b.tokens)) AS words_shared,
               len(list_distinct(list_concat(a.tokens, b.tokens))) AS words_all
        FROM points p JOIN base a ON a.fingerprint = p.first_key
             JOIN base b ON b.fingerprint = p.second_key
        WHERE p_place + p_date + p_people + p_nat + p_group + p_types + 3 >= {MIN_SCORE}),
    summed AS (
        SELECT *,
            CASE WHEN words_all = 0 THEN 0
                 WHEN words_shared / words_all >= 0.5 THEN 3
                 WHEN words_shared / words_all >= 0.3 THEN 2
                 WHEN words_shared / words_all >= 0.15 THEN 1 ELSE 0 END AS p_summary
        FROM worded)
    SELECT *, p_place + p_date + p_people + p_nat + p_group + p_types + p_summary AS score
    FROM summed WHERE p_place + p_date + p_people + p_nat + p_group + p_types + p_summary
        >= {MIN_SCORE}"""

_SHOWN = ("incident_id", "date", "date_precision", "port_code", "state", "people_count",
          "nationality", "group_type", "incident_types", "summary", "source", "source_url",
          "batch_id")


def _params() -> dict:
    return {"syn_from": list(SYNONYMS), "syn_to": list(SYNONYMS.values()),
            "stop": sorted(STOPWORDS)}


def open_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many candidate pairs wait for a decision."""
    return db.one(con, f"SELECT count(*) FROM ({_PAIRS})", _params())[0]


def candidates(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[Candidate]:
    """The open candidate pairs, best first, each with both incidents and the reasons."""
    page = "" if limit is None else f" LIMIT {int(limit)}"
    rows = con.execute(f"SELECT * FROM ({_PAIRS}) ORDER BY score DESC, a_id, b_id{page}",
                       _params())
    names = [c[0] for c in rows.description]
    found = [dict(zip(names, row)) for row in rows.fetchall()]
    ids = sorted({r["a_id"] for r in found} | {r["b_id"] for r in found})
    records = _incidents(con, ids)
    return [Candidate(records[r["a_id"]], records[r["b_id"]], int(r["score"]), reasons(r))
            for r in found]


def _incidents(con, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    rows = con.execute(f"SELECT {', '.join(_SHOWN)} FROM incidents "
                       "WHERE incident_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    out = {}
    for row in rows.fetchall():
        record = dict(zip(_SHOWN, row))
        record["date"] = _as_known(record["date"], record["date_precision"])
        record["incident_types"] = list(record["incident_types"] or [])
        out[record["incident_id"]] = record
    return out


def _as_known(date: dt.date | None, precision: str) -> str:
    if date is None:
        return ""
    return {"day": f"{date:%Y-%m-%d}", "month": f"{date:%Y-%m}", "year": f"{date:%Y}"
            }.get(precision, "")


def reasons(row: dict) -> tuple[tuple[str, dict], ...]:
    """Why a pair scored what it did: (English text with ``{names}``, values) pairs, so a
    page can translate each (``i18n.t(text, **values)``)."""
    out: list[tuple[str, dict]] = [("same port", {}) if row["same_port"]
                                   else ("same state, no port", {})]
    days = row["days_apart"]
    if days is None:
        out.append(("same month", {}) if row["same_month"] else ("a day inside a month", {}))
    else:
        out.append(("same day", {}) if days == 0 else ("1 day apart", {}) if days == 1
                   else ("{n} days apart", {"n": days}))
    if row["p_nat"] > 0:
        out.append(("same nationality", {}))
    elif row["p_nat"] < 0:
        out.append(("{a} vs {b}", {"a": row["a_nationality"], "b": row["b_nationality"]}))
    if row["a_people"] is not None and row["b_people"] is not None:
        out.append(("{n} people each", {"n": row["a_people"]})
                   if row["a_people"] == row["b_people"] else
                   ("{a} vs {b} people", {"a": row["a_people"], "b": row["b_people"]}))
    if row["p_group"] > 0:
        out.append(("same group", {}))
    elif row["p_group"] < 0:
        out.append(("{a} vs {b}", {"a": row["a_group"], "b": row["b_group"]}))
    if row["p_types"] > 0:
        out.append(("shared type: {types}", {"types": ", ".join(row["shared_types"])}))
    elif row["p_types"] < 0:
        out.append(("no type in common", {}))
    if row["p_summary"] > 0:
        share = round(100 * row["words_shared"] / row["words_all"])
        out.append(("summaries share {share}% of their words", {"share": share}))
    return tuple(out)


def find(con: duckdb.DuckDBPyConnection, incident_id: str) -> str:
    """The fingerprint of an incident by its id; LookupError if there is none."""
    row = db.one(con, "SELECT fingerprint FROM incidents WHERE incident_id = ?", [incident_id])
    if row is None:
        raise LookupError(f"There is no incident {incident_id}. `python -m etl matches` "
                          "lists the open pairs with their ids.")
    return row[0]


def decide(master: Path, first: str, second: str, decision: str, who: str) -> str:
    """Record a decision on two incidents (by id): ``same`` links them into one incident
    with several sources; ``different`` keeps them apart. Either way the pair is not asked
    again, also after re-loads. Kept with who and when, and in the audit log."""
    if decision not in DECISIONS:
        raise ValueError(f"Unknown decision {decision!r}: use same or different.")
    if first == second:
        raise ValueError("Choose two different incidents.")
    with db.writer(master) as con:
        keys = sorted([(find(con, first), first), (find(con, second), second)])
        (a_key, a_id), (b_key, b_id) = keys
        with db.transaction(con):
            con.execute("INSERT OR REPLACE INTO match_decisions VALUES (?, ?, ?, ?, ?)",
                        [a_key, b_key, decision, who, dt.datetime.now().replace(microsecond=0)])
            db.audit(con, who, f"match_{decision}", None, f"incidents {a_id} and {b_id}")
            db.bump_version(con)
    if decision == "same":
        return f"Incidents {a_id} and {b_id} are one incident now, with both sources."
    return f"Incidents {a_id} and {b_id} are kept as different incidents."


def decisions(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    """The decisions taken, newest first, with the incidents' ids where they are loaded."""
    rows = con.execute("""
        SELECT d.decision, d.decided_by, d.decided_at, a.incident_id, b.incident_id
        FROM match_decisions d LEFT JOIN incidents a ON a.fingerprint = d.a_key
             LEFT JOIN incidents b ON b.fingerprint = d.b_key
        ORDER BY d.decided_at DESC LIMIT ?""", [int(limit)]).fetchall()
    return [dict(zip(("decision", "decided_by", "decided_at", "a", "b"), row)) for row in rows]


def note(linked: int, waiting: int) -> str:
    """In words, for the headline and Data & sources: how many filtered incidents more than
    one source reported (``queries.headline``'s ``linked``) and how many possible matches
    wait for review (``queries.open_matches``); "" if neither."""
    from garita.i18n import tn

    parts = []
    if linked:
        parts.append(tn("{n} incident reported by more than one source, counted once",
                        "{n} incidents reported by more than one source, each counted once",
                        linked))
    if waiting:
        parts.append(tn("{n} possible match not yet reviewed",
                        "{n} possible matches not yet reviewed", waiting))
    return " · ".join(parts)
