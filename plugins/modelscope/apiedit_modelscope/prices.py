"""ModelScope API-Inference: free of charge within a daily allowance, so every model costs $0.

Source: ModelScope's limits page (model-service/API-Inference/limits/limits_CN.md, a mirror;
undated) as summarised in providers-2026-12.md: a non-commercial service whose calls use
0.5 / 1 / 2 points (light / mainstream / flagship models) of a free allowance (an older rule:
2,000 calls a day, at most 500 per model). No money is charged, so the estimate is $0 and
its note says the allowance is what is spent; which tier a model is in is not published per
model, so the points are not estimated. No batch API.
"""

from __future__ import annotations

from decimal import Decimal

from apiedit.pricing import Price, PriceRow, lookup
from apiedit.types import EditRequest

__all__ = ["ROWS", "price_for"]

FREE = Price(
    Decimal(0), source="ModelScope API-Inference limits page (limits_CN.md)", as_of="2026-12-03",
    batch_discount=None,
    note="free; each call uses 0.5-2 points of the daily free allowance",
)
ROWS: tuple[PriceRow, ...] = (PriceRow(r".", {"": FREE}),)


def price_for(model: str, request: EditRequest) -> Price | None:
    return lookup(ROWS, model)
