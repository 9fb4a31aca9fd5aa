"""Wrap raw SQL strings given to ``execute()``: ``text()`` for sessions, driver SQL for
connections.

Before::

    session.execute("UPDATE users SET active = :a", {"a": True})
    conn.execute("SELECT * FROM users WHERE id = %s", 5)
    conn.execute("DELETE FROM users WHERE id = %(id)s", id=5)
    conn.execute(users.insert(), name="ann")
    conn.execute(users.insert(), {"name": "a"}, {"name": "b"})

After::

    session.execute(text("UPDATE users SET active = :a"), {"a": True})
    conn.exec_driver_sql("SELECT * FROM users WHERE id = %s", (5,))
    conn.exec_driver_sql("DELETE FROM users WHERE id = %(id)s", {"id": 5})
    conn.execute(users.insert(), {"name": "ann"})
    conn.execute(users.insert(), [{"name": "a"}, {"name": "b"}])

Safety: 1.x ``Session.execute(str)`` already treated the string as ``text()`` (``:name``
parameters), so ``text()`` keeps its meaning. 1.x ``Connection.execute(str)`` passed the
string to the driver with the driver's own parameter style (``%s``, ``?``), which is what
``exec_driver_sql()`` does; positional and keyword parameters are packed the way 1.x
did; so are the keyword and several-dictionary parameters 1.x took for statement
objects, which 2.0's ``Connection.execute(statement, parameters)`` refuses (session
keywords are bind arguments, not parameters, and stay). Only strings are touched: literals, ``%``/``+`` on them, ``"...".format()``,
``str(...)`` (1.x took any ``str``; 2.0's ``Connection.execute()`` refuses one), and
names every binding of which is one of these; a variable that may hold a ``text()`` or
``select()`` object is left alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider

from sqla_upgrade.codemods.analysis.chains import with_separators
from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, Pass
from sqla_upgrade.codemods.names import assigned_values, qualified_names

EXECUTING = frozenset({"execute", "scalar"})


class RawSqlPass(Pass):
    """session.execute("sql") → execute(text("sql")); conn.execute("sql") → exec_driver_sql."""

    name = "raw-sql"
    triggers = (b".execute(", b".scalar(")
    # query-to-select writes session.execute/scalar(select(...)): no engine, no string
    triggers_in_stage_input = True
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self.sessions = self.connectables.sessions

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in EXECUTING):
            return updated_node
        if not original_node.args or original_node.args[0].keyword or original_node.args[0].star:
            return updated_node
        owner = func.value
        if not self._is_sql_string(original_node.args[0].value):
            if self.connectables.connection_evidence(owner) in (Evidence.PROOF, Evidence.ASSUMED):
                return self._packed_parameters(original_node, updated_node)
            return updated_node
        if self.sessions.evidence(owner) in (Evidence.PROOF, Evidence.ASSUMED):
            return self._session_text(updated_node)
        if self.connectables.connection_evidence(owner) in (Evidence.PROOF, Evidence.ASSUMED):
            return self._driver_sql(original_node, updated_node)
        return updated_node

    def _is_sql_string(self, value: cst.BaseExpression, depth: int = 0) -> bool:
        """A string, however built: a literal, ``%`` or ``+`` on a literal, ``"...".format()``,
        ``str(...)``, or a name every binding of which is one of these."""
        if depth > 10:
            return False
        if isinstance(value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return True
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Modulo):
            return isinstance(value.left, cst.SimpleString | cst.ConcatenatedString)
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            # ``+`` with a string on either side is a string (or raises, as it did)
            return self._is_sql_string(value.left, depth + 1) or self._is_sql_string(
                value.right, depth + 1
            )
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            return value.func.attr.value == "format" and isinstance(
                value.func.value, cst.SimpleString | cst.ConcatenatedString
            )
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            return "builtins.str" in qualified_names(self, value.func)
        if isinstance(value, cst.Name):
            bound = assigned_values(self, value)
            return bool(bound) and all(self._is_sql_string(v, depth + 1) for v in bound or ())
        return False

    def _parameters_kind(self, value: cst.BaseExpression, depth: int = 0) -> str:
        """What 1.x made of one positional parameter: "parameters" (a tuple, list or
        dictionary: the parameters themselves), "value" (anything else: the only
        parameter), "unknown" when that cannot be told."""
        if depth > 10:
            return "unknown"
        if isinstance(value, cst.Tuple | cst.List | cst.Dict | cst.ListComp | cst.DictComp):
            return "parameters"
        if _is_scalar_literal(value) or isinstance(value, cst.FormattedString | cst.UnaryOperation):
            return "value"
        if isinstance(value, cst.Name) and value.value in ("None", "True", "False"):
            return "value"
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            names = qualified_names(self, value.func)
            if names & {"builtins.tuple", "builtins.list", "builtins.dict"}:
                return "parameters"
            if names & {"builtins.str", "builtins.int", "builtins.float", "builtins.bool"}:
                return "value"
        if self._is_sql_string(value):
            return "value"
        if isinstance(value, cst.Name):
            bound = assigned_values(self, value)
            kinds = {self._parameters_kind(v, depth + 1) for v in bound or ()}
            if len(kinds) == 1:
                return kinds.pop()
        return "unknown"

    def _session_text(self, call: cst.Call) -> cst.Call:
        first = call.args[0]
        self.count_rewrite()
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy", "text")
        wrapped = first.with_changes(
            value=cst.Call(func=cst.Name("text"), args=[cst.Arg(first.value)])
        )
        return call.with_changes(args=[wrapped, *call.args[1:]])

    def _driver_sql(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        func = call.func
        assert isinstance(func, cst.Attribute)
        sql = call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        positional = [a for a in call.args[1:] if a.keyword is None and not a.star]
        keywords = [a for a in call.args[1:] if a.keyword is not None]
        if any(a.star for a in call.args[1:]) or (positional and keywords):
            self.todo(
                original, "raw SQL execute() with mixed parameters: use exec_driver_sql() by hand"
            )
            return call
        args = [sql]
        one = self._parameters_kind(positional[0].value) if len(positional) == 1 else None
        if one == "unknown":
            self.todo(
                original,
                "raw SQL execute() with one parameter of unknown kind: 1.x took a tuple, list "
                "or dictionary as the parameters and any other value as the only one; use "
                "exec_driver_sql(sql, (value,)) or exec_driver_sql(sql, parameters)",
            )
            return call
        if one == "parameters":
            args.append(positional[0].with_changes(comma=cst.MaybeSentinel.DEFAULT))
        elif positional:
            elements = [cst.Element(a.value) for a in positional]
            args.append(cst.Arg(cst.Tuple(with_tuple_commas(elements))))
        elif keywords:
            args.append(cst.Arg(keyword_dict(keywords, _quote_of(sql.value))))
        self.count_rewrite()
        new = cst.Call(
            func=func.with_changes(attr=cst.Name("exec_driver_sql")), args=with_separators(args)
        )
        if func.attr.value == "scalar":
            return cst.Call(func=cst.Attribute(value=new, attr=cst.Name("scalar")))
        return new

    def _packed_parameters(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        """``conn.execute(stmt, name="x")`` → ``conn.execute(stmt, {"name": "x"})`` and
        ``conn.execute(stmt, {...}, {...})`` → ``conn.execute(stmt, [{...}, {...}])``: 2.0
        takes one dictionary (or a list of them) where 1.x took keywords or several."""
        rest = call.args[1:]
        if len(rest) == 1 and rest[0].star == "**":
            # ``conn.execute(stmt, **params)``: the dictionary itself
            self.count_rewrite()
            packed = rest[0].with_changes(star="", whitespace_after_star=cst.SimpleWhitespace(""))
            return call.with_changes(args=[call.args[0], packed])
        keywords = [a for a in rest if a.keyword is not None and a.keyword.value not in KEPT]
        kept = [a for a in rest if a.keyword is not None and a.keyword.value in KEPT]
        positional = [a for a in rest if a.keyword is None]
        if len(positional) == 1 and positional[0].star == "*" and not keywords:
            self.todo(
                original,
                "execute() with *args: 1.x took each as a parameter dictionary; pass one "
                "dictionary, or a list of them",
            )
            return call
        if not keywords and len(positional) < 2:
            return call
        if any(a.star for a in rest) or (keywords and positional):
            self.todo(original, "execute() with mixed parameters: pass one dictionary")
            return call
        if keywords:
            packed = cst.Arg(keyword_dict(keywords, '"'))
        else:
            elements = [cst.Element(a.value) for a in positional]
            packed = cst.Arg(cst.List(with_tuple_commas(elements)))
        self.count_rewrite()
        first = call.args[0]
        return call.with_changes(args=with_separators([first, packed, *kept]))


#: ``Connection.execute()`` keywords that keep their meaning in 2.0
KEPT = frozenset({"parameters", "execution_options"})


def keyword_dict(keywords: list[cst.Arg], quote: str) -> cst.Dict:
    """``name=value, ...`` → ``{"name": value, ...}``."""
    pairs = [
        cst.DictElement(cst.SimpleString(f"{quote}{a.keyword.value}{quote}"), a.value)  # type: ignore[union-attr]
        for a in keywords
    ]
    return cst.Dict(with_dict_commas(pairs))


def _quote_of(value: cst.BaseExpression) -> str:
    """The quote of a literal string (so keys added beside it match), else ``"``."""
    if isinstance(value, cst.SimpleString) and value.value[-1:] in ("'", '"'):
        return value.value[-1]
    return '"'


def _is_scalar_literal(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.BaseNumber | cst.SimpleString | cst.ConcatenatedString)


def with_tuple_commas(elements: list[cst.Element]) -> list[cst.Element]:
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if len(elements) == 1:
        return [elements[0].with_changes(comma=cst.Comma())]
    return [e.with_changes(comma=comma) for e in elements[:-1]] + [elements[-1]]


def with_dict_commas(elements: list[cst.DictElement]) -> list[cst.DictElement]:
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [e.with_changes(comma=comma) for e in elements[:-1]] + elements[-1:]
