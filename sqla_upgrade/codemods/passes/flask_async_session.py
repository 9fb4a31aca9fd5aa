"""Flask-SQLAlchemy apps: request code moves from ``db.session`` to an ``AsyncSession``.

Flask-SQLAlchemy has no asyncio session. Its models, tables and ``db.create_all()`` keep
working (they stay on its synchronous engine); what request code used through
``db.session`` moves to ``async_session``, an ``async_scoped_session`` written into the
module that creates ``db``, next to a few small helpers:

* ``init_async_session(app)`` (called after ``db.init_app(app)``) builds an async engine
  from ``SQLALCHEMY_DATABASE_URI`` with the asyncio driver, and wraps every coroutine Flask
  runs (views, hooks, error handlers) so it gets its own ``AsyncSession``, removed when it
  returns. Flask runs each async view in a new event loop and a pooled connection cannot
  move between loops, so the engine opens one connection per session (``NullPool``).
* ``get_or_404`` / ``first_or_404`` / ``one_or_404`` / ``paginate``: async forms of the
  ``db.`` helpers of the same name (``paginate`` returns Flask-SQLAlchemy's
  ``Pagination``, so templates keep working).
* ``async_command``: Flask CLI commands that became ``async def`` run like an async view.

Before::

    db = SQLAlchemy()

    def create_app():
        db.init_app(app)

    @bp.route("/users/<int:id>")
    def user(id):
        user = db.get_or_404(User, id)
        db.session.commit()

After::

    db = SQLAlchemy()
    async_session = async_scoped_session(...)  # and the helpers

    def create_app():
        db.init_app(app)
        init_async_session(app)

    @bp.route("/users/<int:id>")
    async def user(id):
        user = await get_or_404(User, id)
        await async_session.commit()

Session events: ``async_session`` takes none ("No such event"), so a listener registered on
``db.session`` (``event.listen``, ``@event.listens_for``, Flask-SQLAlchemy's ``db.event``)
keeps that registration, for the sessions that stay on ``db.session``, and is registered
again on ``async_session.session_factory.kw["sync_session_class"]``: the ``sessionmaker()``
the ``async_sessionmaker`` is then given as ``sync_session_class``, the synchronous
sessions its AsyncSessions wrap, in whichever module the registration is (the project
index records them). A registration that cannot be copied exactly (in an expression,
``once=True``) is left as it is with a TODO.

Safety: the await pass decides what is awaited (``db.session`` counts as a scoped
session there); this pass only renames. A ``db.session`` I/O call left in a function that
could not become async (a property, a template filter...) keeps the synchronous
``db.session`` and its TODO. The app needs ``flask[async]`` (asgiref).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider

from sqla_upgrade.codemods.analysis.async_plan import (
    RENDER_HELPER,
    CallResolver,
    ScopeTracking,
    decorator_attribute,
    plan_of,
)
from sqla_upgrade.codemods.analysis.io_calls import FLASK_IO_HELPERS, SCOPED_REGISTRY_IO
from sqla_upgrade.codemods.analysis.sessions import SessionResolver
from sqla_upgrade.codemods.base import ANALYSIS_METADATA, in_sync_greenlet, simple_statements
from sqla_upgrade.codemods.codegen import node_code
from sqla_upgrade.codemods.discovery import resolve_relative
from sqla_upgrade.codemods.index.builder import CONSTRUCTOR_KINDS
from sqla_upgrade.codemods.index.model import FLASK_SESSION_HELPER, ObjectKind
from sqla_upgrade.codemods.layout import spaced_top_level
from sqla_upgrade.codemods.names import last_parts, qualified_names

FLASK_SQLALCHEMY = frozenset(
    {"flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"}
)
FLASK_SQLALCHEMY_ENDINGS = last_parts(FLASK_SQLALCHEMY)
FLASK_G_ENDINGS = frozenset({"g"})
SESSION_NAME = FLASK_SESSION_HELPER
#: the classes whose instances are Flask-SQLAlchemy objects (the extension's, Flask-AppBuilder's)
FLASK_SQLALCHEMY_CLASSES = frozenset(
    name for name, kind in CONSTRUCTOR_KINDS.items() if kind is ObjectKind.FLASK_SQLALCHEMY
)
#: ``db.session`` methods that keep ``db.session`` in a synchronous function: its I/O,
#: and ``query()`` (a legacy Query, run synchronously)
KEEPING_METHODS = SCOPED_REGISTRY_IO | {"query"}
INIT_NAME = "init_async_session"
COMMAND_DECORATOR = "async_command"
WITH_APPCONTEXT = frozenset({"flask.cli.with_appcontext"})
WITH_APPCONTEXT_ENDINGS = last_parts(WITH_APPCONTEXT)
RENDER_TEMPLATE = frozenset(
    {
        "flask.render_template",
        "flask.render_template_string",
        "flask.templating.render_template",
        "flask.templating.render_template_string",
    }
)
RENDER_TEMPLATE_ENDINGS = last_parts(RENDER_TEMPLATE)

#: Flask-Login's proxy to the user its ``@user_loader`` loaded
CURRENT_USER = frozenset({"flask_login.current_user", "flask_login.utils.current_user"})
#: how the async plan says a ``@user_loader`` stays synchronous
USER_LOADER_REASON = "Flask-Login calls @user_loader"
#: methods that relate what they are given to the receiver's session (a relationship's
#: collection, a session): handed ``current_user``, they put it in the other session
RELATING_METHODS = frozenset(
    {"append", "extend", "insert", "add", "add_all", "remove", "delete", "refresh", "expunge"}
)
#: methods changing a collection in place (``current_user.followed.append(user)``)
COLLECTION_MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "add", "discard", "clear", "pop", "update"}
)
#: comparisons of instances: two sessions' objects of one row are not the same object
INSTANCE_COMPARISONS = (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In, cst.NotIn)
CURRENT_USER_RELATED_TODO = (
    "current_user was loaded by the synchronous @user_loader into db.session: related to "
    "an object of async_session it makes that session's flush fail (already attached to "
    "session). Relate the user `await async_session.merge(current_user)` gives, or set "
    "the foreign key to current_user.id"
)
CURRENT_USER_COMPARED_TODO = (
    "current_user was loaded by the synchronous @user_loader into db.session; objects "
    "async_session loads are other instances of the same rows, so this comparison of "
    "instances no longer finds the user among them: compare primary keys "
    "(`x.id == current_user.id`)"
)

SESSION_FACTORY = "    async_sessionmaker(expire_on_commit=False), scopefunc=asyncio.current_task"
#: when session events are registered on ``db.session``: the synchronous sessions the
#: AsyncSessions wrap get a class of their own, which the listeners are registered on too
SESSION_FACTORY_LISTENED = (
    "    async_sessionmaker(expire_on_commit=False, sync_session_class=sessionmaker()),\n"
    "    scopefunc=asyncio.current_task,"
)
#: ``async_session.session_factory.kw["sync_session_class"]``
SYNC_SESSION_CLASS = f'{SESSION_NAME}.session_factory.kw["sync_session_class"]'
EVENT_REGISTRATION_METHODS = frozenset({"listen", "listens_for"})
SESSION_EVENTS_TODO = (
    "session events cannot be registered on async_session (an async_scoped_session: No such "
    "event). Give the async_sessionmaker written beside `db = SQLAlchemy()` "
    "sync_session_class=sessionmaker() and register this listener on "
    'async_session.session_factory.kw["sync_session_class"] as well'
)
SESSION_EVENTS_ONCE_TODO = (
    "a once=True listener of db.session cannot be registered again on the synchronous "
    'sessions of async_session (async_session.session_factory.kw["sync_session_class"]) '
    "without running twice: register it where it is run once"
)
SESSION_EVENTS_OTHER_TODO = (
    "this acts on the events of db.session only: async_session's listeners are registered "
    'on async_session.session_factory.kw["sync_session_class"]'
)

HELPERS_TEMPLATE = '''
# Request code uses this AsyncSession where it used db.session (added by sqla-upgrade):
# one session per asyncio task, bound to the app's async engine by init_async_session().
{session} = async_scoped_session(
{factory}
)


def {init}(app):
    """Give ``app`` an async engine and run every coroutine Flask runs for it (views,
    hooks, error handlers, async CLI commands) with its own ``{session}``.

    Flask runs each async view in a new event loop, and a pooled connection cannot move
    from one loop to another, so the engine opens a connection per session (NullPool).
    The engine options and the binds (``SQLALCHEMY_BINDS``, ``__bind_key__``) are
    Flask-SQLAlchemy's. ``db.create_all()`` still goes through Flask-SQLAlchemy's
    synchronous engines: an in-memory SQLite database is not shared between the two.
    """
    drivers = {{
{drivers}
    }}

    def async_engine(uri, options):
        url = make_url(uri)
        url = url.set(drivername=drivers.get(url.drivername, url.drivername))
        memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        # options of the pooling the async engine does not do
        queue_pool = ("pool_size", "max_overflow", "pool_timeout", "pool_use_lifo", "poolclass")
        kept = {{key: value for key, value in options.items() if key not in queue_pool}}
        return create_async_engine(url, poolclass=StaticPool if memory else NullPool, **kept)

    extension = app.extensions.get("sqlalchemy")
    sync_engines = {{}}
    if extension is not None:
        with app.app_context():
            sync_engines = dict(extension.engines)
    # SQLAlchemy(engine_options=...) for every engine, SQLALCHEMY_ENGINE_OPTIONS over
    # them for the default one, a bind's own dict for that bind; the URLs as
    # Flask-SQLAlchemy made them (SQLite files in the instance folder)
    shared = {{"echo": app.config.get("SQLALCHEMY_ECHO", False)}}
    shared.update(getattr(extension, "_engine_options", None) or {{}})
    options = {{**shared, **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {{}})}}
    default = sync_engines.get(None)
    uri = default.url if default is not None else app.config["SQLALCHEMY_DATABASE_URI"]
    engine = async_engine(uri, options)
    binds = {{}}
    for key, bind in (app.config.get("SQLALCHEMY_BINDS") or {{}}).items():
        bind_options = dict(shared)
        if isinstance(bind, dict):
            bind_options.update(bind)
            bind = bind_options.pop("url")
        made = sync_engines.get(key)
        bind_engine = async_engine(made.url if made is not None else bind, bind_options)
        for table in extension.metadatas[key].tables.values():
            binds[table] = bind_engine
    {session}.session_factory.configure(bind=engine, binds=binds)
    app.extensions["sqla_async_engine"] = engine
    run_coroutine = app.async_to_sync

    def async_to_sync(func):
        @functools.wraps(func)
        async def with_session(*args, **kwargs):
            {session}(bind=engine)
            try:
                return await func(*args, **kwargs)
            finally:
                await {session}.remove()

        run_in_new_loop = run_coroutine(with_session)

        def run(*args, **kwargs):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return run_in_new_loop(*args, **kwargs)
            # called while an async view renders a template (an async context
            # processor): run it on its own loop in a worker thread
            context = contextvars.copy_context()
            with ThreadPoolExecutor(max_workers=1) as worker:
                return worker.submit(context.run, run_in_new_loop, *args, **kwargs).result()

        return run

    app.async_to_sync = async_to_sync


def {command}(command):
    """Run an ``async def`` Flask CLI command the way Flask runs an async view."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        return current_app.ensure_sync(command)(*args, **kwargs)

    return run


async def {render}(render, *args, **kwargs):
    """``render(*args, **kwargs)`` (``render_template``...) run inside ``{session}``'s
    ``run_sync``, where the template's reads of ``lazy="dynamic"`` relationships and of
    properties that query can run their synchronous queries."""
    return await {session}().run_sync(lambda _sync_session: render(*args, **kwargs))


async def get_or_404(entity, ident, *, description=None, **kwargs):
    """``db.get_or_404`` on ``{session}``."""
    value = await {session}.get(entity, ident, **kwargs)
    if value is None:
        abort(404, description=description)
    return value


async def first_or_404(statement, *, description=None):
    """``db.first_or_404`` on ``{session}``."""
    value = (await {session}.execute(statement)).scalar()
    if value is None:
        abort(404, description=description)
    return value


async def one_or_404(statement, *, description=None):
    """``db.one_or_404`` on ``{session}``."""
    try:
        return (await {session}.execute(statement)).scalar_one()
    except (NoResultFound, MultipleResultsFound):
        abort(404, description=description)


class FetchedPagination(Pagination):
    """A Flask-SQLAlchemy ``Pagination`` over the page and total ``paginate`` fetched."""

    def _query_items(self):
        return self._query_args["items"]

    def _query_count(self):
        return self._query_args["total"]


async def paginate(
    statement, *, page=None, per_page=None, max_per_page=None, error_out=True, count=True
):
    """``db.paginate`` on ``{session}``."""
    page, per_page = Pagination._prepare_page_args(
        page=page, per_page=per_page, max_per_page=max_per_page, error_out=error_out
    )
    page_rows = statement.limit(per_page).offset((page - 1) * per_page)
    items = list((await {session}.execute(page_rows)).unique().scalars())
    total = None
    if count:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = await {session}.scalar(counted)
    return FetchedPagination(
        page=page,
        per_page=per_page,
        max_per_page=max_per_page,
        error_out=error_out,
        count=count,
        items=items,
        total=total,
    )
'''

HELPER_IMPORTS: tuple[tuple[str, str | None], ...] = (
    ("asyncio", None),
    ("contextvars", None),
    ("functools", None),
    ("concurrent.futures", "ThreadPoolExecutor"),
    ("flask", "abort"),
    ("flask", "current_app"),
    ("flask_sqlalchemy.pagination", "Pagination"),
    ("sqlalchemy", "func"),
    ("sqlalchemy", "select"),
    ("sqlalchemy.engine", "make_url"),
    ("sqlalchemy.exc", "MultipleResultsFound"),
    ("sqlalchemy.exc", "NoResultFound"),
    ("sqlalchemy.ext.asyncio", "async_scoped_session"),
    ("sqlalchemy.ext.asyncio", "async_sessionmaker"),
    ("sqlalchemy.ext.asyncio", "create_async_engine"),
    ("sqlalchemy.pool", "NullPool"),
    ("sqlalchemy.pool", "StaticPool"),
)


class FlaskAsyncSessionPass(ScopeTracking):
    """Flask-SQLAlchemy: db.session → an AsyncSession per request, async db.*_or_404 helpers."""

    name = "flask-async-session"
    targets = frozenset({"async"})
    stage = 2
    triggers = (b"session", b"_or_404", b"paginate", b"init_app", b"SQLAlchemy", b"command")
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ANALYSIS_METADATA

    @classmethod
    def index_triggers(cls, index: Any) -> tuple[bytes, ...]:
        """Where a Flask-SQLAlchemy object is made by a class not spelled ``SQLAlchemy``
        (``db = SQLA()``: a subclass of the extension): its assignment."""
        names = {q.rpartition(".")[2] for q in index.objects_of_kind(ObjectKind.FLASK_SQLALCHEMY)}
        return tuple(f"{name}{sep}=".encode() for name in sorted(names) for sep in ("", " "))

    @classmethod
    def concerns(cls, code: bytes, path: str, index: Any) -> bool:
        """Only in a project with a Flask-SQLAlchemy object (every rewrite but the
        templates' goes through one), or in a file naming Flask-SQLAlchemy or
        ``render_template`` itself."""
        if index.flask_sqlalchemy_modules():
            return True
        return b"flask_sqlalchemy" in code or b"render_template" in code

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = SessionResolver(self)
        self.wanted: dict[tuple[str, str | None], set[str]] = {}
        # id of an updated ``db = SQLAlchemy(...)`` statement → its app argument (or True)
        self.db_assignments: dict[int, tuple[cst.BaseExpression | bool, cst.CSTNode]] = {}
        #: ids of the ``event.listen(db.session, ...)`` calls registered again on the
        #: synchronous sessions of ``async_session`` (by the statement or decorator holding it)
        self.registrations_to_copy: set[int] = set()
        #: a ``@user_loader`` of the project stays synchronous on ``db.session``
        self.user_loader_kept = any(
            reason.startswith(USER_LOADER_REASON) for reason in plan_of(self.state).blocked.values()
        )
        #: the names this module binds to Flask-Login's ``current_user`` (when the above)
        self._current_user_names: frozenset[str] = frozenset()
        #: does a user class of the project compare as an instance (no ``UserMixin``)?
        self._instance_users: bool | None = None
        #: id of a function → does it keep using the synchronous ``db.session``?
        self._on_db_session: dict[int, bool] = {}
        self._io_on_db_session: dict[int, bool] = {}
        #: the project does no I/O the plan makes async: only the TODOs of I/O through
        #: Flask-SQLAlchemy objects the index does not know are written
        self._unknown_dbs_only = False

    # -- where the names come from ------------------------------------------------------------
    def _is_flask_db(self, node: cst.BaseExpression) -> bool:
        return self.sessions.kind(node) is ObjectKind.FLASK_SQLALCHEMY

    def _import_helper(self, db: cst.BaseExpression, name: str) -> None:
        """Import ``name`` from the module that defines the Flask-SQLAlchemy object ``db``
        (added to the statement that imports ``db`` when there is one, at the end)."""
        qualname = self._db_qualname(db)
        if qualname is not None:
            self._want(qualname, db.value if isinstance(db, cst.Name) else None, name)

    def _want(self, db_qualname: str, local: str | None, name: str) -> None:
        module = db_qualname.rpartition(".")[0]
        if module != self.state.module_name:
            self.wanted.setdefault((module, local), set()).add(name)

    def _add_imports(self, body: list[Any]) -> list[Any]:
        out = list(body)
        for (module, local), names in sorted(self.wanted.items(), key=lambda kv: kv[0][0]):
            position = _position_of_import(out, local) if local else None
            if position is not None and not self._imported_from(local, module):
                position = None  # ``db`` re-exported by a package: the helpers are not
            if position is None:
                for name in sorted(names):
                    AddImportsVisitor.add_needed_import(self.context, module, name)
                continue
            out[position] = _with_names(out[position], names)
        return out

    def _imported_from(self, local: str | None, module: str) -> bool:
        """Does this module import ``local`` from ``module`` itself (not from a package
        re-exporting it, which does not export the helpers written beside it)?"""
        facts = self.state.index.modules.get(self.state.module_name)
        target = facts.imports.get(local) if facts is not None and local else None
        return target is None or target.rpartition(".")[0] == module

    def _db_qualname(self, db: cst.BaseExpression) -> str | None:
        index = self.state.index
        for name in sorted(qualified_names(self, db)):
            if index.kind_of(name) is ObjectKind.FLASK_SQLALCHEMY:
                return index.resolve_alias(name)
        return None

    # -- module ---------------------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> bool:
        self._module = node
        if self.user_loader_kept:
            self._current_user_names = _names_imported(node, CURRENT_USER)
        # an app whose code does no I/O through sessions needs no async session layer; a
        # Flask-SQLAlchemy object made in a function is still looked at, for its TODOs
        self._unknown_dbs_only = not plan_of(self.state).functions
        return not self._unknown_dbs_only or self._makes_unknown_db(node)

    def _makes_unknown_db(self, module: cst.Module) -> bool:
        """Could the module make a Flask-SQLAlchemy object the index does not know (in a
        function, say)? It imports the extension's class, or its package."""
        if _names_imported(module, FLASK_SQLALCHEMY_CLASSES):
            return True
        packages = {name.split(".")[0] for name in FLASK_SQLALCHEMY_CLASSES}
        return any(
            isinstance(small, cst.Import)
            and any(node_code(alias.name).split(".")[0] in packages for alias in small.names)
            for statement in module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
        )

    def _unknown_db_io(self, call: cst.Call) -> None:
        """``db.session.commit()``, ``db.session.query(...)``, ``db.get_or_404(...)`` on a
        Flask-SQLAlchemy object the index does not know (made in an app factory, or bound
        there through ``global``): the async session and helpers are written beside a
        module-level ``db = SQLAlchemy()``, so this keeps the synchronous session."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        if func.attr.value in FLASK_IO_HELPERS:
            db = func.value
        elif (
            func.attr.value in KEEPING_METHODS
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "session"
        ):
            db = func.value.value
        else:
            return
        where = self.sessions.unknown_flask_db(db)
        if where is None:
            return
        assert isinstance(db, cst.Name)
        self.todo(call, unknown_db_reason(db.value, where))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        super().leave_FunctionDef(original_node, updated_node)
        if self._unknown_dbs_only:
            return updated_node
        updated_node = self._with_decorator_copies(original_node, updated_node)
        if original_node.asynchronous is None or not self._is_cli_command(original_node):
            return updated_node
        index = self.state.index
        if not index.flask_sqlalchemy_in(self.state.module_name):
            return updated_node  # a plain click command: the await pass runs it
        if any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == COMMAND_DECORATOR
            for d in updated_node.decorators
        ):
            return updated_node
        if not (self._defines_flask_db() or self._import_from_db_module(COMMAND_DECORATOR)):
            self.todo(
                original_node,
                f"this CLI command became async: decorate it with `@{COMMAND_DECORATOR}` "
                "(written beside `db = SQLAlchemy()`) and import it here",
            )
            return updated_node
        self.count_rewrite()
        decorator = cst.Decorator(decorator=cst.Name(COMMAND_DECORATOR))
        return updated_node.with_changes(decorators=[*updated_node.decorators, decorator])

    def _is_cli_command(self, node: cst.FunctionDef) -> bool:
        return flask_cli_command(self, node)

    def _defines_flask_db(self) -> bool:
        return self.state.module_name in self.state.index.flask_sqlalchemy_modules()

    def _import_from_db_module(self, helper: str) -> bool:
        """Import ``helper`` from where the ``db`` this module imports is defined (False:
        no statement imports one by name)."""
        index = self.state.index
        is_package = self.state.path.endswith("__init__.py")
        for statement in self._module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                    continue
                module = cst.Module([]).code_for_node(small.module) if small.module else ""
                module = "." * len(small.relative) + module
                if small.relative:
                    module = resolve_relative(module, self.state.module_name, is_package)
                for alias in small.names:
                    bound = alias.asname.name if alias.asname else alias.name
                    qualname = f"{module}.{cst.Module([]).code_for_node(alias.name)}"
                    if isinstance(bound, cst.Name) and (
                        index.kind_of(qualname) is ObjectKind.FLASK_SQLALCHEMY
                    ):
                        self._want(index.resolve_alias(qualname), bound.value, helper)
                        return True
        return False

    # -- current_user related to or compared with async_session's objects ----------------------
    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self._current_user_names and not self._unknown_dbs_only:
            self._current_user_use(node)

    def _current_user_use(self, node: cst.Name | cst.Attribute) -> None:
        """``Membership(user=current_user)``, ``issue.reporter = current_user``,
        ``post.author != current_user``: the user Flask-Login's synchronous ``@user_loader``
        loaded into ``db.session`` is used as an instance with objects that now come from
        ``async_session`` (anywhere but in code that keeps ``db.session`` itself)."""
        if not qualified_names(self, node) & CURRENT_USER:
            return
        function = self.enclosing_function()
        if function is None or self._keeps_db_session(function):
            return
        use = self._instance_use(node)
        if use is not None:
            self.todo(node, use)

    def _instance_use(self, node: cst.Name | cst.Attribute) -> str | None:
        parent = functools.partial(self.get_metadata, ParentNodeProvider, default=None)
        value: cst.CSTNode | None = node
        holder = parent(node)
        while isinstance(holder, cst.Element):  # ``[current_user]``
            value = parent(holder)
            holder = parent(value) if value is not None else None
        if isinstance(holder, cst.Arg) and holder.value is value:
            call = parent(holder)
            if isinstance(call, cst.Call) and self._relating_call(call):
                return CURRENT_USER_RELATED_TODO
            return None
        if isinstance(holder, cst.Assign) and holder.value is value:
            if any(isinstance(t.target, cst.Attribute) for t in holder.targets):
                return CURRENT_USER_RELATED_TODO
            return None
        if value is not node:
            return None
        if isinstance(holder, cst.Comparison) and holder.left is node:
            target = holder.comparisons[0]
            other = target.comparator
        elif isinstance(holder, cst.ComparisonTarget) and holder.comparator is node:
            target = holder
            comparison = parent(holder)
            if not isinstance(comparison, cst.Comparison):
                return None
            position = [id(t) for t in comparison.comparisons].index(id(holder))
            other = (
                comparison.left
                if position == 0
                else comparison.comparisons[position - 1].comparator
            )
            if isinstance(target.operator, cst.In | cst.NotIn):
                return None  # ``x in current_user``
        else:
            return None
        if not isinstance(target.operator, INSTANCE_COMPARISONS) or self._not_an_instance(other):
            return None
        return CURRENT_USER_COMPARED_TODO if self._user_compared_as_instance() else None

    def _user_compared_as_instance(self) -> bool:
        """Does a user class of the project (a model defining Flask-Login's ``get_id`` or
        ``is_authenticated``) compare as an instance? ``UserMixin`` (Flask-Login's, or a
        subclass like Flask-Security's) compares users by ``get_id()``, as does a class's
        own ``__eq__``; then ``post.author == current_user`` holds across sessions."""
        if self._instance_users is None:
            index = self.state.index
            self._instance_users = False
            for model in index.models.values():
                chain = index.self_and_bases(model)
                members = {m for facts in chain for m in facts.members}
                bases = {b for facts in chain for b in facts.bases}
                if not members & {"get_id", "is_authenticated"}:
                    continue
                if "__eq__" in members or any(b.rpartition(".")[2] == "UserMixin" for b in bases):
                    continue
                self._instance_users = True
        return self._instance_users

    def _relating_call(self, call: cst.Call) -> bool:
        """``obj.rel.append(x)``, ``db.session.add(x)`` or a new object of a model of the
        project, ``Membership(user=x)``."""
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in RELATING_METHODS
            and isinstance(func.value, cst.Attribute)
        ):
            return True
        return CallResolver(self).instance_class(call) in self.state.index.models

    def _not_an_instance(self, node: cst.BaseExpression) -> bool:
        """``None``, a literal, or a model's class attribute (``Post.author ==
        current_user`` is SQL, comparing keys)."""
        if isinstance(node, cst.Name):
            return node.value == "None"
        if isinstance(node, cst.BaseString | cst.Integer | cst.Float):
            return True
        if isinstance(node, cst.Attribute):
            return bool(qualified_names(self, node.value) & self.state.index.models.keys())
        return False

    def _keeps_db_session(self, function: cst.FunctionDef) -> bool:
        """A synchronous function using ``db.session`` (the ``@user_loader``, a template
        filter...): its objects and ``current_user`` share that session."""
        if function.asynchronous is not None:
            return False
        known = self._on_db_session.get(id(function))
        if known is None:
            known = self._on_db_session[id(function)] = any(
                isinstance(node, cst.Attribute)
                and node.attr.value == "session"
                and self._is_flask_db(node.value)
                for node in _attributes_of(function.body)
            )
        return known

    def _runs_io_on_db_session(self, function: cst.FunctionDef) -> bool:
        """Does the synchronous ``function`` call ``db.session.commit()`` (or other I/O),
        which stays on ``db.session`` there, or build a legacy ``db.session.query()`` the
        2.0 stage left (an ``AsyncSession`` has no ``query()``)? Then its other uses of
        ``db.session``
        (``add()``, ``expunge()``, handing it on) stay too: an object added to
        ``async_session`` would not be in the session it commits."""
        known = self._io_on_db_session.get(id(function))
        if known is None:
            known = self._io_on_db_session[id(function)] = any(
                isinstance(call.func, cst.Attribute)
                and call.func.attr.value in KEEPING_METHODS
                and isinstance(call.func.value, cst.Attribute)
                and call.func.value.attr.value == "session"
                and self._is_flask_db(call.func.value.value)
                for call in _calls_of(function.body)
            )
        return known

    # -- db.session, db.get_or_404(...) ---------------------------------------------------------
    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if self._unknown_dbs_only:
            return updated_node
        if self.user_loader_kept and original_node.attr.value == "current_user":
            self._current_user_use(original_node)
        if original_node.attr.value != "session" or not self._is_flask_db(original_node.value):
            return updated_node
        if self._stays_synchronous(original_node) or self._is_event_target(original_node):
            return updated_node
        self._import_helper(original_node.value, SESSION_NAME)
        self.count_rewrite()
        return cst.Name(SESSION_NAME)

    def _stays_synchronous(self, session: cst.Attribute) -> bool:
        """``db.session.commit()`` in a function that could not become async (it has a
        TODO), or any use of ``db.session`` in a view, hook or CLI command that stays
        synchronous: Flask calls it outside any event loop, where ``async_session``
        (scoped to the running task) cannot be used."""
        function = self.enclosing_function()
        if function is None or self.in_async_def():
            return False
        if _flask_entry_point(self, function) or self._runs_io_on_db_session(function):
            return True
        method = self.get_metadata(ParentNodeProvider, session, None)
        if not isinstance(method, cst.Attribute) or method.attr.value not in SCOPED_REGISTRY_IO:
            return False
        return isinstance(self.get_metadata(ParentNodeProvider, method, None), cst.Call)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        self._unknown_db_io(original_node)
        if self._unknown_dbs_only:
            return updated_node
        db = self._session_event_db(original_node)
        if db is not None:
            self._session_events(original_node, db)
            return updated_node
        if (
            qualified_names(self, original_node.func, ending=RENDER_TEMPLATE_ENDINGS)
            & RENDER_TEMPLATE
        ):
            return self._render_in_greenlet(original_node, updated_node)
        func = original_node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in FLASK_IO_HELPERS
            and self._is_flask_db(func.value)
            and self.get_metadata(ParentNodeProvider, original_node, None) is not None
            and isinstance(self.get_metadata(ParentNodeProvider, original_node), cst.Await)
        ):
            self._import_helper(func.value, func.attr.value)
            self.count_rewrite()
            return updated_node.with_changes(func=cst.Name(func.attr.value))
        return updated_node

    # -- session events on db.session ------------------------------------------------------------
    def _event_function(self, func: cst.BaseExpression) -> str | None:
        """``listen``, ``listens_for``, ``remove``... when ``func`` is a function of
        ``sqlalchemy.event``, however imported or reached (Flask-SQLAlchemy re-exports the
        module as ``db.event``)."""
        for name in qualified_names(self, func):
            if name.startswith("sqlalchemy.event."):
                return name.rpartition(".")[2]
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "event"
            and self._is_flask_db(func.value.value)
        ):
            return func.attr.value
        return None

    def _session_event_db(self, call: cst.Call) -> cst.BaseExpression | None:
        """``db`` of ``event.listen(db.session, ...)`` (any ``sqlalchemy.event`` function
        given a Flask-SQLAlchemy ``db.session`` first)."""
        if not call.args or call.args[0].keyword is not None:
            return None
        target = call.args[0].value
        if not (
            isinstance(target, cst.Attribute)
            and target.attr.value == "session"
            and self._is_flask_db(target.value)
        ):
            return None
        return target.value if self._event_function(call.func) is not None else None

    def _is_event_target(self, session: cst.Attribute) -> bool:
        """Is this ``db.session`` what an ``event`` function is given (which keeps it:
        an ``async_scoped_session`` takes no events)?"""
        arg = self.get_metadata(ParentNodeProvider, session, None)
        if not isinstance(arg, cst.Arg):
            return False
        call = self.get_metadata(ParentNodeProvider, arg, None)
        return (
            isinstance(call, cst.Call)
            and call.args[0] is arg
            and self._session_event_db(call) is not None
        )

    def _session_events_listened(self, db_qualname: str) -> bool:
        """Does the ``async_session`` written beside ``db`` get a ``sync_session_class``
        (some module registers listeners on ``db.session``: the project index records
        ``event.listen`` and ``db.event.listen`` alike)? The module of ``db`` and those
        copying a registration decide it from the same facts."""
        index = self.state.index
        for target in index.event_targets:
            owner, _, attribute = target.rpartition(".")
            if attribute == "session" and index.resolve_alias(owner) == db_qualname:
                return True
        return False

    def _session_events(self, call: cst.Call, db: cst.BaseExpression) -> None:
        """``event.listen(db.session, "before_commit", fn)`` keeps ``db.session`` (the
        sessions request code does not move keep the listener) and is registered again on
        the synchronous sessions of ``async_session``'s AsyncSessions, by a copy the
        statement or decorator holding it gets. A TODO where that cannot be exact."""
        function = self._event_function(call.func)
        if function == "remove":
            self.todo(call, SESSION_EVENTS_OTHER_TODO)
            return
        if function not in EVENT_REGISTRATION_METHODS:
            return
        if any(arg.keyword is not None and arg.keyword.value == "once" for arg in call.args):
            self.todo(call, SESSION_EVENTS_ONCE_TODO)
            return
        qualname = self._db_qualname(db)
        if (
            qualname is None
            or not self._session_events_listened(qualname)
            or not self._stands_alone(call)
        ):
            self.todo(call, SESSION_EVENTS_TODO)
            return
        self._import_helper(db, SESSION_NAME)
        self.registrations_to_copy.add(id(call))

    def _stands_alone(self, call: cst.Call) -> bool:
        """A decorator, or a statement of its own."""
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Decorator):
            return True
        line = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        return (
            isinstance(parent, cst.Expr)
            and isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
        )

    def _on_sync_sessions(self, call: cst.Call) -> cst.Call:
        """``call`` registering on ``async_session.session_factory.kw["sync_session_class"]``."""
        copy = call.deep_clone()
        first = copy.args[0].with_changes(value=cst.parse_expression(SYNC_SESSION_CLASS))
        return copy.with_changes(args=[first, *copy.args[1:]])

    def _registration_copied(self, original: cst.CSTNode, call: cst.Call) -> cst.Call | None:
        """The copy of a registration on ``db.session`` for ``async_session``'s sessions."""
        if id(original) not in self.registrations_to_copy:
            return None
        self.count_rewrite()
        self.note(
            original,
            "this listener is registered on the synchronous sessions of async_session as well "
            "(the sessionmaker given to its async_sessionmaker as sync_session_class)",
        )
        return self._on_sync_sessions(call)

    def _with_decorator_copies(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        """``@event.listens_for(db.session, "before_flush")``, then the same on
        ``async_session``'s synchronous sessions."""
        if len(original.decorators) != len(updated.decorators) or not any(
            id(d.decorator) in self.registrations_to_copy for d in original.decorators
        ):
            return updated
        present = {node_code(decorator.decorator) for decorator in updated.decorators}
        decorators: list[cst.Decorator] = []
        for before, decorator in zip(original.decorators, updated.decorators, strict=True):
            decorators.append(decorator)
            call = decorator.decorator
            if id(before.decorator) not in self.registrations_to_copy:
                continue
            if not isinstance(call, cst.Call) or node_code(self._on_sync_sessions(call)) in present:
                continue
            copy = self._registration_copied(before.decorator, call)
            if copy is not None:
                decorators.append(cst.Decorator(decorator=copy))
        return updated.with_changes(decorators=decorators)

    def _registration_copy_after(
        self, original: cst.CSTNode, statement: cst.CSTNode, following: cst.CSTNode | None
    ) -> list[cst.SimpleStatementLine]:
        """``event.listen(db.session, ...)`` as a statement: the copy after it."""
        before, call = _expression_call(original), _expression_call(statement)
        if before is None or call is None or id(before) not in self.registrations_to_copy:
            return []
        following_call = _expression_call(following) if following is not None else None
        if following_call is not None and node_code(following_call) == node_code(
            self._on_sync_sessions(call)
        ):
            return []
        copy = self._registration_copied(before, call)
        assert copy is not None
        return [cst.SimpleStatementLine(body=[cst.Expr(copy)])]

    def _render_in_greenlet(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``render_template(...)`` in an async view, when templates read attributes that
        run queries (``lazy="dynamic"`` relationships, properties doing I/O, methods they
        call kept synchronous for them):
        ``await render_with_session(render_template, ...)``, which renders inside
        ``async_session().run_sync()``, where those synchronous queries can run."""
        if not self.in_async_def():
            return updated
        if not self._templates_do_io() or in_sync_greenlet(self, original):
            return updated
        self._import_from_db_module(RENDER_HELPER)
        self.count_rewrite()
        return cst.Await(
            expression=updated.with_changes(
                func=cst.Name(RENDER_HELPER),
                args=[cst.Arg(updated.func.deep_clone()), *updated.args],
            )
        )

    def _templates_do_io(self) -> bool:
        plan = plan_of(self.state)
        querying = {q.rpartition(".")[2] for q in plan.blocked}
        querying |= self.state.index.dynamic_relationships()
        return bool(plan.template_reads & querying)

    # -- statements: db.init_app(app), db = SQLAlchemy(...) -------------------------------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if self._unknown_dbs_only:
            return updated_node
        app = self._flask_sqlalchemy_assignment(original_node)
        if app is not None:
            self.db_assignments[id(updated_node)] = (app, original_node)
        if self._changes_current_user(original_node):
            self.todo(
                original_node,
                "current_user was loaded by the synchronous @user_loader into db.session: "
                "committing async_session does not save this change. Change the user "
                "`await async_session.merge(current_user)` gives instead",
            )
        if self._keeps_loaded_object_in_g(original_node):
            self.todo(
                original_node,
                "an object loaded here by this function's own AsyncSession is kept in "
                "flask.g, but that session is closed when the function returns: later "
                "hooks and the view see the object detached (relationships no longer "
                "load, a dynamic one reads nothing). Keep its id in g and load it where "
                "it is used",
            )
        return updated_node

    def _changes_current_user(self, statement: cst.SimpleStatementLine) -> bool:
        """``current_user.last_seen = now``, ``current_user.followed.append(u)`` (or
        ``await current_user.follow(u)``, a method that became async) in async code, where
        Flask-Login's ``current_user`` comes from a ``@user_loader`` that kept the
        synchronous ``db.session``."""
        if not self.user_loader_kept or not self.in_async_def() or len(statement.body) != 1:
            return False
        small = statement.body[0]
        targets: list[cst.BaseExpression]
        if isinstance(small, cst.Assign | cst.AugAssign | cst.AnnAssign):
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
            )
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Await):
            call = small.value.expression
            targets = [call.func] if isinstance(call, cst.Call) else []
        elif (
            isinstance(small, cst.Expr)
            and isinstance(small.value, cst.Call)
            and isinstance(small.value.func, cst.Attribute)
            and small.value.func.attr.value in COLLECTION_MUTATORS
        ):
            # ``current_user.memberships.append(Membership(...))``
            targets = [small.value.func.value]
        else:
            return False
        return any(
            isinstance(t, cst.Attribute) and qualified_names(self, t.value) & CURRENT_USER
            for t in targets
        )

    def _keeps_loaded_object_in_g(self, statement: cst.SimpleStatementLine) -> bool:
        """``g.user = await get_or_404(User, 1)`` (or a name bound so) in async code."""
        if not self.in_async_def() or len(statement.body) != 1:
            return False
        small = statement.body[0]
        if not isinstance(small, cst.Assign | cst.AnnAssign) or small.value is None:
            return False
        targets = (
            [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
        )
        if not any(
            isinstance(t, cst.Attribute)
            and "flask.g" in qualified_names(self, t.value, ending=FLASK_G_ENDINGS)
            for t in targets
        ):
            return False
        value = small.value
        if _awaits(value):
            return True
        function = self.enclosing_function()
        if not isinstance(value, cst.Name) or function is None:
            return False
        return any(_assigns_awaited(s, value.value) for s in simple_statements(function.body))

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if self._unknown_dbs_only:
            return updated_node
        return updated_node.with_changes(
            body=self._after_init_app(original_node.body, updated_node.body)
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._unknown_dbs_only:
            return updated_node
        body = self._after_init_app(original_node.body, updated_node.body)
        body = self._with_helpers(body, updated_node)
        return updated_node.with_changes(body=self._add_imports(body))

    def _after_init_app(self, original: Any, updated: Any) -> list[Any]:
        """``db.init_app(app)`` → the same, then ``init_async_session(app)``; a listener
        registered on ``db.session`` → the same, then registered for ``async_session``."""
        statements = list(updated)
        out: list[Any] = []
        for position, (before, statement) in enumerate(zip(original, statements, strict=True)):
            out.append(statement)
            following = statements[position + 1] if position + 1 < len(statements) else None
            out.extend(self._registration_copy_after(before, statement, following))
            app = self._init_app_argument(statement)
            if app is None:
                continue
            if following is not None and _calls(following, INIT_NAME):
                continue
            db = self._init_app_receiver(before)
            if not self._is_flask_db(db):
                continue
            self._import_helper(db, INIT_NAME)
            self.count_rewrite()
            out.append(
                cst.SimpleStatementLine(
                    body=[cst.Expr(cst.Call(func=cst.Name(INIT_NAME), args=[cst.Arg(app)]))]
                )
            )
        return out

    def _init_app_argument(self, statement: cst.CSTNode) -> cst.BaseExpression | None:
        call = _expression_call(statement)
        if call is None or not call.args:
            return None
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "init_app":
            return call.args[0].value.deep_clone()
        return None

    def _init_app_receiver(self, statement: cst.CSTNode) -> cst.BaseExpression:
        call = _expression_call(statement)
        assert call is not None and isinstance(call.func, cst.Attribute)
        return call.func.value

    def _with_helpers(self, body: list[Any], module: cst.Module) -> list[Any]:
        """Write ``async_session`` and the helpers after ``db = SQLAlchemy(...)``."""
        if any(_defines(statement, SESSION_NAME) for statement in body):
            return body
        for position, statement in enumerate(body):
            found = self.db_assignments.get(id(statement))
            if found is None:
                continue
            app, original = found
            self.note(
                original,
                "views that await async_session run as Flask async views: install flask[async]",
            )
            listened = self._session_events_listened(self._assigned_qualname(original))
            if listened:
                AddImportsVisitor.add_needed_import(self.context, "sqlalchemy.orm", "sessionmaker")
                self.note(
                    original,
                    "async_sessionmaker(sync_session_class=sessionmaker()): the listeners "
                    "registered on db.session are registered on these synchronous sessions of "
                    "async_session as well",
                )
            helpers = self._helpers(module, listened)
            extra: list[Any] = []
            if isinstance(app, cst.BaseExpression):
                extra.append(
                    cst.SimpleStatementLine(
                        body=[cst.Expr(cst.Call(func=cst.Name(INIT_NAME), args=[cst.Arg(app)]))],
                        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
                    )
                )
            for module_name, name in HELPER_IMPORTS:
                AddImportsVisitor.add_needed_import(self.context, module_name, name)
            self.count_rewrite()
            return spaced_top_level(
                [*body[: position + 1], *helpers, *extra, *body[position + 1 :]],
                [*helpers, *extra],
            )
        return body

    def _assigned_qualname(self, statement: cst.CSTNode) -> str:
        """``module.db`` for ``db = SQLAlchemy(...)`` (an assignment
        ``_flask_sqlalchemy_assignment`` accepted)."""
        assert isinstance(statement, cst.SimpleStatementLine)
        assign = statement.body[0]
        target = (
            assign.targets[0].target
            if isinstance(assign, cst.Assign)
            else getattr(assign, "target", None)
        )
        name = target.value if isinstance(target, cst.Name) else ""
        return f"{self.state.module_name}.{name}"

    def _flask_sqlalchemy_assignment(
        self, statement: cst.CSTNode
    ) -> cst.BaseExpression | bool | None:
        """For ``db = SQLAlchemy(app)``: ``app``; ``True`` without an app; else None."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        assign = statement.body[0]
        if not isinstance(assign, cst.Assign | cst.AnnAssign) or not isinstance(
            assign.value, cst.Call
        ):
            return None
        call = assign.value
        made = qualified_names(self, call.func, ending=FLASK_SQLALCHEMY_ENDINGS)
        if not (made & FLASK_SQLALCHEMY or self._makes_db(assign)):
            return None
        for position, arg in enumerate(call.args):
            if (arg.keyword is None and position == 0) or (
                arg.keyword is not None and arg.keyword.value == "app"
            ):
                if not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                    return arg.value.deep_clone()
        return True

    def _makes_db(self, assign: cst.Assign | cst.AnnAssign) -> bool:
        """A module-level ``db = SQLA()`` the index knows for a Flask-SQLAlchemy object (a
        subclass of the extension: Flask-AppBuilder's, or the project's own)."""
        if self.enclosing_function() is not None or self.enclosing_class() is not None:
            return False
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else []
        if isinstance(assign, cst.AnnAssign):
            targets = [assign.target]
        index = self.state.index
        return any(
            isinstance(target, cst.Name)
            and index.kind_of(f"{self.state.module_name}.{target.value}")
            is ObjectKind.FLASK_SQLALCHEMY
            for target in targets
        )

    def _helpers(self, module: cst.Module, listened: bool) -> list[cst.BaseStatement]:
        drivers = "\n".join(
            f'        "{k}": "{v}",' for k, v in sorted(self.state.options.async_drivers.items())
        )
        code = HELPERS_TEMPLATE.format(
            session=SESSION_NAME,
            factory=SESSION_FACTORY_LISTENED if listened else SESSION_FACTORY,
            init=INIT_NAME,
            command=COMMAND_DECORATOR,
            render=RENDER_HELPER,
            drivers=drivers,
        )
        parsed = cst.parse_module(code.lstrip("\n"), config=module.config_for_parsing)
        first, *rest = parsed.body
        assert isinstance(first, cst.SimpleStatementLine)
        first = first.with_changes(
            leading_lines=[cst.EmptyLine(), *parsed.header, *first.leading_lines]
        )
        return [first, *rest]


#: decorators by which Flask itself calls a function (a view, a request hook)
#: decorators of Flask hooks run after the view (``@app.after_request``...)
REQUEST_END_HOOKS = frozenset(
    {
        "after_request",
        "after_app_request",
        "teardown_request",
        "teardown_app_request",
        "teardown_appcontext",
    }
)
FLASK_ENTRY_DECORATORS = REQUEST_END_HOOKS | {
    "route",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "before_request",
    "before_app_request",
    "errorhandler",
    "app_errorhandler",
}


def unknown_db_reason(db: str, where: str) -> str:
    """Why I/O through a Flask-SQLAlchemy object made in ``where`` stays synchronous."""
    return (
        f"{db} is a Flask-SQLAlchemy object made in {where}, not once at module level: "
        "sqla-upgrade writes the async session beside a module-level `db = SQLAlchemy()`, "
        f"so this I/O keeps the synchronous {db}.session. Make `{db} = SQLAlchemy()` "
        f"module level (`{db}.init_app(app)` in the factory) and run again"
    )


def _flask_entry_point(transformer: Any, node: cst.FunctionDef) -> bool:
    """Is ``node`` a view, request hook or CLI command, which Flask calls itself?"""
    if any(decorator_attribute(d.decorator) in FLASK_ENTRY_DECORATORS for d in node.decorators):
        return True
    return flask_cli_command(transformer, node)


def flask_cli_command(transformer: Any, node: cst.FunctionDef) -> bool:
    """Is ``node`` a Flask CLI command (``@app.cli.command()``, or any command under
    ``@with_appcontext``)? Next to a Flask-SQLAlchemy object such a command gets
    ``@async_command`` here, and the await pass leaves it alone (one wrapper, not two)."""
    for decorator in node.decorators:
        target = decorator.decorator
        if qualified_names(transformer, target, ending=WITH_APPCONTEXT_ENDINGS) & WITH_APPCONTEXT:
            return True
        if isinstance(target, cst.Call):
            target = target.func
        if (
            isinstance(target, cst.Attribute)
            and target.attr.value == "command"
            and isinstance(target.value, cst.Attribute)
            and target.value.attr.value == "cli"
        ):
            return True
    return False


def _names_imported(module: cst.Module, qualnames: frozenset[str]) -> frozenset[str]:
    """The names a module's top-level ``from x import y [as z]`` bind to one of
    ``qualnames`` (a name worth resolving with metadata)."""
    found: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.ImportFrom) or small.module is None or small.relative:
                continue
            if isinstance(small.names, cst.ImportStar):
                continue
            source = node_code(small.module)
            for alias in small.names:
                if f"{source}.{node_code(alias.name)}" not in qualnames:
                    continue
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name):
                    found.add(bound.value)
    return frozenset(found)


def _attributes_of(body: cst.CSTNode) -> list[cst.Attribute]:
    """The attribute expressions of a function body, outside nested functions."""
    found: list[cst.Attribute] = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    body.visit(Finder())
    return found


def _calls_of(body: cst.CSTNode) -> list[cst.Call]:
    """The calls of a function body, outside nested functions."""
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    body.visit(Finder())
    return found


def _awaits(node: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Await(self, node: cst.Await) -> bool:
            nonlocal found
            found = True
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    node.visit(Finder())
    return found


def _assigns_awaited(statement: cst.SimpleStatementLine, name: str) -> bool:
    """``name = await ...`` (or ``name: T = await ...``)."""
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
        ):
            return _awaits(small.value)
        if isinstance(small, cst.AnnAssign) and small.value is not None:
            if isinstance(small.target, cst.Name) and small.target.value == name:
                return _awaits(small.value)
    return False


def _expression_call(statement: cst.CSTNode) -> cst.Call | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expression = statement.body[0]
    if isinstance(expression, cst.Expr) and isinstance(expression.value, cst.Call):
        return expression.value
    return None


def _calls(statement: cst.CSTNode, name: str) -> bool:
    call = _expression_call(statement)
    return call is not None and isinstance(call.func, cst.Name) and call.func.value == name


def _defines(statement: cst.CSTNode, name: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    return True
    return False


def _position_of_import(body: list[Any], local: str) -> int | None:
    """Where the top-level ``from ... import <local>`` statement is."""
    for position, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name) and bound.value == local:
                    return position
    return None


def _with_names(statement: cst.SimpleStatementLine, names: set[str]) -> cst.SimpleStatementLine:
    """``from m import db`` + {"async_session"} → ``from m import async_session, db``: each
    name put where it sorts among names kept in order (else last), the statement's own
    layout (wrapping, parentheses, trailing comma) kept."""
    small = statement.body[0]
    assert isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
    present = {alias.name.value for alias in small.names if isinstance(alias.name, cst.Name)}
    missing = sorted(names - present)
    if not missing:
        return statement
    aliases = list(small.names)
    for name in missing:
        aliases = _with_alias(aliases, name)
    return statement.with_changes(body=[small.with_changes(names=aliases)])


def _with_alias(aliases: list[cst.ImportAlias], name: str) -> list[cst.ImportAlias]:
    spelled = [cst.Module([]).code_for_node(a.name) for a in aliases]
    position = len(aliases)
    for key in (str, str.lower):
        if [key(s) for s in spelled] == sorted(key(s) for s in spelled):
            position = next((i for i, s in enumerate(spelled) if key(s) > key(name)), position)
            break
    single_space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if position < len(aliases):
        before = aliases[position - 1] if position > 0 else aliases[0]
        comma = before.comma if isinstance(before.comma, cst.Comma) else single_space
        new = cst.ImportAlias(name=cst.Name(name), comma=comma)
        return [*aliases[:position], new, *aliases[position:]]
    last = aliases[-1]
    separator = aliases[-2].comma if len(aliases) > 1 else single_space
    if not isinstance(separator, cst.Comma):
        separator = single_space
    new = cst.ImportAlias(name=cst.Name(name), comma=last.comma)
    return [*aliases[:-1], last.with_changes(comma=separator), new]
