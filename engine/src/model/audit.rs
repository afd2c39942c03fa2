//! The audit log's public values: who acted ([`Actor`], [`Origin`]), what
//! they did ([`AuditAction`]) to what ([`AuditTarget`]), the entries as
//! stored ([`AuditEntry`]), signed checkpoints and the verification
//! report. Entries never hold a secret or message content: ids, names of
//! actions, an outcome and a client address.

use std::fmt;
use std::net::IpAddr;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::clock::Timestamp;
use crate::ids::{FileId, PasskeyId, RecordId, SessionId, ShareId, UserId};
use crate::model::credits::Movement;
use crate::scopes::Role;

/// Who performed an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User(UserId),
    /// A user's API key.
    ApiKey {
        /// The key's owner.
        owner: UserId,
        /// The key's id.
        key: SessionId,
    },
    /// Whoever holds the engine handle or the data dir: an embedding
    /// application, or an operator's command.
    Operator,
    /// A caller not signed in (a failed login under an unknown name).
    Anonymous,
}

impl Actor {
    /// The account acting, if any.
    pub fn user(self) -> Option<UserId> {
        match self {
            Self::User(user) | Self::ApiKey { owner: user, .. } => Some(user),
            Self::Operator | Self::Anonymous => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "user:{user}"),
            Self::ApiKey { key, .. } => write!(f, "key:{key}"),
            Self::Operator => f.write_str("operator"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Who asks for the changes made through an engine handle, and from where
/// (see [`Engine::acting`](crate::Engine::acting)). The default names no
/// actor (each operation then names the one its arguments imply: the
/// sender of a message, the operator for account administration) and no
/// address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// Who acts; `None` (or [`Actor::Anonymous`], a caller who has not
    /// proven who they are) lets each operation name the actor it knows.
    pub actor: Option<Actor>,
    /// The client's network address, when there is one.
    pub address: Option<IpAddr>,
}

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// A login attempt (successful, or denied).
    Login,
    /// An account created by its owner.
    Register,
    /// An account created by an admin or the operator.
    CreateUser,
    /// A message stored.
    SendMessage,
    /// A broadcast stored.
    Broadcast,
    /// A message deleted.
    DeleteMessage,
    /// A session ended by its owner.
    Logout,
    /// A spent refresh token presented again: its session was revoked.
    RefreshReuse,
    /// An API key created.
    CreateKey,
    /// An API key revoked.
    RevokeKey,
    /// An account's role set.
    SetRole(Role),
    /// An account disabled.
    DisableUser,
    /// An account enabled again.
    EnableUser,
    /// An account deleted (crypto-shredding).
    DeleteUser,
    /// Every session and key of an account ended.
    EndSessions,
    /// An account's quota changed.
    SetQuota,
    /// An end-to-end public key published (a new key version).
    PublishE2eKey,
    /// A backup written.
    Backup,
    /// The master key rotated.
    RotateMasterKey,
    /// Data keys rotated and records re-sealed.
    RotateDataKeys,
    /// A share link created.
    CreateShare,
    /// A share link opened (a view consumed), or a wrong passphrase tried
    /// (denied).
    OpenShare,
    /// A share link revoked by its owner.
    RevokeShare,
    /// A request to the admin API by a credential without the `admin`
    /// scope (denied).
    AdminRequest,
    /// An audit gap accepted: a restored backup whose chain did not verify.
    AuditGap,
    /// A password changed by its owner (or a wrong current password tried:
    /// denied).
    ChangePassword,
    /// A password set by an admin: every session and key ended.
    ResetPassword,
    /// Two-factor sign-in turned on (the first code confirmed).
    EnableTotp,
    /// Two-factor sign-in turned off by the account (or a wrong code tried:
    /// denied).
    DisableTotp,
    /// Two-factor sign-in cleared by an admin.
    ClearTotp,
    /// A sign-in through an OpenID Connect provider (or refused: denied).
    OidcLogin,
    /// An OpenID Connect identity linked to an account.
    LinkIdentity,
    /// A file stored (uploaded, or sent to another user).
    UploadFile,
    /// A file deleted by its owner.
    DeleteFile,
    /// Credits moved: granted, charged, topped up, bought, refunded or
    /// adjusted (the target holds the amount and the balance after).
    Credits(Movement),
    /// A passkey registered to an account.
    RegisterPasskey,
    /// A passkey removed by its owner.
    RemovePasskey,
    /// A sign-in with a passkey (or refused: denied).
    PasskeyLogin,
}

impl AuditAction {
    /// Every action name, for filters and documentation.
    pub fn names() -> Vec<&'static str> {
        Self::BASE_NAMES
            .into_iter()
            .chain(Movement::ALL.map(Movement::audit_name))
            .collect()
    }

    const BASE_NAMES: [&'static str; 39] = [
        "login",
        "register",
        "user.create",
        "message.send",
        "broadcast",
        "message.delete",
        "logout",
        "refresh.reuse",
        "key.create",
        "key.revoke",
        "user.role.admin",
        "user.role.user",
        "user.role.service",
        "user.disable",
        "user.enable",
        "user.delete",
        "user.sessions_end",
        "quota.set",
        "e2e_key.publish",
        "backup",
        "master_key.rotate",
        "data_keys.rotate",
        "share.create",
        "share.open",
        "share.revoke",
        "admin.request",
        "audit.gap",
        "password.change",
        "password.reset",
        "totp.enable",
        "totp.disable",
        "totp.clear",
        "login.oidc",
        "identity.link",
        "file.upload",
        "file.delete",
        "passkey.register",
        "passkey.remove",
        "login.passkey",
    ];

    /// The action's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::CreateUser => "user.create",
            Self::SendMessage => "message.send",
            Self::Broadcast => "broadcast",
            Self::DeleteMessage => "message.delete",
            Self::Logout => "logout",
            Self::RefreshReuse => "refresh.reuse",
            Self::CreateKey => "key.create",
            Self::RevokeKey => "key.revoke",
            Self::SetRole(Role::Admin) => "user.role.admin",
            Self::SetRole(Role::User) => "user.role.user",
            Self::SetRole(Role::Service) => "user.role.service",
            Self::DisableUser => "user.disable",
            Self::EnableUser => "user.enable",
            Self::DeleteUser => "user.delete",
            Self::EndSessions => "user.sessions_end",
            Self::SetQuota => "quota.set",
            Self::PublishE2eKey => "e2e_key.publish",
            Self::Backup => "backup",
            Self::RotateMasterKey => "master_key.rotate",
            Self::RotateDataKeys => "data_keys.rotate",
            Self::CreateShare => "share.create",
            Self::OpenShare => "share.open",
            Self::RevokeShare => "share.revoke",
            Self::AdminRequest => "admin.request",
            Self::AuditGap => "audit.gap",
            Self::ChangePassword => "password.change",
            Self::ResetPassword => "password.reset",
            Self::EnableTotp => "totp.enable",
            Self::DisableTotp => "totp.disable",
            Self::ClearTotp => "totp.clear",
            Self::OidcLogin => "login.oidc",
            Self::LinkIdentity => "identity.link",
            Self::UploadFile => "file.upload",
            Self::DeleteFile => "file.delete",
            Self::Credits(movement) => movement.audit_name(),
            Self::RegisterPasskey => "passkey.register",
            Self::RemovePasskey => "passkey.remove",
            Self::PasskeyLogin => "login.passkey",
        }
    }

    /// The action named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        let roles = Role::ALL.into_iter().map(Self::SetRole);
        [
            Self::Login,
            Self::Register,
            Self::CreateUser,
            Self::SendMessage,
            Self::Broadcast,
            Self::DeleteMessage,
            Self::Logout,
            Self::RefreshReuse,
            Self::CreateKey,
            Self::RevokeKey,
            Self::DisableUser,
            Self::EnableUser,
            Self::DeleteUser,
            Self::EndSessions,
            Self::SetQuota,
            Self::PublishE2eKey,
            Self::Backup,
            Self::RotateMasterKey,
            Self::RotateDataKeys,
            Self::CreateShare,
            Self::OpenShare,
            Self::RevokeShare,
            Self::AdminRequest,
            Self::AuditGap,
            Self::ChangePassword,
            Self::ResetPassword,
            Self::EnableTotp,
            Self::DisableTotp,
            Self::ClearTotp,
            Self::OidcLogin,
            Self::LinkIdentity,
            Self::UploadFile,
            Self::DeleteFile,
            Self::RegisterPasskey,
            Self::RemovePasskey,
            Self::PasskeyLogin,
        ]
        .into_iter()
        .chain(roles)
        .chain(Movement::ALL.map(Self::Credits))
        .find(|a| a.as_str() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an action was done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    /// Nothing in particular (a backup, a rotation, a failed login under
    /// an unknown name: the name tried is never recorded).
    None,
    /// An account.
    User(UserId),
    /// A message, by its owner's id for it.
    Message {
        /// Whose message.
        owner: UserId,
        /// The message's id.
        id: RecordId,
    },
    /// A broadcast.
    Broadcast(RecordId),
    /// A login session.
    Session {
        /// Whose session.
        owner: UserId,
        /// The session's id.
        id: SessionId,
    },
    /// An API key.
    ApiKey {
        /// Whose key.
        owner: UserId,
        /// The key's id.
        id: SessionId,
    },
    /// A share link, by its id (never its token).
    Share(ShareId),
    /// A file, by its owner's id for it.
    File {
        /// Whose file.
        owner: UserId,
        /// The file's id.
        id: FileId,
    },
    /// A passkey, by its owner's id for it.
    Passkey {
        /// Whose passkey.
        owner: UserId,
        /// The passkey's id.
        id: PasskeyId,
    },
    /// An account's credits: how many moved, and the balance after.
    Credits {
        /// Whose credits.
        account: UserId,
        /// Positive in, negative out.
        amount: i64,
        /// The balance after the movement.
        balance: u64,
    },
}

impl AuditTarget {
    /// The account the target belongs to, if any.
    pub fn user(self) -> Option<UserId> {
        match self {
            Self::User(user)
            | Self::Message { owner: user, .. }
            | Self::Session { owner: user, .. }
            | Self::ApiKey { owner: user, .. }
            | Self::File { owner: user, .. }
            | Self::Passkey { owner: user, .. }
            | Self::Credits { account: user, .. } => Some(user),
            Self::None | Self::Broadcast(_) | Self::Share(_) => None,
        }
    }
}

impl fmt::Display for AuditTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("-"),
            Self::User(user) => write!(f, "user:{user}"),
            Self::Message { id, .. } => write!(f, "message:{id}"),
            Self::Broadcast(id) => write!(f, "broadcast:{id}"),
            Self::Session { id, .. } => write!(f, "session:{id}"),
            Self::ApiKey { id, .. } => write!(f, "key:{id}"),
            Self::Share(id) => write!(f, "share:{id}"),
            Self::File { id, .. } => write!(f, "file:{id}"),
            Self::Passkey { id, .. } => write!(f, "passkey:{id}"),
            Self::Credits {
                account,
                amount,
                balance,
            } => write!(f, "credits:{account}:{amount:+}={balance}"),
        }
    }
}

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    /// It took effect.
    Success,
    /// It was refused (wrong password, disabled account, a reused refresh
    /// token).
    Denied,
}

impl AuditOutcome {
    /// `success` or `denied`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
        }
    }
}

/// One entry of the audit log, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// When it was written.
    pub time: Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// What they did.
    pub action: AuditAction,
    /// To what.
    pub target: AuditTarget,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The client's address, when the action came over a network.
    pub address: Option<IpAddr>,
    /// The previous entry's hash (zeros before the first).
    pub prev_hash: [u8; 32],
    /// `SHA-256(prev_hash || canonical encoding)`: the entry's transaction
    /// hash (`tx_hash`), which anyone holding the chain can recompute.
    pub hash: [u8; 32],
}

/// Which entries [`Audit::page`](crate::audit::Audit::page) returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries whose actor is this account (or one of its keys).
    pub actor: Option<UserId>,
    /// Only entries of this action.
    pub action: Option<AuditAction>,
    /// Only entries written at or after this time.
    pub from: Option<Timestamp>,
    /// Only entries written before this time.
    pub until: Option<Timestamp>,
}

/// A page of the audit log, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; `None` when the log ends here.
    pub next: Option<u64>,
}

/// The chain head (or, after pruning, the last pruned entry) signed with
/// the store's Ed25519 audit key. A third party that keeps one can later
/// prove the log was not rewritten or truncated before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number of the entry signed.
    pub seq: u64,
    /// That entry's hash.
    pub hash: [u8; 32],
    /// When the checkpoint was made.
    pub time: Timestamp,
    /// The store's audit verifying key (Ed25519).
    pub public_key: [u8; 32],
    /// Ed25519 signature of [`Checkpoint::signed_bytes`].
    pub signature: [u8; 64],
}

const CHECKPOINT_CONTEXT: &[u8] = b"strongroom audit checkpoint v1\0";

impl Checkpoint {
    /// What the signature covers: `"strongroom audit checkpoint v1\0" ||
    /// seq (u64 BE) || hash || time (unix ms, u64 BE)`.
    pub fn signed_bytes(seq: u64, hash: &[u8; 32], time: Timestamp) -> Vec<u8> {
        let mut out = CHECKPOINT_CONTEXT.to_vec();
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(hash);
        out.extend_from_slice(&time.as_unix_millis().to_be_bytes());
        out
    }

    /// Whether the signature is valid for the checkpoint's own public key
    /// (compare that key with the one you trust).
    pub fn signature_valid(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else {
            return false;
        };
        let message = Self::signed_bytes(self.seq, &self.hash, self.time);
        key.verify(&message, &Signature::from_bytes(&self.signature))
            .is_ok()
    }
}

/// A fault [`Audit::verify`](crate::audit::Audit::verify) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditProblem {
    /// The entry's contents do not hash to its stored hash: modified.
    Modified {
        /// The entry.
        seq: u64,
    },
    /// The entry does not follow its predecessor (deleted, inserted or
    /// reordered entries).
    BrokenLink {
        /// The entry whose predecessor is not the one it names.
        seq: u64,
    },
    /// The pruning anchor's signature is not the store's.
    BadAnchor,
    /// The log ends before the checkpoint's entry: truncated.
    Truncated {
        /// The checkpoint's sequence number.
        checkpoint: u64,
        /// The last entry present.
        head: u64,
    },
    /// The entry at the checkpoint's position is not the one signed.
    CheckpointMismatch {
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// The checkpoint's signature is invalid, or made with another key.
    BadCheckpoint,
    /// An entry does not decode.
    Unreadable {
        /// The entry.
        seq: u64,
    },
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Modified { seq } => write!(f, "audit entry {seq} was modified"),
            Self::BrokenLink { seq } => write!(
                f,
                "audit entry {seq} does not follow the entry before it (deleted or reordered)"
            ),
            Self::BadAnchor => f.write_str("the audit pruning anchor is not signed by this store"),
            Self::Truncated { checkpoint, head } => write!(
                f,
                "the audit log ends at {head}, before checkpoint {checkpoint}: truncated"
            ),
            Self::CheckpointMismatch { seq } => {
                write!(f, "audit entry {seq} is not the one the checkpoint signed")
            }
            Self::BadCheckpoint => {
                f.write_str("the checkpoint's signature is invalid or not this store's")
            }
            Self::Unreadable { seq } => write!(f, "audit entry {seq} does not decode"),
        }
    }
}

/// What [`Audit::verify`](crate::audit::Audit::verify) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// The last entry's sequence number and hash.
    pub head: Option<(u64, [u8; 32])>,
    /// Entries before this one were pruned (0: none).
    pub pruned_through: u64,
    /// Every fault found; empty when the chain is intact.
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// Whether the chain is intact.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}
