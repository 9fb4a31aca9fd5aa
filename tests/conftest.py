import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def legacy_tree(tmp_path: Path) -> Path:
    """A small project with legacy code and files that must stay untouched."""
    project = tmp_path / "proj"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "models.py").write_text(
        "from sqlalchemy.ext.declarative import declarative_base\n"
        "from sqlalchemy import select, case\n"
        "Base = declarative_base()\n"
        "def q(t):\n"
        "    return select([t.c.id], t.c.id > 1)\n"
    )
    (project / "pkg" / "plain.py").write_text("print('hello')\n")
    return project


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("COLUMNS", "120")


@pytest.fixture(autouse=True)
def _own_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets an empty result cache of its own: no result of one test (which may
    have patched the tool) can reach another, and ~/.cache is never touched."""
    monkeypatch.setenv("SQLA_UPGRADE_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
