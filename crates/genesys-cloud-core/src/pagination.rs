//! Listings as lazy streams of pages or items.
//!
//! A [`Paginator`] fetches a page only when the stream is polled past the previous one, and
//! stops on the last page, on an empty page, or when the server repeats a page number,
//! cursor or `nextUri` (a loop guard). A `nextUri` that points to another host is refused, so
//! the bearer token only ever goes to the API host.

use crate::error::Error;
use crate::executor::{send_json, SharedExecutor};
use crate::meta::PaginationKind;
use crate::request::RequestParts;
use crate::Query;
use futures_core::Stream;
use futures_util::stream;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;

/// What a paginator reads from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// The page's number, when the listing says it.
    pub page_number: Option<i64>,
    /// How many pages there are, when the listing says it.
    pub page_count: Option<i64>,
    /// The URI of the next page, when the listing has one.
    pub next_uri: Option<String>,
    /// The cursor of the next page, when the listing has one.
    pub cursor: Option<String>,
    /// How many items the page holds.
    pub item_count: usize,
}

/// Which page to build a request for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The first page, as the builder's own parameters say.
    First,
    /// A page number.
    PageNumber(i64),
    /// A cursor value for the operation's cursor parameter.
    Cursor(String),
}

/// Builds the request of a page.
pub type BuildPage = Arc<dyn Fn(&PageRequest) -> Result<RequestParts, Error> + Send + Sync>;

/// A boxed stream.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

/// A stream of pages or items of a listing: a [`Stream`] of `Result<T, Error>`, with
/// [`try_next`](Self::try_next) of its own, so reading it needs no trait import.
#[must_use = "a listing stream fetches nothing until it is read"]
pub struct Listing<T>(BoxStream<Result<T, Error>>);

impl<T> Listing<T> {
    fn new(stream: impl Stream<Item = Result<T, Error>> + Send + 'static) -> Self {
        Self(Box::pin(stream))
    }

    /// A listing over any stream of items (the SDK's helpers that page by other means, such
    /// as a job's results).
    pub fn from_stream(stream: impl Stream<Item = Result<T, Error>> + Send + 'static) -> Self {
        Self::new(stream)
    }

    /// The next page or item, `Ok(None)` at the end, or the error that ended the listing.
    pub async fn try_next(&mut self) -> Result<Option<T>, Error> {
        std::future::poll_fn(|cx| self.0.as_mut().poll_next(cx)).await.transpose()
    }
}

impl<T> Stream for Listing<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> std::fmt::Debug for Listing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listing")
    }
}

/// A lazy walk over a listing operation. `P` is the page model, `I` its item.
pub struct Paginator<P, I> {
    executor: SharedExecutor,
    kind: PaginationKind,
    build: BuildPage,
    info: fn(&P) -> PageInfo,
    items: fn(P) -> Vec<I>,
    max_pages: Option<usize>,
    concurrency: usize,
}

impl<P, I> std::fmt::Debug for Paginator<P, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("kind", &self.kind)
            .field("max_pages", &self.max_pages)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

enum Next {
    Request(PageRequest),
    Uri(String),
    Done,
}

struct State {
    next: Next,
    seen: HashSet<String>,
    fetched: usize,
    page: i64,
}

impl<P: DeserializeOwned + Send + 'static, I: Send + 'static> Paginator<P, I> {
    /// A paginator; generated code makes these in `into_paginator()`.
    pub fn new(
        executor: SharedExecutor,
        kind: PaginationKind,
        build: BuildPage,
        info: fn(&P) -> PageInfo,
        items: fn(P) -> Vec<I>,
    ) -> Self {
        Self { executor, kind, build, info, items, max_pages: None, concurrency: 1 }
    }

    /// Stops after `n` pages at most.
    pub fn max_pages(mut self, n: usize) -> Self {
        self.max_pages = Some(n);
        self
    }

    /// Fetches up to `pages` pages at once (default 1): for a listing by page number that
    /// reports its `pageCount`, the pages after the first are requested `pages` at a time.
    /// Items still come in order, and at most `pages` pages are held at once. Other
    /// listings (cursors, `nextUri`) and listings without a page count are read one page at
    /// a time, as each page names the next.
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Builds and sends the request of one page.
    async fn fetch(&self, req: Next) -> Result<crate::Response<P>, Error> {
        let parts = match req {
            Next::Done => return Err(Error::build("no page to fetch")),
            Next::Request(req) => (self.build)(&req),
            Next::Uri(uri) => {
                (self.build)(&PageRequest::First).and_then(|first| follow(first, &uri, self.executor.api_host()))
            }
        }?;
        send_json(&*self.executor, parts).await
    }

    /// The first page, then the rest by number, `concurrency` at a time and in order.
    fn concurrent_pages(self) -> Listing<crate::Response<P>> {
        use futures_util::StreamExt;
        let this = Arc::new(self);
        let (pages, info_of) = (this.concurrency, this.info);
        let first = {
            let this = this.clone();
            async move { this.fetch(Next::Request(PageRequest::First)).await }
        };
        let all = stream::once(first).flat_map(move |first| -> BoxStream<Result<crate::Response<P>, Error>> {
            let page = match first {
                Ok(page) => page,
                Err(e) => return Box::pin(stream::iter([Err(e)])),
            };
            let info = (this.info)(&page.value);
            let current = info.page_number.unwrap_or(1);
            let mut last = match info.page_count {
                Some(count) if info.item_count > 0 => count,
                _ => current,
            };
            if let Some(max) = this.max_pages {
                last = last.min(current + max as i64 - 1);
            }
            let this = this.clone();
            let rest = stream::iter(current + 1..=last)
                .map(move |n| {
                    let this = this.clone();
                    async move { this.fetch(Next::Request(PageRequest::PageNumber(n))).await }
                })
                .buffered(pages);
            Box::pin(stream::once(std::future::ready(Ok(page))).chain(rest))
        });
        // An error or an empty page (the listing shrank meanwhile) ends it.
        Listing::new(all.scan(false, move |over, page| {
            if *over {
                return std::future::ready(None);
            }
            *over = page.as_ref().map_or(true, |p| info_of(&p.value).item_count == 0);
            std::future::ready(Some(page))
        }))
    }

    /// The pages, fetched one at a time as the stream is polled.
    pub fn pages(self) -> Listing<P> {
        Listing::new(futures_util::StreamExt::map(self.pages_with_response(), |page| page.map(|r| r.value)))
    }

    /// The pages with their status, headers, correlation id and attempt count
    /// ([`Response`](crate::Response)), fetched one at a time as the stream is polled.
    pub fn pages_with_response(self) -> Listing<crate::Response<P>> {
        if self.concurrency > 1 && self.kind == PaginationKind::PageNumber {
            return self.concurrent_pages();
        }
        let this = Arc::new(self);
        let state = State { next: Next::Request(PageRequest::First), seen: HashSet::new(), fetched: 0, page: 0 };
        Listing::new(stream::unfold(state, move |mut state| {
            let this = this.clone();
            async move {
                if this.max_pages.is_some_and(|m| state.fetched >= m) {
                    return None;
                }
                let next = std::mem::replace(&mut state.next, Next::Done);
                if matches!(next, Next::Done) {
                    return None;
                }
                let page = match this.fetch(next).await {
                    Ok(r) => r,
                    Err(e) => return Some((Err(e), state)),
                };
                state.fetched += 1;
                state.page += 1;
                let info = (this.info)(&page.value);
                state.next = this.next_after(&info, &mut state);
                Some((Ok(page), state))
            }
        }))
    }

    /// The items of every page, in order.
    pub fn items(self) -> Listing<I> {
        let items = self.items;
        Listing::new(Items { pages: self.pages(), items, current: Vec::new().into_iter() })
    }

    fn next_after(&self, info: &PageInfo, state: &mut State) -> Next {
        match self.kind {
            PaginationKind::PageNumber => {
                let current = info.page_number.unwrap_or(state.page);
                if info.item_count == 0
                    || info.page_count.is_some_and(|c| current >= c)
                    || !state.seen.insert(format!("page:{current}"))
                {
                    Next::Done
                } else {
                    state.page = current;
                    Next::Request(PageRequest::PageNumber(current + 1))
                }
            }
            PaginationKind::NextUri => match info.next_uri.as_deref().filter(|u| !u.is_empty()) {
                Some(uri) if state.seen.insert(format!("uri:{uri}")) => Next::Uri(uri.to_owned()),
                _ => Next::Done,
            },
            PaginationKind::Cursor => match info.cursor.as_deref().filter(|c| !c.is_empty()) {
                Some(c) if info.item_count > 0 && state.seen.insert(format!("cursor:{c}")) => {
                    Next::Request(PageRequest::Cursor(c.to_owned()))
                }
                _ => Next::Done,
            },
        }
    }
}

/// The items of a stream of pages: each page's items are handed out one by one straight from
/// the page's vector (items can be kilobytes each; they are moved once, not collected again).
struct Items<P, I> {
    pages: Listing<P>,
    items: fn(P) -> Vec<I>,
    current: std::vec::IntoIter<I>,
}

// Nothing in `Items` is pinned: the page stream is boxed and the items are moved out by value.
impl<P, I> Unpin for Items<P, I> {}

impl<P, I> Stream for Items<P, I> {
    type Item = Result<I, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.current.next() {
                return std::task::Poll::Ready(Some(Ok(item)));
            }
            match std::task::ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.current = (this.items)(page).into_iter(),
                Some(Err(e)) => return std::task::Poll::Ready(Some(Err(e))),
                None => return std::task::Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.current.len(), None)
    }
}

/// The parts of the page at `next_uri`: the first page's parts with path and query taken from
/// the URI. A relative URI is followed; an absolute one only when its host is `api_host`.
pub fn follow(first: RequestParts, next_uri: &str, api_host: Option<String>) -> Result<RequestParts, Error> {
    let uri: http::Uri = next_uri
        .parse()
        .map_err(|_| Error::build(format!("the listing's nextUri is not a valid URI: {next_uri:?}")))?;
    if let Some(host) = uri.host() {
        if api_host.as_deref().map(|h| h.eq_ignore_ascii_case(host)) != Some(true) {
            return Err(Error::build(format!(
                "refusing to follow nextUri to another host ({host}): the access token is only sent to the API host"
            )));
        }
    }
    let mut parts = first;
    parts.path = uri.path().to_owned();
    parts.query = Query::from_encoded(uri.query().unwrap_or_default());
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{BoxFuture, Executor};
    use crate::meta::OperationMeta;
    use bytes::Bytes;
    use futures_util::TryStreamExt;
    use serde::Deserialize;
    use std::sync::Mutex;

    static META: OperationMeta = OperationMeta {
        operation_id: "getThings",
        tags: &["Things"],
        method: http::Method::GET,
        path_template: "/api/v2/things",
        idempotent: true,
        pagination: Some(PaginationKind::PageNumber),
        deprecated: false,
        preview: false,
        needs_auth: true,
        accept: "application/json",
    };

    /// Answers with the page bodies in order and records the request URIs.
    struct Pages {
        bodies: Mutex<Vec<String>>,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Executor for Pages {
        fn execute(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
            self.seen.lock().unwrap().push(request.uri().to_string());
            let body = {
                let mut b = self.bodies.lock().unwrap();
                if b.is_empty() {
                    "{}".to_owned()
                } else {
                    b.remove(0)
                }
            };
            Box::pin(async move { Ok(http::Response::new(Bytes::from(body))) })
        }
        fn api_host(&self) -> Option<String> {
            Some("api.example.com".into())
        }
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Listing {
        entities: Vec<u32>,
        page_number: Option<i64>,
        page_count: Option<i64>,
        next_uri: Option<String>,
        cursor: Option<String>,
    }

    fn info(l: &Listing) -> PageInfo {
        PageInfo {
            page_number: l.page_number,
            page_count: l.page_count,
            next_uri: l.next_uri.clone(),
            cursor: l.cursor.clone(),
            item_count: l.entities.len(),
        }
    }

    fn run(kind: PaginationKind, bodies: &[&str], max: Option<usize>) -> (Result<Vec<u32>, Error>, Vec<String>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let exec =
            Arc::new(Pages { bodies: Mutex::new(bodies.iter().map(|s| s.to_string()).collect()), seen: seen.clone() });
        let build: BuildPage = Arc::new(|req| {
            let mut p = RequestParts::new(&META, "/api/v2/things".into());
            p.query.push("pageSize", "2");
            match req {
                PageRequest::First => {}
                PageRequest::PageNumber(n) => {
                    p.query.push("pageNumber", &n.to_string());
                }
                PageRequest::Cursor(c) => {
                    p.query.push("after", c);
                }
            }
            Ok(p)
        });
        let mut pager = Paginator::<Listing, u32>::new(exec, kind, build, info, |l| l.entities);
        if let Some(m) = max {
            pager = pager.max_pages(m);
        }
        let items = futures_executor::block_on(pager.items().try_collect::<Vec<_>>());
        let uris = seen.lock().unwrap().clone();
        (items, uris)
    }

    #[test]
    fn page_numbers_until_the_page_count() {
        let (items, uris) = run(
            PaginationKind::PageNumber,
            &[
                r#"{"entities":[1,2],"pageNumber":1,"pageCount":3}"#,
                r#"{"entities":[3,4],"pageNumber":2,"pageCount":3}"#,
                r#"{"entities":[5],"pageNumber":3,"pageCount":3}"#,
            ],
            None,
        );
        assert_eq!(items.unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            uris,
            vec![
                "/api/v2/things?pageSize=2",
                "/api/v2/things?pageSize=2&pageNumber=2",
                "/api/v2/things?pageSize=2&pageNumber=3"
            ]
        );
    }

    #[test]
    fn items_arrive_one_by_one_then_the_error_of_a_broken_page() {
        let exec = Arc::new(Pages {
            bodies: Mutex::new(vec![r#"{"entities":[1,2],"pageNumber":1,"pageCount":3}"#.into(), "{not json".into()]),
            seen: Arc::default(),
        });
        let build: BuildPage = Arc::new(|req| {
            let mut p = RequestParts::new(&META, "/api/v2/things".into());
            if let PageRequest::PageNumber(n) = req {
                p.query.push("pageNumber", &n.to_string());
            }
            Ok(p)
        });
        let mut items =
            Paginator::<Listing, u32>::new(exec, PaginationKind::PageNumber, build, info, |l| l.entities).items();
        use futures_util::StreamExt as _;
        assert_eq!(items.size_hint().0, 0);
        let first = futures_executor::block_on(items.next()).unwrap().unwrap();
        assert_eq!((first, items.size_hint().0), (1, 1), "the rest of the page is ready");
        let all: Vec<Result<u32, Error>> = futures_executor::block_on(items.collect());
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].as_ref().unwrap(), &2);
        assert_eq!(all[1].as_ref().unwrap_err().kind(), crate::ErrorKind::Decode);
    }

    #[test]
    fn stops_on_an_empty_or_repeated_page() {
        let (items, uris) = run(
            PaginationKind::PageNumber,
            &[r#"{"entities":[1],"pageNumber":1}"#, r#"{"entities":[],"pageNumber":2}"#],
            None,
        );
        assert_eq!(items.unwrap(), vec![1]);
        assert_eq!(uris.len(), 2);
        // A server that keeps answering page 1 is not followed forever.
        let (items, uris) = run(
            PaginationKind::PageNumber,
            &[
                r#"{"entities":[1],"pageNumber":1}"#,
                r#"{"entities":[1],"pageNumber":1}"#,
                r#"{"entities":[1],"pageNumber":1}"#,
            ],
            None,
        );
        assert_eq!(items.unwrap(), vec![1, 1]);
        assert_eq!(uris.len(), 2);
    }

    #[test]
    fn is_lazy_and_honours_max_pages() {
        let (items, uris) = run(
            PaginationKind::PageNumber,
            &[r#"{"entities":[1],"pageCount":9}"#, r#"{"entities":[2],"pageCount":9}"#],
            Some(1),
        );
        assert_eq!(items.unwrap(), vec![1]);
        assert_eq!(uris.len(), 1, "no request beyond what was consumed");
    }

    #[test]
    fn follows_next_uri_on_the_api_host_only() {
        let (items, uris) = run(
            PaginationKind::NextUri,
            &[
                r#"{"entities":[1],"nextUri":"/api/v2/things?cursor=abc&pageSize=2"}"#,
                r#"{"entities":[2],"nextUri":"https://api.example.com/api/v2/things?cursor=def"}"#,
                r#"{"entities":[3]}"#,
            ],
            None,
        );
        assert_eq!(items.unwrap(), vec![1, 2, 3]);
        assert_eq!(uris[1], "/api/v2/things?cursor=abc&pageSize=2");
        assert_eq!(uris[2], "/api/v2/things?cursor=def");
        let (items, uris) =
            run(PaginationKind::NextUri, &[r#"{"entities":[1],"nextUri":"https://evil.example.net/steal"}"#], None);
        let e = items.unwrap_err();
        assert!(e.to_string().contains("refusing to follow nextUri"), "{e}");
        assert_eq!(uris.len(), 1, "nothing was sent to the other host");
    }

    #[test]
    fn cursors_until_absent_or_repeated() {
        let (items, uris) = run(
            PaginationKind::Cursor,
            &[
                r#"{"entities":[1],"cursor":"c1"}"#,
                r#"{"entities":[2],"cursor":"c2"}"#,
                r#"{"entities":[3],"cursor":"c2"}"#,
            ],
            None,
        );
        assert_eq!(items.unwrap(), vec![1, 2, 3]);
        assert_eq!(
            uris,
            vec![
                "/api/v2/things?pageSize=2",
                "/api/v2/things?pageSize=2&after=c1",
                "/api/v2/things?pageSize=2&after=c2"
            ]
        );
    }

    #[test]
    fn an_error_ends_the_stream_with_the_error() {
        let (items, _) = run(PaginationKind::PageNumber, &[r#"{"entities":"not a list"}"#], None);
        assert_eq!(items.unwrap_err().kind(), crate::ErrorKind::Decode);
    }

    /// Answers page `n` of a listing of `pages` pages with items `10n` and `10n + 1`, and
    /// records how many requests were in flight at most.
    struct Numbered {
        pages: i64,
        in_flight: Arc<std::sync::atomic::AtomicUsize>,
        most: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Executor for Numbered {
        fn execute(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
            use std::sync::atomic::Ordering;
            let n: i64 = request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("pageNumber=")))
                .map_or(1, |v| v.parse().unwrap());
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let in_flight = self.in_flight.clone();
            let body =
                format!(r#"{{"entities":[{},{}],"pageNumber":{n},"pageCount":{}}}"#, 10 * n, 10 * n + 1, self.pages);
            Box::pin(async move {
                // Later pages answer first: order must come from the paginator.
                for _ in 0..(20 - n) {
                    yield_once().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(http::Response::new(Bytes::from(body)))
            })
        }
        fn api_host(&self) -> Option<String> {
            Some("api.example.com".into())
        }
    }

    /// Yields once to the executor.
    async fn yield_once() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    }

    #[test]
    fn concurrent_pages_come_in_order_with_at_most_k_in_flight() {
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let exec = Arc::new(Numbered { pages: 7, in_flight: Arc::default(), most: most.clone() });
        let build: BuildPage = Arc::new(|req| {
            let mut p = RequestParts::new(&META, "/api/v2/things".into());
            if let PageRequest::PageNumber(n) = req {
                p.query.push("pageNumber", &n.to_string());
            }
            Ok(p)
        });
        let pager = Paginator::<Listing, u32>::new(exec, PaginationKind::PageNumber, build, info, |l| l.entities);
        let items = futures_executor::block_on(pager.concurrency(3).items().try_collect::<Vec<_>>()).unwrap();
        let expected: Vec<u32> = (1..=7).flat_map(|n| [10 * n, 10 * n + 1]).collect();
        assert_eq!(items, expected);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 3, "three pages in flight, never more");
    }
}
