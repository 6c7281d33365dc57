"""The Content-Security-Policy allows no inline script or style: no template may carry a <script> body, an
on*= handler, a style="" attribute, a <style> element or a javascript: URL, and no page script may write one."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATE_ROOTS = [
    Path(settings.BASE_DIR) / "templates",
    *sorted(p for p in Path(settings.BASE_DIR).glob("*/templates") if ".venv" not in p.parts),
]
TEMPLATES = sorted(path for root in TEMPLATE_ROOTS for path in root.rglob("*.html"))
SCRIPTS = sorted((Path(settings.BASE_DIR) / "static" / "js").rglob("*.js"))

# A <script> element without src=: an inline body (json_script's output is rendered, never written by hand).
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^<>]*?\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^<>]*?\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)
RULES = {
    "inline <script>": INLINE_SCRIPT,
    "on*= handler": HANDLER,
    'style="" attribute': STYLE_ATTRIBUTE,
    "<style> element": STYLE_ELEMENT,
    "javascript: URL": JAVASCRIPT_URL,
}
# Page scripts: writing a style attribute or markup with one (or a handler) is refused by the policy too;
# element.style.x = … (the CSSOM) is allowed. Strings that build HTML are where these would hide.
SCRIPT_RULES = {
    'setAttribute("style")': re.compile(r"""setAttribute\(\s*["']style["']"""),
    "markup with style=": re.compile(r"""["'`][^"'`\n]*<[a-z][^"'`\n]*\sstyle=""", re.I),
    "markup with on*=": re.compile(r"""["'`][^"'`\n]*<[a-z][^"'`\n]*\son[a-z]+=""", re.I),
    "eval": re.compile(r"\beval\(|new Function\("),
}


def _hits(text: str, rules: dict) -> list[str]:
    found = []
    for name, pattern in rules.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line} | {name} | {match.group(0)[:80]!r}")
    return found


def test_there_are_templates_and_scripts_to_check():
    assert len(TEMPLATES) > 150
    assert len(SCRIPTS) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_template_has_no_inline_script_or_style(path):
    assert _hits(path.read_text(encoding="utf-8"), RULES) == []


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_page_script_writes_no_inline_style_or_handler(path):
    assert _hits(path.read_text(encoding="utf-8"), SCRIPT_RULES) == []


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script type="module">x()</script>', "inline <script>"),
        ('<button onclick="go()">', "on*= handler"),
        ("<form method=post\n onsubmit='x'>", "on*= handler"),
        ('<span style="width: 5%">', 'style="" attribute'),
        ("<style>.a{}</style>", "<style> element"),
        ('<a href="javascript:void(0)">', "javascript: URL"),
    ],
)
def test_the_rules_catch_what_they_name(snippet, rule):
    assert [hit.split(" | ")[1] for hit in _hits(snippet, RULES)] == [rule]


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/js/page.js" defer></script>',
        "<script\n  src=\"{% static 'js/x.js' %}\"></script>",
        '<form data-ask="Cancel?" class="one">',
        '<span class="pct-{{ n }}">',
        "<p>Click on=the button</p>",
    ],
)
def test_the_rules_let_the_allowed_forms_through(snippet):
    assert _hits(snippet, RULES) == []
