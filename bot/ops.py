"""Operations: Prometheus metrics, the health verdict, and the HTTP server for both.

``jobbot run`` serves ``/healthz`` (JSON; 503 when unhealthy) and ``/metrics``
(Prometheus text) on 127.0.0.1 by default. Each bot has its own metrics registry, so
several bots in one process (tests) do not share counters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.chat.base import ChatAdapter, FindsSent, PartProgress
from bot.chat.health import ChecksAuth
from bot.errors import TransientChatError
from bot.store import Delivery, SourceState, StoredPosting
from subscriptions.model import Subscription

__all__ = [
    "Health",
    "InstrumentedAdapter",
    "InstrumentedAdapters",
    "Metrics",
    "OpsServer",
    "health",
]

log = logging.getLogger("jobbot.ops")
# A source is overdue when it has not succeeded for this many of its intervals.
OVERDUE_INTERVALS = 3
GRACE_SECONDS = 300


class Metrics:
    """The counters and histograms ``/metrics`` shows."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "jobbot_polls", "Source polls by outcome.", ["source", "outcome"], registry=r
        )
        self.poll_errors = Counter(
            "jobbot_poll_errors", "Failed source polls.", ["source"], registry=r
        )
        self.postings_seen = Counter(
            "jobbot_postings_seen", "Postings read from sources.", ["source"], registry=r
        )
        self.postings_new = Counter(
            "jobbot_postings_new", "Postings seen for the first time.", ["source"], registry=r
        )
        self.alerts_queued = Counter(
            "jobbot_alerts_queued", "Alerts put in the outbox.", ["source"], registry=r
        )
        self.alerts_sent = Counter(
            "jobbot_alerts_sent", "Alerts and digest entries delivered.", ["platform"], registry=r
        )
        self.delivery_errors = Counter(
            "jobbot_delivery_errors", "Failed deliveries by kind.", ["platform", "kind"], registry=r
        )
        self.rate_limited = Counter(
            "jobbot_rate_limited",
            "429 / rate-limit answers from chat platforms.",
            ["platform"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "jobbot_delivery_latency_seconds",
            "From first seeing a posting to its alert being sent.",
            ["platform"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400),
            registry=r,
        )
        self.passes_skipped = Counter(
            "jobbot_passes_skipped",
            "Scheduled passes skipped because the previous one was still running.",
            ["job"],
            registry=r,
        )
        self.last_success = Gauge(
            "jobbot_last_successful_poll_timestamp_seconds",
            "Unix time of the newest successful poll of any source.",
            registry=r,
        )

    def record_poll(
        self,
        source: str,
        *,
        ok: bool,
        not_modified: bool,
        seen: int,
        new: int,
        queued: int,
        at: datetime,
    ) -> None:
        """Count one poll's outcome."""
        outcome = "not_modified" if ok and not_modified else "ok" if ok else "error"
        self.polls.labels(source, outcome).inc()
        if not ok:
            self.poll_errors.labels(source).inc()
            return
        self.postings_seen.labels(source).inc(seen)
        self.postings_new.labels(source).inc(new)
        self.alerts_queued.labels(source).inc(queued)
        self.last_success.set(at.timestamp())

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class InstrumentedAdapter:
    """Wraps a chat adapter to count sends, errors, 429s and alert latency."""

    def __init__(self, inner: ChatAdapter, metrics: Metrics, clock: Callable[[], datetime]) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.metrics = metrics
        self.clock = clock
        # Zero-valued series from the start, so dashboards and alerts see every platform.
        metrics.alerts_sent.labels(self.platform)
        metrics.rate_limited.labels(self.platform)
        metrics.delivery_latency.labels(self.platform)

    def _failed(self, error: Exception) -> None:
        if isinstance(error, TransientChatError):
            if error.retry_after is not None or error.code in (
                "429",
                "rate_limited",
                "ratelimited",
            ):
                self.metrics.rate_limited.labels(self.platform).inc()
            self.metrics.delivery_errors.labels(self.platform, "transient").inc()
        else:
            self.metrics.delivery_errors.labels(self.platform, "permanent").inc()

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Send through the wrapped adapter and count it."""
        try:
            ref = await self.inner.send_alert(subscription, posting, delivery_id)
        except Exception as error:
            self._failed(error)
            raise
        self.metrics.alerts_sent.labels(self.platform).inc()
        latency = (self.clock() - posting.first_seen_at).total_seconds()
        self.metrics.delivery_latency.labels(self.platform).observe(max(0.0, latency))
        return ref

    async def check_auth(self) -> None:
        """Check the wrapped adapter's token, where it can (``ChecksAuth``)."""
        if isinstance(self.inner, ChecksAuth):
            await self.inner.check_auth()

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """Send through the wrapped adapter and count each posting in it."""
        try:
            refs = await self.inner.send_digest(
                subscription, postings, title, digest_key, progress=progress
            )
        except Exception as error:
            self._failed(error)
            raise
        self.metrics.alerts_sent.labels(self.platform).inc(len(postings))
        return refs


@dataclass(frozen=True, slots=True)
class Health:
    """The health verdict ``/healthz`` answers with."""

    ok: bool
    reason: str
    last_success: datetime | None
    last_success_age_s: float | None
    sources: int
    failing: tuple[str, ...]
    chat: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # Per platform with a gateway: where it runs ("this process", "another process", ...).
    # Informational: a process that sends through REST only is as healthy as the holder.
    gateways: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The JSON body of ``/healthz``."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "reason": self.reason,
            "last_successful_poll": self.last_success.isoformat() if self.last_success else None,
            "last_successful_poll_age_seconds": (
                round(self.last_success_age_s, 1) if self.last_success_age_s is not None else None
            ),
            "sources": self.sources,
            "failing_sources": list(self.failing),
            "chat": {name: dict(state) for name, state in self.chat.items()},
            "gateways": dict(self.gateways),
        }


def health(
    sources: Sequence[SourceState],
    now: datetime,
    started: datetime,
    chat: Mapping[str, Mapping[str, object]] | None = None,
) -> Health:
    """Healthy while some source succeeded recently enough (or the bot just started).

    Unhealthy when no enabled source has succeeded for ``OVERDUE_INTERVALS`` times the
    longest poll interval (plus a few minutes of grace): polling has stopped working;
    or when a chat platform is held because it refused the token (``chat``: the held
    platforms, each with its state and reason).
    """
    verdict = _poll_health(sources, now, started)
    if not chat:
        return verdict
    reasons = "; ".join(
        f"{name} token refused: {state.get('reason')}" for name, state in chat.items()
    )
    return Health(
        False,
        reasons,
        verdict.last_success,
        verdict.last_success_age_s,
        verdict.sources,
        verdict.failing,
        chat,
    )


def _poll_health(sources: Sequence[SourceState], now: datetime, started: datetime) -> Health:
    enabled = [s for s in sources if s.enabled]
    failing = tuple(s.name for s in enabled if not s.healthy)
    successes = [s.last_success_at for s in enabled if s.last_success_at]
    last = max(successes) if successes else None
    age = (now - last).total_seconds() if last else None
    if not enabled:
        return Health(True, "no sources configured", None, None, 0, ())
    allowed = OVERDUE_INTERVALS * max(s.interval_s for s in enabled) + GRACE_SECONDS
    if age is not None and age <= allowed:
        return Health(True, "polling", last, age, len(enabled), failing)
    uptime = (now - started).total_seconds()
    if age is None and uptime <= allowed:
        return Health(True, "starting: no successful poll yet", None, None, len(enabled), failing)
    return Health(
        False,
        f"no source has been polled successfully for over {allowed} seconds",
        last,
        age,
        len(enabled),
        failing,
    )


class OpsServer:
    """``/healthz`` and ``/metrics`` over HTTP (aiohttp, on the bot's event loop)."""

    def __init__(self, metrics: Metrics, check: Callable[[], Health]) -> None:
        self.metrics = metrics
        self.check = check
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _healthz(self, request: web.Request) -> web.Response:
        verdict = self.check()
        return web.json_response(verdict.as_json(), status=200 if verdict.ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def start(self, host: str, port: int) -> bool:
        """Listen on host:port; a busy port is logged, not fatal (the bot keeps running)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as error:
            log.warning("health and metrics server not started on %s:%s: %s", host, port, error)
            await runner.cleanup()
            return False
        self._runner = runner
        self.port = runner.addresses[0][1] if runner.addresses else port
        log.info("serving /healthz and /metrics on http://%s:%s", host, self.port)
        return True

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class InstrumentedFindingAdapter(InstrumentedAdapter):
    """An ``InstrumentedAdapter`` for adapters with the ``FindsSent`` recovery hook."""

    async def find_sent(
        self, subscription: Subscription, deliveries: Sequence[Delivery]
    ) -> dict[int, str]:
        """Ask the wrapped adapter which of these deliveries already reached the channel."""
        inner: FindsSent = self.inner  # type: ignore[assignment]
        return await inner.find_sent(subscription, deliveries)


def instrument(
    adapter: ChatAdapter, metrics: Metrics, clock: Callable[[], datetime]
) -> InstrumentedAdapter:
    """Wrap an adapter for counting, keeping its optional hooks visible to isinstance."""
    if isinstance(adapter, FindsSent):
        return InstrumentedFindingAdapter(adapter, metrics, clock)
    return InstrumentedAdapter(adapter, metrics, clock)


class InstrumentedAdapters(Mapping[str, ChatAdapter]):
    """A live view of the bot's adapters, each wrapped in an ``InstrumentedAdapter``.

    Live because adapters join after the bot is built (Slack and Discord bind to it).
    """

    def __init__(
        self, adapters: Mapping[str, ChatAdapter], metrics: Metrics, clock: Callable[[], datetime]
    ) -> None:
        self._adapters = adapters
        self._metrics = metrics
        self._clock = clock
        self._wrapped: dict[str, tuple[ChatAdapter, InstrumentedAdapter]] = {}

    def __getitem__(self, name: str) -> ChatAdapter:
        adapter = self._adapters[name]
        cached = self._wrapped.get(name)
        if cached is None or cached[0] is not adapter:
            cached = (adapter, instrument(adapter, self._metrics, self._clock))
            self._wrapped[name] = cached
        return cached[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)
