"""What can go wrong with a service container, as errors whose text is safe to show (secrets redacted)."""

from __future__ import annotations


class ContainerError(Exception):
    """A service container could not be had: no image, not ready in time, a command inside failed."""


class ImageUnavailable(ContainerError):
    """An image is not in the engine and cannot be built here; the text says how to get it."""


class ContainerNotReady(ContainerError):
    """A container started but did not pass its readiness checks; the text names the check."""
