"""The Python half of scripts/i18n_convert.py: texts, placeholders and source rewriting.

Edits are made on the source bytes at the positions ``ast`` gives (UTF-8 byte columns), so
everything the script does not rewrite stays exactly as it was, comments included.
"""
from __future__ import annotations

import ast
import io
import keyword
import re
import sys
import tokenize
from dataclasses import dataclass, field

HAN = re.compile(r"[\u3400-\u9fff]")
MAX_LINE = 99
ERROR_CLASSES = {"AdmissionError", "DomainError", "ValidationError", "Unauthorized",
                 "Forbidden", "NotFound", "Conflict"}
LOCAL_PACKAGES = {"app", "admission", "core", "catalog", "ticketing", "gates", "crowd", "guide",
                  "gate_client", "scripts"}
# Calls whose first argument may look like a key but is not one (a gettext context, an
# endpoint such as "ticketing.refund").
NOT_A_KEY_IN = {"pgettext", "_lp", "url_for", "redirect"}
# Placeholder names for f-string expressions the naming rules below cannot name. Each is a
# name a translator reads (%(kb)s), so it is decided here, not derived.
EXPRESSION_NAMES = {
    "max_bytes // 1024": "kb",
    "max_bytes // (1024 * 1024)": "mb",
    "len(zh)": "zh_lines",
    "len(en)": "en_lines",
    "cfg['GATES_OFFLINE_BATCH_MAX']": "most",
}


class Unsupported(Exception):
    """A pattern the script does not convert; the reason is reported with file and line."""


@dataclass
class Entry:
    msgid: str
    zh: str
    context: str | None = None
    fuzzy: bool = False
    where: str = ""


@dataclass
class Run:
    root: object
    keys: dict = field(default_factory=dict)          # key -> {"en", "zh"}
    contexts: dict = field(default_factory=dict)      # key -> gettext context or None
    entries: list = field(default_factory=list)       # Entry, for the zh catalogue
    problems: list = field(default_factory=list)      # "file:line: why"
    counts: dict = field(default_factory=dict)
    converted_keys: set = field(default_factory=set)  # keys some use was turned into a msgid
    kept_keys: set = field(default_factory=set)       # keys still looked up at run time
    label_prefixes: set = field(default_factory=set)  # 'ticketing.status.' from built keys
    wrappers: list = field(default_factory=list)      # converted wrappers (keymap "wrappers")
    imported: set = field(default_factory=set)        # names some module imports from another
    known: dict = field(default_factory=dict)         # the keymap of earlier runs

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def problem(self, path: str, line: int, why: str) -> None:
        item = f"{path}:{line}: {why}"
        if item not in self.problems:
            self.problems.append(item)


# --- texts ------------------------------------------------------------------------------------

def _ident(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "value"
    if name[0].isdigit():
        name = "n_" + name
    return name + "_" if keyword.iskeyword(name) else name


def placeholder_name(expr: ast.expr) -> str:
    src = ast.unparse(expr)
    if src in EXPRESSION_NAMES:
        return EXPRESSION_NAMES[src]
    if isinstance(expr, ast.Name):
        return _ident(expr.id)
    if isinstance(expr, ast.Attribute):
        return _ident(expr.attr)
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        if isinstance(expr.slice.value, str):
            return _ident(expr.slice.value)
        if isinstance(expr.slice.value, int):
            return placeholder_name(expr.value)
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "join" and len(expr.args) == 1):
        return placeholder_name(expr.args[0])
    raise Unsupported(f"no placeholder name for the expression {src!r} "
                      "(add one to EXPRESSION_NAMES in scripts/i18n_convert_py.py)")


_SPEC = re.compile(r"^([-+ ]?)(#?)(0?)(\d*)(\.\d+)?([bcdeEfFgGosxX]?)$")


def _percent(name: str, conversion: int, spec: str) -> str:
    if conversion in (114, 97):  # !r, !a
        if spec:
            raise Unsupported(f"format spec with a conversion: {spec!r}")
        return f"%({name}){chr(conversion)}"
    m = _SPEC.match(spec)
    if not m:
        raise Unsupported(f"format spec {spec!r} has no %-format equivalent")
    sign, alt, zero, width, precision, kind = m.groups()
    return f"%({name}){sign}{alt}{zero}{width}{precision or ''}{kind or 's'}"


def message_parts(node: ast.expr) -> list:
    """A str literal or f-string as [text | (expr_src, expr, conversion, spec)]."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
                continue
            spec = ""
            if value.format_spec is not None:
                if not all(isinstance(v, ast.Constant) for v in value.format_spec.values):
                    raise Unsupported("format spec with an expression in it")
                spec = "".join(v.value for v in value.format_spec.values)
            parts.append((ast.unparse(value.value), value.value, value.conversion, spec))
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return message_parts(node.left) + message_parts(node.right)
    raise Unsupported(f"the message is not a string literal or f-string: {ast.unparse(node)!r}")


def render_parts(parts: list, names: dict) -> str:
    has_placeholder = any(isinstance(p, tuple) for p in parts)
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p.replace("%", "%%") if has_placeholder else p)
        else:
            out.append(_percent(names[p[0]], p[2], p[3]))
    return "".join(out)


def pair(en_node: ast.expr, zh_node: ast.expr | None):
    """(msgid, zh, [(name, expr_src)], placeholders_differ) for an English/Chinese pair."""
    en_parts = message_parts(en_node)
    zh_parts = message_parts(zh_node) if zh_node is not None else []
    names: dict[str, str] = {}
    for p in en_parts + zh_parts:
        if isinstance(p, tuple) and p[0] not in names:
            name = placeholder_name(p[1])
            if name in names.values():
                raise Unsupported(f"two expressions would share the placeholder {name!r}")
            names[p[0]] = name
    msgid = render_parts(en_parts, names)
    zh = render_parts(zh_parts, names) if zh_node is not None else ""
    en_srcs = {p[0] for p in en_parts if isinstance(p, tuple)}
    zh_srcs = {p[0] for p in zh_parts if isinstance(p, tuple)}
    differ = zh_node is not None and en_srcs != zh_srcs
    return msgid, zh, [(names[s], s) for s in names], differ


def braces(text: str) -> str:
    """An old catalogue text's {name} placeholders as %(name)s."""
    if re.search(r"\{\w+\}", text):
        text = text.replace("%", "%%")
    return re.sub(r"\{(\w+)\}", r"%(\1)s", text)


def py_str(text: str) -> str:
    """A Python string literal, double-quoted unless the text has double quotes only."""
    if '"' in text and "'" not in text:
        return "'" + text.replace("\\", "\\\\").replace("\n", "\\n") + "'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _chunks(text: str, room: int) -> list[str]:
    """Split a text at spaces into pieces whose literals fit in ``room`` columns."""
    pieces, current = [], ""
    for word in re.split(r"(?<= )", text):
        if current and len(py_str(current + word)) > room:
            pieces.append(current)
            current = word
        else:
            current += word
    pieces.append(current)
    return pieces


def call_text(func: str, args: list, column: int, tail: int = 0) -> str:
    """``func(arg, ...)`` starting at ``column``, wrapped at MAX_LINE with continuation lines
    under the first argument (the codebase's style). An argument is a text, or a function of
    (the column it starts at, the room taken after it on its line) that lays itself out;
    ``tail`` is how much follows the call on its last line."""
    indent = column + len(func) + 1
    out, col = f"{func}(", indent
    for i, arg in enumerate(args):
        last = i == len(args) - 1
        sep = ")" if last else ", "
        after = len(sep.rstrip()) + (tail if last else 0)
        text = arg(col, after) if callable(arg) else arg
        if col > indent and col + len(text.split("\n")[0]) + after > MAX_LINE:
            out = out.rstrip() + "\n" + " " * indent
            col = indent
            text = arg(col, after) if callable(arg) else arg
        out += text + sep
        col = (len(text.split("\n")[-1]) if "\n" in text else col + len(text)) + len(sep)
    return out


def msg_call(func: str, msgid: str, rest: list, column: int, context: str | None = None,
             tail: int = 0) -> str:
    """``_l("msgid", name=expr)``; a msgid too long for its line becomes implicit
    concatenation, one piece a line under the opening parenthesis."""
    head = [py_str(context)] if context else []

    def literal(col, after):
        text = py_str(msgid)
        if col + len(text) + after > MAX_LINE:
            text = ("\n" + " " * col).join(py_str(p) for p in _chunks(msgid, MAX_LINE - col - 1))
        return text
    return call_text(func, head + [literal] + rest, column, tail)


# --- source editing ---------------------------------------------------------------------------

class PySource:
    """A module's source as bytes, addressed by ast positions."""

    def __init__(self, text: str):
        self.data = text.encode("utf-8")
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node) -> tuple[int, int]:
        return (self.starts[node.lineno - 1] + node.col_offset,
                self.starts[node.end_lineno - 1] + node.end_col_offset)

    def column(self, node) -> int:
        """The character column a node starts at (for alignment)."""
        start = self.starts[node.lineno - 1]
        return len(self.data[start:start + node.col_offset].decode("utf-8"))

    def segment(self, node) -> str:
        a, b = self.span(node)
        return self.data[a:b].decode("utf-8")

    def tail(self, node) -> int:
        """How many characters follow the node on its last line."""
        end = self.span(node)[1]
        line_end = self.data.find(b"\n", end)
        return len(self.data[end:line_end if line_end >= 0 else None].decode("utf-8").rstrip())

    def has_comment(self, node) -> bool:
        try:
            tokens = tokenize.generate_tokens(io.StringIO("(" + self.segment(node) + ")").readline)
            return any(t.type == tokenize.COMMENT for t in tokens)
        except (tokenize.TokenError, SyntaxError):
            return True


def _name_of(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _kw(call: ast.Call, name: str):
    return next((k for k in call.keywords if k.arg == name), None)


def _message_node(call: ast.Call):
    if len(call.args) >= 2:
        return call.args[1]
    kw = _kw(call, "message")
    return kw.value if kw else None


def _ordered_args(call_or_args) -> list:
    if isinstance(call_or_args, ast.Call):
        nodes = list(call_or_args.args) + list(call_or_args.keywords)
    else:
        nodes = list(call_or_args)
    return sorted(nodes, key=lambda n: (n.lineno, n.col_offset))


def _delete_span(src: PySource, siblings: list, target) -> tuple[int, int]:
    """The span that removes one argument or parameter with its comma."""
    i = siblings.index(target)
    a, b = src.span(target)
    if i > 0:
        return src.span(siblings[i - 1])[1], b
    if len(siblings) > 1:
        return a, src.span(siblings[1])[0]
    return a, b


def error_classes(trees: dict) -> set:
    """The error class names: core's and every subclass defined in the project."""
    names = set(ERROR_CLASSES)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        _name_of(b) in names for b in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def _is_error_call(call: ast.Call, classes: set, in_error_class: bool) -> bool:
    if _name_of(call.func) in classes:
        return True
    # super().__init__(code, message, ..., message_zh=...) in a subclass of an error class
    return (in_error_class and isinstance(call.func, ast.Attribute)
            and call.func.attr == "__init__" and isinstance(call.func.value, ast.Call)
            and _name_of(call.func.value.func) == "super")


def find_wrappers(tree, classes) -> dict:
    """Module functions that pass two of their parameters on as an error's English message
    and ``message_zh``: name -> (parameters, English parameter, Chinese parameter)."""
    found = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        params = [a.arg for a in fn.args.args]
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):   # an error class, or one passed in (cls)
                zh, en = _kw(node, "message_zh"), _message_node(node)
                if (zh and isinstance(zh.value, ast.Name) and zh.value.id in params
                        and isinstance(en, ast.Name) and en.id in params):
                    found[fn.name] = (params, en.id, zh.value.id)
    return found


class PyConverter:
    """One pass over one module. Every conversion is a group of edits applied together; a
    group that encloses another group waits for the next pass (innermost first)."""

    def __init__(self, run: Run, rel: str, text: str, classes: set):
        self.run, self.rel, self.text, self.src = run, rel, text, PySource(text)
        self.classes = classes
        self.tree = ast.parse(text)
        self.groups: list[list[tuple[int, int, str]]] = []
        self.pending: list = []          # what a group records once it is applied
        self.needs: set[tuple[str, str]] = set()
        self.i18n_t = self._from_i18n("t")
        self.underscore_bound = any(
            (isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store))
            or (isinstance(n, ast.arg) and n.arg == "_") for n in ast.walk(self.tree))

    def _from_i18n(self, name) -> bool:
        return any(isinstance(node, ast.ImportFrom) and is_i18n(node)
                   and any(a.name == name and a.asname is None for a in node.names)
                   for node in self.tree.body)

    @property
    def in_core(self) -> bool:
        """core/ and admission/ (the turnstile's core) import their texts relatively."""
        return self.rel.startswith(("core/", "admission/"))

    def where(self, node) -> str:
        return f"{self.rel}:{node.lineno}"

    def group(self, edits, after) -> None:
        self.groups.append(edits)
        self.pending.append(after)

    def lazy(self, context: str | None) -> str:
        name = "_lp" if context else "_l"
        self.needs.add((".text" if self.in_core else "core.text", name))
        return name

    def eager(self, context: str | None) -> str:
        if context:
            self.needs.add(("flask_babel", "pgettext"))
            return "pgettext"
        if self.underscore_bound:
            self.needs.add(("flask_babel", "gettext"))
            return "gettext"
        self.needs.add(("flask_babel", "gettext as _"))
        return "_"

    # -- error messages ------------------------------------------------------------------
    def _pair(self, en_node, zh_node, node):
        try:
            msgid, zh, kwargs, differ = pair(en_node, zh_node)
        except Unsupported as exc:
            self.run.problem(self.rel, node.lineno, str(exc))
            return None
        return msgid, zh, kwargs, differ

    def _message_group(self, en_node, zh_arg, call: ast.Call) -> bool:
        """Rewrite a call: its English becomes _l(...), its Chinese argument goes. The call is
        laid out again (wrapped at MAX_LINE) unless it holds a comment, which a new layout
        would lose: then only those two arguments change."""
        zh_node = zh_arg.value if isinstance(zh_arg, ast.keyword) else zh_arg
        got = self._pair(en_node, zh_node, call)
        if got is None:
            return False
        msgid, zh, kwargs, differ = got
        func, rest = self.lazy(None), [f"{n}={s}" for n, s in kwargs]
        siblings = _ordered_args(call)
        if self.src.has_comment(call):
            text = msg_call(func, msgid, rest, self.src.column(en_node))
            edits = [(*self.src.span(en_node), text),
                     (*_delete_span(self.src, siblings, zh_arg), "")]
        else:
            def arg_text(a):
                if a is en_node:
                    return lambda col, after: msg_call(func, msgid, rest, col, tail=after)
                if isinstance(a, ast.keyword) and a.value is en_node:
                    return lambda col, after: f"{a.arg}=" + msg_call(
                        func, msgid, rest, col + len(a.arg) + 1, tail=after)
                return self.src.segment(a)
            args = [arg_text(a) for a in siblings if a is not zh_arg]
            text = call_text(self.src.segment(call.func), args, self.src.column(call),
                             self.src.tail(call))
            edits = [(*self.src.span(call), text)]
        entry = Entry(msgid, zh, None, fuzzy=differ, where=self.where(call))

        def after():
            self.run.entries.append(entry)
            self.run.count("error messages")
            if differ:
                self.run.problem(self.rel, call.lineno, f"the Chinese and English texts use "
                                 f"different values ({msgid!r}): its zh entry is fuzzy until "
                                 "a translator fixes it")
        self.group(edits, after)
        return True

    def error_call(self, call: ast.Call) -> None:
        zh_kw = _kw(call, "message_zh")
        en = _message_node(call)
        if zh_kw is None or (isinstance(en, ast.Name) and isinstance(zh_kw.value, ast.Name)
                             and en.id in self._params_of_enclosing(call)):
            return
        if en is None:
            self.run.problem(self.rel, call.lineno, "an error with message_zh but no message")
            return
        self._message_group(en, zh_kw, call)

    def _params_of_enclosing(self, call) -> set:
        for fn in self.tree.body:
            if isinstance(fn, ast.FunctionDef) and fn.lineno <= call.lineno <= fn.end_lineno:
                return {a.arg for a in fn.args.args}
        return set()

    def wrapper_def(self, fn: ast.FunctionDef, params: list, zh: str) -> list:
        arg = next(a for a in fn.args.args if a.arg == zh)
        if fn.args.args.index(arg) >= len(fn.args.args) - len(fn.args.defaults):
            raise Unsupported(f"wrapper {fn.name}: its Chinese parameter has a default")
        edits = [(*_delete_span(self.src, fn.args.args, arg), "")]
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                kw = _kw(node, "message_zh")
                if kw is not None and isinstance(kw.value, ast.Name) and kw.value.id == zh:
                    edits.append((*_delete_span(self.src, _ordered_args(node), kw), ""))
        return edits

    def wrapper_calls(self, fn_name: str, params: list, en: str, zh: str, defined) -> None:
        """Convert a wrapper and all its calls as one group."""
        edits, afters = [], []
        if defined is not None:
            try:
                edits += self.wrapper_def(defined, params, zh)
            except Unsupported as exc:
                self.run.problem(self.rel, defined.lineno, str(exc))
                return
        for call in ast.walk(self.tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == fn_name):
                continue
            if any(isinstance(a, ast.Starred) for a in call.args) or \
                    any(k.arg is None for k in call.keywords):
                self.run.problem(self.rel, call.lineno, f"a call of {fn_name} with * or **: "
                                 "not converted")
                return

            def arg_for(param):
                i = params.index(param)
                return call.args[i] if i < len(call.args) else _kw(call, param)
            en_arg, zh_arg = arg_for(en), arg_for(zh)
            zh_node = zh_arg.value if isinstance(zh_arg, ast.keyword) else zh_arg
            if zh_node is None or (defined is None and not _has_han(zh_node)):
                continue   # already converted (the Chinese is gone)
            en_node = en_arg.value if isinstance(en_arg, ast.keyword) else en_arg
            if not self._message_group(en_node, zh_arg, call):
                return
            edits += self.groups.pop()
            afters.append(self.pending.pop())
        if not edits:
            return

        def after():
            for f in afters:
                f()
            if defined is not None:
                record = {"name": fn_name, "params": params, "en": en, "zh": zh}
                if record not in self.run.wrappers:
                    self.run.wrappers.append(record)
                self.run.count("wrappers")
        self.group(edits, after)

    # -- t() and language tests ------------------------------------------------------------
    def t_call(self, call: ast.Call, key_text, record_key) -> None:
        first = call.args[0] if call.args else None
        lang_given = len(call.args) > 1 or _kw(call, "lang") is not None
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if literal and first.value not in self.run.keys:
            self.run.problem(self.rel, call.lineno, f"t() of an unknown key {first.value!r}")
            return
        if literal and not lang_given:
            key = first.value
            context = self.run.contexts[key]
            rest = [self.src.segment(k) for k in call.keywords]
            given = {k.arg for k in call.keywords}
            # a placeholder the old call left unfilled stayed "{name}"
            rest += [f"{n}={py_str('{' + n + '}')}" for n in
                     dict.fromkeys(re.findall(r"%\((\w+)\)", key_text(key))) if n not in given]
            text = msg_call(self.eager(context), key_text(key), rest, self.src.column(call),
                            context, self.src.tail(call))
            a, b = self.src.span(call)
            where = self.where(call)

            def after():
                record_key(key, where)
                self.run.count("t() calls")
            self.group([(a, b, text)], after)
            return
        if literal:
            self.run.kept_keys.add(first.value)
        elif isinstance(first, ast.JoinedStr) and first.values and \
                isinstance(first.values[0], ast.Constant):
            self.run.label_prefixes.add(first.values[0].value)
        self.needs.add((".i18n" if self.in_core else "core.i18n", "label"))
        a, b = self.src.span(call.func)
        self.group([(a, b, "label")], lambda: self.run.count("run-time keys (label)"))

    @staticmethod
    def lang_test(node) -> bool | None:
        """True for ``get_lang() == "zh"``, False for ``== "en"``, None for anything else."""
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1
                and isinstance(node.ops[0], (ast.Eq, ast.NotEq))):
            return None
        left, right = node.left, node.comparators[0]
        if not (isinstance(left, ast.Call) and _name_of(left.func) == "get_lang"
                and not left.args and isinstance(right, ast.Constant)
                and right.value in ("zh", "en")):
            return None
        return (right.value == "zh") == isinstance(node.ops[0], ast.Eq)

    def lang_ifexp(self, node: ast.IfExp, tail, whole) -> None:
        """("X" if get_lang() == "zh" else "Y") [+ tail] -> _("Y[%(tail)s]", tail=...)."""
        zh, en = (node.body, node.orelse) if self.lang_test(node.test) else \
            (node.orelse, node.body)
        if not all(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in (zh, en)) \
                or not HAN.search(zh.value):
            self.run.problem(self.rel, node.lineno, "a language test without a Chinese and an "
                             "English string literal: not converted")
            return
        en_parts, zh_parts, names, rest = [en.value], [zh.value], {}, []
        if tail is not None:
            try:
                name = placeholder_name(tail)
            except Unsupported as exc:
                self.run.problem(self.rel, node.lineno, str(exc))
                return
            mark = (ast.unparse(tail), tail, -1, "")
            en_parts.append(mark)
            zh_parts.append(mark)
            names = {mark[0]: name}
            rest = [f"{name}={self.src.segment(tail)}"]
        msgid, zh_text = render_parts(en_parts, names), render_parts(zh_parts, names)
        entry = Entry(msgid, zh_text, where=self.where(node))
        a, b = self.src.span(whole)
        text = msg_call(self.eager(None), msgid, rest, self.src.column(whole),
                        tail=self.src.tail(whole))

        def after():
            self.run.entries.append(entry)
            self.run.count("language tests")
        self.group([(a, b, text)], after)

    # -- the pass ------------------------------------------------------------------------
    def visit(self, key_text, record_key) -> None:
        tree, classes = self.tree, self.classes
        in_error_class = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(_name_of(b) in classes for b in node.bases):
                in_error_class.update(id(n) for n in ast.walk(node))
        defs = {fn.name: fn for fn in tree.body if isinstance(fn, ast.FunctionDef)}
        for name, (params, en, zh) in find_wrappers(tree, classes).items():
            if name in self.run.imported:
                self.run.problem(self.rel, defs[name].lineno, f"{name} passes a Chinese message "
                                 "on and other modules import it: convert it and its calls by hand")
                continue
            self.wrapper_calls(name, params, en, zh, defs[name])
        for record in self.run.wrappers:
            # a wrapper converted before: calls merged in later may still pass Chinese
            fn = defs.get(record["name"])
            if fn is not None and [a.arg for a in fn.args.args] == \
                    [p for p in record["params"] if p != record["zh"]]:
                self.wrapper_calls(record["name"], record["params"], record["en"],
                                   record["zh"], None)
        consumed = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and \
                    isinstance(node.left, ast.IfExp) and self.lang_test(node.left.test) is not None:
                consumed.add(id(node.left))
                self.lang_ifexp(node.left, node.right, node)
            elif isinstance(node, ast.IfExp) and id(node) not in consumed and \
                    self.lang_test(node.test) is not None:
                self.lang_ifexp(node, None, node)
            elif isinstance(node, ast.Call):
                if (_name_of(node.func) in classes or id(node) in in_error_class) and \
                        _is_error_call(node, classes, id(node) in in_error_class):
                    self.error_call(node)
                elif isinstance(node.func, ast.Name) and node.func.id == "t" and self.i18n_t:
                    self.t_call(node, key_text, record_key)

    def literal_keys(self) -> None:
        """String literals naming a key (outside what was converted): run-time lookups."""
        not_keys = {id(n.args[0]) for n in ast.walk(self.tree) if isinstance(n, ast.Call)
                    and n.args and _name_of(n.func) in NOT_A_KEY_IN}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value in self.run.keys and id(node) not in not_keys:
                self.run.kept_keys.add(node.value)

    def result(self) -> str | None:
        spans = [(min(e[0] for e in g), max(e[1] for e in g)) for g in self.groups]

        def encloses(i, j):
            return i != j and spans[i][0] <= spans[j][0] and spans[j][1] <= spans[i][1] \
                and any(e[0] <= f[0] and f[1] <= e[1] and (e[0], e[1]) != (f[0], f[1])
                        for e in self.groups[i] for f in self.groups[j])
        chosen, taken = [], []
        for i, g in enumerate(self.groups):
            if any(encloses(i, j) for j in range(len(self.groups))):
                continue
            if any(e[0] < t[1] and t[0] < e[1] for e in g for t in taken):
                continue  # overlaps a chosen group: next pass
            chosen.append(i)
            taken.extend(g)
        if not chosen:
            return None
        data = self.src.data
        for start, end, text in sorted(taken, reverse=True):
            data = data[:start] + text.encode("utf-8") + data[end:]
        for i in chosen:
            self.pending[i]()
        return fix_imports(data.decode("utf-8"), self.needs)


def _has_han(node) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and HAN.search(n.value)
               for n in ast.walk(node))


def is_i18n(node: ast.ImportFrom) -> bool:
    return node.module == "core.i18n" or (node.level == 1 and node.module == "i18n")


# --- imports ----------------------------------------------------------------------------------

def _module(node) -> str:
    if isinstance(node, ast.ImportFrom):
        return "." * node.level + (node.module or "")
    return node.names[0].name


def _group_of(module: str) -> int:
    """0 __future__, 1 standard library, 2 third party, 3 this project, 4 this package."""
    top = module.lstrip(".").split(".")[0]
    if module.startswith("."):
        return 4
    if top in LOCAL_PACKAGES:
        return 3
    if top == "__future__":
        return 0
    return 1 if top in sys.stdlib_module_names else 2


def _alias(a: ast.alias) -> str:
    return a.name + (f" as {a.asname}" if a.asname else "")


def _import_lines(module: str, names: list[str]) -> list[str]:
    def by_type(n):
        bare = n.split(" as ")[0]
        kind = 0 if bare.isupper() and len(bare) > 1 else 1 if bare[:1].isupper() else 2
        return kind, bare.lower(), n
    names = sorted(set(names), key=by_type)
    head = f"from {module} import "
    one = head + ", ".join(names)
    if len(one) <= MAX_LINE:
        return [one]
    lines, current = [], head + "("
    for i, name in enumerate(names):
        piece = name + (", " if i < len(names) - 1 else ")")
        if len(current) + len(piece.rstrip()) > MAX_LINE:
            lines.append(current.rstrip())
            current = " " * len(head + "(")
        current += piece
    lines.append(current)
    return lines


def fix_imports(text: str, needs: set) -> str:
    """Add the imports the new calls need, into the right PEP 8 group; drop ``t`` and
    ``get_lang`` from a core.i18n import once nothing uses them."""
    tree = ast.parse(text)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    wanted: dict[str, set] = {}
    for module, name in needs:
        wanted.setdefault(module, set()).add(name)
    lines = text.split("\n")
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    edits = []
    for node in imports:
        if not isinstance(node, ast.ImportFrom):
            continue
        module = _module(node)
        names = [_alias(a) for a in node.names]
        new = list(names)
        if is_i18n(node):
            new = [n for n in new if not (n in ("t", "get_lang") and n not in used)]
        new += sorted(wanted.pop(module, set()) - set(new))
        if new != names:
            edits.append((node.lineno, node.end_lineno,
                          _import_lines(module, new) if new else []))
    for first, last, new in sorted(edits, reverse=True):
        lines[first - 1:last] = new
    if not wanted:
        return "\n".join(lines)
    text = "\n".join(lines)
    for module, names in sorted(wanted.items()):
        tree = ast.parse(text)
        lines = text.split("\n")
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        group = _group_of(module)
        same = [n for n in imports if _group_of(_module(n)) == group]
        new = _import_lines(module, list(names))
        if same:
            later = [n for n in same if _module(n).lstrip(".") > module.lstrip(".")]
            at = (later[0].lineno - 1) if later else same[-1].end_lineno
            lines[at:at] = new
        else:
            before = [n for n in imports if _group_of(_module(n)) < group]
            after_ = [n for n in imports if _group_of(_module(n)) > group]
            if before:
                at = before[-1].end_lineno
                lines[at:at] = [""] + new
            elif after_:
                at = after_[0].lineno - 1
                lines[at:at] = new + [""]
            else:
                body = tree.body
                at = body[0].end_lineno if body and isinstance(body[0], ast.Expr) and \
                    isinstance(body[0].value, ast.Constant) else 0
                lines[at:at] = new
        text = "\n".join(lines)
    return text


def convert_python(run: Run, rel: str, text: str, classes: set, key_text, record_key) -> str:
    """Convert one module, innermost patterns first, until a pass finds nothing to do."""
    for _ in range(8):
        conv = PyConverter(run, rel, text, classes)
        conv.visit(key_text, record_key)
        new = conv.result()
        if new is None:
            conv.literal_keys()
            return text
        try:
            ast.parse(new)
        except SyntaxError as exc:
            run.problem(rel, exc.lineno or 0, f"internal: the converted module would not "
                        f"parse ({exc.msg}); left as it was")
            return text
        text = new
    run.problem(rel, 0, "internal: still changing after 8 passes")
    return text
