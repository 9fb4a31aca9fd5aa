"""The passes in pipeline order, as plain data: what a run needs to know of them before
any file is transformed (which passes a target runs, in which stage) without importing
them, and so libcst. A run whose every file is answered from the cache imports neither;
``load`` imports a pass when a file needs it. ``tests/test_registry.py`` checks every
entry against its class.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqla_upgrade.codemods.base import Pass

BOTH = frozenset({"2.0", "async"})
ASYNC = frozenset({"async"})


@dataclass(frozen=True)
class PassEntry:
    name: str
    #: the module under ``sqla_upgrade.codemods.passes`` that defines the pass
    module: str
    class_name: str
    #: 1: the sync 2.0 passes; 2: the async passes, run after the async plan is computed
    stage: int
    targets: frozenset[str]

    def load(self) -> type[Pass]:
        return load_pass(self)


@cache
def load_pass(entry: PassEntry) -> type[Pass]:
    module = importlib.import_module(f"sqla_upgrade.codemods.passes.{entry.module}")
    pass_cls: type[Pass] = getattr(module, entry.class_name)
    return pass_cls


def load_passes(entries: tuple[PassEntry, ...] | list[PassEntry]) -> list[type[Pass]]:
    return [entry.load() for entry in entries]


REGISTRY: tuple[PassEntry, ...] = (
    PassEntry("declarative-import", "declarative_import", "DeclarativeImportPass", 1, BOTH),
    PassEntry("orm-synonyms", "orm_synonyms", "OrmSynonymsPass", 1, BOTH),
    PassEntry("classical-mapping", "classical_mapping", "ClassicalMappingPass", 1, BOTH),
    PassEntry("select-list", "select_list", "SelectListPass", 1, BOTH),
    PassEntry("case-list", "case_list", "CaseListPass", 1, BOTH),
    PassEntry("string-attributes", "string_attributes", "StringAttributesPass", 1, BOTH),
    PassEntry("integer-division", "integer_division", "IntegerDivisionPass", 1, BOTH),
    PassEntry("core-arguments", "core_arguments", "CoreArgumentsPass", 1, BOTH),
    PassEntry("bound-metadata", "bound_metadata", "BoundMetadataPass", 1, BOTH),
    PassEntry("query-to-select", "query_to_select", "QueryToSelectPass", 1, BOTH),
    PassEntry("paginate-keywords", "paginate_keywords", "PaginateKeywordsPass", 1, BOTH),
    PassEntry("engine-execute", "engine_execute", "EngineExecutePass", 1, BOTH),
    PassEntry("engine-inspection", "engine_inspection", "EngineInspectionPass", 1, BOTH),
    PassEntry("row-mapping", "row_mapping", "RowMappingPass", 1, BOTH),
    PassEntry("raw-sql", "raw_sql", "RawSqlPass", 1, BOTH),
    PassEntry(
        "connection-autocommit", "connection_autocommit", "ConnectionAutocommitPass", 1, BOTH
    ),
    PassEntry("session-autocommit", "session_autocommit", "SessionAutocommitPass", 1, BOTH),
    PassEntry("backref-cascade", "backref_cascade", "BackrefCascadePass", 1, BOTH),
    PassEntry("eager-options", "eager_options", "EagerOptionsPass", 2, ASYNC),
    PassEntry("async-engine", "async_engine", "AsyncEnginePass", 2, ASYNC),
    PassEntry("eager-relationships", "eager_relationships", "EagerRelationshipsPass", 2, ASYNC),
    PassEntry("strict-loading", "strict_loading", "StrictLoadingPass", 2, ASYNC),
    PassEntry("init-collections", "init_collections", "InitCollectionsPass", 2, ASYNC),
    PassEntry("async-main", "async_main", "AsyncMainPass", 2, ASYNC),
    PassEntry("schema-run-sync", "schema_run_sync", "SchemaRunSyncPass", 2, ASYNC),
    PassEntry("await", "awaits", "AwaitPass", 2, ASYNC),
    PassEntry("refresh-after-commit", "refresh_after_commit", "RefreshAfterCommitPass", 2, ASYNC),
    PassEntry("async-test-client", "async_test_client", "AsyncTestClientPass", 2, ASYNC),
    PassEntry("async-tests", "async_tests", "AsyncTestsPass", 2, ASYNC),
    PassEntry("flask-async-session", "flask_async_session", "FlaskAsyncSessionPass", 2, ASYNC),
    PassEntry("dynamic-write-only", "dynamic_write_only", "DynamicWriteOnlyPass", 2, ASYNC),
)
