//! `GET /openapi.json` and `GET /openapi.yaml`: the API description, `serve/openapi.yaml`
//! compiled in (the JSON form is converted from it once).
use crate::error::ServeError;
use crate::http::{bytes_response, Resp};
use bytes::Bytes;
use hyper::StatusCode;
use std::sync::OnceLock;

/// The OpenAPI document as written.
pub const YAML: &str = include_str!("../../openapi.yaml");

pub fn yaml() -> Resp {
    bytes_response(StatusCode::OK, "application/yaml", YAML)
}

pub fn json() -> Result<Resp, ServeError> {
    static JSON: OnceLock<Result<Bytes, String>> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        serde_yaml::from_str::<serde_json::Value>(YAML)
            .and_then(|v| serde_json::to_vec(&v).map_err(serde::de::Error::custom))
            .map(Bytes::from)
            .map_err(|e| format!("serve/openapi.yaml: {e}"))
    });
    match json {
        Ok(body) => Ok(bytes_response(
            StatusCode::OK,
            "application/json",
            body.clone(),
        )),
        Err(e) => Err(ServeError::Internal(e.clone())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_json_form_converts() {
        let r = super::json().unwrap();
        let v: serde_json::Value = serde_json::from_slice(
            &futures_body(r), // the body of a Full is its one frame
        )
        .unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    }

    fn futures_body(r: crate::http::Resp) -> Vec<u8> {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(r.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }
}
