"""Matplotlib set-up that renders Chinese: the bundled Noto Sans CJK SC font from ``mplfonts``.

Call :func:`setup_matplotlib` (done on ``import workbench.reports``) before drawing.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

__all__ = ["CJK_FONT_NAME", "cjk_font_path", "setup_matplotlib", "missing_glyphs"]

CJK_FONT_NAME = "Noto Sans CJK SC"


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.is_file():
        raise FileNotFoundError(f"CJK font missing from the mplfonts package: {path}; reinstall with `make setup`")
    return path


@lru_cache(maxsize=1)
def setup_matplotlib() -> str:
    """Register the CJK font and make it the default family; returns the family name."""
    from matplotlib import font_manager, rcParams

    font_manager.fontManager.addfont(str(cjk_font_path()))
    rcParams["font.family"] = [CJK_FONT_NAME, "DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False  # the font's minus sign is fine, but keep ASCII hyphen portable
    rcParams["figure.dpi"] = 100
    rcParams["savefig.dpi"] = 110
    rcParams["figure.figsize"] = (7.5, 3.6)
    return CJK_FONT_NAME


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` that the registered CJK font cannot draw (empty list = no tofu)."""
    from fontTools.ttLib import TTFont

    cmap = _cmap()
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})


@lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        font = TTFont(str(cjk_font_path()), lazy=True)
        return frozenset(font.getBestCmap())
