"""History images that stay on disk until a provider really sends their bytes.

A native conversation hands every kept turn to the provider, but a provider that refers to
images it uploaded earlier (Gemini's Files API) or resends only the newest few (the chat
protocol's history-image budget) needs the bytes of one or two of them. `StoredImage` is an
`ImageData` whose `data` is read from the store's file on first use (hash checked), and whose
`sha256` is known without reading. `ImageText` stands in a turn's state for the base64 text of
one of its images (what the store keeps as `{"$image": i}`), so that text is not built either.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..types import ImageData

__all__ = ["ImageText", "StoredImage", "materialize"]


class StoredImage(ImageData):
    """An image of a stored turn, read from `path` only when `.data` is first used."""

    __slots__ = ("_loaded", "_path", "_sha256", "_what")

    def __init__(self, path: Path | None = None, sha256: str = "", mime_type: str = "image/png",
                 what: str = "a conversation", *, data: bytes | None = None) -> None:
        # ImageData is frozen: set its slots the way attrs itself does. `data` is for
        # `attrs.evolve`, which rebuilds an image from its fields.
        object.__setattr__(self, "mime_type", mime_type)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_sha256", sha256 if data is None else hashlib.sha256(data).hexdigest())
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_loaded", data)

    @property  # type: ignore[override]
    def data(self) -> bytes:
        loaded = self._loaded
        if loaded is None:
            loaded = self._read()
            object.__setattr__(self, "_loaded", loaded)
        return loaded

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def loaded(self) -> bool:
        """Whether the bytes were read (tests check that unsent images stay on disk)."""
        return self._loaded is not None

    def _read(self) -> bytes:
        if self._path is None:
            raise ConfigurationError(f"An image of {self._what} has neither bytes nor a file.")
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            raise ConfigurationError(
                f"{self._what} refers to an image file that is missing ({self._path}); it was "
                "deleted outside apiedit. Reset or delete the conversation."
            ) from None
        if hashlib.sha256(data).hexdigest() != self._sha256:
            raise ConfigurationError(
                f"The image file {self._path} of {self._what} is damaged. Reset or delete the "
                "conversation."
            )
        return data

    def __reduce__(self) -> Any:
        return (ImageData, (self.data, self.mime_type))

    def __repr__(self) -> str:
        return f"StoredImage({self._sha256[:12]}, {self.mime_type!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ImageData):
            return (self.mime_type, self.sha256) == (other.mime_type, other.sha256)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.mime_type, self._sha256))


class ImageText:
    """The standard base64 text of `image`, built only when `str()` asks for it.

    Found in the state of a turn loaded lazily, where the provider's state held that text
    (Gemini replays its answer parts verbatim). A plugin that sends the state as JSON calls
    `materialize` first; Gemini's wire code refers to the uploaded file instead.
    """

    __slots__ = ("image",)

    def __init__(self, image: ImageData) -> None:
        self.image = image

    def __str__(self) -> str:
        return base64.b64encode(self.image.data).decode("ascii")

    def __repr__(self) -> str:
        return f"ImageText({self.image!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ImageText):
            return self.image == other.image
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.image)


def materialize(value: Any) -> Any:
    """`value` with every `ImageText` replaced by its text (plain JSON data again)."""
    if isinstance(value, ImageText):
        return str(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: materialize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [materialize(item) for item in value]
    return value
