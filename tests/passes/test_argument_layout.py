"""Arguments added or dropped by a pass follow the layout of the call they land in."""

from __future__ import annotations

import libcst as cst
import pytest

from sqla_upgrade.codemods.analysis.chains import keyword
from sqla_upgrade.codemods.layout import relaid_arguments
from tests.harness import check_project, check_transformed

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship
    Base = declarative_base()
    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        status = Column(String(20))
        lines = relationship("Line", lazy="selectin")
    class Line(Base):
        __tablename__ = "lines"
        id = Column(Integer, primary_key=True)
        order_id = Column(ForeignKey("orders.id"))
"""


def relaid(source: str, drop: tuple[str, ...] = ()) -> str:
    call = cst.parse_expression(source)
    assert isinstance(call, cst.Call)
    args = [a for a in call.args if not (a.keyword is not None and a.keyword.value in drop)]
    args.append(keyword("x", cst.List([])))
    return cst.Module([]).code_for_node(call.with_changes(args=relaid_arguments(call, args)))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("f(a=1, b=2)", "f(a=1, b=2, x=[])"),
        ("f()", "f(x=[])"),
        ("f(\n    a=1,\n    b=2,\n)", "f(\n    a=1,\n    b=2,\n    x=[],\n)"),
        ("f(\n    a=1,\n    b=2\n)", "f(\n    a=1,\n    b=2,\n    x=[]\n)"),
        (
            "f(\n    a=1,  # one\n    b=2,  # two\n)",
            "f(\n    a=1,  # one\n    b=2,  # two\n    x=[],\n)",
        ),
        ("f(a=1, b=2,\n  c=3)", "f(a=1, b=2,\n  c=3,\n  x=[])"),
        ("f(\n    a=1, b=2\n)", "f(\n    a=1, b=2,\n    x=[]\n)"),
    ],
)
def test_appended_argument_follows_the_layout(before: str, after: str) -> None:
    assert relaid(before) == after


def test_dropped_last_argument_hands_its_closing_to_the_new_last() -> None:
    assert relaid("f(\n    a=1,\n    b=2,\n)", drop=("b",)) == "f(\n    a=1,\n    x=[],\n)"


def test_new_collections_land_one_per_line_in_a_multiline_constructor() -> None:
    check_project(
        {
            "app.models": MODELS,
            "app.service": """
                from sqlalchemy.orm import Session
                from app.models import Line, Order
                def place(session: Session):
                    order = Order(
                        id=1,
                        status="new",
                    )
                    session.add(order)
                    session.flush()
                    order.lines.append(Line())
            """,
        },
        {
            "app.service": """
                from app.models import Line, Order
                from sqlalchemy.ext.asyncio import AsyncSession

                async def place(session: AsyncSession):
                    order = Order(
                        id=1,
                        status="new",
                        lines=[],
                    )
                    session.add(order)
                    await session.flush()
                    order.lines.append(Line())
            """,
        },
    )


def test_session_factory_keyword_lands_on_its_own_line() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker
        engine = create_engine("sqlite://")
        SessionLocal = sessionmaker(
            bind=engine,
            autoflush=False,  # flush by hand
        )
        """,
        """
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite://")
        SessionLocal = async_sessionmaker(
            bind=engine,
            autoflush=False,  # flush by hand
            expire_on_commit=False,
        )
        """,
        target="async",
    )


def test_engine_option_dropped_from_a_multiline_call_keeps_the_closing_bracket() -> None:
    check_transformed(
        """
        from sqlalchemy import create_engine
        engine = create_engine(
            "sqlite://",
            echo=True,
            future=True,
        )
        """,
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(
            "sqlite+aiosqlite://",
            echo=True,
        )
        """,
        target="async",
    )
