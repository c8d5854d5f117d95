"""Scorer benchmark: publish an answer set, read a vendor's scores, and score the scorer.

1. :func:`publish_answer_set` — a synthetic cohort (or an existing data folder) becomes a published set of answers
   with opaque ids, their questions and competencies, and **no ratings**; gaming probes
   (:func:`~workbench.bench.make_gaming_probes`) are mixed in under the same kind of ids. The seed, the human
   ratings, the candidates' attributes and which answers are probes stay in the *key directory*, which the bank
   keeps.
2. :func:`evaluate_scorer` — a vendor's scores file against the key: coverage (answers not scored, bad rows), the
   ETS acceptance table against the human ratings per competency and per dimension
   (:func:`workbench.scoring.acceptance_table`, the function notebook 03 uses, on the same answer rows and
   demographic columns), subgroup SMD and the impact ratios of the decisions the scores would make
   (:func:`workbench.fairness.impact_table`), and whether the probes beat genuine answers.

The result is a :class:`ScorerEvaluation`: a scorecard (JSON, codes only) and an offline HTML page, and an entry for
the leaderboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._hashing import sha256_file
from .._tabular import escape, write_csv_safe
from ..competency import load_dictionary
from ..errors import ConfigurationError, DataError, IntakeError
from ..i18n import label, resolve_lang, t
from ..intake.validate import QUARANTINE_COLUMNS, quarantine_record
from ..questions.evaluate import read_vendor_table
from ..scoring._metrics import OVERALL
from ._probes import make_gaming_probes, probe_outcomes

__all__ = ["AnswerSetSummary", "ScorerEvaluation", "evaluate_scorer", "publish_answer_set", "read_scores"]

SCALE = (1, 5)
DEMOGRAPHICS = ("gender", "age_band", "hukou_type", "ethnicity", "school_tier", "disability", "home_province")  # = notebook 03
FAIRNESS_ATTRIBUTES = ("gender", "age_band", "hukou_type", "ethnicity", "school_tier", "disability", "region")
SCORE_ALIASES = {
    "answer_id": ("作答编号", "答案编号", "回答编号", "编号", "id", "answerid"),
    "score": ("分数", "得分", "评分", "机器评分", "predicted_score", "prediction"),
    "rating": ("等级", "评级", "整数评分", "machine_rating"),
}
PUBLISHED_COLUMNS = ["answer_id", "question_id", "role_id", "competency_id", "competency", "question_text", "answer_text"]
KEY_VERSION = 1


@dataclass
class AnswerSetSummary:
    out_dir: Path
    key_dir: Path
    answers: int
    probes: int
    questions: int
    source: str


def _tables(cohort_dir: Path | None, key_dir: Path, *, seed: int, n_candidates: int, scenario: str) -> tuple[dict, str]:
    from ..intake import load_accepted, resolve_sources, run_intake

    if cohort_dir is None:
        from ..synth import generate_cohort, scenario_config

        cohort_dir = key_dir / "cohort"
        generate_cohort(scenario_config(scenario, seed=seed, n_candidates=n_candidates, employees_per_role=20), cohort_dir, fmt="parquet")
        source = f"synth:{scenario}:seed={seed}:candidates={n_candidates}"
    else:
        source = f"folder:{Path(cohort_dir).resolve()}"
    cohort_dir = Path(cohort_dir)
    if (cohort_dir / "dictionary.json").is_file() and (cohort_dir / "answers.parquet").is_file():
        return load_accepted(cohort_dir), source  # a run's artifacts/00_intake
    result = run_intake(resolve_sources(cohort_dir))
    return result.tables, source


def publish_answer_set(
    out_dir: str | Path,
    key_dir: str | Path,
    *,
    seed: int = 11,
    n_candidates: int = 1500,
    probe_questions: int = 24,
    cohort_dir: str | Path | None = None,
    scenario: str = "fair",
) -> AnswerSetSummary:
    """Write the published set to ``out_dir`` and the key to ``key_dir`` (both must be new or empty).

    Published: ``answers.csv`` (:data:`PUBLISHED_COLUMNS`, shuffled, opaque ids), ``questions.csv`` and
    ``manifest.json`` (scale, expected columns of the scores file, sha256 of answers.csv). Key: ``key.json``
    (seed, source, sha256 of the published file), ``answers_key.parquet`` (published id → source answer id,
    candidate, ratings, attributes, probe kind and reference) and, for a generated cohort, ``cohort/``.
    """
    from ..fairness.audit import add_region
    from ..scoring._data import answer_dataset

    out_dir, key_dir = Path(out_dir), Path(key_dir)
    for d in (out_dir, key_dir):
        if d.exists() and any(d.iterdir()):
            raise ConfigurationError(f"{d} is not empty; choose a new directory")
    if out_dir.resolve() == key_dir.resolve() or key_dir.resolve() in out_dir.resolve().parents or out_dir.resolve() in key_dir.resolve().parents:
        raise ConfigurationError("the key directory must be separate from the published directory (the key is never sent to vendors)")
    key_dir.mkdir(parents=True, exist_ok=True)
    dictionary = load_dictionary()
    tables, source = _tables(Path(cohort_dir) if cohort_dir else None, key_dir, seed=seed, n_candidates=n_candidates, scenario=scenario)
    data, left_out = answer_dataset(tables)
    if data.empty:
        raise DataError("no double-rated answered answers to publish; the benchmark needs two human ratings per answer")
    questions = tables["questions"]
    cands = add_region(tables["candidates"])
    data = data.merge(cands[["candidate_id", "region"]], on="candidate_id", how="left")
    rng = np.random.default_rng([seed, 77])
    # probes on a few questions, spread over the three dimensions
    rated_q = questions[questions["question_id"].isin(set(data["question_id"]))].copy()
    rated_q["dimension"] = rated_q["competency_id"].map(lambda c: dictionary.competencies[c].dimension)
    k = min(probe_questions, len(rated_q))
    picked = []
    by_dim = {d: g.sample(frac=1.0, random_state=int(rng.integers(2**31))) for d, g in rated_q.groupby("dimension")}
    while len(picked) < k and any(len(g) for g in by_dim.values()):
        for d in sorted(by_dim):
            if len(picked) < k and len(by_dim[d]):
                picked.append(by_dim[d].iloc[0])
                by_dim[d] = by_dim[d].iloc[1:]
    probe_q = pd.DataFrame(picked)
    probes = make_gaming_probes(probe_q, dictionary, data[["answer_id", "question_id", "answer_text", "human"]], seed=seed) if k else pd.DataFrame()
    # opaque published ids for genuine answers and probes alike
    n_total = len(data) + len(probes)
    codes = rng.choice(16**8, size=n_total * 2, replace=False)[:n_total]
    ids = [f"A{c:08x}" for c in codes]
    genuine_ids = dict(zip(data["answer_id"], ids[: len(data)]))
    probe_ids = dict(zip(probes["probe_id"], ids[len(data):])) if len(probes) else {}
    comp_name = {c.id: c.name for c in dictionary.competencies.values()}
    qtext = dict(zip(questions["question_id"], questions["text"]))
    qmeta = questions.set_index("question_id")
    pub = pd.concat([
        pd.DataFrame({"answer_id": data["answer_id"].map(genuine_ids), "question_id": data["question_id"], "answer_text": data["answer_text"]}),
        pd.DataFrame({"answer_id": probes["probe_id"].map(probe_ids), "question_id": probes["question_id"], "answer_text": probes["answer_text"]}) if len(probes) else None,
    ], ignore_index=True)
    pub["role_id"] = pub["question_id"].map(qmeta["role_id"])
    pub["competency_id"] = pub["question_id"].map(qmeta["competency_id"])
    pub["competency"] = pub["competency_id"].map(comp_name)
    pub["question_text"] = pub["question_id"].map(qtext)
    pub = pub[PUBLISHED_COLUMNS].sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    answers_path = write_csv_safe(pub, out_dir / "answers.csv")
    qcols = [c for c in ("question_id", "role_id", "competency_id", "type", "text", "rubric") if c in questions.columns]
    write_csv_safe(questions[questions["question_id"].isin(set(pub["question_id"]))][qcols], out_dir / "questions.csv")
    manifest = {
        "kind": "workbench_scorer_benchmark",
        "answers": len(pub),
        "scale": list(SCALE),
        "scores_file": {"required": ["answer_id", "score"], "optional": ["rating"],
                        "note": "score: continuous on the 1–5 rating scale; rating: integer 1–5 (else score rounded)"},
        "answers_sha256": sha256_file(answers_path),
        "dictionary_version": dictionary.version,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    # the key
    demo = [c for c in DEMOGRAPHICS if c in data.columns]
    key = data[["answer_id", "candidate_id", "question_id", "competency_id", "role_id", "human1", "human2", "human", *demo, "region"]].rename(columns={"answer_id": "source_answer_id"})
    key.insert(0, "answer_id", key["source_answer_id"].map(genuine_ids))
    key["probe_kind"] = None
    key["reference_answer_id"] = None
    key["reference_answer_ids"] = None
    if len(probes):
        pk = pd.DataFrame({
            "answer_id": probes["probe_id"].map(probe_ids), "source_answer_id": probes["probe_id"], "question_id": probes["question_id"],
            "competency_id": probes["competency_id"], "role_id": probes["question_id"].map(qmeta["role_id"]),
            "probe_kind": probes["kind"], "reference_answer_id": probes["reference_answer_id"].map(genuine_ids),
            "reference_answer_ids": probes["reference_answer_ids"].map(lambda ids: ";".join(str(genuine_ids[i]) for i in ids.split(";") if i in genuine_ids)),
        })
        key = pd.concat([key, pk], ignore_index=True)
    key.to_parquet(key_dir / "answers_key.parquet", index=False)
    (key_dir / "key.json").write_text(json.dumps({
        "key_version": KEY_VERSION, "seed": seed, "source": source, "scenario": scenario if cohort_dir is None else None,
        "n_candidates": n_candidates if cohort_dir is None else int(data["candidate_id"].nunique()),
        "answers": int(len(data)), "probes": int(len(probes)), "left_out_not_double_rated": int(left_out),
        "published_answers_sha256": manifest["answers_sha256"], "scale": list(SCALE), "demographics": demo,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return AnswerSetSummary(out_dir=out_dir, key_dir=key_dir, answers=len(pub), probes=len(probes), questions=int(pub["question_id"].nunique()), source=source)


# ------------------------------------------------------------------------------------------------ scores file


def read_scores(path: str | Path, known_ids: set[str], *, scale: tuple[int, int] = SCALE) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read a vendor's scores file. Returns (accepted scores, quarantine, info).

    Accepted rows have ``answer_id``, ``score`` (float) and ``machine_rating`` (the integer ``rating`` column when
    given and valid, else ``score`` rounded half up). Quarantined, with a reason code: empty id or score
    (``missing_value``), non-numeric (``not_number``), outside the scale (``out_of_range``), a rating that is not an
    integer (``not_integer``), repeated ids (``duplicate_key``: every copy, since we cannot tell which is meant),
    ids not in the published set (``unknown_reference``). Counts reconcile: rows_in = accepted + quarantined rows.
    """
    raw, extra = read_vendor_table(path, table="scores", required=("answer_id",), aliases=SCORE_ALIASES)
    frame = raw.frame
    if "score" not in frame.columns and "rating" in frame.columns:
        frame["score"] = frame["rating"]
    if "score" not in frame.columns:
        raise IntakeError(f"[scores] {path} lacks a score column (score / 分数 / 得分, or rating / 等级); columns found: {list(frame.columns)}",
                          file=str(path), column="score")
    lo, hi = scale
    src = str(path)
    problems = [quarantine_record("scores", src, problem) for problem in raw.problems]
    rows = []
    ids = frame["answer_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    repeated = ids.ne("") & ids.duplicated(keep=False)  # every copy: we cannot tell which score is meant
    for idx in frame.index:
        row = int(raw.rows.loc[idx])
        aid = ids.loc[idx]
        value = frame.at[idx, "score"]

        def bad(column, code, reason, v=value):
            problems.append(dict(table="scores", source_file=src, row=row, column=column, value=None if v is None else str(v), reason_code=code, reason=reason))

        if not aid:
            bad("answer_id", "missing_value", "作答编号为空 / empty answer id", aid)
            continue
        if repeated.loc[idx]:
            bad("answer_id", "duplicate_key", "作答编号重复 / repeated answer id", aid)
            continue
        if value is None or str(value).strip() == "":
            bad("score", "missing_value", "分数为空 / empty score")
            continue
        try:
            score = float(str(value).strip())
        except ValueError:
            bad("score", "not_number", "分数不是数字 / score is not a number")
            continue
        if not np.isfinite(score) or not lo <= score <= hi:
            bad("score", "out_of_range", f"分数超出 {lo}–{hi} 分制 / score outside the {lo}–{hi} scale")
            continue
        rating = None
        if "rating" in frame.columns and frame.at[idx, "rating"] not in (None, ""):
            rv = str(frame.at[idx, "rating"]).strip()
            try:
                rf = float(rv)
            except ValueError:
                bad("rating", "not_integer", "等级不是整数 / rating is not an integer", rv)
                continue
            if not rf.is_integer():
                bad("rating", "not_integer", "等级不是整数 / rating is not an integer", rv)
                continue
            if not lo <= rf <= hi:
                bad("rating", "out_of_range", f"等级超出 {lo}–{hi} / rating outside {lo}–{hi}", rv)
                continue
            rating = int(rf)
        rows.append({"row": row, "answer_id": aid, "score": score, "machine_rating": rating if rating is not None else int(min(hi, max(lo, np.floor(score + 0.5))))})
    scores = pd.DataFrame(rows, columns=["row", "answer_id", "score", "machine_rating"])
    extra_ids = ~scores["answer_id"].isin(known_ids)
    for r in scores[extra_ids].itertuples():
        problems.append(dict(table="scores", source_file=src, row=r.row, column="answer_id", value=r.answer_id, reason_code="unknown_reference",
                             reason="作答编号不在发布的作答集中 / answer id not in the published set"))
    scores = scores[~extra_ids].reset_index(drop=True)
    quarantine = pd.DataFrame(problems, columns=QUARANTINE_COLUMNS)
    rows_in = raw.rows_in
    info = {"path": src, "sha256": sha256_file(path), "format": raw.file_format, "encoding": raw.encoding, "sheet": extra.get("sheet"),
            "rows_in": rows_in, "accepted": len(scores), "quarantined_rows": int(quarantine["row"].nunique()) if len(quarantine) else 0}
    if info["accepted"] + info["quarantined_rows"] != rows_in:
        raise DataError(f"internal: scores rows do not reconcile ({info})")
    return scores, quarantine, info


# ------------------------------------------------------------------------------------------------ evaluation


@dataclass
class ScorerEvaluation:
    name: str
    acceptance: pd.DataFrame
    acceptance_by_dimension: pd.DataFrame
    fairness: pd.DataFrame
    fairness_flags: dict
    probes: pd.DataFrame
    file_problems: pd.DataFrame
    coverage: dict
    source: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    lang: str = "zh"

    def summary(self) -> dict:
        overall = self.acceptance[self.acceptance["competency"] == OVERALL]
        o = overall.iloc[0] if len(overall) else None
        comps = self.acceptance[self.acceptance["competency"] != OVERALL]
        judged = self.probes[self.probes["beaten"].notna()] if len(self.probes) else self.probes
        out = {
            "answers": self.coverage["answers"],
            "scored": self.coverage["scored"],
            "coverage_rate": round(self.coverage["scored"] / self.coverage["answers"], 4) if self.coverage["answers"] else 0.0,
            "bad_rows": self.coverage["bad_rows"],
            "qwk": _num(o["qwk"]) if o is not None else None,
            "r": _num(o["r"]) if o is not None else None,
            "smd": _num(o["smd"]) if o is not None else None,
            "qwk_hh": _num(o["qwk_hh"]) if o is not None else None,
            "competencies_passing": int(comps["pass_all"].sum()) if len(comps) else 0,
            "competencies_total": int(len(comps)),
            "bias_flag": bool(self.fairness_flags.get("bias")),
            "adverse_impact_flag": bool(self.fairness_flags.get("adverse")),
            "flagged_groups": self.fairness_flags.get("groups", []),
            "probes": int(len(self.probes)),
            "probes_judged": int(len(judged)),
            "probes_beaten": int(judged["beaten"].astype(bool).sum()) if len(judged) else 0,
            "probes_beaten_rate": round(float(judged["beaten"].astype(bool).mean()), 4) if len(judged) else None,
        }
        out["score"] = self.score(out)
        out["verdict"] = self.verdict(out)
        return out

    @staticmethod
    def score(s: dict) -> float:
        """0–100 for ranking scorers: agreement (overall QWK) 30, share of competencies passing every ETS gate 20,
        fairness 20 (0 with a systematic subgroup bias, 10 with significant adverse impact only), resistance to
        gaming 15 (share of probes that did *not* beat their reference), coverage 15."""
        qwk = max(0.0, min(1.0, s["qwk"] or 0.0))
        gates = s["competencies_passing"] / s["competencies_total"] if s["competencies_total"] else 0.0
        fairness = 0.0 if s["bias_flag"] else (0.5 if s["adverse_impact_flag"] else 1.0)
        gaming = 1 - (s["probes_beaten_rate"] if s["probes_beaten_rate"] is not None else 1.0)
        return round(30 * qwk + 20 * gates + 20 * fairness + 15 * gaming + 15 * s["coverage_rate"], 1)

    @staticmethod
    def verdict(s: dict) -> str:
        """``fail`` (below the QWK / r gates overall, or < 95 % coverage), ``flagged`` (fairness), ``needs_work``
        (some competency fails a gate, or more than a quarter of the probes beat their reference), ``good``."""
        if (s["qwk"] or 0) < 0.7 or (s["r"] or 0) < 0.7 or s["coverage_rate"] < 0.95:
            return "fail"
        if s["bias_flag"] or s["adverse_impact_flag"]:
            return "flagged"
        if s["competencies_passing"] < s["competencies_total"] or (s["probes_beaten_rate"] or 0) > 0.25:
            return "needs_work"
        return "good"

    def probe_table(self) -> pd.DataFrame:
        p = self.probes[self.probes["beaten"].notna()] if len(self.probes) else self.probes
        if not len(p):
            return pd.DataFrame(columns=["kind", "n", "beaten", "rate", "mean_gap"])
        g = p.groupby("kind", sort=False)
        return pd.DataFrame({"n": g.size(), "beaten": g["beaten"].apply(lambda s: int(s.astype(bool).sum())),
                             "rate": g["beaten"].apply(lambda s: round(float(s.astype(bool).mean()), 3)),
                             "mean_gap": g["gap"].mean().round(3)}).reset_index()

    def scorecard(self) -> dict:
        probes = self.probes.drop(columns=["answer_text"], errors="ignore")
        return {
            "schema_version": 2,
            "kind": "scorer",
            "name": self.name,
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": self.source,
            "parameters": self.params,
            "summary": self.summary(),
            "acceptance": self.acceptance.to_dict(orient="records"),
            "acceptance_by_dimension": self.acceptance_by_dimension.to_dict(orient="records"),
            "fairness": self.fairness.to_dict(orient="records"),
            "probes_by_kind": self.probe_table().to_dict(orient="records"),
            "probes": probes.to_dict(orient="records"),
            "file_problems": self.file_problems.drop(columns=["value"], errors="ignore").to_dict(orient="records"),
        }

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        from ..questions.evaluate import _json_default

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"scorecard": out_dir / "scorecard.json", "html": out_dir / "scorecard.html"}
        paths["scorecard"].write_text(json.dumps(self.scorecard(), ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")
        paths["acceptance"] = write_csv_safe(self.acceptance, out_dir / "acceptance.csv")
        paths["acceptance_by_dimension"] = write_csv_safe(self.acceptance_by_dimension, out_dir / "acceptance_by_dimension.csv")
        paths["fairness"] = write_csv_safe(self.fairness, out_dir / "fairness.csv")
        paths["probes"] = write_csv_safe(self.probes.drop(columns=["answer_text"], errors="ignore"), out_dir / "probes.csv")
        paths["file_problems"] = write_csv_safe(self.file_problems, out_dir / "file_problems.csv")
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        return paths

    def to_html(self, lang: str | None = None) -> str:
        from ..reports import render_page

        lang = resolve_lang(lang or self.lang)
        return render_page(t("bench.s.title", lang, name=self.name), self._render(lang), lang=lang)

    def _repr_html_(self) -> str:
        return self._render(resolve_lang(self.lang))

    def _render(self, lang: str) -> str:
        from ..questions._evaluate_html import _table
        from ..scoring import render_acceptance

        s = self.summary()
        cls = {"good": "wb-ok", "needs_work": "wb-warn", "flagged": "wb-bad", "fail": "wb-bad"}[s["verdict"]]
        line = t("bench.s.score_line", lang, verdict=label("bench.s.verdict", s["verdict"], lang), reason=t("bench.s.reason." + s["verdict"], lang), score=f"{s['score']:.1f}")
        f2 = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        rows = [
            (t("bench.s.coverage", lang), t("bench.s.coverage_value", lang, scored=s["scored"], total=s["answers"], rate=f"{s['coverage_rate']:.1%}",
                                                missing=s["answers"] - s["scored"], bad=s["bad_rows"])),
            (t("bench.s.overall", lang), t("bench.s.overall_value", lang, qwk=f2(s["qwk"]), r=f2(s["r"]), smd=f2(s["smd"]), hh=f2(s["qwk_hh"]))),
            (t("bench.s.gates", lang), t("bench.s.gates_value", lang, n=s["competencies_passing"], total=s["competencies_total"])),
        ]
        parts = [f"<h2>{escape(t('bench.s.title', lang, name=self.name))}</h2>", f"<p class='{cls}' style='font-size:16px'>{escape(line)}</p>",
                 "<table><tbody>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows) + "</tbody></table>"]
        dictionary = load_dictionary()
        names = {c: dictionary.competencies[c].name for c in dictionary.competencies}
        parts.append(render_acceptance(self.acceptance, by="competency", labels=names, title=t("bench.s.sec_acceptance", lang), lang=lang))
        parts.append(render_acceptance(self.acceptance_by_dimension, by="dimension", title=t("bench.s.sec_acceptance_dim", lang), lang=lang))
        share = f"{self.params.get('top_share', 0.2):.0%}"
        parts.append(f"<h3>{escape(t('bench.s.sec_fairness', lang))}</h3><p>{escape(t('bench.s.fairness_intro', lang, share=share))}</p>")
        if len(self.fairness):
            f = self.fairness.assign(flag=self.fairness["flag"].map(lambda v: " ".join(label("bench.s.flag", x, lang) for x in str(v).split()) if v else ""))
            parts.append(_table(f, ["attribute", "category", "count", "rate_machine", "impact_ratio_machine", "impact_ratio_human", "smd", "smd_vs_rest", "flag"],
                                [t(f"bench.s.col.{k}", lang) for k in ("attribute", "category", "count", "rate_m", "ir_m", "ir_h", "smd", "smd_rel", "flag")]))
        parts.append(f"<h3>{escape(t('bench.s.sec_gaming', lang))}</h3><p>{escape(t('bench.s.gaming_intro', lang))}</p>")
        pt = self.probe_table()
        if len(pt):
            pt = pt.assign(kind=pt["kind"].map(lambda k: label("bench.probe", k, lang)), rate=pt["rate"].map(lambda v: f"{v:.0%}"))
            parts.append(_table(pt, ["kind", "n", "beaten", "rate", "mean_gap"], [t(f"bench.s.col.{k}", lang) for k in ("kind", "n", "beaten", "rate", "mean_gap")]))
        if len(self.file_problems):
            fp = self.file_problems.groupby(["reason_code", "reason"]).size().reset_index(name="n")
            parts.append(f"<h3>{escape(t('bench.s.sec_file', lang))}</h3>" + _table(fp, ["reason", "n"], [t("bench.col.reason", lang), t("bench.s.col.n", lang)]))
        return "<div class='wb-scorer'>" + "".join(parts) + "</div>"


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else round(f, 4)


def _fairness(scored: pd.DataFrame, attrs: list[str], top_share: float, gates) -> tuple[pd.DataFrame, dict]:
    """Per attribute and group: impact ratios of the advance decisions the machine scores and the human ratings
    would make, the ETS subgroup SMD (machine − human, in human-score SD units) and that SMD relative to the
    attribute's other groups (``smd_vs_rest``).

    Flags (codes): ``bias_against`` / ``bias_for`` — the group's SMD is below / above that of the attribute's other
    groups by more than the ETS subgroup gate (0.10), with at least ``gates.min_subgroup_n`` answers on each side
    (``flagged_groups`` names the groups a scorer is harsher on; a favoured group is named with "(+)" only when no
    group of the attribute is named against); ``adverse`` — the machine's decisions give the
    group an impact ratio under 4/5, the attribute's omnibus test is significant (Holm), and the machine is
    significantly harsher on the group than the human ratings are, relative to the highest-rate group
    (z < −2.58 on the per-candidate change machine − human decision). Humans' own disparities are shown beside
    (``impact_ratio_human``) and are not blamed on the scorer.
    """
    from ..fairness import impact_table
    from ..fairness.audit import advance_decision, flagged_attributes

    per_cand = scored.groupby(["candidate_id", "role_id"], as_index=False).agg(machine=("score", "mean"), human=("human", "mean"))
    attr_frame = scored.drop_duplicates("candidate_id").set_index("candidate_id")
    for a in attrs:
        per_cand[a] = per_cand["candidate_id"].map(attr_frame[a])
    per_cand["advance_m"] = advance_decision(per_cand, score="machine", top_share=top_share)
    per_cand["advance_h"] = advance_decision(per_cand, score="human", top_share=top_share)
    per_cand["change"] = per_cand["advance_m"] - per_cand["advance_h"]
    sd_h = float(scored["human"].std(ddof=1))
    diff = (scored["score"] - scored["human"]) / sd_h if sd_h > 0 else scored["score"] * np.nan
    rows, groups = [], []
    bias = adverse = False
    for a in attrs:
        try:
            tm = impact_table(per_cand, by=a, selected="advance_m")
            th = impact_table(per_cand, by=a, selected="advance_h").set_index("category")
        except DataError:  # fewer than two known groups among the scored candidates: nothing to compare
            continue
        significant = a in flagged_attributes(tm)
        known = scored[a].notna()
        for r in tm.itertuples():
            if r.is_unknown:
                continue
            in_group = scored[a] == r.category
            rest = known & ~in_group
            n_ans, n_rest = int(in_group.sum()), int(rest.sum())
            smd = float(diff[in_group].mean()) if n_ans else np.nan
            rel = smd - float(diff[rest].mean()) if n_ans and n_rest else np.nan
            flag = []
            if min(n_ans, n_rest) >= gates.min_subgroup_n and abs(rel) > gates.max_abs_subgroup_smd:
                flag.append("bias_against" if rel < 0 else "bias_for")
            if significant and bool(r.adverse) and isinstance(r.reference, str | int | float):
                focal = per_cand.loc[per_cand[a] == r.category, "change"]
                ref = per_cand.loc[per_cand[a] == r.reference, "change"]
                se = np.sqrt(focal.var(ddof=1) / max(len(focal), 1) + ref.var(ddof=1) / max(len(ref), 1)) if len(focal) > 1 and len(ref) > 1 else np.nan
                z = (focal.mean() - ref.mean()) / se if se and se > 0 else (-np.inf if focal.mean() < ref.mean() else 0.0)
                if z < -2.58:
                    flag.append("adverse")
            if flag:
                if "bias_for" not in flag or len(flag) > 1:
                    groups.append(f"{a}={r.category}")
                bias = bias or any(f.startswith("bias") for f in flag)
                adverse = adverse or "adverse" in flag
            rows.append({"attribute": a, "category": r.category, "count": int(r.count), "rate_machine": round(float(r.rate), 4),
                         "impact_ratio_machine": _num(r.impact_ratio),
                         "impact_ratio_human": _num(th.loc[r.category, "impact_ratio"]) if r.category in th.index else None,
                         "answers": n_ans, "smd": _num(smd), "smd_vs_rest": _num(rel), "flag": " ".join(flag)})
    frame = pd.DataFrame(rows)
    if bias and len(frame):  # a group favoured with no group named against it (one small group favoured): name it
        for a, g in frame.groupby("attribute", sort=False):
            if g["flag"].str.contains("bias_for").any() and not g["flag"].str.contains("bias_against").any():
                groups += [f"{a}={c}(+)" for c in g.loc[g["flag"].str.contains("bias_for"), "category"]]
    return frame, {"bias": bias, "adverse": adverse, "groups": sorted(set(groups))}


def evaluate_scorer(
    scores_path: str | Path,
    key_dir: str | Path,
    *,
    name: str | None = None,
    top_share: float = 0.2,
    lang: str | None = None,
) -> ScorerEvaluation:
    """Evaluate a vendor's scores against the key of a published answer set (see the module docstring)."""
    from ..scoring import GATES, acceptance_table

    key_dir = Path(key_dir)
    if not (key_dir / "key.json").is_file() or not (key_dir / "answers_key.parquet").is_file():
        raise DataError(f"{key_dir} is not a benchmark key directory (key.json and answers_key.parquet); create one with `workbench bench answers --key`")
    meta = json.loads((key_dir / "key.json").read_text(encoding="utf-8"))
    key = pd.read_parquet(key_dir / "answers_key.parquet")
    scale = tuple(meta.get("scale", SCALE))
    scores, problems, info = read_scores(scores_path, set(key["answer_id"]), scale=scale)
    genuine = key[key["probe_kind"].isna()].copy()
    probes_key = key[key["probe_kind"].notna()]
    merged = genuine.merge(scores[["answer_id", "score", "machine_rating"]], on="answer_id", how="inner")
    dictionary = load_dictionary()
    demo = [c for c in meta.get("demographics", DEMOGRAPHICS) if c in merged.columns]
    data = merged.assign(
        machine=merged["score"].astype(float), machine_rating=merged["machine_rating"].astype(int),
        competency=merged["competency_id"].astype(str),
        human1=merged["human1"].astype(int), human2=merged["human2"].astype(int), human=merged["human"].astype(float),
    )
    for col in demo:
        data[col] = data[col].astype(object).where(data[col].notna(), None)
    data["dimension"] = data["competency"].map(lambda c: dictionary.competencies[c].dimension)  # codes; labels at render time
    if data.empty:
        raise DataError(f"{scores_path}: none of the published genuine answers has a usable score ({info['accepted']} rows accepted, {info['quarantined_rows']} with problems)")
    acceptance = acceptance_table(data, by="competency", demographics=tuple(demo))
    by_dim = acceptance_table(data, by="dimension", demographics=tuple(demo))
    attrs = [a for a in FAIRNESS_ATTRIBUTES if a in data.columns]
    fairness, flags = _fairness(data, attrs, top_share, GATES)
    score_map = dict(zip(scores["answer_id"], scores["score"]))
    probes = pd.DataFrame({
        "probe_id": probes_key["answer_id"], "kind": probes_key["probe_kind"], "question_id": probes_key["question_id"],
        "competency_id": probes_key["competency_id"], "reference_answer_id": probes_key["reference_answer_id"],
        **({"reference_answer_ids": probes_key["reference_answer_ids"]} if "reference_answer_ids" in probes_key.columns else {}),
    }).reset_index(drop=True)
    probes = probe_outcomes(probes, score_map) if len(probes) else probes.assign(probe_score=[], reference_score=[], gap=[], beaten=[])
    coverage = {"answers": int(len(genuine)), "scored": int(len(merged)), "bad_rows": info["quarantined_rows"],
                "probes_scored": int(probes["probe_score"].notna().sum()) if len(probes) else 0}
    source = {"scores": info, "key": {"seed_recorded": "seed" in meta, "published_answers_sha256": meta.get("published_answers_sha256"), "source": meta.get("source")}}
    return ScorerEvaluation(
        name=name or Path(scores_path).stem, acceptance=acceptance, acceptance_by_dimension=by_dim, fairness=fairness, fairness_flags=flags,
        probes=probes, file_problems=problems, coverage=coverage, source=source, params={"top_share": top_share, "scale": list(scale)},
        lang=resolve_lang(lang),
    )
