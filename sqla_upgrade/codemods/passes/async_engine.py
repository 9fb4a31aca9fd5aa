"""Turn engines, session factories and sessions into their asyncio counterparts.

Before::

    engine = create_engine("postgresql://app@db/app", future=True)
    SessionLocal = sessionmaker(bind=engine, autoflush=False)
    Session = scoped_session(SessionLocal)
    def repo(session: Session) -> None: ...
    engine = create_engine(settings.DATABASE_URL)

After::

    engine = create_async_engine("postgresql+asyncpg://app@db/app")
    SessionLocal = async_sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
    Session = async_scoped_session(SessionLocal, scopefunc=asyncio.current_task)
    def repo(session: AsyncSession) -> None: ...
    engine = create_async_engine(async_database_url(settings.DATABASE_URL))

Safety: literal URLs get the async driver of the configured driver map
(``[tool.sqla-upgrade] async-drivers``); a URL computed at run time goes through a small
``async_database_url()`` function written once into the module, so the migrated code
depends on SQLAlchemy only. ``future=True`` is dropped (async engines are always 2.0
style); ``strategy=`` and custom session classes are left with a TODO.
``expire_on_commit=False`` is added to async session factories because reading an
expired attribute after ``commit()`` would need a lazy load, which AsyncSession cannot do.
Event listeners registered on an engine go to ``engine.sync_engine``; those registered
on a session factory or scoped session (which, async, take no events) go to a
``sessionmaker()`` given to the ``async_sessionmaker`` as ``sync_session_class``: the
synchronous sessions of that factory's AsyncSessions, as before (a TODO when the factory
cannot be followed). Annotations
``Session``/``Engine``/``Connection`` become ``AsyncSession``/``AsyncEngine``/
``AsyncConnection``, in type aliases too (``SessionDep = Annotated[Session,
Depends(get_db)]``, ``SessionDep: TypeAlias = ...``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
)

from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.analysis.connectables import ConnectableResolver
from sqla_upgrade.codemods.analysis.sessions import Evidence, type_alias_value
from sqla_upgrade.codemods.base import (
    ANALYSIS_METADATA,
    EVENT_REGISTRATION,
    Pass,
    in_sync_greenlet,
)
from sqla_upgrade.codemods.index.model import (
    SYNC_SCOPED_SESSIONS,
    SYNC_SESSION_CLASSES,
    SYNC_SESSIONMAKERS,
    ObjectKind,
)
from sqla_upgrade.codemods.layout import relaid_arguments
from sqla_upgrade.codemods.names import qualified_names

ASYNCIO = "sqlalchemy.ext.asyncio"
CREATE_ENGINE = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"})
ENGINE_FROM_CONFIG = frozenset(
    {"sqlalchemy.engine_from_config", "sqlalchemy.engine.engine_from_config"}
)
# sync annotation → (async name, module it is imported from)
ANNOTATIONS: dict[str, tuple[str, str]] = {
    "sqlalchemy.orm.Session": ("AsyncSession", ASYNCIO),
    "sqlalchemy.orm.session.Session": ("AsyncSession", ASYNCIO),
    "sqlalchemy.orm.scoped_session": ("async_scoped_session", ASYNCIO),
    "sqlalchemy.orm.scoping.scoped_session": ("async_scoped_session", ASYNCIO),
    "sqlalchemy.orm.sessionmaker": ("async_sessionmaker", ASYNCIO),
    "sqlalchemy.engine.Engine": ("AsyncEngine", ASYNCIO),
    "sqlalchemy.Engine": ("AsyncEngine", ASYNCIO),
    "sqlalchemy.engine.base.Engine": ("AsyncEngine", ASYNCIO),
    "sqlalchemy.engine.Connection": ("AsyncConnection", ASYNCIO),
    "sqlalchemy.Connection": ("AsyncConnection", ASYNCIO),
    "sqlalchemy.engine.base.Connection": ("AsyncConnection", ASYNCIO),
}
SYNC_IMPORTS = {
    "sqlalchemy.orm": ("Session", "sessionmaker", "scoped_session"),
    "sqlalchemy": ("create_engine", "engine_from_config", "Engine", "Connection"),
    "sqlalchemy.engine": ("create_engine", "Engine", "Connection"),
}
URL_HELPER = "async_database_url"
SESSION_EVENTS_TODO = (
    "session events cannot be registered on an async_sessionmaker or async_scoped_session "
    "(No such event): create the async_sessionmaker with sync_session_class=sessionmaker() "
    "and register the listener on that sessionmaker"
)


def async_url(url: str, drivers: dict[str, str]) -> str | None:
    """The literal URL with an async driver, or None when the scheme is unknown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    if scheme in drivers.values() or (
        "+" in scheme and scheme.split("+")[1] in _async_driver_names(drivers)
    ):
        return url
    target = drivers.get(scheme)
    return f"{target}://{rest}" if target else None


def _async_driver_names(drivers: dict[str, str]) -> set[str]:
    return {v.split("+", 1)[1] for v in drivers.values() if "+" in v}


class AsyncEnginePass(Pass):
    """create_engine/sessionmaker/Session/scoped_session → their sqlalchemy.ext.asyncio forms."""

    name = "async-engine"
    targets = frozenset({"async"})
    stage = 2
    triggers = (
        b"create_engine",
        b"engine_from_config",
        b"sessionmaker",
        b"Session",
        b"scoped_session",
        b"Engine",
        b"Connection",
        b"listen",
        b"query_property",
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connectables = ConnectableResolver(self)
        self.needs_url_helper = False
        self._annotation_depth = 0

    # -- calls ------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if isinstance(original_node.func, cst.Call):
            return updated_node  # ``sessionmaker(...)()``: the inner call is the factory
        names = qualified_names(self, original_node.func)
        if names & CREATE_ENGINE:
            return self._create_engine(original_node, updated_node, "create_async_engine")
        if names & ENGINE_FROM_CONFIG:
            return self._engine_from_config(original_node, updated_node)
        if names & SYNC_SESSIONMAKERS:
            if self._is_sync_session_class(original_node):
                return updated_node  # ``async_sessionmaker(sync_session_class=sessionmaker())``
            return self._session_factory(original_node, updated_node, "async_sessionmaker")
        if names & SYNC_SESSION_CLASSES and self._annotation_depth == 0:
            return self._session_factory(original_node, updated_node, "AsyncSession")
        if names & SYNC_SCOPED_SESSIONS:
            return self._scoped(updated_node)
        if names & EVENT_REGISTRATION:
            return self._event_target(original_node, updated_node)
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        """``Base.query = db_session.query_property()``: ``async_scoped_session`` has no
        ``query_property()`` (the module would fail at import), and ``Model.query`` has no
        asyncio form: its uses became ``select()`` run by the session."""
        if not self._is_query_property(original_node):
            return updated_node
        self.count_rewrite()
        self.note(
            original_node,
            "removed Model.query (query_property): an AsyncSession has none; the uses "
            "rewritten to select() run on the session, and a use left with a TODO fails "
            "until it is migrated by hand",
        )
        return cst.RemovalSentinel.REMOVE

    def _is_query_property(self, statement: cst.SimpleStatementLine) -> bool:
        if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign):
            return False
        assign = statement.body[0]
        value = assign.value
        if not (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "query_property"
        ):
            return False
        targets = [t.target for t in assign.targets]
        queried = all(
            (isinstance(t, cst.Attribute) and t.attr.value == "query")
            or (isinstance(t, cst.Name) and t.value == "query")
            for t in targets
        )
        session = value.func.value
        return queried and self.connectables.sessions.kind(session) is ObjectKind.SCOPED_SESSION

    def _rename(self, call: cst.Call, new_name: str) -> cst.Call:
        AddImportsVisitor.add_needed_import(self.context, ASYNCIO, new_name)
        self.count_rewrite()
        return call.with_changes(func=cst.Name(new_name))

    def _create_engine(
        self, original: cst.Call, call: cst.Call, new_name: str
    ) -> cst.BaseExpression:
        if any(a.keyword is not None and a.keyword.value == "strategy" for a in call.args):
            self.todo(original, "create_engine(strategy=...) has no asyncio form")
            return call
        args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "future")]
        url_position = next(
            (i for i, a in enumerate(args) if a.keyword is None or a.keyword.value == "url"), None
        )
        if (url_position is not None and args[url_position].star) or (
            url_position is None and any(a.star == "**" for a in args)
        ):
            # ``create_engine(*args, **kwargs)``: the URL is somewhere in what is spread
            self.todo(
                original,
                "create_engine() given its URL through *args/**kwargs: pass "
                "create_async_engine() a URL with the asyncio driver",
            )
            return call
        if url_position is not None:
            url_arg = args[url_position]
            converted = self._url(original, url_arg.value)
            if converted is None:
                return call
            args[url_position] = url_arg.with_changes(value=converted)
        return self._rename(call.with_changes(args=relaid_arguments(call, args)), new_name)

    def _engine_from_config(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        """``engine_from_config(settings, "sqlalchemy.")`` reads the URL from the
        configuration (``settings["sqlalchemy.url"]``), which names a synchronous driver:
        ``url=`` (which wins over the configuration's) gives it the asyncio driver."""
        args = list(call.args)
        given = {a.keyword.value: i for i, a in enumerate(args) if a.keyword is not None}
        if "url" in given:
            converted = self._url(original, args[given["url"]].value)
            if converted is None:
                return call
            args[given["url"]] = args[given["url"]].with_changes(value=converted)
            return self._rename(call.with_changes(args=args), "async_engine_from_config")
        positional = [a for a in args if a.keyword is None]
        if any(a.star for a in args) or len(positional) > 2:
            self.todo(original, "engine_from_config(): cannot tell which setting holds the URL")
            return call
        configuration = positional[0].value if positional else None
        if configuration is None and "configuration" in given:
            configuration = args[given["configuration"]].value
        prefix: cst.BaseExpression | None = positional[1].value if len(positional) > 1 else None
        if prefix is None and "prefix" in given:
            prefix = args[given["prefix"]].value
        text = "sqlalchemy." if prefix is None else None
        if isinstance(prefix, cst.SimpleString) and isinstance(prefix.evaluated_value, str):
            text = prefix.evaluated_value
        if not isinstance(configuration, cst.Name | cst.Attribute) or text is None:
            # a configuration built in place would be evaluated twice
            self.todo(
                original,
                "engine_from_config(): its URL setting names a synchronous driver; give "
                "async_engine_from_config() url= with the asyncio driver",
            )
            return call
        quote = prefix.quote if isinstance(prefix, cst.SimpleString) else '"'
        key = cst.SimpleString(f"{quote}{text}url{quote}")
        read = cst.Subscript(
            value=configuration, slice=[cst.SubscriptElement(slice=cst.Index(value=key))]
        )
        converted = self._url(original, read)
        if converted is None:
            return call
        args.append(keyword("url", converted))
        return self._rename(
            call.with_changes(args=relaid_arguments(call, args)), "async_engine_from_config"
        )

    def _url(self, original: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(value, cst.SimpleString):
            text = value.evaluated_value
            if isinstance(text, str):
                mapped = async_url(text, self.state.options.async_drivers)
                if mapped is None:
                    self.todo(
                        original,
                        f"no async driver is configured for {text.partition('://')[0]!r} URLs",
                    )
                    return None
                quote = value.quote
                prefix = value.prefix
                return value.with_changes(value=f"{prefix}{quote}{mapped}{quote}")
        self.needs_url_helper = True
        return cst.Call(func=cst.Name(URL_HELPER), args=[cst.Arg(value)])

    def _session_factory(self, original: cst.Call, call: cst.Call, new_name: str) -> cst.Call:
        kept: list[cst.Arg] = []
        for before, arg in zip(original.args, call.args, strict=True):
            name = before.keyword.value if before.keyword is not None else None
            if name == "class_":
                if not qualified_names(self, before.value) & SYNC_SESSION_CLASSES:
                    self.todo(original, "a custom session class must derive from AsyncSession")
                    return call
                continue
            if name == "autocommit" and not (
                isinstance(before.value, cst.Name) and before.value.value == "False"
            ):
                return call
            kept.append(arg)
        if not any(a.keyword is not None and a.keyword.value == "expire_on_commit" for a in kept):
            kept.append(keyword("expire_on_commit", cst.Name("False")))
        if new_name == "async_sessionmaker" and self._has_session_listeners(original):
            kept.append(self._sync_session_class(original))
        return self._rename(call.with_changes(args=relaid_arguments(call, kept)), new_name)

    # -- session events ------------------------------------------------------------------------
    def _has_session_listeners(self, sessionmaker: cst.Call) -> bool:
        """Are session events registered on this module-level sessionmaker, or on the
        scoped session it is written in?"""
        key = self._sessionmaker_key(sessionmaker)
        return key is not None and key in self.state.index.listened_sessionmakers()

    def _sessionmaker_key(self, sessionmaker: cst.Call) -> str | None:
        """``module.SessionLocal`` for ``SessionLocal = sessionmaker(...)``, ``module.Session``
        for ``Session = scoped_session(sessionmaker(...))``, at the module's top level."""
        parent = self.get_metadata(ParentNodeProvider, sessionmaker, None)
        if isinstance(parent, cst.Arg):
            scoped = self.get_metadata(ParentNodeProvider, parent, None)
            if not (
                isinstance(scoped, cst.Call)
                and qualified_names(self, scoped.func) & SYNC_SCOPED_SESSIONS
            ):
                return None
            parent = self.get_metadata(ParentNodeProvider, scoped, None)
        if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1):
            return None
        target = parent.targets[0].target
        line = self.get_metadata(ParentNodeProvider, parent)
        if not isinstance(target, cst.Name) or not isinstance(
            self.get_metadata(ParentNodeProvider, line, None), cst.Module
        ):
            return None
        return f"{self.state.module_name}.{target.value}"

    def _sync_session_class(self, sessionmaker: cst.Call) -> cst.Arg:
        """``sync_session_class=sessionmaker()``: the synchronous sessions the async ones
        wrap get a class of their own, which the listeners are registered on."""
        AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "sessionmaker")
        self.note(
            sessionmaker,
            "sync_session_class=sessionmaker(): the session events registered on this factory "
            "now go to the synchronous sessions its AsyncSessions wrap",
        )
        return keyword("sync_session_class", cst.Call(func=cst.Name("sessionmaker")))

    def _is_sync_session_class(self, call: cst.Call) -> bool:
        """Is this ``sessionmaker(...)`` the synchronous one of an async factory, given as
        its ``sync_session_class=`` in place or by name?"""
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Arg) and parent.keyword is not None:
            return parent.keyword.value == "sync_session_class"
        key = self._sessionmaker_key(call)
        return key is not None and key in self.state.index.sync_session_classes

    def _scoped(self, call: cst.Call) -> cst.Call:
        args = [
            a for a in call.args if not (a.keyword is not None and a.keyword.value == "scopefunc")
        ]
        current_task = cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("current_task"))
        args.append(keyword("scopefunc", current_task))
        AddImportsVisitor.add_needed_import(self.context, "asyncio")
        return self._rename(
            call.with_changes(args=relaid_arguments(call, args)), "async_scoped_session"
        )

    def _event_target(self, original: cst.Call, call: cst.Call) -> cst.Call:
        if not call.args:
            return call
        target = original.args[0].value
        if self._session_factory_kind(target) is not None:
            return self._session_event_target(original, call)
        if self.connectables.engine_evidence(target) not in (Evidence.PROOF, Evidence.ASSUMED):
            return call
        if isinstance(target, cst.Attribute) and target.attr.value == "sync_engine":
            return call
        first = call.args[0]
        sync_engine = cst.Attribute(value=first.value, attr=cst.Name("sync_engine"))
        self.count_rewrite()
        return call.with_changes(args=[first.with_changes(value=sync_engine), *call.args[1:]])

    def _session_factory_kind(self, target: cst.BaseExpression) -> ObjectKind | None:
        kind = self.connectables.sessions.kind(target)
        if kind in (ObjectKind.SESSION_FACTORY, ObjectKind.SCOPED_SESSION):
            return kind
        if kind is None and self.connectables.sessions.local_factory(target):
            return ObjectKind.SESSION_FACTORY
        return None

    def _session_event_target(self, original: cst.Call, call: cst.Call) -> cst.Call:
        """``event.listen(SessionLocal, "before_flush", fn)``: an ``async_sessionmaker`` (or
        ``async_scoped_session``) takes no events; the ``sessionmaker()`` it is given as
        ``sync_session_class`` does, for the same sessions."""
        target = original.args[0].value
        index = self.state.index
        names = qualified_names(self, target)
        if any(index.stays_synchronous(name) for name in names):
            return call
        if not any(index.listened_sessionmaker(name) for name in names):
            self.todo(original, SESSION_EVENTS_TODO)
            return call
        first = call.args[0]
        factory = first.value
        if self._session_factory_kind(target) is ObjectKind.SCOPED_SESSION:
            factory = cst.Attribute(value=factory, attr=cst.Name("session_factory"))
        options = cst.Attribute(value=factory, attr=cst.Name("kw"))
        key = cst.SubscriptElement(cst.Index(cst.SimpleString('"sync_session_class"')))
        self.count_rewrite()
        return call.with_changes(
            args=[first.with_changes(value=cst.Subscript(options, [key])), *call.args[1:]]
        )

    # -- annotations -----------------------------------------------------------------------
    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._annotation_depth += 1

    def leave_Annotation(
        self, original_node: cst.Annotation, updated_node: cst.Annotation
    ) -> cst.Annotation:
        self._annotation_depth -= 1
        return updated_node

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self._enter_alias(node)

    def leave_Assign_value(self, node: cst.Assign) -> None:
        self._leave_alias(node)

    def visit_AnnAssign_value(self, node: cst.AnnAssign) -> None:
        self._enter_alias(node)

    def leave_AnnAssign_value(self, node: cst.AnnAssign) -> None:
        self._leave_alias(node)

    def _enter_alias(self, node: cst.Assign | cst.AnnAssign) -> None:
        """The value of a type alias is an annotation (``Annotated[Session, ...]``)."""
        if type_alias_value(self, node) is not None:
            self._annotation_depth += 1

    def _leave_alias(self, node: cst.Assign | cst.AnnAssign) -> None:
        if type_alias_value(self, node) is not None:
            self._annotation_depth -= 1

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self._annotation_reference(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self._annotation_reference(original_node, updated_node)

    def _annotation_reference(
        self, original: cst.BaseExpression, updated: cst.BaseExpression
    ) -> cst.BaseExpression:
        if self._annotation_depth == 0 or in_sync_greenlet(self, original):
            return updated  # (a function run through run_sync keeps its synchronous session)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        if isinstance(parent, cst.Attribute) and parent.value is original:
            return updated
        for name in qualified_names(self, original):
            if name in ANNOTATIONS:
                new_name, module = ANNOTATIONS[name]
                AddImportsVisitor.add_needed_import(self.context, module, new_name)
                self.count_rewrite()
                return cst.Name(new_name)
        return updated

    # -- module ------------------------------------------------------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        for module, names in SYNC_IMPORTS.items():
            for name in names:
                RemoveImportsVisitor.remove_unused_import(self.context, module, name)
        for module, name, alias in _aliased_sync_imports(original_node):
            RemoveImportsVisitor.remove_unused_import(self.context, module, name, alias)
        if not self.needs_url_helper:
            return updated_node
        return _insert_url_helper(updated_node, self.state.options.async_drivers, self.context)


def _aliased_sync_imports(module: cst.Module) -> list[tuple[str, str, str]]:
    """``from sqlalchemy.orm import Session as OrmSession`` at the top of the module: the
    remover needs the alias to drop it once unused."""
    found = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            if small.relative or small.module is None:
                continue
            module_name = get_full_name_for_node(small.module) or ""
            names = SYNC_IMPORTS.get(module_name, ())
            for alias in small.names:
                if alias.asname is None or not isinstance(alias.name, cst.Name):
                    continue
                as_name = alias.asname.name
                if alias.name.value in names and isinstance(as_name, cst.Name):
                    found.append((module_name, alias.name.value, as_name.value))
    return found


def _insert_url_helper(module: cst.Module, drivers: dict[str, str], context: Any) -> cst.Module:
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == URL_HELPER:
            return module
    AddImportsVisitor.add_needed_import(context, "sqlalchemy.engine", "make_url")
    entries = "\n".join(f"        {k!r}: {v!r}," for k, v in sorted(drivers.items()))
    helper = cst.parse_statement(
        f'''def {URL_HELPER}(url):
    """The database URL with its asyncio driver (added by sqla-upgrade)."""
    url = make_url(url)
    drivers = {{
{entries}
    }}
    return url.set(drivername=drivers.get(url.drivername, url.drivername))
''',
        config=module.config_for_parsing,
    )
    return insert_after_imports(module, helper)


def insert_after_imports(
    module: cst.Module, helper: cst.SimpleStatementLine | cst.BaseCompoundStatement
) -> cst.Module:
    """``module`` with ``helper`` after its imports, two blank lines around it."""
    position = _after_imports(module)
    helper = helper.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body = list(module.body)
    if position < len(body):
        following = body[position]
        blanks = len(following.leading_lines) - len(
            [line for line in following.leading_lines if line.comment is not None]
        )
        if blanks < 2:
            padding = [cst.EmptyLine()] * (2 - blanks)
            body[position] = following.with_changes(
                leading_lines=[*padding, *following.leading_lines]
            )
    body.insert(position, helper)
    return module.with_changes(body=body)


def _after_imports(module: cst.Module) -> int:
    position = 0
    for number, statement in enumerate(module.body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body
        ):
            position = number + 1
        elif (
            number == 0
            and isinstance(statement, cst.SimpleStatementLine)
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, cst.SimpleString)
        ):
            position = 1
    return position
