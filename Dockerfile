# run.py serve (DevLake's REST API, with its scheduler) in a container. docker-compose.yml builds it; by hand:
#   docker build -t pagerduty-dora . && docker run -e DB_URL=... -e API_TOKEN=... -e ENCRYPTION_SECRET=... -p 127.0.0.1:8080:8080 pagerduty-dora
# --host 0.0.0.0 needs API_TOKEN (the server refuses to start without it); ENCRYPTION_SECRET encrypts saved tokens.
# tests/test_docker.py runs what can be run without Docker: the RUN commands in a plain shell, the files COPY
# brings, the command and the health check (README, "What was and was not run here").
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
WORKDIR /app

# the dependencies as `make install` installs them (requirements.txt pinned, constraints.txt locking the rest),
# with the project's own dbt adapter; not the test and lint tools (requirements-dev.txt)
COPY requirements.txt constraints.txt ./
COPY adapters/ adapters/
RUN pip install --quiet --upgrade pip
RUN pip install --quiet -r requirements.txt -c constraints.txt ./adapters/dbt-mysql8

# what run.py serve reads: its code, the dbt project it builds, dlt's settings; no tests, simulator or scripts
COPY run.py pyproject.toml dbt_project.yml profiles.example.yml ./
COPY .dlt/config.toml .dlt/
COPY runner/ runner/
COPY ingestion/ ingestion/
COPY models/ models/
COPY macros/ macros/
COPY seeds/ seeds/
COPY tests/dbt/ tests/dbt/

# a user of its own; the code stays root's (read-only to it), dbt writes only target/ and logs/
RUN useradd --system --uid 10001 --user-group --home-dir /home/app --create-home app
RUN mkdir -p target logs && chown app:app target logs
USER 10001:10001

EXPOSE 8080
# /ping answers without the API token; python's urllib, as the slim image has no curl
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=4).status != 200)"]
CMD ["python", "run.py", "serve", "--host", "0.0.0.0", "--port", "8080"]
