"""The parts of `python -m bot check` that need no Discord: one ✓/✗ line for each thing the
bot needs (the settings, the OpenAI endpoint and models, the database, what the package
ships: its translation catalogs and the charts' font), and the one-line account of a
database failure. None prints a secret; `bot.cli.check` runs them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import openai
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.charts import japanese_font
from bot.config import ConfigError, Settings
from bot.errors import APOLOGY
from bot.formatting import join, usd
from bot.i18n import ENGLISH, LANGUAGES, catalog_file, translate
from bot.storage.database import HEAD_REVISION, SchemaTooNew, make_engine, schema_revision

log = logging.getLogger(__name__)

# What opening a database may raise: SQLAlchemy's errors, OSError for a folder that can't
# be made or a server that refuses the connection (asyncpg raises it unwrapped), and a
# schema made by a newer version.
DATABASE_ERRORS = (SQLAlchemyError, OSError, SchemaTooNew)
# Each model the bot calls, by the variable that names it.
MODEL_SETTINGS = (
    ("CHAT_MODEL", "chat_model"),
    ("IMAGE_MODEL", "image_model"),
    ("MODERATION_MODEL", "moderation_model"),
)
ENDPOINT = "OpenAI-compatible endpoint"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verdict: ✓ or ✗ and what was found."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def database_problem(error: Exception) -> str:
    """One line about a database failure, in the driver's own words (no SQL, no password)."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    if isinstance(error, DBAPIError) and isinstance(error.orig, Exception):
        return _first_line(error.orig)
    if isinstance(error, SchemaTooNew):
        return str(error)
    return f"{type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or ["(no message)"])[0]


def database_name(url: str) -> str:
    """The database URL as it may be shown (any password masked)."""
    return make_url(url).render_as_string(hide_password=True)


def report(lines: Iterable[Verdict]) -> bool:
    """Print `lines`; True if all are ✓."""
    ok = True
    for line in lines:
        print(line, flush=True)
        ok &= line.ok
    return ok


def settings_lines(problems: Sequence[ConfigError]) -> list[Verdict]:
    """A ✗ line naming each bad setting, or one ✓ line for them all."""
    if not problems:
        return [Verdict(True, "settings")]
    return [Verdict(False, str(problem)) for problem in problems]


def not_checked(what: str, variables: set[str]) -> Verdict:
    """✗: `what` can't be checked while `variables` are bad."""
    return Verdict(False, f"{what}: not checked until {join(sorted(variables))} is fixed")


CAPS = "bot-wide caps"
CAP_SETTINGS = {"BOT_DAILY_BUDGET_USD", "BOT_MONTHLY_BUDGET_USD"}


def caps_line(settings: Settings, unusable: set[str]) -> Verdict:
    """✓ and the caps on the whole bot's spend in force (or that there are none); not
    checked while `unusable` holds one of their settings."""
    blocked = unusable & CAP_SETTINGS
    if blocked:
        return not_checked(CAPS, blocked)
    daily, monthly = settings.bot_daily_budget_usd, settings.bot_monthly_budget_usd
    if daily is None and monthly is None:
        return Verdict(True, f"{CAPS}: no caps (BOT_DAILY_BUDGET_USD=none)")
    day = "no daily cap" if daily is None else f"{_dollars(daily)} a day"
    month = "no monthly cap" if monthly is None else f"{_dollars(monthly)} a month"
    return Verdict(True, f"{CAPS}: {day}, {month}")


def _dollars(amount: float) -> str:
    return usd(round(amount * 1_000_000))


def _api_problem(error: openai.OpenAIError) -> str:
    status = getattr(error, "status_code", None)
    text = type(error).__name__ + (f" (status {status})" if status else "")
    if isinstance(error, openai.AuthenticationError):
        return f"{text}: the key was refused (check OPENAI_API_KEY)"
    if isinstance(error, openai.APIConnectionError):
        return f"{text}: no answer (check OPENAI_BASE_URL)"
    return text


async def openai_lines(client: openai.AsyncOpenAI, settings: Settings) -> list[Verdict]:
    """The endpoint accepts `client`'s key, then each model `settings` name is there (the
    models are not tried when the endpoint failed)."""
    where = settings.openai_base_url or "api.openai.com"
    quick = client.with_options(max_retries=0, timeout=15)
    try:
        await quick.models.list()
    except openai.OpenAIError as error:
        return [Verdict(False, f"{ENDPOINT}: {_api_problem(error)} ({where}); models not checked")]
    lines = [Verdict(True, f"{ENDPOINT} answered ({where})")]
    for variable, field in MODEL_SETTINGS:
        lines.append(await _model_line(quick, variable, getattr(settings, field)))
    return lines


async def _model_line(client: openai.AsyncOpenAI, variable: str, model: str) -> Verdict:
    try:
        await client.models.retrieve(model)
    except openai.NotFoundError:
        return Verdict(False, f"{variable} {model}: the endpoint has no such model for this key")
    except openai.OpenAIError as error:
        return Verdict(False, f"{variable} {model}: {_api_problem(error)}")
    return Verdict(True, f"{variable} {model} is available")


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()


async def database_line(url: str) -> Verdict:
    """Reachable and migrated to this version's schema; never creates or migrates it."""
    name = f"database {database_name(url)}"
    if _missing_sqlite_file(url):
        return Verdict(False, f"{name}: no such file yet: run python -m bot migrate")
    try:
        engine = make_engine(url)
        try:
            revision = await schema_revision(engine)
        finally:
            await engine.dispose()
    except DATABASE_ERRORS as error:
        return Verdict(False, f"{name}: {database_problem(error)}")
    if revision != HEAD_REVISION:
        at = "" if revision is None else f" (at {revision}, this version needs {HEAD_REVISION})"
        return Verdict(False, f"{name}: not migrated{at}: run python -m bot migrate")
    return Verdict(True, f"{name} is reachable and migrated ({HEAD_REVISION})")


def catalog_lines() -> list[Verdict]:
    """A line in each language the bot speaks, read from its compiled catalog: ✗ where the
    catalog is missing (a packaging miss) or does not translate."""
    lines = []
    for language in LANGUAGES:
        if catalog_file(language) is None:
            lines.append(Verdict(False, f"catalog {language}: no compiled catalog (picasso.mo)"))
            continue
        sentence = translate(APOLOGY, language)
        if language != ENGLISH and sentence == APOLOGY:
            lines.append(Verdict(False, f"catalog {language}: does not translate"))
        else:
            lines.append(Verdict(True, f"catalog {language}: {sentence}"))
    return lines


def font_line() -> Verdict:
    """The charts' Japanese font is installed (matplotlib-fontja's file)."""
    font = japanese_font()
    if font is None:
        return Verdict(False, "chart font IPAexGothic: missing (install matplotlib-fontja)")
    return Verdict(True, f"chart font IPAexGothic ({font.name})")
