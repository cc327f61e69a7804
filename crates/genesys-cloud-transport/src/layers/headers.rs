//! The SDK's identifying headers.

use genesys_cloud_core::http::{header, HeaderName, HeaderValue};
use tower::Layer;

/// Sets the SDK's headers (`User-Agent: genesys-cloud-rs/<version>`, `purecloud-sdk`) where
/// the request has none, with tower-http's `SetRequestHeaderLayer`.
#[derive(Clone, Debug)]
pub struct HeadersLayer {
    user_agent: HeaderValue,
    sdk: HeaderValue,
}

impl Default for HeadersLayer {
    fn default() -> Self {
        // Static values: a copy of the layer for each call counts no references.
        Self {
            user_agent: HeaderValue::from_static(concat!("genesys-cloud-rs/", env!("CARGO_PKG_VERSION"))),
            sdk: HeaderValue::from_static(concat!("rust-", env!("CARGO_PKG_VERSION"))),
        }
    }
}

/// The service of [`HeadersLayer`]: two of tower-http's header setters.
pub type Headers<S> =
    tower_http::set_header::SetRequestHeader<tower_http::set_header::SetRequestHeader<S, HeaderValue>, HeaderValue>;

impl<S> Layer<S> for HeadersLayer {
    type Service = Headers<S>;
    fn layer(&self, inner: S) -> Headers<S> {
        use tower_http::set_header::SetRequestHeaderLayer;
        let sdk = SetRequestHeaderLayer::if_not_present(HeaderName::from_static("purecloud-sdk"), self.sdk.clone());
        let agent = SetRequestHeaderLayer::if_not_present(header::USER_AGENT, self.user_agent.clone());
        agent.layer(sdk.layer(inner))
    }
}
