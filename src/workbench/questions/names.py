"""Resolve the role and competency names vendors write ("客户经理", "细致性", "抗压能力") to dictionary ids.

Order of evidence, strongest first; the first step that decides wins:

1. ``mapping`` — the vendor's own mapping file (``--mapping``), given → id or exact name;
2. ``id`` — a dictionary id (case-insensitive: ``Teller``);
3. ``name`` — the dictionary's Chinese or English name, after normalisation (full-width → half-width, spaces and
   brackets dropped, ``合规/内控`` = ``合规与内控``);
4. ``alias`` — an alias kept in ``data/competency_dictionary.yaml``. An alias listed under several entries
   (客户经理 → 个人 / 对公客户经理; 营销能力 → two competencies) is *ambiguous*; for a competency the row's role
   decides when exactly one of them is in that role's model (``alias_role``);
5. ``close`` — character-level similarity (:func:`name_similarity`) to every name and alias, after generic
   affixes are stripped (能力, 意识, 岗, 人员 …). The best entry wins if it reaches :data:`CLOSE_THRESHOLD` and is
   at least :data:`AMBIGUITY_MARGIN` ahead of the next entry; otherwise the name is reported as ambiguous with the
   candidates, never guessed. A name joining two entries (团队协作与沟通) is ambiguous too.

The threshold and margin were chosen on the *tune* half of ``tests/data/vendor/name_variants.csv`` (written before
this module) and checked once on its held-out half; the figures are in ``benchmark/README.md`` and
``tests/test_bench_names.py``.

Every outcome is a :class:`Resolution` with a stable ``method`` code; :meth:`NameResolver.table` is the mapping
table shown on the scorecard (given → resolved, how, confidence, candidates, rows).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pandas as pd

from ..competency import CompetencyDictionary
from ..errors import DataError

__all__ = [
    "AMBIGUITY_MARGIN",
    "CLOSE_THRESHOLD",
    "METHODS",
    "NameResolver",
    "Resolution",
    "name_similarity",
    "normalise_name",
    "read_mapping",
]

CLOSE_THRESHOLD = 0.55
AMBIGUITY_MARGIN = 0.08
# decided: an id was found; undecided: reported with candidates (or none) and no id
METHODS = {
    "decided": ("mapping", "id", "name", "alias", "alias_role", "close", "close_role"),
    "undecided": ("ambiguous", "unknown", "empty"),
}
KINDS = ("role", "competency")

_BRACKETS = str.maketrans({c: "" for c in "()（）[]【】<>《》{}「」『』\"'“”‘’"})
_CONNECTORS = re.compile(r"[与和及、/／&＋+,，;；·\-－—_]|以及")
# generic words that say nothing about which entry is meant; stripped from both sides before comparing
_AFFIXES = (
    "能力", "意识", "素质", "素养", "精神", "水平", "技能", "知识储备", "知识", "岗位", "人员", "专员", "岗",
)
_TRAILING_XING = re.compile(r"(?<=..)性$")  # 细致性 → 细致, 严谨性 → 严谨 (not 性 alone)


def normalise_name(text: str) -> str:
    """NFKC, lower case, no whitespace or brackets; connectors kept (they matter for splitting)."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s.translate(_BRACKETS)


def _core(name: str) -> str:
    """The distinctive part of a normalised name: connectors and generic affixes removed."""
    s = _CONNECTORS.sub("", name)
    for affix in _AFFIXES:
        if s.endswith(affix) and len(s) > len(affix) + 1:
            s = s[: -len(affix)]
    s = _TRAILING_XING.sub("", s)
    return s or name


def name_similarity(a: str, b: str) -> float:
    """Character-level similarity of two names in [0, 1], order-tolerant.

    The mean of (i) the ``difflib`` ratio of the cores (order-sensitive: 风险经理 / 风控经理 = .75) and (ii) the Dice
    coefficient of their character sets (order-free: 细致严谨 / 严谨细致 = 1), raised to the *containment* score when
    one core contains the other (反洗钱 ⊂ 反洗钱与客户尽职调查: .5 + .5 × the shorter's share of the longer).
    """
    ca, cb = _core(normalise_name(a)), _core(normalise_name(b))
    if not ca or not cb:
        return 0.0
    if ca == cb:
        return 1.0
    ratio = SequenceMatcher(None, ca, cb, autojunk=False).ratio()
    sa, sb = set(ca), set(cb)
    dice = 2 * len(sa & sb) / (len(sa) + len(sb))
    score = (ratio + dice) / 2
    short, long_ = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
    if len(short) >= 2 and short in long_:
        score = max(score, 0.5 + 0.5 * len(short) / len(long_))
    return float(score)


@dataclass(frozen=True)
class Resolution:
    """How one given name was resolved. ``resolved`` is an id, or None when ``method`` is undecided."""

    kind: str
    given: str
    resolved: str | None
    method: str
    confidence: float
    candidates: tuple[str, ...] = ()
    role_context: str | None = None

    @property
    def decided(self) -> bool:
        return self.resolved is not None


@dataclass(frozen=True)
class _Entry:
    id: str
    name: str
    forms: tuple[str, ...]  # name, English name, aliases — what a vendor might write


def read_mapping(path: str | Path, dictionary: CompetencyDictionary) -> dict[tuple[str, str], str]:
    """The vendor's own mapping: a CSV/XLSX with columns ``kind`` (role / competency, or 岗位 / 胜任力),
    ``given`` (their name) and ``resolved`` (our id or exact Chinese name).

    Raises :class:`DataError` naming the row for an unknown kind or a target that is not in the dictionary.
    """
    from ..intake.readers import read_raw_table

    raw = read_raw_table(path, table="name_mapping")
    frame = raw.frame.rename(columns={"类型": "kind", "供应商名称": "given", "对应": "resolved", "对应名称": "resolved"})
    missing = [c for c in ("kind", "given", "resolved") if c not in frame.columns]
    if missing:
        raise DataError(f"mapping file {path} lacks column(s) {missing}; required: kind (role/competency), given, resolved")
    kinds = {"role": "role", "岗位": "role", "competency": "competency", "胜任力": "competency"}
    out: dict[tuple[str, str], str] = {}
    for row, kind, given, target in zip(raw.rows, frame["kind"], frame["given"], frame["resolved"]):
        k = kinds.get(normalise_name(kind or ""))
        if k is None:
            raise DataError(f"mapping file {path}, row {row}: kind {kind!r} must be role/岗位 or competency/胜任力")
        if not given or not target:
            raise DataError(f"mapping file {path}, row {row}: given and resolved must not be empty")
        table = dictionary.roles if k == "role" else dictionary.competencies
        by_name = {normalise_name(e.name): e.id for e in table.values()}
        target_id = target.strip() if target.strip() in table else by_name.get(normalise_name(target))
        if target_id is None:
            raise DataError(f"mapping file {path}, row {row}: {target!r} is not a {k} id or name in the dictionary")
        out[(k, normalise_name(given))] = target_id
    return out


class NameResolver:
    """Resolve role and competency names against a dictionary; remembers every resolution for the mapping table.

    >>> r = NameResolver(load_dictionary())
    >>> r.competency("细致性").resolved
    'attention_to_detail'
    >>> r.role("客户经理").method, r.role("客户经理").candidates
    ('ambiguous', ('corporate_rm', 'retail_rm'))
    """

    def __init__(
        self,
        dictionary: CompetencyDictionary,
        *,
        mapping: dict[tuple[str, str], str] | None = None,
        threshold: float = CLOSE_THRESHOLD,
        margin: float = AMBIGUITY_MARGIN,
    ):
        self.dictionary = dictionary
        self.mapping = dict(mapping or {})
        self.threshold = threshold
        self.margin = margin
        self._entries = {
            "role": [_Entry(r.id, r.name, (r.name, r.name_en, *r.aliases)) for r in dictionary.roles.values()],
            "competency": [_Entry(c.id, c.name, (c.name, c.name_en, *c.aliases)) for c in dictionary.competencies.values()],
        }
        self._names = {k: {normalise_name(f): e.id for e in es for f in (e.name, e.forms[1])} for k, es in self._entries.items()}
        self._aliases: dict[str, dict[str, set[str]]] = {k: {} for k in KINDS}
        for k, es in self._entries.items():
            for e in es:
                for a in e.forms[2:]:
                    self._aliases[k].setdefault(normalise_name(a), set()).add(e.id)
        self._ids = {k: {i.lower(): i for i in (dictionary.roles if k == "role" else dictionary.competencies)} for k in KINDS}
        # an alias on several entries only ever yields "ambiguous"; it must not pull close matches (客户经理岗)
        shared = {k: {a for a, ids in self._aliases[k].items() if len(ids) > 1} for k in KINDS}
        self._close_forms = {
            k: [(e.id, tuple(f for f in e.forms if normalise_name(f) not in shared[k])) for e in es] for k, es in self._entries.items()
        }
        self._alias_cores: dict[str, dict[str, set[str]]] = {k: {} for k in KINDS}
        for k in KINDS:
            for a, ids in self._aliases[k].items():
                self._alias_cores[k].setdefault(_core(a), set()).update(ids)
        self._seen: dict[tuple, tuple[Resolution, int]] = {}

    # -- public ---------------------------------------------------------------------------------------------
    def role(self, given) -> Resolution:
        return self._remember(self._resolve("role", given, None))

    def competency(self, given, role_id: str | None = None) -> Resolution:
        return self._remember(self._resolve("competency", given, role_id))

    def table(self, lang: str | None = None) -> pd.DataFrame:
        """The mapping table: one row per distinct (kind, given[, role]) with resolved id and name, method,
        confidence, candidates (ids, ``|``-separated) and how many rows used it."""
        rows = []
        for res, n in self._seen.values():
            table = self.dictionary.roles if res.kind == "role" else self.dictionary.competencies
            rows.append({
                "kind": res.kind,
                "given": res.given,
                "role_context": res.role_context or "",
                "resolved": res.resolved or "",
                "resolved_name": table[res.resolved].name if res.resolved else "",
                "method": res.method,
                "confidence": round(res.confidence, 3),
                "candidates": "|".join(res.candidates),
                "candidate_names": "、".join(table[c].name for c in res.candidates if c in table),
                "rows": n,
            })
        cols = ["kind", "given", "role_context", "resolved", "resolved_name", "method", "confidence", "candidates", "candidate_names", "rows"]
        frame = pd.DataFrame(rows, columns=cols)
        order = {m: i for i, m in enumerate(("ambiguous", "unknown", "empty", "close_role", "close", "alias_role", "alias", "mapping", "name", "id"))}
        return frame.sort_values(["kind", "method", "given"], key=lambda s: s.map(order) if s.name == "method" else s, kind="stable").reset_index(drop=True)

    # -- internals ------------------------------------------------------------------------------------------
    def _remember(self, res: Resolution) -> Resolution:
        key = (res.kind, res.given, res.role_context if res.kind == "competency" and res.method in ("alias_role", "close_role", "ambiguous") else None)
        old = self._seen.get(key)
        self._seen[key] = (res, (old[1] if old else 0) + 1)
        return res

    def _in_role(self, ids, role_id: str | None) -> list[str]:
        if not role_id or role_id not in self.dictionary.roles:
            return []
        allowed = set(self.dictionary.roles[role_id].competency_ids)
        return [i for i in ids if i in allowed]

    def _resolve(self, kind: str, given, role_id: str | None) -> Resolution:
        text = "" if given is None or (isinstance(given, float) and given != given) else str(given).strip()
        ctx = role_id if kind == "competency" else None
        if not text:
            return Resolution(kind, text, None, "empty", 0.0, role_context=ctx)
        norm = normalise_name(text)
        if (kind, norm) in self.mapping:
            return Resolution(kind, text, self.mapping[(kind, norm)], "mapping", 1.0, role_context=ctx)
        if norm in self._ids[kind]:
            return Resolution(kind, text, self._ids[kind][norm], "id", 1.0, role_context=ctx)
        joined = _CONNECTORS.sub("", norm)
        for form in (norm, joined):
            if form in self._names[kind]:
                return Resolution(kind, text, self._names[kind][form], "name", 1.0, role_context=ctx)
            hits = self._aliases[kind].get(form)
            if hits:
                return self._choose_alias(kind, text, sorted(hits), ctx)
        return self._close(kind, text, norm, ctx)

    def _choose_alias(self, kind, text, hits, ctx) -> Resolution:
        if len(hits) == 1:
            return Resolution(kind, text, hits[0], "alias", 1.0, role_context=ctx)
        in_role = self._in_role(hits, ctx)
        if len(in_role) == 1:
            return Resolution(kind, text, in_role[0], "alias_role", 0.95, tuple(hits), role_context=ctx)
        return Resolution(kind, text, None, "ambiguous", 0.0, tuple(hits), role_context=ctx)

    def _scores(self, kind: str, text: str) -> list[tuple[float, str]]:
        scores = [(max((name_similarity(text, f) for f in forms), default=0.0), i) for i, forms in self._close_forms[kind]]
        return sorted(scores, key=lambda t: (-t[0], t[1]))

    def _covering(self, kind: str, norm: str, ids) -> list[str]:
        """Entries among ``ids`` one of whose forms contains every part of a joined name (交易监测与分析 ⊂
        可疑交易监测与分析): such a name is a shortening of that entry, not two entries."""
        parts = [_core(p) for p in _CONNECTORS.split(norm) if p]
        if len(parts) < 2:
            return []
        forms = dict(self._close_forms[kind])
        return [i for i in ids if any(all(p in normalise_name(f) for p in parts) for f in forms.get(i, ()))]

    def _part_ids(self, kind: str, norm: str) -> set[str]:
        """Entries named by the parts of a joined name (团队协作与沟通 → team_collaboration, communication)."""
        parts = [p for p in _CONNECTORS.split(norm) if len(p) >= 2]
        if len(parts) < 2:
            return set()
        found = set()
        for p in parts:
            if p in self._names[kind]:
                found.add(self._names[kind][p])
                continue
            if p in self._aliases[kind] and len(self._aliases[kind][p]) == 1:
                found |= self._aliases[kind][p]
                continue
            best = self._scores(kind, p)
            if best[0][0] >= self.threshold and (len(best) < 2 or best[0][0] - best[1][0] >= self.margin):
                found.add(best[0][1])
        return found

    def _close(self, kind: str, text: str, norm: str, ctx: str | None) -> Resolution:
        core = _core(norm)
        if core in self._alias_cores[kind]:  # 客户经理岗 → core 客户经理, an alias: decided (or ambiguous) as the alias is
            res = self._choose_alias(kind, text, sorted(self._alias_cores[kind][core]), ctx)
            return Resolution(kind, text, res.resolved, res.method, res.confidence * 0.95, res.candidates, role_context=ctx)
        scores = self._scores(kind, text)
        parts = self._part_ids(kind, norm)
        if len(parts) >= 2:
            cover = self._covering(kind, norm, [i for _, i in scores[:5]])
            if len(cover) == 1:
                score = dict((i, s) for s, i in scores)[cover[0]]
                return Resolution(kind, text, cover[0], "close", round(score, 3), tuple(sorted(parts)), role_context=ctx)
            return Resolution(kind, text, None, "ambiguous", 0.0, tuple(sorted(parts)), role_context=ctx)
        above = [(s, i) for s, i in scores if s >= self.threshold]
        if not above:
            near = tuple(i for s, i in scores[:3] if s >= self.threshold - 0.2)
            return Resolution(kind, text, None, "unknown", round(scores[0][0], 3), near, role_context=ctx)
        best_s, best_id = above[0]
        rivals = [(s, i) for s, i in above[1:] if best_s - s < self.margin]
        if not rivals:
            return Resolution(kind, text, best_id, "close", round(best_s, 3), tuple(i for _, i in above[:3]), role_context=ctx)
        tied = [best_id, *[i for _, i in rivals]]
        cover = self._covering(kind, norm, tied)
        if len(cover) == 1:
            return Resolution(kind, text, cover[0], "close", round(dict((i, s) for s, i in above)[cover[0]], 3), tuple(tied), role_context=ctx)
        in_role = self._in_role(tied, ctx)
        if len(in_role) == 1:
            return Resolution(kind, text, in_role[0], "close_role", round(dict((i, s) for s, i in above)[in_role[0]], 3), tuple(tied), role_context=ctx)
        return Resolution(kind, text, None, "ambiguous", round(best_s, 3), tuple(sorted(tied)), role_context=ctx)
