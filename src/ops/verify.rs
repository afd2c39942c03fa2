//! `strongroom verify`: the store's indexes agree, the audit chain is
//! intact, and with `--deep` every envelope opens.

use strongroom_engine::audit::AuditReport;
use strongroom_engine::maintenance::IntegrityReport;

use super::{OpsError, open_existing};
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
}

impl Verified {
    /// Whether nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.report.is_sound() && self.audit.is_ok()
    }

    /// Every problem found, the store's then the audit chain's.
    pub fn problems(&self) -> Vec<String> {
        let store = self.report.problems.iter().map(ToString::to_string);
        store
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
        let r = &self.report;
        let mut out = format!(
            "users: {}\nrecords: {}\ntokens: {}\nshare links: {}\nfiles: {}\n",
            r.users, r.records, r.tokens, r.shares, r.files
        );
        out.push_str(&format!(
            "records on older data keys: {}\n",
            r.records_on_older_keys
        ));
        out.push_str(&format!("audit entries: {}\n", self.audit.entries));
        if self.deep {
            out.push_str(&format!("envelopes opened: {}\n", r.envelopes_opened));
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

/// Checks the store of `args`.
pub fn verify(args: &StoreArgs, deep: bool) -> Result<Verified, OpsError> {
    verify_engine(&open_existing(args)?, &args.database(), deep)
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
    })
}
