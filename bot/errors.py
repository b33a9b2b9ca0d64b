"""Domain errors that carry the one sentence a user reads.

Code below `cogs/` raises these; `cogs/errors.py` is the one place that shows them.
The text never contains secrets or provider internals: those go to the log.
"""

from __future__ import annotations


class PicassoError(Exception):
    """Base class: `user_message` is safe to show in Discord as it is."""

    user_message = "Something went wrong while making your picture — please try again."

    def __init__(self, user_message: str | None = None, *, detail: str = "") -> None:
        if user_message is not None:
            self.user_message = user_message
        super().__init__(detail or self.user_message)


class SafetyRejected(PicassoError):
    """The provider's safety system refused the prompt or the picture."""

    user_message = "Your request was rejected by the safety system — try rephrasing it."


class ModerationBlocked(PicassoError):
    """The moderation check flagged the request before anything was painted."""

    def __init__(self, categories: list[str]) -> None:
        self.categories = categories
        super().__init__(
            "Your request was flagged by this server's content check — try rephrasing it.",
            detail=", ".join(categories),
        )


APOLOGY = "Sorry — something went wrong on our side. It has been logged; please try again."


class ProviderBusy(PicassoError):
    """Rate limited or out of quota at the provider.

    `passing` is False when waiting will not help (the account is out of quota).
    """

    def __init__(
        self, retry_after: float | None, *, detail: str = "", passing: bool = True
    ) -> None:
        self.retry_after = retry_after
        self.passing = passing
        wait = max(1, round(retry_after)) if retry_after else 30
        super().__init__(
            f"The image service is busy right now — try again in {wait} s.", detail=detail
        )


class ProviderTimeout(PicassoError):
    """The provider did not answer in time."""

    user_message = "The image service took too long to answer — please try again in a minute."


class ProviderUnavailable(PicassoError):
    """The provider could not be reached or failed on its side."""

    user_message = "The image service can't be reached right now — please try again shortly."


class Misconfigured(PicassoError):
    """The bot's own configuration is wrong (bad key, unknown model)."""

    user_message = "The bot is misconfigured — tell a server admin."


class WaitedTooLong(PicassoError):
    """The request waited in line so long that Discord would no longer show its picture."""

    user_message = "Your picture waited too long in line — please ask again in a moment."


class UploadFailed(PicassoError):
    """Discord refused the picture even after making it smaller."""

    user_message = "The picture was made but Discord refused the upload — please try again."


class JobCancelled(PicassoError):
    """The person cancelled a request that was still waiting in line."""

    user_message = "❌ Cancelled — nothing was painted or charged."


class ShuttingDown(PicassoError):
    """The bot is restarting: it takes no new work until it is back."""

    user_message = "The bot is restarting — please try again in a minute."
