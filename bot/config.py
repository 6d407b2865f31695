"""Settings from the environment, one object for the whole application."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANGUAGES = ("en", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "uk")


def default_database_url() -> str:
    """A SQLite file under ./data/, created on first use."""
    return f"sqlite+aiosqlite:///{Path('data') / 'tapestry.sqlite3'}"


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = Field(default_factory=default_database_url)
    redis_url: str | None = None
    telegram_api_url: str | None = None
    webhook_url: str | None = None  # set: webhook mode; Telegram calls WEBHOOK_URL + path
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None  # default: derived from the token
    webhook_host: str = "0.0.0.0"  # where the webhook server listens
    webhook_port: int = 8080
    polling_timeout: int = 10
    outgoing_per_second: float = 28.0  # under Telegram's ~30/s; raised only to benchmark

    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    default_language: str = "en"
    timezone: str = "Europe/London"
    resources_dir: Path = PROJECT_ROOT / "resources"
    locales_dir: Path = PROJECT_ROOT / "locales"
    cache_dir: Path | None = Path("data") / "cache"  # what can be rebuilt from resources/

    max_results: int = 5

    # Roles, seeded at start (comma-separated Telegram user ids); admins manage the rest.
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    volunteer_ids: Annotated[tuple[int, ...], NoDecode] = ()
    volunteer_chat_id: int | None = None  # a volunteers' group that gets every alert
    # Crisis cases: minutes until...
    realert_minutes: float = 3.0  # an unclaimed case is alerted again, to admins too
    no_volunteer_minutes: float = 10.0  # the resident is told honestly nobody is free yet
    volunteer_silence_minutes: float = 10.0  # a silent volunteer is reminded
    requeue_minutes: float = 5.0  # ...and, still silent after the reminder, loses the case
    transcript_days: float = 30.0  # case transcripts are deleted after this
    timer_check_seconds: float = 15.0  # how often the timers look at the database
    checkin_poll_seconds: float = 10.0  # how often due check-ins are looked for

    @field_validator("admin_ids", "volunteer_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return (value,)
        return value

    @cached_property
    def crisis_dir(self) -> Path:
        return self.resources_dir / "crisis"
