"""Offline HTML: notebooks rendered without code, and the run's index page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

import pandas as pd

from .._tabular import escape
from ..i18n import has, t

__all__ = ["notebook_to_html", "report_css", "write_index", "assert_offline"]

_TEMPLATES = Path(__file__).parent / "templates"


def report_css() -> str:
    return (Path(__file__).parent / "style.css").read_text(encoding="utf-8")


def notebook_to_html(notebook_path: str | Path, html_path: str | Path, *, banner: str = "", lang: str = "zh") -> Path:
    """Render an executed notebook to self-contained HTML without code cells or prompts."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    exporter = HTMLExporter(
        template_name="workbench",
        language_code=lang,  # ISO 639-1, "zh" or "en" (nbconvert refuses zh-CN); lang="zh" picks the SC glyphs
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    # Hide papermill's error-marker cells' code but keep their message (it says where it failed).
    title = _title(nb, Path(notebook_path).stem, lang)
    resources = {
        "workbench_css": report_css(),
        "workbench_banner": escape(banner),
        "metadata": {"name": title},
    }
    view = _reader_view(nb)
    view.metadata["title"] = title  # the template prefers the notebook's own (bilingual) title
    body, _ = exporter.from_notebook_node(view, resources=resources)
    assert_offline(body)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _title(nb, stem: str, lang: str) -> str:
    """The page title: the stage's title from the catalog in the report's language, else the notebook's own."""
    key = f"stage.{stem}"
    return f"{stem} {t(key, lang)}" if has(key) else (nb.metadata.get("title") or stem)


def _reader_view(nb):
    """What a reader sees: no notebook-only cells, no stderr streams (progress bars, warnings stay in the .ipynb and logs)."""
    import copy

    nb = copy.deepcopy(nb)
    # narrative for notebook readers (how to run, where the code is) is not part of the report
    nb.cells = [c for c in nb.cells if "notebook-only" not in (c.get("metadata", {}).get("tags") or [])]
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return nb


def assert_offline(html: str) -> None:
    """Refuse HTML that would fetch anything from the network (scripts, styles, fonts, images)."""
    import re

    hits = re.findall(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//[^"']+""", html, flags=re.I)
    hits += re.findall(r"""@import\s+url\(\s*["']?(?:https?:)?//""", html, flags=re.I)
    if hits:
        raise ValueError(f"report would load remote resources (bank intranets are offline): {hits[:3]}")


def write_index(run_dir: str | Path, manifest: dict, *, lang: str = "zh") -> Path:
    """The run's overview page: one row per stage with its status and links (rendered like every other page)."""
    from markupsafe import Markup

    from ._report import Report

    run_dir = Path(run_dir)
    git = manifest.get("git") or {}
    commit = (git.get("commit") or "—")[:12] + (t("dirty", lang) if git.get("dirty") else "")
    status_class = {"ok": "wb-ok", "failed": "wb-bad"}
    status_key = {"ok": "status.ok", "failed": "status.failed", "running": "status.running"}
    report = Report(t("index.title", lang), lang)
    facts = [(t("index.run_id", lang), manifest["run_id"]), (t("index.profile", lang), manifest.get("profile", "")),
             (t("index.started", lang), manifest.get("started_at", "")), (t("index.commit", lang), commit),
             (t("index.status", lang), t(status_key.get(manifest.get("status"), "status.pending"), lang))]
    report.table(pd.DataFrame(facts, columns=["k", "v"]), labels={"k": "", "v": ""})
    rows = []
    for stage in manifest.get("stages", []):
        err = (stage.get("error") or {}).get("message", "")
        rows.append({
            "stage": f"{stage['name']} {stage.get('title', '')}",
            "status": t(status_key.get(stage.get("status"), "status.pending"), lang) + (f" — {err}" if err else ""),
            "duration": f"{stage['duration_s']:.1f}s" if stage.get("duration_s") is not None else "—",
            "report": Markup('<a href="{}">{}</a>').format(stage["html"], t("index.report", lang)) if stage.get("html") else "—",
            "notebook": Markup('<a href="{}">.ipynb</a>').format(stage["notebook"]) if stage.get("notebook") else "—",
            "_status": stage.get("status"),
        })
    frame = pd.DataFrame(rows, columns=["stage", "status", "duration", "report", "notebook", "_status"], dtype=object)  # keeps Markup links (pandas 3 would infer str)
    report.table(frame, hide=["_status"], classes={"status": lambda v, r: status_class.get(r["_status"], "wb-warn")},
                 labels={"stage": t("summary.stage", lang), "status": t("summary.status", lang), "duration": t("summary.duration", lang),
                         "report": t("index.report", lang), "notebook": t("index.notebook", lang)})
    report.html(Markup('<p><a href="manifest.json">manifest.json</a> — {}</p>').format(t("index.manifest", lang)))
    body = report.to_page(footer=datetime.now().astimezone().isoformat(timespec="seconds"))
    path = run_dir / "index.html"
    path.write_text(body, encoding="utf-8")
    return path
