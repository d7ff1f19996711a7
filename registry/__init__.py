"""Model registry: training runs, model versions, validation gates, change tickets, deployments, incidents,
model cards and monitoring. Builds on ``governance`` and ``lineage``."""
