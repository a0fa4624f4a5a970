//! The revert form's CSRF token: a random value in a `SameSite=Strict`,
//! `HttpOnly` cookie, repeated in the form's hidden field (the
//! double-submit pattern). Another site can make the browser send the
//! cookie with a cross-site post only where SameSite is ignored, and it can
//! never read the cookie to fill in the field, so a post whose field
//! matches the cookie came from a page of this browser.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "history_browser_csrf";
/// The form field's name.
pub(crate) const FIELD: &str = "csrf_token";

/// The token the request's cookie carries, if it has a well-formed one.
pub(crate) fn from_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, token)| token.to_owned())
        .filter(|token| token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The request's token, or a new one with the `Set-Cookie` header that
/// gives it to the browser.
pub(crate) fn token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(token) = from_cookie(headers) {
        return (token, None);
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let cookie = format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict");
    let header = HeaderValue::from_str(&cookie).ok();
    (token, header)
}

/// Adds the cookie to a response's headers when the token is new.
pub(crate) fn set(headers: &mut HeaderMap, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        headers.append(SET_COOKIE, cookie);
    }
}

/// Whether the form's token is the cookie's, compared in constant time.
pub(crate) fn matches(headers: &HeaderMap, submitted: &str) -> bool {
    let Some(expected) = from_cookie(headers) else {
        return false;
    };
    expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_set_and_then_read_back_and_matched() {
        let (token, cookie) = token(&HeaderMap::new());
        let cookie = cookie.unwrap();
        assert!(cookie
            .to_str()
            .unwrap()
            .ends_with("; Path=/; HttpOnly; SameSite=Strict"));
        let mut headers = HeaderMap::new();
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        headers.insert(COOKIE, format!("theme=dark; {pair}").parse().unwrap());
        assert_eq!(super::token(&headers), (token.clone(), None));
        assert!(matches(&headers, &token));
        assert!(!matches(&headers, &token[1..]));
        assert!(!matches(&headers, &"0".repeat(32)));
        assert!(!matches(&HeaderMap::new(), &token));
    }
}
