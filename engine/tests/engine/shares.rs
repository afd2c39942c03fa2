//! Share links through the engine's public API: views consumed exactly once
//! (also under a race), expiry before and after the purge, passphrases,
//! listing and revoking, the client-side format, and a database file that
//! holds neither the content nor the URL secret.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{engine, user};
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::shares::{CreatedShare, NewShare, SHARE_MAX_ATTEMPTS, ShareLife, client};
use strongroom_engine::{Clock, Engine, SecretString, ShareError, UserId};
use strongroom_testkit::threads::together;

fn share(content: &[u8]) -> NewShare<'_> {
    NewShare {
        content,
        ttl: None,
        max_views: None,
        passphrase: None,
        client_encrypted: false,
    }
}

fn create(engine: &Engine, owner: Option<UserId>, new: NewShare<'_>) -> CreatedShare {
    engine.shares().create(owner, new).expect("share created")
}

#[test]
fn a_share_opens_as_many_times_as_it_allows_then_is_gone() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let created = create(
        &engine,
        Some(alice),
        NewShare {
            max_views: Some(3),
            ..share(b"three times")
        },
    );
    assert_eq!(created.token.expose_secret().len(), 43);
    for left in [2, 1, 0] {
        let status = engine.shares().status(&created.token).expect("status");
        assert_eq!(status.views_left, left + 1, "looking consumes nothing");
        let opened = engine.shares().open(&created.token, None).expect("opens");
        assert_eq!(opened.content.as_slice(), b"three times");
        assert_eq!(opened.views_left, left);
    }
    assert!(matches!(
        engine.shares().open(&created.token, None),
        Err(ShareError::Gone)
    ));
    assert!(matches!(
        engine.shares().status(&created.token),
        Err(ShareError::Gone)
    ));
    let listed = engine.shares().list(alice).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].life, ShareLife::UsedUp);
    assert_eq!(listed[0].views_used, 3);
}

#[test]
fn unknown_and_malformed_tokens_are_not_found() {
    let (_dir, _clock, engine) = engine();
    let (_, unknown) = client::seal(b"");
    for token in [
        unknown.expose_secret().to_owned(),
        String::new(),
        "short".to_owned(),
        "!".repeat(43),
        "A".repeat(44),
    ] {
        let token = SecretString::from(token);
        assert!(matches!(
            engine.shares().open(&token, None),
            Err(ShareError::NotFound)
        ));
        assert!(matches!(
            engine.shares().status(&token),
            Err(ShareError::NotFound)
        ));
    }
}

#[test]
fn thirty_two_concurrent_opens_of_a_one_view_share_give_one_success() {
    let (_dir, _clock, engine) = engine();
    let created = create(&engine, None, share(b"once"));
    let token = created.token;
    let results = together(32, |_| engine.shares().open(&token, None));
    let opened: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].content.as_slice(), b"once");
    let gone = results
        .iter()
        .filter(|r| matches!(r, Err(ShareError::Gone)))
        .count();
    assert_eq!(gone, 31);
}

#[test]
fn an_expired_share_is_gone_before_the_purge_and_unknown_after() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let created = create(
        &engine,
        Some(alice),
        NewShare {
            ttl: Some(Duration::from_secs(60)),
            ..share(b"brief")
        },
    );
    clock.advance(Duration::from_secs(59));
    assert!(engine.shares().status(&created.token).is_ok());
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        engine.shares().open(&created.token, None),
        Err(ShareError::Gone)
    ));
    assert_eq!(
        engine.shares().list(alice).expect("list")[0].life,
        ShareLife::Expired
    );
    assert_eq!(
        engine
            .shares()
            .purge_expired(clock.now(), 100)
            .expect("purge"),
        1
    );
    assert!(matches!(
        engine.shares().open(&created.token, None),
        Err(ShareError::NotFound)
    ));
    assert!(engine.shares().list(alice).expect("list").is_empty());
}

#[test]
fn a_passphrase_is_needed_wrong_ones_cost_no_view_and_the_fifth_destroys() {
    let (_dir, _clock, engine) = engine();
    let right = SecretString::from("open sesame");
    let wrong = SecretString::from("open says me");
    let created = create(
        &engine,
        None,
        NewShare {
            max_views: Some(2),
            passphrase: Some(&right),
            ..share(b"guarded")
        },
    );
    assert!(
        engine
            .shares()
            .status(&created.token)
            .expect("status")
            .passphrase_required
    );
    // Leaving it out asks for it and counts nothing.
    for _ in 0..10 {
        assert!(matches!(
            engine.shares().open(&created.token, None),
            Err(ShareError::WrongPassphrase)
        ));
    }
    for _ in 0..SHARE_MAX_ATTEMPTS - 1 {
        assert!(matches!(
            engine.shares().open(&created.token, Some(&wrong)),
            Err(ShareError::WrongPassphrase)
        ));
    }
    let opened = engine
        .shares()
        .open(&created.token, Some(&right))
        .expect("the right one opens");
    assert_eq!(opened.content.as_slice(), b"guarded");
    assert_eq!(opened.views_left, 1, "wrong passphrases consumed no view");
    assert!(matches!(
        engine.shares().open(&created.token, Some(&wrong)),
        Err(ShareError::WrongPassphrase)
    ));
    assert!(matches!(
        engine.shares().open(&created.token, Some(&right)),
        Err(ShareError::Gone)
    ));
}

#[test]
fn creators_list_and_revoke_their_own_shares_only() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bob = user(&engine, "bob");
    let first = create(&engine, Some(alice), share(b"one"));
    clock.advance(Duration::from_secs(1));
    let second = create(&engine, Some(alice), share(b"two"));
    let listed = engine.shares().list(alice).expect("list");
    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, [second.id, first.id], "newest first");
    assert!(engine.shares().list(bob).expect("list").is_empty());
    assert!(matches!(
        engine.shares().revoke(bob, first.id),
        Err(ShareError::NotFound)
    ));
    engine.shares().revoke(alice, first.id).expect("revoked");
    engine
        .shares()
        .revoke(alice, first.id)
        .expect("again: still gone");
    assert!(matches!(
        engine.shares().open(&first.token, None),
        Err(ShareError::Gone)
    ));
    assert_eq!(
        engine.shares().list(alice).expect("list")[1].life,
        ShareLife::Revoked
    );
    // Deleting the account takes its shares with it.
    engine.admin().delete_user(alice).expect("deleted");
    assert!(matches!(
        engine.shares().open(&second.token, None),
        Err(ShareError::NotFound)
    ));
}

#[test]
fn bounds_are_enforced() {
    let (_dir, _clock, engine) = engine();
    let bad = [
        NewShare {
            ttl: Some(Duration::from_secs(59)),
            ..share(b"x")
        },
        NewShare {
            ttl: Some(Duration::from_secs(7 * 24 * 3600 + 1)),
            ..share(b"x")
        },
        NewShare {
            max_views: Some(0),
            ..share(b"x")
        },
        NewShare {
            max_views: Some(101),
            ..share(b"x")
        },
        share(b""),
    ];
    for new in bad {
        assert!(engine.shares().create(None, new).is_err());
    }
    let big = vec![b'x'; engine.shares().max_len(false) + 1];
    assert!(matches!(
        engine.shares().create(None, share(&big)),
        Err(ShareError::InvalidContent { .. })
    ));
    let empty = SecretString::from("");
    assert!(matches!(
        engine.shares().create(
            None,
            NewShare {
                passphrase: Some(&empty),
                ..share(b"x")
            }
        ),
        Err(ShareError::InvalidPassphrase)
    ));
}

#[test]
fn a_client_encrypted_share_round_trips_and_the_server_only_holds_the_blob() {
    let (_dir, _clock, engine) = engine();
    let (blob, fragment_key) = client::seal(b"only the recipient reads this");
    let created = create(
        &engine,
        None,
        NewShare {
            client_encrypted: true,
            ..share(&blob)
        },
    );
    assert!(
        engine
            .shares()
            .status(&created.token)
            .expect("status")
            .client_encrypted
    );
    let opened = engine.shares().open(&created.token, None).expect("opens");
    assert!(opened.client_encrypted);
    assert_eq!(opened.content.as_slice(), blob.as_slice());
    let plaintext = client::open(&opened.content, &fragment_key).expect("decrypts");
    assert_eq!(plaintext.as_slice(), b"only the recipient reads this");
}

#[test]
fn the_database_file_holds_neither_content_nor_url_secret() {
    let (dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let content = b"PLAINTEXT-MARKER-6b1f0c2e unmistakable";
    let passphrase = SecretString::from("PASSPHRASE-MARKER-91ad");
    let plain = create(
        &engine,
        Some(alice),
        NewShare {
            max_views: Some(5),
            ..share(content)
        },
    );
    let guarded = create(
        &engine,
        Some(alice),
        NewShare {
            max_views: Some(5),
            passphrase: Some(&passphrase),
            ..share(content)
        },
    );
    engine.shares().open(&plain.token, None).expect("opens");
    engine
        .shares()
        .open(&guarded.token, Some(&passphrase))
        .expect("opens");
    drop(engine);
    let mut file = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        file.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    let contains = |needle: &[u8]| file.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(content), "plaintext on disk");
    assert!(!contains(b"PASSPHRASE-MARKER-91ad"), "passphrase on disk");
    for token in [&plain.token, &guarded.token] {
        let text = token.expose_secret();
        assert!(!contains(text.as_bytes()), "token text on disk");
        let raw = URL_SAFE_NO_PAD.decode(text).expect("base64url");
        assert!(!contains(&raw), "raw URL secret on disk");
    }
}

#[test]
fn shares_count_toward_their_creators_quota_until_they_are_gone() {
    use strongroom_engine::accounts::Quota;
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let quota = Quota {
        max_bytes: 300,
        max_records: 3,
        writes_per_minute: 60,
    };
    engine.admin().set_quota(alice, Some(quota)).expect("quota");
    let usage = |engine: &Engine| engine.accounts().quota(alice).expect("quota").usage;
    let kept = create(&engine, Some(alice), share(&[b'k'; 100]));
    assert_eq!(usage(&engine).records, 1);
    assert!(usage(&engine).bytes > 100, "{:?}", usage(&engine));
    // Bytes: a second large share, or a message, would pass 300.
    assert!(matches!(
        engine.shares().create(Some(alice), share(&[b'x'; 200])),
        Err(ShareError::QuotaExceeded { what: "bytes", .. })
    ));
    assert!(matches!(
        engine.records().put(alice, &[b'm'; 200], None),
        Err(strongroom_engine::RecordError::QuotaExceeded { what: "bytes", .. })
    ));
    // Records: shares and messages share the count.
    engine
        .records()
        .put(alice, b"m", None)
        .expect("a message fits");
    let once = create(&engine, Some(alice), share(b"s"));
    assert!(matches!(
        engine.shares().create(Some(alice), share(b"t")),
        Err(ShareError::QuotaExceeded {
            what: "messages",
            ..
        })
    ));
    // Consumed, revoked or expired, a share stops counting.
    engine.shares().open(&once.token, None).expect("opens");
    assert_eq!(usage(&engine).records, 2);
    engine.shares().revoke(alice, kept.id).expect("revoke");
    assert_eq!(usage(&engine).records, 1);
    let brief = create(
        &engine,
        Some(alice),
        NewShare {
            ttl: Some(Duration::from_secs(60)),
            ..share(b"brief")
        },
    );
    assert_eq!(usage(&engine).records, 2);
    clock.advance(Duration::from_secs(61));
    engine
        .shares()
        .purge_expired(clock.now(), 100)
        .expect("purge");
    assert_eq!(usage(&engine).records, 1);
    assert!(matches!(
        engine.shares().open(&brief.token, None),
        Err(ShareError::NotFound | ShareError::Gone)
    ));
    // Anonymous shares count toward nobody.
    create(&engine, None, share(&[b'a'; 150]));
    assert_eq!(usage(&engine).records, 1);
}

#[test]
fn creating_opening_guessing_and_revoking_are_audited_without_the_token() {
    use strongroom_engine::audit::{AuditAction, AuditFilter, AuditOutcome, AuditTarget};
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let guarded = create(
        &engine,
        Some(alice),
        NewShare {
            passphrase: Some(&SecretString::from("open sesame")),
            max_views: Some(2),
            ..share(b"guarded")
        },
    );
    assert!(matches!(
        engine
            .shares()
            .open(&guarded.token, Some(&SecretString::from("wrong guess"))),
        Err(ShareError::WrongPassphrase)
    ));
    engine
        .shares()
        .open(&guarded.token, Some(&SecretString::from("open sesame")))
        .expect("opens");
    engine.shares().revoke(alice, guarded.id).expect("revoke");
    let log = engine
        .audit()
        .page(&AuditFilter::default(), 0, 100)
        .expect("log")
        .entries;
    let shares: Vec<_> = log
        .iter()
        .filter(|e| e.target == AuditTarget::Share(guarded.id))
        .map(|e| (e.action, e.outcome))
        .collect();
    assert_eq!(
        shares,
        [
            (AuditAction::CreateShare, AuditOutcome::Success),
            (AuditAction::OpenShare, AuditOutcome::Denied),
            (AuditAction::OpenShare, AuditOutcome::Success),
            (AuditAction::RevokeShare, AuditOutcome::Success),
        ]
    );
    let text = format!("{log:?}");
    assert!(!text.contains(guarded.token.expose_secret()));
    assert!(engine.audit().verify(None).expect("verify").is_ok());
}
