"""One action being taken, as the engine hands it to each of the action's effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ecoflow.complaints.models import Complaint
from ecoflow.norm import Action, Norm
from ecoflow.officers.models import Officer


@dataclass
class Step:
    """One action being taken: who, on what, with which fields, and what goes on the record."""

    norm: Norm
    actor: Officer | None  # None: EcoFlow itself (the exchange, the ladder)
    complaint: Complaint
    action: Action
    data: dict
    now: datetime
    record: dict = field(default_factory=dict)
