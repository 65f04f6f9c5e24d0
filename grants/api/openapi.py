"""The OpenAPI 3.1 document of /api/v1, written by hand: it is the contract, so it is reviewed like code.

tests/api/test_openapi.py checks that every API route of the app is described with the methods it
accepts, that every example validates against its schema, and the endpoint tests validate the real
responses against the same schemas (objects are closed with ``additionalProperties: false``, so a
field added to grants/api/representations.py without being documented fails them).
"""

from __future__ import annotations

import copy

JSON = "application/json"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict, *, required: list[str] | None = None, description: str = "") -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


MONEY = {
    "type": "string",
    "pattern": r"^[0-9]+\.[0-9]{2}$",
    "description": "An amount in euros as a decimal string with two decimals.",
    "examples": ["1500.00"],
}
INSTANT = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$",
    "description": "ISO 8601 instant in UTC, with its offset.",
    "examples": ["2026-03-01T09:00:00+00:00"],
}
DATE = {
    "type": "string",
    "format": "date",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "description": "A calendar day (ISO 8601), in the funder's time zone.",
    "examples": ["2027-06-30"],
}
SECTIONS = ["fonctionnement", "investissement"]
CALL_STATES = ["draft", "scheduled", "open", "closed", "archived"]
APPLICATION_STATES = [
    "draft", "submitted", "corrections_requested", "under_review", "ineligible", "decided", "withdrawn",
]

ENVELOPE = closed(
    {
        "section": {"type": "string", "enum": SECTIONS},
        "envelope": ref("Money"),
        "committed": ref("Money"),
        "paid": ref("Money"),
        "remaining": ref("Money"),
    },
    description="One budget section of a call's envelope: remaining = envelope − committed; "
    "committed ≤ envelope and paid ≤ committed always hold.",
)

CALL_SUMMARY_PROPERTIES = {
    "id": {"type": "integer"},
    "title": {"type": "string"},
    "slug": {"type": "string"},
    "state": {"type": "string", "enum": CALL_STATES},
    "year": {"type": "integer", "description": "The budget year the envelopes are carved from."},
    "programme": closed({"id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}}),
    "opens_at": ref("Instant"),
    "closes_at": ref("Instant"),
    "min_grant": ref("Money"),
    "max_grant": ref("Money"),
    "envelope": ref("Money"),
    "committed": ref("Money"),
    "paid": ref("Money"),
    "remaining": ref("Money"),
}

DECISION_PROPERTIES = {
    "id": {"type": "integer"},
    "outcome": {"type": "string", "enum": ["awarded", "rejected", "waitlisted"]},
    "section": nullable({"type": "string", "enum": SECTIONS}),
    "amount": nullable(ref("Money")),
    "paid": ref("Money"),
    "decided_at": ref("Instant"),
    "cancelled_at": nullable(ref("Instant")),
    # The grant's closure on its final report: accepted when, balance paid when, amount released to
    # the envelope, overpayment still to recover.
    "report_accepted_at": nullable(ref("Instant")),
    "balance_paid_at": nullable(ref("Instant")),
    "released": ref("Money"),
    "recovery_due": ref("Money"),
}


GRANT_STAGES = ["report_due", "report_late", "report_submitted", "report_corrections", "balance_to_pay",
                "to_recover", "closed", "cancelled"]

CONVENTION = closed(
    {
        "required": {"type": "boolean", "description": "The award needs a convention: from the legal threshold "
                     "(23 000 € by default), or below it where its call asks for one. No payment is made "
                     "before a required convention is countersigned."},
        "state": {"type": "string", "enum": ["none", "awaiting_signature", "signed", "countersigned"],
                  "description": "Of the latest version: none generated yet, awaiting the beneficiary's "
                  "signature, signed (online or by a scan) and awaiting the countersignature, countersigned."},
        "version": nullable({"type": "integer", "minimum": 1}),
        "amendment": nullable({"type": "integer", "minimum": 0,
                               "description": "0 for the convention, n for its n-th avenant (amendment)."}),
        "amount": nullable(ref("Money")),
        "amendment_due": {"type": "boolean", "description": "The award's amount changed since the latest "
                          "version: an avenant is to be generated and signed."},
        "generated_at": nullable(ref("Instant")),
        "signature_method": nullable({"type": "string", "enum": ["online", "scan"]}),
        "signed_at": nullable(ref("Instant")),
        "countersigned_at": nullable(ref("Instant")),
    },
    description="The award's convention (grant agreement), its latest version.",
)

FINAL_REPORT = closed(
    {
        "due_on": ref("Date"),
        "state": {"type": "string", "enum": ["not_started", "draft", "submitted", "corrections_requested", "accepted"]},
        "overdue": {"type": "boolean", "description": "The due date has passed and no report was submitted."},
        "submitted_at": nullable(ref("Instant")),
        "accepted_at": nullable(ref("Instant")),
        "total_expenses": nullable({**ref("Money"), "description": "Actual expenses, once submitted."}),
    },
    description="The final report (compte rendu financier).",
)

PAYMENTS = closed(
    {
        "amount": ref("Money"),
        "paid": ref("Money"),
        "to_pay": {**ref("Money"), "description": "amount − paid."},
        "advance_paid": {"type": "boolean"},
        "balance_paid": {"type": "boolean", "description": "The balance (solde), paid on the accepted report; "
                         "nothing is paid after it."},
        "balance_paid_at": nullable(ref("Instant")),
        "released": {**ref("Money"), "description": "Given back to the call's envelope after a reduction."},
        "recovery_due": {**ref("Money"), "description": "Paid beyond the reduced amount, still to recover "
                         "(titre de recette)."},
        "movements": {
            "type": "array",
            "items": closed(
                {
                    "kind": {"type": "string", "enum": ["payment", "recovery"]},
                    "tranche": nullable({"type": "string", "enum": ["advance", "instalment", "balance"]}),
                    "amount": ref("Money"),
                    "on": nullable(ref("Date")),
                }
            ),
            "description": "Payments and recoveries recorded, oldest first.",
        },
    },
    description="What was paid on the award and what became of the rest.",
)


def page_of(item: str) -> dict:
    return closed(
        {
            "items": {"type": "array", "items": ref(item)},
            "total": {"type": "integer", "minimum": 0, "description": "Items matching, all pages together."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            "offset": {"type": "integer", "minimum": 0},
        }
    )


SCHEMAS = {
    "Money": MONEY,
    "Instant": INSTANT,
    "Date": DATE,
    "Envelope": ENVELOPE,
    "CallSummary": closed(CALL_SUMMARY_PROPERTIES),
    "Call": closed(
        {
            **CALL_SUMMARY_PROPERTIES,
            "summary": {"type": "string"},
            "sections": {"type": "array", "items": ref("Envelope")},
        }
    ),
    "CallPage": page_of("CallSummary"),
    "Decision": closed(DECISION_PROPERTIES),
    "Convention": CONVENTION,
    "FinalReport": FINAL_REPORT,
    "Payments": PAYMENTS,
    "Grant": closed(
        {
            "stage": {"type": "string", "enum": GRANT_STAGES,
                      "description": "Where the award stands on its way to closure (as on the managers' "
                      "follow-up list), or cancelled."},
            "convention": ref("Convention"),
            "final_report": ref("FinalReport"),
            "payments": ref("Payments"),
        },
        description="An award's life after the decision.",
    ),
    "Application": closed(
        {
            "id": {"type": "integer"},
            "reference": nullable({"type": "string"}),
            "title": {"type": "string"},
            "state": {"type": "string", "enum": APPLICATION_STATES},
            "applicant": closed(
                {
                    "kind": {"type": "string", "enum": ["organisation", "individual"]},
                    "name": {"type": "string"},
                    "siret": nullable({"type": "string", "pattern": r"^\d{14}$"}),
                }
            ),
            "section": nullable({"type": "string", "enum": SECTIONS}),
            "amount_requested": nullable(ref("Money")),
            "submitted_at": nullable(ref("Instant")),
            "decision": nullable(ref("Decision")),
            "grant": nullable({**ref("Grant"), "description": "For an award only (null otherwise)."}),
        }
    ),
    "ApplicationPage": page_of("Application"),
    "AwardRequest": closed(
        {
            "amount": {
                "description": "Euros: a string with a dot and at most two decimals, or a whole number. "
                "Numbers with a fraction are refused (a binary float cannot carry cents exactly). "
                "More than 0, at most 999999999.99, and not above the amount requested.",
                "anyOf": [
                    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"},
                    {"type": "integer", "minimum": 1, "maximum": 999999999},
                ],
            },
            "section": {"type": "string", "enum": SECTIONS},
            "reason": {"type": "string", "maxLength": 2000, "description": "Optional; kept in the ledger."},
            "force": {
                "type": "boolean",
                "description": "Award although the application's reviews are not all in (a draft, an "
                "assignment not started, or no review at all); requires `force_reason`. Without it, such an "
                "award is refused with 409 `reviews_pending`.",
            },
            "force_reason": {
                "type": "string", "maxLength": 2000,
                "description": "Why the award is decided before the reviews; recorded in the audit log "
                "(`application.awarded_before_reviews`). Required with `force`, refused without it.",
            },
        },
        required=["amount", "section"],
    ),
    "Award": closed(
        {
            **DECISION_PROPERTIES,
            "outcome": {"const": "awarded"},
            "section": {"type": "string", "enum": SECTIONS},
            "amount": ref("Money"),
            "application_id": {"type": "integer"},
            "call_id": {"type": "integer"},
            "reason": {"type": "string"},
            "decided_by": closed({"id": {"type": "integer"}, "name": {"type": "string"}}),
            "envelope": ref("Envelope"),
        },
        description="The award just made, and the envelope it drew on as it stands after it.",
    ),
    "Error": closed(
        {
            "error": {
                "type": "string",
                "enum": ["unauthorized", "forbidden", "not_found", "not_awardable", "server_error"],
            },
            "message": {"type": "string", "description": "In the token holder's language."},
        }
    ),
    "ReviewsPending": closed(
        {
            "error": {"const": "reviews_pending"},
            "message": {"type": "string"},
            "submitted": {"type": "integer", "description": "Reviews transmitted by the reviewers assigned."},
            "pending": {"type": "integer", "description": "Assigned reviews still drafts or not started."},
        }
    ),
    "EnvelopeExceeded": closed(
        {
            "error": {"const": "envelope_exceeded"},
            "message": {"type": "string"},
            "remaining": ref("Money"),
        }
    ),
    "Invalid": closed(
        {
            "error": {"const": "invalid"},
            "message": {"type": "string"},
            "fields": {
                "type": "object",
                "description": "Each faulty field (or \"body\") and what is wrong with it.",
                "additionalProperties": {"type": "string"},
                "minProperties": 1,
            },
        }
    ),
}

EXAMPLE_ENVELOPE = {
    "section": "fonctionnement", "envelope": "250000.00", "committed": "61500.00", "paid": "20000.00",
    "remaining": "188500.00",
}
EXAMPLE_CALL_SUMMARY = {
    "id": 3,
    "title": "Solidarité internationale 2026",
    "slug": "solidarite-internationale-2026",
    "state": "open",
    "year": 2026,
    "programme": {"id": 1, "code": "relations-internationales", "name": "Relations internationales"},
    "opens_at": "2026-01-15T08:00:00+00:00",
    "closes_at": "2026-03-31T10:00:00+00:00",
    "min_grant": "1000.00",
    "max_grant": "20000.00",
    "envelope": "250000.00",
    "committed": "61500.00",
    "paid": "20000.00",
    "remaining": "188500.00",
}
EXAMPLE_DECISION = {
    "id": 12, "outcome": "awarded", "section": "fonctionnement", "amount": "1500.00", "paid": "0.00",
    "decided_at": "2026-05-12T14:03:27+00:00", "cancelled_at": None,
    "report_accepted_at": None, "balance_paid_at": None, "released": "0.00", "recovery_due": "0.00",
}
EXAMPLE_GRANT = {
    "stage": "report_due",
    "convention": {
        "required": True, "state": "countersigned", "version": 1, "amendment": 0, "amount": "1500.00",
        "amendment_due": False, "generated_at": "2026-05-12T14:05:00+00:00", "signature_method": "online",
        "signed_at": "2026-05-15T09:12:40+00:00", "countersigned_at": "2026-05-16T10:00:00+00:00",
    },
    "final_report": {"due_on": "2027-06-30", "state": "not_started", "overdue": False, "submitted_at": None,
                     "accepted_at": None, "total_expenses": None},
    "payments": {
        "amount": "1500.00", "paid": "450.00", "to_pay": "1050.00", "advance_paid": True, "balance_paid": False,
        "balance_paid_at": None, "released": "0.00", "recovery_due": "0.00",
        "movements": [{"kind": "payment", "tranche": "advance", "amount": "450.00", "on": "2026-05-20"}],
    },
}
EXAMPLE_APPLICATION = {
    "id": 41,
    "reference": "SISA-2026-0042",
    "title": "Jardins partagés à Kaolack",
    "state": "decided",
    "applicant": {"kind": "organisation", "name": "Association Terre Solidaire", "siret": "73282932000074"},
    "section": "fonctionnement",
    "amount_requested": "1800.00",
    "submitted_at": "2026-03-02T16:20:00+00:00",
    "decision": {**EXAMPLE_DECISION, "paid": "450.00"},
    "grant": EXAMPLE_GRANT,
}
EXAMPLE_AWARD = {
    **EXAMPLE_DECISION,
    "application_id": 41,
    "call_id": 3,
    "reason": "Commission permanente du 12 mai 2026",
    "decided_by": {"id": 2, "name": "Claire Martin"},
    "envelope": {**EXAMPLE_ENVELOPE, "committed": "63000.00", "remaining": "187000.00"},
}


def json_response(description: str, schema: str, example: dict) -> dict:
    return {"description": description, "content": {JSON: {"schema": ref(schema), "example": example}}}


RESPONSES = {
    "Unauthorized": {
        **json_response(
            "No `Authorization: Bearer` header, a malformed one, or a token that is unknown, revoked, or "
            "whose holder is deactivated. A session cookie never authenticates the API.",
            "Error",
            {"error": "unauthorized", "message": "Jeton absent, inconnu, révoqué ou dont le titulaire est désactivé."},
        ),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "example": 'Bearer realm="subventia", error="invalid_token"'}},
    },
    "Forbidden": json_response(
        "The token is valid but its holder is no longer a programme manager or an admin.",
        "Error",
        {"error": "forbidden", "message": "Ce jeton ne permet pas cette opération (rôle requis : manager)."},
    ),
    "NotFound": json_response("No such object.", "Error", {"error": "not_found", "message": "Ressource introuvable."}),
    "Invalid": json_response(
        "Malformed input; nothing was written.",
        "Invalid",
        {"error": "invalid", "message": "Requête invalide.", "fields": {"limit": "Un entier de 1 à 200."}},
    ),
}


def error_responses(*names: str) -> dict:
    codes = {"Unauthorized": "401", "Forbidden": "403", "NotFound": "404", "Invalid": "422"}
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in names}


PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


def id_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


PATHS = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document.", "content": {JSON: {"schema": {"type": "object"}}}}},
        }
    },
    "/api/v1/calls": {
        "get": {
            "operationId": "listCalls",
            "summary": "Calls for projects, newest opening first, with their envelope totals.",
            "parameters": [
                *PAGE_PARAMETERS,
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": CALL_STATES}},
            ],
            "responses": {
                "200": json_response(
                    "One page of calls.",
                    "CallPage",
                    {"items": [EXAMPLE_CALL_SUMMARY], "total": 1, "limit": 50, "offset": 0},
                ),
                **error_responses("Unauthorized", "Forbidden", "Invalid"),
            },
        }
    },
    "/api/v1/calls/{call_id}": {
        "get": {
            "operationId": "getCall",
            "summary": "A call with its envelope, committed, paid and remaining per budget section.",
            "parameters": [id_parameter("call_id")],
            "responses": {
                "200": json_response(
                    "The call.",
                    "Call",
                    {
                        **EXAMPLE_CALL_SUMMARY,
                        "summary": "Soutenir les projets de coopération des associations régionales.",
                        "sections": [EXAMPLE_ENVELOPE],
                    },
                ),
                **error_responses("Unauthorized", "Forbidden", "NotFound"),
            },
        }
    },
    "/api/v1/calls/{call_id}/applications": {
        "get": {
            "operationId": "listCallApplications",
            "summary": "The call's submitted applications (drafts are never listed), with their decision "
            "and, for awards, their convention, final report and payments.",
            "parameters": [
                id_parameter("call_id"),
                *PAGE_PARAMETERS,
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": APPLICATION_STATES}},
            ],
            "responses": {
                "200": json_response(
                    "One page of applications, in the order they were created.",
                    "ApplicationPage",
                    {"items": [EXAMPLE_APPLICATION], "total": 1, "limit": 50, "offset": 0},
                ),
                **error_responses("Unauthorized", "Forbidden", "NotFound", "Invalid"),
            },
        }
    },
    "/api/v1/applications/{application_id}": {
        "get": {
            "operationId": "getApplication",
            "summary": "A submitted application with its decision and, for an award, its convention, final "
            "report and payments.",
            "parameters": [id_parameter("application_id")],
            "responses": {
                "200": json_response("The application (a draft is a 404, as in the lists).", "Application",
                                     EXAMPLE_APPLICATION),
                **error_responses("Unauthorized", "Forbidden", "NotFound"),
            },
        }
    },
    "/api/v1/applications/{application_id}/award": {
        "post": {
            "operationId": "awardGrant",
            "summary": "Award a grant to an application under review, drawn from its call's envelope.",
            "description": "The envelope's committed figure rises in one conditional update: concurrent "
            "awards never overspend it; a refused award gets 409 with what remains. One request is one "
            "transaction: on any error nothing is written.",
            "parameters": [id_parameter("application_id")],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": ref("AwardRequest"),
                        "example": {"amount": "1500.00", "section": "fonctionnement", "reason": "Commission du 12 mai"},
                    }
                },
            },
            "responses": {
                "201": json_response("The award.", "Award", EXAMPLE_AWARD),
                "409": {
                    "description": "The envelope has not enough left (`envelope_exceeded`, with `remaining`), "
                    "or the application cannot be awarded: withdrawn, not under review, already decided "
                    "(`not_awardable`), or its reviews are not all in and `force` was not given "
                    "(`reviews_pending`, with the counts).",
                    "content": {
                        JSON: {
                            "schema": {"oneOf": [ref("EnvelopeExceeded"), ref("ReviewsPending"), ref("Error")]},
                            "examples": {
                                "envelope_exceeded": {
                                    "value": {
                                        "error": "envelope_exceeded",
                                        "message": "Enveloppe dépassée : 500,00 € restants",
                                        "remaining": "500.00",
                                    }
                                },
                                "not_awardable": {
                                    "value": {"error": "not_awardable", "message": "Le dossier a déjà reçu une décision."}
                                },
                                "reviews_pending": {
                                    "value": {
                                        "error": "reviews_pending",
                                        "message": "1 évaluation de ce dossier n'est pas encore transmise : pour "
                                        "accorder quand même, indiquez pourquoi vous décidez sans l'attendre.",
                                        "submitted": 2,
                                        "pending": 1,
                                    }
                                },
                            },
                        }
                    },
                },
                **error_responses("Unauthorized", "Forbidden", "NotFound", "Invalid"),
            },
        }
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "Subventia API",
        "version": "1.0.0",
        "description": "Calls for projects, their envelopes and applications, and awards, for staff tools "
        "and the finance system. Authenticate with `Authorization: Bearer <token>`; tokens are created by "
        "programme managers and admins on their account page or with `flask api-tokens create`. Money is "
        "a decimal string in euros, instants are ISO 8601 with their offset.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "responses": RESPONSES,
        "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer", "description": "sbv_… token"}},
    },
    "security": [{"bearerToken": []}],
}


def openapi_document() -> dict:
    return copy.deepcopy(DOCUMENT)
