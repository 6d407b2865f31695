"""Crisis first: any text that reads as a crisis gets the crisis lines at once, in any state.

This router goes before every other, so nothing (a suggestion being typed, a search) can hold
a crisis back.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot import keyboards as kb
from bot.cases import texts
from bot.cases.service import Escalations
from bot.core import Tapestry
from bot.delivery import Priority, priority
from bot.handlers.filters import HasText
from bot.handlers.search import answer_question
from bot.polling import Receipt
from bot.replies import crisis_lines
from bot.safety.detector import Assessment

log = logging.getLogger(__name__)


class IsCrisis(Filter):
    """True for a text the CrisisAssessment middleware graded `crisis`."""

    async def __call__(self, message: Message, assessment: Assessment | None = None) -> bool:
        return assessment is not None and assessment.crisis


async def crisis(
    message: Message,
    app: Tapestry,
    locale: str,
    state: FSMContext,
    assessment: Assessment,
    escalations: Escalations,
    receipt: Receipt | None = None,
) -> None:
    log.warning("crisis message (%s)", ", ".join(assessment.reasons[:3]))
    with priority(Priority.CRISIS):
        await message.answer(crisis_lines(locale), reply_markup=kb.back_to_topics())
    # Only now the database: the lines must not wait for it, nor fail with it.
    assert message.from_user is not None
    raised = await escalations.raise_case(
        resident_id=message.from_user.id, language=locale, message_id=message.message_id,
        text=message.text or "", reason="crisis",
    )  # fmt: skip
    if receipt is not None:
        receipt.settle()
    if raised is not None:
        case, created = raised
        if not created:  # they are already in a case: their volunteer reads this too
            await escalations.from_resident(message, case.id)  # type: ignore[arg-type]
            return
        if escalations.has_volunteers():
            with priority(Priority.CRISIS):
                await message.answer(texts.resident_alerted())
    # Then whatever local help the message asks for ("he hits me, where can I go?").
    await state.set_state(None)
    await answer_question(message, app, locale, state, message.text or "", quiet=True)


def make_router() -> Router:
    """A fresh router (a router belongs to one dispatcher; tests build several)."""
    router = Router(name="safety")
    router.message.register(crisis, HasText(), IsCrisis())
    return router
