"""``self.model`` naming a mapped class through a class attribute: repository classes
(``class UserRepo(BaseRepo): model = User``) and managers (``user_model = User``) query
``self.session.query(self.model)``. When every binding of the attribute in the class, the
base it inherits it from and its subclasses is a mapped class (``None`` placeholders
aside), the query selects an entity (``session.scalars``); otherwise it stays with a TODO.
"""

from __future__ import annotations

import re

import pytest

from tests.harness import check_transformed, exec_module

MODELS = """\
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))


class Role(Base):
    __tablename__ = "roles"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))


class Owner(Base):
    __tablename__ = "owners"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    pets = relationship("Pet", lazy="joined")


class Pet(Base):
    __tablename__ = "pets"
    id = Column(Integer, primary_key=True)
    owner_id = Column(ForeignKey("owners.id"))


audit = Table("audit", Base.metadata, Column("id", Integer, primary_key=True))
"""

PROJECT = {"app.models": MODELS}
HEAD = "from app.models import User, Role, Owner, Pet, audit\n"
HEAD_AFTER = "from app.models import User, Role, Owner, Pet, audit\nfrom sqlalchemy import select\n"

REPOSITORIES = """

class BaseRepo:
    model = None

    def __init__(self, session):
        self.session = session

    def all(self):
        return self.session.query(self.model).order_by(self.model.id).all()

    @classmethod
    def first(cls, session):
        return session.query(cls.model).first()


class UserRepo(BaseRepo):
    model = User
"""
REPOSITORIES_AFTER = """

class BaseRepo:
    model = None

    def __init__(self, session):
        self.session = session

    def all(self):
        return self.session.scalars(select(self.model).order_by(self.model.id)).all()

    @classmethod
    def first(cls, session):
        return session.scalars(select(cls.model).limit(1)).first()


class UserRepo(BaseRepo):
    model = User
"""


def _check(body: str, expected: str, todos: tuple[str, ...] = ()) -> None:
    check_transformed(HEAD + body, expected, project=PROJECT, module_name="app.repos", todos=todos)


def test_base_class_placeholder_bound_to_models_by_subclasses() -> None:
    # with several models, the rows are made unique as soon as a model of the project
    # join-loads a collection by default (Owner does): unique() of rows that hold no
    # duplicates changes nothing
    _check(
        REPOSITORIES + "\n\nclass RoleRepo(BaseRepo):\n    model = Role\n",
        HEAD_AFTER
        + REPOSITORIES_AFTER.replace(
            ".order_by(self.model.id)).all()", ".order_by(self.model.id)).unique().all()"
        )
        + "\n\nclass RoleRepo(BaseRepo):\n    model = Role\n",
    )


def test_attribute_of_the_class_itself() -> None:
    _check(
        "\n\nclass Manager:\n    user_model = User\n\n"
        "    def find(self, session, name):\n"
        "        return session.query(self.user_model).filter_by(name=name).one_or_none()\n",
        HEAD_AFTER + "\n\nclass Manager:\n    user_model = User\n\n"
        "    def find(self, session, name):\n"
        "        return session.scalars(select(self.user_model).filter_by(name=name))"
        ".one_or_none()\n",
    )


def test_single_model_joining_a_collection_gets_unique() -> None:
    _check(
        "\n\nclass Owners:\n    model = Owner\n\n"
        "    def all(self, session):\n        return session.query(self.model).all()\n",
        HEAD_AFTER + "\n\nclass Owners:\n    model = Owner\n\n"
        "    def all(self, session):\n"
        "        return session.scalars(select(self.model)).unique().all()\n",
    )


UNKNOWN = "cannot tell whether {} is a mapped class or a column expression"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param(
            "class Repo:\n    def __init__(self, session, model):\n"
            "        self.session = session\n        self.model = model\n\n"
            "    def all(self):\n        return self.session.query(self.model).all()\n",
            "self.model",
            id="assigned_in_a_method",
        ),
        pytest.param(
            REPOSITORIES.lstrip("\n") + "\n\nclass Audit(BaseRepo):\n    model = audit\n",
            "self.model",
            id="a_subclass_binds_a_table",
        ),
        pytest.param(
            REPOSITORIES.lstrip("\n") + "\n\nclass Odd(BaseRepo):\n"
            "    def model(self):\n        return User\n",
            "self.model",
            id="a_subclass_defines_a_method",
        ),
        pytest.param(
            REPOSITORIES.lstrip("\n") + "\n\nclass Reset(UserRepo):\n"
            "    def __init__(self, session):\n        super().__init__(session)\n"
            "        self.model = Role\n",
            "self.model",
            id="a_subclass_assigns_it_on_the_instance",
        ),
        pytest.param(
            REPOSITORIES.lstrip("\n") + "\n\nclass Owners(BaseRepo):\n    model = Owner\n",
            "self.model",
            id="one_of_several_models_needs_unique",
        ),
        pytest.param(
            "class Repo:\n    model = None\n\n"
            "    def all(self, session):\n        return session.query(self.model).all()\n",
            "self.model",
            id="never_bound_to_a_model",
        ),
        pytest.param(
            "class Repo:\n    model = User\n\n"
            "    def all(self, session):\n"
            "        def run():\n            return session.query(self.model).all()\n"
            "        return run()\n",
            "self.model",
            id="read_in_a_nested_function",
        ),
        pytest.param(
            "class Repo:\n    model = User\n\n"
            "    @staticmethod\n"
            "    def all(self, session):\n        return session.query(self.model).all()\n",
            "self.model",
            id="static_method",
        ),
    ],
)
def test_other_bindings_keep_the_todo(body: str, text: str) -> None:
    source = HEAD + "\n\n" + body
    result = check_transformed(
        source,
        _with_todos(source),
        project=PROJECT,
        module_name="app.repos",
        todos=(UNKNOWN.format(text),),
    )
    assert "select(" not in result.code


def _with_todos(source: str) -> str:
    """``source`` with the TODO above each ``query(x.y)``."""
    out = []
    for line in source.splitlines(keepends=True):
        found = re.search(r"query\((\w+\.\w+)\)", line)
        if found:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# TODO(sqla-upgrade): {UNKNOWN.format(found.group(1))}\n")
        out.append(line)
    return "".join(out)


RUNNABLE = (
    MODELS
    + """
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
"""
    + REPOSITORIES.replace("class BaseRepo:", "class BaseRepo:  # noqa")
    + """

class RoleRepo(BaseRepo):
    model = Role


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
with Session(engine) as setup:
    setup.add_all([User(name="b"), User(name="a"), Role(name="admin")])
    setup.commit()


def run():
    with Session(engine) as session:
        users = [u.name for u in UserRepo(session).all()]
        roles = [r.name for r in RoleRepo(session).all()]
        first = RoleRepo.first(session).name
        return users, roles, first
"""
)


def test_migrated_repositories_read_the_same_objects() -> None:
    from sqla_upgrade.api import migrate_source

    migrated = migrate_source(RUNNABLE, target="2.0", module_name="app.models").code
    assert "select(self.model)" in migrated and "select(cls.model)" in migrated
    assert (
        exec_module(migrated).run()
        == exec_module(RUNNABLE).run()
        == (
            ["b", "a"],
            ["admin"],
            "admin",
        )
    )


AS_DECLARATIVE_MODELS = """\
from sqlalchemy import Column, Integer, String
from sqlalchemy.ext.declarative import as_declarative


@as_declarative(name="Model")
class Model:
    pass


class Group(Model):
    __tablename__ = "groups"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
"""


def test_models_of_an_as_declarative_base_are_known() -> None:
    # Flask-AppBuilder's ``@as_declarative(name="Model") class Model``: its subclasses are
    # mapped, so queries of them select entities
    check_transformed(
        "from app.base import Group\n\n\nclass Groups:\n    model = Group\n\n"
        "    def names(self, session):\n"
        "        return [g.name for g in session.query(self.model).all()]\n\n"
        "    def first(self, session):\n        return session.query(Group).first()\n",
        "from app.base import Group\nfrom sqlalchemy import select\n\n\n"
        "class Groups:\n    model = Group\n\n"
        "    def names(self, session):\n"
        "        return [g.name for g in session.scalars(select(self.model)).all()]\n\n"
        "    def first(self, session):\n"
        "        return session.scalars(select(Group).limit(1)).first()\n",
        project={"app.base": AS_DECLARATIVE_MODELS},
        module_name="app.repos",
    )


CLASSICAL_MODELS = """\
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.orm import mapper, registry, relationship

metadata = MetaData()
package_table = Table("package", metadata, Column("id", Integer, primary_key=True))
tag_table = Table(
    "tag", metadata, Column("id", Integer, primary_key=True), Column("pid", ForeignKey("package.id"))
)
mapper_registry = registry()


class Package:
    pass


class Tag:
    pass


def init_model():
    mapper(Package, package_table, properties={"tags": relationship(Tag, lazy="joined")})
    mapper_registry.map_imperatively(Tag, tag_table)
"""


def test_imperatively_mapped_classes_are_models() -> None:
    # ckan's ``mapper(Package, package_table, properties={...})``: the class is mapped,
    # with the relationships its properties give (a joined collection: rows made unique)
    check_transformed(
        "from app.model import Package, Tag\n\n\nclass Packages:\n    model = Package\n\n"
        "    def all(self, session):\n        return session.query(self.model).all()\n\n"
        "    def tags(self, session):\n        return session.query(Tag).all()\n",
        "from app.model import Package, Tag\nfrom sqlalchemy import select\n\n\n"
        "class Packages:\n    model = Package\n\n"
        "    def all(self, session):\n"
        "        return session.scalars(select(self.model)).unique().all()\n\n"
        "    def tags(self, session):\n        return session.scalars(select(Tag)).all()\n",
        project={"app.model": CLASSICAL_MODELS},
        module_name="app.repos",
    )
