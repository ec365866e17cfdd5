"""The norm of the running application: the only code that reads the loaded norm and its machine
from the app. Every other module asks here."""

from __future__ import annotations

from flask import Flask, current_app
from transitions import Machine

from .loader import Norm

_NORM, _MACHINE = "ecoflow.norm", "ecoflow.machine"


def install(app: Flask, norm: Norm, machine: Machine):
    """Make `norm` and its lifecycle machine the running app's (create_app, once)."""
    app.extensions[_NORM], app.extensions[_MACHINE] = norm, machine


def get_norm() -> Norm:
    """The norm loaded from workflows/ at start-up."""
    return norm_of(current_app)


def norm_of(app: Flask) -> Norm:
    """The norm of `app` (while it is being built, before any app context)."""
    return app.extensions[_NORM]


def get_machine() -> Machine:
    """The one lifecycle machine every complaint shares."""
    return current_app.extensions[_MACHINE]
