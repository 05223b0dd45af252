"""Documents to embed: the project's own docs/ and a tenant's knowledge pack, split into heading-sized chunks.

A knowledge pack is a folder of markdown or text files under ``<lake_root>/landing/<tenant>/knowledge/``
(local or S3, listed through pyarrow's filesystem layer). Chunking is a split on markdown ATX headings, then
on blank lines to at most ``max_chars``: small enough to write here rather than pull in a text-splitting
framework for it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope

PROJECT_DOCS_ENV = "LAKEHOUSE_PROJECT_DOCS"
DOC_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt")
MAX_CHARS = 1200
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class DocChunk:
    """One chunk of one document, with the heading it sits under."""

    source_kind: str
    source_path: str
    chunk_index: int
    heading: str
    text: str

    @property
    def chunk_id(self) -> str:
        """Stable id: SHA-256 of where the chunk comes from (not of its text, so an edit replaces it)."""
        return hashlib.sha256(
            f"{self.source_kind}\x00{self.source_path}\x00{self.chunk_index}".encode()
        ).hexdigest()


def chunk_markdown(text: str, max_chars: int = MAX_CHARS) -> list[tuple[str, str]]:
    """(heading path, text) sections of ``text``; long sections split on blank lines, then hard at max_chars."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    trail: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level = len(match.group(1))
            trail = [*trail[: level - 1], match.group(2)]
            sections.append((" > ".join(trail), [line]))
        else:
            sections[-1][1].append(line)
    out: list[tuple[str, str]] = []
    for heading, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        piece = ""
        for para in re.split(r"\n\s*\n", body):
            while len(para) > max_chars:
                if piece:
                    out.append((heading, piece))
                    piece = ""
                out.append((heading, para[:max_chars]))
                para = para[max_chars:]
            if piece and len(piece) + 2 + len(para) > max_chars:
                out.append((heading, piece))
                piece = ""
            piece = f"{piece}\n\n{para}" if piece else para
        if piece.strip():
            out.append((heading, piece))
    return out


def project_docs_dir() -> Path | None:
    """The project's docs/ folder (``LAKEHOUSE_PROJECT_DOCS`` or the repository's), None when not present (a
    Glue wheel ships no docs)."""
    override = os.environ.get(PROJECT_DOCS_ENV)
    path = Path(override) if override else Path(__file__).resolve().parents[2] / "docs"
    return path if path.is_dir() else None


def knowledge_pack_uri(scope: TenantScope) -> str:
    """Where the scope's tenant uploads its knowledge pack."""
    tenant = scope.require_single("reading a knowledge pack")
    return f"{get_settings().lake_root.rstrip('/')}/landing/{tenant}/knowledge"


def _chunks(kind: str, files: list[tuple[str, str]], max_chars: int) -> list[DocChunk]:
    out = []
    for rel, text in sorted(files):
        for i, (heading, body) in enumerate(chunk_markdown(text, max_chars)):
            out.append(DocChunk(kind, rel, i, heading, body))
    return out


def project_doc_chunks(max_chars: int = MAX_CHARS) -> list[DocChunk]:
    """Chunks of every markdown file of the project's docs/ (none when docs/ is absent)."""
    root = project_docs_dir()
    if root is None:
        return []
    files = [
        (p.relative_to(root).as_posix(), p.read_text(encoding="utf-8"))
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
    ]
    return _chunks("project_docs", files, max_chars)


def knowledge_pack_chunks(scope: TenantScope, max_chars: int = MAX_CHARS) -> list[DocChunk]:
    """Chunks of the tenant's knowledge pack files (none when the folder does not exist)."""
    from pyarrow import fs

    uri = knowledge_pack_uri(scope)
    if "://" not in uri:
        uri = Path(uri).resolve().as_uri()
    filesystem, root = fs.FileSystem.from_uri(uri)
    info = filesystem.get_file_info(root)
    if info.type != fs.FileType.Directory:
        return []
    files = []
    for entry in filesystem.get_file_info(fs.FileSelector(root, recursive=True)):
        if entry.type == fs.FileType.File and os.path.splitext(entry.path)[1].lower() in DOC_SUFFIXES:
            with filesystem.open_input_stream(entry.path) as stream:
                text = stream.read().decode("utf-8", errors="replace")
            files.append((entry.path[len(root) :].lstrip("/"), text))
    return _chunks("knowledge_pack", files, max_chars)
