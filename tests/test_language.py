"""Each visitor chooses the language: English or Spanish, kept in the URL."""

from garita import i18n
from tests.test_app import rerun


def test_lang_in_the_url_opens_the_page_in_spanish(app):
    at = app("pages/map.py", lang="es")
    assert not at.exception
    assert at.title[0].value == "Mapa"
    assert at.radio(key="lang").value == "es"


def test_without_lang_the_page_is_in_the_servers_default(app):
    at = app("pages/map.py")
    assert at.title[0].value == "Map"
    assert at.radio(key="lang").value == "en"


def test_switching_language_puts_it_in_the_url(app):
    at = app("pages/map.py")
    at.radio(key="lang").set_value("es")
    rerun(at)
    assert at.title[0].value == "Mapa"
    assert at.query_params["lang"] in ("es", ["es"])


def test_two_visitors_read_their_own_languages(app):
    spanish = app("pages/map.py", lang="es")
    english = app("pages/map.py")
    rerun(spanish)
    assert spanish.title[0].value == "Mapa" and english.title[0].value == "Map"


def test_garita_lang_is_the_servers_default(app, monkeypatch):
    monkeypatch.setenv("GARITA_LANG", "es")
    at = app("pages/map.py")
    assert at.title[0].value == "Mapa"


def test_browser_locale_picks_spanish():
    assert i18n.from_locale("es-MX") == "es" and i18n.from_locale("es") == "es"
    assert i18n.from_locale("en-US") is None and i18n.from_locale(None) is None


def test_using_switches_and_restores():
    with i18n.using("es"):
        assert i18n.t("Map") == "Mapa"
    assert i18n.t("Map") == "Map"


def test_switching_language_keeps_the_filters(app):
    at = app("pages/map.py", types=["Turned away"])
    assert at.multiselect(key="types").value == ["turned_away"]
    at.radio(key="lang").set_value("es")
    with i18n.using("es"):  # AppTest formats the options again in this thread
        rerun(at)
        rerun(at)
        assert at.multiselect(key="types").value == ["turned_away"]
    assert at.title[0].value == "Mapa"
    assert at.caption[0].value.startswith("Rechazado en la garita")


def test_a_link_with_labels_in_the_other_language_keeps_its_choices(app):
    with i18n.using("es"):
        at = app("pages/over_time.py", lang="es", types=["Turned away"], measure="People")
        assert at.multiselect(key="types").value == ["turned_away"]
    assert at.caption[0].value.startswith("Rechazado en la garita")
    assert any(chart.proto.spec and "Personas por mes" in chart.proto.spec
               for chart in at.get("plotly_chart"))

