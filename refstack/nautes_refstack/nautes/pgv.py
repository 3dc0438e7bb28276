"""protoc-gen-validate as kratos' validator middleware runs it: first violation only, exact texts.

The generated ``Validate()`` walks fields in declaration order, checks the field's own rules, then
recurses into every set sub-message; a nested failure is reported as ``embedded message failed
validation | caused by: <inner>``. kratos turns the text into ``400 VALIDATOR`` (contract §2.5).
"""

from __future__ import annotations

from nautes_refstack.nautes.protojson import Field, FieldKind, Message, Rule


def first_violation(request: Message) -> str | None:
    """The text of the first PGV violation in ``request``, or ``None`` when it is valid."""
    for candidate in request.schema.fields:
        problem = _check_field(request, candidate)
        if problem is not None:
            return problem
    return None


def _check_field(owner: Message, checked: Field) -> str | None:
    prefix = f"invalid {owner.schema.name}.{checked.go_name}"
    if checked.kind is FieldKind.MESSAGE and checked.repeated:
        return _check_repeated_messages(owner, checked, prefix)
    if checked.kind is FieldKind.MESSAGE:
        child = owner.child(checked.proto_name)
        if child is None:
            return (
                f"{prefix}: value is required"
                if any(rule.kind == "required" for rule in checked.rules)
                else None
            )
        inner = first_violation(child)
        return None if inner is None else f"{prefix}: embedded message failed validation | caused by: {inner}"
    if checked.kind is FieldKind.STRING and not checked.repeated:
        value = owner.text(checked.proto_name)
        for rule in checked.rules:
            reason = _string_rule_violation(rule, value)
            if reason is not None:
                return f"{prefix}: {reason}"
    return None


def _check_repeated_messages(owner: Message, checked: Field, prefix: str) -> str | None:
    items = owner.children(checked.proto_name)
    for rule in checked.rules:
        if rule.kind == "min_items" and len(items) < rule.amount:
            return f"{prefix}: value must contain at least {rule.amount} item(s)"
    for index, item in enumerate(items):
        inner = first_violation(item)
        if inner is not None:
            return f"{prefix}[{index}]: embedded message failed validation | caused by: {inner}"
    return None


def _string_rule_violation(rule: Rule, value: str) -> str | None:
    if rule.kind == "min_len" and len(value) < rule.amount:
        return f"value length must be at least {rule.amount} runes"
    if rule.kind == "in" and value not in rule.values:
        return f"value must be in list [{' '.join(rule.values)}]"
    return None
