"""The norm as data: loads workflows/ into the lifecycle machine, the clocks, the calendar."""

from .calendar import Period, WorkCalendar
from .loader import Action, Grade, Norm, NormError, load_norm

__all__ = ["Action", "Grade", "Norm", "NormError", "Period", "WorkCalendar", "load_norm"]
