"""Model ids of the original pack (1.0.5) -> the ids that run today, for `APIImageEditNode`.

No ComfyUI import: the table is checked by a unit test against the installed plugins' tables.
"""

from __future__ import annotations

# The original 1.0.5 offered 76 hard-coded model ids (its `get_provider_models`; listed in
# ../shared/reference/original.md §2.3). Those that are retired, renamed, never were an API id
# of that provider, or never made images (the original sent them to chat completions, which
# answer text: a black image) map to today's id, so a shared workflow runs and makes what it was
# built for. A retired id in a plugin's table is followed to its `replacement` as well (at run
# time, so a later retirement is followed too). Ids not listed (PixelWords' reseller ids)
# are sent as typed: that provider judges them, and its answer names close ones.
# Custom (OpenAI-compatible) maps as OpenAI; its `custom_model` wins and is sent as typed.
# Each mapping is logged (legacy.py). Sources: providers-2026-12.md; Google's Gemini deprecations page
# (ai.google.dev/gemini-api/docs/deprecations: gemini-pro, gemini-pro-vision and 1.5 are shut
# down, 2.0/2.5 image previews shut down); openai-python 3.57.0 `types/image_model.py` (DALL-E
# 2/3 retired 2026-05-12; gpt-image-1, the API's GPT-4o image generation, shut down
# 2026-10-23 -> gpt-image-1.5 family); original.md §2.3 (OpenRouter slugs that were never real).
QWEN_EDIT = "Qwen/Qwen-Image-Edit"  # ModelScope's id of the original's default model
_GEMINI = "gemini-nano-banana-2.1"  # GA 2026-10-06: successor of the original's Gemini image models
_OR_GEMINI = "google/gemini-nano-banana-2.1"  # OpenRouter's, successor of its only image model
ORIGINAL_MODELS: dict[tuple[str, str], str] = {
    # ModelScope: ids that were never API-Inference model ids (mirrors, lower-case alias, a made-up one)
    ("modelscope", "MusePublic/Qwen-Image-Edit"): QWEN_EDIT,
    ("modelscope", "iic/Qwen-Image-Edit"): QWEN_EDIT,
    ("modelscope", "qwen-image-edit"): QWEN_EDIT,
    ("modelscope", "modelscope/stable-diffusion-v1-5-image-edit"): QWEN_EDIT,
    # OpenAI: DALL-E retired 2026-05-12 (replacement per the plugin's table); "dall-e-3-hd" was
    # dall-e-3 with quality=hd; the GPT-4 chat models never made images through the API
    ("openai", "dall-e-3"): "gpt-image-1.5",
    ("openai", "dall-e-3-hd"): "gpt-image-1.5",
    ("openai", "dall-e-2"): "gpt-image-1.5",
    ("openai", "gpt-4o"): "gpt-image-1.5",
    ("openai", "gpt-4o-mini"): "gpt-image-1.5",
    ("openai", "gpt-4-vision-preview"): "gpt-image-1.5",
    # Google Gemini: the image previews shut down; the text/vision models never made images
    ("gemini", "gemini-2.5-flash-image-preview"): _GEMINI,
    ("gemini", "gemini-2.0-flash-preview-image-generation"): _GEMINI,
    ("gemini", "gemini-2.0-flash-exp-image-generation"): _GEMINI,
    ("gemini", "gemini-1.5-pro-latest"): _GEMINI,
    ("gemini", "gemini-1.5-flash-latest"): _GEMINI,
    ("gemini", "gemini-pro-vision"): _GEMINI,
    # OpenRouter: the Gemini preview shut down; chat/vision models; slugs that never existed
    ("openrouter", "google/gemini-2.5-flash-image-preview:free"): _OR_GEMINI,
    ("openrouter", "anthropic/claude-3-5-sonnet:beta"): _OR_GEMINI,
    ("openrouter", "meta-llama/llama-3.2-90b-vision-instruct:free"): _OR_GEMINI,
    ("openrouter", "qwen/qwen-2-vl-72b-instruct"): _OR_GEMINI,
    ("openrouter", "google/gemini-pro-vision"): _OR_GEMINI,
    ("openrouter", "black-forest-labs/flux-1-schnell:free"): "black-forest-labs/flux.2-pro",
    ("openrouter", "black-forest-labs/flux-1-dev"): "black-forest-labs/flux.2-pro",
    ("openrouter", "black-forest-labs/flux-1-pro"): "black-forest-labs/flux.2-pro",
    ("openrouter", "stability-ai/stable-diffusion-3-5-large"): _OR_GEMINI,
    ("openrouter", "openai/dall-e-3"): "openai/gpt-5-image",
    ("openrouter", "ideogram-ai/ideogram-v2"): _OR_GEMINI,
    # PixelWords (reseller ids, UNVERIFIED): only the preview that its table knows as renamed
    ("pixelwords", "gemini-2.5-flash-image-preview"): "gemini-2.5-flash-image",
    ("pixelwords", "gemini-2.5-flash-image-preview-hd"): "gemini-2.5-flash-image-hd",
}


def current_model(provider: str, model: str) -> str:
    """Today's id for a model id of the original on `provider` (the id itself when current)."""
    model = ORIGINAL_MODELS.get((provider, model), model)
    for _ in range(5):  # follow the plugin table's replacements of retired models
        from . import catalog

        info = next((m for m in catalog.models(provider) if m.id == model), None)
        if info is None or not info.retired or not info.replacement:
            break
        model = info.replacement
    return model
