//! The object-safe seam between generated operations and the transport.

use crate::error::{decode_body, Error};
use crate::request::{RequestParts, Response};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends requests. The transport implements it over its tower stack; tests implement it
/// in-process. Implementations return every response they receive, success or not: turning
/// statuses into errors is [`execute`]'s job.
pub trait Executor: Send + Sync + 'static {
    /// Sends one request (origin-form URI; the executor adds scheme and host).
    fn execute(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>>;

    /// Sends the request of an operation. The default builds the `http::Request` (operation
    /// metadata and call options in its extensions, [`RequestParts::into_request`]) and calls
    /// [`execute`](Self::execute); a transport that reads the metadata itself can take them
    /// apart ([`RequestParts::into_wire`]) and skip the extensions.
    fn execute_parts(&self, parts: RequestParts) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
        execute_as_request(self, parts)
    }

    /// The API host this executor talks to (`api.mypurecloud.com`), used to refuse following
    /// a `nextUri` to any other host. `None` refuses every absolute `nextUri`.
    fn api_host(&self) -> Option<String> {
        None
    }
}

/// [`Executor::execute_parts`]'s default, for implementations that take it on some paths only:
/// builds the `http::Request` ([`RequestParts::into_request`]) and calls
/// [`execute`](Executor::execute).
pub fn execute_as_request<E: Executor + ?Sized>(
    executor: &E,
    parts: RequestParts,
) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
    match parts.into_request() {
        Ok(request) => executor.execute(request),
        Err(e) => Box::pin(std::future::ready(Err(e))),
    }
}

/// How many attempts a response took; a retrying transport puts it in the response's
/// extensions when there was more than one, and [`execute`] copies it into the error of a
/// failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// A shared executor, as operation builders hold it.
pub type SharedExecutor = Arc<dyn Executor>;

/// Sends `parts` and returns the raw success response; a non-2xx status becomes an
/// [`ErrorKind::Api`](crate::ErrorKind::Api) error with the parsed error body. Not generic: every operation shares it.
pub async fn execute(executor: &dyn Executor, parts: RequestParts) -> Result<http::Response<Bytes>, Error> {
    let operation = parts.meta.operation_id;
    let response = executor.execute_parts(parts).await.map_err(|e| e.with_operation(operation))?;
    if response.status().is_success() {
        Ok(response)
    } else {
        let (head, body) = response.into_parts();
        let attempts = attempts_of(&head);
        Err(Error::from_response(head.status, head.headers, &body).with_operation(operation).with_attempts(attempts))
    }
}

/// Sends `parts` and decodes the body as `M` says (JSON, ignored, or text); the decode is
/// the only generic step.
pub async fn send_as<T, M: DecodeAs<T>>(executor: &dyn Executor, parts: RequestParts) -> Result<Response<T>, Error> {
    let operation = parts.meta.operation_id;
    let (head, body) = execute(executor, parts).await?.into_parts();
    let value = decode_response::<T, M>(operation, &head, &body)?;
    let attempts = attempts_of(&head);
    Ok(Response { status: head.status, headers: head.headers, value, attempts })
}

/// Sends `parts` and decodes the JSON body into `T`.
pub async fn send_json<T: serde::de::DeserializeOwned>(
    executor: &dyn Executor,
    parts: RequestParts,
) -> Result<Response<T>, Error> {
    send_as::<T, Json>(executor, parts).await
}

/// How a [`Call`] turns a success response into its output.
///
/// Generated structs can be many kilobytes (every field of the spec); the API crate's decoder
/// for them builds the value in place and returns it, so it is moved once into the caller's
/// hands rather than copied at each step of a generic decode.
pub trait DecodeAs<T>: Send + 'static {
    /// Decodes the body.
    fn decode(status: http::StatusCode, headers: &http::HeaderMap, body: &Bytes) -> Result<T, Error>;
}

/// Decode the body as JSON into the model.
#[derive(Debug)]
pub enum Json {}
/// Ignore the body (operations without a response schema).
#[derive(Debug)]
pub enum Empty {}
/// Take the body as text (a JSON string is unquoted).
#[derive(Debug)]
pub enum Text {}

impl<T: serde::de::DeserializeOwned> DecodeAs<T> for Json {
    fn decode(status: http::StatusCode, headers: &http::HeaderMap, body: &Bytes) -> Result<T, Error> {
        decode_body::<T>(status, headers, body)
    }
}

impl DecodeAs<()> for Empty {
    fn decode(_: http::StatusCode, _: &http::HeaderMap, _: &Bytes) -> Result<(), Error> {
        Ok(())
    }
}

impl DecodeAs<String> for Text {
    fn decode(_: http::StatusCode, _: &http::HeaderMap, body: &Bytes) -> Result<String, Error> {
        Ok(serde_json::from_slice::<String>(body).unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned()))
    }
}

enum CallState {
    Failed(Option<Error>),
    Pending(&'static str, BoxFuture<'static, Result<http::Response<Bytes>, Error>>),
}

/// The future of an operation's `send()`: the request is built and sent by shared,
/// non-generic code; only the final decode is generic, and it is compiled only where the
/// future is awaited.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<T, M = Json> {
    state: CallState,
    with_response: std::marker::PhantomData<fn() -> (T, M)>,
}

/// Like [`Call`], resolving to a [`Response`] with status and headers.
#[must_use = "a call does nothing until it is awaited"]
pub struct CallWithResponse<T, M = Json>(Call<T, M>);

impl<T, M> Call<T, M> {
    /// Starts sending `parts` (or fails with the build error) through `executor`.
    pub fn new(executor: &SharedExecutor, parts: Result<RequestParts, Error>) -> Self {
        let state = match parts {
            Err(e) => CallState::Failed(Some(e)),
            Ok(parts) => {
                let operation = parts.meta.operation_id;
                let executor = executor.clone();
                CallState::Pending(operation, Box::pin(async move { execute(&*executor, parts).await }))
            }
        };
        Self { state, with_response: std::marker::PhantomData }
    }

    /// Resolve to a [`Response`] (status, headers, correlation id) instead of the bare value.
    pub fn with_response(self) -> CallWithResponse<T, M> {
        CallWithResponse(self)
    }

    fn poll_response(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(&'static str, http::Response<Bytes>), Error>> {
        match &mut self.state {
            CallState::Failed(e) => std::task::Poll::Ready(Err(e
                .take()
                .unwrap_or_else(|| Error::build("the call was polled after it finished")))),
            CallState::Pending(op, fut) => fut.as_mut().poll(cx).map(|r| r.map(|resp| (*op, resp))),
        }
    }
}

impl<T, M> std::fmt::Debug for Call<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            CallState::Failed(e) => f.debug_tuple("Call::Failed").field(e).finish(),
            CallState::Pending(op, _) => f.debug_tuple("Call::Pending").field(op).finish(),
        }
    }
}

/// How many attempts a response took (1 when the executor does not say).
fn attempts_of(head: &http::response::Parts) -> u32 {
    head.extensions.get::<Attempts>().map_or(1, |a| a.0)
}

/// Decodes a success response as `M` says, naming the operation in a failure.
fn decode_response<T, M: DecodeAs<T>>(
    operation: &'static str,
    head: &http::response::Parts,
    body: &Bytes,
) -> Result<T, Error> {
    M::decode(head.status, &head.headers, body)
        .map_err(|e| e.with_operation(operation).with_attempts(attempts_of(head)))
}

impl<T, M: DecodeAs<T>> Future for Call<T, M> {
    type Output = Result<T, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        // `Call` holds only boxed futures and errors, so it is `Unpin`.
        let this = self.get_mut();
        let (op, response) = match std::task::ready!(this.poll_response(cx)) {
            Ok(r) => r,
            Err(e) => return std::task::Poll::Ready(Err(e)),
        };
        let (head, body) = response.into_parts();
        std::task::Poll::Ready(decode_response::<T, M>(op, &head, &body))
    }
}

impl<T, M: DecodeAs<T>> Future for CallWithResponse<T, M> {
    type Output = Result<Response<T>, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.get_mut();
        let (op, response) = match std::task::ready!(this.0.poll_response(cx)) {
            Ok(r) => r,
            Err(e) => return std::task::Poll::Ready(Err(e)),
        };
        let (head, body) = response.into_parts();
        let attempts = attempts_of(&head);
        std::task::Poll::Ready(decode_response::<T, M>(op, &head, &body).map(|value| Response {
            status: head.status,
            headers: head.headers,
            value,
            attempts,
        }))
    }
}

impl<T, M> std::fmt::Debug for CallWithResponse<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
