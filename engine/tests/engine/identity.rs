//! Accounts people keep: email-shaped usernames compared without case, a
//! password change that re-wraps end-to-end keys and ends the other
//! sessions, an admin's reset, deleting one's own account, and a TOTP
//! second factor with single-use codes and recovery codes.

use crate::common;

use std::time::Duration;

use common::{PASSWORD, engine, password, raw_rows, user};
use secrecy::{ExposeSecret, SecretString};
use strongroom_engine::accounts::RewrappedKey;
use strongroom_engine::audit::{AuditAction, AuditFilter, AuditOutcome};
use strongroom_engine::e2e::{self, PublishedKey};
use strongroom_engine::sessions::ExternalIdentity;
use strongroom_engine::two_factor::SecondFactor;
use strongroom_engine::{AccountError, AuthError, E2eKeyError, Engine, Scope, UserId};
use strongroom_engine::{Clock, TotpError};

const NEW: &str = "a brand new passphrase";

fn last(engine: &Engine, action: AuditAction) -> Option<AuditOutcome> {
    let filter = AuditFilter {
        action: Some(action),
        ..AuditFilter::default()
    };
    let page = engine.audit().page(&filter, 0, 1000).expect("audit");
    page.entries.last().map(|e| e.outcome)
}

fn wrapped(byte: u8) -> (Vec<u8>, Vec<u8>) {
    (vec![byte; 60], vec![byte; 16])
}

fn publish(engine: &Engine, user: UserId) -> e2e::SecretKey {
    let (secret, public) = e2e::generate_keypair();
    let (wrapped_private_key, salt) = wrapped(1);
    engine
        .e2e()
        .publish(
            user,
            PublishedKey {
                public_key: public,
                wrapped_private_key,
                salt,
                iterations: 600_000,
            },
        )
        .expect("publish");
    secret
}

fn rewrapped(version: u32) -> RewrappedKey {
    let (wrapped_private_key, salt) = wrapped(2);
    RewrappedKey {
        version,
        wrapped_private_key,
        salt,
        iterations: 700_000,
    }
}

#[test]
fn email_usernames_are_one_account_in_any_case() {
    let (_dir, _clock, engine) = engine();
    let made = engine
        .accounts()
        .create("Alice.Smith@Example.com", &password(PASSWORD))
        .expect("email account");
    assert_eq!(made.username, "alice.smith@example.com");
    for taken in ["alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM"] {
        assert!(matches!(
            engine.accounts().create(taken, &password(PASSWORD)),
            Err(AccountError::UsernameTaken)
        ));
    }
    for name in ["alice.smith@example.com", "ALICE.smith@example.COM"] {
        let pair = engine
            .sessions()
            .login(name, &password(PASSWORD))
            .expect("login in any case");
        assert_eq!(pair.session.user, made.id);
        assert_eq!(engine.accounts().find(name).expect("find"), Some(made.id));
    }
    // Plain names too: "Bob" is bob.
    let bob = user(&engine, "bob");
    assert_eq!(engine.accounts().find("BOB").expect("find"), Some(bob));
    assert!(engine.sessions().login("Bob", &password(PASSWORD)).is_ok());
    // Not an address: no account, the same error as a wrong password.
    assert!(matches!(
        engine.sessions().login("bob@@x.io", &password(PASSWORD)),
        Err(AuthError::InvalidCredentials)
    ));
}

#[test]
fn a_password_change_needs_the_current_one_and_ends_the_other_logins() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let here = engine
        .sessions()
        .login("alice", &password(PASSWORD))
        .expect("here");
    let there = engine
        .sessions()
        .login("alice", &password(PASSWORD))
        .expect("there");
    let key = engine
        .api_keys()
        .create(
            alice,
            "ci",
            [Scope::MessagesRead].into_iter().collect(),
            None,
        )
        .expect("key");
    // A wrong current password changes nothing and is recorded.
    assert!(matches!(
        engine.accounts().change_password(
            alice,
            Some(here.session.id),
            &password("not the password at all"),
            &password(NEW),
            &[]
        ),
        Err(AccountError::WrongPassword)
    ));
    assert_eq!(
        last(&engine, AuditAction::ChangePassword),
        Some(AuditOutcome::Denied)
    );
    assert!(engine.sessions().authenticate(&there.access_token).is_ok());
    // A new password out of bounds is refused before anything is checked.
    assert!(matches!(
        engine.accounts().change_password(
            alice,
            None,
            &password(PASSWORD),
            &password("short"),
            &[]
        ),
        Err(AccountError::InvalidPassword)
    ));
    engine
        .accounts()
        .change_password(
            alice,
            Some(here.session.id),
            &password(PASSWORD),
            &password(NEW),
            &[],
        )
        .expect("changed");
    assert_eq!(
        last(&engine, AuditAction::ChangePassword),
        Some(AuditOutcome::Success)
    );
    // The caller's session stays; the other login ends, refresh token too;
    // the API key is not a login and stays.
    assert!(engine.sessions().authenticate(&here.access_token).is_ok());
    assert!(engine.sessions().authenticate(&there.access_token).is_err());
    assert!(engine.sessions().refresh(&there.refresh_token).is_err());
    assert!(engine.sessions().authenticate(&key.secret).is_ok());
    // The old password is gone, the new one works.
    assert!(
        engine
            .sessions()
            .login("alice", &password(PASSWORD))
            .is_err()
    );
    assert!(engine.sessions().login("alice", &password(NEW)).is_ok());
}

#[test]
fn a_password_change_rewraps_every_key_version_or_changes_nothing() {
    let (_dir, _clock, engine) = engine();
    let bob = user(&engine, "bob");
    let first = publish(&engine, bob);
    let _second = publish(&engine, bob);
    let sealed = e2e::seal(&first.public_key(), b"sent before the change");
    let change = |keys: &[RewrappedKey]| {
        engine
            .accounts()
            .change_password(bob, None, &password(PASSWORD), &password(NEW), keys)
    };
    // Missing a version, naming one twice, or naming one not held.
    for keys in [
        vec![rewrapped(1)],
        vec![rewrapped(1), rewrapped(1)],
        vec![rewrapped(1), rewrapped(2), rewrapped(3)],
    ] {
        match change(&keys) {
            Err(AccountError::KeysNotRewrapped { held }) => assert_eq!(held, [1, 2]),
            other => panic!("{other:?}"),
        }
    }
    let mut weak = rewrapped(2);
    weak.iterations = 1000;
    assert!(matches!(
        change(&[rewrapped(1), weak]),
        Err(AccountError::InvalidRewrappedKey(E2eKeyError::Iterations))
    ));
    // Nothing changed: the old password still signs in.
    assert!(engine.sessions().login("bob", &password(PASSWORD)).is_ok());
    assert_eq!(engine.e2e().all(bob).expect("keys")[0].iterations, 600_000);
    change(&[rewrapped(2), rewrapped(1)]).expect("changed");
    let keys = engine.e2e().all(bob).expect("keys");
    assert_eq!(keys.len(), 2);
    for k in &keys {
        assert_eq!((k.iterations, k.wrapped_private_key[0]), (700_000, 2));
    }
    // The public keys did not change: what was sealed before still opens.
    assert_eq!(keys[0].public_key, first.public_key());
    assert_eq!(
        e2e::open(&first, &sealed).expect("opens").as_slice(),
        b"sent before the change"
    );
}

#[test]
fn an_admin_reset_ends_every_session_and_key() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let pair = engine
        .sessions()
        .login("alice", &password(PASSWORD))
        .expect("login");
    let key = engine
        .api_keys()
        .create(
            alice,
            "ci",
            [Scope::MessagesRead].into_iter().collect(),
            None,
        )
        .expect("key");
    assert!(matches!(
        engine.admin().reset_password(alice, &password("short")),
        Err(AccountError::InvalidPassword)
    ));
    engine
        .admin()
        .reset_password(alice, &password(NEW))
        .expect("reset");
    assert!(engine.sessions().authenticate(&pair.access_token).is_err());
    assert!(engine.sessions().refresh(&pair.refresh_token).is_err());
    assert!(engine.sessions().authenticate(&key.secret).is_err());
    assert!(engine.api_keys().list(alice).expect("keys").is_empty());
    assert!(
        engine
            .sessions()
            .login("alice", &password(PASSWORD))
            .is_err()
    );
    assert!(engine.sessions().login("alice", &password(NEW)).is_ok());
    assert_eq!(
        last(&engine, AuditAction::ResetPassword),
        Some(AuditOutcome::Success)
    );
    assert!(matches!(
        engine
            .admin()
            .reset_password(UserId::generate(), &password(NEW)),
        Err(AccountError::NotFound)
    ));
}

#[test]
fn deleting_ones_own_account_needs_the_password_and_shreds_it() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let stored = engine
        .records()
        .put(alice, b"mine", None)
        .expect("stored")
        .meta
        .id;
    assert!(matches!(
        engine
            .accounts()
            .delete_self(alice, &password("not the password at all"), None),
        Err(AccountError::WrongPassword)
    ));
    assert!(engine.records().get(alice, stored).is_ok());
    engine
        .accounts()
        .delete_self(alice, &password(PASSWORD), None)
        .expect("deleted");
    assert!(engine.accounts().get(alice).is_err());
    assert!(
        engine
            .sessions()
            .login("alice", &password(PASSWORD))
            .is_err()
    );
    let filter = AuditFilter {
        action: Some(AuditAction::DeleteUser),
        actor: Some(alice),
        ..AuditFilter::default()
    };
    // The wrong password first (denied), then the deletion.
    let outcomes: Vec<AuditOutcome> = engine
        .audit()
        .page(&filter, 0, 10)
        .expect("audit")
        .entries
        .iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, [AuditOutcome::Denied, AuditOutcome::Success]);
    // The name is free again, for a new account with nothing of the old.
    let again = user(&engine, "alice");
    assert_ne!(again, alice);
    assert!(engine.records().get(again, stored).is_err());
}

#[test]
fn the_last_admin_cannot_delete_themselves() {
    let (_dir, _clock, engine) = engine();
    let root = engine
        .accounts()
        .create_with_role("root", &password(PASSWORD), strongroom_engine::Role::Admin)
        .expect("admin")
        .id;
    assert!(matches!(
        engine
            .accounts()
            .delete_self(root, &password(PASSWORD), None),
        Err(AccountError::LastAdmin)
    ));
}

/// The code an authenticator app shows for `secret` (base32) at `clock`.
fn code(secret: &SecretString, clock: &strongroom_engine::ManualClock) -> SecretString {
    let bytes = totp_rs::Secret::try_from_base32(secret.expose_secret()).expect("base32");
    let totp = totp_rs::Builder::new()
        .with_secret(bytes)
        .build_noncompliant();
    let now = clock.now().as_unix_millis() / 1000;
    SecretString::from(totp.generate(now).to_string())
}

fn totp(code: SecretString) -> Option<SecondFactor> {
    Some(SecondFactor::Totp(code))
}

#[test]
fn totp_is_enforced_once_confirmed_and_every_code_works_once() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice@example.com");
    let two = engine.two_factor();
    let setup = two.begin(alice).expect("begin");
    let uri = setup.otpauth_uri.expose_secret();
    assert!(
        uri.starts_with("otpauth://totp/Strongroom:alice%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(setup.secret.expose_secret()));
    // Pending: not enforced yet.
    let login = |factor: Option<SecondFactor>| {
        engine
            .sessions()
            .login_with("alice@example.com", &password(PASSWORD), factor.as_ref())
    };
    assert!(login(None).is_ok());
    assert!(matches!(
        two.confirm(alice, &SecretString::from("000000")),
        Err(TotpError::InvalidCode)
    ));
    let recovery = two
        .confirm(alice, &code(&setup.secret, &clock))
        .expect("confirm");
    assert_eq!(recovery.len(), 10);
    assert!(two.enabled(alice).expect("read"));
    assert!(matches!(two.begin(alice), Err(TotpError::AlreadyEnabled)));
    // Enforced: the password alone is not enough, and says so only when
    // the password is right.
    assert!(matches!(login(None), Err(AuthError::SecondFactorRequired)));
    assert!(matches!(
        engine
            .sessions()
            .login_with("alice@example.com", &password("not the password"), None),
        Err(AuthError::InvalidCredentials)
    ));
    // The code that confirmed cannot sign in (same step): no replay.
    assert!(matches!(
        login(totp(code(&setup.secret, &clock))),
        Err(AuthError::InvalidSecondFactor)
    ));
    clock.advance(Duration::from_secs(30));
    let fresh = code(&setup.secret, &clock);
    assert!(login(totp(fresh.clone())).is_ok());
    assert!(matches!(
        login(totp(fresh)),
        Err(AuthError::InvalidSecondFactor)
    ));
    // A recovery code works once, in any spelling.
    let shouted = SecretString::from(recovery[3].expose_secret().to_uppercase().replace('-', ""));
    assert!(login(Some(SecondFactor::RecoveryCode(shouted))).is_ok());
    assert!(matches!(
        login(Some(SecondFactor::RecoveryCode(recovery[3].clone()))),
        Err(AuthError::InvalidSecondFactor)
    ));
    // Turning it off needs a code; then the password alone works again.
    assert!(matches!(
        two.disable(alice, &SecondFactor::Totp(SecretString::from("123456"))),
        Err(TotpError::InvalidCode)
    ));
    assert_eq!(
        last(&engine, AuditAction::DisableTotp),
        Some(AuditOutcome::Denied)
    );
    two.disable(alice, &SecondFactor::RecoveryCode(recovery[0].clone()))
        .expect("disable");
    assert_eq!(
        last(&engine, AuditAction::DisableTotp),
        Some(AuditOutcome::Success)
    );
    assert!(login(None).is_ok());
    assert_eq!(
        last(&engine, AuditAction::EnableTotp),
        Some(AuditOutcome::Success)
    );
    drop(engine);
    // At rest the secret is sealed: its bytes are nowhere in the table.
    let path = dir.path().join("db.redb");
    let raw = totp_rs::Secret::try_from_base32(setup.secret.expose_secret()).expect("base32");
    let raw: &[u8] = raw.as_ref();
    for (_, row) in raw_rows(&path, "totp") {
        assert!(!row.windows(raw.len()).any(|w| w == raw));
    }
}

#[test]
fn an_admin_clears_a_lost_factor_and_deletion_asks_for_one() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let setup = engine.two_factor().begin(alice).expect("begin");
    engine
        .two_factor()
        .confirm(alice, &code(&setup.secret, &clock))
        .expect("confirm");
    assert!(matches!(
        engine
            .accounts()
            .delete_self(alice, &password(PASSWORD), None),
        Err(AccountError::SecondFactorRequired)
    ));
    clock.advance(Duration::from_secs(30));
    assert!(matches!(
        engine.accounts().delete_self(
            alice,
            &password(PASSWORD),
            totp(SecretString::from("999999")).as_ref()
        ),
        Err(AccountError::InvalidSecondFactor)
    ));
    engine.two_factor().clear(alice).expect("cleared");
    assert_eq!(
        last(&engine, AuditAction::ClearTotp),
        Some(AuditOutcome::Success)
    );
    assert!(matches!(
        engine.two_factor().clear(alice),
        Err(TotpError::NotEnabled)
    ));
    assert!(
        engine
            .sessions()
            .login("alice", &password(PASSWORD))
            .is_ok()
    );
    // Set up again, then deleted with a code: the factor goes with it.
    let setup = engine.two_factor().begin(alice).expect("begin");
    engine
        .two_factor()
        .confirm(alice, &code(&setup.secret, &clock))
        .expect("confirm");
    clock.advance(Duration::from_secs(30));
    engine
        .accounts()
        .delete_self(
            alice,
            &password(PASSWORD),
            totp(code(&setup.secret, &clock)).as_ref(),
        )
        .expect("deleted");
    let again = user(&engine, "alice");
    assert!(!engine.two_factor().enabled(again).expect("read"));
}

fn identity(subject: &str, email: Option<&str>) -> ExternalIdentity {
    ExternalIdentity {
        issuer: "https://idp.example.com".to_owned(),
        subject: subject.to_owned(),
        email: email.map(str::to_owned),
    }
}

#[test]
fn a_provider_identity_signs_in_to_one_account() {
    let (_dir, _clock, engine) = engine();
    let dana = identity("sub-1", Some("Dana@Example.com"));
    let first = engine
        .sessions()
        .login_external(&dana, true)
        .expect("first");
    let account = engine.accounts().get(first.session.user).expect("account");
    assert_eq!(account.username, "dana@example.com");
    let again = engine
        .sessions()
        .login_external(&dana, false)
        .expect("again");
    assert_eq!(again.session.user, first.session.user);
    // No password signs in to it.
    for guess in ["", "!external", PASSWORD] {
        assert!(
            engine
                .sessions()
                .login("dana@example.com", &password(guess))
                .is_err()
        );
    }
    // A taken email: a generated name. Registration closed: refused.
    let other = identity("sub-2", Some("dana@example.com"));
    let second = engine
        .sessions()
        .login_external(&other, true)
        .expect("second");
    let name = engine
        .accounts()
        .get(second.session.user)
        .expect("a")
        .username;
    assert!(name.starts_with("user-") && name.len() == 13, "{name}");
    assert!(matches!(
        engine
            .sessions()
            .login_external(&identity("sub-3", None), false),
        Err(AuthError::UnknownIdentity)
    ));
    // Linking: to an existing password account, never to two accounts.
    let erin = user(&engine, "erin");
    let erins = identity("sub-4", None);
    engine
        .accounts()
        .link_identity(erin, &erins)
        .expect("linked");
    assert_eq!(
        engine
            .sessions()
            .login_external(&erins, false)
            .expect("in")
            .session
            .user,
        erin
    );
    assert!(matches!(
        engine.accounts().link_identity(erin, &dana),
        Err(AccountError::IdentityTaken)
    ));
    assert_eq!(engine.accounts().identities(erin).expect("list").len(), 1);
    assert_eq!(
        last(&engine, AuditAction::LinkIdentity),
        Some(AuditOutcome::Success)
    );
    assert_eq!(
        last(&engine, AuditAction::OidcLogin),
        Some(AuditOutcome::Success)
    );
    // Disabled: refused. Deleted: the link goes with the account.
    engine.admin().set_disabled(erin, true).expect("disable");
    assert!(matches!(
        engine.sessions().login_external(&erins, false),
        Err(AuthError::Disabled)
    ));
    engine.admin().delete_user(erin).expect("delete");
    assert!(matches!(
        engine.sessions().login_external(&erins, false),
        Err(AuthError::UnknownIdentity)
    ));
}
