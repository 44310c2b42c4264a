//! The one error type of the serving crate, and the one place it becomes an HTTP status
//! and the one JSON body shape: `{"error": "...", "type": "..."}` (the response itself is
//! built by `http::error_response`).
use crate::catalog::CatalogError;
use hyper::StatusCode;
use monitoring::payload::PayloadError;
use std::time::Duration;

/// Everything that can go wrong while serving. Client mistakes map to 4xx; only faults of
/// the server itself map to 500.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown variant {0:?}")]
    UnknownVariant(String),
    #[error("request body is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("unsupported content type {0:?} (use application/json, application/jsonlines, text/csv or text/plain)")]
    UnsupportedMediaType(String),
    #[error("none of the accepted types {0:?} can be produced (application/json, application/jsonlines, text/csv)")]
    NotAcceptable(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("overloaded: {0}")]
    Overloaded(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("variant {variant} failed{}: {message}", status.map(|s| format!(" with status {s}")).unwrap_or_default())]
    Upstream {
        variant: String,
        status: Option<u16>,
        message: String,
    },
    #[error("model error: {0}")]
    Model(String),
    #[error("the request did not complete within {0:?}")]
    Timeout(Duration),
    /// The client was too slow sending its request (a body that never finishes or
    /// trickles in below the minimum rate): the client's fault, 408.
    #[error("request timeout: {0}")]
    ClientTimeout(String),
    #[error("management requires a bearer token")]
    Unauthorized,
    #[error("the bearer token is not valid")]
    Forbidden,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("path not allowed: {0}")]
    PathNotAllowed(String),
    /// The path exists with other methods (listed as `Allow` says them: `GET, PUT`).
    #[error("method not allowed; this path answers {0}")]
    MethodNotAllowed(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("cannot load model {reference}: {source}")]
    ModelLoad {
        reference: String,
        #[source]
        source: models::ModelError,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServeError {
    /// The HTTP status of this error. The only mapping from errors to statuses.
    pub fn status(&self) -> StatusCode {
        use ServeError::*;
        match self {
            Malformed(_) | UnknownVariant(_) => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden | PathNotAllowed(_) => StatusCode::FORBIDDEN,
            NotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Conflict(_) => StatusCode::CONFLICT,
            TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Invalid(_) | ModelLoad { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Catalog(e) if e.is_client_error() => StatusCode::UNPROCESSABLE_ENTITY,
            Upstream { .. } | Model(_) => StatusCode::FAILED_DEPENDENCY,
            Overloaded(_) => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ClientTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Catalog(_) | Io(_) | Config(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable `type` of the JSON body.
    pub fn kind(&self) -> &'static str {
        use ServeError::*;
        match self {
            Malformed(_) => "malformed_request",
            UnknownVariant(_) => "unknown_variant",
            TooLarge { .. } => "payload_too_large",
            UnsupportedMediaType(_) => "unsupported_media_type",
            NotAcceptable(_) => "not_acceptable",
            Invalid(_) => "invalid_value",
            Overloaded(_) => "overloaded",
            Unavailable(_) => "unavailable",
            Upstream { .. } => "variant_failed",
            Model(_) => "model_error",
            Timeout(_) => "timeout",
            ClientTimeout(_) => "request_timeout",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            NotFound(_) => "not_found",
            PathNotAllowed(_) => "path_not_allowed",
            MethodNotAllowed(_) => "method_not_allowed",
            Conflict(_) => "conflict",
            ModelLoad { .. } => "model_load_failed",
            Catalog(e) if e.is_client_error() => "invalid_model",
            Catalog(_) | Io(_) | Config(_) | Internal(_) => "internal",
        }
    }

    /// The JSON object `{"error", "type"}` (also used for one failed item in a batch).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "error": self.to_string(), "type": self.kind() });
        if let ServeError::Upstream {
            status: Some(s), ..
        } = self
        {
            v["upstream_status"] = (*s).into();
        }
        v
    }

    /// A model failure for one input (e.g. non-finite output) or one batch. Only the
    /// first line of the message is kept: libtorch appends a C++ backtrace (install paths,
    /// addresses) that must not reach a response.
    pub(crate) fn from_model_error(e: models::ModelError) -> Self {
        let text = e.to_string();
        ServeError::Model(text.lines().next().unwrap_or_default().to_string())
    }
}

impl From<PayloadError> for ServeError {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::Malformed(m) => ServeError::Malformed(m),
            PayloadError::Invalid(m) => ServeError::Invalid(m),
            PayloadError::UnsupportedMediaType(t) => ServeError::UnsupportedMediaType(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_never_500() {
        let client = [
            ServeError::Malformed("x".into()),
            ServeError::UnknownVariant("x".into()),
            ServeError::TooLarge { limit: 1 },
            ServeError::UnsupportedMediaType("x".into()),
            ServeError::NotAcceptable("x".into()),
            ServeError::Invalid("x".into()),
            ServeError::Catalog(CatalogError::NotFound("x".into())),
            ServeError::ClientTimeout("x".into()),
        ];
        for e in client {
            assert!(e.status().is_client_error(), "{e}");
        }
        assert_eq!(ServeError::Overloaded("q".into()).status(), 429);
        assert_eq!(ServeError::Unavailable("q".into()).status(), 503);
        assert_eq!(ServeError::ClientTimeout("slow".into()).status(), 408);
        let up = ServeError::Upstream {
            variant: "b".into(),
            status: Some(500),
            message: "boom".into(),
        };
        assert_eq!(up.status(), 424);
        assert_eq!(up.to_json()["upstream_status"], 500);
    }
}
