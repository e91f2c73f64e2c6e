"""Descriptions for the schema a client sees (issue 14 item 5), filled in where the code gives
none inline (``description=`` on a type, field or argument always wins):

1. a resolver's docstring describes its field, a type's class docstring the type;
2. names that mean the same everywhere say so once (``id``, ``errors``, ``input``,
   ``createdAt``, payload and input types named after their mutation);
3. the rest from DESCRIPTIONS (boka/schema/descriptions.py), by schema coordinate.

boka/schema/lint.py and tests/test_schema_descriptions.py keep the count of undescribed
elements at 0: a new field needs a description, inline or in that table.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from boka.schema.descriptions import DESCRIPTIONS

BACKREF = "strawberry-definition"

NODE_ID = (
    "The global ID (Relay): node(id:) takes it, and so does every argument that names one of these."
)
ERRORS = "What was wrong, field by field; empty when it worked. When not empty, nothing was changed."
INPUT = "What to do: see the input type's fields."
CREATED_AT = "When it was created (UTC)."
UPDATED_AT = "When it was last changed (UTC)."


def _prose(doc: str | None) -> str | None:
    """A docstring as a description: reStructuredText literals as Markdown code."""
    if not doc:
        return None
    text = inspect.cleandoc(doc)
    return re.sub(r"``([^`]+)``", r"`\1`", text).strip() or None


def _class_doc(origin: Any) -> str | None:
    doc = origin.__dict__.get("__doc__") if isinstance(origin, type) else None
    if not doc or doc.startswith(f"{origin.__name__}("):  # the signature dataclasses write
        return None
    return _prose(doc)


def _resolver_doc(field: GraphQLField) -> str | None:
    definition = (field.extensions or {}).get(BACKREF)
    resolver = getattr(definition, "base_resolver", None)
    func = getattr(resolver, "wrapped_func", None)
    return _prose(getattr(func, "__doc__", None))


def _mutations_using(schema: GraphQLSchema) -> tuple[dict[str, str], dict[str, str]]:
    """Payload type name -> the mutations that return it; input type name -> the mutations
    taking it (as "a, b and c")."""
    payloads: dict[str, list[str]] = {}
    inputs: dict[str, list[str]] = {}
    mutation = schema.mutation_type
    if mutation is not None:
        for name, field in mutation.fields.items():
            payloads.setdefault(get_named_type(field.type).name, []).append(name)
            if "input" in field.args:
                inputs.setdefault(get_named_type(field.args["input"].type).name, []).append(name)

    def joined(names: list[str]) -> str:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    return ({k: joined(v) for k, v in payloads.items()}, {k: joined(v) for k, v in inputs.items()})


# Input types whose fields mean what the same-named fields of another type mean.
MIRRORS = {
    "CreateServiceInput": "Service", "UpdateServiceInput": "Service",
    "CreateStaffMemberInput": "StaffMember", "UpdateStaffMemberInput": "StaffMember",
    "CreateResourceInput": "Resource", "UpdateResourceInput": "Resource",
    "CreatePricingRuleInput": "PricingRule", "CreateDiscountCodeInput": "DiscountCode",
    "SetDiscountCodeActiveInput": "DiscountCode", "SetServiceActiveInput": "Service",
    "CustomerInput": "Customer", "UpdateCustomerInput": "Customer",
    "AddScheduleOverrideInput": "ScheduleOverride", "AddTimeOffInput": "TimeOff",
    "CancellationPolicyInput": "CancellationPolicy",
    "UpdateBusinessSettingsInput": "BusinessSettings", "BusinessDefaultsInput": "BusinessDefaults",
    "SetNotificationTemplateInput": "NotificationTemplate",
    "ResetNotificationTemplateInput": "NotificationTemplate",
    "UpdateNotificationSettingsInput": "NotificationSettings",
    "UpdateMyNotificationPreferencesInput": "NotificationPreferences",
    "UpdateSecuritySettingsInput": "SecuritySettings",
    "CreateWebhookEndpointInput": "WebhookEndpoint", "UpdateWebhookEndpointInput": "WebhookEndpoint",
    "SetServicePaymentPolicyInput": "ServicePaymentPolicy", "WeeklyHoursInput": "WeeklyHours",
    "CreateApiKeyInput": "ApiKey", "UpdateBookingSettingsInput": "BookingSettings",
    "QuoteInput": "CreateBookingInput", "AssignServiceInput": "StaffServiceLink",
    "UpdateClassSessionInput": "CreateClassSessionInput",
    "CreateClassTimetableInput": "CreateClassSessionInput",
    "InviteMemberInput": "Invitation", "AddMemberInput": "Invitation",
    "RegisterInput": "User", "BusinessOwnerInput": "Customer",
}


def _payload_field(type_name: str, field_name: str, field: GraphQLField) -> str | None:
    """A payload's object: what the mutation left (null when it was refused)."""
    named = get_named_type(field.type)
    if not type_name.endswith("Payload") or not isinstance(named, GraphQLObjectType):
        return None
    return f"The {named.name} as the mutation left it; null when it was refused (see `errors`)."


def describe(schema: GraphQLSchema) -> GraphQLSchema:
    payloads, inputs = _mutations_using(schema)
    # Output and enum types first: input types borrow from them (MIRRORS).
    ordered = sorted(schema.type_map.items(), key=lambda item: isinstance(item[1], GraphQLInputObjectType))
    for type_name, named in ordered:
        if type_name.startswith("__"):
            continue
        if not named.description:
            definition = (named.extensions or {}).get(BACKREF)
            named.description = (
                DESCRIPTIONS.get(type_name)
                or _class_doc(getattr(definition, "origin", None))
                or (f"The result of {payloads[type_name]}." if type_name in payloads else None)
                or (f"The input of {inputs[type_name]}." if type_name in inputs else None)
            )
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            is_node = any(i.name == "Node" for i in named.interfaces) or type_name == "Node"
            for field_name, field in named.fields.items():
                coordinate = f"{type_name}.{field_name}"
                if not field.description:
                    field.description = (
                        DESCRIPTIONS.get(coordinate)
                        or _resolver_doc(field)
                        or (NODE_ID if field_name == "id" and is_node else None)
                        or (ERRORS if field_name == "errors" else None)
                        or (CREATED_AT if field_name == "createdAt" else None)
                        or (UPDATED_AT if field_name == "updatedAt" else None)
                        or _payload_field(type_name, field_name, field)
                    )
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        arg.description = (
                            DESCRIPTIONS.get(f"{coordinate}({arg_name}:)")
                            or (INPUT if arg_name == "input" else None)
                        )
        elif isinstance(named, GraphQLInputObjectType):
            mirror = schema.type_map.get(MIRRORS.get(type_name, ""))
            mirrored = getattr(mirror, "fields", {})
            for field_name, input_field in named.fields.items():
                if not input_field.description:
                    input_field.description = (
                        DESCRIPTIONS.get(f"{type_name}.{field_name}")
                        or (f"The {mirror.name} to act on (its global id)."
                            if field_name == "id" and isinstance(mirror, GraphQLObjectType) and type_name not in
                            {"CreateClassTimetableInput", "QuoteInput"} else None)
                        or (mirrored[field_name].description if field_name in mirrored else None)
                    )
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                if not value.description:
                    value.description = DESCRIPTIONS.get(f"{type_name}.{value_name}")
    return schema
