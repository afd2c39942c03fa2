//! The inner end of every request: the API state attached, the few page
//! paths (Swagger UI, the spec, share pages, the web client) sent to their
//! `Route` and every other path straight to the API operations (after
//! their body is read within limits, and a service call paid for), and any
//! error rendered as a problem.
//!
//! One layer for what were four (poem's `data`, `catch_all_error`, a body
//! limit middleware, and a `Route` nesting the operations at `/`, which
//! rebuilt each request's URI): every layer moves the request and its inner
//! future once more, and every API call paid for each. It sits inside the
//! CORS layer, so that errors come out as answers CORS can mark.

use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderValue, Version, header};
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, IntoResponse, PathPattern, Request, Response, Result,
    Route,
};

use crate::http::body_limit::BodyLimit;
use crate::http::metering::{self, Toll};
use crate::http::problem;
use crate::http::secret_path;
use crate::http::state::State;

/// The pages' `Route`, and the paths it answers, recorded as it is built
/// (so that the two cannot disagree): exact paths, and prefixes with
/// everything below them.
pub(crate) struct Pages {
    route: Route,
    exact: Vec<&'static str>,
    under: Vec<&'static str>,
    /// Prefixes whose endpoint routes by itself, and the endpoint.
    raw: Vec<(&'static str, BoxEndpoint<'static, Response>)>,
}

impl Pages {
    pub(crate) fn new() -> Self {
        Self {
            route: Route::new(),
            exact: Vec::new(),
            under: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// `ep` answers `prefix` and everything below it, and is handed the
    /// request as it came, past poem's router: for paths that carry a
    /// secret, which the router would copy into `String`s (a path
    /// parameter) and a new URI (a nest), all freed unerased.
    pub(crate) fn below<E: Endpoint<Output = Response> + 'static>(
        mut self,
        prefix: &'static str,
        ep: E,
    ) -> Self {
        self.under.push(prefix);
        self.raw.push((prefix, ep.boxed()));
        self
    }

    /// `ep` answers `path` exactly.
    pub(crate) fn at<E: IntoEndpoint<Endpoint: 'static>>(
        mut self,
        path: &'static str,
        ep: E,
    ) -> Self {
        self.route = self.route.at(path, ep);
        self.exact.push(path);
        self
    }

    /// `ep` answers `prefix` and everything below it.
    pub(crate) fn nest<E: IntoEndpoint<Endpoint: 'static>>(
        mut self,
        prefix: &'static str,
        ep: E,
    ) -> Self {
        self.route = self.route.nest(prefix, ep);
        self.under.push(prefix);
        self
    }

    fn contains(&self, path: &str) -> bool {
        self.exact.contains(&path) || self.under.iter().any(|prefix| below(prefix, path))
    }

    /// The page `req` goes to.
    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        match self.raw.iter().find(|(prefix, _)| below(prefix, path)) {
            Some((_, ep)) => ep.call(req).await,
            None => self.route.call(req).await,
        }
    }
}

/// Whether `path` is `prefix` or below it.
fn below(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

pub(crate) struct Dispatch<O> {
    pub(crate) state: State,
    pub(crate) pages: Pages,
    pub(crate) body: BodyLimit,
    pub(crate) operations: O,
}

impl<O: Endpoint> Endpoint for Dispatch<O> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        req.set_data(self.state.clone());
        let version = req.version();
        // A body left unread: the answer closes the connection (below).
        let mut unread = declares_body(&req);
        let page = self.pages.contains(req.uri().path());
        let toll = if page {
            Toll::Free
        } else {
            match metering::collect(&self.state, &req).await {
                Toll::Refused(answer) => return Ok(closing_if(unread, answer, version)),
                toll => toll,
            }
        };
        let upload = is_upload(&req);
        let answer = if page {
            self.pages.call(req).await
        } else if upload {
            // A file streams into its handler, which holds it to the
            // file limits (size, quota, idle time) as it arrives. Any
            // media type is a file's; none at all is raw bytes.
            req.headers_mut()
                .entry(poem::http::header::CONTENT_TYPE)
                .or_insert(poem::http::HeaderValue::from_static(
                    "application/octet-stream",
                ));
            self.operations
                .call(req)
                .await
                .map(IntoResponse::into_response)
        } else {
            match self.body.admit(&mut req).await {
                Ok(()) => {
                    unread = false;
                    secret_path::take(&mut req);
                    self.operations
                        .call(req)
                        .await
                        .map(IntoResponse::into_response)
                }
                Err(refused) => Ok(refused),
            }
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                // The route an error came from stays known to the frame
                // (its metrics and log name routes, never raw paths).
                let pattern = e.data::<PathPattern>().cloned();
                let mut response = problem::from_error(e).await;
                if let Some(pattern) = pattern {
                    response.set_data(pattern);
                }
                response
            }
        };
        let status = response.status();
        // An upload that was stored read its body to the end; a refused
        // one may not have.
        let unread = unread && !(upload && status.is_success());
        metering::settle(&self.state, toll, status).await;
        Ok(closing_if(unread, response, version))
    }
}

/// Whether `req` says a body follows its head (`Content-Length` above 0,
/// or `Transfer-Encoding`); an HTTP/2 request's body need not declare
/// either, but an HTTP/2 stream ends on its own.
fn declares_body(req: &Request) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len.as_bytes() != b"0")
}

/// `answer`, marked to close the connection when it answers an HTTP/1
/// request whose body it left `unread` (refused before reading it, or a
/// page, which reads none). The server stops reading such a connection
/// after it answers; without `Connection: close` a client may put it back
/// in its pool and send its next request into a closed socket (HTTP/2
/// resets only the stream, and forbids the header).
fn closing_if(unread: bool, mut answer: Response, version: Version) -> Response {
    if unread && version <= Version::HTTP_11 {
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// Whether `req` uploads a file (`POST /v1/files`, `POST
/// /v1/users/{name}/files`): its body is not read into memory first.
fn is_upload(req: &Request) -> bool {
    if req.method() != poem::http::Method::POST {
        return false;
    }
    let path = req.uri().path();
    path == "/v1/files"
        || path
            .strip_prefix("/v1/users/")
            .and_then(|rest| rest.strip_suffix("/files"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

#[cfg(test)]
mod tests {
    use poem::endpoint::make_sync;
    use poem::{EndpointExt, Route, get};

    use super::Pages;

    #[test]
    fn only_file_uploads_skip_reading_the_body_first() {
        let post = |path: &str| {
            poem::Request::builder()
                .method(poem::http::Method::POST)
                .uri(poem::http::Uri::try_from(path).expect("uri"))
                .finish()
        };
        assert!(super::is_upload(&post("/v1/files")));
        assert!(super::is_upload(&post("/v1/users/bob/files")));
        for other in [
            "/v1/files/x",
            "/v1/users//files",
            "/v1/users/a/b/files",
            "/v1/messages",
        ] {
            assert!(!super::is_upload(&post(other)), "{other}");
        }
        let get = poem::Request::builder().uri_str("/v1/files").finish();
        assert!(!super::is_upload(&get));
    }

    #[test]
    fn page_paths_are_exact_or_below_a_prefix() {
        let paths = Pages::new()
            .at("/docs", get(make_sync(|_| "docs")))
            .nest("/app", Route::new())
            .below("/s", make_sync(|_| "share").map_to_response());
        for page in [
            "/docs",
            "/app",
            "/app/x",
            "/s",
            "/s/",
            "/s/abc",
            "/s/assets/share.js",
        ] {
            assert!(paths.contains(page), "{page}");
        }
        for other in [
            "/",
            "/docs/",
            "/docsx",
            "/appx",
            "/sx",
            "/v1/shares",
            "/healthz",
        ] {
            assert!(!paths.contains(other), "{other}");
        }
    }

    #[tokio::test]
    async fn a_page_below_a_raw_prefix_sees_the_path_as_it_came() {
        let pages = Pages::new()
            .nest(
                "/app",
                make_sync(|req| req.uri().to_string()).map_to_response(),
            )
            .below(
                "/s",
                make_sync(|req| req.uri().to_string()).map_to_response(),
            );
        for (path, seen) in [("/s/abc?x=1", "/s/abc?x=1"), ("/app/abc?x=1", "/abc?x=1")] {
            let req = poem::Request::builder().uri_str(path).finish();
            let body = pages.call(req).await.expect("answer").into_body();
            assert_eq!(body.into_string().await.expect("text"), seen, "{path}");
        }
    }
}
