"""`calculate` (spec §2.1): Python arithmetic on a restricted character set, safely.

The checked text is parsed with Python's own parser (so syntax errors carry the exact
CPython wording, e.g. ``invalid syntax (<string>, line 1)``) and the tree is evaluated with
Python's own operators on Python numbers, which reproduces `eval` exactly (arbitrary
precision ints, true/floor division, right-associative `**`, the same exception texts).
The only deviation: an integer power whose result would exceed ~4 million bits is refused
with ``int too large to convert to float`` instead of hanging the process (e.g. ``9**9**9``).
"""

from __future__ import annotations

import ast
import math
import operator

ALLOWED = frozenset("0123456789+-*/(). ")
_MAX_POW_BITS = 4_000_000

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and b * math.log2(abs(a)) > _MAX_POW_BITS:
        raise OverflowError("int too large to convert to float")
    return a**b


def _eval(node: ast.AST):
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _pow(left, right)
        fn = _BINOPS.get(type(node.op))
        if fn is None:  # cannot be produced from the allowed characters
            raise SyntaxError("invalid syntax")
        return fn(left, right)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        raise SyntaxError("invalid syntax")
    if isinstance(node, ast.Tuple):
        out: list = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                out.extend(_eval(elt.value))
            else:
                out.append(_eval(elt))
        return tuple(out)
    if isinstance(node, ast.Call):
        func = _eval(node.func)
        args: list = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(_eval(a.value))
            else:
                args.append(_eval(a))
        return func(*args)  # numbers/tuples are never callable: Python's own TypeError text
    raise SyntaxError("invalid syntax")


def calculate(expression: str) -> str:
    """The result text of the `calculate` tool for `expression` (including `Error: ...`)."""
    if not all(ch in ALLOWED for ch in expression):
        return "Error: invalid characters in expression"
    try:
        tree = ast.parse(expression, filename="<string>", mode="eval")
        return str(round(float(_eval(tree)), 2))
    except Exception as e:  # the reference reports any failure as its message
        return f"Error: {e}"
