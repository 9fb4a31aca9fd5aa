"""A TODO on ``/`` between integer SQL expressions, whose meaning SQLAlchemy 2.0 changed.

SQLAlchemy 1.x rendered Python's ``/`` as the database's own ``/``: between integers, an
integer division on PostgreSQL and SQLite (``7 / 2`` is 3) and an exact one on MySQL and
MariaDB. 2.0 makes ``/`` a true division on every backend (casting on PostgreSQL and
SQLite) and renders ``//`` as the integer division, so the same code now computes
another value where it runs on PostgreSQL or SQLite::

    update(Product).values(price_cents=Product.price_cents * (100 - pct) / 100)
    session.query(func.sum(Order.total_cents) / func.count(Order.id))

Which one the code meant depends on the database it ran on, which the code does not
say: the statement is left as it is with a TODO (write ``//`` to keep PostgreSQL's and
SQLite's integer division).

Safety: only a division whose one side is a SQL expression of an integer type (a
model's integer column, ``Model.n`` with ``Column(Integer)`` or ``Mapped[int]``;
``func.count()``; ``func.sum/min/max()`` of one; ``+ - * %`` of those) and whose other
side can be an integer (an integer literal, a name, another such expression) is
reported; a float literal or a column of another type on the other side is not. No code
is changed.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass, per_object
from sqla_upgrade.codemods.index.model import ModelFacts, ProjectIndex
from sqla_upgrade.codemods.names import qualified_names

#: ``a / b``, ``x/2``, ``) / (``: a slash between two operands, not ``//``
DIVISION = re.compile(rb"[\w)\]] */ *[\w(\-.]")
MESSAGE = (
    "SQLAlchemy 2.0 makes `/` between integers a true division (1.x used the database's "
    "own `/`: integer division on PostgreSQL and SQLite, exact on MySQL and MariaDB): "
    "write `//` where the integer division was meant"
)
#: SQL functions whose result has the integer type of their argument
SAME_TYPE_FUNCTIONS = frozenset({"sum", "min", "max"})
INTEGER_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Modulo)
FUNC = frozenset({"sqlalchemy.func", "sqlalchemy.sql.func", "sqlalchemy.sql.expression.func"})


class IntegerDivisionPass(Pass):
    """A TODO on ``Model.n / 100`` and ``func.sum(x) / func.count(y)``."""

    name = "integer-division"
    triggers = (b"/",)
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """A ``/`` between two operands, and ``func.`` or an integer column's name."""
        if DIVISION.search(code) is None:
            return False
        return b"func." in code or any(name in code for name in _integer_column_names(index))

    def leave_BinaryOperation(
        self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation
    ) -> cst.BaseExpression:
        if not isinstance(original_node.operator, cst.Divide):
            return updated_node
        left, right = original_node.left, original_node.right
        if (self._integer_sql(left) and self._may_be_integer(right)) or (
            self._integer_sql(right) and self._may_be_integer(left)
        ):
            self.todo(original_node, MESSAGE)
        return updated_node

    def _integer_sql(self, node: cst.BaseExpression) -> bool:
        """A SQL expression of an integer type."""
        if isinstance(node, cst.Attribute) and (columns := self._table_columns(node.value)):
            return node.attr.value in columns[1]
        if isinstance(node, cst.Attribute):
            model = self._model_of(node.value)
            return model is not None and node.attr.value in model.integer_columns
        if isinstance(node, cst.Call):
            function = self._sql_function(node.func)
            if function == "count":
                return True
            return (
                function in SAME_TYPE_FUNCTIONS
                and len(node.args) == 1
                and self._integer_sql(node.args[0].value)
            )
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, INTEGER_ARITHMETIC):
            left, right = node.left, node.right
            return (self._integer_sql(left) and self._may_be_integer(right)) or (
                self._integer_sql(right) and self._may_be_integer(left)
            )
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return self._integer_sql(node.expression)
        return False

    def _may_be_integer(self, node: cst.BaseExpression) -> bool:
        """An integer literal, a name of unknown value, or an integer SQL expression (not a
        float literal, a string or a column of another type)."""
        if isinstance(node, cst.Integer | cst.Name):
            return True
        if isinstance(node, cst.Attribute) and (columns := self._table_columns(node.value)):
            return node.attr.value in columns[1]
        if isinstance(node, cst.Attribute):
            model = self._model_of(node.value)
            return model is None or node.attr.value in model.integer_columns
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, INTEGER_ARITHMETIC):
            return self._may_be_integer(node.left) and self._may_be_integer(node.right)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return self._may_be_integer(node.expression)
        return self._integer_sql(node)

    def _sql_function(self, func: cst.BaseExpression) -> str | None:
        """``count`` for ``func.count`` (``sqlalchemy.func``, or ``db.func``)."""
        if not (
            isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name | cst.Attribute)
        ):
            return None
        owner = func.value
        spelled = owner.attr.value if isinstance(owner, cst.Attribute) else owner.value
        if spelled != "func":
            return None
        names = qualified_names(self, owner)
        if names & FUNC or any(n.endswith(".func") for n in names):
            return func.attr.value
        return None

    def _table_columns(self, node: cst.BaseExpression) -> tuple[str, list[str]] | None:
        """For ``prices.c`` (or ``prices.columns``) of a Core table of the project: the
        table and its integer columns."""
        if not (isinstance(node, cst.Attribute) and node.attr.value in ("c", "columns")):
            return None
        tables = self.state.index.core_tables
        for qualname in qualified_names(self, node.value):
            resolved = self.state.index.resolve_alias(qualname)
            if resolved in tables:
                return resolved, self.state.index.core_integer_columns.get(resolved, [])
        return None

    def _model_of(self, node: cst.BaseExpression) -> ModelFacts | None:
        """The mapped class ``node`` names (``Product``, ``models.Product``)."""
        if not isinstance(node, cst.Name | cst.Attribute):
            return None
        index = self.state.index
        for qualname in qualified_names(self, node):
            model = index.model(qualname)
            if model is not None:
                return model
        return None


@per_object
def _integer_column_names(index: ProjectIndex) -> frozenset[bytes]:
    models = {name for model in index.models.values() for name in model.integer_columns}
    tables = {name for columns in index.core_integer_columns.values() for name in columns}
    return frozenset(f".{name}".encode() for name in models | tables)
