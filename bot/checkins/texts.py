"""What check-ins say, in the resident's language (called inside an i18n locale context)."""

from __future__ import annotations

import datetime as dt
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, format_datetime, get_timezone_location

from bot.checkins.schedule import Plan
from bot.i18n import isolate

MOOD_EMOJI = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}


def mood_label(score: int) -> str:
    words = {
        1: _("Very low"),
        2: _("Low"),
        3: _("Okay"),
        4: _("Good"),
        5: _("Very good"),
    }
    return f"{MOOD_EMOJI[score]} {words[score]}"


def part_of_day_label(part: str) -> str:
    return {
        "morning": _("In the morning"),
        "afternoon": _("In the afternoon"),
        "evening": _("In the evening"),
        "exact": _("At a time I choose"),
    }[part]


def frequency_label(frequency: str) -> str:
    return {
        "daily": _("Every day"),
        "twice": _("Twice a week"),
        "weekly": _("Once a week"),
    }[frequency]


def zone_label(zone: str, now: dt.datetime, locale: str) -> str:
    """'United Kingdom Time · 14:05': where, and the time there now, to make choosing easy."""
    where = get_timezone_location(zone, locale=locale)
    local = format_datetime(now, "HH:mm", tzinfo=ZoneInfo(zone), locale=locale)
    return f"{where} · {local}"


def intro() -> str:
    return _(
        "I can check in with you now and then: a short message asking how you are, which you "
        "answer with one tap. It can help to have someone ask.\n\n"
        "You choose how often and when. Nothing is sent at night, and you can pause or stop "
        "at any time.\n\n<b>How often would you like me to check in?</b>"
    )


def ask_part_of_day() -> str:
    return _("<b>When would you like to hear from me?</b>")


def ask_exact_time() -> str:
    return _(
        "Please write the time you would like, for example 9:30 or 18:00. "
        "It needs to be between 08:00 and 21:59."
    )


def time_not_understood() -> str:
    return _(
        "I couldn't read that as a time. Please write it like 9:30 or 18:00, "
        "between 08:00 and 21:59."
    )


def time_is_quiet() -> str:
    return _(
        "I don't send check-ins between 22:00 and 08:00, so that you can rest. "
        "Please choose a time between 08:00 and 21:59."
    )


def ask_zone() -> str:
    return _("<b>Which time zone are you in?</b> Most people here use UK time.")


def rhythm(plan: Plan, locale: str) -> str:
    """'Every day at 10:14', 'Every Monday and Thursday at 18:30', ..."""
    at = isolate(f"{plan.at.hour:02d}:{plan.at.minute:02d}", locale)
    first = plan.anchor
    if plan.frequency == "daily":
        if plan.slowed:
            return _("Every other day at {time}").format(time=at)
        return _("Every day at {time}").format(time=at)
    # Translators: {day} and {other_day} are weekday names as a dictionary gives them
    # ("poniedziałek", "czwartek"); phrase it so that form reads correctly.
    day = format_date(first, "EEEE", locale=locale)
    if plan.frequency == "twice" and not plan.slowed:
        other = format_date(first + dt.timedelta(days=3), "EEEE", locale=locale)
        return _("Twice a week, on {day} and {other_day}, at {time}").format(
            day=day, other_day=other, time=at
        )
    if plan.frequency == "weekly" and plan.slowed:
        # Translators: {day} is a weekday name as a dictionary gives it.
        return _("Every two weeks, on {day}, at {time}").format(day=day, time=at)
    # Translators: {day} is a weekday name as a dictionary gives it.
    return _("Once a week, on {day}, at {time}").format(day=day, time=at)


def summary(
    plan: Plan, next_due: dt.datetime, paused_until: dt.datetime | None, locale: str
) -> str:
    lines = [
        _("<b>Your check-ins</b>"),
        "🗓 " + escape(rhythm(plan, locale)),
        "🌍 " + escape(get_timezone_location(plan.timezone, locale=locale)),
    ]
    if plan.slowed:
        lines.append(_("For now I check in half as often, as I hadn't heard from you."))
    if paused_until is not None:
        until = format_date(paused_until.astimezone(plan.zone), "full", locale=locale)
        lines.append("⏸ " + _("Paused until {date}.").format(date=escape(until)))
    when = format_datetime(next_due, "EEEE d MMMM, HH:mm", tzinfo=plan.zone, locale=locale)
    # Translators: when the next check-in comes, e.g. "Next: Monday 30 November, 10:14".
    lines.append("⏭ " + _("Next: {when}").format(when=escape(isolate(when, locale))))
    return "\n".join(lines)


def saved(plan: Plan, next_due: dt.datetime, locale: str) -> str:
    return "\n\n".join(
        [
            _("Thank you. Check-ins are on."),
            summary(plan, next_due, None, locale),
            _("Each check-in has a button to stop them, and /checkin changes them at any time."),
        ]
    )


def paused() -> str:
    return _("Check-ins are paused for a week. I'll be back after that, gently.")


def resumed() -> str:
    return _("Check-ins are back on.")


def stopped() -> str:
    return _(
        "Check-ins are off, and I won't send any more. "
        "If you'd like them again, just send /checkin."
    )


def already_off() -> str:
    return _("Check-ins are already off. Send /checkin if you'd like them again.")


def not_now() -> str:
    return _("That's fine. If you change your mind, just send /checkin.")


def start_again() -> str:
    return _("Sorry, I lost track of your choices. Let's start again.")


def nudge() -> str:
    return _("Hello 👋 Just checking in. How are you feeling today?")


def nudge_answered(score: int) -> str:
    return "\n\n".join([nudge(), _("You answered: {mood}").format(mood=mood_label(score))])


def gentle() -> str:
    return _(
        "I haven't heard from you for a little while, and that's completely okay. "
        "I'll check in less often from now on.\n\n"
        "If you'd like to change or stop check-ins, send /checkin. I'm here whenever "
        "you want to write."
    )


def already_answered() -> str:
    return _("Thank you, you have already told me.")


def mood_good() -> str:
    return _("That's really good to hear. Thank you for telling me.")


def activity_heading() -> str:
    return _("If you fancy some company, this is open soon:")


def mood_okay() -> str:
    return _(
        "Thank you for telling me. If anything is on your mind, ask me about it, "
        "or look through the topics."
    )


def mood_low() -> str:
    return _(
        "I'm sorry today is hard. Thank you for telling me: you don't have to manage it "
        "on your own. Would any of these help?"
    )


def offer_after_case() -> str:
    return _("If you'd like, I can check in with you now and then to see how you are.")


# --- /mood ---------------------------------------------------------------------------------


def no_moods() -> str:
    return _(
        "There is nothing here yet. When you answer a check-in, your answers show up here "
        "as a simple chart."
    )


def mood_chart(weeks: list[tuple[dt.date, float, int]], locale: str) -> str:
    """One line a week: its Monday, a bar of five, the average and the number of answers."""
    lines = [_("<b>Your mood, week by week</b> (1 very low, 5 very good)"), ""]
    if not weeks:
        return no_moods()
    for monday, average, count in weeks:
        filled = round(average)
        bar = "█" * filled + "░" * (5 - filled)
        label = format_date(monday, "d MMM", locale=locale)
        # Translators: how many check-ins were answered that week.
        answers = _("answers: {count}").format(count=count)
        lines.append(
            f"{isolate(label, locale)}  {bar}  {MOOD_EMOJI[max(1, filled)]} "
            f"{isolate(f'{average:.1f}', locale)} · {answers}"
        )
    lines += ["", _("Only you can see this. You can delete it at any time.")]
    return "\n".join(lines)


def confirm_delete_moods() -> str:
    return _("Delete all your check-in answers? This can't be undone.")


def moods_deleted() -> str:
    return _("Your mood history is deleted.")


def moods_kept() -> str:
    return _("Nothing was deleted.")
