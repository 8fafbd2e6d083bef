"""Present: for a projector or a shared screen — the map full width, the figure in words,
and the images and one-page brief to hand over."""

import datetime as dt

import streamlit as st

from garita import brief, images, maps, ui, words
from garita.i18n import t

filters = ui.filters()
numbers = ui.ask("headline", filters)
per_port = ui.ask("by_port", filters, "incidents")
st.markdown(f"## {ui.plain(words.sentence(numbers, filters))}")
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
            "monthly": ui.ask("monthly", filters, "type", "incidents"),
            "yearly": ui.ask("yearly", filters, "incidents"),
            "port_month": ui.ask("port_month", filters)}


def _png(name: str):
    def make() -> bytes:
        try:
            return images.to_png(images.figure(name, _data(), filters,
                                               version=ui.ask("data_version")["version"]))
        except images.ImageExportUnavailable as exc:
            st.error(str(exc))
            return b""
    return make


def _brief() -> bytes:
    made = dt.datetime.now()
    data, version = _data(), ui.ask("data_version")["version"]
    try:
        map_png = images.to_png(images.map_figure(per_port, numbers, filters, made=made,
                                                  version=version, height=900))
        monthly_png = images.to_png(images.figure("monthly", data, filters, made=made,
                                                  version=version))
    except images.ImageExportUnavailable as exc:
        st.error(str(exc))
        return b""
    cited, _ = ui.ask("sources", filters)
    return brief.brief_pdf(numbers=numbers, filters=filters, per_port=per_port, sources=cited,
                           map_png=map_png, monthly_png=monthly_png, version=version,
                           made=made)


st.subheader(t("To hand over"))
st.download_button(t("One-page brief (PDF, US Letter)"), _brief, file_name="garita-brief.pdf",
                   mime="application/pdf", type="primary", key="brief")
columns = st.columns(len(images.IMAGES))
for column, (name, label) in zip(columns, images.IMAGES.items()):
    column.download_button(t("{what} (PNG)", what=t(label)), _png(name),
                           file_name=f"garita-{name}.png", mime="image/png", key=f"png_{name}")
st.caption(t("Images are 1600 px wide or more, with the title, legend, filters in words, "
             "source note and date; they need Chromium on the server."))
