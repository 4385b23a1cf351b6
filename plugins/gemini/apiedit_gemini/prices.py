"""Gemini image models' published price per output image, by `imageSize` tier.

Figures: Google's Gemini Developer API pricing page (ai.google.dev/gemini-api/docs/pricing),
as quoted row by row by aifreeapi.com (checked there 2026-03-22/24; read here 2026-12-03).
They are the output-image charge only; prompt text and input images are billed on top.
Google published them for the `-preview` ids. No page with a price for the GA ids that
replaced those previews on 2026-05-28 (`gemini-3-pro-image`, `gemini-3.1-flash-image`), nor for
`gemini-nano-banana-2.1` or `gemini-3.1-flash-lite-image`, was found: they have no row (price
unknown), because carrying a preview's figure over would be a guess.
Batch Mode (50% off) covers the image models providers-2026-12.md "Batch APIs" lists.
"""

from __future__ import annotations

from decimal import Decimal

from apiedit.pricing import Price, PriceRow, lookup
from apiedit.types import EditRequest

__all__ = ["ROWS", "price_for"]

SOURCE = "ai.google.dev/gemini-api/docs/pricing (as quoted by aifreeapi.com, 2026-03-22)"
AS_OF = "2026-12-03"
DEFAULT_TIER = "1K"  # Gemini's default imageSize
_TIERS = {"0.5K": "512", "512": "512", "1K": "1K", "2K": "2K", "4K": "4K"}


def _p(amount: str, batch: float | None, note: str = "") -> Price:
    return Price(Decimal(amount), source=SOURCE, as_of=AS_OF, batch_discount=batch, note=note)


def _pro() -> dict[str, Price]:
    return {"1K": _p("0.134", 0.5), "2K": _p("0.134", 0.5), "4K": _p("0.24", 0.5)}


def _flash31() -> dict[str, Price]:
    # Not in the Batch API's list of image models: no batch discount claimed.
    return {"512": _p("0.045", None), "1K": _p("0.067", None),
            "2K": _p("0.101", None), "4K": _p("0.151", None)}


ROWS: tuple[PriceRow, ...] = (
    PriceRow(r"^gemini-2\.5-flash-image", {"": _p("0.039", 0.5, "one image up to 1024x1024")}),
    PriceRow(r"^gemini-3-pro-image-preview", _pro()),
    PriceRow(r"^gemini-3\.1-flash-image-preview", _flash31()),
)


def price_for(model: str, request: EditRequest) -> Price | None:
    """The row's price for the request's resolution (default 1K), or None (no row, or a
    resolution the table has no figure for)."""
    model = model.removeprefix("models/")
    tier = _TIERS.get(request.resolution or DEFAULT_TIER)
    if tier is None:
        return None
    return lookup(ROWS, model, tier)
