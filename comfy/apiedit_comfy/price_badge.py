"""The node's price badge: the estimated cost of a run, from the plugins' price tables.

On ComfyUI 0.33 it is an `io.PriceBadge`: a JSONata expression the frontend evaluates on every
widget change. The figures are not computed in the browser from rules: this module asks core's
`estimate_cost` (the plugins' `prices.py` rows, each naming its source and date) for every
installed model and every value of the widgets a price may depend on (size, aspect ratio,
resolution), and embeds the answers as a table; the expression only looks up the chosen model
and multiplies by the count. So the badge and the run's `estimated_cost` come from one place.

What the badge says:
- "≈ $0.48 (2 × $0.24)": the table has a figure for this model at these settings;
- "$0.026–$0.40 (2 × $0.013–$0.20), quality chosen by the provider": the model's price depends
  on a quality the node does not send (OpenAI's GPT Image picks it, "auto"); the bounds are the
  table's low and high figures, not a guess in between;
- "price unknown": no row for the model (or for these settings), a typed `model_override`, or a
  provider without a table (OpenRouter reports the exact cost after the call instead; it is in
  the info output as `reported_cost`). Never a made-up figure.
The badge is a text badge, not ComfyUI's "usd" type: the frontend would show that as Comfy.org
credits, and this node is billed by the user's own provider account.

The frontend shows price badges only on nodes flagged as API nodes (`is_api_node`), and lower-
cases combo and text values before the expression sees them (so the table's keys are lower case).
ComfyUI 0.3.75 has no `PriceBadge` and its frontend no JSONata. There the price is the text
line ComfyUI keeps under the node after a run ("openai: received 2 image(s); estimated cost
…", the same words, plus the provider's reported cost), on every version, and the info output's
`estimated_cost`. A line drawn by the web extension before the run would need a second
evaluator of the table in JavaScript; the run's line and the info output say the same with
none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from apiedit.redact import get_logger

if TYPE_CHECKING:
    from apiedit.host import Host
    from apiedit.types import EditRequest, EditResult

log = get_logger("apiedit.comfy")

__all__ = ["DIMENSIONS", "Widgets", "badge", "badge_options", "cost_info", "cost_line", "expression",
           "label", "model_prices", "node_badge", "price_table", "run_label", "supported"]

DIMENSIONS = ("size", "aspect_ratio", "resolution")  # request fields a price may depend on
QUALITIES = ("low", "medium", "high")  # what a provider's "auto" quality chooses among
DEFAULT_LABELS = {"", "provider default", "(provider default)"}  # a combo value meaning "not sent"
UNKNOWN = "price unknown"


@dataclass(frozen=True)
class Widgets:
    """The node's widget names the badge reads (nested DynamicCombo inputs: "parent.child")."""

    provider: str = "provider"
    model: str = "model"
    model_override: str = "model_override"
    count: str = "count"
    dimensions: Mapping[str, str] = field(
        default_factory=lambda: {d: d for d in DIMENSIONS})  # DIMENSIONS name -> widget name

    def names(self) -> list[str]:
        return [self.provider, self.model, self.model_override, self.count,
                *self.dimensions.values()]


def _value(option: str) -> str | None:
    """A combo option as the request field it sends (None: the provider's default)."""
    return None if option.strip().lower() in DEFAULT_LABELS else option


def _request(model: str, choice: Mapping[str, str | None], quality: str | None) -> EditRequest | None:
    from apiedit.types import EditRequest

    try:
        return EditRequest(model=model, prompt="price", quality=quality, **choice)
    except Exception:  # a value core refuses (the node refuses it at queue time too)
        return None


def _per_image(provider: str, model: str, choice: Mapping[str, str | None],
               host: Host) -> tuple[float, float, str] | None:
    """(low, high, currency) of one output image; low == high when the table has one figure."""
    from apiedit.pricing import estimate_cost

    plain = _request(model, choice, None)
    if plain is None:
        return None
    estimate = estimate_cost(provider, plain, host=host)
    if estimate.per_image is not None:
        amount = float(estimate.per_image)
        return amount, amount, estimate.currency
    found = []
    for quality in QUALITIES:
        request = _request(model, choice, quality)
        priced = estimate_cost(provider, request, host=host) if request else None
        if priced is None or priced.per_image is None:
            return None  # a bound needs every quality the provider may pick
        found.append((priced.per_image, priced.currency))
    if len({c for _, c in found}) != 1:
        return None
    return float(min(a for a, _ in found)), float(max(a for a, _ in found)), found[0][1]


def model_prices(provider: str, model: str, options: Mapping[str, Sequence[str]],
                 host: Host | None = None) -> dict[str, Any] | None:
    """{"d": the dimensions the price depends on, "p": {"v1|v2": [low, high, currency]}},
    or None when no value of any dimension has a price.

    A dimension counts when changing it alone (the others at the provider default) changes
    the answer; the table then holds every combination of those dimensions. Each distinct
    choice is priced once (the probes and the table share most of them)."""
    from itertools import product

    if host is None:
        from apiedit.host import default_host

        host = default_host()
    seen: dict[tuple[tuple[str, str | None], ...], tuple[float, float, str] | None] = {}

    def per_image(choice: dict[str, str | None]) -> tuple[float, float, str] | None:
        key = tuple(sorted(choice.items()))
        if key not in seen:
            seen[key] = _per_image(provider, model, choice, host)
        return seen[key]

    dims = [d for d in DIMENSIONS if d in options]
    base = {d: None for d in dims}
    default = per_image(base)
    varying = [d for d in dims
               if any(per_image({**base, d: _value(o)}) != default for o in options[d])]
    prices: dict[str, list[Any]] = {}
    for values in product(*(options[d] for d in varying)):
        choice = {**base, **{d: _value(v) for d, v in zip(varying, values)}}
        found = per_image(choice)
        if found is not None:
            prices["|".join(v.strip().lower() for v in values)] = list(found)
    return {"d": varying, "p": prices} if prices else None


PerModel = Mapping[str, Mapping[str, Sequence[str]]]  # model id -> its own `options`


def price_table(models: Mapping[str, Sequence[str]], options: Mapping[str, Sequence[str]],
                host: Host | None = None, per_model: PerModel | None = None) -> dict[str, dict[str, Any]]:
    """{provider: {model id (lower case): model_prices(...)}}, priced models only.

    `per_model` gives a model the values its own inputs show (the adaptive node's option);
    a model not in it is priced at `options`."""
    table: dict[str, dict[str, Any]] = {}
    per_model = per_model or {}
    for provider, ids in models.items():
        entries = {}
        for model in ids:
            try:
                entry = model_prices(provider, model, per_model.get(model, options), host)
            except Exception as exc:  # a plugin bug must not break /object_info
                log.warning("no price badge figures for %s %s: %s", provider, model, exc)
                entry = None
            if entry is not None:
                entries.setdefault(model.strip().lower(), entry)
        if entries:
            table[provider.lower()] = entries
    return table


def _money(amount: Decimal | float, currency: str) -> str:
    """As `apiedit.pricing`: '$0.04', '$0.133', '$0.00'; another unit after the number."""
    value = Decimal(str(round(float(amount), 6)))
    cents = value.quantize(Decimal("0.01"))
    text = f"{cents:f}" if value == cents else f"{value.normalize():f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}".strip()


def label(low: float | None, high: float | None, currency: str, count: int) -> str:
    """The badge text for one image's price bounds and `count` images (Python twin of the
    expression's, for 0.3.75 and tests)."""
    if low is None or high is None:
        return UNKNOWN
    count = max(1, int(count or 1))
    if low == high:
        text = f"≈ {_money(low * count, currency)}"
        return text + (f" ({count} × {_money(low, currency)})" if count > 1 else "")
    text = f"{_money(low * count, currency)}–{_money(high * count, currency)}"
    if count > 1:
        text += f" ({count} × {_money(low, currency)}–{_money(high, currency)})"
    return text + ", quality chosen by the provider"


# JSONata twin of `_money` and `label` (ComfyUI's frontend evaluates it; `widgets` holds the
# values of depends_on's widgets: combos and strings lower-cased, a missing widget null).
_EXPRESSION = """(
  $t := %(table)s;
  $n := %(names)s;
  $w := widgets;
  $s := function($v) { ($exists($v) and $v != null) ? $string($v) : "" };
  $o := $s($lookup($w, $n.model_override));
  $e := $o = "" ? $lookup($lookup($t, $s($lookup($w, $n.provider))), $s($lookup($w, $n.model))) : null;
  $k := ($e and $count($e.d) > 0)
    ? $join([$map($e.d, function($d) { $s($lookup($w, $lookup($n.dims, $d))) })], "|") : "";
  $p := $e ? $lookup($e.p, $k) : null;
  $c := $lookup($w, $n.count);
  $c := ($exists($c) and $c != null and $c >= 1) ? $c : 1;
  $money := function($a, $u) {(
    $r := $round($a, 6);
    $x := $round($r, 2) = $r ? $formatNumber($r, "0.00") : $string($r);
    $u = "USD" ? "$" & $x : $x & " " & $u
  )};
  ($exists($p) and $p != null) ? {"type": "text", "text": (
    $p[0] = $p[1]
      ? "≈ " & $money($p[0] * $c, $p[2]) & ($c > 1 ? " (" & $string($c) & " × " & $money($p[0], $p[2]) & ")" : "")
      : $money($p[0] * $c, $p[2]) & "–" & $money($p[1] * $c, $p[2])
        & ($c > 1 ? " (" & $string($c) & " × " & $money($p[0], $p[2]) & "–" & $money($p[1], $p[2]) & ")" : "")
        & ", quality chosen by the provider"
  )} : {"type": "text", "text": "%(unknown)s"}
)"""


def expression(table: Mapping[str, Any], widgets: Widgets = Widgets()) -> str:
    """The badge's JSONata expression with `table` (from `price_table`) embedded."""
    names = {"provider": widgets.provider, "model": widgets.model,
             "model_override": widgets.model_override, "count": widgets.count,
             "dims": dict(widgets.dimensions)}
    return _EXPRESSION % {"table": json.dumps(table, ensure_ascii=False, sort_keys=True),
                          "names": json.dumps(names), "unknown": UNKNOWN}


def badge(models: Mapping[str, Sequence[str]], options: Mapping[str, Sequence[str]],
          widgets: Widgets = Widgets(), per_model: PerModel | None = None, *,
          store: bool = False) -> Any:
    """An `io.PriceBadge` for the node's schema, or None where ComfyUI has no price badges
    (0.3.75) or the tables cannot be read (the node must load without a badge). `store`
    keeps the table on disk for the next start (`badge_store`)."""
    from comfy_api.latest import io

    if not hasattr(io, "PriceBadge"):
        return None
    try:
        def compute() -> dict[str, Any]:
            return price_table(models, options, per_model=per_model)

        if store:
            from .schema_data import badge_table

            table = badge_table([models, options, per_model or {}], compute)
        else:
            table = compute()
        text = expression(table, widgets)
    except Exception as exc:
        log.warning("the node's price badge could not be built: %s", exc)
        return None
    return _tolerant_badge_class()(expr=text, depends_on=io.PriceBadgeDepends(widgets=widgets.names()))


_badge_class: Any = None


def _tolerant_badge_class() -> Any:
    global _badge_class
    if _badge_class is not None:
        return _badge_class
    from comfy_api.latest import io

    class TolerantBadge(io.PriceBadge):  # type: ignore[misc, name-defined]
        """Drops depends_on widgets the schema lacks (a renamed input) instead of failing
        /object_info: the expression then reads them as null and says "price unknown"."""

        def as_dict(self, schema_inputs: list[Any]) -> dict[str, Any]:
            known = set()
            for inp in schema_inputs:
                known.add(inp.id)
                known.update(f"{inp.id}.{nested.id}" for nested in inp.get_all()[1:])
            missing = [w for w in self.depends_on.widgets if w not in known]
            if missing:
                log.warning("price badge: the node has no widget %s", ", ".join(missing))
                self.depends_on.widgets = [w for w in self.depends_on.widgets if w in known]
            return super().as_dict(schema_inputs)

    _badge_class = TolerantBadge
    return TolerantBadge


_cache: dict[str, Any] = {}


def node_badge(models: Mapping[str, Sequence[str]], options: Mapping[str, Sequence[str]],
               widgets: Widgets = Widgets(), per_model: PerModel | None = None) -> Any:
    """`badge` for every installed provider's usable models (the node's model list, provider
    -> ids). The table is computed only when the lists, the options or a plugin change (~40 ms,
    paid at ComfyUI's start, which builds the schema; benchmarks/README.md figure 3): kept in
    memory for the frequent /object_info, and on disk for the next start (`schema_data`,
    `badge_store`)."""
    key = json.dumps([models, options, widgets.names(), dict(widgets.dimensions), per_model or {}],
                     sort_keys=True)
    if key not in _cache:
        _cache.clear()
        _cache[key] = badge(models, options, widgets, per_model, store=True)
    return _cache[key]


def badge_options(models: Mapping[str, Sequence[str]], options: Mapping[str, Sequence[str]],
                  widgets: Widgets = Widgets(), per_model: PerModel | None = None) -> dict[str, Any]:
    """The Schema keywords for the badge: `is_api_node` and `price_badge` where ComfyUI has
    price badges (0.33's frontend shows them on API nodes only), none on 0.3.75 (no
    `price_badge` there, so the node stays a plain node).

    Being an API node on 0.33 also colours the node like ComfyUI's own API nodes, lists it with
    them in the node library, and makes ComfyUI hand the node its Comfy.org login token as
    hidden inputs (`auth_token_comfy_org`...), which this node never reads or sends."""
    if not supported():
        return {}
    found = node_badge(models, options, widgets, per_model)
    return {"is_api_node": True, "price_badge": found} if found is not None else {}


def supported() -> bool:
    """True where ComfyUI has price badges (0.33); they show only on API nodes."""
    try:
        from comfy_api.latest import io
    except ImportError:
        return False
    return hasattr(io, "PriceBadge")


def _choice(request: EditRequest) -> dict[str, str | None]:
    return {d: getattr(request, d) for d in DIMENSIONS}


def run_label(provider: str, request: EditRequest, host: Host | None = None) -> str:
    """The badge's text for a request about to be sent (shown under the node as it starts, on
    every ComfyUI version)."""
    if host is None:
        from apiedit.host import default_host

        host = default_host()
    try:
        found = _per_image(provider, request.model, _choice(request), host)
    except Exception:
        found = None
    if found is None:
        return UNKNOWN
    return label(found[0], found[1], found[2], request.n)


def cost_line(provider: str, request: EditRequest, cost: Mapping[str, Any]) -> str:
    """'estimated cost ≈ $0.48 (2 × $0.24)', plus '; reported $0.039' when the provider said."""
    text = f"estimated cost {run_label(provider, request)}"
    if cost.get("reported_cost") is not None:
        text += f"; reported {_money(cost['reported_cost'], cost.get('reported_currency', 'USD'))}"
    return text


def cost_info(provider: str, request: EditRequest, result: EditResult | None = None,
              host: Host | None = None) -> dict[str, Any]:
    """The info output's cost fields: `estimated_cost` (null = price unknown), `currency`,
    `cost_basis`; `estimated_cost_range` [low, high] when the figure depends on a quality the
    provider picks; `reported_cost` + `reported_currency` when the answer carries one."""
    from apiedit.pricing import estimate_cost, reported_cost

    if host is None:
        from apiedit.host import default_host

        host = default_host()
    fields = estimate_cost(provider, request, host=host).to_json()
    if fields["estimated_cost"] is None:
        try:
            found = _per_image(provider, request.model, _choice(request), host)
        except Exception:
            found = None
        if found is not None and found[0] != found[1]:
            fields["estimated_cost_range"] = [round(found[0] * request.n, 6),
                                              round(found[1] * request.n, 6)]
            fields["currency"] = found[2]
            fields["cost_basis"] += "; between the table's low and high quality"
    reported = reported_cost(result) if result is not None else None
    if reported is not None and reported.amount is not None:
        fields["reported_cost"] = float(reported.amount)
        fields["reported_currency"] = reported.currency
    return fields
