from flask import Blueprint

bp = Blueprint("api", __name__)

from . import errors, users, posts  # noqa: E402,F401
