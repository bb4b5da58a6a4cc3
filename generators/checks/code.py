"""Functions a language model wrote for a program, accepted only if they are plain arithmetic.

Model-written code ends up on users' computers, and the answers it was written from are user
input, so a prompt injection must not become a program that reads files or reaches the
network. A function is accepted only when every node of its syntax tree is on an allow-list:
one argument ``prices``, local names, numbers and text, arithmetic, comparisons, loops over
the list and a few pure built-ins. No imports, no attributes, no names starting with ``_``.
It then runs only inside the program's own self-test, in the sandbox, against the example
the model gave. Its texts end up printed on a receipt, so each of them (and all of them put
together, so a link cannot be split in two) must be plain: no control characters and no links
(``model_text.py``), except a link the person typed (``given``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection

from assistant.safe_text import has_surrogates
from generators.checks.model_text import text_problem

NAME = re.compile(r"extra_[a-z][a-z0-9_]{2,40}")
ALLOWED_CALLS = frozenset(
    {"len", "sum", "min", "max", "round", "sorted", "abs", "str", "int", "float", "range",
     "enumerate", "list", "reversed", "any", "all"}
)  # fmt: skip
_NODES = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Expr, ast.Constant, ast.Return,
    ast.Assign, ast.AugAssign, ast.Name, ast.Load, ast.Store, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.If, ast.For, ast.comprehension, ast.ListComp,
    ast.GeneratorExp, ast.Call, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword,
    ast.JoinedStr, ast.FormattedValue, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt,
    ast.LtE, ast.Gt, ast.GtE, ast.Break, ast.Continue, ast.Pass,
)  # fmt: skip


class CodeRejected(ValueError):
    """The function is not plain enough to ship; the message says why."""


def check_function(source: str, name: str, docstring: str, *, given: Collection[str] = ()) -> None:
    """Raise ``CodeRejected`` unless ``source`` is one allowed function called ``name``."""
    if not NAME.fullmatch(name):
        raise CodeRejected(f"{name!r}: the name must look like extra_something")
    if has_surrogates(source):  # the parser cannot even read it
        raise CodeRejected(f"{name}: the source holds invalid Unicode")
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise CodeRejected(f"{name}: not valid Python: {err.msg}") from err
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise CodeRejected(f"{name}: must be exactly one function")
    function = tree.body[0]
    if function.name != name or function.decorator_list or function.returns is not None:
        raise CodeRejected(f"{name}: wrong name, a decorator or a return annotation")
    arguments = function.args
    if (
        [a.arg for a in arguments.args] != ["prices"]
        or arguments.posonlyargs
        or arguments.kwonlyargs
        or arguments.vararg
        or arguments.kwarg
        or arguments.defaults
        or any(a.annotation is not None for a in arguments.args)
    ):
        raise CodeRejected(f"{name}: must take exactly one argument, prices")
    if ast.get_docstring(function) != docstring.strip():
        raise CodeRejected(f"{name}: its docstring must be the one given")
    assigned = {"prices"} | {
        target.id
        for node in ast.walk(function)
        for target in _targets(node)
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise CodeRejected(f"{name}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and (
            node.id.startswith("_") or node.id not in assigned | ALLOWED_CALLS
        ):
            raise CodeRejected(f"{name}: the name {node.id!r} is not allowed")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in ALLOWED_CALLS
        ):
            raise CodeRejected(f"{name}: only {', '.join(sorted(ALLOWED_CALLS))} may be called")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 200:
            raise CodeRejected(f"{name}: text longer than 200 characters")
    _check_texts(function, name, given)


def _check_texts(function: ast.FunctionDef, name: str, given: Collection[str]) -> None:
    """Every text the function holds, and all of them joined, must be plain (no links)."""
    texts = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    for text in [*texts, "".join(texts)]:
        problem = text_problem(text, given)
        if problem is not None:
            raise CodeRejected(f"{name}: a text {problem}")


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return [t for target in node.targets for t in _flat(target)]
    if isinstance(node, ast.AugAssign | ast.For | ast.comprehension):
        return _flat(node.target)
    return []


def _flat(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        return [t for element in target.elts for t in _flat(element)]
    return [target]
