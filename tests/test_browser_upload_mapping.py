"""A staff member in a real browser maps a file whose required columns have other names or
are missing: reads a column as the date, sets the incident type for every row, loads, and
sees the headline count go up."""

import hashlib

import pytest

from tests.browser import (SHOTS, browser_page, chromium_path, metric, open_page_link,
                           running_app, sign_in, staff_secrets, wait_metric)

pytestmark = pytest.mark.browser
if chromium_path() is None:
    pytest.skip("no chromium on this machine", allow_module_level=True)

LOG = ("Fecha de rechazo,garita,personas\n"
       "2021-03-04,Hidalgo,2\n2021-03-05,Nogales,1\n").encode()


def test_staff_map_a_missing_column_set_a_value_for_every_row_and_load(built_db, tmp_path,
                                                                       chromium):
    secrets = staff_secrets(tmp_path)
    log = tmp_path / "casa-x.csv"
    log.write_bytes(LOG)
    key = hashlib.sha256(LOG).hexdigest()[:16]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(built_db, args=("--secrets.files", str(secrets))) as url, \
            browser_page(1400, 1100, browser=chromium) as page:
        sign_in(page, url)
        assert metric(page, "Incidents") == "57"

        open_page_link(page, "Upload", "Template, English headers")
        page.locator("input[type=file]").set_input_files(str(log))
        # Refused as it is, yet every header is shown with its values, to be read as a field.
        page.get_by_text("How each column is read").wait_for(timeout=60_000)
        page.get_by_text("No column", exact=False).first.wait_for(timeout=60_000)
        page.get_by_text("2021-03-04 · 2021-03-05").wait_for()
        page.screenshot(path=str(SHOTS / "upload-mapping-refused.png"), full_page=True)

        page.locator(f".st-key-map_{key}_0").click()
        page.get_by_role("option", name="Date", exact=True).click()
        page.get_by_text("Values for every row", exact=True).wait_for()
        page.get_by_label("Value for every row").fill("turned away")
        page.get_by_role("button", name="Set", exact=True).click()
        page.get_by_text("Types = turned away").wait_for(timeout=60_000)
        wait_metric(page, "Will load", "2")
        page.screenshot(path=str(SHOTS / "upload-mapping-ready.png"), full_page=True)

        page.get_by_role("button", name="Load 2 rows").click()
        page.get_by_text("Loaded batch 2").wait_for(timeout=60_000)
        wait_metric(page, "Incidents", "59")
        page.screenshot(path=str(SHOTS / "upload-mapping-receipt.png"), full_page=True)
