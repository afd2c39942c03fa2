//! The OpenAPI document as this server serves it: generated from the code,
//! with the bounds the engine was opened with written into the schemas
//! (derive attributes can only hold constants), so the document states
//! exactly what this server accepts.

use poem_openapi::OpenApiService;
use serde_json::{Value, json};
use strongroom_engine::Limits;
use strongroom_engine::audit::AuditAction;

use crate::{ApiConfig, Apis, BroadcastCaps};

/// The service (operations and schemas) as poem-openapi generates it.
pub(crate) fn service(config: &ApiConfig) -> OpenApiService<Apis, ()> {
    let service = OpenApiService::new(crate::apis(), "Strongroom", env!("CARGO_PKG_VERSION"))
        .description(
            "Encrypted, expiring, per-user messages. Authenticate with \
             `POST /v1/sessions`, then send `Authorization: Bearer <access_token>`. \
             Errors are RFC 9457 `application/problem+json`.",
        );
    match &config.server_url {
        Some(url) => service.server(url),
        None => service,
    }
}

/// The JSON document with `limits` and the broadcast caps written in.
pub(crate) fn document(generated: &str, limits: &Limits, broadcast: &BroadcastCaps) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(generated) else {
        return generated.to_owned();
    };
    let broadcast_ttl = broadcast.max_ttl.min(limits.max_ttl);
    for (schema, max) in [
        ("NewMessage", limits.max_ttl),
        ("NewBroadcast", broadcast_ttl),
    ] {
        let ttl = &mut spec["components"]["schemas"][schema]["properties"]["ttl_seconds"];
        if ttl.is_object() {
            ttl["minimum"] = json!(1);
            ttl["maximum"] = json!(max.as_secs());
        }
    }
    for path in ["/v1/messages", "/v1/files"] {
        let Some(parameters) = spec["paths"][path]["get"]["parameters"].as_array_mut() else {
            continue;
        };
        for p in parameters.iter_mut().filter(|p| p["name"] == "limit") {
            p["schema"]["minimum"] = json!(1);
            p["schema"]["maximum"] = json!(limits.max_page);
        }
        // A cursor is a message (file) id; anything else (the empty
        // string too) is refused.
        for p in parameters.iter_mut().filter(|p| p["name"] == "cursor") {
            p["schema"]["format"] = json!("uuid");
        }
    }
    document_uploads(&mut spec, limits);
    // An event id is 16 bytes in unpadded base64url (so its last character
    // carries two bits: A, Q, g or w); empty means none. Anything else is
    // a bad request.
    if let Some(parameters) = spec["paths"]["/v1/events"]["get"]["parameters"].as_array_mut() {
        for p in parameters
            .iter_mut()
            .filter(|p| p["name"] == "Last-Event-ID" || p["name"] == "last_event_id")
        {
            p["schema"]["pattern"] = json!("^([A-Za-z0-9_-]{21}[AQgw])?$");
        }
    }
    document_audit_and_quotas(&mut spec);
    document_payment(&mut spec);
    document_credits(&mut spec);
    let webhook = &mut spec["paths"]["/v1/billing/stripe"]["post"]["requestBody"];
    if webhook.is_object() {
        webhook["content"] = json!({ "application/json": { "schema": {
            "type": "object",
            "description": "A Stripe event exactly as Stripe sent it: the signature covers \
                            the raw bytes."
        } } });
    }
    document_body_errors(&mut spec);
    document_nulls(&mut spec);
    document_event_stream(&mut spec);
    let share = &mut spec["components"]["schemas"]["NewShareRequest"];
    if share["properties"]["message"].is_object() {
        share["properties"]["message"]["minLength"] = json!(1);
        // A message or a file, never both; a file only with a
        // server-side key. (`null` reads as absent.)
        share["oneOf"] = json!([
            { "required": ["message"], "properties": { "message": { "type": "string" } } },
            { "required": ["file_id"], "properties": { "file_id": { "type": "string" } } }
        ]);
    }
    serde_json::to_string_pretty(&spec).unwrap_or_else(|_| generated.to_owned())
}

/// File uploads: the ttl's bounds, and a body of any media type up to
/// the largest file.
fn document_uploads(spec: &mut Value, limits: &Limits) {
    for path in ["/v1/files", "/v1/users/{username}/files"] {
        let operation = &mut spec["paths"][path]["post"];
        if let Some(parameters) = operation["parameters"].as_array_mut() {
            for p in parameters.iter_mut().filter(|p| p["name"] == "ttl_seconds") {
                p["schema"]["minimum"] = json!(1);
                p["schema"]["maximum"] = json!(limits.max_ttl.as_secs());
            }
        }
        let body = &mut operation["requestBody"];
        if body.is_object() {
            body["description"] = json!(format!(
                "The file's bytes (at most {} bytes), sent as they are; \
                 `Content-Type` is the file's media type. No body is an \
                 empty file.",
                limits.max_file_len
            ));
            body["required"] = json!(false);
            body["content"] = json!({
                "*/*": { "schema": { "type": "string", "format": "binary",
                                     "maxLength": limits.max_file_len } }
            });
        }
    }
}

/// Exact integer bounds (poem-openapi writes bounds as floats, which lose
/// the last digits of 2^63 − 1), and the audit actions by name.
fn document_audit_and_quotas(spec: &mut Value) {
    let largest = json!(i64::MAX);
    for field in ["max_bytes", "max_records"] {
        let property = &mut spec["components"]["schemas"]["QuotaLimits"]["properties"][field];
        if property.is_object() {
            property["maximum"] = largest.clone();
        }
    }
    if let Some(parameters) = spec["paths"]["/v1/admin/audit"]["get"]["parameters"].as_array_mut() {
        for p in parameters.iter_mut() {
            match p["name"].as_str() {
                Some("after") => p["schema"]["maximum"] = largest.clone(),
                Some("action") => p["schema"]["enum"] = json!(AuditAction::names()),
                _ => {}
            }
        }
    }
}

/// With credits on, every request made with a service account's API key
/// pays the `service-call` price first, and uploads, downloads, share
/// links and (when priced) messages pay theirs: any operation a bearer
/// token may call can answer 402, whose body names `balance` and `cost`,
/// and 429, since a service call's toll counts toward the write rate.
fn document_payment(spec: &mut Value) {
    let problem = &mut spec["components"]["schemas"]["Problem"]["properties"];
    if problem.is_object() {
        problem["balance"] = json!({ "type": "integer", "format": "uint64", "minimum": 0,
            "description": "For a 402: the account's balance, in credits." });
        problem["cost"] = json!({ "type": "integer", "format": "uint64", "minimum": 0,
            "description": "For a 402: what the refused action costs, in credits." });
    }
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in operation.values_mut() {
            let secured = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| r.contains_key("bearer")))
            });
            let responses = &mut op["responses"];
            if !secured || !responses.is_object() {
                continue;
            }
            let problem = json!({ "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" } } });
            if responses.get("402").is_none() {
                responses["402"] = json!({
                    "description": "Not enough credits (when the server meters): the body \
                                    names `balance` and `cost`; nothing was done.",
                    "content": problem.clone()
                });
            }
            if responses.get("429").is_none() {
                responses["429"] = json!({
                    "description": "Over the caller's writes per minute (a service call's \
                                    toll is a write when the server meters); retry after \
                                    `Retry-After` seconds. Nothing was done.",
                    "headers": { "RETRY-AFTER": { "deprecated": false, "required": true,
                        "schema": { "type": "integer", "format": "uint64" } } },
                    "content": problem
                });
            }
        }
    }
}

/// An adjustment is never zero; the ledger's kinds are a fixed set.
fn document_credits(spec: &mut Value) {
    let amount = &mut spec["components"]["schemas"]["NewAdjustment"]["properties"]["amount"];
    if amount.is_object() {
        amount["not"] = json!({ "enum": [0] });
    }
    let kinds = [
        "grant",
        "charge",
        "top-up",
        "purchase",
        "refund",
        "adjustment",
    ];
    for path in ["/v1/admin/credits/ledger", "/v1/me/credits/ledger"] {
        let Some(parameters) = spec["paths"][path]["get"]["parameters"].as_array_mut() else {
            continue;
        };
        for p in parameters.iter_mut() {
            match p["name"].as_str() {
                Some("kind") => p["schema"]["enum"] = json!(kinds),
                Some("after") => p["schema"]["maximum"] = json!(i64::MAX),
                _ => {}
            }
        }
    }
}

/// poem-openapi reads `null` as "absent" for every optional field, and
/// writes an absent optional field as `null`: say so in every schema.
fn document_nulls(spec: &mut Value) {
    let Some(schemas) = spec["components"]["schemas"].as_object_mut() else {
        return;
    };
    for schema in schemas.values_mut() {
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            if !required.contains(name) && property.get("$ref").is_none() {
                property["nullable"] = json!(true);
            }
        }
    }
}

/// The event stream, described the way OpenAPI 3.2 describes sequential
/// media types: `itemSchema` is one server-sent event, whose `data` is a
/// JSON `StreamEvent`; `schema` is the whole stream, an array of them.
/// poem-openapi writes `schema` as an array of `StreamEvent`, which tools
/// that read `schema` as one event (OpenAPI 3.0 has no `itemSchema`) then
/// hold each event's data against. Tools that know neither keyword still
/// see the stream as a list of events, which it is.
fn document_event_stream(spec: &mut Value) {
    let media =
        &mut spec["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    if !media.is_object() {
        return;
    }
    let event = json!({ "$ref": "#/components/schemas/ServerSentEvent" });
    *media = json!({
        "schema": { "type": "array", "items": event },
        "itemSchema": event,
    });
    spec["components"]["schemas"]["ServerSentEvent"] = json!({
        "type": "object",
        "title": "ServerSentEvent",
        "description": "One event of the stream, as `text/event-stream` frames it.",
        "required": ["event", "data", "id"],
        "properties": {
            "event": {
                "type": "string",
                "enum": ["message", "broadcast", "file"],
                "description": "The event type: the `kind` of its data.",
            },
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": { "$ref": "#/components/schemas/StreamEvent" },
                "description": "A JSON `StreamEvent`.",
            },
            "id": {
                "type": "string",
                "description": "Your stream's opaque position after this event; \
                                send it back as `Last-Event-ID` to resume.",
            },
        },
    });
}

/// Every operation that takes a JSON body can also answer 400 (the body is
/// not valid JSON of the documented shape) and 415 (it is not JSON at all):
/// poem-openapi rejects those before the handler runs, so the derived
/// responses do not list them.
fn document_body_errors(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": {
                "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }
            }
        })
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in operation.values_mut() {
            let json_body = operation["requestBody"]["content"]
                .as_object()
                .is_some_and(|c| c.keys().any(|k| k.starts_with("application/json")));
            if !json_body {
                continue;
            }
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            responses
                .entry("400")
                .or_insert_with(|| problem("The body is not valid JSON of the documented shape."));
            responses
                .entry("415")
                .or_insert_with(|| problem("The body is not `application/json`."));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_document_states_the_engines_limits() {
        let limits = Limits {
            max_ttl: Duration::from_secs(3600),
            max_page: 20,
            ..Limits::default()
        };
        let generated = service(&ApiConfig::default()).spec();
        let caps = BroadcastCaps::default();
        let spec: Value =
            serde_json::from_str(&document(&generated, &limits, &caps)).expect("json");
        let ttl = &spec["components"]["schemas"]["NewMessage"]["properties"]["ttl_seconds"];
        assert_eq!(ttl["maximum"], 3600);
        let ttl = &spec["components"]["schemas"]["NewBroadcast"]["properties"]["ttl_seconds"];
        assert_eq!(ttl["maximum"], 3600, "the tighter of the two");
        let limit = spec["paths"]["/v1/messages"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == "limit")
            .expect("limit");
        assert_eq!(limit["schema"]["maximum"], 20);
        let login = &spec["paths"]["/v1/sessions"]["post"]["responses"];
        assert!(login["400"].is_object() && login["415"].is_object());
        let read = &spec["paths"]["/v1/messages/{id}"]["get"]["responses"];
        assert!(read["415"].is_null(), "no body, no 415");
    }

    #[test]
    fn each_streamed_event_is_described_with_its_data() {
        let generated = service(&ApiConfig::default()).spec();
        let document = document(&generated, &Limits::default(), &BroadcastCaps::default());
        let spec: Value = serde_json::from_str(&document).expect("json");
        let media =
            &spec["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"];
        let event = json!({ "$ref": "#/components/schemas/ServerSentEvent" });
        assert_eq!(media["itemSchema"], event);
        assert_eq!(media["schema"]["items"], event);
        let data = &spec["components"]["schemas"]["ServerSentEvent"]["properties"]["data"];
        assert_eq!(
            data["contentSchema"]["$ref"],
            "#/components/schemas/StreamEvent"
        );
        assert!(spec["components"]["schemas"]["StreamEvent"].is_object());
    }
}
