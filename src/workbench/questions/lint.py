"""Compliance and quality lint for interview questions.

The rules live in ``data/question_lint_rules.yaml`` (human-readable: title, message, legal basis and suggestion in
Chinese, plus the lexicons and patterns used here). Two kinds of checks:

* **legal** (severity ``error``): questions that ask the *candidate* about marriage and childbearing, age, hukou and
  native place, ethnicity, religion, health and disability, or that are framed by gender. Finding a sensitive word is
  not enough: banking questions talk about customers' ages, borrowers' illnesses and ethnic-minority customers all
  the time. Each hit is attributed to a person first (:meth:`_Doc.owner`, :meth:`_Doc.modifies_head`): the
  candidate (你/您/本人/作为…, or a direct question with no subject) or a third party (客户/借款人/同事/他/一位…,
  a noun the phrase modifies as in "75岁的老年客户", or a third party's quoted speech). Only hits that land on the
  candidate are reported. The decision order is documented at the top of the rule file.
* **quality** (``warning``/``info``): leading and closed questions, double-barrelled questions, behavioural questions
  phrased hypothetically and situational questions asking about the past, too long/short, and questions that need
  inside knowledge of the bank.

Everything is deterministic regex work over a normalised copy of the text (full-width → half-width, lower case,
common traditional → simplified characters, 啥/咋/哪儿 → 什么/怎么/哪里, whitespace removed except one space between
two Latin words) whose positions map back to the original, so the ``evidence`` column quotes the question as written.
Rule patterns are compiled with ``re.ASCII``, so the English lexicons for mixed-language questions ("Where's your
hukou?") use ``\b`` as a Latin word boundary. Typical questions lint at about 0.15 s per 1,000 on one core (about
0.6 s per 1,000 for 150-character scenarios).

Public API: :func:`load_rules`, :func:`lint_text`, :func:`lint_questions`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .._paths import DATA_DIR
from ..errors import DataError

__all__ = [
    "LintRule",
    "load_rules",
    "lint_text",
    "lint_questions",
    "FINDING_COLUMNS",
    "DEFAULT_RULES_PATH",
    "CATEGORIES",
    "SEVERITIES",
]

DEFAULT_RULES_PATH = DATA_DIR / "question_lint_rules.yaml"
FINDING_COLUMNS = [
    "question_id", "rule_id", "category", "severity", "title", "message", "legal_basis", "suggestion", "evidence",
]
CATEGORIES = ("legal", "quality")
SEVERITIES = {"legal": ("error",), "quality": ("warning", "info")}
_TEXT_FIELDS = ("title", "message", "legal_basis", "suggestion")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class LintRule:
    """One rule of the question lint. The public fields are what a reader of a finding sees."""

    id: str
    category: str
    severity: str
    title: str
    message: str
    legal_basis: str
    suggestion: str
    _check: str = field(default="", repr=False)
    _spec: Any = field(default=None, repr=False, compare=False, hash=False)


# --------------------------------------------------------------------------------------------- normalisation

# Traditional → simplified for the characters the lexicons rely on (questions pasted from HK/TW material).
_TRAD = str.maketrans(
    "婚戀愛結離孩兒歲齡屬幾後戶鄉籍東體檢殘疾懷孕帶單個們這對為會說請麼嗎問裡裏過還沒時間務員經歷"
    "與業邊區電視聽聾啞盲癥療醫藥壓輕紀齒貴當實際認覺應該樣麼種類號碼親屬爺媽陽陰傳染藏維蒙滿漢"
    "壯彝寺廟禮堂經豬齋禱遺傳擔憂慮創傷傷腦癡癲瘋們讓從來見長門開關係繫區縣鎮農場獨",
    "婚恋爱结离孩儿岁龄属几后户乡籍东体检残疾怀孕带单个们这对为会说请么吗问里里过还没时间务员经历"
    "与业边区电视听聋哑盲症疗医药压轻纪齿贵当实际认觉应该样么种类号码亲属爷妈阳阴传染藏维蒙满汉"
    "壮彝寺庙礼堂经猪斋祷遗传担忧虑创伤伤脑痴癫疯们让从来见长门开关系系区县镇农场独",
)
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}
_SENT_END = set("。!?;\n")
_CLAUSE_END = _SENT_END | set(",:")
_QUOTE_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"'}
_QUOTE_CHARS = frozenset("“”‘’「」『』\"'")
_DIRECT_Q_NOT = re.compile(
    r"怎么办|如何|怎么处理|怎样处理|处置|应对"
    r"|\bhow (?:would|will|do|should|can|could) you (?:handle|deal|respond|approach|manage|explain|help|serve)"
    r"|\bwhat (?:would|will|should) you do\b", re.ASCII)
_DIRECT_Q_END = re.compile(r"(吗|么|嘛|呢|没有|没|不)$")
_DIRECT_Q_WORDS = re.compile(
    r"有没有|是否|是不是|会不会|能不能|能否|可不可以|行不行|打算|计划|准备|考虑|谁带|谁照顾|多大|几岁|哪"
    # an English clause opening with an auxiliary or a wh-word and ending in "?" is a question put to the listener
    r"|^(?:(?:so|and|also|btw|ok|okay|well|just|but) )?(?:any|are|is|do|does|did|have|has|had|will|would|can|could"
    r"|should|may|how|what|when|where|which|who|whose)\b", re.ASCII)
_QUESTION_END = re.compile(r"(吗|么|嘛|呢)$")
# between an English modifier and its head noun: up to two more words that are not function words or verbs
_EN_COMPOUND_GAP = re.compile(
    r" (?:(?!(?:you|your|we|our|i|my|he|she|they|to|for|of|in|on|at|with|from|by|and|or|but|is|are|was|were|be|been"
    r"|do|does|did|have|has|had|can|could|will|would|should|may|might|must|who|which|that|what|how|when|where|why"
    r"|if|so|not|no|any|some|a|an|the)\b)[a-z0-9'-]+ ){0,2}", re.ASCII)


# Colloquial forms → the written forms the lexicons use (啥时候 → 什么时候, 咋样 → 怎么样, 哪儿 → 哪里).
_COLLOQUIAL = {"啥": "什么", "咋": "怎么"}


_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789'")


def _normalise(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for every normalised character, its index in the original.

    Whitespace is dropped, except that one space is kept between two Latin words ("where are you from"), so the
    English lexicons can use ``\\b`` (rule patterns are compiled with ``re.ASCII``: a Chinese character next to a
    Latin letter is a word boundary too, as in "本地hukou").
    """
    out: list[str] = []
    idx: list[int] = []
    gap = -1  # index of the last whitespace skipped since the previous kept character
    for i, ch in enumerate(text):
        if ch.isspace() or ch in _ZERO_WIDTH:
            if ch.isspace():
                gap = i
            continue
        n = unicodedata.normalize("NFKC", ch)
        if len(n) != 1:
            n = ch
        n = n.lower().translate(_TRAD)
        if gap >= 0 and out and out[-1] in _LATIN and n in _LATIN:
            out.append(" ")
            idx.append(gap)
        gap = -1
        if n == "儿" and out and out[-1] == "哪":
            n = "里"
        for c in _COLLOQUIAL.get(n, n):
            out.append(c)
            idx.append(i)
    return "".join(out), idx


def _clean_prose(s: str) -> str:
    """Remove the spaces YAML folding puts between Chinese lines (keep them between Latin words)."""
    s = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", str(s))
    return s.strip()


# --------------------------------------------------------------------------------------------- rule file


class _Pattern:
    __slots__ = ("regex", "unless", "after", "strict")
    # `after` (requires_after) marks a predicate about a person (女生能不能…): it is never a modifier of a later noun

    def __init__(self, regex: re.Pattern, unless: re.Pattern | None = None, after: re.Pattern | None = None,
                 strict: bool = False):
        self.regex = regex
        self.unless = unless
        self.after = after
        self.strict = strict


@dataclass(frozen=True)
class _Targeting:
    candidate: re.Pattern
    reflexive: re.Pattern
    relational: re.Pattern
    third: re.Pattern
    role_prefix: re.Pattern
    job_titles: re.Pattern
    job_title_prefix: re.Pattern
    speech_before_you: re.Pattern
    speech_before_quote: re.Pattern
    head: re.Pattern
    breakers: frozenset
    guard: re.Pattern
    neutral: re.Pattern
    copula: re.Pattern
    followed_by_you: re.Pattern


def _compile(pattern: str, where: str, path: Path) -> re.Pattern:
    try:
        return re.compile(pattern, re.ASCII)  # \b, \w: Latin words only (Chinese characters are boundaries)
    except re.error as exc:
        raise DataError(f"{path}: {where}: invalid regular expression {pattern!r}: {exc}") from exc


def _alternation(value: Any, where: str, path: Path, *, required: bool = True) -> re.Pattern | None:
    """A string or a list of strings → one compiled alternation."""
    if value in (None, "", []):
        if required:
            raise DataError(f"{path}: {where} is missing or empty")
        return None
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not all(isinstance(p, str) and p for p in parts):
        raise DataError(f"{path}: {where} must be a regular expression or a list of them")
    return _compile("|".join(f"(?:{p})" for p in parts), where, path)


def _patterns(value: Any, where: str, path: Path) -> tuple[_Pattern, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DataError(f"{path}: {where} must be a list")
    out = []
    for i, item in enumerate(value):
        w = f"{where}[{i}]"
        if isinstance(item, str) and item:
            out.append(_Pattern(_compile(item, w, path), None))
        elif isinstance(item, dict) and isinstance(item.get("pattern"), str) and item["pattern"]:
            unknown = set(item) - {"pattern", "unless_clause", "requires_after", "strict"}
            if unknown:
                raise DataError(f"{path}: {w} has unknown keys {sorted(unknown)}")
            unless = item.get("unless_clause")
            after = item.get("requires_after")
            strict = item.get("strict", False)
            if not isinstance(strict, bool):
                raise DataError(f"{path}: {w}.strict must be true or false")
            out.append(_Pattern(
                _compile(item["pattern"], w, path),
                unless=_compile(unless, w + ".unless_clause", path) if unless else None,
                after=_compile(after, w + ".requires_after", path) if after else None,
                strict=strict,
            ))
        else:
            raise DataError(f"{path}: {w} must be a regular expression or {{pattern, unless_clause, requires_after, strict}}")
    return tuple(out)


def _parse_targeting(raw: Any, path: Path) -> _Targeting:
    if not isinstance(raw, dict):
        raise DataError(f"{path}: top-level 'targeting' is missing or not a mapping")
    w = "targeting"
    speech = raw.get("speech_verbs")
    if not isinstance(speech, str) or not speech:
        raise DataError(f"{path}: targeting.speech_verbs is missing")
    breakers = raw.get("head_breakers")
    if not isinstance(breakers, str) or not breakers:
        raise DataError(f"{path}: targeting.head_breakers is missing")
    return _Targeting(
        candidate=_alternation(raw.get("candidate"), f"{w}.candidate", path),
        reflexive=_alternation(raw.get("reflexive"), f"{w}.reflexive", path),
        relational=_alternation(raw.get("relational"), f"{w}.relational", path),
        third=_alternation(raw.get("third_party"), f"{w}.third_party", path),
        role_prefix=_alternation(raw.get("role_prefix"), f"{w}.role_prefix", path),
        job_titles=_alternation(raw.get("job_titles"), f"{w}.job_titles", path),
        job_title_prefix=_alternation(raw.get("job_title_prefix"), f"{w}.job_title_prefix", path),
        speech_before_you=_compile(f"(?:{speech})(?:了|过|起|到)?$", f"{w}.speech_verbs", path),
        speech_before_quote=_compile(f"(?:{speech})(?:了|过|起|到|道)?[:,]?$", f"{w}.speech_verbs", path),
        head=_alternation(raw.get("head_nouns"), f"{w}.head_nouns", path),
        breakers=frozenset(breakers),
        guard=_alternation(raw.get("guard"), f"{w}.guard", path),
        neutral=_alternation(raw.get("neutral_context"), f"{w}.neutral_context", path),
        copula=_alternation(raw.get("identity_copula"), f"{w}.identity_copula", path),
        followed_by_you=_alternation(raw.get("identity_followed_by"), f"{w}.identity_followed_by", path),
    )


@dataclass(frozen=True)
class _SensitiveSpec:
    targeting: _Targeting
    always: tuple[_Pattern, ...]
    attributes: tuple[_Pattern, ...]
    identities: tuple[_Pattern, ...]
    exclude: re.Pattern | None


def _spec_for(check: str, match: dict, where: str, path: Path, targeting: _Targeting) -> Any:
    m = match if isinstance(match, dict) else {}
    if check == "sensitive":
        spec = _SensitiveSpec(
            targeting=targeting,
            always=_patterns(m.get("always"), f"{where}.match.always", path),
            attributes=_patterns(m.get("attributes"), f"{where}.match.attributes", path),
            identities=_patterns(m.get("identities"), f"{where}.match.identities", path),
            exclude=_alternation(m.get("exclude"), f"{where}.match.exclude", path, required=False),
        )
        if not (spec.always or spec.attributes or spec.identities):
            raise DataError(f"{path}: {where} has no patterns (match.always / attributes / identities)")
        return spec
    if check == "leading":
        return {"patterns": _patterns(m.get("patterns"), f"{where}.match.patterns", path) or _missing(where, "patterns", path)}
    if check == "closed":
        return {
            "closed": _alternation(m.get("closed_markers"), f"{where}.match.closed_markers", path),
            "open": _alternation(m.get("open_markers"), f"{where}.match.open_markers", path),
        }
    if check == "double_barrelled":
        return {k: _alternation(m.get(k), f"{where}.match.{k}", path)
                for k in ("connectives", "ask_markers", "addressed", "setup", "elaboration", "filler")}
    if check in ("behavioural_hypothetical", "situational_past"):
        applies = m.get("applies_to")
        if not isinstance(applies, str) or not applies:
            raise DataError(f"{path}: {where}.match.applies_to is missing (a question type such as 行为)")
        return {
            "applies_to": applies,
            "hypothetical": _alternation(m.get("hypothetical"), f"{where}.match.hypothetical", path),
            "past": _alternation(m.get("past"), f"{where}.match.past", path),
        }
    if check in ("too_long", "too_short"):
        key = "max_chars" if check == "too_long" else "min_chars"
        value = m.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise DataError(f"{path}: {where}.match.{key} must be a positive integer")
        return {key: value}
    if check == "inside_knowledge":
        return {k: _alternation(m.get(k), f"{where}.match.{k}", path) for k in ("internal", "objects", "asks", "given")}
    raise DataError(f"{path}: {where} has unknown check {check!r}")


def _missing(where: str, key: str, path: Path):
    raise DataError(f"{path}: {where}.match.{key} is missing or empty")


def _parse_rules(raw: Any, path: Path) -> list[LintRule]:
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping with 'targeting' and 'rules'")
    targeting = _parse_targeting(raw.get("targeting"), path)
    items = raw.get("rules")
    if not isinstance(items, list) or not items:
        raise DataError(f"{path}: 'rules' is missing or empty")
    rules: list[LintRule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataError(f"{path}: rules[{i}] is not a mapping")
        rid = item.get("id")
        if not isinstance(rid, str) or not _ID_RE.match(rid):
            raise DataError(f"{path}: rules[{i}] has a missing or non-ASCII id {rid!r} (lower-case letters, digits, _)")
        where = f"rule {rid!r}"
        if rid in seen:
            raise DataError(f"{path}: duplicate rule id {rid!r}")
        seen.add(rid)
        category = item.get("category")
        if category not in CATEGORIES:
            raise DataError(f"{path}: {where} has category {category!r}; allowed: {', '.join(CATEGORIES)}")
        severity = item.get("severity")
        if severity not in SEVERITIES[category]:
            raise DataError(f"{path}: {where} ({category}) has severity {severity!r}; allowed: {', '.join(SEVERITIES[category])}")
        texts = {}
        for key in _TEXT_FIELDS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{path}: {where} is missing '{key}'")
            texts[key] = _clean_prose(value)
        if category == "legal" and not re.search(r"第[一二三四五六七八九十百零〇0-9]+条", texts["legal_basis"]):
            raise DataError(f"{path}: {where} is a legal rule; its legal_basis must cite a law and article (第…条)")
        check = item.get("check")
        if not isinstance(check, str) or not check:
            raise DataError(f"{path}: {where} is missing 'check'")
        if category == "legal" and check != "sensitive":
            raise DataError(f"{path}: {where} is a legal rule; its check must be 'sensitive'")
        spec = _spec_for(check, item.get("match"), where, path, targeting)
        rules.append(LintRule(id=rid, category=category, severity=severity, _check=check, _spec=spec, **texts))
    return rules


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> tuple[LintRule, ...]:
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{p}: not valid YAML: {exc}") from exc
    return tuple(_parse_rules(raw, p))


def load_rules(path: str | Path | None = None) -> list[LintRule]:
    """Load and validate the lint rules (default: ``data/question_lint_rules.yaml``).

    Raises :class:`~workbench.errors.DataError` naming the file and the rule id when a rule is malformed.
    """
    p = Path(path) if path else DEFAULT_RULES_PATH
    if not p.is_file():
        raise DataError(f"question lint rules not found: {p}")
    return list(_load_cached(str(p.resolve()), p.stat().st_mtime_ns))


# --------------------------------------------------------------------------------------------- the text model


class _Mention:
    __slots__ = ("start", "end", "kind")

    def __init__(self, start: int, end: int, kind: str):
        self.start, self.end, self.kind = start, end, kind


class _Doc:
    """A normalised question: sentences, clauses, quotes and (per targeting lexicon) person mentions."""

    def __init__(self, text: str):
        self.original = text
        self.t, self._idx = _normalise(text)
        n = len(self.t)
        # sentence and clause id for every position; boundaries are the punctuation characters themselves
        self.sent_of = [0] * n
        self.clause_of = [0] * n
        self.sentences: list[tuple[int, int]] = []
        self.clauses: list[tuple[int, int]] = []
        s0 = c0 = 0
        for i, ch in enumerate(self.t):
            self.sent_of[i] = len(self.sentences)
            self.clause_of[i] = len(self.clauses)
            if ch in _CLAUSE_END:
                self.clauses.append((c0, i))
                c0 = i + 1
            if ch in _SENT_END:
                self.sentences.append((s0, i))
                s0 = i + 1
        self.clauses.append((c0, n))
        self.sentences.append((s0, n))
        self.quotes = self._find_quotes()
        self._mentions: dict[int, list[_Mention]] = {}

    # ------------------------------------------------------------------ basics
    def evidence(self, start: int, end: int) -> str:
        if start >= end or not self._idx:
            return ""
        return self.original[self._idx[start]: self._idx[end - 1] + 1]

    def clause_span(self, pos: int) -> tuple[int, int]:
        if not self.t:
            return (0, 0)
        return self.clauses[self.clause_of[min(pos, len(self.t) - 1)]]

    def sentence_span(self, pos: int) -> tuple[int, int]:
        if not self.t:
            return (0, 0)
        return self.sentences[self.sent_of[min(pos, len(self.t) - 1)]]

    def _find_quotes(self) -> list[tuple[int, int]]:
        spans, i, t = [], 0, self.t
        while i < len(t):
            ch = t[i]
            close = _QUOTE_PAIRS.get(ch)
            if close:
                j = t.find(close, i + 1)
                if j > i:
                    spans.append((i + 1, j))
                    i = j + 1
                    continue
            i += 1
        return spans

    def without_quotes(self) -> str:
        """The text with quoted speech blanked out (for quality checks on the interviewer's own wording)."""
        if not self.quotes:
            return self.t
        chars = list(self.t)
        for a, b in self.quotes:
            for k in range(a, b):
                chars[k] = "某"
        return "".join(chars)

    # ------------------------------------------------------------------ who is it about
    def mentions(self, tg: _Targeting) -> list[_Mention]:
        key = id(tg)
        if key in self._mentions:
            return self._mentions[key]
        t = self.t
        found: list[_Mention] = []
        taken = [False] * len(t)
        for regex, kind in ((tg.candidate, "you"), (tg.reflexive, "refl"), (tg.relational, "rel"), (tg.third, "third")):
            for m in regex.finditer(t):
                a, b = m.span()
                if a == b or any(taken[a:b]):
                    continue
                for k in range(a, b):
                    taken[k] = True
                if kind == "third":
                    c0, _ = self.clause_span(a)
                    before = t[c0:a]
                    if tg.role_prefix.search(before) or (
                        tg.job_title_prefix.search(before) and tg.job_titles.fullmatch(t, a, b)
                    ):
                        kind_here = "you"  # 作为客户经理 / 要求客户经理… → the candidate in the role
                    else:
                        kind_here = "third"
                    found.append(_Mention(a, b, kind_here))
                else:
                    found.append(_Mention(a, b, kind))
        found.sort(key=lambda m: m.start)
        self._mentions[key] = found
        return found

    def _resolve(self, ms: list[_Mention], k: int, tg: _Targeting) -> str:
        """Kind of mention ms[k] after resolving reflexives and reported speech ('客户问你')."""
        m = ms[k]
        c0, _ = self.clause_span(m.start)
        if m.kind == "refl":
            # 自己/本人 follows the nearest person before it in the sentence ("客户身份证显示……，但本人看起来很年轻":
            # 本人 is the customer); with no one before it, it is the candidate
            s0, _ = self.sentence_span(m.start)
            for j in range(k - 1, -1, -1):
                p = ms[j]
                if p.start < s0:
                    break
                if p.kind in ("you", "third"):
                    return self._resolve(ms, j, tg)
            return "you"
        if m.kind == "you":
            before = self.t[c0:m.start]
            if tg.speech_before_you.search(before) and any(p.kind == "third" and c0 <= p.start < m.start for p in ms[:k]):
                return "third"
        return m.kind

    def in_reported_quote(self, pos: int, tg: _Targeting) -> bool:
        """Is pos inside a quotation spoken by a third party (客户问：“你结婚了吗？”)?"""
        for a, b in self.quotes:
            if a <= pos < b:
                window_start = max(self.sentence_span(a - 1)[0], a - 16)
                before = self.t[window_start: a - 1]
                ms = self.mentions(tg)
                s0 = self.sentence_span(a - 1)[0]
                # the quote follows a third party directly (回答客户“……”), or the 你 a third party speaks to
                # (客户问你：“……” / a customer asks you "…") …
                nearest = [j for j, m in enumerate(ms) if s0 <= m.start and m.end <= a - 1 and m.kind != "rel"]
                if nearest and self._resolve(ms, nearest[-1], tg) == "third":
                    return True
                # … or a third party's speech verb (客户问你：“……”)
                verb = tg.speech_before_quote.search(before)
                if not verb:
                    return False
                verb_at = window_start + verb.start()
                prior = [j for j, m in enumerate(ms) if m.end <= verb_at and m.kind != "rel"]
                if not prior:
                    return False
                return self._resolve(ms, prior[-1], tg) == "third"
        return False

    def _is_direct_question_clause(self, c0: int, c1: int) -> bool:
        """Is this clause itself a question put to the listener (……吗 / 有没有……? / 在哪里工作?)?"""
        clause = self.t[c0:c1]
        if _DIRECT_Q_NOT.search(clause):
            return False
        ends_q = c1 < len(self.t) and self.t[c1] == "?"
        return bool(_DIRECT_Q_END.search(clause)) or (ends_q and bool(_DIRECT_Q_WORDS.search(clause)))

    def owner(self, start: int, end: int, tg: _Targeting, skip: tuple = (), look_ahead: bool = True) -> str | None:
        """'you', 'third' or None (no one named: a direct question, i.e. to the candidate).

        ``skip``: spans whose person words do not count (other sensitive phrases, e.g. 朋友 in 男朋友).
        """
        ms = self.mentions(tg)
        if skip:
            ms = [m for m in ms if not any(a < m.end and m.start < b for a, b in skip)]
        s0, s1 = self.sentence_span(start)
        c0, c1 = self.clause_span(start)
        prior = [j for j, m in enumerate(ms) if m.end <= start and m.kind != "rel"]
        in_sentence = [j for j in prior if ms[j].start >= s0]
        in_clause = [j for j in in_sentence if ms[j].start >= c0]
        if not in_clause and self._is_direct_question_clause(c0, c1):
            return None
        if in_sentence:
            return self._resolve(ms, in_sentence[-1], tg)
        # topic first, subject later: "因病住院期间，借款人无法还款". A later 你 decides nothing by itself
        # ("丈夫不愿意妻子知道，你怎么办" is still about the couple); the defaults below apply.
        after = [j for j, m in enumerate(ms) if m.start >= end and m.end <= s1 and m.kind != "rel"]
        if look_ahead and after and self._resolve(ms, after[0], tg) == "third":
            return "third"
        sentence = self.t[s0:s1]
        is_question = (s1 < len(self.t) and self.t[s1] == "?") or bool(_QUESTION_END.search(sentence))
        if is_question or not prior:
            return None
        return self._resolve(ms, prior[-1], tg)

    def modifies_head(self, end: int, tg: _Targeting, skip: tuple = ()) -> bool:
        """Is the phrase ending at `end` a modifier of a following noun (75岁的老年客户, 少数民族聚居地区,
        "wedding photography business")?"""
        _, c1 = self.clause_span(max(end - 1, 0))
        english = end < len(self.t) and self.t[end] == " "
        limit = min(c1, end + (24 if english else 10))
        for j in range(end, limit + 1):
            if j < c1 and not any(a <= j < b for a, b in skip) and tg.head.match(self.t, j, c1):
                # quotation marks and other sensitive phrases in between are coordination ("90后""00后"员工)
                gap = "".join(c for k, c in enumerate(self.t[end:j], end)
                              if c not in _QUOTE_CHARS and not any(a <= k < b for a, b in skip))
                # a short gap (聚居, 活动) or an attributive/coordinating link (的, 、, 和) — not a whole predicate;
                # in English a noun compound of at most two more words ("wedding photography business")
                if english:
                    return bool(_EN_COMPOUND_GAP.fullmatch(gap))
                return len(gap) <= 2 or any(c in gap for c in "的、和与及或")
            if j >= c1 or self.t[j] in tg.breakers:
                return False
        return False


# --------------------------------------------------------------------------------------------- checks


def _spans(patterns: tuple[_Pattern, ...], doc: _Doc, kind: str) -> list[tuple[int, int, str, bool, bool]]:
    out = []
    for p in patterns:
        for m in p.regex.finditer(doc.t):
            a, b = m.span()
            if a == b:
                continue
            if p.unless is not None or p.after is not None:
                c0, c1 = doc.clause_span(a)
                if p.unless is not None and p.unless.search(doc.t, c0, c1):
                    continue
                if p.after is not None and not p.after.search(doc.t[b:c1]):
                    continue
            out.append((a, b, kind, p.strict, p.after is not None))
    return out


def _check_sensitive(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    spec: _SensitiveSpec = rule._spec
    tg = spec.targeting
    spans = _spans(spec.always, doc, "always") + _spans(spec.attributes, doc, "attr") + _spans(spec.identities, doc, "ident")
    if not spans:
        return None
    if spec.exclude is not None:
        blocked = [m.span() for m in spec.exclude.finditer(doc.t)]
        spans = [s for s in spans if not any(a < s[1] and s[0] < b for a, b in blocked)]
    # a span inside a longer span of the same rule is judged as part of the longer one
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept = [s for s in spans if not any(o is not s and o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)]
    # person words inside other sensitive phrases (朋友 in 女朋友) are neither owners nor heads; identity nouns
    # (患者, 残疾人) are real people and stay
    other_spans = tuple((s[0], s[1]) for s in kept if s[2] != "ident")
    for a, b, kind, strict, predicate in kept:
        if doc.in_reported_quote(a, tg):
            continue
        if kind == "always":
            return doc.evidence(a, b)
        c0, c1 = doc.clause_span(a)
        if tg.guard.search(doc.t, c0, c1):
            continue
        if kind == "ident":
            before = doc.t[c0:a]
            if not (tg.copula.search(before) or tg.followed_by_you.search(doc.t[b:c1])):
                continue
        elif not predicate and doc.t[b - 1] not in tg.breakers and doc.modifies_head(b, tg, other_spans):
            # (a phrase ending in a predicate such as 女生能/女生做 is not a modifier)
            continue
        who = doc.owner(a, b, tg, other_spans, look_ahead=not predicate)
        if who == "third":
            continue
        if who is None and (tg.neutral.search(doc.t, c0, c1) or (strict and not doc._is_direct_question_clause(c0, c1))):
            continue
        return doc.evidence(a, b)
    return None


def _check_leading(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    t = doc.without_quotes()
    for sent in _sentences_with_end(t):
        for p in rule._spec["patterns"]:
            m = p.regex.search(sent)
            if m:
                return _ev_from_norm(doc, t, sent, m)
    return None


def _sentences_with_end(t: str) -> list[str]:
    """Sentences with their final punctuation kept (so patterns can anchor on '吧？')."""
    parts = re.findall(r"[^。!?\n]+[。!?]*|[。!?]+", t)
    return [p for p in parts if p.strip("。!?")] or ([t] if t else [])


def _ev_from_norm(doc: _Doc, t: str, sent: str, m: re.Match) -> str:
    base = t.find(sent)
    a, b = base + m.start(), base + m.end()
    ev = doc.evidence(a, b)
    return ev or m.group(0)


def _check_closed(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    t = doc.without_quotes()
    spec = rule._spec
    if not t or spec["open"].search(t):
        return None
    for sent in _sentences_with_end(t):
        if spec["closed"].search(sent):
            base = t.find(sent)
            return doc.evidence(base, base + len(sent)) or sent
    return None


def _ask_units(t: str, spec: dict) -> list[str]:
    # a colon joins an instruction and its content (请从风险角度分析：…… / 请描述……经历：当时……): one unit
    pieces = re.split(r"[。!?;\n]+|,|(?=" + spec["connectives"].pattern + ")", t)
    return [p for p in (x.strip("、 ") for x in pieces) if p]


def _check_double(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    spec = rule._spec
    t = doc.without_quotes()
    primary: list[str] = []
    for unit in _ask_units(t, spec):
        body = spec["connectives"].sub("", unit, count=1) if spec["connectives"].match(unit) else unit
        if not spec["ask_markers"].search(body) or not spec["addressed"].search(body) or spec["setup"].search(body):
            continue
        if primary and spec["elaboration"].search(body):
            continue
        content = spec["filler"].sub("", body)
        content = re.sub(r"[^\u4e00-\u9fffa-z0-9]", "", content)
        if primary and len(content) < 3:
            continue
        primary.append(unit)
    if len(primary) >= 2:
        return " / ".join(primary[:2])
    return None


def _check_type(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    spec = rule._spec
    if question_type is None or str(question_type).strip() != spec["applies_to"]:
        return None
    t = doc.without_quotes()
    hyp = spec["hypothetical"].search(t)
    past = spec["past"].search(t)
    if rule._check == "behavioural_hypothetical":
        if hyp and not past:
            return doc.evidence(*hyp.span()) or hyp.group(0)
    else:
        if past and not hyp:
            return doc.evidence(*past.span()) or past.group(0)
    return None


def _check_too_long(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    n = len(doc.t)
    if n > rule._spec["max_chars"]:
        return f"{doc.evidence(0, min(n, 30))}…（共{n}字）"
    return None


def _check_too_short(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    n = len(doc.t)
    if n < rule._spec["min_chars"]:
        return doc.original.strip() if n else "（空）"
    return None


def _check_inside(rule: LintRule, doc: _Doc, question_type: str | None) -> str | None:
    spec = rule._spec
    t = doc.without_quotes()
    for c0, c1 in doc.clauses:
        clause = t[c0:c1]
        m = spec["internal"].search(clause)
        if not m:
            continue
        rest = clause[m.end():]
        if spec["objects"].search(rest) and spec["asks"].search(clause) and not spec["given"].search(clause):
            return doc.evidence(c0, c1)
    return None


_CHECKS = {
    "sensitive": _check_sensitive,
    "leading": _check_leading,
    "closed": _check_closed,
    "double_barrelled": _check_double,
    "behavioural_hypothetical": _check_type,
    "situational_past": _check_type,
    "too_long": _check_too_long,
    "too_short": _check_too_short,
    "inside_knowledge": _check_inside,
}


# --------------------------------------------------------------------------------------------- public API


def _finding(rule: LintRule, evidence: str) -> dict:
    return {
        "rule_id": rule.id,
        "category": rule.category,
        "severity": rule.severity,
        "title": rule.title,
        "message": rule.message,
        "legal_basis": rule.legal_basis,
        "suggestion": rule.suggestion,
        "evidence": evidence,
    }


def _as_type(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    s = str(value).strip()
    return s or None


def lint_text(text: str, *, question_type: str | None = None, rules: list[LintRule] | None = None) -> list[dict]:
    """Findings for one question text, in rule-file order, at most one per rule.

    Each finding has ``rule_id, category, severity, title, message, legal_basis, suggestion, evidence``
    (``evidence`` quotes the matched span of the original text). ``None`` (or NaN) gives no findings; an empty
    string is reported as too short. ``question_type`` (情景 / 行为 / 文化) enables the type-consistency rules.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        try:
            if pd.isna(text):
                return []
        except (TypeError, ValueError):
            pass
        text = str(text)
    active = load_rules() if rules is None else rules
    doc = _Doc(text)
    qtype = _as_type(question_type)
    findings = []
    for rule in active:
        check = _CHECKS.get(rule._check)
        if check is None or rule._spec is None:
            raise DataError(f"rule {rule.id!r} was not loaded with load_rules(); it has no executable check")
        if not doc.t and rule._check != "too_short":
            continue
        evidence = check(rule, doc, qtype)
        if evidence is not None:
            findings.append(_finding(rule, evidence))
    return findings


def lint_questions(questions: pd.DataFrame, *, rules: list[LintRule] | None = None) -> pd.DataFrame:
    """Lint a question bank: columns ``question_id``, ``text`` and optional ``type``.

    Returns one row per finding with columns ``question_id, rule_id, category, severity, title, message,
    legal_basis, suggestion, evidence`` (an empty frame with those columns when nothing is found).
    """
    missing = [c for c in ("question_id", "text") if c not in questions.columns]
    if missing:
        raise DataError(f"questions table lacks column(s) {', '.join(missing)}; has {', '.join(map(str, questions.columns))}")
    active = load_rules() if rules is None else rules
    has_type = "type" in questions.columns
    rows = []
    ids = questions["question_id"].tolist()
    texts = questions["text"].tolist()
    types = questions["type"].tolist() if has_type else [None] * len(ids)
    for qid, text, qtype in zip(ids, texts, types):
        for f in lint_text(text, question_type=_as_type(qtype), rules=active):
            rows.append({"question_id": qid, **f})
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
