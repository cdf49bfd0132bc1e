"""Revisions and manifests, cached: what the controller asks Git, at most once per poll interval.

``resolve(repo, "main")`` runs ``git ls-remote`` once per (repo, revision) and poll interval,
coalescing concurrent askers; failures are remembered for the interval too, so a hundred apps
naming an unreachable repository cost one ``ls-remote`` per poll, not one per refresh.
``render(source, sha)`` renders once per (repo, commit, path, source parameters) — and, for
Helm, release name and namespace, which templates see — keeping the newest entries (LRU).
Rendering errors that the revision itself causes (bad path, invalid YAML) are cached with it:
the same commit fails the same way. ``poll()`` re-resolves every revision asked for so far and
returns those whose commit changed; ``expire()`` forgets them early (webhook, hard refresh).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, TypeVar

from tiphys import sources
from tiphys.sources import Reason, SourceError, SourceType, git

__all__ = ["Repos", "revision_key"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_RENDERS: Final = 2000  # rendered revisions kept
_GIT_PROCESSES: Final = 8  # ls-remote/fetch/render subprocesses at once
_LS_REMOTE_TIMEOUT: Final = 30.0
_FULL_SHA: Final = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

RevisionKey = tuple[str, str]
"""(repoURL, targetRevision as written, HEAD when empty)."""


def revision_key(repo_url: str, revision: str) -> RevisionKey:
    return (repo_url.strip(), revision.strip() or "HEAD")


@dataclass(frozen=True)
class _Resolved:
    sha: str
    error: SourceError | None
    at: float  # loop time of the lookup


class Repos:
    def __init__(
        self,
        *,
        poll: float = 180.0,
        cache_dir: Path | None = None,
        render_timeout: float = 300.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.poll_interval = poll
        self.cache_dir = cache_dir
        self.render_timeout = render_timeout
        self._clock = clock
        self._resolved: dict[RevisionKey, _Resolved] = {}
        self._renders: OrderedDict[tuple[Any, ...], sources.Rendered | SourceError] = OrderedDict()
        self._pending: dict[Any, asyncio.Future[Any]] = {}
        self._slots = asyncio.Semaphore(_GIT_PROCESSES)
        self.ls_remotes = 0
        self.renders = 0

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def _once(self, key: Any, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make`` once for concurrent callers with the same ``key``; all get its result."""
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)  # type: ignore[no-any-return]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await make()
        except BaseException as e:
            if not future.done():
                future.set_exception(e)
                future.exception()  # mark retrieved: a lone caller re-raises it below
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._pending.pop(key, None)

    # -- revisions ---------------------------------------------------------------------------------

    async def resolve(self, repo_url: str, revision: str) -> str:
        key = revision_key(repo_url, revision)
        found = self._resolved.get(key)
        if found is None or self._now() - found.at >= self.poll_interval:
            found = await self._once(("resolve", key), lambda: self._lookup(key))
        if found.error is not None:
            raise found.error
        return found.sha

    async def _lookup(self, key: RevisionKey) -> _Resolved:
        url, revision = key
        try:
            async with self._slots:
                self.ls_remotes += 1
                sha = await git.resolve_revision(url, revision, timeout=_LS_REMOTE_TIMEOUT)
            if sha is None:
                raise SourceError(Reason.REVISION_NOT_FOUND, f"Unable to resolve '{revision}' to a commit SHA")
            found = _Resolved(sha, None, self._now())
        except SourceError as e:
            found = _Resolved("", e, self._now())
        self._resolved[key] = found
        return found

    def known(self) -> list[RevisionKey]:
        return list(self._resolved)

    def cached_sha(self, repo_url: str, revision: str) -> str | None:
        found = self._resolved.get(revision_key(repo_url, revision))
        return found.sha if found is not None and found.error is None else None

    def expire(self, keys: list[RevisionKey] | None = None) -> None:
        """Resolve these revisions (all when None) again on their next use."""
        for key in list(self._resolved) if keys is None else keys:
            found = self._resolved.get(key)
            if found is not None:
                self._resolved[key] = replace(found, at=float("-inf"))

    def jittered_interval(self) -> float:
        """The poll interval with up to 10% jitter, so many controllers don't poll in step."""
        return self.poll_interval * random.uniform(0.9, 1.0)

    async def poll(
        self,
        forget: Callable[[RevisionKey], bool] | None = None,
        on_change: Callable[[RevisionKey], None] | None = None,
    ) -> list[RevisionKey]:
        """Re-resolve every known revision (dropping those ``forget`` says nobody uses); the changed ones.

        ``on_change`` hears of each change as soon as its ``ls-remote`` answers, so a repository
        that takes its full timeout to answer holds up no other. A revision whose lookup is still
        running from an earlier poll is left to that poll.
        """
        changed: list[RevisionKey] = []
        keys = [k for k in self._resolved if forget is None or not forget(k)]
        for key in set(self._resolved) - set(keys):
            self._resolved.pop(key, None)

        async def one(key: RevisionKey) -> None:
            if ("resolve", key) in self._pending:
                return
            before = self._resolved.get(key)
            after = await self._once(("resolve", key), lambda: self._lookup(key))
            if before is None or (before.sha, bool(before.error)) != (after.sha, bool(after.error)):
                changed.append(key)
                if on_change is not None:
                    on_change(key)

        await asyncio.gather(*(one(k) for k in keys))
        return changed

    # -- manifests ---------------------------------------------------------------------------------

    async def render(
        self, source: Mapping[str, Any], revision: str, *, app_name: str, namespace: str
    ) -> sources.Rendered:
        url = str(source.get("repoURL", ""))
        if not git.is_git_url(url) and not revision:
            result = await self._render(source, revision, app_name, namespace)  # a plain directory: never cached
            if isinstance(result, SourceError):
                raise result
            return result
        if not _FULL_SHA.match(revision):
            revision = await self.resolve(url, revision)  # a branch or tag: cache by the commit it names now
        params = json.dumps({k: v for k, v in source.items() if k != "targetRevision"}, sort_keys=True, default=str)
        plain_key = ("render", url, revision, params)
        helm_key = (*plain_key, app_name, namespace)
        for key in (plain_key, helm_key):
            cached = self._renders.get(key)
            if cached is None:
                continue
            if isinstance(cached, sources.Rendered) and key == plain_key and cached.source_type is SourceType.HELM:
                continue  # Helm output depends on the release name and namespace
            self._renders.move_to_end(key)
            if isinstance(cached, SourceError):
                raise cached
            return cached
        # Concurrent askers share one render; Helm output also depends on the release name and namespace.
        result, made_for = await self._once(plain_key, lambda: self._render_for(source, revision, app_name, namespace))
        is_helm = isinstance(result, sources.Rendered) and result.source_type is SourceType.HELM
        if is_helm and made_for != (app_name, namespace):
            result, made_for = await self._once(
                helm_key, lambda: self._render_for(source, revision, app_name, namespace)
            )
        self._remember((*plain_key, *made_for) if is_helm else plain_key, result)
        if isinstance(result, SourceError):
            raise result
        return result

    async def _render_for(
        self, source: Mapping[str, Any], revision: str, app_name: str, namespace: str
    ) -> tuple[sources.Rendered | SourceError, tuple[str, str]]:
        return await self._render(source, revision, app_name, namespace), (app_name, namespace)

    async def _render(
        self, source: Mapping[str, Any], revision: str, app_name: str, namespace: str
    ) -> sources.Rendered | SourceError:
        try:
            spec = replace(sources.SourceSpec.from_dict(source), targetRevision=revision)
            async with self._slots:
                self.renders += 1
                return await sources.render(
                    spec, app_name=app_name, namespace=namespace, cache_dir=self.cache_dir, timeout=self.render_timeout
                )
        except SourceError as e:
            if not e.reason.bad_input:
                raise  # the environment failed (network, a tool): try again next time
            return e

    def _remember(self, key: tuple[Any, ...], result: sources.Rendered | SourceError) -> None:
        self._renders[key] = result
        self._renders.move_to_end(key)
        while len(self._renders) > _RENDERS:
            self._renders.popitem(last=False)

    def forget_renders(self, repo_url: str) -> None:
        """Drop the rendered manifests of one repository (a hard refresh)."""
        for key in [k for k in self._renders if k[1] == repo_url]:
            del self._renders[key]
