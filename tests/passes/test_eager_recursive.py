"""eager-options and eager-relationships: recursive walks of self-referential relationships.

A function reading ``node.children`` and calling itself (directly or through others) on
the children, a loop ``while node: node = node.parent``, read every level of the
relationship: the statement producing the objects gets
``selectinload(Node.children, recursion_depth=-1)`` (what each level reads chained after
it), the relationship is left alone. A walk whose statement is unknown keeps the
relationship-level ``lazy="selectin", join_depth=1`` with its note, and gets a TODO.
"""

from __future__ import annotations

import textwrap

from sqla_upgrade.api import migrate_project
from tests.harness import check_project

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()


    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        name = Column(String)


    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        parent_id = Column(ForeignKey("nodes.id"))
        owner_id = Column(ForeignKey("owners.id"))
        parent = relationship("Node", remote_side=[id], back_populates="children")
        children = relationship("Node", back_populates="parent")
        owner = relationship(Owner)


    class Holder(Base):
        __tablename__ = "holders"
        id = Column(Integer, primary_key=True)
        root_id = Column(ForeignKey("nodes.id"))
        root = relationship(Node)


    class Folder(Base):
        __tablename__ = "folders"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        items = relationship("Item", back_populates="folder")


    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String)
        folder_id = Column(ForeignKey("folders.id"))
        folder = relationship(Folder, back_populates="items")
"""

#: the models as eager-relationships leaves them when a walk of ``children`` has no
#: known statement
MODELS_CHILDREN_EAGER = MODELS.replace(
    'children = relationship("Node", back_populates="parent")',
    'children = relationship("Node", back_populates="parent", lazy="selectin", join_depth=1)',
)

ONE_LEVEL = "children is loaded one level deep with its objects (join_depth=1)"
UNKNOWN_WALK = "children is walked recursively on objects whose query is not known here"

#: the example of the report: a module with its own engine, sessionmaker and model
EXAMPLE = """
    from sqlalchemy import create_engine, ForeignKey
    from sqlalchemy.orm import sessionmaker, DeclarativeBase, Mapped, mapped_column, relationship
    engine = create_engine("sqlite:///x.db")
    Session = sessionmaker(engine)
    class Base(DeclarativeBase): pass
    class Node(Base):
        __tablename__ = "nodes"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id = mapped_column(ForeignKey("nodes.id"), nullable=True)
        name: Mapped[str]
        children = relationship("Node")
    def walk(node, depth=0):
        out = [(depth, node.name)]
        for child in node.children:
            out.extend(walk(child, depth + 1))
        return out
    def tree():
        with Session() as session:
            roots = session.query(Node).filter(Node.parent_id.is_(None)).all()
            return [walk(r) for r in roots]
"""


def _notes(sources: dict[str, str]) -> dict[str, list[str]]:
    result = migrate_project(
        {name: textwrap.dedent(code).lstrip("\n") for name, code in sources.items()},
        target="async",
    )
    return {name: [n.message for n in m.notes] for name, m in result.items()}


# -- walks whose statement is known ---------------------------------------------------------


def test_a_recursive_walk_loads_every_level_with_its_statement() -> None:
    """The example of the report: a module with its own engine, sessionmaker and model;
    ``walk`` calls itself on each child of what it is given."""
    check_project(
        {"app.tree": EXAMPLE},
        {
            "app.tree": """
                from sqlalchemy import select, ForeignKey
                from sqlalchemy.orm import selectinload, DeclarativeBase, Mapped, mapped_column, relationship
                from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

                engine = create_async_engine("sqlite+aiosqlite:///x.db")
                Session = async_sessionmaker(engine, expire_on_commit=False)
                class Base(DeclarativeBase): pass
                class Node(Base):
                    __tablename__ = "nodes"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    parent_id = mapped_column(ForeignKey("nodes.id"), nullable=True)
                    name: Mapped[str]
                    children = relationship("Node")
                def walk(node, depth=0):
                    out = [(depth, node.name)]
                    for child in node.children:
                        out.extend(walk(child, depth + 1))
                    return out
                async def tree():
                    async with Session() as session:
                        roots = (await session.scalars(select(Node).where(Node.parent_id.is_(None)).options(selectinload(Node.children, recursion_depth=-1)))).all()
                        return [walk(r) for r in roots]
            """,
        },
    )
    assert _notes({"app.tree": EXAMPLE}) == {"app.tree": []}


def test_a_loop_and_a_recursion_climbing_parent_load_every_ancestor() -> None:
    """``while node: node = node.parent`` reading ``owner`` on each level; a recursion
    returning the root, on what ``session.get()`` gives."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Node


                def ancestry(session: Session, name):
                    node = session.query(Node).filter_by(name=name).one()
                    names = []
                    while node is not None:
                        names.append((node.name, node.owner.name))
                        node = node.parent
                    return names


                def root_of(node):
                    return root_of(node.parent) if node.parent is not None else node


                def top(session: Session, node_id):
                    return root_of(session.query(Node).get(node_id)).name
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Node
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def ancestry(session: AsyncSession, name):
                    node = (await session.scalars(select(Node).filter_by(name=name).options(
                        joinedload(Node.owner),
                        selectinload(Node.parent, recursion_depth=-1).joinedload(Node.owner),
                    ))).one()
                    names = []
                    while node is not None:
                        names.append((node.name, node.owner.name))
                        node = node.parent
                    return names


                def root_of(node):
                    return root_of(node.parent) if node.parent is not None else node


                async def top(session: AsyncSession, node_id):
                    return root_of(await session.get(Node, node_id, options=[selectinload(Node.parent, recursion_depth=-1)])).name
            """,
        },
    )


def test_mutual_recursion_through_another_class_and_reads_on_every_level() -> None:
    """``described`` and ``listed`` call each other; the tree hangs off another class;
    ``owner`` is read on every level, the root's included."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Holder


                def described(node):
                    return {"name": node.name, "owner": node.owner.name, "below": listed(node)}


                def listed(node):
                    return [described(child) for child in node.children]


                def held(session: Session):
                    return [described(h.root) for h in session.query(Holder).all()]
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Node, Holder
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                def described(node):
                    return {"name": node.name, "owner": node.owner.name, "below": listed(node)}


                def listed(node):
                    return [described(child) for child in node.children]


                async def held(session: AsyncSession):
                    return [described(h.root) for h in (await session.scalars(select(Holder).options(
                        joinedload(Holder.root).selectinload(Node.children, recursion_depth=-1).joinedload(Node.owner),
                        joinedload(Holder.root).joinedload(Node.owner),
                    ))).all()]
            """,
        },
    )


def test_a_generator_walking_a_backref_and_a_first_level_read_beside_a_walk() -> None:
    """A self-referential relationship declared by a backref, walked by a generator; the
    first level's ``owner`` read beside a walk of every level is loaded on every level
    (two options for ``children``, one recursive, would conflict)."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Owner(Base):
            __tablename__ = "owners"
            id = Column(Integer, primary_key=True)
            name = Column(String)


        class Category(Base):
            __tablename__ = "categories"
            id = Column(Integer, primary_key=True)
            name = Column(String)
            parent_id = Column(ForeignKey("categories.id"))
            owner_id = Column(ForeignKey("owners.id"))
            parent = relationship("Category", remote_side=[id], backref="subcategories")
            owner = relationship(Owner)
    """
    check_project(
        {
            "app.models": models,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Category


                def names(category):
                    yield category.name
                    for sub in category.subcategories:
                        yield from names(sub)


                def overview(session: Session):
                    top = session.query(Category).filter(Category.parent_id.is_(None)).first()
                    return [s.owner.name for s in top.subcategories], list(names(top))
            """,
        },
        {
            "app.models": models,
            "app.views": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Category
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                def names(category):
                    yield category.name
                    for sub in category.subcategories:
                        yield from names(sub)


                async def overview(session: AsyncSession):
                    top = (await session.scalars(select(Category).where(Category.parent_id.is_(None)).limit(1).options(
                        selectinload(Category.subcategories, recursion_depth=-1).joinedload(Category.owner),
                    ))).first()
                    return [s.owner.name for s in top.subcategories], list(names(top))
            """,
        },
    )


def test_what_a_walk_reads_is_chained_after_the_statements_own_recursive_option() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import selectinload
                from app.models import Node


                def walk(node):
                    return [node.name, node.owner.name, [walk(c) for c in node.children]]


                async def forest(session: AsyncSession):
                    roots = select(Node).options(selectinload(Node.children, recursion_depth=-1))
                    return [walk(r) for r in await session.scalars(roots)]
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Node


                def walk(node):
                    return [node.name, node.owner.name, [walk(c) for c in node.children]]


                async def forest(session: AsyncSession):
                    roots = select(Node).options(selectinload(Node.children, recursion_depth=-1))
                    return [walk(r) for r in await session.scalars(roots.options(
                        selectinload(Node.children, recursion_depth=-1).joinedload(Node.owner),
                        joinedload(Node.owner),
                    ))]
            """,
        },
    )


# -- walks whose statement is not known -------------------------------------------------------


def test_a_walk_on_objects_of_an_unknown_query_keeps_join_depth_with_a_note_and_a_todo() -> None:
    """``show`` is called from outside the project: its objects' query is unknown; the
    query ``forest`` runs still loads every level."""
    sources = {
        "app.models": MODELS,
        "app.views": """
            from sqlalchemy.orm import Session
            from app.models import Node


            def walk(node, depth=0):
                out = [(depth, node.name)]
                for child in node.children:
                    out.extend(walk(child, depth + 1))
                return out


            def forest(session: Session):
                return [walk(n) for n in session.query(Node).filter(Node.parent_id.is_(None))]


            def show(node):
                return walk(node)
        """,
    }
    check_project(
        sources,
        {
            "app.models": MODELS_CHILDREN_EAGER,
            "app.views": """
                from sqlalchemy.orm import selectinload
                from app.models import Node
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                def walk(node, depth=0):
                    out = [(depth, node.name)]
                    # TODO(sqla-upgrade): children is walked recursively on objects whose query is not known here: under asyncio the levels below the first raise MissingGreenlet; give that query .options(selectinload(Node.children, recursion_depth=-1))
                    for child in node.children:
                        out.extend(walk(child, depth + 1))
                    return out


                async def forest(session: AsyncSession):
                    return [walk(n) for n in await session.scalars(select(Node).where(Node.parent_id.is_(None)).options(selectinload(Node.children, recursion_depth=-1)))]


                def show(node):
                    return walk(node)
            """,
        },
        todos=[UNKNOWN_WALK],
    )
    notes = _notes(sources)["app.models"]
    assert any(
        ONE_LEVEL in n and "selectinload(Node.children, recursion_depth=-1)" in n for n in notes
    ), notes


def test_walks_called_from_nowhere_in_the_project_get_a_todo() -> None:
    """A loop climbing a parameter's ``parent``, and two functions walking ``children``
    through each other, none of them called in the project."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                def ancestry(node):
                    names = []
                    while node is not None:
                        names.append(node.name)
                        node = node.parent
                    return names


                def walk_a(node):
                    return [node.name, [walk_b(c) for c in node.children]]


                def walk_b(node):
                    return [node.name, [walk_a(c) for c in node.children]]
            """,
        },
        {
            "app.models": MODELS_CHILDREN_EAGER.replace(
                'back_populates="children")',
                'back_populates="children", lazy="selectin", join_depth=1)',
            ),
            "app.views": """
                def ancestry(node):
                    names = []
                    while node is not None:
                        names.append(node.name)
                        # TODO(sqla-upgrade): parent is walked recursively on objects whose query is not known here: under asyncio the levels below the first raise MissingGreenlet; give that query .options(selectinload(Node.parent, recursion_depth=-1))
                        node = node.parent
                    return names


                def walk_a(node):
                    # TODO(sqla-upgrade): children is walked recursively on objects whose query is not known here: under asyncio the levels below the first raise MissingGreenlet; give that query .options(selectinload(Node.children, recursion_depth=-1))
                    return [node.name, [walk_b(c) for c in node.children]]


                def walk_b(node):
                    # TODO(sqla-upgrade): children is walked recursively on objects whose query is not known here: under asyncio the levels below the first raise MissingGreenlet; give that query .options(selectinload(Node.children, recursion_depth=-1))
                    return [node.name, [walk_a(c) for c in node.children]]
            """,
        },
        todos=[UNKNOWN_WALK, "parent is walked recursively"],
    )


def test_a_statement_with_its_own_option_for_the_walked_relationship_gets_a_todo() -> None:
    """SQLAlchemy refuses a recursive option beside another one for the same
    relationship: the statement's ``selectinload(Node.children)`` (one level) stays,
    with a TODO."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import selectinload
                from app.models import Node


                def walk(node):
                    return [node.name, [walk(c) for c in node.children]]


                async def forest(session: AsyncSession):
                    roots = await session.scalars(select(Node).options(selectinload(Node.children)))
                    return [walk(r) for r in roots]
            """,
        },
        {
            "app.models": MODELS_CHILDREN_EAGER,
            "app.views": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import selectinload
                from app.models import Node


                def walk(node):
                    return [node.name, [walk(c) for c in node.children]]


                async def forest(session: AsyncSession):
                    # TODO(sqla-upgrade): children is walked recursively on these objects: every level must load, but the statement's own loader option for Node.children decides otherwise (MissingGreenlet under asyncio below it): replace it with selectinload(Node.children, recursion_depth=-1)
                    roots = await session.scalars(select(Node).options(selectinload(Node.children)))
                    return [walk(r) for r in roots]
            """,
        },
        todos=["the statement's own loader option for Node.children"],
    )


# -- no recursive option ------------------------------------------------------------------------


def test_reads_of_a_self_referential_relationship_without_a_walk_get_plain_options() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Node


                def describe(node):
                    parent = node.parent.name if node.parent else None
                    return [node.name, parent, [c.name for c in node.children]]


                def listing(session: Session):
                    return [describe(n) for n in session.query(Node).all()]


                def grandchildren(session: Session, node_id):
                    node = session.query(Node).get(node_id)
                    return [g.name for c in node.children for g in c.children]
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import Node
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                def describe(node):
                    parent = node.parent.name if node.parent else None
                    return [node.name, parent, [c.name for c in node.children]]


                async def listing(session: AsyncSession):
                    return [describe(n) for n in (await session.scalars(select(Node).options(
                        selectinload(Node.children),
                        joinedload(Node.parent),
                    ))).all()]


                async def grandchildren(session: AsyncSession, node_id):
                    node = await session.get(Node, node_id, options=[selectinload(Node.children).selectinload(Node.children)])
                    return [g.name for c in node.children for g in c.children]
            """,
        },
    )


def test_a_recursion_changing_class_gets_plain_options() -> None:
    """``render`` calls itself on a folder's items, which are no folders: one level of
    a relationship that is not self-referential (``recursion_depth`` would be refused)."""
    check_project(
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Folder


                def render(thing, depth=0):
                    if isinstance(thing, Folder):
                        return [render(item, depth + 1) for item in thing.items]
                    return (depth, thing.name)


                def listing(session: Session):
                    return [render(f) for f in session.query(Folder).all()]
            """,
        },
        {
            "app.models": MODELS,
            "app.views": """
                from sqlalchemy.orm import selectinload
                from app.models import Folder
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                def render(thing, depth=0):
                    if isinstance(thing, Folder):
                        return [render(item, depth + 1) for item in thing.items]
                    return (depth, thing.name)


                async def listing(session: AsyncSession):
                    return [render(f) for f in (await session.scalars(select(Folder).options(selectinload(Folder.items)))).all()]
            """,
        },
    )


def _unchanged(views: str, models: str = MODELS) -> None:
    """The project (with its every module analysed) comes out as it went in, with no
    note."""
    sources = {"app.models": models, "app.views": views}
    check_project(sources, sources)
    assert _notes(sources) == {"app.models": [], "app.views": []}


def test_a_recursion_over_plain_dicts_changes_nothing() -> None:
    _unchanged(
        """
        import json


        def walk(data, depth=0):
            out = [(depth, data["name"])]
            for child in data["children"]:
                out.extend(walk(child, depth + 1))
            return out


        def tree(path):
            with open(path) as f:
                return walk(json.load(f))


        def count(node: dict) -> int:
            return 1 + sum(count(c) for c in node.get("children", []))
        """
    )


def test_walks_already_loading_every_level_are_left_alone() -> None:
    """The migrated code of walks (a second run); a relationship that never loads
    (``noload``), which no option changes."""
    _unchanged(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import joinedload, selectinload
        from app.models import Node


        def walk(node):
            return [node.name, node.owner.name, [walk(c) for c in node.children]]


        async def forest(session: AsyncSession):
            stmt = select(Node).options(
                selectinload(Node.children, recursion_depth=-1).joinedload(Node.owner),
                joinedload(Node.owner),
            )
            return [walk(r) for r in await session.scalars(stmt)]


        def ancestry(node):
            names = []
            while node is not None:
                names.append(node.name)
                node = node.parent
            return names


        async def climb(session: AsyncSession, name):
            stmt = select(Node).where(Node.name == name)
            node = (await session.scalars(stmt.options(selectinload(Node.parent, recursion_depth=-1)))).one()
            return ancestry(node)
        """
    )
    _unchanged(
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Node


        def walk(node):
            return [node.name, [walk(c) for c in node.children]]


        async def forest(session: AsyncSession):
            return [walk(r) for r in await session.scalars(select(Node))]
        """,
        MODELS.replace(
            'children = relationship("Node", back_populates="parent")',
            'children = relationship("Node", back_populates="parent", lazy="noload")',
        ),
    )
