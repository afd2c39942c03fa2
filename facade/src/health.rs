//! Liveness probe.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::tags::ApiTags;

/// Service status.
#[derive(Object)]
pub(crate) struct Health {
    /// Always `ok` while the server answers.
    status: String,
}

#[derive(ApiResponse)]
pub(crate) enum HealthResponse {
    /// The server is up.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

pub(crate) struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: answers 200 while the server is up.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health {
            status: "ok".to_owned(),
        }))
    }
}
