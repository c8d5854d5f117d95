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

from ._callback import CallbackHandler, CallbackResponse, EventImport, import_events_csv, read_events_csv
from ._client import SendOutcome, WeComClient, WeComSettings
from ._clock import ManualClock, SystemClock
from ._crypto import WeComCrypto
from ._deliver import DeliveryPolicy, DeliveryReport, deliver, recover_in_doubt
from ._fill import FillResult, fill_outbox, write_review
from ._ledger import ONBOARDING_STEPS, EventResult, StageChange, StageEvent, StageLedger
from ._limits import LIMITS, check_payload
from ._outbox import Outbox, OutboxRow, OutboxSummary, PlannedMessage
from ._payloads import (
    BatchSummary,
    CandidateSummary,
    FunnelAlert,
    RoleFunnel,
    candidate_message_task,
    candidate_text,
    event_key,
    parse_event_key,
    recruiter_markdown,
    recruiter_template_card,
    recruiter_textcard,
    robot_batch_summary,
    stage_change_markdown,
)
from ._plan import MessagePlan, plan_messages
from ._recipients import RecipientDirectory, load_recipients
from ._server import CallbackServer
from ._text import truncate_chars, truncate_utf8, utf8_len

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
