"""Attributions drawn on the original Chinese text: escaped, self-contained HTML (no script, no external resource).

Each token of the answer (the scorer's own tokenizer) is shaded by the sum of its characters' attributions: red
raises the score, blue lowers it, the opacity grows with the size relative to ``scale`` (per answer: the largest
token; per competency: shared by all answers shown, so shades compare). Text the scorer does not read (dropped
sentences, masked terms) is grey. The non-text features (evidence, behavioural cues, absent n-grams) follow as a
short table.
"""

from __future__ import annotations

import numpy as np

from .._tabular import escape
from ..i18n import label, resolve_lang, t
from ._engine import KINDS, char_values, token_spans
from ._explanations import AnswerExplanations, feature_label

__all__ = ["Highlight", "highlight", "highlight_competency", "competency_name"]

POSITIVE = (255, 0, 81)  # shap's colours
NEGATIVE = (0, 139, 251)
_BOX = "font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;line-height:2;margin:0.6em 0 1.2em 0"


class Highlight:
    """HTML that displays itself in notebooks (``_repr_html_``) and can be embedded in a report (``.html``)."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def competency_name(competency: str, lang: str | None = None) -> str:
    from ..competency import load_dictionary

    comp = load_dictionary().competencies.get(competency)
    if comp is None:
        return competency or "—"
    return comp.label(lang)


def _colour(value: float, scale: float) -> str:
    if scale <= 0 or value == 0:
        return "transparent"
    strength = min(1.0, abs(value) / scale)
    r, g, b = POSITIVE if value > 0 else NEGATIVE
    return f"rgba({r},{g},{b},{0.08 + 0.72 * strength:.3f})"


def _token_segments(text: str, backend: str, per_char: np.ndarray, read: np.ndarray) -> list[tuple[str, float, bool]]:
    """(text, value, read) for every token and every stretch between tokens, covering the answer exactly."""
    out, pos = [], 0
    for a, b in token_spans(text, backend):
        if a > pos:
            out.append((text[pos:a], 0.0, bool(read[pos:a].any())))
        out.append((text[a:b], float(per_char[a:b].sum()), bool(read[a:b].any())))
        pos = b
    if pos < len(text):
        out.append((text[pos:], 0.0, bool(read[pos:].any())))
    return out


def _render_text(segments, scale: float) -> str:
    parts = []
    for piece, value, was_read in segments:
        shown = escape(piece).replace("\n", "<br>").replace("\x00", " ")
        if not was_read and piece.strip():
            parts.append(f"<span style='color:#9e9e9e'>{shown}</span>")
        elif value != 0:
            parts.append(f"<span style='background:{_colour(value, scale)};border-radius:3px' title='{value:+.4f}'>{shown}</span>")
        else:
            parts.append(shown)
    return "".join(parts)


def _answer_parts(ex: AnswerExplanations, i: int):
    att, frame = ex._attribution(i)
    per_char, read = char_values(att, with_read=True)
    text = frame["answer"].iloc[0]
    segments = _token_segments(text, ex._engine.featurizer.tokenizer, per_char[0], read[0])
    non_text = np.flatnonzero(np.isin(att.f_kind, (1, 2)) & (att.f_value != 0))
    non_text = non_text[np.argsort(-np.abs(att.f_value[non_text]), kind="stable")]
    return att, segments, non_text


def _answer_html(ex: AnswerExplanations, i: int, *, lang: str, scale: float | None, max_features: int) -> str:
    att, segments, non_text = _answer_parts(ex, i)
    if scale is None:
        scale = max((abs(v) for _, v, _ in segments), default=0.0)
    head = t("explain.highlight.score", lang, score=f"{ex.scores[i]:.2f}", linear=f"{ex.predictions[i]:.2f}", base=f"{ex.base_values[i]:.2f}")
    shown = non_text[:max_features]
    rows = "".join(
        f"<tr><td>{escape(feature_label(att.f_group[j], KINDS[att.f_kind[j]], att.f_name[j], lang, with_group=False))}</td>"
        f"<td>{escape(label('explain.group', att.f_group[j], lang))}</td>"
        f"<td style='text-align:right;background:{_colour(float(att.f_value[j]), max(scale, float(np.abs(att.f_value[shown]).max())))}'>"
        f"{att.f_value[j]:+.3f}</td></tr>"
        for j in shown.tolist()
    )
    others = float(att.f_value[non_text[max_features:]].sum()) if len(non_text) > max_features else 0.0
    if len(non_text) > max_features:
        rows += f"<tr><td colspan='2'>{escape(t('explain.highlight.rest', lang))}</td><td style='text-align:right'>{others:+.3f}</td></tr>"
    table = (f"<table class='wb-table' style='margin-top:0.4em'><thead><tr><th>{escape(t('explain.highlight.other', lang))}</th><th></th>"
             f"<th>{escape(t('explain.highlight.value', lang))}</th></tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    return (f"<div style=\"{_BOX}\"><div style='color:#555;font-size:90%'>{escape(head)}</div>"
            f"<div style='font-size:110%'>{_render_text(segments, scale)}</div>{table}</div>")


def _legend(lang: str) -> str:
    return f"<p style='color:#666;font-size:85%'>{escape(t('explain.highlight.legend', lang))}</p>"


def _shared_scale(ex: AnswerExplanations, rows) -> float:
    """The largest token value among the answers ``rows`` (one colour scale for all of them)."""
    scale = 0.0
    for r in rows:
        _, segments, _ = _answer_parts(ex, int(r))
        scale = max(scale, max((abs(v) for _, v, _ in segments), default=0.0))
    return scale


def highlight(ex: AnswerExplanations, i: int, *, lang: str | None = None, scale: float | None = None, max_features: int = 8) -> Highlight:
    """Answer ``i`` of ``ex`` with every token shaded by its contribution, plus its strongest non-text features."""
    lang = resolve_lang(lang)
    return Highlight(_answer_html(ex, int(i), lang=lang, scale=scale, max_features=max_features) + _legend(lang))


def highlight_competency(ex: AnswerExplanations, competency: str, *, rows=None, max_answers: int = 5, lang: str | None = None,
                         max_features: int = 5) -> Highlight:
    """Several answers of one competency on a shared colour scale (the largest token value among them)."""
    lang = resolve_lang(lang)
    if rows is None:
        rows = np.flatnonzero(ex.answers["competency"].to_numpy() == competency)[:max_answers]
    rows = [int(r) for r in rows][:max_answers]
    scale = _shared_scale(ex, rows)
    body = "".join(_answer_html(ex, r, lang=lang, scale=scale, max_features=max_features) for r in rows)
    title = t("explain.highlight.competency", lang, name=competency_name(competency, lang))
    return Highlight(f"<section><h4>{escape(title)}</h4>{body}{_legend(lang)}</section>")
