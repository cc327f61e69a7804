//! Listings as lazy streams: items across pages, or the pages themselves, with a page limit.
//! Runs on `genesys-cloud-mock` (45 routing queues).
//!
//! `cargo run --example pagination`

use futures_util::{StreamExt as _, TryStreamExt as _};
use genesys_cloud::prelude::*;
use genesys_cloud::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let client = Client::builder().base_url(&mock.base_url())?.client_credentials("id", "secret").build()?;

    // Items: pages are fetched as the loop consumes them.
    let names: Vec<String> = client
        .routing()
        .get_routing_queues()
        .page_size(10)
        .into_paginator()
        .items()
        .map_ok(|q| q.name.unwrap_or_default())
        .try_collect()
        .await?;
    println!(
        "{} queues over {} requests: {} … {}",
        names.len(),
        mock.hits("/api/v2/routing/queues"),
        names[0],
        names[names.len() - 1]
    );

    // Pages, at most two: nothing is fetched past what is consumed.
    let mut pages = client.routing().get_routing_queues().page_size(20).into_paginator().max_pages(2).pages();
    while let Some(page) = pages.next().await {
        let page = page?;
        println!(
            "page {:?} of {:?}: {} queues",
            page.page_number,
            page.page_count,
            page.entities.map_or(0, |e| e.len())
        );
    }
    Ok(())
}
