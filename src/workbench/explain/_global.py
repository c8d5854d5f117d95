"""Global views: which words, phrases and evidence features drive the scores of each competency, and a gallery of
high, low and borderline answers to look at with their highlights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import label, resolve_lang, t
from ._engine import ABSENT, KINDS, _collapse, _unpack
from ._explanations import AnswerExplanations, feature_label
from ._highlight import Highlight, _answer_html, _legend, _shared_scale, competency_name

__all__ = ["gallery", "gallery_html", "global_figure", "global_importance"]


def global_importance(ex: AnswerExplanations, *, top_n: int | None = 20, batch_size: int = 2000) -> pd.DataFrame:
    """Per competency and feature group (words, chars, evidence, bei, …), the ``top_n`` features with the largest mean
    absolute attribution over the competency's answers (all of them with ``top_n=None``), largest first.

    Columns: ``competency``, ``group``, ``kind``, ``feature``, ``answers`` (answers of the competency where the
    feature has a value: n-grams the answer uses; every answer for evidence/behavioural features), ``mean_value`` (the
    mean over all answers of the competency, 0 where unused: its average push on scores), ``mean_abs_value`` (the
    ranking), ``mean_when_present``, ``direction`` (+1: raises the score when present / higher; −1: lowers it; 0: no
    effect). Uses every attribution, not only the top k kept in ``ex.top``.
    """
    frame = ex.answers[["answer", "competency"]]
    comp_codes, comps = pd.factorize(frame["competency"], sort=True)
    per_comp = np.bincount(comp_codes, minlength=len(comps)) if len(comps) else np.zeros(0, np.int64)
    keys = ["comp", "kind", "gcode", "n", "key"]  # numeric identity of a feature within a competency
    parts = []
    for lo in range(0, len(frame), batch_size):  # aggregated batch by batch: memory follows one batch
        chunk = frame.iloc[lo:lo + batch_size].reset_index(drop=True)
        att = ex._engine.attribute(chunk)
        has_text = att.f_count > 0
        at = np.where(has_text, att.f_occ, 0)
        where = (lambda a, fill: np.where(has_text, a[at], fill)) if len(att.occ_start) else (lambda a, fill: np.full(len(at), fill))
        batch = pd.DataFrame({
            "comp": comp_codes[lo + att.f_row], "kind": att.f_kind.astype(np.int64), "gcode": att.f_gcode.astype(np.int64), "n": att.f_n.astype(np.int64),
            "key": att.f_key.astype(np.uint64), "value": att.f_value, "abs": np.abs(att.f_value),
            # where to read an n-gram's text from later: its answer and first occurrence
            "row": lo + att.f_row, "start": where(att.occ_start, -1), "end": where(att.occ_end, -1), "gapped": where(att.occ_gapped, False),
        })
        parts.append(batch.groupby(keys, sort=False).agg(answers=("value", "size"), total=("value", "sum"), total_abs=("abs", "sum"),
                                                         row=("row", "first"), start=("start", "first"), end=("end", "first"),
                                                         gapped=("gapped", "first")).reset_index())
    columns = ["competency", "group", "kind", "feature", "answers", "mean_value", "mean_abs_value", "mean_when_present", "direction"]
    if not parts:
        return pd.DataFrame(columns=columns)
    agg = pd.concat(parts, ignore_index=True).groupby(keys, sort=True).agg(
        answers=("answers", "sum"), total=("total", "sum"), total_abs=("total_abs", "sum"), row=("row", "first"), start=("start", "first"),
        end=("end", "first"), gapped=("gapped", "first")).reset_index()
    group, name = _names(ex._engine, agg)
    agg["group"], agg["name"] = group, name
    agg["mean_value"] = agg["total"] / per_comp[agg["comp"]]
    agg["mean_abs_value"] = agg["total_abs"] / per_comp[agg["comp"]]
    agg["mean_when_present"] = agg["total"] / agg["answers"]
    agg = agg.sort_values(["comp", "mean_abs_value", "group", "kind", "gcode", "n", "key"], ascending=[True, False, True, True, True, True, True], kind="stable")
    if top_n is not None:  # per feature group, so words and phrases are not crowded out by the few dense features
        agg = agg.groupby(["comp", "group"], sort=True).head(top_n)
    texts = []
    for r in agg.itertuples(index=False):
        if r.kind in (1, 2):
            texts.append(r.name)
        elif r.kind == 3:  # a token of a non-linear scorer: its text at the first occurrence
            texts.append(ex.answers["answer"].iat[int(r.row)][int(r.start):int(r.end)])
        elif r.group == "chars":
            texts.append(_unpack(int(r.key)))
        elif not r.gapped:
            texts.append(_collapse(ex.answers["answer"].iat[int(r.row)][int(r.start):int(r.end)].replace("\x00", " ")))
        else:  # a word n-gram across a dropped sentence or masked term: ask the featurizer for its text
            texts.append(_gapped_text(ex, int(r.row), int(r.n), int(r.key)))
    # direction: does the feature raise the score when it is present (n-grams, tokens) or higher (dense: the sign of its
    # linear weight, so a standardised cue's two-sided attributions do not cancel out)
    direction = np.sign(agg["mean_when_present"].to_numpy(float))
    coef = getattr(ex._engine, "coef", None)
    if coef is not None:
        dense = agg["kind"].to_numpy() == 1
        names = list(ex._engine.dense_names)
        index = [names.index(f"{g}:{nm}") for g, nm in zip(agg["group"][dense], agg["name"][dense])]
        if index:
            direction[dense] = np.sign(coef[ex._engine.text_width + np.asarray(index, dtype=np.int64)])
    return pd.DataFrame({
        "competency": np.asarray(comps, dtype=object)[agg["comp"].to_numpy()], "group": agg["group"].to_numpy(object),
        "kind": np.array(KINDS, dtype=object)[agg["kind"].to_numpy(np.int64)], "feature": texts, "answers": agg["answers"].to_numpy(np.int64),
        "mean_value": agg["mean_value"].to_numpy(float), "mean_abs_value": agg["mean_abs_value"].to_numpy(float),
        "mean_when_present": agg["mean_when_present"].to_numpy(float), "direction": direction.astype(int),
    })


def _names(engine, agg: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Group and feature code of aggregated features from their numeric identity (kind, gcode, key)."""
    dense = [name.split(":", 1) if ":" in name else ("dense", name) for name in getattr(engine, "dense_names", [])]
    blocks = list(getattr(engine, "blocks", {}))
    group, name = [], []
    for kind, gcode, key in zip(agg["kind"].tolist(), agg["gcode"].tolist(), agg["key"].tolist()):
        if kind == 0:
            group.append(("words", "chars")[gcode])
            name.append("")
        elif kind == 1:
            group.append(dense[key][0])
            name.append(dense[key][1])
        elif kind == 2:
            group.append(blocks[key])
            name.append(ABSENT)
        else:
            group.append("tokens")
            name.append("")
    return np.array(group, dtype=object), np.array(name, dtype=object)


def _gapped_text(ex: AnswerExplanations, row: int, n: int, key: int) -> str:
    occ = ex._engine.featurizer.ngram_occurrences(ex.answers.iloc[[row]][["answer", "competency"]], text=True)
    hit = occ[(occ["group"] == "words") & (occ["n"] == n) & (occ["key"].to_numpy(np.uint64) == np.uint64(key))]
    return str(hit["text"].iat[0])


def global_figure(table: pd.DataFrame, competency: str, *, groups=None, top_n: int = 12, lang: str | None = None):
    """Horizontal bars of one competency's strongest features of ``groups`` (default: all): the mean absolute
    contribution over its answers, red where the feature raises scores (when present or higher), blue where it lowers them."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from ..reports import setup_matplotlib

    setup_matplotlib()
    lang = resolve_lang(lang)
    rows = table[(table["competency"] == competency) & (table["group"].isin(groups) if groups is not None else True)]
    rows = rows.sort_values("mean_abs_value", ascending=False, kind="stable").head(top_n).iloc[::-1]
    labels = [f"{feature_label(g, k, f, lang, with_group=False)}（{label('explain.group', g, lang)}）"
              for g, k, f in zip(rows["group"], rows["kind"], rows["feature"])]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * max(len(rows), 3) + 1.4))
    colours = ["#ff0051" if d > 0 else "#008bfb" for d in rows["direction"]]
    ax.barh(range(len(rows)), rows["mean_abs_value"], color=colours)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xlabel(t("explain.global.xlabel", lang))
    ax.set_title(t("explain.global.title", lang, name=competency_name(competency, lang)))
    ax.legend(handles=[Patch(color="#ff0051", label=t("explain.global.raises", lang)), Patch(color="#008bfb", label=t("explain.global.lowers", lang))],
              loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def gallery(ex: AnswerExplanations, scorer, *, per_kind: int = 1, competencies=None, borderline_at: int | None = 3) -> pd.DataFrame:
    """Answers worth looking at, per competency: the highest and lowest scored and the ``borderline`` ones — closest to
    the score where the machine rating reaches ``borderline_at`` (None: the nearest cut between any two ratings), where
    a small change flips the rating. Columns: ``competency``, ``kind``, ``row``, ``score``, ``rating``,
    ``distance_to_cut``."""
    frame = ex.answers
    cuts = np.asarray(getattr(scorer, "rating_cuts_", []), dtype=float)
    lowest = scorer.rating_scale_[0]
    ratings = (np.searchsorted(cuts, ex.scores, side="left") + lowest).astype(int) if len(cuts) else np.full(len(ex), -1)
    if borderline_at is not None and len(cuts):
        if not lowest < borderline_at <= lowest + len(cuts):
            raise ValueError(f"borderline_at must be a rating above the lowest ({lowest}) and at most {lowest + len(cuts)}, got {borderline_at}")
        cuts = cuts[[borderline_at - lowest - 1]]
    distance = np.min(np.abs(ex.scores[:, None] - cuts[None, :]), axis=1) if len(cuts) else np.full(len(ex), np.nan)
    out = []
    for comp in sorted(set(frame["competency"])) if competencies is None else competencies:
        rows = np.flatnonzero(frame["competency"].to_numpy() == comp)
        if not len(rows):
            continue
        by_score = rows[np.argsort(ex.scores[rows], kind="stable")]
        picks = {"high": by_score[::-1][:per_kind], "low": by_score[:per_kind]}
        if len(cuts):
            picks["borderline"] = rows[np.argsort(distance[rows], kind="stable")][:per_kind]
        for kind, chosen in picks.items():
            out += [{"competency": comp, "kind": kind, "row": int(r), "score": float(ex.scores[r]), "rating": int(ratings[r]),
                     "distance_to_cut": float(distance[r])} for r in chosen]
    return pd.DataFrame(out, columns=["competency", "kind", "row", "score", "rating", "distance_to_cut"])


def gallery_html(ex: AnswerExplanations, table: pd.DataFrame, *, lang: str | None = None, max_features: int = 5) -> Highlight:
    """The gallery's answers with their highlights, grouped by competency (one colour scale per competency)."""
    from .._tabular import escape

    lang = resolve_lang(lang)
    sections = []
    for comp, group in table.groupby("competency", sort=True):
        rows = group["row"].tolist()
        scale = _shared_scale(ex, rows)
        body = "".join(f"<div><b>{escape(label('explain.gallery', k, lang))}</b>{_answer_html(ex, r, lang=lang, scale=scale, max_features=max_features)}</div>"
                       for k, r in zip(group["kind"], rows))
        sections.append(f"<section><h4>{escape(t('explain.highlight.competency', lang, name=competency_name(comp, lang)))}</h4>{body}</section>")
    return Highlight("".join(sections) + _legend(lang))
