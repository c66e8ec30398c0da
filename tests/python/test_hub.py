"""ember.hub against a Hugging Face cache built here in huggingface_hub's on-disk layout, offline.

The cache holds, for the model repo ``ember-test/tiny``:
  refs/main, refs/v1.0 -> COMMIT_MAIN      refs/dev -> COMMIT_DEV      COMMIT_OLD: a snapshot, no ref
  snapshots/<commit>/<path> -> ../../blobs/<hash> (one ../ more per directory level)
so huggingface_hub's own resolution code runs on it. In-process calls pass ``cache_dir`` and
``local_files_only=True``; the environment variables (read by huggingface_hub at import time) are
checked in subprocesses.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember

pytest.importorskip("huggingface_hub")
from huggingface_hub.errors import HFValidationError, IncompleteSnapshotError, LocalEntryNotFoundError  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

import ember.hub  # noqa: E402

REPO = "ember-test/tiny"
COMMIT_MAIN = "a" * 39 + "1"
COMMIT_DEV = "b" * 39 + "2"
COMMIT_OLD = "c" * 39 + "3"
WEIGHTS = {"embed_tokens.weight": np.arange(12, dtype=np.float32).reshape(3, 4), "ids": np.arange(5, dtype=np.int64)}


def _safetensors_bytes(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file(WEIGHTS, str(path))
    return path.read_bytes()


def _add_file(storage, commit, relpath, content, lfs=False):
    """Stores ``content`` as a blob (sha256 name for LFS files, git's sha1 otherwise) and links
    snapshots/<commit>/<relpath> to it with a relative symlink, as huggingface_hub does."""
    if lfs:
        blob = hashlib.sha256(content).hexdigest()
    else:
        blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    blob_path = storage / "blobs" / blob
    blob_path.parent.mkdir(parents=True, exist_ok=True)
    blob_path.write_bytes(content)
    link = storage / "snapshots" / commit / relpath
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(blob_path, link.parent), link)
    return blob, len(content)


def _add_ref(storage, name, commit):
    ref = storage / "refs" / name
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


def build_cache(cache, tmp_path):
    """The test repo in ``cache`` (a pathlib.Path); returns its storage folder."""
    storage = cache / "models--ember-test--tiny"
    st = _safetensors_bytes(tmp_path)
    for commit, config in ((COMMIT_MAIN, b'{"version": 1}'), (COMMIT_OLD, b'{"version": 0}')):
        _add_file(storage, commit, "config.json", config)
        _add_file(storage, commit, "model.safetensors", st, lfs=True)
        _add_file(storage, commit, "tokenizer/vocab.txt", b"hello\nworld\n")
        _add_file(storage, commit, "sub/dir/deep.txt", b"deep")
    _add_file(storage, COMMIT_DEV, "config.json", b'{"version": 2}')
    _add_file(storage, COMMIT_DEV, "model.safetensors", st, lfs=True)
    _add_ref(storage, "main", COMMIT_MAIN)
    _add_ref(storage, "v1.0", COMMIT_MAIN)
    _add_ref(storage, "dev", COMMIT_DEV)
    dataset = cache / "datasets--ember-test--data"
    _add_file(dataset, COMMIT_MAIN, "data/train.txt", b"rows")
    _add_ref(dataset, "main", COMMIT_MAIN)
    return storage


@pytest.fixture
def cache(tmp_path):
    root = tmp_path / "hub"
    build_cache(root, tmp_path)
    return root


def offline(cache):
    return {"cache_dir": str(cache), "local_files_only": True}


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# snapshot() and file()


@pytest.mark.parametrize("revision,commit", [(None, COMMIT_MAIN), ("main", COMMIT_MAIN), ("v1.0", COMMIT_MAIN),
                                             ("dev", COMMIT_DEV), (COMMIT_OLD, COMMIT_OLD), (COMMIT_DEV, COMMIT_DEV)])
def test_snapshot_by_branch_tag_and_commit(cache, revision, commit):
    path = ember.hub.snapshot(REPO, revision=revision, **offline(cache))
    assert path == str(cache / "models--ember-test--tiny" / "snapshots" / commit)
    version = {COMMIT_MAIN: 1, COMMIT_DEV: 2, COMMIT_OLD: 0}[commit]
    assert json.loads(read(os.path.join(path, "config.json"))) == {"version": version}


@pytest.mark.parametrize("revision,version", [(None, 1), ("dev", 2), (COMMIT_OLD, 0)])
def test_file_by_revision(cache, revision, version):
    path = ember.hub.file(REPO, "config.json", revision=revision, **offline(cache))
    assert json.loads(read(path)) == {"version": version}


@pytest.mark.parametrize("relpath,content", [("tokenizer/vocab.txt", b"hello\nworld\n"), ("sub/dir/deep.txt", b"deep")])
def test_file_nested_path(cache, relpath, content):
    path = ember.hub.file(REPO, relpath, **offline(cache))
    snapshot = cache / "models--ember-test--tiny" / "snapshots" / COMMIT_MAIN
    assert path == str(snapshot / relpath)
    assert read(path) == content
    assert os.path.dirname(os.path.realpath(path)) == os.path.realpath(cache / "models--ember-test--tiny" / "blobs")


def test_file_loads_with_ember_io(cache):
    loaded = ember.io.load(ember.hub.file(REPO, "model.safetensors", **offline(cache)))
    assert sorted(loaded) == sorted(WEIGHTS)
    for name, expected in WEIGHTS.items():
        np.testing.assert_array_equal(loaded[name].numpy(), expected)


def test_dataset_repo_type(cache):
    path = ember.hub.file("ember-test/data", "data/train.txt", repo_type="dataset", **offline(cache))
    assert read(path) == b"rows"
    assert ember.hub.snapshot("ember-test/data", repo_type="dataset", **offline(cache)).startswith(
        str(cache / "datasets--ember-test--data" / "snapshots"))


# ---------------------------------------------------------------------------------------------
# allow_patterns / ignore_patterns: offline, huggingface_hub checks the requested files against the
# commit's cached tree listing (trees/<commit>.json)


def _write_tree_listing(storage, commit, files):
    pytest.importorskip("huggingface_hub._tree_cache", reason="this huggingface_hub has no tree-listing cache, "
                        "so offline snapshots are not checked against patterns")
    listing = {"format_version": 1, "files": {path: {"size": 1, "blob_id": "0" * 40} for path in files}}
    (storage / "trees").mkdir(exist_ok=True)
    (storage / "trees" / f"{commit}.json").write_text(json.dumps(listing))


def test_allow_patterns_choose_the_files_a_snapshot_needs(cache):
    # The repo also has pytorch_model.bin, which was never downloaded.
    storage = cache / "models--ember-test--tiny"
    _write_tree_listing(storage, COMMIT_DEV, ["config.json", "model.safetensors", "pytorch_model.bin"])
    with pytest.raises(IncompleteSnapshotError) as info:
        ember.hub.snapshot(REPO, revision="dev", **offline(cache))
    message = str(info.value)
    for part in (REPO, "'dev'", COMMIT_DEV, str(cache), "pytorch_model.bin", "local_files_only=True"):
        assert part in message, (part, message)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value.__cause__, IncompleteSnapshotError)
    assert info.value.snapshot_path == str(storage / "snapshots" / COMMIT_DEV)

    expected = str(storage / "snapshots" / COMMIT_DEV)
    assert ember.hub.snapshot(REPO, revision="dev", allow_patterns=["*.json", "*.safetensors"],
                              **offline(cache)) == expected
    assert ember.hub.snapshot(REPO, revision="dev", allow_patterns="*.safetensors", **offline(cache)) == expected
    assert ember.hub.snapshot(REPO, revision="dev", ignore_patterns=["*.bin"], **offline(cache)) == expected
    assert ember.hub.resolve(REPO, revision="dev", allow_patterns=["*.json"], **offline(cache)) == expected
    with pytest.raises(IncompleteSnapshotError):
        ember.hub.snapshot(REPO, revision="dev", allow_patterns=["*.bin"], **offline(cache))


# ---------------------------------------------------------------------------------------------
# errors


def _assert_cache_miss(info, *parts):
    err = info.value
    assert isinstance(err, LocalEntryNotFoundError) and isinstance(err, FileNotFoundError)
    assert isinstance(err.__cause__, LocalEntryNotFoundError), "the original error is chained"
    message = str(err)
    for part in parts:
        assert part in message, (part, message)


def test_missing_file(cache):
    with pytest.raises(FileNotFoundError) as info:
        ember.hub.file(REPO, "nope.json", **offline(cache))
    snapshot = cache / "models--ember-test--tiny" / "snapshots" / COMMIT_MAIN
    _assert_cache_miss(info, REPO, "'main'", "'nope.json'", str(cache), COMMIT_MAIN, str(snapshot),
                       "has no 'nope.json'", "local_files_only=True")


def test_missing_nested_file_at_a_branch(cache):
    with pytest.raises(LocalEntryNotFoundError) as info:
        ember.hub.file(REPO, "tokenizer/vocab.txt", revision="dev", **offline(cache))
    _assert_cache_miss(info, REPO, "'dev'", "'tokenizer/vocab.txt'", COMMIT_DEV, str(cache))


@pytest.mark.parametrize("call", ["snapshot", "file"])
def test_missing_repo(cache, call):
    with pytest.raises(FileNotFoundError) as info:
        if call == "snapshot":
            ember.hub.snapshot("ember-test/absent", **offline(cache))
        else:
            ember.hub.file("ember-test/absent", "config.json", **offline(cache))
    _assert_cache_miss(info, "'ember-test/absent'", "'main'", str(cache),
                       "there is no " + str(cache / "models--ember-test--absent"))


def test_missing_revision_lists_cached_refs(cache):
    with pytest.raises(FileNotFoundError) as info:
        ember.hub.snapshot(REPO, revision="nobranch", **offline(cache))
    _assert_cache_miss(info, REPO, "'nobranch'", "cached refs: dev, main, v1.0")


def test_missing_commit(cache):
    commit = "d" * 40
    with pytest.raises(FileNotFoundError) as info:
        ember.hub.file(REPO, "config.json", revision=commit, **offline(cache))
    _assert_cache_miss(info, REPO, commit, "whose snapshot is not cached")


def test_other_hub_errors_keep_their_type(cache):
    with pytest.raises(HFValidationError):
        ember.hub.snapshot("not a valid/repo/id!", **offline(cache))


# ---------------------------------------------------------------------------------------------
# resolve()


def test_resolve_local_paths_as_is(tmp_path, cache):
    assert ember.hub.resolve(str(tmp_path)) == str(tmp_path)
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    assert ember.hub.resolve(str(f)) == str(f)
    assert ember.hub.resolve(tmp_path) == str(tmp_path)  # os.PathLike


def test_resolve_relative_local_dir(tmp_path, monkeypatch):
    (tmp_path / "ember-test" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    # A local directory wins over a repo id of the same spelling, and nothing is looked up.
    assert ember.hub.resolve("ember-test/tiny") == "ember-test/tiny"


@pytest.mark.parametrize("name", ["./no/such/dir", "/no/such/dir", "~/no-such-dir-for-ember", "a/b/c"])
def test_resolve_path_like_names_that_do_not_exist(name):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ember.hub.resolve(name)


def test_resolve_repo_id(cache):
    expected = str(cache / "models--ember-test--tiny" / "snapshots" / COMMIT_MAIN)
    assert ember.hub.resolve(REPO, **offline(cache)) == expected
    assert ember.hub.resolve(REPO, revision="dev", **offline(cache)).endswith(COMMIT_DEV)
    with pytest.raises(FileNotFoundError, match="ember-test/absent"):
        ember.hub.resolve("ember-test/absent", **offline(cache))


# ---------------------------------------------------------------------------------------------
# the environment, in subprocesses (huggingface_hub reads it at import time)


def _run(code, *args, **env_vars):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
    env.update(env_vars)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_import_ember_does_not_import_huggingface_hub():
    _run("""
        import sys
        import ember, ember.nn
        assert "huggingface_hub" not in sys.modules
        import ember.hub
        assert "huggingface_hub" not in sys.modules
        ember.hub  # the lazy attribute
        assert "huggingface_hub" not in sys.modules
    """)


def test_missing_huggingface_hub_says_how_to_install():
    _run("""
        import sys
        sys.modules["huggingface_hub"] = None  # makes `import huggingface_hub` fail
        import ember
        for call in (lambda: ember.hub.snapshot("a/b"), lambda: ember.hub.file("a/b", "c"),
                     lambda: ember.hub.resolve("a/b")):
            try:
                call()
            except ImportError as e:
                assert "pip install huggingface_hub" in str(e), str(e)
            else:
                raise AssertionError("no ImportError")
    """)


_ENV_CHECK = f"""
    import ember, os, sys
    snap = ember.hub.snapshot({REPO!r})
    assert snap == os.path.join(sys.argv[1], "models--ember-test--tiny", "snapshots", {COMMIT_MAIN!r}), snap
    assert ember.hub.file({REPO!r}, "config.json", revision="dev").endswith("{COMMIT_DEV}/config.json")
    assert ember.hub.resolve({REPO!r}) == snap
    try:
        ember.hub.file({REPO!r}, "nope.json")
    except FileNotFoundError as e:
        message = str(e)
    else:
        raise AssertionError("no error")
    for part in ("HF_HUB_OFFLINE is set", sys.argv[1], "nope.json", {REPO!r}):
        assert part in message, (part, message)
"""


def test_hf_hub_cache_and_offline_env(tmp_path):
    cache = tmp_path / "elsewhere" / "hub-cache"
    build_cache(cache, tmp_path)
    _run(_ENV_CHECK, str(cache), HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1")


def test_hf_home_and_offline_env(tmp_path):
    home = tmp_path / "hf-home"
    build_cache(home / "hub", tmp_path)
    _run(_ENV_CHECK, str(home / "hub"), HF_HOME=str(home), HF_HUB_OFFLINE="1")


def test_offline_env_without_cache_is_a_clear_error(tmp_path):
    _run(f"""
        import ember
        try:
            ember.hub.snapshot("ember-test/absent")
        except FileNotFoundError as e:
            message = str(e)
        else:
            raise AssertionError("no error")
        for part in ("ember-test/absent", {str(tmp_path / 'empty')!r}, "HF_HUB_OFFLINE is set", "there is no"):
            assert part in message, (part, message)
    """, HF_HUB_CACHE=str(tmp_path / "empty"), HF_HUB_OFFLINE="1")
