"""Present: for a projector or a shared screen — the map full width, the figure in words,
and the images and one-page brief to hand over."""

import datetime as dt

import streamlit as st

from garita import brief, images, maps, queries, ui, words
from garita.i18n import t

filters = ui.filters()
numbers = ui.ask(queries.headline, filters)
per_port = ui.ask(queries.by_port, filters, "incidents")
st.markdown(f"## {ui.plain(words.sentence(numbers, filters, names=per_port['port_name']))}")
st.caption(ui.plain(words.describe(filters)) + " · " + t("documented, not a rate"))
st.pydeck_chart(maps.incident_deck(per_port, zoom=5.15), height=720,
                alt=t("Map of documented incidents at ports of entry."))
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


def _png(name: str):
    def make() -> bytes:
        try:
            return images.to_png(images.figure(name, _data(), filters,
                                               version=ui.ask(queries.data_version)["version"]))
        except images.ImageExportUnavailable as exc:
            st.error(ui.plain(exc))
            return b""
    return make


def _brief() -> bytes:
    cited, n_cited = ui.ask(queries.sources, filters, 100_000)
    # The address of this very view: the page's URL (no query) plus the filters in it.
    address = brief.view_address(st.context.url, {key: st.query_params.get_all(key)
                                                  for key in st.query_params})
    try:
        return brief.make_brief(data=_data(), filters=filters, url=address, sources=cited,
                                n_sources=n_cited, made=dt.datetime.now(),
                                version=ui.ask(queries.data_version)["version"])
    except images.ImageExportUnavailable as exc:
        st.error(ui.plain(exc))
        return b""


st.subheader(t("To hand over"))
st.download_button(t("One-page brief (PDF, US Letter)"), _brief,
                   file_name=images.file_name("brief", filters, numbers, "pdf"),
                   mime="application/pdf", type="primary", key="brief")
columns = st.columns(len(images.IMAGES))
for column, (name, label) in zip(columns, images.IMAGES.items()):
    column.download_button(t("{what} (PNG)", what=t(label)), _png(name),
                           file_name=images.file_name(label, filters, numbers, "png"),
                           mime="image/png", key=f"png_{name}")
st.caption(t("Images are 1600 px wide or more, with the title, legend, filters in words, "
             "source note and date; they need Chromium on the server."))
