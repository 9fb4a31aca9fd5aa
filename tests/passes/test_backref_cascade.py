"""backref-cascade: new objects 1.x put into a session through a backref are added."""

from __future__ import annotations

import sys
import types

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from sqla_upgrade.api import migrate_project
from tests.harness import _dedent, check_project, exec_module

MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String, Table
    from sqlalchemy.orm import declarative_base, relationship
    Base = declarative_base()
    post_tags = Table("post_tags", Base.metadata)
    class Task(Base):
        __tablename__ = "tasks"
        id = Column(Integer, primary_key=True)
        notes = relationship("Note", backref="task")
        steps = relationship("Step")
        logs = relationship("Log", backref="task", cascade="delete")
        views = relationship("View", backref="task", viewonly=True)
        owner_id = Column(ForeignKey("users.id"))
        owner = relationship("User", back_populates="tasks")
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        tasks = relationship("Task", back_populates="owner")
    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        tags = relationship("Tag", secondary=post_tags, backref="notes")
        author_id = Column(ForeignKey("users.id"))
        author = relationship("User", backref="notes")
    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
    class Step(Base):
        __tablename__ = "steps"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        task = relationship("Task")
    class Log(Base):
        __tablename__ = "logs"
        id = Column(Integer, primary_key=True)
    class View(Base):
        __tablename__ = "views"
        id = Column(Integer, primary_key=True)
"""


def _check(before: str, after: str, *, target: str = "2.0", todos: tuple[str, ...] = ()) -> None:
    check_project(
        {"app.models": MODELS, "app.views": before},
        {"app.views": after},
        target=target,
        todos=todos,
    )


def _check_noop(code: str) -> None:
    result = migrate_project(
        {"app.models": _dedent(MODELS), "app.views": _dedent(code)}, target="2.0"
    )
    assert result["app.views"].code == _dedent(code)
    assert not result["app.views"].todos


def test_new_object_given_a_loaded_parent_is_added() -> None:
    _check(
        """
        from sqlalchemy.orm import Session
        from app.models import Note, Task, User
        def add_note(session: Session, task_id, body):
            task = session.get(Task, task_id)
            note = Note(task=task, body=body)
            session.commit()
            return note
        def assign(session: Session, user_id):
            user = session.get(User, user_id)
            task = Task()
            task.owner = user
            session.commit()
        """,
        """
        from sqlalchemy.orm import Session
        from app.models import Note, Task, User
        def add_note(session: Session, task_id, body):
            task = session.get(Task, task_id)
            note = Note(task=task, body=body)
            session.add(note)
            session.commit()
            return note
        def assign(session: Session, user_id):
            user = session.get(User, user_id)
            task = Task()
            task.owner = user
            session.add(task)
            session.commit()
        """,
    )


def test_object_made_in_a_statement_of_its_own_is_added_there() -> None:
    _check(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from app.models import Note, Tag, Task
        def note_all(session: Session):
            for task in session.scalars(select(Task)):
                Note(task=task)
            tag = session.scalars(select(Tag)).first()
            note = Note()
            note.tags.append(tag)
            session.commit()
        """,
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from app.models import Note, Tag, Task
        def note_all(session: Session):
            for task in session.scalars(select(Task)):
                session.add(Note(task=task))
            tag = session.scalars(select(Tag)).first()
            note = Note()
            note.tags.append(tag)
            session.add(note)
            session.commit()
        """,
    )


def test_two_parents_from_one_session_add_the_object_once() -> None:
    _check(
        """
        from sqlalchemy.orm import Session
        from app.models import Note, Task, User
        def note(session: Session, task_id, user_id):
            task = session.get(Task, task_id)
            user = session.get(User, user_id)
            Note(task=task, author=user)
            first = Note(task=task, author=user)
            session.commit()
        """,
        """
        from sqlalchemy.orm import Session
        from app.models import Note, Task, User
        def note(session: Session, task_id, user_id):
            task = session.get(Task, task_id)
            user = session.get(User, user_id)
            session.add(Note(task=task, author=user))
            first = Note(task=task, author=user)
            session.add(first)
            session.commit()
        """,
    )


def test_legacy_query_and_parent_added_before() -> None:
    _check(
        """
        from app.models import Note, Task
        def seed(session):
            task = Task()
            session.add(task)
            note = Note(task=task)
            other = Note(task=session.query(Task).first())
            session.commit()
        """,
        """
        from app.models import Note, Task
        from sqlalchemy import select

        def seed(session):
            task = Task()
            session.add(task)
            note = Note(task=task)
            session.add(note)
            other = Note(task=session.scalars(select(Task).limit(1)).first())
            session.add(other)
            session.commit()
        """,
    )


def test_flask_sqlalchemy_adds_to_db_session() -> None:
    check_project(
        {
            "app.ext": """
                from flask_sqlalchemy import SQLAlchemy
                db = SQLAlchemy()
            """,
            "app.models": """
                from app.ext import db
                class Task(db.Model):
                    id = db.Column(db.Integer, primary_key=True)
                    notes = db.relationship("Note", backref="task")
                class Note(db.Model):
                    id = db.Column(db.Integer, primary_key=True)
                    task_id = db.Column(db.ForeignKey("task.id"))
            """,
            "app.views": """
                from app.ext import db
                from app.models import Note, Task
                def add_note(task_id):
                    task = Task.query.get_or_404(task_id)
                    Note(task=task)
                    db.session.commit()
            """,
        },
        {
            "app.views": """
                from app.ext import db
                from app.models import Note, Task
                def add_note(task_id):
                    task = db.get_or_404(Task, task_id)
                    db.session.add(Note(task=task))
                    db.session.commit()
            """,
        },
        target="2.0",
    )


def test_object_kept_in_a_plain_list_is_still_added() -> None:
    """``self.made.append(note)``: a list, not a relationship, so nothing cascades."""
    _check(
        """
        from app.models import Note, Task
        class Builder:
            def add(self, session, task_id):
                task = session.get(Task, task_id)
                note = Note(task=task)
                self.made.append(note)
        """,
        """
        from app.models import Note, Task
        class Builder:
            def add(self, session, task_id):
                task = session.get(Task, task_id)
                note = Note(task=task)
                session.add(note)
                self.made.append(note)
        """,
    )


def test_a_parent_given_with_the_session_is_taken_as_one_of_it() -> None:
    """``def add_note(session, task)``: a handler given the request's session and an
    object of it (the only session among its parameters)."""
    _check(
        """
        from app.models import Note
        def add_note(session, task):
            note = Note(task=task)
            session.commit()
        """,
        """
        from app.models import Note
        def add_note(session, task):
            note = Note(task=task)
            session.add(note)
            session.commit()
        """,
    )


@pytest.mark.parametrize(
    "code",
    [
        "def add_note(task):\n    note = Note(task=task)\n",  # no session given
        "def add_note(session, other_session, task):\n    note = Note(task=task)\n",  # two
        "def add_note(session, task):\n    task = task or None\n    note = Note(task=task)\n",
    ],
)
def test_parent_of_unknown_origin_leaves_a_todo(code: str) -> None:
    body = code.rstrip("\n")
    todo = (
        "# TODO(sqla-upgrade): SQLAlchemy 2.0 no longer puts a new Note into the session of "
        "the task it is given (cascade_backrefs was removed): add it with session.add() where "
        "it is to be saved"
    )
    before = "from app.models import Note\n" + body + "\n"
    after = before.replace("    note = Note(task=task)", f"    {todo}\n    note = Note(task=task)")
    check_project(
        {"app.models": MODELS, "app.views": before},
        {"app.views": after},
        target="2.0",
        todos=("cascade_backrefs was removed",),
    )


def test_objects_in_a_list_given_a_loaded_parent_leave_a_todo() -> None:
    _check(
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            notes = [Note(task=task)]
        """,
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            # TODO(sqla-upgrade): SQLAlchemy 2.0 no longer puts a new Note into the session of the task it is given (cascade_backrefs was removed): add it with session.add() where it is to be saved
            notes = [Note(task=task)]
        """,
        todos=("cascade_backrefs was removed",),
    )


@pytest.mark.parametrize(
    "code",
    [
        # added explicitly, before or after, alone or in a list
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note(task=task)
            session.add(note)
            other = Note(task=task)
            session.add_all([other])
            session.add(Note(task=task))
        """,
        # attached to the parent's own collection: a forward cascade, still there in 2.0
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note()
            task.notes.append(note)
        """,
        # a unidirectional relationship, a cascade without save-update, a viewonly one
        """
        from app.models import Log, Step, Task, View
        def f(session, task_id):
            task = session.get(Task, task_id)
            step = Step(task=task)
            log = Log(task=task)
            view = View(task=task)
        """,
        # the parent is new and added later: adding it cascades to its children in 2.0
        """
        from app.models import Note, Task
        def f(session):
            task = Task()
            note = Note(task=task)
            session.add(task)
        """,
        # new objects kept in a list, given a parent that is new too, added with it later
        """
        from app.models import Note, Task
        def f(session):
            task = Task()
            notes = [Note(task=task), Note(task=task)]
            session.add_all(notes)
        """,
        # not a relationship, None, and an object that is not new
        """
        from app.models import Note, Task
        def f(session, note, task_id):
            task = session.get(Task, task_id)
            a = Note(task_id=task.id)
            b = Note(task=None)
            note.task = task
        """,
        # a class of another library with the same attribute names
        """
        from thing import Note
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note(task=task)
        """,
    ],
)
def test_noop(code: str) -> None:
    _check_noop(code)


RUNTIME_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship
    Base = declarative_base()
    class Task(Base):
        __tablename__ = "tasks"
        id = Column(Integer, primary_key=True)
        notes = relationship("Note", backref="task")
    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        body = Column(String)
"""

RUNTIME_VIEWS = """
    from app.models import Note, Task
    def add_note(session):
        task = session.get(Task, 1)
        note = Note(task=task, body="hello")
        session.commit()
"""


def _notes_saved(views: str, monkeypatch: pytest.MonkeyPatch) -> int:
    models = types.ModuleType("app.models")
    exec(compile(_dedent(RUNTIME_MODELS), "app/models.py", "exec"), models.__dict__)
    monkeypatch.setitem(sys.modules, "app", types.ModuleType("app"))
    monkeypatch.setitem(sys.modules, "app.models", models)
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(models.Task(id=1))
        session.commit()
    with Session(engine) as session:
        exec_module(views).add_note(session)
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(models.Note))


@pytest.mark.filterwarnings("ignore:Object of type <Note> not in session")
def test_migrated_code_saves_what_1x_saved_through_the_backref(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On SQLAlchemy 2.x the original loses the note; the migrated code keeps it, as 1.x
    did (``tests/legacy_programs/plain_orm`` proves the 1.x side on SQLAlchemy 1.4)."""
    migrated = migrate_project(
        {"app.models": _dedent(RUNTIME_MODELS), "app.views": _dedent(RUNTIME_VIEWS)},
        target="2.0",
    )["app.views"].code
    assert "session.add(note)" in migrated
    assert _notes_saved(_dedent(RUNTIME_VIEWS), monkeypatch) == 0
    assert _notes_saved(migrated, monkeypatch) == 1


def test_empty_collections_give_no_parent_to_cascade_along() -> None:
    """``User(tasks=[])`` (which init-collections writes for --target async) hands no
    object: a second run must not take it for a parent of unknown session."""
    code = """
        from app.models import Note, User


        class Fixture:
            def build(self, session):
                self.user = User(tasks=[])
                session.add(self.user)
                note = Note(tags=(), author=None)
                session.add(note)
                return note
    """
    check_project({"app.models": MODELS, "app.fixture": code}, {"app.fixture": code}, target="2.0")


INIT_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer
    from sqlalchemy.orm import declarative_base, relationship
    Base = declarative_base()
    class Task(Base):
        __tablename__ = "tasks"
        id = Column(Integer, primary_key=True)
        notes = relationship("Note", backref="task")
        comments = relationship("Comment", backref="task")
        marks = relationship("Mark", backref="task")
    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        def __init__(self, body=None, task=None):
            self.body = body
            self.task = task
    class Comment(Base):
        __tablename__ = "comments"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        def __init__(self, task=None):
            if task:
                self.task_id = task if isinstance(task, int) else task.id
    class Mark(Base):
        __tablename__ = "marks"
        id = Column(Integer, primary_key=True)
        task_id = Column(ForeignKey("tasks.id"))
        def __init__(self, label, **kwargs):
            super().__init__(**kwargs)
            self.label = label
"""


def _check_init(before: str, after: str, todos: tuple[str, ...] = ()) -> None:
    check_project(
        {"app.models": INIT_MODELS, "app.views": before},
        {"app.views": after},
        target="2.0",
        todos=todos,
    )


def test_custom_init_assigning_the_relationship_or_passing_kwargs_on_is_added() -> None:
    _check_init(
        """
        from app.models import Mark, Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note(body="b", task=task)
            mark = Mark("x", task=task)
            session.commit()
        """,
        """
        from app.models import Mark, Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note(body="b", task=task)
            session.add(note)
            mark = Mark("x", task=task)
            session.add(mark)
            session.commit()
        """,
    )


def test_custom_init_doing_something_else_with_the_keyword_leaves_a_todo() -> None:
    """``Comment(task=task)`` runs the class's own ``__init__``, which only copies an id:
    1.x cascaded nothing, and adding the comment would now save what 1.x did not."""
    todo = (
        "# TODO(sqla-upgrade): Comment.__init__ takes task=: if it gives the new Comment a "
        "parent of that relationship, SQLAlchemy 2.0 no longer puts it into the parent's "
        "session (cascade_backrefs was removed): add it with session.add() where it is to "
        "be saved"
    )
    _check_init(
        """
        from app.models import Comment, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            comment = Comment(task=task)
            session.commit()
        """,
        f"""
        from app.models import Comment, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            {todo}
            comment = Comment(task=task)
            session.commit()
        """,
        todos=("Comment.__init__ takes task=",),
    )


def test_an_addition_and_a_todo_of_one_statement_are_both_written() -> None:
    """A keyword whose parent is known and one whose parent is not, in one constructor
    call: the TODO goes above the statement and the addition after it, on the first
    run (a second run must find nothing more to do)."""
    _check(
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            note = Note(task=task, author=find_author())
            session.commit()
        """,
        """
        from app.models import Note, Task
        def f(session, task_id):
            task = session.get(Task, task_id)
            # TODO(sqla-upgrade): SQLAlchemy 2.0 no longer puts a new Note into the session of the author it is given (cascade_backrefs was removed): add it with session.add() where it is to be saved
            note = Note(task=task, author=find_author())
            session.add(note)
            session.commit()
        """,
        todos=("cascade_backrefs was removed",),
    )
