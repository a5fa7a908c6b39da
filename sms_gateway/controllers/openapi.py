"""The OpenAPI 3.1 document of the JSON API (``controllers/api.py``), served at ``/sms_gateway/api/v1/openapi.json``.

Tests validate real answers against it (jsonschema) and run schemathesis against the live server: what it
says is what the API does."""

ERROR_CODES = {
    "400": "Malformed request: the body is not a JSON object, or a bad Idempotency-Key.",
    "401": "Missing, invalid, expired or revoked API key.",
    "402": "Insufficient credit or quota: nothing was queued, nothing charged.",
    "403": "Not allowed: the key's user is not an SMS user, the company is not one of theirs, sending is "
    "restricted or the company has no provider account.",
    "404": "No such message (or one of another application).",
    "409": "Idempotency-Key reused with another body, or the message cannot be canceled any more.",
    "413": "Too many recipients (more than 10,000) or body too large (2 MiB).",
    "422": "Invalid fields.",
    "429": "Rate limited: retry after the number of seconds in Retry-After.",
    "500": "Unexpected server error: nothing was sent.",
}


def _error(status):
    response = {
        "description": ERROR_CODES[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
        }
    return response


def _errors(*statuses):
    return {status: _error(status) for status in ("401", "403", "429", "500", *statuses)}


def _ok(description, schema_name):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
COMPANY_PARAM = {
    "name": "company_id",
    "in": "query",
    "required": False,
    "description": "One of the key user's companies (default: the application's).",
    "schema": {"type": "integer", "minimum": 1},
}
MESSAGE_ID_PARAM = {
    "name": "message_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable code: unauthorized, forbidden, not_sms_user, company_not_allowed, sending_restricted, "
                        "no_account, insufficient_credit, quota_exceeded, not_found, idempotency_conflict, not_cancelable, "
                        "body_too_large, too_many_recipients, malformed, invalid_idempotency_key, invalid_field, "
                        "invalid, sender_not_allowed, text_too_long, rate_limited, internal_error.",
                    },
                    "message": {"type": "string", "description": "In the key user's language."},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "SendRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["recipients", "text"],
        "properties": {
            "recipients": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10000,
                "items": {"type": "string", "minLength": 1, "maxLength": 64},
                "description": "Phone numbers, E.164 or national (read with the company's country).",
            },
            "text": {"type": "string", "minLength": 1, "maxLength": 1600, "pattern": "\\S"},
            "sender": {
                "type": "string",
                "minLength": 1,
                "maxLength": 11,
                "pattern": "\\S",
                "description": "Must be the sender of the company's provider account (the only one allowed).",
            },
            "reference": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
            "send_at": {"type": "string", "format": "date-time", "description": "Not before this time (UTC)."},
            "callback_url": {
                "type": "string",
                "format": "uri",
                "maxLength": 2048,
                "description": "Receives a signed POST when each SMS is sent, delivered or fails.",
            },
            "company_id": {"type": "integer", "minimum": 1},
        },
    },
    "RecipientResult": {
        "type": "object",
        "required": ["index", "recipient", "id", "number", "status", "segments", "credits", "reason", "message"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "recipient": {"type": "string"},
            "id": {"type": ["integer", "null"], "description": "The SMS (null for a duplicate)."},
            "number": {"type": ["string", "null"], "description": "E.164, null when invalid."},
            "status": {"enum": ["queued", "rejected"]},
            "segments": {"type": "integer", "minimum": 0},
            "credits": {"type": "integer", "minimum": 0},
            "reason": {"enum": [None, "invalid_number", "blacklisted", "duplicate"]},
            "message": NULLABLE_STRING,
            "duplicate_of": {"type": "integer", "minimum": 0},
        },
    },
    "SendResponse": {
        "type": "object",
        "required": ["reference", "queued", "rejected", "credits", "messages"],
        "properties": {
            "reference": NULLABLE_STRING,
            "queued": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "credits": {"type": "integer", "minimum": 0},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/RecipientResult"}},
        },
    },
    "Message": {
        "type": "object",
        "required": [
            "id",
            "number",
            "status",
            "failure_type",
            "error_message",
            "reference",
            "segments",
            "credits",
            "created_at",
            "send_at",
            "sent_at",
            "delivered_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "number": NULLABLE_STRING,
            "status": {"enum": ["queued", "sending", "sent", "delivered", "failed", "canceled"]},
            "failure_type": NULLABLE_STRING,
            "error_message": NULLABLE_STRING,
            "reference": NULLABLE_STRING,
            "segments": {"type": "integer", "minimum": 0},
            "credits": {"type": "integer", "minimum": 0, "description": "Charged (0 once refunded)."},
            "created_at": {"type": "string", "format": "date-time"},
            "send_at": NULLABLE_DATETIME,
            "sent_at": NULLABLE_DATETIME,
            "delivered_at": NULLABLE_DATETIME,
        },
    },
    "MessageList": {
        "type": "object",
        "required": ["messages", "limit", "offset"],
        "properties": {
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
    "Balance": {
        "type": "object",
        "required": ["company_id", "company", "balance", "reserved", "quota_left"],
        "properties": {
            "company_id": {"type": "integer"},
            "company": {"type": "string"},
            "balance": {"type": "integer", "description": "SMS units left to spend (reservations deducted)."},
            "reserved": {"type": "integer", "description": "Held for SMS still waiting for the provider."},
            "quota_left": {"type": ["integer", "null"], "description": "Null when no quota applies."},
        },
    },
    "StatusCallback": {
        "type": "object",
        "description": "POSTed to callback_url; header X-Sms-Gateway-Signature: sha256=<hex HMAC-SHA256 of "
        "'<X-Sms-Gateway-Timestamp>.<body>' with the application's callback secret>.",
        "required": ["event", "message", "occurred_at"],
        "properties": {
            "event": {"const": "message.status"},
            "message": {"$ref": "#/components/schemas/Message"},
            "occurred_at": {"type": "string", "format": "date-time"},
        },
    },
}


def openapi_document(server_url):
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SMS Gateway API",
            "version": "1.0.0",
            "description": "Send SMS through the organisation's own provider accounts. Authenticate with the "
            "application's API key: 'Authorization: Bearer <key>'. Nothing is sent during the request: SMS are "
            "queued and sent by the gateway; their status is read back or pushed to callback_url.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/messages": {
                "post": {
                    "operationId": "sendMessages",
                    "summary": "Queue one SMS per recipient",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Same key and body within 24 hours: the first answer again, nothing "
                            "sent twice; same key, other body: 409.",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SendRequest"}}},
                    },
                    "responses": {
                        "201": _ok("Queued (per-recipient results).", "SendResponse"),
                        **_errors("400", "402", "409", "413", "422"),
                    },
                },
                "get": {
                    "operationId": "listMessages",
                    "summary": "The application's messages, oldest first",
                    "parameters": [
                        {"name": "reference", "in": "query", "required": False, "schema": {"type": "string"}},
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "Created at or after (ISO 8601).",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 0, "default": 0},
                        },
                        COMPANY_PARAM,
                    ],
                    "responses": {"200": _ok("Messages.", "MessageList"), **_errors("422")},
                },
            },
            "/messages/{message_id}": {
                "get": {
                    "operationId": "getMessage",
                    "summary": "One message's status",
                    "parameters": [MESSAGE_ID_PARAM, COMPANY_PARAM],
                    "responses": {"200": _ok("The message.", "Message"), **_errors("404", "422")},
                },
                "delete": {
                    "operationId": "cancelMessage",
                    "summary": "Cancel a message no provider got yet (its credit is given back)",
                    "parameters": [MESSAGE_ID_PARAM, COMPANY_PARAM],
                    "responses": {"200": _ok("Canceled.", "Message"), **_errors("404", "409", "422")},
                },
            },
            "/balance": {
                "get": {
                    "operationId": "getBalance",
                    "summary": "The company's SMS credit",
                    "parameters": [COMPANY_PARAM],
                    "responses": {"200": _ok("The balance.", "Balance"), **_errors("422")},
                }
            },
        },
        "webhooks": {
            "messageStatus": {
                "post": {
                    "summary": "A message was sent, delivered or failed",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusCallback"}}}
                    },
                    "responses": {"200": {"description": "Any 2xx acknowledges; otherwise retried with backoff."}},
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
