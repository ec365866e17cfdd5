"""Web forms: 报到 and closing a whistle."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

REQUIRED = _l("This field is required.")


class ReportInForm(FlaskForm):
    who_will_act = TextAreaField(_l("Who will act, and how"), [InputRequired(REQUIRED), Length(max=1000)])


class CloseWhistleForm(FlaskForm):
    joint_action = TextAreaField(_l("Joint action taken"), [InputRequired(REQUIRED), Length(max=4000)])
