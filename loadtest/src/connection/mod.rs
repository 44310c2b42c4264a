//! One keep-alive HTTP/1.1 connection, owned by one worker: the lean client
//! ([`lean`], the default) or hyper's `client::conn::http1` ([`hyper`]).
//!
//! The workers' connections together are the pool: each worker sends its
//! requests one after another on its own connection and reopens it when it
//! breaks, times out or is closed by the server.
//!
//! Module layout (no cycle): [`outcome`] holds the types both clients
//! return and imports neither; `lean` and `hyper` each import only
//! `outcome`; this module dispatches to them and owns the timeout.

mod hyper;
mod lean;
mod outcome;

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::config::ClientKind;
use crate::request::RequestTemplate;
use crate::target::Target;

use self::hyper::HyperConnection;
use self::lean::LeanConnection;
pub use self::outcome::INVOKED_VARIANT_HEADER;
pub(crate) use self::outcome::{Answer, Failure};

enum Client {
    Lean(LeanConnection),
    Hyper(HyperConnection),
}

/// One worker's connection: prepare a request, then send it.
pub(crate) struct Connection {
    client: Client,
    /// A lazily re-armed timeout: it is only reset when it fires, so a
    /// request costs no timer registration (it fires about once per
    /// timeout period and is then moved to the current request's deadline).
    timer: Pin<Box<Sleep>>,
}

impl Connection {
    pub(crate) fn new(target: &Target, kind: ClientKind) -> Self {
        let client = match kind {
            ClientKind::Lean => Client::Lean(LeanConnection::new(target.addr)),
            ClientKind::Hyper => Client::Hyper(HyperConnection::new(target.addr)),
        };
        Self {
            client,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Opens the connection now (before a run starts), if it can.
    pub(crate) async fn warm_up(&mut self, timeout: Duration) {
        let _ = match &mut self.client {
            Client::Lean(c) => tokio::time::timeout(timeout, c.connect()).await,
            Client::Hyper(c) => tokio::time::timeout(timeout, c.connect()).await,
        };
    }

    /// Builds request number `index` for the next [`send`](Self::send);
    /// returns its size on the wire.
    pub(crate) fn prepare(&mut self, template: &RequestTemplate, index: u64) -> u64 {
        match &mut self.client {
            Client::Lean(c) => c.prepare(template, index),
            Client::Hyper(c) => c.prepare(template, index),
        }
    }

    /// Sends the prepared request and reads the whole response within
    /// `timeout`.
    pub(crate) async fn send(&mut self, timeout: Duration) -> Result<Answer, Failure> {
        let deadline = Instant::now() + timeout;
        let Self { client, timer } = self;
        let outcome = {
            let exchange = async {
                match client {
                    Client::Lean(c) => c.exchange().await,
                    Client::Hyper(c) => c.exchange().await,
                }
            };
            tokio::pin!(exchange);
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut exchange => break outcome,
                    () = timer.as_mut() => {
                        if Instant::now() >= deadline {
                            break Err(Failure::Timeout);
                        }
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        if outcome.is_err() {
            // The connection is in an unknown state: start afresh.
            match &mut self.client {
                Client::Lean(c) => c.reset(),
                Client::Hyper(c) => c.reset(),
            }
        }
        outcome
    }
}
