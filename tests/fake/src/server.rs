//! Listeners and connections: the tokio runtime, the accept loops, TLS handshakes,
//! hyper HTTP/1.1 serving, and the per-connection controls that let a fault stall or
//! reset the socket.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

use crate::routes;
use crate::state::Shared;

/// Lets a request handler end its own connection abruptly.
pub(crate) struct ConnCtl {
    /// Whether the connection is TLS (recorded with each request).
    pub tls: bool,
    /// A duplicate of the socket's descriptor, used to set SO_LINGER 0 before closing.
    dup: Mutex<Option<socket2::Socket>>,
    kill: Notify,
}

impl ConnCtl {
    /// Closes the connection normally (FIN) without answering.
    pub fn close(&self) {
        self.dup.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.kill.notify_one();
    }

    /// Resets the connection: SO_LINGER 0, then close, so the kernel sends an RST.
    pub fn reset(&self) {
        if let Some(sock) = self.dup.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sock.set_linger(Some(Duration::ZERO));
        }
        self.kill.notify_one();
    }
}

/// A running server: the runtime and the two bound addresses.
pub(crate) struct Running {
    pub rt: Option<Runtime>,
    pub https_addr: SocketAddr,
    pub http_addr: SocketAddr,
}

impl Running {
    /// Binds both listeners on 127.0.0.1 (ephemeral ports) and starts serving.
    pub fn start(shared: Arc<Shared>, tls: Arc<rustls::ServerConfig>) -> std::io::Result<Running> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("yciam-fake")
            .enable_all()
            .build()?;
        // Bind with std so this works even when called from inside another runtime.
        let https = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let http = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        https.set_nonblocking(true)?;
        http.set_nonblocking(true)?;
        let (https_addr, http_addr) = (https.local_addr()?, http.local_addr()?);
        let acceptor = TlsAcceptor::from(tls);
        rt.spawn(accept_loop(https, Some(acceptor), shared.clone()));
        rt.spawn(accept_loop(http, None, shared));
        Ok(Running {
            rt: Some(rt),
            https_addr,
            http_addr,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped inside some async context: blocking there is not allowed.
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("yciam-fake: cannot register listener: {e}");
            return;
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // e.g. EMFILE: back off a little instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        tokio::spawn(serve_connection(stream, tls.clone(), shared.clone()));
    }
}

async fn serve_connection(stream: TcpStream, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let dup = stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from);
    let ctl = Arc::new(ConnCtl {
        tls: tls.is_some(),
        dup: Mutex::new(dup),
        kill: Notify::new(),
    });
    match tls {
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            if let Ok(Ok(tls_stream)) = handshake {
                drive(TokioIo::new(tls_stream), shared, ctl).await;
            }
        }
        None => drive(TokioIo::new(stream), shared, ctl).await,
    }
}

async fn drive<I>(io: I, shared: Arc<Shared>, ctl: Arc<ConnCtl>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc_ctl = ctl.clone();
    let svc = service_fn(move |req| routes::handle(shared.clone(), svc_ctl.clone(), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(io, svc);
    tokio::select! {
        _ = conn => {}
        _ = ctl.kill.notified() => {}
    }
    // Dropping `conn` (and with it the socket) here closes the connection; after
    // `ConnCtl::reset` the socket has SO_LINGER 0 and the close sends an RST.
}
