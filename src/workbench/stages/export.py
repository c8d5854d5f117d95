"""Stage 06 — decisions and the EHR export: who advances, the funnel, the talent pool, one export batch, staging
tables and the WeCom outbox (dry run).

* **Decisions** with the one rule of :mod:`workbench.decisions` (the fairness audit uses the same): per role the
  top ``advance_top_share`` (or everyone at or above ``cut_score``) advance; the borderline band around the cut,
  every candidate with an answer the scorer routed to a human (``answer_scores.route == "human"``) and every
  candidate who asked for a person to decide (intake column ``human_review_requested``, or a request already in
  the staging tables / the WeCom event history) go to **human review** — never a machine-only decision.
* **Funnel** per role and batch with pass-rate alerts, **talent-pool tags** and **role suggestions**.
* **One export batch** (:func:`workbench.export.build_export_batch`): JSON Lines validated against the schema,
  CSV (UTF-8 with BOM), XLSX, Parquet, held-back list and manifest; candidates in = records out + held back.
* **Staging tables** (中间表): the SQLite file ``artifacts/06_export/staging.sqlite`` by default, or the SQLAlchemy
  URL in the environment variable *named* by ``db_url_env`` (a URL may hold a password: it is never a parameter).
* **WeCom outbox** in the same database, dry run: payloads are written for review under
  ``artifacts/06_export/wecom/``; nothing is sent (``workbench notify --run RUN --send`` does that).

Pseudonym key: ``WORKBENCH_PSEUDONYM_KEY`` when set. Without it, a run on real data (intake ``data_dir``) stops
with an error naming the variable; a run on the synthetic cohort uses a random key of its own, kept outside the
run directory (see :func:`workbench.export.pseudonymizer_for_run`), and the report says so in a warning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._tabular import write_csv_safe
from ..errors import ConfigurationError, DataError
from ..i18n import label, t
from ..pipeline import StageContext
from ..reports import Report
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE", "staging_url", "review_requests", "outbox_records", "batch_summary"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMATS = ("jsonl", "csv", "xlsx", "parquet")
REQUEST_SOURCES = ("intake", "staging", "wecom")


@dataclass(frozen=True)
class Params(StageParams):
    advance_top_share: float = param(0.2, "share of each role that advances (top by machine overall score); the same rule as 05_fairness_audit")
    cut_score: float = param(0.0, "advance everyone at or above this 0–100 score instead of the top share (0: use advance_top_share)")
    borderline_points: float = param(2.5, "half-width in points of the band around the cut that goes to human review (0: off)")
    pass_mark: float = param(0.0, "score the funnel counts as passed (0: the cut score, else 60)")
    pass_rate_threshold: float = param(0.3, "alert when a role's (or batch's) pass rate falls below this share")
    min_population: int = param(10, "no alert for a role or batch with fewer assessed candidates")
    formats: list = param(list(_FORMATS), "export files: jsonl (the validated master copy, required), csv, xlsx, parquet")
    csv_encoding: str = param("utf-8", "CSV encoding: utf-8 (with BOM) | gb18030 (an unencodable character is an error)")
    include_personal: list = param([], "personal data to export, only when required: candidate_id, name, demographics, answers")
    requisitions: dict = param({}, 'requisition id per role or "batch/role", e.g. {"teller": "REQ-2026-017"} (default role@batch)')
    encrypt: bool = param(False, "encrypt the export files with AES-256-GCM (key from WORKBENCH_EXPORT_KEY or WORKBENCH_EXPORT_KEY_FILE)")
    load_staging: bool = param(True, "load the batch into the staging tables (中间表)")
    db_url_env: str = param("", "NAME of an environment variable holding the staging database URL (empty: SQLite in the run directory); never the URL")
    table_prefix: str = param("wb_", "staging table name prefix")
    wecom_outbox: bool = param(True, "fill the WeCom outbox in dry run: payloads written for review, nothing sent")
    wecom_lang: str = param("zh", "language of the WeCom messages: zh | en")
    wecom_link_template: str = param("", "link on recruiter cards, e.g. https://ehr.bank.internal/c/{candidate_ref} (empty: markdown notices)")
    run_local_key: bool = param(True, "synthetic cohort without WORKBENCH_PSEUDONYM_KEY: use a random key of this run, kept outside the run directory")
    chunk_size: int = param(5000, "records per chunk while writing the export files (memory stays flat)")


@dataclass
class Result:
    decisions: object  # workbench.decisions.Decisions
    batch: object  # workbench.export.ExportBatch
    key_source: str  # environment | run_local
    key_id: str
    key_file: str | None
    requests: dict  # source → candidates whose request for a human decision came from there
    database: str | None  # the staging URL without password
    load: object | None  # workbench.export.LoadResult
    fill: object | None  # workbench.wecom.FillResult
    wecom_dry_run: dict = field(default_factory=dict)  # counts by status after filling (all pending: nothing sent)
    recipients_rejected: int = 0
    synthetic: bool = False
    lang_messages: str = "zh"
    review_files: dict = field(default_factory=dict)  # kind → path relative to the run directory
    min_population: int = 10


# ------------------------------------------------------------------------------------------------------ helpers
def staging_url(run_dir: Path, db_url_env: str) -> tuple[str, str]:
    """(URL, source): the SQLite file of the run, or the URL in the environment variable named ``db_url_env``."""
    from ..export import default_staging_url

    if not db_url_env:
        return default_staging_url(run_dir), "run_sqlite"
    if not _ENV_NAME.match(db_url_env):
        # do not echo the value: whoever put a URL here may have put a password in it
        raise ConfigurationError("db_url_env takes the NAME of an environment variable (e.g. WORKBENCH_STAGING_URL) that holds the "
                                 "database URL, not the URL itself; a URL may contain a password and parameters are written into notebooks")
    value = os.environ.get(db_url_env, "").strip()
    if not value:
        raise ConfigurationError(f"db_url_env names {db_url_env}, which is not set in the environment; export {db_url_env}=<SQLAlchemy URL> "
                                 "(e.g. postgresql+psycopg://user@host/db) before the run")
    return value, "environment"


def _private_file(path: Path) -> None:
    """Make ``path`` (created if missing) readable by its owner only; SQLite's -wal/-shm files copy its mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if p.exists():
                os.chmod(p, 0o600)


def _database_exists(url: str) -> bool:
    """False for a SQLite file that is not there yet (reading it would create it)."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return bool(parsed.database) and Path(parsed.database).is_file()


def _wecom_review_refs(url: str) -> set[str]:
    """Candidate refs that a WeCom event (a reply or a recruiter's button, not the export itself) moved to human review."""
    import sqlalchemy as sa

    from ..wecom._store import HISTORY

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(HISTORY.name):
                return set()
            stmt = sa.select(HISTORY.c.candidate_ref).where(HISTORY.c.to_stage == "human_review", HISTORY.c.source != "export")
            return {r.candidate_ref for r in conn.execute(stmt)}
    finally:
        engine.dispose()


def review_requests(candidates: pd.DataFrame, pseudonymizer, url: str | None, *, table_prefix: str = "wb_") -> dict[str, set[str]]:
    """Who asked for a person to decide, by source (candidate ids): the intake column ``human_review_requested``,
    records in the staging tables whose review reasons hold ``candidate_requested_review``, and WeCom events that
    moved a candidate to human review. Requests that arrived after an earlier export survive a re-run this way."""
    from ..decisions import requested_reviews
    from ..export import requested_review_refs

    out = {"intake": requested_reviews(candidates), "staging": set(), "wecom": set()}
    if url is None or not _database_exists(url):
        return out
    by_ref = {pseudonymizer.candidate_ref(c): c for c in candidates["candidate_id"].astype(str)}
    out["staging"] = {by_ref[r] for r in requested_review_refs(url, table_prefix=table_prefix) if r in by_ref}
    out["wecom"] = {by_ref[r] for r in _wecom_review_refs(url) if r in by_ref}
    return out


def _suggestions(feedback) -> list[str]:
    """Improvement suggestions of stage 04's feedback: ``suggestions`` or the suggestions of each dimension."""
    if not isinstance(feedback, dict):
        return []
    items = list(feedback.get("suggestions") or [])
    for dim in feedback.get("dimensions") or []:
        items += list((dim or {}).get("suggestions") or [])
    texts = [(s.get("text") if isinstance(s, dict) else s) for s in items]
    return list(dict.fromkeys(str(x).strip() for x in texts if x and str(x).strip()))


def outbox_records(records, candidates: pd.DataFrame, pseudonymizer, role_means: dict):
    """Export records → what :func:`workbench.wecom.fill_outbox` plans from: dimension scores and the role's mean,
    the stage, stage 04's suggestions, and from intake the candidate's site (for the recruiter mapping) and WeCom
    contact — personal data the export files do not carry, joined here by pseudonym."""
    info = candidates.assign(candidate_id=candidates["candidate_id"].astype(str))
    contact = {}
    for row in info.itertuples(index=False):
        ext = getattr(row, "wecom_external_userid", None)
        site = getattr(row, "site", None)
        contact[pseudonymizer.candidate_ref(row.candidate_id)] = (None if pd.isna(site) else str(site), None if ext is None or pd.isna(ext) else str(ext))
    for r in records:
        site, external = contact.get(r["candidate_ref"], (None, None))
        dims = {s["code"]: s["score"] for s in r["sub_scores"] if s["kind"] == "dimension" and s["score"] is not None}
        yield {"candidate_ref": r["candidate_ref"], "role_id": r["role_id"], "requisition_id": r["requisition_id"], "site": site,
               "hiring_stage": r["hiring_stage"], "dimension_scores": dims, "role_mean": role_means.get(r["role_id"], {}),
               "overall_score": r["overall_score"], "feedback_suggestions": _suggestions(r["candidate_feedback"]),
               "wecom_external_userid": external}


def _name(item, lang: str) -> str:
    return item.label(lang)


def _role_name(dictionary, role_id: str, lang: str) -> str:
    return _name(dictionary.roles[role_id], lang) if role_id in dictionary.roles else str(role_id)


def batch_summary(decisions, batch_id: str, dictionary, lang: str):
    """The HR robot's batch statistics (:class:`workbench.wecom.BatchSummary`) from the decisions."""
    from ..wecom import BatchSummary, FunnelAlert, RoleFunnel

    c = decisions.candidates
    summary = decisions.summary()
    roles = tuple(RoleFunnel(_role_name(dictionary, r.role_id, lang), int(r.candidates), int(r.advance)) for r in summary.itertuples())
    alerts = decisions.alerts
    role_level = set(alerts.loc[alerts["level"] == "role", "role_id"]) if len(alerts) else set()
    items = []
    for a in alerts.to_dict("records"):
        if a["level"] == "role_batch" and a["role_id"] in role_level:
            continue  # the role as a whole is already named
        name = _role_name(dictionary, a["role_id"], lang)
        if a["level"] == "role_batch" and a["batch"] is not None:
            name = t("decisions.alert.role_batch", lang, role=name, batch=a["batch"])
        items.append(FunnelAlert(name, float(a["rate"]), float(a["threshold"]), tuple(a["review"])))
    by_stage = {str(k): int(v) for k, v in c["hiring_stage"].value_counts().sort_index().items()}
    return BatchSummary(batch_id=batch_id, candidates=len(c), advanced=int((c["decision"] == "advance").sum()), by_stage=by_stage,
                        roles=roles, alerts=tuple(items))


def _recipients(frame: pd.DataFrame | None):
    """The recruiter directory from intake's ``wecom_recipients`` (rows with an invalid WeCom userid are left out and counted)."""
    from ..wecom import RecipientDirectory
    from ..wecom._recipients import USERID_RE

    if frame is None or frame.empty:
        return None, 0
    ok = frame["wecom_userid"].astype(str).str.strip().map(lambda u: bool(USERID_RE.match(u)))
    return RecipientDirectory.from_frame(frame[ok]), int((~ok).sum())


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuple cells (reason codes, competencies) as ``;``-joined text, for CSV and Parquet."""
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, (tuple, list))).any():
            out[col] = out[col].map(lambda v: ";".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
    return out


# ---------------------------------------------------------------------------------------------------------- run
def run(ctx: StageContext, params: Params) -> Result:
    from ..decisions import DecisionRule
    from ..export import ExportConfig, ExportKey, build_export_batch, iter_records, load_batch, pseudonymizer_for_run, run_tables_from_context

    if params.wecom_lang not in ("zh", "en"):
        raise ConfigurationError(f"wecom_lang must be zh or en, got {params.wecom_lang!r}")
    tables = run_tables_from_context(ctx)
    keyed = pseudonymizer_for_run(ctx.run_dir, tables.run_id, synthetic=tables.synthetic, allow_run_local=params.run_local_key)
    needs_db = params.load_staging or params.wecom_outbox
    url, source = staging_url(ctx.run_dir, params.db_url_env) if needs_db else (None, None)
    if source == "run_sqlite":
        _private_file(ctx.path("staging.sqlite"))  # the outbox in it holds candidates' WeCom ids: owner only
    requests = review_requests(tables.candidates, keyed.pseudonymizer, url, table_prefix=params.table_prefix)
    requested = requests["staging"] | requests["wecom"]  # the intake column reaches the rule through the candidates table

    rule = DecisionRule.from_params(advance_top_share=params.advance_top_share, cut_score=params.cut_score,
                                    borderline_points=params.borderline_points, pass_mark=params.pass_mark)
    config = ExportConfig(rule=rule, pass_threshold=params.pass_rate_threshold, min_population=params.min_population,
                          formats=tuple(params.formats), csv_encoding=params.csv_encoding, encrypt=params.encrypt,
                          include_personal=tuple(params.include_personal), requisitions=dict(params.requisitions), chunk_size=params.chunk_size)
    export_key = ExportKey.from_env() if params.encrypt else None
    batch = build_export_batch(tables, ctx.path("batches"), config=config, review_requested=requested,
                               pseudonymizer=keyed.pseudonymizer, export_key=export_key)
    decisions = batch.decisions

    # what HR analysts read next to the batch: candidate-level decisions (internal ids, like the rest of the run
    # directory) and the aggregated funnel, alerts, talent pool and suggestions
    _flat(decisions.candidates).to_parquet(ctx.path("decisions.parquet"), index=False)
    write_csv_safe(decisions.summary(), ctx.path("decision_summary.csv"))
    write_csv_safe(decisions.funnel, ctx.path("funnel.csv"))
    write_csv_safe(_flat(decisions.alerts), ctx.path("funnel_alerts.csv"))
    _flat(decisions.talent_pool).to_parquet(ctx.path("talent_pool.parquet"), index=False)
    _flat(decisions.role_suggestions).to_parquet(ctx.path("role_suggestions.parquet"), index=False)

    load = load_batch(batch.path, url, table_prefix=params.table_prefix, key=export_key) if params.load_staging else None

    fill, dry_run, rejected, files = None, {}, 0, {}
    if params.wecom_outbox:
        from ..wecom import Outbox, fill_outbox

        c = decisions.candidates
        dims = [d for d in ("professional", "general", "culture") if f"machine_{d}" in c.columns]
        means = c.groupby("role_id")[[f"machine_{d}" for d in dims]].mean().round(1)
        role_means = {r: {d: float(row[f"machine_{d}"]) for d in dims if pd.notna(row[f"machine_{d}"])} for r, row in means.iterrows()}
        recipients, rejected = _recipients(tables.recipients)
        role_names = {r: _name(role, params.wecom_lang) for r, role in tables.dictionary.roles.items()}
        records = outbox_records(iter_records(batch.path, key=export_key), tables.candidates, keyed.pseudonymizer, role_means)
        fill = fill_outbox(records, url, review_dir=ctx.path("wecom"), run_id=tables.run_id, recipients=recipients,
                           batch=batch_summary(decisions, batch.batch_id, tables.dictionary, params.wecom_lang), lang=params.wecom_lang,
                           link_template=params.wecom_link_template or None, role_names=role_names)
        dry_run = Outbox(url).summary(0).counts
        for p in fill.review_files.values():
            os.chmod(p, 0o600)  # payloads name candidates' WeCom contacts
        files = {k: str(Path(p).relative_to(ctx.run_dir)) for k, p in fill.review_files.items()}

    c = batch.counts
    reasons = pd.Series([r for rs in decisions.candidates["review_reasons"] for r in rs], dtype=object).value_counts()
    metrics = {
        "batch_id": batch.batch_id, "candidates_in": c["candidates_in"], "records_out": c["records_out"], "held_back": c["held_back"],
        "reconciled": c["reconciled"], "funnel_alerts": len(decisions.alerts), "talent_pool_tags": len(decisions.talent_pool),
        "role_suggestions": len(decisions.role_suggestions), "pseudonym_key_source": keyed.source, "batch_reused": batch.reused,
        **{f"decision.{k}": int(v) for k, v in c["decisions"].items()},
        **{f"held_back.{k}": int(v) for k, v in c["held_back_by_reason"].items()},
        **{f"review_reason.{k}": int(v) for k, v in reasons.items()},
        **{f"review_requests.{k}": len(v) for k, v in requests.items()},
        "decided_by_human": int((decisions.candidates["decided_by"] == "human").sum()),
    }
    if load is not None:
        metrics.update({"staging.inserted": load.inserted, "staging.updated": load.updated, "staging.unchanged": load.unchanged,
                        "staging.already_loaded": load.already_loaded, "staging.kept_stage_moves": load.kept_stage_moves})
    if fill is not None:
        metrics.update(fill.metrics())
        metrics.update({f"wecom.outbox.{k}": int(v) for k, v in dry_run.items()})
    ctx.publish_metrics(metrics)
    if not c["reconciled"]:  # build_export_batch refuses this already; a reused batch is checked again here
        raise DataError(f"export counts do not reconcile: {c}")
    return Result(decisions=decisions, batch=batch, key_source=keyed.source, key_id=keyed.key_id,
                  key_file=None if keyed.key_file is None else _home_relative(keyed.key_file), requests={k: len(v) for k, v in requests.items()},
                  database=None if url is None else _db_display(url, ctx.run_dir), load=load, fill=fill, wecom_dry_run=dry_run, recipients_rejected=rejected,
                  synthetic=tables.synthetic, lang_messages=params.wecom_lang, review_files=files, min_population=params.min_population)


def _db_display(url: str, run_dir: Path) -> str:
    """The database as shown in the report: the run's own SQLite file relative to the run, any other URL without password."""
    from ..export import default_staging_url
    from ..export._staging import _safe_url

    if url == default_staging_url(run_dir):
        return "artifacts/06_export/staging.sqlite"
    return _safe_url(url)


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.resolve().relative_to(Path.home().resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------------------- report
_HIGH = re.compile(r"^(\w+)>=p([\d.]+)&>=([\d.]+)$")
_LOW = re.compile(r"^(\w+)<=p([\d.]+)$")


def rule_text(rule: str, lang: str) -> str:
    """A talent-pool rule (``professional>=p70&>=60;culture<=p30``) in words; an unknown form stays as written."""
    parts = []
    for cond in rule.split(";"):
        if m := _HIGH.match(cond):
            parts.append(t("s06.cond.high", lang, dimension=label("dimension", m[1], lang), pct=m[2], score=m[3]))
        elif m := _LOW.match(cond):
            parts.append(t("s06.cond.low", lang, dimension=label("dimension", m[1], lang), pct=m[2]))
        else:
            return rule
    return t("s06.cond.sep", lang).join(parts)


def _labels(columns, lang: str) -> dict:
    return {c: t(f"s06.col.{c}", lang) for c in columns}


def _pct(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"  # 29.6 % must not read "30%" beside an alert at < 30 %


def report(result: Result, lang: str = "zh") -> Report:
    from ..decisions import decision_figure, funnel_figure, talent_pool_figure

    d = result.decisions
    dictionary = d.dictionary
    rep = Report(t("stage.06_export", lang), lang)
    rep.paragraph(t("s06.intro", lang))
    if result.key_source == "run_local":
        rep.note(t("s06.key.run_local", lang, variable="WORKBENCH_PSEUDONYM_KEY", path=result.key_file, key_id=result.key_id), "warn")
    else:
        rep.note(t("s06.key.environment", lang, variable="WORKBENCH_PSEUDONYM_KEY", key_id=result.key_id), "ok")

    # -- the rule
    rule = d.rule
    rep.heading(t("s06.h.rule", lang))
    mode = (t("s06.rule.top_share", lang, share=f"{rule.top_share:.0%}") if rule.cut_score is None
            else t("s06.rule.cut_score", lang, cut=f"{rule.cut_score:g}"))
    rep.bullets([mode,
                 t("s06.rule.human", lang, points=f"{rule.borderline_points:g}"),
                 t("s06.rule.pass_mark", lang, pass_mark=f"{rule.effective_pass_mark:g}", threshold=f"{d.pass_threshold:.0%}"),
                 t("s06.rule.versions", lang, rules=d.rules_version)])

    # -- decisions per role
    rep.heading(t("s06.h.decisions", lang))
    s = d.summary().sort_values(["candidates", "role_id"], ascending=[False, True], kind="stable")  # as in the charts: biggest first
    overall = d.funnel[(d.funnel["level"] == "role") & (d.funnel["step"] == "passed")]
    total = {"role_id": t("s06.total", lang), "candidates": int(s["candidates"].sum()), "advance": int(s["advance"].sum()),
             "reject": int(s["reject"].sum()), "human_review": int(s["human_review"].sum()),
             "pass_rate": overall["count"].sum() / overall["base_count"].sum() if overall["base_count"].sum() else None, "alert": False}
    shown = s.assign(role_id=s["role_id"].map(lambda r: _role_name(dictionary, r, lang)))
    shown = pd.concat([shown, pd.DataFrame([total])], ignore_index=True)
    rep.table(shown, labels=_labels(shown.columns, lang),
              formats={"pass_rate": _pct, "alert": lambda v: t("s06.alert_yes", lang) if v else ""},
              classes={"alert": lambda v, r: "wb-bad" if v else ""})
    rep.figure(decision_figure(d, lang=lang))
    human = int((d.candidates["decided_by"] == "human").sum())
    rep.paragraph(t("s06.human_total", lang, n=human, total=len(d.candidates)))
    reasons = pd.Series([r for rs in d.candidates["review_reasons"] for r in rs], dtype=object).value_counts()
    if len(reasons):
        frame = pd.DataFrame({"reason": [label("review_reason", r, lang) for r in reasons.index], "candidates": reasons.to_numpy()})
        rep.table(frame, labels=_labels(frame.columns, lang))
        rep.note(t("s06.reasons_note", lang), "muted")
    rep.paragraph(t("s06.requests", lang, intake=result.requests.get("intake", 0), staging=result.requests.get("staging", 0),
                    wecom=result.requests.get("wecom", 0)))

    # -- funnel and alerts
    rep.heading(t("s06.h.funnel", lang))
    rep.figure(funnel_figure(d, lang=lang))
    messages = d.alert_messages(lang)
    if messages:
        rep.note(t("s06.alerts", lang, n=len(messages), threshold=f"{d.pass_threshold:.0%}"), "warn")
        rep.bullets(messages)
    else:
        rep.note(t("s06.no_alerts", lang, threshold=f"{d.pass_threshold:.0%}"), "ok")
    f = d.funnel[d.funnel["level"] == "role"]
    wide = f.pivot(index="role_id", columns="step", values="count")
    wide = wide.loc[sorted(wide.index, key=lambda r: (-wide.at[r, "assessed"], r))]
    rates = f[f["step"] == "passed"].set_index("role_id")
    funnel = pd.DataFrame({"role_id": [_role_name(dictionary, r, lang) for r in wide.index], "assessed": wide["assessed"].to_numpy(),
                           "passed": wide["passed"].to_numpy(), "pass_rate": rates["rate"].reindex(wide.index).to_numpy(),
                           "advanced": wide["advanced"].to_numpy(), "in_human_review": wide["in_human_review"].to_numpy(),
                           "small_sample": rates["small_sample"].reindex(wide.index).to_numpy()})
    rep.table(funnel, labels=_labels(funnel.columns, lang), formats={"pass_rate": _pct, "small_sample": lambda v: t("s06.small", lang) if v else ""})
    rep.note(t("s06.funnel_note", lang, min_population=result.min_population), "muted")

    # -- talent pool
    rep.heading(t("s06.h.talent", lang))
    rep.paragraph(t("s06.talent_note", lang))
    rep.figure(talent_pool_figure(d, lang=lang))
    if len(d.talent_pool):
        tags = d.talent_pool.groupby(["tag", "rule"]).size().reset_index(name="candidates")
        tags["tag"] = tags["tag"].map(lambda c: label("talent_tag", c, lang))
        tags["rule"] = tags["rule"].map(lambda r: rule_text(r, lang))
        rep.table(tags[["tag", "candidates", "rule"]], labels=_labels(["tag", "candidates", "rule"], lang))

    # -- role suggestions
    rep.heading(t("s06.h.suggestions", lang))
    rep.paragraph(t("s06.suggestions_note", lang))
    sug = d.role_suggestions
    if len(sug):
        grouped = []
        for (applied, suggested), g in sug.groupby(["role_id", "suggested_role_id"], sort=False):
            comps = pd.Series([c for cs in g["competencies"] for c in cs]).value_counts().index[:3]
            names = t("decisions.list_sep", lang).join(_name(dictionary.competencies[c], lang) if c in dictionary.competencies else c for c in comps)
            grouped.append({"applied_role_id": _role_name(dictionary, applied, lang), "suggested_role_id": _role_name(dictionary, suggested, lang),
                            "candidates": g["candidate_id"].nunique(), "strengths": names})
        frame = pd.DataFrame(grouped).sort_values(["candidates", "applied_role_id"], ascending=[False, True], kind="stable")
        rep.table(frame, labels=_labels(frame.columns, lang), max_rows=12)
        rep.note(t("s06.suggestions_total", lang, n=sug["candidate_id"].nunique(), pairs=len(grouped)), "muted")
    else:
        rep.note(t("s06.no_suggestions", lang), "muted")

    # -- the export batch
    b = result.batch
    c = b.counts
    rep.heading(t("s06.h.batch", lang))
    rep.note(t("s06.counts", lang, candidates=c["candidates_in"], records=c["records_out"], held=c["held_back"]), "ok" if c["reconciled"] else "error")
    rep.paragraph(t("s06.batch", lang, batch_id=b.batch_id, schema=b.manifest["schema_version"], model=b.manifest["source"]["model"]["sha256"][:16],
                    path=f"artifacts/06_export/batches/{b.batch_id}/"))
    if b.reused:
        rep.note(t("s06.batch_reused", lang), "muted")
    files = pd.DataFrame([{"file": e["name"], "rows": e.get("rows"), "bytes": e["bytes"], "sha256": e["sha256"][:16] + "…",
                           "encrypted": bool(e.get("encrypted"))} for e in b.manifest["files"]])
    rep.table(files, labels=_labels(files.columns, lang), formats={"bytes": "{:,}", "encrypted": lambda v: t("report.yes" if v else "report.no", lang)})
    if c["held_back"]:
        held = pd.DataFrame({"reason": [label("s06.held", k, lang) for k in c["held_back_by_reason"]], "candidates": list(c["held_back_by_reason"].values())})
        rep.table(held, labels=_labels(held.columns, lang))
    rep.note(t("s06.minimum_data", lang), "muted")

    # -- staging tables
    rep.heading(t("s06.h.staging", lang))
    if result.load is None:
        rep.note(t("s06.staging_off", lang), "muted")
    else:
        L = result.load
        key = "s06.staging_already" if L.already_loaded else "s06.staging_loaded"
        rep.note(t(key, lang, db=result.database, records=L.records, inserted=L.inserted, updated=L.updated, unchanged=L.unchanged), "ok")
        if L.kept_stage_moves:
            rep.note(t("s06.staging_kept", lang, n=L.kept_stage_moves), "note")
        rep.paragraph(t("s06.staging_cli", lang))

    # -- WeCom (dry run)
    rep.heading(t("s06.h.wecom", lang))
    if result.fill is None:
        rep.note(t("s06.wecom_off", lang), "muted")
    else:
        fill = result.fill
        sent = result.wecom_dry_run.get("sent", 0) + result.wecom_dry_run.get("sending", 0)
        robot = sum(1 for m in fill.plan.messages if m.kind == "batch_summary")
        rep.note(t("s06.wecom_dry", lang, planned=len(fill.plan.messages), robot=robot, inserted=fill.inserted, queued=fill.already_queued,
                   pending=result.wecom_dry_run.get("pending", 0), sent=sent, path=result.review_files.get("payloads", "—")), "ok" if sent == 0 else "error")
        counts = fill.plan.counts()
        kinds = counts.assign(kind=counts["kind"].map(lambda k: label("s06.kind", k, lang)))[["kind", "records_in", "planned", "not_planned", "reconciled"]]
        rep.table(kinds, labels=_labels(kinds.columns, lang))
        problems = fill.plan.problems
        if len(problems):
            grouped = problems.groupby(["kind", "reason_code"]).size().reset_index(name="candidates")
            grouped["kind"] = grouped["kind"].map(lambda k: label("s06.kind", k, lang))
            grouped["reason_code"] = grouped["reason_code"].map(lambda r: label("wecom.reason", r, lang))
            rep.table(grouped, labels=_labels(grouped.columns, lang))
        if result.recipients_rejected:
            rep.note(t("s06.recipients_rejected", lang, n=result.recipients_rejected), "warn")
        rep.paragraph(t("s06.wecom_next", lang, path=result.review_files.get("index", "—")))
    return rep


STAGE = StageDef("06_export", Params, run, report, requires=("00_intake", "01_competency_model", "02_question_bank", "03_scoring"),
                 after=("04_explanations",))
