"""The API classes users call, grouped by tag (``apis.tags``) and by path (``apis.paths``)."""
