//! A Server-Sent Events client: one parser (the WHATWG event-stream
//! grammar: `\n`, `\r\n` or `\r` line ends, `field: value` lines, `:`
//! comments, events dispatched at a blank line) used by every test,
//! example and harness, and a stream over an HTTP response.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// Its `id:` field, if it had one.
    pub id: Option<String>,
    /// Its `event:` field (`message` when absent).
    pub event: String,
    /// Its `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// The event's id: the stream's opaque position after it.
    pub fn id(&self) -> String {
        self.id.clone().expect("event id")
    }

    /// The data, parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("json data")
    }
}

/// What the parser found in the bytes fed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete event.
    Event(SseEvent),
    /// A comment line (a keep-alive).
    Comment,
}

/// An incremental event-stream parser: feed it bytes as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The last byte was a `\r` ending a line (a following `\n` belongs to it).
    after_cr: bool,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Parses `bytes`, returning the events and comments they complete.
    /// Lines are found a slice at a time; only a line split across two
    /// calls is gathered in a buffer.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.line_done(&bytes[..end], &mut out);
            } else {
                self.line.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, &mut out);
                self.line = line;
                self.line.clear();
            }
            // `\r\n` ends one line; a `\r` last in `bytes` may be followed
            // by the next call's `\n`.
            let crlf = bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n');
            self.after_cr = bytes[end] == b'\r' && end + 1 == bytes.len();
            bytes = &bytes[end + 1 + usize::from(crlf)..];
        }
        self.line.extend_from_slice(bytes);
        out
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<Item>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(Item::Event(SseEvent {
                    id: self.id.clone(),
                    event: self.event.take().unwrap_or_else(|| "message".into()),
                    data,
                }));
            }
            self.event = None;
            return;
        }
        if line[0] == b':' {
            out.push(Item::Comment);
            return;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `retry` and unknown fields (such as a chunk-size line) are ignored.
            _ => {}
        }
    }
}

/// What [`SseStream::next`] saw.
pub enum Next {
    /// An event.
    Event(SseEvent),
    /// The server closed the stream.
    End,
    /// Nothing within the wait.
    Timeout,
}

/// The events of one HTTP response.
pub struct SseStream {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    parser: SseParser,
    ready: std::collections::VecDeque<SseEvent>,
    /// Comment lines (keep-alives) seen so far.
    pub comments: usize,
}

impl SseStream {
    /// Opens the event stream at `url` with a bearer token, resuming after
    /// `last_event_id` when given, and checks it answered 200 with
    /// `text/event-stream`. The server has registered the stream by the
    /// time it answers, so events stored from here on are delivered.
    pub async fn open(url: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new().get(url).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.expect("connect");
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"]
            .to_str()
            .expect("content-type");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self::new(res)
    }

    /// The events of `res`'s body.
    pub fn new(res: reqwest::Response) -> Self {
        Self {
            body: res.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            parser: SseParser::default(),
            ready: Default::default(),
            comments: 0,
        }
    }

    /// The next event, `End` when the server closed the stream, or
    /// `Timeout` after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Next::Event(event);
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) | Ok(Some(Err(_))) => return Next::End,
                Ok(Some(Ok(chunk))) => {
                    for item in self.parser.push(&chunk) {
                        match item {
                            Item::Event(event) => self.ready.push_back(event),
                            Item::Comment => self.comments += 1,
                        }
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn events(items: Vec<Item>) -> Vec<SseEvent> {
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(e),
                Item::Comment => None,
            })
            .collect()
    }

    #[test]
    fn parses_fields_comments_and_every_line_ending() {
        let mut p = SseParser::default();
        let items = p.push(b": keep-alive\r\nid: 7\revent: end\ndata: a\r\ndata:b\n\n");
        assert_eq!(items[0], Item::Comment);
        let got = events(items);
        assert_eq!(
            got,
            [SseEvent {
                id: Some("7".into()),
                event: "end".into(),
                data: "a\nb".into()
            }]
        );
    }

    #[test]
    fn an_event_split_across_chunks_is_whole() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: hel").is_empty());
        assert!(p.push(b"lo\r").is_empty());
        let got = events(p.push(b"\n\r\n"));
        assert_eq!(got[0].data, "hello");
        assert_eq!(got[0].event, "message");
        // The id carries over to later events; event names do not.
        assert!(events(p.push(b"data: x\n\n"))[0].id.is_none());
    }

    #[test]
    fn any_split_of_a_stream_parses_as_the_whole() {
        let stream: &[u8] =
            b": hi\r\nid: 7\revent: end\ndata: a\r\ndata:b\n\r\ndata: c\r\rdata: d\n\n";
        let whole = SseParser::default().push(stream);
        let data: Vec<String> = events(whole.clone()).into_iter().map(|e| e.data).collect();
        assert_eq!(data, ["a\nb", "c", "d"]);
        for split in 0..=stream.len() {
            let mut p = SseParser::default();
            let mut items = p.push(&stream[..split]);
            items.extend(p.push(&stream[split..]));
            assert_eq!(items, whole, "split at {split}");
        }
        let mut p = SseParser::default();
        let bytewise: Vec<Item> = stream.iter().flat_map(|b| p.push(&[*b])).collect();
        assert_eq!(bytewise, whole);
    }

    #[test]
    fn a_block_without_data_dispatches_nothing() {
        let mut p = SseParser::default();
        assert!(events(p.push(b"event: ping\n\ndata: y\n\n"))[0].event == "message");
    }
}
