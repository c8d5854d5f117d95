"""Reports in a real browser: a smoke run's index.html and every page it links to, opened in headless Chromium.

Each HTML page fails the test on
- a console error or an uncaught script error,
- a request leaving the machine (every request is intercepted; only file://, data:, blob: and 127.0.0.1 pass),
- a broken link (a local file that does not exist, or a #fragment that names no element),
- Chinese text drawn in a fallback box ("tofu"): for every visible text node holding CJK characters, Chromium is
  asked which platform fonts it drew the node with (DevTools ``CSS.getPlatformFontsForNode``) and each CJK
  character must be in the character map of one of those fonts. Without a CJK font Chromium still reports a
  font (e.g. DejaVu Sans) — drawing .notdef boxes — so the check reads the fonts' cmaps instead of trusting names.

Uses Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it with ``fonts-noto-cjk``); ``playwright install`` is
never needed. A full-page screenshot of every page is saved under the test's tmp dir (or ``$WORKBENCH_SCREENSHOTS``)
and the folder is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
VIEWPORT = {"width": 1280, "height": 900}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts", Path.home() / ".fonts")
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
# Han ideographs (URO, ext. A, compatibility, ext. B and beyond), CJK punctuation, full-width forms.
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")
LOCAL_HOSTS = {"127.0.0.1"}


# --- fonts ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _installed_fonts() -> dict[str, tuple[Path, int]]:
    """PostScript name → (file, index in a collection) of every font file in the standard font folders."""
    from fontTools.ttLib import TTCollection, TTFont

    found: dict[str, tuple[Path, int]] = {}
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()):
            try:
                faces = TTCollection(str(path), lazy=True).fonts if path.suffix.lower() in (".ttc", ".otc") else [TTFont(str(path), lazy=True)]
            except Exception:  # an unreadable file is not a font Chromium can use either
                continue
            for index, face in enumerate(faces):
                name = face["name"].getDebugName(6)
                if name:
                    found.setdefault(name, (path, index))
    return found


@lru_cache(maxsize=None)
def _cmap(postscript_name: str) -> frozenset[int] | None:
    """The code points a platform font can draw, or None when the font file cannot be found."""
    from fontTools.ttLib import TTFont

    where = _installed_fonts().get(postscript_name)
    if where is None:
        return None
    path, index = where
    return frozenset(TTFont(str(path), fontNumber=index, lazy=True).getBestCmap())


# --- one page -------------------------------------------------------------------------------------------------


@dataclass
class PageCheck:
    url: str
    problems: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)
    cjk_nodes: int = 0
    fonts: set[str] = field(default_factory=set)
    screenshot: Path | None = None
    scroll_width: int = 0
    lang: str = ""


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS


def _text_nodes(node: dict, hidden: bool = False):
    """Text nodes of a DOM.getDocument tree, skipping what is never drawn (head, style, script, template)."""
    name = node.get("nodeName", "")
    hidden = hidden or name in ("HEAD", "STYLE", "SCRIPT", "TEMPLATE", "NOSCRIPT", "TITLE")
    if node.get("nodeType") == 3 and not hidden:
        yield node
    for child in node.get("children", []):
        yield from _text_nodes(child, hidden)
    if "contentDocument" in node:
        yield from _text_nodes(node["contentDocument"], hidden)


def tofu(page) -> tuple[list[str], int, set[str]]:
    """CJK characters Chromium drew with a font that has no glyph for them: (problems, CJK nodes checked, fonts)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        problems, checked, used = [], 0, set()
        for node in _text_nodes(root):
            chars = set(CJK.findall(node.get("nodeValue", "")))
            if not chars:
                continue
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
            if not fonts:  # not rendered (display: none, collapsed): nothing drawn, nothing to check
                continue
            checked += 1
            covered: set[int] = set()
            for font in fonts:
                used.add(font["familyName"])
                cmap = None if font.get("isCustomFont") else _cmap(font["postScriptName"])
                if cmap is None:
                    what = "web font" if font.get("isCustomFont") else "font not found in " + ", ".join(map(str, FONT_DIRS))
                    problems.append(f"cannot check glyphs of {font['familyName']!r} ({what}) used for {node['nodeValue'][:40]!r}")
                    continue
                covered |= {ord(c) for c in chars} & cmap
            missing = sorted(c for c in chars if ord(c) not in covered)
            if missing:
                families = ", ".join(f["familyName"] for f in fonts)
                problems.append(f"tofu: {''.join(missing[:10])!r} in {node['nodeValue'].strip()[:40]!r} drawn with {families}")
        return problems, checked, used
    finally:
        cdp.detach()


def check_page(context, url: str, screenshot: Path | None = None) -> PageCheck:
    """Open ``url`` in a new tab of ``context`` and collect its problems and links."""
    result = PageCheck(url=url)
    page = context.new_page()
    page.on("console", lambda msg: result.problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: result.problems.append(f"uncaught script error: {exc}"))
    page.on("websocket", lambda ws: result.problems.append(f"request leaving the machine: websocket {ws.url}") if not _is_local(ws.url) else None)
    page.on("requestfailed", lambda req: result.problems.append(f"failed request: {req.url} ({req.failure})") if _is_local(req.url) else None)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        font_problems, result.cjk_nodes, result.fonts = tofu(page)
        result.problems += font_problems
        result.scroll_width = page.evaluate("document.documentElement.scrollWidth")
        result.lang = page.evaluate("document.documentElement.lang")
        result.links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        result.anchors = set(page.eval_on_selector_all("[id], a[name]", "els => els.map(e => e.id || e.name)"))
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
            result.screenshot = screenshot
    finally:
        page.close()
    return result


# --- the browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright_driver():
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk (.ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def launch(driver, env: dict | None = None):
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env, headless=True)


def offline_context(browser, leaks: list[str]):
    """A browser context in which every request is intercepted; anything not local is aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", service_workers="block")

    def route(route):
        if _is_local(route.request.url):
            route.continue_()
        else:
            leaks.append(f"request leaving the machine: {route.request.method} {route.request.url}")
            route.abort("blockedbyclient")

    context.route("**/*", route)
    return context


@pytest.fixture(scope="module")
def browser(playwright_driver):
    browser = launch(playwright_driver)
    yield browser
    browser.close()


def _screenshot_dir(tmp_path_factory, name: str) -> Path:
    base = os.environ.get("WORKBENCH_SCREENSHOTS")
    folder = Path(base) / name if base else tmp_path_factory.mktemp(name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _say(request, line: str) -> None:
    """A line in the test output even when output is captured (where the screenshots are must be findable)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def crawl(browser, start: Path, screenshots: Path | None) -> tuple[dict[str, PageCheck], list[str]]:
    """Open ``start`` and every local HTML page reachable from it; check every link. Returns (pages, problems)."""
    leaks: list[str] = []
    context = offline_context(browser, leaks)
    pages: dict[str, PageCheck] = {}
    problems: list[str] = []
    queue = deque([start.resolve().as_uri()])
    seen = set(queue)
    fragments: list[tuple[str, str, str]] = []  # (page, target page, fragment), checked once every page is open
    try:
        while queue:
            url = queue.popleft()
            path = Path(unquote(urlsplit(url).path))
            shot = screenshots / f"{len(pages):02d}-{path.stem}.png" if screenshots else None
            check = check_page(context, url, shot)
            pages[url] = check
            problems += [f"{path.name}: {p}" for p in check.problems]
            for link in check.links:
                target, fragment = urldefrag(link)
                parts = urlsplit(target)
                if parts.scheme != "file":
                    if parts.scheme in ("http", "https") and not _is_local(target):
                        problems.append(f"{path.name}: link leaves the machine: {link}")
                    continue
                file = Path(unquote(parts.path))
                if not file.exists():
                    problems.append(f"{path.name}: broken link: {link} ({file} does not exist)")
                elif file.suffix in (".json", ".ipynb"):
                    try:
                        json.loads(file.read_text(encoding="utf-8"))
                    except (OSError, ValueError) as exc:
                        problems.append(f"{path.name}: link to an unreadable file: {file} ({exc})")
                elif file.suffix in (".html", ".htm"):
                    if fragment:
                        fragments.append((path.name, target, fragment))
                    if target not in seen:
                        seen.add(target)
                        queue.append(target)
    finally:
        context.close()
    for name, target, fragment in fragments:
        # as a browser resolves it (HTML "find a potential indicated element"): the fragment as written, then decoded
        if target in pages and not {fragment, unquote(fragment)} & pages[target].anchors:
            problems.append(f"{name}: broken link: #{unquote(fragment)} names no element of {Path(unquote(urlsplit(target).path)).name}")
    return pages, problems + leaks


# --- tests ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke_reports(smoke_run, browser, tmp_path_factory, request):
    """The session's smoke run crawled once from its index.html: (run, pages by URL, problems)."""
    screenshots = _screenshot_dir(tmp_path_factory, "report-screenshots")
    pages, problems = crawl(browser, smoke_run.index, screenshots)
    _say(request, f"\nbrowser: {len(pages)} pages, screenshots in {screenshots}")
    for check in pages.values():
        name = Path(unquote(urlsplit(check.url).path)).name
        wide = f", {check.scroll_width}px wide (viewport {VIEWPORT['width']})" if check.scroll_width > VIEWPORT["width"] else ""
        _say(request, f"  {name}: lang={check.lang!r}, {check.cjk_nodes} CJK text nodes, fonts {sorted(check.fonts)}, {len(check.links)} links{wide}")
    return smoke_run, pages, problems


def _page_name(url: str) -> str:
    return Path(unquote(urlsplit(url).path)).name


@pytest.mark.slow
@pytest.mark.notebooks
def test_smoke_run_reports_in_a_browser(smoke_reports):
    """index.html and every stage report open without console errors, remote requests, broken links or tofu."""
    run, pages, problems = smoke_reports
    opened = {Path(unquote(urlsplit(u).path)).resolve() for u in pages}
    expected = {run.index.resolve()} | {(run.run_dir / s["html"]).resolve() for s in run.manifest["stages"] if s.get("html")}
    assert len(expected) == 1 + len(run.manifest["stages"])  # every stage rendered a report
    assert expected <= opened, f"reports not reachable from index.html: {sorted(map(str, expected - opened))}"
    for check in pages.values():
        assert check.cjk_nodes > 0, f"{_page_name(check.url)}: no Chinese text found, so the font check checked nothing"
        assert check.screenshot is not None and check.screenshot.stat().st_size > 0
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.notebooks
def test_reports_declare_the_run_language(smoke_reports):
    """<html lang> matches the run's language: screen readers and the browser's CJK font choice depend on it."""
    run, pages, _ = smoke_reports
    lang = run.manifest["lang"]
    wrong = {_page_name(u): c.lang for u, c in pages.items() if c.lang.split("-")[0] != lang}
    assert not wrong, f"pages whose <html lang> is not {lang!r}: {wrong}"


BAD_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>坏页面</title>
<style>body { font-family: "Noto Sans CJK SC", sans-serif; }</style></head>
<body><h1 id="top">柜员 胜任力报告</h1>
<p>合规意识：客户经理在面试中表现良好。</p>
<img src="https://cdn.example.com/logo.png" alt="">
<a href="missing.html">缺失的报告</a> <a href="#nowhere">锚点</a> <a href="#top">顶部</a> <a href="good.html">好页面</a>
<script>console.error("boom");</script>
</body></html>"""

GOOD_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>好页面</title>
<style>body { font-family: "DejaVu Sans", sans-serif; }</style></head>
<body><h1>风险经理（综合素质）</h1><p>我不会睁一只眼闭一只眼，English words 混排 123。</p></body></html>"""


def _write_pages(folder: Path) -> Path:
    (folder / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    (folder / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    return folder / "bad.html"


def test_checker_catches_each_kind_of_problem(browser, tmp_path):
    """The crawler is not toothless: a page with a console error, a remote image and broken links fails."""
    pages, problems = crawl(browser, _write_pages(tmp_path), screenshots=None)
    text = "\n".join(problems)
    assert len(pages) == 2  # good.html was followed
    assert "console error: boom" in text
    assert "request leaving the machine: GET https://cdn.example.com/logo.png" in text
    assert "missing.html" in text and "does not exist" in text
    assert "#nowhere names no element" in text and "#top" not in text
    assert "tofu" not in text  # with fonts-noto-cjk, Chinese forced into DejaVu Sans still falls back to a CJK font
    good = next(p for u, p in pages.items() if u.endswith("good.html"))
    assert good.problems == [] and good.cjk_nodes == 2


def _fontconfig_without_cjk(folder: Path) -> Path:
    """A fontconfig file that offers Chromium only the installed fonts without Chinese glyphs (as if
    fonts-noto-cjk were not installed)."""
    fonts = folder / "fonts"
    fonts.mkdir(parents=True)
    han = ord("中")
    kept = 0
    for name, (path, index) in _installed_fonts().items():
        if path.suffix.lower() not in (".ttf", ".otf") or (fonts / path.name).exists():
            continue  # collections hold CJK faces; a single-font file is either kept or dropped as a whole
        if han not in _cmap(name):
            (fonts / path.name).symlink_to(path)
            kept += 1
    assert kept, "no font without CJK glyphs installed to build the negative control from"
    (folder / "cache").mkdir()
    conf = folder / "fonts.conf"
    conf.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{folder / 'cache'}</cachedir></fontconfig>
""",
        encoding="utf-8",
    )
    return conf


def test_tofu_is_caught_when_no_cjk_font_is_installed(playwright_driver, tmp_path):
    """The font check really fails without fonts-noto-cjk: Chromium restricted to non-CJK fonts draws boxes."""
    page_path = tmp_path / "pages"
    page_path.mkdir()
    _write_pages(page_path)
    conf = _fontconfig_without_cjk(tmp_path / "fc")
    browser = launch(playwright_driver, env=dict(os.environ, FONTCONFIG_FILE=str(conf)))
    try:
        leaks: list[str] = []
        context = offline_context(browser, leaks)
        try:
            check = check_page(context, (page_path / "good.html").as_uri())
        finally:
            context.close()
    finally:
        browser.close()
    tofu_lines = [p for p in check.problems if p.startswith("tofu:")]
    assert len(tofu_lines) == 2, check.problems  # the heading and the paragraph
    assert "风险经理" in tofu_lines[0] and all("Noto" not in line for line in tofu_lines)
