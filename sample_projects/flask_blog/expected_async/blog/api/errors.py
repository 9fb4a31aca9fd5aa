from flask import jsonify
from werkzeug.exceptions import HTTPException

from . import bp
from ..services import ValidationError


def error_response(status, message):
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.errorhandler(ValidationError)
def validation_error(exc):
    return error_response(400, str(exc))


@bp.errorhandler(HTTPException)
def http_error(exc):
    return error_response(exc.code, exc.name)
