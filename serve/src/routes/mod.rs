//! The routes. `Router` matches method and path against one table, [`ROUTES`] (also the
//! list `serve/openapi.yaml` is checked against), and calls the handler; each file holds
//! one group:
//!
//! | route | file |
//! |---|---|
//! | `GET /ping` | `ping.rs` |
//! | `POST /invocations` | `invocations.rs` (the invoke sequence: `invoke.rs`) |
//! | `GET /metrics` | `metrics.rs` |
//! | `GET /v1/models`, `POST /v1/predict` | `native.rs` |
//! | `/v1/admin/…` (bearer token) | `admin.rs` |
//! | `/transform-jobs…` (bearer token) | `crate::transform::api` |
//! | `POST /feedback` | `feedback.rs` |
//! | `GET /experiments/{id}` | `experiments.rs` |
//!
//! Handlers return `Result<Resp, ServeError>`; the error becomes a response here only.
mod admin;
mod experiments;
mod feedback;
mod invocations;
mod invoke;
mod metrics;
mod native;
mod ping;

use crate::capture::Capture;
use crate::endpoint::routing::RoutingConfig;
use crate::endpoint::Endpoint;
use crate::error::ServeError;
use crate::feedback::Feedback;
use crate::http::{error_response, Req, Resp};
use crate::limits::Limits;
use crate::shadow::Shadow;
use hyper::Method;
use secrecy::SecretString;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Shared state of the routes.
pub struct App {
    pub endpoint: Endpoint,
    pub limits: Limits,
    pub admin_token: Option<SecretString>,
    pub worker: bool,
    /// Batch transform jobs and the roots their paths are confined to.
    pub transform: crate::transform::TransformJobs,
    pub routing: RoutingConfig,
    pub capture: Option<Capture>,
    /// `POST /feedback` (with a state directory).
    pub feedback: Option<Feedback>,
    pub shadow: Option<Arc<Shadow>>,
    /// Experiments and feedback live here.
    pub state_dir: Option<PathBuf>,
    /// Experiment reports, kept up to date incrementally (with a state directory).
    pub reports: Option<crate::reports::Reports>,
    /// Bearer token `POST /feedback` needs (the admin token is accepted too).
    pub feedback_token: Option<SecretString>,
    /// Bearer token `GET /experiments/{id}` needs (the admin token is accepted too).
    pub read_token: Option<SecretString>,
}

#[derive(Clone)]
pub struct Router {
    app: Arc<App>,
}

impl Router {
    pub fn new(app: Arc<App>) -> Self {
        Router { app }
    }
}

/// Which handler answers a route of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Ping,
    Invocations,
    Metrics,
    Models,
    Predict,
    AdminEndpoint,
    AdminWeights,
    AdminAddVariant,
    AdminRemoveVariant,
    AdminDeploy,
    AdminCapture,
    AdminUpdateCapture,
    TransformCreate,
    TransformDescribe,
    Feedback,
    Experiment,
}

/// One served route: a method and a path template in OpenAPI's notation (`{name}` matches
/// one non-empty path segment).
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: Handler,
}

const fn route(method: Method, path: &'static str, handler: Handler) -> Route {
    Route {
        method,
        path,
        handler,
    }
}

/// Every route the server answers. The router dispatches through this table only (a
/// path it does not match is 404, a matched path with another method 405), and a test
/// checks that `serve/openapi.yaml` documents exactly these routes.
pub const ROUTES: &[Route] = &[
    route(Method::GET, "/ping", Handler::Ping),
    route(Method::POST, "/invocations", Handler::Invocations),
    route(Method::GET, "/metrics", Handler::Metrics),
    route(Method::GET, "/v1/models", Handler::Models),
    route(Method::POST, "/v1/predict", Handler::Predict),
    route(Method::GET, "/v1/admin/endpoint", Handler::AdminEndpoint),
    route(Method::PUT, "/v1/admin/weights", Handler::AdminWeights),
    route(Method::POST, "/v1/admin/variants", Handler::AdminAddVariant),
    route(
        Method::DELETE,
        "/v1/admin/variants/{name}",
        Handler::AdminRemoveVariant,
    ),
    route(
        Method::POST,
        "/v1/admin/variants/{name}/deploy",
        Handler::AdminDeploy,
    ),
    route(Method::GET, "/v1/admin/capture", Handler::AdminCapture),
    route(
        Method::PUT,
        "/v1/admin/capture",
        Handler::AdminUpdateCapture,
    ),
    route(Method::POST, "/transform-jobs", Handler::TransformCreate),
    route(
        Method::GET,
        "/transform-jobs/{id}",
        Handler::TransformDescribe,
    ),
    route(Method::POST, "/feedback", Handler::Feedback),
    route(Method::GET, "/experiments/{id}", Handler::Experiment),
];

/// Path prefixes behind the management token: checked before routing, so without the
/// token even an unknown path under them reveals nothing.
const PROTECTED: &[&str] = &["/v1/admin", "/transform-jobs"];

/// The path parameters of `path` if it matches `template`.
fn matches<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') => {
                if ps.is_empty() {
                    return None;
                }
                params.push(ps);
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// The route of a request and its path parameters; 405 when only the method differs.
fn find<'p>(method: &Method, path: &'p str) -> Result<(&'static Route, Vec<&'p str>), ServeError> {
    let mut other_method = false;
    for r in ROUTES {
        if let Some(params) = matches(r.path, path) {
            if r.method == method {
                return Ok((r, params));
            }
            other_method = true;
        }
    }
    if other_method {
        Err(ServeError::MethodNotAllowed)
    } else {
        Err(ServeError::NotFound(format!("no route {path}")))
    }
}

async fn dispatch(app: Arc<App>, req: Req) -> Result<Resp, ServeError> {
    // The request is moved into its handler, so the path is copied out of it first.
    let path = match req.uri().path().trim_end_matches('/') {
        "" => "/",
        p => p,
    }
    .to_string();
    let protected = PROTECTED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if protected {
        admin::authorize(&app, req.headers())?;
    }
    let (route, params) = find(req.method(), &path)?;
    let param = params.first().copied().unwrap_or_default();
    match route.handler {
        Handler::Ping => Ok(ping::ping(&app)),
        Handler::Invocations => invocations::invocations(&app, req).await,
        Handler::Metrics => Ok(metrics::metrics()),
        Handler::Models => Ok(native::models(&app)),
        Handler::Predict => native::predict(&app, req).await,
        Handler::AdminEndpoint => Ok(admin::describe(&app)),
        Handler::AdminWeights => admin::update_weights(&app, req).await,
        Handler::AdminAddVariant => admin::add_variant(&app, req).await,
        Handler::AdminRemoveVariant => admin::remove_variant(&app, param).await,
        Handler::AdminDeploy => admin::deploy(&app, param, req).await,
        Handler::AdminCapture => Ok(admin::capture(&app)),
        Handler::AdminUpdateCapture => admin::update_capture(&app, req).await,
        Handler::TransformCreate => {
            let limit = app.limits.max_body_bytes;
            crate::transform::api::create(&app.transform, &app.endpoint, limit, req).await
        }
        Handler::TransformDescribe => crate::transform::api::describe(&app.transform, param),
        Handler::Feedback => feedback::feedback(&app, req).await,
        Handler::Experiment => experiments::get(app.clone(), param, req.headers()).await,
    }
}

impl tower::Service<Req> for Router {
    type Response = Resp;
    type Error = Infallible;
    type Future = crate::http::BoxFuture<Result<Resp, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move {
            let retry = app.limits.retry_after_secs;
            Ok(dispatch(app, req).await.unwrap_or_else(|e| {
                if e.status().is_server_error() {
                    tracing::error!(error = %e, "request failed");
                }
                error_response(&e, retry)
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// (method, path) of every operation in `serve/openapi.yaml`.
    fn documented() -> BTreeSet<(String, String)> {
        let spec: serde_json::Value =
            serde_yaml::from_str(include_str!("../../openapi.yaml")).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if ["get", "put", "post", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    out.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn openapi_documents_exactly_the_served_routes() {
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(served.len(), ROUTES.len(), "a route is listed twice");
        let documented = documented();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "served but missing from serve/openapi.yaml: {undocumented:?}"
        );
        let phantom: Vec<_> = documented.difference(&served).collect();
        assert!(
            phantom.is_empty(),
            "in serve/openapi.yaml but not served: {phantom:?}"
        );
    }

    #[test]
    fn every_route_matches_itself_and_only_its_method() {
        for r in ROUTES {
            let path = r.path.replace('{', "x").replace('}', "");
            let (found, params) = find(&r.method, &path).unwrap();
            assert_eq!(found.handler, r.handler, "{}", r.path);
            assert_eq!(params.len(), r.path.matches('{').count(), "{}", r.path);
        }
    }

    #[test]
    fn templates_bind_one_segment() {
        let (r, p) = find(&Method::POST, "/v1/admin/variants/B/deploy").unwrap();
        assert_eq!((r.handler, p), (Handler::AdminDeploy, vec!["B"]));
        let (r, p) = find(&Method::GET, "/experiments/ab-1").unwrap();
        assert_eq!((r.handler, p), (Handler::Experiment, vec!["ab-1"]));
        for path in [
            "/experiments/",
            "/experiments/a/b",
            "/v1/admin",
            "/nope",
            "/",
        ] {
            assert!(
                matches!(find(&Method::GET, path), Err(ServeError::NotFound(_))),
                "{path}"
            );
        }
        assert!(matches!(
            find(&Method::GET, "/invocations"),
            Err(ServeError::MethodNotAllowed)
        ));
        assert!(matches!(
            find(&Method::POST, "/experiments/x"),
            Err(ServeError::MethodNotAllowed)
        ));
    }
}
