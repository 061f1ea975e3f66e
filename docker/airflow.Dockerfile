# The Airflow image of docker-compose.yml: Airflow's own image with the provider from this checkout
# built in, as Airflow's compose file advises for anything past a trial (no install at each start).
# The sources are copied owned by the image's user (airflow, uid 50000, group 0), so the build
# never writes into a checkout owned by someone else (the in-tree build's egg-info did).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}
COPY --chown=airflow:0 pyproject.toml README.md LICENSE /opt/airflow/provider-src/
COPY --chown=airflow:0 airflow_provider_flink /opt/airflow/provider-src/airflow_provider_flink
# Airflow pinned to the image's own version, as Airflow's docs ask of any package added to it.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/airflow/provider-src \
 && rm -rf /opt/airflow/provider-src
