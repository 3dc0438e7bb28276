"""A user's own SSH keys, as ``/user/keys`` serves them to the user and ``/users/:id/keys`` to others and
to an administrator: one listing, lookup, creation and removal for both (gitlab ``lib/api/users.rb``;
https://docs.gitlab.com/ee/api/users.html#list-ssh-keys). Deploy keys share the table but are never a
user's key here (gitlab ``Key`` vs ``DeployKey``)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from nautes_refstack.gitlab.model import SshKey, User
from nautes_refstack.gitlab.rest import entities, errors
from nautes_refstack.gitlab.rest.context import context
from nautes_refstack.gitlab.rest.pagination import paginate
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.ssh_keys import PublicKey, parse_public_key
from nautes_refstack.gitlab.state import ValidationFailed


def list_keys(request: web.Request, user: User) -> web.Response:
    keys = [k for k in context(request).state.keys.values() if k.user_id == user.id and not k.deploy]
    return paginate(request, keys, entities.ssh_key)


def key_of(request: web.Request, user: User) -> SshKey:
    """The key ``{key_id}`` of ``user``; 404 ``Key Not Found`` for any other (another's, a deploy key)."""
    raw = request.match_info["key_id"]
    key = context(request).state.keys.get(int(raw)) if raw.isdigit() else None
    if key is None or key.deploy or key.user_id != user.id:
        raise errors.not_found("Key")
    return key


def new_key(params: Params) -> PublicKey:
    """The posted ``key`` (with its ``title``); 400 as GitLab's model validation words an invalid one."""
    params.require("title", "key")
    parsed = parse_public_key(params.text("key"))
    if parsed is None:
        raise errors.validation_failed({"key": ["is invalid"], "fingerprint_sha256": ["cannot be generated"]})
    return parsed


def created_key(
    request: web.Request, user: User, title: str, key: PublicKey, expires_at: dt.datetime | None
) -> web.Response:
    """201 with the stored key; 400 when its fingerprint is taken (by any user or deploy key)."""
    try:
        stored = context(request).state.add_key(user, title, key, False, expires_at)
    except ValidationFailed as failure:
        raise errors.validation_failed(failure.errors) from failure
    return web.json_response(entities.ssh_key(stored), status=201)


def deleted_key(request: web.Request, user: User) -> web.Response:
    key = key_of(request, user)
    del context(request).state.keys[key.id]
    return web.Response(status=204)
