//! Response headers every API answer carries: `Cache-Control: no-store`
//! (answers hold tokens, tickets and message text: no cache may keep them)
//! and `X-Content-Type-Options: nosniff`; and on a 405, the `Allow` header
//! listing the methods the path does have.

use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

/// The paths of the API as (segments, methods), for `Allow`.
pub(crate) type Routes = Arc<Vec<(Vec<String>, Vec<Method>)>>;

/// The API's routes, read from its OpenAPI document (`{param}` segments
/// match any segment).
pub(crate) fn routes(spec: &serde_json::Value) -> Routes {
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let segments = path.split('/').map(str::to_owned).collect();
        let methods = item
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(m, _)| Method::from_bytes(m.to_uppercase().as_bytes()).ok())
            .collect();
        routes.push((segments, methods));
    }
    Arc::new(routes)
}

fn allowed(routes: &Routes, path: &str) -> Vec<Method> {
    let wanted: Vec<&str> = path.split('/').collect();
    let mut methods: Vec<Method> = routes
        .iter()
        .filter(|(segments, _)| {
            segments.len() == wanted.len()
                && segments
                    .iter()
                    .zip(&wanted)
                    .all(|(s, w)| s.starts_with('{') || s == w)
        })
        .flat_map(|(_, m)| m.iter().cloned())
        .collect();
    methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    methods.dedup();
    methods
}

pub(crate) struct ApiHeaders(pub(crate) Routes);

impl<E: Endpoint> Middleware<E> for ApiHeaders {
    type Output = ApiHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ApiHeadersEndpoint {
            inner,
            routes: self.0.clone(),
        }
    }
}

pub(crate) struct ApiHeadersEndpoint<E> {
    inner: E,
    routes: Routes,
}

impl<E: Endpoint> Endpoint for ApiHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_owned();
        let mut response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let headers = response.headers_mut();
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            let methods = allowed(&self.routes, &path);
            let list: Vec<&str> = methods.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_matching_path() {
        let spec = serde_json::json!({"paths": {
            "/v1/messages": {"get": {}, "post": {}},
            "/v1/messages/{id}": {"get": {}, "delete": {}},
        }});
        let routes = routes(&spec);
        assert_eq!(
            allowed(&routes, "/v1/messages"),
            [Method::GET, Method::POST]
        );
        assert_eq!(
            allowed(&routes, "/v1/messages/abc"),
            [Method::DELETE, Method::GET]
        );
        assert!(allowed(&routes, "/nope").is_empty());
    }
}
