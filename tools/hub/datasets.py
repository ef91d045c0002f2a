"""hf_inspect_dataset: what a Hub dataset holds before anyone writes a loader for it.

Everything comes from the dataset viewer API (datasets-server: /is-valid, /splits, /info, /size,
/first-rows, /statistics) in one call: configs and splits with row counts, features, the first rows
and, on request, column statistics. The base URL is endpoints.datasets_server_url in the config, env
HF_DATASETS_SERVER, default https://datasets-server.huggingface.co; the HF token goes with the
requests only when that URL is a Hugging Face host (gated datasets need it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.endpoints import configured, endpoints
from tools.hub.auth import LOGIN_HINT, hf_endpoint, token_for_hf
from tools.hub.errors import status_line
from tools.output import cap_lines, cap_text, human_size
from tools.web.fetch import Fetched, fetch

DEFAULT_SERVER = "https://datasets-server.huggingface.co"
MAX_CONFIGS = 40
MAX_COLUMNS = 80
CELL_CHARS = 200
Section = Literal["splits", "features", "size", "rows", "statistics"]


class InspectDatasetArgs(BaseModel):
    dataset: str = Field(description="Dataset id, e.g. 'stanfordnlp/imdb'.")
    config: str | None = Field(None, description="Config (subset). Default: 'default' or the first one.")
    split: str | None = Field(None, description="Split for rows/statistics. Default: 'train' or the first one.")
    include: list[Section] = Field(
        default_factory=lambda: ["splits", "features", "size", "rows"],
        description="What to show; add 'statistics' for per-column statistics.",
    )
    rows: int = Field(5, ge=0, le=50, description="How many first rows to show.")


def server_url(settings: AgentConfig | None) -> str:
    return configured(endpoints(settings).datasets_server_url, "HF_DATASETS_SERVER", DEFAULT_SERVER)


class _Viewer:
    def __init__(self, settings: AgentConfig, dataset: str):
        self.base = server_url(settings)
        self.token_for = token_for_hf(settings)
        self.dataset = dataset
        self.page = f"{hf_endpoint(settings)}/datasets/{dataset}"

    async def get(self, route: str, **params: Any) -> Fetched:
        return await fetch(
            f"{self.base}/{route}", params={"dataset": self.dataset, **params}, token_for=self.token_for, timeout=60
        )

    def fail(self, resp: Fetched, route: str) -> ToolError:
        if resp.status in (401, 403, 404) and route in ("is-valid", "splits"):
            return ToolError(
                f"Dataset '{self.dataset}' not found, or private/gated: check the name; if it is gated, accept its "
                f"conditions at {self.page} with your account and {LOGIN_HINT}."
            )
        return ToolError(
            status_line(
                "Dataset viewer",
                resp.status,
                resp.error_detail(),
                resp.headers,
                subject=f"for /{route} of {self.dataset}",
            )
        )

    async def json(self, route: str, **params: Any) -> Any:
        resp = await self.get(route, **params)
        if not resp.ok:
            raise self.fail(resp, route)
        return resp.json()


def feature_type(spec: Any) -> str:
    """A readable type for a `datasets` feature spec as the viewer serializes it."""
    if isinstance(spec, list):
        return f"list[{feature_type(spec[0]) if spec else '?'}]"
    if not isinstance(spec, dict):
        return str(spec)
    kind = spec.get("_type")
    if kind == "Value":
        return spec.get("dtype", "?")
    if kind == "ClassLabel":
        names = spec.get("names") or []
        shown = ", ".join(names[:10]) + (f", ... ({len(names)} classes)" if len(names) > 10 else "")
        return f"ClassLabel[{shown}]"
    if kind in ("Sequence", "List", "LargeList"):
        return f"list[{feature_type(spec.get('feature'))}]"
    if kind:
        return kind  # Image, Audio, Translation, ...
    return "{" + ", ".join(f"{k}: {feature_type(v)}" for k, v in spec.items()) + "}"


def _cell(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)  # strings quoted, so cells stay distinguishable
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + f"...(+{len(text) - CELL_CHARS} chars)"


def _stat_line(col: dict[str, Any]) -> str:
    stats = col.get("column_statistics") or {}
    parts = []
    for key in ("min", "max", "mean", "median", "std"):
        if stats.get(key) is not None:
            value = stats[key]
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    if stats.get("nan_proportion"):
        parts.append(f"null {stats['nan_proportion']:.1%}")
    if stats.get("n_unique") is not None:
        parts.append(f"{stats['n_unique']} unique")
    freqs = stats.get("frequencies")
    if freqs:
        top = sorted(freqs.items(), key=lambda kv: -kv[1])[:10]
        parts.append("frequencies " + ", ".join(f"{k}: {v}" for k, v in top) + (" ..." if len(freqs) > 10 else ""))
    kind = col.get("column_type", "?")
    lengths = " (lengths)" if kind in ("string_text", "list") else ""
    return f"  {col.get('column_name')} ({kind}){lengths}: " + ("; ".join(parts) or "no statistics")


async def _inspect(args: InspectDatasetArgs, ctx: ToolContext) -> str:
    viewer = _Viewer(ctx.settings, args.dataset)
    validity = await viewer.json("is-valid")
    if not (validity.get("viewer") or validity.get("preview")):
        return (
            f"The dataset viewer cannot read '{args.dataset}' (no viewer/preview support). Look at its files "
            "with hf_repo_files list/read (repo_type='dataset')."
        )
    splits_data = await viewer.json("splits")
    by_config: dict[str, list[str]] = {}
    for item in splits_data.get("splits", []):
        by_config.setdefault(item["config"], []).append(item["split"])
    if not by_config:
        return f"'{args.dataset}' has no splits in the dataset viewer yet (still processing?)."
    config = args.config or ("default" if "default" in by_config else next(iter(by_config)))
    if config not in by_config:
        known = ", ".join(list(by_config)[:MAX_CONFIGS])
        raise ToolError(f"'{args.dataset}' has no config '{config}'; configs: {known}.")
    split = args.split or ("train" if "train" in by_config[config] else by_config[config][0])
    if split not in by_config[config]:
        raise ToolError(f"Config '{config}' has no split '{split}'; splits: {', '.join(by_config[config])}.")

    want = set(args.include)
    jobs: dict[str, Any] = {}
    if want & {"features", "splits"}:
        jobs["info"] = viewer.get("info", config=config)
    if want & {"size", "splits"}:
        jobs["size"] = viewer.get("size")
    if "rows" in want and args.rows:
        jobs["rows"] = viewer.get("first-rows", config=config, split=split)
    if "statistics" in want:
        jobs["statistics"] = viewer.get("statistics", config=config, split=split)
    answers = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))

    def data(route: str) -> dict[str, Any] | None:
        resp = answers.get(route)
        return resp.json() if resp is not None and resp.ok else None

    out = [f"Dataset {args.dataset} ({viewer.page})"]
    size = data("size")
    rows_of = {(s["config"], s["split"]): s.get("num_rows") for s in (size or {}).get("size", {}).get("splits", [])}
    if "splits" in want:
        lines = []
        for cfg, names in by_config.items():
            counts = [f"{n} ({rows_of[(cfg, n)]:,} rows)" if rows_of.get((cfg, n)) is not None else n for n in names]
            lines.append(f"  {cfg}: {', '.join(counts)}")
        out.append(
            f"Configs and splits ({len(by_config)} configs):\n"
            + cap_lines(lines, MAX_CONFIGS, "configs", "pass config=... to inspect one")
        )
    if "size" in want and size:
        total = size.get("size", {}).get("dataset", {})
        partial = " (partial: the viewer only processed part of it)" if size.get("partial") else ""
        out.append(
            f"Size: {total.get('num_rows', 0):,} rows, {human_size(total.get('num_bytes_parquet_files'))} "
            f"as parquet, {human_size(total.get('num_bytes_memory'))} in memory{partial}"
        )
    info = data("info")
    if "features" in want and info:
        features = info.get("dataset_info", {}).get("features", {})
        lines = [f"  {name}: {feature_type(spec)}" for name, spec in features.items()]
        out.append(f"Features of {config} ({len(features)} columns):\n" + cap_lines(lines, MAX_COLUMNS, "columns"))
    rows = data("rows")
    if "rows" in want and args.rows:
        if rows is None:
            out.append(f"First rows of {config}/{split}: not available ({_why(answers.get('rows'))}).")
        else:
            shown = rows.get("rows", [])[: args.rows]
            lines = [
                f"  [{r.get('row_idx')}] {{" + ", ".join(f"{k}: {_cell(v)}" for k, v in r["row"].items()) + "}"
                for r in shown
            ]
            out.append(f"First {len(shown)} rows of {config}/{split}:\n" + "\n".join(lines))
    if "statistics" in want:
        stats = data("statistics")
        if stats is None:
            out.append(f"Statistics of {config}/{split}: not available ({_why(answers.get('statistics'))}).")
        else:
            cols = stats.get("statistics", [])
            partial = ", partial" if stats.get("partial") else ""
            out.append(
                f"Statistics of {config}/{split} ({stats.get('num_examples', 0):,} rows{partial}):\n"
                + cap_lines([_stat_line(c) for c in cols], MAX_COLUMNS, "columns")
            )
    return cap_text("\n".join(out), 20_000, "ask for fewer sections or rows")


def _why(resp: Fetched | None) -> str:
    if resp is None:
        return "not requested"
    return f"HTTP {resp.status}{': ' + resp.error_detail() if resp.error_detail() else ''}"


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="hf_inspect_dataset",
            description=(
                "Inspect a Hugging Face dataset without downloading it: configs and splits with row counts, "
                "features (column types), size, the first rows and, with include=[..., 'statistics'], per-column "
                "statistics. Use it before writing data-loading code."
            ),
            risk=Risk.READ_ONLY,
            handler=_inspect,
            args_model=InspectDatasetArgs,
        )
    ]
