//! The routes. `Router` matches method and path against one table, [`ROUTES`] (also the
//! list `serve/openapi.yaml` is checked against), and calls the handler; each file holds
//! one group:
//!
//! | route | file |
//! |---|---|
//! | `GET /ping` | `ping.rs` |
//! | `POST /invocations` | `invocations.rs` (the invoke sequence: `invoke.rs`) |
//! | `GET /metrics` | `metrics.rs` |
//! | `GET /openapi.json`, `GET /openapi.yaml` | `openapi.rs` |
//! | `GET /v1/models`, `POST /v1/predict` | `native.rs` |
//! | `/v1/admin/…` (bearer token) | `admin.rs` |
//! | `/transform-jobs…` (bearer token) | `transform_jobs.rs` (the jobs: the `transform` crate) |
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
mod openapi;
mod ping;
mod transform_jobs;

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
    /// Batch transform jobs (`None`: `/transform-jobs` answers 403).
    pub transform: Option<Arc<dyn crate::jobs::TransformJobs>>,
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
    OpenApiJson,
    OpenApiYaml,
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

/// One served route: a method, a path template in OpenAPI's notation (`{name}` matches
/// one non-empty path segment) and the statuses its handler answers. The front proxy and
/// the token check add theirs ([`Route::statuses`]).
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: Handler,
    answers: &'static [u16],
}

const fn route(
    method: Method,
    path: &'static str,
    handler: Handler,
    answers: &'static [u16],
) -> Route {
    Route {
        method,
        path,
        handler,
        answers,
    }
}

/// Every route the server answers. The router dispatches through this table only (a
/// path it does not match is 404, a matched path with another method 405 with `Allow`),
/// and a test checks that `serve/openapi.yaml` documents exactly these routes, each with
/// exactly the statuses [`Route::statuses`] gives.
pub const ROUTES: &[Route] = &[
    route(Method::GET, "/ping", Handler::Ping, &[200, 503]),
    route(
        Method::POST,
        "/invocations",
        Handler::Invocations,
        &[200, 400, 406, 415, 422, 424, 429, 503],
    ),
    route(Method::GET, "/metrics", Handler::Metrics, &[200]),
    route(Method::GET, "/openapi.json", Handler::OpenApiJson, &[200]),
    route(Method::GET, "/openapi.yaml", Handler::OpenApiYaml, &[200]),
    route(Method::GET, "/v1/models", Handler::Models, &[200]),
    route(
        Method::POST,
        "/v1/predict",
        Handler::Predict,
        &[200, 400, 406, 415, 422, 424, 429, 503],
    ),
    route(
        Method::GET,
        "/v1/admin/endpoint",
        Handler::AdminEndpoint,
        &[200],
    ),
    route(
        Method::PUT,
        "/v1/admin/weights",
        Handler::AdminWeights,
        &[200, 400, 422],
    ),
    route(
        Method::POST,
        "/v1/admin/variants",
        Handler::AdminAddVariant,
        &[201, 400, 409, 422, 424, 500],
    ),
    route(
        Method::DELETE,
        "/v1/admin/variants/{name}",
        Handler::AdminRemoveVariant,
        &[200, 404, 409],
    ),
    route(
        Method::POST,
        "/v1/admin/variants/{name}/deploy",
        Handler::AdminDeploy,
        &[200, 400, 404, 422, 424, 500],
    ),
    route(
        Method::GET,
        "/v1/admin/capture",
        Handler::AdminCapture,
        &[200],
    ),
    route(
        Method::PUT,
        "/v1/admin/capture",
        Handler::AdminUpdateCapture,
        &[200, 400, 409, 422],
    ),
    route(
        Method::POST,
        "/transform-jobs",
        Handler::TransformCreate,
        &[201, 400, 403, 406, 422, 429, 503],
    ),
    route(
        Method::GET,
        "/transform-jobs/{id}",
        Handler::TransformDescribe,
        &[200, 404],
    ),
    route(
        Method::POST,
        "/feedback",
        Handler::Feedback,
        &[202, 400, 401, 403, 404, 422, 500],
    ),
    route(
        Method::GET,
        "/experiments/{id}",
        Handler::Experiment,
        &[200, 401, 403, 404, 500],
    ),
];

/// Paths the load shedder lets through (probes answer under load).
const NOT_SHED: &[&str] = &["/ping", "/metrics"];

impl Route {
    /// Behind the management token (see [`PROTECTED`]).
    pub fn protected(&self) -> bool {
        is_protected(self.path)
    }

    /// Every status this route can answer, in order: its handler's, the token check's
    /// (401 without a token, 403 with a wrong one, 404 while management is disabled), and
    /// the front proxy's (408 a body that stops arriving, 413 a body over the limit, 429
    /// shed, 504 the request timeout).
    pub fn statuses(&self) -> Vec<u16> {
        let mut s = self.answers.to_vec();
        if self.protected() {
            s.extend([401, 403, 404]);
        }
        if matches!(self.method, Method::POST | Method::PUT) {
            s.push(408);
        }
        s.extend([413, 504]);
        if !NOT_SHED.contains(&self.path) {
            s.push(429);
        }
        s.sort_unstable();
        s.dedup();
        s
    }
}

/// Path prefixes behind the management token: checked before routing, so without the
/// token even an unknown path under them reveals nothing.
const PROTECTED: &[&str] = &["/v1/admin", "/transform-jobs"];

fn is_protected(path: &str) -> bool {
    PROTECTED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

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

/// The route of a request and its path parameters; 405 with the methods the path has
/// when only the method differs.
fn find<'p>(method: &Method, path: &'p str) -> Result<(&'static Route, Vec<&'p str>), ServeError> {
    let mut allowed: Vec<&str> = Vec::new();
    for r in ROUTES {
        if let Some(params) = matches(r.path, path) {
            if r.method == method {
                return Ok((r, params));
            }
            allowed.push(r.method.as_str());
        }
    }
    if !allowed.is_empty() {
        Err(ServeError::MethodNotAllowed(allowed.join(", ")))
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
    if is_protected(&path) {
        admin::authorize(&app, req.headers())?;
    }
    let (route, params) = find(req.method(), &path)?;
    let param = params.first().copied().unwrap_or_default();
    let answer = handle(&app, route.handler, param, req).await;
    debug_assert!(
        {
            let status = answer.as_ref().map_or_else(|e| e.status(), |r| r.status());
            route.statuses().contains(&status.as_u16())
        },
        "{} {} answered a status serve/openapi.yaml and ROUTES do not list: {:?}",
        route.method,
        route.path,
        answer.as_ref().map(|r| r.status()),
    );
    answer
}

async fn handle(
    app: &Arc<App>,
    handler: Handler,
    param: &str,
    req: Req,
) -> Result<Resp, ServeError> {
    match handler {
        Handler::Ping => Ok(ping::ping(app)),
        Handler::Invocations => invocations::invocations(app, req).await,
        Handler::Metrics => Ok(metrics::metrics()),
        Handler::OpenApiJson => openapi::json(),
        Handler::OpenApiYaml => Ok(openapi::yaml()),
        Handler::Models => Ok(native::models(app)),
        Handler::Predict => native::predict(app, req).await,
        Handler::AdminEndpoint => Ok(admin::describe(app)),
        Handler::AdminWeights => admin::update_weights(app, req).await,
        Handler::AdminAddVariant => admin::add_variant(app, req).await,
        Handler::AdminRemoveVariant => admin::remove_variant(app, param).await,
        Handler::AdminDeploy => admin::deploy(app, param, req).await,
        Handler::AdminCapture => Ok(admin::capture(app)),
        Handler::AdminUpdateCapture => admin::update_capture(app, req).await,
        Handler::TransformCreate => transform_jobs::create(app, req).await,
        Handler::TransformDescribe => transform_jobs::describe(app, param),
        Handler::Feedback => feedback::feedback(app, req).await,
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
        let spec = spec();
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

    fn spec() -> serde_json::Value {
        serde_yaml::from_str(openapi::YAML).unwrap()
    }

    /// Follows a local `$ref`.
    fn resolve<'a>(spec: &'a serde_json::Value, v: &'a serde_json::Value) -> &'a serde_json::Value {
        match v["$ref"].as_str() {
            Some(r) => spec.pointer(r.trim_start_matches('#')).expect(r),
            None => v,
        }
    }

    #[test]
    fn openapi_documents_every_status_of_every_route() {
        let spec = spec();
        for r in ROUTES {
            let op = &spec["paths"][r.path][r.method.as_str().to_lowercase()];
            let documented: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| {
                    k.parse()
                        .unwrap_or_else(|_| panic!("{} {}: {k}", r.method, r.path))
                })
                .collect();
            assert_eq!(documented, r.statuses(), "{} {}", r.method, r.path);
            for (code, resp) in op["responses"].as_object().unwrap() {
                let resp = resolve(&spec, resp);
                let at = format!("{} {} {code}", r.method, r.path);
                assert!(
                    resp["headers"]["x-request-id"].is_object(),
                    "{at}: no x-request-id"
                );
                if code.starts_with('2') {
                    continue;
                }
                let schema = &resp["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/Error", "{at}");
                let headers = resp["headers"].as_object().unwrap();
                match code.as_str() {
                    "429" | "503" => assert!(headers.contains_key("Retry-After"), "{at}"),
                    "401" => assert!(headers.contains_key("WWW-Authenticate"), "{at}"),
                    _ => {}
                }
            }
            // Management routes need the token; the others take none, or one optionally
            // (`{}` among the alternatives: /feedback and /experiments with their tokens).
            let security = op["security"].as_array();
            let optional = security.is_none_or(|s| s.contains(&serde_json::json!({})));
            assert_eq!(optional, !r.protected(), "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn openapi_has_no_null_values() {
        // A comma in an unquoted flow-map scalar splits it into a key with a null value.
        fn walk(v: &serde_json::Value, at: &str) {
            match v {
                serde_json::Value::Null => panic!("null at {at} (quote the text before it)"),
                serde_json::Value::Object(o) => {
                    o.iter().for_each(|(k, v)| walk(v, &format!("{at}/{k}")))
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, at)),
                _ => {}
            }
        }
        walk(&spec(), "");
    }

    #[test]
    fn a_known_path_with_another_method_is_405_with_allow() {
        let e = find(&Method::TRACE, "/ping").unwrap_err();
        let resp = error_response(&e, 1);
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET");
        let e = find(&Method::DELETE, "/v1/admin/capture").unwrap_err();
        assert_eq!(error_response(&e, 1).headers()["allow"], "GET, PUT");
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
            Err(ServeError::MethodNotAllowed(m)) if m == "POST"
        ));
        assert!(matches!(
            find(&Method::POST, "/experiments/x"),
            Err(ServeError::MethodNotAllowed(m)) if m == "GET"
        ));
    }
}
