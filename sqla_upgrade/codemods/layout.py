"""Argument lists that keep the layout of the call they came from.

A pass that adds or drops arguments of a call laid out one argument per line must keep
that layout: appending ``lines=[]`` to::

    Order(
        customer=customer,
    )

gives ``lines=[],`` on a line of its own before the closing bracket, never
``    lines=[])``. Calls on one line keep ``, `` between arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from sqla_upgrade.codemods.analysis.chains import with_separators

NO_SPACE = cst.SimpleWhitespace("")


def relaid_arguments(call: cst.Call, args: list[cst.Arg]) -> list[cst.Arg]:
    """``args`` (some of the call's own arguments, possibly changed, plus new ones) laid
    out as the call's arguments are. Comments after an argument stay with it."""
    item_break = _item_break(call)
    if item_break is None or not call.args:
        return with_separators(args)
    last_original = call.args[-1]
    closing = _after(last_original)
    trailing_comma = isinstance(last_original.comma, cst.Comma)
    relaid = [_inner(arg, item_break) for arg in args[:-1]]
    if args:
        relaid.append(_last(args[-1], closing, trailing_comma))
    return relaid


def _inner(arg: cst.Arg, item_break: cst.ParenthesizedWhitespace) -> cst.Arg:
    """An argument followed by another one, on its own line."""
    after = _after(arg)
    closing_style = isinstance(after, cst.ParenthesizedWhitespace) and not _same_line_start(
        after, item_break
    )
    if isinstance(arg.comma, cst.Comma) and not closing_style:
        return arg
    if isinstance(after, cst.ParenthesizedWhitespace):  # keep its comment
        after = after.with_changes(indent=item_break.indent, last_line=item_break.last_line)
    else:
        after = item_break
    return arg.with_changes(comma=cst.Comma(whitespace_after=after), whitespace_after_arg=NO_SPACE)


def _last(
    arg: cst.Arg, closing: cst.BaseParenthesizableWhitespace, trailing_comma: bool
) -> cst.Arg:
    """The last argument, followed by the closing bracket as the call's last one was."""
    after = _after(arg)
    if _same_line_start(after, closing) and isinstance(arg.comma, cst.Comma) == trailing_comma:
        return arg
    if isinstance(closing, cst.ParenthesizedWhitespace):
        first_line = (
            after.first_line
            if isinstance(after, cst.ParenthesizedWhitespace)
            else cst.TrailingWhitespace()
        )
        closing = closing.with_changes(first_line=first_line, empty_lines=[])
    if trailing_comma:
        return arg.with_changes(
            comma=cst.Comma(whitespace_after=closing), whitespace_after_arg=NO_SPACE
        )
    return arg.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=closing)


def _same_line_start(
    whitespace: cst.BaseParenthesizableWhitespace, model: cst.BaseParenthesizableWhitespace
) -> bool:
    """Both break the line to the same indent, or both stay on the line."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace) and isinstance(
        model, cst.ParenthesizedWhitespace
    ):
        return (whitespace.indent, whitespace.last_line.value) == (
            model.indent,
            model.last_line.value,
        )
    return isinstance(whitespace, cst.SimpleWhitespace) and isinstance(model, cst.SimpleWhitespace)


def _item_break(call: cst.Call) -> cst.ParenthesizedWhitespace | None:
    """The line break (and indent, without comments) that separates the call's arguments,
    when they are laid out over several lines."""
    candidates: list[cst.BaseParenthesizableWhitespace] = [call.whitespace_before_args]
    candidates += [
        a.comma.whitespace_after for a in list(call.args)[:-1] if isinstance(a.comma, cst.Comma)
    ]
    for whitespace in candidates:
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return None


def _after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace:
    """What follows the argument (after its comma, if any)."""
    if isinstance(arg.comma, cst.Comma):
        return arg.comma.whitespace_after
    return arg.whitespace_after_arg


def with_blank_lines(statement: cst.CSTNode, count: int) -> cst.CSTNode:
    """``statement`` with at least ``count`` blank lines before it (before the comments
    above it, which stay with it)."""
    leading = list(getattr(statement, "leading_lines", ()))
    blank = 0
    while blank < len(leading) and leading[blank].comment is None:
        blank += 1
    if blank >= count:
        return statement
    added = [cst.EmptyLine() for _ in range(count - blank)]
    return statement.with_changes(leading_lines=[*added, *leading])


def without_leading_blank_lines(statement: cst.CSTNode) -> cst.CSTNode:
    """``statement`` with no blank line before it (the first of a module)."""
    leading = list(getattr(statement, "leading_lines", ()))
    blank = 0
    while blank < len(leading) and leading[blank].comment is None:
        blank += 1
    return statement.with_changes(leading_lines=leading[blank:]) if blank else statement


def spaced_top_level(
    body: list[cst.BaseStatement], generated: Sequence[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """A module's ``body`` with two blank lines (PEP 8, as ``ruff format`` lays them out)
    before each of the ``generated`` function and class definitions and before the
    statement following one; none before a module's first statement."""
    ids = {id(statement) for statement in generated}
    spaced = {id(s) for s in generated if isinstance(s, cst.FunctionDef | cst.ClassDef)}
    marks = [id(statement) in spaced for statement in body]
    result = list(body)
    for position, statement in enumerate(body):
        after_def = position > 0 and marks[position - 1]
        if marks[position] or (after_def and id(statement) not in ids):
            spaced_statement = (
                with_blank_lines(statement, 2)
                if position
                else without_leading_blank_lines(statement)
            )
            assert isinstance(spaced_statement, cst.BaseStatement)
            result[position] = spaced_statement
    return result
