//! Who may act: every action needs the admin token (compared in constant time). Form posts
//! also need the CSRF token of the page they came from: a random value in a
//! `SameSite=Strict; HttpOnly` cookie that the page repeats in a hidden field; and a
//! cross-site `Origin` or `Sec-Fetch-Site` is refused outright.
use crate::error::{ConsoleError, Result};
use crate::http::{cookie, header};
use hyper::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

pub const CSRF_COOKIE: &str = "sentio_csrf";

/// Checks a token given by the user against the configured one.
pub fn check_token(configured: Option<&SecretString>, given: Option<&str>) -> Result<()> {
    let Some(configured) = configured else {
        return Err(ConsoleError::ActionsDisabled);
    };
    let given = given.map(str::trim).filter(|g| !g.is_empty());
    let Some(given) = given else {
        return Err(ConsoleError::Unauthorized);
    };
    let same: bool = configured
        .expose_secret()
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into();
    if same {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden)
    }
}

/// The bearer token of a request.
pub fn bearer(h: &HeaderMap) -> Option<&str> {
    header(h, "authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    })
}

/// A fresh CSRF value (32 random bytes, hex).
pub fn new_csrf() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The request's CSRF cookie, if it is one of ours (64 hex digits).
pub fn csrf_cookie(h: &HeaderMap) -> Option<&str> {
    cookie(h, CSRF_COOKIE).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value for a CSRF token.
pub fn csrf_set_cookie(value: &str) -> String {
    format!("{CSRF_COOKIE}={value}; Path=/; SameSite=Strict; HttpOnly")
}

/// A form post must come from one of our pages: same-origin, with the cookie's token in
/// its `csrf` field.
pub fn check_form_origin(h: &HeaderMap, field: Option<&str>) -> Result<()> {
    if let Some(site) = header(h, "sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(ConsoleError::Csrf(format!("a {site} form post")));
        }
    }
    if let (Some(origin), Some(host)) = (header(h, "origin"), header(h, "host")) {
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or(origin);
        if origin_host != host {
            return Err(ConsoleError::Csrf(format!(
                "the form came from another origin ({origin})"
            )));
        }
    }
    let cookie = csrf_cookie(h).ok_or_else(|| {
        ConsoleError::Csrf("no CSRF cookie: reload the page and try again".into())
    })?;
    let field = field.unwrap_or_default();
    if bool::from(cookie.as_bytes().ct_eq(field.as_bytes())) {
        Ok(())
    } else {
        Err(ConsoleError::Csrf(
            "the form's CSRF token does not match: reload the page and try again".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn tokens() {
        let t = SecretString::from("s3cret");
        assert!(check_token(Some(&t), Some("s3cret")).is_ok());
        assert!(matches!(
            check_token(Some(&t), Some("nope")),
            Err(ConsoleError::Forbidden)
        ));
        assert!(matches!(
            check_token(Some(&t), None),
            Err(ConsoleError::Unauthorized)
        ));
        assert!(matches!(
            check_token(Some(&t), Some(" ")),
            Err(ConsoleError::Unauthorized)
        ));
        assert!(matches!(
            check_token(None, Some("x")),
            Err(ConsoleError::ActionsDisabled)
        ));
    }

    #[test]
    fn csrf() {
        let v = new_csrf();
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={v}")).unwrap(),
        );
        h.insert("host", HeaderValue::from_static("127.0.0.1:9"));
        assert!(check_form_origin(&h, Some(&v)).is_ok());
        assert!(check_form_origin(&h, Some("0")).is_err());
        assert!(check_form_origin(&h, None).is_err());
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(check_form_origin(&h, Some(&v)).is_err());
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:9"));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_form_origin(&h, Some(&v)).is_err());
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(check_form_origin(&h, Some(&v)).is_ok());
        assert!(check_form_origin(&HeaderMap::new(), Some(&v)).is_err());
    }
}
