//! The crate's one error type and its HTTP status. Messages are what a user sees: they
//! never carry filesystem paths (internal failures are logged and answered generically).
use hyper::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("this action needs the admin token")]
    Unauthorized,
    #[error("the admin token is wrong")]
    Forbidden,
    #[error("actions are disabled: the console was started without an admin token")]
    ActionsDisabled,
    #[error("refused: {0}")]
    Csrf(String),
    #[error("{0}")]
    Conflict(String),
    #[error("endpoint {endpoint}: {message}")]
    Endpoint { endpoint: String, message: String },
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
    #[error(transparent)]
    Monitoring(#[from] monitoring::MonitoringError),
    #[error("{0}")]
    Internal(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        use pipeline::PipelineError as P;
        match self {
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ConsoleError::Unauthorized => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden | ConsoleError::ActionsDisabled | ConsoleError::Csrf(_) => {
                StatusCode::FORBIDDEN
            }
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Endpoint { .. } => StatusCode::BAD_GATEWAY,
            ConsoleError::Pipeline(e) => match e {
                P::NotFound { .. } => StatusCode::NOT_FOUND,
                P::IllegalTransition { .. } | P::NotApproved { .. } | P::Resume { .. } => {
                    StatusCode::CONFLICT
                }
                P::Parameter { .. } | P::UnknownParameter { .. } | P::Definition(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ConsoleError::Monitoring(e) => match e {
                monitoring::MonitoringError::ExperimentNotFound(_) => StatusCode::NOT_FOUND,
                monitoring::MonitoringError::InvalidExperiment(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ConsoleError::Internal(_) | ConsoleError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable kind (the `type` of the JSON error body).
    pub fn kind(&self) -> &'static str {
        match self.status().as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            422 => "invalid",
            502 => "endpoint_failed",
            _ => "internal",
        }
    }

    /// What the user is told: the message for client errors, a generic line for internal
    /// ones (whose detail may name files), with paths hidden either way.
    pub fn public_message(&self) -> String {
        if self.status().is_server_error() && !matches!(self, ConsoleError::Endpoint { .. }) {
            "internal error (the console's log has the details)".to_string()
        } else {
            crate::redact::hide_paths(&self.to_string())
        }
    }
}

pub type Result<T, E = ConsoleError> = std::result::Result<T, E>;
