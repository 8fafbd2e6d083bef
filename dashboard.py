"""Garita's entry point: page setup, navigation, the shared filter bar, headline and footer."""

from __future__ import annotations

import os

import streamlit as st

from garita import db, i18n, queries, ui, words
from garita.filters import GROUPS, Filters, month_span
from garita.i18n import t
from garita.maps import type_label

# An emoji icon is drawn in the browser; a ":material/...:" page icon is fetched from a font
# host, and no visitor's browser may contact any host but the app.
st.set_page_config(page_title="Garita", page_icon="📍", layout="wide")

FILTER_KEYS = ("months", "states", "offices", "ports", "types", "nat", "groups")


def choose_language() -> None:
    """English / Español, first in the sidebar and kept in the URL as ``?lang=es``, so a
    shared link opens in the language it was shared in. A first visit without ``lang``
    follows the browser's language when it is Spanish, else the server's default.

    Kept in the URL by hand: a bound widget would write the label (``Español``), not the
    code that a link should carry.
    """
    default = i18n.default_language()
    if "lang" not in st.session_state:
        linked = st.query_params.get("lang")
        st.session_state["lang"] = (linked if linked in i18n.LANGUAGES else
                                    i18n.from_locale(st.context.locale) or default)
    lang = st.sidebar.radio(t("Language"), list(i18n.LANGUAGES), key="lang",
                            format_func=i18n.LANGUAGES.get, horizontal=True,
                            label_visibility="collapsed")
    if lang != default:
        st.query_params["lang"] = lang
    else:
        st.query_params.pop("lang", None)
    i18n.set_language(lang)


def reset_filters(months: list[str]) -> None:
    for key in FILTER_KEYS:
        st.session_state[key] = (months[0], months[-1]) if key == "months" and months else []


def follow_the_data(months: list[str], nationalities: list[str]) -> tuple[list[str], list[str]]:
    """Options for the month slider and the nationalities, so that an untouched filter means
    "all" whatever the data becomes and a chosen one stays as chosen.

    After a load or a rollback an open session still holds the slider's old value. If that
    was the whole old span (never moved), it becomes the whole new span; a range the user
    chose (here or in a shared link) is kept, its months offered even where the data no
    longer reaches. Chosen nationalities stay offered too.
    """
    state = st.session_state
    span = (months[0], months[-1]) if months else None
    previous = state.get("_months_span")
    chosen = tuple(state["months"]) if state.get("months") else None
    if chosen and previous and chosen == tuple(previous):
        chosen = None
        del state["months"]  # the slider starts again at its default: the whole new span
    state["_months_span"] = span
    if chosen is None and "months" not in state:
        linked = st.query_params.get_all("months")
        chosen = tuple(linked) if len(linked) == 2 else None
    if chosen and months:
        try:
            months = month_span(min(months[0], chosen[0]), max(months[-1], chosen[1]))
        except ValueError:  # a link with something else than months: the widget ignores it
            pass
    kept = [n for n in [*(state.get("nat") or []), *st.query_params.get_all("nat")]
            if n not in nationalities]
    return months, [*nationalities, *dict.fromkeys(kept)]


def filter_bar(options: dict) -> Filters:
    """The filters every page shares; each lives in the URL, so a copied link reopens it."""
    data_months = options["months"]
    months, nationality_options = follow_the_data(data_months, options["nationalities"])
    ports = options["ports"]
    names = dict(zip(ports["port_code"], ports["port_name"] + ", " + ports["state"]))
    offices = sorted(ports["field_office"].dropna().unique())
    with st.sidebar:
        st.header(t("Filters"))
        start = end = None
        if months:
            chosen = st.select_slider(t("Months"), options=months,
                                      value=(months[0], months[-1]), key="months",
                                      bind="query-params")
            if tuple(chosen) != (data_months[0], data_months[-1]):
                start, end = chosen
        states = st.multiselect(t("States"), ["CA", "AZ", "NM", "TX"], key="states",
                                bind="query-params")
        chosen_offices = st.multiselect(t("CBP field offices"), offices, key="offices",
                                        bind="query-params")
        chosen_ports = st.multiselect(t("Ports of entry"), list(names),
                                      format_func=lambda c: names.get(c, c), key="ports",
                                      bind="query-params")
        types = st.multiselect(t("Incident types"), list(options["types"]["code"]),
                               format_func=type_label, key="types", bind="query-params")
        nationalities = st.multiselect(t("Nationality"), nationality_options,
                                       key="nat", bind="query-params")
        groups = st.multiselect(t("Group"), list(GROUPS),
                                format_func=lambda g: t(words.GROUP_LABELS[g]), key="groups",
                                bind="query-params")
        st.button(t("Reset filters"), on_click=reset_filters, args=(months,),
                  width="stretch")
    port_set = set(chosen_ports) or set(names)
    if chosen_offices:
        port_set &= set(ports.loc[ports["field_office"].isin(chosen_offices), "port_code"])
    narrowed = tuple(sorted(port_set)) if (chosen_ports or chosen_offices) else ()
    if (chosen_ports or chosen_offices) and not narrowed:
        narrowed = ("none",)  # the chosen ports and field offices do not overlap
    return Filters.from_strings(start=start, end=end, ports=narrowed, types=types,
                                nationalities=nationalities, groups=groups, states=states)


def headline(filters: Filters) -> None:
    numbers = ui.ask(queries.headline, filters)
    columns = st.columns(6)
    columns[0].metric(t("Incidents"), f"{numbers['incidents']:,}")
    columns[1].metric(t("People"), f"{numbers['people']:,}",
                      help=t("Sum of the people counts; {n} incidents do not give one.",
                             n=numbers["people_unknown"]))
    columns[2].metric(t("Ports"), numbers["ports"])
    columns[3].metric(t("Months covered"), numbers["months"],
                      help=t("Distinct months among incidents dated to the month or day."))
    columns[4].metric(t("No port"), numbers["no_port"],
                      help=t("Counted everywhere except on the map."))
    columns[5].metric(t("Year only"), numbers["year_only"],
                      help=t("Dated only to the year: in yearly counts, not monthly bars. "
                             "{n} more have no date.", n=numbers["no_date"]))
    st.caption(ui.plain(words.describe(filters)) + " · " +
               t("documented in public reporting and staff records — not a rate"))


def sign_out() -> None:
    st.session_state.pop("_staff_user", None)
    if staff_config.oidc and ui.current_staff():
        st.logout()


@st.fragment(run_every=5)
def follow_new_data(shown: str) -> None:
    """Every open page redraws within seconds of a load or a rollback, by anyone."""
    if ui.published_path() != shown:
        st.rerun(scope="app")


def footer() -> None:
    version = ui.ask(queries.data_version)
    st.divider()
    st.caption(t("Data version {v}, last batch {b} loaded {when}. Sources: see Data & "
                 "sources. Counts are incidents documented, not all that happened.",
                 v=version["version"], b=version["last_batch"],
                 when=f"{version['last_loaded_at']:%Y-%m-%d %H:%M}"
                 if version["last_loaded_at"] else "—"))


choose_language()
# GARITA_START_PAGE opens another page first (a kiosk on the map or the incidents table;
# the tests use it too, since AppTest's switch_page skips the shared chrome).
START = os.environ.get("GARITA_START_PAGE", "map")
PAGES = [("map", t("Map"), ":material/map:"), ("over_time", t("Over time"), ":material/show_chart:"),
         ("by_port", t("By port"), ":material/bar_chart:"),
         ("incidents", t("Incidents"), ":material/table_rows:"),
         ("sources", t("Data & sources"), ":material/info:"),
         ("present", t("Present"), ":material/co_present:")]
staff = ui.current_staff()
staff_config = ui.staff_config()
if staff:
    PAGES += [("upload", t("Upload"), ":material/upload_file:"),
              ("batches", t("Batches"), ":material/history:")]
elif staff_config.enabled:
    PAGES.append(("sign_in", t("Staff sign-in"), ":material/login:"))
pages = [st.Page(f"pages/{slug}.py", title=title, icon=icon, default=(slug == START))
         for slug, title, icon in PAGES]
page = st.navigation(pages)
try:
    options = ui.ask(queries.filter_options)
except db.DatabaseMissing as exc:
    st.error(ui.plain(exc))
    st.stop()
if staff:
    st.sidebar.caption(ui.md("Signed in as staff: {who}", who=staff))
    st.sidebar.button(t("Sign out"), on_click=sign_out, width="stretch")
current = filter_bar(options)
ui.set_filters(current)
presenting = page.url_path == "present"  # the page says it all in large type itself
if presenting:
    st.set_page_config(initial_sidebar_state="collapsed")
else:
    st.title(page.title)
    headline(current)
try:
    page.run()
except Exception as exc:  # st.stop and st.rerun are not Exceptions: they pass through
    ui.log_failure(page.url_path, exc)
    st.error(t("Something went wrong on this page. It has been logged without any of the "
               "data; try again, or reset the filters."))
footer()
follow_new_data(ui.published_path())
