"""APScheduler: the jobs that run on a clock. Each reads what is due from the database, so
nothing is lost in a restart, and each change is a conditional UPDATE, so two replicas
looking at once act once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.cases.service import Escalations
from bot.checkins.service import CheckIns

log = logging.getLogger(__name__)
INDEX_REFRESH_SECONDS = 5.0  # who is in a case, as other replicas changed it


def make_scheduler(escalations: Escalations, checkins: CheckIns) -> AsyncIOScheduler:
    settings = escalations.settings
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    start = dt.datetime.now(dt.UTC)

    def every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("scheduled job %s failed; it runs again later", name)

        scheduler.add_job(
            run, IntervalTrigger(seconds=seconds), id=name, name=name, next_run_time=start,
            max_instances=1, coalesce=True, misfire_grace_time=None,
        )  # fmt: skip

    every(settings.timer_check_seconds, escalations.run_timers, "case-timers")
    every(INDEX_REFRESH_SECONDS, escalations.refresh, "case-index")
    every(3600, escalations.purge_transcripts, "transcript-retention")
    every(settings.checkin_poll_seconds, checkins.tick, "check-ins")
    return scheduler
