"""Operating the bot: health and readiness (`health`), Prometheus metrics (`metrics`) and the
provider calls they watch (`observed`), all served on HEALTH_PORT."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ops.metrics import Metrics


def make_metrics(settings: Settings) -> Metrics | None:
    """The bot's Prometheus metrics when HEALTH_PORT serves them, else None (and
    prometheus_client is not even loaded)."""
    if settings.health_port is None:
        return None
    from bot.ops.metrics import Metrics

    return Metrics()
