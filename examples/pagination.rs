//! Listings as lazy streams: items across pages, or the pages themselves, with a page limit.
//! Runs on `genesys-cloud-mock` (45 routing queues), or the real cloud when credentials are set.
//!
//! `cargo run -p genesys-cloud-examples --example pagination`

use genesys_cloud::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, mock) = genesys_cloud_examples::connect().await?;
    let client = builder.build()?;

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
    let requests = mock.as_ref().map_or("?".to_owned(), |m| m.hits("/api/v2/routing/queues").to_string());
    println!("{} queues over {requests} requests: {:?} … {:?}", names.len(), names.first(), names.last());

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
