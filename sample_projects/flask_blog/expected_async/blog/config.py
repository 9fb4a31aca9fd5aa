import os
import tempfile


def default_database_url():
    path = os.path.join(tempfile.gettempdir(), "flask_blog.sqlite")
    return "sqlite:///" + path


class Config(object):
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or default_database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    POSTS_PER_PAGE = 5
    API_PER_PAGE = 10
    FEED_SIZE = 20


class TestingConfig(Config):
    TESTING = True
