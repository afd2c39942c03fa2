//! The domains: each module works on one store transaction and the
//! keyring, never on the [`Engine`](crate::Engine) handle, so every
//! backend runs every domain.

pub(crate) mod accounts;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod credits;
pub(crate) mod e2e_keys;
pub(crate) mod events;
pub(crate) mod files;
pub(crate) mod identities;
pub(crate) mod integrity;
pub(crate) mod passkeys;
pub(crate) mod quotas;
pub(crate) mod records;
pub(crate) mod rekey;
pub(crate) mod reseal;
pub(crate) mod shares;
pub(crate) mod tokens;
pub(crate) mod totp;
