//! What each operator subcommand prints, and its exit code.

use std::process::ExitCode;

use strongroom::datadir::StoreArgs;
use strongroom::ops::{self, OpsError};

/// Exit code of `verify` when it found problems (1 is any other failure,
/// 2 a usage error).
pub(crate) const EXIT_PROBLEMS: u8 = 3;

/// Runs `verify`, printing text or JSON.
pub(crate) fn verify(store: &StoreArgs, deep: bool, json: bool) -> Result<ExitCode, OpsError> {
    let verified = ops::verify(store, deep)?;
    if json {
        println!("{}", verified.to_json());
    } else {
        print!("{}", verified.to_text());
    }
    Ok(if verified.is_sound() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

/// Runs `migrate`, printing what was copied and the deep check of the copy.
pub(crate) fn migrate(from: &StoreArgs, to: &StoreArgs) -> Result<ExitCode, OpsError> {
    let migrated = ops::migrate(from, to)?;
    println!(
        "copied {} entries of {} tables from {} into {}, nothing decrypted",
        migrated.copied.entries,
        migrated.copied.tables.len(),
        from.database().display(),
        migrated.target.display()
    );
    println!("deep check of the copy:");
    print!("{}", migrated.verified.to_text());
    if from.key == strongroom::datadir::KeySource::DataDir {
        println!(
            "the copy opens with the same master key: {} (--master-key-file)",
            from.data_dir.join("master.key").display()
        );
    }
    Ok(if migrated.verified.is_sound() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

/// Runs `audit verify`, printing text or JSON.
pub(crate) fn audit_verify(
    store: &StoreArgs,
    checkpoint: Option<&std::path::Path>,
    json: bool,
) -> Result<ExitCode, OpsError> {
    let verified = ops::audit_verify(store, checkpoint)?;
    if json {
        println!("{}", verified.to_json());
    } else {
        print!("{}", verified.to_text());
    }
    Ok(if verified.report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

/// Runs `rotate-master-key`, printing what changed.
pub(crate) fn rotate_master_key(
    store: &StoreArgs,
    new_key_file: &std::path::Path,
) -> Result<ExitCode, OpsError> {
    let rotated = ops::rotate_master_key(store, new_key_file)?;
    println!(
        "re-wrapped {} data keys under the new master key in {} ms; the old key no longer opens {}",
        rotated.data_keys,
        rotated.took.as_millis(),
        store.database().display()
    );
    if rotated.replaced_key_file {
        println!(
            "{} now holds the new key",
            store.data_dir.join("master.key").display()
        );
    } else {
        println!("supply the new key from now on (--master-key-file or STRONGROOM_MASTER_KEY)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `seed`, printing what was written.
pub(crate) fn seed(store: &StoreArgs, plan: &ops::SeedPlan) -> Result<ExitCode, OpsError> {
    let seeded = ops::seed(store, plan)?;
    let secs = seeded.message_time.as_secs_f64().max(1e-9);
    println!(
        "seeded {} users, {} messages ({:.0} messages/s), {} broadcasts into {}",
        seeded.users,
        seeded.messages,
        seeded.messages as f64 / secs,
        seeded.broadcasts,
        store.database().display()
    );
    println!(
        "credentials (one shared password): {}",
        seeded.credentials.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `rotate-data-keys`, printing what changed.
pub(crate) fn rotate_data_keys(
    store: &StoreArgs,
    older_than_days: u64,
    batch: usize,
) -> Result<ExitCode, OpsError> {
    let older_than = std::time::Duration::from_secs(older_than_days.saturating_mul(86_400));
    let done = ops::rotate_data_keys(store, older_than, batch)?;
    if done.resumed {
        println!("resumed an interrupted rotation");
    } else {
        println!(
            "new data key versions for {} key scopes",
            done.scopes_rotated
        );
    }
    println!(
        "re-sealed {} of {} records and {} files under their newest data key",
        done.resealed, done.total, done.files_resealed
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `user add`, reading the password first.
pub(crate) fn add_user(
    store: &StoreArgs,
    name: &str,
    role: strongroom::engine::Role,
) -> Result<ExitCode, OpsError> {
    let password = ops::read_password()?;
    let user = ops::add_user(store, name, role, &password)?;
    println!(
        "created {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `compact`, printing the sizes.
pub(crate) fn compact(store: &StoreArgs) -> Result<ExitCode, OpsError> {
    if store.database.is_some() {
        // Opened anyway: a wrong key or URL is still an error.
        drop(ops::open_existing(store)?);
        println!(
            "nothing to compact: PostgreSQL reclaims the space of deleted rows itself \
             (autovacuum); VACUUM FULL in psql returns it to the operating system"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (before, after) = ops::compact(store)?;
    println!(
        "compacted {}: {before} bytes -> {after} bytes",
        store.database().display()
    );
    Ok(ExitCode::SUCCESS)
}
