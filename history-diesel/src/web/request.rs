//! What a request says about where it came from, as a [`HistoryContext`].

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::header::{HeaderMap, HeaderName, USER_AGENT};
use http::request::Parts;

use super::ClientIpResolver;
use crate::HistoryContext;

/// How the layer reads a request, beside the user function.
#[derive(Debug, Clone)]
pub(crate) struct RequestSettings {
    pub(crate) client_ip: ClientIpResolver,
    pub(crate) request_id_header: HeaderName,
    pub(crate) task_scope: bool,
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            client_ip: ClientIpResolver::default(),
            request_id_header: HeaderName::from_static("x-request-id"),
            task_scope: true,
        }
    }
}

/// The context of the request `parts` describe: the user `user` finds,
/// the client address, the user agent and the request id.
pub(crate) fn request_context<U>(
    parts: &Parts,
    user: Option<U>,
    settings: &RequestSettings,
) -> HistoryContext<U> {
    let mut context = HistoryContext::new();
    if let Some(user) = user {
        context = context.user(user);
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Some(ip) = settings.client_ip.resolve(peer, &parts.headers) {
        context = context.client_ip(ip);
    }
    if let Some(agent) = user_agent(&parts.headers) {
        context = context.user_agent(agent);
    }
    if let Some(id) = request_id(&parts.headers, &settings.request_id_header) {
        context = context.request_id(id);
    }
    context
}

/// The first `User-Agent` line, as text (bytes that are not UTF-8 replaced;
/// the context cuts its length); none when empty.
fn user_agent(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(USER_AGENT)?.as_bytes();
    (!agent.is_empty()).then(|| String::from_utf8_lossy(agent).into_owned())
}

/// The first line of the request id header, when it is visible ASCII
/// (no spaces, no control or non-ASCII bytes) and not empty: an id is
/// matched against logs and other services, so one that would not survive
/// being printed or sent on is not kept.
fn request_id<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let id = headers.get(name)?.as_bytes();
    let visible = !id.is_empty() && id.iter().all(|b| b.is_ascii_graphic());
    // Visible ASCII is UTF-8.
    visible.then(|| std::str::from_utf8(id).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use http::{HeaderValue, Request};

    use super::*;

    fn parts(headers: &[(&str, &[u8])], peer: Option<&str>) -> Parts {
        let mut request = Request::new(());
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            request
                .headers_mut()
                .append(name, HeaderValue::from_bytes(value).unwrap());
        }
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        request.into_parts().0
    }

    #[test]
    fn reads_peer_agent_and_id() {
        let parts = parts(
            &[
                ("user-agent", b"curl/8.5.0"),
                ("x-request-id", b"req-1"),
                ("x-forwarded-for", b"6.6.6.6"),
            ],
            Some("192.0.2.7:50000"),
        );
        let context = request_context(&parts, Some(7), &RequestSettings::default());
        assert_eq!(context.get_user(), Some(&7));
        assert_eq!(
            context.get_client_ip(),
            Some("192.0.2.7".parse::<IpAddr>().unwrap())
        );
        assert_eq!(context.get_user_agent(), Some("curl/8.5.0"));
        assert_eq!(context.get_request_id(), Some("req-1"));
    }

    #[test]
    fn without_a_peer_the_client_is_unknown() {
        let parts = parts(&[("x-forwarded-for", b"192.0.2.7")], None);
        let context = request_context::<i64>(&parts, None, &RequestSettings::default());
        assert_eq!(context.get_client_ip(), None);
        assert_eq!(context.get_user(), None);
    }

    #[test]
    fn request_ids_that_are_not_visible_ascii_are_ignored() {
        let settings = RequestSettings::default();
        for id in [
            &b""[..],
            b"two words",
            b"tab\there",
            b"caf\xc3\xa9",
            b"\x80",
        ] {
            let parts = parts(&[("x-request-id", id)], None);
            assert_eq!(
                request_context::<i64>(&parts, None, &settings).get_request_id(),
                None,
                "{id:?}"
            );
        }
        let long = "x".repeat(1000);
        let parts = parts(
            &[
                ("x-request-id", long.as_bytes()),
                ("x-request-id", b"second"),
            ],
            None,
        );
        let id = request_context::<i64>(&parts, None, &settings)
            .get_request_id()
            .map(str::len);
        assert_eq!(id, Some(crate::columns::REQUEST_ID_MAX_CHARS));
    }

    #[test]
    fn the_request_id_header_is_configurable() {
        let settings = RequestSettings {
            request_id_header: HeaderName::from_static("x-correlation-id"),
            ..RequestSettings::default()
        };
        let parts = parts(&[("x-request-id", b"a"), ("x-correlation-id", b"b")], None);
        assert_eq!(
            request_context::<i64>(&parts, None, &settings).get_request_id(),
            Some("b")
        );
    }

    #[test]
    fn user_agents_are_bounded_and_lossy() {
        let settings = RequestSettings::default();
        let long = "a".repeat(10_000);
        let parts_long = parts(&[("user-agent", long.as_bytes())], None);
        let agent = request_context::<i64>(&parts_long, None, &settings);
        assert_eq!(
            agent.get_user_agent().map(|a| a.chars().count()),
            Some(crate::columns::USER_AGENT_MAX_CHARS)
        );
        let odd = parts(&[("user-agent", b"Mozilla \xff")], None);
        assert_eq!(
            request_context::<i64>(&odd, None, &settings).get_user_agent(),
            Some("Mozilla \u{fffd}")
        );
        let empty = parts(&[("user-agent", b"")], None);
        assert_eq!(
            request_context::<i64>(&empty, None, &settings).get_user_agent(),
            None
        );
    }
}
