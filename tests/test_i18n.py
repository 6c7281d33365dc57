"""Chinese by default, complete English, and translations that build without GNU gettext."""

import ast
import io
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation.template import templatize

from tests import factories

pytestmark = pytest.mark.django_db

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"


def test_default_language_is_chinese(client):
    client.force_login(factories.operator())

    content = client.get("/ops/").content.decode()

    assert '<html lang="zh-hans">' in content
    assert "数据看板" in content
    assert "退出登录" in content


def test_browser_language_does_not_override_the_chinese_default(client):
    content = client.get("/", headers={"accept-language": "en-US,en;q=0.9"}).content.decode()

    assert "成员登录" in content


def test_member_pages_default_to_chinese(client):
    client.force_login(factories.member())

    content = client.get("/m/").content.decode()

    assert "我的社群" in content
    assert "首页" in content


def test_switching_to_english(client):
    client.force_login(factories.operator())

    response = client.post(reverse("set_language"), {"language": "en", "next": "/ops/"})

    assert response.status_code == 302
    assert response["Location"] == "/ops/"
    content = client.get("/ops/").content.decode()
    assert '<html lang="en">' in content
    assert "Dashboard" in content
    assert "Sign out" in content
    assert "数据看板" not in content


def test_switching_back_to_chinese(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    assert "员工登录" in client.get("/accounts/login/").content.decode()


def test_every_page_offers_the_language_switch(client):
    client.force_login(factories.host())

    content = client.get("/host/").content.decode()

    assert reverse("set_language") in content
    assert 'value="en"' in content


def test_service_messages_follow_the_language(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    response = client.post("/m/login/", {"action": "send", "phone": "123"})

    assert "Enter a valid mobile phone number." in response.content.decode()


def test_chinese_catalog_is_complete():
    catalog = polib.pofile(str(LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"))

    assert len(catalog) > 100
    assert [e.msgid for e in catalog.untranslated_entries()] == []
    assert [e.msgid for e in catalog.fuzzy_entries()] == []
    assert not catalog.metadata_is_fuzzy


def test_the_chinese_catalog_speaks_to_the_reader_in_one_voice():
    # 您 throughout (a brand speaking to its members and staff); a 你 among them reads as a slip.
    catalog = polib.pofile(str(LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    familiar = [
        entry.msgid
        for entry in catalog
        if "你" in entry.msgstr or any("你" in text for text in entry.msgstr_plural.values())
    ]
    assert familiar == []


def test_english_catalog_exists():
    catalog = polib.pofile(str(LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"))

    assert len(catalog) > 100
    assert catalog.fuzzy_entries() == []


def test_compiletranslations_builds_mo_files(tmp_path, settings):
    locale = tmp_path / "locale"
    for lang in ("zh_Hans", "en"):
        target = locale / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "django.po").write_bytes((LOCALE_DIR / lang / "LC_MESSAGES" / "django.po").read_bytes())
    settings.LOCALE_PATHS = [locale]

    out = io.StringIO()
    call_command("compiletranslations", stdout=out)

    mo = polib.mofile(str(locale / "zh_Hans" / "LC_MESSAGES" / "django.mo"))
    assert mo.find("Sign out").msgstr == "退出登录"
    assert (locale / "en" / "LC_MESSAGES" / "django.mo").exists()
    assert "Compiled 2 translation file(s)." in out.getvalue()


def test_compiling_drops_catalogues_loaded_before_it():
    # bin/dev compiles and then seeds the demo in one process: the seed must see the new .mo files.
    from django.utils import translation
    from django.utils.translation import trans_real

    with translation.override("zh-hans"):
        translation.gettext("Orders")
    assert trans_real._translations

    call_command("compiletranslations", stdout=io.StringIO())

    assert trans_real._translations == {}
    with translation.override("zh-hans"):
        assert translation.gettext("This jielong is closed.") == "这个接龙已经结束。"


# --- every message the code shows has its Chinese translation --------------------------------------------------

_STRING = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_TEMPLATE_CALL = re.compile(rf"\b(gettext|pgettext|ngettext)\(({_STRING}(?:,\s*{_STRING})*)")
_PY_FUNCS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
_APPS = (
    "community",
    "catalogue",
    "livestream",
    "media",
    "jielong",
    "fulfillment",
    "aftersales",
    "feedback",
    "highlights",
    "fission",
    "analytics",
    "cdp",
    "bi",
    "api",
    "webhooks",
    "privacy",
    "groupbuy",
    "demo",
)


def _python_messages(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in _PY_FUNCS:
            continue
        strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if name.startswith("pgettext"):
            strings = strings[1:2]  # the first argument is the context
        yield from strings[:1]  # ngettext: the singular is the catalogue's key


def _template_messages(path: Path):
    source = templatize(path.read_text(), origin=str(path))
    for function, arguments in _TEMPLATE_CALL.findall(source):
        strings = ast.literal_eval(f"({arguments},)")
        yield from strings[1:2] if function == "pgettext" else strings[:1]


def _messages_in_the_code() -> dict[str, str]:
    found: dict[str, str] = {}
    base = Path(settings.BASE_DIR)
    for app in _APPS:
        for path in (base / app).rglob("*.py"):
            if "migrations" not in path.parts:
                for message in _python_messages(path):
                    found.setdefault(message, str(path.relative_to(base)))
    for path in (base / "templates").rglob("*.html"):
        for message in _template_messages(path):
            found.setdefault(message, str(path.relative_to(base)))
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    """A msgid missing from the catalogue shows English in the Chinese product (the default language)."""
    catalog = {e.msgid: e for e in polib.pofile(str(LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"))}
    found = _messages_in_the_code()

    assert len(found) > 500
    missing = {m: where for m, where in found.items() if m not in catalog or not catalog[m].translated()}
    assert missing == {}
