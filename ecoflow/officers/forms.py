"""The login, password and administration forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), [InputRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), [InputRequired(_l("Enter your password.")), Length(max=256)])


class PasswordForm(FlaskForm):
    username = StringField(_l("Username"), [InputRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(
        _l("Current or one-time password"), [InputRequired(_l("Enter your password.")), Length(max=256)]
    )
    new_password = PasswordField(
        _l("New password"),
        [InputRequired(_l("Enter the new password.")), Length(max=256)],
        description=_l("At least 10 characters, not your username, not a common password."),
    )
    confirm = PasswordField(
        _l("New password again"),
        [InputRequired(_l("Enter the new password.")), EqualTo("new_password", _l("The two new passwords differ."))],
    )


class UnitForm(FlaskForm):
    code = StringField(_l("Unit code (letters and digits)"), [InputRequired(_l("Required.")), Length(max=40)])
    name = StringField(_l("Unit name"), [InputRequired(_l("Required.")), Length(max=100)])
    leader = SelectField(_l("Leader in charge"), choices=[])


class UnitEditForm(FlaskForm):
    name = StringField(_l("Unit name"), [InputRequired(_l("Required.")), Length(max=100)])
    leader = SelectField(_l("Leader in charge"), choices=[])


class OfficerForm(FlaskForm):
    username = StringField(_l("Username"), [InputRequired(_l("Required.")), Length(max=64)])
    name = StringField(_l("Name"), [InputRequired(_l("Required.")), Length(max=50)])
    phone = StringField(_l("Phone"), [Optional(), Length(max=20)])
    unit = SelectField(_l("Unit"), choices=[])
    roles = CheckboxesField(_l("Roles"), choices=[])


class OfficerEditForm(FlaskForm):
    name = StringField(_l("Name"), [InputRequired(_l("Required.")), Length(max=50)])
    phone = StringField(_l("Phone"), [Optional(), Length(max=20)])
    unit = SelectField(_l("Unit"), choices=[])
    roles = CheckboxesField(_l("Roles"), choices=[])
