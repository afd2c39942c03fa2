//! Stripe's webhook contract, checked here with no network: the
//! `Stripe-Signature` header (`t=<unix seconds>` and one or more
//! `v1=<hex HMAC-SHA256>` over `"{t}.{raw body}"` under the endpoint's
//! signing secret, compared in constant time, within a tolerance of the
//! server's clock), and the fields of a paid Checkout Session that say
//! whom to credit and with how much.

use std::collections::HashMap;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use strongroom_engine::SecretString;
use strongroom_engine::UserId;
use strongroom_engine::secrecy::ExposeSecret;

/// How far a signature's timestamp may be from the server's clock.
pub(crate) const TOLERANCE: Duration = Duration::from_secs(300);

/// The webhook's settings.
#[derive(Clone)]
pub struct StripeConfig {
    /// The endpoint's signing secret (`whsec_…`), used as it is as the
    /// HMAC key.
    pub secret: SecretString,
    /// Credits per unit of a Stripe price id, for sessions whose line
    /// items are given (`--stripe-price PRICE_ID=CREDITS`).
    pub prices: HashMap<String, u64>,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("prices", &self.prices)
            .finish_non_exhaustive()
    }
}

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignatureError {
    /// No `t=` or no `v1=` in the header, or a malformed one.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// The timestamp is outside the tolerance.
    #[error("the Stripe-Signature timestamp is outside the 5-minute tolerance")]
    Stale,
    /// No `v1` signature matches.
    #[error("no Stripe-Signature v1 signature matches")]
    Mismatch,
}

/// Checks `header` for `body` at `now` (unix seconds) under `secret`.
pub(crate) fn verify(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "v1" => {
                // A v1 that is not 32 bytes of hex can never match.
                if let Ok(bytes) = hex::decode(value)
                    && bytes.len() == 32
                {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(timestamp) > TOLERANCE.as_secs() {
        return Err(SignatureError::Stale);
    }
    let mac = signed(secret, timestamp, body);
    // Each comparison is constant-time (`verify_slice`).
    if signatures
        .iter()
        .any(|s| mac.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The MAC of `"{t}.{body}"`.
fn signed(secret: &SecretString, t: u64, body: &[u8]) -> Hmac<Sha256> {
    let key = secret.expose_secret().as_bytes();
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header Stripe would send for `body` at `t` (for tests and the
/// documentation's example).
pub fn sign(secret: &SecretString, t: u64, body: &[u8]) -> String {
    let tag = signed(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(tag))
}

/// What a verified event asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A paid Checkout Session: credit `account` with `credits`.
    Paid {
        id: String,
        account: UserId,
        credits: u64,
    },
    /// A paid session that names no account or no credits: nobody to
    /// credit (the detail says why).
    Unusable { id: String, why: &'static str },
    /// Anything else: acknowledged, nothing done.
    Ignored { id: String },
}

/// Reads a verified event's JSON.
pub(crate) fn read(event: &Value, prices: &HashMap<String, u64>) -> Option<Event> {
    let id = event["id"].as_str()?.to_owned();
    let kind = event["type"].as_str()?;
    let session = &event["data"]["object"];
    let completes = matches!(
        kind,
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
    );
    if !completes || session["payment_status"] != "paid" {
        return Some(Event::Ignored { id });
    }
    let Some(account) = session["client_reference_id"]
        .as_str()
        .and_then(|s| s.parse::<UserId>().ok())
    else {
        return Some(Event::Unusable {
            id,
            why: "client_reference_id does not name an account",
        });
    };
    let credits = match number(&session["metadata"]["credits"]) {
        Some(n) => Some(n),
        None => from_line_items(&session["line_items"], prices),
    };
    match credits {
        Some(credits) if credits > 0 => Some(Event::Paid {
            id,
            account,
            credits,
        }),
        _ => Some(Event::Unusable {
            id,
            why: "neither metadata.credits nor a known price in line_items says how many credits",
        }),
    }
}

/// A count Stripe may send as a string (metadata is always strings) or a
/// number.
fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Credits of the line items whose price ids are in `prices` (times
/// their quantity); `None` if none is.
fn from_line_items(items: &Value, prices: &HashMap<String, u64>) -> Option<u64> {
    let mut total: Option<u64> = None;
    for item in items["data"].as_array()? {
        let Some(each) = item["price"]["id"].as_str().and_then(|id| prices.get(id)) else {
            continue;
        };
        let quantity = number(&item["quantity"]).unwrap_or(1);
        total = Some(
            total
                .unwrap_or(0)
                .checked_add(each.checked_mul(quantity)?)?,
        );
    }
    total
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret() -> SecretString {
        SecretString::from("whsec_test_secret")
    }

    /// The vector was computed independently with Python's `hmac`:
    /// `hmac.new(b"whsec_test_secret", b"1700000000.{\"id\":\"evt_1\"}",
    /// hashlib.sha256).hexdigest()`.
    #[test]
    fn the_signature_matches_an_independent_computation() {
        let header = sign(&secret(), 1_700_000_000, br#"{"id":"evt_1"}"#);
        assert_eq!(
            header,
            "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
        );
    }

    #[test]
    fn signatures_are_checked_as_stripe_specifies() {
        let body = br#"{"id":"evt_1","type":"ping"}"#;
        let t = 1_700_000_000;
        let good = sign(&secret(), t, body);
        assert_eq!(verify(&secret(), &good, body, t + 299), Ok(()));
        // Several v1 (a secret being rolled), unknown schemes ignored.
        let v1 = good.split_once(",v1=").map(|(_, v)| v).unwrap_or_default();
        let rolled = format!("t={t},v0=abc,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(&secret(), &rolled, body, t), Ok(()));
        for (header, error) in [
            (good.clone(), SignatureError::Stale),
            (format!("v1={v1}"), SignatureError::Malformed),
            (format!("t=x,v1={v1}"), SignatureError::Malformed),
            (format!("t={t}"), SignatureError::Mismatch),
            (format!("t={t},v1=zz"), SignatureError::Mismatch),
        ] {
            assert_eq!(
                verify(&secret(), &header, body, t + 301),
                Err(error),
                "{header}"
            );
        }
        let other = SecretString::from("whsec_other");
        assert_eq!(
            verify(&other, &good, body, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), &good, br#"{"id":"evt_2","type":"ping"}"#, t),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = good.replace(&format!("t={t}"), &format!("t={}", t + 1));
        assert_eq!(
            verify(&secret(), &moved, body, t),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn paid_sessions_name_the_account_and_the_credits() {
        let account = UserId::from_u128(42);
        let mut prices = HashMap::new();
        prices.insert("price_100".to_owned(), 100);
        let event = |session: Value| {
            json!({"id": "evt_9", "type": "checkout.session.completed",
                   "data": {"object": session}})
        };
        let paid = |credits| Event::Paid {
            id: "evt_9".to_owned(),
            account,
            credits,
        };
        let reference = account.to_string();
        for (session, expected) in [
            (
                json!({"payment_status": "paid", "client_reference_id": reference,
                       "metadata": {"credits": "250"}}),
                paid(250),
            ),
            (
                json!({"payment_status": "paid", "client_reference_id": reference,
                       "line_items": {"data": [
                           {"price": {"id": "price_100"}, "quantity": 3},
                           {"price": {"id": "price_unknown"}, "quantity": 1}]}}),
                paid(300),
            ),
            (
                json!({"payment_status": "unpaid", "client_reference_id": reference,
                       "metadata": {"credits": "250"}}),
                Event::Ignored {
                    id: "evt_9".to_owned(),
                },
            ),
        ] {
            assert_eq!(read(&event(session), &prices), Some(expected));
        }
        let nobody = json!({"payment_status": "paid", "metadata": {"credits": "5"}});
        assert!(matches!(
            read(&event(nobody), &prices),
            Some(Event::Unusable { .. })
        ));
        let nothing = json!({"payment_status": "paid", "client_reference_id": reference});
        assert!(matches!(
            read(&event(nothing), &prices),
            Some(Event::Unusable { .. })
        ));
        assert_eq!(read(&json!({"type": "x"}), &prices), None);
    }
}
