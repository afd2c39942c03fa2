//! The list route's payload — a page of 20 messages of 1 KiB — written as
//! JSON three ways, on the same values:
//!
//! - `fast_json`: the facade's writer (`src/wire/fast_json.rs`, included here
//!   as it is), which the routes use, into the erasing buffer the route
//!   sends (dropped, so erased, as the route's is); `fast_json_multiline`
//!   is the same page with a line break every 28 bytes of text;
//! - `serde_json`: the same shape with `#[derive(Serialize)]` and
//!   `serde_json::to_writer` into a pre-sized buffer;
//! - `poem_openapi`: what poem-openapi's `Json` payload does (a
//!   `serde_json::Value` tree, then bytes).
//!
//! And a request body, `{"message": <1 KiB>, "ttl_seconds": 3600}`, read
//! into a `serde_json::Value` two ways (`request_1k_json`): by
//! `json_parse` (`src/wire/json_parse.rs`, included as it is), which the
//! routes use, and by `serde_json::from_slice`; each plain and with a line
//! break every 28 bytes (`_multiline`: escapes, which serde_json unescapes
//! through its scratch buffer and `json_parse` through erased bytes).
//!
//! Run: `cargo bench -p strongroom-facade --bench json`

#![allow(dead_code, unreachable_pub, unused_imports)]

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

#[path = "../src/wire/fast_json.rs"]
mod fast_json;
#[path = "../src/wire/json_parse.rs"]
mod json_parse;

use fast_json::WriteJson;
use strongroom_engine::SecretBytes;

/// The wire shape of a message on a page (`wire::Message`).
#[derive(Serialize)]
struct Message {
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    sender_id: Uuid,
    message: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// The wire shape of a page (`wire::MessagePage`).
#[derive(Serialize)]
struct Page {
    messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// As `wire.rs` writes a message and a page with `fast_json`.
impl WriteJson for Message {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "id");
        fast_json::uuid(out, &self.id);
        if let Some(sender) = &self.sender {
            out.push(b',');
            fast_json::key(out, "sender");
            fast_json::string(out, sender);
        }
        out.push(b',');
        fast_json::key(out, "sender_id");
        fast_json::uuid(out, &self.sender_id);
        out.push(b',');
        fast_json::key(out, "message");
        fast_json::string(out, &self.message);
        out.push(b',');
        fast_json::key(out, "created_at");
        fast_json::datetime(out, &self.created_at);
        out.push(b',');
        fast_json::key(out, "expires_at");
        fast_json::datetime(out, &self.expires_at);
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.message.len() + 256
    }
}

impl WriteJson for Page {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "messages");
        out.push(b'[');
        for (n, message) in self.messages.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            message.write_json(out);
        }
        out.push(b']');
        if let Some(cursor) = &self.next_cursor {
            out.push(b',');
            fast_json::key(out, "next_cursor");
            fast_json::string(out, cursor);
        }
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.messages
            .iter()
            .map(WriteJson::size_hint)
            .sum::<usize>()
            + 96
    }
}

/// A page as the list route returns it: 20 messages of 1 KiB of text,
/// millisecond timestamps, a cursor.
fn page() -> Page {
    let at = |ms: i128| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).expect("time");
    let messages = (0..20u128)
        .map(|n| Message {
            id: Uuid::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788 ^ n),
            sender: Some("alice".into()),
            sender_id: Uuid::from_u128(42),
            message: "meet me at the usual place. ".repeat(37)[..1024].to_owned(),
            created_at: at(1_764_463_928_250 + n as i128),
            expires_at: at(1_764_464_528_250 + n as i128),
        })
        .collect();
    Page {
        messages,
        next_cursor: Some("Xq3vT0c2kF9mZcYwq1pTgA".into()),
    }
}

/// The same page with multi-line texts: every line break is escaped, so
/// the JSON outgrows its size hint.
fn multiline_page() -> Page {
    let mut page = page();
    for m in &mut page.messages {
        m.message = "meet me at the usual place.\n".repeat(37)[..1024].to_owned();
    }
    page
}

fn json(c: &mut Criterion) {
    let page = page();
    let multiline = multiline_page();
    let fast = String::from_utf8(fast_json::body(&page).to_vec()).expect("UTF-8");
    let serde = serde_json::to_string(&page).expect("serde");
    let a: serde_json::Value = serde_json::from_str(&fast).expect("fast_json writes JSON");
    let b: serde_json::Value = serde_json::from_str(&serde).expect("serde writes JSON");
    assert_eq!(a, b, "both write the same document");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&fast_json::body(&multiline)).expect("JSON"),
        serde_json::to_value(&multiline).expect("serde"),
        "both write the same multi-line document"
    );

    let mut group = c.benchmark_group("list_page_20x1k_json");
    group.bench_function("fast_json", |bench| bench.iter(|| fast_json::body(&page)));
    group.bench_function("fast_json_multiline", |bench| {
        bench.iter(|| fast_json::body(&multiline))
    });
    group.bench_function("serde_json", |bench| {
        bench.iter(|| {
            let mut out = Vec::with_capacity(page.size_hint());
            serde_json::to_writer(&mut out, &page).expect("serialise");
            out
        })
    });
    group.bench_function("poem_openapi_value", |bench| {
        bench.iter(|| {
            let value = serde_json::to_value(&page).expect("value");
            serde_json::to_vec(&value).expect("bytes")
        })
    });
    group.finish();

    let body = |text: &str| {
        serde_json::to_vec(&serde_json::json!({"message": text, "ttl_seconds": 3600}))
            .expect("json")
    };
    let plain = body(&page.messages[0].message);
    let multiline = body(&multiline.messages[0].message);
    for text in [&plain, &multiline] {
        assert_eq!(
            json_parse::parse(text).ok(),
            serde_json::from_slice(text).ok(),
            "both read the same value"
        );
    }
    let mut group = c.benchmark_group("request_1k_json");
    group.bench_function("json_parse", |bench| {
        bench.iter(|| json_parse::parse(&plain))
    });
    group.bench_function("json_parse_multiline", |bench| {
        bench.iter(|| json_parse::parse(&multiline))
    });
    group.bench_function("serde_json", |bench| {
        bench.iter(|| serde_json::from_slice::<serde_json::Value>(&plain))
    });
    group.bench_function("serde_json_multiline", |bench| {
        bench.iter(|| serde_json::from_slice::<serde_json::Value>(&multiline))
    });
    group.finish();
}

criterion_group!(benches, json);
criterion_main!(benches);
