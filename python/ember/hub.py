"""Files and snapshots of Hugging Face Hub repositories, through ``huggingface_hub``.

Everything resolves into huggingface_hub's shared cache, so ``HF_HOME``, ``HF_HUB_CACHE``,
``HF_HUB_OFFLINE``, tokens (``HF_TOKEN`` or ``hf auth login``) and progress bars (off with
``HF_HUB_DISABLE_PROGRESS_BARS=1``) behave exactly as they do there. Extra keyword arguments
(``cache_dir``, ``token``, ``local_files_only``, ``force_download``, ...) are passed through.

huggingface_hub is imported only when one of these functions runs; ``import ember`` never imports
it.

Errors are huggingface_hub's own (``RepositoryNotFoundError``, ``RevisionNotFoundError``,
``GatedRepoError``, ``RemoteEntryNotFoundError``, ...), with one change: when the Hub cannot be
reached (offline mode, ``local_files_only=True`` or no connection) and the cache lacks what was
asked for, huggingface_hub's ``LocalEntryNotFoundError`` (or its subclass
``IncompleteSnapshotError``) is raised again as the *same class* with a message naming the repo,
the revision, the file, the cache directory that was searched and what that cache does hold,
chained to the original (``raise ... from``). ``LocalEntryNotFoundError`` is a
``FileNotFoundError``, so ``except FileNotFoundError`` catches it without importing
huggingface_hub.
"""

from __future__ import annotations

import os
import re

__all__ = ["snapshot", "file", "resolve"]

_COMMIT_HASH = re.compile(r"[0-9a-f]{40}")


def _hf():
    """The huggingface_hub module, or an ImportError that says how to install it."""
    try:
        import huggingface_hub
        import huggingface_hub.constants  # noqa: F401  (submodules used below)
        import huggingface_hub.errors  # noqa: F401
        import huggingface_hub.file_download  # noqa: F401
    except ImportError as e:
        raise ImportError("ember.hub needs huggingface_hub: pip install huggingface_hub") from e
    return huggingface_hub


def snapshot(repo_id, revision=None, allow_patterns=None, ignore_patterns=None, repo_type=None, **kwargs):
    """The local directory of ``repo_id`` at ``revision`` (a branch, tag or commit hash; default the
    repo's default branch), downloading what is missing into the cache.

    ``allow_patterns`` / ``ignore_patterns`` (glob strings or lists) choose which files are
    downloaded; offline, the cached snapshot is returned as it is, and huggingface_hub raises
    ``IncompleteSnapshotError`` if it knows a requested file is missing. ``kwargs`` go to
    ``huggingface_hub.snapshot_download``."""
    hf = _hf()
    try:
        return hf.snapshot_download(repo_id, revision=revision, allow_patterns=allow_patterns,
                                    ignore_patterns=ignore_patterns, repo_type=repo_type, **kwargs)
    except hf.errors.LocalEntryNotFoundError as e:
        raise _cache_miss(e, repo_id, revision, None, repo_type, kwargs) from e


def file(repo_id, filename, revision=None, repo_type=None, **kwargs):
    """The local path of ``filename`` (a path inside the repo, '/'-separated) of ``repo_id`` at
    ``revision``, downloading it into the cache if needed. ``kwargs`` go to
    ``huggingface_hub.hf_hub_download``."""
    hf = _hf()
    try:
        return hf.hf_hub_download(repo_id, filename, revision=revision, repo_type=repo_type, **kwargs)
    except hf.errors.LocalEntryNotFoundError as e:
        raise _cache_miss(e, repo_id, revision, filename, repo_type, kwargs) from e


def resolve(name_or_path, revision=None, allow_patterns=None, **kwargs):
    """A local directory or file for ``name_or_path``.

    An existing local path is returned as it is (``revision`` and ``allow_patterns`` are then
    ignored). Anything else must be a Hub repo id (``"name"`` or ``"org/name"``) and is resolved
    with :func:`snapshot`. Something that looks like a path (absolute, starting with ``.`` or
    ``~``, or with more than one ``/``) but does not exist raises ``FileNotFoundError`` instead of
    being sent to the Hub."""
    path = os.fspath(name_or_path)
    if os.path.exists(path):
        return path
    if os.path.exists(os.path.expanduser(path)):
        return os.path.expanduser(path)
    if _looks_like_path(path):
        raise FileNotFoundError(f"ember.hub.resolve: {path!r} does not exist, and it is not a Hub repo id "
                                "('name' or 'org/name')")
    return snapshot(path, revision=revision, allow_patterns=allow_patterns, **kwargs)


def _looks_like_path(name):
    return (os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1
            or (os.sep != "/" and os.sep in name))


def _cache_miss(err, repo_id, revision, filename, repo_type, kwargs):
    """A copy of huggingface_hub's cache-miss error ``err`` (same class) whose message says what
    was looked for, where, and what the cache holds."""
    hf = _hf()
    cache_dir = os.fspath(kwargs.get("cache_dir") or hf.constants.HF_HUB_CACHE)
    repo_type = repo_type or "model"
    revision = revision or hf.constants.DEFAULT_REVISION
    what = f"file {filename!r} of" if filename is not None else "a snapshot of"
    storage = os.path.join(cache_dir, hf.file_download.repo_folder_name(repo_id=repo_id, repo_type=repo_type))
    message = (f"{what} {repo_type} repo {repo_id!r} at revision {revision!r} is not in the cache "
               f"{cache_dir} ({_cache_state(storage, revision, filename)}), and the Hub could not be "
               f"used ({_why_offline(hf, kwargs)}). Run once with network access, or point "
               f"HF_HUB_CACHE / HF_HOME at a cache that holds it.\nhuggingface_hub said: {err}")
    if kwargs.get("local_dir") is not None:
        message += f"\n(local_dir={os.fspath(kwargs['local_dir'])!r} was searched too)"
    if isinstance(err, hf.errors.IncompleteSnapshotError):
        return type(err)(message, snapshot_path=err.snapshot_path)
    return hf.errors.LocalEntryNotFoundError(message)


def _why_offline(hf, kwargs):
    if kwargs.get("local_files_only"):
        return "local_files_only=True"
    if hf.constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    return "it could not be reached; see the chained error"


def _cache_state(storage, revision, filename):
    """What the cache folder of one repo holds, in words, for the error message."""
    if not os.path.isdir(storage):
        return f"there is no {storage}"
    commit = revision if _COMMIT_HASH.fullmatch(revision) else _read_ref(storage, revision)
    if commit is None:
        refs = _cached_refs(storage)
        return f"no ref {revision!r} is cached there; cached refs: {', '.join(refs) or 'none'}"
    snapshot_dir = os.path.join(storage, "snapshots", commit)
    if not os.path.isdir(snapshot_dir):
        return f"revision {revision!r} is commit {commit}, whose snapshot is not cached"
    if filename is None:
        return f"the snapshot of commit {commit} is {snapshot_dir}"
    return f"the snapshot of commit {commit} ({snapshot_dir}) has no {filename!r}"


def _read_ref(storage, revision):
    """The commit hash a cached ref points to, or None (also for anything but a hash)."""
    try:
        with open(os.path.join(storage, "refs", revision)) as f:
            commit = f.read(64).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit if _COMMIT_HASH.fullmatch(commit) else None


def _cached_refs(storage):
    root = os.path.join(storage, "refs")
    refs = []
    for folder, _, files in os.walk(root):
        refs += [os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/") for f in files]
    return sorted(refs)
