"""The `--contacts` file: a two-column CSV of phone numbers or addresses and the names to show for them."""

import csv
from pathlib import Path

from gptisyou.errors import ParseError


def read_contacts(path: Path) -> tuple[tuple[str, str], ...]:
    """(handle, name) pairs of a two-column CSV; a header row (`phone,name`) is skipped.

    Raises:
        ParseError: a row without both columns, naming the file and the row.
    """
    with open(path, encoding="utf-8-sig", newline="") as file:
        rows = [row for row in csv.reader(file) if row and any(cell.strip() for cell in row)]
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ParseError(path, number, "expected two columns: a phone number or address, and a name")
    has_header = rows and not any(char.isdigit() or char == "@" for char in rows[0][0])
    return tuple((row[0].strip(), row[1].strip()) for row in rows[1 if has_header else 0 :])
