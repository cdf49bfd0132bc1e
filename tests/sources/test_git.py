"""Git revisions with the real git CLI: branches, tags, SHAs, the cache, and refused input."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tiphys.sources import Reason, SourceError, SourceSpec, render
from tiphys.sources import git as sgit

from .conftest import GIT_ENV, GitDaemon, Repo, configmap


@pytest.fixture
def history(repo: Repo) -> dict[str, str]:
    """main: c1 (tags v1 annotated, light) → c2; feature: c1 → c3."""
    c1 = repo.commit({"app/cm.yaml": configmap("cm", version="1")}, "one")
    repo.git("tag", "-a", "v1", "-m", "release 1")
    repo.git("tag", "light")
    c2 = repo.commit({"app/cm.yaml": configmap("cm", version="2")}, "two")
    repo.git("checkout", "-q", "-b", "feature", c1)
    c3 = repo.commit({"app/cm.yaml": configmap("cm", version="3")}, "three")
    repo.git("checkout", "-q", "main")
    return {"c1": c1, "c2": c2, "c3": c3}


def version(rendered: object) -> str:
    return rendered.objects[0]["data"]["version"]  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(
    "revision, commit, expected",
    [
        pytest.param("", "c2", "2", id="empty-is-HEAD"),
        pytest.param("HEAD", "c2", "2", id="HEAD"),
        pytest.param("main", "c2", "2", id="branch"),
        pytest.param("feature", "c3", "3", id="other-branch"),
        pytest.param("refs/heads/feature", "c3", "3", id="full-ref"),
        pytest.param("v1", "c1", "1", id="annotated-tag"),
        pytest.param("light", "c1", "1", id="lightweight-tag"),
        pytest.param("c1", "c1", "1", id="full-sha"),
        pytest.param("c3:8", "c3", "3", id="short-sha"),
    ],
)
async def test_revision_resolves_to_a_commit(
    repo: Repo, history: dict[str, str], cache_dir: Path, revision: str, commit: str, expected: str
) -> None:
    if revision.startswith("c"):
        key, _, length = revision.partition(":")
        revision = history[key][: int(length)] if length else history[key]
    url = "file://" + str(repo.path)
    rendered = await render(SourceSpec(repoURL=url, path="app", targetRevision=revision), cache_dir=cache_dir)
    assert rendered.revision == history[commit]
    assert version(rendered) == expected


async def test_checkout_is_read_only_and_reused(repo: Repo, history: dict[str, str], cache_dir: Path) -> None:
    first = await sgit.checkout(repo.url, "main", cache_dir=cache_dir)
    assert first.revision == history["c2"]
    assert first.root.name == history["c2"]
    assert not (first.root / ".git").exists()
    for path in (first.root, first.root / "app", first.root / "app" / "cm.yaml"):
        assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    marker = os.stat(first.root / "app" / "cm.yaml").st_ino
    again = await sgit.checkout(repo.url, history["c2"], cache_dir=cache_dir)
    assert again.root == first.root and os.stat(again.root / "app" / "cm.yaml").st_ino == marker
    sgit.remove_tree(first.root)
    assert not first.root.exists()


async def test_moving_branch_is_fetched_again(repo: Repo, history: dict[str, str], cache_dir: Path) -> None:
    spec = SourceSpec(repoURL=repo.url, path="app", targetRevision="main")
    assert version(await render(spec, cache_dir=cache_dir)) == "2"
    c4 = repo.commit({"app/cm.yaml": configmap("cm", version="4")})
    rendered = await render(spec, cache_dir=cache_dir)
    assert (rendered.revision, version(rendered)) == (c4, "4")


async def test_concurrent_renders_share_one_cache(repo: Repo, history: dict[str, str], cache_dir: Path) -> None:
    revisions = ["main", "feature", "v1", history["c3"], "HEAD", "light"] * 2
    results = await asyncio.gather(
        *(render(SourceSpec(repoURL=repo.url, path="app", targetRevision=r), cache_dir=cache_dir) for r in revisions)
    )
    assert [version(r) for r in results] == ["2", "3", "1", "3", "2", "1"] * 2
    [folder] = cache_dir.iterdir()
    assert sorted(p.name for p in (folder / "checkouts").iterdir()) == sorted(history.values())


async def test_unknown_revision(repo: Repo, history: dict[str, str], cache_dir: Path) -> None:
    for revision in ("nope", "abcdef12"):
        with pytest.raises(SourceError) as e:
            await render(SourceSpec(repoURL=repo.url, targetRevision=revision), cache_dir=cache_dir)
        assert (e.value.reason, e.value.message) == (
            Reason.REVISION_NOT_FOUND,
            f"Unable to resolve '{revision}' to a commit SHA",
        )


@pytest.mark.parametrize(
    "url, revision, message",
    [
        pytest.param(
            "--upload-pack=touch /tmp/tiphys-pwned",
            "main",
            "repoURL '--upload-pack=touch /tmp/tiphys-pwned' starts with '-': refused, git would read it as an option",
            id="url-option",
        ),
        pytest.param(
            "REPO",
            "--output=/tmp/tiphys-pwned",
            "revision '--output=/tmp/tiphys-pwned' starts with '-': refused, git would read it as an option",
            id="revision-option",
        ),
        pytest.param(
            "ext::sh -c touch% /tmp/tiphys-pwned",
            "main",
            "repoURL 'ext::sh -c touch% /tmp/tiphys-pwned': only http(s), ssh, git and file URLs are supported",
            id="ext-transport",
        ),
        pytest.param(
            "REPO", "main..feature", "revision 'main..feature' is not a valid branch, tag or commit", id="range"
        ),
    ],
)
async def test_refused_before_git_runs(repo: Repo, cache_dir: Path, url: str, revision: str, message: str) -> None:
    url = url.replace("REPO", repo.url)
    with pytest.raises(SourceError) as e:
        await render(SourceSpec(repoURL=url, targetRevision=revision), cache_dir=cache_dir)
    assert (e.value.reason, e.value.message) == (Reason.INVALID_SOURCE, message)
    assert not cache_dir.exists()
    assert not Path("/tmp/tiphys-pwned").exists()


async def test_credentials_never_appear_in_errors(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    url = "http://deploy:s3cr3t-token@127.0.0.1:9/org/repo.git"  # port 9 (discard): nothing listens
    with pytest.raises(SourceError) as e:
        await render(SourceSpec(repoURL=url, targetRevision="main"), cache_dir=cache_dir, timeout=30)
    assert e.value.reason is Reason.GIT_FAILED and not e.value.reason.bad_input
    assert "s3cr3t" not in e.value.message and "deploy" not in e.value.message
    assert e.value.message.startswith("git ls-remote http://***@127.0.0.1:9/org/repo.git failed: ")
    assert "s3cr3t" not in "".join(p.read_text() for p in cache_dir.rglob("url"))


async def test_symlink_out_of_the_checkout_is_refused(repo: Repo, cache_dir: Path) -> None:
    repo.write({"app/cm.yaml": configmap("cm")})
    (repo.path / "other").mkdir()
    os.symlink("../../../../etc/passwd", repo.path / "other" / "passwd.yaml")
    repo.commit()
    with pytest.raises(SourceError) as e:
        await render(SourceSpec(repoURL=repo.url, path="app", targetRevision="main"), cache_dir=cache_dir)
    assert e.value.reason is Reason.PATH_OUTSIDE_ROOT
    assert e.value.message == "other/passwd.yaml: symlink leads outside the repository (to ../../../../etc/passwd)"


async def test_local_git_repository_with_a_revision_uses_git(
    repo: Repo, history: dict[str, str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write({"app/cm.yaml": configmap("cm", version="uncommitted")})
    at_tag = await render(SourceSpec(repoURL=repo.url, path="app", targetRevision="v1"), cache_dir=cache_dir)
    as_is = await render(SourceSpec(repoURL=repo.url, path="app"), cache_dir=cache_dir)
    assert (at_tag.revision, version(at_tag)) == (history["c1"], "1")
    assert version(as_is) == "uncommitted"
    monkeypatch.chdir(repo.path.parent)
    relative = await sgit.checkout(repo.path.name, "v1", cache_dir=cache_dir)
    assert relative.root.parent.parent.name == next(cache_dir.iterdir()).name  # one cache folder for both spellings


async def test_over_a_git_daemon(repo: Repo, history: dict[str, str], git_daemon: GitDaemon, cache_dir: Path) -> None:
    served = git_daemon.base / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(served)], env=GIT_ENV, check=True)
    url = git_daemon.url("app.git")
    assert await sgit.resolve_revision(url, "v1") == history["c1"]
    rendered = await render(SourceSpec(repoURL=url, path="app", targetRevision="feature"), cache_dir=cache_dir)
    assert (rendered.revision, version(rendered)) == (history["c3"], "3")
    c4 = repo.commit({"app/cm.yaml": configmap("cm", version="4")})
    repo.git("push", "-q", str(served), "main")
    rendered = await render(SourceSpec(repoURL=url, path="app"), cache_dir=cache_dir)
    assert (rendered.revision, version(rendered)) == (c4, "4")
