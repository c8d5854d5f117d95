"""Byte-limited text: WeCom counts most limits in UTF-8 bytes, and cuts silently (or refuses) beyond them.

Chinese characters take 3 bytes, 𠀀 (U+20000) and emoji 4, so a character count says little about fit. Every
builder truncates through :func:`truncate_utf8`, which never splits a character (nor, where it can tell, a
grapheme such as 👩‍💻 or 🇨🇳) and ends a shortened text with a visible ellipsis.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ELLIPSIS", "utf8_len", "truncate_utf8", "truncate_chars"]

ELLIPSIS = "…"  # U+2026, 3 bytes in UTF-8

_ZWJ = "\u200d"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _continues_cluster(ch: str) -> bool:
    """True if ``ch`` attaches to the character before it (so a cut right before it would split a grapheme)."""
    cp = ord(ch)
    return (
        ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors (emoji presentation)
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or 0xE0100 <= cp <= 0xE01EF  # ideographic variation selectors
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_prefix(text: str, n: int) -> int:
    """The largest cut ≤ ``n`` (in characters) that does not split a grapheme cluster we can recognise."""
    while 0 < n < len(text) and (_continues_cluster(text[n]) or text[n - 1] == _ZWJ):
        n -= 1
    if 0 < n < len(text) and _is_regional_indicator(text[n]):
        run = 0  # flags are pairs of regional indicators: keep an even number of them
        while run < n and _is_regional_indicator(text[n - 1 - run]):
            run += 1
        if run % 2:
            n -= 1
    return n


def truncate_utf8(text: str, max_bytes: int, *, ellipsis: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``max_bytes`` UTF-8 bytes, else its longest whole-character prefix plus ``ellipsis``.

    >>> truncate_utf8("专业能力得分85分", 12)
    '专业能…'
    >>> truncate_utf8("𠀀𠀀𠀀", 10)
    '𠀀…'
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must be ≥ 0")
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    budget = max_bytes - utf8_len(ellipsis)
    if budget <= 0:
        return ellipsis if utf8_len(ellipsis) <= max_bytes else ""
    # decode(errors="ignore") drops the partial character at the cut; never a replacement character
    n = len(data[:budget].decode("utf-8", errors="ignore"))
    return text[: _safe_prefix(text, n)] + ellipsis


def truncate_chars(text: str, max_chars: int, *, ellipsis: str = ELLIPSIS) -> str:
    """The same for limits WeCom states in characters (字), e.g. template-card titles."""
    if len(text) <= max_chars:
        return text
    if max_chars <= len(ellipsis):
        return ellipsis[:max_chars]
    return text[: _safe_prefix(text, max_chars - len(ellipsis))] + ellipsis
