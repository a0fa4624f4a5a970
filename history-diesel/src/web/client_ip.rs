//! The client's address: the peer's, unless the peer is a trusted proxy,
//! then the first untrusted hop of the forwarding header, walked from the
//! right.

use std::net::IpAddr;

use http::HeaderMap;

use super::{ForwardedHeader, TrustedProxies};

/// How the client address of a request is found: which peers are trusted
/// proxies, which header they forward addresses in, and how many of their
/// hops are walked at most.
///
/// The defaults trust no proxy (the client is the peer), read
/// `X-Forwarded-For`, and walk at most [`DEFAULT_MAX_HOPS`](Self::DEFAULT_MAX_HOPS).
///
/// ```
/// use history_diesel::web::{ClientIpResolver, ForwardedHeader};
/// use http::HeaderMap;
///
/// let resolver = ClientIpResolver::new().trusted_proxies("10.0.0.0/8".parse()?);
/// let mut headers = HeaderMap::new();
/// // The client wrote the first entry itself; the proxy appended the second.
/// headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse()?);
/// let proxy = "10.0.0.2".parse()?;
/// assert_eq!(resolver.resolve(Some(proxy), &headers), Some("203.0.113.9".parse()?));
/// // A client that connects directly is its own peer, whatever it writes.
/// let client = "198.51.100.4".parse()?;
/// assert_eq!(resolver.resolve(Some(client), &headers), Some(client));
///
/// let rfc = resolver.forwarded_header(ForwardedHeader::Forwarded);
/// headers.insert("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#.parse()?);
/// assert_eq!(rfc.resolve(Some(proxy), &headers), Some("2001:db8::7".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpResolver {
    proxies: TrustedProxies,
    header: ForwardedHeader,
    max_hops: usize,
}

impl Default for ClientIpResolver {
    fn default() -> Self {
        ClientIpResolver {
            proxies: TrustedProxies::none(),
            header: ForwardedHeader::default(),
            max_hops: Self::DEFAULT_MAX_HOPS,
        }
    }
}

impl ClientIpResolver {
    /// How many forwarded hops are walked by default: more than any real
    /// chain of proxies has.
    pub const DEFAULT_MAX_HOPS: usize = 20;

    /// No trusted proxy: the client is the peer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The peers whose forwarding header is believed.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// The header the trusted proxies set (`X-Forwarded-For` by default).
    /// Name the one they write: see [`ForwardedHeader`] for why another
    /// lets clients choose their address.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// The most forwarded hops walked before the client is called unknown.
    pub fn max_hops(mut self, max_hops: usize) -> Self {
        self.max_hops = max_hops;
        self
    }

    /// The trusted proxies.
    pub fn get_trusted_proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// The header read.
    pub fn get_forwarded_header(&self) -> &ForwardedHeader {
        &self.header
    }

    /// The client address of a request from `peer` with `headers`:
    /// - no peer (the server did not record one): `None`;
    /// - an untrusted peer: the peer, and its headers are not read;
    /// - a trusted peer: the header's entries from the right, skipping
    ///   trusted addresses; the first untrusted one is the client. Entries
    ///   left of it were written by the client and are never read, so a
    ///   client cannot choose its address by writing one there.
    ///
    /// When every hop is trusted, down to the header's leftmost entry (or
    /// there is no header), the request started on a trusted machine,
    /// which is then the client: the leftmost entry, or the peer itself.
    ///
    /// The walk stops, and the client is `None` (unknown), at the first
    /// entry that is no address (`unknown`, an obfuscated name, an empty
    /// entry, anything malformed, a header line that is not ASCII), and when
    /// more than [`max_hops`](Self::max_hops) entries would be walked. That
    /// entry was written by a trusted proxy, or reaches one that should have
    /// appended its own; either way nothing verified says who the client
    /// is, and recording the last proxy instead would attribute the change
    /// to the infrastructure. The request is served as usual.
    ///
    /// Addresses are compared, and returned, with IPv4-mapped IPv6
    /// (`::ffff:192.0.2.7`) as IPv4.
    pub fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut nearest = peer?.to_canonical();
        if !self.proxies.contains(nearest) {
            return Some(nearest);
        }
        for (walked, hop) in self.header.hops(headers).enumerate() {
            if walked == self.max_hops {
                return None;
            }
            let hop = hop?.to_canonical();
            if !self.proxies.contains(hop) {
                return Some(hop);
            }
            nearest = hop;
        }
        Some(nearest)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(name: &str, lines: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.append(name, HeaderValue::from_bytes(line).unwrap());
        }
        headers
    }

    fn xff(lines: &[&[u8]]) -> HeaderMap {
        headers("x-forwarded-for", lines)
    }

    fn trusting(list: &str) -> ClientIpResolver {
        ClientIpResolver::new().trusted_proxies(list.parse().unwrap())
    }

    #[test]
    fn a_direct_peer_is_the_client() {
        let resolver = ClientIpResolver::new();
        assert_eq!(
            resolver.resolve(Some(ip("192.0.2.7")), &HeaderMap::new()),
            Some(ip("192.0.2.7"))
        );
        assert_eq!(resolver.resolve(None, &HeaderMap::new()), None);
        assert_eq!(
            resolver.resolve(Some(ip("::ffff:192.0.2.7")), &HeaderMap::new()),
            Some(ip("192.0.2.7"))
        );
    }

    #[test]
    fn an_untrusted_peers_forwarding_headers_are_ignored() {
        let resolver = trusting("10.0.0.0/8");
        let spoofed = xff(&[b"10.0.0.5", b"garbage"]);
        assert_eq!(
            resolver.resolve(Some(ip("198.51.100.4")), &spoofed),
            Some(ip("198.51.100.4"))
        );
        // Without a peer nothing is verified, headers or not.
        assert_eq!(resolver.resolve(None, &xff(&[b"192.0.2.7"])), None);
    }

    #[test]
    fn one_trusted_proxy() {
        let resolver = trusting("10.0.0.1");
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            resolver.resolve(peer, &xff(&[b"192.0.2.7"])),
            Some(ip("192.0.2.7"))
        );
        // The proxy's own request (a health check): no header, the proxy is the client.
        assert_eq!(resolver.resolve(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn a_chain_of_trusted_proxies() {
        let resolver = trusting("10.0.0.0/8, 172.16.0.0/12");
        let chain = xff(&[b"192.0.2.7, 172.16.0.3", b"10.1.0.2"]);
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &chain),
            Some(ip("192.0.2.7"))
        );
        // Every hop trusted: the request started at the leftmost.
        let internal = xff(&[b"10.9.9.9, 172.16.0.3"]);
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &internal),
            Some(ip("10.9.9.9"))
        );
    }

    #[test]
    fn a_spoofed_leftmost_entry_never_wins() {
        let resolver = trusting("10.0.0.0/8");
        for spoof in [
            &b"1.1.1.1, 10.0.0.9"[..],
            b"10.0.0.9",
            b"garbage, \"",
            b"unknown",
        ] {
            let mut line = spoof.to_vec();
            line.extend_from_slice(b", 203.0.113.9, 10.0.0.2");
            let headers = xff(&[&line]);
            assert_eq!(
                resolver.resolve(Some(ip("10.0.0.1")), &headers),
                Some(ip("203.0.113.9"))
            );
        }
        // The client's own header line, before the proxy's.
        let lines = xff(&[b"10.0.0.9", b"203.0.113.9"]);
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &lines),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn ipv6_peers_and_hops() {
        let resolver = trusting("2001:db8:ffff::/48, ::1");
        let headers = xff(&[b"2001:db8:1::7, [2001:db8:ffff::2]:443"]);
        assert_eq!(
            resolver.resolve(Some(ip("::1")), &headers),
            Some(ip("2001:db8:1::7"))
        );
        assert_eq!(
            resolver.resolve(Some(ip("2001:db8:2::1")), &headers),
            Some(ip("2001:db8:2::1"))
        );
        // IPv4-mapped peers and hops compare, and are recorded, as IPv4.
        let resolver = trusting("127.0.0.1, 10.0.0.0/8");
        let mapped = xff(&[b"::ffff:192.0.2.7, ::ffff:10.0.0.3"]);
        assert_eq!(
            resolver.resolve(Some(ip("::ffff:127.0.0.1")), &mapped),
            Some(ip("192.0.2.7"))
        );
    }

    #[test]
    fn forwarded_with_quotes_brackets_ports_and_obfuscated_ids() {
        let resolver = trusting("10.0.0.0/8").forwarded_header(ForwardedHeader::Forwarded);
        let peer = Some(ip("10.0.0.1"));
        let header = |line: &[u8]| headers("forwarded", &[line]);
        let cases: [(&[u8], Option<IpAddr>); 6] = [
            (
                b"for=192.0.2.60;proto=http;by=10.0.0.1",
                Some(ip("192.0.2.60")),
            ),
            (
                b"for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.7:80",
                Some(ip("2001:db8:cafe::17")),
            ),
            (b"for=\"_gazonk\", for=\"10.0.0.7\"", None),
            (b"for=198.51.100.1, for=unknown;proto=https", None),
            (
                b"for=\"6.6.6.6, for=192.0.2.44;host=\"x,y\"",
                Some(ip("192.0.2.44")),
            ),
            (b"proto=https", None),
        ];
        for (line, client) in cases {
            assert_eq!(
                resolver.resolve(peer, &header(line)),
                client,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        // Reading Forwarded, X-Forwarded-For is the client's own text.
        assert_eq!(resolver.resolve(peer, &xff(&[b"192.0.2.1"])), peer);
    }

    #[test]
    fn malformed_headers_stop_the_walk_at_unknown() {
        let resolver = trusting("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        for lines in [
            &[&b"garbage"[..]][..],
            &[b""],
            &[b" , "],
            &[b"192.0.2.7,"],
            &[b"192.0.2.7 10.0.0.3"],
            &[b"\xc3\x28\xff"],
            &[b"192.0.2.7", b"\x80"],
            &[b"192.0.2.7", b""],
        ] {
            assert_eq!(resolver.resolve(peer, &xff(lines)), None, "{lines:?}");
        }
        // A malformed entry left of the client is never reached.
        assert_eq!(
            resolver.resolve(peer, &xff(&[b"\xff", b"garbage,192.0.2.7"])),
            Some(ip("192.0.2.7"))
        );
    }

    #[test]
    fn too_many_hops_are_unknown() {
        let resolver = trusting("10.0.0.0/8");
        let peer = Some(ip("10.0.0.1"));
        let trusted_hops = |count: usize| vec!["10.0.0.2"; count].join(", ");
        let at_limit = format!(
            "192.0.2.7, {}",
            trusted_hops(ClientIpResolver::DEFAULT_MAX_HOPS - 1)
        );
        assert_eq!(
            resolver.resolve(peer, &xff(&[at_limit.as_bytes()])),
            Some(ip("192.0.2.7"))
        );
        let beyond = format!(
            "192.0.2.7, {}",
            trusted_hops(ClientIpResolver::DEFAULT_MAX_HOPS)
        );
        assert_eq!(resolver.resolve(peer, &xff(&[beyond.as_bytes()])), None);
        assert_eq!(
            resolver
                .clone()
                .max_hops(0)
                .resolve(peer, &xff(&[b"192.0.2.7"])),
            None
        );
        // A client's long header left of its address costs it nothing.
        let padded = format!("{}, 192.0.2.7", vec!["10.0.0.3"; 10_000].join(","));
        assert_eq!(
            resolver.resolve(peer, &xff(&[padded.as_bytes()])),
            Some(ip("192.0.2.7"))
        );
    }

    #[test]
    fn a_custom_header_has_x_forwarded_for_syntax() {
        let name = http::HeaderName::from_static("x-real-client");
        let resolver = trusting("10.0.0.0/8").forwarded_header(ForwardedHeader::Custom(name));
        let headers = headers("x-real-client", &[b"192.0.2.7, 10.0.0.2"]);
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &headers),
            Some(ip("192.0.2.7"))
        );
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &xff(&[b"192.0.2.8"])),
            Some(ip("10.0.0.1"))
        );
    }
}
