//! The headers in which proxies forward the address they got a request
//! from, read hop by hop from the nearest (rightmost) one.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Which request header carries the addresses that trusted proxies forward.
///
/// Read the header your proxies set, and no other. A proxy passes on
/// whatever headers it does not set itself, so a header it leaves alone
/// holds what the client wrote: reading it takes the client's word for its
/// own address. (A proxy that writes `Forwarded` usually forwards a
/// client's `X-Forwarded-For` untouched, and the reverse.)
///
/// Lines of the header are joined in their order, as one list. Each entry
/// is an IPv4 address or an IPv6 address, optionally with a port
/// (`192.0.2.7:443`, `[2001:db8::7]:443`; IPv6 also without brackets, as
/// X-Forwarded-For usually has it). An entry that is no address (`unknown`, an
/// obfuscated `_name`, an empty entry, anything malformed) ends the walk
/// there: see [`ClientIpResolver::resolve`](super::ClientIpResolver::resolve).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`, the de facto standard
    /// (nginx's `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`,
    /// cloud load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=192.0.2.7;proto=https, for="[2001:db8::7]:443"`:
    /// each element's `for=` parameter, quoted or not; other parameters are
    /// ignored, and an element without `for=` or with it twice is no address.
    Forwarded,
    /// Another header with X-Forwarded-For's syntax, such as a CDN's.
    Custom(HeaderName),
}

impl ForwardedHeader {
    /// The header's name.
    pub fn header_name(&self) -> HeaderName {
        match self {
            ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            ForwardedHeader::Forwarded => http::header::FORWARDED,
            ForwardedHeader::Custom(name) => name.clone(),
        }
    }

    /// The forwarded addresses, the nearest hop (rightmost entry of the last
    /// line) first; `None` for an entry that is no address.
    pub(crate) fn hops<'a>(
        &self,
        headers: &'a HeaderMap,
    ) -> impl Iterator<Item = Option<IpAddr>> + 'a {
        let forwarded = matches!(self, ForwardedHeader::Forwarded);
        headers
            .get_all(self.header_name())
            .iter()
            .rev()
            .flat_map(move |line| line_hops(line, forwarded))
    }
}

/// One header line's addresses, rightmost first; a line that is not
/// visible ASCII is one entry that is no address.
fn line_hops(line: &HeaderValue, forwarded: bool) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    let text = line.to_str().ok();
    let unreadable = text.is_none().then_some(None);
    let entries = text
        .into_iter()
        .flat_map(move |text| entries_from_right(text, forwarded));
    unreadable.into_iter().chain(entries.map(move |entry| {
        let entry = entry.trim_matches([' ', '\t']);
        if forwarded {
            forwarded_for(entry)
        } else {
            node_address(entry)
        }
    }))
}

/// The comma-separated entries of `text`, from the right; with `quotes`,
/// commas inside quoted strings do not separate.
///
/// The scan runs from the right on purpose. The entries on the right were
/// written by trusted proxies and are well formed; what lies left of them
/// came from the client. Scanned from the left, a client's unterminated
/// quote would swallow every entry after it, the proxies' with them, and so
/// hide the client's address; scanned from the right, the proxies' entries
/// are split correctly whatever precedes them.
fn entries_from_right(text: &str, quotes: bool) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        let bytes = text.as_bytes();
        let mut quoted = false;
        for at in (0..bytes.len()).rev() {
            match bytes[at] {
                b'"' if quotes && !escaped(bytes, at) => quoted = !quoted,
                b',' if !quoted => {
                    rest = Some(&text[..at]);
                    return Some(&text[at + 1..]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(text)
    })
}

/// Whether the byte at `at` follows an odd number of backslashes.
fn escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// The address of a `Forwarded` element's `for=` parameter.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut node = None;
    for pair in pairs(element) {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if !name.trim_end().eq_ignore_ascii_case("for") {
            continue;
        }
        if node.is_some() {
            return None;
        }
        node = Some(unquoted(value.trim_start())?);
    }
    node_address(&node?)
}

/// The `;`-separated pairs of a `Forwarded` element, left to right (the
/// element is a trusted proxy's), `;` inside quoted strings not separating.
fn pairs(element: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(element);
    std::iter::from_fn(move || {
        let text = rest?;
        let bytes = text.as_bytes();
        let mut quoted = false;
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'\\' if quoted => at += 1,
                b'"' => quoted = !quoted,
                b';' if !quoted => {
                    rest = Some(&text[at + 1..]);
                    return Some(&text[..at]);
                }
                _ => {}
            }
            at += 1;
        }
        rest = None;
        Some(text)
    })
}

/// A parameter value: a token as it stands, or a quoted string's content.
fn unquoted(value: &str) -> Option<Cow<'_, str>> {
    let Some(quoted) = value.strip_prefix('"') else {
        return (!value.is_empty() && !value.contains(['"', '\\'])).then_some(Cow::Borrowed(value));
    };
    let quoted = quoted.strip_suffix('"')?;
    if !quoted.contains(['"', '\\']) {
        return Some(Cow::Borrowed(quoted));
    }
    let mut content = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => content.push(chars.next()?),
            '"' => return None,
            c => content.push(c),
        }
    }
    Some(Cow::Owned(content))
}

/// A node's address: `192.0.2.7`, `192.0.2.7:443`, `[2001:db8::7]`,
/// `[2001:db8::7]:443`, or `2001:db8::7`. `unknown` and obfuscated
/// identifiers (`_hidden`) are no address.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(bracketed) = node.strip_prefix('[') {
        let (v6, port) = bracketed.split_once(']')?;
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (v4, port) = node.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A port number, or an obfuscated port (`_` and letters, digits, `.`,
/// `_`, `-`; RFC 7239 section 6.3).
fn is_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(name) => {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => {
            (1..=5).contains(&port.len())
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    fn hops(header: &ForwardedHeader, lines: &[&[u8]]) -> Vec<Option<IpAddr>> {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header.header_name(), HeaderValue::from_bytes(line).unwrap());
        }
        header.hops(&headers).collect()
    }

    #[test]
    fn x_forwarded_for_entries_nearest_first_across_lines() {
        let xff = ForwardedHeader::XForwardedFor;
        assert_eq!(
            hops(&xff, &[b"192.0.2.1, 10.0.0.1", b"10.0.0.2,10.0.0.3"]),
            [
                ip("10.0.0.3"),
                ip("10.0.0.2"),
                ip("10.0.0.1"),
                ip("192.0.2.1")
            ]
        );
        assert_eq!(
            hops(
                &xff,
                &[b"2001:db8::1, [2001:db8::2]:8080, 192.0.2.3:443,\t::ffff:192.0.2.4"]
            ),
            [
                ip("::ffff:192.0.2.4"),
                ip("192.0.2.3"),
                ip("2001:db8::2"),
                ip("2001:db8::1")
            ]
        );
        assert!(hops(&xff, &[]).is_empty());
    }

    #[test]
    fn entries_that_are_no_address() {
        let xff = ForwardedHeader::XForwardedFor;
        for entry in [
            &b""[..],
            b" ",
            b"unknown",
            b"_hidden",
            b"garbage",
            b"192.0.2.1:99999",
            b"192.0.2.1:",
            b"[2001:db8::1",
            b"[192.0.2.1]",
            b"fe80::1%eth0",
            b"\"192.0.2.1\"",
            b"192.0.2.256",
        ] {
            assert_eq!(
                hops(&xff, &[entry]),
                [None],
                "{:?}",
                String::from_utf8_lossy(entry)
            );
        }
        assert_eq!(
            hops(&xff, &[b"192.0.2.1,,10.0.0.1"]),
            [ip("10.0.0.1"), None, ip("192.0.2.1")]
        );
        assert_eq!(
            hops(&xff, &[b"192.0.2.1, 10.0.0.1,"]),
            [None, ip("10.0.0.1"), ip("192.0.2.1")]
        );
    }

    #[test]
    fn a_line_that_is_not_ascii_is_one_entry_that_is_no_address() {
        let xff = ForwardedHeader::XForwardedFor;
        assert_eq!(
            hops(&xff, &[b"192.0.2.1", b"\xff\xfe 10.0.0.1", b"10.0.0.2"]),
            [ip("10.0.0.2"), None, ip("192.0.2.1")]
        );
    }

    #[test]
    fn forwarded_for_parameters() {
        let fwd = ForwardedHeader::Forwarded;
        assert_eq!(
            hops(
                &fwd,
                &[
                    b"for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\"",
                    b"host=\"a;b,c\";for=198.51.100.17:80 , proto=https;for=\"198.51.100.18\""
                ]
            ),
            [
                ip("198.51.100.18"),
                ip("198.51.100.17"),
                ip("2001:db8:cafe::17"),
                ip("192.0.2.60")
            ]
        );
        assert_eq!(hops(&fwd, &[b"for=\"_gazonk\""]), [None]);
        assert_eq!(
            hops(&fwd, &[b"for=unknown, for=\"[::1]:_port\""]),
            [ip("::1"), None]
        );
        assert_eq!(
            hops(&fwd, &[b"for=\"\\[2001:db8::1\\]\""]),
            [ip("2001:db8::1")]
        );
        assert_eq!(hops(&fwd, &[b"for=192.0.2.1;;"]), [ip("192.0.2.1")]);
    }

    #[test]
    fn forwarded_elements_that_are_no_address() {
        let fwd = ForwardedHeader::Forwarded;
        for element in [
            &b"proto=https"[..],
            b"for=192.0.2.1;for=192.0.2.2",
            b"for=",
            b"for=\"192.0.2.1",
            b"for=\"192.0.2.1\\\"",
            b"for=192.0.2.1\"",
            b"for",
            b"192.0.2.1",
            b"for=\"[2001:db8::1]:\"",
            b"",
        ] {
            assert_eq!(
                hops(&fwd, &[element]),
                [None],
                "{:?}",
                String::from_utf8_lossy(element)
            );
        }
    }

    #[test]
    fn a_clients_broken_quote_does_not_swallow_the_proxies_entries() {
        let fwd = ForwardedHeader::Forwarded;
        assert_eq!(
            hops(&fwd, &[b"for=\"6.6.6.6, for=192.0.2.7, for=10.0.0.1"]),
            [ip("10.0.0.1"), ip("192.0.2.7"), None]
        );
        assert_eq!(
            hops(&fwd, &[b"for=\"a,b\\\",c\", for=10.0.0.1"]),
            [ip("10.0.0.1"), None]
        );
    }
}
