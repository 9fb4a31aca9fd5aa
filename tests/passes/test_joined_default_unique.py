"""Models whose relationships load with a join by default (``lazy="joined"``): legacy
``Query`` de-duplicated the rows a joined collection repeats; 2.0 refuses to read them
without ``Result.unique()`` ("The unique() method must be invoked on this Result")."""

from __future__ import annotations

import warnings

import pytest

from tests.harness import check_noop, check_transformed, exec_module

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import backref, declarative_base, relationship

Base = declarative_base()


class Owner(Base):
    __tablename__ = "owners"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    pets = relationship("Pet", lazy="joined")


class Pet(Base):
    __tablename__ = "pets"
    id = Column(Integer, primary_key=True)
    owner_id = Column(ForeignKey("owners.id"))
    name = Column(String(50))
    owner = relationship("Owner", lazy="joined")


class Shelf(Base):
    __tablename__ = "shelves"
    id = Column(Integer, primary_key=True)
    books = relationship("Book", backref=backref("shelf", lazy="joined"))


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    shelf_id = Column(ForeignKey("shelves.id"))


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    items = relationship("Item", lazy=False)


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    tag_id = Column(ForeignKey("tags.id"))


class Folder(Base):
    __tablename__ = "folders"
    id = Column(Integer, primary_key=True)
    files = relationship("File", lazy="selectin")
    parent_id = Column(ForeignKey("folders.id"))


class File(Base):
    __tablename__ = "files"
    id = Column(Integer, primary_key=True)
    folder_id = Column(ForeignKey("folders.id"))
    folder = relationship("Folder", lazy="joined")
"""

PROJECT = {"app.models": MODELS}
HEAD = "from sqlalchemy.orm import Session\nfrom app.models import Owner, Pet, Book, Shelf, Item, Tag, File, Folder\n\n\n"
HEAD_AFTER = (
    "from sqlalchemy.orm import Session\nfrom app.models import Owner, Pet, Book, Shelf, Item, Tag, File, Folder\n"
    "from sqlalchemy import select\n\n\n"
)


def _check(body: str, expected: str) -> None:
    check_transformed(HEAD + body, HEAD_AFTER + expected, project=PROJECT, module_name="app.views")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(session: Session):\n    return session.query(Owner).filter(Owner.name == 'a').all()\n",
            "def f(session: Session):\n    return session.scalars(select(Owner).where(Owner.name == 'a')).unique().all()\n",
            id="joined_collection_all",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(Owner).first()\n",
            "def f(session: Session):\n    return session.scalars(select(Owner).limit(1)).first()\n",
            id="joined_collection_first",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(Pet).all()\n",
            "def f(session: Session):\n    return session.scalars(select(Pet)).unique().all()\n",
            id="many_to_one_whose_target_joins_a_collection",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(Shelf).all()\n",
            "def f(session: Session):\n    return session.scalars(select(Shelf)).all()\n",
            id="joined_backref_is_on_the_other_side",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(Book).all()\n",
            "def f(session: Session):\n    return session.scalars(select(Book)).all()\n",
            id="joined_many_to_one_backref_loads_no_collection",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(File).all()\n",
            "def f(session: Session):\n    return session.scalars(select(File)).all()\n",
            id="joined_many_to_one_to_a_selectin_collection",
        ),
        pytest.param(
            "def f(session: Session):\n    return session.query(Owner).one()\n",
            "def f(session: Session):\n    return session.scalars(select(Owner)).unique().one()\n",
            id="joined_collection_one",
        ),
    ],
)
def test_rows_of_models_joining_a_collection_by_default_are_made_unique(
    body: str, expected: str
) -> None:
    _check(body, expected)


def test_lazy_false_is_joined_loading() -> None:
    _check(
        "def f(session: Session):\n    return session.query(Tag).all()\n",
        "def f(session: Session):\n    return session.scalars(select(Tag)).unique().all()\n",
    )
    _check(
        "def f(session: Session):\n    return session.query(Item).all()\n",
        "def f(session: Session):\n    return session.scalars(select(Item)).all()\n",
    )


def test_counting_and_get_need_no_unique() -> None:
    check_transformed(
        HEAD
        + "def f(session: Session):\n    return session.query(Owner).count(), session.query(Owner).get(1)\n",
        HEAD_AFTER.replace("import select", "import func, select") + "def f(session: Session):\n"
        "    return session.scalar(select(func.count()).select_from(select(Owner).subquery())), "
        "session.get(Owner, 1)\n",
        project=PROJECT,
        module_name="app.views",
    )


def test_models_outside_the_index_are_left_as_before() -> None:
    check_noop(
        "from sqlalchemy.orm import Session\n\n"
        "def f(session: Session, Model):\n    return len(Model.__name__)\n",
        project=PROJECT,
        module_name="app.views",
    )


RUNNABLE = (
    MODELS.replace("from sqlalchemy import", "from sqlalchemy import create_engine, select,")
    + """
from sqlalchemy.orm import Session

engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
with Session(engine) as setup:
    setup.add_all([Owner(name="a", pets=[Pet(name="x"), Pet(name="y")]), Owner(name="b")])
    setup.commit()


def owners():
    with Session(engine) as session:
        return sorted((o.name, sorted(p.name for p in o.pets)) for o in QUERY_OWNERS)


def pets():
    with Session(engine) as session:
        return sorted((p.name, p.owner.name) for p in QUERY_PETS)


def first_owner():
    with Session(engine) as session:
        owner = session.query(Owner).order_by(Owner.id).first()
        return owner.name, sorted(p.name for p in owner.pets)
"""
)


def test_migrated_queries_read_the_same_rows_as_legacy() -> None:
    legacy = RUNNABLE.replace("QUERY_OWNERS", "session.query(Owner).all()").replace(
        "QUERY_PETS", "session.query(Pet).all()"
    )
    from sqla_upgrade.api import migrate_source

    migrated = migrate_source(legacy, target="2.0", module_name="app.models").code
    assert ".unique().all()" in migrated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = exec_module(legacy)
        expected = (before.owners(), before.pets(), before.first_owner())
    after = exec_module(migrated)
    assert (after.owners(), after.pets(), after.first_owner()) == expected
    assert expected[0] == [("a", ["x", "y"]), ("b", [])]
