"""Packaging for video_api; runtime requirements come from requirements.txt."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "video_api" / "_version.py").read_text())
REQUIRES = [line for line in (HERE / "requirements.txt").read_text().splitlines() if line.strip()]

setup(
    name="video-api-python",
    version=VERSION.group(1) if VERSION else "0",
    description="Python client for the whole api.video API, typed, with an emulator for tests",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    url="https://github.com/apivideo/video-api-python",
    project_urls={"API reference": "https://docs.api.video/reference"},
    python_requires=">=3.8",
    install_requires=REQUIRES,
    packages=find_packages(include=["video_api", "video_api.*"]),
    # The packages live at the root. Saying so makes `pip install -e .` put this directory
    # on sys.path with a plain .pth line, which type checkers (mypy, pyright) follow, instead
    # of an import hook, which they cannot: `mypy` in a user's project then finds video_api.
    package_dir={"": "."},
    package_data={"video_api": ["py.typed", "testing/*.json"]},
    entry_points={"console_scripts": ["video-api = video_api.__main__:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Typing :: Typed",
    ],
)
