"""Bearer-token authentication, TokenReview and TokenRequest, as kube-apiserver does them.

Two kinds of token are accepted: the admin token the server was started with (a static token, like the
one in a K3s admin kubeconfig) and service-account JWTs signed by the store's key. A service-account token
stops working when its ServiceAccount is deleted or recreated (the ``uid`` claim must still match), which
is what OpenBao's Kubernetes auth relies on when it sends a TokenReview. Requests are authenticated, not
authorized: there is no RBAC evaluation.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nautes_refstack.kube.errors import JsonObject, KubeError, unauthorized
from nautes_refstack.kube.store import ObjectStore

# The audience a TokenRequest gets when it names none, and a TokenReview checks when it names none.
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
# Probes that a real apiserver answers without credentials (system:public-info-viewer).
PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})


@dataclass(frozen=True)
class UserInfo:
    """Who a token belongs to, as a TokenReview reports it."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    audiences: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> JsonObject:
        user: JsonObject = {"username": self.username}
        if self.uid:
            user["uid"] = self.uid
        user["groups"] = list(self.groups)
        return user


ADMIN_USER = UserInfo("kubernetes-admin", groups=("system:masters", "system:authenticated"))


class TokenRejected(Exception):
    """The token authenticates nobody; the message is what TokenReview reports in ``status.error``."""


class Authenticator:
    """Decides who a bearer token belongs to."""

    def __init__(self, store: ObjectStore, admin_token: str) -> None:
        self._store = store
        self._admin_token = admin_token

    def authenticate(self, token: str, audiences: list[str] | None = None) -> UserInfo:
        """The user ``token`` authenticates, for the given audiences (the API server's if None)."""
        if hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return ADMIN_USER
        claims = self._store.token_signer.verify(token)
        if claims is None:
            raise TokenRejected("[invalid bearer token, square/go-jose: error in cryptographic primitive]")
        namespace = str(claims.get("kubernetes.io/serviceaccount/namespace", ""))
        name = str(claims.get("kubernetes.io/serviceaccount/service-account.name", ""))
        try:
            account = self._store.get("v1", "ServiceAccount", namespace, name)
        except KubeError:
            account = None
        if account is None or account["metadata"]["uid"] != claims.get(
            "kubernetes.io/serviceaccount/service-account.uid"
        ):
            raise TokenRejected("[invalid bearer token, service account token has been invalidated]")
        wanted = audiences or [API_AUDIENCE]
        token_audiences = claims.get("aud")
        if token_audiences is not None:
            granted = [audience for audience in wanted if audience in token_audiences]
            if not granted:
                why = f"token audiences {token_audiences} is invalid for the target audiences {wanted}"
                raise TokenRejected(f"[invalid bearer token, {why}]")
            wanted = granted
        groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
        return UserInfo(
            f"system:serviceaccount:{namespace}:{name}", account["metadata"]["uid"], groups, tuple(wanted)
        )

    def review(self, token_review: JsonObject) -> JsonObject:
        """Answer a ``TokenReview`` (the body of ``POST /apis/authentication.k8s.io/v1/tokenreviews``)."""
        spec = token_review.get("spec") or {}
        status: JsonObject
        try:
            user = self.authenticate(str(spec.get("token", "")), spec.get("audiences") or None)
        except TokenRejected as rejected:
            status = {"user": {}, "error": str(rejected)}
        else:
            status = {"authenticated": True, "user": user.to_json(), "audiences": list(user.audiences)}
        return {
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    def request_token(self, namespace: str, service_account: str, token_request: JsonObject) -> JsonObject:
        """Answer a ``TokenRequest`` (``POST .../serviceaccounts/{name}/token``)."""
        spec = dict(token_request.get("spec") or {})
        spec["audiences"] = spec.get("audiences") or [API_AUDIENCE]
        spec["expirationSeconds"] = int(spec.get("expirationSeconds") or DEFAULT_TOKEN_EXPIRATION_SECONDS)
        token = self._store.issue_service_account_token(
            namespace, service_account, spec["audiences"], spec["expirationSeconds"]
        )
        expires = datetime.now(UTC) + timedelta(seconds=spec["expirationSeconds"])
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": service_account, "namespace": namespace, "creationTimestamp": None},
            "spec": {**spec, "boundObjectRef": spec.get("boundObjectRef")},
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }


def bearer_token_middleware(authenticator: Authenticator) -> Middleware:
    """Reject every request but the public probes unless it carries a token that authenticates someone."""

    @web.middleware
    async def require_bearer_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not token:
                    raise TokenRejected("no bearer token")
                authenticator.authenticate(token.strip())
            except TokenRejected:
                return web.json_response(unauthorized().status(), status=401)
        return await handler(request)

    return require_bearer_token
