"""The ``Warning`` header kube-apiserver 1.21 adds to every request for a deprecated API version it serves.

Of the versions the emulation serves, only ``apiextensions.k8s.io/v1beta1`` is deprecated in 1.21: its
requests carry ``Warning: 299 - "<message>"`` (k8s.io/apiserver pkg/endpoints/deprecation/deprecation.go
``WarningMessage``, from the type's ``APILifecycleDeprecated``/``Removed``/``Replacement``, added by
pkg/endpoints/installer.go for every verb of the resource). kubectl prints it as ``Warning: <message>``.
"""

from __future__ import annotations

from aiohttp import web

_DEPRECATED = {
    "/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions": (
        "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is deprecated in v1.16+, "
        "unavailable in v1.22+; use apiextensions.k8s.io/v1 CustomResourceDefinition"
    ),
}


async def deprecation_warning(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: add the warning to answers about a deprecated resource."""
    for prefix, message in _DEPRECATED.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            response.headers.add("Warning", f'299 - "{message}"')
