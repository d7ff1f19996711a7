"""The lineage pipeline API: registering a dataset version with its lineage record, sources and parents (all or
nothing), submitting it for review, and the OpenLineage intake; laid out as NetBox's apps are (``serializers``,
``views``, ``urls``)."""
