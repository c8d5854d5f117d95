"""``workbench notify`` and ``workbench callback``: parsers and command functions (wired into ``cli.py``).

Help and output come from the message catalog (``wecom.cli.*``, ``wecom.out.*``); exit codes: 0 done,
1 stopped by a configuration error, 2 bad usage (raised as ``WorkbenchError`` and printed by ``cli.main``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
from pathlib import Path

from ..errors import ConfigurationError
from ..i18n import label, resolve_lang, t

__all__ = ["add_parsers", "run_command", "cmd_notify", "cmd_callback", "resolve_db", "STAGING_DB", "format_report"]

# Where the export stage keeps its SQLite staging database inside a run (the outbox shares it).
STAGING_DB = Path("artifacts") / "06_export" / "staging.sqlite"
log = logging.getLogger("workbench.wecom")


def add_parsers(subparsers, h=None, *, lang: str | None = None) -> None:
    """Add ``notify`` and ``callback`` to ``subparsers``. ``h`` (cli.py's help lookup) is accepted for symmetry;
    these commands take their help from the message catalog in ``lang``."""
    lang = resolve_lang(lang)
    n = subparsers.add_parser("notify", help=t("wecom.cli.notify", lang), description=t("wecom.cli.notify", lang))
    n.add_argument("--run", default=None, metavar="RUN_ID_OR_DIR", help=t("wecom.cli.run", lang))
    n.add_argument("--db", default=None, metavar="URL", help=t("wecom.cli.db", lang))
    n.add_argument("--send", action="store_true", help=t("wecom.cli.send", lang))
    n.add_argument("--limit", type=int, default=None, metavar="N", help=t("wecom.cli.limit", lang))
    n.add_argument("--max-wait", type=float, default=120.0, metavar="SECONDS", help=t("wecom.cli.max_wait", lang))
    n.add_argument("--review-dir", default=None, metavar="DIR", help=t("wecom.cli.review_dir", lang))
    n.add_argument("--requeue", type=int, action="append", default=[], metavar="ID", help=t("wecom.cli.requeue", lang))
    n.add_argument("--no-progress", action="store_true", help=t("wecom.cli.no_progress", lang))
    n.set_defaults(_wecom=cmd_notify)

    cb = subparsers.add_parser("callback", help=t("wecom.cli.callback", lang), description=t("wecom.cli.callback", lang))
    csub = cb.add_subparsers(dest="callback_command", metavar="ACTION")
    serve = csub.add_parser("serve", help=t("wecom.cli.serve", lang), description=t("wecom.cli.serve", lang))
    serve.add_argument("--port", type=int, required=True, help=t("wecom.cli.port", lang))
    imp = csub.add_parser("csv", help=t("wecom.cli.csv", lang), description=t("wecom.cli.csv", lang))
    imp.add_argument("file", help=t("wecom.cli.csv_file", lang))
    for p in (serve, imp):
        p.add_argument("--run", default=None, metavar="RUN_ID_OR_DIR", help=t("wecom.cli.run", lang))
        p.add_argument("--db", default=None, metavar="URL", help=t("wecom.cli.db", lang))
    cb.set_defaults(_wecom=cmd_callback)


def run_command(args: argparse.Namespace, lang: str) -> int | None:
    """Dispatch a parsed ``notify``/``callback`` command; None if ``args`` is not one of ours."""
    fn = getattr(args, "_wecom", None)
    return None if fn is None else fn(args, lang)


def resolve_db(run: str | None, db: str | None) -> tuple[str, Path | None]:
    """The outbox database URL (``--db`` wins) and the run directory, if any."""
    run_dir = None
    if run:
        from ..pipeline import find_run

        candidate = Path(run)
        run_dir = candidate if candidate.is_dir() else find_run(run)[0]
    if db:
        return db, run_dir
    if run_dir is None:
        raise ConfigurationError("give --run RUN_ID_OR_DIR or --db URL (the outbox database)")
    path = run_dir / STAGING_DB
    if not path.is_file():
        raise ConfigurationError(f"no outbox database at {path}; run the export stage first, or pass --db URL")
    return f"sqlite:///{path.resolve()}", run_dir


def _reexport_hook(db: str):
    """The export's re-export of applied stage changes into the staging tables of ``db`` (the outbox's database)."""
    try:
        module = importlib.import_module("workbench.export")
    except ImportError:
        return None
    hook = getattr(module, "reexport_stage_changes", None)
    return None if hook is None else functools.partial(hook, db=db)


def format_report(report, lang: str) -> str:
    s = report.summary
    lines = [t("wecom.out.summary_title", lang), t("wecom.out.sent_now", lang, n=report.sent),
             t("wecom.out.totals", lang, sent=s.counts["sent"], failed=s.counts["failed"], waiting=s.waiting,
               pending=s.counts["pending"] - s.waiting, sending=s.counts["sending"])]
    lines += [t("wecom.out.failed_reason", lang, reason=label("wecom.reason", r, lang), n=n) for r, n in sorted(s.failed_by_reason.items())]
    lines += [t("wecom.out.recipient_failures", lang, reason=label("wecom.reason", r, lang), n=n) for r, n in sorted(s.recipient_failures.items())]
    if report.stopped:
        lines.append(t("wecom.out.stopped", lang))
    if report.config_error:
        lines.append(t("wecom.out.config_error", lang, detail=report.config_error))
    return "\n".join(lines)


def cmd_notify(args: argparse.Namespace, lang: str) -> int:
    from ._clock import SystemClock
    from ._deliver import DeliveryReport, deliver
    from ._outbox import Outbox

    db, run_dir = resolve_db(args.run, args.db)
    clock = SystemClock()
    outbox = Outbox(db)
    if args.requeue:
        print(t("wecom.out.requeued", lang, n=outbox.requeue(args.requeue, now=clock.time())))
    if not args.send:
        from ._fill import write_review

        due = outbox.due(clock.time(), limit=args.limit or 1_000_000)
        review = Path(args.review_dir) if args.review_dir else (run_dir / "wecom" / "review" if run_dir else Path("wecom_review"))
        paths = write_review(due, review)
        print(t("wecom.out.dry_run", lang, n=len(due), path=paths["payloads"]))
        print(format_report(DeliveryReport(summary=outbox.summary(clock.time())), lang))
        return 0
    from ._client import WeComClient, WeComSettings

    with WeComClient(WeComSettings.from_env(), clock=clock) as client:
        report = deliver(outbox, client, limit=args.limit, max_wait_s=args.max_wait, clock=clock, progress=not args.no_progress)
    print(format_report(report, lang))
    return 1 if report.config_error else 0


def cmd_callback(args: argparse.Namespace, lang: str) -> int:
    from ._callback import CallbackHandler, import_events_csv
    from ._crypto import WeComCrypto
    from ._ledger import StageLedger
    from ._server import CallbackServer

    if args.callback_command not in ("serve", "csv"):
        raise ConfigurationError("workbench callback needs an action: serve or csv")
    db, _ = resolve_db(args.run, args.db)
    ledger = StageLedger(db, reexport=_reexport_hook(db), lang=lang)
    ledger.retry_reexports()
    if args.callback_command == "csv":
        result = import_events_csv(args.file, ledger)
        c = result.counts()
        print(t("wecom.out.events", lang, n=c["rows_in"], applied=c["applied"], duplicate=c["duplicate"], rejected=c["rejected"]))
        for reason, n in result.results[result.results["outcome"] == "rejected"]["reason"].value_counts().items():
            print(f"  {label('wecom.reason', reason, lang)}: {n}")
        print(t("wecom.out.reexport_pending", lang, n=len(ledger.pending_reexports())))
        return 0
    crypto = WeComCrypto.from_env()
    server = CallbackServer(CallbackHandler(crypto, ledger), port=args.port)
    print(t("wecom.out.serving", lang, port=server.port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print(t("wecom.out.reexport_pending", lang, n=len(ledger.pending_reexports())), file=sys.stderr)
    return 0
