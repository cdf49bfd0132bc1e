"""Fetch one revision of a Git repository with the ``git`` CLI, as Argo CD's repo-server does.

Layout under the cache directory (default ``$TIPHYS_HOME/cache/git``), one folder per URL, named
by a hash of the URL without its credentials::

    <hash>/lock                 flock'd while the URL is fetched or checked out (across processes)
    <hash>/repo.git             a bare repository: every branch and tag fetched so far
    <hash>/checkouts/<sha>/     the files of one commit, read-only, reused by every later render

A branch, tag or ``HEAD`` is resolved with ``git ls-remote`` (one round trip, no download); a
full commit SHA needs no network when the cache already has it. git runs with an argv list,
``--`` before every user-given URL, no system or global config, no prompts, and only the http,
https, ssh, git and file transports; URLs and revisions starting with ``-`` are refused.
Credentials in URLs are not written to disk and never appear in messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tiphys.home import home
from tiphys.sources import _process
from tiphys.sources.errors import Reason, SourceError, mask_credentials

__all__ = [
    "Checkout",
    "checkout",
    "default_cache_dir",
    "is_git_url",
    "remove_tree",
    "resolve_revision",
    "validate_revision",
]

_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,63}$")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")  # git@github.com:org/repo.git
_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_ALLOWED_PROTOCOLS = "file:git:http:https:ssh"
_PASS_THROUGH = ("GIT_SSH_COMMAND", "GIT_SSH", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY")


@dataclass(frozen=True)
class Checkout:
    url: str  # with credentials masked
    revision: str  # the full commit SHA
    root: Path  # the read-only files of that commit


def default_cache_dir() -> Path:
    return home().root / "cache" / "git"


def is_git_url(source: str) -> bool:
    """Whether ``source`` names a remote repository rather than a local directory."""
    return source.startswith(_SCHEMES) or bool(_SCP_LIKE.match(source))


def _validate_url(url: str) -> None:
    if not url:
        raise SourceError(Reason.INVALID_SOURCE, "repoURL is empty")
    if url.startswith("-"):
        raise SourceError(
            Reason.INVALID_SOURCE,
            f"repoURL {mask_credentials(url)!r} starts with '-': refused, git would read it as an option",
        )
    if any(c in url for c in "\0\n\r"):
        raise SourceError(Reason.INVALID_SOURCE, "repoURL contains a control character")
    if "::" in url.split("/", 1)[0]:  # `ext::sh -c …`, `fd::…`: remote helpers that run commands
        raise SourceError(
            Reason.INVALID_SOURCE,
            f"repoURL {mask_credentials(url)!r}: only http(s), ssh, git and file URLs are supported",
        )


def _normalized(url: str) -> str:
    """A local repository path made absolute, so the cache key does not depend on the cwd."""
    return url if is_git_url(url) else str(Path(url).expanduser().resolve())


def validate_revision(revision: str) -> None:
    """Refuse a revision git could mistake for an option or that cannot be a ref name."""
    if revision.startswith("-"):
        raise SourceError(
            Reason.INVALID_SOURCE, f"revision {revision!r} starts with '-': refused, git would read it as an option"
        )
    if any(c.isspace() or ord(c) < 32 for c in revision) or ".." in revision:
        raise SourceError(Reason.INVALID_SOURCE, f"revision {revision!r} is not a valid branch, tag or commit")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _PASS_THROUGH}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # fail instead of asking for a password
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ALLOW_PROTOCOL=_ALLOWED_PROTOCOLS,
        LC_ALL="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    env.update(extra or {})
    return env


async def _git(*args: str, what: str, timeout: float, extra_env: dict[str, str] | None = None) -> _process.Completed:
    argv = ["git", "-c", "core.symlinks=true", "-c", "core.autocrlf=false", "-c", "core.fsmonitor=false", *args]
    return await _process.run(argv, what=what, reason=Reason.GIT_FAILED, env=_env(extra_env), timeout=timeout)


def _failed(what: str, url: str, result: _process.Completed) -> SourceError:
    detail = result.stderr.replace(url, mask_credentials(url)) or f"exit status {result.returncode}"
    return SourceError(Reason.GIT_FAILED, f"{what} {mask_credentials(url)} failed: {detail}")


async def _ls_remote(url: str, timeout: float) -> list[tuple[str, str]]:
    result = await _git("ls-remote", "--", url, what="git ls-remote", timeout=timeout)
    if not result.ok:
        raise _failed("git ls-remote", url, result)
    refs = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        sha, _, name = line.partition("\t")
        if sha and name:
            refs.append((name, sha))
    return refs


def _match_ref(refs: list[tuple[str, str]], revision: str) -> str | None:
    """The commit of the first ref whose full or short name is ``revision`` (branches before tags)."""
    peeled = {name.removesuffix("^{}"): sha for name, sha in refs if name.endswith("^{}")}
    for name, sha in refs:
        if name.endswith("^{}"):
            continue
        short = name
        for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/", "refs/"):
            if name.startswith(prefix):
                short = name.removeprefix(prefix)
                break
        if revision in (name, short):
            return peeled.get(name, sha)  # an annotated tag points at its commit through `^{}`
    return None


async def resolve_revision(url: str, revision: str = "HEAD", *, timeout: float = 60.0) -> str | None:
    """The commit SHA of a branch, tag or ``HEAD`` from ``ls-remote``; a full SHA as is; else None."""
    _validate_url(url)
    url = _normalized(url)
    revision = revision or "HEAD"
    validate_revision(revision)
    if _FULL_SHA.match(revision.lower()):
        return revision.lower()
    return _match_ref(await _ls_remote(url, timeout), revision)


def _cache_key(url: str) -> str:
    bare = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]+@", r"\1", url).rstrip("/")
    return hashlib.sha256(bare.encode()).hexdigest()[:32]


_locks: dict[tuple[int, str], asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def _url_lock(folder: Path) -> AsyncIterator[None]:
    """One fetch/checkout per URL at a time: an asyncio lock in-process, ``flock`` across processes."""
    key = (id(asyncio.get_running_loop()), str(folder))
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


async def checkout(
    url: str, revision: str = "HEAD", *, cache_dir: Path | None = None, timeout: float = 300.0
) -> Checkout:
    """Fetch ``revision`` of ``url`` into the cache if needed; return its read-only checkout."""
    _validate_url(url)
    url = _normalized(url)
    revision = revision or "HEAD"
    validate_revision(revision)
    folder = (cache_dir or default_cache_dir()) / _cache_key(url)
    async with _url_lock(folder):
        repo = folder / "repo.git"
        if not (repo / "HEAD").exists():
            result = await _git("init", "--bare", "--quiet", str(repo), what="git init", timeout=timeout)
            if not result.ok:
                raise SourceError(Reason.GIT_FAILED, f"git init {repo} failed: {result.stderr}")
            (folder / "url").write_text(mask_credentials(url) + "\n")
        sha = await resolve_revision(url, revision, timeout=timeout)
        if sha is None and not _SHORT_SHA.match(revision):
            raise SourceError(Reason.REVISION_NOT_FOUND, f"Unable to resolve '{revision}' to a commit SHA")
        target = folder / "checkouts" / sha if sha else None
        if target is not None and target.is_dir():
            return Checkout(mask_credentials(url), sha or "", target)
        if sha is None or not await _has_commit(repo, sha, timeout):
            await _fetch(repo, url, timeout)
        if sha is None:  # an abbreviated SHA: only the fetched objects can tell
            sha = await _rev_parse(repo, revision, timeout)
        elif not await _has_commit(repo, sha, timeout):
            await _fetch(repo, url, timeout, sha)  # a commit no branch or tag reaches
            if not await _has_commit(repo, sha, timeout):
                raise SourceError(Reason.REVISION_NOT_FOUND, f"Unable to resolve '{revision}' to a commit SHA")
        target = folder / "checkouts" / sha
        if not target.is_dir():
            await _export(repo, sha, target, timeout)
        return Checkout(mask_credentials(url), sha, target)


async def _has_commit(repo: Path, sha: str, timeout: float) -> bool:
    result = await _git(
        f"--git-dir={repo}", "cat-file", "-e", f"{sha}^{{commit}}", what="git cat-file", timeout=timeout
    )
    return result.ok


async def _rev_parse(repo: Path, revision: str, timeout: float) -> str:
    result = await _git(
        f"--git-dir={repo}", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}",
        what="git rev-parse", timeout=timeout,
    )  # fmt: skip
    if not result.ok:
        raise SourceError(Reason.REVISION_NOT_FOUND, f"Unable to resolve '{revision}' to a commit SHA")
    return result.stdout.decode().strip()


async def _fetch(repo: Path, url: str, timeout: float, sha: str | None = None) -> None:
    refspecs = [sha] if sha else ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    prune = [] if sha else ["--prune"]
    result = await _git(
        f"--git-dir={repo}", "fetch", "--quiet", "--force", *prune, "--", url, *refspecs,
        what="git fetch", timeout=timeout,
    )  # fmt: skip
    if not result.ok and sha is None:
        raise _failed("git fetch", url, result)


async def _export(repo: Path, sha: str, target: Path, timeout: float) -> None:
    """Write the files of ``sha`` to ``target`` (no ``.git``), read-only, atomically by rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    index = scratch.with_name(scratch.name + ".index")
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        for args in (("read-tree", sha), (f"--work-tree={scratch}", "checkout-index", "--all", "--force")):
            result = await _git(f"--git-dir={repo}", *args, what=f"git {args[-1]}", timeout=timeout, extra_env=env)
            if not result.ok:
                raise SourceError(Reason.GIT_FAILED, f"checking out {sha} failed: {result.stderr}")
        _make_read_only(scratch)
        os.rename(scratch, target)
    except BaseException:
        remove_tree(scratch)
        raise
    finally:
        index.unlink(missing_ok=True)


def _make_read_only(top: Path) -> None:
    no_write = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    for directory, dirnames, filenames in os.walk(top, topdown=False):
        for name in (*filenames, *dirnames, ""):
            path = os.path.join(directory, name) if name else directory
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & no_write)


def remove_tree(top: Path) -> None:
    """Delete a checkout (or any tree) even though its folders are read-only."""
    if not top.exists():
        return
    for directory, _dirnames, _filenames in os.walk(top):
        os.chmod(directory, 0o700)
    shutil.rmtree(top)
