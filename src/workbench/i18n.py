"""User-facing text in Simplified Chinese (default) or English.

Choose with the ``lang`` notebook parameter, ``--lang`` on the CLI, or ``WORKBENCH_LANG=en``.
"""

from __future__ import annotations

import os

__all__ = ["LANGS", "current_lang", "resolve_lang", "t"]

LANGS = ("zh", "en")

_MESSAGES: dict[str, dict[str, str]] = {
    # pipeline / runner
    "run.started": {"zh": "开始运行 {run_id}（配置：{profile}）", "en": "Starting run {run_id} (profile: {profile})"},
    "run.stage_ok": {"zh": "完成", "en": "ok"},
    "run.stage_failed": {"zh": "失败", "en": "failed"},
    "run.stage_skipped": {"zh": "未运行", "en": "not run"},
    "run.where": {"zh": "报告目录：{path}\n总览页面：{index}", "en": "Reports: {path}\nOverview page: {index}"},
    "run.failed": {
        "zh": "阶段 {stage} 失败（第 {cell} 个单元格）：{error}\n部分执行的笔记本已保留：{notebook}",
        "en": "Stage {stage} failed (cell {cell}): {error}\nThe partially executed notebook is kept at: {notebook}",
    },
    "summary.title": {"zh": "运行摘要", "en": "Run summary"},
    "summary.stage": {"zh": "阶段", "en": "Stage"},
    "summary.status": {"zh": "状态", "en": "Status"},
    "summary.duration": {"zh": "用时", "en": "Duration"},
    "summary.artifacts": {"zh": "主要产物", "en": "Key artifacts"},
    "index.title": {"zh": "运行总览", "en": "Run overview"},
    "index.run_id": {"zh": "运行编号", "en": "Run id"},
    "index.profile": {"zh": "配置", "en": "Profile"},
    "index.commit": {"zh": "代码版本", "en": "Code commit"},
    "index.started": {"zh": "开始时间", "en": "Started"},
    "index.status": {"zh": "总体状态", "en": "Overall status"},
    "index.report": {"zh": "报告", "en": "Report"},
    "index.notebook": {"zh": "已执行笔记本", "en": "Executed notebook"},
    "index.manifest": {"zh": "运行清单（manifest.json）记录了全部参数、输入输出哈希与软件版本。", "en": "The run manifest (manifest.json) records every parameter, input/output hash and package version."},
    "status.ok": {"zh": "成功", "en": "succeeded"},
    "status.failed": {"zh": "失败", "en": "failed"},
    "status.running": {"zh": "运行中", "en": "running"},
    "status.pending": {"zh": "未运行", "en": "not run"},
    "dirty": {"zh": "（工作区有未提交修改）", "en": " (working tree had uncommitted changes)"},
}


def current_lang() -> str:
    lang = os.environ.get("WORKBENCH_LANG", "zh").strip().lower() or "zh"
    return lang if lang in LANGS else "zh"


def resolve_lang(lang: str | None) -> str:
    if not lang:
        return current_lang()
    lang = lang.strip().lower()
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang


def t(key: str, lang: str | None = None, **fields: object) -> str:
    """Translate ``key`` into ``lang`` (default: the current language) and fill ``fields``."""
    entry = _MESSAGES[key]
    return entry[resolve_lang(lang)].format(**fields)


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add messages from another module (each package keeps its own text next to its code)."""
    for key, value in messages.items():
        if set(value) != set(LANGS):
            raise ValueError(f"message {key!r} needs exactly {LANGS}, has {sorted(value)}")
        _MESSAGES[key] = value
