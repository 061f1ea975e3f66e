"""A soak: declared deployments under the real Airflow components on PostgreSQL and a local Flink,
faults across the whole stack drawn from a seed, and what they add up to measured from outside:
availability per deployment and time to recover per fault kind (docs/reliability.md).

    .venv/bin/python -m faults.soak --minutes 60 --version 2.3.0 --seed 1
"""
