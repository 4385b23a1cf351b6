"""The batch manifest: JSONL (one JSON object a line) or CSV with the same columns.

Every line is checked before anything is paid for: all bad lines are reported together, each
with its line number, in one `InvalidInputError`. Input images are local paths (relative to the
manifest's folder) or http(s) URLs; URLs are fetched only through `apiedit.download` (which
refuses private addresses), and only when the line is about to be sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from ..errors import ApiEditError, InvalidInputError
from ..types import EditRequest, ImageData

__all__ = ["ManifestLine", "read_manifest", "request_hash"]

_FIELDS = {"negative_prompt": str, "size": str, "aspect_ratio": str, "resolution": str,
           "n": int, "seed": int, "steps": int, "guidance": float, "strength": float,
           "watermark": bool, "quality": str, "timeout_s": float}
_COLUMNS = {"id", "provider", "model", "prompt", "images", "mask", "extra", *_FIELDS}
MAX_REPORTED = 50  # more bad lines than this: the first 50 are listed


@attrs.frozen
class ManifestLine:
    """One request of the manifest; images are still references (paths or URLs)."""

    line_no: int
    id: str
    provider: str
    model: str
    prompt: str
    images: tuple[str, ...] = ()
    mask: str | None = None
    fields: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "model": self.model,
                "prompt": self.prompt, "images": list(self.images), "mask": self.mask,
                **self.fields}

    def build_request(self, fetch_url: Callable[[str], ImageData]) -> EditRequest:
        """The EditRequest, with every image read (files) or downloaded (URLs)."""
        def load(ref: str, what: str) -> ImageData:
            if ref.startswith(("http://", "https://")):
                return fetch_url(ref)
            from ..console.inputs import read_image

            return read_image(ref, what)

        return EditRequest(model=self.model, prompt=self.prompt,
                           images=tuple(load(r, f"line {self.line_no} image") for r in self.images),
                           mask=load(self.mask, f"line {self.line_no} mask") if self.mask else None,
                           **self.fields)


def request_hash(line: ManifestLine, request: EditRequest) -> str:
    """What makes two lines the same paid work: provider, model, every field, image bytes."""
    data = {"provider": line.provider, "model": line.model, "prompt": line.prompt,
            "images": [i.sha256 for i in request.images],
            "mask": request.mask.sha256 if request.mask else None,
            **{k: v for k, v in sorted(line.fields.items())}}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _convert(name: str, value: Any, kind: type) -> Any:
    if value is None or value == "":
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"{name} must be true or false, not {value!r}")
    if kind is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if kind is str:
        return str(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number, "
                         f"not {value!r}") from None


def _parse(no: int, raw: dict[str, Any], base: Path, providers: Iterable[str] | None) -> ManifestLine:
    unknown = sorted(set(raw) - _COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(_COLUMNS))}")
    ident = str(raw.get("id") or "").strip()
    if not ident:
        raise ValueError("id is missing (every line needs a unique id)")
    if any(c in ident for c in "/\\\0") or ident in (".", ".."):
        raise ValueError(f"id {ident!r} may not contain / or \\ (it names the output files)")
    for key in ("provider", "model", "prompt"):
        if not str(raw.get(key) or "").strip():
            raise ValueError(f"{key} is missing")
    provider = str(raw["provider"]).strip()
    if providers is not None and provider not in set(providers):
        raise ValueError(f"provider {provider!r} is not installed (installed: "
                         f"{', '.join(sorted(providers)) or 'none'})")
    images = raw.get("images") or []
    if isinstance(images, str):  # CSV: paths separated by "|" (or a JSON list)
        images = json.loads(images) if images.strip().startswith("[") else images.split("|")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError("images must be a list of paths or URLs")

    def resolve(ref: str) -> str:
        ref = ref.strip()
        if ref.startswith(("http://", "https://")):
            return ref
        if ref.startswith("data:"):
            raise ValueError("images and mask take a path or an http(s) URL, not a data: URL")
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ValueError(f"image {ref!r}: no such file ({path})")
        return str(path)

    fields = {}
    for name, kind in _FIELDS.items():
        value = _convert(name, raw.get(name), kind)
        if value is not None:
            fields[name] = value
    extra = raw.get("extra")
    if isinstance(extra, str) and extra.strip():
        extra = json.loads(extra)
    if extra:
        if not isinstance(extra, dict):
            raise ValueError("extra must be a JSON object")
        fields["extra"] = extra
    line = ManifestLine(no, ident, provider, str(raw["model"]).strip(), str(raw["prompt"]),
                        tuple(resolve(i) for i in images if i.strip()),
                        resolve(raw["mask"]) if raw.get("mask") else None, fields)
    # The request's own checks (size, ratio, n) without reading any image yet.
    EditRequest(model=line.model, prompt=line.prompt, **fields)
    return line


def _rows(path: Path, text: str) -> Iterable[tuple[int, Any]]:
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
        return
    for no, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            yield no, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield no, ValueError(f"not JSON ({exc.msg} at column {exc.colno})")


def read_manifest(path: str | Path, providers: Iterable[str] | None = None) -> list[ManifestLine]:
    """Every line of the manifest, or one InvalidInputError listing every bad line."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"Manifest {str(path)!r}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Manifest {str(path)!r} cannot be read ({exc}).") from None
    providers = list(providers) if providers is not None else None
    lines: list[ManifestLine] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for no, raw in _rows(file, text):
        try:
            if isinstance(raw, Exception):
                raise raw
            if not isinstance(raw, dict):
                raise ValueError("each line must be a JSON object")
            line = _parse(no, raw, file.parent, providers)
            if line.id in seen:
                raise ValueError(f"duplicate id {line.id!r} (first on line {seen[line.id]})")
            seen[line.id] = no
            lines.append(line)
        except (ValueError, TypeError, ApiEditError) as exc:
            text_ = getattr(exc, "fact", None) or str(exc)
            problems.append(f"line {no}: {text_}")
    if problems:
        shown = problems[:MAX_REPORTED]
        more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise InvalidInputError(
            f"Manifest {file.name}: {len(problems)} bad line(s), nothing was sent:\n  "
            + "\n  ".join(shown) + more, details={"problems": problems})
    if not lines:
        raise InvalidInputError(f"Manifest {file.name} has no requests.")
    return lines
