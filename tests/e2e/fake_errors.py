"""How the fake Bot API refuses: Bot API errors, Telegram's flood limits, switchable faults."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits: sends per second overall, and a burst then a rate per chat."""

    per_second: int = 30
    chat_burst: int = 3
    chat_per_second: float = 1.0

    @classmethod
    def unlimited(cls) -> Limits:
        """No flood limits, for tests about something else that send a lot."""
        return cls(per_second=10**9, chat_burst=10**9, chat_per_second=10.0**9)


@dataclass(frozen=True)
class ApiError:
    """One error reply; `injected` when a switched-on fault caused it rather than the bot."""

    at: float
    method: str
    status: int
    description: str
    retry_after: int | None = None
    injected: bool = False


class ApiRefusal(Exception):
    """Raised inside a method to reply with a Bot API error."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        *,
        injected: bool = False,  # a switched-on fault, not something the bot did
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.injected = injected


def bad_request(description: str) -> ApiRefusal:
    return ApiRefusal(400, f"Bad Request: {description}")


def too_many_requests(retry_after: int, *, injected: bool = False) -> ApiRefusal:
    return ApiRefusal(
        429, f"Too Many Requests: retry after {retry_after}", retry_after, injected=injected
    )


@dataclass
class Failure:
    remaining: int
    method: str | None
    status: int
    html: bool


@dataclass
class SendLimiter:
    """A sliding one-second window over all sends, and a token bucket per private chat."""

    limits: Limits
    recent: deque[float] = field(default_factory=deque)
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # tokens, updated at

    def acquire(self, chat_id: int, now: float) -> int | None:
        """Count one send and return None, or return the seconds to wait and count nothing."""
        while self.recent and self.recent[0] <= now - 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.limits.per_second:
            return max(1, math.ceil(self.recent[0] + 1.0 - now))
        tokens, updated_at = self.buckets.get(chat_id, (float(self.limits.chat_burst), now))
        rate = self.limits.chat_per_second
        tokens = min(float(self.limits.chat_burst), tokens + (now - updated_at) * rate)
        if tokens < 1.0:
            return max(1, math.ceil((1.0 - tokens) / rate))
        self.buckets[chat_id] = (tokens - 1.0, now)
        self.recent.append(now)
        return None
