//! The inner end of every request: the API state attached, the few page
//! paths (Swagger UI, the spec, share pages, the web client) sent to their
//! `Route` and every other path straight to the API operations (after
//! their body is read within limits), and any error rendered as a problem.
//!
//! One layer for what were four (poem's `data`, `catch_all_error`, a body
//! limit middleware, and a `Route` nesting the operations at `/`, which
//! rebuilt each request's URI): every layer moves the request and its inner
//! future once more, and every API call paid for each. It sits inside the
//! CORS layer, so that errors come out as answers CORS can mark.

use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::body_limit::BodyLimit;
use crate::problem;
use crate::state::State;

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

pub(crate) struct Dispatch<O, P> {
    pub(crate) state: State,
    pub(crate) page_paths: PagePaths,
    pub(crate) pages: P,
    pub(crate) body: BodyLimit,
    pub(crate) operations: O,
}

impl<O: Endpoint, P: Endpoint> Endpoint for Dispatch<O, P> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        req.set_data(self.state.clone());
        let answer = if self.page_paths.contains(req.uri().path()) {
            self.pages.call(req).await.map(IntoResponse::into_response)
        } else {
            match self.body.admit(&mut req).await {
                Ok(()) => self
                    .operations
                    .call(req)
                    .await
                    .map(IntoResponse::into_response),
                Err(refused) => Ok(refused),
            }
        };
        Ok(match answer {
            Ok(response) => response,
            Err(e) => problem::from_error(e).await,
        })
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
