"""Issue 11: an English run's reports contain no Chinese outside data values, and its numbers equal the Chinese run's.

One smoke run with ``lang=en`` (``smoke_run_en`` of conftest.py, made next to the session's Chinese ``smoke_run``). Every stage report and the overview page
is reduced to its visible text (tags, styles, scripts and embedded images removed); the runs of CJK characters left
must all occur in the input tables (candidate attributes, question and answer text, dictionary text that has no
English name) or be region names derived from provinces. Names from the competency dictionary that have ``name_en``
are not data in an English report: it must use the English name.

Stage 05 (fairness audit) is left out here: issue 11's port of fairness/audit.py, fairness/_scores.py and
stages/fairness.py to the message catalog is done separately; add "05_fairness_audit" back once it lands.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
from pathlib import Path

import pandas as pd

HANDLED_ELSEWHERE: set[str] = set()  # every stage, 05 included since the fairness audit moved to the catalog

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
# an excerpt of free text (answers, questions) at least this long counts as data
_MIN_PARTIAL = 3


def _run_dir(result) -> Path:
    for attr in ("run_dir", "out", "path"):
        value = getattr(result, attr, None)
        if value is not None:
            return Path(value)
    return Path(result)


def visible_text(page: str) -> str:
    """The text a reader sees: no <style>/<script>, no tags, no embedded images, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    page = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]*", " ", page)
    # attribute values a reader sees (title tooltips, alt text) stay; the rest of a tag goes
    attrs = " ".join(m.group(2) for m in re.finditer(r"\b(title|alt|placeholder|aria-label)=\"([^\"]*)\"", page))
    # inline tags join what they split (a highlighted answer is one <span> per token: the text reads as one answer)
    page = re.sub(r"</?(?:span|b|i|em|strong|mark|a|code|small|sub|sup)\b[^>]*>", "", page, flags=re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return htmlmod.unescape(page + " " + attrs)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


class DataText:
    """What of the input counts as data in a report: runs of the input tables' string values, excerpts of them,
    and the tokens of the free text (a scorer's features and the proxy check show answer words one by one)."""

    def __init__(self, texts: list[str], free_text: list[str]):
        from workbench.scoring._tokenize import get_tokenizer

        self.runs = {run for text in texts for run in CJK.findall(text)}
        self.corpus = "\n".join(free_text)
        tokenize = get_tokenizer("jieba")
        self.tokens = {tok for text in free_text for tok in tokenize(text) if CJK.fullmatch(tok)}

    def covers(self, run: str) -> bool:
        if run in self.runs or run in self.tokens:
            return True
        # an excerpt of an answer or question (a quoted strength, a truncated answer, a highlighted span)
        return len(run) >= _MIN_PARTIAL and run in self.corpus


def data_runs(run_dir: Path) -> DataText:
    """The input tables' string values, the dictionary's text without an English name, and region names."""
    import yaml

    from workbench.fairness.audit import PROVINCE_REGION

    intake = run_dir / "artifacts" / "00_intake"
    texts: list[str] = []
    free: list[str] = []
    for path in sorted(intake.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith("string"):
                values = [str(v) for v in frame[col].dropna().unique()]
                texts.extend(values)
                if col in ("answer_text", "text", "rubric"):
                    free.extend(values)
    # the generated question bank (stage 02) is interview content in the interview's language, like the input questions
    bank = run_dir / "artifacts" / "02_question_bank" / "question_bank.csv"
    if bank.is_file():
        values = [str(v) for v in pd.read_csv(bank, dtype=str, encoding="utf-8-sig")["text"].dropna().unique()]
        texts.extend(values)
        free.extend(values)
    dictionary = yaml.safe_load((intake / "competency_dictionary.yaml").read_text(encoding="utf-8"))

    def walk(node):
        if isinstance(node, dict):
            has_en = "name_en" in node
            for key, value in node.items():
                if key == "name" and has_en:
                    continue  # an English report shows name_en
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            texts.append(node)

    walk(dictionary)
    texts.extend(PROVINCE_REGION.values())
    texts.extend(PROVINCE_REGION.keys())
    return DataText(texts, free)


def offending_runs(text: str, data: DataText) -> list[str]:
    return [run for run in CJK.findall(text) if not data.covers(run)]


def _pages(run_dir: Path) -> dict[str, Path]:
    pages = {p.stem: p for p in sorted((run_dir / "html").glob("*.html")) if p.stem not in HANDLED_ELSEWHERE}
    pages["index"] = run_dir / "index.html"
    return pages


def test_english_reports_have_no_chinese_outside_data(smoke_run_en):
    run_dir = _run_dir(smoke_run_en)
    data = data_runs(run_dir)
    pages = _pages(run_dir)
    assert len(pages) >= 8, sorted(pages)
    problems = {}
    for name, path in pages.items():
        runs = offending_runs(visible_text(path.read_text(encoding="utf-8")), data)
        if runs:
            problems[name] = sorted(set(runs), key=runs.index)
    for name, runs in problems.items():
        print(f"{name}: {len(runs)} Chinese run(s): {' | '.join(runs[:60])}")
    assert not problems, {name: runs[:20] for name, runs in problems.items()}


def test_english_reports_declare_english(smoke_run_en):
    run_dir = _run_dir(smoke_run_en)
    for name, path in _pages(run_dir).items():
        head = path.read_text(encoding="utf-8")[:2000]
        assert re.search(r"<html[^>]*\blang=\"en\"", head), f"{name}: no <html lang=\"en\">"


# sizes of text written in the run's language (04: the longest candidate feedback message, in bytes), and the
# position of this run's entry in the shared, hash-chained audit log (the second run appends the next entry)
TEXT_SIZE_METRICS = {"feedback_max_bytes", "audit_log_seq"}


def _numbers(metrics: dict) -> dict:
    """Numeric metrics of one stage (booleans and nulls included); paths, texts and timings left out."""
    out = {}
    for key, value in metrics.items():
        if key.startswith("seconds") or key in TEXT_SIZE_METRICS:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _numbers(value).items()})
        elif value is None or isinstance(value, (bool, int, float)):
            out[key] = value
    return out


def test_english_run_has_the_same_metrics(smoke_run, smoke_run_en):
    zh = json.loads((_run_dir(smoke_run) / "metrics.json").read_text(encoding="utf-8"))
    en = json.loads((_run_dir(smoke_run_en) / "metrics.json").read_text(encoding="utf-8"))
    assert sorted(zh) == sorted(en)
    for stage in zh:
        a, b = _numbers(zh[stage]), _numbers(en[stage])
        assert a.keys() == b.keys(), (stage, sorted(a.keys() ^ b.keys()))
        diff = {k: (a[k], b[k]) for k in a if a[k] != b[k] and not (a[k] != a[k] and b[k] != b[k])}
        assert not diff, (stage, diff)
