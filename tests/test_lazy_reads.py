"""Lazy-load risk sites: relationship reads after the session that loaded the object ended."""

from __future__ import annotations

from sqla_upgrade.codemods.analysis.lazy_reads import LazyReadAnalysis
from sqla_upgrade.codemods.index.builder import IndexBuilder

MODELS = """\
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

Base = declarative_base()
Session = sessionmaker()


class Order(Base):
    __tablename__ = "orders"
    customer = relationship("Customer")
    lines = relationship("Line", lazy="selectin")
"""


def risks(code: str, other: str = "") -> list[tuple[str, int, str, str]]:
    modules = {"app.models": MODELS, "app.code": code, "app.other": other}
    builder = IndexBuilder()
    sources = {}
    for name, text in modules.items():
        path = name.replace(".", "/") + ".py"
        builder.add(text.encode(), name, path, False)
        sources[path] = text.encode()
    analysis = LazyReadAnalysis(builder.build(), sources)
    found = analysis.risks("app.code", code.encode())
    return [(r.path, r.line, r.expression, r.reason) for r in found]


def test_read_after_the_with_block() -> None:
    code = (
        "from app.models import Order, Session\n"
        "def f(i):\n"
        "    with Session() as s:\n"
        "        order = s.get(Order, i)\n"
        "        inside = order.customer\n"
        "    return order.customer, order.lines, order.id\n"
    )
    assert risks(code) == [
        ("app/code.py", 6, "order.customer", "read after the `with` block of line 3 closed")
    ]  # inside the block: loaded; lines: eager; id: a column


def test_read_after_close() -> None:
    code = (
        "from app.models import Order, Session\n"
        "def f(i):\n"
        "    s = Session()\n"
        "    order = s.get(Order, i)\n"
        "    before = order.customer\n"
        "    s.close()\n"
        "    return order.customer\n"
    )
    assert risks(code) == [("app/code.py", 7, "order.customer", "read after s.close() at line 6")]


def test_objects_returned_from_a_closed_scope_in_another_module() -> None:
    other = (
        "from app.models import Order, Session\n"
        "def load(i):\n"
        "    with Session() as s:\n"
        "        return s.get(Order, i)\n"
        "def count():\n"
        "    with Session() as s:\n"
        "        return s.query(Order).count()\n"
    )
    code = (
        "from app.other import count, load\n"
        "def show(i):\n"
        "    order = load(i)\n"
        "    number = count()\n"
        "    for item in [order]:\n"
        "        pass\n"
        "    order = None\n"
        "    return order.customer\n"
        "def page(i):\n"
        "    return load(i).customer, load(i).id\n"
        "def detail(i):\n"
        "    order = load(i)\n"
        "    return order.customer\n"
    )
    returned = "returned by load() after its session closed"
    assert risks(code, other) == [
        ("app/code.py", 10, "load(i).customer", returned),
        ("app/code.py", 13, "order.customer", returned),
    ]  # rebinding clears (line 8); count() returns no object
