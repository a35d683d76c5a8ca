"""The problem body api.video sends with an error status."""

from __future__ import annotations

from typing import Optional, Tuple

from ..schemas import Model, field


class BadRequest(Model):
    """A problem: what went wrong (``title``), where to read more (``type``), and sub-problems."""

    name: Optional[str] = field("name", str, description="The request field at fault, if any.")
    problems: Optional[Tuple[BadRequest, ...]] = field(
        "problems", "BadRequest", many=True, description="Sub-problems, one per field at fault."
    )
    status: Optional[int] = field("status", int, description="The HTTP status.")
    title: Optional[str] = field("title", str, description="What went wrong, for humans.")
    type: Optional[str] = field("type", str, description="A URL that documents this problem.")
