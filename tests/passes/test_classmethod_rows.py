"""A classmethod returning one object of ``cls`` (``session.get(cls, id)``,
``select(cls)...first()``, ``cls.query.filter_by(...).first()``, ``cls(**kw)``) gives an
object of the class it is called on: ``record = Record.newest()`` is a ``Record``, so
``record.delete()``, a method of ``Record`` that became async, is awaited (``delete``, a
name many libraries' objects have, is followed only on objects of a known class; it was
left a coroutine never awaited, the row never deleted)."""

from __future__ import annotations

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project

DB = """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import scoped_session, sessionmaker

    engine = create_engine("sqlite://")
    Session = scoped_session(sessionmaker(bind=engine))
"""
MODELS = """
    from sqlalchemy import Column, Integer, select
    from sqlalchemy.orm import declarative_base

    from app.db import Session

    Base = declarative_base()


    class Record(Base):
        __tablename__ = "record"
        id = Column(Integer, primary_key=True)

        @classmethod
        def find(cls, id):
            return Session.get(cls, id)

        @classmethod
        def newest(cls):
            found = Session.scalars(select(cls).order_by(cls.id.desc())).first()
            return found

        @classmethod
        def every(cls):
            return Session.scalars(select(cls)).all()

        def delete(self):
            Session.delete(self)
            Session.commit()

        @classmethod
        def purge(cls, id):
            record = cls.find(id)
            if record is None:
                return None
            record.delete()
            return id


    def purge_newest():
        record = Record.newest()
        record.delete()


    def purge_all():
        records = Record.every()
        records.delete()
"""
MODELS_ASYNC = """
    from sqlalchemy import Column, Integer, select
    from sqlalchemy.orm import declarative_base

    from app.db import Session

    Base = declarative_base()


    class Record(Base):
        __tablename__ = "record"
        id = Column(Integer, primary_key=True)

        @classmethod
        async def find(cls, id):
            return await Session.get(cls, id)

        @classmethod
        async def newest(cls):
            found = (await Session.scalars(select(cls).order_by(cls.id.desc()))).first()
            return found

        @classmethod
        async def every(cls):
            return (await Session.scalars(select(cls))).all()

        async def delete(self):
            await Session.delete(self)
            await Session.commit()

        @classmethod
        async def purge(cls, id):
            record = await cls.find(id)
            if record is None:
                return None
            await record.delete()
            return id


    async def purge_newest():
        record = await Record.newest()
        await record.delete()


    async def purge_all():
        records = await Record.every()
        records.delete()
"""


def test_an_object_a_classmethod_returns_of_cls_has_the_class_it_is_called_on() -> None:
    check_project({"app.db": DB, "app.models": MODELS}, {"app.models": MODELS_ASYNC})


def test_a_classmethod_returning_other_things_too_types_nothing() -> None:
    """``return Session.scalars(select(cls)).all()`` on one branch, an object on another:
    what the call gives is not known to be an object of the class (no await of its
    ``delete()``)."""
    models = MODELS.replace(
        "            return Session.get(cls, id)\n",
        "            if id is None:\n                return Session.scalars(select(cls)).all()\n"
        "            return Session.get(cls, id)\n",
    )
    result = migrate_project({"app.db": _dedent(DB), "app.models": _dedent(models)})
    code = result["app.models"].code
    assert "        record = await cls.find(id)\n" in code
    assert "        record.delete()\n" in code
    assert "    await record.delete()\n" in code  # Record.newest() still types it


FLASK_EXT = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
"""
FLASK_BASE = """
    from app.ext import db


    class BaseMixin(object):
        id = db.Column(db.Integer, primary_key=True)

        @classmethod
        def get(cls, id):
            return db.session.get(cls, id)

        def delete(self):
            db.session.delete(self)
            db.session.commit()

        def update(self, data):
            for key, value in data.items():
                setattr(self, key, value)
            db.session.commit()
"""
FLASK_MODELS = """
    from app.ext import db
    from app.base import BaseMixin


    class Note(db.Model, BaseMixin):
        text = db.Column(db.String(50))
        comment_id = db.Column(db.Integer)
"""
SERVICE = """
    from sqlalchemy import select

    from app.ext import db
    from app.models import Note


    def get_note_raw(note_id):
        note = Note.get(note_id)
        if note is None:
            raise LookupError(note_id)
        return note


    def cancel(note_id):
        note = get_note_raw(note_id)
        note.update({'text': 'cancelled'})


    def purge(comment_id):
        notes = select(Note).filter_by(comment_id=comment_id)
        notes = notes.order_by(Note.id)
        for note in db.session.scalars(notes):
            note.delete()
"""
SERVICE_ASYNC = """
    from sqlalchemy import select

    from app.ext import async_session, db
    from app.models import Note


    async def get_note_raw(note_id):
        note = await Note.get(note_id)
        if note is None:
            raise LookupError(note_id)
        return note


    async def cancel(note_id):
        note = await get_note_raw(note_id)
        await note.update({'text': 'cancelled'})


    async def purge(comment_id):
        notes = select(Note).filter_by(comment_id=comment_id)
        notes = notes.order_by(Note.id)
        for note in await async_session.scalars(notes):
            await note.delete()
"""


def test_objects_returned_on_and_statements_kept_in_variables_have_their_class() -> None:
    """``return note`` after ``note = Note.get(id)`` gives a ``Note``; rows of
    ``session.scalars(notes)``, ``notes`` bound to ``select(Note)`` (and refined), are
    ``Note`` objects: their ``update()``/``delete()``, async now, are awaited."""
    check_project(
        {
            "app.ext": FLASK_EXT,
            "app.base": FLASK_BASE,
            "app.models": FLASK_MODELS,
            "app.service": SERVICE,
        },
        {"app.service": SERVICE_ASYNC},
    )


def test_a_local_returned_after_the_block_that_binds_it_has_its_class() -> None:
    """``try: note = Note.get(id) ... return note``: the return is read after every
    binding of the function, not before the ``try:`` body's (where a walk of the
    function meets it first), so ``note.delete()`` of the caller is awaited."""
    service = SERVICE.replace(
        "        note = Note.get(note_id)\n        if note is None:\n"
        "            raise LookupError(note_id)\n",
        "        try:\n            note = Note.get(note_id)\n        except ValueError:\n"
        "            raise LookupError(note_id)\n",
    )
    expected = SERVICE_ASYNC.replace(
        "        note = await Note.get(note_id)\n        if note is None:\n"
        "            raise LookupError(note_id)\n",
        "        try:\n            note = await Note.get(note_id)\n        except ValueError:\n"
        "            raise LookupError(note_id)\n",
    )
    assert service != SERVICE and expected != SERVICE_ASYNC
    check_project(
        {
            "app.ext": FLASK_EXT,
            "app.base": FLASK_BASE,
            "app.models": FLASK_MODELS,
            "app.service": service,
        },
        {"app.service": expected},
    )
