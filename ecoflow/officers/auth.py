"""Bearer-token authentication for API views."""

from functools import wraps

from flask import g, request

from ecoflow.errors import Unauthorized

from .services import officer_for_token


def login_required(view):
    """Sets g.officer from the `Authorization: Bearer <token>` header, or answers 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("需要登录：请提供 Authorization: Bearer <token>。", code="missing_token")
        g.officer = officer_for_token(token.strip())
        return view(*args, **kwargs)

    return wrapper
