"""Pure payload builders: candidate summaries in, WeCom request bodies out, every documented limit respected.

Nothing here talks to the network or reads the environment. App-message bodies carry ``touser`` and the
duplicate check but not ``agentid`` (the client adds it from the environment when sending), so a stored
payload is reviewable and its hash does not depend on configuration.

Texts come from the message catalog (``wecom.*`` in ``messages/wecom.yaml``); Chinese by default.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..decisions import HiringStage
from ..i18n import label, resolve_lang, t
from ._limits import DUPLICATE_CHECK_MAX_S, check_payload
from ._text import ELLIPSIS, truncate_chars, truncate_utf8, utf8_len

__all__ = [
    "CandidateSummary",
    "BatchSummary",
    "RoleFunnel",
    "FunnelAlert",
    "EVENT_KEY_PREFIX",
    "OFFER_ACTIONS",
    "event_key",
    "parse_event_key",
    "recruiter_textcard",
    "recruiter_markdown",
    "recruiter_template_card",
    "stage_change_markdown",
    "robot_batch_summary",
    "candidate_text",
    "candidate_message_task",
    "PayloadTooLarge",
]

DIMENSION_ORDER = ("professional", "general", "culture")
EVENT_KEY_PREFIX = "wb1"
OFFER_ACTIONS = (HiringStage.OFFER_ACCEPTED, HiringStage.OFFER_DECLINED, HiringStage.HUMAN_REVIEW)
_BUTTON_STYLE = {HiringStage.OFFER_ACCEPTED: 1, HiringStage.OFFER_DECLINED: 2, HiringStage.HUMAN_REVIEW: 3}
_NAME_BYTES = 96  # display names (role, requisition) are cut before composing, so one long name cannot crowd out the rest
_SUGGESTION_MIN_BYTES = 24  # a suggestion cut shorter than this says nothing; drop it instead


class PayloadTooLarge(AssertionError):
    """A builder produced a body over a documented limit: a bug in this module, never the caller's data."""


@dataclass(frozen=True)
class CandidateSummary:
    """What a message says about one candidate. Scores are 0–100; ``role_means`` per dimension (may be empty)."""

    candidate_ref: str
    role_id: str
    role_name: str
    hiring_stage: str
    dimension_scores: Mapping[str, float]
    role_means: Mapping[str, float] = field(default_factory=dict)
    overall_score: float | None = None
    suggestions: tuple[str, ...] = ()
    requisition_id: str | None = None


@dataclass(frozen=True)
class RoleFunnel:
    role_name: str
    candidates: int
    advanced: int


@dataclass(frozen=True)
class FunnelAlert:
    role_name: str
    pass_rate: float
    threshold: float
    review: tuple[str, ...] = ()  # codes: requirements / questions / cut (labels from the catalog)


@dataclass(frozen=True)
class BatchSummary:
    """Batch statistics for the HR team's group robot (the export stage computes them)."""

    batch_id: str
    candidates: int
    advanced: int
    by_stage: Mapping[str, int] = field(default_factory=dict)
    roles: tuple[RoleFunnel, ...] = ()
    alerts: tuple[FunnelAlert, ...] = ()
    missing_recruiters: int = 0
    missing_external: int = 0


# ----------------------------------------------------------------------------------------------- helpers
def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{float(value):.0f}"


def _pct(value: float) -> str:
    return f"{100 * float(value):.0f}%"


def _dims(c: CandidateSummary) -> list[str]:
    known = [d for d in DIMENSION_ORDER if d in c.dimension_scores]
    return known + sorted(d for d in c.dimension_scores if d not in DIMENSION_ORDER)


def _score_line(c: CandidateSummary, dim: str, lang: str) -> str:
    name = label("wecom.dimension", dim, lang)
    if dim in c.role_means:
        return t("wecom.score_line", lang, dimension=name, score=_num(c.dimension_scores[dim]), mean=_num(c.role_means[dim]))
    return t("wecom.score_line_no_mean", lang, dimension=name, score=_num(c.dimension_scores[dim]))


def _name(text: str) -> str:
    return truncate_utf8(" ".join(str(text).split()), _NAME_BYTES)


def _md(text: str) -> str:
    """Text safe inside WeCom markdown: HTML-escaped (the dialect accepts <font> tags) and markup characters quoted."""
    return re.sub(r"([\\`*_\[\]#>])", r"\\\1", html.escape(str(text), quote=False))


def _bold(text: str) -> str:
    return f"**{_md(text)}**"


def _quote(text: str) -> str:
    return f"> {_md(text)}"


def _comment(text: str) -> str:
    return f'<font color="comment">{_md(text)}</font>'


def _warning(text: str) -> str:
    return f'> <font color="warning">{_md(text)}</font>'


def _info(text: str) -> str:
    return f'> <font color="info">{_md(text)}</font>'


def _fit_line(raw: str, budget: int, render: Callable[[str], str]) -> str | None:
    """The longest ``render(truncate(raw))`` that fits ``budget`` bytes (None if not even an ellipsis does)."""
    b = budget
    while b > utf8_len(ELLIPSIS):
        out = render(truncate_utf8(raw, b))
        over = utf8_len(out) - budget
        if over <= 0:
            return out
        b -= max(over, 1)
    return None


Line = str | tuple[str, Callable[[str], str]]  # raw text, or (raw text, how to render it)


def _compose(head: Sequence[Line], body: Sequence[Line], tail: Sequence[Line], limit: int, *, sep: str = "\n",
             render: Callable[[str], str] = str, min_partial: int = _SUGGESTION_MIN_BYTES) -> str:
    """Join head + as much of body as fits + tail within ``limit`` bytes.

    Head and tail lines are rendered whole; body lines are added in order, the first that does not fit is cut
    (in its raw text, so markup around it stays whole) with an ellipsis — or, if too little room is left,
    replaced by a lone ellipsis line — and later ones are dropped.
    """

    def split(line: Line) -> tuple[str, Callable[[str], str]]:
        return line if isinstance(line, tuple) else (line, render)

    head_r = [f(x) for x, f in map(split, head)]
    tail_r = [f(x) for x, f in map(split, tail)]
    fixed = sep.join(head_r + tail_r)
    if utf8_len(fixed) > limit:  # pathological: fixed parts alone overflow; cut the whole text
        return truncate_utf8(fixed, limit)
    kept: list[str] = []
    omitted = False
    for i, line in enumerate(body):
        raw, fn = split(line)
        rendered = fn(raw)
        if utf8_len(sep.join(head_r + kept + [rendered] + tail_r)) <= limit:
            kept.append(rendered)
            continue
        room = limit - utf8_len(sep.join(head_r + kept + tail_r)) - utf8_len(sep)
        partial = _fit_line(raw, room, fn) if room >= min_partial else None
        if partial is not None:
            kept.append(partial)
        omitted = partial is None or i + 1 < len(body)
        break
    if omitted:
        marker = render(ELLIPSIS)
        while kept and utf8_len(sep.join(head_r + kept + [marker] + tail_r)) > limit:
            kept.pop()
        kept.append(marker)
    return sep.join(head_r + kept + tail_r)


def _checked(channel: str, body: dict) -> dict:
    problems = check_payload(channel, body)
    if problems:
        raise PayloadTooLarge(f"{channel} payload exceeds WeCom limits: {'; '.join(map(str, problems))}")
    return body


def _app(to: Sequence[str], msg: dict, duplicate_check_s: int) -> dict:
    recipients = [str(r) for r in to if str(r)]
    if not recipients:
        raise ValueError("an app message needs at least one recipient userid")
    # WeCom drops a message whose request JSON repeats within the interval: the outbox's resend-after-crash
    # relies on it (see _deliver.py), and nothing else may depend on it.
    return {"touser": "|".join(recipients), **msg, "enable_duplicate_check": 1,
            "duplicate_check_interval": int(min(duplicate_check_s, DUPLICATE_CHECK_MAX_S))}


# ----------------------------------------------------------------------------------- event keys (buttons)
def event_key(stage: HiringStage | str, candidate_ref: str) -> str:
    """The button key a recruiter's click sends back: ``wb1|<stage code>|<candidate_ref>`` (≤ 1024 bytes)."""
    key = f"{EVENT_KEY_PREFIX}|{HiringStage(str(stage)).value}|{candidate_ref}"
    if utf8_len(key) > 1024:
        raise ValueError("candidate_ref too long for a WeCom button key (1024 bytes)")
    return key


def parse_event_key(key: str) -> tuple[str, str] | None:
    """``(stage_code, candidate_ref)`` from a button key, or None if it is not one of ours."""
    parts = str(key).split("|", 2)
    if len(parts) != 3 or parts[0] != EVENT_KEY_PREFIX or not parts[2]:
        return None
    try:
        return HiringStage(parts[1]).value, parts[2]
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- recruiter messages
def _recruiter_lines(c: CandidateSummary, lang: str) -> tuple[list[str], list[str]]:
    head = [t("wecom.recruiter.candidate", lang, candidate=c.candidate_ref),
            t("wecom.recruiter.stage", lang, stage=label("hiring_stage", c.hiring_stage, lang))]
    if c.requisition_id:
        head.append(t("wecom.recruiter.requisition", lang, requisition=_name(c.requisition_id)))
    body = []
    if c.overall_score is not None:
        body.append(t("wecom.recruiter.overall", lang, score=_num(c.overall_score)))
    body += [_score_line(c, d, lang) for d in _dims(c)]
    if c.suggestions:
        body.append(t("wecom.recruiter.suggestions", lang, n=len(c.suggestions)))
    return head, body


def recruiter_textcard(c: CandidateSummary, to: Sequence[str], *, url: str, lang: str | None = None,
                       duplicate_check_s: int = DUPLICATE_CHECK_MAX_S) -> dict:
    """A textcard (title ≤ 128 B, description ≤ 512 B of ``<div>`` HTML, a link to the candidate's record)."""
    lang = resolve_lang(lang)
    if not re.match(r"^https?://", url or ""):
        raise ValueError("a textcard needs an http(s):// url (WeCom rejects it otherwise)")
    title = truncate_utf8(t("wecom.recruiter.title", lang, role=_name(c.role_name), candidate=c.candidate_ref), 128)
    head, body = _recruiter_lines(c, lang)
    # description: <div class="gray">stage</div><div class="normal">lines joined by <br></div>
    gray_open, normal_open, close = '<div class="gray">', '<div class="normal">', "</div>"
    gray = gray_open + html.escape(head[1]) + close
    inner_budget = 512 - utf8_len(gray) - utf8_len(normal_open + close)
    inner = _compose([head[0], *head[2:]], body, [], inner_budget, sep="<br>", render=html.escape)
    description = gray + normal_open + inner + close
    msg = {"msgtype": "textcard", "textcard": {"title": title, "description": description,
                                               "url": url, "btntxt": t("wecom.recruiter.button", lang)[:4]}}
    return _checked("app", _app(to, msg, duplicate_check_s))


def recruiter_markdown(c: CandidateSummary, to: Sequence[str], *, lang: str | None = None, url: str | None = None,
                       duplicate_check_s: int = DUPLICATE_CHECK_MAX_S) -> dict:
    """A markdown app message (≤ 2048 bytes). Shown in the WeCom client only, not in the WeChat plug-in."""
    lang = resolve_lang(lang)
    if url and not re.match(r"^https?://", url):
        raise ValueError("url must start with http(s)://")
    head, body = _recruiter_lines(c, lang)
    title = (t("wecom.recruiter.title", lang, role=_name(c.role_name), candidate=c.candidate_ref), _bold)
    tail = [f"[{_md(t('wecom.recruiter.button', lang))}]({url})"] if url else []
    content = _compose([title] + [(x, _comment) for x in head], [(x, _quote) for x in body], tail, 2048)
    msg = {"msgtype": "markdown", "markdown": {"content": content}}
    return _checked("app", _app(to, msg, duplicate_check_s))


def recruiter_template_card(c: CandidateSummary, to: Sequence[str], *, task_id: str | None = None, url: str | None = None,
                            lang: str | None = None, duplicate_check_s: int = DUPLICATE_CHECK_MAX_S) -> dict:
    """A template card: ``button_interaction`` with 已接受/已拒绝/转人工复核 when an offer is out (the click comes
    back as a callback event), else ``text_notice`` (which WeCom requires to link somewhere: pass ``url``)."""
    lang = resolve_lang(lang)
    offer = c.hiring_stage == HiringStage.OFFER_SENT.value
    if offer and not task_id:
        raise ValueError("a button card needs a task_id (unique per app) so its clicks can be traced back")
    if not offer and not url:
        raise ValueError("a text_notice card needs a url for card_action (WeCom requires it); use recruiter_markdown otherwise")
    card: dict = {
        "card_type": "button_interaction" if offer else "text_notice",
        "source": {"desc": truncate_chars(t("wecom.recruiter.card_source", lang), 20), "desc_color": 0},
        "main_title": {"title": truncate_chars(t("wecom.recruiter.card_title", lang, role=_name(c.role_name)), 36),
                       "desc": truncate_chars(t("wecom.recruiter.stage", lang, stage=label("hiring_stage", c.hiring_stage, lang)), 44)},
    }
    if c.overall_score is not None and not offer:
        card["emphasis_content"] = {"title": truncate_chars(_num(c.overall_score), 14),
                                    "desc": truncate_chars(t("wecom.recruiter.overall_label", lang), 22)}
    sub = t("wecom.recruiter.offer_prompt", lang) if offer else (
        t("wecom.recruiter.suggestions", lang, n=len(c.suggestions)) if c.suggestions else "")
    if c.requisition_id:
        sub = (sub + " " if sub else "") + t("wecom.recruiter.requisition", lang, requisition=_name(c.requisition_id))
    if sub:
        card["sub_title_text"] = truncate_chars(sub, 160)
    rows = [{"keyname": truncate_chars(t("wecom.recruiter.candidate_key", lang), 5), "value": truncate_chars(c.candidate_ref, 30)}]
    for d in _dims(c)[:5]:
        value = (t("wecom.score_value", lang, score=_num(c.dimension_scores[d]), mean=_num(c.role_means[d])) if d in c.role_means
                 else t("wecom.score_value_no_mean", lang, score=_num(c.dimension_scores[d])))
        rows.append({"keyname": truncate_chars(label("wecom.dimension_short", d, lang), 5), "value": truncate_chars(value, 30)})
    card["horizontal_content_list"] = rows[:6]
    if url:
        card["card_action"] = {"type": 1, "url": truncate_utf8(url, 2048, ellipsis="")}
    if task_id:
        card["task_id"] = task_id
    if offer:
        card["button_list"] = [
            {"text": truncate_chars(t(f"wecom.button.{s.value}", lang), 10), "style": _BUTTON_STYLE[s], "key": event_key(s, c.candidate_ref)}
            for s in OFFER_ACTIONS
        ]
    return _checked("app", _app(to, {"msgtype": "template_card", "template_card": card}, duplicate_check_s))


def stage_change_markdown(candidate_ref: str, old: str, new: str, to: Sequence[str], *, onboarding: Sequence[str] = (),
                          lang: str | None = None, duplicate_check_s: int = DUPLICATE_CHECK_MAX_S) -> dict:
    """Tell the recruiters that an inbound event moved a candidate (and which onboarding steps were created)."""
    lang = resolve_lang(lang)
    head = [t("wecom.recruiter.stage_changed", lang, candidate=candidate_ref, old=label("hiring_stage", old, lang),
              new=label("hiring_stage", new, lang))]
    steps = " → ".join(label("wecom.onboarding", s, lang) for s in onboarding)
    body = [(t("wecom.recruiter.onboarding", lang, steps=steps), _quote)] if onboarding else []
    msg = {"msgtype": "markdown", "markdown": {"content": _compose(head, body, [], 2048, render=_md)}}
    return _checked("app", _app(to, msg, duplicate_check_s))


# ------------------------------------------------------------------------------------------ group robot
def robot_batch_summary(s: BatchSummary, *, lang: str | None = None, max_bytes: int = 4096) -> dict:
    """Markdown for the HR team's group robot (≤ 4096 bytes): totals, stages, funnel alerts first, then roles."""
    lang = resolve_lang(lang)
    rate = s.advanced / s.candidates if s.candidates else 0.0
    head: list[Line] = [(t("wecom.robot.title", lang, batch=_name(s.batch_id)), lambda x: f"### {_md(x)}"),
                        (t("wecom.robot.totals", lang, n=s.candidates, advanced=s.advanced, rate=_pct(rate)), _md)]
    if s.missing_recruiters or s.missing_external:
        head.append((t("wecom.robot.missing", lang, recruiters=s.missing_recruiters, external=s.missing_external),
                     lambda x: f'<font color="warning">{_md(x)}</font>'))
    body: list[Line] = [(t("wecom.robot.alerts_title", lang), _bold)]
    if s.alerts:
        for a in s.alerts:
            review = t("wecom.list_sep", lang).join(label("wecom.review", code, lang) for code in a.review) or "—"
            body.append((t("wecom.robot.alert_line", lang, role=_name(a.role_name), rate=_pct(a.pass_rate),
                           threshold=_pct(a.threshold), review=review), _warning))
    else:
        body.append((t("wecom.robot.no_alerts", lang), _info))
    if s.by_stage:
        body.append((t("wecom.robot.stages_title", lang), _bold))
        body += [(t("wecom.robot.stage_line", lang, stage=label("hiring_stage", k, lang), n=v), _quote) for k, v in s.by_stage.items()]
    if s.roles:
        body.append((t("wecom.robot.roles_title", lang), _bold))
        for r in s.roles:
            r_rate = r.advanced / r.candidates if r.candidates else 0.0
            body.append((t("wecom.robot.role_line", lang, role=_name(r.role_name), advanced=r.advanced, n=r.candidates, rate=_pct(r_rate)), _quote))
    content = _compose(head, body, [], min(max_bytes, 4096), render=_md)
    return _checked("robot", {"msgtype": "markdown", "markdown": {"content": content}})


# ------------------------------------------------------------------------------------ candidate messages
def candidate_text(c: CandidateSummary, *, lang: str | None = None, max_bytes: int = 4000) -> str:
    """The candidate's message: scores against the role mean, the stage, suggestions, the right to a human review.

    Suggestions are what gives way when the text is too long; the scores, stage and review right always stay.
    """
    lang = resolve_lang(lang)
    head = [t("wecom.candidate.greeting", lang, role=_name(c.role_name))]
    head += ["· " + _score_line(c, d, lang) for d in _dims(c)]
    head.append(t("wecom.candidate.stage", lang, stage=label("hiring_stage", c.hiring_stage, lang)))
    body = [t("wecom.candidate.suggestions", lang)] + [f"{i}. {' '.join(str(s).split())}" for i, s in enumerate(c.suggestions, 1)] if c.suggestions else []
    tail = [t("wecom.candidate.review_right", lang)]
    return _compose(head, body, tail, min(max_bytes, 4000))


def candidate_message_task(c: CandidateSummary, *, external_userid: Sequence[str], sender: str, lang: str | None = None) -> dict:
    """A customer-contact mass-send task (``externalcontact/add_msg_template``) for one candidate.

    WeCom does not send it by itself: the recruiter ``sender`` confirms it in the WeCom client.
    """
    ids = [str(x) for x in external_userid if str(x)]
    if not ids or not sender:
        raise ValueError("a candidate message task needs the candidate's external_userid and a sender (recruiter userid)")
    body = {"chat_type": "single", "external_userid": ids, "sender": str(sender), "text": {"content": candidate_text(c, lang=lang)}}
    return _checked("external", body)
