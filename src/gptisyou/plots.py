"""matplotlib as every plot of gptisyou uses it: drawn to files (no display), and every label taken from the data
(names, words, emoji) drawn as the plain text it is.

matplotlib reads `$…$` in a label as mathematics: a participant named `$$` would stop the page from being drawn.
Emoji are missing from the fonts matplotlib ships and come out as empty boxes with a warning each: a character the
font lacks is written as its Unicode name instead (`[face with tears of joy]`).
"""

import functools
import unicodedata


def pyplot():
    """matplotlib.pyplot on the file-only backend, mathematics off."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def label(text: str) -> str:
    """`text` as a plot can draw it: each character the plots' font lacks by its name, control characters, marks and odd spaces left out."""
    drawable = _drawable()
    shown = []
    for character in str(text):
        if ord(character) in drawable or character == " ":
            shown.append(character)
        elif unicodedata.category(character)[0] not in "CMZ" and (name := unicodedata.name(character, "")):
            shown.append(f"[{name.lower()}]")
    return "".join(shown)


@functools.cache
def _drawable() -> frozenset[int]:
    """The characters the plots' default font has."""
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont(font_manager.FontProperties()))
    return frozenset(font.get_charmap())
