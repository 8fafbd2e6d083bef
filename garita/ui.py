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
from garita.i18n import t

# The questions whose answers every visitor may see (cached for all sessions alike).
PUBLIC_QUESTIONS = frozenset(question.__name__ for question in (
    queries.filter_options, queries.headline, queries.by_port, queries.unmapped_count,
    queries.monthly, queries.yearly, queries.port_month, queries.by_group, queries.breakdown,
    queries.sources, queries.batches, queries.data_version, queries.export_rows,
    queries.count_incidents, queries.has_crossings, queries.by_port_with_traffic,
    queries.traffic_monthly, queries.traffic_range))


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
    return _ask(name, published_path(), *args)


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
        nationality=frame["nationality"].fillna("—"))
    # Short columns first and the long summary last, so the source and its link are on
    # screen at 1440 px without scrolling sideways. Headers are the fields' labels.
    label = {f.name: f.label for f in fields.public()}
    label["port_name"] = fields.field("port").label
    st.dataframe(
        shown[["date", "port_name", "state", "incident_types", "people_count", "nationality",
               "source", "source_url", "summary", "incident_id"]],
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


RATE_NOTE = ("Incidents per million northbound travelers (pedestrians, personal-vehicle and bus "
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
