"""1.x's classical ``mapper()`` was removed in 2.0 (``from sqlalchemy.orm import mapper``
fails): a TODO where it is imported or called through the module, nothing elsewhere."""

from __future__ import annotations

import pytest

from tests.harness import check_noop, check_transformed

TODO = (
    "# TODO(sqla-upgrade): mapper() was removed in SQLAlchemy 2.0: map these classes with "
    "`mapper_registry.map_imperatively(Class, table, ...)` of one `mapper_registry = "
    "registry()` shared by the classes that relate to each other\n"
)


def test_imported_mapper_gets_a_todo() -> None:
    check_transformed(
        "from sqlalchemy.orm import mapper, relationship\n\n\n"
        "def init(Package, table):\n    mapper(Package, table)\n",
        TODO + "from sqlalchemy.orm import mapper, relationship\n\n\n"
        "def init(Package, table):\n    mapper(Package, table)\n",
        todos=["mapper() was removed"],
    )


def test_mapper_called_through_the_module_gets_a_todo() -> None:
    check_transformed(
        "from sqlalchemy import orm\n\n\ndef init(Package, table):\n    orm.mapper(Package, table)\n",
        "from sqlalchemy import orm\n\n\ndef init(Package, table):\n"
        "    " + TODO + "    orm.mapper(Package, table)\n",
        todos=["mapper() was removed"],
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
    ],
    ids=["map_imperatively", "inspect_mapper", "project_mapper", "mapper_args", "Mapper_class"],
)
def test_other_mappers_are_left_alone(code: str) -> None:
    check_noop(code)
