"""``workbench export``: build, load, compare, roll back and decrypt export batches; print the record schema.

    workbench export --run RUN_ID_OR_DIR [--out DIR] [--encrypt] [--db URL | --no-load]
    workbench export load BATCH_DIR --db URL
    workbench export diff BATCH_A BATCH_B [--all] [--csv FILE]
    workbench export rollback BATCH_ID --db URL
    workbench export decrypt FILE --out FILE
    workbench export schema

Wired into the main parser by ``add_parsers(subparsers, h)`` (``h`` maps a message key to help text) and run by
``main(args, lang)``. Keys are read from the environment, never from the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..i18n import label, t

__all__ = ["add_parsers", "main"]


def add_parsers(subparsers, h) -> argparse.ArgumentParser:
    """Add the ``export`` command (with its actions) to ``subparsers``; ``h(key)`` gives the help text of a message key."""
    text = h

    def h(key: str) -> str:  # argparse %-formats help strings: "前 20%" must not be read as a format
        return text(key).replace("%", "%%")

    p = subparsers.add_parser("export", help=h("export.cli.help"), description=text("export.cli.description"),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", metavar="RUN_ID_OR_DIR", help=h("export.cli.run"))
    p.add_argument("--out", dest="export_out", metavar="DIR", help=h("export.cli.out"))
    p.add_argument("--encrypt", action="store_true", help=h("export.cli.encrypt"))
    p.add_argument("--db", dest="export_db", metavar="URL", help=h("export.cli.db_default"))
    p.add_argument("--no-load", action="store_true", help=h("export.cli.no_load"))
    p.add_argument("--top-share", type=float, default=0.2, metavar="SHARE", help=h("export.cli.top_share"))
    p.add_argument("--cut-score", type=float, default=None, metavar="SCORE", help=h("export.cli.cut_score"))
    p.add_argument("--borderline", type=float, default=2.5, metavar="POINTS", help=h("export.cli.borderline"))
    p.add_argument("--pass-threshold", type=float, default=0.3, metavar="RATE", help=h("export.cli.pass_threshold"))
    p.add_argument("--csv-encoding", choices=["utf-8", "gb18030"], default="utf-8", help=h("export.cli.csv_encoding"))
    p.add_argument("--include", default="", metavar="FIELDS", help=h("export.cli.include"))
    p.add_argument("--key-file", dest="export_key_file", metavar="FILE", help=h("export.cli.key_file"))
    p.add_argument("--prefix", dest="export_prefix", default="wb_", help=h("export.cli.prefix"))
    sub = p.add_subparsers(dest="export_command", metavar="ACTION")

    load = sub.add_parser("load", help=h("export.cli.load"), description=h("export.cli.load"))
    load.add_argument("batch_dir", metavar="BATCH_DIR")
    load.add_argument("--db", required=True, metavar="URL", help=h("export.cli.db"))
    load.add_argument("--prefix", default="wb_", help=h("export.cli.prefix"))
    load.add_argument("--key-file", metavar="FILE", help=h("export.cli.key_file"))

    diff = sub.add_parser("diff", help=h("export.cli.diff"), description=h("export.cli.diff"))
    diff.add_argument("batch_a", metavar="BATCH_A")
    diff.add_argument("batch_b", metavar="BATCH_B")
    diff.add_argument("--all", action="store_true", help=h("export.cli.diff_all"))
    diff.add_argument("--csv", metavar="FILE", help=h("export.cli.diff_csv"))
    diff.add_argument("--key-file", metavar="FILE", help=h("export.cli.key_file"))

    rollback = sub.add_parser("rollback", help=h("export.cli.rollback"), description=h("export.cli.rollback"))
    rollback.add_argument("batch_id", metavar="BATCH_ID")
    rollback.add_argument("--db", required=True, metavar="URL", help=h("export.cli.db"))
    rollback.add_argument("--prefix", default="wb_", help=h("export.cli.prefix"))

    decrypt = sub.add_parser("decrypt", help=h("export.cli.decrypt"), description=h("export.cli.decrypt"))
    decrypt.add_argument("file", metavar="FILE")
    decrypt.add_argument("--out", dest="decrypt_out", required=True, metavar="FILE", help=h("export.cli.decrypt_out"))
    decrypt.add_argument("--key-file", metavar="FILE", help=h("export.cli.key_file"))

    sub.add_parser("schema", help=h("export.cli.schema"), description=h("export.cli.schema"))
    return p


def _key(path):
    from ._crypto import ExportKey

    return ExportKey.from_env(path) if path else None


def _cmd_run(args, lang: str) -> int:
    from ..decisions import DecisionRule
    from ..pipeline import find_run
    from ._batch import ExportConfig, build_export_batch
    from ._pseudonym import PSEUDONYM_KEY_ENV, pseudonymizer_for_run
    from ._records import load_run_tables
    from ._staging import default_staging_url, load_batch

    if not args.run:
        print(t("export.cli.need_run", lang), file=sys.stderr)
        return 2
    run_dir, _ = find_run(args.run)
    include = tuple(x.strip() for x in args.include.split(",") if x.strip())
    config = ExportConfig(
        rule=DecisionRule(top_share=args.top_share, cut_score=args.cut_score, borderline_points=args.borderline),
        pass_threshold=args.pass_threshold, csv_encoding=args.csv_encoding, encrypt=args.encrypt, include_personal=include,
    )
    tables = load_run_tables(run_dir)
    keyed = pseudonymizer_for_run(run_dir, tables.run_id, synthetic=tables.synthetic)
    if keyed.source == "run_local":
        print("⚠ " + t("export.cli.run_local_key", lang, variable=PSEUDONYM_KEY_ENV), file=sys.stderr)
    batch = build_export_batch(tables, args.export_out, config=config, pseudonymizer=keyed.pseudonymizer,
                               export_key=_key(args.export_key_file) if args.encrypt else None)
    c = batch.counts
    print(t("export.cli.built" if not batch.reused else "export.cli.reused", lang, batch_id=batch.batch_id, path=batch.path))
    print(t("export.cli.counts", lang, candidates=c["candidates_in"], records=c["records_out"], held=c["held_back"],
            reasons=", ".join(f"{k} {v}" for k, v in c["held_back_by_reason"].items()) or "—"))
    print(t("export.cli.decisions", lang, **{k: c["decisions"].get(k, 0) for k in ("advance", "reject", "human_review")}))
    for message in batch.decisions.alert_messages(lang):
        print("⚠ " + message)
    if not args.no_load:
        url = args.export_db or default_staging_url(run_dir)
        result = load_batch(batch.path, url, table_prefix=args.export_prefix, key=_key(args.export_key_file) if args.encrypt else None)
        key = "export.cli.already_loaded" if result.already_loaded else "export.cli.loaded"
        print(t(key, lang, db=result.database, inserted=result.inserted, updated=result.updated, unchanged=result.unchanged))
    return 0


def main(args, lang: str) -> int:
    """Run the ``export`` command parsed by :func:`add_parsers`."""
    command = getattr(args, "export_command", None)
    if command is None:
        return _cmd_run(args, lang)
    if command == "schema":
        from ._schema import schema_text

        sys.stdout.write(schema_text())
        return 0
    if command == "load":
        from ._staging import load_batch

        r = load_batch(args.batch_dir, args.db, table_prefix=args.prefix, key=_key(args.key_file))
        key = "export.cli.already_loaded" if r.already_loaded else "export.cli.loaded"
        print(t(key, lang, db=r.database, inserted=r.inserted, updated=r.updated, unchanged=r.unchanged))
        return 0
    if command == "rollback":
        from ._staging import rollback_batch

        r = rollback_batch(args.batch_id, args.db, table_prefix=args.prefix)
        print(t("export.cli.rolled_back", lang, batch_id=r["batch_id"], removed=r["removed"], restored=r["restored"]))
        return 0
    if command == "diff":
        from .._tabular import write_csv_safe
        from ..cli import _print_frame
        from ._diff import diff_batches

        d = diff_batches(args.batch_a, args.batch_b, include_provenance=args.all, key=_key(args.key_file))
        print(t("export.diff.summary", lang, a=d.batch_a, b=d.batch_b, **d.summary))
        for r in d.batch_changes.itertuples():
            print(t("export.diff.batch_change", lang, field=r.field, old=r.old, new=r.new))
        table = d.table.assign(change=d.table["change"].map(lambda c: label("export.change", c, lang)))
        if args.csv:
            write_csv_safe(table, Path(args.csv))
            print(t("export.cli.diff_written", lang, path=args.csv))
        elif len(table):  # on screen: short references; the CSV has them in full
            _print_frame(table.drop(columns=["assessment_id"]).assign(candidate_ref=table["candidate_ref"].str[:15] + "…"))
        return 0
    if command == "decrypt":
        from ._batch import MANIFEST
        from ._crypto import ExportKey, decrypt_file

        src = Path(args.file)
        expected = None
        manifest = src.parent / MANIFEST
        if manifest.is_file():  # inside a batch directory: the file must belong to that batch
            import json

            expected = {"batch_id": json.loads(manifest.read_text(encoding="utf-8"))["batch_id"]}
        decrypt_file(src, args.decrypt_out, _key(args.key_file) or ExportKey.from_env(), expected=expected)
        print(t("export.cli.decrypted", lang, src=src, dst=args.decrypt_out))
        return 0
    raise AssertionError(command)
