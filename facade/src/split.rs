//! The first routing decision: the few page paths (Swagger UI, the spec,
//! share pages, the web client) go to their `Route`; every other path goes
//! straight to the API operations. Nesting the operations at `/` in the
//! pages' `Route` did the same, but poem's nest rebuilds each request's URI
//! and adds a layer and a box that every API call paid.

use poem::{Endpoint, IntoResponse, Request, Response, Result};

/// Where the pages live: exact paths, and prefixes with everything below.
pub(crate) struct PagePaths {
    pub(crate) exact: &'static [&'static str],
    pub(crate) under: &'static [&'static str],
}

impl PagePaths {
    fn contains(&self, path: &str) -> bool {
        self.exact.contains(&path)
            || self.under.iter().any(|prefix| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}

/// `pages` for the page paths, `operations` for the rest.
pub(crate) struct Split<O, P> {
    pub(crate) paths: PagePaths,
    pub(crate) operations: O,
    pub(crate) pages: P,
}

impl<O: Endpoint, P: Endpoint> Endpoint for Split<O, P> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if self.paths.contains(req.uri().path()) {
            self.pages.call(req).await.map(IntoResponse::into_response)
        } else {
            self.operations
                .call(req)
                .await
                .map(IntoResponse::into_response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PagePaths;

    #[test]
    fn page_paths_are_exact_or_below_a_prefix() {
        let paths = PagePaths {
            exact: &["/docs"],
            under: &["/s"],
        };
        for page in ["/docs", "/s", "/s/", "/s/abc", "/s/assets/share.js"] {
            assert!(paths.contains(page), "{page}");
        }
        for other in ["/", "/docs/", "/docsx", "/sx", "/v1/shares", "/healthz"] {
            assert!(!paths.contains(other), "{other}");
        }
    }
}
