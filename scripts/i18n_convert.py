"""Rewrite the old two-language message patterns into gettext (issue 13, item 5).

    .venv/bin/python -m scripts.i18n_convert [--check]

Re-runnable and idempotent: run it on a tree where some code is converted and some is not
(a merge of branches written in the old pattern) and it converts what is left; run it twice
and the second run changes nothing. ``--check`` changes nothing and exits 1 when there is
something to convert. Whatever it does not understand it leaves as it is and lists, with file
and line; it never guesses a text.

  Python
    DomainError("code", "English.", 400, message_zh="中文。")   (and every error class)
        -> DomainError("code", _l("English."), 400)
    f"There is no site '{site_id}'."  (and message_zh=f"...{site_id}...")
        -> _l("There is no site '%(site_id)s'.", site_id=site_id)
    def _bad(code, en, zh): return ValidationError(code, en, message_zh=zh)  (a wrapper)
        -> def _bad(code, en): ...; each call's English becomes _l(...), its Chinese goes
    t("key", n=x)  (t from core.i18n)          -> _("English %(n)s", n=x)  (flask_babel)
    t(expr) / t("key", lang)                  -> label(expr) / label("key", lang)
    ("X" if get_lang() == "zh" else "Y") + e  -> _("Y%(e)s", e=e)
  <domain>/messages.py  MESSAGES = {"dom.key": {"zh": .., "en": ..}}
        -> keys still looked up at run time (built keys, keys held in variables, keys named
           nowhere) stay as LABELS = {"dom.key": _l("English")}; the file goes when none do
  templates/**.html
    _('key') / _('key', n=x)                  -> _('English') / _('English %(n)s', n=x)
    _('prefix.' ~ x) / _(var) / _('key', 'zh') -> label(...)
    'X' if lang == 'zh' else 'Y'  (X Chinese) -> _('Y')
    pick({'zh': 'X', 'en': 'Y'})              -> _('Y')
  The Chinese texts it removes go to translations/zh/LC_MESSAGES/messages.po (code wins over
  an older entry); the .po is then brought up to date with a fresh extraction
  (scripts/i18n.py update). One English text with two Chinese translations gets a gettext
  context per key (pgettext / _lp). Every key it has seen is kept in scripts/i18n_keymap.json,
  so templates written later with old keys still convert after messages.py has gone.
Static JS with Chinese text or language tests is listed for a hand fix (texts from the page).
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from jinja2 import Environment
from jinja2.lexer import operators as JINJA_OPERATORS

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.i18n_convert_py import (HAN, MAX_LINE, NOT_A_KEY_IN, Entry, PySource,  # noqa: E402
                                     Run, Unsupported, braces, convert_python,
                                     error_classes, py_str)

ROOT = Path(__file__).resolve().parents[1]
KEYMAP = Path("scripts/i18n_keymap.json")
PO = Path("translations/zh/LC_MESSAGES/messages.po")
MESSAGES_FILE = re.compile(r"[a-z_]+/messages\.py")
# Never rewritten: the machinery itself. Tests and benchmarks are only checked for leftovers.
SKIP = {"scripts/i18n_convert.py", "scripts/i18n_convert_py.py", "scripts/i18n.py",
        "core/i18n.py", "core/text.py", "core/errors.py", "admission/errors.py",
        "admission/text.py"}
NOT_CONVERTED = ("tests/", "bench/")


# --- keys -------------------------------------------------------------------------------------

def load_keys(run: Run, message_files: list[Path]) -> None:
    """Keys from every MESSAGES dict and the keymap of earlier runs; an English text with two
    Chinese translations gets its key as gettext context."""
    keymap = run.root / KEYMAP
    saved = json.loads(keymap.read_text(encoding="utf-8")) if keymap.exists() else {}
    run.keys.update(saved.get("keys", {}))
    run.wrappers.extend(saved.get("wrappers", []))
    # Keys seen by an earlier run are labels (read again from the converted messages.py
    # files, so a label deleted by hand stays deleted) or were converted; when a merge
    # brings their old MESSAGES back, only the labels come back.
    in_messages = {k for path in message_files for k in messages_dict(path)}
    on_disk = {k for path in message_files if not messages_dict(path)
               for k in labels_dict(path)}
    run.known = {"labels": on_disk | (set(saved.get("labels", [])) & in_messages),
                 "seen": set(saved.get("keys", {}))}
    for path in message_files:
        for key, value in messages_dict(path).items():
            run.keys[key] = {"en": value["en"], "zh": value["zh"],
                             "file": str(path.relative_to(run.root))}
    by_en: dict[str, set] = {}
    for value in run.keys.values():
        by_en.setdefault(value["en"], set()).add(value["zh"])
    for key, value in run.keys.items():
        run.contexts[key] = key if len(by_en[value["en"]]) > 1 else None


def messages_dict(path: Path) -> dict:
    return messages_dict_text(path.read_text(encoding="utf-8"))


def messages_dict_text(text: str) -> dict:
    tree = ast.parse(text)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "MESSAGES"):
            value = ast.literal_eval(node.value)
            return {k: v for k, v in value.items() if isinstance(v, dict) and "en" in v}
    return {}


def placeholder_names(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"%\((\w+)\)", text)))


def labels_dict(path: Path) -> dict:
    """The LABELS dict of a converted messages.py: key -> source text of its value."""
    return labels_dict_text(path.read_text(encoding="utf-8"))


def labels_dict_text(text: str) -> dict:
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == "LABELS" and isinstance(node.value, ast.Dict):
            src = PySource(text)
            return {ast.literal_eval(k): src.segment(v)
                    for k, v in zip(node.value.keys, node.value.values)}
    return {}


def key_text(run: Run, key: str) -> str:
    return braces(run.keys[key]["en"])


def record_key(run: Run, key: str, where: str) -> None:
    value = run.keys[key]
    run.converted_keys.add(key)
    run.entries.append(Entry(braces(value["en"]), braces(value["zh"]), run.contexts[key],
                             where=where))


# --- templates ------------------------------------------------------------------------------

JINJA = Environment()


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(type, value, offset) of every token, whitespace included, so offsets are exact."""
    out, pos = [], 0
    for _, kind, value in JINJA.lexer.tokeniter(text, "template"):
        start = text.index(value, pos) if value else pos
        if kind == "operator":
            kind = JINJA_OPERATORS[value]
        out.append((kind, value, start))
        pos = start + len(value)
    return out


def _jinja_str(text: str, prefer: str = "'") -> str:
    quote = prefer if prefer not in text else ('"' if '"' not in text else prefer)
    body = text.replace("\\", "\\\\").replace("\n", "\\n")
    if quote in body:
        body = body.replace(quote, "\\" + quote)
    return quote + body + quote


def _string_value(token_value: str) -> str:
    return ast.literal_eval(token_value)


class TemplateConverter:
    """One pass over one template, on Jinja's own tokens (so strings, brackets and ``}}`` inside
    expressions are read as Jinja reads them). Edits that enclose others wait a pass."""

    def __init__(self, run: Run, rel: str, text: str):
        self.run, self.rel, self.text = run, rel, text
        self.code = [t for t in _tokens(text) if t[0] != "whitespace"]
        self.edits: list[tuple[int, int, str, object]] = []

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def end(self, i: int) -> int:
        return self.code[i][2] + len(self.code[i][1])

    def matching(self, i: int) -> int:
        depth = 0
        for j in range(i, len(self.code)):
            if self.code[j][0] in ("lparen", "lbracket", "lbrace"):
                depth += 1
            elif self.code[j][0] in ("rparen", "rbracket", "rbrace"):
                depth -= 1
                if depth == 0:
                    return j
        raise Unsupported("unbalanced brackets")

    def args(self, open_i: int, close_i: int) -> list[tuple[int, int]]:
        """Token index ranges of the arguments between two brackets."""
        out, depth, start = [], 0, open_i + 1
        for j in range(open_i + 1, close_i):
            kind = self.code[j][0]
            if kind in ("lparen", "lbracket", "lbrace"):
                depth += 1
            elif kind in ("rparen", "rbracket", "rbrace"):
                depth -= 1
            elif kind == "comma" and depth == 0:
                out.append((start, j - 1))
                start = j + 1
        if start <= close_i - 1:
            out.append((start, close_i - 1))
        return out

    def src(self, a: int, b: int) -> str:
        return self.text[self.code[a][2]:self.end(b)]

    def visit(self) -> None:
        code = self.code
        for i, (kind, value, offset) in enumerate(code):
            try:
                if kind == "name" and value in ("_", "pick") and i + 1 < len(code) \
                        and code[i + 1][0] == "lparen":
                    (self.underscore if value == "_" else self.pick)(i)
                elif kind == "string" and i + 6 < len(code):
                    self.lang_test(i)
            except Unsupported as exc:
                self.run.problem(self.rel, self.line(offset), str(exc))

    def literal_keys(self) -> None:
        for i, (kind, value, offset) in enumerate(self.code):
            if kind == "string" and _string_value(value) in self.run.keys and not (
                    i >= 2 and self.code[i - 1][0] == "lparen"
                    and self.code[i - 2][1] in NOT_A_KEY_IN):
                self.run.kept_keys.add(_string_value(value))

    def underscore(self, i: int) -> None:
        close = self.matching(i + 1)
        args = self.args(i + 1, close)
        if not args:
            return
        a0, b0 = args[0]
        literal = a0 == b0 and self.code[a0][0] == "string"
        key = _string_value(self.code[a0][1]) if literal else None
        if literal and key not in self.run.keys:
            return  # a msgid already
        rest = args[1:]
        kwargs = [r for r in rest if r[0] < r[1] and self.code[r[0]][0] == "name"
                  and self.code[r[0] + 1][0] == "assign"]
        start = self.code[i][2]
        where = f"{self.rel}:{self.line(start)}"
        if literal and len(kwargs) == len(rest):
            context = self.run.contexts[key]
            quote = self.code[a0][1][0]
            given = {self.code[r[0]][1] for r in kwargs}
            # a placeholder the old call left unfilled stayed "{name}" for the page's JS
            markers = [f"{n}={_jinja_str('{' + n + '}', quote)}"
                       for n in placeholder_names(key_text(self.run, key)) if n not in given]
            parts = ([_jinja_str(context, quote)] if context else []) + \
                [_jinja_str(key_text(self.run, key), quote)] + [self.src(*r) for r in kwargs] + \
                markers
            func = "pgettext" if context else "_"

            def after():
                record_key(self.run, key, where)
                self.run.count("template keys")
            self.edits.append((start, self.end(close), f"{func}({', '.join(parts)})", after))
            return
        # a key built at run time, held in a variable, or wanted in a given language

        def after_label():
            if literal:
                self.run.kept_keys.add(key)
            elif self.code[a0][0] == "string" and a0 < b0 and \
                    self.code[a0 + 1][0] in ("tilde", "add"):
                self.run.label_prefixes.add(_string_value(self.code[a0][1]))
            self.run.count("run-time keys (label)")
        self.edits.append((start, self.end(i), "label", after_label))

    def pick(self, i: int) -> None:
        """pick({'zh': 'X', 'en': 'Y'}) of two literals -> _('Y')."""
        close = self.matching(i + 1)
        args = self.args(i + 1, close)
        if len(args) != 1 or self.code[args[0][0]][0] != "lbrace":
            return
        a, b = args[0]
        if self.matching(a) != b:
            return
        pairs = {}
        for x, y in self.args(a, b):
            if not (y == x + 2 and self.code[x][0] == "string" and self.code[x + 1][0] == "colon"
                    and self.code[y][0] == "string"):
                return
            pairs[_string_value(self.code[x][1])] = _string_value(self.code[y][1])
        if set(pairs) != {"zh", "en"}:
            return
        start = self.code[i][2]
        entry = Entry(pairs["en"].replace("%", "%%"), pairs["zh"].replace("%", "%%"),
                      where=f"{self.rel}:{self.line(start)}")

        def after():
            self.run.entries.append(entry)
            self.run.count("template pick() of two literals")
        self.edits.append((start, self.end(close), f"_({_jinja_str(pairs['en'])})", after))

    def lang_test(self, i: int) -> None:
        """'X' if lang == 'zh' else 'Y' (X in Chinese) -> _('Y')."""
        c = self.code
        kinds = [t[0] for t in c[i:i + 7]]
        values = [t[1] for t in c[i:i + 7]]
        if kinds[:3] != ["string", "name", "name"] or kinds[4:] != ["string", "name", "string"] \
                or values[1] != "if" or values[2] != "lang" or kinds[3] not in ("eq", "ne") \
                or values[5] != "else" or _string_value(values[4]) not in ("zh", "en"):
            return
        body, other = _string_value(values[0]), _string_value(values[6])
        zh_first = (_string_value(values[4]) == "zh") == (kinds[3] == "eq")
        zh, en = (body, other) if zh_first else (other, body)
        if not HAN.search(zh):
            return  # a language tag or code ('zh-CN' if lang == 'zh' ...), not a text
        before = c[i - 1][0] if i else ""
        after_kind = c[i + 7][0] if i + 7 < len(c) else ""
        if before not in ("variable_begin", "block_begin", "lparen", "comma", "lbracket",
                          "colon", "assign") or \
                after_kind not in ("variable_end", "block_end", "rparen", "comma", "rbracket",
                                   "rbrace"):
            raise Unsupported("a language test inside a larger expression: not converted")
        start = c[i][2]
        entry = Entry(en.replace("%", "%%"), zh.replace("%", "%%"),
                      where=f"{self.rel}:{self.line(start)}")

        def after():
            self.run.entries.append(entry)
            self.run.count("template language tests")
        self.edits.append((start, self.end(i + 6), f"_({_jinja_str(en, values[6][0])})", after))

    def result(self) -> str | None:
        edits = sorted(set(self.edits), key=lambda e: (e[0], e[1]))
        keep = [e for e in edits if not any(o is not e and e[0] <= o[0] and o[1] <= e[1]
                                            and (o[0], o[1]) != (e[0], e[1]) for o in edits)]
        if not keep:
            return None
        text = self.text
        for start, end, new, after in sorted(keep, key=lambda e: e[0], reverse=True):
            text = text[:start] + new + text[end:]
            after()
        return text


def convert_template(run: Run, rel: str, text: str) -> str:
    for _ in range(8):
        conv = TemplateConverter(run, rel, text)
        conv.visit()
        new = conv.result()
        if new is None:
            conv.literal_keys()
            return text
        text = new
    run.problem(rel, 0, "internal: still changing after 8 passes")
    return text


# --- messages.py, catalogue, JS -------------------------------------------------------------

LABELS_DOC = ('"""Texts looked up by a key made at run time (statuses, roles, reasons...):\n'
              '``core.i18n.label(key)``. The English text is the gettext msgid; translations\n'
              'are in translations/<lang>/LC_MESSAGES/messages.po."""\n')


def convert_messages(run: Run, path: Path) -> str | None:
    """The new text of a messages.py (None: delete it), or its text unchanged."""
    text = path.read_text(encoding="utf-8")
    old = messages_dict(path)
    if not old:
        return text
    rel = str(path.relative_to(run.root))
    labels = labels_dict(path)   # of an earlier run, when a merge brought MESSAGES back
    for key, value in old.items():
        if key in labels:
            continue
        built = any(key.startswith(p) for p in run.label_prefixes)
        if not (built or key in run.kept_keys):
            if key in run.converted_keys:
                continue          # its uses are msgids now
            if key not in run.known["labels"]:
                if key in run.known["seen"]:
                    continue      # converted by an earlier run, or a label deleted as dead
                run.problem(rel, 1, f"key {key!r} is used nowhere the script can see: kept "
                            "as a label (delete it if it is dead)")
        labels[key] = label_call(run, key)
        run.entries.append(Entry(braces(value["en"]), braces(value["zh"]), run.contexts[key],
                                 where=rel))
        run.count("labels kept")
    return render_labels(path, labels)


def render_labels(path: Path, labels: dict) -> str | None:
    """A messages.py holding ``labels`` (key -> source of its _l/_lp call); None when empty."""
    if not labels:
        return None
    names = sorted({"_lp" if v.startswith("_lp(") else "_l" for v in labels.values()})
    module = ".text" if path.parent.name == "core" else "core.text"
    lines = [LABELS_DOC, f"from {module} import {', '.join(names)}", "", "LABELS = {"]
    for key, call in labels.items():
        line = f"    {py_str(key)}: {call},"
        lines.append(line if len(line) <= MAX_LINE else f"    {py_str(key)}:\n        {call},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def label_call(run: Run, key: str) -> str:
    context, msgid = run.contexts[key], braces(run.keys[key]["en"])
    return f"_lp({py_str(context)}, {py_str(msgid)})" if context else f"_l({py_str(msgid)})"


def add_missing_labels(run: Run, out: dict) -> None:
    """Keys looked up at run time that no LABELS holds (converted by an earlier run, then
    wanted again by code merged in later, e.g. a console tile naming "home.buy"): add them
    to the messages.py they came from."""
    def text_of(rel):
        if rel in out:
            return out[rel]
        path = run.root / rel
        return path.read_text(encoding="utf-8") if path.exists() else None
    files = {k: v.get("file") for k, v in run.keys.items()}
    present = set()
    for rel in set(files.values()) | {r for r in out if MESSAGES_FILE.fullmatch(r)}:
        if rel and text_of(rel) is not None and not messages_dict_text(text_of(rel)):
            present |= set(labels_dict_text(text_of(rel)))
        elif rel and text_of(rel) is not None:
            present |= set(messages_dict_text(text_of(rel)))
    needed = {k for k in run.keys if k in run.kept_keys
              or any(k.startswith(p) for p in run.label_prefixes)}
    for key in sorted(needed - present):
        rel = files.get(key)
        if not rel:
            run.problem("scripts/i18n_keymap.json", 1, f"label {key!r} is wanted but its "
                        "messages.py is not known: add it to a LABELS by hand")
            continue
        labels = labels_dict_text(text_of(rel) or "")
        labels[key] = label_call(run, key)
        out[rel] = render_labels(run.root / rel, labels)
        value = run.keys[key]
        run.entries.append(Entry(braces(value["en"]), braces(value["zh"]), run.contexts[key],
                                 where=rel))
        run.count("labels added back")


def merge_catalogue(run: Run):
    """The zh catalogue with the Chinese texts the run removed; (catalogue, changed)."""
    from scripts.i18n import new_catalog, read
    path = run.root / PO
    catalog = read(path) if path.exists() else new_catalog("zh")
    before = _po_bytes(catalog)
    chosen: dict[tuple, Entry] = {}
    for e in run.entries:
        if not e.zh:
            continue
        key = (e.msgid, e.context)
        if key in chosen and chosen[key].zh != e.zh:
            run.problem(e.where.split(":")[0], int((e.where.split(":") + ["0"])[1] or 0),
                        f"{e.msgid!r} has another Chinese text at {chosen[key].where} "
                        f"({chosen[key].zh!r}, kept) than here ({e.zh!r})")
            continue
        chosen.setdefault(key, e)
    for (msgid, context), e in chosen.items():
        found = catalog.get(msgid, context)
        if found is None:
            catalog.add(msgid, e.zh, context=context, flags=["fuzzy"] if e.fuzzy else [])
            run.count("catalogue entries added")
            continue
        if e.fuzzy and found.string and not found.fuzzy:
            continue  # a translator has fixed what the code's Chinese could not say
        if found.string != e.zh or found.fuzzy != e.fuzzy:
            if found.string and not found.fuzzy:
                run.count("catalogue entries the code changed")
            found.string = e.zh
            if e.fuzzy:
                found.flags.add("fuzzy")
            else:
                found.flags.discard("fuzzy")
    return catalog, _po_bytes(catalog) != before


def _po_bytes(catalog) -> bytes:
    from babel.messages.pofile import write_po
    buf = io.BytesIO()
    write_po(buf, catalog, omit_header=True, ignore_obsolete=True)
    return buf.getvalue()


def scan_js(run: Run, rel: str, text: str) -> None:
    for n, line in enumerate(text.splitlines(), 1):
        if HAN.search(line) or re.search(r"lang\s*===?\s*['\"](zh|en)['\"]", line):
            run.problem(rel, n, "static JS with texts of its own: give it translated texts "
                        "from the page (a JSON block or data- attributes), by hand")


def leftovers(run: Run, rel: str, text: str) -> None:
    """Old patterns in files the script does not rewrite (tests, benchmarks) or could not."""
    for n, line in enumerate(text.splitlines(), 1):
        if "message_zh" in line or re.search(r"\bMESSAGES\b", line) or \
                re.search(r"from core\.i18n import .*\bt\b", line):
            run.problem(rel, n, "an old message pattern the script left: fix by hand")


# --- the run ----------------------------------------------------------------------------------

def project_files(root: Path) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, text=True, check=True).stdout
        names = out.splitlines()
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(root)) for p in root.rglob("*")
                 if ".venv" not in p.parts and ".git" not in p.parts]
    return sorted({f for f in names if (root / f).is_file()})


def convert_tree(run: Run) -> dict:
    """Everything the run would write: relative path -> new text (None: delete)."""
    files = project_files(run.root)
    message_files = [run.root / f for f in files if MESSAGES_FILE.fullmatch(f)]
    load_keys(run, message_files)
    out: dict[str, str | None] = {}
    texts, trees = {}, {}
    for f in files:
        if not f.endswith(".py") or f in SKIP or MESSAGES_FILE.fullmatch(f):
            continue
        texts[f] = (run.root / f).read_text(encoding="utf-8")
        if f.startswith(NOT_CONVERTED):
            if "test_i18n" not in f:   # the i18n tests hold old patterns on purpose
                leftovers(run, f, texts[f])
            texts.pop(f)
            continue
        try:
            trees[f] = ast.parse(texts[f])
        except SyntaxError as exc:
            run.problem(f, exc.lineno or 0, "does not parse: not converted")
    classes = error_classes(trees)
    run.imported = {a.name for tree in trees.values() for n in ast.walk(tree)
                    if isinstance(n, ast.ImportFrom) for a in n.names}
    for f in trees:
        new = convert_python(run, f, texts[f], classes, lambda key: key_text(run, key),
                             lambda key, where: record_key(run, key, where))
        if new != texts[f]:
            out[f] = new
        if "message_zh" in new:
            leftovers(run, f, new)
    for f in files:
        if f.startswith("templates/") and f.endswith(".html"):
            text = (run.root / f).read_text(encoding="utf-8")
            new = convert_template(run, f, text)
            if new != text:
                out[f] = new
        elif f.startswith("static/") and f.endswith(".js") and "/vendor/" not in f:
            scan_js(run, f, (run.root / f).read_text(encoding="utf-8"))
    for path in message_files:
        new = convert_messages(run, path)
        if new != path.read_text(encoding="utf-8"):
            out[str(path.relative_to(run.root))] = new
    add_missing_labels(run, out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Convert the old message patterns to gettext.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when something is left to convert")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project (default: this one)")
    args = parser.parse_args(argv)
    run = Run(args.root.resolve())
    out = convert_tree(run)
    catalog, catalogue_changed = merge_catalogue(run)
    if args.check:
        _report(run, sorted(out), catalogue_changed, dry=True)
        return 1 if out or catalogue_changed else 0
    for rel, text in out.items():
        if text is None:
            (run.root / rel).unlink(missing_ok=True)
        else:
            (run.root / rel).write_text(text, encoding="utf-8")
    keymap = run.root / KEYMAP
    labels = {k for path in run.root.glob("*/messages.py") for k in labels_dict(path)}
    data = json.dumps({"keys": run.keys, "wrappers": run.wrappers, "labels": sorted(labels)},
                      ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if not keymap.exists() or keymap.read_text(encoding="utf-8") != data:
        keymap.parent.mkdir(parents=True, exist_ok=True)
        keymap.write_text(data, encoding="utf-8")
    from scripts.i18n import update, write
    write(catalog, run.root / PO)
    update(run.root)
    _report(run, sorted(out), catalogue_changed, dry=False)
    return 0


def _report(run: Run, changed: list, catalogue_changed: bool, dry: bool) -> None:
    verb = "would change" if dry else "changed"
    print(f"{verb} {len(changed)} files" + (f": {', '.join(changed)}" if changed else ""))
    print(f"the zh catalogue: {verb if catalogue_changed else 'nothing to add'}")
    for what, n in sorted(run.counts.items()):
        print(f"  {what}: {n}")
    if run.problems:
        print(f"left for a hand fix ({len(run.problems)}):")
        for p in run.problems:
            print(f"  {p}")


if __name__ == "__main__":
    sys.exit(main())
