"""await: a ``@property`` doing I/O becomes an async method when every use is found.

Every read of ``obj.prop`` in the project must be on an object whose class is known
(``self``, a constructor call, an annotation, a fetched row) in a function that can
become async; then the property becomes ``async def prop(self)`` and each read
``await obj.prop()``. A read on an object of unknown type, in a template, at module level,
a setter or deleter, or a field of that name in another class (a schema reading
attributes by name) keeps the property, with a TODO.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_project
from tests.harness import check_project

SHOP = """
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine("sqlite://")


    class Customer:
        def __init__(self, session: Session, name):
            self.session = session
            self.name = name

        @property
        def order_count(self):
            return self.session.execute(text("select length(:n)"), {"n": self.name}).scalar()

        @property
        def label(self):
            return f"{self.name}: {self.order_count}"

        def summary(self):
            return self.order_count + 1
"""

MIGRATED_SHOP = """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine("sqlite+aiosqlite://")


    class Customer:
        def __init__(self, session: AsyncSession, name):
            self.session = session
            self.name = name

        async def order_count(self):
            return (await self.session.execute(text("select length(:n)"), {"n": self.name})).scalar()

        async def label(self):
            return f"{self.name}: {await self.order_count()}"

        async def summary(self):
            return await self.order_count() + 1
"""


def test_property_with_every_read_found_becomes_an_async_method() -> None:
    check_project(
        {
            "app.shop": SHOP,
            "app.views": """
                from app.shop import Customer


                def show(session, name):
                    customer = Customer(session, name)
                    return customer.order_count, customer.label.upper(), customer.summary()


                def describe(customer: Customer):
                    return [customer.label]
            """,
        },
        {
            "app.shop": MIGRATED_SHOP,
            "app.views": """
                from app.shop import Customer


                async def show(session, name):
                    customer = Customer(session, name)
                    return await customer.order_count(), (await customer.label()).upper(), await customer.summary()


                async def describe(customer: Customer):
                    return [await customer.label()]
            """,
        },
    )


PROPERTY_TODO = (
    "# TODO(sqla-upgrade): this call is now a coroutine but cannot be awaited here "
    "(a property cannot be awaited); use an async method or run_sync"
)


def _kept(extra_module: str) -> None:
    check_project(
        {
            "app.shop": """
                from sqlalchemy import create_engine, text
                from sqlalchemy.orm import Session

                engine = create_engine("sqlite://")


                class Customer:
                    def __init__(self, session: Session):
                        self.session = session

                    @property
                    def order_count(self):
                        return self.session.execute(text("select 1")).scalar()
            """,
            "app.other": extra_module,
        },
        {
            "app.shop": f"""
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

                engine = create_async_engine("sqlite+aiosqlite://")


                class Customer:
                    def __init__(self, session: AsyncSession):
                        self.session = session

                    @property
                    def order_count(self):
                        {PROPERTY_TODO}
                        return self.session.execute(text("select 1")).scalar()
            """,
            "app.other": extra_module,
        },
        todos=["a property cannot be awaited"],
    )


def test_read_on_an_object_of_unknown_type_keeps_the_property() -> None:
    _kept(
        """
        from app.shop import Customer


        def count(customer: Customer, thing):
            return customer.order_count + thing.order_count
        """
    )


def test_a_schema_field_of_the_same_name_keeps_the_property() -> None:
    _kept(
        """
        from pydantic import BaseModel

        from app.shop import Customer


        class CustomerOut(BaseModel):
            order_count: int


        def count(customer: Customer):
            return customer.order_count
        """
    )


def test_a_property_with_a_setter_is_kept() -> None:
    check_project(
        {
            "app.shop": """
                from sqlalchemy import text
                from sqlalchemy.orm import Session


                class Customer:
                    def __init__(self, session: Session):
                        self.session = session
                        self._limit = 1

                    @property
                    def limit(self):
                        return self.session.execute(text("select 1")).scalar()

                    @limit.setter
                    def limit(self, value):
                        self._limit = value


                def show(customer: Customer):
                    return customer.limit
            """
        },
        {
            "app.shop": f"""
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import AsyncSession


                class Customer:
                    def __init__(self, session: AsyncSession):
                        self.session = session
                        self._limit = 1

                    @property
                    def limit(self):
                        {PROPERTY_TODO}
                        return self.session.execute(text("select 1")).scalar()

                    @limit.setter
                    def limit(self, value):
                        self._limit = value


                def show(customer: Customer):
                    return customer.limit
            """
        },
        todos=["a property cannot be awaited"],
    )


def test_a_property_never_read_in_the_project_is_kept() -> None:
    _kept(
        """
        def unrelated():
            return 1
        """
    )


def test_property_without_io_is_untouched() -> None:
    code = """
        class Box:
            def __init__(self, items):
                self.items = items

            @property
            def size(self):
                return len(self.items)


        def show(box: Box):
            return box.size
    """
    check_project({"app.box": code}, {"app.box": code})


LEGACY = """
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///" + sys.argv[1])


class Customer:
    def __init__(self, session, name):
        self.session = session
        self.name = name

    @property
    def name_length(self):
        return self.session.execute(text("select length(:n)"), {"n": self.name}).scalar()

    @property
    def label(self):
        return f"{self.name}: {self.name_length}"


def main():
    with Session(engine) as session:
        customer = Customer(session, "ann")
        print(customer.label, customer.name_length * 2)


if __name__ == "__main__":
    main()
"""


def test_async_property_methods_run_on_aiosqlite(tmp_path: Path) -> None:
    migrated = migrate_project({"app": LEGACY.lstrip()}, target="async")["app"]
    assert not migrated.todos, migrated.todos
    assert "await customer.label()" in migrated.code
    outputs = []
    for name, code in (("legacy", LEGACY), ("migrated", migrated.code)):
        script = tmp_path / f"{name}.py"
        script.write_text(code)
        run = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", str(script), str(tmp_path / "db")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": ""},
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] == "ann: 3 6\n"
