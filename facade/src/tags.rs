//! OpenAPI tags grouping the operations in Swagger UI.

use poem_openapi::Tags;

#[derive(Tags)]
pub(crate) enum ApiTags {
    /// Accounts and sessions: register, log in, refresh, log out.
    Accounts,
    /// Scoped API keys for services: create, list, revoke.
    ApiKeys,
    /// Encrypted, expiring messages of the authenticated caller.
    Messages,
    /// Encrypted files: streamed uploads and downloads, range reads.
    Files,
    /// Live delivery (Server-Sent Events) and broadcasts.
    Events,
    /// One-time and expiring share links for people without an account.
    Shares,
    /// End-to-end keys: publish yours, fetch a recipient's.
    EndToEnd,
    /// Credits: balances, the ledger, top-ups and purchases.
    Credits,
    /// Account management (admins only).
    Admin,
    /// Liveness.
    Health,
}
