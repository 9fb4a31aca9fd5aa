"""Run options shared by the CLI, the runner and the passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TARGETS = ("async", "2.0")

#: the default of ``--max-file-size``, in megabytes (10**6 bytes); see ``limits``
DEFAULT_MAX_FILE_MB = 1.0

DEFAULT_ASYNC_DRIVERS: dict[str, str] = {
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+pg8000": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mysql+pymysql": "mysql+aiomysql",
    "mysql+mysqldb": "mysql+aiomysql",
    "mariadb": "mariadb+aiomysql",
    "mariadb+pymysql": "mariadb+aiomysql",
}


@dataclass(frozen=True)
class Options:
    """Everything that decides what a run does, besides the files themselves."""

    target: str = "async"
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    jobs: int = 1
    roots: tuple[Path, ...] = ()
    async_drivers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ASYNC_DRIVERS))
    sync_callables: tuple[str, ...] = ()
    bridge_to_thread: tuple[str, ...] = ()
    #: seconds one file may take in a stage before its worker is killed (None: no limit)
    timeout: float | None = None
    #: files larger than this many megabytes are not parsed (None: no limit)
    max_file_mb: float | None = DEFAULT_MAX_FILE_MB
    #: ``--strict-loading``: relationships still loaded lazily get ``lazy="raise_on_sql"``
    strict_loading: bool = False
    #: where per-file results are cached (None: no cache); see ``codemods.cache``
    cache_dir: Path | None = None
