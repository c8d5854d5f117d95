"""``AnswerFeaturizer`` (vectorised over a batch) against a slow per-answer oracle written from the definitions.

The oracle splits each answer into sentences and clauses with plain string operations, finds words with
``str.find`` loops and regexes per sentence, and hashes n-grams with Python integers. The featurizer must give the
same counts, the same relevant sentences and the same hashed n-grams, and the same rows whatever batch they are in.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from workbench.intake import resolve_sources, run_intake
from workbench.scoring._featurize import _FLAG, _GOLDEN, _STEP, AnswerFeaturizer, _Lexicon, _Windows, _word_hash
from workbench.scoring._lexicon import CUE_LISTS, NEG_AFTER, NEG_BEFORE, NUMBER, NUMBER_SCAN, SITUATION_SPAN
from workbench.scoring._tokenize import raw_cutter
from workbench.scoring import answer_dataset

TERMINATORS = "。！？!?；;\n"
CLAUSE_MARKS = "\x00，。；！？,.;!?\n、：:"
M64 = 2**64

EDGE_CASES = [
    ("", "compliance"),
    ("   \n\t ", ""),
    ("我先核实了客户身份。今天天气很好，我们去爬山了。", "compliance"),
    ("我不会睁一只眼闭一只眼，违规操作我坚决反对。我会先上报主管！", "compliance"),
    ("“先斩后奏”这种做法我是坚决反对的；双人复核不能省。", "compliance"),
    ("没有任何标点的一段话我负责整理报表提升了百分之二十", "no_such_competency"),
    ("那次实习期间我处理了3 笔可疑交易，最终挽回损失20%。\n\n我学到了很多", "aml"),
    ("English text with ABC and 客户 mixed; 我 did 5 次 work.", ""),
    ("含有\x00空字符的回答，我核实了账户。", "compliance"),
    ("表情😀和生僻字𠀀：我先联系了客户。", "customer_service"),
    ("在银行实习的时候我负责开户。在去年夏天的时候我负责开户。", ""),
    ("哈哈哈哈。。。！！？", ""),
]


# ------------------------------------------------------------------------------------------------------------
# the oracle
# ------------------------------------------------------------------------------------------------------------
def sentences_of(text: str) -> list[str]:
    out, current = [], ""
    for ch in text:
        current += ch
        if ch in TERMINATORS:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def occurrences(text: str, word: str) -> list[int]:
    found, at = [], text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


def count_words(text: str, words) -> int:
    return sum(len(occurrences(text, w)) for w in words)


class Oracle:
    def __init__(self, fz: AnswerFeaturizer):
        self.fz = fz
        words = fz.lexicon_
        self.flagged = {name: [w for w, f in zip(words, fz.word_flags_) if f & bit] for name, bit in _FLAG.items()}
        self.rows = {c: i for i, c in enumerate(fz.competencies_)}

    def row(self, comp: str) -> int:
        return self.rows.get(comp, len(self.fz.competencies_))

    def relevant(self, sentence: str, comp: str) -> bool:
        anchors = [w for w, on in zip(self.fz.lexicon_, self.fz.anchor_[self.row(comp)]) if on]
        if any(w in sentence for w in (*self.flagged["banking"], *self.flagged["first_person_actions"], *anchors)):
            return True
        star = any(w in sentence for k in ("situation", "task", "action_steps", "result") for w in self.flagged[k]) or SITUATION_SPAN.search(sentence)
        return "我" in sentence and bool(NUMBER.search(sentence) or star)

    def features(self, text: str, comp: str) -> dict:
        text = text.replace("\x00", " ")
        kept = [s for s in sentences_of(text) if self.relevant(s, comp)]
        out = {"n_relevant": len(kept), "relevant_text": "".join(kept)}
        moves = {k: sum(count_words(s, self.flagged[k]) for s in kept) for k in CUE_LISTS if k != "banking"}
        moves["situation"] += sum(len(SITUATION_SPAN.findall(s)) for s in kept)
        moves["quantified"] = sum(len(NUMBER.findall(s)) for s in kept)
        moves["domain_terms"] = len({w for w in self.flagged["domain"] for s in kept if w in s})
        moves["star_complete"] = sum(moves[k] > 0 for k in ("situation", "task", "action_steps", "result")) / 4.0
        out.update(moves)
        row = self.row(comp)
        pos = [w for w, on in zip(self.fz.lexicon_, self.fz.evidence_pos_[row]) if on]
        neg = [w for w, on in zip(self.fz.lexicon_, self.fz.evidence_neg_[row]) if on]
        counts = dict.fromkeys(("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated"), 0)
        for sentence in kept:
            for clause in re.split("[" + re.escape(CLAUSE_MARKS) + "]", sentence):
                for phrases, label in ((pos, "pos"), (neg, "neg")):
                    for phrase in phrases:
                        at = clause.find(phrase)
                        if at < 0:
                            continue
                        before, after = clause[:at], clause[at + len(phrase):]
                        negated = any(c in before for c in NEG_BEFORE) or any(c in after for c in NEG_AFTER)
                        counts[f"{label}_{'negated' if negated else 'affirmed'}"] += 1
        out.update(counts)
        return out

    def char_columns(self, relevant_text: str) -> list[int]:
        text = "".join(ch for ch in relevant_text if not ch.isspace())
        text = "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in text)
        columns = []
        for n in range(1, self.fz.char_ngram_max + 1):
            for i in range(len(text) - n + 1):
                key = 0
                for ch in text[i:i + n]:
                    key = (key << 21) | ord(ch)
                columns.append(self.column(key))
        return sorted(columns)

    def word_columns(self, relevant_text: str) -> list[int]:
        tokens = [t for t in raw_cutter(self.fz.tokenizer, tuple(self.fz.user_words_))(relevant_text) if not t.isspace()]
        hashes = [_word_hash(t) for t in tokens]
        columns = [self.column(h) for h in hashes]
        for n in range(2, self.fz.word_ngram_max + 1):
            for i in range(len(hashes) - n + 1):
                key = hashes[i]
                for k in range(2, n + 1):
                    key = (key * int(_STEP) + hashes[i + k - 1] + k) % M64
                columns.append(self.column(key))
        return sorted(columns)

    def column(self, key: int) -> int:
        return (key * int(_GOLDEN) % M64) >> (64 - self.fz.hash_bits)


# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def answers(fair_cohort):
    data, _ = answer_dataset(run_intake(resolve_sources(fair_cohort)).tables)
    sample = data.sample(400, random_state=3)
    frame = pd.DataFrame({"answer": sample["answer"].tolist(), "competency": sample["competency"].tolist()})
    edges = pd.DataFrame(EDGE_CASES, columns=["answer", "competency"])
    return pd.concat([edges, frame], ignore_index=True)


@pytest.fixture(scope="module")
def featurizer(answers):
    # the oracle defines the optional relevance filter too; with it off every non-blank sentence counts
    return AnswerFeaturizer(hash_bits=16, relevance_filter=True).fit(answers)


def test_counts_and_relevance_equal_the_per_answer_oracle(featurizer, answers):
    oracle = Oracle(featurizer)
    analysis = featurizer.featurize(answers)
    kept = featurizer.relevant_sentence_counts(answers)
    names = featurizer._dense_names()
    cap = featurizer.cap
    for i, (text, comp) in enumerate(zip(answers["answer"], answers["competency"])):
        want = oracle.features(text, comp)
        got = dict(zip(names, analysis.dense[i]))
        assert analysis.relevant_sentences[i] == want["n_relevant"], (i, text)
        assert got["relevant:n_relevant"] == pytest.approx(np.log1p(min(want["n_relevant"], 12)))
        assert got["bei:star_complete"] == want["star_complete"], (i, text)
        assert kept[i] == want["n_relevant"]
        for name in ("first_person_actions", "quantified", "situation", "task", "action_steps", "result", "reflection", "hedges",
                     "generic_claims", "domain_terms"):
            assert got[f"bei:{name}"] == pytest.approx(np.log1p(min(want[name], cap))), (i, name, text)
        for name in ("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated"):
            assert got[f"evidence:{name}"] == pytest.approx(np.log1p(min(want[name], cap))), (i, name, text)
        net = want["pos_affirmed"] + want["neg_negated"] - want["pos_negated"] - want["neg_affirmed"]
        assert got["evidence:evidence_net"] == np.clip(net, -cap, cap)


def test_hashed_ngrams_equal_the_oracle(featurizer, answers):
    oracle = Oracle(featurizer)
    subset = answers.iloc[:120]
    analysis = featurizer.featurize(subset)
    for group, make in (("chars", oracle.char_columns), ("words", oracle.word_columns)):
        tf = analysis.text[group].tocsr()  # sublinear term frequency 1 + ln(count)
        for i, (text, comp) in enumerate(zip(subset["answer"], subset["competency"])):
            want = make(oracle.features(text, comp)["relevant_text"])
            row = tf.getrow(i)
            counts = np.rint(np.exp(row.data - 1.0)).astype(int)
            got = sorted(np.repeat(row.indices, counts).tolist())
            assert got == want, (group, i, text)


def test_rows_do_not_depend_on_their_batch(featurizer, answers):
    whole = featurizer.transform(answers).toarray()
    for i in (0, 3, 7, 9, 50):
        single = featurizer.transform(answers.iloc[[i]]).toarray()
        assert np.array_equal(single[0], whole[i]), i
    shuffled = answers.sample(frac=1.0, random_state=1)
    again = featurizer.transform(shuffled).toarray()
    assert np.array_equal(again, whole[shuffled.index.to_numpy()])


def test_padding_and_negation_move_features_the_right_way(featurizer):
    base = "我先核实了客户身份，又请同事双人复核，没有违规操作。"
    padded = base + "周末我喜欢去公园跑步，天气好的时候还会骑车。" * 5
    a, b = featurizer.transform(pd.DataFrame({"answer": [base, padded], "competency": ["compliance"] * 2})).toarray()
    assert np.array_equal(a, b)  # the padding sentences are not relevant: nothing changes


def test_without_the_filter_every_non_blank_sentence_counts_and_padding_is_measured(answers):
    reader = AnswerFeaturizer(hash_bits=16).fit(answers)  # the default reads the whole answer
    base = "我先核实了客户身份，又请同事双人复核，没有违规操作。"
    padded = base + "周末我喜欢去公园跑步。天气好的时候还会骑车。" * 3
    features = reader.featurize(pd.DataFrame({"answer": [base, padded, "  \n ", "第一句。\n\n第二句！"], "competency": ["compliance"] * 4}))
    assert features.relevant_sentences.tolist() == [1, 7, 0, 2]
    a, b = reader.transform(features).toarray()[:2]
    assert not np.array_equal(a, b)  # the padding is read …
    share = features.stats["irrelevant_share"].to_numpy()
    assert share[0] == 0.0 and share[1] > 0.5  # … and measured, for the off-topic advisory

def test_lexicon_matcher_finds_every_occurrence():
    rng = np.random.default_rng(0)
    alphabet = list("客户经理我们先核实不会没有反对合规双人复核。，")
    words = tuple(sorted({"".join(rng.choice(alphabet, size=int(rng.integers(1, 7)))) for _ in range(300)}))
    matcher = _Lexicon(words)
    for _ in range(30):
        text = "".join(rng.choice(alphabet, size=400))
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        start, word = matcher.find(text, points, _Windows(points))
        got = sorted(zip(start.tolist(), word.tolist()))
        want = sorted((at, i) for i, w in enumerate(words) for at in occurrences(text, w))
        assert got == want


def test_the_fast_quantity_pattern_matches_exactly_what_number_matches():
    rng = np.random.default_rng(1)
    alphabet = list("0123456789.１٣一二两三四五六七八九十百千万 \t\u3000%％个百分点万元亿元笔名位家户天周月年小时分钟倍次项条份人我a。\x00")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 40))))
        assert [m.span() for m in NUMBER_SCAN.finditer(text)] == [m.span() for m in NUMBER.finditer(text)], text


def test_cue_lists_do_not_contain_each_other():
    for name, words in CUE_LISTS.items():
        for a in words:
            assert not [b for b in words if a != b and a in b], (name, a)


def test_invalid_parameters_say_what_to_do(answers):
    with pytest.raises(ValueError, match="hash_bits"):
        AnswerFeaturizer(hash_bits=40).fit(answers)
    with pytest.raises(ValueError, match="feature_groups"):
        AnswerFeaturizer(feature_groups=("words", "sentiment")).fit(answers)
