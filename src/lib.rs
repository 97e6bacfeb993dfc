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
#[allow(unsafe_code)]
mod capi;
mod client;
mod config;
mod credentials;
mod disk_cache;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod helpers;
mod http;
mod profile;
mod sa_key;
mod secret;
mod token;
mod yc;

pub use client::{Client, Response, check_url, parse_header};
pub use config::{CredentialChoice, DEFAULT_API_DOMAIN, Options, timeout_from_secs};
pub use credentials::{Credential, DEFAULT_METADATA_ADDR, Source, read_token_file};
pub use disk_cache::default_dir as default_cache_dir;
pub use error::{ApiError, Error, Result, exit};
pub use helpers::{DOCKER_NOT_FOUND, docker_get, docker_list, exec_credential, is_yandex_registry};
pub use http::Logger;
pub use sa_key::ServiceAccountKey;
pub use secret::Secret;
pub use token::{IamToken, format_rfc3339, parse_rfc3339, unix_seconds};
