"""The Flink page of the Airflow UI (a plugin: ``airflow_provider_flink.ui.plugin.FlinkPlugin``)."""
