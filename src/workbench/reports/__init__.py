"""Report rendering: offline HTML, the run index, and matplotlib with a CJK font."""

from ._html import assert_offline, notebook_to_html, report_css, write_index
from .plotting import CJK_FONT_NAME, cjk_font_path, missing_glyphs, setup_matplotlib

__all__ = [
    "CJK_FONT_NAME",
    "assert_offline",
    "cjk_font_path",
    "missing_glyphs",
    "notebook_to_html",
    "report_css",
    "setup_matplotlib",
    "write_index",
]

from ._display import note, section, show_figure, show_table  # noqa: E402

__all__ += ["note", "section", "show_figure", "show_table"]
