//! Which peers are trusted proxies: networks in CIDR notation, parsed once
//! into typed values.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network: an address and a prefix length (`10.0.0.0/8`,
/// `2001:db8::/32`), or one address (`192.0.2.7`, `::1`).
///
/// An IPv4 address matches an IPv4 network whether it is written as IPv4 or
/// as IPv4-mapped IPv6 (`::ffff:10.1.2.3`, what a dual-stack listener reports
/// for an IPv4 client); a network written as IPv4-mapped IPv6 with a prefix
/// of at least 96 is taken as the IPv4 network it maps.
///
/// Bits set after the prefix are refused ([`CidrError::HostBits`]) rather
/// than cleared: `10.1.2.3/8` is either a typo for `10.1.2.3/32` or for
/// `10.0.0.0/8`, and in a list of trusted proxies the difference is a
/// whole network.
///
/// ```
/// use history_diesel::web::Cidr;
///
/// let net: Cidr = "10.0.0.0/8".parse()?;
/// assert!(net.contains("10.20.30.40".parse()?));
/// assert!(net.contains("::ffff:10.20.30.40".parse()?));
/// assert!(!net.contains("11.0.0.1".parse()?));
/// assert_eq!("::1".parse::<Cidr>()?.to_string(), "::1/128");
/// assert!("10.1.2.3/8".parse::<Cidr>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network of `prefix` leading bits of `network`.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let input = || format!("{network}/{prefix}");
        let max = max_prefix(network);
        if prefix > max {
            return Err(CidrError::PrefixTooLong {
                input: input(),
                max,
            });
        }
        let (network, prefix) = match network {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (network, prefix),
            },
            _ => (network, prefix),
        };
        let cidr = Cidr { network, prefix };
        let masked = cidr.masked(network);
        if masked != network {
            return Err(CidrError::HostBits {
                input: input(),
                network: Cidr {
                    network: masked,
                    prefix,
                },
            });
        }
        Ok(cidr)
    }

    /// The network's first address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// How many leading bits a member shares with [`network`](Cidr::network).
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.masked(ip) == self.network
    }

    /// `ip`, of this network's family, with the bits after the prefix cleared.
    fn masked(&self, ip: IpAddr) -> IpAddr {
        let host_bits = u32::from(max_prefix(ip) - self.prefix);
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| CidrError::Address {
            input: text.to_owned(),
        })?;
        let prefix = match prefix {
            None => max_prefix(network),
            // `u8::from_str` takes a leading `+`; a prefix is digits only.
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().unwrap_or(u8::MAX)
            }
            Some(_) => {
                return Err(CidrError::Prefix {
                    input: text.to_owned(),
                })
            }
        };
        Cidr::new(network, prefix).map_err(|error| error.with_input(text))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why a network in CIDR notation was refused. Each variant keeps the text
/// as given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    Address {
        /// The text as given.
        input: String,
    },
    /// The part after `/` is not a decimal number.
    Prefix {
        /// The text as given.
        input: String,
    },
    /// The prefix is longer than the address (32 bits for IPv4, 128 for IPv6).
    PrefixTooLong {
        /// The text as given.
        input: String,
        /// The longest prefix of the address's family.
        max: u8,
    },
    /// Bits are set after the prefix.
    HostBits {
        /// The text as given.
        input: String,
        /// The network with those bits cleared.
        network: Cidr,
    },
}

impl CidrError {
    fn with_input(mut self, text: &str) -> CidrError {
        match &mut self {
            CidrError::Address { input }
            | CidrError::Prefix { input }
            | CidrError::PrefixTooLong { input, .. }
            | CidrError::HostBits { input, .. } => *input = text.to_owned(),
        }
        self
    }
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Address { input } => {
                write!(f, "invalid network `{input}`: not an IP address")
            }
            CidrError::Prefix { input } => {
                write!(
                    f,
                    "invalid network `{input}`: the prefix length is not a number"
                )
            }
            CidrError::PrefixTooLong { input, max } => write!(
                f,
                "invalid network `{input}`: the prefix length is more than {max}"
            ),
            CidrError::HostBits { input, network } => {
                let host = input.split_once('/').map_or(input.as_str(), |(a, _)| a);
                let single = host.parse().map_or(max_prefix(network.network), max_prefix);
                write!(
                    f,
                    "invalid network `{input}`: bits are set after the prefix; \
                     write `{network}` for the network or `{host}/{single}` for one address"
                )
            }
        }
    }
}

impl std::error::Error for CidrError {}

/// The networks whose addresses are the application's own reverse proxies
/// and load balancers: a request from one of them is taken to say truly,
/// in its forwarding header, whom it got the request from.
///
/// Parsed from a list of networks separated by commas or whitespace; the
/// empty list (the default) trusts no peer, so forwarding headers are never
/// read.
///
/// ```
/// use history_diesel::web::TrustedProxies;
///
/// let proxies: TrustedProxies = "127.0.0.1, ::1 10.0.0.0/8".parse()?;
/// assert!(proxies.contains("10.9.8.7".parse()?));
/// assert!(!proxies.contains("192.0.2.1".parse()?));
/// let error = "10.0.0.0/33".parse::<TrustedProxies>().unwrap_err();
/// assert_eq!(error.to_string(), "invalid network `10.0.0.0/33`: the prefix length is more than 32");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// No trusted proxy: the client is always the peer.
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// Whether `ip` is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }

    /// The networks, as given.
    pub fn networks(&self) -> &[Cidr] {
        &self.networks
    }
}

impl FromIterator<Cidr> for TrustedProxies {
    fn from_iter<I: IntoIterator<Item = Cidr>>(networks: I) -> TrustedProxies {
        TrustedProxies {
            networks: networks.into_iter().collect(),
        }
    }
}

impl FromStr for TrustedProxies {
    type Err = CidrError;

    /// The networks of a list separated by commas or whitespace; the first
    /// bad entry is the error.
    fn from_str(list: &str) -> Result<TrustedProxies, CidrError> {
        list.split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(str::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_and_single_addresses() {
        let net: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains(ip("192.168.255.1")));
        assert!(!net.contains(ip("192.169.0.1")));
        assert!(!net.contains(ip("::1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.prefix_len(), 32);
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::9")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let everything: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("255.255.255.255")));
        assert!(!everything.contains(ip("2001:db8::1")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_compare_as_ipv4() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        let mapped: Cidr = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped, net);
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.1.2.3")));
        let proxies: TrustedProxies = "::ffff:127.0.0.1".parse().unwrap();
        assert!(proxies.contains(ip("127.0.0.1")));
    }

    #[test]
    fn parse_errors_are_typed() {
        let err = |text: &str| text.parse::<Cidr>().unwrap_err();
        assert_eq!(
            err("10.0.0/8"),
            CidrError::Address {
                input: "10.0.0/8".into()
            }
        );
        assert_eq!(err(""), CidrError::Address { input: "".into() });
        assert_eq!(
            err("[::1]/128"),
            CidrError::Address {
                input: "[::1]/128".into()
            }
        );
        assert_eq!(
            err("10.0.0.0/"),
            CidrError::Prefix {
                input: "10.0.0.0/".into()
            }
        );
        assert_eq!(
            err("10.0.0.0/+8"),
            CidrError::Prefix {
                input: "10.0.0.0/+8".into()
            }
        );
        assert_eq!(
            err("10.0.0.0/8/8"),
            CidrError::Prefix {
                input: "10.0.0.0/8/8".into()
            }
        );
        assert_eq!(
            err("10.0.0.0/33"),
            CidrError::PrefixTooLong {
                input: "10.0.0.0/33".into(),
                max: 32
            }
        );
        assert_eq!(
            err("::/129"),
            CidrError::PrefixTooLong {
                input: "::/129".into(),
                max: 128
            }
        );
        assert_eq!(
            err("10.0.0.0/999"),
            CidrError::PrefixTooLong {
                input: "10.0.0.0/999".into(),
                max: 32
            }
        );
        let host_bits = err("10.1.2.3/8");
        assert_eq!(
            host_bits,
            CidrError::HostBits {
                input: "10.1.2.3/8".into(),
                network: "10.0.0.0/8".parse().unwrap(),
            }
        );
        assert_eq!(
            host_bits.to_string(),
            "invalid network `10.1.2.3/8`: bits are set after the prefix; \
             write `10.0.0.0/8` for the network or `10.1.2.3/32` for one address"
        );
        assert!(matches!(err("2001:db8::1/32"), CidrError::HostBits { .. }));
        assert!(matches!(
            Cidr::new(ip("10.0.0.0"), 40),
            Err(CidrError::PrefixTooLong { max: 32, .. })
        ));
    }

    #[test]
    fn lists_split_on_commas_and_whitespace() {
        let proxies: TrustedProxies = " 10.0.0.0/8,\n::1 ,, 192.0.2.7 ".parse().unwrap();
        assert_eq!(proxies.networks().len(), 3);
        assert!(proxies.contains(ip("::1")) && proxies.contains(ip("192.0.2.7")));
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::none()
        );
        assert_eq!(
            "10.0.0.0/8, nope".parse::<TrustedProxies>().unwrap_err(),
            CidrError::Address {
                input: "nope".into()
            }
        );
    }
}
