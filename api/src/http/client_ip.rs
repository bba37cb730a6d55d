//! The client IP of a request: the TCP peer, unless the peer is a trusted proxy, in which case the
//! client named in the one header the proxies are taken to write: `X-Forwarded-For` (the default)
//! or RFC 7239 `Forwarded` (`for=`), never both, so a header the proxy passed through from the
//! client unchanged is not believed. The chain is walked from the right (what the nearest proxy
//! appended) past trusted proxies, and the first hop that is not one is the client: a client
//! can write anything to the left of its own address, so nothing there is read, and a malformed
//! or `unknown` entry there changes nothing. When the walk meets such an entry before any
//! untrusted hop, the last trusted hop it passed (the peer, at first) did not know its own client
//! and is the client; when every hop is trusted, the left-most is.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::web;

use super::AppState;
use crate::config::{ForwardedHeader, TrustedProxies};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

impl TrustedProxies {
    /// The client behind a connection from `peer` that sent `headers`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let chain = match self.header() {
            ForwardedHeader::XForwardedFor => hops(headers, &X_FORWARDED_FOR, node),
            ForwardedHeader::Forwarded => hops(headers, &header::FORWARDED, forwarded_for),
        };
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            // An entry that names no address: the hop that wrote it (the last trusted one) is as
            // far as anyone can tell.
            let Some(hop) = hop else { break };
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// The client IP of `request` under the server's trusted proxies; `None` when the transport does
/// not know the peer.
pub(crate) fn client_ip(request: &HttpRequest) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    match request.app_data::<web::Data<AppState>>() {
        Some(state) if !state.trusted_proxies.is_empty() => Some(state.trusted_proxies.client(peer, request.headers())),
        _ => Some(peer.to_canonical()),
    }
}

/// Every comma-separated element of every `name` header, in order, as `element` reads it: the
/// address it names, or `None` (`unknown`, an obfuscated name, garbage, an empty element).
fn hops(headers: &HeaderMap, name: &HeaderName, element: impl Fn(&str) -> Option<IpAddr>) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .flat_map(|value| {
            // Bytes that are not text spoil only the elements they are in.
            let value = String::from_utf8_lossy(value.as_bytes());
            value.split(',').map(|part| element(part.trim())).collect::<Vec<_>>()
        })
        .collect()
}

/// The `for=` address of one `Forwarded` element (`for=192.0.2.1;proto=https`); `None` without
/// one: a proxy that leaves out `for=` does not say who its client was.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => match quoted.strip_suffix('"') {
            Some(inner) if !inner.contains(['"', '\\']) => inner,
            _ => return None,
        },
        None => value,
    };
    node(value)
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
        let forwarded = trusted.clone().with_header(ForwardedHeader::Forwarded);
        let client = |pairs: &[(&'static str, &'static str)]| forwarded.client(peer, &headers(pairs));
        assert_eq!(client(&[("forwarded", "for=\"[2001:db8::1]:1234\";proto=https, For=10.0.0.2")]), ip("2001:db8::1"));
        assert_eq!(client(&[("forwarded", "proto=https;for=203.0.113.7:80")]), ip("203.0.113.7"));
    }

    #[test]
    fn what_lies_left_of_the_client_changes_nothing() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        let peer = ip("127.0.0.1");
        let client = |pairs: &[(&'static str, &'static str)]| trusted.client(peer, &headers(pairs));
        for chain in ["unknown, 203.0.113.7", "junk, 203.0.113.7, 10.0.0.2", ",203.0.113.7", "[::1, 203.0.113.7"] {
            assert_eq!(client(&[("x-forwarded-for", chain)]), ip("203.0.113.7"), "{chain:?}");
        }
        assert_eq!(client(&[("x-forwarded-for", "unknown"), ("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        let forwarded = trusted.clone().with_header(ForwardedHeader::Forwarded);
        let client = |pairs: &[(&'static str, &'static str)]| forwarded.client(peer, &headers(pairs));
        for chain in
            ["for=unknown, for=203.0.113.7", "for=_hidden, for=203.0.113.7;proto=https", "for=\"[::1, for=203.0.113.7"]
        {
            assert_eq!(client(&[("forwarded", chain)]), ip("203.0.113.7"), "{chain:?}");
        }
    }

    #[test]
    fn an_entry_naming_no_one_stops_at_the_proxy_that_wrote_it() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        let peer = ip("127.0.0.1");
        let client = |pairs: &[(&'static str, &'static str)]| trusted.client(peer, &headers(pairs));
        for bad in ["", "not-an-ip", "1.1.1.1, junk", "1.1.1.1,,", "256.1.1.1", "unknown"] {
            assert_eq!(client(&[("x-forwarded-for", bad)]), peer, "{bad:?}");
        }
        // 10.0.0.2 could not name its client: 1.1.1.1 is the client's own word, not believed.
        assert_eq!(client(&[("x-forwarded-for", "1.1.1.1, unknown, 10.0.0.2")]), ip("10.0.0.2"));
        let forwarded = trusted.clone().with_header(ForwardedHeader::Forwarded);
        let client = |pairs: &[(&'static str, &'static str)]| forwarded.client(peer, &headers(pairs));
        for bad in
            ["for=unknown", "for=_hidden", "for=\"[::1\"", "for=\"1.1.1.1", "by=1.1.1.1", "for=1.1.1.1, proto=https"]
        {
            assert_eq!(client(&[("forwarded", bad)]), peer, "{bad:?}");
        }
    }

    #[test]
    fn only_the_header_the_proxies_write_is_read() {
        let peer = ip("127.0.0.1");
        let both = headers(&[("forwarded", "for=8.8.8.8"), ("x-forwarded-for", "203.0.113.7")]);
        let trusted = proxies(&["127.0.0.1/32"]);
        assert_eq!(trusted.client(peer, &both), ip("203.0.113.7"));
        assert_eq!(trusted.client(peer, &headers(&[("forwarded", "for=8.8.8.8")])), peer);
        let forwarded = trusted.with_header(ForwardedHeader::Forwarded);
        assert_eq!(forwarded.client(peer, &both), ip("8.8.8.8"));
        assert_eq!(forwarded.client(peer, &headers(&[("x-forwarded-for", "203.0.113.7")])), peer);
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
