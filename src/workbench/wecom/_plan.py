"""From export records to planned messages: who gets what, and a report of what cannot be sent and why.

A record is a dict shaped like the export stage's candidate record::

    {"candidate_ref": "c1f3…", "role_id": "teller", "requisition_id": "REQ-2026-BJ-017", "site": "北京分行",
     "hiring_stage": "ai_interview_done",
     "dimension_scores": {"professional": 85, "general": 72, "culture": 60},      # 0–100
     "role_mean": {"professional": 78, "general": 75, "culture": 70},             # or one number
     "overall_score": 74,
     "feedback_suggestions": ["建议加强对银行合规文化的理解", …],                     # str or {"text": …}
     "recruiter_ids": ["hr_li"],                # optional: else looked up in wecom_recipients
     "wecom_external_userid": "wmAbC…"}         # optional: else no candidate message (reported)

``dimension_scores`` may also be a list of ``{"dimension", "score", "role_mean"}``. Unknown keys are ignored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from .._tabular import escape
from ..decisions import HiringStage
from ..i18n import resolve_lang
from ._outbox import PlannedMessage, canonical_json
from ._payloads import (
    BatchSummary,
    CandidateSummary,
    candidate_message_task,
    recruiter_markdown,
    recruiter_template_card,
    recruiter_textcard,
    robot_batch_summary,
)
from ._recipients import RecipientDirectory

__all__ = ["MessagePlan", "plan_messages", "summary_from_record", "RecordProblem", "PROBLEM_COLUMNS", "RECRUITER_FORMATS"]

PROBLEM_COLUMNS = ["candidate_ref", "kind", "reason_code", "detail"]
RECRUITER_FORMATS = ("auto", "template_card", "textcard", "markdown")
_STAGES = {s.value for s in HiringStage}


class RecordProblem(ValueError):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def _first(record: Mapping, *names: str):
    for n in names:
        if n in record and record[n] is not None and not (isinstance(record[n], float) and math.isnan(record[n])):
            return record[n]
    return None


def _score(value, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise RecordProblem("bad_score", f"{what} = {value!r} is not a number") from None
    if not (0.0 <= x <= 100.0):  # also rejects NaN
        raise RecordProblem("bad_score", f"{what} = {value!r} is outside 0–100")
    return x


def _ids(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.replace(",", "|").split("|")
    else:
        items = list(value)
    return tuple(dict.fromkeys(str(x).strip() for x in items if x is not None and str(x).strip()))


def summary_from_record(record: Mapping, *, role_names: Mapping[str, str] | None = None) -> CandidateSummary:
    """Validate one record and turn it into a :class:`CandidateSummary`; raises :class:`RecordProblem`."""
    ref = _first(record, "candidate_ref")
    role = _first(record, "role_id")
    if not ref or not role:
        raise RecordProblem("missing_field", "candidate_ref and role_id are required")
    stage = _first(record, "hiring_stage", "pipeline_stage", "stage")
    if stage is None:
        raise RecordProblem("missing_field", "hiring_stage is required")
    if str(stage) not in _STAGES:
        raise RecordProblem("unknown_stage", f"hiring_stage {stage!r} is not one of {sorted(_STAGES)}")
    raw_scores = _first(record, "dimension_scores")
    if not raw_scores:
        raise RecordProblem("missing_field", "dimension_scores is required")
    means_raw = _first(record, "role_means", "role_mean")
    scores: dict[str, float] = {}
    means: dict[str, float] = {}
    if isinstance(raw_scores, Mapping):
        scores = {str(k): _score(v, f"dimension_scores[{k}]") for k, v in raw_scores.items()}
    else:
        for item in raw_scores:
            dim = str(item["dimension"])
            scores[dim] = _score(item.get("score"), f"dimension_scores[{dim}]")
            if item.get("role_mean") is not None:
                means[dim] = _score(item["role_mean"], f"role_mean[{dim}]")
    if isinstance(means_raw, Mapping):
        means.update({str(k): _score(v, f"role_mean[{k}]") for k, v in means_raw.items() if v is not None})
    elif means_raw is not None:
        one = _score(means_raw, "role_mean")
        means.update({d: one for d in scores})
    overall = _first(record, "overall_score")
    suggestions = []
    for s in _first(record, "feedback_suggestions", "suggestions") or ():
        text = s.get("text") if isinstance(s, Mapping) else s
        if text and str(text).strip():
            suggestions.append(str(text).strip())
    role_name = _first(record, "role_name") or (role_names or {}).get(str(role)) or str(role)
    return CandidateSummary(
        candidate_ref=str(ref), role_id=str(role), role_name=str(role_name), hiring_stage=str(stage),
        dimension_scores=scores, role_means=means, overall_score=None if overall is None else _score(overall, "overall_score"),
        suggestions=tuple(suggestions), requisition_id=_first(record, "requisition_id"),
    )


@dataclass
class MessagePlan:
    """Planned messages plus what could not be planned (``problems``: one row per record × kind, reason code).

    Counts reconcile per kind: records in = planned + problems (``counts()``).
    """

    messages: list[PlannedMessage]
    problems: pd.DataFrame
    records_in: int
    contacts: list[dict] = field(default_factory=list)  # candidate registry rows (stage, recruiters, contact)

    def counts(self) -> pd.DataFrame:
        kinds = ("recruiter_notice", "candidate_result")
        rows = []
        for k in kinds:
            planned = sum(1 for m in self.messages if m.kind == k)
            not_planned = int((self.problems["kind"].isin([k, "record"])).sum()) if len(self.problems) else 0
            rows.append({"kind": k, "records_in": self.records_in, "planned": planned, "not_planned": not_planned,
                         "reconciled": planned + not_planned == self.records_in})
        return pd.DataFrame(rows)

    @property
    def reconciled(self) -> bool:
        return bool(self.counts()["reconciled"].all())

    def _repr_html_(self) -> str:
        return self.counts().to_html(index=False, escape=True) + (
            f"<p>{escape(len(self.problems))} problem(s)</p>" + self.problems.groupby(["kind", "reason_code"]).size().to_frame("n").to_html()
            if len(self.problems) else "")


def _task_id(summary: CandidateSummary, recipients: Sequence[str], lang: str, url: str | None) -> str:
    """WeCom refuses a task_id it has seen from this app, so it follows everything the card shows: the same card
    gets the same id (and is the same outbox row), a changed card a new one."""
    seed = canonical_json({"s": dataclasses.asdict(summary), "r": sorted(recipients), "l": lang, "u": url})
    return "wb_" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:40]


def plan_messages(
    records: Iterable[Mapping],
    *,
    recipients: RecipientDirectory | None = None,
    lang: str | None = None,
    link_template: str | None = None,
    recruiter_format: str = "auto",
    batch: BatchSummary | None = None,
    role_names: Mapping[str, str] | None = None,
) -> MessagePlan:
    """Plan one recruiter notice and one candidate message per record (plus the HR robot's batch summary).

    ``link_template`` (e.g. ``"https://ehr.bank.internal/candidates/{candidate_ref}"``) gives cards a link;
    ``recruiter_format``: auto (button card while an offer is out, a linked card if there is a link, else
    markdown), template_card, textcard (needs a link) or markdown. A record may carry its own ``lang``.
    """
    if recruiter_format not in RECRUITER_FORMATS:
        raise ValueError(f"recruiter_format must be one of {RECRUITER_FORMATS}")
    if recruiter_format == "textcard" and not link_template:
        raise ValueError("recruiter_format='textcard' needs link_template (WeCom requires a url on a textcard)")
    default_lang = resolve_lang(lang)
    messages: list[PlannedMessage] = []
    problems: list[dict] = []
    contacts: list[dict] = []
    n = 0
    no_recruiter = no_external = 0
    for record in records:
        n += 1
        ref = str(record.get("candidate_ref") or "")
        try:
            s = summary_from_record(record, role_names=role_names)
        except RecordProblem as p:
            problems.append({"candidate_ref": ref, "kind": "record", "reason_code": p.code, "detail": p.detail})
            continue
        rec_lang = resolve_lang(record.get("lang") or default_lang)
        recruiters = _ids(_first(record, "recruiter_ids", "recruiter_wecom_userids"))
        if not recruiters and recipients is not None:
            recruiters = recipients.recruiters_for(s.role_id, site=_first(record, "site"), requisition_id=s.requisition_id)
        external = _ids(_first(record, "wecom_external_userid"))
        contacts.append({"candidate_ref": s.candidate_ref, "role_id": s.role_id, "requisition_id": s.requisition_id,
                         "stage": s.hiring_stage, "recruiter_ids": list(recruiters), "external_userid": external[0] if external else None})
        if not recruiters:
            no_recruiter += 1
            where = f"role={s.role_id} site={_first(record, 'site')} requisition={s.requisition_id}"
            problems.append({"candidate_ref": s.candidate_ref, "kind": "recruiter_notice", "reason_code": "no_recruiter_mapping", "detail": where})
            problems.append({"candidate_ref": s.candidate_ref, "kind": "candidate_result", "reason_code": "no_recruiter_mapping",
                             "detail": "a customer-contact task needs a recruiter to send it"})
            if not external:
                no_external += 1
            continue
        url = link_template.format(candidate_ref=s.candidate_ref, role_id=s.role_id) if link_template else None
        fmt = recruiter_format
        if fmt == "auto":
            fmt = "template_card" if (s.hiring_stage == HiringStage.OFFER_SENT.value or url) else "markdown"
        if fmt == "template_card" and s.hiring_stage != HiringStage.OFFER_SENT.value and not url:
            fmt = "markdown"
        if fmt == "template_card":
            body = recruiter_template_card(s, recruiters, url=url, lang=rec_lang, task_id=_task_id(s, recruiters, rec_lang, url))
        elif fmt == "textcard":
            body = recruiter_textcard(s, recruiters, url=url, lang=rec_lang)
        else:
            body = recruiter_markdown(s, recruiters, url=url, lang=rec_lang)
        messages.append(PlannedMessage("app", "recruiter_notice", tuple(recruiters), body, s.candidate_ref, s.hiring_stage, rec_lang))
        if not external:
            no_external += 1
            problems.append({"candidate_ref": s.candidate_ref, "kind": "candidate_result", "reason_code": "no_external_userid", "detail": ""})
            continue
        task = candidate_message_task(s, external_userid=external[:1], sender=recruiters[0], lang=rec_lang)
        identity = ((external[0],), {"text": task["text"], "external_userid": task["external_userid"]})
        messages.append(PlannedMessage("external", "candidate_result", (external[0], recruiters[0]), task, s.candidate_ref, s.hiring_stage,
                                       rec_lang, identity=identity))
    if batch is not None:
        batch = replace(batch, missing_recruiters=batch.missing_recruiters or no_recruiter, missing_external=batch.missing_external or no_external)
        messages.append(PlannedMessage("robot", "batch_summary", ("robot",), robot_batch_summary(batch, lang=default_lang), None, None, default_lang))
    return MessagePlan(messages=messages, problems=pd.DataFrame(problems, columns=PROBLEM_COLUMNS), records_in=n, contacts=contacts)
