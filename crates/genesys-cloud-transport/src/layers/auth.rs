//! The bearer token, and one replay after a 401.

use super::call_timeout::until_deadline;
use super::context::{clone_request, deadline, meta, CallContext, Deadline};
use super::service::SdkService;
use crate::body::Body;
use genesys_cloud_auth::TokenProvider;
use genesys_cloud_core::http::uri::{Authority, Scheme};
use genesys_cloud_core::http::{header, HeaderValue, Request, Response, StatusCode};
use genesys_cloud_core::{BoxFuture, Error, ErrorKind};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// In a response's extensions: the [`AuthLayer`] answered a 401 by dropping the token it
/// rejected and taking a fresh one, so the request should be sent once more. The
/// [`RetryLayer`](crate::RetryLayer) above it does that at once (the replay is one more attempt, seen by every
/// attempt layer; [`CallContext::reauthorized`] marks it), so a 401 to the fresh token stands;
/// an auth layer with no retry layer above it replays on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reauthorize;

/// Adds the bearer token; on a 401 drops that token, takes a fresh one and replays once:
/// through the [`RetryLayer`](crate::RetryLayer) above it when there is one (the replay is one more attempt, seen
/// by every attempt layer; see [`Reauthorize`]), else on its own.
///
/// The token goes only where the client's calls go: to a request whose URI is a path (the
/// [`BaseUrlLayer`](crate::BaseUrlLayer) below puts it on the API host), or an absolute URI on one of the hosts
/// given to [`to_hosts`](Self::to_hosts) (the transport gives its API and login hosts, a
/// gateway's included). A request for any other host (a `selfUri` elsewhere, a download
/// link) is sent without it.
#[derive(Clone)]
pub struct AuthLayer {
    bearer: Bearer,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthLayer")
    }
}

impl AuthLayer {
    /// Tokens from `provider`, for requests whose URI is a path.
    pub fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self { bearer: Bearer::new(provider, Vec::new()) }
    }

    /// Also sends the token with absolute URIs on these hosts (scheme, host and port alike).
    pub fn to_hosts<'a>(self, hosts: impl IntoIterator<Item = &'a crate::region::Base>) -> Self {
        let hosts = hosts.into_iter().map(|b| (b.scheme().clone(), b.authority().clone())).collect();
        Self { bearer: Bearer::new(self.bearer.provider.clone(), hosts) }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, bearer: self.bearer.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    bearer: Bearer,
}

impl<S> std::fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

impl<S: SdkService> Service<Request<Body>> for Auth<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Authorized<S, S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let state = if !meta(&req).is_none_or(|m| m.needs_auth) || !self.bearer.goes_to(&req) {
            AuthState::Sending { pending: self.inner.call(req), check: None }
        } else if let Some(token) = self.bearer.provider.ready() {
            // The common case: a token is at hand.
            match self.bearer.set(&mut req, &token) {
                Ok(()) => {
                    let check = Check::of(&self.bearer, token, &req, &self.inner);
                    AuthState::Sending { pending: self.inner.call(req), check }
                }
                Err(e) => AuthState::Failed { error: Some(e) },
            }
        } else {
            // The token is being fetched: the ready service waits with the request; a clone
            // stays for the next call.
            let clone = self.inner.clone();
            let service = std::mem::replace(&mut self.inner, clone);
            let bearer = self.bearer.clone();
            AuthState::Boxed { pending: Box::pin(async move { bearer.authorize(service, req).await }) }
        };
        Authorized { state }
    }
}

/// What an answer of 401 to an authorized attempt needs.
struct Check<S> {
    bearer: Bearer,
    token: genesys_cloud_auth::Secret,
    // The call's deadline: the fresh token is not waited for past it.
    deadline: Option<Deadline>,
    // Boxed: it is there only without a retry layer above, and the future stays small.
    replay: Option<Box<(Request<Body>, S)>>,
}

impl<S: SdkService> Check<S> {
    /// What a 401 to `req` (sent with `token`, through a clone of `service`) will need; none
    /// when `req` is itself the replay, whose 401 stands. The replay is this layer's to send
    /// (a copy of the request and a service) only without a retry layer above: with one, the
    /// request has its attempt number and the replay is the retry layer's ([`Reauthorize`]).
    fn of(bearer: &Bearer, token: genesys_cloud_auth::Secret, req: &Request<Body>, service: &S) -> Option<Self> {
        let context = CallContext::of(req);
        if context.is_some_and(|c| c.reauthorized) {
            return None;
        }
        let attempt = context.map_or(0, |c| c.attempt);
        let replay = (attempt == 0).then(|| Box::new((clone_request(req), service.clone())));
        Some(Self { bearer: bearer.clone(), token, deadline: context.and_then(|c| c.deadline), replay })
    }

    /// After the 401 `response`: drops the token it rejected and takes a fresh one. Then
    /// sends the replay once with the fresh token, or (with no replay here) marks the 401
    /// [`Reauthorize`]. When the provider cannot mint another token, the 401 stands.
    async fn after_401(self, mut response: Response<Body>) -> Result<Response<Body>, Error> {
        let Self { bearer, token, deadline, replay } = self;
        bearer.provider.invalidate(&token);
        let fresh = until_deadline(deadline, bearer.provider.token()).await?;
        if fresh == token {
            return Ok(response);
        }
        match replay.map(|r| *r) {
            Some((mut req, mut service)) => {
                bearer.set(&mut req, &fresh)?;
                send_when_ready(&mut service, req).await
            }
            None => {
                response.extensions_mut().insert(Reauthorize);
                Ok(response)
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Auth`]: the attempt, and after a 401 the fresh token (and the replay,
    /// when this layer sends it).
    pub struct Authorized<S, F> {
        #[pin]
        state: AuthState<S, F>,
    }
}

pin_project_lite::pin_project! {
    #[project = AuthStateProj]
    enum AuthState<S, F> {
        Sending { #[pin] pending: F, check: Option<Check<S>> },
        // The rare paths: waiting for a token, or answering a 401.
        Boxed { pending: BoxFuture<'static, Result<Response<Body>, Error>> },
        Failed { error: Option<Error> },
    }
}

impl<S: SdkService> std::future::Future for Authorized<S, S::Future> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                AuthStateProj::Sending { pending, check } => {
                    let result = std::task::ready!(pending.poll(cx));
                    match (result, check.take()) {
                        (Ok(response), Some(check)) if response.status() == StatusCode::UNAUTHORIZED => {
                            this.state.set(AuthState::Boxed { pending: Box::pin(check.after_401(response)) });
                        }
                        (other, _) => return Poll::Ready(other),
                    }
                }
                AuthStateProj::Boxed { pending } => return pending.as_mut().poll(cx),
                AuthStateProj::Failed { error } => {
                    let e = error.take().unwrap_or_else(|| Error::new(ErrorKind::Auth, "polled after completion"));
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// The token provider and the header of the last token, shared (a copy for each attempt is
/// one reference count).
#[derive(Clone)]
struct Bearer(Arc<BearerState>);

struct BearerState {
    provider: Arc<dyn TokenProvider>,
    /// The hosts an absolute URI may name and still get the token.
    hosts: Vec<(Scheme, Authority)>,
    /// The header of the last token, so each call does not format and validate it again.
    last: arc_swap::ArcSwapOption<(genesys_cloud_auth::Secret, HeaderValue)>,
}

impl std::ops::Deref for Bearer {
    type Target = BearerState;
    fn deref(&self) -> &BearerState {
        &self.0
    }
}

impl Bearer {
    fn new(provider: Arc<dyn TokenProvider>, hosts: Vec<(Scheme, Authority)>) -> Self {
        Self(Arc::new(BearerState { provider, hosts, last: Default::default() }))
    }

    /// Whether `req` may carry the token: its URI is a path, or names one of the hosts.
    fn goes_to(&self, req: &Request<Body>) -> bool {
        let uri = req.uri();
        match (uri.scheme(), uri.authority()) {
            (None, None) => true,
            (Some(scheme), Some(authority)) => self.hosts.iter().any(|(s, a)| s == scheme && a == authority),
            _ => false,
        }
    }

    /// A token valid now: the provider's ready one, else its (possibly refreshing) future.
    async fn token(&self) -> Result<genesys_cloud_auth::Secret, Error> {
        match self.provider.ready() {
            Some(token) => Ok(token),
            None => self.provider.token().await,
        }
    }

    /// Puts `token` in `req`'s `Authorization` header (marked sensitive).
    fn set(&self, req: &mut Request<Body>, token: &genesys_cloud_auth::Secret) -> Result<(), Error> {
        let value = match &*self.last.load() {
            Some(last) if last.0 == *token => last.1.clone(),
            _ => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| Error::new(ErrorKind::Auth, "the access token is not a valid header value"))?;
                value.set_sensitive(true);
                self.last.store(Some(Arc::new((token.clone(), value.clone()))));
                value
            }
        };
        req.headers_mut().insert(header::AUTHORIZATION, value);
        Ok(())
    }

    /// Waits for a token, then sends `req` through `service` (ready) with it; after a 401,
    /// as [`Check::after_401`].
    async fn authorize<S: SdkService>(&self, mut service: S, mut req: Request<Body>) -> Result<Response<Body>, Error> {
        let token = until_deadline(deadline(&req), self.token()).await?;
        self.set(&mut req, &token)?;
        let check = Check::of(self, token, &req, &service);
        let response = service.call(req).await?;
        match check {
            Some(check) if response.status() == StatusCode::UNAUTHORIZED => check.after_401(response).await,
            _ => Ok(response),
        }
    }
}

/// Sends one request through `service` once it is ready (the same service may send again).
async fn send_when_ready<S: SdkService>(service: &mut S, req: Request<Body>) -> Result<Response<Body>, Error> {
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(req).await
}
