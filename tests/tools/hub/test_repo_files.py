"""hf_repo_files through the real HfApi against the local fake Hub."""

from __future__ import annotations

import json

import pytest

from tools.base import Risk, ToolError
from tools.hub import repo_files

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = repo_files.tools(None)[0]


async def call(env, **kwargs):
    return await TOOL.handler(repo_files.RepoFilesArgs(**kwargs), env.ctx())


async def test_list_shows_files_sizes_and_lfs(hf_env):
    hf_env.hub.add_repo(
        "alice/demo", {"config.json": "{}", "weights/model.safetensors": b"\x01" * 2048, "README.md": "# demo"}
    )
    out = await call(hf_env, operation="list", repo_id="alice/demo")
    assert "3 files" in out
    assert "weights/model.safetensors  2.0 KB  [LFS]" in out
    assert "config.json  2 B" in out
    assert hf_env.hub.seen("GET", r"^/api/models/alice/demo/tree/main$")


async def test_list_caps_long_listings_with_a_note(hf_env):
    hf_env.hub.add_repo("alice/many", {f"data/{i:04d}.txt": "x" for i in range(450)}, repo_type="dataset")
    out = await call(hf_env, operation="list", repo_id="alice/many", repo_type="dataset")
    assert "450 files" in out
    assert "data/0299.txt" in out and "data/0300.txt" not in out
    assert "150 more entries not shown" in out


async def test_read_returns_text_and_pages_large_files(hf_env):
    body = "".join(f"line {i}\n" for i in range(10_000))
    hf_env.hub.add_repo("alice/demo", {"train.py": "print('hi')\n", "big.txt": body})
    assert await call(hf_env, operation="read", repo_id="alice/demo", path="train.py") == "print('hi')\n"

    first = await call(hf_env, operation="read", repo_id="alice/demo", path="big.txt", max_bytes=1000)
    assert first.startswith("line 0\n")
    assert f"showed bytes 0-1,000 of {len(body):,}" in first and "offset=1000" in first
    second = await call(hf_env, operation="read", repo_id="alice/demo", path="big.txt", offset=1000, max_bytes=1000)
    assert body[1000:1100] in second
    # only the requested range travelled
    ranges = [r.headers.get("range") for r in hf_env.hub.seen("GET", r"/resolve/main/big.txt")]
    assert ranges == ["bytes=0-999", "bytes=1000-1999"]


async def test_read_binary_and_notebook(hf_env):
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title"]},
            {"cell_type": "code", "source": ["print(1)"], "outputs": [{"text": ["1\n"]}]},
        ],
        "metadata": {},
    }
    hf_env.hub.add_repo("alice/demo", {"model.bin": b"\x00\x01\x02" * 100, "nb.ipynb": json.dumps(nb)})
    assert "binary file" in await call(hf_env, operation="read", repo_id="alice/demo", path="model.bin")
    out = await call(hf_env, operation="read", repo_id="alice/demo", path="nb.ipynb")
    assert "--- cell 2 (code) ---\nprint(1)\n[output]\n1" in out


async def test_missing_repo_and_file_are_one_clear_line(hf_env):
    hf_env.hub.add_repo("alice/demo", {"a.txt": "a"})
    with pytest.raises(ToolError) as missing_repo:
        await call(hf_env, operation="read", repo_id="alice/nope", path="a.txt")
    assert "model 'alice/nope' not found" in str(missing_repo.value) and "\n" not in str(missing_repo.value)
    with pytest.raises(ToolError) as missing_file:
        await call(hf_env, operation="read", repo_id="alice/demo", path="b.txt")
    assert "no such file" in str(missing_file.value)


async def test_private_repo_with_a_bad_token_says_how_to_log_in(hf_env, monkeypatch):
    hf_env.hub.add_repo("alice/secret", {"a.txt": "a"}, private=True)
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="list", repo_id="alice/secret")
    assert "HF_TOKEN" in str(err.value) and "hf auth login" in str(err.value)


async def test_upload_file_and_folder_from_workspace(hf_env):
    repo = hf_env.hub.add_repo("alice/demo", {})
    (hf_env.workspace / "train.py").write_text("print('train')\n")
    out = await call(hf_env, operation="upload", repo_id="alice/demo", local_path="train.py", path="scripts/train.py")
    assert "Uploaded train.py" in out and "/commit/" in out
    assert repo.files["scripts/train.py"] == b"print('train')\n"

    out_dir = hf_env.workspace / "out"
    (out_dir / "sub").mkdir(parents=True)
    (out_dir / "config.json").write_text("{}")
    (out_dir / "sub" / "w.txt").write_text("w")
    (out_dir / ".env").write_text("SECRET=1")
    await call(hf_env, operation="upload", repo_id="alice/demo", local_path="out")
    assert repo.files["config.json"] == b"{}" and repo.files["sub/w.txt"] == b"w"
    assert ".env" not in repo.files  # secrets in the workspace are not shipped
    # every write carried the user's token to the Hub
    assert hf_env.hub.auth_headers() and all(h == f"Bearer {hf_env.hub.token}" for h in hf_env.hub.auth_headers())


async def test_upload_refuses_paths_outside_the_workspace(hf_env, tmp_path):
    hf_env.hub.add_repo("alice/demo", {})
    (tmp_path / "outside.txt").write_text("nope")
    with pytest.raises(ToolError, match="outside the workspace"):
        await call(hf_env, operation="upload", repo_id="alice/demo", local_path="../outside.txt")
    assert not hf_env.hub.requests


async def test_folder_upload_skips_links_that_lead_out_and_nested_secrets(hf_env, tmp_path):
    repo = hf_env.hub.add_repo("alice/demo", {})
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "token").write_text("hf_SECRET_TOKEN_VALUE")
    out_dir = hf_env.workspace / "out"
    (out_dir / "sub").mkdir(parents=True)
    (out_dir / "model.bin").write_text("weights")
    (out_dir / "notes.txt").symlink_to(secrets_dir / "token")
    (out_dir / "cache").symlink_to(secrets_dir)
    (out_dir / "sub" / ".env.local").write_text("KEY=1")
    (out_dir / "inside.txt").symlink_to(out_dir / "model.bin")  # a link within the workspace is fine
    await call(hf_env, operation="upload", repo_id="alice/demo", local_path="out")
    assert repo.files["model.bin"] == b"weights" and repo.files["inside.txt"] == b"weights"
    assert not any("SECRET" in content.decode(errors="replace") for content in repo.files.values())
    assert "notes.txt" not in repo.files and "sub/.env.local" not in repo.files


async def test_upload_and_delete_can_open_pull_requests(hf_env):
    repo = hf_env.hub.add_repo("alice/demo", {"old.txt": "old"})
    (hf_env.workspace / "new.txt").write_text("new")
    out = await call(hf_env, operation="upload", repo_id="alice/demo", local_path="new.txt", create_pr=True)
    assert "pull request" in out and "refs/pr/1" in out
    assert "new.txt" not in repo.files and repo.pr_files[1]["new.txt"] == b"new"

    await call(hf_env, operation="delete", repo_id="alice/demo", paths=["old.txt"])
    assert "old.txt" not in repo.files


async def test_writes_without_a_token_ask_for_one_before_any_request(hf_env, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    (hf_env.workspace / "a.txt").write_text("a")
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="upload", repo_id="alice/demo", local_path="a.txt")
    assert str(err.value) == "Uploading to the Hub needs a Hugging Face token: set HF_TOKEN or run `hf auth login`."
    assert not hf_env.hub.requests


async def test_stored_login_token_is_used_when_env_is_unset(hf_env, monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.delenv("HF_TOKEN")
    stored = tmp_path / "token"
    stored.write_text(hf_env.hub.token)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(stored))
    hf_env.hub.add_repo("alice/secret", {"a.txt": "a"}, private=True)
    assert "1 files" in await call(hf_env, operation="list", repo_id="alice/secret")


async def test_forbidden_write_is_explained(hf_env):
    hf_env.hub.add_repo("bob/theirs", {})
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="delete", repo_id="bob/theirs", paths=["x"])
    assert "403" in str(err.value) and "write access" in str(err.value)


def test_risk_per_operation():
    assert TOOL.assessment({"operation": "list"}).risk == Risk.READ_ONLY
    assert TOOL.assessment({"operation": "read"}).risk == Risk.READ_ONLY
    upload = TOOL.assessment({"operation": "upload", "repo_id": "a/b", "local_path": "x"})
    assert upload.risk == Risk.EXEC and upload.details["repo_id"] == "a/b"
    assert TOOL.assessment({"operation": "delete", "paths": ["x"]}).risk == Risk.DESTRUCTIVE


async def test_model_card_metadata_is_checked_before_upload(hf_env):
    repo = hf_env.hub.add_repo("alice/demo", {})
    card = hf_env.workspace / "README.md"
    card.write_text("---\nlicense: bogus\n---\n# Model\n")
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="upload", repo_id="alice/demo", local_path="README.md")
    assert "Invalid metadata in README.md" in str(err.value) and '"license" must be one of' in str(err.value)
    assert "README.md" not in repo.files
    card.write_text("---\nlicense: mit\n---\n# Model\n")
    await call(hf_env, operation="upload", repo_id="alice/demo", local_path="README.md")
    assert repo.files["README.md"].startswith(b"---\nlicense: mit")
