"""A fresh checkout with nothing configured: `manage.py migrate` makes the embedded SQLite
database's folder (var/ is not in the repository) and the embedded broker's queue folder."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_migrate_works_where_the_var_folder_does_not_exist_yet(tmp_path):
    var_dir = tmp_path / "checkout" / "var"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update(DEBUG="true", PORTAL_VAR_DIR=str(var_dir))
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    with sqlite3.connect(var_dir / "portal.sqlite3") as database:
        assert database.execute("SELECT count(*) FROM django_migrations WHERE app = 'points'").fetchone()[0] > 0
    assert (var_dir / "celery" / "queue").is_dir()
