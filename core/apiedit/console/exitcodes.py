"""One exit code per error family, so scripts can tell a typo from an empty wallet."""

from __future__ import annotations

import enum

from .. import errors as e

__all__ = ["ExitCode", "EXIT_CODES_HELP", "exit_code_for"]


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1  # a bug: rerun with --debug and report it
    USAGE = 2  # argparse's own code: a flag missing or misspelled
    INPUT = 3
    KEY = 4
    QUOTA = 5
    CONTENT = 6
    PROVIDER = 7
    PLUGIN = 8
    CANCELLED = 130  # what shells report for Ctrl-C


_FAMILIES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    # Narrow classes first: the first match wins.
    (e.CancelledError, ExitCode.CANCELLED),
    (e.ConfigurationError, ExitCode.KEY),
    (e.AuthenticationError, ExitCode.KEY),
    (e.QuotaExceededError, ExitCode.QUOTA),
    (e.RateLimitError, ExitCode.QUOTA),
    (e.ContentBlockedError, ExitCode.CONTENT),
    (e.NoImageReturnedError, ExitCode.CONTENT),
    (e.InvalidInputError, ExitCode.INPUT),
    (e.UnknownModelError, ExitCode.INPUT),
    (e.UnknownProviderError, ExitCode.PLUGIN),
    (e.PluginLoadError, ExitCode.PLUGIN),
    (e.ProviderError, ExitCode.PROVIDER),
)

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    internal error (a bug: rerun with --debug and report it)
  2    usage: a flag is missing, unknown or malformed
  3    input: bad image, size, ratio, count or model id (InvalidInputError, UnknownModelError)
  4    key or auth: no key, a rejected key, a bad base URL (MissingKeyError, AuthenticationError)
  5    quota or rate limit (QuotaExceededError, RateLimitError)
  6    content blocked or no image returned (ContentBlockedError, NoImageReturnedError)
  7    provider or network: unreachable, timed out, server error (ProviderError)
  8    plugin: unknown provider or a plugin that failed to load
  130  cancelled (Ctrl-C)"""


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of an error's family; an unknown ApiEditError counts as a provider error."""
    for cls, code in _FAMILIES:
        if isinstance(exc, cls):
            return code
    return ExitCode.PROVIDER if isinstance(exc, e.ApiEditError) else ExitCode.INTERNAL
