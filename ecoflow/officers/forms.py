"""The login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), [InputRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), [InputRequired(_l("Enter your password.")), Length(max=256)])
