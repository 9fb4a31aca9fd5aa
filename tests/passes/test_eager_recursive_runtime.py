"""Migrated code walking self-referential relationships recursively never lazy-loads.

A small legacy project walks a four-level tree of nodes: recursive functions (direct and
mutual) reading ``children`` and, on every level, ``owner``; a loop and a recursion
climbing ``parent``; a tree reached through another class; the example of a module with
its own engine and ``sessionmaker``. It is migrated to ``--target async``. The legacy code
runs on a synchronous ``Session``, the migrated code on an ``AsyncSession`` (aiosqlite),
where any lazy load raises ``MissingGreenlet``: both must return the same values.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from sqla_upgrade.api import migrate_project

LEGACY = {
    "forest.models": """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Owner(Base):
            __tablename__ = "er_owners"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))


        class Node(Base):
            __tablename__ = "er_nodes"
            id = Column(Integer, primary_key=True)
            name = Column(String(50))
            parent_id = Column(ForeignKey("er_nodes.id"))
            owner_id = Column(ForeignKey("er_owners.id"))
            parent = relationship("Node", remote_side=[id], back_populates="children")
            children = relationship("Node", back_populates="parent", order_by="Node.id")
            owner = relationship(Owner)


        class Holder(Base):
            __tablename__ = "er_holders"
            id = Column(Integer, primary_key=True)
            label = Column(String(50))
            root_id = Column(ForeignKey("er_nodes.id"))
            root = relationship(Node)
    """,
    "forest.services": """
        from sqlalchemy.orm import Session
        from forest.models import Holder, Node


        def walk(node, depth=0):
            out = [(depth, node.name)]
            for child in node.children:
                out.extend(walk(child, depth + 1))
            return out


        def trees(session: Session):
            roots = session.query(Node).filter(Node.parent_id.is_(None)).order_by(Node.id)
            return [walk(root) for root in roots]


        def described(node):
            return {"name": node.name, "owner": node.owner.name, "below": listed(node)}


        def listed(node):
            return [described(child) for child in node.children]


        def owned(session: Session):
            roots = session.query(Node).filter(Node.parent_id.is_(None)).order_by(Node.id)
            return [described(root) for root in roots.all()]


        def first_level(session: Session):
            root = session.query(Node).filter(Node.parent_id.is_(None)).order_by(Node.id).first()
            return [child.owner.name for child in root.children], walk(root)


        def held(session: Session):
            return [(h.label, walk(h.root)) for h in session.query(Holder).order_by(Holder.id)]


        def subtree(session: Session, node_id):
            return walk(session.query(Node).get(node_id))


        def ancestry(session: Session, name):
            node = session.query(Node).filter_by(name=name).one()
            names = []
            while node is not None:
                names.append((node.name, node.owner.name))
                node = node.parent
            return names


        def root_of(node):
            return root_of(node.parent) if node.parent is not None else node


        def top(session: Session, name):
            node = session.query(Node).filter(Node.name == name).one()
            return root_of(node).name
    """,
    # the example of the report: its own engine, sessionmaker and declarative class
    "forest.example": """
        from sqlalchemy import create_engine, ForeignKey
        from sqlalchemy.orm import sessionmaker, DeclarativeBase, Mapped, mapped_column, relationship
        engine = create_engine("sqlite:///DATABASE")
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
    """,
}

CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("trees", ()),
    ("owned", ()),
    ("first_level", ()),
    ("held", ()),
    ("subtree", (2,)),
    ("ancestry", ("d1",)),
    ("top", ("d2",)),
]


def _sources(database: Path) -> dict[str, str]:
    sources = {name: textwrap.dedent(code).lstrip("\n") for name, code in LEGACY.items()}
    sources["forest.example"] = sources["forest.example"].replace("DATABASE", str(database))
    return sources


def _load(root: Path, sources: dict[str, str]) -> dict[str, types.ModuleType]:
    """Import ``sources`` from ``root``, without leaving them in ``sys.modules`` (the
    legacy and migrated projects share module names)."""
    for name, code in sources.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(code)
    sys.path.insert(0, str(root))
    try:
        return {name: importlib.import_module(name) for name in sources}
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "forest" or m.startswith("forest.")]:
            del sys.modules[name]


def _seed(session: Session, models: Any) -> None:
    """Two trees, four levels deep below the first root."""
    ann, bob = models.Owner(name="ann"), models.Owner(name="bob")
    root = models.Node(id=1, name="root", owner=ann)
    a1 = models.Node(id=2, name="a1", parent=root, owner=bob)
    b1 = models.Node(id=3, name="b1", parent=a1, owner=ann)
    c1 = models.Node(id=4, name="c1", parent=b1, owner=bob)
    models.Node(id=5, name="d1", parent=c1, owner=ann)
    models.Node(id=6, name="d2", parent=c1, owner=ann)
    models.Node(id=7, name="a2", parent=root, owner=ann)
    other = models.Node(id=8, name="other", owner=bob)
    models.Node(id=9, name="o1", parent=other, owner=bob)
    session.add_all([root, other, models.Holder(id=1, label="h", root=a1)])
    session.commit()


def _seed_example(session: Session, example: Any) -> None:
    root = example.Node(id=1, name="top")
    level = root
    for depth in range(1, 5):
        level = example.Node(id=depth + 1, name=f"level{depth}", parent_id=level.id)
        session.add(level)
    session.add_all([root, example.Node(id=10, name="side", parent_id=1)])
    session.commit()


async def _run_migrated(url: str, modules: dict[str, types.ModuleType]) -> list[Any]:
    engine = create_async_engine(url)
    results = []
    try:
        for function, args in CALLS:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                results.append(await getattr(modules["forest.services"], function)(session, *args))
        example = modules["forest.example"]
        results.append(await example.tree())
        await example.engine.dispose()
    finally:
        await engine.dispose()
    return results


def test_recursive_walks_load_every_level_and_return_what_legacy_did(tmp_path: Path) -> None:
    database = tmp_path / "example.db"
    sources = _sources(database)
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    services = migrated["forest.services"]
    assert services.count("recursion_depth=-1") == 7, services
    assert "selectinload(Node.children, recursion_depth=-1).joinedload(Node.owner)" in services
    assert "selectinload(Node.parent, recursion_depth=-1).joinedload(Node.owner)" in services
    assert "selectinload(Node.children, recursion_depth=-1)" in migrated["forest.example"]
    assert "join_depth" not in migrated["forest.models"] + migrated["forest.example"]
    assert "TODO(sqla-upgrade)" not in "".join(migrated.values())
    legacy_modules = _load(tmp_path / "legacy", sources)
    migrated_modules = _load(tmp_path / "migrated", migrated)

    url = tmp_path / "forest.db"
    engine = create_engine(f"sqlite:///{url}")
    try:
        models = legacy_modules["forest.models"]
        models.Base.metadata.create_all(engine)
        with Session(engine) as session:
            _seed(session, models)
        example = legacy_modules["forest.example"]
        example.Base.metadata.create_all(example.engine)
        with example.Session() as session:
            _seed_example(session, example)
        expected = []
        for function, args in CALLS:
            with Session(engine) as session:
                expected.append(
                    getattr(legacy_modules["forest.services"], function)(session, *args)
                )
        expected.append(example.tree())
        example.engine.dispose()
    finally:
        engine.dispose()
    actual = asyncio.run(_run_migrated(f"sqlite+aiosqlite:///{url}", migrated_modules))
    assert actual == expected
    trees = expected[0]
    assert (4, "d1") in trees[0] and (4, "d2") in trees[0]
    assert expected[5] == [
        ("d1", "ann"),
        ("c1", "bob"),
        ("b1", "ann"),
        ("a1", "bob"),
        ("root", "ann"),
    ]
    assert expected[6] == "root"
    assert max(depth for depth, _ in expected[-1][0]) == 4
