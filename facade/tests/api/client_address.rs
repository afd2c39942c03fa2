//! Who the client is, for rate limits: the TCP peer, unless the peer is a
//! trusted proxy, whose `X-Forwarded-For` then names the client; IPv6
//! clients share a budget per /64; refreshes are limited too.

use crate::common;

use common::{TestServer, start, start_with};
use serde_json::json;
use strongroom_facade::ApiConfig;

async fn login_from(s: &TestServer, forwarded_for: &str) -> u16 {
    let res = s
        .http
        .post(s.url("/v1/sessions"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"username": "nobody", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    res.status().as_u16()
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let s = start().await;
    for i in 0..10 {
        assert_eq!(login_from(&s, &format!("198.51.100.{i}")).await, 401);
    }
    assert_eq!(
        login_from(&s, "198.51.100.200").await,
        429,
        "one budget: the peer's"
    );
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_ipv6_counts_per_64() {
    let config = ApiConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    for _ in 0..10 {
        assert_eq!(login_from(&s, "203.0.113.7").await, 401);
    }
    assert_eq!(login_from(&s, "203.0.113.7").await, 429);
    assert_eq!(
        login_from(&s, "203.0.113.8").await,
        401,
        "another client, its own budget"
    );
    // A client cannot escape by prepending an address of its choice.
    assert_eq!(login_from(&s, "192.0.2.99, 203.0.113.7").await, 429);

    for i in 0..10 {
        assert_eq!(login_from(&s, &format!("2001:db8:1:2::{i}")).await, 401);
    }
    assert_eq!(
        login_from(&s, "2001:db8:1:2:ffff::1").await,
        429,
        "same /64"
    );
    assert_eq!(login_from(&s, "2001:db8:1:3::1").await, 401, "next /64");
}

#[tokio::test]
async fn refreshes_are_rate_limited_per_address() {
    let s = start().await;
    let garbage = json!({"refresh_token": "v0fJ8dvnUzHc9K0PQ9Zo1h2mQk3sUq8Hn7cX4rB2Lw0"});
    for _ in 0..30 {
        let r = s.post("/v1/sessions/refresh", garbage.clone(), None).await;
        assert_eq!(r.status, 401);
    }
    let r = s.post("/v1/sessions/refresh", garbage, None).await;
    common::assert_problem(&r, 429);
    assert!(r.retry_after.is_some());
}

#[tokio::test]
async fn ipv4_mapped_clients_are_counted_as_their_ipv4_address() {
    let config = ApiConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    for _ in 0..10 {
        assert_eq!(login_from(&s, "::ffff:203.0.113.7").await, 401);
    }
    assert_eq!(
        login_from(&s, "203.0.113.7").await,
        429,
        "the same client, however written"
    );
    assert_eq!(
        login_from(&s, "::ffff:203.0.113.8").await,
        401,
        "another IPv4 client, not the same /64"
    );
}
