"""The `--contacts` CSV: its header, blank lines, and a bad row named by its line in the file."""

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources.contacts import read_contacts


def test_pairs_without_the_header_or_blank_lines(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("\ufeffphone,name\n\n+44 7700 900123, Alex \n,\nalex@example.org,Alex B\n", encoding="utf-8")
    assert read_contacts(path) == (("+44 7700 900123", "Alex"), ("alex@example.org", "Alex B"))


def test_a_file_without_a_header_keeps_its_first_row(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("+15550100,Sam\n", encoding="utf-8")
    assert read_contacts(path) == (("+15550100", "Sam"),)


def test_a_row_with_one_column_is_named_by_its_line_blank_lines_counted(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("phone,name\n\n\n+15550100,Sam\n+15550101\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"contacts\.csv:5: expected two columns"):
        read_contacts(path)


def test_bytes_that_are_not_utf8_are_one_line_naming_the_file(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"phone,name\n+15550100,Sam\n+15550101,\xff\xfeJo\n")
    with pytest.raises(ParseError, match=r"contacts\.csv: not UTF-8 text"):
        read_contacts(path)
