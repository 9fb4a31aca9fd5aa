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

A string on an option chained after another, ``joinedload(User.posts).joinedload("author")``,
is an attribute of the class the previous option's relationship loads (``Post.author``),
written when this module has a name for that class.

Safety: only options written inside ``.options(...)`` of a chain on ``session.query(M)``,
``M.query`` or ``select(M)`` are looked at. A string naming nothing of its class, a dotted
path, a string whose class is not a mapped class the index knows (or has no name here)
and a string ``join()`` after another join (1.x joined it from the previous target) are
left with a TODO; ``"*"`` (a wildcard, still accepted) and ``undefer_group("name")`` (a
group name) are left alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.codegen import node_code
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
        example = f"{node_code(entity)}.{name}"
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
        assert isinstance(original.func, cst.Attribute)
        if self._query_arguments(original.func.value) is None:
            return updated  # not a query of ``session.query()``, ``M.query`` or ``select()``
        found = self._chain_entity(original.func.value)
        args = list(updated.args)
        for position, arg in enumerate(original.args):
            segments = _option_segments(arg.value)
            if not any(_option_strings(segment) for segment in segments):
                continue
            if self._option_kind(segments[0].func) is None:
                continue  # not one of SQLAlchemy's loader options
            option = self._rewritten_path(segments, found, original)
            if option is not None:
                args[position] = args[position].with_changes(value=option)
        return updated.with_changes(args=args)

    def _rewritten_path(
        self,
        segments: list[cst.Call],
        found: tuple[cst.BaseExpression, ModelFacts, bool] | None,
        statement: cst.CSTNode,
    ) -> cst.BaseExpression | None:
        """``joinedload("a").joinedload("b")`` with each string made an attribute of the
        class its segment loads from: the query's entity for the first, the target of the
        previous segment's relationship for the next (a name for it must be in reach).
        None (with a TODO) when a string cannot be made an attribute."""
        entity = found[0] if found is not None else None
        model = found[1] if found is not None else None
        rewritten: cst.BaseExpression | None = None
        for segment in segments:
            if _option_strings(segment):
                if entity is None or model is None:
                    self._refuse_strings(segment, model, statement)
                    return None
                done = self._rewritten_option(segment, entity, model, statement)
                if not isinstance(done, cst.Call):
                    return None
                segment = done
            if rewritten is not None:
                assert isinstance(segment.func, cst.Attribute)
                segment = segment.with_changes(func=segment.func.with_changes(value=rewritten))
            rewritten = segment
            entity, model = self._loaded_class(segment, model)
        return rewritten

    def _loaded_class(
        self, segment: cst.Call, model: ModelFacts | None
    ) -> tuple[cst.BaseExpression | None, ModelFacts | None]:
        """(a name for, the model of) the class the segment's relationship loads."""
        index = self.state.index
        if len(segment.args) != 1 or not isinstance(segment.args[0].value, cst.Attribute):
            return None, None
        attribute = segment.args[0].value
        owner = model
        if not (isinstance(attribute.value, cst.Name) and owner is not None):
            owner = None
            for qualname in qualified_names(self, attribute.value):
                owner = owner or index.model(qualname)
        if owner is None:
            return None, None
        relationship = index.relationship_facts(owner, attribute.attr.value)
        target = index.relationship_target(owner, relationship) if relationship else None
        if target is None:
            return None, None
        return self._local_name(target.qualname), target

    def _local_name(self, qualname: str) -> cst.Name | None:
        """A name of this module for the class ``qualname`` (defined or imported here)."""
        index = self.state.index
        module = index.modules.get(self.state.module_name)
        if module is None:
            return None
        owner, _, short = qualname.rpartition(".")
        if owner == self.state.module_name and qualname in module.models:
            return cst.Name(short)
        for local, imported in module.imports.items():
            if index.resolve_alias(imported) == qualname:
                return cst.Name(local)
        return None

    def _refuse_strings(
        self, segment: cst.Call, model: ModelFacts | None, statement: cst.CSTNode
    ) -> None:
        owner = model.qualname.rpartition(".")[2] if model is not None else "Model"
        names = [_string(a.value) for a in segment.args if _is_string(a.value)]
        example = ", ".join(_example(owner, n, segment.func) for n in names if n != "*")
        self.todo(statement, REFUSAL.format(what="loader options", example=example))

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
        kind = self._option_kind(option.func) or _chained_kind(option.func)
        if kind is None:
            return None
        names = [_string(a.value) for a in option.args if _is_string(a.value)]
        wanted = (
            self.state.index.relationship_names(model)
            if kind == "relationship"
            else set(model.columns)
        )
        example = ", ".join(_example(node_code(entity), n, option.func) for n in names)
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
        found = self._query_arguments(node)
        return None if found is None else self._entity(*found)

    def _query_arguments(self, node: cst.BaseExpression) -> tuple[Sequence[cst.Arg], bool] | None:
        """(the entities given, whether a join comes before ``node``'s end) for a chain on
        ``session.query(...)``, ``M.query`` or ``select(...)``; None for anything else."""
        joined = False
        while True:
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value == "query":
                    return node.args, joined
                if isinstance(func, cst.Name | cst.Attribute) and (
                    qualified_names(self, func) & SELECTS
                ):
                    return node.args, joined
                if not isinstance(func, cst.Attribute):
                    return None
                joined = joined or func.attr.value in JOINS
                node = func.value
            elif isinstance(node, cst.Attribute) and node.attr.value == "query":
                return [cst.Arg(node.value)], joined
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


def _chained_kind(func: cst.BaseExpression) -> str | None:
    """The kind of a loader option chained on another (``Load`` methods of the same names)."""
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call)):
        return None
    spelled = func.attr.value
    if spelled in RELATIONSHIP_OPTIONS:
        return "relationship"
    return "column" if spelled in COLUMN_OPTIONS else None


def _option_segments(option: cst.BaseExpression) -> list[cst.Call]:
    """``joinedload(A.b).selectinload("c")`` as its calls, the first one first."""
    segments: list[cst.Call] = []
    node = option
    while isinstance(node, cst.Call):
        segments.insert(0, node)
        func = node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call)):
            break
        node = func.value
    return segments


def _example(entity: str, name: str, func: cst.BaseExpression) -> str:
    """How to write the option of the string ``name``: a dotted path is one option
    chained per relationship (``joinedload(User.addresses).joinedload(Address.user)``)."""
    if "." not in name:
        return f"{entity}.{name}"
    option = node_code(func)
    parts = name.split(".")
    chained = "".join(
        f".{option.rpartition('.')[2]}(<the class of {previous}>.{part})"
        for previous, part in itertools.pairwise(parts)
    )
    return f"{option}({entity}.{parts[0]}){chained}"


def _attribute(entity: cst.BaseExpression, name: str) -> cst.Attribute:
    return cst.Attribute(value=entity.deep_clone(), attr=cst.Name(name))
