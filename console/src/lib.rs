//! Sentio's web console: one `SENTIO_HOME` in the browser. Server-rendered pages (typed
//! [maud] templates, charts drawn server-side as SVG, a little vanilla JavaScript for live
//! refresh and the token field) for pipelines, the registry, lineage, model performance,
//! endpoints, monitoring and experiments; the same data as JSON under `/api/…`
//! (`console/openapi.yaml`).
//!
//! Read-only without a token. Actions (approve/reject, weights, deploy, capture sampling,
//! re-run/resume, promote) need the admin token: as `Authorization: Bearer` on
//! `POST /api/…` (JSON bodies), or in the form of a page, whose posts also carry a CSRF
//! token bound to a `SameSite=Strict` cookie. Pages never show filesystem paths or
//! secrets. Every asset is embedded; nothing is loaded from elsewhere.
//!
//! Entry point: [`run`] (a [`ConsoleConfig`], a bound listener and a shutdown future).
//! Endpoints are reached over HTTP (`/v1/models`, `/metrics`, `/v1/admin`,
//! `/experiments/{id}`); this crate does not depend on `serve`.
#![forbid(unsafe_code)]

mod actions;
mod app;
mod assets;
mod auth;
mod client;
mod config;
mod error;
mod http;
mod live;
mod pages;
mod redact;
mod reports;
mod routes;
mod server;
mod svg;
mod views;

pub use config::{ConsoleConfig, EndpointTarget};
pub use error::ConsoleError;
pub use routes::{route_table, RouteInfo};
pub use server::run;
