//! Cross-instance fan-out over NATS, for several instances on one shared
//! store: each instance publishes what its commits mean for streams
//! ([`Remote`]: user ids to wake, sessions to end — never content) on one
//! subject, and applies what the others publish to its own streams, which
//! then read the new events from the store. The store stays the source of
//! truth: after a NATS reconnect, and every [`BACKSTOP`] besides, every
//! stream reads the store again, so a lost notice costs latency, not
//! events.

use std::time::Duration;

use strongroom_engine::Engine;
use strongroom_facade::{Remote, RemoteStreams};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The subject every instance publishes on and listens to.
pub(crate) const SUBJECT: &str = "strongroom.notices";

/// How often every stream reads the store even without a notice.
pub(crate) const BACKSTOP: Duration = Duration::from_secs(30);

/// How long stopping waits for queued notices to reach NATS: with NATS
/// unreachable they are dropped after it (other instances catch up from
/// the store), so a shutdown never waits on the network.
pub(crate) const FLUSH: Duration = Duration::from_secs(1);

/// How long the first connection may take before start fails.
const CONNECT: Duration = Duration::from_secs(5);

/// Connects to NATS at `url`. A server that cannot be reached at start is
/// an error (a wrong URL shows at once, not as streams that never wake);
/// once connected, the connection reconnects by itself, waking every
/// stream each time it comes back.
pub(crate) async fn connect(
    url: &str,
    streams: RemoteStreams,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name("strongroom")
        .connection_timeout(CONNECT)
        .event_callback(move |event| {
            let streams = streams.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("NATS connected; streams catch up from the store");
                        streams.wake_all();
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("NATS disconnected; reconnecting (streams catch up after)")
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        })
        .connect(url)
        .await
}

/// Publishes this instance's notices and applies the others' until
/// `stop`; returns the tasks doing it.
pub(crate) async fn run(
    client: async_nats::Client,
    engine: &Engine,
    streams: RemoteStreams,
    stop: CancellationToken,
) -> Result<Vec<JoinHandle<()>>, async_nats::SubscribeError> {
    // Tags this instance's messages, so it skips its own.
    let me = format!("{:016x}", rand::random::<u64>());
    let (tx, mut rx) = mpsc::unbounded_channel::<Remote>();
    // The listener runs on the commit path: it only queues.
    engine.events().add_listener(move |notice| {
        if let Some(remote) = Remote::of(notice) {
            let _ = tx.send(remote);
        }
    });
    let mut subscriber = client.subscribe(SUBJECT).await?;
    let publisher = {
        let (client, me, stop) = (client.clone(), me.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let remote = tokio::select! {
                    () = stop.cancelled() => break,
                    next = rx.recv() => match next { Some(r) => r, None => break },
                };
                let payload = format!("{me} {}", remote.encode());
                // Publishing waits when NATS is down and its buffer full:
                // never past a stop.
                let published = tokio::select! {
                    () = stop.cancelled() => break,
                    published = client.publish(SUBJECT, payload.into()) => published,
                };
                if let Err(e) = published {
                    metrics::counter!("strongroom_fanout_publish_failures_total").increment(1);
                    tracing::warn!(error = %e, "NATS publish failed; other instances catch up later");
                }
            }
            if tokio::time::timeout(FLUSH, client.flush()).await.is_err() {
                tracing::warn!(
                    "NATS unreachable at shutdown; unsent notices dropped (other instances catch up from the store)"
                );
            }
        })
    };
    let applier = {
        let (streams, stop) = (streams.clone(), stop.clone());
        tokio::spawn(async move {
            use tokio_stream::StreamExt as _;
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => break,
                    next = subscriber.next() => match next { Some(m) => m, None => break },
                };
                let Ok(text) = std::str::from_utf8(&message.payload) else {
                    continue;
                };
                let Some((from, body)) = text.split_once(' ') else {
                    continue;
                };
                if from == me {
                    continue;
                }
                match Remote::decode(body) {
                    Some(remote) => {
                        metrics::counter!("strongroom_fanout_received_total").increment(1);
                        streams.apply(&remote);
                    }
                    None => tracing::warn!("ignored a malformed notice on {SUBJECT}"),
                }
            }
        })
    };
    let backstop = tokio::spawn(async move {
        let mut every = tokio::time::interval(BACKSTOP);
        every.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = every.tick() => streams.wake_all(),
            }
        }
    });
    Ok(vec![publisher, applier, backstop])
}
