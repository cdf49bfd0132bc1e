"""Git webhooks without I/O: which provider sent a request, whether it is signed right, and what was pushed.

Three senders are understood, as Argo CD's ``util/webhook/webhook.go`` picks them by header:
GitHub (``X-GitHub-Event``; ``push`` and ``ping``; ``X-Hub-Signature-256`` is an HMAC-SHA256 of
the body), GitLab (``X-Gitlab-Event``; ``Push Hook``, ``Tag Push Hook``, ``System Hook``;
``X-Gitlab-Token`` is the shared secret itself) and Tiphys's generic form (``X-Tiphys-Event``
``push`` or ``ping``, or no event header and a JSON body naming a ``repository``; signed like
GitHub in ``X-Tiphys-Signature``).

Signatures: when a provider's secret is configured, a request without a valid signature is
refused; when none is, unsigned requests pass as in Argo CD (a push only triggers a refresh), but
a request that carries a signature is still checked and refused, since nothing can verify it.

Which apps a push concerns (``PushEvent.matches``) is Argo CD's rule: the repository URLs compare
without scheme, user, port, ``ssh.``/``altssh.`` host prefix, ``.git`` suffix or case
(``GetWebURLRegex``), and the revision by ``sourceRevisionHasChanged``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "GENERIC_EVENT",
    "GENERIC_SIGNATURE",
    "SECRET_KEYS",
    "Ping",
    "Provider",
    "PushEvent",
    "WebhookError",
    "WebhookSecrets",
    "classify",
    "parse",
    "parse_revision",
    "repo_key",
    "revision_matches",
    "sign",
    "verify",
]

GENERIC_EVENT: Final = "x-tiphys-event"
GENERIC_SIGNATURE: Final = "x-tiphys-signature"
GITHUB_EVENT: Final = "x-github-event"
GITHUB_SIGNATURE: Final = "x-hub-signature-256"
GITLAB_EVENT: Final = "x-gitlab-event"
GITLAB_TOKEN: Final = "x-gitlab-token"


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GENERIC = "generic"


#: The keys of Secret ``tiphys-secret`` (Argo CD's ``argocd-secret`` names them the same way).
SECRET_KEYS: Final = {
    Provider.GITHUB: "webhook.github.secret",
    Provider.GITLAB: "webhook.gitlab.secret",
    Provider.GENERIC: "webhook.generic.secret",
}

_PUSH_EVENTS: Final = {
    Provider.GITHUB: {"push"},
    Provider.GITLAB: {"push hook", "tag push hook", "system hook"},
    Provider.GENERIC: {"push"},
}
_PING_EVENTS: Final = {Provider.GITHUB: {"ping"}, Provider.GITLAB: set[str](), Provider.GENERIC: {"ping"}}
_GITLAB_PUSH_KINDS: Final = {"push", "tag_push"}


class WebhookError(Exception):
    """A refused request: the HTTP status to answer and a message for the sender (never a secret)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class WebhookSecrets:
    """The configured secret of each provider; ``None`` when none is (then unsigned requests pass)."""

    github: str | None = field(default=None, repr=False)
    gitlab: str | None = field(default=None, repr=False)
    generic: str | None = field(default=None, repr=False)

    def of(self, provider: Provider) -> str | None:
        value: str | None = getattr(self, provider.value)
        return value or None

    def __repr__(self) -> str:
        configured = [p.value for p in Provider if self.of(p)]
        return f"WebhookSecrets(configured={configured})"

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> WebhookSecrets:
        """From a Secret's decoded data (``webhook.github.secret``…); blank values count as unset."""
        values = {p.value: (data.get(key) or "").strip() or None for p, key in SECRET_KEYS.items()}
        return cls(**values)


@dataclass(frozen=True)
class Ping:
    provider: Provider


@dataclass(frozen=True)
class PushEvent:
    """A push to a repository: where, which branch or tag, and what changed."""

    provider: Provider
    repo_urls: tuple[str, ...]
    revision: str  # the branch or tag name: refs/heads/main → main (Argo CD's ParseRevision)
    ref: str = ""  # the full ref as sent
    touched_head: bool = False  # whether the push moved the default branch (HEAD)
    before: str = ""
    after: str = ""
    changed_files: tuple[str, ...] = ()

    @property
    def branch(self) -> str:
        return self.revision

    def matches(self, repo_url: str, target_revision: str) -> bool:
        """Whether an app with this ``repoURL`` and ``targetRevision`` should refresh."""
        key = repo_key(repo_url)
        return (
            key is not None
            and any(repo_key(u) == key for u in self.repo_urls)
            and revision_matches(target_revision, self)
        )


def parse_revision(ref: str) -> str:
    """``refs/heads/feature/x`` → ``feature/x``; a bare name stays as it is (Argo CD's ParseRevision)."""
    return ref.split("/", 2)[-1]


def revision_matches(target_revision: str, event: PushEvent) -> bool:
    """Argo CD's ``sourceRevisionHasChanged``: HEAD follows the default branch, names compare exactly."""
    target = parse_revision(target_revision)
    if target in ("", "HEAD"):
        return event.touched_head
    if target_revision.startswith(("refs/heads/", "refs/tags/")):
        return event.revision == target
    return target_revision == event.revision


_SCP_LIKE: Final = re.compile(r"^(?:[^@/]+@)?(?P<host>[^/:]+):(?P<path>[^/].*)$")


def repo_key(url: str) -> str | None:
    """A repository URL reduced to ``host/path`` (lowercase, no ``.git``): equal keys, same repository.

    ``https://GitHub.com/Org/Repo``, ``git@github.com:org/repo.git`` and
    ``ssh://git@ssh.github.com:443/org/repo.git`` share ``github.com/org/repo``. Local paths and
    ``file://`` URLs keep their path. ``None`` for what is no repository URL.
    """
    text = url.strip()
    if not text:
        return None
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() == "file":
            host, path = "", parts.path
        else:
            host, path = parts.hostname or "", parts.path
    elif text.startswith("/"):
        host, path = "", text
    else:
        scp = _SCP_LIKE.match(text)
        if scp is None:
            return None
        host, path = scp["host"], scp["path"]
    host = re.sub(r"^(alt)?ssh\.", "", host.lower())
    path = path.strip("/").lower().removesuffix(".git").rstrip("/")
    if not path:
        return None
    return f"{host}/{path}" if host else f"file:///{path}"


# -- provider, signature, payload ---------------------------------------------------------------


def classify(headers: Mapping[str, str], body: bytes) -> tuple[Provider, str]:
    """The provider and its event name, from the headers (lower-case names) or a generic body."""
    for provider, header in (
        (Provider.GITHUB, GITHUB_EVENT),
        (Provider.GITLAB, GITLAB_EVENT),
        (Provider.GENERIC, GENERIC_EVENT),
    ):
        if headers.get(header):
            return provider, headers[header].strip().lower()
    if headers.get(GENERIC_SIGNATURE) or _names_repository(body):
        return Provider.GENERIC, "push"
    raise WebhookError(400, "Unknown webhook event")


def _names_repository(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("repository"), str)


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 signature GitHub and the generic form send."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(provider: Provider, headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets) -> None:
    """Raise ``WebhookError(401)`` unless the request is signed as its provider's secret requires."""
    secret = secrets.of(provider)
    if provider is Provider.GITLAB:
        token = headers.get(GITLAB_TOKEN)
        if secret is None and token is None:
            return
        if token is None:
            raise WebhookError(401, "GitLab webhook token verification failed: X-Gitlab-Token is missing")
        if secret is None or not hmac.compare_digest(token.encode(), secret.encode()):
            raise WebhookError(401, "GitLab webhook token verification failed")
        return
    header = GITHUB_SIGNATURE if provider is Provider.GITHUB else GENERIC_SIGNATURE
    label = "GitHub" if provider is Provider.GITHUB else "generic"
    signature = headers.get(header)
    if secret is None and signature is None:
        return
    if signature is None:
        raise WebhookError(401, f"{label} webhook HMAC verification failed: {_title(header)} is missing")
    given = signature.strip()
    given = given if given.startswith("sha256=") else "sha256=" + given
    if secret is None or not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        raise WebhookError(401, f"{label} webhook HMAC verification failed")


def _title(header: str) -> str:
    return "-".join("GitHub" if w == "github" else w.capitalize() for w in header.split("-"))


def _json_text(body: bytes, content_type: str) -> bytes | str:
    """The JSON document: the body, or its ``payload`` field when GitHub posts it as a form."""
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return body
    fields = parse_qs(body.decode(errors="replace"))
    if not fields.get("payload"):
        raise WebhookError(400, "Webhook processing failed: the form has no payload field")
    return fields["payload"][0]


def parse(provider: Provider, event: str, body: bytes, content_type: str = "application/json") -> PushEvent | Ping:
    """The push (or ping) a verified request reports; ``WebhookError(400)`` for anything else."""
    if event in _PING_EVENTS[provider]:
        return Ping(provider)
    if event not in _PUSH_EVENTS[provider]:
        raise WebhookError(400, f"Webhook processing failed: unsupported {provider.value} event {event!r}")
    try:
        data = json.loads(_json_text(body, content_type))
    except ValueError as e:
        raise WebhookError(400, f"Webhook processing failed: the payload is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise WebhookError(400, "Webhook processing failed: the payload is not a JSON object")
    try:
        if provider is Provider.GITHUB:
            return _github(data)
        if provider is Provider.GITLAB:
            return _gitlab(data)
        return _generic(data)
    except (KeyError, TypeError, ValueError) as e:
        raise WebhookError(400, f"Webhook processing failed: malformed {provider.value} push payload: {e}") from None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{key!r} must be an object")
    return value


def _urls(data: Mapping[str, Any], *keys: str) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(v for k in keys if (v := _text(data, k))))
    if not found:
        raise ValueError(f"no repository URL (one of {', '.join(keys)})")
    return found


def _changed(commits: Any) -> tuple[str, ...]:
    if not isinstance(commits, list):
        return ()
    files: list[str] = []
    for commit in commits:
        if isinstance(commit, Mapping):
            for key in ("added", "modified", "removed"):
                files.extend(str(f) for f in commit.get(key) or [] if isinstance(f, str))
    return tuple(dict.fromkeys(files))


def _ref(data: Mapping[str, Any]) -> str:
    ref = _text(data, "ref")
    if not ref:
        raise ValueError("'ref' is missing")
    return ref


def _push(provider: Provider, data: Mapping[str, Any], repo: Mapping[str, Any], *url_keys: str) -> PushEvent:
    """GitHub's and GitLab's pushes differ only in where the repository and its URLs are."""
    ref = _ref(data)
    revision = parse_revision(ref)
    return PushEvent(
        provider=provider,
        repo_urls=_urls(repo, *url_keys),
        revision=revision,
        ref=ref,
        touched_head=_text(repo, "default_branch") == revision,
        before=_text(data, "before"),
        after=_text(data, "after"),
        changed_files=_changed(data.get("commits")),
    )


def _github(data: Mapping[str, Any]) -> PushEvent:
    repo = _object(data, "repository")
    return _push(Provider.GITHUB, data, repo, "html_url", "clone_url", "ssh_url", "git_url", "url")


def _gitlab(data: Mapping[str, Any]) -> PushEvent:
    kind = _text(data, "object_kind")
    if kind and kind not in _GITLAB_PUSH_KINDS:
        raise ValueError(f"object_kind {kind!r} is not a push")
    project = _object(data, "project")
    return _push(Provider.GITLAB, data, project, "web_url", "git_http_url", "git_ssh_url", "http_url", "ssh_url")


def _generic(data: Mapping[str, Any]) -> PushEvent:
    repository = data.get("repository")
    urls = (repository,) if isinstance(repository, str) else repository
    if not isinstance(urls, list | tuple) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ValueError("'repository' must be a repository URL (or a list of them)")
    ref = _text(data, "ref") or _text(data, "revision")
    if not ref:
        raise ValueError("'ref' or 'revision' is missing")
    revision = parse_revision(ref) if ref.startswith("refs/") else ref
    default = _text(data, "defaultBranch")
    files = data.get("changedFiles") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ValueError("'changedFiles' must be a list of paths")
    return PushEvent(
        provider=Provider.GENERIC,
        repo_urls=tuple(urls),
        revision=revision,
        ref=ref,
        # Without the default branch, HEAD may have moved: refreshing is the safe answer.
        touched_head=revision in ("HEAD", default) if default else True,
        before=_text(data, "before"),
        after=_text(data, "after"),
        changed_files=tuple(files),
    )
