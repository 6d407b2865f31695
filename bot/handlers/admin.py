"""What coordinators (admins) do in the bot: manage volunteers and see the crisis record.

Every command and button checks the admin role in the database; to anyone else the commands
are unknown, as they are to residents.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from babel.units import format_unit

from bot import keyboards as kb
from bot.cases import texts
from bot.cases.service import Escalations
from bot.core import Tapestry
from bot.db import cases as db
from bot.handlers.filters import HasRole, has_role
from bot.handlers.volunteer import INVITE_PREFIX

STATS_DAYS = 30


def _minutes(span: dt.timedelta | None, locale: str) -> str:
    """ "2.5 min", "2,5 хв": Babel knows the unit in every language."""
    if span is None:
        return "–"
    minutes = span.total_seconds() / 60
    return format_unit(minutes, "duration-minute", length="short", format="0.0", locale=locale)


async def volunteers_command(message: Message, app: Tapestry) -> None:
    async with app.sessions() as session:
        staff = await db.list_staff(session)
    volunteers = [m for m in staff if m.is_volunteer]
    lines = [_("<b>Volunteers</b>: {count}").format(count=len(volunteers))]
    keyboard = []
    for member in volunteers:
        duty = _("on duty") if member.on_duty else _("off duty")
        name = escape(member.alias or _("no alias yet"))
        lines.append(f"• {name} · <code>{member.telegram_id}</code> · {duty}")
        keyboard.append(
            kb.remove_volunteer(
                member.telegram_id,
                _("Remove {name}").format(name=member.alias or member.telegram_id),
            )
        )
    lines += [
        "",
        _("Add one with /addvolunteer followed by their Telegram user id, or send them a "
          "one-time link made with /invite. Remove one with /removevolunteer and their id."),
    ]  # fmt: skip
    await message.answer(
        "\n".join(lines),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None,
    )


async def _change_volunteer(
    message: Message, command: CommandObject, app: Tapestry, escalations: Escalations, add: bool
) -> None:
    argument = (command.args or "").strip()
    if not argument.isdigit():
        await message.answer(
            _("Please give a Telegram user id (digits only), for example: /{command} 123456789")
            .format(command=command.command)
        )  # fmt: skip
        return
    async with app.sessions() as session:
        changed = await db.set_volunteer(session, telegram_id=int(argument), volunteer=add)
        await session.commit()
    await escalations.refresh()
    if add:
        reply = _("{id} is now a volunteer.") if changed else _("{id} was already a volunteer.")
    else:
        reply = _("{id} is no longer a volunteer.") if changed else _("{id} was not a volunteer.")
    await message.answer(reply.format(id=argument))


async def add_volunteer(
    message: Message, command: CommandObject, app: Tapestry, escalations: Escalations
) -> None:
    return await _change_volunteer(message, command, app, escalations, add=True)


async def remove_volunteer_command(
    message: Message, command: CommandObject, app: Tapestry, escalations: Escalations
) -> None:
    return await _change_volunteer(message, command, app, escalations, add=False)


async def remove_volunteer_button(
    query: CallbackQuery, callback_data: kb.StaffAction, app: Tapestry, escalations: Escalations
) -> None:
    if not await has_role(app, query.from_user.id, "admin"):
        await query.answer(_("This button is only for coordinators."), show_alert=True)
        return
    async with app.sessions() as session:
        changed = await db.set_volunteer(session, telegram_id=callback_data.user, volunteer=False)
        await session.commit()
    await escalations.refresh()
    if changed:
        await query.answer(_("Removed."))
    else:
        await query.answer(_("Already removed."))


async def invite_command(
    message: Message, app: Tapestry, bot: Bot, escalations: Escalations
) -> None:
    assert message.from_user is not None
    async with app.sessions() as session:
        token = await db.create_invite(
            session, created_by=message.from_user.id, now=escalations.clock()
        )
        await session.commit()
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{token}"
    await message.answer(
        _("Send this link to the new volunteer. It works once, for {days} days:\n{link}").format(
            days=db.INVITE_DAYS, link=escape(link)
        )
    )


async def cases_command(
    message: Message, app: Tapestry, escalations: Escalations, locale: str
) -> None:
    since = escalations.clock() - dt.timedelta(days=STATS_DAYS)
    async with app.sessions() as session:
        stats = await db.case_stats(session, since=since)
    now = escalations.clock()

    def waited(case_raised: dt.datetime) -> str:
        return _minutes(now - db.utc(case_raised), locale)

    lines = [
        _("<b>Crisis cases</b>"),
        _("Waiting for a volunteer: {count}").format(count=len(stats.unclaimed)),
    ]
    for case in stats.unclaimed:
        lines.append(
            "• "
            + _("{resident} · {language} · waiting {waited}").format(
                resident=texts.resident_label(case),
                language=texts.language_label(case.language, locale),
                waited=waited(case.raised),
            )
        )
    lines.append(_("With a volunteer: {count}").format(count=len(stats.taken)))
    for case in stats.taken:
        lines.append(
            "• "
            + _("{resident} · {language} · with {alias}").format(
                resident=texts.resident_label(case),
                language=texts.language_label(case.language, locale),
                alias=escape(texts.volunteer_name(escalations.alias(case.volunteer_id or 0))),
            )
        )
    lines += [
        "",
        _("Cases raised in the last {days} days: {count}").format(
            days=STATS_DAYS, count=stats.raised_in_period
        ),
        _("Median time until a volunteer took the case: {time}").format(
            time=_minutes(stats.median_to_take, locale)
        ),
        _("Median time until the first reply: {time}").format(
            time=_minutes(stats.median_to_answer, locale)
        ),
    ]
    await message.answer("\n".join(lines))


def make_router() -> Router:
    router = Router(name="admin")
    admin = HasRole("admin")
    router.message.register(volunteers_command, Command("volunteers"), admin)
    router.message.register(add_volunteer, Command("addvolunteer"), admin)
    router.message.register(remove_volunteer_command, Command("removevolunteer"), admin)
    router.message.register(invite_command, Command("invite"), admin)
    router.message.register(cases_command, Command("cases"), admin)
    router.callback_query.register(remove_volunteer_button, kb.StaffAction.filter())
    return router
