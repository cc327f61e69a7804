//! The body of every request and response inside the stack: the whole payload in memory, as
//! an [`http_body::Body`] so standard body-aware layers (tower-http's `TraceLayer`,
//! compression, limits) fit around and inside the SDK's own.

use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{Error, ErrorKind};
use http_body::{Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An error of any layer, as tower passes them around.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A whole body held in memory: one data frame, then the end. Every attempt of a call sends
/// a cheap copy of it (the bytes are shared), and every response arrives read to the end, so
/// a layer can look at both bodies without consuming them ([`Body::bytes`]).
#[derive(Clone, Debug, Default)]
pub struct Body(Bytes);

impl Body {
    /// A body of these bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self(Bytes::new())
    }

    /// The bytes (not yet read as a body: after polling to the end, empty).
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, taken.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.0.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut self.0)))))
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.len() as u64)
    }
}

/// A request of bytes as the stack carries it.
pub(crate) fn request_in(req: Request<Bytes>) -> Request<Body> {
    req.map(Body)
}

/// A response of the stack as bytes.
pub(crate) fn response_out(resp: Response<Body>) -> Response<Bytes> {
    resp.map(Body::into_bytes)
}

/// A body's data frames joined: the first as it is (most bodies are one frame), more copied
/// into one buffer.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    first: Option<Bytes>,
    joined: Option<genesys_cloud_core::bytes::BytesMut>,
}

impl Joined {
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        match (&self.first, &mut self.joined) {
            (_, Some(buf)) => buf.extend_from_slice(&data),
            (Some(one), None) => {
                let mut buf = genesys_cloud_core::bytes::BytesMut::with_capacity(one.len() + data.len());
                buf.extend_from_slice(one);
                buf.extend_from_slice(&data);
                self.joined = Some(buf);
            }
            (None, None) => self.first = Some(data),
        }
    }

    fn take(&mut self) -> Bytes {
        match (self.joined.take(), self.first.take()) {
            (Some(buf), _) => buf.freeze(),
            (None, Some(one)) => one,
            (None, None) => Bytes::new(),
        }
    }

    /// Reads `body` to its end, joining its data frames (trailers are dropped); a frame that
    /// fails is `failed`'s error.
    pub(crate) fn poll_to_end<B: http_body::Body>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
        failed: impl Fn(B::Error) -> Error,
    ) -> Poll<Result<Bytes, Error>> {
        use genesys_cloud_core::bytes::Buf;
        while let Some(frame) = std::task::ready!(body.as_mut().poll_frame(cx)) {
            if let Ok(mut data) = frame.map_err(&failed)?.into_data() {
                self.push(data.copy_to_bytes(data.remaining()));
            }
        }
        Poll::Ready(Ok(self.take()))
    }
}

pin_project_lite::pin_project! {
    /// A response of any body read to the end into a [`Body`]: at once when it is one
    /// already (the SDK's own layers), else frame by frame (a body a user layer wrapped, such
    /// as `TraceLayer`'s). The future of an application's layer in the stack, so that layer
    /// costs no allocation of its own.
    pub(crate) struct Collected<F, B> {
        #[pin]
        state: CollectState<F, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = CollectProj]
    enum CollectState<F, B> {
        Head { #[pin] pending: F },
        Body { parts: Option<genesys_cloud_core::http::response::Parts>, #[pin] body: B, joined: Joined },
    }
}

impl<F, B> Collected<F, B> {
    /// The response of `pending`, once its body is whole.
    pub(crate) fn new(pending: F) -> Self {
        Self { state: CollectState::Head { pending } }
    }
}

impl<F, E, B> std::future::Future for Collected<F, B>
where
    F: std::future::Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                CollectProj::Head { pending } => {
                    let (parts, mut body) = std::task::ready!(pending.poll(cx)).map_err(error_from_layer)?.into_parts();
                    if let Some(own) = (&mut body as &mut dyn std::any::Any).downcast_mut::<Body>() {
                        return Poll::Ready(Ok(Response::from_parts(parts, std::mem::take(own))));
                    }
                    this.state.set(CollectState::Body { parts: Some(parts), body, joined: Joined::default() });
                }
                CollectProj::Body { parts, body, joined } => {
                    let failed = |e: B::Error| sdk_error(e.into(), "the response body broke off");
                    let bytes = std::task::ready!(joined.poll_to_end(body, cx, failed))?;
                    let Some(parts) = parts.take() else {
                        return Poll::Ready(Err(Error::new(ErrorKind::Transport, "polled after completion")));
                    };
                    return Poll::Ready(Ok(Response::from_parts(parts, Body(bytes))));
                }
            }
        }
    }
}

/// A layer's error as the SDK's: the SDK's own as it was (it passed through the layer), tower's
/// timeout as [`ErrorKind::Timeout`], anything else as [`ErrorKind::Transport`] saying `what`,
/// with the layer's error as its source.
fn sdk_error(e: BoxError, what: &str) -> Error {
    match e.downcast::<Error>() {
        Ok(sdk) => *sdk,
        Err(e) if e.is::<tower::timeout::error::Elapsed>() => {
            Error::new(ErrorKind::Timeout, format!("a layer's timeout expired: {e}")).with_boxed_source(e)
        }
        Err(e) => Error::new(ErrorKind::Transport, format!("{what}: {e}")).with_boxed_source(e),
    }
}

/// Any layer's error as the SDK's: its own passes through, tower's timeout is a timeout,
/// anything else (a limiter that refused, a layer of the application's) is a
/// [`ErrorKind::Transport`] error naming it.
pub fn error_from_layer(e: impl Into<BoxError>) -> Error {
    sdk_error(e.into(), "a layer failed the call")
}
