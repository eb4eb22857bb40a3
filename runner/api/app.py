"""DevLake's REST API for this project (`run.py serve`): the seed's curl commands work unchanged.

Connections: POST/GET /plugins/pagerduty/connections, GET/PATCH/DELETE /plugins/pagerduty/connections/{id},
POST /plugins/pagerduty/test, POST /plugins/pagerduty/connections/{id}/test. Blueprints: POST/GET
/blueprints, GET/PATCH/DELETE /blueprints/{id}, POST /blueprints/{id}/trigger, GET /blueprints/{id}/pipelines.
Pipelines: GET /pipelines, GET /pipelines/{id}. GET /ping. OpenAPI at /openapi.json (no interactive docs
page: one would load scripts from a CDN inside the API's origin).

Who may call it is settled before any route (runner/api/guard.py): without API_TOKEN, loopback Hosts only;
with it, the bearer token; cross-site state changes never; bodies up to 1 MB. Limits (runner/api/settings.py):
a few connection tests at once (429 past it), a few pipelines at once (429 past it).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, Optional

import pymysql
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from ingestion.database import Database

from ..connections.check import CheckResult
from ..connections.files import validate_connection
from ..connections.store import ConnectionStore, UnknownConnection
from ..errors import InputError
from ..orchestration import SyncPolicy
from ..output import out
from ..pipeline_records import UnknownPipeline, fail_abandoned, list_pipelines
from ..settings import CONNECTION_TEST_SECONDS, ENCRYPTION_SECRET_ENV, MAX_BODY_BYTES, Settings
from .blueprint_body import check_fields, check_json
from .blueprint_store import UnknownBlueprint, body_of
from .connection_tests import ConnectionTester, TooManyTests
from .guard import Guard
from .pipeline_runner import AlreadyRunning, PipelineRunner, TooManyPipelines, validate_body
from .scheduler import Scheduler

BLUEPRINT_FIELDS = {
    "name",
    "mode",
    "enable",
    "isManual",
    "cronConfig",
    "skipOnFail",
    "settings",
    "timeAfter",
    "labels",
    "projectName",
    "plan",
    "beforePlan",
    "afterPlan",
    "description",
}


class ConnectionBody(BaseModel):
    """A PagerDuty connection as DevLake's API takes it. Strict: an integer is a JSON integer (not `true`,
    not "5"), a string a JSON string."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)
    endpoint: str = Field(
        max_length=255,
        description="API base URL, https (http only on loopback), e.g. https://api.PagerDuty.com",
    )
    token: str = Field(
        min_length=1,
        max_length=1000,
        description="PagerDuty API token, used exactly as sent (no ${VAR} expansion); stored encrypted, never"
        " returned",
    )
    proxy: Optional[str] = Field(
        default=None, max_length=1000, description="http(s)://[user:password@]host:port"
    )
    rateLimitPerHour: Optional[int] = Field(default=None, ge=0, le=1_000_000)


READ_ONLY_FIELDS = {"id", "createdAt", "updatedAt"}
"""Fields GET shows that a PATCH may send back (DevLake clients send the object they read): ignored."""


class ConnectionPatch(BaseModel):
    """Fields to change. A new endpoint or proxy needs the token too; `proxy: null` or "" removes it. The
    object GET returned may be sent back as it is: its read-only fields are ignored, and the masked token
    (and proxy password) mean "unchanged"."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: Optional[int] = Field(default=None, description="read-only; ignored")
    createdAt: Optional[str] = Field(default=None, description="read-only; ignored")
    updatedAt: Optional[str] = Field(default=None, description="read-only; ignored")
    name: Optional[str] = Field(default=None, min_length=1, max_length=100)
    endpoint: Optional[str] = Field(default=None, max_length=255)
    token: Optional[str] = Field(default=None, min_length=1, max_length=1000)
    proxy: Optional[str] = Field(default=None, max_length=1000)
    rateLimitPerHour: Optional[int] = Field(default=None, ge=0, le=1_000_000)


class TriggerBody(BaseModel):
    """DevLake's trigger body (optional): `fullSync` re-collects every incident of the blueprint's scopes (a
    reconcile: drift found and healed), `skipCollectors` collects nothing and rebuilds the models only."""

    model_config = ConfigDict(extra="forbid", strict=True)
    fullSync: bool = False
    skipCollectors: bool = False

    def policy(self) -> SyncPolicy:
        if self.fullSync and self.skipCollectors:
            raise InputError("body: fullSync and skipCollectors cannot both be true")
        return SyncPolicy(full_sync=self.fullSync, skip_collectors=self.skipCollectors)


def _pipeline(row: dict[str, Any]) -> dict[str, Any]:
    began, finished = row["began_at"], row["finished_at"]
    return {
        "id": row["id"],
        "blueprintId": row["blueprint_id"],
        "name": row["blueprint_name"],
        "status": row["status"],
        "beganAt": began.isoformat() if began else None,
        "finishedAt": finished.isoformat() if finished else None,
        "spentSeconds": round((finished - began).total_seconds(), 3) if began and finished else None,
        "message": row["message"],
        "incidents": row["incidents"],
        "deployments": row["deployments"],
        "requests": row["requests"],
        "dbtResult": row["dbt_result"],
        "fullSync": bool(row["full_sync"]),
        "skipCollectors": bool(row["skip_collectors"]),
        "totalTasks": row["total_tasks"],
        "finishedTasks": row["finished_tasks"],
        "stage": row["stage"],
    }


def _check_blueprint(body: Any, database: Database, settings: Settings) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("body: expected a JSON object")
    check_json(body)  # depth and Unicode first: a message may then name any key
    unknown = sorted(set(body) - BLUEPRINT_FIELDS)
    if unknown:
        raise InputError(f"body: unknown field(s) {', '.join(name[:64] for name in unknown[:10])}")
    check_fields(body)  # JSON types and sizes: what is saved can be read back and is what it says
    # every field checked, cronConfig included (400 with why)
    blueprint = validate_body(body, database, settings)
    return {**body, "name": blueprint.name}


def create_app(database: Database, settings: Optional[Settings] = None, schedule: bool = True) -> FastAPI:
    """The API over a lake; `settings` (read once by run.py) say what the environment set."""
    settings = settings or Settings.from_env()
    environ = settings.environ
    api_token = settings.server.api_token
    connections = ConnectionStore(database, environ)
    runner = PipelineRunner(database, settings)
    # one store, and one cache of parsed blueprints, for the routes and the schedule
    blueprints = runner.blueprints
    scheduler = Scheduler(runner)
    tester = ConnectionTester(settings.server.max_connection_tests, CONNECTION_TEST_SECONDS)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        fail_abandoned(database)
        if environ.get(ENCRYPTION_SECRET_ENV):
            try:  # the key made once, and rows of earlier versions re-encrypted, before the first request
                connections.prepare()
            except InputError as exc:
                out.error(f"saved connections: {exc}", event="connections")
        if schedule:
            scheduler.start()
        yield
        scheduler.stop()
        tester.shutdown()

    app = FastAPI(
        title="pagerduty-dora: DevLake-compatible API",
        version="1.0.0",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    app.add_middleware(
        Guard,
        api_token=api_token,
        max_body_bytes=MAX_BODY_BYTES,
        allowed_hosts=settings.server.allowed_hosts,
    )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg')}")
        return JSONResponse({"success": False, "message": "; ".join(problems)}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        """The framework's own refusals (a body that does not parse, an unknown route) in this API's shape."""
        return JSONResponse(
            {"success": False, "message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(UnknownConnection)
    @app.exception_handler(UnknownPipeline)
    @app.exception_handler(UnknownBlueprint)
    async def not_found(request: Request, exc: Exception):
        return JSONResponse({"success": False, "message": str(exc)}, status_code=404)

    @app.exception_handler(InputError)
    async def invalid(request: Request, exc: InputError):
        return JSONResponse({"success": False, "message": str(exc).replace("\n", "; ")}, status_code=400)

    @app.exception_handler(AlreadyRunning)
    async def conflict(request: Request, exc: AlreadyRunning):
        return JSONResponse(
            {"success": False, "message": str(exc), "pipelineId": exc.pipeline_id}, status_code=409
        )

    @app.exception_handler(TooManyTests)
    @app.exception_handler(TooManyPipelines)
    async def too_many(request: Request, exc: Exception):
        return JSONResponse({"success": False, "message": str(exc)}, status_code=429)

    @app.exception_handler(pymysql.err.DataError)
    async def does_not_fit(request: Request, exc: pymysql.err.DataError):
        # every input is validated first; this is the net under it, never a 500
        out.error(f"{request.method} {request.url.path}: {exc}", event="data_error")
        return JSONResponse(
            {"success": False, "message": "a value does not fit the database (too long or out of range)"},
            status_code=400,
        )

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        """Health: answered on the event loop, never behind routes waiting on the database or PagerDuty."""
        return {"success": True}

    # connections
    @app.post("/plugins/pagerduty/connections", status_code=201)
    def add_connection(body: ConnectionBody) -> dict[str, Any]:
        return connections.public(connections.add(body.model_dump()))[0]

    @app.get("/plugins/pagerduty/connections")
    def list_connections() -> list[dict[str, Any]]:
        return connections.public()

    @app.get("/plugins/pagerduty/connections/{connection_id}")
    def get_connection(connection_id: int) -> dict[str, Any]:
        return connections.public(connection_id)[0]

    @app.patch("/plugins/pagerduty/connections/{connection_id}")
    def patch_connection(connection_id: int, body: ConnectionPatch) -> dict[str, Any]:
        """Change fields; a new endpoint or proxy needs the token too (400 without it)."""
        connections.update(connection_id, body.model_dump(exclude_unset=True, exclude=READ_ONLY_FIELDS))
        return connections.public(connection_id)[0]

    @app.delete("/plugins/pagerduty/connections/{connection_id}")
    def delete_connection(connection_id: int) -> dict[str, Any]:
        shown = connections.public(connection_id)[0]
        connections.delete(connection_id)
        return shown

    def _answer(result: CheckResult) -> JSONResponse:
        """Whether PagerDuty accepted the token and how many services: nothing else of what the endpoint
        sent back."""
        return JSONResponse(
            {"success": result.ok, "message": result.message}, status_code=200 if result.ok else 400
        )

    @app.post("/plugins/pagerduty/test")
    async def test_connection(body: ConnectionBody) -> JSONResponse:
        """Test a connection without saving it; the token is used exactly as sent."""
        fields = {**body.model_dump(), "id": 1}
        return _answer(
            await tester.run(
                lambda: validate_connection(fields, "body", policy=settings.endpoint_policy, resolve=True)
            )
        )

    @app.post("/plugins/pagerduty/connections/{connection_id}/test")
    async def test_saved_connection(connection_id: int) -> JSONResponse:
        """Test a saved connection against its saved endpoint."""
        return _answer(await tester.run(lambda: connections.spec(connection_id)))

    # blueprints
    @app.post("/blueprints", status_code=201)
    def add_blueprint(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return blueprints.add(_check_blueprint(body, database, settings))

    def _shown(blueprint: dict[str, Any]) -> dict[str, Any]:
        return {**blueprint, "scheduleError": scheduler.error(blueprint["id"])}

    @app.get("/blueprints")
    def list_blueprints() -> dict[str, Any]:
        items = [_shown(item) for item in blueprints.all()]
        return {"blueprints": items, "count": len(items)}

    @app.get("/blueprints/{blueprint_id}")
    def get_blueprint(blueprint_id: int) -> dict[str, Any]:
        """The blueprint; `scheduleError` says why its schedule is not running, if it is not."""
        return _shown(blueprints.get(blueprint_id))

    @app.patch("/blueprints/{blueprint_id}")
    def patch_blueprint(blueprint_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        merged = {**body_of(blueprints.get(blueprint_id)), **body}
        return blueprints.replace(blueprint_id, _check_blueprint(merged, database, settings))

    @app.delete("/blueprints/{blueprint_id}")
    def delete_blueprint(blueprint_id: int) -> dict[str, Any]:
        shown = blueprints.get(blueprint_id)
        running = runner.running(blueprint_id)
        if running is not None:
            raise AlreadyRunning(running)
        blueprints.delete(blueprint_id)
        return shown

    @app.post("/blueprints/{blueprint_id}/trigger")
    def trigger(blueprint_id: int, body: Optional[TriggerBody] = Body(None)) -> dict[str, Any]:
        """Start a pipeline: 409 if one of this blueprint runs, 429 if API_MAX_PIPELINES run already. The
        optional body is DevLake's: {"fullSync": true} reconciles, {"skipCollectors": true} runs dbt only."""
        pipeline_id = runner.trigger(blueprint_id, (body or TriggerBody()).policy())
        return _pipeline(list_pipelines(database, pipeline_id)[0])

    @app.get("/blueprints/{blueprint_id}/pipelines")
    def blueprint_pipelines(blueprint_id: int) -> dict[str, Any]:
        blueprints.get(blueprint_id)
        items = [_pipeline(row) for row in list_pipelines(database, blueprint_id=blueprint_id, limit=100)]
        return {"pipelines": items, "count": len(items)}

    # pipelines
    @app.get("/pipelines")
    def pipelines() -> dict[str, Any]:
        items = [_pipeline(row) for row in list_pipelines(database, limit=100)]
        return {"pipelines": items, "count": len(items)}

    @app.get("/pipelines/{pipeline_id}")
    def pipeline(pipeline_id: int) -> dict[str, Any]:
        rows = list_pipelines(database, pipeline_id)
        return _pipeline(rows[0])

    app.state.runner = runner
    return app
