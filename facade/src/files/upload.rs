//! Receiving an upload: the request body is read chunk by chunk and sealed
//! as it arrives; each full batch of segments commits on a blocking thread
//! while the next one is read (at most one batch in flight, so an upload
//! holds two batches of memory at most), and the last commit makes the
//! file. A body that fails, stalls or passes a limit aborts the upload; a
//! request dropped half-way aborts it too (on a blocking thread).

use std::time::Duration;

use futures_util::StreamExt;
use poem::Body;
use poem::http::StatusCode;
use strongroom_engine::RecordError;
use strongroom_engine::files::{Aborter, FileInfo, UPLOAD_LEASE, Upload};
use tokio::task::JoinHandle;

use crate::http::problem::{Problem, record_problem};

/// The problem a file operation's engine error answers with.
pub(crate) fn file_problem(err: RecordError) -> Problem {
    match err {
        RecordError::NotFound => Problem::new(StatusCode::NOT_FOUND, "file not found"),
        RecordError::TooLarge { max } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("file is larger than {max} bytes"),
        ),
        RecordError::QuotaExceeded { what, used, limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("quota exceeded: {used} of {limit} {what} in use; nothing was kept"),
        ),
        other => record_problem(other),
    }
}

/// Aborts the upload when dropped, unless disarmed.
struct AbortOnDrop(Option<Aborter>);

impl AbortOnDrop {
    fn disarm(&mut self) -> Option<Aborter> {
        self.0.take()
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(aborter) = self.0.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(move || {
                if let Err(e) = aborter.abort() {
                    tracing::error!(error = %e, "removing an abandoned upload failed");
                }
            });
        }
    }
}

async fn joined(batch: JoinHandle<Result<(), RecordError>>) -> Result<(), Problem> {
    match batch.await {
        // The upload's row is gone: its lease ran out between batches.
        Ok(Err(RecordError::NotFound)) => Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "the upload went too long without storing a segment and was removed",
        )),
        Ok(result) => result.map_err(file_problem),
        Err(_) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down",
        )),
    }
}

/// Streams `body` into `upload` and completes it; on any failure nothing
/// of the upload is kept.
pub(crate) async fn receive(
    mut upload: Upload,
    body: Body,
    idle: Duration,
) -> Result<FileInfo, Problem> {
    let mut guard = AbortOnDrop(Some(upload.aborter()));
    let mut chunks = body.into_bytes_stream();
    let mut in_flight: Option<JoinHandle<Result<(), RecordError>>> = None;
    // A slow upload stores what it has before its lease runs out (the
    // lease is renewed by every stored batch).
    let renew_after = UPLOAD_LEASE / 2;
    let mut last_stored = tokio::time::Instant::now();
    let received = async {
        loop {
            let chunk = match tokio::time::timeout(idle, chunks.next()).await {
                Err(_) => {
                    return Err(Problem::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!("no part of the body arrived for {} s", idle.as_secs()),
                    ));
                }
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "the request body ended before it was complete",
                    ));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            let full = upload.push(&chunk).map_err(file_problem)?;
            if (full || last_stored.elapsed() >= renew_after)
                && let Some(batch) = upload.take_batch()
            {
                if let Some(previous) = in_flight.take() {
                    joined(previous).await?;
                }
                in_flight = Some(tokio::task::spawn_blocking(move || batch.commit()));
                last_stored = tokio::time::Instant::now();
            }
        }
        if let Some(previous) = in_flight.take() {
            joined(previous).await?;
        }
        Ok(())
    }
    .await;
    let result = match received {
        Ok(()) => tokio::task::spawn_blocking(move || upload.finish())
            .await
            .map_err(|_| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))
            .and_then(|done| done.map_err(file_problem)),
        Err(problem) => Err(problem),
    };
    match result {
        Ok(info) => {
            guard.disarm();
            Ok(info)
        }
        Err(problem) => {
            // Removed before the answer goes out: a client that sees the
            // error finds nothing of the upload left.
            if let Some(aborter) = guard.disarm() {
                let removed = tokio::task::spawn_blocking(move || aborter.abort()).await;
                if !matches!(removed, Ok(Ok(()))) {
                    tracing::error!(
                        "removing a failed upload failed; the reaper removes it once its lease passes"
                    );
                }
            }
            Err(problem)
        }
    }
}
