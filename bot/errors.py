"""Domain errors that carry the one sentence a user reads.

Code below `cogs/` raises these; `cogs/common/answering.py` is the one place that shows them.
The text never contains secrets or provider internals: those go to the log.

A sentence is kept as its English msgid (and `str.format` fields) and translated when it is
read, so it reaches each reader in their language: `error.user_message` is the sentence in
the current language (`bot.i18n`), `SomeError.user_message` on the class is the English.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from bot.i18n import N_, gettext


class Sentence:
    """A class's sentence: its English msgid on the class, its translation on an error."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    @overload
    def __get__(self, error: None, owner: type[Any]) -> str: ...
    @overload
    def __get__(self, error: PicassoError, owner: type[Any]) -> str: ...
    def __get__(self, error: PicassoError | None, owner: type[Any] | None = None) -> str:
        return self.msgid if error is None else error.render()

    def __set__(self, error: PicassoError, text: str) -> None:
        error.msgid, error.params = text, {}


class PicassoError(Exception):
    """Base class: `user_message` is safe to show in Discord as it is.

    `PicassoError(N_("Wait {seconds} s"), seconds=3)`: the msgid and its fields. A subclass
    names its sentence as `user_message = N_("…")`, or overrides `render` to build it.
    """

    if TYPE_CHECKING:
        user_message: str
    else:
        user_message = Sentence(
            N_("Something went wrong while making your picture — please try again.")
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("user_message")
        if isinstance(own, str):  # a plain sentence: read through `render`, like the base's
            cls.user_message = Sentence(own)  # type: ignore[assignment]

    def __init__(self, user_message: str | None = None, *, detail: str = "", **params: Any) -> None:
        self.msgid: str = type(self).user_message if user_message is None else user_message
        self.params: dict[str, Any] = params
        super().__init__(detail or self.english())

    def english(self) -> str:
        """The sentence in English (for logs)."""
        return self.msgid.format(**self.params) if self.params else self.msgid

    def render(self) -> str:
        """The sentence in the reader's language."""
        text = gettext(self.msgid)
        return text.format(**self.params) if self.params else text


class SafetyRejected(PicassoError):
    """The provider's safety system refused the prompt or the picture."""

    user_message = N_("Your request was rejected by the safety system — try rephrasing it.")


class ModerationBlocked(PicassoError):
    """The moderation check flagged the request before anything was painted."""

    def __init__(self, categories: list[str]) -> None:
        self.categories = categories
        super().__init__(
            N_("Your request was flagged by this server's content check — try rephrasing it."),
            detail=", ".join(categories),
        )


APOLOGY = N_("Sorry — something went wrong on our side. It has been logged; please try again.")


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
            N_("The image service is busy right now — try again in {seconds} s."),
            detail=detail,
            seconds=wait,
        )


class ProviderTimeout(PicassoError):
    """The provider did not answer in time."""

    user_message = N_("The image service took too long to answer — please try again in a minute.")


class ProviderUnavailable(PicassoError):
    """The provider could not be reached or failed on its side.

    `retryable` is True only when the answer proves nothing was made (so nothing was
    billed): an HTTP 500, 502 or 503, or a connection that failed before the request went
    out. Otherwise (the default) the call may have been billed: retrying may pay twice.
    """

    user_message = N_("The image service can't be reached right now — please try again shortly.")

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str = "",
        retryable: bool = False,
        **params: Any,
    ) -> None:
        self.retryable = retryable
        super().__init__(user_message, detail=detail, **params)


class Misconfigured(PicassoError):
    """The bot's own configuration is wrong (bad key, unknown model)."""

    user_message = N_("The bot is misconfigured — tell a server admin.")


class WaitedTooLong(PicassoError):
    """The request waited in line so long that Discord would no longer show its picture."""

    user_message = N_("Your picture waited too long in line — please ask again in a moment.")


class QueueDown(PicassoError):
    """The job queue (Redis) could not take a job for the painting workers."""

    user_message = N_("The bot can't reach its painting workers right now — please try again.")


class StorageUnavailable(PicassoError):
    """The database did not answer, or answered with a failure that passes (a lost
    connection, a timeout, a serialization failure): trying again later may succeed."""

    user_message = N_("Picasso can't reach its storage right now — please try again in a minute.")


class UploadFailed(PicassoError):
    """Discord refused the picture even after making it smaller."""

    user_message = N_("The picture was made but Discord refused the upload — please try again.")


class JobCancelled(PicassoError):
    """The person cancelled a request that was still waiting in line."""

    user_message = N_("❌ Cancelled — nothing was painted or charged.")


class ShuttingDown(PicassoError):
    """The bot is restarting: it takes no new work until it is back."""

    user_message = N_("The bot is restarting — please try again in a minute.")


class PictureRefused(PicassoError):
    """A picture someone gave is one the bot won't decode: not a PNG, JPEG or WebP by its
    content, animated, or too large (`bot.imaging.inputs`, whose sentences say which)."""

    user_message = N_("Attach a PNG, JPEG or WebP picture — other files can't be used.")
