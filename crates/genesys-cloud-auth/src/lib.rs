//! OAuth for genesys-cloud-rs: every grant Genesys Cloud supports, and a token cache that
//! refreshes once for everyone.
//!
//! - [`Grant`]: client credentials, SAML2 bearer, authorization code, PKCE and refresh token,
//!   each a real `POST /oauth/token` on the login host, sent through an injected
//!   [`Executor`](genesys_cloud_core::Executor) (the transport's login stack).
//! - [`pkce`]: a CSPRNG verifier, its S256 challenge and the authorize URL.
//! - [`TokenProvider`]: what the transport's auth layer asks for a token; [`TokenCache`]
//!   (single-flight refresh, proactive refresh with jitter, a waiting limit, refresh-token
//!   rotation, re-mint after a 401) and [`StaticToken`] implement it, and users can bring
//!   their own.
//! - [`TokenStore`]: where a fleet of processes keeps its OAuth client's token, so one
//!   process mints it and the others read it ([`TokenCache::shared_through`]); the
//!   `genesys-cloud-fleet` crate implements it over Redis, [`MemoryTokenStore`] in memory.
//! - [`Secret`] wraps every secret so `Debug`, `Display` and logs never show it.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod grant;
pub mod metrics;
pub mod pkce;
mod secret;
mod store;

pub use cache::{CacheOptions, StaticToken, TokenCache, TokenPool, TokenProvider};
pub use grant::{request_token, ClientCredentials, Grant, TokenInfo, TOKEN_OPERATION, TOKEN_PATH};
pub use secret::Secret;
pub use store::{FleetTokenStats, MemoryTokenStore, StoredToken, TokenStore};
