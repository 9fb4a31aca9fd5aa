"""Load the relationships the project reads eagerly, so no lazy load happens under asyncio.

Before::

    class Post(Base):
        author = relationship("User", back_populates="posts")
        comments = relationship("Comment", backref="post")
        tags = relationship("Tag", secondary=post_tags)      # never read anywhere

    # elsewhere, on objects whose query is not known: post.author.name,
    # {% for c in post.comments %}, c.post.title

After::

    class Post(Base):
        author = relationship("User", back_populates="posts", lazy="selectin")
        comments = relationship("Comment", backref=backref("post", lazy="selectin"), lazy="selectin")
        tags = relationship("Tag", secondary=post_tags)

Safety: an AsyncSession cannot lazy-load: reading a relationship that was not loaded
raises ``MissingGreenlet``. ``eager-options`` loads a relationship with the statement that
produced its owner wherever the access analysis (``analysis.eager_loads``) finds that
statement; every relationship also read where the producer cannot be determined (a
view's parameter, ``self`` in a model method, a serializer field, a template rendered
where its context is unknown, a file the analysis could not read) gets the ``selectin``
strategy here, by name (or, when the object's class is known from an annotation, on that
class only), so it is loaded together with its parent whichever query, ``get()`` or
``refresh()`` loaded the parent; results are identical, only when the rows are fetched
changes. A self-referential relationship also gets ``join_depth=1`` (eager loaders do
not follow a class to itself otherwise) and a note: levels below the first are not
loaded. A recursive walk of it whose query is known loads every level with that query's
``selectinload(Node.children, recursion_depth=-1)`` (``eager-options``) and needs nothing
here; one whose query is not known gets a TODO there. Relationships never read, and those
that already choose an eager or ``raise`` strategy, are left alone. ``lazy="dynamic"``
cannot work with AsyncSession at all; it is left with a note (rewrite to
``lazy="write_only"``).

``jsonable_encoder(obj)`` (FastAPI) encodes every attribute an ORM object has loaded:
its columns, and the relationships loaded so far, which under lazy loading are usually
none. Once this pass makes relationships eager it would encode those too, and a pair of
``back_populates`` sides recurses without end (``RecursionError``; the generic
``CRUDBase.update()`` of FastAPI projects does ``jsonable_encoder(db_obj)``). An
argument whose class is known from its annotation (a model, a TypeVar bound to the
declarative base, ``self`` in a model's method) gets ``exclude=`` the relationships made
eager here, so it encodes what it encoded before; one of unknown class in a project
where relationships became eager gets a TODO.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    BaseMetadataProvider,
    FunctionScope,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from sqla_upgrade.codemods.analysis.async_plan import ScopeTracking, plan_of
from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.analysis.eager_loads import EagerPlan
from sqla_upgrade.codemods.index.builder import RELATIONSHIP_FUNCS
from sqla_upgrade.codemods.names import qualified_names

LAZY_STRATEGIES = frozenset({"select", "True"})  # the default, lazy loading
#: encoders walking every attribute an object has loaded (``vars(obj)``)
LOADED_STATE_ENCODERS = frozenset({"fastapi.encoders.jsonable_encoder"})
#: annotations any object may have
OPAQUE_TYPES = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})
#: annotations whose one argument is the type of what they hold (or may be)
ELEMENT_TYPES = frozenset(
    {
        "typing.Optional",
        "typing.List",
        "typing.Sequence",
        "typing.Iterable",
        "typing.Set",
        "builtins.list",
        "builtins.set",
        "collections.abc.Sequence",
        "collections.abc.Iterable",
    }
)


class EagerRelationshipsPass(ScopeTracking):
    """relationship(...) read anywhere → relationship(..., lazy="selectin")."""

    name = "eager-relationships"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"relationship(", b"relation(", b"backref(", b"deferred", b"jsonable_encoder")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan_of(self.state)
        self._made_eager: dict[str, set[str]] | None = None

    def _needs_eager(self, name: str | None, owner: str | None) -> bool:
        """Is relationship ``name`` of model ``owner`` read where no statement can load it
        (eager-options loads the others with the query that produced their objects)?"""
        reads = self.plan.read_attributes
        eager = self.state.index.eager_plan
        if name is None:
            return False
        if isinstance(eager, EagerPlan) and name in eager.serialized:
            return True  # a field of a pydantic schema (``owner: UserOut``): read by it
        if name not in reads:
            return False
        if not isinstance(eager, EagerPlan):
            return True
        return eager.keeps_relationship_eager(name, reads, owner)

    # -- encoders of loaded state ---------------------------------------------------------
    def made_eager(self) -> dict[str, set[str]]:
        """Model → the relationships (its own, its bases', the backrefs others give it)
        this pass turns from lazy to eager loading."""
        if self._made_eager is None:
            index = self.state.index
            found: dict[str, set[str]] = {}
            for model in index.models.values():
                for relationship in model.relationships.values():
                    if relationship.lazy in (None, *LAZY_STRATEGIES) and self._needs_eager(
                        relationship.name, model.qualname
                    ):
                        found.setdefault(model.qualname, set()).add(relationship.name)
                    target = index.relationship_target(model, relationship)
                    name = relationship.backref
                    if (
                        name
                        and target is not None
                        and relationship.backref_lazy in (None, *LAZY_STRATEGIES)
                        and self._needs_eager(name, target.qualname)
                    ):
                        found.setdefault(target.qualname, set()).add(name)
            for model in index.models.values():  # what a subclass inherits
                inherited = set().union(
                    *(found.get(b.qualname, set()) for b in index.self_and_bases(model))
                )
                if inherited:
                    found[model.qualname] = inherited
            self._made_eager = found
        return self._made_eager

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not qualified_names(self, original_node.func) & LOADED_STATE_ENCODERS:
            return updated_node
        if not original_node.args or original_node.args[0].keyword is not None:
            return updated_node
        made_eager = self.made_eager()
        if not made_eager:
            return updated_node
        argument = original_node.args[0].value
        models = self._classes_of(argument)
        if models is not None and not models:
            return updated_node  # not an ORM object
        text = cst.Module([]).code_for_node(argument)
        names = set().union(*(made_eager.get(m, set()) for m in models or ()))
        if models is not None and not names:
            return updated_node  # its relationships load as they did
        keywords = {a.keyword.value for a in original_node.args if a.keyword is not None}
        clash = self._clash(models, names) if models is not None else None
        if models is None or clash or "exclude" in keywords or "include" in keywords:
            listed = sorted(
                f"{m.rsplit('.', 1)[-1]}.{n}"
                for m in (models or made_eager)
                for n in made_eager.get(m, ())
            )
            why = f" ({clash})" if clash else ""
            self.todo(
                original_node,
                f"jsonable_encoder({text}) encodes every attribute an ORM object has loaded: "
                f"the relationships now loaded eagerly ({', '.join(listed[:6])}"
                f"{', ...' if len(listed) > 6 else ''}) are encoded too, and a back_populates "
                f"pair recurses without end; exclude them{why}",
            )
            return updated_node
        self.count_rewrite()
        excluded = cst.Set([cst.Element(cst.SimpleString(f'"{n}"')) for n in sorted(names)])
        return updated_node.with_changes(
            args=_append(list(updated_node.args), keyword("exclude", excluded))
        )

    def _clash(self, models: set[str], names: set[str]) -> str | None:
        """Why excluding ``names`` by name could drop what ``models`` encoded before: an
        attribute of that name which is not a relationship made eager here."""
        index = self.state.index
        made_eager = self.made_eager()
        for qualname in sorted(models):
            model = index.models[qualname]
            attributes = set()
            for owner in index.self_and_bases(model):
                attributes |= {*owner.columns, *owner.members, *owner.relationships}
            for name in sorted(names & attributes - made_eager.get(qualname, set())):
                return f"{qualname.rsplit('.', 1)[-1]}.{name} is no relationship made eager"
        return None

    def _classes_of(self, node: cst.BaseExpression) -> set[str] | None:
        """The models an ORM object ``node`` may be an instance of, from its annotation:
        empty when it is provably no ORM object, None when unknown."""
        if isinstance(node, cst.Dict | cst.List | cst.Tuple | cst.BaseString | cst.BaseNumber):
            return set()
        if not isinstance(node, cst.Name):
            return None
        function = self.enclosing_function()
        if function is None:
            return None
        built = self._built_locally(node)
        if built is not None:
            return built
        params = [
            *function.params.posonly_params,
            *function.params.params,
            *function.params.kwonly_params,
        ]
        param = next((p for p in params if p.name.value == node.value), None)
        scope = self.get_metadata(ScopeProvider, node, None)
        if param is None or scope is None:
            return None
        if [getattr(a, "node", None) for a in scope[node.value]] != [param]:
            return None  # rebound in the function
        if param is params[0] and param.annotation is None and not function.decorators:
            klass = self.enclosing_class()  # ``self`` of a model's method
            if klass is not None and self.current_qualname() == f"{klass}.{function.name.value}":
                return self._models_under(klass) if klass in self.state.index.models else None
        if param.annotation is None:
            return None
        return self._annotated_models(param.annotation.annotation)

    def _built_locally(self, node: cst.Name) -> set[str] | None:
        """``item_in = ItemCreate(...)`` (a project class mapping no table) or a literal,
        in every assignment of the local ``node``: no ORM object (an empty set)."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or not isinstance(scope, FunctionScope):
            return None
        values = []
        for assignment in scope[node.value]:
            target = getattr(assignment, "node", None)
            if not isinstance(target, cst.CSTNode):
                return None
            parent = self.get_metadata(ParentNodeProvider, target, None)
            statement = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if not (isinstance(parent, cst.AssignTarget) and isinstance(statement, cst.Assign)):
                return None
            values.append(statement.value)
        for value in values:
            if isinstance(value, cst.Dict | cst.List | cst.Tuple | cst.BaseString | cst.BaseNumber):
                continue
            if not isinstance(value, cst.Call):
                return None
            index = self.state.index
            names = {index.resolve_alias(n) for n in qualified_names(self, value.func)}
            if len(names) != 1:
                return None
            name = names.pop()
            if index.class_facts(name) is None or self._models_under(name):
                return None  # not a project class, or one of models
        return set() if values else None

    def _annotated_models(self, annotation: cst.BaseExpression) -> set[str] | None:
        if (
            isinstance(annotation, cst.Subscript)
            and qualified_names(self, annotation.value) & ELEMENT_TYPES
        ):
            inner = annotation.slice[0].slice if len(annotation.slice) == 1 else None
            return self._annotated_models(inner.value) if isinstance(inner, cst.Index) else None
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            if isinstance(annotation.right, cst.Name) and annotation.right.value == "None":
                return self._annotated_models(annotation.left)
            return None
        if not isinstance(annotation, cst.Name | cst.Attribute):
            return None
        index = self.state.index
        names = {index.resolve_alias(n) for n in qualified_names(self, annotation)}
        if len(names) != 1:
            return None
        name = names.pop()
        bound = index.resolve_alias(index.typevar_bounds.get(name, name))
        if index.names_mapped_classes(name) or index.class_facts(bound) is not None:
            # a model, a declarative base, a mixin of models, or a TypeVar bound to one;
            # a project class no model derives from (a schema) holds no ORM object
            return self._models_under(bound)
        if bound in OPAQUE_TYPES or bound.startswith("sqlalchemy."):
            return None
        if bound.rpartition(".")[0] in index.modules:
            return None  # a name of the project that is no class
        # ``dict``, ``str``, ``pydantic.BaseModel`` (or a TypeVar bound to it): no model of
        # the project, whose relationships alone load differently now
        return set()

    def _models_under(self, qualname: str) -> set[str]:
        """The models that are ``qualname`` or derive from it (a model or a declarative base)."""
        index = self.state.index
        found = set()
        for model in index.models.values():
            if model.qualname == qualname or any(
                index.resolve_alias(b) == qualname
                for m in index.self_and_bases(model)
                for b in m.bases
            ):
                found.add(model.qualname)
        return found

    def _model_named(self, node: cst.BaseExpression) -> str | None:
        if not isinstance(node, cst.Name):
            return None
        models = self.state.index.models
        return next((q for q in qualified_names(self, node) if q in models), None)

    def _async_model(self, klass: str | None) -> bool:
        """A model used through AsyncSession (Flask-SQLAlchemy models stay synchronous)."""
        if klass is None or self.enclosing_function() is not None:
            return False
        return klass in self.state.index.models

    def _self_referential(self, name: str) -> bool:
        klass = self.enclosing_class()
        index = self.state.index
        model = index.models.get(klass or "")
        relationship = model.relationships.get(name) if model else None
        if model is None or relationship is None:
            return False
        return index.relationship_target(model, relationship) is model

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        klass = self.enclosing_class()
        if len(updated_node.targets) != 1:
            return updated_node
        target = updated_node.targets[0].target
        value = updated_node.value
        if klass is None and isinstance(target, cst.Attribute) and _deferred(value) is not None:
            # ``Doc.note_count = column_property(..., deferred=True)`` after the class
            if self._async_model(self._model_named(target.value)):
                return updated_node.with_changes(
                    value=self._undeferred(original_node, target.attr, value)
                )
            return updated_node
        if not self._async_model(klass):
            return updated_node
        if isinstance(target, cst.Name) and _deferred(value) is not None:
            return updated_node.with_changes(value=self._undeferred(original_node, target, value))
        if not isinstance(target, cst.Name) or not _is_relationship(value):
            return updated_node
        assert isinstance(value, cst.Call)
        return updated_node.with_changes(value=self._eager(original_node, target.value, value))

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        klass = self.enclosing_class()
        value = updated_node.value
        if not self._async_model(klass) or value is None:
            return updated_node
        target = updated_node.target
        if isinstance(target, cst.Name) and _deferred(value) is not None:
            return updated_node.with_changes(value=self._undeferred(original_node, target, value))
        if not isinstance(updated_node.target, cst.Name) or not _is_relationship(value):
            return updated_node
        assert isinstance(value, cst.Call)
        return updated_node.with_changes(
            value=self._eager(original_node, updated_node.target.value, value)
        )

    def _undeferred(
        self, statement: cst.CSTNode, target: cst.Name, value: cst.BaseExpression
    ) -> cst.BaseExpression:
        """``body = deferred(Column(Text))`` read somewhere → ``body = Column(Text)``: an
        AsyncSession cannot load a deferred column when it is read (``MissingGreenlet``),
        so the column is loaded with its row, as an eager relationship is."""
        form = _deferred(value)
        if target.value not in self.plan.read_attributes or not isinstance(value, cst.Call):
            return value
        if _holds_a_subquery(value):
            self.todo(
                statement,
                f"{target.value} is a deferred subquery, which an AsyncSession cannot load "
                "when it is read (MissingGreenlet); it stays deferred, as loaded with its row "
                "its correlated subquery would break joined eager loads of the class: add "
                f".options(undefer(...{target.value})) to the queries whose objects' "
                f"{target.value} is read",
            )
            return value
        self.count_rewrite()
        self.note(
            statement,
            f"{target.value} is loaded with its row now: an AsyncSession cannot load a "
            "deferred column when it is read",
        )
        if form == "wrapper":
            RemoveImportsVisitor.remove_unused_import(self.context, "sqlalchemy.orm", "deferred")
            return value.args[0].value
        kept = [a for a in value.args if not _has_keyword([a], *DEFERRAL_KEYWORDS)]
        if kept and kept[-1] is not value.args[-1]:
            # the comma (and line break) that ended the arguments ends the kept ones
            kept[-1] = kept[-1].with_changes(comma=value.args[-1].comma)
        return value.with_changes(args=kept)

    def _eager(self, statement: cst.CSTNode, name: str, call: cst.Call) -> cst.Call:
        owner = self.enclosing_class()
        args = [self._eager_backref(a, self._backref_owner(owner, name)) for a in call.args]
        if not self._needs_eager(name, owner):
            return call.with_changes(args=args) if args != list(call.args) else call
        lazy = next((a for a in args if a.keyword is not None and a.keyword.value == "lazy"), None)
        if lazy is None:
            self.count_rewrite()
            args = _append(args, keyword("lazy", cst.SimpleString('"selectin"')))
            if self._self_referential(name) and not _has_keyword(args, "join_depth"):
                # eager loaders do not follow a class to itself unless told how deep
                args = _append(args, keyword("join_depth", cst.Integer("1")))
                klass = (owner or "").rsplit(".", 1)[-1]
                self.note(
                    statement,
                    f"{name} is loaded one level deep with its objects (join_depth=1): code "
                    "walking it further (recursively) raises MissingGreenlet there unless "
                    "the query of its objects loads every level with "
                    f"`.options(selectinload({klass}.{name}, recursion_depth=-1))` (added "
                    "where the walk's query is known), or it reads deeper levels with "
                    f"`await obj.awaitable_attrs.{name}`",
                )
            return call.with_changes(args=args)
        strategy = _literal(lazy.value)
        if strategy == "dynamic":
            self.note(
                statement,
                "lazy='dynamic' queries run on the AsyncSession's synchronous session "
                "through run_sync; lazy='write_only' with select() is the native asyncio form",
            )
            return call.with_changes(args=args)
        if strategy in LAZY_STRATEGIES:
            self.count_rewrite()
            args = [
                a.with_changes(value=cst.SimpleString('"selectin"')) if a is lazy else a
                for a in args
            ]
        return call.with_changes(args=args)

    def _backref_owner(self, klass: str | None, name: str) -> str | None:
        """The model a backref of relationship ``klass.name`` is an attribute of."""
        index = self.state.index
        model = index.models.get(klass or "")
        relationship = model.relationships.get(name) if model else None
        if model is None or relationship is None:
            return None
        target = index.relationship_target(model, relationship)
        return target.qualname if target is not None else None

    def _eager_backref(self, arg: cst.Arg, owner: str | None) -> cst.Arg:
        """``backref="post"`` read somewhere → ``backref=backref("post", lazy="selectin")``."""
        if arg.keyword is None or arg.keyword.value != "backref":
            return arg
        value = arg.value
        if isinstance(value, cst.SimpleString):
            name = _literal(value)
            if not self._needs_eager(name, owner):
                return arg
            AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "backref")
            self.count_rewrite()
            call = cst.Call(
                func=cst.Name("backref"),
                args=[
                    cst.Arg(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    keyword("lazy", cst.SimpleString('"selectin"')),
                ],
            )
            return arg.with_changes(value=call)
        if (
            isinstance(value, cst.Call)
            and value.args
            and self._needs_eager(_literal(value.args[0].value), owner)
        ):
            lazy = next((a for a in value.args if _has_keyword([a], "lazy")), None)
            if lazy is None:
                self.count_rewrite()
                return arg.with_changes(
                    value=value.with_changes(
                        args=_append(
                            list(value.args), keyword("lazy", cst.SimpleString('"selectin"'))
                        )
                    )
                )
            if _literal(lazy.value) in LAZY_STRATEGIES:  # backref("post", lazy="select")
                self.count_rewrite()
                selectin = lazy.with_changes(value=cst.SimpleString('"selectin"'))
                return arg.with_changes(
                    value=value.with_changes(
                        args=[selectin if a is lazy else a for a in value.args]
                    )
                )
        return arg


def _has_keyword(args: list[cst.Arg], *names: str) -> bool:
    return any(a.keyword is not None and a.keyword.value in names for a in args)


#: the keywords of ``mapped_column()``/``column_property()`` that defer a column
DEFERRAL_KEYWORDS = ("deferred", "deferred_group", "deferred_raiseload", "group", "raiseload")


def _deferred(value: cst.BaseExpression) -> str | None:
    """Which form defers the column: "wrapper" for ``deferred(Column(...))`` (the column alone, with at most ``group=``
    or ``raiseload=``), "keyword" for ``mapped_column(..., deferred=True)`` and
    ``column_property(..., deferred=True)``, else None."""
    if not isinstance(value, cst.Call):
        return None
    name = _called(value)
    if name == "deferred":
        positional = [a for a in value.args if a.keyword is None]
        others = {a.keyword.value for a in value.args if a.keyword is not None}
        if len(positional) == 1 and not positional[0].star and others <= {"group", "raiseload"}:
            return "wrapper"
        return None
    if name in ("mapped_column", "column_property"):
        deferral = next((a for a in value.args if _has_keyword([a], "deferred")), None)
        if deferral is not None and _literal(deferral.value) == "True":
            return "keyword"
    return None


#: what builds a subquery (a correlated one, when it names the mapped class)
SUBQUERY_CALLS = frozenset({"select", "scalar_subquery", "as_scalar", "subquery", "exists"})


def _holds_a_subquery(value: cst.Call) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = found or _called(node) in SUBQUERY_CALLS

    for arg in value.args:
        arg.value.visit(Finder())
    return found


def _is_relationship(value: cst.BaseExpression) -> bool:
    if not isinstance(value, cst.Call):
        return False
    name = _called(value)
    return name in RELATIONSHIP_FUNCS


def _called(call: cst.Call) -> str:
    """``relationship`` for ``relationship(...)`` or ``db.relationship(...)``."""
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name):
        return node.value
    return None


def _append(args: list[cst.Arg], extra: cst.Arg) -> list[cst.Arg]:
    """``args`` plus ``extra`` at the end, keeping a one-argument-per-line layout."""
    if not args:
        return [extra]
    last = args[-1]
    if isinstance(last.comma, cst.MaybeSentinel):
        # the whitespace before ")" stays before ")"
        spaced = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        return [
            *args[:-1],
            spaced,
            extra.with_changes(whitespace_after_arg=last.whitespace_after_arg),
        ]
    between = (
        args[-2].comma if len(args) > 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    )
    return [*args[:-1], last.with_changes(comma=between), extra.with_changes(comma=last.comma)]
