//! A client-side deadline for every round trip: a stream wrapper that fails the
//! connection when the server has sent nothing for `limit` since we sent it
//! something. On a silently dead link (no RST: a blackholed route, a NAT that
//! forgot us, a proxy that stopped forwarding) a statement would otherwise wait
//! for ever; TCP keepalives do not help when a middlebox still answers them.
//!
//! Armed at the first write after the server last spoke, disarmed by any byte
//! read. An idle session (nothing asked) and a `LISTEN`ing session waiting for
//! notifications are never timed out. Not caught here: a link that dies in the
//! middle of a multi-message answer — TCP keepalives and `TCP_USER_TIMEOUT` (set
//! on every TCP connection) end those.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

pub struct Watchdog<S> {
    inner: S,
    limit: Option<Duration>,
    waiting: Option<Pin<Box<Sleep>>>,
    link: Arc<LinkState>,
}

/// Who spoke last on the link, and when: the connect code tells a client waiting in a
/// pooler's queue (the server answered the start-up, then owes the rest of it) from a
/// dead link (we asked, and nothing came back).
#[derive(Debug)]
pub struct LinkState {
    base: Instant,
    /// Milliseconds after `base` (+1, so 0 means never).
    last_read: AtomicU64,
    last_write: AtomicU64,
    /// Who spoke last: 0 nobody, 1 the server (a read), 2 we (a write).
    last_side: std::sync::atomic::AtomicU8,
    /// The protocol start-up completed (the server said it is ready for queries).
    started: std::sync::atomic::AtomicBool,
    /// Waiting in a pooler's queue: silence after a request is expected, not a dead link
    /// (TCP keepalives and `TCP_USER_TIMEOUT` still end a link that really died).
    patient: std::sync::atomic::AtomicBool,
}

impl Default for LinkState {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            last_read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            last_side: std::sync::atomic::AtomicU8::new(0),
            started: std::sync::atomic::AtomicBool::new(false),
            patient: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl LinkState {
    pub fn started(&self) {
        self.started.store(true, Ordering::Relaxed);
    }

    pub fn has_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    pub fn set_patient(&self, patient: bool) {
        self.patient.store(patient, Ordering::Relaxed);
    }

    /// How long we have waited for an answer to what we sent last: `None` when the
    /// server spoke last.
    pub fn client_waiting_for(&self) -> Option<Duration> {
        (self.last_side.load(Ordering::Relaxed) == 2).then(|| self.since(self.last_write.load(Ordering::Relaxed)))
    }

    fn stamp(&self, read: bool) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1);
        let (slot, side) = if read { (&self.last_read, 1) } else { (&self.last_write, 2) };
        slot.store(ms, Ordering::Relaxed);
        self.last_side.store(side, Ordering::Relaxed);
    }

    fn since(&self, stamp: u64) -> Duration {
        self.base.elapsed().saturating_sub(Duration::from_millis(stamp.saturating_sub(1)))
    }

    /// How long the server has been quiet after speaking last (nothing asked of it since):
    /// `None` when we spoke last, or nobody spoke yet.
    pub fn server_quiet_for(&self) -> Option<Duration> {
        (self.last_side.load(Ordering::Relaxed) == 1).then(|| self.since(self.last_read.load(Ordering::Relaxed)))
    }
}

impl<S> Watchdog<S> {
    /// `limit = None`: no deadline (a plain pass-through); `link` is told who spoke last.
    pub fn watched(inner: S, limit: Option<Duration>, link: Arc<LinkState>) -> Self {
        Self { inner, limit, waiting: None, link }
    }

    fn arm(&mut self, cx: &mut Context<'_>) {
        if let (Some(limit), None) = (self.limit, &self.waiting) {
            let mut sleep = Box::pin(tokio::time::sleep(limit));
            // Register the waker now: the connection task may not read again until woken.
            let _ = sleep.as_mut().poll(cx);
            self.waiting = Some(sleep);
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let limit = self.limit;
        let patient = self.link.patient.load(Ordering::Relaxed);
        let sleep = self.waiting.as_mut()?;
        if sleep.as_mut().poll(cx).is_pending() {
            return None;
        }
        if patient {
            // Queued in a pooler: start the limit again (it applies once the queue is left).
            if let Some(limit) = limit {
                sleep.as_mut().reset(tokio::time::Instant::now() + limit);
                let _ = sleep.as_mut().poll(cx);
            }
            return None;
        }
        let secs = self.limit.unwrap_or_default().as_secs_f64();
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the server sent nothing for {secs:.0} s after a request: the network link is down or blocked"),
        ))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watchdog<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                // Data, or end of stream: the server (or the kernel) answered.
                self.waiting = None;
                if buf.filled().len() > before {
                    self.link.stamp(true);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.expired(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watchdog<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        match &result {
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.link.stamp(false);
                self.arm(cx);
            }
            // A send buffer that stays full is the same silence.
            Poll::Pending => {
                if let Some(e) = self.expired(cx) {
                    return Poll::Ready(Err(e));
                }
            }
            _ => {}
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_request_without_an_answer_times_out_and_an_idle_stream_does_not() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut dog = Watchdog::watched(client, Some(Duration::from_secs(5)), Arc::default());
        let mut buf = [0u8; 8];
        // Idle: nothing asked, nothing times out (a LISTEN session waiting for notifications).
        assert!(tokio::time::timeout(Duration::from_secs(60), dog.read(&mut buf)).await.is_err());
        // Asked and answered: fine.
        dog.write_all(b"ping").await.unwrap();
        server.write_all(b"pong").await.unwrap();
        assert_eq!(dog.read(&mut buf).await.unwrap(), 4);
        // Asked, never answered: an error after the limit.
        dog.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).await.unwrap();
        let err = dog.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
