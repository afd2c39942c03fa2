//! A minimal Server-Sent Events reader for tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    /// The event's SSE id: the stream's opaque position after it.
    pub fn id(&self) -> String {
        self.id.clone().expect("event id")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("json data")
    }
}

pub struct SseStream {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buf: String,
    pub comments: usize,
}

pub enum Next {
    Event(SseEvent),
    End,
    Timeout,
}

impl SseStream {
    /// Opens the event stream at `url` with a bearer token, resuming after
    /// `last_event_id` when given; the server has registered the stream by
    /// the time it answers, so events stored from here on are delivered.
    pub async fn open(url: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new().get(url).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.expect("connect");
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .expect("content-type")
                .starts_with("text/event-stream")
        );
        Self::new(res)
    }

    pub fn new(res: reqwest::Response) -> Self {
        Self {
            body: res.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next event, `End` when the server closed the stream, or `Timeout`.
    pub async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        has_data = true;
                    }
                }
                if has_data {
                    return Next::Event(event);
                }
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) | Ok(Some(Err(_))) => return Next::End,
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }

    /// The next event; panics on end or timeout.
    pub async fn expect(&mut self, wait: Duration) -> SseEvent {
        match self.next(wait).await {
            Next::Event(e) => e,
            Next::End => panic!("stream ended"),
            Next::Timeout => panic!("no event within {wait:?}"),
        }
    }
}
