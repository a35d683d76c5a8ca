"""One package per API path; each module in it declares one operation."""

from __future__ import annotations

import enum


class PathValues(str, enum.Enum):
    AUTH_APIKEY = "/auth/api-key"
    AUTH_REFRESH = "/auth/refresh"
