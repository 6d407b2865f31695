"""Texts the bot says in more than one place, translated at send time."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import isolate


def crisis_lines(locale: str) -> str:
    """The safety reply: who to call right now, in the resident's language."""
    return "\n".join(
        [
            _("<b>I'm really glad you told me. You don't have to face this alone.</b>"),
            "",
            "🚨 "
            + _("If you are in danger right now, call {number}.").format(
                number=f"<b>{isolate('999', locale)}</b>"
            ),
            "📞 "
            + _("Samaritans: call {number}, free, day or night, in confidence.").format(
                number=f"<b>{isolate('116 123', locale)}</b>"
            ),
            "💬 "
            + _("Shout: text SHOUT to {number}, free, any time.").format(
                number=f"<b>{isolate('85258', locale)}</b>"
            ),
            "🩺 " + _("NHS 111, option 2: urgent mental-health help, day or night."),
            "",
            _("If you can, stay with someone you trust while you reach out."),
        ]
    )


def welcome() -> str:
    return _(
        "Hello, I'm <b>Tapestry</b> 👋\n"
        "I help people in Millbrook find free and local support: someone to talk to, food, "
        "housing, money, health and more. Write what you need in your own words and in your "
        "own language, or choose a topic. I don't ask for your name, and what you tell me "
        "stays anonymous."
    )


def help_text() -> str:
    return _(
        "<b>How I can help</b>\n"
        "• Write what you need, for example “I need food for my family” or “I feel alone”.\n"
        "• Or tap <b>Find help by topic</b>.\n"
        "• Under the answers you can show only free services, those open now, or those that "
        "speak your language.\n\n"
        "/checkin: a short check-in now and then, to see how you are\n"
        "/mood: your answers to check-ins\n"
        "/language: change the language\n"
        "/privacy: what I keep and for how long\n"
        "/forget: delete everything I hold about you\n\n"
        "If you are in danger right now, call 999."
    )


def privacy_text(transcript_days: int) -> str:
    return _(
        "<b>Your privacy</b>\n"
        "• I keep your Telegram account ID (not your name or phone number), your chosen "
        "language, and when you last wrote, so I can answer you in your language. This stays "
        "until you use /forget.\n"
        "• When you say whether an answer helped, or when I find nothing for a question, I keep "
        "the question without anything that links it to you, so the organisers can add the "
        "services people need.\n"
        "• Your latest search is kept for about an hour so the buttons under it work.\n"
        "• If you talk with one of our volunteers, what you both write is kept for {days} "
        "days, so the team can look after you well, and then deleted.\n"
        "• If you turn on check-ins, I keep your choices until you stop them, and your answers "
        "(how you felt, never any text) until you delete them with /mood.\n"
        "• I never share what you write with anyone outside the organisation.\n\n"
        "/forget deletes everything I hold about you."
    ).format(days=transcript_days)
