"""The OpenAPI 3.1 document of the web face, served at ``/openapi.json``.

Written by hand next to the handlers it describes (every status a handler can answer is
listed, with its body schema); ``tests/web/test_openapi_schemathesis.py`` runs schemathesis
against a live node to keep the two in step.
"""

from __future__ import annotations

from typing import Any

from idnode import __version__

__all__ = ["openapi_document"]

_REF = "#/components/schemas/"
_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _jsonp(schema: dict[str, Any], description: str) -> dict[str, Any]:
    out = _json(schema, description)
    out["content"]["application/javascript"] = {"schema": {"type": "string"}}
    return out


_ERROR = _ref("Error")
_AUTH_HEADERS = {"WWW-Authenticate": {
    "description": "Two challenges: Basic realm=\"handle\" and Handle sessionId=…, nonce=…",
    "schema": {"type": "string"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {300: "referral (RC 302/303)", 400: "bad request (RC 4, 102, 200, 202, 301)",
            401: "authentication needed or failed (RC 402)",
            403: "not permitted (RC 400, 401, 403, 404)", 404: "handle not found (RC 100)",
            405: "method not allowed", 409: "handle or value exists (RC 101, 201)",
            501: "operation not supported (RC 5)", 503: "busy or read-only (RC 3, 7)",
            413: "request body too large", 414: "request target too long",
            431: "request headers too large"}
    out: dict[str, Any] = {}
    # Every operation can meet the HTTP server's limits (``[http]`` and ``[limits]``).
    for status in (*statuses, 413, 414, 431):
        response = _jsonp(_ERROR, text[status])
        if status == 401:
            response["headers"] = _AUTH_HEADERS
        out[str(status)] = response
    return out


_COMMON = [
    {"name": "pretty", "in": "query", "required": False, "description": "indent the JSON",
     "schema": {"type": "boolean"}},
    {"name": "callback", "in": "query", "required": False,
     "description": "JSONP: wrap the answer in callback(...) (a JavaScript name)",
     "schema": {"type": "string", "maxLength": 128}},
]
_HANDLE_PARAM = {"name": "handle", "in": "path", "required": True,
                 "description": "the handle, e.g. 88.118.8/JXDY2106023 (percent-encode '/' "
                                "only if your client requires it)",
                 "schema": {"type": "string", "minLength": 1, "maxLength": 2048}}


def _schemas() -> dict[str, Any]:
    data = {"type": "object", "required": ["format", "value"], "properties": {
        "format": {"type": "string",
                   "enum": ["string", "base64", "hex", "admin", "vlist", "site", "key"]},
        "value": {}}}
    value = {"type": "object", "required": ["index", "type", "data", "ttl"],
             "properties": {
                 "index": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                 "type": {"type": "string"},
                 "data": data,
                 "ttl": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                 "timestamp": {"type": "string", "format": "date-time"},
                 "permissions": {"type": "string", "pattern": "^[01]{4}$"},
                 "references": {"type": "array", "items": {
                     "type": "object", "properties": {"handle": {"type": "string"},
                                                      "index": {"type": "integer"}}}}}}
    value_in = {"type": "object", "required": ["index", "type", "data"], "properties": {
        "index": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "type": {"type": "string", "minLength": 1},
        "data": {"oneOf": [{"type": "string"}, data]},
        "ttl": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "permissions": {"type": "string"},
        "references": {"type": "array"}}}
    return {
        "Value": value,
        "ValueIn": value_in,
        "Error": {"type": "object", "required": ["responseCode"], "properties": {
            "responseCode": {"type": "integer"}, "handle": {"type": "string"},
            "message": {"type": "string"}}},
        "Record": {"type": "object", "required": ["responseCode", "handle", "values"],
                   "properties": {"responseCode": {"const": 1},
                                  "handle": {"type": "string"},
                                  "values": {"type": "array", "items": _ref("Value")}}},
        "NoValues": {"type": "object", "required": ["responseCode", "handle"], "properties": {
            "responseCode": {"const": 200}, "handle": {"type": "string"},
            "message": {"type": "string"}}},
        "Done": {"type": "object", "required": ["responseCode", "handle"], "properties": {
            "responseCode": {"const": 1}, "handle": {"type": "string"}}},
        "HandleList": {"type": "object", "required": ["responseCode", "prefix", "totalCount",
                                                      "handles"], "properties": {
            "responseCode": {"const": 1}, "prefix": {"type": "string"},
            "totalCount": {"type": "integer"}, "page": {"type": "integer"},
            "pageSize": {"type": "integer"}, "next": {"type": "string"},
            "handles": {"type": "array", "items": {"type": "string"}}}},
        "Session": {"type": "object", "required": ["sessionId", "nonce", "authenticated"],
                    "properties": {"sessionId": {"type": "string"},
                                   "nonce": {"type": "string"},
                                   "authenticated": {"type": "boolean"},
                                   "id": {"type": "string"}}},
    }


def _handle_ops() -> dict[str, Any]:
    get_params = [
        _HANDLE_PARAM,
        {"name": "index", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "only these indexes (repeatable)",
         "schema": {"type": "array", "items": {"type": "integer", "minimum": 0,
                                               "maximum": 2147483647}}},
        {"name": "type", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "only these types (repeatable; 'URL.' also matches subtypes)",
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "auth", "in": "query", "required": False, "schema": {"type": "boolean"},
         "description": "authoritative answer (always so here)"},
        {"name": "publicOnly", "in": "query", "required": False,
         "schema": {"type": "boolean"},
         "description": "default true unless the request is authenticated"},
        *_COMMON,
    ]
    put_params = [
        _HANDLE_PARAM,
        {"name": "index", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "add or replace these values (must equal the body's indexes; or "
                        "'various'); without it the handle is created",
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "overwrite", "in": "query", "required": False, "schema": {"type": "boolean"},
         "description": "default true; false gives 409 when the handle or value exists"},
        {"name": "mintNewSuffix", "in": "query", "required": False,
         "schema": {"type": "boolean"},
         "description": "with handle 'PREFIX/', the server appends a UUID suffix"},
        *_COMMON,
    ]
    body = {"required": True, "content": {_JSON: {"schema": {"oneOf": [
        {"type": "array", "items": _ref("ValueIn")},
        {"type": "object", "required": ["values"], "properties": {
            "handle": {"type": "string"},
            "values": {"type": "array", "items": _ref("ValueIn")}}},
        _ref("ValueIn")]}}}}
    return {
        "get": {"summary": "Resolve a handle", "operationId": "getHandle",
                "parameters": get_params,
                "responses": {"200": _jsonp({"oneOf": [_ref("Record"), _ref("NoValues")]},
                                            "the record (RC 1) or no matching value (RC 200)"),
                              **_errors(400, 401, 403, 404, 503)}},
        "put": {"summary": "Create a handle, or add/replace values (index=…)",
                "operationId": "putHandle", "parameters": put_params, "requestBody": body,
                "responses": {"200": _jsonp(_ref("Done"), "done (overwrite=true)"),
                              "201": _jsonp(_ref("Done"), "created (overwrite=false)"),
                              **_errors(400, 401, 403, 404, 409, 503)}},
        "delete": {"summary": "Delete a handle, or values (index=…)",
                   "operationId": "deleteHandle",
                   "parameters": [_HANDLE_PARAM,
                                  {"name": "index", "in": "query", "required": False,
                                   "style": "form", "explode": True,
                                   "schema": {"type": "array", "items": {
                                       "type": "integer", "minimum": 0,
                                       "maximum": 2147483647}}}, *_COMMON],
                   "responses": {"200": _jsonp(_ref("Done"), "deleted"),
                                 **_errors(400, 401, 403, 404, 503)}},
    }


def openapi_document() -> dict[str, Any]:
    """The whole document (a fresh dict each call)."""
    list_params = [
        {"name": "prefix", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "pageSize", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0},
         "description": "0 = the count only; at most the node's list page size"},
        {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "idnode extension: continue after this handle (the 'next' field)"},
        *_COMMON]
    session_ops = {"summary": "The Handle authentication scheme's session",
                   "responses": {"200": _jsonp(_ref("Session"), "the session"),
                                 **_errors(400, 401, 403, 503)}}
    search_params = [
        {"name": "URL", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "pattern; '*' is a wildcard; needs 3 literal characters at one end"},
        {"name": "CHECKSUM", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "retrieverecords", "in": "query", "required": False,
         "schema": {"type": "boolean"}}, *_COMMON]
    found = {"type": "array", "items": {"oneOf": [
        {"type": "string"},
        {"type": "object", "required": ["handle", "values"],
         "properties": {"handle": {"type": "string"},
                        "values": {"type": "array", "items": _ref("Value")}}}]}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "idnode REST API (Handle.Net compatible)", "version": __version__,
                 "description": "Identifier registration and resolution (工业互联网标识解析). "
                                "Authenticate writes with HTTP Basic (user "
                                "'300%3APREFIX/ADMIN', password the HS_SECKEY secret), a TLS "
                                "client certificate (header Authorization: Handle "
                                "clientCert=\"true\") or the Handle challenge scheme."},
        "paths": {
            "/api/handles/{handle}": _handle_ops(),
            "/api/handles": {"get": {
                "summary": "List the handles under a prefix", "operationId": "listHandles",
                "parameters": list_params,
                "responses": {"200": _jsonp(_ref("HandleList"), "one page"),
                              **_errors(400, 401, 403, 503)}}},
            "/api/prefixes": {"get": {
                "summary": "Homed prefixes (server administrators)",
                "operationId": "listPrefixes", "parameters": list(_COMMON),
                "responses": {"200": _jsonp({"type": "object", "properties": {
                    "responseCode": {"const": 1},
                    "prefixes": {"type": "array", "items": {"type": "string"}}}},
                    "the prefixes"), **_errors(400, 401, 403, 503)}}},
            "/api/site": {"get": {
                "summary": "This server's site information (HS_SITE)",
                "operationId": "getSite", "parameters": list(_COMMON),
                "responses": {"200": _jsonp({"type": "object", "required": ["responseCode",
                                                                            "site"]},
                                            "the site")}}},
            "/api/sessions": {"post": {
                "summary": "Start a session (send a signed answer to authenticate at once)",
                "operationId": "newSession", "parameters": list(_COMMON),
                "responses": {"201": _jsonp(_ref("Session"), "a new session"),
                              "200": _jsonp(_ref("Session"), "authenticated"),
                              **_errors(400, 401, 403, 503)}}},
            "/api/sessions/this": {
                "get": {**session_ops, "operationId": "getSession"},
                "put": {**session_ops, "operationId": "authenticateSession"},
                "delete": {"summary": "End the session", "operationId": "endSession",
                           "responses": {"200": _jsonp(_ERROR, "ended"),
                                         **_errors(400, 401, 403, 503)}}},
            "/hrls/handles/": {"get": {
                "summary": "Reverse lookup: handles whose values match (B2HANDLE-HRLS API)",
                "operationId": "searchHandles", "parameters": search_params,
                "responses": {"200": _jsonp(found, "matching handles"),
                              **_errors(400, 401, 403, 503)}}},
            "/hrls/ping": {"get": {
                "summary": "Reverse lookup liveness", "operationId": "ping",
                "responses": {"200": {"description": "OK",
                                      "content": {"text/plain": {"schema": {
                                          "type": "string"}}}}}}},
        },
        "components": {"schemas": _schemas()},
    }
