//! The OpenAPI document as this server serves it: generated from the code,
//! with the bounds the engine was opened with written into the schemas
//! (derive attributes can only hold constants), so the document states
//! exactly what this server accepts.

use poem_openapi::OpenApiService;
use serde_json::{Value, json};
use strongroom_engine::Limits;

use crate::{ApiConfig, Apis};

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

/// The JSON document with `limits` written in.
pub(crate) fn document(generated: &str, limits: &Limits) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(generated) else {
        return generated.to_owned();
    };
    let ttl = &mut spec["components"]["schemas"]["NewMessage"]["properties"]["ttl_seconds"];
    if ttl.is_object() {
        ttl["minimum"] = json!(1);
        ttl["maximum"] = json!(limits.max_ttl.as_secs());
    }
    if let Some(parameters) = spec["paths"]["/v1/messages"]["get"]["parameters"].as_array_mut() {
        for p in parameters.iter_mut().filter(|p| p["name"] == "limit") {
            p["schema"]["minimum"] = json!(1);
            p["schema"]["maximum"] = json!(limits.max_page);
        }
    }
    serde_json::to_string_pretty(&spec).unwrap_or_else(|_| generated.to_owned())
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
        let spec: Value = serde_json::from_str(&document(&generated, &limits)).expect("json");
        let ttl = &spec["components"]["schemas"]["NewMessage"]["properties"]["ttl_seconds"];
        assert_eq!(ttl["maximum"], 3600);
        let limit = spec["paths"]["/v1/messages"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == "limit")
            .expect("limit");
        assert_eq!(limit["schema"]["maximum"], 20);
    }
}
