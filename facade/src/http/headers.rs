//! The API's routes, as its OpenAPI document lists them: what a 405's
//! `Allow` header names.

use std::sync::Arc;

use poem::http::Method;

/// The paths of the API as (template, segments, methods), for `Allow` and
/// for naming a request's route without its raw path.
pub(crate) type Routes = Arc<Vec<(Arc<str>, Vec<String>, Vec<Method>)>>;

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
        routes.push((Arc::from(path.as_str()), segments, methods));
    }
    Arc::new(routes)
}

/// The routes whose template matches `path`.
fn matching<'a>(
    routes: &'a Routes,
    path: &str,
) -> impl Iterator<Item = &'a (Arc<str>, Vec<String>, Vec<Method>)> {
    let wanted: Vec<&str> = path.split('/').collect();
    routes.iter().filter(move |(_, segments, _)| {
        segments.len() == wanted.len()
            && segments
                .iter()
                .zip(&wanted)
                .all(|(s, w)| s.starts_with('{') || s == w)
    })
}

/// The methods an API path allows, for a 405's `Allow`.
pub(crate) fn allowed(routes: &Routes, path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = matching(routes, path)
        .flat_map(|(_, _, m)| m.iter().cloned())
        .collect();
    methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    methods.dedup();
    methods
}

/// The template of the API route `path` falls under (`/v1/shares/{token}/open`),
/// for a request answered before it was routed.
pub(crate) fn template(routes: &Routes, path: &str) -> Option<Arc<str>> {
    matching(routes, path).next().map(|(t, _, _)| t.clone())
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
        assert_eq!(
            template(&routes, "/v1/messages/abc").as_deref(),
            Some("/v1/messages/{id}")
        );
        assert_eq!(template(&routes, "/v1/messages/abc/x"), None);
    }
}
