//! The client IP of a request: the TCP peer, unless the peer is a trusted proxy, in which case the
//! client named in `Forwarded` (RFC 7239 `for=`) or `X-Forwarded-For`. A chain is walked from the
//! right, past trusted proxies, to the first hop that is not one (a client can write anything
//! to the left of its own address, so nothing left of that hop is believed). A header that does
//! not parse, or two headers that name different clients, count for nothing: the peer is used.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::web;
use ipnet::IpNet;

use super::AppState;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The networks whose connections may say who the client is; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// The given networks.
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks.into_iter().map(|network| network.trunc()).collect())
    }

    /// Whether `ip` is inside one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client behind a connection from `peer` that sent `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let forwarded = header_chain(headers, &header::FORWARDED, forwarded_for);
        let x_forwarded_for = header_chain(headers, &X_FORWARDED_FOR, |element| Some(node(element)));
        let pick = |chain: Option<Vec<IpAddr>>| chain.map(|chain| self.rightmost_untrusted(&chain));
        match (pick(forwarded), pick(x_forwarded_for)) {
            (Some(Some(a)), Some(Some(b))) if a == b => a,
            (Some(Some(client)), None) | (None, Some(Some(client))) => client,
            _ => peer,
        }
    }

    /// The right-most hop that is not a trusted proxy; the left-most when all are.
    fn rightmost_untrusted(&self, chain: &[IpAddr]) -> Option<IpAddr> {
        chain.iter().rev().find(|hop| !self.contains(**hop)).or_else(|| chain.first()).copied()
    }
}

/// The client IP of `request` under the server's trusted proxies; `None` when the transport does
/// not know the peer.
pub fn client_ip(request: &HttpRequest) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    match request.app_data::<web::Data<AppState>>() {
        Some(state) if !state.trusted_proxies.is_empty() => Some(state.trusted_proxies.client(peer, request.headers())),
        _ => Some(peer.to_canonical()),
    }
}

/// The hops of every `name` header, in order; `None` when there is none, and `Some(empty)` (which
/// picks nothing, so the peer is used) when any element is malformed. `element` turns one
/// comma-separated element into its hop: `None` when it names no hop, `Some(None)` when malformed.
fn header_chain(
    headers: &HeaderMap,
    name: &HeaderName,
    element: impl Fn(&str) -> Option<Option<IpAddr>>,
) -> Option<Vec<IpAddr>> {
    let mut values = headers.get_all(name).peekable();
    values.peek()?;
    let mut chain = Vec::new();
    for value in values {
        let Ok(value) = value.to_str() else { return Some(Vec::new()) };
        for part in value.split(',') {
            match element(part.trim()) {
                Some(Some(hop)) => chain.push(hop),
                Some(None) => return Some(Vec::new()),
                None => {}
            }
        }
    }
    Some(chain)
}

/// The `for=` hop of one `Forwarded` element (`for=192.0.2.1;proto=https`); `None` without one.
fn forwarded_for(element: &str) -> Option<Option<IpAddr>> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => match quoted.strip_suffix('"') {
            Some(inner) if !inner.contains(['"', '\\']) => inner,
            _ => return Some(None),
        },
        None => value,
    };
    Some(node(value))
}

/// A node's address: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:8080`; `None` for anything else (`unknown`, obfuscated names, garbage).
fn node(value: &str) -> Option<IpAddr> {
    let ip =
        value.parse::<IpAddr>().ok().or_else(|| value.parse::<SocketAddr>().ok().map(|address| address.ip())).or_else(
            || value.strip_prefix('[')?.strip_suffix(']')?.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        )?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().filter_map(|network| network.parse().ok()).collect())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn chains_are_walked_from_the_right() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        let peer = ip("127.0.0.1");
        let client = |pairs: &[(&'static str, &'static str)]| trusted.client(peer, &headers(pairs));
        assert_eq!(client(&[("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        assert_eq!(client(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.2")]), ip("203.0.113.7"));
        assert_eq!(client(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "10.0.0.9")]), ip("1.1.1.1"));
        assert_eq!(client(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]), ip("10.0.0.3"));
        assert_eq!(client(&[("x-forwarded-for", "203.0.113.7:4711")]), ip("203.0.113.7"));
        assert_eq!(client(&[("x-forwarded-for", "[2001:db8::1]:4711")]), ip("2001:db8::1"));
        assert_eq!(client(&[("x-forwarded-for", "::ffff:203.0.113.7")]), ip("203.0.113.7"));
        assert_eq!(client(&[("forwarded", "for=\"[2001:db8::1]:1234\";proto=https, For=10.0.0.2")]), ip("2001:db8::1"));
        assert_eq!(client(&[("forwarded", "proto=https;for=203.0.113.7:80")]), ip("203.0.113.7"));
        assert_eq!(client(&[("forwarded", "for=203.0.113.7"), ("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
    }

    #[test]
    fn malformed_or_conflicting_headers_fall_back_to_the_peer() {
        let trusted = proxies(&["127.0.0.1/32"]);
        let peer = ip("127.0.0.1");
        let client = |pairs: &[(&'static str, &'static str)]| trusted.client(peer, &headers(pairs));
        for bad in ["", "not-an-ip", "1.1.1.1, junk", "1.1.1.1,,", "256.1.1.1"] {
            assert_eq!(client(&[("x-forwarded-for", bad)]), peer, "{bad:?}");
        }
        for bad in ["for=unknown", "for=_hidden", "for=\"[::1\"", "for=\"1.1.1.1", "by=1.1.1.1"] {
            assert_eq!(client(&[("forwarded", bad)]), peer, "{bad:?}");
        }
        assert_eq!(client(&[("forwarded", "for=1.1.1.1"), ("x-forwarded-for", "2.2.2.2")]), peer);
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.7"), ("forwarded", "for=203.0.113.7")]);
        assert_eq!(trusted.client(ip("192.0.2.1"), &spoofed), ip("192.0.2.1"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
        assert_eq!(trusted.client(ip("::ffff:10.0.0.1"), &spoofed), ip("203.0.113.7"));
    }
}
