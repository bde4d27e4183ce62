//! The `switchboard-hub` binary as scripts and IT use it: started with its documented options,
//! ready when it prints its address, serving the documented routes, and stopped by a signal.

use std::path::Path;

use serde_json::Value;
use switchboard_tests::hub::Hub;

fn start_hub(data: &Path, customers: usize) -> Hub {
    let program = Path::new(env!("CARGO_BIN_EXE_switchboard-hub"));
    Hub::start(program, data, customers).expect("the hub starts and announces its address")
}

/// Signs in as the demo agent and returns the bearer token.
fn login(hub: &str) -> String {
    let answer: Value = reqwest::blocking::Client::new()
        .post(format!("{hub}/v1/auth/login"))
        .json(&serde_json::json!({
            "login": switchboard_hub::DEMO_LOGIN,
            "password": switchboard_hub::DEMO_PASSWORD,
        }))
        .send()
        .and_then(|response| response.error_for_status())
        .and_then(|response| response.json())
        .expect("the demo login works");
    answer["token"]
        .as_str()
        .expect("a login answers with a token")
        .to_owned()
}

fn get(token: &str, url: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .expect("the hub answers on loopback");
    let status = response.status().as_u16();
    (status, response.json().expect("every hub answer is JSON"))
}

#[test]
fn a_demo_hub_serves_its_customers_page_by_page() {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let hub = start_hub(data.path(), 37);
    let token = login(&hub.url);

    let (status, health) = get(&token, &format!("{}/v1/health", hub.url));
    assert_eq!(status, 200, "a fresh hub is healthy: {health}");
    assert_eq!(health["demo"], true, "the hub says it runs in demo mode");

    let mut names = Vec::new();
    let mut next = format!("{}/v1/customers?limit=10", hub.url);
    loop {
        let (status, page) = get(&token, &next);
        assert_eq!(status, 200, "every page is served: {page}");
        let items = page["items"].as_array().expect("a page has items").clone();
        assert!(items.len() <= 10, "a page never exceeds its limit");
        names.extend(
            items
                .iter()
                .map(|c| c["display_name"].as_str().unwrap_or("").to_owned()),
        );
        match page["next"].as_str() {
            Some(cursor) => next = format!("{}/v1/customers?limit=10&cursor={cursor}", hub.url),
            None => break,
        }
    }
    assert_eq!(
        names.len(),
        37,
        "paging visits every seeded customer exactly once"
    );
    let mut sorted = names.clone();
    sorted.sort_by_key(|name| name.to_lowercase());
    assert_eq!(names, sorted, "customers come in name order across pages");

    let (_, first_page) = get(&token, &format!("{}/v1/customers?limit=1", hub.url));
    let id = first_page["items"][0]["id"]
        .as_str()
        .expect("a customer has an id")
        .to_owned();
    let (status, customer) = get(&token, &format!("{}/v1/customers/{id}", hub.url));
    assert_eq!(status, 200, "a listed customer can be fetched");
    assert!(
        customer["identities"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty()),
        "a demo customer has identities: {customer}"
    );

    let (status, missing) = get(&token, &format!("{}/v1/customers/cus_nobody", hub.url));
    assert_eq!(status, 404, "an unknown customer is not found");
    assert_eq!(
        missing["code"], "not_found",
        "the error carries a stable code"
    );

    let (status, invalid) = get(&token, &format!("{}/v1/customers?limit=0", hub.url));
    assert_eq!(status, 400, "a limit of zero is refused");
    assert!(
        invalid["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("limit")),
        "the message names the field: {invalid}"
    );
}

#[test]
fn the_openapi_document_describes_every_route() {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let hub = start_hub(data.path(), 1);
    let token = login(&hub.url);

    let (status, document) = get(&token, &format!("{}/v1/openapi.json", hub.url));
    assert_eq!(status, 200, "the document is served");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "OpenAPI 3"
    );
    for path in [
        "/v1/health",
        "/v1/customers",
        "/v1/customers/{id}",
        "/v1/changes",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} must be documented"
        );
    }
    assert!(
        document["components"]["schemas"]["Customer"].is_object(),
        "the Customer schema is part of the document"
    );
}

#[test]
fn a_restarted_demo_hub_keeps_its_data_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let first_id = {
        let hub = start_hub(data.path(), 5);
        let token = login(&hub.url);
        let (_, page) = get(&token, &format!("{}/v1/customers?limit=1", hub.url));
        page["items"][0]["id"]
            .as_str()
            .expect("a customer")
            .to_owned()
    };

    let mut hub = start_hub(data.path(), 50);

    let token = login(&hub.url);
    let (_, page) = get(&token, &format!("{}/v1/customers?limit=100", hub.url));
    let count = page["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        count, 5,
        "a second start does not seed again over existing data"
    );
    assert_eq!(
        page["items"][0]["id"],
        first_id.as_str(),
        "the same customers are there"
    );

    let clean = hub.stop().expect("SIGTERM is delivered and the hub exits");
    assert!(clean, "SIGTERM is a clean shutdown, not a crash");
}

#[test]
fn the_change_feed_carries_the_whole_demo_world_from_zero_and_from_a_cursor() {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let hub = start_hub(data.path(), 20);
    let token = login(&hub.url);

    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = get(
            &token,
            &format!("{}/v1/changes?limit=50&after={cursor}", hub.url),
        );
        assert_eq!(status, 200, "every page is served: {page}");
        for change in page["changes"].as_array().expect("a page has changes") {
            assert_eq!(change["op"], "upsert", "a fresh demo has nothing deleted");
            let kind = change["record"]["kind"]
                .as_str()
                .expect("records say their kind");
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
        let next = page["cursor"]
            .as_str()
            .expect("a page has a cursor")
            .to_owned();
        assert!(
            next.parse::<u64>().ok() >= cursor.parse::<u64>().ok(),
            "the cursor only moves forward: {cursor} then {next}"
        );
        cursor = next;
        pages += 1;
        if page["has_more"] != true {
            break;
        }
    }

    assert_eq!(
        kinds.get("customer"),
        Some(&20),
        "every customer is in the feed: {kinds:?}"
    );
    for kind in ["agent", "queue", "order", "delivery", "transaction"] {
        assert!(
            kinds.contains_key(kind),
            "the feed carries {kind} records: {kinds:?}"
        );
    }
    assert!(
        pages > 1,
        "a world bigger than a page comes in several pages"
    );

    let (_, empty) = get(&token, &format!("{}/v1/changes?after={cursor}", hub.url));
    assert_eq!(
        empty["changes"],
        serde_json::json!([]),
        "nothing new after the last cursor"
    );
    assert_eq!(
        empty["cursor"],
        cursor.as_str(),
        "and the cursor stays where it was"
    );

    let (status, refused) = get(&token, &format!("{}/v1/changes?after=-3", hub.url));
    assert_eq!(status, 400, "a cursor the hub never issued is refused");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("after")),
        "naming the parameter: {refused}"
    );
}
