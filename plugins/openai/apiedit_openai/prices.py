"""OpenAI image models' published price per output image, by quality and size.

Each family's figures name their page (read 2026-12-03 from stored copies):
- gpt-image-1-mini: OpenAI's model page (developers.openai.com/api/docs/models/gpt-image-1-mini).
- gpt-image-1: OpenAI's per-image output prices as fal.ai lists them
  (fal.ai/models/fal-ai/gpt-image-1/edit-image/llms.txt).
- gpt-image-1.5: OpenAI's per-image prices as llmreference.com lists them (refreshed
  2026-05-10; runware.ai's model page agrees).
No per-image figure was found for gpt-image-2, 2.5, 2.6 (priced by tokens) or dall-e: no row,
so their estimate is "price unknown". Prices depend on quality and size: quality `auto` or
none (OpenAI then chooses), size `auto` and custom sizes have no figure either. The figures
are the output image only; prompt and input-image tokens are billed on top. The Batch API
takes `/v1/images/*` at 50% off (providers-2026-12.md, "Batch APIs").
"""

from __future__ import annotations

from decimal import Decimal

from apiedit.pricing import Price, PriceRow, lookup
from apiedit.types import EditRequest

__all__ = ["ROWS", "price_for"]

AS_OF = "2026-12-03"
SQUARE = ("1024x1024",)
OTHER = ("1536x1024", "1024x1536")


def _family(source: str, square: tuple[str, str, str], other: tuple[str, str, str]) -> dict[str, Price]:
    """Rows by 'quality/size' from (low, medium, high) figures for square and other sizes."""
    prices: dict[str, Price] = {}
    for quality, sq, ot in zip(("low", "medium", "high"), square, other):
        for sizes, amount in ((SQUARE, sq), (OTHER, ot)):
            for size in sizes:
                prices[f"{quality}/{size}"] = Price(
                    Decimal(amount), source=source, as_of=AS_OF, batch_discount=0.5,
                    note="output image only; prompt and input-image tokens are extra")
    return prices


ROWS: tuple[PriceRow, ...] = (
    PriceRow(r"^gpt-image-1-mini($|-\d{4}-)", _family(
        "developers.openai.com/api/docs/models/gpt-image-1-mini",
        ("0.005", "0.011", "0.036"), ("0.006", "0.015", "0.052"))),
    PriceRow(r"^gpt-image-1\.5($|-\d{4}-)", _family(
        "llmreference.com/model/gpt-image-1.5/openai-api (OpenAI API per-image rates)",
        ("0.009", "0.034", "0.133"), ("0.013", "0.050", "0.200"))),
    PriceRow(r"^gpt-image-1($|-\d{4}-)", _family(
        "fal.ai/models/fal-ai/gpt-image-1/edit-image/llms.txt (OpenAI per-image output rates)",
        ("0.011", "0.042", "0.167"), ("0.016", "0.063", "0.25"))),
)


def _size(model: str, request: EditRequest) -> str | None:
    """The size the plugin will send (its own rule, `sizes.resolve_size`), or None if it sends
    none or the request would be refused anyway."""
    from apiedit.errors import ApiEditError

    from .models import family_of
    from .sizes import resolve_size

    try:
        size, _warnings = resolve_size(request, family_of(model))
    except ApiEditError:
        return None
    return size.lower() if size else None


def price_for(model: str, request: EditRequest) -> Price | None:
    """The price for the request's quality and size, or None when the table has none."""
    quality = (request.quality or "").lower()
    size = _size(model, request)
    if quality in ("", "auto") or size is None:
        return None
    return lookup(ROWS, model, f"{quality}/{size}")
