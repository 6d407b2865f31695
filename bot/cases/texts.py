"""What the bot says about a crisis case, to the resident and to the volunteers.

Each function is called inside the reader's locale: the resident's language for the resident,
the volunteer's own for the volunteer.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from aiogram.utils.i18n import gettext as _
from babel import Locale
from babel.dates import format_datetime

from bot.checkins import texts as check_in_texts
from bot.db.cases import utc
from bot.db.tables import Case
from bot.i18n import isolate
from bot.languages import native_name
from bot.replies import crisis_lines


def resident_label(case: Case) -> str:
    return _("Resident #{case}").format(case=case.id)


def language_label(code: str, reader_locale: str) -> str:
    """The resident's language named for the reader, and in itself: "Arabic (العربية)"."""
    try:
        name = Locale.parse(code).get_display_name(reader_locale) or code
    except ValueError:
        name = code
    own = native_name(code)
    return name if own == name else f"{name} ({isolate(own, reader_locale)})"


def volunteer_name(alias: str | None) -> str:
    return alias or _("A volunteer")


def alert_text(
    case: Case, reader_locale: str, timezone: dt.tzinfo, waited_minutes: int | None = None
) -> str:
    """The alert a volunteer gets: language, time, what the resident wrote."""
    when = format_datetime(utc(case.raised), "EEE d MMM, HH:mm", tzinfo=timezone,
                           locale=reader_locale)  # fmt: skip
    headline = {
        "crisis": _("🚨 <b>Someone may be in crisis</b>"),
        "help": _("🚨 <b>Someone pressed “I need help now”</b>"),
    }.get(case.reason, _("💬 <b>Someone would like to talk to a volunteer</b>"))
    lines = [headline]
    if waited_minutes is not None:
        lines.append(
            _("⏰ Still nobody on it after {minutes} minutes.").format(minutes=waited_minutes)
        )
    lines += [
        _("Case: {resident}").format(resident=resident_label(case)),
        _("Language: {language}").format(language=language_label(case.language, reader_locale)),
        _("Time: {time}").format(time=isolate(when, reader_locale)),
    ]
    if case.text:
        lines += [_("They wrote:"), f"<blockquote>{escape(case.text[:3000])}</blockquote>"]
    return "\n".join(lines)


def taken_note(alias: str | None, by_reader: bool) -> str:
    if by_reader:
        return _("✅ You took this case. Write in this chat and I'll pass it on.")
    return _("✅ Taken by {alias}.").format(alias=escape(volunteer_name(alias)))


def closed_note() -> str:
    return _("This case is no longer waiting.")


def resident_alerted() -> str:
    return _(
        "I've let our volunteers know. A person will join you here as soon as one is free. "
        "You can keep writing to me in the meantime."
    )


def resident_waiting() -> str:
    return _("I've kept this for the volunteer who joins you. Someone will be with you soon.")


def resident_joined(alias: str | None) -> str:
    if alias is None:
        return _(
            "A volunteer is joining you now. Write here and they will read it. They won't see "
            "your name or your Telegram account. Send /end when you want to finish the chat."
        )
    return _(
        "<b>{alias}</b>, a volunteer, is joining you now. Write here and they will read it. "
        "They won't see your name or your Telegram account. Send /end when you want to "
        "finish the chat."
    ).format(alias=escape(volunteer_name(alias)))


def resident_no_volunteer(locale: str) -> str:
    return "\n\n".join(
        [
            _(
                "I'm sorry: no volunteer is free right now. I'm still trying, and your request "
                "stays open. Please don't wait for us if you need help now:"
            ),
            crisis_lines(locale),
        ]
    )


def resident_handed_back(alias: str | None) -> str:
    return _("{alias} had to step away. I'm finding another volunteer for you.").format(
        alias=escape(volunteer_name(alias))
    )


def resident_closed(locale: str) -> str:
    return "\n\n".join(
        [
            _(
                "This chat with our volunteer has ended. Thank you for reaching out: that took "
                "courage. If things get hard again, help is there day and night:"
            ),
            crisis_lines(locale),
            _("You can write to me at any time, about anything you need."),
            check_in_texts.offer_after_case(),
        ]
    )


def from_volunteer(alias: str | None) -> str:
    return _("💬 <b>{alias}</b> (volunteer):").format(alias=escape(volunteer_name(alias)))


def from_resident(case: Case, reader_locale: str) -> str:
    return _("💬 <b>{resident}</b> · {language}:").format(
        resident=resident_label(case), language=language_label(case.language, reader_locale)
    )


def volunteer_reminder(case: Case, minutes: int) -> str:
    return _(
        "⏰ {resident} has not heard from you for {minutes} minutes. Please write to them, or "
        "hand the case back so someone else can help."
    ).format(resident=resident_label(case), minutes=minutes)


def volunteer_lost_case(case: Case) -> str:
    return _("{resident} went back to the queue, as there was no reply from you.").format(
        resident=resident_label(case)
    )


def volunteer_case_closed(case: Case, outcome: str) -> str:
    return _("{resident}: the case is closed ({outcome}).").format(
        resident=resident_label(case), outcome=outcome
    )


def volunteer_resident_ended(case: Case) -> str:
    return _("{resident} ended the chat. The case is closed.").format(resident=resident_label(case))


def volunteer_resident_gone(case: Case) -> str:
    return _(
        "{resident} has blocked the bot, so I can't pass anything on. The case is closed."
    ).format(resident=resident_label(case))
