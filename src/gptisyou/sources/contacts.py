"""The `--contacts` file: a two-column CSV of phone numbers or addresses and the names to show for them."""

import csv
from pathlib import Path

from gptisyou.errors import ParseError


def read_contacts(path: Path) -> tuple[tuple[str, str], ...]:
    """(handle, name) pairs of a two-column CSV; a header row (`phone,name`) and blank lines are skipped.

    Raises:
        ParseError: a row without both columns, naming the file and the row's line.
    """
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise ParseError(path, reader.line_num, "expected two columns: a phone number or address, and a name")
            rows.append((row[0].strip(), row[1].strip()))
    has_header = rows and not any(char.isdigit() or char == "@" for char in rows[0][0])
    return tuple(rows[1 if has_header else 0 :])
