"""API classes by tag."""

from __future__ import annotations

import enum


class TagValues(str, enum.Enum):
    AUTHENTICATION = "Authentication"
