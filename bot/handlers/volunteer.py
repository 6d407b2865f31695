"""What volunteers do: take a case, talk (bot/handlers/relay.py), note, hand back, close;
go on and off duty; choose the alias residents see; join with an invite link.

Every command and button checks the role in the database: callback data can be forged, and
a resident pressing a copied "Take this case" button changes nothing.
"""

from __future__ import annotations

import logging
from html import escape

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.cases import texts
from bot.cases.service import Escalations
from bot.core import Tapestry
from bot.db import cases as db
from bot.db.tables import Case
from bot.handlers.filters import HasRole, HasText, has_role

log = logging.getLogger(__name__)
MAX_ALIAS = 40
INVITE_PREFIX = "join_"


class Noting(StatesGroup):
    writing = State()  # the next text is a private note on the case in the state's data


async def not_for_you(query: CallbackQuery) -> None:
    await query.answer(_("This button is only for volunteers."), show_alert=True)


async def take_case(
    query: CallbackQuery, callback_data: kb.TakeCase, app: Tapestry, escalations: Escalations
) -> None:
    if not await has_role(app, query.from_user.id, "volunteer"):
        log.warning("user %s pressed a claim button without the role", query.from_user.id)
        await not_for_you(query)
        return
    won, case = await escalations.take(callback_data.case, query.from_user.id)
    if case is None:
        await query.answer(_("This case no longer exists."), show_alert=True)
    elif won:
        await query.answer(_("The case is yours. Thank you."))
    elif case.volunteer_id == query.from_user.id:
        await query.answer(_("You already have this case."))
    elif case.status == db.CLOSED:
        await query.answer(_("This case is already closed."), show_alert=True)
    else:
        alias = escalations.alias(case.volunteer_id) if case.volunteer_id else None
        await query.answer(
            _("Someone else took it first: {alias}.").format(alias=texts.volunteer_name(alias)),
            show_alert=True,
        )


async def _own_case(app: Tapestry, case_id: int, volunteer_id: int) -> Case | None:
    async with app.sessions() as session:
        case = await session.get(Case, case_id)
    if case is None or case.volunteer_id != volunteer_id or case.status != db.TAKEN:
        return None
    return case


async def case_action(
    query: CallbackQuery,
    callback_data: kb.CaseAction,
    app: Tapestry,
    escalations: Escalations,
    state: FSMContext,
) -> None:
    user = query.from_user.id
    if not await has_role(app, user, "volunteer"):
        await not_for_you(query)
        return
    case = await _own_case(app, callback_data.case, user)
    if case is None:
        await query.answer(_("This case is not yours any more."), show_alert=True)
        return
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if callback_data.action == "note":
        await state.set_state(Noting.writing)
        await state.update_data(note_case=case.id)
        await message.answer(
            _("Write your note. Only volunteers and coordinators will see it, never the resident.")
        )
    elif callback_data.action == "back":
        if await escalations.hand_back(case.id, user):  # type: ignore[arg-type]
            await message.answer(
                _("{resident} is back in the queue. Thank you.").format(
                    resident=texts.resident_label(case)
                )
            )
    elif callback_data.action == "close":
        await message.answer(
            _("How did it end for {resident}?").format(resident=texts.resident_label(case)),
            reply_markup=kb.case_outcomes(case.id),  # type: ignore[arg-type]
        )
    else:
        await query.answer(_("This button no longer works."))


async def write_note(
    message: Message, app: Tapestry, escalations: Escalations, state: FSMContext
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    assert message.from_user is not None
    saved = await escalations.add_note(
        int(data.get("note_case", 0)), message.from_user.id, message.text or ""
    )
    if saved:
        await message.answer(_("Note saved."))
    else:
        await message.answer(_("This case is not yours any more, so the note was not saved."))


async def close_case(
    query: CallbackQuery, callback_data: kb.CloseCase, app: Tapestry, escalations: Escalations
) -> None:
    user = query.from_user.id
    labels = kb.outcome_labels()
    if not await has_role(app, user, "volunteer"):
        await not_for_you(query)
        return
    if callback_data.outcome not in labels:
        await query.answer(_("This button no longer works."))
        return
    closed = await escalations.close(callback_data.case, callback_data.outcome, by_volunteer=user)
    if closed is None:
        await query.answer(_("This case is not yours any more."), show_alert=True)
        return
    await query.answer(_("Closed. Thank you for being there."))
    if isinstance(query.message, Message):
        await query.message.answer(
            texts.volunteer_case_closed(closed, labels[callback_data.outcome])
        )


async def duty_command(message: Message, command: CommandObject, app: Tapestry) -> None:
    assert message.from_user is not None
    choice = (command.args or "").strip().lower()
    if choice not in ("on", "off"):
        await message.answer(_("Use /duty on or /duty off."))
        return
    async with app.sessions() as session:
        await db.update_staff(session, telegram_id=message.from_user.id, on_duty=choice == "on")
        await session.commit()
    if choice == "on":
        await message.answer(_("You're on duty: crisis alerts come to you first. Thank you."))
    else:
        await message.answer(_("You're off duty. Alerts reach you only when nobody is on duty."))


async def alias_command(
    message: Message, command: CommandObject, app: Tapestry, escalations: Escalations
) -> None:
    assert message.from_user is not None
    alias = " ".join((command.args or "").split())[:MAX_ALIAS]
    if not alias or alias.startswith("/"):
        await message.answer(
            _("Send /alias followed by the name residents should see, for example: /alias Sam")
        )
        return
    async with app.sessions() as session:
        await db.update_staff(session, telegram_id=message.from_user.id, alias=alias)
        await session.commit()
    await escalations.refresh()
    await message.answer(_("Residents will see you as {alias}.").format(alias=escape(alias)))


async def join_with_invite(
    message: Message, command: CommandObject, app: Tapestry, escalations: Escalations
) -> None:
    args = command.args or ""
    if not args.startswith(INVITE_PREFIX) or message.from_user is None:
        raise SkipHandler  # an ordinary /start
    async with app.sessions() as session:
        joined = await db.use_invite(
            session, token=args[len(INVITE_PREFIX) :], telegram_id=message.from_user.id,
            now=escalations.clock(),
        )  # fmt: skip
        await session.commit()
    if not joined:
        await message.answer(_("This invite link has been used or has expired."))
        return
    await escalations.refresh()
    await message.answer(
        _(
            "Welcome to the volunteers! Choose the name residents will see with /alias, for "
            "example /alias Sam. Then use /duty on when you can take crisis alerts."
        )
    )


def make_router() -> Router:
    router = Router(name="volunteer")
    router.message.register(join_with_invite, CommandStart(deep_link=True))
    router.callback_query.register(take_case, kb.TakeCase.filter())
    router.callback_query.register(case_action, kb.CaseAction.filter())
    router.callback_query.register(close_case, kb.CloseCase.filter())
    router.message.register(write_note, StateFilter(Noting.writing), HasText())
    # To anyone else these are unknown commands, as for any resident.
    router.message.register(duty_command, Command("duty"), HasRole("volunteer"))
    router.message.register(alias_command, Command("alias"), HasRole("volunteer"))
    return router
