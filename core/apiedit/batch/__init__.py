"""Large jobs: many requests from a manifest, through a provider's native batch API or live.

`apiedit.batch.types` is the contract with plugins' optional batch hooks. The Python API:
`submit(manifest, out)`, `resume(out)`, `status(out)`, `results(out)` (an iterator),
`cancel(out)`; everything a run knows is in its output folder.
"""

from .api import cancel, estimate_run, resume, results, status, submit

__all__ = ["cancel", "estimate_run", "resume", "results", "status", "submit"]
