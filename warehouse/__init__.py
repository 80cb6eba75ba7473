"""The canonical warehouse: schema, migrations, idempotent loading and report queries."""
