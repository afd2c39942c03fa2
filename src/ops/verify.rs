//! `strongroom verify`: the store's indexes agree, the audit chain is
//! intact, and with `--deep` every envelope opens.

use strongroom_engine::audit::AuditReport;
use strongroom_engine::maintenance::IntegrityReport;
use strongroom_engine::{OpenError, StorageError};

use super::{OpsError, open_existing_to_read};
use crate::datadir::StoreArgs;

/// What a verification found.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The engine's report.
    pub report: IntegrityReport,
    /// The audit chain's report.
    pub audit: AuditReport,
    /// Whether envelopes were opened.
    pub deep: bool,
    /// The database file is damaged where it cannot be read (redb's
    /// account of it): nothing else could be checked.
    pub damaged: Option<String>,
}

impl Verified {
    /// A store whose file is too damaged to read: `redb` says how.
    fn damaged(redb: String, deep: bool) -> Self {
        Self {
            report: IntegrityReport::default(),
            audit: AuditReport::default(),
            deep,
            damaged: Some(redb),
        }
    }

    /// Whether nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.damaged.is_none() && self.report.is_sound() && self.audit.is_ok()
    }

    /// Every problem found: the file's damage, or the store's then the
    /// audit chain's.
    pub fn problems(&self) -> Vec<String> {
        let damage = self.damaged.iter().map(|redb| {
            format!(
                "the database file is damaged where it cannot be read (redb: {redb}); \
                 nothing else was checked: restore it from a backup"
            )
        });
        let store = self.report.problems.iter().map(ToString::to_string);
        damage
            .chain(store)
            .chain(self.audit.problems.iter().map(ToString::to_string))
            .collect()
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        let r = &self.report;
        serde_json::json!({
            "sound": self.is_sound(),
            "deep": self.deep,
            "users": r.users,
            "records": r.records,
            "tokens": r.tokens,
            "shares": r.shares,
            "files": r.files,
            "envelopes_opened": r.envelopes_opened,
            "records_on_older_keys": r.records_on_older_keys,
            "audit_entries": self.audit.entries,
            "problems": self.problems(),
        })
        .to_string()
    }

    /// Lines for a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // A damaged file was not counted: its damage is all there is.
        if self.damaged.is_none() {
            let r = &self.report;
            out.push_str(&format!(
                "users: {}\nrecords: {}\ntokens: {}\nshare links: {}\nfiles: {}\n",
                r.users, r.records, r.tokens, r.shares, r.files
            ));
            out.push_str(&format!(
                "records on older data keys: {}\n",
                r.records_on_older_keys
            ));
            out.push_str(&format!("audit entries: {}\n", self.audit.entries));
            if self.deep {
                out.push_str(&format!("envelopes opened: {}\n", r.envelopes_opened));
            }
        }
        let problems = self.problems();
        if problems.is_empty() {
            out.push_str("ok: no problem found\n");
        } else {
            out.push_str(&format!("{} problem(s):\n", problems.len()));
            for p in &problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }
}

/// Checks the store of `args`. A file too damaged to open or to read
/// through is a finding, not a failure to check.
pub fn verify(args: &StoreArgs, deep: bool) -> Result<Verified, OpsError> {
    let checked =
        open_existing_to_read(args).and_then(|e| verify_engine(&e, &args.database(), deep));
    match checked {
        Err(
            OpsError::Open {
                source: OpenError::Storage(StorageError::Damaged(redb)),
                ..
            }
            | OpsError::Storage {
                source: StorageError::Damaged(redb),
                ..
            },
        ) => Ok(Verified::damaged(redb, deep)),
        other => other,
    }
}

/// Checks the store `engine` has open, which messages call `label`.
pub(crate) fn verify_engine(
    engine: &strongroom_engine::Engine,
    label: &std::path::Path,
    deep: bool,
) -> Result<Verified, OpsError> {
    let result = if deep {
        engine.maintenance().check_integrity_deep()
    } else {
        engine.maintenance().check_integrity()
    };
    let storage = |source| OpsError::Storage {
        path: label.to_owned(),
        source,
    };
    let report = result.map_err(storage)?;
    let audit = engine.audit().verify(None).map_err(storage)?;
    Ok(Verified {
        report,
        audit,
        deep,
        damaged: None,
    })
}
