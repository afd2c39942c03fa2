//! Guards accounts and tokens: validation, uniform credential errors,
//! token lifetimes, rotation, reuse detection, revocation and purge.

use crate::common;

use std::time::Duration;

use common::{open, password, start};
use strongroom_engine::sessions::BearerToken;
use strongroom_engine::{AccountError, AuthError, Clock, Engine};

fn engine() -> (tempfile::TempDir, strongroom_engine::ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    (dir, clock, engine)
}

const PW: &str = "correct horse battery";

#[test]
fn usernames_and_passwords_are_validated() {
    let (_dir, _clock, engine) = engine();
    for bad in ["ab", "al ice", "al/ice", "ünï", &"a".repeat(65), ""] {
        assert!(
            matches!(
                engine.accounts().create(bad, &password(PW)),
                Err(AccountError::InvalidUsername)
            ),
            "{bad}"
        );
    }
    for good in ["abc", "a.b-c_d", &"a".repeat(64), "007"] {
        assert!(
            engine.accounts().create(good, &password(PW)).is_ok(),
            "{good}"
        );
    }
    // Characters, not bytes: eleven 4-byte characters (44 bytes) are too short.
    for bad in [
        "short",
        "elevenchars",
        &"x".repeat(1025),
        &"\u{1f512}".repeat(11),
    ] {
        assert!(matches!(
            engine.accounts().create("carol", &password(bad)),
            Err(AccountError::InvalidPassword)
        ));
    }
    assert!(
        engine
            .accounts()
            .create("carol", &password(&"x".repeat(1024)))
            .is_ok()
    );
    assert!(
        engine
            .accounts()
            .create("dave", &password(&"\u{1f512}".repeat(1024)))
            .is_ok()
    );
    assert!(matches!(
        engine.accounts().create("carol", &password(PW)),
        Err(AccountError::UsernameTaken)
    ));
}

#[test]
fn unknown_user_and_wrong_password_are_the_same_error() {
    let (_dir, _clock, engine) = engine();
    let alice = engine
        .accounts()
        .create("alice", &password(PW))
        .expect("create");
    assert_eq!(
        engine
            .accounts()
            .verify_credentials("alice", &password(PW))
            .expect("ok"),
        alice.id
    );
    let wrong = engine
        .accounts()
        .verify_credentials("alice", &password("wrong password!"))
        .expect_err("wrong");
    let unknown = engine
        .accounts()
        .verify_credentials("nobody", &password(PW))
        .expect_err("unknown");
    assert!(matches!(wrong, AuthError::InvalidCredentials));
    assert_eq!(wrong.to_string(), unknown.to_string());
}

#[test]
fn access_tokens_expire_after_15_minutes_refresh_after_7_days() {
    let (_dir, clock, engine) = engine();
    engine
        .accounts()
        .create("alice", &password(PW))
        .expect("create");
    let pair = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("login");
    assert_eq!(pair.access_expires_in, Duration::from_secs(900));
    assert_eq!(pair.refresh_expires_in, Duration::from_secs(7 * 86_400));
    assert_eq!(pair.access_token.expose_secret().len(), 43);
    assert!(engine.sessions().authenticate(&pair.access_token).is_ok());
    assert!(
        engine.sessions().authenticate(&pair.refresh_token).is_err(),
        "refresh token is not an access token"
    );
    clock.advance(Duration::from_secs(900));
    assert!(matches!(
        engine.sessions().authenticate(&pair.access_token),
        Err(AuthError::InvalidToken)
    ));
    clock.advance(Duration::from_secs(7 * 86_400 - 900 - 1));
    let fresh = engine
        .sessions()
        .refresh(&pair.refresh_token)
        .expect("refresh just before expiry");
    clock.advance(Duration::from_secs(7 * 86_400));
    assert!(matches!(
        engine.sessions().refresh(&fresh.refresh_token),
        Err(AuthError::InvalidToken)
    ));
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_family() {
    let (_dir, _clock, engine) = engine();
    engine
        .accounts()
        .create("alice", &password(PW))
        .expect("create");
    let first = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("login");
    let other_session = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("second login");
    let second = engine
        .sessions()
        .refresh(&first.refresh_token)
        .expect("rotate");
    assert_eq!(second.session, first.session);
    assert!(engine.sessions().authenticate(&second.access_token).is_ok());
    // The rotated token presented again: the whole family goes.
    let reuse = engine
        .sessions()
        .refresh(&first.refresh_token)
        .expect_err("reuse");
    assert!(matches!(reuse, AuthError::RefreshTokenReused));
    assert!(
        engine
            .sessions()
            .authenticate(&second.access_token)
            .is_err()
    );
    assert!(engine.sessions().authenticate(&first.access_token).is_err());
    assert!(engine.sessions().refresh(&second.refresh_token).is_err());
    // Another login session is untouched.
    assert!(
        engine
            .sessions()
            .authenticate(&other_session.access_token)
            .is_ok()
    );
}

#[test]
fn revoke_ends_the_session_of_the_presented_token() {
    let (_dir, _clock, engine) = engine();
    engine
        .accounts()
        .create("alice", &password(PW))
        .expect("create");
    let pair = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("login");
    let session = engine
        .sessions()
        .revoke(&pair.access_token)
        .expect("revoke");
    assert_eq!(session, pair.session);
    assert!(engine.sessions().authenticate(&pair.access_token).is_err());
    assert!(engine.sessions().refresh(&pair.refresh_token).is_err());
    assert!(matches!(
        engine.sessions().revoke(&pair.access_token),
        Err(AuthError::InvalidToken)
    ));
}

#[test]
fn garbage_tokens_are_invalid_not_errors_of_another_kind() {
    let (_dir, _clock, engine) = engine();
    for text in [
        "",
        "x",
        &"A".repeat(43),
        &"!".repeat(43),
        &"A".repeat(44),
        "ünïcödé",
    ] {
        let token = BearerToken::from(text.to_owned());
        assert!(matches!(
            engine.sessions().authenticate(&token),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            engine.sessions().refresh(&token),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            engine.sessions().revoke(&token),
            Err(AuthError::InvalidToken)
        ));
    }
    assert_eq!(
        format!("{:?}", BearerToken::from("abc".to_owned())),
        "BearerToken([REDACTED])"
    );
}

#[test]
fn expired_tokens_are_purged_through_the_index() {
    let (_dir, clock, engine) = engine();
    engine
        .accounts()
        .create("alice", &password(PW))
        .expect("create");
    let pair = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("login");
    clock.advance(Duration::from_secs(900));
    assert_eq!(
        engine
            .sessions()
            .purge_expired(clock.now(), 100)
            .expect("purge"),
        1
    );
    clock.advance(Duration::from_secs(7 * 86_400));
    assert_eq!(
        engine
            .sessions()
            .purge_expired(clock.now(), 100)
            .expect("purge"),
        1
    );
    assert_eq!(
        engine
            .sessions()
            .purge_expired(clock.now(), 100)
            .expect("purge"),
        0
    );
    assert!(engine.sessions().refresh(&pair.refresh_token).is_err());
}

#[test]
fn bulk_accounts_share_one_hash_and_a_taken_name_creates_none() {
    let (_dir, _clock, engine) = common::engine();
    let names: Vec<String> = (0..20).map(|i| format!("seed{i}")).collect();
    let users = engine
        .accounts()
        .create_many(&names, &password(PW))
        .expect("created");
    assert_eq!(users.len(), 20);
    assert!(engine.sessions().login("seed7", &password(PW)).is_ok());
    let clash = vec!["fresh".to_owned(), "seed3".to_owned()];
    assert!(matches!(
        engine.accounts().create_many(&clash, &password(PW)),
        Err(AccountError::UsernameTaken)
    ));
    assert_eq!(
        engine.accounts().find("fresh").expect("lookup"),
        None,
        "all or nothing"
    );
    let bad = vec!["Bad Name".to_owned()];
    assert!(matches!(
        engine.accounts().create_many(&bad, &password(PW)),
        Err(AccountError::InvalidUsername)
    ));
}

#[test]
fn roles_and_disabling_take_effect_on_the_next_request() {
    use strongroom_engine::Role;
    let (_dir, _clock, engine) = common::engine();
    let admin = engine
        .accounts()
        .create_with_role("root", &password(PW), Role::Admin)
        .expect("admin");
    assert_eq!(admin.role, Role::Admin);
    let alice = engine
        .accounts()
        .create("alice", &password(PW))
        .expect("user");
    assert_eq!(alice.role, Role::User);
    let pair = engine
        .sessions()
        .login("alice", &password(PW))
        .expect("login");
    assert_eq!(
        engine
            .sessions()
            .authenticate(&pair.access_token)
            .expect("auth")
            .role,
        Role::User
    );

    engine
        .admin()
        .set_role(alice.id, Role::Service)
        .expect("role");
    assert_eq!(
        engine
            .sessions()
            .authenticate(&pair.access_token)
            .expect("auth")
            .role,
        Role::Service,
        "the same token, the new role"
    );
    engine
        .admin()
        .set_disabled(alice.id, true)
        .expect("disable");
    assert!(matches!(
        engine.sessions().authenticate(&pair.access_token),
        Err(AuthError::Disabled)
    ));
    assert!(matches!(
        engine.sessions().login("alice", &password(PW)),
        Err(AuthError::Disabled)
    ));
    assert!(matches!(
        engine.sessions().refresh(&pair.refresh_token),
        Err(AuthError::Disabled)
    ));
    engine
        .admin()
        .set_disabled(alice.id, false)
        .expect("enable");
    assert!(
        engine.sessions().authenticate(&pair.access_token).is_ok(),
        "sessions were kept"
    );
    assert_eq!(
        engine.accounts().get(alice.id).expect("user").role,
        Role::Service
    );
}

#[test]
fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted() {
    use strongroom_engine::Role;
    let (_dir, _clock, engine) = common::engine();
    let root = engine
        .accounts()
        .create_with_role("root", &password(PW), Role::Admin)
        .expect("admin");
    let last = |r: Result<_, AccountError>| matches!(r, Err(AccountError::LastAdmin));
    assert!(last(engine.admin().set_role(root.id, Role::User)));
    assert!(last(engine.admin().set_disabled(root.id, true)));
    assert!(last(
        engine.admin().delete_user(root.id).map(|()| root.clone())
    ));
    // A disabled admin is no admin: it does not count as the other one.
    let spare = engine
        .accounts()
        .create_with_role("spare", &password(PW), Role::Admin)
        .expect("admin");
    engine
        .admin()
        .set_disabled(spare.id, true)
        .expect("disable the spare");
    assert!(last(engine.admin().set_role(root.id, Role::User)));
    engine
        .admin()
        .set_disabled(spare.id, false)
        .expect("enable the spare");
    // With another enabled admin, each change goes through.
    engine
        .admin()
        .set_role(root.id, Role::User)
        .expect("demoted");
    assert!(last(
        engine.admin().delete_user(spare.id).map(|()| root.clone())
    ));
    assert!(engine.accounts().get(root.id).is_ok());
}

#[test]
fn user_ids_are_random_not_timestamps() {
    let (_dir, clock, engine) = common::engine();
    let first = engine
        .accounts()
        .create("alice", &password(PW))
        .expect("user");
    clock.advance(Duration::from_secs(3600));
    let second = engine
        .accounts()
        .create("bob", &password(PW))
        .expect("user");
    for id in [first.id, second.id] {
        let uuid = uuid::Uuid::from_u128(id.as_u128());
        assert_eq!(uuid.get_version_num(), 4, "{uuid}");
        assert!(uuid.get_timestamp().is_none());
    }
}
