"""The package as a whole: its import graph and its public namespace."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

import video_api
from video_api.apis.tags import TAGS

PACKAGE = Path(video_api.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> Set[str]:
    """The video_api modules ``path`` imports when it runs (typing-only imports left out)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: Set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("video_api"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(
                        candidate
                        if (PACKAGE.parent / candidate.replace(".", "/")).exists()
                        or (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                        else base
                    )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("video_api"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def test_no_import_circle() -> None:
    graph: Dict[str, Set[str]] = {
        module_name(path): runtime_imports(path) for path in PACKAGE.rglob("*.py")
    }
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}

    def walk(node: str, stack: List[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target, [*stack, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert cycles == []


def test_public_namespace_is_the_documented_one() -> None:
    """``dir(video_api)`` in a fresh interpreter: the exports and the modules they come from."""
    code = "import video_api; print(' '.join(n for n in dir(video_api) if n[0] != '_'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    modules = {"api_client", "configuration", "exceptions", "operation", "schemas"}
    assert set(result.stdout.split()) == {*video_api.__all__, *modules} - {"__version__"}
    for name in ("BadRequestException", "AuthenticationError", "ApiResponseError", "paginate"):
        assert name in video_api.__all__


def test_importing_a_tag_api_imports_no_model() -> None:
    code = (
        "import sys, video_api.apis.tags.videos_api\n"
        "print(sorted(m for m in sys.modules if m.startswith('video_api.model.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_api_classes_import_from_apis_as_in_api_videos_client_one_module_each() -> None:
    """``from video_api.apis import VideosApi`` (api.video's client's ``apivideo.apis``) loads
    that tag's module only; every tag's class is there, and a wrong name is an ImportError."""
    code = (
        "import sys\n"
        "from video_api.apis import VideosApi\n"
        "from video_api.apis.tags.videos_api import VideosApi as Tagged\n"
        "print(VideosApi is Tagged, sorted(m for m in sys.modules if '.apis.tags.' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "['video_api.apis.tags.videos_api']"]
    import video_api.apis

    assert sorted(video_api.apis.__all__) == sorted(TAGS)
    assert set(TAGS) <= set(dir(video_api.apis))
    for name in TAGS:
        assert getattr(video_api.apis, name).__name__ == name
    # What type checkers see (written beside the generated TAGS) names every tag too.
    tree = ast.parse(Path(video_api.apis.__file__).read_text(encoding="utf-8"))
    typed = {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if node.module and node.module.startswith("tags.")
    }
    assert typed == set(TAGS)
    with pytest.raises(ImportError, match="cannot import name 'VideoApi'"):
        from video_api.apis import VideoApi  # type: ignore[attr-defined]  # noqa: F401


def test_importing_the_package_leaves_the_transport_for_the_first_client() -> None:
    """``import video_api``, the auth API and the videos API (with its uploads) load no
    urllib3: the first client does."""
    code = (
        "import sys, video_api\n"
        "from video_api.apis.tags.authentication_api import AuthenticationApi\n"
        "from video_api.apis.tags.videos_api import VideosApi\n"
        "before = 'urllib3' in sys.modules\n"
        "video_api.ApiClient()\n"
        "print(before, 'urllib3' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
