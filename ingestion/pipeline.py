"""Former home of the scope load; kept while the runner's modules move to ingestion.scope_load."""

from .database import drop_databases
from .scope_load import ConnectionSpec, LoadFailed, ScopeResult, ScopeSpec, load_scope

__all__ = ["ConnectionSpec", "LoadFailed", "ScopeResult", "ScopeSpec", "drop_databases", "load_scope"]
