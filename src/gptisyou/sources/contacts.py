"""The `--contacts` file: a two-column CSV of phone numbers or addresses and the names to show for them."""

import csv
from pathlib import Path

from gptisyou.errors import ParseError


def read_contacts(path: Path) -> tuple[tuple[str, str], ...]:
    """(handle, name) pairs of a two-column CSV; a header row (`phone,name`) and blank lines are skipped.

    Raises:
        ParseError: a row without both columns, or a file that is not UTF-8 CSV, naming the file (and the line,
            where one is known).
    """
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        for row in _checked(reader, path):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise ParseError(path, reader.line_num, "expected two columns: a phone number or address, and a name")
            rows.append((row[0].strip(), row[1].strip()))
    has_header = rows and not any(char.isdigit() or char == "@" for char in rows[0][0])
    return tuple(rows[1 if has_header else 0 :])


def _checked(reader, path: Path):
    """The reader's rows; a file that is not UTF-8 (decoded in blocks, so no line is known) or CSV the reader
    refuses (at its line) is a ParseError."""
    try:
        yield from reader
    except UnicodeDecodeError:
        raise ParseError(path, None, "not UTF-8 text (save the contacts as UTF-8 CSV)") from None
    except csv.Error as error:
        raise ParseError(path, reader.line_num, f"not CSV: {error}") from None
