"""WeCom (企业微信) delivery: recruiter and candidate messages, a reliable outbox, callbacks back into the records.

For the export stage::

    from workbench.wecom import fill_outbox, load_recipients, BatchSummary

    result = fill_outbox(records, "sqlite:////run/artifacts/06_export/staging.sqlite",
                         review_dir=run_dir / "wecom" / "review", run_id=run_id,
                         recipients=load_recipients(data_dir), batch=batch_summary)
    result.plan.problems        # who cannot be reached, and why (no guessing)

then ``workbench notify --run RUN --send`` delivers (dry run without ``--send``), and inbound events
(``workbench callback serve`` / ``workbench callback csv``) move hiring stages through :class:`StageLedger`,
which calls the export's re-export hook with each :class:`StageChange`.

WeCom's rules shape the design: app messages reach only members of the bank's organisation (recruiters, HR);
candidates are reached through customer-contact tasks a recruiter confirms; messages over 30/min or
1000/hour per member are dropped silently (so the client limits itself); a success can still list failed
recipients (recorded per recipient). See ``_deliver.py`` for how a crash between WeCom's answer and the
database update is resolved without sending anything twice.
"""

from .._lazy import lazy_exports

# Names are loaded on first use (PEP 562): `workbench notify` should not pay for pandas and the intake
# contracts, nor `workbench --help` for SQLAlchemy and httpx.
_EXPORTS = {
    "CallbackHandler": "_callback",
    "CallbackResponse": "_callback",
    "EventImport": "_callback",
    "import_events_csv": "_callback",
    "read_events_csv": "_callback",
    "SendOutcome": "_client",
    "WeComClient": "_client",
    "WeComSettings": "_client",
    "ManualClock": "_clock",
    "SystemClock": "_clock",
    "WeComCrypto": "_crypto",
    "DeliveryPolicy": "_deliver",
    "DeliveryReport": "_deliver",
    "deliver": "_deliver",
    "recover_in_doubt": "_deliver",
    "FillResult": "_fill",
    "fill_outbox": "_fill",
    "write_review": "_fill",
    "ONBOARDING_STEPS": "_ledger",
    "EventResult": "_ledger",
    "StageChange": "_ledger",
    "StageEvent": "_ledger",
    "StageLedger": "_ledger",
    "LIMITS": "_limits",
    "check_payload": "_limits",
    "Outbox": "_outbox",
    "OutboxRow": "_outbox",
    "OutboxSummary": "_outbox",
    "PlannedMessage": "_outbox",
    "BatchSummary": "_payloads",
    "CandidateSummary": "_payloads",
    "FunnelAlert": "_payloads",
    "RoleFunnel": "_payloads",
    "candidate_message_task": "_payloads",
    "candidate_text": "_payloads",
    "event_key": "_payloads",
    "parse_event_key": "_payloads",
    "recruiter_markdown": "_payloads",
    "recruiter_template_card": "_payloads",
    "recruiter_textcard": "_payloads",
    "robot_batch_summary": "_payloads",
    "stage_change_markdown": "_payloads",
    "MessagePlan": "_plan",
    "plan_messages": "_plan",
    "RecipientDirectory": "_recipients",
    "load_recipients": "_recipients",
    "CallbackServer": "_server",
    "truncate_chars": "_text",
    "truncate_utf8": "_text",
    "utf8_len": "_text",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = [
    # planning and filling (the export stage)
    "fill_outbox", "FillResult", "plan_messages", "MessagePlan", "write_review", "load_recipients", "RecipientDirectory",
    "BatchSummary", "RoleFunnel", "FunnelAlert",
    # payload builders (pure)
    "CandidateSummary", "recruiter_textcard", "recruiter_markdown", "recruiter_template_card", "stage_change_markdown",
    "robot_batch_summary", "candidate_text", "candidate_message_task", "event_key", "parse_event_key", "check_payload", "LIMITS",
    "truncate_utf8", "truncate_chars", "utf8_len",
    # outbox and delivery
    "Outbox", "OutboxRow", "OutboxSummary", "PlannedMessage", "WeComClient", "WeComSettings", "SendOutcome",
    "deliver", "DeliveryPolicy", "DeliveryReport", "recover_in_doubt", "SystemClock", "ManualClock",
    # inbound events
    "WeComCrypto", "CallbackHandler", "CallbackResponse", "CallbackServer", "StageLedger", "StageEvent", "StageChange",
    "EventResult", "ONBOARDING_STEPS", "import_events_csv", "read_events_csv", "EventImport",
]
