"""Apps depend downward only: a module imports apps of lower layers, never its own layer's
other apps nor any app above (a section a higher app adds to a page is registered in its
AppConfig.ready instead). Read from the source (every import, also those inside functions),
migrations and tests left out."""

from __future__ import annotations

import ast

from .source import project_apps, project_modules

# Lowest first. msp_portal is the cross-cutting base; audit is written to by every app's
# services; customers (the customer accounts) sits on the identity
# app; the API sits on all of them; bench measures everything.
LAYERS = {
    "msp_portal": 0,
    "audit": 1,
    "accounts": 2,
    "customers": 3,
    "points": 4,
    "billing_jobs": 5,
    "exports": 5,
    "customer_portal": 5,
    "merges": 5,
    "webhooks": 5,
    # The REST API over the services of the apps below (billing_jobs' runs included).
    "api": 6,
    "bench": 7,
}

# The composition root wires the apps together (settings, URLs, the Celery app and its beat
# schedule) and may name any of them.
COMPOSITION_ROOT = {"msp_portal/settings.py", "msp_portal/urls.py", "msp_portal/celery.py"}

# Today's imports against the direction, as (module, imported module). Moving the customer
# accounts into `customers` removes most of them. The list only shrinks: an entry that is no
# longer needed fails the test too.
KNOWN_BACK_REFERENCES = {
    # The audit trail page shows each viewer the events of the organizations they manage.
    ("audit/selectors.py", "accounts.selectors"),
    # Customer accounts reaching the apps above them, left from before the move.
}


def _imported_modules(tree: ast.Module) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def _imports_against_the_direction() -> set[tuple[str, str]]:
    found = set()
    for module in project_modules():
        if module.path in COMPOSITION_ROOT:
            continue
        own = LAYERS[module.app]
        for imported in _imported_modules(module.tree):
            app = imported.split(".")[0]
            if app in LAYERS and app != module.app and LAYERS[app] >= own:
                found.add((module.path, imported))
    return found


def test_every_app_has_a_layer():
    assert set(project_apps()) <= set(LAYERS)


def test_no_module_imports_an_app_above_its_own():
    assert _imports_against_the_direction() - KNOWN_BACK_REFERENCES == set()


def test_every_known_back_reference_is_still_there():
    assert KNOWN_BACK_REFERENCES - _imports_against_the_direction() == set()


def test_the_reader_sees_imports_inside_functions_and_both_import_forms():
    tree = ast.parse("import points.views\ndef f():\n    from exports import customers\n    from . import local\n")
    assert _imported_modules(tree) == {"points.views", "exports"}
