"""``Report``: the one presentation layer. Stages build a report from their results; it displays itself in a
notebook (``_repr_html_``) and writes itself as a self-contained offline page (``to_page``).

Everything is rendered by jinja2 templates with autoescaping (``reports/templates/blocks``): one table, one page,
one escaping path. Tables take coded columns and look their headers up in the message catalog (``col.<code>``),
so data keeps codes and the reader sees labels in the report language.

    report = Report(t("stage.03_scoring", lang), lang)
    report.heading(t("s03.h.unseen_answers", lang)).table(frame, labels=column_labels(frame.columns, lang))
    display(report)
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..i18n import has, resolve_lang, t

__all__ = ["Report", "render_table", "column_labels", "format_value", "render_page", "html_lang"]

_TEMPLATES = Path(__file__).parent / "templates" / "blocks"


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)


def html_lang(lang: str) -> str:
    return "zh-CN" if resolve_lang(lang) == "zh" else "en"


def column_labels(columns: Iterable, lang: str | None = None) -> dict:
    """Column code → header in ``lang`` from the catalog (``col.<code>``); unknown codes stay as they are."""
    return {c: (t(f"col.{c}", lang) if has(f"col.{c}") else str(c)) for c in columns}


def format_value(value: Any, fmt: str | Callable | None = None) -> str:
    """Text for a table cell: missing → "—", floats with up to 3 decimals, everything else ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (value is pd.NA) or (value is pd.NaT):
        return "—"
    if callable(fmt):
        return fmt(value)
    if fmt:
        return fmt.format(value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def render_table(frame: pd.DataFrame, *, labels: dict | None = None, formats: dict | None = None, classes: dict | None = None,
                 hide: Iterable[str] = (), caption: str = "", max_rows: int = 200, lang: str | None = None, empty: str | None = None) -> str:
    """One HTML table (escaped). ``labels``: column → header (default: the catalog's ``col.<code>``);
    ``formats``: column → format string or callable; ``classes``: column → callable(value, row) → CSS class, where
    ``row`` holds every column, also those in ``hide`` (used for classes, not shown). Values that are already
    safe HTML (``markupsafe.Markup``, e.g. a link built with ``Markup(...).format``; the column must have dtype object, since
    pandas 3 turns str subclasses into plain str) are kept as they are."""
    if frame is None or len(frame) == 0:
        text = empty if empty is not None else t("report.empty_table", lang)
        return _env().get_template("report.html.j2").render(blocks=[{"kind": "note", "style": "muted", "text": text}], html_lang=html_lang(lang or "zh"))
    labels = {**column_labels(frame.columns, lang), **(labels or {})}
    formats, classes, hidden = formats or {}, classes or {}, set(hide)
    shown = frame.head(max_rows)
    visible = [c for c in shown.columns if c not in hidden]
    rows = []
    for record in shown.to_dict(orient="records"):
        cells = []
        for col in visible:
            value = record[col]
            cls = classes[col](value, record) if col in classes else ""
            text = value if hasattr(value, "__html__") else format_value(value, formats.get(col))
            cells.append({"text": text, "cls": cls or ""})
        rows.append(cells)
    more = t("report.more_rows", lang, n=len(frame) - max_rows) if len(frame) > max_rows else ""
    return _env().get_template("table.html.j2").render(headers=[labels[c] for c in visible], rows=rows, caption=caption, more=more)


def figure_png(fig, *, dpi: int = 110) -> str:
    """A matplotlib figure as base64 PNG (and the figure closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class Report:
    """An ordered list of blocks in one language. Methods return the report, so calls chain."""

    def __init__(self, title: str = "", lang: str | None = None):
        self.title = title
        self.lang = resolve_lang(lang)
        self.blocks: list[dict] = []

    # -- building ---------------------------------------------------------------------------------------------
    def heading(self, text: str, level: int = 2) -> "Report":
        self.blocks.append({"kind": "heading", "text": text, "level": max(1, min(level, 4))})
        return self

    def paragraph(self, text: str) -> "Report":
        if text:
            self.blocks.append({"kind": "paragraph", "text": text})
        return self

    def note(self, text: str, style: str = "note") -> "Report":
        """A highlighted paragraph; ``style``: note | warn | error | ok | muted."""
        if text:
            self.blocks.append({"kind": "note", "text": text, "style": style})
        return self

    def bullets(self, items: Iterable[str]) -> "Report":
        items = [i for i in items if i]
        if items:
            self.blocks.append({"kind": "list", "items": items})
        return self

    def table(self, frame: pd.DataFrame, **kwargs) -> "Report":
        kwargs.setdefault("lang", self.lang)
        self.blocks.append({"kind": "html", "html": render_table(frame, **kwargs)})
        return self

    def figure(self, fig, *, alt: str = "", caption: str = "") -> "Report":
        if fig is not None:
            self.blocks.append({"kind": "figure", "png": figure_png(fig), "alt": alt or caption, "caption": caption})
        return self

    def html(self, fragment: str) -> "Report":
        """A fragment rendered elsewhere with escaping (e.g. attribution highlights); inserted as is."""
        self.blocks.append({"kind": "html", "html": fragment})
        return self

    def extend(self, other: "Report") -> "Report":
        self.blocks.extend(other.blocks)
        return self

    # -- rendering --------------------------------------------------------------------------------------------
    def _body(self) -> str:
        return _env().get_template("report.html.j2").render(blocks=self.blocks, html_lang=html_lang(self.lang))

    def _repr_html_(self) -> str:
        return self._body()

    def to_page(self, *, footer: str = "") -> str:
        """A complete offline HTML page (styles inlined, no scripts, nothing fetched)."""
        return render_page(self.title, self._body(), lang=self.lang, footer=footer)

    def write(self, path: str | Path, *, footer: str = "") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_page(footer=footer), encoding="utf-8")
        return path


def render_page(title: str, body_html: str, *, lang: str | None = None, footer: str = "") -> str:
    from ._html import assert_offline, report_css

    page = _env().get_template("page.html.j2").render(title=title, body=body_html, css=report_css(), html_lang=html_lang(lang or "zh"), footer=footer)
    assert_offline(page)
    return page
