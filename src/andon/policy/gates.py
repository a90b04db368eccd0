"""CEL gates: parse with cel-python, check types against a fact schema, evaluate, explain.

A gate is a CEL expression over named facts (``eval.f1 >= champion.f1 - 0.01 && card.complete``).
:func:`compile_gate` parses it with celpy's parser and walks the syntax tree against a declared
schema (fact path -> type), so an unknown fact, a number compared with a string or ``&&`` on a
number is refused when the policy is saved, with the column, never at run time.

The checked subset of CEL: literals (numbers, strings, booleans, null, lists), fact paths
(``eval.bias.demographic_parity_diff``, ``eval.slices["segment=retail"].f1``), ``! - + - * / %``,
comparisons, ``in``, ``&& || ?:``, and ``size()``, ``has()``, ``.contains()``,
``.startsWith()``, ``.endsWith()``. Every number is one numeric type (CEL's int/double split
would make ``eval.rows == 5000`` fail at run time on a float fact).

Evaluation walks the same tree (:func:`evaluate`); :func:`explain` splits the gate on its
top-level ``&&`` and evaluates each clause, recording the facts it read, so a failure names the
clause and the values that made it fail.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lark import Token, Tree

from andon.core.errors import Invalid

Type = str
"""A fact or expression type: ``number``, ``string``, ``bool``, ``list``, ``map``, ``dyn``,
``null``."""

_COMPARE = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
}
_ARITH = {
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_STRING_METHODS = ("contains", "startsWith", "endsWith")
MAX_DEPTH = 256
"""Syntax-tree levels one clause may nest. A parenthesis adds ten, a ``!`` or ``-`` one, each
chained ``||`` or operator one; the sample gates nest about 20. The checker and the evaluator
recurse once per level, so this keeps both far from Python's recursion limit."""
MAX_CLAUSES = 64
"""Top-level ``&&`` clauses of one gate."""
_WRAPPERS = (
    "expr",
    "conditionalor",
    "conditionaland",
    "relation",
    "addition",
    "multiplication",
    "unary",
    "member",
    "primary",
)


@functools.cache
def _parser() -> Any:
    from celpy.celparser import CELParser

    return CELParser()


class GateError(Exception):
    """A problem in a gate expression, at a column (1-based) of its text."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.message = message


class Missing(Exception):
    """A fact the expression reads has no value for this model version."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} has no value")
        self.path = path


@dataclass(frozen=True, slots=True)
class Gate:
    """A parsed and type-checked expression."""

    text: str
    tree: Tree[Token]
    facts: tuple[str, ...]
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Clause:
    """One top-level ``&&`` operand of a gate, with the facts it reads."""

    text: str
    tree: Tree[Token]
    facts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """How one clause evaluated: passed, the values it read, and any error."""

    text: str
    passed: bool
    values: dict[str, Any]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "clause": self.text,
            "passed": self.passed,
            "values": self.values,
            "error": self.error,
        }


# --------------------------------------------------------------------------- compiling


def compile_gate(text: str, schema: Mapping[str, Type], *, field: str) -> Gate:
    """Parse and type-check ``text`` against ``schema``; it must be a boolean expression.

    Raises :class:`Invalid` naming ``field`` with the column and the problem.
    """
    from celpy.celparser import CELParseError

    if not isinstance(text, str) or not text.strip():
        raise Invalid("must be a CEL expression", field=field)
    if len(text) > 4000:
        raise Invalid("is longer than 4000 characters", field=field)
    try:
        tree = _parser().parse(text)  # LALR: iterative, linear in the (bounded) text
    except CELParseError as exc:
        column = getattr(exc, "column", None) or 1
        raise Invalid(f"column {column}: syntax error", field=field) from None
    except Exception as exc:  # lark raises its own errors on some malformed input
        raise Invalid(f"syntax error: {type(exc).__name__}", field=field) from None
    _require_shallow(text, tree, field)
    try:
        checker = _Checker(schema)
        kind = checker.type_of(tree)
        if kind not in ("bool", "dyn"):
            raise GateError(1, f"the expression is a {kind}, not a boolean")
        clauses = tuple(
            Clause(_source(text, node), node, tuple(sorted(_Checker(schema).reads(node))))
            for node in _top_level_and(tree)
        )
    except GateError as exc:
        raise Invalid(str(exc), field=field) from None
    except RecursionError:  # a deeper stack than the bound allows for; never a 500
        raise Invalid("nests too deeply to check: split it", field=field) from None
    return Gate(text, tree, tuple(sorted(checker.paths)), clauses)


def _depth(node: Tree[Token]) -> int:
    """How many levels the tree under ``node`` nests, walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, Tree):
            stack.extend((child, level + 1) for child in item.children if child is not None)
    return deepest


def _require_shallow(text: str, tree: Tree[Token], field: str) -> None:
    """:class:`Invalid` naming the clause when the gate nests past :data:`MAX_DEPTH` or has
    more than :data:`MAX_CLAUSES` clauses: checked before any walk that recurses."""
    clauses = _top_level_and(tree)
    if len(clauses) > MAX_CLAUSES:
        raise Invalid(
            f"has {len(clauses)} clauses joined by &&; at most {MAX_CLAUSES}", field=field
        )
    for number, clause in enumerate(clauses, 1):
        depth = _depth(clause)
        if depth > MAX_DEPTH:
            source = _source(text, clause)
            shown = source if len(source) <= 40 else source[:40] + "..."
            raise Invalid(
                f"clause {number} ({shown}) nests {depth} levels deep, more than the "
                f"{MAX_DEPTH} a gate may: drop redundant parentheses, '!' or '-', or split "
                "it into clauses joined by &&",
                field=field,
            )


def _source(text: str, node: Tree[Token]) -> str:
    meta = node.meta
    if meta.empty:
        return text.strip()
    return text[meta.start_pos : meta.end_pos].strip()


def _children(node: Tree[Token]) -> list[Any]:
    return [c for c in node.children if c is not None]


def _column(node: Any) -> int:
    if isinstance(node, Token):
        return int(node.column or 1)
    meta = node.meta
    return 1 if meta.empty else int(meta.column)


def _top_level_and(tree: Tree[Token]) -> list[Tree[Token]]:
    """The operands of the expression's top-level ``&&`` chain (itself when there is none)."""
    node = tree
    while node.data in ("expr", "conditionalor") and len(_children(node)) == 1:
        node = _children(node)[0]
    if node.data == "paren_expr" or node.data != "conditionaland":
        return [tree]
    out: list[Tree[Token]] = []
    while node.data == "conditionaland" and len(_children(node)) == 2:
        left, right = _children(node)
        out.append(right)
        node = left
    out.append(node)
    return list(reversed(out))


def _path(node: Any) -> list[tuple[str, Any]] | None:
    """``[(name, node), ...]`` when ``node`` is a plain chain ``a.b.c``; else None."""
    while isinstance(node, Tree) and node.data in _WRAPPERS and len(node.children) == 1:
        node = node.children[0]
    if not isinstance(node, Tree):
        return None
    if node.data == "ident":
        token = node.children[0]
        return [(str(token), token)]
    if node.data == "member_dot":
        inner, name = _children(node)
        head = _path(inner)
        return None if head is None else [*head, (str(name), name)]
    return None


class _Checker:
    """Types of expressions against a fact schema; records every fact path read."""

    def __init__(self, schema: Mapping[str, Type]) -> None:
        self.schema = schema
        self.paths: set[str] = set()
        self.groups = {
            ".".join(key.split(".")[:i]) for key in schema for i in range(1, key.count(".") + 1)
        }

    def reads(self, node: Tree[Token]) -> set[str]:
        self.type_of(node)
        return self.paths

    def _fact(self, parts: list[tuple[str, Any]]) -> Type:
        for i in range(1, len(parts) + 1):
            name = ".".join(p for p, _ in parts[:i])
            if name in self.schema:
                self.paths.add(name)
                kind = self.schema[name]
                if i == len(parts):
                    return kind
                if kind in ("map", "dyn"):
                    return "dyn"
                raise GateError(
                    _column(parts[i][1]), f"'{name}' is a {kind}; it has no field '{parts[i][0]}'"
                )
            if name not in self.groups:
                known = sorted(k for k in self.schema if k.startswith(parts[0][0] + "."))
                hint = f" (known: {', '.join(known[:12])})" if known else ""
                root = sorted({k.split(".")[0] for k in self.schema})
                if i == 1 and not known:
                    hint = f" (facts start with {', '.join(root)})"
                raise GateError(_column(parts[i - 1][1]), f"unknown fact '{name}'{hint}")
        name = ".".join(p for p, _ in parts)
        members = sorted(k for k in self.schema if k.startswith(name + "."))
        raise GateError(
            _column(parts[-1][1]),
            f"'{name}' is a group of facts, name one: {', '.join(members[:12])}",
        )

    def type_of(self, node: Any) -> Type:
        if isinstance(node, Token):
            raise GateError(_column(node), f"unexpected '{node}'")
        rule = str(node.data)
        kids = _children(node)
        if rule in ("expr",) and len(kids) == 3:
            cond, yes, no = (self.type_of(k) for k in kids)
            self._want(kids[0], cond, "bool", "the condition of ?:")
            if "dyn" not in (yes, no) and yes != no and "null" not in (yes, no):
                raise GateError(_column(node), f"the branches of ?: are a {yes} and a {no}")
            return yes if yes != "dyn" else no
        if rule in ("conditionalor", "conditionaland") and len(kids) == 2:
            op = "||" if rule == "conditionalor" else "&&"
            for kid in kids:
                self._want(kid, self.type_of(kid), "bool", f"'{op}'")
            return "bool"
        if rule == "relation" and len(kids) == 2:
            return self._relation(kids[0], kids[1])
        if rule in ("addition", "multiplication") and len(kids) == 2:
            return self._arith(kids[0], kids[1])
        if rule == "unary" and len(kids) == 2:
            op, operand = kids
            kind = self.type_of(operand)
            if op.data == "unary_not":
                self._want(operand, kind, "bool", "'!'")
                return "bool"
            self._want(operand, kind, "number", "'-'")
            return "number"
        if rule in ("member_dot", "ident"):
            parts = _path(node)
            if parts is not None:
                return self._fact(parts)
            inner, name = kids
            kind = self.type_of(inner)
            if kind in ("map", "dyn"):
                return "dyn"
            raise GateError(_column(name), f"a {kind} has no field '{name}'")
        if rule == "member_index":
            inner, index = kids
            kind = self.type_of(inner)
            key = self.type_of(index)
            if kind in ("map", "dyn"):
                return "dyn"
            if kind == "list":
                self._want(index, key, "number", "a list index")
                return "dyn"
            raise GateError(_column(index), f"a {kind} cannot be indexed")
        if rule == "member_dot_arg":
            return self._method(kids)
        if rule == "ident_arg":
            return self._function(kids)
        if rule == "literal":
            return self._literal(kids[0])
        if rule == "list_lit":
            for kid in kids:
                for item in _children(kid) if kid.data == "exprlist" else [kid]:
                    self.type_of(item)
            return "list"
        if len(kids) == 1 and (rule in _WRAPPERS or rule == "paren_expr"):
            return self.type_of(kids[0])
        raise GateError(_column(node), f"{rule.replace('_', ' ')} is not supported in gates")

    def _want(self, node: Any, kind: Type, want: Type, where: str) -> None:
        if kind not in (want, "dyn"):
            raise GateError(_column(node), f"{where} needs a {want}, got a {kind}")

    def _relation(self, left_op: Tree[Token], right: Any) -> Type:
        op = _COMPARE[str(left_op.data)]
        left = _children(left_op)[0]
        lt, rt = self.type_of(left), self.type_of(right)
        if op == "in":
            if rt not in ("list", "map", "dyn"):
                raise GateError(_column(right), f"'in' needs a list on its right, got a {rt}")
            return "bool"
        if "dyn" in (lt, rt):
            return "bool"
        if op in ("==", "!=") and "null" in (lt, rt):
            return "bool"
        if lt != rt:
            raise GateError(_column(left_op), f"'{op}' compares a {lt} with a {rt}")
        if op not in ("==", "!=") and lt not in ("number", "string"):
            raise GateError(_column(left_op), f"'{op}' needs numbers or strings, got {lt}s")
        return "bool"

    def _arith(self, left_op: Tree[Token], right: Any) -> Type:
        op = _ARITH[str(left_op.data)]
        left = _children(left_op)[0]
        lt, rt = self.type_of(left), self.type_of(right)
        if op == "+" and lt == rt == "string":
            return "string"
        self._want(left, lt, "number", f"'{op}'")
        self._want(right, rt, "number", f"'{op}'")
        return "number"

    def _args(self, kids: list[Any], start: int) -> list[Any]:
        if len(kids) <= start:
            return []
        return _children(kids[start])

    def _method(self, kids: list[Any]) -> Type:
        target, name = kids[0], str(kids[1])
        args = self._args(kids, 2)
        kind = self.type_of(target)
        if name == "size" and not args:
            if kind not in ("list", "string", "map", "dyn"):
                raise GateError(_column(kids[1]), f"a {kind} has no size()")
            return "number"
        if name in _STRING_METHODS and len(args) == 1:
            self._want(target, kind, "string", f".{name}()")
            self._want(args[0], self.type_of(args[0]), "string", f"the argument of .{name}()")
            return "bool"
        raise GateError(_column(kids[1]), f"unknown function .{name}() with {len(args)} arguments")

    def _function(self, kids: list[Any]) -> Type:
        name = str(kids[0])
        args = self._args(kids, 1)
        if name == "size" and len(args) == 1:
            kind = self.type_of(args[0])
            if kind not in ("list", "string", "map", "dyn"):
                raise GateError(_column(args[0]), f"size() needs a list or string, got a {kind}")
            return "number"
        if name == "has" and len(args) == 1:
            if _path(args[0]) is None:
                raise GateError(_column(args[0]), "has() needs a fact such as eval.roc_auc")
            self.type_of(args[0])
            return "bool"
        raise GateError(_column(kids[0]), f"unknown function {name}() with {len(args)} arguments")

    @staticmethod
    def _literal(token: Token) -> Type:
        kind = token.type
        if kind in ("INT_LIT", "UINT_LIT", "FLOAT_LIT"):
            return "number"
        if kind in ("STRING_LIT", "MLSTRING_LIT"):
            return "string"
        if kind == "BOOL_LIT":
            return "bool"
        if kind == "NULL_LIT":
            return "null"
        raise GateError(_column(token), "bytes literals are not supported in gates")


# --------------------------------------------------------------------------- evaluating


def evaluate(node: Any, facts: Mapping[str, Any]) -> Any:
    """The value of a checked expression over flat ``facts`` (``{"eval.f1": 0.86, ...}``).

    Raises :class:`Missing` when it reads a fact that has no value, ``ArithmeticError`` on a
    division by zero.
    """
    rule = str(node.data)
    kids = _children(node)
    if rule == "expr" and len(kids) == 3:
        return evaluate(kids[1] if evaluate(kids[0], facts) else kids[2], facts)
    if rule in ("conditionalor", "conditionaland") and len(kids) == 2:
        # CEL: a decisive operand wins even when the other side is an error.
        stop = rule == "conditionalor"
        failure: Exception | None = None
        for kid in kids:
            try:
                if bool(evaluate(kid, facts)) is stop:
                    return stop
            except (Missing, ArithmeticError) as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return not stop
    if rule == "relation" and len(kids) == 2:
        op = _COMPARE[str(kids[0].data)]
        left = evaluate(_children(kids[0])[0], facts)
        right = evaluate(kids[1], facts)
        return _compare(op, left, right)
    if rule in ("addition", "multiplication") and len(kids) == 2:
        op = _ARITH[str(kids[0].data)]
        left = evaluate(_children(kids[0])[0], facts)
        right = evaluate(kids[1], facts)
        return _arith(op, left, right)
    if rule == "unary" and len(kids) == 2:
        value = evaluate(kids[1], facts)
        return (not value) if kids[0].data == "unary_not" else -value
    if rule in ("member_dot", "ident"):
        parts = _path(node)
        if parts is not None:
            return _lookup([p for p, _ in parts], facts)
        inner = evaluate(kids[0], facts)
        return _get(inner, str(kids[1]), str(kids[1]))
    if rule == "member_index":
        inner = evaluate(kids[0], facts)
        key = evaluate(kids[1], facts)
        return _get(inner, int(key) if isinstance(inner, list) else key, repr(key))
    if rule == "member_dot_arg":
        target = evaluate(kids[0], facts)
        args = [evaluate(a, facts) for a in (_children(kids[2]) if len(kids) > 2 else [])]
        name = str(kids[1])
        if name == "size":
            return len(target)
        return bool(
            getattr(
                str(target),
                {"startsWith": "startswith", "endsWith": "endswith"}.get(name, "__contains__"),
            )(args[0])
        )
    if rule == "ident_arg":
        name = str(kids[0])
        arg = _children(kids[1])[0]
        if name == "has":
            try:
                return evaluate(arg, facts) is not None
            except Missing:
                return False
        return len(evaluate(arg, facts))
    if rule == "literal":
        return _literal_value(kids[0])
    if rule == "list_lit":
        return [evaluate(i, facts) for k in kids for i in _children(k)]
    return evaluate(kids[0], facts)


def _lookup(parts: list[str], facts: Mapping[str, Any]) -> Any:
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in facts:
            value = facts[name]
            if value is None:
                raise Missing(name)
            for rest in parts[i:]:
                value = _get(value, rest, f"{name}.{rest}")
            return value
    raise Missing(".".join(parts))


def _get(container: Any, key: Any, label: str) -> Any:
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        raise Missing(label) from None
    if value is None:
        raise Missing(label)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "in":
        return left in right
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        raise ZeroDivisionError(f"division by zero in '{op}'")
    return left / right if op == "/" else left % right


def _literal_value(token: Token) -> Any:
    import ast

    text = str(token)
    if token.type == "BOOL_LIT":
        return text == "true"
    if token.type == "NULL_LIT":
        return None
    if token.type == "UINT_LIT":
        return int(text[:-1], 0)
    if token.type == "INT_LIT":
        return int(text, 0)
    if token.type == "FLOAT_LIT":
        return float(text)
    return ast.literal_eval(text)


def explain(gate: Gate, facts: Mapping[str, Any]) -> list[ClauseResult]:
    """Evaluate each top-level clause of ``gate``: passed, the values it read, any error."""
    out = []
    for clause in gate.clauses:
        values = {path: facts.get(path) for path in clause.facts}
        try:
            passed = bool(evaluate(clause.tree, facts))
            error = None
        except Missing as exc:
            passed, error = False, f"{exc.path} has no value"
        except ArithmeticError as exc:
            passed, error = False, str(exc)
        out.append(ClauseResult(clause.text, passed, values, error))
    return out
