//! Requests the server makes to URLs that clients give it: webhook
//! deliveries and media fetched from `voice.audio_url` and `background.url`.
//!
//! A client-chosen URL must not become a way into the server's own network
//! (SSRF): loopback, private and link-local addresses are refused unless the
//! operator allows them (`serve --allow-private-urls`). A fetch connects to
//! the very address that was checked (no second DNS lookup that could
//! answer differently), follows no redirects, and stops at a size and a
//! time limit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Checks `url` and returns the addresses it may be reached at.
fn check_url(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("'{url}' must be an http or https URL"));
    }
    let host = parsed.host_str().ok_or_else(|| format!("'{url}' has no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addresses: Vec<SocketAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(|e| format!("'{host}' cannot be resolved: {e}"))?
            .collect(),
    };
    if !allow_private && let Some(address) = addresses.iter().find(|a| is_private(&a.ip())) {
        return Err(format!(
            "'{url}' points at {}, a loopback, private or link-local address; the server refuses those unless \
             started with --allow-private-urls",
            address.ip()
        ));
    }
    Ok(addresses)
}

/// [`check_url`] off the async threads (resolving a name blocks).
pub(crate) async fn check(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let owned = url.to_string();
    tokio::task::spawn_blocking(move || check_url(&owned, allow_private)).await.map_err(|e| e.to_string())?
}

/// [`check`] for a URL a request gives in its field `field`, refused as
/// that field's error.
pub(crate) async fn check_param(url: &str, allow_private: bool, field: &str) -> Result<(), crate::error::ApiError> {
    check(url, allow_private).await.map(|_| ()).map_err(|e| crate::error::ApiError::invalid(field, e))
}

fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(&IpAddr::V4(v4)))
        }
    }
}

/// A client for one request to `url`: the URL checked (see the module
/// comment), the connection pinned to the checked addresses, no redirects,
/// the whole request within `timeout`. Errors are sentences for the client.
pub(crate) async fn client_for(
    url: &str,
    allow_private: bool,
    timeout: Duration,
) -> Result<(reqwest::Client, reqwest::Url), String> {
    let addresses = check(url, allow_private).await?;
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .resolve_to_addrs(&host, &addresses)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot reach '{url}': {e}"))?;
    Ok((client, parsed))
}

/// Starts fetching `url` and returns the response once its status and
/// headers are good, with its Content-Type (no parameters, lower case); the
/// caller reads the body with `chunk()`. Refuses at once a body announced
/// as larger than `max_bytes`. Errors are sentences for the client.
pub(crate) async fn get(
    url: &str,
    allow_private: bool,
    max_bytes: u64,
    timeout: Duration,
) -> Result<(reqwest::Response, String), String> {
    let (client, parsed) = client_for(url, allow_private, timeout).await?;
    let response = client.get(parsed).send().await.map_err(|e| format!("cannot fetch '{url}': {e}"))?;
    let status = response.status();
    if status.is_redirection() {
        let target = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("elsewhere");
        return Err(format!("'{url}' redirects to {target}; give the final URL"));
    }
    if !status.is_success() {
        return Err(format!("'{url}' answered HTTP {status}"));
    }
    if response.content_length().is_some_and(|length| length > max_bytes) {
        return Err(format!("'{url}' is larger than {} MB", max_bytes / (1024 * 1024)));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    Ok((response, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://[::1]/",
            "http://169.254.169.254/",
            "http://localhost/",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert!(check_url(url, true).is_ok(), "{url}");
        }
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url("http://93.184.215.14/hook", false).is_ok());
    }
}
