//! Path segments that are secrets, taken out of the path before routing.
//! poem's router copies a path parameter into a `String`, and
//! poem-openapi's `Path<String>` copies it again, all freed unerased;
//! `POST /v1/shares/{token}/open` carries a share link's token, a bearer
//! credential for the share. Dispatch moves it into a [`PathSecret`] in
//! the request's data and routes the request with `-` in its place; the
//! operation takes the token from there. The share pages under `/s/`
//! route themselves instead (`pages::share`).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use poem::Request;
use poem::http::Uri;
use poem::http::uri::PathAndQuery;
use strongroom_engine::SecretString;
use zeroize::Zeroize;

/// A secret taken out of the request's path (percent-decoded, as poem's
/// router decodes a parameter).
#[derive(Clone)]
pub(crate) struct PathSecret(pub(crate) SecretString);

const PREFIX: &str = "/v1/shares/";
const SUFFIX: &str = "/open";

/// Moves the secret segment of `req`'s path, if it has one, into its
/// data. A segment that does not decode to UTF-8 stays, for the router to
/// refuse as it always has.
pub(crate) fn take(req: &mut Request) {
    let Some(segment) = req
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .filter(|segment| !segment.is_empty() && !segment.contains('/'))
    else {
        return;
    };
    let Some(secret) = decode(segment) else {
        return;
    };
    let mut parts = std::mem::take(req.uri_mut()).into_parts();
    let path = match parts.path_and_query.as_ref().and_then(PathAndQuery::query) {
        Some(query) => format!("{PREFIX}-{SUFFIX}?{query}"),
        None => format!("{PREFIX}-{SUFFIX}"),
    };
    // The placeholder path is valid whenever the original was.
    parts.path_and_query = PathAndQuery::try_from(path).ok();
    *req.uri_mut() = Uri::from_parts(parts).unwrap_or_default();
    req.set_data(PathSecret(secret));
}

/// A path segment percent-decoded, as poem's router decodes a parameter,
/// straight into a secret (a decoded copy is erased); `None` when it does
/// not decode to UTF-8.
pub(crate) fn decode(segment: &str) -> Option<SecretString> {
    match percent_decode_str(segment).decode_utf8().ok()? {
        Cow::Borrowed(text) => Some(SecretString::from(text)),
        Cow::Owned(mut text) => {
            let secret = SecretString::from(text.as_str());
            text.zeroize();
            Some(secret)
        }
    }
}

#[cfg(test)]
mod tests {
    use strongroom_engine::secrecy::ExposeSecret;

    use super::*;

    fn taken(uri: &str) -> (String, Option<String>) {
        let mut req = Request::builder().uri_str(uri).finish();
        take(&mut req);
        let secret = req
            .data::<PathSecret>()
            .map(|s| s.0.expose_secret().to_owned());
        (req.uri().to_string(), secret)
    }

    #[test]
    fn a_share_token_leaves_the_path_for_the_request_data() {
        assert_eq!(
            taken("/v1/shares/abc_-9/open"),
            ("/v1/shares/-/open".to_owned(), Some("abc_-9".to_owned()))
        );
        assert_eq!(
            taken("/v1/shares/%61bc/open?x=1"),
            ("/v1/shares/-/open?x=1".to_owned(), Some("abc".to_owned()))
        );
        for other in [
            "/v1/shares",
            "/v1/shares//open",
            "/v1/shares/a/b/open",
            "/v1/shares/abc",
            "/v1/shares/abc/opened",
            "/v1/shares/%FF/open",
            "/s/abc",
        ] {
            assert_eq!(taken(other), (other.to_owned(), None), "{other}");
        }
    }
}
