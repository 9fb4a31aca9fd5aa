"""Attribute names read by templates (Jinja and similar) that live beside the code.

A template reading ``{{ post.author.name }}`` or ``{% for c in post.comments %}`` reads
the ``author`` and ``comments`` relationships as surely as Python code does. The names
are taken from expression and statement tags with a tokenizer-level scan (no Jinja
dependency); a name that only looks like an attribute costs an eager load, never
correctness.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqla_upgrade.codemods.discovery import SKIPPED_DIRS

TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".tmpl", ".xml", ".txt")
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
ATTRIBUTE = re.compile(r"\.\s*([A-Za-z_]\w*)")
MAX_TEMPLATE_BYTES = 2_000_000


def template_attribute_reads(roots: list[Path]) -> set[str]:
    names: set[str] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
            for file_name in files:
                if file_name.endswith(TEMPLATE_SUFFIXES):
                    names |= _reads_in(Path(folder) / file_name)
    return names


def _reads_in(path: Path) -> set[str]:
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            return set()
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {m.group(1) for tag in TAG.findall(text) for m in ATTRIBUTE.finditer(tag)}
