"""Batch scoring of answer files with a saved ``AnswerScorer``: streamed, bounded in memory, optionally parallel.

    from workbench.scoring._batch import score_file
    summary = score_file("models/scorer.skops", "answers.parquet", "scores.parquet",
                         questions_path="questions.parquet", jobs=2)

* **Input** CSV (``.csv``/``.csv.gz``) or Parquet, read in chunks of ``chunk_size`` rows by the intake reader
  (:func:`workbench.intake.readers.open_table`: the same encoding detection, record accounting and row-level damage
  handling as intake), so memory does not grow with the file. The competency of each answer comes
  from ``competency_column``; if the answers lack it, ``questions_path`` maps ``question_id`` → ``competency_id``.
* **Output** CSV or Parquet (by suffix), written chunk by chunk in input order with ``<id_column>, row, score,
  rating, advisories, route, model_sha256, model_version`` (``route`` = ``human`` when an advisory fired: that answer
  must not be decided by its machine score alone) (``row``: the row number a spreadsheet shows, header = 1, as in intake).
  Rows that cannot be scored go to ``<out>.quarantine.csv`` in intake's quarantine format (one line per problem,
  plus the answer id) — including records the reader could not take (broken quoting, NUL or undecodable bytes);
  nothing is dropped silently: ``rows_in = scored + quarantined``. Both files are written
  under temporary names and only renamed into place when the whole input has been scored, so a failed run leaves
  no partial output behind. In CSV output, ids that a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``)
  get a leading quote, as in every CSV the workbench writes; Parquet keeps them verbatim (join back on ``row``).
* **Model** loaded with :func:`workbench.scoring._persist.load_scorer` (hash-verified against its card, library
  versions checked, type allow-list); a tampered or card-less model raises ``IntegrityError`` before any output
  exists. Every process that scores (the caller, each pool worker, each dask worker) loads and verifies it itself.
* **Engines.** ``engine="local", jobs=1`` scores in this process. ``jobs>1`` uses a spawn-context process pool
  whose workers load the model once in their initializer. ``engine="dask"`` uses ``dask.distributed``: a
  temporary ``LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True)`` when ``scheduler`` is None
  (workers load the model from its path), or an existing cluster via ``Client(scheduler)``. On an existing
  cluster the model bytes and card are broadcast to the workers once (``scatter(broadcast=True)``) and each worker
  verifies the sha256 before loading, so the model path need not be reachable from the workers; the workers must
  run the same library versions (the card check refuses others). Input and output files are only read and
  written by the calling process. Each chunk is scored in pieces of at most 2,000 answers (at least one per
  worker); at most two chunks are in flight (one being scored, the next read and queued), results are written in
  input order, and the scores are identical in every engine (same code, same model, row-wise features).

Speed: the per-answer cost is the scorer's own ``predict`` (``AnswerFeaturizer`` does the relevance filter, the
hand-built features and the hashed n-grams for a whole piece of answers in a few vectorised passes, with one rjieba
tokenisation per answer); ``benchmark/scoring_benchmark.py`` measures it against raw tokenisation.

Parallel start-up: every worker imports scikit-learn and the scorer, loads the model and the tokenizer
dictionaries (several seconds per process); ``jobs>1`` pays off for inputs of tens of thousands of answers.
``jobs>1`` on the local engine uses ``spawn``: call ``score_file`` under ``if __name__ == "__main__":`` in scripts.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

from .._hashing import sha256_bytes, sha256_file
from .._text import is_blank as _missing  # the contracts' blank: whitespace, zero-width and other invisible characters
from .._tabular import SafeCsvWriter
from ..errors import ConfigurationError, DataError, IntakeError, IntegrityError
from ._crossval import ratings_from_cuts
from ._persist import card_path_for, load_scorer

__all__ = ["ScoreSummary", "score_file", "MAX_ANSWER_CHARS", "QUARANTINE_REASONS"]

MAX_ANSWER_CHARS = 5_000
ENGINES = ("local", "dask")
NO_RESPONSE = "no_response"
# reason codes of this module (texts in workbench/messages/intake.yaml, with the reader's codes)
QUARANTINE_REASONS = ("missing_id", "non_text", "empty_text", "text_too_long", "unknown_competency")
# intake's quarantine columns plus the answer id (renamed to ``id_column``)
QUARANTINE_COLUMNS = ["table", "source_file", "row", "line", "column", "value", "reason_code", "reason", "id"]
_PREVIEW = 80  # characters of an offending value kept in the quarantine (answers may hold personal data)
_QUARANTINE_FLUSH = 5_000
_MIN_PIECE = 64  # smallest piece worth sending to a worker
_PIECE_ROWS = 2_000  # most answers per scorer call: ~35 kB of transient feature memory per answer


# ------------------------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------------------------
@dataclass
class ScoreSummary:
    """What one ``score_file`` call did. ``rows_in == scored + quarantined`` always holds."""

    rows_in: int
    scored: int
    quarantined: int
    seconds: float
    rows_per_s: float
    out_path: str
    quarantine_path: str
    model_sha256: str
    model_version: str = ""
    engine: str = "local"
    jobs: int = 1
    chunk_size: int = 0
    startup_seconds: float = 0.0  # until the first scored chunk was written (model loading, worker start-up)
    steady_rows_per_s: float = float("nan")  # rows after the first written chunk ÷ time after it
    max_buffered_rows: int = 0  # most input rows held in memory at once (read but not yet written)
    quarantine_reasons: dict = field(default_factory=dict)

    @property
    def reconciled(self) -> bool:
        return self.rows_in == self.scored + self.quarantined

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def _repr_html_(self) -> str:
        rows = [
            ("rows in", f"{self.rows_in:,}"), ("scored", f"{self.scored:,}"), ("quarantined", f"{self.quarantined:,}"),
            ("reconciled", "✓" if self.reconciled else "✗"),
            ("seconds", f"{self.seconds:.1f} (start-up {self.startup_seconds:.1f})"),
            ("answers/s", f"{self.rows_per_s:,.0f} end to end, {self.steady_rows_per_s:,.0f} steady"),
            ("engine", f"{self.engine}, jobs={self.jobs}, chunk_size={self.chunk_size:,}"),
            ("model", f"{self.model_version} (sha256 {self.model_sha256[:16]}…)"),
            ("output", self.out_path), ("quarantine", self.quarantine_path),
        ]
        rows += [(f"quarantined: {code}", f"{n:,}") for code, n in sorted(self.quarantine_reasons.items())]
        from ..reports import render_table

        return render_table(pd.DataFrame(rows, columns=["item", "value"], dtype=object), labels={"item": "", "value": ""}, caption="batch scoring",
                            max_rows=len(rows))


# ------------------------------------------------------------------------------------------------------------
# scoring one piece of answers (runs in the caller, a pool worker or a dask worker)
# ------------------------------------------------------------------------------------------------------------
def _rating_rule(scorer):
    """(frame, scores) → integer ratings: the scorer's ``predict_rating`` without predicting a second time."""
    cuts, scale = getattr(scorer, "rating_cuts_", None), getattr(scorer, "rating_scale_", None)
    if cuts is not None and scale is not None:  # AnswerScorer.predict_rating: equipercentile cuts of the scores
        cuts, low = np.asarray(cuts), int(scale[0])
        return lambda frame, scores: ratings_from_cuts(scores, cuts, low)
    if hasattr(scorer, "predict_rating"):
        try:
            scorer.predict_rating(pd.DataFrame({"answer": ["。"], "competency": [""]}))
            return lambda frame, scores: np.asarray(scorer.predict_rating(frame), dtype=np.int64)
        except AttributeError:  # a scorer saved before it had rating cuts
            pass
    return lambda frame, scores: np.clip(np.floor(scores + 0.5), 1, 5).astype(np.int64)


class _ChunkScorer:
    """Scores lists of (text, competency) with one loaded scorer: its own ``score`` (or ``predict``), so every engine
    is exact. Returns (scores, ratings, advisories, routes); a scorer without advisories routes everything to the
    machine with no advisory codes."""

    def __init__(self, scorer):
        self.scorer = scorer
        self._rating = _rating_rule(scorer)
        self._advises = hasattr(scorer, "advisory_state_") and hasattr(scorer, "score")

    def score(self, texts: list, competencies: list):
        if not texts:
            return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64), [], []
        frame = pd.DataFrame({"answer": pd.Series(texts, dtype=object), "competency": pd.Series(competencies, dtype=object)})
        if self._advises:
            out = self.scorer.score(frame)
            return (out["score"].to_numpy(np.float64), out["rating"].to_numpy(np.int64), out["advisories"].tolist(), out["route"].tolist())
        scores = np.asarray(self.scorer.predict(frame), dtype=np.float64)
        return scores, self._rating(frame, scores), [""] * len(texts), ["machine"] * len(texts)


# ------------------------------------------------------------------------------------------------------------
# model loading (hash-verified in every process; the deserialised model is reused while the file is unchanged)
# ------------------------------------------------------------------------------------------------------------
_MODEL_CACHE: dict[tuple[str, str], _ChunkScorer] = {}
_MODEL_LOCK = threading.Lock()


def _model_identity(model_path: Path) -> tuple[str, dict]:
    """sha256 and card of a model whose card matches it; otherwise ``load_scorer``'s own IntegrityError."""
    card_file = card_path_for(model_path)
    if model_path.is_file() and card_file.is_file():
        card = json.loads(card_file.read_text(encoding="utf-8"))
        sha = sha256_file(model_path)
        if sha == card.get("sha256"):
            return sha, card
    load_scorer(model_path)  # raises the IntegrityError that names the problem (missing file/card, modified file)
    raise AssertionError("unreachable: load_scorer accepted a model whose card does not match")  # pragma: no cover


def _cached_scorer(model_path: Path, sha: str) -> _ChunkScorer:
    key = (str(model_path.resolve()), sha)
    with _MODEL_LOCK:
        hit = _MODEL_CACHE.get(key)
        if hit is None:
            hit = _ChunkScorer(load_scorer(model_path, expected_sha256=sha))
            _MODEL_CACHE.clear()  # one model at a time: they are large
            _MODEL_CACHE[key] = hit
        return hit


def _model_version(card: dict, sha: str) -> str:
    return str(card.get("model_version") or card.get("version") or sha[:12])


# process-pool workers ----------------------------------------------------------------------------------------
_WORKER: dict = {}


def _pool_init(model_path: str, sha: str) -> None:
    try:
        _WORKER["scorer"] = _cached_scorer(Path(model_path), sha)
    except Exception as exc:  # reported by the first task, so the caller sees the real error (not a broken pool)
        _WORKER["error"] = exc


def _pool_score(texts: list, competencies: list):
    if "error" in _WORKER:
        raise _WORKER["error"]
    return _WORKER["scorer"].score(texts, competencies)


# dask workers ------------------------------------------------------------------------------------------------
def _dask_score(texts: list, competencies: list, ref: dict, model_bytes=None):
    sha = ref["sha256"]
    with _MODEL_LOCK:
        scorer = next((s for (p, h), s in _MODEL_CACHE.items() if h == sha), None)
    if scorer is None:
        if model_bytes is None:
            scorer = _cached_scorer(Path(ref["path"]), sha)
        else:  # shipped bytes: write them with their card to a private temp dir and load them like any model file
            with tempfile.TemporaryDirectory(prefix="workbench-model-") as tmp:
                path = Path(tmp) / "model.skops"
                path.write_bytes(model_bytes)
                card_path_for(path).write_text(ref["card"], encoding="utf-8")
                loaded = _ChunkScorer(load_scorer(path, expected_sha256=sha))
            with _MODEL_LOCK:
                _MODEL_CACHE.clear()
                _MODEL_CACHE[("<shipped>", sha)] = loaded
            scorer = loaded
    return scorer.score(texts, competencies)


# ------------------------------------------------------------------------------------------------------------
# engines: submit pieces, get results back in order
# ------------------------------------------------------------------------------------------------------------
class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class _SerialEngine:
    workers = 1

    def __init__(self, model_path: Path, sha: str):
        self.scorer = _cached_scorer(model_path, sha)

    def submit(self, texts, competencies):
        return _Done(self.scorer.score(texts, competencies))

    def close(self):
        pass


class _PoolEngine:
    def __init__(self, model_path: Path, sha: str, jobs: int):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self.workers = jobs
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_pool_init,
                                        initargs=(str(model_path), sha))

    def submit(self, texts, competencies):
        return self.pool.submit(_pool_score, texts, competencies)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskEngine:
    def __init__(self, model_path: Path, sha: str, card: dict, jobs: int, scheduler):
        import logging

        from dask.distributed import Client, LocalCluster

        self.cluster = None
        self.own_client = True
        if scheduler is None:
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            self.ref = {"path": str(model_path.resolve()), "sha256": sha}
            self.model = None
        else:
            if isinstance(scheduler, Client):
                self.client, self.own_client = scheduler, False
            else:
                self.client = Client(scheduler)
            # the workers may not see this file system: ship the verified bytes once to every worker
            data = model_path.read_bytes()
            if sha256_bytes(data) != sha:  # the file changed since it was checked
                raise IntegrityError(f"{model_path.name} changed while scoring started (sha256 {sha256_bytes(data)[:16]}… ≠ {sha[:16]}…)")
            self.ref = {"sha256": sha, "card": card_path_for(model_path).read_text(encoding="utf-8")}
            self.model = self.client.scatter(data, broadcast=True, hash=False)
        threads = sum(self.client.nthreads().values())  # every worker thread can hold one piece
        self.workers = max(jobs, threads)

    def submit(self, texts, competencies):
        if self.model is None:
            return self.client.submit(_dask_score, texts, competencies, self.ref, pure=False)
        return self.client.submit(_dask_score, texts, competencies, self.ref, self.model, pure=False)

    def close(self):
        if self.own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ------------------------------------------------------------------------------------------------------------
# reading and checking the input
# ------------------------------------------------------------------------------------------------------------
def _file_kind(path: Path, what: str) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".csv.zst")):
        return "csv"
    raise (DataError if what == "input" else ConfigurationError)(
        f"{what} file {path} must be CSV (.csv) or Parquet (.parquet); got {path.suffix or 'no suffix'}"
    )


def _open(path: Path, table: str, single_line: list):
    from ..intake.readers import open_table

    return open_table(path, table=table, single_line_columns=[c for c in single_line if c])


def _columns_of(path: Path, kind: str, table: str = "answers") -> list[str]:
    with _open(path, table, []) as stream:
        return list(stream.columns)


def _require_columns(path: Path, present: list[str], needed: dict[str, str]) -> None:
    for column, role in needed.items():
        if column not in present:
            raise IntakeError(
                f"{path} has no column {column!r} ({role}); columns: {', '.join(present)}", file=str(path), column=column
            )


def _read_chunks(path: Path, kind: str, columns: list[str], chunk_size: int, *, table: str = "answers", text_column=None):
    """Yield (RawChunk, kind of each column) from the intake reader, ``chunk_size`` rows at a time.

    Every column but the answer text is single-line: a quoted line break in one of them that holds more fields marks
    an unclosed quote, and the reader quarantines the span it swallowed."""
    with _open(path, table, [c for c in columns if c != text_column]) as stream:
        for chunk in stream.chunks(chunk_size, columns=columns):
            yield chunk, stream.column_kinds


def _load_question_map(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise IntakeError(f"questions file not found: {path}", file=str(path))
    kind = _file_kind(path, "input")
    present = _columns_of(path, kind, "questions")
    _require_columns(path, present, {"question_id": "question id", "competency_id": "competency of the question"})
    from .._text import strip_invisible

    mapping: dict[str, str] = {}
    for chunk, _kinds in _read_chunks(path, kind, ["question_id", "competency_id"], 50_000, table="questions"):
        for qid, cid in zip(chunk.frame["question_id"], chunk.frame["competency_id"]):
            if qid is not None and cid is not None:
                mapping[strip_invisible(str(qid))] = strip_invisible(str(cid))
    return mapping


def _known_competencies() -> frozenset[str]:
    from ..competency import load_dictionary

    return frozenset(load_dictionary().competencies)


def _missing_fast(value) -> bool:
    """``_missing``, without a call for the common case: text that starts with printable ASCII or a CJK ideograph."""
    if value.__class__ is str and ("!" <= value[:1] <= "~" or "\u4e00" <= value[:1] <= "\u9fff"):
        return False
    return _missing(value)


def _preview(value) -> str:
    text = value if isinstance(value, str) else f"<{type(value).__name__}> {value!r}"
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + f"…（共 {len(text):,} 字）"


class _Checker:
    """Splits a chunk into scorable rows and quarantine records (intake's format: one record per problem)."""

    def __init__(self, *, source: str, id_column: str, text_column: str, competency_column: str | None,
                 question_map: dict | None, known: frozenset | None):
        self.source, self.id_column, self.text_column = source, id_column, text_column
        self.competency_column, self.question_map, self.known = competency_column, question_map, known

    def _record(self, row, line, rid, column, value, code):
        from ..intake.validate import reason_text

        detail = ("intake.detail.limit", {"limit": f"{MAX_ANSWER_CHARS:,}"}) if code == "text_too_long" else None
        return {"table": "answers", "source_file": self.source, "row": row, "line": line, "column": column, "value": value,
                "reason_code": code, "reason": reason_text(code, None, detail), "id": None if rid is None else str(rid)}

    def check(self, chunk, kinds: dict):
        """(rows, ids, texts, competencies) to score and the quarantine records of one reader chunk."""
        from .._text import strip_invisible
        from ..intake.validate import quarantine_record

        frame = chunk.frame
        ids, texts = frame[self.id_column].tolist(), frame[self.text_column].tolist()
        n = len(ids)
        rows = chunk.rows.tolist()
        text_is_text = kinds.get(self.text_column, "text") in ("text", "binary")  # numbers in a Parquet text column
        statuses = frame["status"].tolist() if "status" in frame.columns else repeat(None, n)
        if self.question_map is not None:
            comp_source = frame["question_id"].tolist()
        elif self.competency_column is not None:
            comp_source = frame[self.competency_column].tolist()
        else:
            comp_source = repeat("", n)
        problems = []
        for problem in chunk.problems:  # records the reader could not take (quoting, NUL, undecodable bytes …)
            record = quarantine_record("answers", self.source, problem)
            record["id"] = None
            problems.append(record)
        keep_rows, keep_ids, keep_texts, keep_comps = [], [], [], []
        qmap = self.question_map
        resolved: dict = {}  # question or competency cell → (competency, problem): a chunk repeats a few hundred values
        for i, (row, rid, text, status, comp) in enumerate(zip(rows, ids, texts, statuses, comp_source)):
            found = []
            if _missing_fast(rid):
                found.append((self.id_column, "" if rid is None else _preview(rid), "missing_id"))
            blank = _missing_fast(text)
            if not text_is_text and not blank:
                found.append((self.text_column, _preview(text), "non_text"))
            elif blank:
                if not (isinstance(status, str) and strip_invisible(status) == NO_RESPONSE):
                    found.append((self.text_column, "" if text is None else _preview(text), "empty_text"))
                text = ""
            elif len(text) > MAX_ANSWER_CHARS:
                found.append((self.text_column, _preview(text), "text_too_long"))
            if qmap is not None or self.competency_column is not None:
                hit = resolved.get(comp) if comp.__class__ is str else None
                if hit is None:
                    hit = self._competency(comp, strip_invisible)
                    if comp.__class__ is str:
                        resolved[comp] = hit
                comp, problem = hit
                if problem is not None:
                    found.append(problem)
            if found:
                line = chunk.lines.iloc[i]
                line = None if pd.isna(line) else int(line)
                problems.extend(self._record(row, line, rid, column, value, code) for column, value, code in found)
                continue
            keep_rows.append(row)
            keep_ids.append(rid)
            keep_texts.append(text)
            keep_comps.append(comp)
        return keep_rows, keep_ids, keep_texts, keep_comps, problems

    def _competency(self, comp, strip_invisible):
        """A question or competency cell → (competency id or None, the problem to record or None)."""
        if self.question_map is not None:
            qid = None if _missing(comp) else strip_invisible(str(comp))
            cid = self.question_map.get(qid) if qid is not None else None
            if cid is None or cid not in self.known:
                return cid, ("question_id", f"question_id {qid!r} → {cid!r}" if qid is not None else "", "unknown_competency")
            return cid, None
        cid = None if _missing(comp) else strip_invisible(str(comp))
        if cid is None or cid not in self.known:
            return cid, (self.competency_column, "" if cid is None else _preview(cid), "unknown_competency")
        return cid, None


# ------------------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------------------
class _OutputWriter:
    """Scores to a temporary file next to the target, renamed into place by ``commit``."""

    def __init__(self, path: Path, kind: str, id_column: str, id_type, meta: dict):
        self.path, self.kind, self.id_column, self.id_type, self.meta = path, kind, id_column, id_type, meta
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        self.handle = None
        self.writer = None

    def _schema(self):
        import pyarrow as pa

        return pa.schema(
            [(self.id_column, self.id_type), ("row", pa.int64()), ("score", pa.float64()), ("rating", pa.int64()),
             ("advisories", pa.string()), ("route", pa.string()), ("model_sha256", pa.string()), ("model_version", pa.string())],
            metadata={b"workbench.batch_scoring": json.dumps(self.meta, ensure_ascii=False).encode("utf-8")},
        )

    def open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(self.tmp, self._schema(), compression="zstd")
        else:
            self.handle = open(self.tmp, "w", encoding="utf-8-sig", newline="")
            self.csv = SafeCsvWriter(self.handle, [self.id_column, "row", "score", "rating", "advisories", "route", "model_sha256", "model_version"])

    def write(self, ids, rows, scores, ratings, advisories, routes, sha: str, version: str):
        if self.writer is None and self.handle is None:
            self.open()
        n = len(rows)
        if self.kind == "parquet":
            import pyarrow as pa

            if not pa.types.is_integer(self.id_type):
                ids = [v if isinstance(v, str) else str(v) for v in ids]
            else:  # the reader gives text cells; integer ids of a Parquet input stay integers
                ids = [int(v) for v in ids]
            table = pa.table(
                {self.id_column: pa.array(ids, type=self.id_type), "row": pa.array(rows, type=pa.int64()),
                 "score": pa.array(scores, type=pa.float64()), "rating": pa.array(ratings, type=pa.int64()),
                 "advisories": pa.array(advisories, type=pa.string()), "route": pa.array(routes, type=pa.string()),
                 "model_sha256": pa.array([sha] * n, type=pa.string()), "model_version": pa.array([version] * n, type=pa.string())},
                schema=self._schema(),
            )
            self.writer.write_table(table)
        else:
            frame = pd.DataFrame({self.id_column: pd.Series([v if isinstance(v, str) else str(v) for v in ids], dtype=object), "row": rows, "score": scores,
                                  "rating": ratings, "advisories": advisories, "route": routes, "model_sha256": sha, "model_version": version})
            self.csv.write_frame(frame)

    def commit(self):
        if self.writer is None and self.handle is None:
            self.open()  # no scorable rows: still write a file with the header
        self._close()
        os.replace(self.tmp, self.path)

    def _close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def abort(self):
        self._close()
        self.tmp.unlink(missing_ok=True)


class _QuarantineWriter:
    """Quarantine records, flushed in blocks through the safe CSV writer into a temporary file, renamed on commit."""

    def __init__(self, path: Path, id_column: str):
        self.path, self.id_column = path, id_column
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        self.columns = [c if c != "id" or id_column in QUARANTINE_COLUMNS else id_column for c in QUARANTINE_COLUMNS]
        self.buffer: list[dict] = []
        self.writer: SafeCsvWriter | None = None
        self.count = 0  # quarantined rows (a row with several problems has several records)
        self.reasons: Counter = Counter()

    def add(self, records: list[dict]):
        for record in records:
            self.reasons[record["reason_code"]] += 1
        self.count += len({record["row"] for record in records})  # a chunk holds whole records
        self.buffer.extend(records)
        if len(self.buffer) >= _QUARANTINE_FLUSH:
            self.flush()

    def flush(self):
        if self.writer is None:
            self.writer = SafeCsvWriter(self.tmp, self.columns)
        if self.buffer:
            self.buffer.sort(key=lambda r: r["row"])
            self.writer.write_rows([[r[c] for c in QUARANTINE_COLUMNS] for r in self.buffer])
        self.buffer = []

    def commit(self):
        self.flush()
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        if self.writer is not None:
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------------------
# the public function
# ------------------------------------------------------------------------------------------------------------
def score_file(
    model_path,
    answers_path,
    out_path,
    *,
    jobs: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    chunk_size: int = 20_000,
    text_column: str = "answer_text",
    id_column: str = "answer_id",
    competency_column: str | None = "competency_id",
    questions_path: str | None = None,
    progress: bool = True,
) -> ScoreSummary:
    """Score every answer of a CSV/Parquet file with a saved scorer; stream the scores to ``out_path``.

    Parameters
    ----------
    model_path : a ``.skops`` scorer with its ``.card.json`` (see ``save_scorer``); refused if modified.
    answers_path : CSV or Parquet with ``id_column`` and ``text_column`` (optional ``status``: ``no_response`` rows may
        have empty text and are scored as the empty answer).
    out_path : ``.csv`` or ``.parquet``; the quarantine goes to ``<out_path>.quarantine.csv``.
    jobs : scoring processes (``local``) or LocalCluster workers (``dask``).
    engine : ``"local"`` or ``"dask"``.
    scheduler : dask scheduler address (or a ``distributed.Client``) to join; None starts a LocalCluster.
    chunk_size : rows read, checked and written at a time; parallel engines split each chunk across the workers.
    competency_column : column holding the competency id; if the answers lack it, pass ``questions_path``
        (a questions table with ``question_id, competency_id``); None scores without competency (not recommended:
        the evidence features and relevance anchors then use the union over all competencies).
    progress : show a tqdm progress bar (rows).

    Raises
    ------
    IntegrityError : the model file or its card is missing, modified, or from other library versions.
    DataError (IntakeError) : the answers (or questions) file is missing or unreadable, or lacks a required column.
    ConfigurationError : bad engine, jobs, chunk size or output suffix.
    """
    start = time.perf_counter()
    if engine not in ENGINES:
        raise ConfigurationError(f"engine must be one of {ENGINES}, got {engine!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigurationError(f"jobs must be a positive integer, got {jobs!r}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if scheduler is not None and engine != "dask":
        raise ConfigurationError("scheduler is only used with engine='dask'")
    model_path, answers_path, out_path = Path(model_path), Path(answers_path), Path(out_path)
    out_kind = _file_kind(out_path, "output")
    quarantine_path = Path(f"{out_path}.quarantine.csv")

    # input: the file and its columns ------------------------------------------------------------------------
    if not answers_path.is_file():
        raise IntakeError(f"answers file not found: {answers_path}", file=str(answers_path), code="file_not_found")
    if answers_path.resolve() == out_path.resolve():
        raise ConfigurationError(f"out_path must differ from the answers file ({out_path})")
    in_kind = _file_kind(answers_path, "input")
    present = _columns_of(answers_path, in_kind)
    _require_columns(answers_path, present, {id_column: "answer id", text_column: "answer text"})
    read = [id_column, text_column] + (["status"] if "status" in present else [])
    question_map = None
    known = None
    if competency_column is not None and competency_column in present:
        read.append(competency_column)
        known = _known_competencies()
    elif questions_path is not None:
        question_map = _load_question_map(Path(questions_path))
        _require_columns(answers_path, present, {"question_id": f"maps answers to {questions_path}"})
        read.append("question_id")
        known = _known_competencies()
    elif competency_column is not None:
        raise IntakeError(
            f"{answers_path} has no column {competency_column!r} (the competency of each answer); pass questions_path "
            f"(CLI --questions: a questions table with question_id, competency_id) to map question_id → competency, or "
            f"competency_column=None (CLI --no-competency) to score without competency",
            file=str(answers_path), column=competency_column,
        )
    read = list(dict.fromkeys(read))
    id_type = _id_arrow_type(answers_path, in_kind, id_column)

    # model: verified before anything is written ---------------------------------------------------------------
    sha, card = _model_identity(model_path)
    version = _model_version(card, sha)

    total = None
    if in_kind == "parquet":
        import pyarrow.parquet as pq

        total = pq.ParquetFile(answers_path).metadata.num_rows
    meta = {"model_sha256": sha, "model_version": version, "model_file": model_path.name, "answers_file": answers_path.name,
            "engine": engine, "jobs": jobs, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    checker = _Checker(source=str(answers_path), id_column=id_column, text_column=text_column,
                       competency_column=competency_column if question_map is None and competency_column in present else None,
                       question_map=question_map, known=known)
    output = _OutputWriter(out_path, out_kind, id_column, id_type, meta)
    quarantine = _QuarantineWriter(quarantine_path, id_column)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="rows", unit_scale=True, desc="scoring", disable=not progress, leave=False)
    runner = None
    rows_in = scored = 0
    buffered = max_buffered = 0
    first_write = None
    rows_at_first_write = 0
    try:
        if engine == "local" and jobs == 1:
            runner = _SerialEngine(model_path, sha)
        elif engine == "local":
            runner = _PoolEngine(model_path, sha, jobs)
        else:
            runner = _DaskEngine(model_path, sha, card, jobs, scheduler)
        # serial: each chunk is written before the next is read; parallel: one chunk is read and submitted while the
        # workers score the previous one, so at most two chunks are held — memory does not grow with the file
        max_pending = 1 if runner.workers == 1 else 2
        pending: deque = deque()  # (rows, ids, [future, …], input rows of the chunk); written strictly in order

        def write_head():
            nonlocal scored, buffered, first_write, rows_at_first_write
            rows, ids, futures, chunk_rows = pending.popleft()
            results = [f.result() for f in futures]
            scores = np.concatenate([r[0] for r in results]) if results else np.empty(0)
            ratings = np.concatenate([r[1] for r in results]) if results else np.empty(0, dtype=np.int64)
            advisories = [a for r in results for a in r[2]]
            routes = [a for r in results for a in r[3]]
            if rows:
                output.write(ids, rows, scores, ratings, advisories, routes, sha, version)
            scored += len(rows)
            buffered -= chunk_rows
            bar.update(chunk_rows)
            if first_write is None and rows:
                first_write, rows_at_first_write = time.perf_counter(), scored

        for chunk, kinds in _read_chunks(answers_path, in_kind, read, chunk_size, text_column=text_column):
            n = chunk.rows_in
            rows, ids, texts, comps, problems = checker.check(chunk, kinds)
            del chunk
            rows_in += n
            buffered += n
            max_buffered = max(max_buffered, buffered)
            quarantine.add(problems)
            # pieces of at most _PIECE_ROWS answers (the scorer's working memory is per piece), at least one per worker
            n_pieces = max(math.ceil(len(texts) / _PIECE_ROWS), min(runner.workers, len(texts) // _MIN_PIECE), 1)
            step = math.ceil(len(texts) / n_pieces) if texts else 0
            futures = [runner.submit(texts[i:i + step], comps[i:i + step]) for i in range(0, len(texts), step)] if texts else []
            pending.append((rows, ids, futures, n))
            del texts, comps
            while len(pending) >= max_pending:
                write_head()
        while pending:
            write_head()
        output.commit()
        quarantine.commit()
    except BaseException:
        output.abort()
        quarantine.abort()
        raise
    finally:
        bar.close()
        if runner is not None:
            runner.close()

    seconds = time.perf_counter() - start
    startup = (first_write - start) if first_write is not None else seconds
    after = scored - rows_at_first_write
    steady = after / (seconds - startup) if after > 0 and seconds > startup else float("nan")
    quarantined = quarantine.count
    if rows_in != scored + quarantined:  # pragma: no cover - an internal error, never expected
        raise DataError(f"row counts do not reconcile: {rows_in} in, {scored} scored, {quarantined} quarantined")
    return ScoreSummary(
        rows_in=rows_in, scored=scored, quarantined=quarantined, seconds=seconds,
        rows_per_s=rows_in / seconds if seconds > 0 else float("nan"), out_path=str(out_path), quarantine_path=str(quarantine_path),
        model_sha256=sha, model_version=version, engine=engine, jobs=jobs, chunk_size=chunk_size, startup_seconds=startup,
        steady_rows_per_s=steady, max_buffered_rows=max_buffered, quarantine_reasons=dict(quarantine.reasons),
    )


def _id_arrow_type(path: Path, kind: str, id_column: str):
    import pyarrow as pa

    if kind == "parquet":
        import pyarrow.parquet as pq

        t = pq.ParquetFile(path).schema_arrow.field(id_column).type
        if pa.types.is_integer(t):
            return pa.int64()
    return pa.string()
