from django.db import migrations

# PostgreSQL estimates `search_text LIKE '%term%'` from the column's histogram, and with the
# default 100 entries it cannot estimate below about 1 %: for a term that a big MSP's accounts
# never contain it then walks that MSP's whole registered_at index (250,000 rows, 1.6 s at a
# million accounts) instead of asking the trigram index (20 ms). A 5,000-entry histogram
# estimates rare terms as rare (DESIGN.md §12, measured by `manage.py bench`).
SEARCH_STATISTICS = 5000


def set_statistics(apps, schema_editor, target=SEARCH_STATISTICS):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE accounts_customeraccount ALTER COLUMN search_text SET STATISTICS {int(target)}")


def reset_statistics(apps, schema_editor):
    set_statistics(apps, schema_editor, target=-1)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_points_list_indexes"),
    ]

    operations = [migrations.RunPython(set_statistics, reset_statistics)]
