"""The one module of the library that imports Streamlit: cached queries and shared state.

Query results are cached by (question, published copy, arguments): a new batch or a rollback
publishes a new copy, so the next rerun of every session reads fresh numbers. Only public
questions are cached here; nothing staff-only goes through this cache.
"""

from __future__ import annotations

import logging
import numbers
import re
import traceback
from pathlib import Path

import streamlit as st

from garita import auth, db, fields, queries
from garita.filters import Filters
from garita.i18n import N_, t

# The questions whose answers every visitor may see (cached for all sessions alike).
PUBLIC_QUESTIONS = frozenset(question.__name__ for question in (
    queries.filter_options, queries.headline, queries.by_port,
    queries.monthly, queries.yearly, queries.port_month, queries.by_group, queries.breakdown,
    queries.sources, queries.batches, queries.data_version, queries.export_rows,
    queries.count_incidents, queries.has_crossings, queries.by_port_with_traffic,
    queries.traffic_monthly, queries.traffic_range, queries.incident,
    queries.open_matches))


@st.cache_resource(max_entries=4, show_spinner=False)
def _reader(path: str):
    return db.connect_reader(Path(path))


def published_path() -> str:
    """The published copy to read now (re-read every rerun: it changes after each batch).

    Catches up a change a killed writer left unpublished; a damaged master is logged and
    the last published copy kept, so visitors still see data."""
    return str(db.published_file(db.db_path(), strict=False))


@st.cache_data(max_entries=512, ttl=3600, show_spinner=False)
def _ask(question: str, path: str, *args):
    con = _reader(path).cursor()
    try:
        return getattr(queries, question)(con, *args)
    finally:
        con.close()


def ask(question, *args):
    """Answer one of the public questions of ``garita.queries`` (the function itself, e.g.
    ``ask(queries.by_port, filters)``) for the current data."""
    name = getattr(question, "__name__", None)
    if name not in PUBLIC_QUESTIONS or getattr(queries, name) is not question:
        raise ValueError(f"{name or question!r} is not a public question")
    return _ask(name, reading_path(), *args)


def set_version(path: str | None) -> None:
    """Read an earlier published copy (``?version=N``) for the rest of this session's
    reruns, or the current data again (None)."""
    st.session_state["_version_path"] = path


def start_run() -> str:
    """Find the current published copy once at the start of a rerun: every number of one
    rerun then comes from the same copy (and the disk is asked once, not per question).
    Returns it."""
    st.session_state["_run_path"] = path = published_path()
    return path


def reading_path() -> str:
    """The published copy this visitor reads: the one ``?version=N`` chose, else the
    current one (as found at the start of this rerun)."""
    return (st.session_state.get("_version_path") or st.session_state.get("_run_path")
            or published_path())


def embedded() -> bool:
    """Whether the page is shown inside another site's page (``?embed=true``)."""
    return bool(st.context.is_embedded)


def incident(incident_id: str) -> dict | None:
    """One incident in full, or that it was withdrawn (``queries.incident``)."""
    return _ask("incident", reading_path(), incident_id)


@st.cache_data(max_entries=4, ttl=3600, show_spinner=False)
def _package(path: str) -> bytes:
    from garita import newsroom

    con = _reader(path).cursor()
    try:
        return newsroom.package_zip(con)
    finally:
        con.close()


def package_zip() -> bytes:
    """The whole public dataset as a zipped data package, for the data being read."""
    return _package(reading_path())


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # all ASCII punctuation: each may be escaped
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_JOINER = "\u2060"  # WORD JOINER: invisible, and breaks the patterns escapes cannot
_LINKABLE = re.compile(r"(?i)(?<=www)(?=\.)|(?=[:@])")


def plain(text) -> str:
    """Text from data, the URL or a loader message, made inert for Streamlit Markdown.

    It shows as typed and never becomes a link, image, colour, formula, icon, heading or
    HTML. Every ASCII punctuation mark is backslash-escaped (CommonMark allows it for each);
    line breaks become spaces, so no block syntax can start. Streamlit turns URLs, ``www.``,
    e-mail addresses, ``:emoji:`` and ``:material/icon:`` into links and icons after the
    escapes are read, so an invisible word joiner goes before every ``:`` and ``@`` and
    after ``www``.
    """
    one_line = _LINE_BREAKS.sub(" ", str(text))
    return _PUNCTUATION.sub(r"\\\1", _LINKABLE.sub(_JOINER, one_line))


def md(text: str, **values) -> str:
    """``t(text, **values)`` for a place Streamlit reads as Markdown (captions, messages,
    headers, labels): the template is ours, each value is passed through ``plain``.

    Numbers are left as they are, so format specs such as ``{n:,}`` still apply.
    """
    return t(text, **{name: value if isinstance(value, numbers.Number) else plain(value)
                      for name, value in values.items()})


LOG = logging.getLogger("garita")


def log_failure(where: str, exc: BaseException) -> None:
    """Log an error by kind and place only: messages can quote data, so they are left out."""
    frames = traceback.extract_tb(exc.__traceback__)
    places = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-4:]))
    LOG.error("page %s failed: %s at %s", where, type(exc).__name__, places)


def set_filters(filters: Filters) -> None:
    st.session_state["_filters"] = filters


def filters() -> Filters:
    """The filters the shared filter bar produced on this rerun."""
    return st.session_state.get("_filters", Filters())


def _all_sources(frame):
    """Each incident's source, or all of them ("A <url> | B <url>") when several sources
    reported it (``queries.export_rows`` column ``sources``)."""
    if "sources" not in frame:
        return frame["source"]
    several = frame["sources"].fillna("").str.contains(" | ", regex=False)
    return frame["sources"].where(several, frame["source"])


def incident_table(frame, height: int | None = None) -> None:
    """Incidents as a readable, citable table; every cell is shown as text, links as links."""
    import pandas as pd

    from garita.maps import type_label

    shown = frame.assign(
        incident_types=frame["incident_types"].fillna("").map(
            lambda codes: ", ".join(type_label(c) for c in codes.split(";") if c)),
        port_name=frame["port_name"].fillna(t("no port")),
        state=frame["state"].fillna("—"), date=frame["date"].replace("", t("no date")),
        people_count=frame["people_count"].map(
            lambda n: "—" if pd.isna(n) else f"{int(n):,}"),
        nationality=frame["nationality"].fillna("—"),
        permalink=frame["incident_id"].map(incident_address),
        # an incident reported by several sources (garita.matches) lists them all
        source=_all_sources(frame))
    # Short columns first and the long summary last, so the source and its link are on
    # screen at 1440 px without scrolling sideways. Headers are the fields' labels.
    label = {f.name: f.label for f in fields.public()}
    label["port_name"] = fields.field("port").label
    st.dataframe(
        shown[["date", "port_name", "state", "incident_types", "people_count", "nationality",
               "source", "source_url", "summary", "incident_id", "permalink"]],
        hide_index=True, width="stretch", height=height or "auto",
        column_config={
            "date": st.column_config.TextColumn(label["date"], help=t("As precise as known"),
                                                width=100),
            "port_name": st.column_config.TextColumn(label["port_name"], width=110),
            "state": st.column_config.TextColumn(label["state"], width=55),
            "incident_types": st.column_config.TextColumn(label["incident_types"], width=220),
            "people_count": st.column_config.TextColumn(
                label["people_count"], help=t("— where the source gives no count"),
                width="small"),
            "nationality": st.column_config.TextColumn(label["nationality"], width=100),
            "source": st.column_config.TextColumn(label["source"], width=200),
            "source_url": st.column_config.LinkColumn(label["source_url"],
                                                      display_text=t("open"), width=60),
            "summary": st.column_config.TextColumn(label["summary"], width="large"),
            "incident_id": label["incident_id"],
            "permalink": st.column_config.LinkColumn(
                t("Permalink"), display_text=t("open"), width=70,
                help=t("This incident's permanent address, to cite or share")),
        })


def port_table(per_port) -> None:
    """Ports with incidents, ranked, as a table."""
    from garita.maps import readable_types

    per_port = per_port.assign(top_types=per_port["top_types"].fillna("").map(readable_types))
    st.dataframe(
        per_port[["port_name", "state", "mexican_city", "incidents", "people", "top_types"]],
        hide_index=True, width="stretch",
        column_config={"port_name": t("Port"), "state": t("State"),
                       "mexican_city": t("Mexican city"), "incidents": t("Incidents"),
                       "people": t("People"), "top_types": t("Most frequent types")})


def staff_config() -> auth.StaffConfig:
    """Staff sign-in as configured in .streamlit/secrets.toml (off when there is none)."""
    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets file at all: staff pages stay off
        secrets = {}
    return auth.config_from_secrets(secrets)


def _user_email() -> str | None:
    try:
        return st.user.get("email") if st.user.is_logged_in else None
    except Exception:  # st.user without a configured provider
        return None


def current_staff() -> str | None:
    """The signed-in staff member, checked now on the server; None for anyone else."""
    config = staff_config()
    if config.oidc:
        email = _user_email()
        if config.is_staff_email(email):
            return email.strip().lower()
    user = st.session_state.get("_staff_user")
    if user and user in config.passwords:
        return user
    return None


def require_staff() -> str:
    """Re-check at the moment of a privileged action; raises PermissionError if not staff."""
    who = current_staff()
    if who is None:
        raise PermissionError(t("Only signed-in staff can do this. Sign in again."))
    return who


def staff_page() -> str:
    """Top of a staff page: the staff member, or a message and a stop for anyone else."""
    who = current_staff()
    if who is None:
        st.warning(t("This page is for signed-in staff."))
        st.stop()
    return who


def signed_in_but_not_staff() -> bool:
    config = staff_config()
    return config.oidc and _user_email() is not None and current_staff() is None


def staff_reader():
    """A fresh cursor for staff pages: staff answers never go through the shared cache."""
    return _reader(published_path()).cursor()


RATE_NOTE = N_("Incidents per million northbound travelers (pedestrians, personal-vehicle and bus "
             "passengers, from BTS) over the months in range. The incidents are those "
             "documented, not all that happened: a rate compares documentation, not risk. A "
             "rate is shown only where BTS traffic is known for every month in range; "
             "otherwise the port says 'traffic incomplete'. BTS counts Ysleta (2401) inside "
             "El Paso (2402) before 2020.")


def traffic_switch(where) -> bool:
    """The 'border traffic' switch; without BTS data loaded it says how to load it."""
    if not ask(queries.has_crossings):
        where.toggle(t("Border traffic (BTS)"), value=False, disabled=True, key="traffic_off")
        where.caption(t("To compare with traffic, load the official BTS Border Crossing Entry "
                        "Data export: python -m etl crossings FILE (see README)."))
        return False
    return where.toggle(t("Border traffic (BTS)"), key="traffic", bind="query-params",
                        help=t("Northbound travelers beside the incidents, and incidents per "
                               "million travelers where traffic is complete."))


def traffic_table(per_port) -> None:
    """Ports with incidents, travelers and rate (or why there is no rate)."""
    shown = per_port.assign(
        rate=[f"{r:.2f}" if ok else t("traffic incomplete") for r, ok in
              zip(per_port["per_million"], per_port["traffic_complete"])],
        travelers=per_port["travelers"].fillna(0).astype("int64"))
    st.dataframe(shown[["port_name", "state", "incidents", "travelers", "months_known",
                        "months", "rate"]], hide_index=True, width="stretch",
                 column_config={"port_name": t("Port"), "state": t("State"),
                                "incidents": t("Incidents"),
                                "travelers": st.column_config.NumberColumn(
                                    t("Northbound travelers"), format="localized"),
                                "months_known": t("Months with traffic"),
                                "months": t("Months in range"),
                                "rate": t("Incidents per million travelers")})
    st.caption(t(RATE_NOTE))


# Reports, once it is drawn and whenever it changes, the width of the container it is placed
# in and the window's height (rounded to 10 px, debounced), so a map can be fitted to the
# screen it is on. Constant code: it reads only sizes and sends nothing anywhere else.
_SCREEN_JS = """
export default function (component) {
  const { setStateValue, parentElement } = component;
  const host = parentElement.host || parentElement;
  let timer = null;
  const send = () => {
    const width = Math.round(host.getBoundingClientRect().width / 10) * 10;
    const height = Math.round(window.innerHeight / 10) * 10;
    const size = width + "x" + height;
    if (width > 0 && host.dataset.sent !== size) {
      host.dataset.sent = size;
      setStateValue("size", { width: width, height: height });
    }
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(send, 200); };
  const observer = new ResizeObserver(later);
  observer.observe(host);
  window.addEventListener("resize", later);
  send();
  return () => {
    clearTimeout(timer);
    observer.disconnect();
    window.removeEventListener("resize", later);
  };
}
"""


def screen_size(key: str) -> dict | None:
    """``{"width": …, "height": …}``: the width of the container this is called in and the
    window's height, in CSS pixels, as the browser reports them. Before it has (the first
    run of a page, or a test without a browser) a phone's size if the browser says it is
    a phone, else None."""
    probe = st.components.v2.component("garita_screen_size", js=_SCREEN_JS)
    result = probe(key=key, on_size_change=lambda: None, height=0)
    size = (result or {}).get("size") if result is not None else None
    if isinstance(size, dict) and isinstance(size.get("width"), numbers.Number) \
            and isinstance(size.get("height"), numbers.Number):
        return {"width": int(size["width"]), "height": int(size["height"])}
    agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    if "Mobi" in agent or "iPhone" in agent or "Android" in agent:
        return {"width": 360, "height": 780}
    return None


# --- for the newsroom: earlier versions, citations, embeds (text from garita.newsroom) ---

def query_pairs() -> list[tuple[str, str]]:
    """The page's query parameters as (name, value) pairs, repeated names kept."""
    return [(key, value) for key in st.query_params for value in st.query_params.get_all(key)]


def pin_version() -> bool:
    """Honour ``?version=N``: read that published copy, with a note when newer data exists;
    when it is not kept (or not valid), say so and return False: the page shows no numbers."""
    from garita import newsroom

    st.session_state.pop("_version_path", None)
    asked = st.query_params.get("version")
    if asked is None:
        return True
    master = db.db_path()
    current = queries_version(st.session_state.get("_run_path") or published_path())
    try:
        version = int(asked)
    except ValueError:
        st.error(md("'{v}' is not a data version: it is a whole number such as {c}.",
                    v=asked, c=current))
        return False
    if version == current:
        return True
    path = newsroom.version_file(master, version) if version < current else None
    if path is None:
        st.error(plain(newsroom.version_message(version, current,
                                                newsroom.kept_versions(master))))
        return False
    set_version(str(path))
    st.info(t("You are viewing data version {v}, as cited. Newer data exists (version {c}).",
              v=version, c=current))
    st.link_button(t("Open the current view"), current_address(version=None))
    return True


def queries_version(path: str) -> int:
    """The data version of a published copy."""
    return _ask("data_version", path)["version"]


def current_address(*, version: int | None = None, embed: bool = False,
                    page: str | None = None) -> str:
    """The address of this view (filters and language in the query), optionally pinned to
    a data version or made for an embed."""
    from garita import newsroom

    here = st.session_state.get("_page_path", "")
    root = newsroom.app_root(st.context.url, here)
    return newsroom.view_address(root, page or here, query_pairs(), version=version,
                                 embed=embed)


def set_page_path(slug: str, url_path: str, start: str) -> None:
    """Remember this page's name (``slug``), the path it is served at (empty for the page
    the app opens first, ``start``), for the addresses built on this rerun."""
    st.session_state["_page_slug"] = slug
    st.session_state["_page_path"] = url_path
    st.session_state["_incidents_path"] = "" if start == "incidents" else "incidents"


CITE_OPEN, EMBED_OPEN = "cite_open", "embed_open"  # the boxes' keys: open or closed


def cite_and_embed(current: Filters, page_title: str, embeddable: bool) -> None:
    """The "Cite this view" box on every page and, where the page can be embedded,
    "Embed this view" with an ``<iframe>`` snippet (both plain text in code boxes)."""
    import datetime as dt

    from garita import newsroom

    version = queries_version(reading_path())
    # Closed boxes are drawn empty and filled when opened (one rerun): a code box makes
    # every visitor's browser load its 1.5 MB highlighter, for text few of them open.
    cite = st.expander(t("Cite this view"), key=CITE_OPEN, on_change="rerun")
    if cite.open:
        with cite:
            one = st.query_params.get("id") \
                if st.session_state.get("_page_slug") == "incidents" else None
            st.code(newsroom.citation(current, version, dt.date.today(),
                                      current_address(version=version), incident_id=one),
                    language=None, wrap_lines=True)
            st.caption(t("The address opens these numbers as of data version {v}, even "
                         "after newer data is loaded.", v=version))
    if not embeddable:
        return
    embed = st.expander(t("Embed this view"), key=EMBED_OPEN, on_change="rerun")
    if embed.open:
        with embed:
            st.code(newsroom.embed_snippet(current_address(version=version, embed=True),
                                           f"Garita: {newsroom.title(current)}"),
                    language="html", wrap_lines=True)
            st.caption(t("Paste this into your page: it shows only this {what}, its "
                         "headline, the source and a link back, with these filters and "
                         "language, as of data version {v}.", what=page_title, v=version))


def controls_place(where):
    """Where a page's controls go: ``where``, or in an embed the hidden sidebar, so they
    still read their values from the URL but only the figure shows."""
    return st.sidebar if embedded() else where


def embed_end(current: Filters) -> None:
    """Where an embeddable page's figure ends: when embedded, the headline sentence, the
    source line, a link to the full view, and nothing more of the page."""
    if embedded():
        embed_view(current)
        st.stop()


def embed_view(current: Filters) -> None:
    """What an embedded view adds under its figure: the headline sentence, the source line
    and a link to the full view."""
    from garita import words

    numbers = ask(queries.headline, current)
    names = list(ask(queries.by_port, current)["port_name"])
    st.markdown("**" + plain(words.sentence(numbers, current, names)) + "**")
    st.caption(t(words.SOURCE_NOTE))
    pinned = st.query_params.get("version")
    st.link_button(t("Open the full view"),
                   current_address(version=int(pinned) if pinned and pinned.isdigit() else None))


# Constant CSS, no data: an embedded view hides the sidebar that still holds its filters.
HIDE_SIDEBAR = ("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
                "[data-testid='stExpandSidebarButton']{display:none !important}</style>")


def incident_address(incident_id: str) -> str:
    """The permanent address of one incident: ``<app>/incidents?id=CBP-INC-011``."""
    import urllib.parse

    from garita import i18n, newsroom

    root = newsroom.app_root(st.context.url, st.session_state.get("_page_path", ""))
    query = [("id", incident_id)] + ([("lang", i18n.language())]
                                     if i18n.language() != i18n.default_language() else [])
    page = st.session_state.get("_incidents_path", "incidents")
    return f"{root}/{page}?{urllib.parse.urlencode(query)}"


def _web_link(url) -> str | None:
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) \
        else None


def incident_permalink(incident_id: str) -> None:
    """One incident in full at its permanent address; a withdrawn one says when it was
    withdrawn; an unknown id says so."""
    from garita.maps import type_label

    found = incident(incident_id[:200])
    if found is None:
        st.error(md("No incident has the id {id}. Check the address, or find the incident "
                    "on the Incidents page.", id=incident_id[:200]))
        return
    st.subheader(md("Incident {id}", id=found["incident_id"]))
    if found["withdrawn"]:
        when = found["rolled_back_at"]
        st.warning(md("This incident was withdrawn on {when}: the batch that loaded it "
                      "(batch {b}) was rolled back, so it is no longer in any count, chart "
                      "or download.", when=f"{when:%Y-%m-%d %H:%M}" if when else "—",
                      b=found["batch_id"]))
        return
    label = {f.name: f.label for f in fields.public()}
    people = found["people_count"]
    port = found["port_name"]
    if port and found.get("mexican_city"):
        port = f"{port}, {found['state']} ({found['mexican_city']})"
    rows = [(label["date"], found["date_as_known"] or t("no date")),
            (label["date_precision"], found["date_precision"]),
            (t("Port"), port or t("no port")), (label["state"], found["state"] or "—"),
            (label["people_count"], "—" if people is None else f"{int(people):,}"),
            (label["group_type"], found["group_type"] or "—"),
            (label["children"], found["children"] or "—"),
            (label["nationality"], found["nationality"] or "—"),
            (label["incident_types"], ", ".join(type_label(c) for c in found["incident_types"])),
            (label["outcome"], found["outcome"] or "—"),
            (label["summary"], found["summary"] or "—"),
            (label["source"], found["source"] or "—"),
            (label["source_url"], found["source_url"] or "—"),
            (t("Batch"), t("batch {b}, loaded {when}", b=found["batch_id"],
                           when=f"{found['loaded_at']:%Y-%m-%d}" if found["loaded_at"]
                           else "—"))]
    listed = {"date", "date_precision", "port_code", "state", "people_count", "group_type",
              "children", "nationality", "incident_types", "outcome", "summary", "source",
              "source_url", "incident_id"}
    for f in fields.public():  # a field declared later shows too
        value = found.get(f.name)
        if f.name not in listed and value is not None:
            rows.insert(-1, (f.label, "; ".join(map(str, value)) if isinstance(value, list)
                             else value))
    st.markdown("  \n".join(f"**{plain(name)}:** {plain(value)}" for name, value in rows))
    link = _web_link(found["source_url"])
    if link:
        st.link_button(t("Open the source"), link)
    st.link_button(t("All incidents"), incident_address("").split("?")[0])
