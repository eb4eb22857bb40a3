"""DevLake's REST API for this project (`run.py serve`): the seed's curl commands work unchanged.

Connections: POST/GET /plugins/pagerduty/connections, GET/PATCH/DELETE /plugins/pagerduty/connections/{id},
POST /plugins/pagerduty/test, POST /plugins/pagerduty/connections/{id}/test. Blueprints: POST/GET
/blueprints, GET/PATCH/DELETE /blueprints/{id}, POST /blueprints/{id}/trigger, GET /blueprints/{id}/pipelines.
Pipelines: GET /pipelines, GET /pipelines/{id}. GET /ping. OpenAPI at /openapi.json, docs at /swagger.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any, Optional

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ingestion.database import Database

from ..connection_check import check_connection
from ..connection_store import ConnectionStore, UnknownConnection
from ..connections import validate_connection
from ..errors import InputError
from ..pipeline_records import UnknownPipeline, fail_abandoned, list_pipelines
from .blueprint_store import BlueprintStore, UnknownBlueprint, body_of
from .pipelines import AlreadyRunning, PipelineRunner, Scheduler, validate_body

MAX_BODY_BYTES = 1_000_000
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
    """A PagerDuty connection as DevLake's API takes it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    endpoint: str = Field(description="API base URL, e.g. https://api.PagerDuty.com")
    token: str = Field(min_length=1, description="PagerDuty API token; stored encrypted, never returned")
    proxy: Optional[str] = None
    rateLimitPerHour: Optional[int] = Field(default=None, ge=0)


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Optional[str] = Field(default=None, min_length=1, max_length=100)
    endpoint: Optional[str] = None
    token: Optional[str] = Field(default=None, min_length=1)
    proxy: Optional[str] = None
    rateLimitPerHour: Optional[int] = Field(default=None, ge=0)


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
    }


def _check_blueprint(body: Any, database: Database) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("body: expected a JSON object")
    unknown = sorted(set(body) - BLUEPRINT_FIELDS)
    if unknown:
        raise InputError(f"body: unknown field(s) {', '.join(unknown)}")
    validate_body(body, database)
    return body


def create_app(
    database: Database,
    environ: Mapping[str, str] = os.environ,
    api_token: Optional[str] = None,
    schedule: bool = True,
) -> FastAPI:
    connections = ConnectionStore(database, environ)
    blueprints = BlueprintStore(database)
    runner = PipelineRunner(database)
    scheduler = Scheduler(runner)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        fail_abandoned(database)
        if schedule:
            scheduler.start()
        yield
        scheduler.stop()

    app = FastAPI(
        title="pagerduty-dora: DevLake-compatible API",
        version="1.0.0",
        description=__doc__,
        docs_url="/swagger",
        redoc_url=None,
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if api_token and request.url.path != "/ping":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given, f"Bearer {api_token}"):
                return JSONResponse(
                    {"success": False, "message": "unauthorized: send Authorization: Bearer <API_TOKEN>"},
                    status_code=401,
                )
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                {"success": False, "message": f"body over {MAX_BODY_BYTES} bytes"}, status_code=413
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg')}")
        return JSONResponse({"success": False, "message": "; ".join(problems)}, status_code=400)

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

    @app.get("/ping")
    def ping() -> dict[str, Any]:
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
        connections.update(connection_id, body.model_dump(exclude_unset=True))
        return connections.public(connection_id)[0]

    @app.delete("/plugins/pagerduty/connections/{connection_id}")
    def delete_connection(connection_id: int) -> dict[str, Any]:
        shown = connections.public(connection_id)[0]
        connections.delete(connection_id)
        return shown

    def _test(spec) -> JSONResponse:
        ok, message = check_connection(spec)
        return JSONResponse({"success": ok, "message": message}, status_code=200 if ok else 400)

    @app.post("/plugins/pagerduty/test")
    def test_connection(body: ConnectionBody) -> JSONResponse:
        return _test(validate_connection({**body.model_dump(), "id": 1}, "body", environ))

    @app.post("/plugins/pagerduty/connections/{connection_id}/test")
    def test_saved_connection(connection_id: int) -> JSONResponse:
        connections.public(connection_id)  # 404 when unknown
        return _test(connections.specs()[connection_id])

    # blueprints
    @app.post("/blueprints", status_code=201)
    def add_blueprint(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return blueprints.add(_check_blueprint(body, database))

    @app.get("/blueprints")
    def list_blueprints() -> dict[str, Any]:
        items = blueprints.all()
        return {"blueprints": items, "count": len(items)}

    @app.get("/blueprints/{blueprint_id}")
    def get_blueprint(blueprint_id: int) -> dict[str, Any]:
        return blueprints.get(blueprint_id)

    @app.patch("/blueprints/{blueprint_id}")
    def patch_blueprint(blueprint_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        merged = {**body_of(blueprints.get(blueprint_id)), **body}
        return blueprints.replace(blueprint_id, _check_blueprint(merged, database))

    @app.delete("/blueprints/{blueprint_id}")
    def delete_blueprint(blueprint_id: int) -> dict[str, Any]:
        shown = blueprints.get(blueprint_id)
        running = runner.running(blueprint_id)
        if running is not None:
            raise AlreadyRunning(running)
        blueprints.delete(blueprint_id)
        return shown

    @app.post("/blueprints/{blueprint_id}/trigger")
    def trigger(blueprint_id: int) -> dict[str, Any]:
        pipeline_id = runner.trigger(blueprint_id)
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
