"""await: methods a third-party base class's own code calls stay synchronous.

WTForms calls a form's inline validators (``validate_<field>``) and a field's
``process_formdata``, ``populate_obj``... synchronously, ``json`` an encoder's
``default``, ``logging`` a handler's ``emit``: made ``async def``, they would be
coroutines nobody awaits (a uniqueness check that never raises). They are blocked like
Flask-Login's loaders: in a Flask-SQLAlchemy app they keep the synchronous ``db.session``
(with a TODO), elsewhere their I/O gets a TODO. Other methods of such classes, which the
project calls itself, become async as before.
"""

from __future__ import annotations

from tests.harness import check_project, check_transformed

EXT = """
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(64))
"""


def test_an_inline_validator_of_a_flask_form_keeps_db_session() -> None:
    forms = """
        from flask import Blueprint
        from flask_wtf import FlaskForm
        from wtforms import StringField
        from wtforms.validators import ValidationError

        from .ext import User, db

        bp = Blueprint("users", __name__)


        class RegistrationForm(FlaskForm):
            username = StringField("Username")

            def validate_username(self, username):
                if User.query.filter_by(username=username.data).first() is not None:
                    raise ValidationError("Please use a different username.")


        @bp.route("/register", methods=["POST"])
        def register():
            form = RegistrationForm()
            if form.validate_on_submit():
                db.session.add(User(username=form.username.data))
                db.session.commit()
                return "ok"
            return "bad"
    """
    expected = """
        from flask import Blueprint
        from flask_wtf import FlaskForm
        from wtforms import StringField
        from wtforms.validators import ValidationError

        from .ext import User, async_session, db
        from sqlalchemy import select

        bp = Blueprint("users", __name__)


        class RegistrationForm(FlaskForm):
            username = StringField("Username")

            def validate_username(self, username):
                # TODO(sqla-upgrade): WTForms calls validate_username() synchronously: it keeps the synchronous db.session, so objects it loads belong to that session, not to the views' async_session: relate them to new objects by id, or use `await async_session.merge(obj)` in the async code
                if db.session.scalars(select(User).filter_by(username=username.data).limit(1)).first() is not None:
                    raise ValidationError("Please use a different username.")


        @bp.route("/register", methods=["POST"])
        async def register():
            form = RegistrationForm()
            if form.validate_on_submit():
                async_session.add(User(username=form.username.data))
                await async_session.commit()
                return "ok"
            return "bad"
    """
    check_project(
        {"app.__init__": "", "app.ext": EXT, "app.forms": forms},
        {"app.forms": expected},
        todos=["WTForms calls validate_username() synchronously"],
    )


def test_a_field_method_wtforms_calls_stays_synchronous_through_a_project_base() -> None:
    """``process_formdata`` of a field deriving from a project field class deriving from
    a WTForms one; the field's own ``lookup``, called by the project, becomes async."""
    check_transformed(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from wtforms import fields


        class TextField(fields.StringField):
            pass


        class TagField(TextField):
            def __init__(self, session: Session, **kwargs):
                super().__init__(**kwargs)
                self.session = session

            def process_formdata(self, valuelist):
                self.data = self.session.scalar(select(Tag).where(Tag.name == valuelist[0]))

            def lookup(self, name):
                return self.session.scalar(select(Tag).where(Tag.name == name))


        def find(field: TagField, name):
            return field.lookup(name)
        """,
        """
        from sqlalchemy import select
        from wtforms import fields
        from sqlalchemy.ext.asyncio import AsyncSession


        class TextField(fields.StringField):
            pass


        class TagField(TextField):
            def __init__(self, session: AsyncSession, **kwargs):
                super().__init__(**kwargs)
                self.session = session

            def process_formdata(self, valuelist):
                # TODO(sqla-upgrade): this call is now a coroutine but cannot be awaited here (WTForms calls process_formdata() synchronously); use an async method or run_sync
                self.data = self.session.scalar(select(Tag).where(Tag.name == valuelist[0]))

            async def lookup(self, name):
                return await self.session.scalar(select(Tag).where(Tag.name == name))


        async def find(field: TagField, name):
            return await field.lookup(name)
        """,
        target="async",
        todos=["WTForms calls process_formdata() synchronously"],
    )


def test_a_logging_handler_emit_stays_synchronous() -> None:
    check_transformed(
        """
        import logging

        from sqlalchemy.orm import Session


        class DbHandler(logging.Handler):
            def __init__(self, session: Session):
                super().__init__()
                self.session = session

            def emit(self, record):
                self.session.add(LogRow(message=record.getMessage()))
                self.session.commit()
        """,
        """
        import logging
        from sqlalchemy.ext.asyncio import AsyncSession


        class DbHandler(logging.Handler):
            def __init__(self, session: AsyncSession):
                super().__init__()
                self.session = session

            def emit(self, record):
                self.session.add(LogRow(message=record.getMessage()))
                # TODO(sqla-upgrade): this call is now a coroutine but cannot be awaited here (logging calls emit() synchronously); use an async method or run_sync
                self.session.commit()
        """,
        target="async",
        todos=["logging calls emit() synchronously"],
    )


def test_same_named_methods_of_other_classes_become_async() -> None:
    """``validate_order`` and ``emit`` of classes deriving from nothing third-party."""
    check_transformed(
        """
        from sqlalchemy.orm import Session


        class Checks:
            def __init__(self, session: Session):
                self.session = session

            def validate_order(self, order):
                return self.session.get(Order, order.id) is not None

            def emit(self, row):
                self.session.add(row)
                self.session.commit()
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncSession


        class Checks:
            def __init__(self, session: AsyncSession):
                self.session = session

            async def validate_order(self, order):
                return await self.session.get(Order, order.id) is not None

            async def emit(self, row):
                self.session.add(row)
                await self.session.commit()
        """,
        target="async",
    )
