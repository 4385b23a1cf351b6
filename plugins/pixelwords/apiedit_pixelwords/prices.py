"""PixelWords: no price table. It publishes no API documentation (providers-2026-12.md), so
no figure could be read and every estimate is "price unknown"; a reseller's prices are its
own and change without notice. No batch API."""

from __future__ import annotations

from apiedit.pricing import Price, PriceRow, lookup
from apiedit.types import EditRequest

__all__ = ["ROWS", "price_for"]

ROWS: tuple[PriceRow, ...] = ()


def price_for(model: str, request: EditRequest) -> Price | None:
    return lookup(ROWS, model)
