"""Asking: free-text questions and topic picks, answered with cards; crisis and concern first."""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as kb
from bot.cards import CARDS_PER_MESSAGE, render_card
from bot.cases import texts
from bot.cases.service import Escalations
from bot.core import Tapestry
from bot.db.residents import record_feedback, record_unmatched
from bot.delivery import Priority, priority
from bot.handlers.filters import HasText, LooksLikeCommand
from bot.i18n import isolate
from bot.polling import Receipt
from bot.replies import crisis_lines
from bot.safety.detector import Assessment
from bot.search.normalise import tokens
from bot.search.ranking import Filters, Match

log = logging.getLogger(__name__)

MAX_RESULTS = 9  # three pages of three cards
MAX_QUESTION_CHARS = 1000  # longer messages are read from the start


def topic_names(app: Tapestry, locale: str) -> list[tuple[str, str]]:
    return [
        (category.slug, category.names.get(locale) or category.names["en"])
        for category in app.searcher.catalogue.categories
    ]


async def show_topics(query: CallbackQuery, app: Tapestry, locale: str) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            _("Choose a topic:"), reply_markup=kb.topic_menu(topic_names(app, locale))
        )


async def pick_topic(
    query: CallbackQuery,
    callback_data: kb.PickTopic,
    app: Tapestry,
    locale: str,
    state: FSMContext,
) -> None:
    names = dict(topic_names(app, locale))
    if callback_data.slug not in names:
        await query.answer(_("This button no longer works. Please choose again."))
        return
    await query.answer()
    search = await _new_search(state, topic=callback_data.slug, text=None, language=locale)
    await _send_page(query.message, app, locale, search, heading=names[callback_data.slug])


async def question(
    message: Message,
    app: Tapestry,
    locale: str,
    state: FSMContext,
    assessment: Assessment | None = None,
) -> None:
    text = (message.text or "")[:MAX_QUESTION_CHARS]
    if assessment is not None and assessment.concern:  # a crisis went to handlers/safety.py
        await message.answer(
            _("I'm sorry things feel so hard right now. Can I ask: are you safe at the moment?"),
            reply_markup=kb.safety_check(),
        )
        return
    if not tokens(text):
        await message.answer(
            _(
                "I couldn't find any words in that. Tell me in a few words what you are "
                "looking for, or choose a topic."
            ),
            reply_markup=kb.back_to_topics(),
        )
        return
    await answer_question(message, app, locale, state, text)


async def answer_question(
    message: Message,
    app: Tapestry,
    locale: str,
    state: FSMContext,
    text: str,
    *,
    quiet: bool = False,
) -> None:
    """Cards for a question. `quiet` (after the crisis lines): only when the message also asks
    for help of another kind ("he hits me, where can I go?"); crisis services would repeat
    the lines just sent."""
    search = await _new_search(state, topic=None, text=text, language=locale)
    found = _find(app, locale, search)
    if quiet and not any(m.category not in (None, "crisis") for m in found[0]):
        return
    await _send_page(message, app, locale, search, heading=None, found=found)


async def safety_answer(
    query: CallbackQuery,
    callback_data: kb.SafetyAnswer,
    app: Tapestry,
    locale: str,
    escalations: Escalations,
    receipt: Receipt | None = None,
) -> None:
    """The answers to "are you safe right now?"; "I need help now" raises a case."""
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        if receipt is not None:
            receipt.settle()
        return
    answer = callback_data.answer
    if answer == "help":
        with priority(Priority.CRISIS):
            await message.answer(crisis_lines(locale), reply_markup=kb.back_to_topics())
    if answer in ("help", "volunteer"):
        raised = await escalations.raise_case(
            resident_id=query.from_user.id, language=locale, message_id=message.message_id,
            text="", reason="help" if answer == "help" else "talk",
        )  # fmt: skip
        if receipt is not None:
            receipt.settle()
        if raised is not None and raised[1] and escalations.has_volunteers():
            with priority(Priority.CRISIS):
                await message.answer(texts.resident_alerted())
        elif answer == "volunteer" and not escalations.has_volunteers():
            await message.answer(_("I'm sorry: no volunteers are available yet."))
        return
    if receipt is not None:
        receipt.settle()
    if answer == "talk":
        await offer_someone_to_talk(message, app, locale, escalations)
    else:
        await message.answer(
            _(
                "Thank you for letting me know. I'm here whenever you want to look for "
                "support, day or night."
            ),
            reply_markup=kb.back_to_topics(),
        )


async def offer_someone_to_talk(
    message: Message, app: Tapestry, locale: str, escalations: Escalations
) -> None:
    """Samaritans, a volunteer when there are any, and peer-support groups."""
    await message.answer(
        _(
            "Talking can really help. Samaritans listen at any hour: call {number}, free. "
            "Here are some places where you can talk to someone:"
        ).format(number=f"<b>{isolate('116 123', locale)}</b>"),
        reply_markup=kb.talk_to_volunteer() if escalations.has_volunteers() else None,
    )
    talk = app.searcher.browse("peer-support", language=locale, limit=3)
    await _send_matches(message, app, locale, talk)


async def more_results(
    query: CallbackQuery, callback_data: kb.Page, app: Tapestry, locale: str, state: FSMContext
) -> None:
    search = await _current_search(query, state, callback_data.search)
    if search is None:
        return
    await query.answer()
    search["offset"] = max(0, callback_data.offset)
    await state.update_data(search=search)
    await _send_page(query.message, app, locale, search, heading=None)


async def toggle_filter(
    query: CallbackQuery, callback_data: kb.Toggle, app: Tapestry, locale: str, state: FSMContext
) -> None:
    search = await _current_search(query, state, callback_data.search)
    if search is None:
        return
    await query.answer()
    active = set(search["filters"]) ^ {callback_data.name}
    search.update(filters=sorted(active), offset=0)
    await state.update_data(search=search)
    await _send_page(query.message, app, locale, search, heading=None)


async def helpful(
    query: CallbackQuery, callback_data: kb.Helpful, app: Tapestry, state: FSMContext
) -> None:
    search = await _current_search(query, state, callback_data.search)
    if search is None:
        return
    if search.get("rated"):
        await query.answer(_("Thank you, you have already told me."))
        return
    question = search["text"] or f"[topic] {search['topic']}"
    async with app.sessions() as session:
        await record_feedback(
            session, question=question, language=search["language"], helpful=callback_data.yes
        )
        await session.commit()
    search["rated"] = True
    await state.update_data(search=search)
    await query.answer(_("Thank you! That helps us improve."))


async def _new_search(
    state: FSMContext, *, topic: str | None, text: str | None, language: str
) -> dict[str, Any]:
    previous = (await state.get_data()).get("search") or {}
    search: dict[str, Any] = {
        "id": int(previous.get("id", 0)) + 1,
        "topic": topic,
        "text": text,
        "language": language,
        "filters": [],
        "offset": 0,
    }
    await state.update_data(search=search)
    return search


async def _current_search(
    query: CallbackQuery, state: FSMContext, search_id: int
) -> dict[str, Any] | None:
    """The search a button belongs to, if it is still the latest one (buttons can be forged)."""
    search: dict[str, Any] | None = (await state.get_data()).get("search")
    if not search or search.get("id") != search_id or query.message is None:
        await query.answer(
            _("These buttons belong to an older answer. Please ask again."), show_alert=False
        )
        return None
    return search


def _find(app: Tapestry, locale: str, search: dict[str, Any]) -> tuple[list[Match], str]:
    """The matches for a search with its filters, and the language the question was in."""
    active = set(search["filters"])
    filters = Filters(
        free_only="free" in active,
        open_now="open" in active,
        speaks=locale if "lang" in active else None,
    )
    if search["topic"]:
        found = app.searcher.browse(
            search["topic"], language=locale, filters=filters, limit=MAX_RESULTS
        )
        return found, locale
    result = app.searcher.search(
        search["text"], language=locale, filters=filters, limit=MAX_RESULTS
    )
    return result.matches, result.language


async def _send_page(
    message: Message | Any,
    app: Tapestry,
    locale: str,
    search: dict[str, Any],
    heading: str | None,
    found: tuple[list[Match], str] | None = None,
) -> None:
    """One page of cards; `found` when the caller has already searched."""
    if message is None:
        return
    matches, asked_in = found or _find(app, locale, search)
    offset = search["offset"]
    page = matches[offset : offset + CARDS_PER_MESSAGE]
    if not page:
        await _nothing_found(message, app, locale, search, offset)
        return
    now = dt.datetime.now(app.searcher.timezone)
    cards = [render_card(m.resource, app.searcher, now, locale) for m in page]
    parts = [f"<b>{escape(heading)}</b>"] if heading else []
    if offset == 0 and search["filters"]:
        parts.append(_("Showing only what matches your filters."))
    text = "\n\n".join([*parts, *cards])
    more = offset + CARDS_PER_MESSAGE
    await message.answer(
        text,
        reply_markup=kb.results_keyboard(
            search["id"],
            more_offset=more if more < len(matches) else None,
            active=set(search["filters"]),
            switch_to=asked_in
            if asked_in != locale and asked_in in app.settings.languages
            else None,
        ),
        disable_web_page_preview=True,
    )


async def _send_matches(message: Message, app: Tapestry, locale: str, matches: list[Match]) -> None:
    if not matches:
        return
    now = dt.datetime.now(app.searcher.timezone)
    cards = [render_card(m.resource, app.searcher, now, locale) for m in matches]
    await message.answer(
        "\n\n".join(cards), reply_markup=kb.back_to_topics(), disable_web_page_preview=True
    )


async def _nothing_found(
    message: Message, app: Tapestry, locale: str, search: dict[str, Any], offset: int
) -> None:
    if offset > 0:
        await message.answer(
            _("That's everything I have for this."), reply_markup=kb.back_to_topics()
        )
        return
    if search["filters"]:
        await message.answer(
            _("Nothing matches all of those filters. Tap a filter again to switch it off."),
            reply_markup=kb.results_keyboard(
                search["id"], more_offset=None, active=set(search["filters"]), switch_to=None
            ),
        )
        return
    if search["text"]:
        try:
            async with app.sessions() as session:
                await record_unmatched(session, question=search["text"], language=locale)
                await session.commit()
        except Exception:  # the resident still gets an answer
            log.exception("could not keep an unmatched question")
    await message.answer(
        _(
            "I'm sorry, I couldn't find a service for that yet. I've passed your question on, "
            "without your name, so the organisers can look for one. Meanwhile, these topics may "
            "help:"
        ),
        reply_markup=kb.topic_menu(topic_names(app, locale)),
    )


def make_router() -> Router:
    """A fresh router (a router belongs to one dispatcher; tests build several)."""
    router = Router(name="search")
    router.callback_query.register(show_topics, kb.MenuAction.filter(F.action == "topics"))
    router.callback_query.register(pick_topic, kb.PickTopic.filter())
    router.message.register(question, HasText(), ~LooksLikeCommand(), StateFilter(None))
    router.callback_query.register(safety_answer, kb.SafetyAnswer.filter())
    router.callback_query.register(more_results, kb.Page.filter())
    router.callback_query.register(toggle_filter, kb.Toggle.filter(F.name.in_(kb.FILTERS)))
    router.callback_query.register(helpful, kb.Helpful.filter())
    return router
