"""Garita's entry point: page setup, navigation, the shared filter bar, headline and footer."""

from __future__ import annotations

import os

import streamlit as st

from garita import db, i18n, newsroom, queries, ui, words
from garita.filters import GROUPS, Filters, month_span
from garita.i18n import t
from garita.maps import type_label
from garita import matches

# An emoji icon is drawn in the browser; a ":material/...:" page icon is fetched from a font
# host, and no visitor's browser may contact any host but the app.
st.set_page_config(page_title="Garita", page_icon="📍", layout="wide")

FILTER_KEYS = ("months", "states", "offices", "ports", "types", "nat", "groups")


def choose_language() -> None:
    """English / Español, first in the sidebar and kept in the URL as ``?lang=es``, so a
    shared link opens in the language it was shared in (filters in the URL hold the labels
    shown, in that language). A link with filters but no ``lang`` opens in the server's
    default; a bare first visit follows the browser's language when it is Spanish.

    Kept in the URL by hand: a bound widget would write the label (``Español``), not the
    code that a link should carry.
    """
    default = i18n.default_language()
    if "lang" not in st.session_state:
        linked = st.query_params.get("lang")
        if linked in i18n.LANGUAGES:
            chosen = linked
        elif any(key != "lang" for key in st.query_params):
            # A shared link without ``lang`` was shared in the server's language, and its
            # filters are written in it (bound widgets keep the labels they show).
            chosen = default
        else:
            chosen = i18n.from_locale(st.context.locale) or default
        st.session_state["lang"] = chosen
    i18n.set_language(st.session_state["lang"])  # the switch's own label too
    lang = st.sidebar.radio(t("Language"), list(i18n.LANGUAGES), key="lang",
                            format_func=i18n.LANGUAGES.get, horizontal=True,
                            label_visibility="collapsed")
    if lang != default:
        st.query_params["lang"] = lang
    else:
        st.query_params.pop("lang", None)
    switched = st.session_state.get("_lang_shown") not in (None, lang)
    st.session_state["_lang_shown"] = lang
    i18n.set_language(lang)
    keep_url_choices(switched)


MULTIPLE = ("types", "groups")  # the URL-bound controls that hold a list


def keep_url_choices(switched: bool) -> None:
    """Controls bound to the URL write the labels they show, in the language of the moment,
    and read back only labels of the language they show. So that no choice is lost:

    - after a switch, each control's value is set again, which makes Streamlit write its
      label in the new language into the address (to reload or share);
    - a link whose labels are in the other language (one edited by hand, or older than
      this rule) seeds the controls from the values behind those labels. (Streamlit then
      leaves those parameters out of the address until the control is changed.)
    """
    for key in list(st.query_params):
        label = words.label_for(key)
        if label is None:
            continue
        if switched and key in st.session_state:
            st.session_state[key] = st.session_state[key]
            continue
        shown = st.query_params.get_all(key)
        values = [words.choice_from_label(key, text) for text in shown]
        if key in st.session_state or not any(values) or \
                all(label(value) == text for value, text in zip(values, shown) if value):
            continue
        chosen = [value for value in values if value]
        st.session_state[key] = chosen if key in MULTIPLE else chosen[0]


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
        every = t("All")  # an empty filter keeps everything
        states = st.multiselect(t("States"), ["CA", "AZ", "NM", "TX"], key="states",
                                placeholder=every, bind="query-params")
        chosen_offices = st.multiselect(
            t("CBP field offices"), offices, key="offices", placeholder=every,
            help=t("CBP (US Customs and Border Protection) runs the ports of entry and groups "
                   "them in field offices."), bind="query-params")
        chosen_ports = st.multiselect(t("Ports of entry"), list(names),
                                      format_func=lambda c: names.get(c, c), key="ports",
                                      placeholder=every, bind="query-params")
        types = st.multiselect(t("Incident types"), list(options["types"]["code"]),
                               format_func=type_label, key="types", placeholder=every,
                               bind="query-params")
        nationalities = st.multiselect(t("Nationality"), nationality_options,
                                       key="nat", placeholder=every, bind="query-params")
        groups = st.multiselect(t("Group"), list(GROUPS), format_func=words.group_label,
                                key="groups", placeholder=every, bind="query-params")
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
    columns[0].metric(t("Incidents"), i18n.number(numbers["incidents"]))
    columns[1].metric(t("People"), i18n.number(numbers["people"]),
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
    matched = matches.note(numbers["linked"], ui.ask(queries.open_matches))
    if matched:
        st.caption(matched)


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
embedded = ui.embedded()  # inside another site's page: one figure, never staff pages
staff = None if embedded else ui.current_staff()
staff_config = ui.staff_config()
if embedded:
    PAGES = [p for p in PAGES if p[0] in newsroom.EMBEDDABLE]
elif staff:
    PAGES += [("upload", t("Upload"), ":material/upload_file:"),
              ("batches", t("Batches"), ":material/history:"),
              ("matches", t("Possible matches"), ":material/compare_arrows:")]
elif staff_config.enabled:
    PAGES.append(("sign_in", t("Staff sign-in"), ":material/login:"))
pages = [st.Page(f"pages/{slug}.py", title=title, icon=icon, default=(slug == START))
         for slug, title, icon in PAGES]
page = st.navigation(pages, position="hidden" if embedded else "sidebar")
slug = {title: slug for slug, title, _ in PAGES}.get(page.title, page.url_path)
ui.set_page_path(slug, page.url_path, START)
ui.start_run()
if not ui.pin_version():
    st.stop()
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
if embedded:
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(ui.HIDE_SIDEBAR)
elif presenting:
    st.set_page_config(initial_sidebar_state="collapsed")
else:
    st.title(page.title)
    if not (slug == "incidents" and st.query_params.get("id")):  # one incident: no totals
        headline(current)
try:
    page.run()
except Exception as exc:  # st.stop and st.rerun are not Exceptions: they pass through
    ui.log_failure(page.url_path, exc)
    st.error(t("Something went wrong on this page. It has been logged without any of the "
               "data; try again, or reset the filters."))
if embedded:
    ui.embed_view(current)
else:
    ui.cite_and_embed(current, page.title, slug in newsroom.EMBEDDABLE)
    footer()
if "_version_path" not in st.session_state or not st.session_state["_version_path"]:
    # The copy published now, not the one this run started from: a change this very run
    # made (a sign-in's audit record) must not redraw the page and wipe what it says.
    follow_new_data(ui.published_path())
