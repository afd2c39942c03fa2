//! Web sessions: the refresh token in a `__Host-` cookie (HttpOnly, so no
//! script reads it; Secure, so it travels over HTTPS only — browsers count
//! http://localhost as secure; SameSite=Strict, so no other site's page
//! sends it; Path=/ and no Domain, as `__Host-` demands). Only the refresh
//! and logout routes read it, each checking that `Origin` is the server's
//! own; no other route takes it as a credential.

use poem::Request;
use poem::http::header;
use strongroom_engine::SecretString;
use strongroom_engine::sessions::REFRESH_TOKEN_TTL;

use crate::wire::secret_text::SecretText;

/// The cookie's name.
pub(crate) const NAME: &str = "__Host-strongroom_refresh";

/// The `Set-Cookie` value holding `token`, kept as long as it lives;
/// erased once sent.
pub(crate) fn set(token: &str) -> SecretText {
    let max_age = REFRESH_TOKEN_TTL.as_secs().to_string();
    SecretText::concat(&[
        NAME,
        "=",
        token,
        "; Max-Age=",
        &max_age,
        "; Path=/; Secure; HttpOnly; SameSite=Strict",
    ])
}

/// The `Set-Cookie` value that removes it.
pub(crate) fn clear() -> String {
    format!("{NAME}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The refresh token the request's cookie carries, if any.
pub(crate) fn read(req: &Request) -> Option<SecretString> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
        .map(|(_, token)| SecretString::from(token.trim()))
        .filter(|token| !strongroom_engine::secrecy::ExposeSecret::expose_secret(token).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_only_http_only_secure_and_strict() {
        let set = set("abc");
        for part in [
            "__Host-strongroom_refresh=abc",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=604800",
        ] {
            assert!(set.contains(part), "{}", &*set);
        }
        assert!(!set.contains("Domain"));
        assert!(clear().contains("Max-Age=0"));
    }

    #[test]
    fn only_its_own_cookie_is_read() {
        let req = Request::builder()
            .header(
                header::COOKIE,
                "other=1; __Host-strongroom_refresh=tok; x=y",
            )
            .finish();
        let found = read(&req)
            .map(|t| strongroom_engine::secrecy::ExposeSecret::expose_secret(&t).to_owned());
        assert_eq!(found.as_deref(), Some("tok"));
        let none = Request::builder()
            .header(
                header::COOKIE,
                "strongroom_refresh=tok; __Host-strongroom_refresh=",
            )
            .finish();
        assert!(read(&none).is_none());
    }
}
