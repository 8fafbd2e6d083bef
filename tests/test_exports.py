"""Exports: spreadsheet formulas in text cells are neutralized; numbers stay numbers."""

import csv
import io

import pandas as pd
import pytest

from garita.exports import neutralize, to_csv


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                   "\tx", "\rx", "＝1+1"])
def test_formula_led_text_is_prefixed(value):
    assert neutralize(value) == "'" + value


def test_csv_export_neutralizes_text_but_keeps_numbers_numeric():
    frame = pd.DataFrame({"summary": ["=cmd|' /C calc'!A0", "plain"],
                          "people_count": pd.array([-1, 3], dtype="Int64"),
                          "latitude": [32.5, -31.0]})
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8-sig"))))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-1", "32.5"]
    assert rows[2] == ["plain", "3", "-31.0"]
