# One image for every lienthong process (CLI, stand-ins, every Airflow component of
# docker-compose.yml), installed from the same lock as development and CI: constraints.txt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/lienthong/dags

WORKDIR /opt/lienthong

# Dependencies in a layer of their own, keyed on the lock: editing code does not re-install them.
# The `celery` extra is the CeleryExecutor of docker-compose.yml (Airflow's Celery provider).
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt uv \
 && uv pip install --system --no-cache -c constraints.txt -r pyproject.toml --extra celery

# Only the packages and the DAGs: local venvs, caches and secrets stay out of the image.
COPY lienthong ./lienthong
COPY connectors ./connectors
COPY mappings ./mappings
COPY warehouse ./warehouse
COPY simulators ./simulators
COPY dags ./dags
RUN uv pip install --system --no-cache -c constraints.txt ".[celery]"

# Nothing needs root at run time. Every folder a named volume is mounted on is created here, so
# that the volume starts out owned by this user: AIRFLOW_HOME, its logs (shared by the Airflow
# containers), and var/ (the landing and report stores; `lienthong demo`'s local warehouse).
RUN useradd --system --uid 50000 --create-home --home-dir /opt/airflow lienthong \
 && install -d -o lienthong /opt/airflow/logs /opt/lienthong/var
USER lienthong

EXPOSE 8080 8765
CMD ["lienthong", "--help"]
