# One image for every lienthong process (CLI, stand-ins, Airflow), installed from the same lock as
# development and CI: constraints.txt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/lienthong/dags

WORKDIR /opt/lienthong

# Dependencies in a layer of their own, keyed on the lock: editing code does not re-install them.
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt uv \
 && uv pip install --system --no-cache -c constraints.txt -r pyproject.toml

# Only the packages and the DAGs: local venvs, caches and secrets stay out of the image.
COPY lienthong ./lienthong
COPY connectors ./connectors
COPY mappings ./mappings
COPY warehouse ./warehouse
COPY simulators ./simulators
COPY dags ./dags
RUN uv pip install --system --no-cache -c constraints.txt .

# Nothing needs root at run time. AIRFLOW_HOME is created here so that a named volume mounted on it
# starts out owned by this user; var/ is where `lienthong demo` writes its local warehouse.
RUN useradd --system --uid 50000 --create-home --home-dir /opt/airflow lienthong \
 && install -d -o lienthong /opt/lienthong/var
USER lienthong

EXPOSE 8080 8765
CMD ["lienthong", "--help"]
