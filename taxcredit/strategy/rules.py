"""Eligibility rules as data: small, safe expressions over feature columns.

A rule *requires* a condition, e.g. ``credit_grade in [1, 2, 3]`` or ``tax_12m >= 30000``; it
*hits* an enterprise when the condition is not true for it — false, or unknown because a
value it needs is missing (write ``isna(x) or x <= 0`` to let a missing value pass). Its
``action`` says what a hit does: ``decline`` or ``refer`` (to manual review).

Expressions are parsed with :mod:`ast` and only this is allowed: feature names, numbers,
strings, lists/tuples of them, comparisons (``< <= > >= == != in``, ``not in``), ``and`` /
``or`` / ``not``, ``+ - * /``, unary minus, and the functions ``isna``, ``notna``, ``abs``,
``min``, ``max``. Nothing else parses, so a strategy file cannot run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["ACTIONS", "Rule", "RuleError", "evaluate_rules"]

ACTIONS = ("decline", "refer")


class RuleError(ValueError):
    """A rule that does not parse, or names a feature the data do not have."""


_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}

# Three-valued logic: a value is (truth, known). Missing inputs make a comparison unknown.
Value = tuple[np.ndarray, np.ndarray]


def _num(x, n: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    return arr


def _kind(values: np.ndarray, known: np.ndarray) -> str | None:
    """Say whether the known values are ``"number"`` or ``"text"`` (None: nothing known)."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return "number"
    if values.dtype.kind == "U":
        return "text"
    seen = values[np.asarray(known, dtype=bool)] if len(values) else values
    if not len(seen):
        return None
    return "text" if any(isinstance(v, str) for v in seen) else "number"


class _Compiler:
    """Turn an expression's AST into a function of a DataFrame (vectorised)."""

    FUNCS = ("isna", "notna", "abs", "min", "max")

    def __init__(self, expr: str, code: str) -> None:
        self.expr, self.code = expr, code
        self.names: set[str] = set()

    def fail(self, what: str) -> RuleError:
        return RuleError(f"rule {self.code!r}: {what} in {self.expr!r}")

    def compile(self) -> Callable[[pd.DataFrame], Value]:
        try:
            # inside parentheses a long condition may span lines (a TOML multi-line string)
            tree = ast.parse(f"(\n{self.expr}\n)", mode="eval")
        except SyntaxError as exc:
            raise self.fail(f"syntax error ({exc.msg})") from None
        fn = self.logic(tree.body)
        return fn

    # boolean-valued nodes → (truth, known)
    def logic(self, node) -> Callable[[pd.DataFrame], Value]:
        if isinstance(node, ast.BoolOp):
            parts = [self.logic(v) for v in node.values]
            is_and = isinstance(node.op, ast.And)

            def boolop(df):
                vals = [p(df) for p in parts]
                if is_and:  # false if any is known false; true if all known true
                    false = np.logical_or.reduce([k & ~t for t, k in vals])
                    true = np.logical_and.reduce([k & t for t, k in vals])
                else:
                    true = np.logical_or.reduce([k & t for t, k in vals])
                    false = np.logical_and.reduce([k & ~t for t, k in vals])
                return true, true | false
            return boolop
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.logic(node.operand)
            return lambda df: (lambda t, k: (~t & k, k))(*inner(df))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isna", "notna"):
            if len(node.args) != 1:
                raise self.fail(f"{node.func.id}() takes one argument")
            arg = self.value(node.args[0])
            want_na = node.func.id == "isna"

            def na(df):
                _, known = arg(df)
                t = ~known if want_na else known
                return t, np.ones(len(df), dtype=bool)
            return na
        raise self.fail(f"'{ast.unparse(node)}' is not a condition")

    def compare(self, node: ast.Compare) -> Callable[[pd.DataFrame], Value]:
        left = self.value(node.left)
        steps = []
        texts = [ast.unparse(node.left)]
        for op, right in zip(node.ops, node.comparators, strict=True):
            texts.append(ast.unparse(right))
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                    raise self.fail("'in' needs a list of values")
                values = [self.literal(e) for e in right.elts]
                kinds = {"text" if isinstance(v, str) else "number" for v in values}
                if len(kinds) > 1:
                    raise self.fail(f"the list {texts[-1]} mixes numbers and text")
                steps.append((op, values))
            elif type(op) in _CMP:
                steps.append((op, self.value(right)))
            else:
                raise self.fail(f"operator {type(op).__name__} is not allowed")

        def same_kind(a, ka, b, kb, i):
            """Refuse a number compared with text (never true: it would decline everyone)."""
            x, y = _kind(a, ka), _kind(b, kb)
            if x and y and x != y:
                what = {"number": "numeric", "text": "text"}
                raise RuleError(f"rule {self.code!r}: {texts[i]} is {what[x]} but "
                                f"{texts[i + 1]} is {what[y]} in {self.expr!r}, so it could "
                                "never hold; compare like with like (catalog codes are "
                                "numeric: credit_grade A=1, B=2, M=3, C=4, D=5)")

        def cmp(df):
            n = len(df)
            truth = np.ones(n, dtype=bool)
            known = np.ones(n, dtype=bool)
            a, ka = left(df)
            for i, (op, right) in enumerate(steps):
                if isinstance(op, (ast.In, ast.NotIn)):
                    values = np.asarray(right, dtype=object)
                    same_kind(a, ka, values, np.ones(len(values), dtype=bool), i)
                    hit = pd.Series(a).isin(right).to_numpy()
                    t = hit if isinstance(op, ast.In) else ~hit
                    kb = ka
                    b = None
                else:
                    b, kb = right(df)
                    same_kind(a, ka, b, kb, i)
                    with np.errstate(invalid="ignore"):
                        t = np.asarray(_CMP[type(op)](a, b), dtype=bool)
                    kb = ka & kb
                truth &= t
                known &= kb
                if b is not None:
                    a, ka = b, kb
            return truth & known, known
        return cmp

    # numeric/text-valued nodes → (values, known)
    def value(self, node) -> Callable[[pd.DataFrame], Value]:
        if isinstance(node, ast.Name):
            name = node.id
            self.names.add(name)

            def col(df):
                if name not in df.columns:
                    raise RuleError(f"rule {self.code!r} needs feature {name!r}, which the "
                                    f"data do not have")
                s = df[name]
                known = s.notna().to_numpy()
                if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    return s.to_numpy(dtype=float, na_value=np.nan), known
                return s.astype(object).to_numpy(), known
            return col
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)) \
                and not isinstance(node.value, bool):
            v = node.value
            return lambda df: (_num(v, len(df)), np.ones(len(df), dtype=bool))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand)
            return lambda df: (lambda v, k: (-v, k))(*inner(df))
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            f, a, b = _BIN[type(node.op)], self.value(node.left), self.value(node.right)

            def arith(df):
                (x, kx), (y, ky) = a(df), b(df)
                with np.errstate(divide="ignore", invalid="ignore"):
                    out = f(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
                return out, kx & ky & np.isfinite(out)
            return arith
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("abs", "min",
                                                                             "max"):
            args = [self.value(a) for a in node.args]
            name = node.func.id
            if (name == "abs") != (len(args) == 1) or not args:
                raise self.fail(f"wrong number of arguments to {name}()")

            def call(df):
                vals = [a(df) for a in args]
                known = np.logical_and.reduce([k for _, k in vals])
                xs = [np.asarray(v, dtype=float) for v, _ in vals]
                out = (np.abs(xs[0]) if name == "abs" else
                       np.minimum.reduce(xs) if name == "min" else np.maximum.reduce(xs))
                return out, known
            return call
        raise self.fail(f"'{ast.unparse(node)}' is not allowed")

    def literal(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        raise self.fail(f"list values must be numbers or strings, got '{ast.unparse(node)}'")


@dataclass(frozen=True)
class Rule:
    """One eligibility rule.

    Parameters
    ----------
    code : str
        Short stable identifier (shown in decisions), e.g. ``"R01_GRADE"``.
    require : str
        The condition an enterprise must meet (see the module docstring).
    action : {"decline", "refer"}
        What a hit does.
    zh, en : str
        The message shown when the rule hits, in Chinese and English.
    """

    code: str
    require: str
    action: str = "decline"
    zh: str = ""
    en: str = ""

    def __post_init__(self) -> None:
        for key in ("code", "require", "action", "zh", "en"):
            if not isinstance(getattr(self, key), str):
                raise RuleError(f"rule {self.code!r}: {key} must be text, got "
                                f"{getattr(self, key)!r}")
        if self.action not in ACTIONS:
            raise RuleError(f"rule {self.code!r}: action must be one of {ACTIONS}, got "
                            f"{self.action!r}")
        _ = self._compiled  # parse now: a bad rule fails when the strategy loads

    @cached_property
    def _compiled(self):
        c = _Compiler(self.require, self.code)
        return c.compile(), frozenset(c.names)

    @property
    def features(self) -> set[str]:
        """Feature names the rule reads."""
        return set(self._compiled[1])

    def hits(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean: the enterprise does not (knowably) meet the condition."""
        truth, _ = self._compiled[0](X)
        return ~truth

    def to_dict(self) -> dict:
        """Plain data."""
        return {"code": self.code, "require": self.require, "action": self.action,
                "zh": self.zh, "en": self.en}


def evaluate_rules(rules: list[Rule], X: pd.DataFrame) -> pd.DataFrame:
    """Evaluate every rule on every row.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X``: a boolean column per rule code (True = hit), plus ``knocked_out``
        (a decline rule hit), ``referred`` (a refer rule hit) and ``rule_hits`` (the codes hit,
        joined by ``;``, in rule order).
    """
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise RuleError(f"rule codes must be unique, got {codes}")
    n = len(X)
    hits = np.column_stack([r.hits(X) for r in rules]) if rules else np.zeros((n, 0), bool)
    decline = np.array([r.action == "decline" for r in rules], dtype=bool)
    out = pd.DataFrame(hits, index=X.index, columns=codes)
    out["knocked_out"] = hits[:, decline].any(axis=1)
    out["referred"] = hits[:, ~decline].any(axis=1)
    names = np.asarray(codes, dtype=object)
    out["rule_hits"] = [";".join(names[row]) for row in hits] if codes else ""
    return out
