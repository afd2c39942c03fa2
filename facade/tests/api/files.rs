//! Files over a real TCP port: upload, list, download whole and by range,
//! send, delete, and every limit — size (declared or discovered while
//! streaming), quota, ttl, ownership, expiry, and a client that goes away
//! mid-upload. After each refusal nothing of the upload is left.

use crate::common;

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use common::{TestServer, assert_problem, start};
use futures_util::stream;
use strongroom_engine::files::SEGMENT_BYTES;

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
}

async fn upload(
    s: &TestServer,
    path: &str,
    token: &str,
    name: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    s.http
        .post(s.url(path))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .header("X-File-Name", name)
        .body(body)
        .send()
        .await
        .expect("upload")
}

async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or_default();
    (status, body)
}

/// Nothing of any upload is stored, and nobody is charged for one.
fn assert_nothing_kept(s: &TestServer) {
    let report = s.engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.files, 0, "an upload was kept");
}

#[tokio::test]
async fn upload_list_download_range_and_delete() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let bytes = content(3 * SEGMENT_BYTES + 1000);
    let (status, stored) = json(
        upload(
            &s,
            "/v1/files?ttl_seconds=120",
            &alice,
            "r%C3%A9sum%C3%A9%20Q3.pdf",
            bytes.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    let id = stored["id"].as_str().expect("id").to_owned();
    assert_eq!(stored["name"], "résumé Q3.pdf");
    assert_eq!(stored["size"], bytes.len() as u64);
    assert_eq!(stored["media_type"], "application/pdf");
    assert!(stored["created_at"].is_string() && stored["expires_at"].is_string());

    let list = s.get("/v1/files", &alice).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["files"][0]["id"], id.as_str());
    assert!(list.body["next_cursor"].is_null());

    let whole = s
        .http
        .get(s.url(&format!("/v1/files/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("download");
    assert_eq!(whole.status(), 200);
    let header = |name: &str| {
        whole
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("content-length"), bytes.len().to_string());
    assert_eq!(header("accept-ranges"), "bytes");
    assert_eq!(header("content-security-policy"), "sandbox");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-disposition").ends_with("filename*=UTF-8''r%C3%A9sum%C3%A9%20Q3.pdf"),
        "{}",
        header("content-disposition")
    );
    assert_eq!(
        whole.bytes().await.expect("body").as_ref(),
        bytes.as_slice()
    );

    let n = bytes.len();
    for (range, start, end) in [
        ("bytes=0-19", 0, 20),
        (
            &*format!("bytes={}-{}", SEGMENT_BYTES - 5, SEGMENT_BYTES + 4),
            SEGMENT_BYTES - 5,
            SEGMENT_BYTES + 5,
        ),
        ("bytes=-20", n - 20, n),
        (&*format!("bytes={}-", n - 7), n - 7, n),
    ] {
        let part = s
            .http
            .get(s.url(&format!("/v1/files/{id}")))
            .bearer_auth(&alice)
            .header("Range", range)
            .send()
            .await
            .expect("range");
        assert_eq!(part.status(), 206, "{range}");
        let content_range = part.headers()["content-range"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(content_range, format!("bytes {start}-{}/{n}", end - 1));
        assert_eq!(
            part.bytes().await.expect("body").as_ref(),
            &bytes[start..end],
            "{range}"
        );
    }
    let past = s
        .http
        .get(s.url(&format!("/v1/files/{id}")))
        .bearer_auth(&alice)
        .header("Range", format!("bytes={n}-"))
        .send()
        .await
        .expect("range");
    assert_eq!(past.status(), 416);
    // The file's length, for a client resuming a download that is whole.
    assert_eq!(past.headers()["content-range"], format!("bytes */{n}"));
    assert_eq!(past.headers()["content-type"], "application/problem+json");
    // Several ranges are answered whole.
    let several = s
        .http
        .get(s.url(&format!("/v1/files/{id}")))
        .bearer_auth(&alice)
        .header("Range", "bytes=0-1,5-6")
        .send()
        .await
        .expect("ranges");
    assert_eq!(several.status(), 200);

    assert_eq!(
        s.delete(&format!("/v1/files/{id}"), &alice).await.status,
        204
    );
    assert_problem(&s.get(&format!("/v1/files/{id}"), &alice).await, 404);
    assert_problem(&s.delete(&format!("/v1/files/{id}"), &alice).await, 404);
    assert_nothing_kept(&s);
}

#[tokio::test]
async fn files_are_their_owners_alone_and_sent_files_belong_to_the_recipient() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let (_, mine) = json(upload(&s, "/v1/files", &alice, "mine.txt", "alice only").await).await;
    let mine = mine["id"].as_str().expect("id").to_owned();
    assert_problem(&s.get(&format!("/v1/files/{mine}"), &bob).await, 404);
    assert_problem(&s.delete(&format!("/v1/files/{mine}"), &bob).await, 404);
    assert_problem(&s.get("/v1/files/not-a-uuid", &bob).await, 404);

    let (status, sent) =
        json(upload(&s, "/v1/users/bob/files", &alice, "for-bob.txt", "hi bob").await).await;
    assert_eq!(status, 201, "{sent}");
    let sent_id = sent["id"].as_str().expect("id");
    let bobs = s.get("/v1/files", &bob).await;
    assert_eq!(bobs.body["files"][0]["id"], sent_id);
    assert_eq!(bobs.body["files"][0]["sender"], "alice");
    let got = s
        .http
        .get(s.url(&format!("/v1/files/{sent_id}")))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("download");
    assert_eq!(got.bytes().await.expect("body").as_ref(), b"hi bob");
    assert_problem(&s.get(&format!("/v1/files/{sent_id}"), &alice).await, 404);
    let (status, _) = json(upload(&s, "/v1/users/nobody/files", &alice, "x", "x").await).await;
    assert_eq!(status, 404);
    // Unauthenticated: 401, nothing stored.
    let anonymous = s
        .http
        .post(s.url("/v1/files"))
        .body("x")
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn names_are_sanitised_and_bad_ttls_refused_before_anything_is_stored() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (status, stored) =
        json(upload(&s, "/v1/files", &alice, "..%2F..%2Fetc%2Fpasswd%0D%0A", "x").await).await;
    assert_eq!(status, 201);
    assert_eq!(stored["name"], "_.._etc_passwd__");
    for ttl in ["0", "604801", "-1", "soon"] {
        let (status, body) = json(
            upload(
                &s,
                &format!("/v1/files?ttl_seconds={ttl}"),
                &alice,
                "x",
                "x",
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{ttl}: {body}");
    }
    assert_eq!(
        s.get("/v1/files", &alice).await.body["files"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Expiry, through the engine's clock.
    s.advance(Duration::from_secs(601));
    let id = stored["id"].as_str().expect("id");
    assert_problem(&s.get(&format!("/v1/files/{id}"), &alice).await, 404);
}

#[tokio::test]
async fn a_file_past_the_limit_is_refused_declared_or_streamed_and_nothing_is_kept() {
    let limit = 3 * SEGMENT_BYTES as u64 + 10;
    let s = TestServer::start_tuned(strongroom_facade::ApiConfig::default(), "", |b| {
        b.max_file_len(limit);
    })
    .await;
    let (alice, _) = s.account("alice").await;
    // Declared: refused before a byte is read.
    let (status, body) = json(
        upload(
            &s,
            "/v1/files",
            &alice,
            "big",
            vec![0u8; limit as usize + 1],
        )
        .await,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Streamed without a length: refused as the limit is crossed.
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..8)
        .map(|_| Ok(Bytes::from(vec![1u8; SEGMENT_BYTES])))
        .collect();
    let streamed = reqwest::Body::wrap_stream(stream::iter(chunks));
    let (status, body) = json(upload(&s, "/v1/files", &alice, "big", streamed).await).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than")
    );
    assert_nothing_kept(&s);
    // Exactly the limit is fine.
    let (status, _) =
        json(upload(&s, "/v1/files", &alice, "ok", vec![0u8; limit as usize]).await).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_file_past_the_quota_is_refused_and_nothing_is_kept() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let id = s
        .engine
        .accounts()
        .find("alice")
        .expect("find")
        .expect("alice");
    let quota = strongroom_engine::accounts::Quota {
        max_bytes: 70 * SEGMENT_BYTES as u64,
        max_records: 100,
        writes_per_minute: 100,
    };
    s.engine.admin().set_quota(id, Some(quota)).expect("quota");
    let (status, body) =
        json(upload(&s, "/v1/files", &alice, "big", content(140 * SEGMENT_BYTES)).await).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("quota"),
        "{body}"
    );
    assert_nothing_kept(&s);
    assert_eq!(s.engine.accounts().quota(id).expect("quota").usage.bytes, 0);
    let (status, _) =
        json(upload(&s, "/v1/files", &alice, "fits", content(SEGMENT_BYTES)).await).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing_behind() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let token = alice.clone();
    // Declares 20 MiB, sends 9 MiB (two batches land), then goes away.
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        let head = format!(
            "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             X-File-Name: partial.bin\r\nContent-Length: {}\r\n\r\n",
            20 << 20
        );
        tcp.write_all(head.as_bytes()).expect("head");
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..9 {
            if let Err(e) = tcp.write_all(&chunk) {
                let mut answer = String::new();
                let _ = std::io::Read::read_to_string(&mut tcp, &mut answer);
                panic!("body: {e}; the server said {answer}");
            }
        }
        tcp.flush().expect("flush");
    })
    .await
    .expect("client");
    // The server notices the closed connection on its own time: wait
    // (bounded) for the upload to be removed.
    let mut files = u64::MAX;
    for _ in 0..100 {
        files = s
            .engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .files;
        if files == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files, 0, "the partial upload was kept");
    assert_nothing_kept(&s);
    let id = s
        .engine
        .accounts()
        .find("alice")
        .expect("find")
        .expect("alice");
    assert_eq!(
        s.engine.accounts().quota(id).expect("quota").usage,
        Default::default()
    );
}

#[tokio::test]
async fn a_sent_file_is_announced_on_the_recipients_stream_and_on_resume() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let mut stream = common::sse::SseStream::open(&s.url("/v1/events"), &bob, None).await;
    let (status, sent) =
        json(upload(&s, "/v1/users/bob/files", &alice, "plan.pdf", "the plan").await).await;
    assert_eq!(status, 201, "{sent}");
    let event = stream.expect(Duration::from_secs(10)).await;
    assert_eq!(event.event, "file");
    let data = event.json();
    assert_eq!(data["kind"], "file");
    assert_eq!(data["sender"], "alice");
    assert_eq!(data["file"]["id"], sent["id"]);
    assert_eq!(data["file"]["name"], "plan.pdf");
    assert_eq!(data["file"]["size"], 8);
    assert_eq!(data["message"], "alice sent you a file: plan.pdf (8 bytes)");
    // The notice is not a message: not listed, not readable as one.
    assert_eq!(
        s.get("/v1/messages", &bob).await.body["messages"],
        serde_json::json!([])
    );
    let notice = data["id"].as_str().expect("notice id");
    assert_problem(&s.get(&format!("/v1/messages/{notice}"), &bob).await, 404);
    assert_problem(
        &s.delete(&format!("/v1/messages/{notice}"), &bob).await,
        404,
    );
    // A stream resuming from before it replays it.
    let mut again = common::sse::SseStream::open(&s.url("/v1/events"), &bob, None).await;
    let replayed = again.expect(Duration::from_secs(10)).await;
    assert_eq!(replayed.event, "file");
    assert_eq!(replayed.json()["file"]["id"], sent["id"]);
    // Uploads for oneself announce nothing.
    let (status, _) = json(upload(&s, "/v1/files", &bob, "own.txt", "x").await).await;
    assert_eq!(status, 201);
    assert!(matches!(
        stream.next(Duration::from_millis(300)).await,
        common::sse::Next::Timeout
    ));
}

#[tokio::test]
async fn over_http2_uploads_stream_and_the_limit_holds() {
    let limit = 2 * SEGMENT_BYTES as u64;
    let s = TestServer::start_tuned(strongroom_facade::ApiConfig::default(), "", |b| {
        b.max_file_len(limit);
    })
    .await;
    let (alice, _) = s.account("alice").await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let send = |body: reqwest::Body| {
        h2.post(s.url("/v1/files"))
            .bearer_auth(&alice)
            .header("X-File-Name", "h2.bin")
            .body(body)
            .send()
    };
    let fits = send(reqwest::Body::from(content(limit as usize)))
        .await
        .expect("upload");
    assert_eq!(fits.version(), reqwest::Version::HTTP_2);
    assert_eq!(fits.status(), 201);
    // HTTP/2 need not declare a length: the limit is found while streaming.
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..4)
        .map(|_| Ok(Bytes::from(vec![2u8; SEGMENT_BYTES])))
        .collect();
    let over = send(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .await
        .expect("upload");
    assert_eq!(over.status(), 413);
    let report = s.engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.files, 1, "only the file that fit is kept");
}

#[tokio::test]
async fn a_file_shared_by_link_previews_opens_once_and_is_gone() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let bytes = content(2 * SEGMENT_BYTES + 5);
    let (_, stored) = json(upload(&s, "/v1/files", &alice, "plan.pdf", bytes.clone()).await).await;
    let file_id = stored["id"].as_str().expect("id").to_owned();
    let share = |body: serde_json::Value, token: &str| {
        let token = token.to_owned();
        let s = &s;
        async move { s.post("/v1/shares", body, Some(&token)).await }
    };
    // A message or a file, not both, not neither; never someone else's.
    let both = share(
        serde_json::json!({"message": "x", "file_id": file_id}),
        &alice,
    )
    .await;
    assert_problem(&both, 400);
    assert_problem(
        &share(serde_json::json!({"ttl_seconds": 600}), &alice).await,
        400,
    );
    let theirs = share(serde_json::json!({"file_id": file_id}), &bob).await;
    assert_problem(&theirs, 404);

    let created = share(
        serde_json::json!({"file_id": file_id, "ttl_seconds": 600}),
        &alice,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.body["url"].as_str().expect("url").to_owned();
    let token = url.rsplit('/').next().expect("token").to_owned();
    let preview = s
        .send(s.http.get(&url).header("accept", "application/json"))
        .await;
    assert_eq!(preview.status, 200);
    assert_eq!(preview.body["holds_file"], true);
    assert_eq!(preview.body["file"]["name"], "plan.pdf");
    assert_eq!(preview.body["file"]["size"], bytes.len() as u64);
    assert_eq!(preview.body["views_left"], 1);
    let page = s.http.get(&url).send().await.expect("page");
    let html = page.text().await.expect("html");
    assert!(html.contains("plan.pdf"), "the page names the file");
    // The source file can go: the share holds its own copy.
    assert_eq!(
        s.delete(&format!("/v1/files/{file_id}"), &alice)
            .await
            .status,
        204
    );
    let list = s.get("/v1/shares", &alice).await;
    assert_eq!(list.body["shares"][0]["file"], true);

    let open = |token: String| {
        let s = &s;
        async move {
            s.http
                .post(s.url(&format!("/v1/shares/{token}/open")))
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("open")
        }
    };
    let opened = open(token.clone()).await;
    assert_eq!(opened.status(), 200);
    let header = |name: &str| opened.headers()[name].to_str().expect("ascii").to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-views-left"), "0");
    assert!(header("content-disposition").contains("plan.pdf"));
    assert_eq!(
        opened.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );
    assert_eq!(open(token).await.status(), 410);
    let report = s.engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_file_sealed_by_the_sender_is_shared_without_the_server_reading_it() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use strongroom_engine::shares::client;

    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let secret = content(SEGMENT_BYTES + 999);
    let sealed = client::seal_file(&secret, "plan é.pdf", "application/pdf");
    let (_, stored) =
        json(upload(&s, "/v1/files", &alice, "sealed.bin", sealed.stream.clone()).await).await;
    let created = s
        .post(
            "/v1/shares",
            serde_json::json!({
                "file_id": stored["id"],
                "client_encrypted": true,
                "file_label": STANDARD.encode(&sealed.label),
            }),
            Some(&alice),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.body["url"].as_str().expect("url").to_owned();
    let preview = s
        .send(s.http.get(&url).header("accept", "application/json"))
        .await;
    assert_eq!(preview.body["client_encrypted"], true);
    assert!(preview.body["file"].is_null(), "the server cannot name it");
    let label = STANDARD
        .decode(preview.body["file_label"].as_str().expect("label"))
        .expect("base64");
    let named = client::open_label(&label, &sealed.key).expect("the key opens the label");
    assert_eq!(
        named,
        (
            "plan é.pdf".to_owned(),
            "application/pdf".to_owned(),
            secret.len() as u64
        )
    );
    let token = url.rsplit('/').next().expect("token");
    let opened = s
        .http
        .post(s.url(&format!("/v1/shares/{token}/open")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("open");
    assert_eq!(opened.status(), 200);
    let stream = opened.bytes().await.expect("bytes");
    assert_eq!(
        stream.as_ref(),
        sealed.stream.as_slice(),
        "the sealed stream, as uploaded"
    );
    let plain = client::open_file(&stream, &sealed.key).expect("the key opens the file");
    assert_eq!(plain.as_slice(), secret.as_slice());
}

#[tokio::test]
async fn a_sealed_label_that_is_not_standard_base64_or_too_long_is_refused() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (_, stored) = json(upload(&s, "/v1/files", &alice, "sealed.bin", content(100)).await).await;
    let file = |label: serde_json::Value| {
        serde_json::json!({
            "file_id": stored["id"],
            "client_encrypted": true,
            "file_label": label,
        })
    };
    let too_long = STANDARD.encode(vec![7u8; 4097]);
    for body in [
        // Not base64 at all, the URL-safe alphabet, and missing padding:
        // each would have been stored as some other label, or none.
        file("É+Ð".into()),
        file("ab-_".into()),
        file("abc".into()),
        // Longer than any label a browser seals.
        file(too_long.into()),
        // Given with a message, where it is not used, it is still checked.
        serde_json::json!({"message": "x", "file_label": "É+Ð"}),
    ] {
        let refused = s.post("/v1/shares", body.clone(), Some(&alice)).await;
        assert_problem(&refused, 400);
        assert!(
            refused.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("file_label")),
            "{body}: {}",
            refused.body
        );
    }
    assert_eq!(
        s.get("/v1/shares", &alice).await.body["shares"],
        serde_json::json!([])
    );
    // The longest label, and none, are taken.
    for label in [
        STANDARD.encode(vec![7u8; 4096]).into(),
        serde_json::Value::Null,
    ] {
        let created = s.post("/v1/shares", file(label), Some(&alice)).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
}
