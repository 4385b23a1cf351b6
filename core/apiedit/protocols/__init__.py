"""Wire protocols shared by several providers (OpenAI-style images and chat, async task polling).

Each module here is transport-level glue a plugin reuses instead of re-implementing it; the
plugin keeps only its provider's quirks.
"""
