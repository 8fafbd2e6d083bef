"""Present: for a projector or a shared screen — the map full width, the figure in words,
and the images and one-page brief to hand over."""

import datetime as dt

import streamlit as st

from garita import brief, charts, exports, i18n, images, maps, queries, ui, words
from garita.i18n import t

filters = ui.filters()
numbers = ui.ask(queries.headline, filters)
per_port = ui.ask(queries.by_port, filters, "incidents")
st.markdown(f"## {ui.plain(words.sentence(numbers, filters, names=per_port['port_name']))}")
st.caption(ui.plain(words.describe(filters)) + " · " + t("documented, not a rate"))
map_column, key_column = st.columns([4, 1])
with map_column:  # the map fills the window below the headline, whatever the screen
    frame = maps.frame_for(ui.screen_size("present_screen"), present=True,
                           crowd=len(per_port))
    st.pydeck_chart(maps.incident_deck(per_port, frame=frame), height=frame.height,
                    alt=t("Map of documented incidents at ports of entry."))
if not per_port.empty:
    key_column.markdown(f"#### {t('Circle area: {m}', m=t('incidents'))}\n\n"
                        + t("darker means more"))
    key_column.plotly_chart(
        charts.size_legend(maps.legend_sizes(per_port["incidents"], frame),
                           units=(t("incident"), t("incidents")), none=t("none matching"),
                           font_px=frame.label_px),
        width="stretch", config={"displayModeBar": False, "staticPlot": True})
if numbers["no_port"]:
    note = (t("1 more incident has no port of entry: counted, not mapped.")
            if numbers["no_port"] == 1 else
            t("{n} more incidents have no port of entry: counted, not mapped.",
              n=numbers["no_port"]))
    st.markdown(f"#### {note}")


def _data() -> dict:
    return {"per_port": per_port, "numbers": numbers,
            "monthly": ui.ask(queries.monthly, filters, "type", "incidents"),
            "yearly": ui.ask(queries.yearly, filters, "incidents"),
            "port_month": ui.ask(queries.port_month, filters)}


# The downloads are made when clicked, outside this rerun: in the language read now.
LANGUAGE = i18n.language()


def _png(name: str):
    def make() -> bytes:
        with i18n.using(LANGUAGE):
            return images.to_png(images.figure(
                name, _data(), filters, version=ui.ask(queries.data_version)["version"]))
    return make


# The address of this very view: the page's URL (no query) plus the filters in it. Read
# now: the download's callback runs where st.context no longer knows the page.
address = brief.view_address(st.context.url, {key: st.query_params.get_all(key)
                                              for key in st.query_params})


def _brief() -> bytes:
    cited, n_cited = ui.ask(queries.sources, filters, 100_000)
    with i18n.using(LANGUAGE):
        return brief.make_brief(data=_data(), filters=filters, url=address,
                                sources=cited, n_sources=n_cited, made=dt.datetime.now(),
                                version=ui.ask(queries.data_version)["version"])


st.subheader(t("To hand over"))
# Each file is made when its button is clicked, on a thread of the server: the button
# spins until the download starts, and the page does not rerun (it has nothing to change).
can_draw = images.browser_found()
if can_draw:
    images.RENDERER.warm()  # the browser starts while the visitor reads, not on the click
else:
    st.warning(t(images.MISSING_BROWSER))
st.download_button(t("One-page brief (PDF, US Letter)"), _brief,
                   file_name=exports.download_name(filters, exports.BRIEF, "pdf"),
                   mime="application/pdf", type="primary", key="brief", on_click="ignore",
                   disabled=not can_draw)
columns = st.columns(len(images.IMAGES))
for column, (name, label) in zip(columns, images.IMAGES.items()):
    column.download_button(t("{what} (PNG)", what=t(label)), _png(name),
                           file_name=exports.download_name(filters, label, "png"),
                           mime="image/png", key=f"png_{name}", on_click="ignore",
                           disabled=not can_draw)
st.caption(t("Images are 1600 px wide or more, with the title, legend, filters in words, "
             "source note and date; they need Chromium on the server."))
st.caption(t("Each file is made when you click: the button spins until the download "
             "starts, a second or two."))
