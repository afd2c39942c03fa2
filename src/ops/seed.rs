//! `strongroom seed`: fake users, messages between them and broadcasts,
//! written through the engine in batched commits, with a progress bar on a
//! terminal and plain lines otherwise. The accounts share one generated
//! password (hashed once: seeding 1 000 users must not take 20 s of
//! Argon2); it and the usernames go to a credentials file created 0600.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake::Fake;
use fake::faker::internet::en::Username;
use fake::faker::lorem::en::{Sentence, Word};
use rand::RngExt;
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::{Engine, SecretString, UserId};

use super::progress::Progress;
use super::{OpsError, data_dir_error, engine_error};
use crate::datadir::StoreArgs;

/// How much to seed.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// Accounts.
    pub users: usize,
    /// Messages, each from a random user to a random user.
    pub messages: usize,
    /// Broadcasts.
    pub broadcasts: usize,
    /// Where the credentials go (default `DATA_DIR/seed-credentials.txt`).
    pub credentials: Option<PathBuf>,
    /// Seed a store that already holds data.
    pub force: bool,
}

/// What was seeded.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// Accounts created.
    pub users: usize,
    /// Messages stored.
    pub messages: usize,
    /// Broadcasts stored.
    pub broadcasts: usize,
    /// Time spent on messages.
    pub message_time: Duration,
    /// The credentials file.
    pub credentials: PathBuf,
}

/// Messages per commit.
const BATCH: usize = 2_000;
/// Lifetimes the seeded messages get (one per batch).
const TTLS: [u64; 4] = [3_600, 6 * 3_600, 86_400, 7 * 86_400];

/// Seeds the store of `args` (creating it, like `serve`, if it is absent).
pub fn seed(args: &StoreArgs, plan: &SeedPlan) -> Result<Seeded, OpsError> {
    if plan.users == 0 && plan.messages + plan.broadcasts > 0 {
        return Err(OpsError::Io {
            path: args.database(),
            source: std::io::Error::other("messages need --users of at least 1"),
        });
    }
    let engine = args.open_or_create().map_err(|e| data_dir_error(args, e))?;
    let storage = |source| OpsError::Storage {
        path: args.database(),
        source,
    };
    let existing = engine.maintenance().check_integrity().map_err(storage)?;
    if !plan.force && (existing.users > 0 || existing.records > 0) {
        return Err(OpsError::NotEmpty {
            path: args.database(),
        });
    }
    let credentials = plan
        .credentials
        .clone()
        .unwrap_or_else(|| match args.database {
            // No data dir to keep them in: the working directory.
            Some(_) => PathBuf::from("seed-credentials.txt"),
            None => args.data_dir.join("seed-credentials.txt"),
        });
    let password = generated_password();
    // Numbering continues after the accounts already there (with --force).
    let offset = existing.users as usize;
    let users = create_users(&engine, offset, plan.users, &password, args)?;
    write_credentials(&credentials, &users, &password)?;
    let started = Instant::now();
    store_messages(&engine, &users, plan.messages, args)?;
    let message_time = started.elapsed();
    let mut rng = rand::rng();
    for _ in 0..plan.broadcasts {
        let (sender, _) = &users[rng.random_range(0..users.len())];
        let text: String = Sentence(6..16).fake();
        engine
            .events()
            .broadcast(*sender, text.as_bytes(), Some(Duration::from_secs(86_400)))
            .map_err(|e| engine_error(args, e))?;
    }
    Ok(Seeded {
        users: users.len(),
        messages: plan.messages,
        broadcasts: plan.broadcasts,
        message_time,
        credentials,
    })
}

/// Four random words and a number: long enough for the 12-character rule.
fn generated_password() -> SecretString {
    let mut rng = rand::rng();
    let words: Vec<String> = (0..4).map(|_| Word().fake()).collect();
    SecretString::from(format!(
        "{}-{}",
        words.join("-"),
        rng.random_range(100..1000)
    ))
}

/// A valid, unique username from a fake one: lower case, allowed
/// characters only, numbered.
fn username(i: usize) -> String {
    let fake: String = Username().fake();
    let base: String = fake
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(40)
        .collect();
    let base = if base.len() < 3 {
        "user".to_owned()
    } else {
        base
    };
    format!("{base}{i}")
}

fn create_users(
    engine: &Engine,
    offset: usize,
    count: usize,
    password: &SecretString,
    args: &StoreArgs,
) -> Result<Vec<(UserId, String)>, OpsError> {
    let mut created = Vec::with_capacity(count);
    let names: Vec<String> = (0..count).map(|i| username(offset + i)).collect();
    for chunk in names.chunks(BATCH) {
        let users = engine
            .accounts()
            .create_many(chunk, password)
            .map_err(|e| engine_error(args, e))?;
        created.extend(users.into_iter().map(|u| (u.id, u.username)));
    }
    Ok(created)
}

/// The accounts' names and their password, in a new private file (0600)
/// moved over `path` whole: never into a file others may already read.
fn write_credentials(
    path: &Path,
    users: &[(UserId, String)],
    password: &SecretString,
) -> Result<(), OpsError> {
    let header = "# Seeded test accounts (strongroom seed). Every one has the password below.\n# Test data only: never seed a production store.\npassword ";
    let secret = password.expose_secret();
    let names: usize = users.iter().map(|(_, name)| name.len() + 6).sum();
    // Sized up front: growing would leave copies of the password behind.
    let mut text = zeroize::Zeroizing::new(String::with_capacity(
        header.len() + secret.len() + 1 + names,
    ));
    text.push_str(header);
    text.push_str(secret);
    text.push('\n');
    for (_, name) in users {
        text.push_str("user ");
        text.push_str(name);
        text.push('\n');
    }
    crate::datadir::files::write_private(path, text.as_bytes(), true).map_err(|source| {
        OpsError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

fn store_messages(
    engine: &Engine,
    users: &[(UserId, String)],
    count: usize,
    args: &StoreArgs,
) -> Result<(), OpsError> {
    let mut rng = rand::rng();
    let mut progress = Progress::new("messages", count);
    let mut left = count;
    while left > 0 {
        let n = left.min(BATCH);
        let texts: Vec<(UserId, UserId, String)> = (0..n)
            .map(|_| {
                let from = users[rng.random_range(0..users.len())].0;
                let to = users[rng.random_range(0..users.len())].0;
                (from, to, Sentence(4..20).fake())
            })
            .collect();
        let ttl = Duration::from_secs(TTLS[rng.random_range(0..TTLS.len())]);
        let results = engine
            .records()
            .send_batch(
                texts.iter().map(|(f, t, s)| (*f, *t, s.as_bytes())),
                Some(ttl),
            )
            .map_err(|e| engine_error(args, e))?;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            return Err(engine_error(args, e));
        }
        progress.advance(n);
        left -= n;
    }
    progress.finish();
    Ok(())
}
