from flask import Flask, g, jsonify, request

from .extensions import db


def create_app(database_uri, **overrides):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri
    app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
    app.config.update(overrides)
    db.init_app(app)

    from . import cli
    from .views.api import api
    from .views.web import web

    app.register_blueprint(api)
    app.register_blueprint(web)
    cli.init_app(app)

    from .models import Project, User

    @app.before_request
    def load_user():
        g.user = None
        username = request.headers.get("X-User")
        if username:
            g.user = User.query.filter_by(username=username).first()

    @app.teardown_request
    def log_teardown(exc):
        g.pop("user", None)
        if exc is not None:
            db.session.rollback()

    @app.context_processor
    def inject_counts():
        return {"project_count": Project.query.filter_by(archived=False).count()}

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith("/api/"):
            return jsonify(error="not found", detail=error.description), 404
        return "page not found", 404

    return app
