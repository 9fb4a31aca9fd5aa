"""Every pass, one module each, registered here in pipeline order."""

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.passes.case_list import CaseListPass
from sqla_upgrade.codemods.passes.declarative_import import DeclarativeImportPass
from sqla_upgrade.codemods.passes.query_to_select import QueryToSelectPass
from sqla_upgrade.codemods.passes.select_list import SelectListPass

ALL_PASSES: tuple[type[Pass], ...] = (
    DeclarativeImportPass,
    SelectListPass,
    CaseListPass,
    QueryToSelectPass,
)

__all__ = ["ALL_PASSES"]
