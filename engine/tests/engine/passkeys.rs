//! Passkeys through the engine's API, on either backend: registered,
//! listed, found by credential id (one account per credential), used to
//! sign in (the counter record kept), removed, and gone with the account.

use strongroom_engine::audit::{AuditAction, AuditFilter};
use strongroom_engine::passkeys::{MAX_PASSKEYS, NewPasskey};
use strongroom_engine::{AuthError, PasskeyError};

use crate::common::{self, user};

fn new<'a>(name: &'a str, id: &'a [u8]) -> NewPasskey<'a> {
    NewPasskey {
        name,
        credential_id: id,
        credential: b"{\"cred\":\"record\",\"counter\":0}",
    }
}

#[test]
fn passkeys_are_registered_found_used_and_removed() {
    let (_dir, _clock, engine) = common::engine();
    let alice = user(&engine, "alice");
    let bob = user(&engine, "bob");
    let passkeys = engine.passkeys();
    let laptop = passkeys
        .register(alice, new(" laptop ", b"cred-1"))
        .expect("register");
    assert_eq!(laptop.name, "laptop");
    assert_eq!(laptop.last_used, None);
    // One credential, one account.
    assert!(matches!(
        passkeys.register(bob, new("stolen", b"cred-1")),
        Err(PasskeyError::Registered)
    ));
    for bad in ["", "\u{7}", &"n".repeat(65)] {
        assert!(matches!(
            passkeys.register(alice, new(bad, b"cred-2")),
            Err(PasskeyError::InvalidName)
        ));
    }
    let found = passkeys.find(b"cred-1").expect("find").expect("alice's");
    assert_eq!((found.user, found.id), (alice, laptop.id));
    assert_eq!(passkeys.find(b"nobody's").expect("find"), None);
    assert_eq!(
        passkeys.credential_ids(alice).expect("ids"),
        [b"cred-1".to_vec()]
    );

    let pair = engine
        .sessions()
        .login_passkey(alice, laptop.id, Some(b"{\"counter\":1}"))
        .expect("sign in");
    assert_eq!(
        engine
            .sessions()
            .authenticate(&pair.access_token)
            .expect("session")
            .user,
        alice
    );
    let listed = passkeys.list(alice).expect("list");
    assert!(listed[0].last_used.is_some());
    assert_eq!(
        passkeys
            .find(b"cred-1")
            .expect("find")
            .expect("kept")
            .credential,
        b"{\"counter\":1}"
    );
    // Another account's passkey id signs nobody in.
    assert!(matches!(
        engine.sessions().login_passkey(bob, laptop.id, None),
        Err(AuthError::InvalidCredentials)
    ));

    assert!(matches!(
        passkeys.remove(bob, laptop.id),
        Err(PasskeyError::NotFound)
    ));
    passkeys.remove(alice, laptop.id).expect("remove");
    assert!(passkeys.list(alice).expect("list").is_empty());
    assert_eq!(passkeys.find(b"cred-1").expect("find"), None);
    assert!(matches!(
        engine.sessions().login_passkey(alice, laptop.id, None),
        Err(AuthError::InvalidCredentials)
    ));
    let actions: Vec<AuditAction> = engine
        .audit()
        .page(&AuditFilter::default(), 0, 100)
        .expect("audit")
        .entries
        .iter()
        .map(|e| e.action)
        .filter(|a| a.as_str().contains("passkey"))
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::RegisterPasskey,
            AuditAction::PasskeyLogin,
            AuditAction::PasskeyLogin,
            AuditAction::RemovePasskey,
            AuditAction::PasskeyLogin,
        ]
    );
}

#[test]
fn an_account_holds_a_bounded_number_and_loses_them_when_deleted() {
    let (_dir, _clock, engine) = common::engine();
    let alice = user(&engine, "alice");
    for i in 0..MAX_PASSKEYS {
        let id = format!("cred-{i}");
        engine
            .passkeys()
            .register(alice, new("key", id.as_bytes()))
            .expect("register");
    }
    assert!(matches!(
        engine
            .passkeys()
            .register(alice, new("one more", b"cred-x")),
        Err(PasskeyError::TooMany { .. })
    ));
    engine.admin().delete_user(alice).expect("delete");
    assert_eq!(engine.passkeys().find(b"cred-0").expect("find"), None);
    let bob = user(&engine, "bob");
    engine
        .passkeys()
        .register(bob, new("reused", b"cred-0"))
        .expect("the credential id is free again");
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
}
