"""Stage-one output trees kept for stage two of the same file, in this process.

Under ``--target async`` a file is parsed for stage one, and its stage-one output is
read again for stage two once the project-wide plans are known. When both stages run in
one process, the tree the first stage ended with (and the metadata resolved on it: the
scopes and parents the fact collectors computed) is kept and given to the second stage
instead of parsing its code again. The trees are kept only up to a bound on the code
they hold, so that a large repository's memory does not grow with all its trees: the
files beyond it are parsed again, as when the stages run in worker processes.

Plain data only (no libcst import): the runner clears the store without importing
what transforms files.
"""

from __future__ import annotations

from typing import Any

#: most bytes of code whose trees are kept at once (a tree takes about 40-60 times the
#: size of its code, with its metadata)
SOURCE_BUDGET = 4 * 2**20


class KeptTrees:
    def __init__(self, budget: int = SOURCE_BUDGET) -> None:
        self.budget = budget
        self.enabled = False
        self._kept: dict[str, tuple[bytes, Any]] = {}
        self._size = 0

    def keep(self, path: str, code: bytes, wrapper: Any) -> None:
        """Remember the wrapper over the tree whose code is ``code`` (when enabled and
        within the budget)."""
        if not self.enabled or self._size + len(code) > self.budget:
            return
        self.drop(path)
        self._kept[path] = (code, wrapper)
        self._size += len(code)

    def take(self, path: str, code: bytes) -> Any:
        """The wrapper kept for ``path`` if its tree's code is ``code`` (forgotten here)."""
        kept = self._kept.get(path)
        if kept is None:
            return None
        self.drop(path)
        return kept[1] if kept[0] == code else None

    def drop(self, path: str) -> None:
        kept = self._kept.pop(path, None)
        if kept is not None:
            self._size -= len(kept[0])

    def clear(self) -> None:
        self._kept.clear()
        self._size = 0
        self.enabled = False


#: the store of this process
KEPT = KeptTrees()
