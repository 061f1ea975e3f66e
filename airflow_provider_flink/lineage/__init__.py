"""Lineage: what Flink jobs read and write, reported through Airflow's OpenLineage provider.

:mod:`.datasets` (pure: plan and SQL to dataset names), :mod:`.events` (OpenLineage events and the
task's facets, a no-op without the provider), :mod:`.observe` (one job read from Flink). See
docs/lineage.md.
"""
