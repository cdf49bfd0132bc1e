"""Webhook rules without I/O: provider detection, signatures, payload parsing, repo and revision matching."""

from __future__ import annotations

import json

import pytest

from tiphys.server.webhook_events import (
    Ping,
    Provider,
    PushEvent,
    WebhookError,
    WebhookSecrets,
    classify,
    parse,
    parse_revision,
    repo_key,
    revision_matches,
    sign,
    verify,
)

GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "before": "a" * 40,
    "after": "b" * 40,
    "repository": {
        "html_url": "https://github.com/Org/Repo",
        "clone_url": "https://github.com/Org/Repo.git",
        "ssh_url": "git@github.com:Org/Repo.git",
        "default_branch": "main",
    },
    "commits": [{"added": ["a.yaml"], "modified": ["b.yaml"], "removed": []}, {"modified": ["b.yaml"]}],
}
GITLAB_PUSH = {
    "object_kind": "push",
    "ref": "refs/heads/dev",
    "project": {"web_url": "https://gitlab.example.com/group/app", "default_branch": "main"},
    "commits": [{"added": [], "modified": ["deploy/x.yaml"], "removed": ["old.yaml"]}],
}


def body(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "url, key",
    [
        pytest.param("https://github.com/Org/Repo", "github.com/org/repo", id="https"),
        pytest.param("https://github.com/org/repo.git/", "github.com/org/repo", id="dot-git-slash"),
        pytest.param("git@github.com:org/repo.git", "github.com/org/repo", id="scp-like"),
        pytest.param("ssh://git@ssh.github.com:443/org/repo.git", "github.com/org/repo", id="ssh-subdomain-port"),
        pytest.param("ssh://git@altssh.gitlab.com/g/sub/r", "gitlab.com/g/sub/r", id="altssh-subgroups"),
        pytest.param("git://127.0.0.1:9418/apps.git", "127.0.0.1/apps", id="git-daemon"),
        pytest.param("http://user:pw@127.0.0.1:8080/apps", "127.0.0.1/apps", id="credentials-dropped"),
        pytest.param("file:///srv/git/apps.git", "file:///srv/git/apps", id="file-url"),
        pytest.param("/srv/git/apps", "file:///srv/git/apps", id="local-path"),
        pytest.param("", None, id="empty"),
        pytest.param("not a url", None, id="garbage"),
        pytest.param("https://github.com/", None, id="no-path"),
    ],
)
def test_repo_key(url, key):
    assert repo_key(url) == key


@pytest.mark.parametrize(
    "target, revision, touched_head, expected",
    [
        pytest.param("", "main", True, True, id="empty-follows-head"),
        pytest.param("HEAD", "main", False, False, id="head-not-touched"),
        pytest.param("HEAD", "main", True, True, id="head-touched"),
        pytest.param("main", "main", False, True, id="branch-name"),
        pytest.param("refs/heads/main", "main", False, True, id="full-ref"),
        pytest.param("refs/tags/v1", "v1", False, True, id="tag-ref"),
        pytest.param("dev", "main", True, False, id="other-branch"),
        pytest.param("a" * 40, "main", True, False, id="pinned-commit"),
    ],
)
def test_revision_matches(target, revision, touched_head, expected):
    event = PushEvent(Provider.GITHUB, ("https://h/o/r",), revision, touched_head=touched_head)
    assert revision_matches(target, event) is expected


def test_parse_revision_keeps_slashes_in_branch_names():
    assert parse_revision("refs/heads/feature/x") == "feature/x"
    assert parse_revision("main") == "main"


def test_classify_by_header_and_generic_body():
    assert classify({"x-github-event": "Push"}, b"") == (Provider.GITHUB, "push")
    assert classify({"x-gitlab-event": "Push Hook"}, b"") == (Provider.GITLAB, "push hook")
    assert classify({"x-tiphys-event": "ping"}, b"") == (Provider.GENERIC, "ping")
    assert classify({}, body({"repository": "https://h/o/r", "ref": "main"})) == (Provider.GENERIC, "push")
    with pytest.raises(WebhookError) as e:
        classify({"x-other": "1"}, b"{}")
    assert (e.value.status, e.value.message) == (400, "Unknown webhook event")


@pytest.mark.parametrize(
    "provider, secrets, headers, ok",
    [
        pytest.param(Provider.GITHUB, WebhookSecrets(), {}, True, id="github-no-secret-unsigned"),
        pytest.param(Provider.GITHUB, WebhookSecrets(github="s3"), {}, False, id="github-missing-signature"),
        pytest.param(Provider.GITHUB, WebhookSecrets(github="s3"), {"x-hub-signature-256": "SIGN"}, True, id="github"),
        pytest.param(
            Provider.GITHUB, WebhookSecrets(github="s3"), {"x-hub-signature-256": "sha256=00"}, False, id="github-bad"
        ),
        pytest.param(
            Provider.GITHUB, WebhookSecrets(gitlab="s3"), {"x-hub-signature-256": "SIGN"}, False, id="unverifiable"
        ),
        pytest.param(Provider.GITLAB, WebhookSecrets(gitlab="s3"), {"x-gitlab-token": "s3"}, True, id="gitlab"),
        pytest.param(Provider.GITLAB, WebhookSecrets(gitlab="s3"), {"x-gitlab-token": "s4"}, False, id="gitlab-bad"),
        pytest.param(Provider.GITLAB, WebhookSecrets(gitlab="s3"), {}, False, id="gitlab-missing"),
        pytest.param(
            Provider.GENERIC, WebhookSecrets(generic="s3"), {"x-tiphys-signature": "SIGN"}, True, id="generic"
        ),
        pytest.param(
            Provider.GENERIC, WebhookSecrets(generic="s3"), {"x-tiphys-signature": "BARE"}, True, id="generic-bare-hex"
        ),
        pytest.param(
            Provider.GENERIC, WebhookSecrets(github="s3"), {"x-tiphys-signature": "SIGN"}, False, id="wrong-provider"
        ),
    ],
)
def test_verify(provider, secrets, headers, ok):
    payload = b'{"x": 1}'
    signature = sign("s3", payload)
    headers = {
        k: signature if v == "SIGN" else signature.removeprefix("sha256=") if v == "BARE" else v
        for k, v in headers.items()
    }
    if ok:
        verify(provider, headers, payload, secrets)
    else:
        with pytest.raises(WebhookError) as e:
            verify(provider, headers, payload, secrets)
        assert e.value.status == 401
        assert "s3" not in e.value.message


def test_a_signature_covers_the_exact_body():
    signature = sign("s3", b'{"x": 1}')
    with pytest.raises(WebhookError):
        verify(Provider.GITHUB, {"x-hub-signature-256": signature}, b'{"x": 2}', WebhookSecrets(github="s3"))


def test_secrets_repr_hides_values_and_blank_is_unset():
    secrets = WebhookSecrets.from_data({"webhook.github.secret": "hunter2", "webhook.gitlab.secret": "  "})
    assert secrets.of(Provider.GITHUB) == "hunter2"
    assert secrets.of(Provider.GITLAB) is None
    assert "hunter2" not in repr(secrets) and "github" in repr(secrets)


def test_github_push():
    event = parse(Provider.GITHUB, "push", body(GITHUB_PUSH))
    assert isinstance(event, PushEvent)
    assert event.revision == "main" and event.touched_head
    assert event.repo_urls[0] == "https://github.com/Org/Repo"
    assert event.changed_files == ("a.yaml", "b.yaml")
    assert event.matches("git@github.com:org/repo.git", "HEAD")
    assert event.matches("https://github.com/org/repo", "main")
    assert not event.matches("https://github.com/org/other", "main")
    assert not event.matches("https://github.com/org/repo", "release")


def test_gitlab_push_on_another_branch_does_not_touch_head():
    event = parse(Provider.GITLAB, "push hook", body(GITLAB_PUSH))
    assert isinstance(event, PushEvent)
    assert (event.revision, event.touched_head) == ("dev", False)
    assert event.changed_files == ("deploy/x.yaml", "old.yaml")
    assert event.matches("https://gitlab.example.com/group/app.git", "dev")
    assert not event.matches("https://gitlab.example.com/group/app.git", "HEAD")


def test_generic_push():
    event = parse(Provider.GENERIC, "push", body({"repository": "git://127.0.0.1:9/apps.git", "revision": "main"}))
    assert isinstance(event, PushEvent)
    assert event.revision == "main" and event.touched_head  # no default branch named: HEAD may have moved
    event = parse(
        Provider.GENERIC,
        "push",
        body({"repository": ["https://h/o/r"], "ref": "refs/tags/v2", "defaultBranch": "main"}),
    )
    assert isinstance(event, PushEvent)
    assert (event.revision, event.touched_head) == ("v2", False)


def test_ping():
    assert parse(Provider.GITHUB, "ping", b"{}") == Ping(Provider.GITHUB)


@pytest.mark.parametrize(
    "provider, event, payload, fragment",
    [
        pytest.param(Provider.GITHUB, "issues", b"{}", "unsupported github event 'issues'", id="other-event"),
        pytest.param(Provider.GITHUB, "push", b"{not json", "not valid JSON", id="bad-json"),
        pytest.param(Provider.GITHUB, "push", b"[]", "not a JSON object", id="not-object"),
        pytest.param(Provider.GITHUB, "push", body({"ref": "refs/heads/x"}), "'repository'", id="no-repository"),
        pytest.param(Provider.GITHUB, "push", body({"repository": {"html_url": "u"}}), "'ref'", id="no-ref"),
        pytest.param(Provider.GITLAB, "push hook", body({**GITLAB_PUSH, "object_kind": "note"}), "note", id="kind"),
        pytest.param(Provider.GENERIC, "push", body({"repository": 3, "ref": "x"}), "'repository'", id="generic-repo"),
        pytest.param(Provider.GENERIC, "push", body({"repository": "https://h/o/r"}), "'revision'", id="no-revision"),
    ],
)
def test_malformed_payloads_are_400(provider, event, payload, fragment):
    with pytest.raises(WebhookError) as e:
        parse(provider, event, payload)
    assert e.value.status == 400
    assert fragment in e.value.message


def test_github_form_encoded_payload():
    from urllib.parse import urlencode

    form = urlencode({"payload": json.dumps(GITHUB_PUSH)}).encode()
    event = parse(Provider.GITHUB, "push", form, "application/x-www-form-urlencoded")
    assert isinstance(event, PushEvent) and event.revision == "main"
    with pytest.raises(WebhookError, match="no payload field"):
        parse(Provider.GITHUB, "push", b"x=1", "application/x-www-form-urlencoded")
