from flask import Flask

from .config import Config
from .extensions import db, init_async_session


def create_app(config=None):
    app = Flask(__name__)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    db.init_app(app)
    init_async_session(app)

    from .main import bp as main_bp
    from .api import bp as api_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(api_bp, url_prefix="/api")

    from . import cli

    cli.register(app)

    @app.template_filter("datefmt")
    def datefmt(value):
        return value.strftime("%Y-%m-%d") if value else ""

    return app
