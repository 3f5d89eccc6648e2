//! [`FakeApiServer`]: the fake API server listening on a local port, and the listener that can
//! reset a connection on demand.
//!
//! Shutdown follows kube-apiserver on SIGTERM: the listener closes at once (new connections are
//! refused), open watches keep streaming for the grace period and then end cleanly, other
//! requests in flight complete.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::app;
use crate::config::FakeApiServerConfig;
use crate::error::{Error, Result};
use crate::handle::FakeApiHandle;

/// How long shutdown waits for connections to finish after the watches were ended.
const CONNECTION_DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// The fake API server. Dropping it without [`FakeApiServer::shutdown`] stops it abruptly.
#[derive(Debug)]
pub struct FakeApiServer {
    handle: FakeApiHandle,
    local_address: SocketAddr,
    stop_accepting: CancellationToken,
    serve_task: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Binds `config.bind_address` and serves until shutdown.
    pub async fn start(config: FakeApiServerConfig) -> Result<FakeApiServer> {
        let listener = TcpListener::bind(&config.bind_address)
            .await
            .map_err(|source| Error::Bind {
                address: config.bind_address.clone(),
                source,
            })?;
        let local_address = listener.local_addr().map_err(Error::LocalAddress)?;
        let handle = FakeApiHandle::new(config);
        let stop_accepting = CancellationToken::new();
        let router = app(handle.clone());
        let serve = axum::serve(
            ResettableListener { listener },
            router.into_make_service_with_connect_info::<ConnectionAddress>(),
        )
        .with_graceful_shutdown(stop_accepting.clone().cancelled_owned());
        let serve_task = tokio::spawn(async move {
            if let Err(error) = serve.await {
                tracing::warn!(%error, "fake api server stopped with an error");
            }
        });
        spawn_ttl_sweeper(handle.clone());
        tracing::debug!(%local_address, "fake api server listening");
        Ok(FakeApiServer {
            handle,
            local_address,
            stop_accepting,
            serve_task: Some(serve_task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_address)
    }

    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// A handle on the state; it stays usable after shutdown (to read requests and truth).
    pub fn handle(&self) -> FakeApiHandle {
        self.handle.clone()
    }

    /// SIGTERM semantics: stop accepting now, let open watches stream for
    /// `config.shutdown_grace`, then end them cleanly and wait for connections to close.
    pub async fn shutdown(mut self) {
        let shared = Arc::clone(&self.handle.shared);
        self.stop_accepting.cancel();
        shared.watch_tasks.close();
        tokio::select! {
            _ = tokio::time::sleep(shared.config.shutdown_grace) => {}
            _ = shared.watch_tasks.wait() => {}
        }
        shared.watches_end.cancel();
        shared.watch_tasks.wait().await;
        shared.background_stop.cancel();
        if let Some(serve_task) = self.serve_task.take()
            && tokio::time::timeout(CONNECTION_DRAIN_DEADLINE, serve_task)
                .await
                .is_err()
        {
            tracing::warn!("fake api server connections did not drain in time");
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop_accepting.cancel();
        self.handle.shared.watches_end.cancel();
        self.handle.shared.background_stop.cancel();
    }
}

/// Expires Events in the background, at `ttl_sweep_interval`, by the server's clock.
fn spawn_ttl_sweeper(handle: FakeApiHandle) {
    let interval = handle
        .shared
        .config
        .ttl_sweep_interval
        .max(Duration::from_millis(10));
    let stop = handle.shared.background_stop.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {
                    handle.expire_due_events();
                }
            }
        }
    });
}

/// The remote address of a connection, and the switch that makes its close a reset.
#[derive(Debug, Clone)]
pub struct ConnectionAddress {
    pub remote: SocketAddr,
    reset_on_close: Arc<AtomicBool>,
}

impl ConnectionAddress {
    /// When the connection closes, it sends RST instead of FIN.
    pub fn request_reset(&self) {
        self.reset_on_close.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnectionAddress {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> ConnectionAddress {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be closed with a reset.
pub struct ResettableListener {
    listener: TcpListener,
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = ConnectionAddress;

    async fn accept(&mut self) -> (ResettableStream, ConnectionAddress) {
        loop {
            match self.listener.accept().await {
                Ok((stream, remote)) => {
                    // Small frames must leave at once, not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let reset_on_close = Arc::new(AtomicBool::new(false));
                    return (
                        ResettableStream {
                            stream,
                            reset_on_close: Arc::clone(&reset_on_close),
                        },
                        ConnectionAddress {
                            remote,
                            reset_on_close,
                        },
                    );
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<ConnectionAddress> {
        Ok(ConnectionAddress {
            remote: self.listener.local_addr()?,
            reset_on_close: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream that, when asked, closes with RST (`SO_LINGER` 0) instead of FIN.
pub struct ResettableStream {
    stream: TcpStream,
    reset_on_close: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset_on_close.load(Ordering::SeqCst) {
            // Zero linger makes close() discard unsent data and send RST.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
