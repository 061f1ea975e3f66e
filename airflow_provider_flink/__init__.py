"""Apache Airflow 3 provider that runs the lifecycle of Apache Flink jobs through Flink's REST API."""

__version__ = "0.1.0"
