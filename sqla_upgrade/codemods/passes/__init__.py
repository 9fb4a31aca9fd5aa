"""Every pass, one module each, registered here in pipeline order."""

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.passes.async_engine import AsyncEnginePass
from sqla_upgrade.codemods.passes.async_main import AsyncMainPass
from sqla_upgrade.codemods.passes.async_test_client import AsyncTestClientPass
from sqla_upgrade.codemods.passes.async_tests import AsyncTestsPass
from sqla_upgrade.codemods.passes.awaits import AwaitPass
from sqla_upgrade.codemods.passes.bound_metadata import BoundMetadataPass
from sqla_upgrade.codemods.passes.case_list import CaseListPass
from sqla_upgrade.codemods.passes.connection_autocommit import ConnectionAutocommitPass
from sqla_upgrade.codemods.passes.declarative_import import DeclarativeImportPass
from sqla_upgrade.codemods.passes.dynamic_write_only import DynamicWriteOnlyPass
from sqla_upgrade.codemods.passes.eager_options import EagerOptionsPass
from sqla_upgrade.codemods.passes.eager_relationships import EagerRelationshipsPass
from sqla_upgrade.codemods.passes.engine_execute import EngineExecutePass
from sqla_upgrade.codemods.passes.engine_inspection import EngineInspectionPass
from sqla_upgrade.codemods.passes.flask_async_session import FlaskAsyncSessionPass
from sqla_upgrade.codemods.passes.init_collections import InitCollectionsPass
from sqla_upgrade.codemods.passes.query_to_select import QueryToSelectPass
from sqla_upgrade.codemods.passes.raw_sql import RawSqlPass
from sqla_upgrade.codemods.passes.refresh_after_commit import RefreshAfterCommitPass
from sqla_upgrade.codemods.passes.row_mapping import RowMappingPass
from sqla_upgrade.codemods.passes.schema_run_sync import SchemaRunSyncPass
from sqla_upgrade.codemods.passes.select_list import SelectListPass
from sqla_upgrade.codemods.passes.session_autocommit import SessionAutocommitPass
from sqla_upgrade.codemods.passes.strict_loading import StrictLoadingPass

ALL_PASSES: tuple[type[Pass], ...] = (
    DeclarativeImportPass,
    SelectListPass,
    CaseListPass,
    BoundMetadataPass,
    QueryToSelectPass,
    EngineExecutePass,
    EngineInspectionPass,
    RowMappingPass,
    RawSqlPass,
    ConnectionAutocommitPass,
    SessionAutocommitPass,
    EagerOptionsPass,
    AsyncEnginePass,
    EagerRelationshipsPass,
    StrictLoadingPass,
    InitCollectionsPass,
    AsyncMainPass,
    SchemaRunSyncPass,
    AwaitPass,
    RefreshAfterCommitPass,
    AsyncTestClientPass,
    AsyncTestsPass,
    FlaskAsyncSessionPass,
    DynamicWriteOnlyPass,
)

__all__ = ["ALL_PASSES"]
