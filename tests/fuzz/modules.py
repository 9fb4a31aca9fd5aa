"""Hypothesis strategies for whole modules: legacy SQLAlchemy usage among arbitrary code.

A generated module is a fixed header (imports, a model, a table, an engine, a session
factory) followed by *segments*: legacy segments (``session.query`` chains,
``Model.query``, ``create_engine``/``sessionmaker``, ``select([..])``,
``engine.execute``, ``with`` blocks) and *filler* blocks (comments, decorators, nested
functions, odd whitespace, form feeds, tabs, unicode identifiers, f-strings, walrus,
``match``, annotations, strings and comments that look like legacy code). Legacy
functions may hold filler in their bodies too.

Every filler block is kept as a separate string (``Module.fillers``), so a test can
check it reappears verbatim in the output: the tool must rewrite legacy nodes and leave
everything else byte for byte. Fillers use names of their own and never touch the
sessions or engines, so nothing in them has a reason to change.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from hypothesis import strategies as st

PLAIN_HEADER = """\
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()
metadata = MetaData()
users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("name", String))
engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)


class User(Base):
    __tablename__ = "user_account"
    id = Column(Integer, primary_key=True)
    name = Column(String)
"""

FLASK_HEADER = """\
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Item(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50))
"""

LITERALS = ["'ann'", '"bob"', "'ünïcödé'", "'it''s'", "name_arg", "f'{name_arg}'", "42"]

# {k}: the segment's number (unique names); {v}: a literal; {n}: a small number;
# {body}: filler statements inside the function (indented by 4), may be empty.
PLAIN_LEGACY = [
    "def legacy_all_{k}(session, name_arg=None):\n{body}"
    "    return session.query(User).filter(User.name == {v}).order_by(User.id).all()\n",
    "def legacy_first_{k}(session, name_arg=None):\n{body}"
    "    found = session.query(User).filter_by(name={v}).first()\n    return found\n",
    "def legacy_count_{k}(session):\n{body}    total = session.query(User).count()\n"
    "    return total + {n}\n",
    "def legacy_get_{k}(session):\n{body}    return session.query(User).get({n})\n",
    "def legacy_loop_{k}(session):\n{body}    names = []\n"
    "    for user in session.query(User).filter(User.id > {n}):\n"
    "        names.append(user.name)\n    return names\n",
    "engine_{k} = create_engine('sqlite:///db_{k}.sqlite')\n"
    "Session_{k} = sessionmaker(bind=engine_{k})\n",
    "stmt_{k} = select([users.c.id, users.c.name], users.c.id > {n})\n",
    "def legacy_execute_{k}():\n{body}"
    "    return engine.execute(select([users.c.name])).fetchall()\n",
    "def legacy_with_session_{k}():\n{body}    with Session() as session:\n"
    "        return session.query(User).filter(User.id == {n}).one()\n",
    "def legacy_with_connection_{k}():\n{body}    with engine.connect() as conn:\n"
    "        rows = conn.execute(select([users.c.id])).fetchall()\n    return rows\n",
    "def legacy_update_{k}(session, name_arg=None):\n{body}"
    "    return session.query(User).filter(User.id == {n}).update({{'name': {v}}})\n",
]

FLASK_LEGACY = [
    "def legacy_flask_first_{k}(name_arg=None):\n{body}"
    "    return Item.query.filter_by(name={v}).first()\n",
    "def legacy_flask_get_{k}():\n{body}    return Item.query.get({n})\n",
    "def legacy_flask_all_{k}():\n{body}"
    "    return db.session.query(Item).order_by(Item.id).all()\n",
    "def legacy_flask_count_{k}():\n{body}    return Item.query.filter(Item.id > {n}).count()\n",
]

# Filler pieces. {k} makes names unique. Pieces marked TABS use tab indentation and are
# only used at module level.
FILLERS = [
    "# a comment: session.query(User).all() is only text here\n",
    "#\tcomment with a tab and trailing spaces   \n",
    "# ünïcödé comment — with dashes → and arrows\n",
    "\n\n",
    "   \n",
    "\x0c\n",
    "def deco_{k}(fn):\n    return fn\n\n\n@deco_{k}\n"
    "def decorated_{k}(a: int, *args: str, b: 'list[int] | None' = None, **kw) -> dict:\n"
    "    def inner(x):\n        return x + 1\n\n    return {{'a': inner(a), 'b': b}}\n",
    "def outer_{k}():\n    total = 0\n\n    def nested(step=1):\n        nonlocal total\n"
    "        total += step\n        return total\n\n    return nested\n",
    "fs_{k} = f\"{{'nested'!r:>10}} and {{{{braces}}}} {{1 + 2 = }}\"\n",
    "fs2_{k} = f'{{fs_width_{k}:{{3}}}}' if (fs_width_{k} := {k}) else ''\n",
    "if (walrus_{k} := len('abc')) > 2:\n    walrus_{k} += 1\n",
    "def match_{k}(command):\n    match command:\n        case [x, *rest] if x:\n"
    "            return rest\n        case {{'key': value}}:\n            return value\n"
    "        case str() | bytes():\n            return None\n        case _:\n"
    "            return command\n",
    "annotated_{k}: dict[str, 'tuple[int, ...]'] = {{}}\nbare_annotation_{k}: int\n",
    "ñandú_{k} = 'ünïcödé'\n変数_{k} = ñandú_{k} * 2\n",
    "spaced_{k} = ( 1 ,\n    2 ,  )   # odd spacing\nsemi_{k} = 1; other_{k} = 2\n",
    "continued_{k} = 1 + \\\n    2\n",
    "doc_{k} = '''session.query(User).filter(User.id == 1).first()\nselect([users])'''\n",
    "raw_{k} = rb'\\d+' + b'\\x00'\n",
    "class Plain_{k}:\n    '''A class with a property and a classmethod.'''\n\n"
    "    slots: tuple[str, ...] = ()\n\n    @property\n    def value(self) -> int:\n"
    "        return {k}\n\n    @classmethod\n    def make(cls) -> 'Plain_{k}':\n"
    "        return cls()\n",
    "try:\n    risky_{k} = 1 / 1\nexcept ZeroDivisionError as exc:\n    risky_{k} = 0\n"
    "else:\n    pass\nfinally:\n    cleanup_{k} = True\n",
    "async def coroutine_{k}(items):\n    async with items as handle:\n"
    "        async for item in handle:\n            await item\n    return [i async for i in items]\n",
    "squares_{k} = [x * x for x in range(3) if x]\nlookup_{k} = {{x: y for x, y in []}}\n",
    "lam_{k} = lambda *a, **kw: (a, kw)\n",
    "TABS:def tabbed_{k}():\n\tif True:\n\t\treturn 1\n\treturn 0\n",
]

MODULE_NEWLINES = ["\n", "\r\n"]


VIEWS_IMPORTS = {
    False: "from sqlalchemy import create_engine, select\n"
    "from sqlalchemy.orm import sessionmaker\n"
    "from app.models import Session, User, engine, users\n",
    True: "from app.models import Item, db\n",
}


@dataclass(frozen=True)
class Module:
    """A generated module: ``body`` (the segments) after a header; ``fillers`` are the
    filler blocks, each of which appears verbatim in ``body``."""

    flask: bool
    body: str
    fillers: tuple[str, ...]
    newline: str

    def _lines(self, text: str) -> str:
        return _crlf(text) if self.newline == "\r\n" else text

    def source(self) -> str:
        """One self-contained module."""
        header = FLASK_HEADER if self.flask else PLAIN_HEADER
        return self._lines(header + "\n\n") + self.body

    def project(self) -> dict[str, str]:
        """The header as ``app.models`` and the segments in ``app.views``, importing it."""
        header = FLASK_HEADER if self.flask else PLAIN_HEADER
        views = self._lines(VIEWS_IMPORTS[self.flask] + "\n\n") + self.body
        return {"app.models": self._lines(header), "app.views": views}


def _format(template: str, k: int) -> str:
    return template.removeprefix("TABS:").format(k=k)


@st.composite
def filler_block(draw: st.DrawFn, k: int, indented: bool = False) -> str:
    pool = [f for f in FILLERS if not (indented and f.startswith("TABS:"))]
    pieces = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    text = "".join(_format(piece, k * 10 + i) for i, piece in enumerate(pieces))
    if not text.endswith("\n"):
        text += "\n"
    return textwrap.indent(text, "    ", lambda line: bool(line.strip())) if indented else text


@st.composite
def legacy_segment(draw: st.DrawFn, k: int, templates: list[str]) -> tuple[str, str | None]:
    template = draw(st.sampled_from(templates))
    body = ""
    if "{body}" in template and draw(st.booleans()):
        body = draw(filler_block(k, indented=True))
    code = template.format(
        k=k,
        v=draw(st.sampled_from(LITERALS)),
        n=draw(st.integers(min_value=0, max_value=99)),
        body=body,
    )
    return code, body or None


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


@st.composite
def modules(draw: st.DrawFn) -> Module:
    """Legacy and filler segments in any order, for a plain or a Flask-SQLAlchemy header."""
    flask = draw(st.booleans())
    templates = FLASK_LEGACY if flask else PLAIN_LEGACY
    newline = draw(st.sampled_from(MODULE_NEWLINES))
    parts: list[tuple[str, str | None]] = []  # (code, the filler it holds)
    for k in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            parts.append(draw(legacy_segment(k, templates)))
            continue
        code = draw(filler_block(k))
        if draw(st.integers(0, 4)) == 0:  # now and then a CRLF block in a LF module
            code = _crlf(code)
        parts.append((code, code))
    if draw(st.booleans()):  # no final newline
        code, filler = parts[-1]
        stripped = code.rstrip("\r\n")
        parts[-1] = (stripped, stripped if filler == code else filler)
    separator = draw(st.sampled_from(["\n\n", "\n", "\n\n\n"]))
    body = separator.join(code for code, _ in parts)
    fillers = [filler for _, filler in parts if filler and filler.strip()]
    if newline == "\r\n":
        body, fillers = _crlf(body), [_crlf(f) for f in fillers]
    return Module(flask=flask, body=body, fillers=tuple(fillers), newline=newline)
