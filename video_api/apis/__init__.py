"""The API classes: ``from video_api.apis import VideosApi``, as in api.video's client, or
``from video_api.apis.tags.videos_api import VideosApi``. A tag's module loads when its class
is first asked for, so that importing one API does not import them all."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from .tags import TAGS

if TYPE_CHECKING:
    from .tags.analytics_api import AnalyticsApi as AnalyticsApi
    from .tags.authentication_api import AuthenticationApi as AuthenticationApi
    from .tags.captions_api import CaptionsApi as CaptionsApi
    from .tags.chapters_api import ChaptersApi as ChaptersApi
    from .tags.live_streams_api import LiveStreamsApi as LiveStreamsApi
    from .tags.player_themes_api import PlayerThemesApi as PlayerThemesApi
    from .tags.summaries_api import SummariesApi as SummariesApi
    from .tags.tags_api import TagsApi as TagsApi
    from .tags.upload_tokens_api import UploadTokensApi as UploadTokensApi
    from .tags.videos_api import VideosApi as VideosApi
    from .tags.watermarks_api import WatermarksApi as WatermarksApi
    from .tags.webhooks_api import WebhooksApi as WebhooksApi


def __getattr__(name: str) -> Any:
    if name not in TAGS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.tags.{TAGS[name]}"), name)


def __dir__() -> List[str]:
    return sorted([*globals(), *TAGS])


__all__ = list(TAGS)
