"""Jupyter notebooks as plain text: numbered cells with their source (outputs dropped, except a short
head of text outputs), so the model reads a notebook instead of its JSON."""

from __future__ import annotations

import json

MAX_OUTPUT_CHARS = 500


def _joined(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def render_notebook(raw: str) -> str:
    """The notebook's cells as text; the raw text unchanged if it is not a notebook."""
    try:
        nb = json.loads(raw)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        return raw
    language = (nb.get("metadata", {}).get("kernelspec", {}) or {}).get("language", "python")
    parts = [f"[notebook: {len(cells)} cells, {language}]"]
    for i, cell in enumerate(cells, 1):
        kind = cell.get("cell_type", "code")
        parts.append(f"--- cell {i} ({kind}) ---")
        parts.append(_joined(cell.get("source")).rstrip())
        texts = [
            _joined(o.get("text") or (o.get("data") or {}).get("text/plain"))
            for o in cell.get("outputs", [])
            if o.get("text") or (o.get("data") or {}).get("text/plain")
        ]
        output = "\n".join(t.rstrip() for t in texts if t.strip())
        if output:
            clipped = output if len(output) <= MAX_OUTPUT_CHARS else output[:MAX_OUTPUT_CHARS] + " [...]"
            parts.append(f"[output]\n{clipped}")
    return "\n".join(parts)
