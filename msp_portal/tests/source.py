"""The project's own source, parsed, for tests that read the code rather than run it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings


@dataclass(frozen=True)
class SourceModule:
    app: str  # the top-level package, e.g. "accounts"
    path: str  # relative to the project root, e.g. "accounts/views.py"
    tree: ast.Module


def project_apps() -> list[str]:
    """The installed apps that are top-level packages of this repository, by package name."""
    root = Path(settings.BASE_DIR)
    return [config.name for config in apps.get_app_configs() if Path(config.path).parent == root]


def project_modules(*, migrations: bool = False) -> Iterator[SourceModule]:
    """Every module of every project app, its tests left out, and its migrations unless
    `migrations` (data migrations write too)."""
    root = Path(settings.BASE_DIR)
    skipped = {"tests"} if migrations else {"migrations", "tests"}
    for app in project_apps():
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if skipped & set(relative.parts):
                continue
            yield SourceModule(app=app, path=relative.as_posix(), tree=ast.parse(path.read_text(), str(relative)))
