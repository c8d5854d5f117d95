"""Notebook display helpers: headings, tables and figures in the report language."""

from __future__ import annotations

import pandas as pd

from .._tabular import escape
from ..i18n import resolve_lang

__all__ = ["section", "show_table", "show_figure", "note"]


def section(zh: str, en: str, lang: str | None = None, *, level: int = 2, note: str = "", note_en: str = ""):
    """A heading (and optional paragraph) in the report language, as an IPython Markdown object."""
    from IPython.display import Markdown

    lang = resolve_lang(lang)
    title = zh if lang == "zh" else en
    body = note if lang == "zh" else (note_en or note)
    return Markdown(f"{'#' * level} {title}\n\n{body}".strip())


class _HTML:
    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


def note(zh: str, en: str = "", lang: str | None = None, *, kind: str = "note"):
    text = zh if resolve_lang(lang) == "zh" else (en or zh)
    return _HTML(f"<div class='wb-{kind}'>{escape(text)}</div>")


def show_table(frame: pd.DataFrame, *, empty_zh: str = "（无）", empty_en: str = "(none)", lang: str | None = None, max_rows: int = 200):
    """A DataFrame as a plain, escaped, left-aligned HTML table without the index; a message when empty."""
    if frame is None or frame.empty:
        return note(empty_zh, empty_en, lang)
    shown = frame.head(max_rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if pd.isna(v) else v)}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
    more = f"<p class='wb-muted'>… {len(frame) - max_rows} more rows</p>" if len(frame) > max_rows else ""
    return _HTML(f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}")


def show_figure(fig) -> None:
    """Display a matplotlib figure once (whatever the backend) and free it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)
