//! The OpenID Connect relying party: the provider's discovery document and
//! keys (read at start, or at the first sign-in when lazy, and again when a
//! token names a key not seen yet: the provider rotated its keys), the
//! authorization URL with PKCE (S256), `state` and `nonce`, and the code
//! exchange with full ID token validation (signature, `iss`, `aud`, `azp`,
//! `exp`, `nonce`) by `openidconnect`.

use std::sync::RwLock;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use strongroom_engine::SecretString;
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::sessions::ExternalIdentity;

use crate::oidc::pending::{Pending, PendingSignIns, pending_sign_ins};

/// How to reach the provider.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The issuer URL (its discovery document is under
    /// `/.well-known/openid-configuration`).
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: SecretString,
    /// The name the sign-in button shows ("Company SSO").
    pub name: String,
    /// The scopes asked for (`openid` is always among them).
    pub scopes: Vec<String>,
    /// `<public-url>/v1/oidc/callback`.
    pub redirect_uri: String,
}

/// Why the provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// A URL in the configuration is not one.
    #[error("{0}")]
    Config(String),
    /// The discovery document or keys could not be read.
    #[error("cannot read the provider's discovery document: {0}")]
    Discovery(String),
    /// The code exchange failed.
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    /// The ID token did not validate.
    #[error("the ID token is not valid: {0}")]
    Token(String),
}

/// A sign-in under way: what the callback needs to finish it.
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: PkceCodeVerifier,
}

/// The relying party of one provider.
pub struct Oidc {
    config: OidcConfig,
    http: openidconnect::reqwest::Client,
    metadata: RwLock<Option<CoreProviderMetadata>>,
    pending: PendingSignIns,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer)
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// The relying party for `config`, with the provider's discovery
    /// document read now (or, with `lazy`, at the first sign-in).
    pub async fn new(config: OidcConfig, lazy: bool) -> Result<Self, OidcError> {
        IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OidcError::Config(format!("--oidc-issuer: {e}")))?;
        RedirectUrl::new(config.redirect_uri.clone())
            .map_err(|e| OidcError::Config(format!("the redirect URI: {e}")))?;
        // Following redirects would let a provider point this server at
        // other hosts.
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let oidc = Self {
            config,
            http,
            metadata: RwLock::new(None),
            pending: pending_sign_ins(),
        };
        if !lazy {
            oidc.discover().await?;
        }
        Ok(oidc)
    }

    /// The name the sign-in button shows.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Keeps `started` for its callback.
    pub(crate) fn remember(&self, started: Started, link: Option<strongroom_engine::UserId>) {
        let pending = Pending {
            nonce: started.nonce,
            verifier: started.verifier,
            link,
        };
        self.pending.remember(started.state, pending);
    }

    /// The sign-in of `state`, once.
    pub(crate) fn take(&self, state: &str) -> Option<Pending> {
        self.pending.take(state)
    }

    /// Reads the discovery document and keys again.
    async fn discover(&self) -> Result<CoreProviderMetadata, OidcError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(chain(&e)))?;
        *self.metadata.write().unwrap_or_else(|e| e.into_inner()) = Some(metadata.clone());
        Ok(metadata)
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, OidcError> {
        let known = self
            .metadata
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match known {
            Some(metadata) => Ok(metadata),
            None => self.discover().await,
        }
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_uri.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// A new sign-in: the provider's authorization URL and what to keep.
    pub(crate) async fn start(&self) -> Result<Started, OidcError> {
        let client = self.client(self.metadata().await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.config.scopes {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.clone()));
            }
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce,
            verifier,
        })
    }

    /// Exchanges `code` and validates the ID token against `nonce`; the
    /// identity it vouches for (the email only when verified).
    pub(crate) async fn finish(
        &self,
        code: String,
        nonce: &Nonce,
        verifier: PkceCodeVerifier,
    ) -> Result<ExternalIdentity, OidcError> {
        let client = self.client(self.metadata().await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(chain(&e)))?;
        let token = response
            .id_token()
            .ok_or_else(|| OidcError::Token("the provider sent no ID token".to_owned()))?;
        let claims = match token.claims(&client.id_token_verifier(), nonce) {
            Ok(claims) => claims.clone(),
            // A key not seen yet: the provider rotated; read its keys again.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let client = self.client(self.discover().await?)?;
                token
                    .claims(&client.id_token_verifier(), nonce)
                    .map_err(|e| OidcError::Token(e.to_string()))?
                    .clone()
            }
            Err(e) => return Err(OidcError::Token(e.to_string())),
        };
        Ok(identity(&claims))
    }
}

fn identity(claims: &CoreIdTokenClaims) -> ExternalIdentity {
    let email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .map(|e| e.as_str().to_owned());
    ExternalIdentity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email,
    }
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
