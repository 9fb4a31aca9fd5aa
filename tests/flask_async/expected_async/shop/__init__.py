from flask import Flask

from .ext import db, init_async_session


def create_app(database_url):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    init_async_session(app)

    from . import cli, views

    app.register_blueprint(views.bp)
    cli.register(app)
    return app
