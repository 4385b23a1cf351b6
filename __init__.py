"""ComfyUI loads this file; the node pack itself is the installed `apiedit_comfy` package.

Install its dependencies the way ComfyUI-Manager does (each line of requirements.txt).
"""

import sys

try:
    from apiedit_comfy import WEB_DIRECTORY, comfy_entrypoint
except ImportError as exc:
    if "comfy" in sys.modules:  # inside ComfyUI: show the pack as IMPORT FAILED, with the fix
        raise ImportError(
            f"API Image Edit is not installed ({exc}). Install the lines of requirements.txt "
            "with ComfyUI's Python (ComfyUI-Manager does this), then restart ComfyUI."
        ) from exc
    # Elsewhere (pytest treats the repository root as a package) stay importable.
else:
    __all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
