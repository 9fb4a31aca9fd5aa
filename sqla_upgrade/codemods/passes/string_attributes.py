"""Attribute names given as strings to loader options and joins become the attributes.

SQLAlchemy 2.0 accepts no strings for attributes in loader options or in ``join()``:
``joinedload("author")`` and ``load_only("id", "title")`` raise ``ArgumentError``, and so
does ``Query.join("author")``. Where the query's one entity is a model the index knows
and the string names one of its relationships (or columns, for the column options), the
string becomes the attribute.

Before::

    session.query(Post).options(joinedload("author"), load_only("id", "title"))
    Post.query.join("author").filter(User.name == name)

After::

    session.query(Post).options(joinedload(Post.author), load_only(Post.id, Post.title))
    Post.query.join(Post.author).filter(User.name == name)

Safety: only options written inside ``.options(...)`` of a chain on ``session.query(M)``,
``M.query`` or ``select(M)``, with ``M`` a mapped class spelled as a name or an
attribute, are looked at. A string naming nothing of ``M``, a dotted path, a string on an
option chained after another (``joinedload(...).joinedload("x")``, relative to another
class) and a string ``join()`` after another join (1.x joined it from the previous
target) are left with a TODO; ``"*"`` (a wildcard, still accepted) and
``undefer_group("name")`` (a group name) are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.model import ModelFacts
from sqla_upgrade.codemods.names import qualified_names

_ORM_MODULES = ("sqlalchemy.orm", "sqlalchemy.orm.strategy_options")
RELATIONSHIP_OPTIONS = frozenset(
    {
        "joinedload",
        "selectinload",
        "subqueryload",
        "lazyload",
        "noload",
        "raiseload",
        "immediateload",
        "defaultload",
        "contains_eager",
    }
)
COLUMN_OPTIONS = frozenset({"load_only", "defer", "undefer"})
LOADER_OPTIONS = frozenset(
    f"{module}.{name}" for module in _ORM_MODULES for name in RELATIONSHIP_OPTIONS | COLUMN_OPTIONS
)
JOINS = frozenset({"join", "outerjoin"})
SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select"})
REFUSAL = (
    "SQLAlchemy 2.0 takes no attribute names as strings in {what}: write the attribute ({example})"
)


class StringAttributesPass(Pass):
    """joinedload("author") → joinedload(Post.author); .join("author") → .join(Post.author)."""

    name = "string-attributes"
    #: a string right after an option's or a join's opening parenthesis
    triggers = tuple(
        f"{name}({quote}".encode()
        for name in ("load", "load_only", "defer", "eager", "join")
        for quote in "\"'"
    )

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """A query to give the attributes from (``os.path.join("a", b)`` is none)."""
        return b".query" in code or b"select(" in code

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not isinstance(func, cst.Attribute):
            return updated_node
        if func.attr.value in JOINS and _has_string_argument(original_node):
            return self._join(original_node, updated_node)
        if func.attr.value == "options":
            return self._options(original_node, updated_node)
        return updated_node

    # -- .join("relationship") ----------------------------------------------------------
    def _join(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        assert isinstance(original.func, cst.Attribute)
        first = original.args[0] if original.args else None
        if first is None or first.keyword is not None or not _is_string(first.value):
            return updated
        found = self._chain_entity(original.func.value)
        if found is None:
            return updated
        entity, model, earlier_join = found
        name = _string(first.value)
        example = f"{_code(entity)}.{name}"
        if earlier_join:  # 1.x joined it from the class the previous join() reached
            example = f"<the class joined before>.{name}"
        if (
            earlier_join
            or len(original.args) != 1
            or name not in self.state.index.relationship_names(model)
        ):
            self.todo(original, REFUSAL.format(what="join()", example=example))
            return updated
        self.count_rewrite()
        arg = updated.args[0].with_changes(value=_attribute(entity, name))
        return updated.with_changes(args=[arg, *updated.args[1:]])

    # -- .options(joinedload("relationship"), load_only("column")) -----------------------
    def _options(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        strings = [a for a in original.args if _option_strings(a.value)]
        if not strings:
            return updated
        assert isinstance(original.func, cst.Attribute)
        found = self._chain_entity(original.func.value)
        if found is None:
            return updated
        entity, model, _ = found
        args = list(updated.args)
        for position, arg in enumerate(original.args):
            option = self._rewritten_option(arg.value, entity, model, original)
            if option is not None:
                args[position] = args[position].with_changes(value=option)
        return updated.with_changes(args=args)

    def _rewritten_option(
        self,
        option: cst.BaseExpression,
        entity: cst.BaseExpression,
        model: ModelFacts,
        statement: cst.CSTNode,
    ) -> cst.BaseExpression | None:
        """The option with its strings made attributes of ``entity``, None when it is left
        as it is (a TODO is left when it holds strings that cannot be made attributes)."""
        if not isinstance(option, cst.Call) or not _option_strings(option):
            return None
        kind = self._option_kind(option.func)
        if kind is None:
            return None
        names = [_string(a.value) for a in option.args if _is_string(a.value)]
        wanted = (
            self.state.index.relationship_names(model)
            if kind == "relationship"
            else set(model.columns)
        )
        example = ", ".join(f"{_code(entity)}.{n}" for n in names)
        if any(a.keyword is not None for a in option.args if _is_string(a.value)) or any(
            "." in n or n not in wanted for n in names
        ):
            self.todo(statement, REFUSAL.format(what="loader options", example=example))
            return None
        self.count_rewrite()
        args = [
            a.with_changes(value=_attribute(entity, _string(a.value))) if _is_string(a.value) else a
            for a in option.args
        ]
        return option.with_changes(args=args)

    def _option_kind(self, func: cst.BaseExpression) -> str | None:
        """ "relationship" or "column" for a loader option function of SQLAlchemy's."""
        spelled = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            spelled = func.value
        if spelled not in RELATIONSHIP_OPTIONS | COLUMN_OPTIONS:
            return None  # (a chained option, ``joinedload(...).joinedload("x")``, too)
        if qualified_names(self, func).isdisjoint(LOADER_OPTIONS):
            return None
        return "relationship" if spelled in RELATIONSHIP_OPTIONS else "column"

    # -- the query's entity ---------------------------------------------------------------
    def _chain_entity(
        self, node: cst.BaseExpression
    ) -> tuple[cst.BaseExpression, ModelFacts, bool] | None:
        """(the entity as written, its model, whether a join comes before ``node``'s end)
        for a chain on ``session.query(M)``, ``M.query`` or ``select(M)``."""
        joined = False
        while True:
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value == "query":
                    return self._entity(node.args, joined)
                if isinstance(func, cst.Name | cst.Attribute) and (
                    qualified_names(self, func) & SELECTS
                ):
                    return self._entity(node.args, joined)
                if not isinstance(func, cst.Attribute):
                    return None
                joined = joined or func.attr.value in JOINS
                node = func.value
            elif isinstance(node, cst.Attribute) and node.attr.value == "query":
                return self._entity([cst.Arg(node.value)], joined)
            else:
                return None

    def _entity(
        self, args: Sequence[cst.Arg], joined: bool
    ) -> tuple[cst.BaseExpression, ModelFacts, bool] | None:
        if len(args) != 1 or args[0].keyword is not None or args[0].star:
            return None
        entity = args[0].value
        if not isinstance(entity, cst.Name | cst.Attribute):
            return None
        index = self.state.index
        for qualname in qualified_names(self, entity):
            model = index.model(qualname)
            if model is not None:
                return entity, model, joined
        return None


def _is_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str)


def _string(node: cst.BaseExpression) -> str:
    assert isinstance(node, cst.SimpleString)
    value = node.evaluated_value
    assert isinstance(value, str)
    return value


def _has_string_argument(call: cst.Call) -> bool:
    return any(_is_string(a.value) for a in call.args)


def _option_strings(node: cst.BaseExpression) -> bool:
    """Does the option call take a string other than the ``"*"`` wildcard?"""
    return isinstance(node, cst.Call) and any(
        _is_string(a.value) and _string(a.value) != "*" for a in node.args
    )


def _attribute(entity: cst.BaseExpression, name: str) -> cst.Attribute:
    return cst.Attribute(value=entity.deep_clone(), attr=cst.Name(name))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
