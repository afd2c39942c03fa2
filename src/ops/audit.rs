//! `strongroom audit verify` and `strongroom audit checkpoint`: recompute
//! the audit chain (against a checkpoint kept elsewhere, if given), and
//! sign the chain head for a third party to keep.

use std::path::Path;

use strongroom_engine::audit::{AuditReport, Checkpoint};
use strongroom_facade::CheckpointJson;

use super::{OpsError, engine_error, open_existing_to_read};
use crate::datadir::StoreArgs;

/// What `audit verify` found.
#[derive(Clone, Debug)]
pub struct AuditVerified {
    /// The engine's report.
    pub report: AuditReport,
    /// The checkpoint checked against, if any.
    pub checkpoint: Option<Checkpoint>,
}

impl AuditVerified {
    /// One JSON object.
    pub fn to_json(&self) -> String {
        let r = &self.report;
        serde_json::json!({
            "sound": r.is_ok(),
            "entries": r.entries,
            "head_seq": r.head.map(|h| h.0),
            "head_tx_hash": r.head.map(|h| hex::encode(h.1)),
            "pruned_through": r.pruned_through,
            "checkpoint_seq": self.checkpoint.map(|c| c.seq),
            "problems": r.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// Lines for a person.
    pub fn to_text(&self) -> String {
        let r = &self.report;
        let mut out = format!("audit entries: {}\n", r.entries);
        if r.pruned_through > 0 {
            out.push_str(&format!(
                "pruned through entry {} (signed anchor)\n",
                r.pruned_through
            ));
        }
        if let Some((seq, hash)) = r.head {
            out.push_str(&format!("head: {seq} {}\n", hex::encode(hash)));
        }
        if let Some(c) = self.checkpoint {
            out.push_str(&format!("checked against checkpoint at entry {}\n", c.seq));
        }
        if r.is_ok() {
            out.push_str("ok: the audit chain is intact\n");
        } else {
            out.push_str(&format!("{} problem(s):\n", r.problems.len()));
            for p in &r.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }
}

/// Reads a checkpoint file written by `audit checkpoint` (or fetched from
/// `GET /v1/admin/audit/checkpoint`).
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, OpsError> {
    let bad = |reason: String| OpsError::Checkpoint {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| OpsError::Io {
        path: path.to_owned(),
        source,
    })?;
    let json: CheckpointJson =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
    json.to_checkpoint().map_err(bad)
}

/// Recomputes the audit chain of `args`' store.
pub fn audit_verify(
    args: &StoreArgs,
    checkpoint: Option<&Path>,
) -> Result<AuditVerified, OpsError> {
    let checkpoint = checkpoint.map(read_checkpoint).transpose()?;
    let engine = open_existing_to_read(args)?;
    let report = engine
        .audit()
        .verify(checkpoint.as_ref())
        .map_err(|e| engine_error(args, e))?;
    Ok(AuditVerified { report, checkpoint })
}

/// The chain head of `args`' store, signed, as JSON.
pub fn audit_checkpoint(args: &StoreArgs) -> Result<String, OpsError> {
    let engine = open_existing_to_read(args)?;
    let checkpoint = engine
        .audit()
        .checkpoint()
        .map_err(|e| engine_error(args, e))?;
    serde_json::to_string_pretty(&CheckpointJson::from(&checkpoint)).map_err(|e| OpsError::Io {
        path: args.database(),
        source: std::io::Error::other(e),
    })
}
