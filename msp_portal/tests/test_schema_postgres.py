"""The migrated PostgreSQL schema holds exactly what the models declare (DESIGN.md §5.1, §7).

SQLite rebuilds every altered table from the model state, so it hides what PostgreSQL's schema
editor drops or keeps when a migration alters a field (an `AlterField(db_index=False)` once
dropped the partial unique index behind `ledger_one_pool_per_msp`). This test builds a second
schema straight from today's models with the same schema editor (`create_model`: every
`Meta.indexes`, `Meta.constraints`, `unique=True`, `db_index=True` and foreign key, named as
Django names them) and compares it with the schema the migrations produced, definition by
definition as `pg_catalog` spells them: columns, operator classes, conditions, references.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DECLARED_SCHEMA = "schema_declared"

# Objects that migrations create on purpose with SQL no model can declare, each with the reason.
# They must exist after `migrate`; anything else in the migrated schema must be declared.
MIGRATION_ONLY = {
    # Trigram search over the folded text (accounts 0002): an operator class of the pg_trgm
    # extension, created only on PostgreSQL, where the extension is available.
    ("index", "accounts_customeraccount", "customer_search_trgm"),
    # Short terms (customers 0004): a GIN index over an IMMUTABLE SQL function of the same text,
    # created only on PostgreSQL.
    ("index", "accounts_customeraccount", "customer_search_grams"),
}


def _project_models(*, include_auto_created: bool = False):
    # create_model() creates a model's many-to-many tables itself.
    for model in apps.get_models(include_auto_created=include_auto_created):
        meta = model._meta
        if meta.managed and not meta.proxy and not meta.swapped:
            yield model


def _catalog(schema: str) -> dict[tuple[str, str, str], str]:
    """Every index and table constraint of the schema's tables: (kind, table, name) → definition,
    with the schema name taken out so two schemas compare."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'index', t.relname::text, i.relname::text, pg_get_indexdef(i.oid)
              FROM pg_index x
              JOIN pg_class i ON i.oid = x.indexrelid
              JOIN pg_class t ON t.oid = x.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = %s
            UNION ALL
            SELECT 'constraint', t.relname::text, c.conname::text, c.contype::text || ' ' || pg_get_constraintdef(c.oid)
              FROM pg_constraint c
              JOIN pg_class t ON t.oid = c.conrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = %s
            """,
            [schema, schema],
        )
        rows = cursor.fetchall()
    return {(kind, table, name): definition.replace(f"{schema}.", "") for kind, table, name, definition in rows}


def _build_declared_schema() -> None:
    """Create every project table in DECLARED_SCHEMA from the models as they are now."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {DECLARED_SCHEMA}")
        # public stays on the path for the extensions' types and operator classes.
        cursor.execute(f"SET LOCAL search_path TO {DECLARED_SCHEMA}, public")
    with connection.schema_editor(atomic=False) as editor:
        for model in _project_models():
            editor.create_model(model)


@pytest.fixture
def schemas():
    migrated = _catalog("public")
    _build_declared_schema()
    declared = _catalog(DECLARED_SCHEMA)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path TO public")
    return migrated, declared


def _tables() -> set[str]:
    return {model._meta.db_table for model in _project_models(include_auto_created=True)}


def test_every_declared_index_and_constraint_exists_with_its_definition(schemas):
    migrated, declared = schemas
    missing = sorted(key for key in declared if key not in migrated)
    different = sorted(
        (key, declared[key], migrated[key]) for key in declared if key in migrated and migrated[key] != declared[key]
    )
    assert missing == [], f"declared by the models but missing after migrate: {missing}"
    assert different == [], f"defined differently after migrate (declared, migrated): {different}"


def test_nothing_undeclared_is_left_on_the_project_tables_but_the_migration_only_objects(schemas):
    migrated, declared = schemas
    tables = _tables()
    undeclared = sorted(
        key for key in migrated if key[1] in tables and key not in declared and key not in MIGRATION_ONLY
    )
    assert undeclared == [], f"left by migrations but declared by no model: {undeclared}"
    assert sorted(MIGRATION_ONLY - migrated.keys()) == []


def test_the_comparison_sees_a_dropped_partial_unique_index(schemas):
    """The check itself: a constraint dropped the way PostgreSQL's schema editor once dropped
    `ledger_one_pool_per_msp` shows up as missing."""
    migrated, declared = schemas
    key = ("index", "points_ledgeraccount", "ledger_one_pool_per_msp")
    assert migrated[key] == declared[key]
    assert "WHERE" in declared[key] and "organization_id" in declared[key]
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS public.ledger_one_pool_per_msp")
    assert key not in _catalog("public")
