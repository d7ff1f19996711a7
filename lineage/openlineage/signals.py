"""What the OpenLineage intake tells the apps to its right, which lineage may not import.

``run_completed`` is sent inside the event's transaction when a run (not a training job) completes, with ``run``
(the ``OpenLineageRun``) and ``dataset_versions`` (every version the run produced or reported again). A receiver
that does work outside the transaction defers it with ``transaction.on_commit``, so a refused event leaves none.
"""

from django.dispatch import Signal

run_completed = Signal()
