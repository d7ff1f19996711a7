"""OpenLineage intake: the RunEvents a pipeline's OpenLineage client sends to ``/api/v1/lineage``.

How an event maps onto the portal (``services.openlineage_event_record`` does it, in one transaction):

- The **run** (``run.runId``) becomes one ``OpenLineageRun``, which gathers the facets of all its events: START,
  RUNNING and OTHER add to it, COMPLETE, FAIL or ABORT end it. START, COMPLETE, FAIL and ABORT count once per
  run, so a repeated event records nothing twice; a run ends once.
- A **job** is a transformation step, unless its ``jobType`` facet says it trains a model (``TRAINING``,
  ``FINE_TUNING`` ...): then its events go to the training job handler the registry registers
  (``training.register_training_job_handler``; lineage may not import the registry), which registers the
  training run on START from the custom ``portal_training`` run facet (what reproduces it, which no standard
  facet carries) and the input dataset versions, completes it on COMPLETE and fails it on FAIL or ABORT, with the
  registry's gates (data not approved for training: 409). Such a job also needs the token's ``runs:write``
  scope; without a handler, or without the facet on START or COMPLETE, it is refused (400) rather than
  half-recorded. The facet's fields are described in ``registry.services.openlineage``.
- An **output dataset** is a registered ``Dataset`` whose slug is the OpenLineage dataset ``name`` (the
  ``namespace`` says where the data lives and becomes part of the storage URI). When the run completes, each
  output becomes a new **draft** dataset version (content digest from the ``version`` facet, rows and bytes
  from the ``outputStatistics`` facet, derived from the run's input versions) with one transformation step
  describing the job, waiting for a person to complete and submit it. An output whose digest equals an
  existing version of that dataset is that version: it is linked to the run and left as it is, approved or
  not. Nothing here approves, submits or changes a version that is not a draft this run created.
- An **input dataset** is a dataset version (the ``version`` facet names its number, ``slug@n`` or content
  digest; without it, the dataset's latest version approved for training), or a ``SourceSystem`` (its name in
  the ``dataSource`` facet, or as the dataset name), or something the portal does not govern, which is kept
  on the record as reported.
- **Facets**: ``dataSource``, ``schema``, ``sql``, ``sourceCodeLocation``, ``sourceCode``, ``jobType``,
  ``documentation``, ``parent``, ``errorMessage`` and ``processing_engine`` go into the step's parameters and
  the lineage record's notes, where reviewers read them; other facets are ignored.
"""
