//! Public values of the TOTP second factor.

use std::fmt;

use secrecy::SecretString;

/// What an authenticator app needs to start making codes: the secret as
/// base32 (to type in) and the `otpauth://` URI (for a QR code). Both are
/// secrets: shown to the account once, never logged.
pub struct TotpSetup {
    /// The secret, base32 (RFC 4648, no padding).
    pub secret: SecretString,
    /// `otpauth://totp/Strongroom:NAME?secret=…&issuer=Strongroom`.
    pub otpauth_uri: SecretString,
}

impl fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpSetup").finish_non_exhaustive()
    }
}

/// The second factor that comes with a password.
#[derive(Debug)]
pub enum SecondFactor {
    /// A six-digit code from the authenticator app.
    Totp(SecretString),
    /// One of the recovery codes shown when TOTP was turned on (each
    /// works once).
    RecoveryCode(SecretString),
}
