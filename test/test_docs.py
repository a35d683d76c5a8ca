"""The documentation works as written: every Python example runs, every relative link resolves.

Each ```python block of README.md and docs/**/*.md runs as a script in its own interpreter
against a fresh emulator. Only the placeholders change: the api.video hosts become the
emulator's URL, ``YOUR_API_KEY`` its API key and ``YOUR_REFRESH_TOKEN`` a refresh token it
just issued. A block whose first line is ``# not-run`` is skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from video_api.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
HOSTS = ("https://ws.api.video", "https://sandbox.api.video")
FAILURE_MARK = "Exception when calling"
BLOCK_TIMEOUT = 60  # seconds; a block talks to a local server, so only a hang gets near it

FENCE = re.compile(r"^([ \t]*)```[ \t]*(\S*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
# [text](target) with one level of brackets allowed in the text: [[Back to top]](#__pageTop)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
PYTHON = {"python", "py", "python3"}


def markdown_files() -> List[Path]:
    """README.md (when it exists) and every page under docs/, read when the tests are collected."""
    readme = ROOT / "README.md"
    pages = sorted((ROOT / "docs").rglob("*.md")) if (ROOT / "docs").is_dir() else []
    return ([readme] if readme.is_file() else []) + pages


def python_blocks(text: str) -> List[str]:
    """The code of each ```python fence, dedented to its fence's indentation."""
    blocks = []
    for match in FENCE.finditer(text):
        indent, language, code = match.groups()
        if language.lower() in PYTHON:
            lines = code.splitlines()
            blocks.append("\n".join(line[len(indent) :] for line in lines) + "\n")
    return blocks


def without_code(text: str) -> str:
    """The text with fenced and inline code removed: links there are not links."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def block_cases() -> List[object]:
    return [
        pytest.param(path, index, code, id=f"{rel(path)}#block{index}")
        for path in markdown_files()
        for index, code in enumerate(python_blocks(path.read_text(encoding="utf-8")), 1)
    ]


def refresh_token_from(emulator: Emulator) -> str:
    """A fresh refresh token, obtained with the standard library rather than the SDK."""
    request = urllib.request.Request(
        emulator.url + "/auth/api-key",
        data=json.dumps({"apiKey": emulator.api_key}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["refresh_token"])


def as_run_here(code: str, emulator: Emulator) -> str:
    """The block with its placeholders pointed at the emulator; nothing else changes."""
    for host in HOSTS:
        code = code.replace(host, emulator.url)
    code = code.replace("YOUR_API_KEY", emulator.api_key)
    if "YOUR_REFRESH_TOKEN" in code:
        code = code.replace("YOUR_REFRESH_TOKEN", refresh_token_from(emulator))
    return code


def test_the_docs_have_examples() -> None:
    """The pages this package ships exist and carry runnable examples."""
    pages = {rel(path) for path in markdown_files()}
    for page in (
        "docs/apis/tags/AuthenticationApi.md",
        "docs/models/AccessToken.md",
        "docs/models/AuthenticatePayload.md",
        "docs/models/BadRequest.md",
        "docs/models/RefreshTokenPayload.md",
    ):
        assert page in pages
        assert python_blocks((ROOT / page).read_text(encoding="utf-8")), page


@pytest.mark.parametrize(("path", "index", "code"), block_cases())
def test_example_runs_as_written(
    path: Path, index: int, code: str, emulator: Emulator, tmp_path: Path
) -> None:
    """The block exits 0 and does not print the examples' failure message."""
    if code.lstrip().startswith("# not-run"):
        pytest.skip(f"{rel(path)} block {index} is marked # not-run")
    script = tmp_path / f"{path.stem}_block{index}.py"
    script.write_text(as_run_here(code, emulator), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env["VIDEO_API_KEY"] = emulator.api_key  # for examples that read the key from the environment
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{rel(path)} block {index} did not finish in {BLOCK_TIMEOUT} s")
    where = f"{rel(path)} block {index}"
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}\n--- stdout:\n{result.stdout}"
    assert FAILURE_MARK not in result.stdout, f"{where} printed a failure:\n{result.stdout}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path, cache: Dict[Path, Set[str]]) -> Set[str]:
    if path not in cache:
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        found = set(HTML_ANCHOR.findall(text))
        found.update(slug(heading) for heading in HEADING.findall(text))
        cache[path] = found
    return cache[path]


def broken_links(path: Path) -> Tuple[List[str], List[str]]:
    """Relative links of ``path`` to missing files, and to missing anchors."""
    missing_pages: List[str] = []
    missing_anchors: List[str] = []
    cache: Dict[Path, Set[str]] = {}
    for target in LINK.findall(without_code(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # absolute: https:, mailto:
        page, _, anchor = target.partition("#")
        resolved = (path.parent / page).resolve() if page else path
        if not resolved.exists():
            missing_pages.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved, cache):
            missing_anchors.append(target)
    return missing_pages, missing_anchors


@pytest.mark.parametrize("path", markdown_files(), ids=rel)
def test_relative_links_resolve(path: Path) -> None:
    """Every page a relative link names exists, and so does the anchor it names."""
    missing_pages, missing_anchors = broken_links(path)
    assert not missing_pages, f"{rel(path)} links to missing pages: {missing_pages}"
    assert not missing_anchors, f"{rel(path)} links to missing anchors: {missing_anchors}"


def test_link_checker_sees_broken_links(tmp_path: Path) -> None:
    """The checker itself: it finds a missing page and a missing anchor, and ignores code."""
    (tmp_path / "there.md").write_text('# A Title\n<a name="x.y"></a>\n', encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[[ok]](there.md#a-title) [ok](there.md#x.y) [ok](#here) [ok](https://example.com/x)\n"
        "# Here\n[gone](missing.md) [bad](there.md#nope) `[code](nope.md)`\n"
        "```python\nx = '[code](nope2.md)'\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == (["missing.md"], ["there.md#nope"])
