"""The dataset viewer (datasets-server), mounted under /datasets-server: validity, splits, info, first rows,
statistics and size of the datasets seeded in `hub.viewer`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.hub.accounts import user_of
from fakes.hub.server import Reply, Request, error_reply, json_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def viewer_dataset(hub: FakeHub, req: Request) -> dict[str, Any] | Reply:
    name = req.arg("dataset") or ""
    found = hub.viewer.get(name)
    user = user_of(hub, req)
    if isinstance(user, Reply):
        return user
    if found is None or (found.get("gated") and user is None):
        return error_reply(
            404,
            "The dataset does not exist, or is not accessible without authentication "
            "(private or gated). Please check the spelling of the dataset name or retry "
            "with authentication.",
            "DatasetNotFoundError",
        )
    return found


def viewer_split(hub: FakeHub, req: Request) -> tuple[dict[str, Any], dict[str, Any]] | Reply:
    found = viewer_dataset(hub, req)
    if isinstance(found, Reply):
        return found
    split = found["configs"].get(req.arg("config") or "", {}).get(req.arg("split") or "")
    if split is None:
        return error_reply(404, "Not found.", "ResponseNotFound")
    return found, split


def is_valid(hub: FakeHub, req: Request) -> Reply:
    found = viewer_dataset(hub, req)
    if isinstance(found, Reply):
        return found
    return json_reply({"viewer": True, "preview": True, "search": True, "filter": True, "statistics": True})


def splits(hub: FakeHub, req: Request) -> Reply:
    found = viewer_dataset(hub, req)
    if isinstance(found, Reply):
        return found
    name = req.arg("dataset")
    return json_reply(
        {
            "splits": [{"dataset": name, "config": c, "split": s} for c, ss in found["configs"].items() for s in ss],
            "pending": [],
            "failed": [],
        }
    )


def info(hub: FakeHub, req: Request) -> Reply:
    found = viewer_dataset(hub, req)
    if isinstance(found, Reply):
        return found
    config = req.arg("config") or next(iter(found["configs"]))
    splits_ = found["configs"].get(config)
    if splits_ is None:
        return error_reply(404, "Not found.", "ResponseNotFound")
    first = next(iter(splits_.values()))
    features = {f["name"]: f["type"] for f in first["features"]}
    return json_reply(
        {
            "dataset_info": {
                "description": found.get("description", ""),
                "features": features,
                "config_name": config,
                "splits": {
                    s: {"name": s, "num_examples": v["num_rows"], "num_bytes": v["num_rows"] * 100}
                    for s, v in splits_.items()
                },
            },
            "partial": False,
        }
    )


def first_rows(hub: FakeHub, req: Request) -> Reply:
    found = viewer_split(hub, req)
    if isinstance(found, Reply):
        return found
    _, split = found
    return json_reply(
        {
            "dataset": req.arg("dataset"),
            "config": req.arg("config"),
            "split": req.arg("split"),
            "features": [{"feature_idx": i, **f} for i, f in enumerate(split["features"])],
            "rows": [{"row_idx": i, "row": row, "truncated_cells": []} for i, row in enumerate(split["rows"][:100])],
            "truncated": False,
        }
    )


def statistics(hub: FakeHub, req: Request) -> Reply:
    found = viewer_split(hub, req)
    if isinstance(found, Reply):
        return found
    _, split = found
    return json_reply({"num_examples": split["num_rows"], "statistics": split.get("statistics", []), "partial": False})


def size(hub: FakeHub, req: Request) -> Reply:
    found = viewer_dataset(hub, req)
    if isinstance(found, Reply):
        return found
    name = req.arg("dataset")
    splits_ = [
        {
            "dataset": name,
            "config": c,
            "split": s,
            "num_rows": v["num_rows"],
            "num_columns": len(v["features"]),
            "num_bytes_parquet_files": v["num_rows"] * 50,
            "num_bytes_memory": v["num_rows"] * 100,
        }
        for c, ss in found["configs"].items()
        for s, v in ss.items()
    ]
    total = sum(s["num_rows"] for s in splits_)
    return json_reply(
        {
            "size": {
                "dataset": {
                    "dataset": name,
                    "num_rows": total,
                    "num_bytes_parquet_files": total * 50,
                    "num_bytes_memory": total * 100,
                },
                "configs": [],
                "splits": splits_,
            },
            "pending": [],
            "failed": [],
            "partial": False,
        }
    )


ROUTES = [
    ("GET", r"/datasets-server/is-valid", is_valid),
    ("GET", r"/datasets-server/splits", splits),
    ("GET", r"/datasets-server/info", info),
    ("GET", r"/datasets-server/first-rows", first_rows),
    ("GET", r"/datasets-server/statistics", statistics),
    ("GET", r"/datasets-server/size", size),
]
