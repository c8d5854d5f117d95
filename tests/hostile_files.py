"""Hostile input files for the intake regression tests (issue 17), built from a real synthetic cohort.

Each builder takes the folder of a clean cohort (the six CSV tables ``workbench synth`` writes) and writes one damaged
file into ``out``, byte for byte as a bank's export would arrive (mis-quoted, mixed encodings, control characters,
binary Parquet columns, Excel number formats …). Builders return the path they wrote and what the test needs to know
(which rows were damaged).

Write them all into a folder to look at or to feed to the CLI::

    .venv/bin/python tests/hostile_files.py /tmp/hostile      # one sub-folder per file: a full cohort with it

Nothing here is random: the same cohort gives the same files.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

TABLES = ("employees", "employee_competencies", "candidates", "questions", "answers", "ratings")


@dataclass
class Hostile:
    table: str  # the table the file replaces
    path: Path
    damaged_rows: list[int] = field(default_factory=list)  # spreadsheet row numbers (header = 1) the file damages
    note: str = ""


def _lines(base: Path, table: str) -> list[str]:
    """The clean table's physical lines (without line ends); the synthetic writer puts one record on each line."""
    text = (base / f"{table}.csv").read_text(encoding="utf-8")
    return text.splitlines()


def _records(base: Path, table: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((base / f"{table}.csv").read_text(encoding="utf-8"), newline="")))


def _write_records(path: Path, records: list[list[str]], *, encoding: str = "utf-8", terminator: str = "\r\n") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=terminator).writerows(records)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# ----------------------------------------------------------------------------------------------------------------------
# 1. an unclosed quote swallows later records
# ----------------------------------------------------------------------------------------------------------------------
def ratings_unclosed_quote(base: Path, out: Path, *, at: int = 5, swallowed: int = 19) -> Hostile:
    """A rating field opens a quote that is never closed: it swallows the next ``swallowed`` records and the record
    whose quoted rating (``"4"``) the reader mistakes for the closing quote (the issue's exact case)."""
    lines = _lines(base, "ratings")
    damaged = at  # index into lines (0 = header)
    head, _, rating = lines[damaged].rpartition(",")
    lines[damaged] = f'{head},"{rating}'
    closer = damaged + swallowed + 1
    head, _, rating = lines[closer].rpartition(",")
    lines[closer] = f'{head},"{rating}"'  # a properly quoted field later on
    path = out / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("ratings", path, list(range(damaged + 1, closer + 2)), "quote opened in row 6, swallowed through row 26")


def ratings_unclosed_quote_to_eof(base: Path, out: Path, *, from_end: int = 12) -> Hostile:
    lines = _lines(base, "ratings")
    damaged = len(lines) - from_end
    head, _, rating = lines[damaged].rpartition(",")
    lines[damaged] = f'{head},"{rating}'
    path = out / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("ratings", path, list(range(damaged + 1, len(lines) + 1)), "quote never closed: swallows to the end of the file")


def ratings_unclosed_quote_closed_silently(base: Path, out: Path, *, at: int = 8, swallowed: int = 6) -> Hostile:
    """The swallowing field ends at a stray quote right before a line end (``5"``): no quoting error at all, only the
    line breaks inside a numeric column give it away."""
    lines = _lines(base, "ratings")
    head, _, rating = lines[at].rpartition(",")
    lines[at] = f'{head},"{rating}'
    closer = at + swallowed + 1
    lines[closer] = lines[closer] + '"'
    path = out / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("ratings", path, list(range(at + 1, closer + 2)))


def answers_unclosed_quote_in_text(base: Path, out: Path, *, at: int = 3, swallowed: int = 4) -> Hostile:
    """An answer text opens a quote that a later answer's trailing quote closes: the swallowed lines are whole answer
    records (same id format, all fields) inside a free-text field."""
    records = _records(base, "answers")
    header, body = records[0], records[1:]
    lines = [",".join(header)]
    for rec in body:
        rec = [v.replace('"', "”").replace(",", "，").replace("\n", " ") for v in rec]  # keep each record on one plain line
        lines.append(",".join(rec))
    lines[at] = lines[at].replace(",answered,", ',answered,"', 1)
    closer = at + swallowed + 1
    lines[closer] = lines[closer] + '"'
    path = out / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("answers", path, list(range(at + 1, closer + 2)))


# ----------------------------------------------------------------------------------------------------------------------
# 2. degenerate tables
# ----------------------------------------------------------------------------------------------------------------------
def candidates_header_only(base: Path, out: Path) -> Hostile:
    path = out / "candidates.csv"
    path.write_text(_lines(base, "candidates")[0] + "\n", encoding="utf-8")
    return Hostile("candidates", path)


# ----------------------------------------------------------------------------------------------------------------------
# 3. carriage returns in values, old-Mac files
# ----------------------------------------------------------------------------------------------------------------------
def candidates_bare_cr(base: Path, out: Path) -> Hostile:
    """Bare carriage returns inside quoted values: a planted ``\\r=1+1`` and an old-Mac line break in a name."""
    records = _records(base, "candidates")
    header = records[0]
    g, n = header.index("gender"), header.index("name")
    records[2][g] = "\r=1+1"  # quarantined (not an allowed gender): must reach quarantine.csv as one safe cell
    records[3][g] = "男\r=HYPERLINK(\"http://evil.example\",\"x\")"
    records[4][n] = records[4][n][:1] + "\r" + records[4][n][1:]  # accepted: a name with an old-Mac line break
    path = _write_records(out / "candidates.csv", records)
    return Hostile("candidates", path, [3, 4])


def ratings_old_mac(base: Path, out: Path) -> Hostile:
    """A whole file with classic-Mac line ends (CR only)."""
    lines = _lines(base, "ratings")
    path = out / "ratings.csv"
    path.write_bytes(("\r".join(lines) + "\r").encode("utf-8"))
    return Hostile("ratings", path)


# ----------------------------------------------------------------------------------------------------------------------
# 4. binary Parquet text column
# ----------------------------------------------------------------------------------------------------------------------
def answers_binary_parquet(base: Path, out: Path, *, bad_at: int = 7) -> Hostile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = _records(base, "answers")
    header, body = records[0], records[1:]
    columns = {name: [rec[i] for rec in body] for i, name in enumerate(header)}
    texts = [t.encode("utf-8") for t in columns["answer_text"]]
    texts[bad_at] = "我先核实了客户身份".encode("gbk")  # bytes, but not UTF-8
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items() if name != "answer_text"}
    arrays["answer_text"] = pa.array(texts, pa.binary())
    (out / "answers.csv").unlink(missing_ok=True)
    path = out / "answers.parquet"
    pq.write_table(pa.table({name: arrays[name] for name in header}), path)
    return Hostile("answers", path, [bad_at + 2])


# ----------------------------------------------------------------------------------------------------------------------
# 5. answers made only of invisible characters
# ----------------------------------------------------------------------------------------------------------------------
INVISIBLE_ANSWERS = ("\u200b", "\ufeff", "\u2060\u2060", "\u200c\u200d", "\u00ad", "\u3164", " \u200b\u3000\t\u180e ", "\u2028")


def answers_invisible(base: Path, out: Path) -> Hostile:
    records = _records(base, "answers")
    header = records[0]
    s, t = header.index("status"), header.index("answer_text")
    answered = [i for i, rec in enumerate(records[1:], start=1) if rec[s] == "answered"]
    chosen = answered[2: 2 + 3 * len(INVISIBLE_ANSWERS): 3]
    for i, text in zip(chosen, INVISIBLE_ANSWERS):
        records[i][t] = text
    path = _write_records(out / "answers.csv", records)
    return Hostile("answers", path, [i + 1 for i in chosen])


# ----------------------------------------------------------------------------------------------------------------------
# 6. row-level failures that used to reject the whole file
# ----------------------------------------------------------------------------------------------------------------------
def answers_oversized_fields(base: Path, out: Path) -> Hostile:
    """One answer of 200,000 characters (over the csv module's default 131,072-character field limit) and one of
    1,200,000 (over the reader's own limit)."""
    records = _records(base, "answers")
    t = records[0].index("answer_text")
    records[4][t] = "我" * 200_000
    records[9][t] = "长" * 1_200_000
    path = _write_records(out / "answers.csv", records)
    return Hostile("answers", path, [5, 10])


def candidates_nul(base: Path, out: Path, *, at: int = 6) -> Hostile:
    lines = _lines(base, "candidates")
    head, sep, tail = lines[at].partition(",")
    lines[at] = head + sep + tail.replace(",", ",\x00", 1)
    path = out / "candidates.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return Hostile("candidates", path, [at + 1])


def _gbk_safe_candidates(base: Path) -> list[list[str]]:
    records = _records(base, "candidates")
    n = records[0].index("name")
    for rec in records[1:]:
        try:
            rec[n].encode("gbk")
        except UnicodeEncodeError:
            rec[n] = "王小明"  # a few generated names use characters outside GBK (𠀀, 䶮)
    return records


def candidates_cp936_euro(base: Path, out: Path, *, at: int = 4) -> Hostile:
    """Windows code page 936 (GBK as Excel on Chinese Windows saves it) with a euro sign, which is the single byte 0x80
    there and undefined in GBK/GB18030 — a value, not damage."""
    records = _gbk_safe_candidates(base)
    site = records[0].index("site")
    records[at][site] = records[at][site] + "€"
    text = _serialise(records)
    data = text.replace("€", "\x00EURO\x00").encode("gbk").replace(b"\x00EURO\x00", b"\x80")
    path = out / "candidates.csv"
    path.write_bytes(data)
    return Hostile("candidates", path, [])


def candidates_gbk_bad_byte(base: Path, out: Path, *, at: int = 9) -> Hostile:
    """A GBK file in which one record holds a byte that is no GBK/GB18030 character (0xFF)."""
    records = _gbk_safe_candidates(base)
    site = records[0].index("site")
    records[at][site] = records[at][site] + "\x00BAD\x00"
    data = _serialise(records).encode("gbk").replace(b"\x00BAD\x00", b"\xff")
    path = out / "candidates.csv"
    path.write_bytes(data)
    return Hostile("candidates", path, [at + 1])


def _serialise(records: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------------------------
# 7. headers
# ----------------------------------------------------------------------------------------------------------------------
def ratings_duplicate_header(base: Path, out: Path) -> Hostile:
    lines = _lines(base, "ratings")
    lines[0] = lines[0] + ",ｒａｔｉｎｇ"
    lines[1:] = [line + ",3" for line in lines[1:]]
    path = out / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("ratings", path)


def ratings_fullwidth_header(base: Path, out: Path) -> Hostile:
    lines = _lines(base, "ratings")
    lines[0] = "ａｎｓｗｅｒ＿ｉｄ, ｒａｔｅｒ＿ｉｄ ,\u200bｒａｔｉｎｇ"  # full-width, padded, a zero-width space
    path = out / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile("ratings", path)


# ----------------------------------------------------------------------------------------------------------------------
# 8. numeric ids in Excel shown with leading zeros
# ----------------------------------------------------------------------------------------------------------------------
def numeric_ids_xlsx(base: Path, out: Path) -> list[Hostile]:
    """The bank's candidate ids are six-digit numbers with leading zeros (``000017``). candidates.csv holds them as text;
    answers.xlsx stores them as numbers with the number format ``000000`` (how Excel keeps such a column)."""
    import openpyxl

    cand = _records(base, "candidates")
    mapping = {rec[0]: f"{i:06d}" for i, rec in enumerate(cand[1:], start=1)}
    for rec in cand[1:]:
        rec[0] = mapping[rec[0]]
    cand_path = _write_records(out / "candidates.csv", cand)
    answers = _records(base, "answers")
    header = answers[0]
    c = header.index("candidate_id")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for rec in answers[1:]:
        row = list(rec)
        row[c] = int(mapping[rec[c]])
        sheet.append(row)
        sheet.cell(row=sheet.max_row, column=c + 1).number_format = "000000"
    (out / "answers.csv").unlink(missing_ok=True)
    path = out / "answers.xlsx"
    book.save(path)
    return [Hostile("candidates", cand_path), Hostile("answers", path)]


BUILDERS = {
    "ratings_unclosed_quote": ratings_unclosed_quote,
    "ratings_unclosed_quote_to_eof": ratings_unclosed_quote_to_eof,
    "ratings_unclosed_quote_closed_silently": ratings_unclosed_quote_closed_silently,
    "answers_unclosed_quote_in_text": answers_unclosed_quote_in_text,
    "candidates_header_only": candidates_header_only,
    "candidates_bare_cr": candidates_bare_cr,
    "ratings_old_mac": ratings_old_mac,
    "answers_binary_parquet": answers_binary_parquet,
    "answers_invisible": answers_invisible,
    "answers_oversized_fields": answers_oversized_fields,
    "candidates_nul": candidates_nul,
    "candidates_cp936_euro": candidates_cp936_euro,
    "candidates_gbk_bad_byte": candidates_gbk_bad_byte,
    "ratings_duplicate_header": ratings_duplicate_header,
    "ratings_fullwidth_header": ratings_fullwidth_header,
    "numeric_ids_xlsx": numeric_ids_xlsx,
}


def cohort_with(base: Path, out: Path, name: str) -> tuple[Path, list[Hostile]]:
    """A copy of the clean cohort in ``out`` with the hostile file ``name`` in place of its table."""
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        shutil.copy2(base / f"{table}.csv", out / f"{table}.csv")
    made = BUILDERS[name](base, out)
    return out, made if isinstance(made, list) else [made]


def main(argv: list[str]) -> int:
    from workbench.synth import generate_cohort, scenario_config

    target = Path(argv[0] if argv else "hostile")
    base = target / "_clean"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=60, employees_per_role=2), base, fmt="csv", progress=False)
    for name in BUILDERS:
        _, made = cohort_with(base, target / name, name)
        print(f"{name:42s} {', '.join(str(h.path) for h in made)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
