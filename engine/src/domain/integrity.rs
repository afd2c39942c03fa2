//! A consistency check of the storage indexes, for tests, fuzzing and the
//! operator's `verify` command. Reads the whole store: O(size).

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::clock::Timestamp;
use crate::crypto::envelope::Envelope;
use crate::domain::files;
use crate::error::RecordError;
use crate::error::StorageError;
use crate::ids::{FileId, KeyScope, RecordId, RecordKey, UserId};
use crate::keyring::Keyring;
use crate::model::access::Usage;
use crate::model::audit::{AuditAction, AuditTarget};
use crate::schema::{
    API_KEYS, AUDIT, CREDITS, DATA_KEYS, FILE_EXPIRY, FILE_SEGMENTS, FILES, FileState, LEDGER,
    RECORD_EXPIRY, RECORDS, SCOPES, SESSIONS, SHARE_EXPIRY, SHARES, SHARES_BY_OWNER, ShareState,
    TOKEN_EXPIRY, TOKENS, TokenHash, USAGE, USERS, USERS_BY_NAME,
};
use crate::store::{Flow, Order, ReadTx};

/// What [`Maintenance::check_integrity`](crate::maintenance::Maintenance::check_integrity) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Records stored (expired or not).
    pub records: u64,
    /// Tokens stored.
    pub tokens: u64,
    /// Users stored.
    pub users: u64,
    /// Share links stored (tombstones included).
    pub shares: u64,
    /// Files stored (uploads under way included).
    pub files: u64,
    /// Envelopes opened by a deep check (0 unless deep).
    pub envelopes_opened: u64,
    /// Records sealed under an older data key version than their scope's
    /// newest (what `rotate-data-keys` re-seals; not a problem).
    pub records_on_older_keys: u64,
    /// Every inconsistency found; empty when the store is sound.
    pub problems: Vec<IntegrityProblem>,
}

impl IntegrityReport {
    /// Whether no problem was found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One inconsistency between tables.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityProblem {
    /// A record without its expiry-index entry (the reaper would miss it).
    RecordWithoutExpiry {
        /// The record's scope.
        scope: KeyScope,
        /// The record.
        record: RecordId,
    },
    /// A record whose scope has no key ring (it can never be read).
    RecordWithoutScope {
        /// The record's scope.
        scope: KeyScope,
        /// The record.
        record: RecordId,
    },
    /// An expiry-index entry whose record is gone.
    ExpiryWithoutRecord {
        /// The entry's scope.
        scope: KeyScope,
        /// The record it names.
        record: RecordId,
        /// Its expiry time.
        expires_at: Timestamp,
    },
    /// A token without its expiry-index entry.
    TokenWithoutExpiry,
    /// A token without its session-index entry.
    TokenWithoutSession,
    /// Token expiry-index entries whose token is gone.
    ExpiryWithoutToken {
        /// How many.
        count: u64,
    },
    /// A user whose name does not lead back to them.
    UserWithoutName {
        /// The user.
        user: UserId,
    },
    /// A user without a current data key.
    UserWithoutDataKey {
        /// The user.
        user: UserId,
    },
    /// Share links whose expiry or owner index entries are missing or
    /// point nowhere.
    ShareIndexMismatch {
        /// How many entries disagree.
        count: u64,
    },
    /// Share links made by an account that no longer exists (its
    /// deletion removes its shares).
    ShareWithoutOwner {
        /// How many.
        count: u64,
    },
    /// A user's usage counter disagrees with the messages they sent that
    /// are stored and the share links they made that hold their content.
    UsageMismatch {
        /// The user.
        user: UserId,
        /// What the counter says.
        counted: Usage,
        /// What the records add up to.
        stored: Usage,
    },
    /// API key entries whose key token is gone.
    KeyWithoutToken {
        /// How many.
        count: u64,
    },
    /// A file or upload without its expiry-index entry, or whose segments
    /// are not exactly `0..n` (the reaper would miss some).
    FileIndexMismatch {
        /// The file's owner.
        owner: UserId,
        /// The file.
        file: FileId,
    },
    /// File segments or file expiry entries that belong to no file.
    OrphanFileEntries {
        /// How many.
        count: u64,
    },
    /// A ledger entry that is not what the audit entry of its `seq`
    /// recorded (a different hash, account, amount or balance).
    LedgerMismatch {
        /// The entry's sequence number.
        seq: u64,
    },
    /// An account's balance differs from the sum of its ledger, or a
    /// ledger entry's balance from the sum before it.
    BalanceMismatch {
        /// The account.
        account: UserId,
        /// What the balance says.
        balance: u64,
        /// What the ledger adds up to.
        ledger: i128,
    },
    /// A file whose metadata or segments do not open (deep check only).
    FileDoesNotOpen {
        /// The file's owner.
        owner: UserId,
        /// The file.
        file: FileId,
    },
    /// A record whose envelope does not open with its scope's keys (deep
    /// check only).
    EnvelopeDoesNotOpen {
        /// The record's scope.
        scope: KeyScope,
        /// The record.
        record: RecordId,
    },
}

impl fmt::Display for IntegrityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RecordWithoutExpiry { scope, record } => {
                write!(f, "record {record} of {scope:?} has no expiry entry")
            }
            Self::RecordWithoutScope { scope, record } => {
                write!(f, "record {record} of {scope:?} has no key ring")
            }
            Self::ExpiryWithoutRecord {
                scope,
                record,
                expires_at,
            } => write!(
                f,
                "expiry entry {expires_at} for record {record} of {scope:?} has no record"
            ),
            Self::TokenWithoutExpiry => f.write_str("a token has no expiry entry"),
            Self::TokenWithoutSession => f.write_str("a token has no session entry"),
            Self::ExpiryWithoutToken { count } => {
                write!(f, "{count} token expiry entries have no token")
            }
            Self::FileIndexMismatch { owner, file } => {
                write!(
                    f,
                    "file {file} of {owner} disagrees with its segments or expiry entry"
                )
            }
            Self::OrphanFileEntries { count } => {
                write!(
                    f,
                    "{count} file segments or expiry entries belong to no file"
                )
            }
            Self::FileDoesNotOpen { owner, file } => {
                write!(f, "file {file} of {owner} does not open")
            }
            Self::UserWithoutName { user } => write!(f, "user {user} has no name entry"),
            Self::UserWithoutDataKey { user } => write!(f, "user {user} has no current data key"),
            Self::ShareIndexMismatch { count } => {
                write!(
                    f,
                    "{count} share index entries disagree with the shares table"
                )
            }
            Self::ShareWithoutOwner { count } => {
                write!(f, "{count} share links belong to no account")
            }
            Self::UsageMismatch {
                user,
                counted,
                stored,
            } => write!(
                f,
                "user {user}'s usage says {} messages / {} bytes, the records {} / {}",
                counted.records, counted.bytes, stored.records, stored.bytes
            ),
            Self::KeyWithoutToken { count } => {
                write!(f, "{count} api key entries have no token")
            }
            Self::LedgerMismatch { seq } => write!(
                f,
                "ledger entry {seq} is not what audit entry {seq} recorded"
            ),
            Self::BalanceMismatch {
                account,
                balance,
                ledger,
            } => write!(
                f,
                "user {account} has a balance of {balance} credits but a ledger summing to {ledger}"
            ),
            Self::EnvelopeDoesNotOpen { scope, record } => {
                write!(f, "record {record} of {scope:?} does not decrypt")
            }
        }
    }
}

/// Checks that every record has exactly its expiry entry and a key ring,
/// every token its expiry and session entries, every user their name
/// entry, current data key and a usage counter that matches the records
/// they sent, and every API key its token.
pub(crate) fn check(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    deep: bool,
) -> Result<IntegrityReport, StorageError> {
    let mut report = IntegrityReport::default();
    let mut expiry: HashSet<(Timestamp, KeyScope, RecordKey)> = HashSet::new();
    RECORD_EXPIRY.scan(tx, .., Order::Ascending, |key, ()| {
        expiry.insert(key);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut problems = Vec::new();
    let mut sent: HashMap<UserId, Usage> = HashMap::new();
    RECORDS.scan(tx, .., Order::Ascending, |(scope, key), row| {
        report.records += 1;
        let usage = sent.entry(row.sender).or_default();
        usage.records += 1;
        usage.bytes += row.envelope.len() as u64;
        let record = keyring.record_id(scope, key);
        if !expiry.remove(&(row.expires_at, scope, key)) {
            problems.push(IntegrityProblem::RecordWithoutExpiry { scope, record });
        }
        match SCOPES.get(tx, &scope)? {
            None => problems.push(IntegrityProblem::RecordWithoutScope { scope, record }),
            Some(current) => {
                let version = Envelope::parse(&row.envelope).map(|e| e.key_version());
                if version.is_ok_and(|v| v < current.key_version) {
                    report.records_on_older_keys += 1;
                }
            }
        }
        if deep {
            match keyring.open_record(tx, scope, key, row.as_ref()) {
                Ok(_) => report.envelopes_opened += 1,
                Err(RecordError::Storage(e)) => return Err(e),
                Err(_) => problems.push(IntegrityProblem::EnvelopeDoesNotOpen { scope, record }),
            }
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    for (expires_at, scope, key) in expiry {
        problems.push(IntegrityProblem::ExpiryWithoutRecord {
            scope,
            record: keyring.record_id(scope, key),
            expires_at,
        });
    }
    let mut token_expiry: HashSet<(Timestamp, TokenHash)> = HashSet::new();
    TOKEN_EXPIRY.scan(tx, .., Order::Ascending, |key, ()| {
        token_expiry.insert(key);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    TOKENS.scan(tx, .., Order::Ascending, |hash, row| {
        report.tokens += 1;
        if !token_expiry.remove(&(row.expires_at, hash)) {
            problems.push(IntegrityProblem::TokenWithoutExpiry);
        }
        if !SESSIONS.contains(tx, &(row.owner, row.session, hash))? {
            problems.push(IntegrityProblem::TokenWithoutSession);
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    if !token_expiry.is_empty() {
        problems.push(IntegrityProblem::ExpiryWithoutToken {
            count: token_expiry.len() as u64,
        });
    }
    // A share link counts toward its creator's usage while it holds its
    // content.
    SHARES.scan(tx, .., Order::Ascending, |_, row| {
        if let Some(owner) = row.owner
            && row.state == ShareState::Active
        {
            let usage = sent.entry(owner).or_default();
            usage.records += 1;
            usage.bytes += row.envelope.len() as u64;
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    problems.extend(check_files(tx, keyring, deep, &mut sent, &mut report)?);
    USERS.scan(tx, .., Order::Ascending, |user, row| {
        report.users += 1;
        if USERS_BY_NAME.get(tx, &row.username)? != Some(user) {
            problems.push(IntegrityProblem::UserWithoutName { user });
        }
        let scope = KeyScope::User(user);
        let has_key = match SCOPES.get(tx, &scope)? {
            Some(s) => DATA_KEYS.contains(tx, &(scope, s.key_version))?,
            None => false,
        };
        if !has_key {
            problems.push(IntegrityProblem::UserWithoutDataKey { user });
        }
        let counted = USAGE.get(tx, &user)?.unwrap_or_default();
        let stored = sent.get(&user).copied().unwrap_or_default();
        if counted != stored {
            problems.push(IntegrityProblem::UsageMismatch {
                user,
                counted,
                stored,
            });
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut keys_without_token = 0;
    API_KEYS.scan(tx, .., Order::Ascending, |_, row| {
        if !TOKENS.contains(tx, &row.hash)? {
            keys_without_token += 1;
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    if keys_without_token > 0 {
        problems.push(IntegrityProblem::KeyWithoutToken {
            count: keys_without_token,
        });
    }
    problems.extend(check_credits(tx)?);
    let (mismatched, ownerless) = check_shares(tx, &mut report)?;
    if mismatched > 0 {
        problems.push(IntegrityProblem::ShareIndexMismatch { count: mismatched });
    }
    if ownerless > 0 {
        problems.push(IntegrityProblem::ShareWithoutOwner { count: ownerless });
    }
    report.problems = problems;
    Ok(report)
}

/// Every ledger entry is what its audit entry recorded (while that entry
/// is not pruned), each balance after is the one before plus the amount,
/// and each account's balance is its ledger's sum.
fn check_credits(tx: &dyn ReadTx) -> Result<Vec<IntegrityProblem>, StorageError> {
    let mut problems = Vec::new();
    let mut sums: HashMap<UserId, i128> = HashMap::new();
    LEDGER.scan(tx, .., Order::Ascending, |seq, entry| {
        let sum = sums.entry(entry.account).or_default();
        *sum += i128::from(entry.amount);
        if *sum != i128::from(entry.balance) {
            problems.push(IntegrityProblem::BalanceMismatch {
                account: entry.account,
                balance: entry.balance,
                ledger: *sum,
            });
        }
        if let Some(audited) = AUDIT.get(tx, &seq)? {
            let recorded = AuditTarget::Credits {
                account: entry.account,
                amount: entry.amount,
                balance: entry.balance,
            };
            if audited.hash != entry.tx_hash
                || audited.target != recorded
                || audited.action != AuditAction::Credits(entry.movement)
            {
                problems.push(IntegrityProblem::LedgerMismatch { seq });
            }
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    CREDITS.scan(tx, .., Order::Ascending, |account, row| {
        let ledger = sums.get(&account).copied().unwrap_or(0);
        if ledger != i128::from(row.balance) {
            problems.push(IntegrityProblem::BalanceMismatch {
                account,
                balance: row.balance,
                ledger,
            });
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    Ok(problems)
}

/// Every file has its expiry entry and exactly its segments; a deep check
/// opens each complete file whole. Adds what files charge to `sent`.
fn check_files(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    deep: bool,
    sent: &mut HashMap<UserId, Usage>,
    report: &mut IntegrityReport,
) -> Result<Vec<IntegrityProblem>, StorageError> {
    let mut problems = Vec::new();
    let mut expiry = HashSet::new();
    FILE_EXPIRY.scan(tx, .., Order::Ascending, |key, ()| {
        expiry.insert(key);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut segments_owned = 0u64;
    FILES.scan(tx, .., Order::Ascending, |(owner, file), row| {
        report.files += 1;
        let usage = sent.entry(row.sender).or_default();
        usage.records += 1;
        usage.bytes += row.sealed_bytes;
        let mut indexes = 0u64;
        let mut in_order = true;
        FILE_SEGMENTS.scan_bytes(
            tx,
            (owner, file, 0)..=(owner, file, u32::MAX),
            Order::Ascending,
            |(_, _, index), _| {
                in_order &= u64::from(index) == indexes;
                indexes += 1;
                Ok::<_, StorageError>(Flow::Continue)
            },
        )?;
        segments_owned += indexes;
        let has_expiry = expiry.remove(&(row.expires_at, owner, file));
        if !has_expiry || !in_order || indexes != row.segments {
            problems.push(IntegrityProblem::FileIndexMismatch { owner, file });
        }
        if deep && row.state == FileState::Complete {
            if files::opens(tx, keyring, owner, file, row)? {
                report.envelopes_opened += 1;
            } else {
                problems.push(IntegrityProblem::FileDoesNotOpen { owner, file });
            }
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut segments_total = 0u64;
    FILE_SEGMENTS.scan_bytes(tx, .., Order::Ascending, |_, _| {
        segments_total += 1;
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let orphans = segments_total.saturating_sub(segments_owned) + expiry.len() as u64;
    if orphans > 0 {
        problems.push(IntegrityProblem::OrphanFileEntries { count: orphans });
    }
    Ok(problems)
}

/// Every share has its expiry entry (and its owner entry when it has an
/// owner), and every index entry its share; returns how many disagree.
fn check_shares(tx: &dyn ReadTx, report: &mut IntegrityReport) -> Result<(u64, u64), StorageError> {
    let mut expiry = HashSet::new();
    SHARE_EXPIRY.scan(tx, .., Order::Ascending, |key, ()| {
        expiry.insert(key);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut owned = HashSet::new();
    SHARES_BY_OWNER.scan(tx, .., Order::Ascending, |key, lookup| {
        owned.insert((key, lookup));
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let (mut mismatched, mut ownerless) = (0, 0);
    SHARES.scan(tx, .., Order::Ascending, |lookup, row| {
        report.shares += 1;
        if let Some(owner) = row.owner
            && !USERS.contains(tx, &owner)?
        {
            ownerless += 1;
        }
        if !expiry.remove(&(row.expires_at, lookup)) {
            mismatched += 1;
        }
        if let Some(owner) = row.owner
            && !owned.remove(&((owner, row.id), lookup))
        {
            mismatched += 1;
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    Ok((mismatched + (expiry.len() + owned.len()) as u64, ownerless))
}
