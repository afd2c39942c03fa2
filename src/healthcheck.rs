//! `strongroom healthcheck`: asks a running server's readiness URL and
//! exits 0 when it answers 2xx, so a container's `HEALTHCHECK` needs no
//! shell tools (the runtime image has no curl). Plain HTTP only: it runs
//! beside the server, on its loopback or container address.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use poem::http::Uri;

/// Why the server is not healthy, as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unhealthy {
    /// The URL is not a plain `http://host:port/path` URL.
    #[error("{0:?} is not an http:// URL (the health check speaks plain HTTP to a local listener)")]
    BadUrl(String),
    /// No connection or no answer in time.
    #[error("{url}: {error}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What failed.
        error: std::io::Error,
    },
    /// An answer that is not HTTP.
    #[error("{0}: the answer is not HTTP")]
    NotHttp(String),
    /// A status other than 2xx.
    #[error("{url} answered {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// Its status code.
        status: u16,
    },
}

/// Asks `url` with a `GET` and waits at most `timeout` in all; `Ok` with
/// the status when it is 2xx.
pub(crate) fn check(url: &str, timeout: Duration) -> Result<u16, Unhealthy> {
    let bad = || Unhealthy::BadUrl(url.to_owned());
    let uri: Uri = url.parse().map_err(|_| bad())?;
    if uri.scheme_str() != Some("http") {
        return Err(bad());
    }
    let authority = uri.authority().ok_or_else(bad)?;
    let port = authority.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let unreachable = |error| Unhealthy::Unreachable {
        url: url.to_owned(),
        error,
    };
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let mut last = std::io::Error::other("the host has no address");
    let mut stream = None;
    for addr in (authority.host(), port)
        .to_socket_addrs()
        .map_err(unreachable)?
    {
        match TcpStream::connect_timeout(&addr, left()) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(last))?;
    stream
        .set_write_timeout(Some(left()))
        .map_err(unreachable)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: strongroom-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    // The status line is all that is needed: "HTTP/1.1 200 OK".
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < 12 {
        stream.set_read_timeout(Some(left())).map_err(unreachable)?;
        match stream.read(&mut head[filled..]).map_err(unreachable)? {
            0 => break,
            n => filled += n,
        }
    }
    let status = std::str::from_utf8(&head[..filled])
        .ok()
        .filter(|line| line.starts_with("HTTP/1."))
        .and_then(|line| line.get(9..12))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| Unhealthy::NotHttp(url.to_owned()))?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(Unhealthy::Status {
            url: url.to_owned(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A one-shot server answering `answer` to the first connection.
    fn answering(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut request = [0u8; 512];
                let _ = conn.read(&mut request);
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        format!("http://{addr}/readyz")
    }

    #[test]
    fn two_hundred_is_healthy_and_anything_else_is_not() {
        let url = answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(check(&url, Duration::from_secs(5)).expect("healthy"), 200);
        let url = answering("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = check(&url, Duration::from_secs(5)).expect_err("unhealthy");
        assert!(err.to_string().ends_with("answered 503"), "{err}");
        let url = answering("SSH-2.0-OpenSSH\r\n");
        assert!(matches!(
            check(&url, Duration::from_secs(5)),
            Err(Unhealthy::NotHttp(_))
        ));
    }

    #[test]
    fn a_closed_port_and_a_bad_url_are_one_line_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/readyz", listener.local_addr().expect("addr"));
        drop(listener);
        let err = check(&url, Duration::from_secs(5)).expect_err("refused");
        assert!(matches!(err, Unhealthy::Unreachable { .. }), "{err}");
        for url in ["https://127.0.0.1/readyz", "127.0.0.1:8080", "http:///x"] {
            let err = check(url, Duration::from_secs(1)).expect_err("bad");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }
}
