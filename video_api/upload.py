"""Video uploads: the methods of the spec's ``x-client-chunk-upload`` operations.

The generated ``VideosApi`` takes them from :class:`ChunkedUploads`, because what they do
is more than one request: a source is sent in parts with a ``Content-Range``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .paths.upload import post as _upload_with_upload_token
from .paths.videos_video_id_source import post as _upload

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .api_client import ApiClient, CallOptions, FileInput
    from .model.video import Video


class ChunkedUploads:
    """Uploads of a video source, for ``VideosApi``."""

    api_client: ApiClient

    def upload(self, video_id: str, file: FileInput, **options: Unpack[CallOptions]) -> Video:
        """Upload a video: POST /videos/{videoId}/source.

        ``file`` is a path, bytes, or a binary file object, streamed from the file.
        """
        return self.api_client.call(_upload.operation, (video_id, file), options)

    def upload_with_upload_token(
        self, token: str, file: FileInput, **options: Unpack[CallOptions]
    ) -> Video:
        """Upload with a delegated upload token: POST /upload?token=..., no API key needed."""
        return self.api_client.call(_upload_with_upload_token.operation, (token, file), options)


__all__ = ["ChunkedUploads"]
