"""Web forms: 报到 and closing a whistle."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from ecoflow.rest import is_printable

REQUIRED = _l("This field is required.")


def printable(form, field):
    """The API's refusal of control characters, for these forms that write without its schemas."""
    if field.data and not is_printable(field.data):
        raise ValidationError(_l("Remove the control characters from this text."))


class ReportInForm(FlaskForm):
    who_will_act = TextAreaField(_l("Who will act, and how"), [InputRequired(REQUIRED), Length(max=1000), printable])


class CloseWhistleForm(FlaskForm):
    joint_action = TextAreaField(_l("Joint action taken"), [InputRequired(REQUIRED), Length(max=4000), printable])
