"""Report rendering: the ``Report`` presentation layer, offline HTML, the run index, matplotlib with a CJK font."""

from ._html import assert_offline, notebook_to_html, report_css, write_index
from ._report import Report, column_labels, format_value, html_lang, render_page, render_table
from .plotting import CJK_FONT_NAME, cjk_font_path, missing_glyphs, setup_matplotlib

__all__ = [
    "CJK_FONT_NAME",
    "Report",
    "assert_offline",
    "cjk_font_path",
    "column_labels",
    "format_value",
    "html_lang",
    "missing_glyphs",
    "notebook_to_html",
    "render_page",
    "render_table",
    "report_css",
    "setup_matplotlib",
    "write_index",
]
