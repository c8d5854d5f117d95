"""Character classes shared by the readers, the validator and the CSV writer (no heavy imports: used everywhere).

The rules themselves are documented with the data contracts (``workbench.intake.contracts.NORMALISATION_RULES``).
"""

from __future__ import annotations

import unicodedata

__all__ = ["INVISIBLE_CATEGORIES", "is_blank", "is_invisible", "normalize_column_name", "strip_invisible"]

#: Unicode categories that print nothing: controls (Cc), format characters such as U+200B ZERO WIDTH SPACE,
#: U+200D, U+2060 WORD JOINER, U+FEFF BOM, U+00AD SOFT HYPHEN (Cf), and space/line/paragraph separators (Zs/Zl/Zp).
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Characters outside those categories that render as nothing too: combining grapheme joiner, Hangul fillers,
# braille blank, variation selectors (VS1–16; VS17–256 are checked by range).
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800" + "".join(map(chr, range(0xFE00, 0xFE10))))


def _surely_visible(ch: str) -> bool:
    """A cheap first test for the common case: printable ASCII or a CJK ideograph."""
    return "!" <= ch <= "~" or "\u4e00" <= ch <= "\u9fff"


def is_invisible(ch: str) -> bool:
    """True for a character that shows nothing: Unicode whitespace, control, format (Cf) or filler character."""
    return (
        ch.isspace()
        or ch in _INVISIBLE_EXTRA
        or unicodedata.category(ch) in INVISIBLE_CATEGORIES
        or 0xE0100 <= ord(ch) <= 0xE01EF
    )


def is_blank(value: object) -> bool:
    """The contracts' "empty": None/NaN/NA, or text made only of invisible characters (``" \\t\\u3000\\u200b\\ufeff"``)."""
    if value is None or (isinstance(value, float) and value != value) or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if not isinstance(value, str):
        return False
    if value and _surely_visible(value[0]):
        return False
    return all(is_invisible(ch) for ch in value)  # stops at the first visible character


def strip_invisible(text: str) -> str:
    """``text`` without leading and trailing invisible characters (inner ones are kept: they belong to the text)."""
    if not text or (_surely_visible(text[0]) and _surely_visible(text[-1])):
        return text
    start, end = 0, len(text)
    while start < end and is_invisible(text[start]):
        start += 1
    while end > start and is_invisible(text[end - 1]):
        end -= 1
    return text[start:end] if start or end < len(text) else text


def normalize_column_name(name: object) -> str:
    """A header cell as a column name: NFKC (``ｒａｔｉｎｇ`` → ``rating``), invisible characters trimmed.

    NFKC folds the full-width Latin letters, digits and punctuation that Chinese input methods produce into ASCII, so
    a header typed in full-width mode still names the contract's column.
    """
    return strip_invisible(unicodedata.normalize("NFKC", "" if name is None else str(name)))
