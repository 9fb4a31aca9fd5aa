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
