"""Offline HTML: notebooks rendered without code, and the run's index page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .._tabular import escape
from ..i18n import t

__all__ = ["notebook_to_html", "report_css", "write_index", "assert_offline"]

_TEMPLATES = Path(__file__).parent / "templates"


def report_css() -> str:
    return (Path(__file__).parent / "style.css").read_text(encoding="utf-8")


def notebook_to_html(notebook_path: str | Path, html_path: str | Path, *, banner: str = "", lang: str = "zh") -> Path:
    """Render an executed notebook to self-contained HTML without code cells or prompts."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    exporter = HTMLExporter(
        template_name="workbench",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    # Hide papermill's error-marker cells' code but keep their message (it says where it failed).
    resources = {
        "workbench_css": report_css(),
        "workbench_banner": banner,
        "language_code": "zh-CN" if lang == "zh" else "en",
        "metadata": {"name": nb.metadata.get("title") or Path(notebook_path).stem},
    }
    body, _ = exporter.from_notebook_node(_reader_view(nb), resources=resources)
    assert_offline(body)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _reader_view(nb):
    """What a reader sees: no stderr streams (progress bars, library warnings stay in the .ipynb and logs)."""
    import copy

    nb = copy.deepcopy(nb)
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


def _status_badge(status: str, lang: str) -> str:
    cls = {"ok": "wb-ok", "failed": "wb-bad"}.get(status, "wb-warn")
    key = {"ok": "status.ok", "failed": "status.failed", "running": "status.running"}.get(status, "status.pending")
    return f"<span class='{cls}'>{escape(t(key, lang))}</span>"


def write_index(run_dir: str | Path, manifest: dict, *, lang: str = "zh") -> Path:
    """The run's overview page: one row per stage with its status and links."""
    run_dir = Path(run_dir)
    rows = []
    for stage in manifest.get("stages", []):
        html_link = f"<a href='{escape(stage['html'])}'>{escape(t('index.report', lang))}</a>" if stage.get("html") else "—"
        nb_link = f"<a href='{escape(stage['notebook'])}'>.ipynb</a>" if stage.get("notebook") else "—"
        err = stage.get("error") or {}
        err_html = f"<div class='wb-error'>{escape(err.get('message', ''))}</div>" if err else ""
        duration = f"{stage['duration_s']:.1f}s" if stage.get("duration_s") is not None else "—"
        rows.append(
            f"<tr><td><b>{escape(stage['name'])}</b><br>{escape(stage.get('title', ''))}</td>"
            f"<td>{_status_badge(stage.get('status', 'pending'), lang)}{err_html}</td><td>{duration}</td>"
            f"<td>{html_link}</td><td>{nb_link}</td></tr>"
        )
    git = manifest.get("git") or {}
    commit = (git.get("commit") or "—")[:12] + (t("dirty", lang) if git.get("dirty") else "")
    title = t("index.title", lang)
    body = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8"><title>{escape(title)} · {escape(manifest['run_id'])}</title>
<style>{report_css()}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<table>
<tr><th>{escape(t('index.run_id', lang))}</th><td><code>{escape(manifest['run_id'])}</code></td></tr>
<tr><th>{escape(t('index.profile', lang))}</th><td>{escape(manifest.get('profile', ''))}</td></tr>
<tr><th>{escape(t('index.started', lang))}</th><td>{escape(manifest.get('started_at', ''))}</td></tr>
<tr><th>{escape(t('index.commit', lang))}</th><td><code>{escape(commit)}</code></td></tr>
<tr><th>{escape(t('index.status', lang))}</th><td>{_status_badge(manifest.get('status', 'pending'), lang)}</td></tr>
</table>
<table><thead><tr><th>{escape(t('summary.stage', lang))}</th><th>{escape(t('summary.status', lang))}</th>
<th>{escape(t('summary.duration', lang))}</th><th>HTML</th><th>{escape(t('index.notebook', lang))}</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<p><a href="manifest.json">manifest.json</a> — {escape(t('index.manifest', lang))}</p>
<p style="color:#59636e;font-size:12px">{escape(datetime.now().astimezone().isoformat(timespec='seconds'))}</p>
</main></body></html>"""
    assert_offline(body)
    path = run_dir / "index.html"
    path.write_text(body, encoding="utf-8")
    return path
