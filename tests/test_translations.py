"""The English catalogue: complete for every string in the source, faithful to its placeholders, served.

The interface is written in French in the source (``_()``, ``_l``/``lazy_gettext``, ``{{ _("…") }}``
in the templates and the e-mail bodies); ``grants/translations/en/LC_MESSAGES/messages.po`` holds
the English. A string added without its translation fails ``test_every_source_string_is_translated``
with the list of what is missing and the commands that bring the catalogue up to date.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import get_babel

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
EN_DIR = ROOT / "grants" / "translations" / "en" / "LC_MESSAGES"
EN_PO = EN_DIR / "messages.po"
EN_MO = EN_DIR / "messages.mo"

# The keywords of the extraction command below: Babel's defaults (_, gettext, ngettext, pgettext…)
# plus Flask-Babel's lazy forms as the source imports them.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
UPDATE_COMMANDS = (
    ".venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/messages.pot .\n"
    "  .venv/bin/pybabel update -i /tmp/messages.pot -d grants/translations --no-fuzzy-matching\n"
    "  then translate the new entries in grants/translations/en/LC_MESSAGES/messages.po "
    "(and drop any 'fuzzy' flag)"
)
# %(name)s, %(count)d, %s, %.2f, %% …: what Python's %-formatting reads in a string.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
NAMED_PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def load_catalogue():
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


def source_messages():
    """Every message of the source, extracted as ``pybabel extract`` does with babel.cfg."""
    with BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(BABEL_CFG))
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if isinstance(message, tuple | list):
            message = tuple(message)
            if not message[0]:
                continue
        elif not message:
            continue
        found.setdefault((message, context), f"{filename}:{lineno}")
    return found


def is_translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(s and s.strip() for s in strings)


def describe(msgid, context=None) -> str:
    text = " / ".join(msgid) if isinstance(msgid, tuple) else msgid
    return f"{text!r}" + (f" (context {context!r})" if context else "")


# -- (a) every source string has an English translation ------------------------------------------


def test_every_source_string_is_translated():
    catalogue = load_catalogue()
    extracted = source_messages()
    assert len(extracted) > 100, "the extraction found almost nothing: is babel.cfg still right?"

    problems = []
    for (msgid, context), location in sorted(extracted.items(), key=lambda item: item[1]):
        entry = catalogue.get(msgid, context=context)
        if entry is None:
            problems.append(f"{location}: not in the catalogue: {describe(msgid, context)}")
        elif isinstance(msgid, tuple) and not entry.pluralizable:
            problems.append(f"{location}: plural in the source, singular in the catalogue: {describe(msgid)}")
        elif entry.fuzzy:
            problems.append(f"{location}: fuzzy (to be checked, and not compiled): {describe(msgid, context)}")
        elif not is_translated(entry):
            problems.append(f"{location}: untranslated: {describe(msgid, context)}")
    assert not problems, (
        f"{len(problems)} message(s) of the source lack an English translation in {EN_PO.relative_to(ROOT)}:\n  "
        + "\n  ".join(problems)
        + f"\nTo update the catalogue:\n  {UPDATE_COMMANDS}"
    )


def test_catalogue_is_complete_and_not_fuzzy():
    catalogue = load_catalogue()
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy: pybabel compile would skip it"
    untranslated = [describe(m.id, m.context) for m in catalogue if m.id and not is_translated(m)]
    fuzzy = [describe(m.id, m.context) for m in catalogue if m.id and m.fuzzy]
    assert not untranslated, "untranslated entries:\n  " + "\n  ".join(untranslated)
    assert not fuzzy, "fuzzy entries (check them, then remove the flag):\n  " + "\n  ".join(fuzzy)


# -- (b) every translation keeps the placeholders of its msgid -----------------------------------


class AnyValue(dict):
    """A mapping that has every key: formatting a string with it shows whether the string formats."""

    def __missing__(self, key):
        return 1


def formats(text: str) -> bool:
    try:
        text % AnyValue()
    except (TypeError, ValueError):
        return False
    return True


def placeholder_problems(catalogue) -> list[str]:
    problems = []
    for message, errors in catalogue.check():  # Babel's checkers: python-format and plural forms
        problems += [f"{describe(message.id, message.context)}: {error}" for error in errors]
    for message in catalogue:
        if not message.id or not is_translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Named placeholders must match wherever they appear, flagged python-format or not; all
        # %-placeholders must match in python-format messages (a bare "100 %" elsewhere is text).
        pattern = PLACEHOLDER if message.python_format else NAMED_PLACEHOLDER
        expected = sorted(set(pattern.findall(ids[0])) | set(pattern.findall(ids[-1])))
        for index, string in enumerate(strings):
            found = sorted(set(pattern.findall(string)))
            if found != expected:
                problems.append(
                    f"{describe(message.id)}: msgstr[{index}] {string!r} has {found}, the msgid {expected}"
                )
        # Jinja's newstyle gettext %-formats every template string, variables or not, and Python
        # formats python-format ones: there a stray "%" breaks the page ("100 %%" is a literal %).
        if message.python_format or any(path.startswith("templates/") for path, _line in message.locations):
            for index, string in enumerate(strings):
                if formats(ids[min(index, len(ids) - 1)]) and not formats(string):
                    problems.append(f"{describe(message.id)}: msgstr[{index}] {string!r} does not %-format")
    return problems


def test_translations_keep_their_placeholders():
    problems = placeholder_problems(load_catalogue())
    assert not problems, "translations that change their placeholders:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("msgid, msgstr, flags", [
    ("Bonjour %(name)s,", "Hello %(nom)s,", ("python-format",)),
    ("Bonjour %(name)s,", "Hello,", ("python-format",)),
    ("Reste : %(amount)s", "Remaining: %(amount)d", ("python-format",)),
    ("Rejoindre %(name)s", "Join the organisation", ()),
    (("ouvre dans %(num)d jour", "ouvre dans %(num)d jours"), ("opens in one day", "opens in %(num)d days"),
     ("python-format",)),
    ("Les parts font 100 %% au total.", "The shares add up to 100%.", ()),
])
def test_placeholder_check_reports_a_broken_translation(msgid, msgstr, flags):
    """The check above is not vacuous: a translation that loses or renames a placeholder, or that
    Jinja could not format, is reported."""
    catalogue = Catalog(locale="en")
    catalogue.add(msgid, msgstr, flags=flags, locations=[("templates/example.html", 1)])
    assert placeholder_problems(catalogue)


# -- (c) the English interface is served --------------------------------------------------------


def compile_catalogue_if_stale() -> None:
    """``make translations`` compiles the .mo; when it is missing or older than the .po, do it here."""
    if EN_MO.exists() and EN_MO.stat().st_mtime >= EN_PO.stat().st_mtime:
        return
    catalogue = load_catalogue()
    # Written aside then renamed, so that a parallel test worker never reads half a file.
    fd, temporary = tempfile.mkstemp(dir=EN_DIR, prefix=".messages-", suffix=".mo")
    try:
        os.fchmod(fd, 0o644)  # as pybabel compile leaves it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalogue)
        os.replace(temporary, EN_MO)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@pytest.fixture
def english_catalogue(app):
    compile_catalogue_if_stale()
    # Flask-Babel caches loaded catalogues per process: make it read the file compiled above.
    get_babel(app).instance.domain_instance.cache.clear()


def switch_language(client, locale: str, next_path: str = "/appels/"):
    response = client.post("/langue", data={"locale": locale, "next": next_path})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith(next_path)
    return client.get(next_path)


def test_language_switch_serves_english_then_french_again(client, english_catalogue):
    page = client.get("/appels/").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Appels à projets" in page

    response = switch_language(client, "en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    for english in ("Calls for projects", "Skip to content", "Main navigation", "On this page",
                    "No calls are open at the moment.", "Times are shown in Paris time.", "Sign in"):
        assert english in page, f"{english!r} missing from the English /appels/"
    for french in ("Appels à projets", "Aller au contenu", "Aucun appel n&#39;est ouvert", "Se connecter"):
        assert french not in page, f"{french!r} still in French on the English /appels/"

    response = client.get("/connexion")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for english in ("Email address", "Password", "Remember me", "Forgotten your password?",
                    "No account yet?", "Create an account"):
        assert english in page, f"{english!r} missing from the English /connexion"
    assert "Mot de passe oublié" not in page and "Adresse e-mail" not in page

    response = switch_language(client, "fr")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page and "Appels à projets" in page and "Aller au contenu" in page
    assert "Calls for projects" not in page
    page = client.get("/connexion").get_data(as_text=True)
    assert "Mot de passe oublié ?" in page and "Forgotten your password?" not in page
