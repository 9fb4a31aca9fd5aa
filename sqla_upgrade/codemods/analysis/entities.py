"""What a ``query(...)`` argument is: a mapped class, a column expression or a table.

The 2.0 reading of a query depends on it: one mapped class → ``session.scalars()``;
anything else → ``session.execute()`` rows. An argument the analysis cannot classify
makes the chain a review case instead of a guess.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import libcst as cst
from libcst.metadata import Assignment, ParentNodeProvider, ScopeProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.names import qualified_names

ALIASED = frozenset(
    {
        "sqlalchemy.orm.aliased",
        "sqlalchemy.orm.util.aliased",
        # an aliased class too: ``query(with_polymorphic(Employee, [Engineer]))`` gives
        # the objects, one per row
        "sqlalchemy.orm.with_polymorphic",
        "sqlalchemy.orm.util.with_polymorphic",
    }
)
TABLE = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table"})
AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})
EXISTS = frozenset(
    {"sqlalchemy.exists", "sqlalchemy.sql.exists", "sqlalchemy.sql.expression.exists"}
)
SELECT = frozenset(
    {"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select"}
)
#: methods of a query or a ``select()`` giving a FROM clause, queried for its rows
FROM_CLAUSE_METHODS = frozenset({"subquery", "alias", "cte"})
#: methods of a query or a ``select()`` giving the column expression of its one value
SCALAR_SUBQUERY_METHODS = frozenset({"as_scalar", "scalar_subquery"})


class EntityKind(enum.Enum):
    MAPPER = "mapper"  # a mapped class or an aliased one
    COLUMN = "column"  # any column expression, function, literal, label
    TABLE = "table"  # a Table: rows, no ORM entity
    UNKNOWN = "unknown"


class EntityClassifier:
    """``is_query`` tells whether an expression is a legacy ``Query`` (the caller's
    chain recognition): its ``as_scalar()`` is a column expression."""

    def __init__(
        self,
        transformer: Pass,
        is_query: Callable[[cst.BaseExpression], bool] | None = None,
        receiver_class: Callable[[cst.BaseExpression], str | None] | None = None,
    ) -> None:
        self.t = transformer
        self.is_query = is_query
        #: the project class whose instance (``self``) or class (``cls``) an expression is
        self.receiver_class = receiver_class
        self.index = transformer.state.index
        self.assumed: list[str] = []
        self._following: set[int] = set()  # values of variables being classified

    def model_name(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of the mapped class ``node`` names, if the index knows it."""
        for qualname in qualified_names(self.t, node):
            model = self.index.model(qualname)
            if model is not None:
                return model.qualname
        models = self.attribute_models(node)
        return models[0] if models is not None and len(models) == 1 else None

    def attribute_models(self, node: cst.BaseExpression) -> list[str] | None:
        """``self.model`` (or ``cls.model``) in a method of a class whose every binding of
        ``model`` is a mapped class (``model = User``; subclasses may bind others): those
        classes."""
        if not (isinstance(node, cst.Attribute) and self.receiver_class is not None):
            return None
        klass = self.receiver_class(node.value)
        if klass is None:
            return None
        return self.index.class_attribute_models(klass, node.attr.value)

    def entity_model(self, node: cst.BaseExpression) -> str | None:
        """The mapped class ``node`` names, or that an alias of it is made from:
        ``aliased(User)`` or a variable holding one (``u = aliased(User)``)."""
        found = self.model_name(node)
        if found is not None:
            return found
        value: cst.BaseExpression | None = node
        if isinstance(node, cst.Name):
            value = self._bound_value(node)
        if (
            isinstance(value, cst.Call)
            and value.args
            and qualified_names(self.t, value.func) & ALIASED
        ):
            return self.model_name(value.args[0].value)
        return None

    def classify(self, node: cst.BaseExpression) -> EntityKind:
        if isinstance(node, cst.Name | cst.Attribute):
            return self._classify_reference(node)
        if isinstance(node, cst.Call):
            return self._classify_call(node)
        if isinstance(
            node,
            cst.BinaryOperation
            | cst.Comparison
            | cst.UnaryOperation
            | cst.BaseNumber
            | cst.BaseString
            | cst.BooleanOperation,
        ):
            return EntityKind.COLUMN
        return EntityKind.UNKNOWN

    def _classify_reference(self, node: cst.Name | cst.Attribute) -> EntityKind:
        if self.model_name(node) is not None:
            return EntityKind.MAPPER
        if isinstance(node, cst.Attribute):
            if node.attr.value == "__table__" or node.attr.value == "c":
                return EntityKind.TABLE
            if self._holds_mapped_class(node):
                return EntityKind.MAPPER
            owner = self.classify(node.value)
            if owner is EntityKind.MAPPER:
                return EntityKind.COLUMN
            if owner is EntityKind.TABLE or _is_table_columns(node):
                return EntityKind.COLUMN
            return self._class_attribute_kind(node)
        values = self._bound_values(node)
        if len(values) == 1:
            return self._classify_bound(values[0])
        kinds = {self._classify_bound(value) for value in values}
        if len(kinds) == 1 and EntityKind.UNKNOWN not in kinds:
            return kinds.pop()  # ``if a: sub = q1.as_scalar()`` / ``else: sub = q2.as_scalar()``
        if node.value[:1].isupper() and any(c.islower() for c in node.value):
            self.assumed.append(node.value)
            return EntityKind.MAPPER
        return EntityKind.UNKNOWN

    def _class_attribute_kind(self, node: cst.Attribute) -> EntityKind:
        """A mapper for ``self.model`` naming mapped classes (``attribute_models``), unless
        one of several loads a collection with a join by default: its rows would need
        ``unique()``, which the others' do not get."""
        models = self.attribute_models(node)
        if models is None:
            return EntityKind.UNKNOWN
        if len(models) > 1 and any(
            self.index.loads_joined_collection(self.index.models[m]) for m in models
        ):
            return EntityKind.UNKNOWN
        return EntityKind.MAPPER

    def _holds_mapped_class(self, node: cst.Attribute) -> bool:
        """``self.model`` in a method of a class whose ``__init__`` stores a parameter
        annotated ``Type[ModelType]`` (a TypeVar bound to the declarative base) there."""
        if self.receiver_class is None:
            return False
        klass = self.receiver_class(node.value)
        return klass is not None and self.index.holds_mapped_class(klass, node.attr.value)

    def _classify_bound(self, value: cst.BaseExpression) -> EntityKind:
        if isinstance(value, cst.Call):
            names = qualified_names(self.t, value.func)
            if names & ALIASED:
                return EntityKind.MAPPER
            if names & TABLE:
                return EntityKind.TABLE
            func = value.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in FROM_CLAUSE_METHODS
                and self._is_statement(func.value)
            ):
                return EntityKind.TABLE  # ``sq = session.query(...).subquery()``: its rows
        if id(value) in self._following:
            return EntityKind.UNKNOWN  # ``x = x.label(...)``: a cycle
        self._following.add(id(value))
        try:
            # ``band = case(...).label("band")``, ``B = Book``: kept in a variable
            return self.classify(value)
        finally:
            self._following.discard(id(value))

    def bound_value(self, node: cst.Name) -> cst.BaseExpression | None:
        """The value of the single plain assignment binding ``node``, if there is one."""
        return self._bound_value(node)

    def _bound_value(self, node: cst.Name) -> cst.BaseExpression | None:
        """The value of the single plain assignment binding ``node``, if there is one."""
        values = self._bound_values(node)
        return values[0] if len(values) == 1 else None

    def _bound_values(self, node: cst.Name) -> list[cst.BaseExpression]:
        """The values of the assignments binding ``node``; none unless every one is a
        plain ``name = value``."""
        try:
            scope = self.t.get_metadata(ScopeProvider, node)
        except KeyError:
            return []
        if scope is None:
            return []
        values = []
        for assignment in scope[node.value]:
            if not isinstance(assignment, Assignment):
                continue  # a builtin of that name
            value = self._assigned_value(assignment)
            if value is None:
                return []
            values.append(value)
        return values

    def _assigned_value(self, assignment: Assignment) -> cst.BaseExpression | None:
        parent = self.t.get_metadata(ParentNodeProvider, assignment.node, None)
        if isinstance(parent, cst.AssignTarget):
            statement = self.t.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign):
                return statement.value
        return None

    def _classify_call(self, node: cst.Call) -> EntityKind:
        names = qualified_names(self.t, node.func)
        if names & ALIASED:
            return EntityKind.MAPPER
        if names & EXISTS:
            return EntityKind.COLUMN
        if any(n.startswith("sqlalchemy.") for n in names):
            return EntityKind.COLUMN
        func = node.func
        if isinstance(func, cst.Attribute):
            # func.count(...), User.name.label("n"), User.id.desc(), q.exists()...
            root = func.value
            while isinstance(root, cst.Attribute):
                root = root.value
            if any(n.startswith("sqlalchemy.") for n in qualified_names(self.t, root)):
                return EntityKind.COLUMN
            if self._is_flask_db(root):  # db.func.count(...), db.literal(...)
                return EntityKind.COLUMN
            if func.attr.value in ("label", "desc", "asc", "distinct", "exists", "scalar_subquery"):
                return EntityKind.COLUMN
            if func.attr.value in SCALAR_SUBQUERY_METHODS and self._is_statement(func.value):
                return EntityKind.COLUMN  # ``session.query(func.count(...))...as_scalar()``
            owner = self.classify(func.value)
            if owner in (EntityKind.COLUMN, EntityKind.MAPPER):
                return EntityKind.COLUMN
        return EntityKind.UNKNOWN

    def _is_statement(self, node: cst.BaseExpression) -> bool:
        """Is ``node`` a legacy query or a ``select()`` (however built, or kept in a
        variable)?"""
        if self.is_query is not None and self.is_query(node):
            return True
        root = node
        while isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute):
            root = root.func.value  # ``select(...).where(...)``: down to ``select(...)``
        if isinstance(root, cst.Call):
            return bool(qualified_names(self.t, root.func) & SELECT)
        if isinstance(root, cst.Name):
            bound = self._bound_value(root)  # ``stmt = select(...)``, then ``stmt.as_scalar()``
            if bound is not None and id(bound) not in self._following:
                self._following.add(id(bound))
                try:
                    return self._is_statement(bound)
                finally:
                    self._following.discard(id(bound))
        return False

    def _is_flask_db(self, node: cst.BaseExpression) -> bool:
        from sqla_upgrade.codemods.index.model import ObjectKind

        return any(
            self.index.kind_of(n) is ObjectKind.FLASK_SQLALCHEMY
            for n in qualified_names(self.t, node)
        )

    def is_single_row_aggregate(self, node: cst.BaseExpression) -> bool:
        """``func.count(...)``, ``func.max(...)``, ``exists(...)``: exactly one row."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "label":
                return self.is_single_row_aggregate(node.func.value)
            if node.func.attr.value == "exists":
                return True
            names = qualified_names(self.t, node.func)
            return any(n.rsplit(".", 1)[-1] in AGGREGATES and ".func." in n for n in names) or (
                node.func.attr.value in AGGREGATES and _is_func_namespace(self.t, node.func.value)
            )
        if isinstance(node, cst.Call):
            return bool(qualified_names(self.t, node.func) & EXISTS)
        return False


def _is_func_namespace(transformer: Pass, node: cst.BaseExpression) -> bool:
    names = qualified_names(transformer, node)
    return bool(
        names & {"sqlalchemy.func", "sqlalchemy.sql.func", "sqlalchemy.sql.expression.func"}
    )


def _is_table_columns(node: cst.Attribute) -> bool:
    return isinstance(node.value, cst.Attribute) and node.value.attr.value == "c"
