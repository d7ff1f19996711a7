"""The trust core's models leave the governance app's state for the audit app's (``audit.0001``): state only.

Foreign keys that pointed at them now point at the audit app's models; the columns, constraints and tables are
the same ones, so the database is not touched.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0012_restore_append_only_historicalpipelinetoken"),
        ("audit", "0001_initial"),
        # Every foreign key to the moved models must point at the audit app's before they leave this state.
        ("evidence", "0003_checkpoint_in_audit"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="breakglassoverride",
            name="approval_signature",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="audit.signature",
                verbose_name="approval signature",
            ),
        ),
        migrations.AlterField(
            model_name="breakglassoverride",
            name="ledger_entry",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="audit.ledgerentry",
                verbose_name="ledger entry",
            ),
        ),
        migrations.DeleteModel(name="Signature"),
        migrations.DeleteModel(name="AccessEvent"),
        migrations.DeleteModel(name="LedgerVerification"),
        migrations.DeleteModel(name="LedgerCheckpoint"),
        migrations.DeleteModel(name="LedgerEntry"),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
