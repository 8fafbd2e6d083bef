"""A staff member in a real browser: sign in, upload a file with bad rows, fix one in place,
load, see the headline count change, roll back, and see it return."""

import time

import pytest

from tests.browser import (SHOTS, browser_page, chromium_path, metric, open_page_link,
                           running_app, sign_in, staff_secrets, wait_metric)
from tests.conftest import DATA

pytestmark = pytest.mark.browser
if chromium_path() is None:
    pytest.skip("no chromium on this machine", allow_module_level=True)


def test_staff_upload_fix_load_and_rollback(built_db, tmp_path, chromium):
    secrets = staff_secrets(tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(built_db, args=("--secrets.files", str(secrets))) as url, \
            browser_page(1400, 1100, browser=chromium) as page:
        sign_in(page, url)
        assert metric(page, "Incidents") == "57"

        open_page_link(page, "Upload", "Template, English headers")
        page.locator("input[type=file]").set_input_files(str(DATA / "bad_rows.csv"))
        page.get_by_text("Fix the rows here").wait_for(timeout=60_000)
        wait_metric(page, "With problems", "10")
        page.screenshot(path=str(SHOTS / "upload-preview.png"))

        # Row 2 says "San Ysdro": fix it in the editable grid (date column, then port).
        grid = page.locator(".st-key-fix_rows [data-testid='stDataFrame']")
        grid.scroll_into_view_if_needed()
        time.sleep(1)
        box = grid.bounding_box()
        page.mouse.dblclick(box["x"] + 200, box["y"] + 35 + 17)  # row 2, port column
        time.sleep(0.5)
        page.keyboard.press("End")
        for _ in range(12):
            page.keyboard.press("Backspace")
        page.keyboard.type("San Ysidro", delay=20)
        page.keyboard.press("Enter")
        time.sleep(1.5)
        page.get_by_role("button", name="Check my changes").click()
        wait_metric(page, "With problems", "9")  # only the fixed row changed
        wait_metric(page, "Will load", "2")

        page.get_by_role("button", name="Load 2 rows").click()
        page.get_by_text("Loaded batch 2").wait_for(timeout=60_000)
        wait_metric(page, "Incidents", "59")
        page.get_by_text("Download the 9 rejected rows").wait_for()
        page.screenshot(path=str(SHOTS / "upload-receipt.png"))

        open_page_link(page, "Batches", "Audit log")
        page.get_by_text("Yes, roll back batch 2").click()
        page.get_by_role("button", name="Roll back").click()
        page.get_by_text("Batch 2 is rolled back").wait_for(timeout=60_000)
        wait_metric(page, "Incidents", "57")
        page.screenshot(path=str(SHOTS / "batches-rolled-back.png"))
