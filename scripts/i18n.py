"""Catalogue chores for developers and translators, with Babel (the library behind pybabel).

    .venv/bin/python -m scripts.i18n extract      # translations/messages.pot from code + templates
    .venv/bin/python -m scripts.i18n update       # extract, then bring every .po up to date
    .venv/bin/python -m scripts.i18n init ko      # start translations/ko/LC_MESSAGES/messages.po
    .venv/bin/python -m scripts.i18n check        # what is missing, empty, fuzzy or mismatched

The same as ``pybabel extract -F babel.cfg -k _l -k _lp:1c,2 ...`` and ``pybabel update``,
with the project's keywords and options written down once. The app compiles the .po files
itself when it starts (core/i18n.py), so there is no compile step and no .mo file.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
# _l / _lp: lazy texts (core/text.py); the rest are gettext's usual names, in Python and Jinja.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "_lp": ((1, "c"), 2)}
PROJECT = "scenic-smart"
# %(name)s and friends, %% included: what must match between a msgid and its translation.
PLACEHOLDER = re.compile(r"%(?:\(([\w]*)\))?([-#0 +]?(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?)"
                         r"([diouxXeEfFgGcrs%])")


def new_catalog(lang: str | None = None) -> Catalog:
    """An empty catalogue (a template when ``lang`` is None) with this project's header."""
    name = Locale.parse(lang).english_name if lang else "Template for the"
    authors = "the scenic-smart authors"
    return Catalog(locale=lang, project=PROJECT, version="1", charset="utf-8", fuzzy=False,
                   copyright_holder=authors, last_translator=authors, language_team=authors,
                   msgid_bugs_address="the project's issue tracker",
                   header_comment=f"# {name} translations of the scenic-smart interface; the "
                                  "msgids are the English source texts.\n"
                                  "# Licence: AGPL-3.0-or-later, like the code.")


def extract(root: Path = ROOT) -> Catalog:
    """A fresh template catalogue from the code and templates babel.cfg names."""
    with open(root / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    template = new_catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("NOTE:",),
            strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parent.parent.name, abort_invalid=True)


def write(catalog: Catalog, path: Path) -> bool:
    """Write a catalogue; True when the file changed."""
    buf = io.BytesIO()
    # File names without line numbers: a translator sees where a text is used, and a change
    # of code elsewhere in the file does not touch the catalogue.
    write_po(buf, catalog, width=100, omit_header=False, ignore_obsolete=False,
             include_previous=False, include_lineno=False)
    data = buf.getvalue()
    if path.exists() and _without_dates(path.read_bytes()) == _without_dates(data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _without_dates(data: bytes) -> bytes:
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*"', b"", data)


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted((m.group(1) or "", m.group(3)) for m in PLACEHOLDER.finditer(text))


def problems(template: Catalog, catalog: Catalog) -> list[str]:
    """Every msgid of the template that the catalogue lacks, leaves empty or fuzzy, or
    translates with other placeholders than the msgid's."""
    out = []
    for message in template:
        if not message.id:
            continue
        where = f"{message.id!r}" + (f" (context {message.context!r})" if message.context else "")
        found = catalog.get(message.id, message.context)
        if found is None:
            out.append(f"{catalog.locale}: missing {where}")
        elif not found.string:
            out.append(f"{catalog.locale}: empty {where}")
        elif found.fuzzy:
            out.append(f"{catalog.locale}: fuzzy {where}")
        elif placeholders(found.string) != placeholders(message.id):
            out.append(f"{catalog.locale}: placeholders differ in {where}: "
                       f"{found.string!r}")
    return out


def update(root: Path = ROOT) -> list[Path]:
    """Extract, then add new msgids to every catalogue (untranslated) and mark obsolete
    (``#~``) the ones the code no longer has; an obsolete one the code uses again comes back
    with its translation (a merge may take a text away and bring it back). No fuzzy
    guesses: a translator sees a new text as new."""
    template = extract(root)
    changed = []
    for path in sorted((root / "translations").glob("*/LC_MESSAGES/messages.po")):
        catalog = read(path)
        for message in template:
            key = (message.id, message.context) if message.context else message.id
            old = catalog.obsolete.pop(key, None)
            if old is not None and catalog.get(message.id, message.context) is None:
                catalog.add(old.id, old.string, context=old.context, flags=old.flags)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        if write(catalog, path):
            changed.append(path)
    return changed


def init(lang: str, root: Path = ROOT) -> Path:
    path = root / "translations" / lang / "LC_MESSAGES" / "messages.po"
    if path.exists():
        raise SystemExit(f"{path} exists already: use update")
    catalog = new_catalog(lang)
    catalog.update(extract(root), no_fuzzy_matching=True)
    write(catalog, path)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("extract")
    sub.add_parser("update")
    sub.add_parser("check")
    p_init = sub.add_parser("init")
    p_init.add_argument("lang")
    args = parser.parse_args(argv)
    if args.command == "extract":
        pot = ROOT / "translations" / "messages.pot"
        write(extract(), pot)
        print(f"wrote {pot.relative_to(ROOT)}")
    elif args.command == "update":
        for path in update():
            print(f"updated {path.relative_to(ROOT)}")
    elif args.command == "init":
        print(f"created {init(args.lang).relative_to(ROOT)}: translate it, then restart the app")
    else:
        template = extract()
        found = [p for path in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
                 for p in problems(template, read(path))]
        print("\n".join(found) or "every catalogue is complete")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
