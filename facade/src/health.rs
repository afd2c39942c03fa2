//! Liveness probe.

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::http::problem::{Answer, Problem, answer, errors};
use crate::http::state::State;
use crate::tags::ApiTags;

#[derive(ApiResponse)]
pub(crate) enum HealthResponse {
    /// The server is up.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

#[derive(ApiResponse)]
pub(crate) enum ReadyResponse {
    /// The database is open and takes writes.
    #[oai(status = 200)]
    Ok(Json<Health>),
}
errors! {
    ReadyErrors {
        503 => "The database does not take writes (the cause is logged).",
    }
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

    /// Readiness: answers 200 once the database is open and takes writes
    /// (one empty durable commit), 503 otherwise.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&State>) -> Answer<ReadyResponse, ReadyErrors> {
        match state.blocking(|e| e.maintenance().check_writable()).await? {
            Ok(()) => Ok(ReadyResponse::Ok(Json(Health {
                status: "ok".to_owned(),
            }))),
            Err(e) => {
                tracing::error!(error = %e, "readiness check failed");
                answer(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database does not take writes",
                ))
            }
        }
    }
}

/// Service status.
#[derive(Object)]
pub(crate) struct Health {
    /// Always `ok` while the server answers.
    pub(crate) status: String,
}
