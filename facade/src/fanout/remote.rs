//! What one server instance tells the others about its commits, when
//! several serve one shared store (PostgreSQL): which users' streams should
//! read the store again, and which streams must end. Ids only, never
//! content — the store is the source of truth, so a lost notice costs a
//! stream latency (it catches up on the next wake), not events.
//!
//! The text form, one notice per message, is what the transport (NATS, in
//! the server) carries:
//!
//! ```text
//! wake <user> <user> …     those users' streams read the store
//! wake_all                 every stream reads the store (a broadcast)
//! session_ended <user> <session>
//! user_deleted <user>
//! account_changed <user>
//! ```

use std::sync::Arc;

use strongroom_engine::events::Notice;
use strongroom_engine::{KeyScope, SessionId, UserId};

use crate::fanout::Hub;

/// A notice for the other instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// Events were committed for these users.
    Wake(Vec<UserId>),
    /// A broadcast was committed: every stream has news.
    WakeAll,
    /// A session was revoked: its streams end.
    SessionEnded(UserId, SessionId),
    /// A user was deleted: their streams end.
    UserDeleted(UserId),
    /// A user's role changed or they were disabled: their streams end.
    AccountChanged(UserId),
}

impl Remote {
    /// What the others need to hear of a local commit's notice.
    pub fn of(notice: &Notice<'_>) -> Option<Self> {
        Some(match notice {
            Notice::Events(events) => {
                if events.iter().any(|e| e.scope == KeyScope::Broadcast) {
                    Self::WakeAll
                } else {
                    let mut users: Vec<UserId> = events
                        .iter()
                        .filter_map(|e| match e.scope {
                            KeyScope::User(u) => Some(u),
                            KeyScope::Broadcast => None,
                        })
                        .collect();
                    users.sort_unstable();
                    users.dedup();
                    Self::Wake(users)
                }
            }
            Notice::SessionEnded(session) => Self::SessionEnded(session.user, session.id),
            Notice::UserDeleted(user) => Self::UserDeleted(*user),
            Notice::AccountChanged(user) => Self::AccountChanged(*user),
            _ => return None,
        })
    }

    /// The text form.
    pub fn encode(&self) -> String {
        match self {
            Self::Wake(users) => {
                let mut text = String::from("wake");
                for u in users {
                    text.push(' ');
                    text.push_str(&u.to_string());
                }
                text
            }
            Self::WakeAll => "wake_all".to_owned(),
            Self::SessionEnded(user, session) => format!("session_ended {user} {session}"),
            Self::UserDeleted(user) => format!("user_deleted {user}"),
            Self::AccountChanged(user) => format!("account_changed {user}"),
        }
    }

    /// Parses the text form; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let mut words = text.split(' ');
        let kind = words.next()?;
        let mut user = || words.next()?.parse::<UserId>().ok();
        let remote = match kind {
            "wake" => {
                let mut users = Vec::new();
                for word in words.by_ref() {
                    users.push(word.parse().ok()?);
                }
                return Some(Self::Wake(users));
            }
            "wake_all" => Self::WakeAll,
            "session_ended" => {
                let u = user()?;
                Self::SessionEnded(u, words.next()?.parse().ok()?)
            }
            "user_deleted" => Self::UserDeleted(user()?),
            "account_changed" => Self::AccountChanged(user()?),
            _ => return None,
        };
        words.next().is_none().then_some(remote)
    }
}

/// Applies the other instances' notices to this instance's streams.
#[derive(Clone)]
pub struct RemoteStreams(pub(crate) Arc<Hub>);

impl RemoteStreams {
    /// Wakes or ends the streams a notice concerns.
    pub fn apply(&self, remote: &Remote) {
        match remote {
            Remote::Wake(users) => {
                for user in users {
                    self.0.wake(Some(*user));
                }
            }
            Remote::WakeAll => self.0.wake(None),
            Remote::SessionEnded(user, session) => self.0.end_session(*user, *session),
            Remote::UserDeleted(user) => self.0.on_notice(&Notice::UserDeleted(*user)),
            Remote::AccountChanged(user) => self.0.on_notice(&Notice::AccountChanged(*user)),
        }
    }

    /// Every stream reads the store again (after the transport missed
    /// messages, or on a timer as a backstop).
    pub fn wake_all(&self) {
        self.0.wake(None);
    }
}

#[cfg(test)]
mod tests {
    use super::Remote;
    use strongroom_engine::{SessionId, UserId};

    #[test]
    fn every_notice_survives_its_text_form() {
        let (a, b) = (UserId::from_u128(7), UserId::from_u128(u128::MAX));
        let session = SessionId::from_u128(42);
        for remote in [
            Remote::Wake(vec![a, b]),
            Remote::Wake(vec![]),
            Remote::WakeAll,
            Remote::SessionEnded(a, session),
            Remote::UserDeleted(b),
            Remote::AccountChanged(a),
        ] {
            assert_eq!(Remote::decode(&remote.encode()), Some(remote));
        }
        for junk in [
            "",
            "wake x",
            "user_deleted",
            "session_ended 1",
            "wake_all now",
            "nope",
        ] {
            assert_eq!(Remote::decode(junk), None, "{junk:?}");
        }
    }
}
