"""Taking an action of workflows/lifecycle.yaml on a case: the rules checked (casework/access.py),
the action's effects run in the order of one table, the state moved by the shared machine, the
clocks stopped and started, the event appended to the trail. Flushes; the caller commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from ecoflow.complaints import effects, leads
from ecoflow.complaints.models import Complaint
from ecoflow.complaints.notices import tell_complainant
from ecoflow.errors import Conflict, NotFound
from ecoflow.escalation import services as escalation
from ecoflow.evidence import services as evidence
from ecoflow.extensions import db
from ecoflow.intake.callbacks import tell_centre
from ecoflow.norm import Norm, NormError
from ecoflow.norm.current import get_machine, get_norm
from ecoflow.officers.models import Officer
from ecoflow.petitions.documents import issue_documents

from . import clocks, instructions, petitions
from .access import PRECONDITIONS, check_can_view, refusal
from .step import Step
from .trail import record_event

Effect = Callable[[Step], None]

# What each action does beyond moving the state and its clocks, run in this order. An action not
# listed only records its fields, so a new record-only action in workflows/ needs no code here.
# create_app refuses to start when an entry names an action the norm lacks or lists an effect twice.
# tell_centre queues the 回单 to the hotline centre the case came from (intake/callbacks.py),
# tell_complainant the SMS to the complainant (complaints/notices.py): last, when the action's own
# effects have run.
EFFECTS: dict[str, tuple[Effect, ...]] = {
    "accept": (leads.tell_accepted, petitions.start_petition_clocks, issue_documents, tell_complainant),
    "reject": (issue_documents, tell_centre),
    "merge": (effects.merge_case,),
    "grade": (effects.grade_case, escalation.suggest_ledger_leader),
    "assign": (effects.assign_case, escalation.suggest_ledger_leader, escalation.tell_officers),
    "sign": (tell_centre,),
    "reassign": (effects.reassign_case, escalation.tell_officers),
    "regrade": (effects.regrade_case, escalation.suggest_ledger_leader, escalation.tell_officers),
    "return": (escalation.tell_officers, effects.return_case),
    "request_extension": (clocks.request_extension, tell_centre),
    "approve_extension": (clocks.approve_extension, issue_documents, escalation.tell_officers, tell_centre),
    "pause": (clocks.pause,),
    "resume": (clocks.resume,),
    "supervise": (escalation.open_supervision,),
    "whistle": (escalation.blow_whistle_by_hand,),
    "reply": (leads.tell_result, petitions.record_answer, issue_documents, tell_centre, tell_complainant),
    "follow_up": (escalation.tell_officers, tell_centre, tell_complainant),
    "verify_close": (tell_centre, tell_complainant),
    "reopen": (escalation.tell_officers, tell_centre),
    "transfer": (leads.send_lead, tell_centre),
    "sign_lead": (leads.tell_signed,),
    "return_lead": (leads.tell_returned,),
    "name_leader": (escalation.name_ledger_leader,),
    "instruct": (instructions.instruct,),
    "report_back": (instructions.report_back,),
    "request_review": (petitions.start_petition_clocks,),
    "review_reply": (petitions.record_answer, issue_documents),
    "request_recheck": (petitions.start_petition_clocks,),
    "recheck_reply": (petitions.record_answer, issue_documents),
}


def _unresolved(event) -> bool:
    return effects.is_unresolved(event.kwargs["data"])


def _on_ledger(event) -> bool:
    return event.model.is_on_ledger


def _received_lead(event) -> bool:
    return event.model.is_received_lead


# The conditions that outcomes of workflows/lifecycle.yaml name in `when`.
CONDITIONS = {"unresolved": _unresolved, "on_ledger": _on_ledger, "received_lead": _received_lead}


def check_tables(norm: Norm):
    """Raise NormError naming the entry when EFFECTS or access.PRECONDITIONS names an action the norm
    lacks (renamed or misspelt in workflows/lifecycle.yaml, it would silently lose its effects or its
    guards) or lists a function twice."""
    tables = (("casework/engine.py", "EFFECTS", "gives effects to", EFFECTS),
              ("casework/access.py", "PRECONDITIONS", "guards with", PRECONDITIONS))  # fmt: skip
    for name in norm.inbox["actions"]:
        if escalation.tell_officers not in EFFECTS.get(name, ()):
            raise NormError(f"workflows/inbox.yaml tells officers of '{name}', whose row in casework/engine.py's "
                            "EFFECTS lacks escalation.tell_officers")  # fmt: skip
    for where, table_name, does, table in tables:
        for name, entry in table.items():
            functions = ", ".join(f.__name__ for f in entry)
            if name not in norm.actions:
                raise NormError(f"workflows/lifecycle.yaml has no action '{name}', which {where}'s {table_name} "
                                f"{does} ({functions})")  # fmt: skip
            twice = sorted({f.__name__ for f in entry if entry.count(f) > 1})
            if twice:
                raise NormError(f"{where}: {table_name}['{name}'] lists {', '.join(twice)} more than once")


def perform_action(actor: Officer | None, complaint: Complaint, name: str, data: dict, now: datetime) -> Complaint:
    """Take action `name` on `complaint` with the validated fields `data` (which include the
    `version` the caller saw). Raises and changes nothing when the norm does not allow it.
    `actor` None: EcoFlow itself (the exchange, the ladder) takes an action of the role `system`."""
    norm = get_norm()
    if actor is not None:
        # Whoever acts on the case at this moment goes first: wait for their commit, then read the case
        # as they left it, so that the version check below refuses (409) what they already did, before
        # any effect reads a pause, clock or extension they closed.
        locked = select(Complaint.version).where(Complaint.id == complaint.id).with_for_update()
        if db.session.scalar(locked) != complaint.version:
            db.session.refresh(complaint)
        check_can_view(actor, complaint)
    action = norm.actions.get(name)
    if action is None:
        raise NotFound(f"没有名为 {name} 的操作。", {"actions": list(norm.actions)}, code="unknown_action")
    error = refusal(actor, complaint, action, None if actor is None else data["version"])
    if error is not None:
        raise error
    given = {k: v for k, v in data.items() if k not in ("version", "attachments")}
    step = Step(norm, actor, complaint, action, given, now)
    step.record.update(step.data)
    # Any action may carry uploads of the case (`attachments: [id, …]`): one step for every action,
    # not an entry per action in EFFECTS. Checked before any effect; their hashes go on the record.
    attachments = evidence.check_attachments(step, data.get("attachments", []))
    from_state = complaint.state
    for effect in EFFECTS.get(name, ()):
        effect(step)
    if not get_machine().events[name].trigger(complaint, data=step.data):
        raise Conflict(f"当前不能“{action.label}”。", {"state": complaint.state}, code="action_not_allowed")

    outcome = action.outcome_to(complaint.state) if action.outcomes else None
    if outcome and outcome.reopens:
        complaint.reopen_count += 1
        clocks.restart_clocks_on_reopen(step)
    clocks.stop_clocks(complaint, name, now)
    clocks.start_clocks_on(step)
    if outcome and norm.states[complaint.state].get("final"):
        clocks.stop_clocks(complaint, name, now, every=True)
    complaint.closed_at = now if complaint.state == "closed" else None
    complaint.updated_at = now
    event = record_event(complaint, actor, name, from_state, step.record, now)
    evidence.tie_attachments(attachments, event)
    if complaint.state != from_state:
        if norm.states[complaint.state].get("final"):
            escalation.end_whistles(complaint, now)  # a case that ends ends its whistles, whichever action
        # A case transferred out that closes or reopens: the receiver's case follows it.
        leads.tell_receiver(step, from_state, reopened=bool(outcome and outcome.reopens))
    db.session.flush()
    return complaint
