"""Advice worded for the command line (flag names), in place of the node's wording."""

from __future__ import annotations

from ..errors import ApiEditError
from ..redact import redact

__all__ = ["cli_message"]

CLI_HINTS = {
    "needs_image": "give at least one input image with -i.",
    "no_images": "drop the -i images, or pick an editing model (see `apiedit models {provider}`).",
    "no_mask": "drop --mask.",
    "no_conversation": "drop --conversation, or use `apiedit edit` with -i LAST_IMAGE.",
    "no_aspect_ratio": "use --size instead, or drop --aspect-ratio.",
    "bad_image": "pass a PNG, JPEG or WebP file with -i.",
    "bad_size": "Use --size WIDTHxHEIGHT (e.g. --size 1024x1024) or --size auto.",
    "bad_aspect_ratio": "Use --aspect-ratio W:H, e.g. --aspect-ratio 16:9.",
    "bad_count": "Use -n 1 or more.",
    "unknown_model": "Run `apiedit models {provider} --refresh`, or pass --allow-unlisted for a "
                     "brand-new model.",
    "missing_key": "Set {env}, or run `apiedit keys set {provider}`.",
    "unknown_provider": "Run `apiedit plugins` to see what is installed; the README's Plugins "
                        "section lists the providers this repository ships.",
}


def cli_message(exc: ApiEditError) -> str:
    """The error's text with the node's advice swapped for the CLI's, on one line."""
    hint = CLI_HINTS.get(exc.hint_id or "")
    if hint is None:
        text = str(exc)
    else:
        details = exc.details if isinstance(exc.details, dict) else {}
        fill = {"provider": exc.provider or "PROVIDER", "env": "the key's environment variable",
                **details}
        text = f"{exc.fact} {hint.format(**fill)}"
        if exc.request_id and exc.request_id not in text:
            text = f"{text} (request {exc.request_id})"
    return redact(" ".join(text.split()))
