"""OpenRouter: no price table; the answer's `usage.cost` is the charge (`apiedit.reported_cost`).

OpenRouter's model list prices per token (`pricing.prompt`, `pricing.completion`) and per
input image (`pricing.image`), not per output image, and apiedit's curated table carries no
per-image figure for any OpenRouter slug; a per-image estimate from token prices would be a
guess (the number of output tokens an image takes differs by model and size). So every
estimate before the call is "price unknown", and the exact cost comes back in the answer
(Image API and chat completions both report `usage.cost`, in USD credits). OpenRouter's
Batch API rejects image output (providers-2026-12.md, "Batch APIs").
"""

from __future__ import annotations

from apiedit.pricing import Price, PriceRow, lookup
from apiedit.types import EditRequest

__all__ = ["ROWS", "price_for"]

ROWS: tuple[PriceRow, ...] = ()


def price_for(model: str, request: EditRequest) -> Price | None:
    return lookup(ROWS, model)
