"""The floor: libcst's own parse + code generation of every Python file under a folder.

Run as its own process (``python -m bench.floor FOLDER``), like the tool, so both pay
for an interpreter and their imports. Prints the number of files parsed.
"""

from __future__ import annotations

import os
import sys

import libcst as cst


def main(root: str) -> int:
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    source = handle.read()
                module = cst.parse_module(source)
                if module.bytes != source:
                    raise SystemExit(f"{name}: libcst did not round-trip")
                count += 1
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
