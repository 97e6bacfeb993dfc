//! Get and use Yandex Cloud IAM tokens.
//!
//! A [`Client`] turns a credential (an OAuth token, a ready IAM token, …) into IAM tokens,
//! caches them per credential for every thread of the process, renews them well before they
//! expire, and makes authorized requests with them. HTTP is blocking (ureq 3) over rustls with
//! the system's trust store.
//!
//! ```no_run
//! use yciam::{Client, Options};
//!
//! // The default chain: YC_IAM_TOKEN, YC_OAUTH_TOKEN, YC_TOKEN, ...
//! let client = Client::new(Options::from_env())?;
//! let token = client.token()?;
//! println!("expires at {:?}", token.expires_at_rfc3339());
//! let clouds = client.clouds(None)?;
//! println!("{} clouds", clouds.len());
//! # Ok::<(), yciam::Error>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod api;
mod cache;
mod client;
mod config;
mod credentials;
mod error;
mod http;
mod secret;
mod token;

pub use client::{Client, Response, check_url};
pub use config::{CredentialChoice, DEFAULT_API_DOMAIN, Options, timeout_from_secs};
pub use credentials::{Credential, Source, read_token_file};
pub use error::{ApiError, Error, Result, exit};
pub use http::Logger;
pub use secret::Secret;
pub use token::{IamToken, format_rfc3339, parse_rfc3339, unix_seconds};
