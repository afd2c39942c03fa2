//! Passkeys over a real TCP port, where no authenticator is needed: the
//! ceremonies' options (discoverable, user verification required, this
//! server's relying party), who may start them, and that a finish with an
//! unknown, used or forged answer is refused (a forged sign-in audited as
//! denied). The real ceremonies run in Chromium with a virtual
//! authenticator (tests/browser/passkeys.rs).

use crate::common;

use common::assert_problem;
use serde_json::json;

#[tokio::test]
async fn registration_options_ask_for_a_discoverable_verified_passkey() {
    let s = common::start().await;
    let (alice, alice_id) = s.account("alice").await;
    let start = "/v1/me/passkeys/registration/start";
    assert_problem(&s.post(start, json!({}), None).await, 401);
    let r = s.post(start, json!({"name": "laptop"}), Some(&alice)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let options = &r.body["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["requireResidentKey"],
        true
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["user"]["name"], "alice");
    assert!(options["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    let challenge = r.body["challenge_id"].as_str().expect("id").to_owned();

    // An answer that is no credential is refused, and uses the challenge up.
    let finish = "/v1/me/passkeys/registration/finish";
    let forged = json!({"challenge_id": challenge, "credential": {"id": "x"}});
    assert_problem(&s.post(finish, forged.clone(), Some(&alice)).await, 400);
    assert_problem(&s.post(finish, forged, Some(&alice)).await, 400);
    let unknown = json!({"challenge_id": "nope", "credential": {}});
    assert_problem(&s.post(finish, unknown, Some(&alice)).await, 400);

    // Another account cannot finish alice's ceremony.
    let again = s.post(start, json!({}), Some(&alice)).await;
    let theirs = again.body["challenge_id"].clone();
    let (bob, _) = s.account("bob").await;
    let stolen = json!({"challenge_id": theirs, "credential": {}});
    assert_problem(&s.post(finish, stolen, Some(&bob)).await, 400);

    let listed = s.get("/v1/me/passkeys", &alice).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["passkeys"], json!([]));
    let missing = format!("/v1/me/passkeys/{alice_id}");
    assert_problem(&s.delete(&missing, &alice).await, 404);
    assert_problem(&s.delete("/v1/me/passkeys/not-a-uuid", &alice).await, 404);
}

#[tokio::test]
async fn an_api_key_cannot_manage_passkeys() {
    let s = common::start().await;
    let (alice, _) = s.account("alice").await;
    let made = s
        .post(
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["messages:read"]}),
            Some(&alice),
        )
        .await;
    let key = made.body["secret"].as_str().expect("key").to_owned();
    let start = "/v1/me/passkeys/registration/start";
    assert_problem(&s.post(start, json!({}), Some(&key)).await, 403);
    assert_problem(&s.get("/v1/me/passkeys", &key).await, 403);
}

#[tokio::test]
async fn a_sign_in_with_a_forged_assertion_is_refused_and_audited() {
    let s = common::start().await;
    let (root, _) = s.account("root").await;
    s.promote("root");
    let r = s.post("/v1/sessions/passkey/start", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["options"].get("mediation").is_none());
    let options = &r.body["options"]["publicKey"];
    assert_eq!(options["userVerification"], "required");
    assert_eq!(options["rpId"], "localhost");
    let challenge = r.body["challenge_id"].clone();
    let finish = "/v1/sessions/passkey/finish";
    let not_a_credential = json!({"challenge_id": challenge, "credential": 7});
    assert_problem(&s.post(finish, not_a_credential, None).await, 400);

    let r = s.post("/v1/sessions/passkey/start", json!({}), None).await;
    let forged = json!({
        "challenge_id": r.body["challenge_id"],
        "credential": {
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA",
                         "signature": "AAAA", "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"},
            "extensions": {}
        }
    });
    let refused = s.post(finish, forged, None).await;
    assert_problem(&refused, 401);
    let audit = s.get("/v1/admin/audit?action=login.passkey", &root).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert_eq!(audit.body["entries"][0]["outcome"], "denied");
    // The challenge was used: the same answer again is a 400.
    let unknown = json!({"challenge_id": r.body["challenge_id"], "credential": {}});
    assert_problem(&s.post(finish, unknown, None).await, 400);
}
