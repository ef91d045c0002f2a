"""schema.json has the row count and every column with its type, as read from the data itself."""

import json
import sys
from pathlib import Path

workspace = Path(sys.argv[1])
rows = [json.loads(line) for line in (workspace / "data" / "reviews.jsonl").read_text().splitlines() if line.strip()]
path = workspace / "schema.json"
if not path.is_file():
    sys.exit("schema.json was not written")
try:
    schema = json.loads(path.read_text())
except ValueError as e:
    sys.exit(f"schema.json is not JSON: {e}")
if not isinstance(schema, dict) or schema.get("rows") != len(rows):
    sys.exit(f"rows is {schema.get('rows') if isinstance(schema, dict) else schema!r}, the data has {len(rows)}")
columns = schema.get("columns")
if isinstance(columns, list):  # [{"name":..., "type":...}] is fine too
    columns = {c.get("name"): c.get("type") for c in columns if isinstance(c, dict)}
if not isinstance(columns, dict):
    sys.exit("columns is not an object of column name -> type")
kinds = {bool: {"boolean", "bool"}, int: {"integer", "int", "int64"}, str: {"string", "str", "text"}}
for name, value in rows[0].items():
    given = str(columns.get(name, "")).lower()
    if given not in kinds[type(value)]:
        sys.exit(f"column {name}: schema says {given or 'nothing'}, the data holds {type(value).__name__}")
extra = set(columns) - set(rows[0])
if extra:
    sys.exit(f"schema.json names columns the data does not have: {', '.join(sorted(extra))}")
print(f"{len(rows)} rows, {len(columns)} columns with the right types")
