"""Which inputs each model honours: the data behind the node's adaptive options (0.33).

No ComfyUI import: ComfyUI's start reads these from the stored schema data (`schema_data`),
and `schema` turns them into inputs. The limits come from the plugins' model tables
(`apiedit.types.ModelInfo`), imported only when a table is read.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiedit.types import ModelInfo

DEFAULT = "provider default"  # what an empty combo value reads as
ANY_MODEL = "(any model: type its id in Model override)"
IMAGE_PORTS = ("image1", "image2", "image3", "image4")  # the flat schema's, and the minimum
MAX_IMAGES = 16  # OpenAI gpt-image's cap, the largest in the tables
ASPECT_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
RESOLUTIONS = ["1K", "2K", "4K"]
SIZES = ["auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792",
         "512x512", "256x256", "1328x1328", "1664x928", "928x1664", "2048x2048"]
MAX_SEED = 2**31 - 1
MAX_COUNT = 10


@dataclasses.dataclass(frozen=True)
class Knobs:
    """The inputs one model honours (what its adaptive option shows)."""

    images: int = MAX_IMAGES  # 0 = no image inputs
    mask: bool = True
    negative_prompt: bool = True
    seed: bool = True
    strength: bool = True
    guidance: bool = True
    steps: bool = True
    sizes: tuple[str, ...] = tuple(SIZES)  # () = no size input
    aspect_ratios: tuple[str, ...] = tuple(ASPECT_RATIOS)
    resolutions: tuple[str, ...] = tuple(RESOLUTIONS)
    count: int = MAX_COUNT  # 1 = no count input
    watermark: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> Knobs:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


EVERY_KNOB = Knobs()


def knobs_of(info: ModelInfo) -> Knobs:
    """What the model's table entry says it honours; every knob when the entry is a guess."""
    from apiedit.types import Capability

    if not info.verified:
        return EVERY_KNOB
    caps = info.capabilities
    takes_images = bool(caps & (Capability.EDIT | Capability.MULTI_IMAGE))
    # sizes empty = any size; a model that names neither ratios nor tiers takes a size
    any_size = not info.sizes and not info.aspect_ratios and not info.resolutions
    return Knobs(
        images=max(len(IMAGE_PORTS), min(info.max_input_images, MAX_IMAGES)) if takes_images else 0,
        mask=Capability.MASK in caps,
        negative_prompt=Capability.NEGATIVE_PROMPT in caps,
        seed=Capability.SEED in caps,
        strength=Capability.STRENGTH in caps,
        guidance=Capability.GUIDANCE in caps,
        steps=Capability.STEPS in caps,
        sizes=tuple(SIZES) if any_size else tuple(info.sizes),
        aspect_ratios=tuple(info.aspect_ratios),
        resolutions=tuple(info.resolutions),
        count=max(1, min(info.max_n, MAX_COUNT)),
        watermark=Capability.WATERMARK in caps,
    )


def model_knobs(models: list[tuple[str, ModelInfo | None]]) -> dict[str, Knobs]:
    """Each listed id's knobs (first listed first), then `ANY_MODEL` with every knob.

    An id two providers list with different limits gets every knob (the node cannot know which
    provider will be picked when the page shows it)."""
    knobs: dict[str, Knobs] = {}
    for model_id, info in models:
        found = knobs_of(info) if info is not None else EVERY_KNOB
        knobs[model_id] = found if knobs.get(model_id, found) == found else EVERY_KNOB
    knobs[ANY_MODEL] = EVERY_KNOB
    return knobs


def price_options(knobs: Knobs) -> dict[str, list[str]]:
    """The values of one model's size / aspect ratio / resolution inputs, as its option shows
    them: the price badge prices the model at these only (a knob it lacks is never sent)."""
    shown = {"size": knobs.sizes, "aspect_ratio": knobs.aspect_ratios, "resolution": knobs.resolutions}
    return {name: [DEFAULT, *values] for name, values in shown.items() if values}

