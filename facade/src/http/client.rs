//! Who is on the other end: the client address used for rate limits and
//! logs. It is the TCP peer, unless the peer is a trusted proxy
//! ([`ApiConfig::trusted_proxies`](crate::ApiConfig)); then it is the
//! rightmost address in `X-Forwarded-For` (or `Forwarded: for=`) that is
//! not itself a trusted proxy. Headers from anyone else are ignored, so a
//! client cannot pick its own rate-limit bucket.
//!
//! Every address is canonical: an IPv4 client reaching a dual-stack IPv6
//! listener arrives as `::ffff:a.b.c.d`, and is counted, limited and
//! logged as `a.b.c.d` (else all IPv4 clients would share one IPv6 /64).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use poem::Request;
use poem::http::HeaderMap;

/// The client's address, as the API decided it (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl ClientAddress {
    /// The key rate limits count under: the address itself for IPv4, its
    /// /64 for IPv6 (one subscriber usually holds a whole /64).
    pub(crate) fn rate_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let masked = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(masked))
            }
        }
    }
}

/// The address a request came from (set by the request frame).
pub(crate) fn of(req: &Request) -> IpAddr {
    req.data::<ClientAddress>()
        .map(|c| c.0)
        .unwrap_or_else(|| peer(req))
}

/// The TCP peer's address, canonical.
pub(crate) fn peer(req: &Request) -> IpAddr {
    req.remote_addr()
        .as_socket_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical())
}

/// The client address of a request from `peer` with these headers,
/// canonical.
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = forwarded_for(headers);
    if hops.is_empty() {
        hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| parse_hop(hop.trim()))
            .collect();
    }
    // The rightmost hop not added by one of our own proxies.
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or_else(|| hops.first())
        .copied()
        .unwrap_or(peer)
}

/// The `for=` addresses of RFC 7239 `Forwarded` headers, in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.eq_ignore_ascii_case("for")
                    .then(|| parse_hop(value.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
/// `[2001:db8::1]:4711` (canonical: `::ffff:1.2.3.4` is `1.2.3.4`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip: IpAddr = if let Ok(ip) = hop.parse() {
        ip
    } else if let Some(rest) = hop.strip_prefix('[') {
        rest.split(']').next()?.parse().ok()?
    } else {
        hop.rsplit_once(':')?.0.parse().ok()?
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.1.1.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        assert_eq!(
            resolve(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(resolve(ip("10.0.0.2"), &h, &[]), ip("10.0.0.2"));
        // A client-supplied first hop cannot hide the one our proxy saw.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &spoofed, &trusted),
            ip("203.0.113.9")
        );
        let rfc = headers(&[(
            "forwarded",
            r#"for="[2001:db8::7]:4711";proto=https, for=10.2.2.2"#,
        )]);
        assert_eq!(resolve(ip("10.0.0.2"), &rfc, &trusted), ip("2001:db8::7"));
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(resolve(ip("10.0.0.2"), &garbage, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
        let a = resolve(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]);
        let b = resolve(ip("::ffff:192.0.2.2"), &HeaderMap::new(), &[]);
        assert_eq!(a, ip("192.0.2.1"));
        assert_ne!(ClientAddress(a).rate_key(), ClientAddress(b).rate_key());
        // So are trusted proxies and forwarded hops.
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &h, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = ClientAddress(ip("2001:db8:1:2:aaaa::1")).rate_key();
        let b = ClientAddress(ip("2001:db8:1:2:ffff::9")).rate_key();
        let c = ClientAddress(ip("2001:db8:1:3::1")).rate_key();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(ClientAddress(ip("192.0.2.1")).rate_key(), ip("192.0.2.1"));
    }
}
