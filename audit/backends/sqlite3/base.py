"""Django's SQLite backend, except that a table rebuilt by a migration keeps its triggers.

SQLite cannot alter most columns in place, so Django's schema editor rebuilds the table (create ``new__x``, copy,
drop ``x``, rename). Dropping ``x`` drops its triggers with it: every migration that changed a history table
silently removed the append-only protection the migration that created it had installed. Here the rebuild
reads the table's triggers first and creates them again on the rebuilt table, so a table stays protected
whichever migration created it and whichever migrations changed it since. PostgreSQL alters tables in place and
keeps triggers, so it needs nothing of the kind.
"""

from django.db.backends.sqlite3 import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _remake_table(self, model, create_field=None, delete_field=None, alter_fields=None) -> None:
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s ORDER BY name", [table]
            )
            triggers = [row[0] for row in cursor.fetchall()]
        super()._remake_table(model, create_field=create_field, delete_field=delete_field, alter_fields=alter_fields)
        for statement in triggers:
            self.execute(statement, params=None)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
