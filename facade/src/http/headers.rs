//! The API's routes, as its OpenAPI document lists them: what a 405's
//! `Allow` header names.

use std::sync::Arc;

use poem::http::Method;

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

pub(crate) fn allowed(routes: &Routes, path: &str) -> Vec<Method> {
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
