//! Serving the application until a shutdown signal.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Serves `app` on `listener` until `shutdown` completes, then waits for
/// open requests to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM, then lets open
/// requests finish for up to `grace`. A second signal, or the end of
/// `grace`, stops the server without waiting further: a stalled download
/// must not keep it running.
pub async fn serve_until_stopped(
    listener: TcpListener,
    app: Router,
    grace: Duration,
) -> io::Result<()> {
    let (signalled, first_signal) = oneshot::channel();
    let shutdown = async move {
        shutdown_signal().await;
        let _ = signalled.send(());
    };
    let server = serve(listener, app, shutdown);
    tokio::pin!(server);

    let cut_short = async {
        if first_signal.await.is_err() {
            // The server stopped without a signal; its own branch ends.
            return std::future::pending().await;
        }
        tokio::select! {
            () = tokio::time::sleep(grace) => tracing::warn!(
                grace_seconds = grace.as_secs(),
                "open requests did not finish in time; stopping anyway"
            ),
            () = shutdown_signal() => tracing::warn!(
                "received a second signal; stopping without waiting for open requests"
            ),
        }
    };
    tokio::select! {
        served = &mut server => served,
        () = cut_short => Ok(()),
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("received Ctrl-C; shutting down"),
        () = terminate => tracing::info!("received SIGTERM; shutting down"),
    }
}
