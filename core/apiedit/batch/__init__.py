"""Large jobs: many requests from a manifest, through a provider's native batch API or live.

`apiedit.batch.types` is the contract with plugins' optional batch hooks.
"""
