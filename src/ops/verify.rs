//! `strongroom verify`: the store's indexes agree, and with `--deep` every
//! envelope opens.

use strongroom_engine::IntegrityReport;

use super::{OpsError, StoreArgs, open_existing};

/// What a verification found.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The engine's report.
    pub report: IntegrityReport,
    /// Whether envelopes were opened.
    pub deep: bool,
}

impl Verified {
    /// Whether nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.report.is_sound()
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        let r = &self.report;
        serde_json::json!({
            "sound": r.is_sound(),
            "deep": self.deep,
            "users": r.users,
            "records": r.records,
            "tokens": r.tokens,
            "shares": r.shares,
            "envelopes_opened": r.envelopes_opened,
            "records_on_older_keys": r.records_on_older_keys,
            "problems": r.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// Lines for a person.
    pub fn to_text(&self) -> String {
        let r = &self.report;
        let mut out = format!(
            "users: {}\nrecords: {}\ntokens: {}\nshare links: {}\n",
            r.users, r.records, r.tokens, r.shares
        );
        out.push_str(&format!(
            "records on older data keys: {}\n",
            r.records_on_older_keys
        ));
        if self.deep {
            out.push_str(&format!("envelopes opened: {}\n", r.envelopes_opened));
        }
        if r.is_sound() {
            out.push_str("ok: no problem found\n");
        } else {
            out.push_str(&format!("{} problem(s):\n", r.problems.len()));
            for p in &r.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }
}

/// Checks the store of `args`.
pub fn verify(args: &StoreArgs, deep: bool) -> Result<Verified, OpsError> {
    let engine = open_existing(args)?;
    let result = if deep {
        engine.check_integrity_deep()
    } else {
        engine.check_integrity()
    };
    let report = result.map_err(|source| OpsError::Storage {
        path: args.database(),
        source,
    })?;
    Ok(Verified { report, deep })
}
