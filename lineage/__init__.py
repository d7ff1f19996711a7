"""Dataset lineage: source systems, datasets and versions, lineage records, the dataset approval workflow and
impact analysis. Builds on ``governance``."""
