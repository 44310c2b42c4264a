//! The routes: one table ([`ROUTES`], also what `console/openapi.yaml` is checked
//! against), matched on method and path template, and the dispatch that turns a view
//! into a page or JSON and an action's outcome into a redirect or JSON.
use crate::actions::{self, Act};
use crate::app::App;
use crate::auth;
use crate::error::{ConsoleError, Result};
use crate::http::{self, Req, Resp};
use crate::pages::{self, PageCtx};
use crate::views::{self, View};
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Method, StatusCode};
use std::sync::Arc;

/// Which handler answers a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Handler {
    /// A page (HTML).
    Page(View),
    /// The JSON behind a page.
    Api(View),
    /// An action from a page's form (token and CSRF token in the form).
    Form(Act),
    /// An action as JSON (bearer token).
    Json(Act),
    Asset,
    Spec,
}

struct Route {
    method: Method,
    path: &'static str,
    handler: Handler,
}

const fn page(path: &'static str, v: View) -> Route {
    Route {
        method: Method::GET,
        path,
        handler: Handler::Page(v),
    }
}
const fn api(path: &'static str, v: View) -> Route {
    Route {
        method: Method::GET,
        path,
        handler: Handler::Api(v),
    }
}
const fn form(path: &'static str, a: Act) -> Route {
    Route {
        method: Method::POST,
        path,
        handler: Handler::Form(a),
    }
}
const fn act(path: &'static str, a: Act) -> Route {
    Route {
        method: Method::POST,
        path,
        handler: Handler::Json(a),
    }
}

/// Every route the console answers.
const ROUTES: &[Route] = &[
    page("/", View::Home),
    api("/api/home", View::Home),
    page("/pipelines", View::Pipelines),
    api("/api/pipelines", View::Pipelines),
    page("/executions/{id}", View::Execution),
    api("/api/executions/{id}", View::Execution),
    form("/executions/{id}/resume", Act::Resume),
    form("/executions/{id}/rerun", Act::Rerun),
    act("/api/executions/{id}/resume", Act::Resume),
    act("/api/executions/{id}/rerun", Act::Rerun),
    page("/registry", View::Registry),
    api("/api/registry", View::Registry),
    page("/registry/{group}", View::Group),
    api("/api/registry/{group}", View::Group),
    form("/registry/versions/{version}/approve", Act::Approve),
    form("/registry/versions/{version}/reject", Act::Reject),
    act("/api/registry/versions/{version}/approve", Act::Approve),
    act("/api/registry/versions/{version}/reject", Act::Reject),
    page("/models/{version}", View::Model),
    api("/api/models/{version}", View::Model),
    page("/lineage/{version}", View::Lineage),
    api("/api/lineage/{version}", View::Lineage),
    page("/endpoints", View::Endpoints),
    api("/api/endpoints", View::Endpoints),
    page("/endpoints/{name}", View::Endpoint),
    api("/api/endpoints/{name}", View::Endpoint),
    page("/endpoints/{name}/live", View::Live),
    api("/api/endpoints/{name}/live", View::Live),
    form("/endpoints/{name}/weights", Act::Weights),
    form("/endpoints/{name}/deploy", Act::Deploy),
    form("/endpoints/{name}/capture", Act::Capture),
    act("/api/endpoints/{name}/weights", Act::Weights),
    act("/api/endpoints/{name}/deploy", Act::Deploy),
    act("/api/endpoints/{name}/capture", Act::Capture),
    page("/monitoring", View::Monitoring),
    api("/api/monitoring", View::Monitoring),
    page("/monitoring/{endpoint}", View::Monitor),
    api("/api/monitoring/{endpoint}", View::Monitor),
    page("/experiments", View::Experiments),
    api("/api/experiments", View::Experiments),
    page("/experiments/{endpoint}/{id}", View::Experiment),
    api("/api/experiments/{endpoint}/{id}", View::Experiment),
    form("/experiments/{endpoint}/{id}/promote", Act::Promote),
    act("/api/experiments/{endpoint}/{id}/promote", Act::Promote),
    Route {
        method: Method::GET,
        path: "/assets/{name}",
        handler: Handler::Asset,
    },
    Route {
        method: Method::GET,
        path: "/api/openapi.yaml",
        handler: Handler::Spec,
    },
];

/// A served route (for checking the OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteInfo {
    pub method: String,
    pub path: &'static str,
}

/// Every route the console serves.
pub fn route_table() -> Vec<RouteInfo> {
    ROUTES
        .iter()
        .map(|r| RouteInfo {
            method: r.method.to_string(),
            path: r.path,
        })
        .collect()
}

/// The path parameters of `path` if it matches `template` (`{x}` is one non-empty
/// segment).
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

fn find<'p>(method: &Method, path: &'p str) -> Result<(&'static Route, Vec<&'p str>)> {
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
        Err(ConsoleError::MethodNotAllowed)
    } else {
        Err(ConsoleError::NotFound(format!("no page {path}")))
    }
}

/// Path parameters, percent-decoded.
fn decode(params: Vec<&str>) -> Result<Vec<String>> {
    params
        .into_iter()
        .map(|p| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={p}"))
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, v)| v)
                .filter(|v| !v.contains('/'))
                .ok_or_else(|| ConsoleError::BadRequest(format!("bad path segment {p:?}")))
        })
        .collect()
}

pub async fn dispatch(app: Arc<App>, req: Req) -> Resp {
    let path = match req.uri().path().trim_end_matches('/') {
        "" => "/",
        p => p,
    }
    .to_string();
    let api = path.starts_with("/api/");
    let csrf = auth::csrf_cookie(req.headers()).map(str::to_string);
    let fresh_csrf = csrf.is_none();
    let csrf = csrf.unwrap_or_else(auth::new_csrf);
    let actions_enabled = app.config.admin_token.is_some();
    let json_of_page = if path == "/" {
        "/api/home".to_string()
    } else {
        format!("/api{path}")
    };
    let ctx_of = |q: &std::collections::HashMap<String, String>| PageCtx {
        csrf: csrf.clone(),
        flash: q.get("done").cloned(),
        actions_enabled,
        api: json_of_page.clone(),
    };
    let result = route(&app, req, &path, &ctx_of).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(error = %e, %path, "request failed");
            }
            if api {
                http::error_json(&e)
            } else {
                let q = std::collections::HashMap::new();
                http::html(e.status(), pages::error_page(&e, &ctx_of(&q)))
            }
        }
    };
    let is_html = resp
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if fresh_csrf && is_html {
        if let Ok(v) = HeaderValue::from_str(&auth::csrf_set_cookie(&csrf)) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

async fn route(
    app: &Arc<App>,
    req: Req,
    path: &str,
    ctx_of: &(dyn Fn(&std::collections::HashMap<String, String>) -> PageCtx + Sync),
) -> Result<Resp> {
    let (route, params) = find(req.method(), path)?;
    let params = decode(params)?;
    let q = http::query(req.uri());
    match route.handler {
        Handler::Page(v) => {
            let data = views::gather(app, v, &params, &q).await?;
            Ok(http::html(
                StatusCode::OK,
                pages::render(&data, &ctx_of(&q)),
            ))
        }
        Handler::Api(v) => {
            let data = views::gather(app, v, &params, &q).await?;
            Ok(http::json(StatusCode::OK, &data))
        }
        Handler::Form(a) => {
            let headers = req.headers().clone();
            let fields = http::form_fields(&http::body(req).await?)?;
            let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
            auth::check_form_origin(&headers, field("csrf"))?;
            auth::check_token(app.config.admin_token.as_ref(), field("token"))?;
            let input = actions::Input::from_form(&fields);
            let done = actions::perform(app, a, &params, input).await?;
            let sep = if done.redirect.contains('?') {
                '&'
            } else {
                '?'
            };
            let flash =
                serde_urlencoded::to_string([("done", done.message.as_str())]).unwrap_or_default();
            Ok(http::see_other(&format!("{}{sep}{flash}", done.redirect)))
        }
        Handler::Json(a) => {
            let headers = req.headers().clone();
            auth::check_token(app.config.admin_token.as_ref(), auth::bearer(&headers))?;
            let is_json = http::header(&headers, "content-type")
                .is_some_and(|c| c.starts_with("application/json"));
            let bytes = http::body(req).await?;
            let input = if bytes.is_empty() {
                actions::Input::default()
            } else if !is_json {
                return Err(ConsoleError::BadRequest(
                    "send the action's body as application/json".into(),
                ));
            } else {
                actions::Input::from_json(&bytes)?
            };
            let done = actions::perform(app, a, &params, input).await?;
            Ok(http::json(
                StatusCode::OK,
                &serde_json::json!({ "message": done.message, "result": done.value }),
            ))
        }
        Handler::Asset => crate::assets::get(&params[0]),
        Handler::Spec => Ok(http::respond(
            StatusCode::OK,
            "application/yaml",
            include_str!("../openapi.yaml"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_matches_itself_and_only_its_method() {
        for r in ROUTES {
            let path = r.path.replace('{', "x").replace('}', "");
            let (found, params) = find(&r.method, &path).unwrap();
            assert_eq!(found.handler, r.handler, "{}", r.path);
            assert_eq!(params.len(), r.path.matches('{').count(), "{}", r.path);
        }
        assert!(matches!(
            find(&Method::GET, "/nope"),
            Err(ConsoleError::NotFound(_))
        ));
        assert!(matches!(
            find(&Method::GET, "/registry/versions/x/approve"),
            Err(ConsoleError::MethodNotAllowed)
        ));
        let (r, p) = find(&Method::GET, "/experiments/demo/ab-1").unwrap();
        assert_eq!(
            (r.handler, p),
            (Handler::Page(View::Experiment), vec!["demo", "ab-1"])
        );
    }

    #[test]
    fn path_segments_are_decoded() {
        assert_eq!(
            decode(vec!["a%20b", "sha256-1"]).unwrap(),
            ["a b", "sha256-1"]
        );
        assert!(decode(vec!["a%2Fb"]).is_err());
    }
}
