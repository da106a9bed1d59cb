"""Learning's composition root: the register of learning actions, fed by events and
officers, chasing leads and settling each case's learning."""

from __future__ import annotations

from complaints_learning import themes, you_said_we_did
from complaints_learning.api import register_api
from complaints_learning.chasing import register_chasing
from complaints_learning.handlers import register_handlers
from complaints_learning.models import (
    ActionCase,
    ActionHistory,
    Base,
    LearningAction,
    LearningCase,
    ProgressNote,
)
from complaints_learning.register import Register
from complaints_shared.contracts.events import (
    CaseLearningSettled,
    LeadChased,
    LearningActionChanged,
)
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("learning", Base.metadata, settings)
    service.publishes(LearningActionChanged, LeadChased, CaseLearningSettled)
    access = service.holds_cases()
    service.exports(
        ActionCase.case_id,
        LearningCase.case_id,
        linked={
            LearningAction.id: ActionCase.action_id,
            ProgressNote.action_id: ActionCase.action_id,
            ActionHistory.action_id: ActionCase.action_id,
        },
    )
    register = Register(service)
    register_handlers(service, register)
    register_chasing(service)
    register_api(service, register, access)
    you_said_we_did.register(service)
    themes.register(service)
    return service
