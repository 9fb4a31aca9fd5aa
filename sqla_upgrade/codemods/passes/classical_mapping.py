"""Map the classes of 1.x's classical ``mapper()`` with a ``registry``'s ``map_imperatively``.

Before::

    from sqlalchemy.orm import mapper, relationship

    mapper(Address, addresses)
    mapper(User, users, properties={"addresses": relationship(Address, backref="user")})

After::

    from sqlalchemy.orm import registry, relationship

    mapper_registry = registry()
    mapper_registry.map_imperatively(Address, addresses)
    mapper_registry.map_imperatively(
        User, users, properties={"addresses": relationship(Address, backref="user")}
    )

``mapper()`` was removed in 2.0 (calling it raises). Listening to ``mapper`` (the events
of every mapper: ``event.listen(mapper, "before_insert", f)``) becomes listening to
``Mapper``, which 1.4 already took it for.

Safety: 1.4's ``mapper()`` mapped every class into one registry shared by the program's
classical mappings; a string in a mapping (``relationship("Address")``,
``primaryjoin="..."``) is resolved among the classes of that registry. The mappings of a
module share one ``registry()`` written before its first mapping, which is the same
where one module maps every class. Where several modules do, a mapping naming a class by
a string, or inheriting (``inherits=``) from a class mapped elsewhere, could stop
resolving in a registry of its own: it is left with a TODO, as are mappings given their
options positionally beyond ``properties``/``primary_key``, or ``non_primary=True`` (2.0
has no non-primary mappers), and uses of ``mapper`` other than calls and event targets.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.index.builder import CLASSICAL_MAPPERS, RELATIONSHIP_FUNCS
from sqla_upgrade.codemods.names import names_in, qualified_names

ORM = "sqlalchemy.orm"
REMOVED_TODO = (
    "mapper() was removed in SQLAlchemy 2.0: map these classes with "
    "`mapper_registry.map_imperatively(Class, table, ...)` of one "
    "`mapper_registry = registry()` shared by the classes that relate to each other"
)
SHARED_TODO = (
    "mapper() was removed in SQLAlchemy 2.0 and several modules of the project map classes "
    "with it (into one registry); this mapping {why}, which a registry of this module "
    "alone may not resolve: map the related classes with `map_imperatively()` of one "
    "shared `registry()`"
)
NON_PRIMARY_TODO = (
    "mapper(non_primary=True) was removed in SQLAlchemy 2.0: query an `aliased()` class "
    "or a select() of the table instead"
)
#: 1.4's ``Mapper`` parameters after ``class_`` and ``local_table`` that
#: ``map_imperatively`` (which takes two positionally) is given as keywords
POSITIONAL_OPTIONS = ("properties", "primary_key")
EVENT_NAMES = ("listen", "listens_for", "remove", "contains")
EVENT_FUNCTIONS = frozenset(
    f"sqlalchemy.event{api}.{name}" for api in ("", ".api") for name in EVENT_NAMES
)
#: keywords of ``relationship()``/``backref()`` whose strings are names of attributes or
#: settings, not expressions evaluated among the registry's classes
PLAIN_STRING_KEYWORDS = frozenset(
    {"backref", "back_populates", "lazy", "cascade", "overlaps", "join_depth", "doc"}
)


class ClassicalMappingPass(Pass):
    """mapper(Class, table, ...) → mapper_registry.map_imperatively(Class, table, ...)."""

    name = "classical-mapping"
    triggers = (b"mapper",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        ParentNodeProvider,
        QualifiedNameProvider,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registry_name: str | None = None
        self._needs_mapper_class = False
        #: ids of the module's statements holding a rewritten mapping
        self._mapping_statements: set[int] = set()
        self._module: cst.Module | None = None
        #: ids of the ``mapper`` references handled: called, or an event target
        self._handled: set[int] = set()
        self._event_targets: set[int] = set()

    def _is_classical_mapper(self, node: cst.BaseExpression) -> bool:
        if _last_name(node) != "mapper":
            return False
        return bool(qualified_names(self, node) & CLASSICAL_MAPPERS)

    # -- calls --------------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Call(self, node: cst.Call) -> None:
        if self._is_classical_mapper(node.func):
            self._handled.add(id(node.func))
        elif node.args and self._is_classical_mapper(node.args[0].value):
            target = node.args[0].value
            if _last_name(node.func) in EVENT_NAMES and qualified_names(self, node.func) & (
                EVENT_FUNCTIONS
            ):
                self._handled.add(id(target))
                self._event_targets.add(id(node))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self._is_classical_mapper(original_node.func):
            return self._mapping(original_node, updated_node)
        if id(original_node) in self._event_targets:
            return self._event_on_every_mapper(updated_node)
        return updated_node

    def _mapping(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        problem = self._problem(original)
        if problem is not None:
            self.todo(original, problem)
            return updated
        args = list(updated.args)
        positional = sum(1 for arg in args if arg.keyword is None)
        for position, arg in enumerate(args[2:positional], start=2):
            keyword = POSITIONAL_OPTIONS[position - 2]
            args[position] = arg.with_changes(
                keyword=cst.Name(keyword),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        self._mapping_statements.add(id(self._top_level_statement(original)))
        self.count_rewrite()
        func = cst.Attribute(value=cst.Name(self._registry()), attr=cst.Name("map_imperatively"))
        return updated.with_changes(func=func, args=args)

    def _problem(self, call: cst.Call) -> str | None:
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star == "*" for a in call.args) or len(positional) < 1:
            return REMOVED_TODO
        if len(positional) > 2 + len(POSITIONAL_OPTIONS):
            return REMOVED_TODO
        if any(a.keyword is not None for a in call.args[: len(positional)]):
            return REMOVED_TODO
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        non_primary = keywords.get("non_primary")
        if non_primary is not None and not _is_false(non_primary):
            return NON_PRIMARY_TODO
        if not self._shares_the_registry():
            if "inherits" in keywords:
                return SHARED_TODO.format(why="inherits from another mapped class")
            if any(_evaluated_strings(arg.value) for arg in call.args[1:]):
                return SHARED_TODO.format(why="names classes or expressions by strings")
        return None

    def _top_level_statement(self, node: cst.CSTNode) -> cst.CSTNode:
        while True:
            parent = self.get_metadata(ParentNodeProvider, node, None)
            if parent is None or isinstance(parent, cst.Module):
                return node
            node = parent

    def _shares_the_registry(self) -> bool:
        """Is this module the project's only one mapping classes imperatively (with
        ``mapper()``, or a registry's ``map_imperatively()``)?"""
        modules = self.state.index.imperative_mapping_modules
        return modules <= {self.state.module_name}

    def _registry(self) -> str:
        if self._registry_name is None:
            used = names_in(self._module) if self._module is not None else set()
            name = "mapper_registry"
            number = 2
            while name in used:
                name = f"mapper_registry_{number}"
                number += 1
            self._registry_name = name
        return self._registry_name

    def _event_on_every_mapper(self, call: cst.Call) -> cst.Call:
        """``event.listen(mapper, ...)`` → ``event.listen(Mapper, ...)``."""
        self._needs_mapper_class = True
        self.count_rewrite()
        first = call.args[0].with_changes(value=cst.Name("Mapper"))
        return call.with_changes(args=[first, *call.args[1:]])

    # -- other uses -----------------------------------------------------------------------
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        self._other_use(original_node)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        self._other_use(original_node)
        return updated_node

    def _other_use(self, node: cst.Name | cst.Attribute) -> None:
        if id(node) in self._handled or not self._is_classical_mapper(node):
            return
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.ImportAlias | cst.Attribute):
            return  # its import; ``orm.mapper`` is met as its own Attribute
        self.todo(node, REMOVED_TODO)

    # -- module -----------------------------------------------------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._needs_mapper_class:
            AddImportsVisitor.add_needed_import(self.context, ORM, "Mapper")
        if not self._mapping_statements or self._registry_name is None:
            if self._needs_mapper_class:
                RemoveImportsVisitor.remove_unused_import(self.context, ORM, "mapper")
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, ORM, "registry")
        RemoveImportsVisitor.remove_unused_import(self.context, ORM, "mapper")
        body = list(updated_node.body)
        first = next(
            i for i, old in enumerate(original_node.body) if id(old) in self._mapping_statements
        )
        made = cst.parse_statement(f"{self._registry_name} = registry()\n")
        holder = body[first]
        if isinstance(holder, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            # the registry takes the blank lines and comments above the first mapping
            made = made.with_changes(leading_lines=holder.leading_lines)
            body[first] = holder.with_changes(leading_lines=())
        body.insert(first, made)
        return updated_node.with_changes(body=body)


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _evaluated_strings(node: cst.CSTNode) -> bool:
    """Does ``node`` hold a ``relationship()``/``backref()`` given a string SQLAlchemy
    evaluates among the registry's classes (a class name, ``primaryjoin="..."``)?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            name = _last_name(call.func)
            if name not in (*RELATIONSHIP_FUNCS, "backref"):
                return
            for position, arg in enumerate(call.args):
                if name == "backref" and position == 0 and arg.keyword is None:
                    continue  # the name of the attribute it makes
                if arg.keyword is not None and arg.keyword.value in PLAIN_STRING_KEYWORDS:
                    continue
                if _holds_string(arg.value):
                    found = True

    node.visit(Finder())
    return found


def _holds_string(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
        return True
    if isinstance(node, cst.Tuple | cst.List):
        return any(_holds_string(e.value) for e in node.elements)
    return False  # (a lambda is evaluated in Python, not by the registry)
