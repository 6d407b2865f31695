"""The database tables (SQLModel). Alembic migrations are written against this metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlmodel import Field, SQLModel

# Constraint names are fixed so migrations name them the same way on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json(**kwargs: Any) -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False, **kwargs))


def _timestamp() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def _optional_timestamp() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class CategoryRow(SQLModel, table=True):
    """One of the fixed categories; `position` keeps the menu order."""

    __tablename__ = "category"

    slug: str = Field(primary_key=True, max_length=32)
    position: int


class CategoryNameRow(SQLModel, table=True):
    __tablename__ = "category_name"

    category_slug: str = Field(
        sa_column=Column(
            String(32), ForeignKey("category.slug", ondelete="CASCADE"), primary_key=True
        )
    )
    language: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=160)


class CategoryTermRow(SQLModel, table=True):
    """A search word or phrase that points to a category, in one language."""

    __tablename__ = "category_term"
    __table_args__ = (UniqueConstraint("category_slug", "language", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    category_slug: str = Field(
        sa_column=Column(
            String(32), ForeignKey("category.slug", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    language: str = Field(max_length=8)
    term: str = Field(max_length=80)


class AreaRow(SQLModel, table=True):
    """A part of town a service covers, with its name per language."""

    __tablename__ = "area"

    slug: str = Field(primary_key=True, max_length=64)
    names: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    part_of: str | None = Field(default=None, max_length=64)


class ResourceRow(SQLModel, table=True):
    """A service in the catalogue; texts per language live in ResourceTextRow."""

    __tablename__ = "resource"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    phone: str | None = Field(default=None, max_length=24)
    sms: str | None = Field(default=None, max_length=24)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=160)
    postcode: str | None = Field(default=None, max_length=10)
    areas: list[str] = _json()
    languages: list[str] = _json()
    interpreter: bool = False
    cost: str = Field(max_length=16)
    referral: str = Field(max_length=16)
    min_age: int | None = None
    max_age: int | None = None
    access: list[str] = _json()
    hours: str | None = Field(default=None, max_length=300)
    peer_led: bool = False
    example: bool = False
    last_verified: dt.date | None = None
    archived_at: dt.datetime | None = _optional_timestamp()
    updated_at: dt.datetime = _timestamp()


class ResourceCategoryRow(SQLModel, table=True):
    """Which categories a resource belongs to; position 0 is its main category."""

    __tablename__ = "resource_category"

    resource_id: int = Field(
        sa_column=Column(ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True)
    )
    category_slug: str = Field(
        sa_column=Column(String(32), ForeignKey("category.slug"), primary_key=True)
    )
    position: int


class ResourceTextRow(SQLModel, table=True):
    """A resource's texts in one language (any of them may be missing but the English name)."""

    __tablename__ = "resource_text"

    resource_id: int = Field(
        sa_column=Column(ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True)
    )
    language: str = Field(primary_key=True, max_length=8)
    name: str | None = Field(default=None, max_length=160)
    summary: str | None = Field(default=None, max_length=700)
    eligibility: str | None = Field(default=None, max_length=700)
    keywords: list[str] = _json()


class Resident(SQLModel, table=True):
    """Someone who has written to the bot: only what is needed to answer them well."""

    __tablename__ = "resident"

    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    language: str | None = Field(default=None, max_length=8)
    first_seen: dt.datetime = _timestamp()
    last_seen: dt.datetime = _timestamp()
    blocked_at: dt.datetime | None = _optional_timestamp()  # they blocked the bot: send nothing


class Feedback(SQLModel, table=True):
    """'Was this helpful?' with the question it answered, and nothing that names the person."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    language: str = Field(max_length=8)
    helpful: bool
    created: dt.datetime = _timestamp()


class UnmatchedQuestion(SQLModel, table=True):
    """A question the catalogue could not answer, kept for the coordinators' gap report."""

    __tablename__ = "unmatched_question"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    language: str = Field(max_length=8)
    created: dt.datetime = _timestamp()


class Suggestion(SQLModel, table=True):
    """A service a resident thinks the catalogue should list, for the admins to check."""

    __tablename__ = "suggestion"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=1000)
    language: str = Field(max_length=8)
    created: dt.datetime = _timestamp()


class StaffMember(SQLModel, table=True):
    """A volunteer or an admin (coordinator). Residents are never in this table."""

    __tablename__ = "staff_member"

    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    is_admin: bool = False
    is_volunteer: bool = False
    alias: str | None = Field(default=None, max_length=40)  # how residents see a volunteer
    on_duty: bool = False
    language: str = Field(default="en", max_length=8)  # what the bot speaks to them
    blocked_at: dt.datetime | None = _optional_timestamp()  # they blocked the bot
    added: dt.datetime = _timestamp()


class Invite(SQLModel, table=True):
    """A one-time link an admin hands a new volunteer."""

    __tablename__ = "invite"

    token: str = Field(primary_key=True, max_length=64)
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created: dt.datetime = _timestamp()
    expires: dt.datetime = _timestamp()
    used_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


_NOT_CLOSED = sql_text("status != 'closed'")


class Case(SQLModel, table=True):
    """An escalation: a resident in crisis (or asking for a person) and the volunteer on it.

    Stored before the update that raised it is confirmed to Telegram; the timestamps are the
    admins' record of how quickly it was answered.
    """

    __tablename__ = "crisis_case"
    # At most one case a resident that is not closed, whichever replica raises it.
    __table_args__ = (
        Index(
            "uq_crisis_case_open_resident", "resident_id", unique=True,
            sqlite_where=_NOT_CLOSED, postgresql_where=_NOT_CLOSED,
        ),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    language: str = Field(max_length=8)
    source_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(default="", max_length=4096)  # the message that raised it
    reason: str = Field(max_length=16)  # crisis | help | talk
    status: str = Field(default="open", max_length=8, index=True)  # open | taken | closed
    volunteer_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    outcome: str | None = Field(default=None, max_length=16)
    raised: dt.datetime = _timestamp()
    taken: dt.datetime | None = _optional_timestamp()
    first_answer: dt.datetime | None = _optional_timestamp()
    closed: dt.datetime | None = _optional_timestamp()
    queued: dt.datetime = _timestamp()  # when it last went (back) to the queue
    realerted: dt.datetime | None = _optional_timestamp()
    resident_told_wait: dt.datetime | None = _optional_timestamp()
    volunteer_active: dt.datetime | None = _optional_timestamp()  # last word or take
    reminded: dt.datetime | None = _optional_timestamp()


class CaseAlert(SQLModel, table=True):
    """One alert about a case to one chat (a volunteer, the volunteers' group, an admin):
    an outbox row, sent and retried until Telegram has it."""

    __tablename__ = "case_alert"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            ForeignKey("crisis_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round: int = 0  # 0 first alert, 1 re-alert, 2... after a hand-back
    state: str = Field(default="pending", max_length=8, index=True)  # pending|sent|done|gone
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    attempts: int = 0
    next_attempt: dt.datetime = _timestamp()
    sent: dt.datetime | None = _optional_timestamp()


class CaseMessage(SQLModel, table=True):
    """The transcript: what was said in a case, kept for a limited time (TRANSCRIPT_DAYS)."""

    __tablename__ = "case_message"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            ForeignKey("crisis_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    sender: str = Field(max_length=10)  # resident | volunteer | note
    text: str = Field(default="", max_length=4096)
    relayed_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created: dt.datetime = _timestamp()


class CheckIn(SQLModel, table=True):
    """A resident's check-in settings and the next time one is due: the row exists only while
    they have opted in (stopping deletes it)."""

    __tablename__ = "check_in"

    resident_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    frequency: str = Field(max_length=8)  # daily | twice | weekly
    time_of_day: str = Field(max_length=10)  # morning | afternoon | evening | exact
    at: str = Field(max_length=5)  # local time "HH:MM"
    timezone: str = Field(default="Europe/London", max_length=64)
    language: str = Field(default="en", max_length=8)  # theirs when they opted in
    anchor: dt.date  # the day they opted in: weekly days are counted from it
    next_due: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    paused_until: dt.datetime | None = _optional_timestamp()
    retry_of: dt.datetime | None = _optional_timestamp()  # the slot a retry is due for
    unanswered: int = 0  # nudges in a row with no answer
    slowed: bool = False  # after three unanswered: half as often, until they answer
    last_nudge: dt.datetime | None = _optional_timestamp()
    answered: bool = True  # the last nudge had an answer (True before the first)
    nudge_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created: dt.datetime = _timestamp()


class Mood(SQLModel, table=True):
    """An answer to a check-in (1 very low ... 5 very good), for the resident's own /mood."""

    __tablename__ = "mood"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    score: int
    created: dt.datetime = _timestamp()
