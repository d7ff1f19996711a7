"""Ships the control catalogues (SOC 2, NIST AI RMF, EU AI Act, GDPR, HIPAA, PCI DSS, ISO/IEC 42001) with every
install. Later catalogue updates run ``manage.py load_controls``, which never deletes a control."""

from django.db import migrations

from governance.catalogue import load_controls_migration


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_governance_domain")]

    operations = [migrations.RunPython(load_controls_migration, migrations.RunPython.noop, elidable=False)]
