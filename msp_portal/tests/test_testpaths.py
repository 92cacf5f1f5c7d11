"""`make test` runs pytest over pytest.ini's testpaths: an app whose tests are not listed there
would never run, locally or in CI, and nothing else would say so."""

import configparser
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_every_app_with_tests_is_in_the_testpaths():
    config = configparser.ConfigParser()
    config.read(ROOT / "pytest.ini")
    testpaths = set(config["pytest"]["testpaths"].split())
    with_tests = {
        Path(app.path).relative_to(ROOT).as_posix()
        for app in apps.get_app_configs()
        if Path(app.path).parent == ROOT and (Path(app.path) / "tests").is_dir()
    }
    assert with_tests, "no local app with tests found"
    missing = sorted(with_tests - testpaths)
    assert not missing, f"apps with tests missing from pytest.ini testpaths: {missing}"
