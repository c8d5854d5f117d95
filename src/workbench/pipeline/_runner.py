"""``workbench run``: execute stage notebooks with papermill into a new run directory."""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._beside import usable_cpus
from .._hashing import sha256_file
from .._paths import PROJECT_ROOT, REPORTS_DIR
from ..errors import ConfigurationError, StageFailed
from ..i18n import resolve_lang, t
from ._context import new_run_id
from ._manifest import git_state, hash_tree, package_versions, write_json_atomic
from ._params import load_profile, resolve_parameters, split_lang

__all__ = ["RunResult", "run_pipeline", "select_stages"]


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    manifest: dict

    @property
    def index(self) -> Path:
        return self.run_dir / "index.html"


def select_stages(names: list[str] | None) -> list:
    """Requested stages plus whatever they require, in pipeline order."""
    from ..stages import STAGES, get_stage

    if not names:
        return list(STAGES)
    wanted = {get_stage(n).name for n in names}
    changed = True
    while changed:
        changed = False
        for stage in STAGES:
            if stage.name in wanted:
                for req in stage.requires:
                    if req not in wanted:
                        wanted.add(req)
                        changed = True
    return [s for s in STAGES if s.name in wanted]


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _make_run_dir(out: str | Path | None, run_id: str) -> Path:
    run_dir = Path(out) if out else Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / run_id
    if not run_dir.is_absolute():
        run_dir = Path.cwd() / run_dir
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigurationError(f"{run_dir} already exists and is not empty; runs are never overwritten, choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir.resolve()


def _stage_error(exc: Exception, stage) -> dict:
    cell = getattr(exc, "cell_index", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return {
        "cell": (cell + 1) if isinstance(cell, int) else None,  # 1-based, as a reader counts cells
        "ename": ename,
        "evalue": evalue,
        "message": f"{stage.name}: {ename}: {evalue}",
    }


def _artifact_summary(run_dir: Path, stage) -> list[str]:
    folder = run_dir / "artifacts" / stage.name
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    return [p.relative_to(run_dir).as_posix() for p in files[:3]]


def default_jobs() -> int:
    """Stages run at once by default: the usable cores, at most 2 (after 03, the longest independent chains are
    04→05 and 06, 07)."""
    return max(1, min(2, usable_cpus()))


def run_pipeline(
    *,
    profile: str = "default",
    stages: list[str] | None = None,
    sets: list[str] | None = None,
    out: str | Path | None = None,
    lang: str | None = None,
    progress: bool = True,
    console=None,
    argv: list[str] | None = None,
    jobs: int | None = None,
) -> RunResult:
    """Run the selected stages (default: all) with ``profile`` and ``--set`` overrides.

    ``jobs``: stages run at the same time once what they require has finished (default: :func:`default_jobs`,
    the usable cores, at most 2); ``jobs=1`` runs them one after another in pipeline order. Results do not
    depend on it: every stage reads only the artifacts of the stages it requires, and of the stages it runs
    ``after`` when they are part of the run (stage 06 waits for 04's candidate feedback).

    Returns a :class:`RunResult`; a failing stage stops the run, is recorded in the manifest, and raises
    :class:`StageFailed` after the manifest and index are written.
    """
    import papermill
    from rich.console import Console

    from ..reports import notebook_to_html, write_index

    console = console or Console(stderr=True)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigurationError(f"jobs must be a whole number ≥ 1 (stages run at the same time), got {jobs!r}")
    set_lang, sets = split_lang(list(sets or []))
    lang = resolve_lang(set_lang or lang)
    profile_name, profile_path, profile_data = load_profile(profile)
    selected = select_stages(stages)
    params = resolve_parameters(selected, profile_data, sets, profile_path=str(profile_path))
    run_id = new_run_id(profile_name)
    run_dir = _make_run_dir(out, run_id)
    for sub in ("notebooks", "html", "logs"):
        (run_dir / sub).mkdir(exist_ok=True)

    manifest: dict[str, Any] = {
        "schema_version": 1,
        "run_id": run_id,
        "run_dir": str(run_dir),
        "profile": profile_name,
        "profile_file": {"path": str(profile_path.relative_to(PROJECT_ROOT)) if profile_path.is_relative_to(PROJECT_ROOT) else str(profile_path), "sha256": sha256_file(profile_path)},
        "profile_description": profile_data.get("description", ""),
        "overrides": list(sets or []),
        "command": argv or sys.argv,
        "lang": lang,
        "status": "running",
        "started_at": _now(),
        "finished_at": None,
        "git": git_state(),
        "environment": package_versions(),
        "parameters": params,
        "stages": [
            {"name": s.name, "title": s.title(lang), "status": "pending", "notebook": None, "html": None}
            for s in selected
        ],
        "inputs": [],
        "outputs": [],
        "metrics": {},
    }
    manifest_path = run_dir / "manifest.json"
    write_json_atomic(manifest_path, manifest)
    console.print(t("run.started", lang, run_id=run_id, profile=profile_name))

    env_backup = {k: os.environ.get(k) for k in ("WORKBENCH_ROOT", "WORKBENCH_LANG")}
    os.environ["WORKBENCH_ROOT"] = str(PROJECT_ROOT)
    os.environ["WORKBENCH_LANG"] = lang
    failure: StageFailed | None = None

    def execute(stage, nb_out: Path, stage_params: dict) -> dict | None:
        """Run one stage notebook (in a worker thread); returns papermill's error, if any."""
        try:
            with open(run_dir / "logs" / f"{stage.name}.log", "w", encoding="utf-8") as log:
                papermill.execute_notebook(
                    str(stage.notebook),
                    str(nb_out),
                    parameters=stage_params,
                    kernel_name="python3",
                    language="python",
                    cwd=str(PROJECT_ROOT),
                    progress_bar={"desc": f"{stage.name} {stage.title(lang)}", "unit": "cell", "leave": True} if progress else False,
                    stdout_file=log,
                    stderr_file=log,
                    start_timeout=180,
                    # ipykernel 7 warns on every start that loopback TCP is unencrypted (messages are still
                    # HMAC-signed); the kernel's own log is not the user's business below ERROR
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                )
        except Exception as exc:  # papermill raises PapermillExecutionError, or kernel/IO errors
            return _stage_error(exc, stage)
        return None

    def finish(record: dict, stage, nb_out: Path, error: dict | None, start: float) -> StageFailed | None:
        """Record a finished stage in the manifest (main thread only)."""
        html_out = run_dir / "html" / f"{stage.name}.html"
        record["duration_s"] = round(time.perf_counter() - start, 2)
        record["ended_at"] = _now()
        banner = t("report.banner", lang, stage=f"{stage.name} {stage.title(lang)}", run_id=run_id, profile=profile_name,
                   commit=(manifest["git"].get("commit") or "—")[:12])
        if nb_out.is_file():
            try:
                notebook_to_html(nb_out, html_out, banner=banner, lang=lang)
                record["html"] = html_out.relative_to(run_dir).as_posix()
            except Exception as exc:  # a rendering failure must not hide the stage result
                record["render_error"] = f"{type(exc).__name__}: {exc}"
        stage_json = run_dir / "stages" / f"{stage.name}.json"
        if stage_json.is_file():
            info = json.loads(stage_json.read_text(encoding="utf-8"))
            record["metrics"] = info.get("metrics", {})
            record["inputs"] = info.get("inputs", [])
            manifest["metrics"][stage.name] = record["metrics"]
        record["artifacts"] = _artifact_summary(run_dir, stage)
        if error:
            record["status"] = "failed"
            record["error"] = error
            return StageFailed(
                t("run.failed", lang, stage=stage.name, cell=error["cell"] or "?", error=f"{error['ename']}: {error['evalue']}", notebook=nb_out),
                stage=stage.name,
                cell=error["cell"],
                error=f"{error['ename']}: {error['evalue']}",
            )
        record["status"] = "ok"
        return None

    # Stages start as soon as the stages they require have finished, up to `jobs` at a time (04→05, 06 and 07 all
    # need only 03). The first failure stops new starts; stages already running finish and are recorded.
    order = {s.name: i for i, s in enumerate(selected)}
    pending = list(zip(manifest["stages"], selected))
    succeeded: set[str] = set()
    running: dict = {}
    workers = jobs if jobs is not None else default_jobs()
    manifest["jobs"] = workers
    old_cwd = os.getcwd()
    os.chdir(PROJECT_ROOT)  # papermill switches every worker's cwd to the project root; start there so the switches agree
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stage") as pool:
            while pending or running:
                for item in list(pending):
                    record, stage = item
                    if failure or len(running) >= workers:
                        break
                    if all(req in succeeded for req in (*stage.requires, *stage.after) if req in order):
                        pending.remove(item)
                        nb_out = run_dir / "notebooks" / f"{stage.name}.ipynb"
                        stage_params = {**params[stage.name], "run_dir": str(run_dir), "lang": lang}
                        record.update(status="running", started_at=_now(), notebook=nb_out.relative_to(run_dir).as_posix())
                        write_json_atomic(manifest_path, manifest)
                        running[pool.submit(execute, stage, nb_out, stage_params)] = (record, stage, nb_out, time.perf_counter())
                if not running:
                    break  # nothing can start: a failure, or requirements that never succeed
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: order[running[f][1].name]):
                    record, stage, nb_out, start = running.pop(future)
                    stage_failure = finish(record, stage, nb_out, future.result(), start)
                    failure = failure or stage_failure
                    if stage_failure is None:
                        succeeded.add(stage.name)
                    write_json_atomic(manifest_path, manifest)
    finally:
        os.chdir(old_cwd)
        for key, value in env_backup.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    manifest["status"] = "failed" if failure else "ok"
    manifest["finished_at"] = _now()
    code_inputs = [
        {"path": s.notebook.relative_to(PROJECT_ROOT).as_posix(), "sha256": sha256_file(s.notebook), "bytes": s.notebook.stat().st_size, "role": "notebook"}
        for s in selected
    ]
    data_inputs = [dict(i, stage=r["name"]) for r in manifest["stages"] for i in r.get("inputs", [])]
    manifest["inputs"] = code_inputs + data_inputs
    (run_dir / "metrics.json").write_text(json.dumps(manifest["metrics"], ensure_ascii=False, indent=2), encoding="utf-8")
    write_index(run_dir, manifest, lang=lang)
    manifest["outputs"] = hash_tree(run_dir)
    write_json_atomic(manifest_path, manifest)
    _print_summary(console, manifest, run_dir, lang)
    if failure:
        raise failure
    return RunResult(run_id=run_id, run_dir=run_dir, status=manifest["status"], manifest=manifest)


def _print_summary(console, manifest: dict, run_dir: Path, lang: str) -> None:
    from rich.table import Table

    table = Table(title=t("summary.title", lang))
    table.add_column(t("summary.stage", lang))
    table.add_column(t("summary.status", lang))
    table.add_column(t("summary.duration", lang), justify="right")
    table.add_column(t("summary.artifacts", lang))
    for record in manifest["stages"]:
        status = record["status"]
        style = {"ok": "green", "failed": "red"}.get(status, "yellow")
        label = t({"ok": "status.ok", "failed": "status.failed"}.get(status, "status.pending"), lang)
        duration = f"{record['duration_s']:.1f}s" if record.get("duration_s") is not None else "—"
        table.add_row(f"{record['name']} {record['title']}", f"[{style}]{label}[/{style}]", duration, "\n".join(record.get("artifacts", [])))
    console.print(table)
    console.print(t("run.where", lang, path=run_dir, index=run_dir / "index.html"))
