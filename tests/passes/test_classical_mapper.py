"""1.x's classical ``mapper()`` was removed in 2.0 (calling it raises): the classes of a
module are mapped with one ``registry().map_imperatively(...)``; where several modules
map classes and a mapping could resolve differently in a registry of its own, a TODO."""

from __future__ import annotations

import pytest

from tests.harness import _dedent, check_noop, check_project, check_transformed, exec_module

REMOVED = "mapper() was removed in SQLAlchemy 2.0: map these classes"
SHARED = "several modules of the project map classes with it"

LEGACY_MAPPINGS = """
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, create_engine
    from sqlalchemy.orm import mapper, relationship, sessionmaker

    metadata = MetaData()
    users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    addresses = Table(
        "addresses",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("email", String),
        Column("user_id", ForeignKey("users.id")),
    )


    class User:
        pass


    class Address:
        pass


    mapper(Address, addresses)
    mapper(User, users, {"addresses": relationship("Address", backref="user", order_by="Address.id")})


    def report():
        engine = create_engine("sqlite://")
        metadata.create_all(engine)
        session = sessionmaker(bind=engine)()
        user = User()
        user.name = "ann"
        for email in ("b@x", "a@x"):
            address = Address()
            address.email = email
            user.addresses.append(address)
        session.add(user)
        session.commit()
        found = session.query(Address).filter_by(email="a@x").one()
        return found.user.name, [a.email for a in session.query(User).one().addresses]
"""


def test_mappings_of_a_module_share_one_registry() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import mapper, relationship

        from app.tables import addresses, users


        class User:
            pass


        class Address:
            pass


        # classical mappings
        mapper(Address, addresses)
        mapper(User, users, properties={"addresses": relationship(Address, backref="user")})
        """,
        """
        from sqlalchemy.orm import registry, relationship

        from app.tables import addresses, users


        class User:
            pass


        class Address:
            pass


        # classical mappings
        mapper_registry = registry()
        mapper_registry.map_imperatively(Address, addresses)
        mapper_registry.map_imperatively(User, users, properties={"addresses": relationship(Address, backref="user")})
        """,
    )


def test_mappings_made_in_a_function_use_a_module_level_registry() -> None:
    check_transformed(
        """
        from sqlalchemy import orm


        def init(Package, table, tags):
            orm.mapper(Package, table, {"tags": orm.relationship("Tag")}, [table.c.id])
        """,
        """
        from sqlalchemy import orm
        from sqlalchemy.orm import registry


        mapper_registry = registry()
        def init(Package, table, tags):
            mapper_registry.map_imperatively(Package, table, properties={"tags": orm.relationship("Tag")}, primary_key=[table.c.id])
        """,
    )


def test_a_name_taken_gives_the_registry_another() -> None:
    check_transformed(
        """
        from sqlalchemy.orm import mapper

        mapper_registry = {}
        mapper(Package, packages)
        """,
        """
        from sqlalchemy.orm import registry

        mapper_registry = {}
        mapper_registry_2 = registry()
        mapper_registry_2.map_imperatively(Package, packages)
        """,
    )


def test_events_of_every_mapper_are_listened_to_on_mapper_class() -> None:
    check_transformed(
        """
        from sqlalchemy import event
        from sqlalchemy.orm import mapper


        @event.listens_for(mapper, "before_insert")
        def stamp(mapper, connection, target):
            target.stamped = True


        event.listen(mapper, "after_configured", lambda: None)
        """,
        """
        from sqlalchemy import event
        from sqlalchemy.orm import Mapper


        @event.listens_for(Mapper, "before_insert")
        def stamp(mapper, connection, target):
            target.stamped = True


        event.listen(Mapper, "after_configured", lambda: None)
        """,
    )


@pytest.mark.parametrize(
    ("call", "todo"),
    [
        ("mapper(Package, packages, non_primary=True)", "non_primary=True) was removed"),
        ("mapper(*arguments)", REMOVED),
        ("mapper(Package, packages, None, None, False, Base)", REMOVED),
    ],
    ids=["non_primary", "star", "positional_inherits"],
)
def test_a_mapping_it_cannot_rewrite_gets_a_todo(call: str, todo: str) -> None:
    result = check_transformed(
        f"from sqlalchemy.orm import mapper\n\n{call}\n",
        f"from sqlalchemy.orm import mapper\n\n# TODO(sqla-upgrade): {_message(todo)}\n{call}\n",
        todos=[todo],
    )
    assert len(result.todos) == 1


def _message(start: str) -> str:
    messages = {
        "non_primary=True) was removed": (
            "mapper(non_primary=True) was removed in SQLAlchemy 2.0: query an `aliased()` "
            "class or a select() of the table instead"
        ),
        REMOVED: (
            "mapper() was removed in SQLAlchemy 2.0: map these classes with "
            "`mapper_registry.map_imperatively(Class, table, ...)` of one "
            "`mapper_registry = registry()` shared by the classes that relate to each other"
        ),
    }
    return messages[start]


def test_mapper_handed_on_gets_a_todo() -> None:
    result = check_transformed(
        """
        from sqlalchemy.orm import mapper

        MAP = mapper
        """,
        f"""
        from sqlalchemy.orm import mapper

        # TODO(sqla-upgrade): {_message(REMOVED)}
        MAP = mapper
        """,
        todos=[REMOVED],
    )
    assert len(result.todos) == 1


MAPPINGS_ELSEWHERE = {
    "app.tags": """
        from sqlalchemy.orm import mapper

        mapper(Tag, tags)
    """,
}


def test_several_mapping_modules_keep_a_mapping_naming_classes_by_strings() -> None:
    source = """
        from sqlalchemy.orm import mapper, relationship

        mapper(Package, packages, properties={"tags": relationship("Tag")})
        mapper(Note, notes, properties={"package": relationship(Package, backref="notes")})
        mapper(Sub, subs, inherits=Package)
    """
    check_project(
        {**MAPPINGS_ELSEWHERE, "app.packages": source},
        {
            "app.tags": """
                from sqlalchemy.orm import registry

                mapper_registry = registry()
                mapper_registry.map_imperatively(Tag, tags)
            """,
            "app.packages": """
                from sqlalchemy.orm import registry, mapper, relationship

                # TODO(sqla-upgrade): mapper() was removed in SQLAlchemy 2.0 and several modules of the project map classes with it (into one registry); this mapping names classes or expressions by strings, which a registry of this module alone may not resolve: map the related classes with `map_imperatively()` of one shared `registry()`
                mapper(Package, packages, properties={"tags": relationship("Tag")})
                mapper_registry = registry()
                mapper_registry.map_imperatively(Note, notes, properties={"package": relationship(Package, backref="notes")})
                # TODO(sqla-upgrade): mapper() was removed in SQLAlchemy 2.0 and several modules of the project map classes with it (into one registry); this mapping inherits from another mapped class, which a registry of this module alone may not resolve: map the related classes with `map_imperatively()` of one shared `registry()`
                mapper(Sub, subs, inherits=Package)
            """,
        },
        target="2.0",
        todos=["names classes or expressions by strings", "inherits from another mapped class"],
    )


@pytest.mark.parametrize(
    "code",
    [
        "from sqlalchemy.orm import registry\n\nreg = registry()\n\n\n"
        "def init(Package, table):\n    reg.map_imperatively(Package, table)\n",
        "from sqlalchemy import inspect\n\n\ndef columns(obj):\n    return inspect(obj).mapper.columns\n",
        "from app.util import mapper\n\n\ndef f(rows):\n    return mapper(rows)\n",
        "class Thing:\n    __mapper_args__ = {'polymorphic_on': 'kind'}\n",
        "from sqlalchemy.orm import Mapper\n\n\ndef is_mapper(x):\n    return isinstance(x, Mapper)\n",
        "from sqlalchemy.orm import class_mapper\n\n\ndef table(cls):\n"
        "    return class_mapper(cls).local_table\n",
        "from sqlalchemy import event\nfrom sqlalchemy.orm import Mapper\n\n\n"
        "event.listen(Mapper, 'before_insert', print)\n",
        "def mapper(x):\n    return x\n\n\nmapper(1)\n",
        "from sqlalchemy import event\n\n\ndef on(mapper):\n"
        "    event.listen(mapper, 'before_insert', print)\n",
    ],
    ids=[
        "map_imperatively",
        "inspect_mapper",
        "project_mapper",
        "mapper_args",
        "Mapper_class",
        "class_mapper",
        "Mapper_events",
        "own_function",
        "parameter",
    ],
)
def test_other_mappers_are_left_alone(code: str) -> None:
    check_noop(code)


def test_migrated_mappings_load_as_the_legacy_ones() -> None:
    """The string-named relationship, its ``order_by`` and backref resolve in the
    module's registry: the migrated module runs on 2.0 and gives what 1.4 gave."""
    from sqla_upgrade.api import migrate_source

    migrated = migrate_source(_dedent(LEGACY_MAPPINGS), target="2.0").code
    assert "mapper_registry.map_imperatively(User, users, properties={" in migrated
    assert migrate_source(migrated, target="2.0").code == migrated
    module = exec_module(migrated)
    assert module.report() == ("ann", ["b@x", "a@x"])
