//! Who, from where and in which request (feature `axum`).
//!
//! The client address of a request: the peer's, unless the peer is one of
//! your [`TrustedProxies`]; then the first untrusted hop of the
//! [`ForwardedHeader`] they set, walked from the right
//! ([`ClientIpResolver::resolve`]).

mod client_ip;
mod forwarded;
mod proxies;

pub use client_ip::ClientIpResolver;
pub use forwarded::ForwardedHeader;
pub use proxies::{Cidr, CidrError, TrustedProxies};
