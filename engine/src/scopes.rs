//! What an account and a credential may do: roles, scopes, and the scopes
//! each role allows. An
//! access token carries its account's role's scopes; an API key carries
//! the scopes it was created with, never more than its owner's role allows
//! (checked when it is made and again on every use).

use std::fmt;
use std::str::FromStr;

use crate::ids::ParseIdError;

/// What an account may do. Every credential of the account carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages users, reads the audit trail, broadcasts.
    Admin,
    /// A person: their own messages and streams.
    User,
    /// A program acting for itself (usually through scoped keys).
    Service,
}

impl Role {
    /// All roles.
    pub const ALL: [Self; 3] = [Self::Admin, Self::User, Self::Service];

    /// The role's name: `admin`, `user`, `service`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
            Self::Service => "service",
        }
    }

    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Admin => 1,
            Self::User => 2,
            Self::Service => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(crate::ids::ParseIdError)
    }
}

/// One permission a credential can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// List and read one's messages.
    MessagesRead,
    /// Store, send and delete messages; create and revoke share links.
    MessagesWrite,
    /// Open event streams.
    EventsRead,
    /// Broadcast to every user.
    Broadcast,
    /// The admin API.
    Admin,
}

impl Scope {
    /// Every scope, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::MessagesRead,
        Self::MessagesWrite,
        Self::EventsRead,
        Self::Broadcast,
        Self::Admin,
    ];

    /// The scope's name, as the API spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MessagesRead => "messages:read",
            Self::MessagesWrite => "messages:write",
            Self::EventsRead => "events:read",
            Self::Broadcast => "broadcast",
            Self::Admin => "admin",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::MessagesRead => 1,
            Self::MessagesWrite => 2,
            Self::EventsRead => 4,
            Self::Broadcast => 8,
            Self::Admin => 16,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or(ParseIdError)
    }
}

/// A set of [`Scope`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const NONE: Self = Self(0);

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set with `scope` added.
    #[must_use]
    pub const fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// The scopes in both sets.
    #[must_use]
    pub const fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The first scope of this set that `allowed` lacks, if any.
    pub fn beyond(self, allowed: Self) -> Option<Scope> {
        self.iter().find(|s| !allowed.contains(*s))
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set, in [`Scope::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    /// The set these stored bits name; `None` if a bit names no scope.
    pub(crate) fn from_bits(bits: u8) -> Option<Self> {
        let all = Scope::ALL.into_iter().fold(0, |acc, s| acc | s.bit());
        (bits & !all == 0).then_some(Self(bits))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Scope::as_str))
            .finish()
    }
}

impl Role {
    /// What every credential of an account with this role may do at most:
    /// `admin` everything; `service` messages, streams and broadcasting;
    /// `user` messages and streams.
    pub fn scopes(self) -> Scopes {
        let person = [Scope::MessagesRead, Scope::MessagesWrite, Scope::EventsRead];
        let scopes: Scopes = person.into_iter().collect();
        match self {
            Self::Admin => Scope::ALL.into_iter().collect(),
            Self::Service => scopes.with(Scope::Broadcast),
            Self::User => scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_checked() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("messages".parse::<Scope>().is_err());
        let all: Scopes = Scope::ALL.into_iter().collect();
        assert_eq!(Scopes::from_bits(all.bits()), Some(all));
        assert_eq!(Scopes::from_bits(0x20), None);
    }

    #[test]
    fn roles_nest_and_beyond_names_the_missing_scope() {
        let user = Role::User.scopes();
        assert!(!user.contains(Scope::Broadcast) && user.contains(Scope::EventsRead));
        assert_eq!(Role::Service.scopes().beyond(Role::Admin.scopes()), None);
        assert_eq!(
            Role::Admin.scopes().beyond(Role::Service.scopes()),
            Some(Scope::Admin)
        );
        assert_eq!(Role::Service.scopes().beyond(user), Some(Scope::Broadcast));
    }
}
