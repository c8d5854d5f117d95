"""WeCom payload builders: documented field rules and byte limits, checked at maximal length with Chinese
text, a supplementary-plane character (𠀀, 4 bytes) and emoji, in both languages."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.wecom import (
    BatchSummary,
    CandidateSummary,
    FunnelAlert,
    RoleFunnel,
    candidate_message_task,
    candidate_text,
    check_payload,
    event_key,
    parse_event_key,
    recruiter_markdown,
    recruiter_template_card,
    recruiter_textcard,
    robot_batch_summary,
    stage_change_markdown,
    truncate_chars,
    truncate_utf8,
    utf8_len,
)

RARE = "𠀀"  # U+20000, 4 bytes in UTF-8
EMOJI = "👩‍💻🇨🇳😀"  # a ZWJ sequence, a flag (two regional indicators), a plain emoji
LONG_ZH = "建议加强对银行合规文化的理解，在回答中结合具体经历说明你如何在压力下坚持原则并量化结果。"
URL = "https://ehr.bank.internal/candidates/C0000001"
HAN = re.compile(r"[\u4e00-\u9fff\U00020000-\U0002fa1f]")


def _maximal(stage="ai_interview_done", **kw) -> CandidateSummary:
    """Everything as long as the inputs allow: 60 long suggestions full of 𠀀 and emoji, long names and refs."""
    base = dict(
        candidate_ref="c" + "9f" * 31 + "x",  # a 64-character pseudonym
        role_id="risk_manager",
        role_name=("风险经理" + RARE + EMOJI) * 20,
        hiring_stage=stage,
        dimension_scores={"professional": 85.4, "general": 72, "culture": 60},
        role_means={"professional": 78, "general": 75.5, "culture": 70},
        overall_score=74.2,
        suggestions=tuple(f"{i}{LONG_ZH}{RARE * 3}{EMOJI}" * 3 for i in range(60)),
        requisition_id="REQ-" + "甲" * 60,
    )
    base.update(kw)
    return CandidateSummary(**base)


# ------------------------------------------------------------------------------------------------ truncation
@given(st.text(alphabet=st.sampled_from(list("银行合规AZaz09 ·" + RARE + "😀\u200d👩💻\U0001F1E8\U0001F1F3\u0301")), max_size=400), st.integers(0, 300))
@settings(max_examples=300, deadline=None)
def test_truncate_utf8_never_exceeds_and_keeps_whole_characters(text, limit):
    out = truncate_utf8(text, limit)
    assert utf8_len(out) <= limit
    out.encode("utf-8")  # valid: no lone surrogate, no partial character
    if utf8_len(text) <= limit:
        assert out == text
    elif out:
        assert out.endswith("…") and text.startswith(out[:-1])


def test_truncate_cuts_on_character_and_grapheme_boundaries():
    assert truncate_utf8(RARE * 3, 10) == RARE + "…"  # 4 + 3 bytes; a second 𠀀 would need 11
    assert truncate_utf8("专业能力得分", 12) == "专业能…"
    # never leave half of a ZWJ sequence or of a flag behind the ellipsis
    assert truncate_utf8("ab👩‍💻cd", 2 + 4 + 3 + 3) == "ab…"
    assert truncate_utf8("a🇨🇳🇨🇳", 1 + 8 + 4 + 3) == "a🇨🇳…"
    assert truncate_chars("风险经理" + RARE + "岗位", 6) == "风险经理" + RARE + "…"
    assert truncate_chars("é" * 3, 2) == "é…"


# ------------------------------------------------------------------------------------------------ builders
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_recruiter_textcard_at_maximal_length(lang):
    body = recruiter_textcard(_maximal(), ["hr_li", "hr_wang"], url=URL, lang=lang)
    card = body["textcard"]
    assert check_payload("app", body) == []
    assert utf8_len(card["title"]) <= 128 and card["title"].endswith("…")
    assert utf8_len(card["description"]) <= 512
    assert card["description"].startswith('<div class="gray">') and card["description"].endswith("</div>")
    assert len(card["btntxt"]) <= 4 and card["url"] == URL
    assert body["touser"] == "hr_li|hr_wang" and body["enable_duplicate_check"] == 1 and body["duplicate_check_interval"] <= 14400
    json.loads(json.dumps(body, ensure_ascii=False))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_recruiter_markdown_at_maximal_length(lang):
    body = recruiter_markdown(_maximal(), ["hr_li"], lang=lang, url=URL)
    content = body["markdown"]["content"]
    assert check_payload("app", body) == [] and utf8_len(content) <= 2048
    assert content.rstrip().endswith(f"({URL})")  # the link (tail) survives truncation


def test_recruiter_template_cards_obey_field_rules():
    notice = recruiter_template_card(_maximal(), ["hr_li"], url=URL)["template_card"]
    assert notice["card_type"] == "text_notice" and notice["card_action"] == {"type": 1, "url": URL}
    assert len(notice["main_title"]["title"]) <= 36 and notice["main_title"]["title"].endswith("…")
    assert len(notice["sub_title_text"]) <= 160
    assert len(notice["horizontal_content_list"]) <= 6
    assert all(len(x["keyname"]) <= 5 and len(x["value"]) <= 30 for x in notice["horizontal_content_list"])
    offer = recruiter_template_card(_maximal("offer_sent"), ["hr_li"], task_id="wb_" + "a" * 40, lang="en")
    card = offer["template_card"]
    assert card["card_type"] == "button_interaction" and check_payload("app", offer) == []
    assert [parse_event_key(b["key"]) for b in card["button_list"]] == [
        ("offer_accepted", _maximal().candidate_ref), ("offer_declined", _maximal().candidate_ref), ("human_review", _maximal().candidate_ref)]
    assert all(len(b["text"]) <= 10 for b in card["button_list"])
    with pytest.raises(ValueError, match="task_id"):
        recruiter_template_card(_maximal("offer_sent"), ["hr_li"])
    with pytest.raises(ValueError, match="url"):
        recruiter_template_card(_maximal(), ["hr_li"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_candidate_message_at_maximal_length_keeps_scores_stage_and_review_right(lang):
    c = _maximal()
    body = candidate_message_task(c, external_userid=["wm" + "x" * 30], sender="hr_li", lang=lang)
    text = body["text"]["content"]
    assert check_payload("external", body) == [] and utf8_len(text) <= 4000
    assert utf8_len(text) > 3900  # it used the room it has
    assert "…" in text  # suggestions were cut visibly
    for must in ("85", "78", "72", "76", "60", "70"):  # scores and role means (75.5 shows as 76)
        assert must in text
    review = {"zh": "人工复核", "en": "human review"}[lang]
    assert text.rstrip().endswith(review + ("。" if lang == "zh" else ".")), text[-80:]
    assert {"zh": "已完成AI面试", "en": "AI interview completed"}[lang] in text
    assert body["chat_type"] == "single" and body["sender"] == "hr_li"


def test_short_candidate_message_is_not_cut():
    c = _maximal(suggestions=("多举例说明" + RARE,), role_name="柜员")
    text = candidate_text(c, lang="zh")
    assert "…" not in text and "1. 多举例说明" + RARE in text


def test_english_messages_have_no_chinese_from_the_catalog():
    c = _maximal(role_name="Risk manager", suggestions=("Quantify your results.",), requisition_id="REQ-1")
    texts = [candidate_text(c, lang="en"), json.dumps(recruiter_markdown(c, ["u"], lang="en"), ensure_ascii=False),
             json.dumps(recruiter_template_card(c, ["u"], url=URL, lang="en"), ensure_ascii=False),
             json.dumps(recruiter_textcard(c, ["u"], url=URL, lang="en"), ensure_ascii=False)]
    for text in texts:
        assert not HAN.search(text), HAN.search(text)


def test_robot_summary_at_maximal_length_puts_alerts_first():
    s = BatchSummary(
        batch_id="2026秋招-第1批" + RARE, candidates=5000, advanced=1000,
        by_stage={"ai_interview_done": 4000, "awaiting_hr_interview": 1000},
        roles=tuple(RoleFunnel(f"岗位{i}{RARE}{EMOJI}" * 5, 400, 90) for i in range(200)),
        alerts=tuple(FunnelAlert(f"风险经理{i}{EMOJI}" * 3, 0.21, 0.30, ("requirements", "questions", "cut")) for i in range(10)),
        missing_recruiters=7, missing_external=312,
    )
    body = robot_batch_summary(s)
    content = body["markdown"]["content"]
    assert check_payload("robot", body) == [] and utf8_len(content) <= 4096
    assert content.count("通过率 21%") == 10  # every alert survives; the role list gives way
    assert content.rstrip().endswith("…")
    assert "312" in content and "岗位要求、面试题目、分数线" in content
    assert "role requirements, questions, cut score" in robot_batch_summary(s, lang="en")["markdown"]["content"]


def test_markup_in_data_is_escaped():
    c = _maximal(suggestions=("<script>alert(1)</script> **粗体** [链接](http://evil)",), role_name="<b>柜员</b>")
    md = recruiter_markdown(c, ["u"])["markdown"]["content"]
    card = recruiter_textcard(c, ["u"], url=URL)["textcard"]["description"]
    text = candidate_text(c)
    assert "<b>" not in md and "&lt;b&gt;" in md
    assert "<script>" not in card
    assert "<script>" in text  # plain text to a candidate: shown as typed, nothing renders it as HTML
    md2 = stage_change_markdown("ref*1", "offer_sent", "offer_accepted", ["u"], onboarding=("medical_exam", "sign_contract", "enter_employee_info"))
    assert "ref\\*1" in md2["markdown"]["content"] and "体检 → 签订合同 → 录入员工信息" in md2["markdown"]["content"]


def test_event_keys_round_trip_and_reject_foreign_keys():
    assert parse_event_key(event_key("offer_accepted", "c|with|pipes")) == ("offer_accepted", "c|with|pipes")
    for bad in ("", "wb1|offer_accepted|", "wb2|offer_accepted|c1", "wb1|hired|c1", "key111"):
        assert parse_event_key(bad) is None


def test_check_payload_reports_violations():
    body = {"touser": "u", "msgtype": "markdown", "markdown": {"content": "甲" * 700}, "duplicate_check_interval": 99999}
    found = {v.path for v in check_payload("app", body)}
    assert found == {"markdown.content", "duplicate_check_interval"}
    assert [v.path for v in check_payload("robot", {"msgtype": "markdown", "markdown": {"content": RARE * 1025}})] == ["markdown.content"]
