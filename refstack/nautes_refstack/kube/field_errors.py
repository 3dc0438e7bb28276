"""A 422 ``Invalid`` Status listing every field an object gets wrong, as kube-apiserver answers a
``field.ErrorList`` (k8s.io/apimachinery pkg/api/errors ``NewInvalid``, pkg/util/validation/field): the
message is ``<Kind>[.<group>] "<name>" is invalid: <cause>`` for one cause and ``[<cause>, <cause>]`` for
more, each cause ``<field>: <what>[: <detail>]``; ``details.causes`` carries each with its reason."""

from __future__ import annotations

from nautes_refstack.kube.errors import JsonObject, KubeError

Violation = tuple[
    str, str, str
]  # (field path, what is wrong ("Required value", 'Invalid value: "x"'), detail)


def _cause_reason(cause: str, detail: str) -> str:
    """k8s.io/apimachinery/pkg/util/validation/field ErrorType of a violation."""
    if cause == "Required value":
        return "FieldValueRequired"
    if cause.startswith("Unsupported value"):
        return "FieldValueNotSupported"
    if cause in ("Too long", "Too many"):
        return "FieldValueTooLong" if cause == "Too long" else "FieldValueTooMany"
    return "FieldValueTypeInvalid" if " must be of type " in detail else "FieldValueInvalid"


def invalid(group: str, kind: str, name: str, problems: list[Violation]) -> KubeError:
    """The 422 the apiserver answers for an object with these violations (every cause listed, in order)."""
    causes = [
        f"{field}: {cause}: {detail}" if detail else f"{field}: {cause}" for field, cause, detail in problems
    ]
    listed = causes[0] if len(causes) == 1 else f"[{', '.join(causes)}]"
    details: JsonObject = {"name": name, **({"group": group} if group else {}), "kind": kind}
    details["causes"] = [
        {
            "reason": _cause_reason(cause, detail),
            "message": f"{cause}: {detail}" if detail else cause,
            "field": field,
        }
        for field, cause, detail in problems
    ]
    qualified = f"{kind}.{group}" if group else kind
    return KubeError(422, "Invalid", f'{qualified} "{name}" is invalid: {listed}', details)
