"""A resource as a resident sees it: a short card in their language, in Telegram HTML."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from html import escape
from urllib.parse import quote_plus

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from bot.catalogue.model import Cost, Referral, Resource
from bot.i18n import isolate, speaking
from bot.languages import native_name
from bot.search.ranking import Searcher

CARDS_PER_MESSAGE = 3


def cost_label(cost: Cost) -> str:
    return {
        Cost.FREE: _("Free"),
        Cost.LOW_COST: _("Low cost"),
        Cost.PAID: _("Paid"),
    }[cost]


def referral_label(referral: Referral) -> str:
    return {
        Referral.SELF: _("No referral needed"),
        Referral.GP: _("Needs a referral from a GP"),
        Referral.PROFESSIONAL: _("Needs a referral from a professional"),
    }[referral]


def opening_label(resource: Resource, searcher: Searcher, now: dt.datetime, locale: str) -> str:
    if not resource.hours:
        return _("Opening hours: please ask the service")
    if searcher.is_open(resource, now):
        return _("Open now")
    opens = searcher.next_opening(resource, now)
    if opens is None:
        return _("Closed now")
    when = _weekday_and_time(opens, searcher.timezone, locale)
    return _("Closed now, opens {when}").format(when=isolate(when, locale))


@lru_cache(maxsize=4096)
def _weekday_and_time(moment: dt.datetime, timezone: dt.tzinfo, locale: str) -> str:
    return format_datetime(moment, "EEEE HH:mm", tzinfo=timezone, locale=locale)


def render_card(resource: Resource, searcher: Searcher, now: dt.datetime, locale: str) -> str:
    """Name, summary, cost, referral, who it is for, hours, languages and how to reach it."""
    before, after = _fixed_parts(resource, locale)
    return f"{before}\n🕒 {opening_label(resource, searcher, now, locale)}\n{after}"


# What a card says besides its opening hours changes only with the catalogue: rendered once
# per resource and language. Keyed by the object's id, which a new catalogue does not reuse
# while the entry holds the old object.
_FIXED: dict[tuple[int, str], tuple[Resource, str, str]] = {}


def _fixed_parts(resource: Resource, locale: str) -> tuple[str, str]:
    key = (id(resource), locale)
    cached = _FIXED.get(key)
    if cached is not None and cached[0] is resource:
        return cached[1], cached[2]
    if len(_FIXED) > 50_000:
        _FIXED.clear()
    name = resource.name.get(locale) or resource.name["en"]
    lines = [f"<b>{escape(isolate(name, locale))}</b>"]
    summary = resource.summary.get(locale)
    if summary:
        lines.append(escape(summary))
    else:
        english = escape(resource.summary["en"])
        lines.append(_("{summary} (in English)").format(summary=f"<i>{english}</i>"))
    lines.append(f"💷 {cost_label(resource.cost)} · 📝 {referral_label(resource.referral)}")
    eligibility = resource.eligibility.get(locale) or resource.eligibility.get("en")
    if eligibility:
        lines.append("👥 " + _("Who it is for: {who}").format(who=escape(eligibility)))
    spoken = ", ".join(native_name(code) for code in resource.languages)
    if resource.interpreter:
        spoken = _("{languages}, and interpreters on request").format(languages=spoken)
    after = ["🗣 " + escape(spoken), *_contact_lines(resource, locale)]
    if resource.example:
        after.append("<i>" + _("(An example service for testing, not a real one.)") + "</i>")
    _FIXED[key] = (resource, "\n".join(lines), "\n".join(after))
    return _FIXED[key][1], _FIXED[key][2]


def warm_up(
    searcher: Searcher, languages: Sequence[str], i18n: I18n, per_language: int = 30
) -> None:
    """Render a few cards in every language at start, so the first residents do not wait for
    Babel's locale data and the translations to load."""
    now = dt.datetime.now(searcher.timezone)
    for locale in languages:
        with speaking(i18n, locale):
            for resource in searcher.catalogue.resources[:per_language]:
                render_card(resource, searcher, now, locale)
            _weekday_and_time(now.replace(second=0, microsecond=0), searcher.timezone, locale)


def _contact_lines(resource: Resource, locale: str) -> list[str]:
    lines = []
    if resource.phone:
        # Telegram makes phone numbers tappable by itself; tel: links are not allowed.
        lines.append("📞 " + escape(isolate(resource.phone, locale)))
    if resource.sms:
        text = _("Text {number}").format(number=escape(isolate(resource.sms, locale)))
        lines.append("💬 " + text)
    if resource.website:
        label = resource.website.split("://", 1)[-1].rstrip("/")
        lines.append(
            f'🌐 <a href="{escape(resource.website)}">{escape(isolate(label, locale))}</a>'
        )
    if resource.address:
        place = ", ".join(part for part in (resource.address, resource.postcode) if part)
        url = "https://www.openstreetmap.org/search?query=" + quote_plus(place)
        lines.append(f'📍 <a href="{escape(url)}">{escape(isolate(place, locale))}</a>')
    return lines
