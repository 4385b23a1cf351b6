"""What a request will cost, from each plugin's price table, before anything is sent.

Figures come from the plugins' `prices.py` tables (each row names its source and the date it
was read) through the optional `price` hook; after a call, `reported_cost` reads the amount
the provider itself reported (OpenRouter's `usage.cost`). A model without a row is "price
unknown": an estimate is never guessed, and a total with any unknown part is unknown, so a
budget check can refuse or ask rather than spend on a made-up figure. `estimate_cost` does
no network I/O (the plugin gets no key), so a UI may call it on every widget change.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import attrs

if TYPE_CHECKING:
    from .host import Host
    from .types import EditRequest, EditResult

__all__ = ["CostEstimate", "Price", "PriceRow", "estimate_cost", "lookup", "reported_cost", "total"]

_SYMBOLS = {"USD": "$"}


@attrs.frozen
class Price:
    """One row of a plugin's price table: the cost of one output image of a model."""

    per_image: Decimal  # in `currency`, for one output image (at the request's size/quality)
    currency: str = "USD"
    source: str = ""  # URL or document + section the figure was read from
    as_of: str = ""  # ISO date it was read
    batch_discount: float | None = None  # fraction off through the batch API (0.5 = half price); None = no batch API
    note: str = ""


@attrs.frozen
class PriceRow:
    """Model ids matching `pattern` (a regular expression, `re.match`) cost `prices[tier]`.

    The tier is the plugin's key for what the price depends on ("low/1024x1024", "2K");
    "" is the row's price for any request. A tier the row does not list (e.g. quality
    "auto") and no "" entry means no price."""

    pattern: str
    prices: Mapping[str, Price]


def lookup(rows: Sequence[PriceRow], model: str, tier: str = "") -> Price | None:
    """The first row matching `model`, priced for `tier` (else its "" price); None if none."""
    wanted = model.strip()
    for row in rows:
        if re.match(row.pattern, wanted):
            return row.prices.get(tier) or row.prices.get("")
    return None


def _money(amount: Decimal, currency: str) -> str:
    """'$0.04', '$0.133', '$0.00'; another unit is written after the number."""
    cents = amount.quantize(Decimal("0.01"))
    text = f"{cents:f}" if amount == cents else f"{amount.normalize():f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}".strip()


@attrs.frozen
class CostEstimate:
    """An estimated (or reported) cost; `amount` None means unknown, never a guess."""

    amount: Decimal | None
    currency: str  # "USD" (or the provider's unit); "" when unknown
    per_image: Decimal | None
    images: int
    batch: bool
    basis: str  # where the figure came from, or why it is unknown

    @property
    def known(self) -> bool:
        return self.amount is not None

    def label(self) -> str:
        """Short text for a badge: '≈ $0.16 (4 × $0.04)', '≈ $0.04', or 'price unknown'."""
        if self.amount is None:
            return "price unknown"
        text = f"≈ {_money(self.amount, self.currency)}"
        if self.per_image is not None and self.images > 1:
            text += f" ({self.images} × {_money(self.per_image, self.currency)})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The fields a result's info and a batch report carry."""
        return {"estimated_cost": float(self.amount) if self.amount is not None else None,
                "currency": self.currency, "cost_basis": self.basis}


def _unknown(images: int, batch: bool, why: str) -> CostEstimate:
    return CostEstimate(None, "", None, images, batch, f"price unknown: {why}")


def estimate_cost(provider: str, request: EditRequest, *, batch: bool = False,
                  host: Host | None = None) -> CostEstimate:
    """What `request` (its `n` images) costs by the plugin's price table; no network I/O.

    Never raises for an unknown model (nor an unknown provider or a plugin bug): the answer
    is then "price unknown" with the reason. `batch=True` applies the row's batch discount,
    and is unknown for a model without a batch API.
    """
    from .errors import ApiEditError

    if host is None:
        from .host import default_host

        host = default_host()
    images = request.n
    try:
        price = host.price(provider, request)
    except ApiEditError as exc:
        return _unknown(images, batch, str(exc))
    if not isinstance(price, Price):
        detail = " at this size/quality" if request.quality or request.size or request.resolution else ""
        return _unknown(images, batch, f"no price for {provider} model {request.model!r}{detail}")
    per_image = price.per_image
    where = ", ".join(p for p in (price.source, price.as_of) if p)
    basis = f"price table ({where})" if where else "price table"
    if batch:
        if price.batch_discount is None:
            return _unknown(images, batch, f"{provider} model {request.model!r} has no batch API")
        per_image = per_image * (1 - Decimal(str(price.batch_discount)))
        basis += f", batch API {price.batch_discount:.0%} off"
    if price.note:
        basis += f"; {price.note}"
    return CostEstimate(per_image * images, price.currency, per_image, images, batch, basis)


def reported_cost(result: EditResult) -> CostEstimate | None:
    """The cost the provider reported in its answer (OpenRouter's `usage.cost`, in USD
    credits), else None."""
    cost = result.usage.get("cost") if result.usage else None
    if cost is None or isinstance(cost, bool):
        return None
    try:
        amount = Decimal(str(cost))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0:
        return None
    images = len(result.images)
    per_image = amount / images if images else None
    return CostEstimate(amount, "USD", per_image, images, False,
                        f"reported by the provider ({result.provider})")


def total(estimates: Iterable[CostEstimate]) -> CostEstimate:
    """The sum; unknown if any part is unknown (the basis says how many), or if the parts
    are in different currencies."""
    parts = list(estimates)
    if not parts:
        return CostEstimate(Decimal(0), "USD", None, 0, False, "no requests")
    images = sum(e.images for e in parts)
    batch = all(e.batch for e in parts)
    missing = sum(1 for e in parts if e.amount is None)
    if missing:
        return _unknown(images, batch, f"{missing} of {len(parts)} requests have no price")
    currencies = {e.currency for e in parts}
    if len(currencies) > 1:
        return _unknown(images, batch, f"the parts are in different currencies "
                                       f"({', '.join(sorted(currencies))})")
    amount = sum((e.amount for e in parts if e.amount is not None), Decimal(0))
    bases = sorted({e.basis for e in parts})
    basis = bases[0] if len(bases) == 1 else f"sum of {len(parts)} estimates"
    return CostEstimate(amount, currencies.pop(), None, images, batch, basis)
