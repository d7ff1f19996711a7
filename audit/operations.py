"""Migration operations of the trust core, which every app's migrations use for its append-only tables."""

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

from audit import append_only


class MakeAppendOnly(Operation):
    """Install the append-only triggers on a model's table (see ``audit.append_only``).

    Used for the ledger, signatures, access events, checkpoints and every simple-history table.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Triggers are not part of Django's model state."""

    def _table(self, app_label: str, state: ProjectState) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        table = self._table(app_label, to_state)
        for statement in append_only.create_statements(schema_editor.connection.vendor, table):
            schema_editor.execute(statement)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        table = self._table(app_label, from_state)
        for statement in append_only.drop_statements(schema_editor.connection.vendor, table):
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Make {self.model_name} append-only"

    @property
    def migration_name_fragment(self) -> str:
        return f"append_only_{self.model_name}"


class RestoreAppendOnly(MakeAppendOnly):
    """Install the append-only triggers on a table that should already have them, if it has lost them.

    Before the trust core's SQLite backend kept triggers across table rebuilds, a migration that altered a history
    table on SQLite dropped its triggers; this puts them back on such databases and changes nothing elsewhere.
    Reversing it leaves the triggers alone: they belong to the migration that first made the table append-only.
    """

    reduces_to_sql = False  # what it does depends on what it finds in the database

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        table = self._table(app_label, to_state)
        connection = schema_editor.connection
        if table in append_only.protected_tables(connection):
            return
        for statement in append_only.restore_statements(connection.vendor, table):
            schema_editor.execute(statement)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """The triggers stay: the migration that created them removes them when it is reversed."""

    def describe(self) -> str:
        return f"Restore the append-only triggers of {self.model_name} where they are missing"

    @property
    def migration_name_fragment(self) -> str:
        return f"restore_append_only_{self.model_name}"
