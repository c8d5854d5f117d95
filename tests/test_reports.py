"""Reports: Chinese glyphs in charts (no tofu), offline HTML, escaping."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from workbench.reports import assert_offline, missing_glyphs, setup_matplotlib, write_index

LABELS = "各岗位候选人数 人工评分分布（1–5 分） 作答长度分布（字） 合规意识 客户至上 专业能力 综合素质 文化适配 反洗钱 𠀀"


def _render(text: str, family: str | None = None) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    kwargs = {"family": family} if family else {}
    ax.text(0.01, 0.5, text, fontsize=14, **kwargs)
    buf = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format="png")
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    from PIL import Image

    buf.seek(0)
    return np.asarray(Image.open(buf).convert("L")), missing


def test_cjk_font_covers_report_labels():
    setup_matplotlib()
    bmp_labels = "".join(ch for ch in LABELS if ord(ch) <= 0xFFFF)
    assert missing_glyphs(bmp_labels) == []


def test_chinese_chart_renders_real_glyphs_not_tofu():
    setup_matplotlib()
    text = "合规意识与客户至上"
    pixels, missing = _render(text)
    assert missing == [], missing
    # Tofu boxes all look alike: with the CJK font the rendered characters differ from each other.
    tofu, tofu_missing = _render(text, family="DejaVu Sans")
    assert tofu_missing, "DejaVu Sans should lack CJK glyphs (sanity check of the test itself)"
    assert not np.array_equal(pixels, tofu)
    ink = (pixels < 128).sum()
    assert ink > 400  # real strokes were drawn


def test_assert_offline_rejects_remote_resources():
    assert_offline("<html><img src='data:image/png;base64,AAA'></html>")
    for bad in ('<script src="https://cdn.example.com/x.js"></script>', "<link href='//cdn.example.com/a.css'>", "<img src=http://x/y.png>".replace("=", '="') + '"'):
        with pytest.raises(ValueError):
            assert_offline(bad)


def test_index_escapes_everything(tmp_path):
    manifest = {
        "run_id": "<script>alert(1)</script>",
        "profile": "smoke",
        "status": "ok",
        "git": {"commit": "abc", "dirty": False},
        "stages": [{"name": "00_intake", "title": "<b>x</b>", "status": "failed", "error": {"message": "<img src=x onerror=alert(1)>"}}],
    }
    html = write_index(tmp_path, manifest).read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
