//! A typed client for the hub's REST API: one method per route, errors that say whether a retry
//! can help, and timeouts so that a dead link is noticed rather than waited on.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use switchboard_model::{
    ChangePage, Cursor, Customer, CustomerId, CustomerSummary, Health, IdentityKind, Interaction,
    LoginAnswer, LoginRequest, Page, QueueStats, Record,
};
use url::Url;

/// Why a call to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the hub address {0:?} is not a valid http(s) URL; fix hub_url in the settings file")]
    InvalidUrl(String),
    #[error(
        "the hub at {url} cannot be reached ({reason}); check the network or that the hub runs"
    )]
    Unreachable { url: String, reason: String },
    #[error("the hub at {url} did not answer within {seconds} s; it may be overloaded")]
    Timeout { url: String, seconds: u64 },
    #[error("the hub refused the request ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the hub's answer could not be read ({0}); the hub may be a different version")]
    Decode(String),
}

impl ClientError {
    /// Whether sending the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
            ClientError::Rejected { status, .. } => *status == 429 || *status >= 500,
            ClientError::InvalidUrl(_) | ClientError::Decode(_) => false,
        }
    }

    /// Whether the hub did not answer at all, as opposed to answering with an error.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. } | ClientError::Timeout { .. }
        )
    }

    /// Whether the hub wants a (new) login: the token is missing, expired or revoked, or the
    /// credentials were wrong.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, ClientError::Rejected { status: 401, .. })
    }

    /// Whether the hub answered that the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Rejected { status: 404, .. })
    }
}

/// How long the event stream may stay silent before the link counts as dead: the hub sends a
/// keep-alive every 15 s.
const STREAM_SILENCE: Duration = Duration::from_secs(40);

/// A write as the sync engine sends it: the request of an outbox row, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest<'a> {
    /// `POST`, `PATCH` or `PUT`.
    pub method: &'a str,
    /// The route under the hub's base, such as `v1/notes`.
    pub path: &'a str,
    /// The JSON body.
    pub body: &'a str,
    /// Sent as `Idempotency-Key`, the same on every attempt.
    pub idempotency_key: &'a str,
    /// Sent as `If-Match`, when the write updates a version the agent saw.
    pub if_match: Option<u64>,
}

/// What the hub answered to a write, whatever the status: the sync engine decides what each
/// status means for the outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteAnswer {
    pub status: u16,
    /// The record's version from the `ETag`, when the answer carries one.
    pub version: Option<u64>,
    /// `Retry-After` in seconds, when the hub asked to wait.
    pub retry_after: Option<u64>,
    /// The body as sent: the record on success, an error or conflict body otherwise.
    pub body: String,
}

/// A live event stream from the hub, read chunk by chunk.
#[derive(Debug)]
pub struct EventStream {
    url: Url,
    response: reqwest::Response,
}

impl EventStream {
    /// The next bytes of the stream; `None` when the hub ended it.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|bytes| bytes.to_vec())),
            Err(error) => Err(ClientError::Unreachable {
                url: self.url.to_string(),
                reason: root_cause(&error),
            }),
        }
    }
}

/// Reads a version out of an `ETag` such as `"7"` or `W/"7"`.
pub fn version_of_etag(etag: &str) -> Option<u64> {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

/// The error body the hub sends with every 4xx and 5xx.
#[derive(Debug, serde::Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// A connection to one hub; cloning shares its connection pool and its sign-in.
#[derive(Debug, Clone)]
pub struct HubClient {
    base: Url,
    http: reqwest::Client,
    /// For the event stream, which lives for hours: no overall timeout, but a read timeout
    /// longer than the hub's keep-alive, so that a dead link is still noticed.
    streams: reqwest::Client,
    timeout: Duration,
    /// The bearer token of the signed-in agent, sent with every request.
    token: Arc<RwLock<Option<String>>>,
}

impl HubClient {
    /// A client for the hub at `base_url`, such as `http://127.0.0.1:7300`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let invalid = || ClientError::InvalidUrl(base_url.to_owned());
        let mut base = Url::parse(base_url).map_err(|_| invalid())?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid());
        }

        // Routes are joined onto the base; without a trailing slash the last segment of a
        // base such as http://host/switchboard would be replaced rather than extended.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }

        let build = |builder: reqwest::ClientBuilder| {
            builder
                .connect_timeout(timeout)
                .user_agent(concat!("switchboard-desktop/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| ClientError::Unreachable {
                    url: base_url.to_owned(),
                    reason: error.to_string(),
                })
        };
        let http = build(reqwest::Client::builder().timeout(timeout))?;
        let streams = build(reqwest::Client::builder().read_timeout(STREAM_SILENCE))?;
        Ok(HubClient {
            base,
            http,
            streams,
            timeout,
            token: Arc::new(RwLock::new(None)),
        })
    }

    /// `POST /v1/auth/login`: signs the agent in; later requests carry the token it returns.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<LoginAnswer, ClientError> {
        let url = self.url("v1/auth/login", &[])?;
        let request = self.http.post(url.clone()).json(&LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
        });
        let response = self.execute(url.clone(), request).await?;
        let answer: LoginAnswer = self.read(url, response).await?;
        self.set_token(Some(answer.token.clone()));
        Ok(answer)
    }

    /// `POST /v1/auth/logout`: revokes the token and forgets it. The token is forgotten even
    /// when the hub cannot be reached, so that nobody else at this desk acts as the agent.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        let had_token = self.token().is_some();
        let result = if had_token {
            let url = self.url("v1/auth/logout", &[])?;
            let request = self.authorised(self.http.post(url.clone()));
            match self.execute(url.clone(), request).await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => self
                    .read::<serde_json::Value>(url, response)
                    .await
                    .map(drop),
                Err(error) => Err(error),
            }
        } else {
            Ok(())
        };
        self.set_token(None);
        result
    }

    /// Uses `token` (or none) for the requests that follow, such as one kept from an earlier
    /// session.
    pub fn set_token(&self, token: Option<String>) {
        *self
            .token
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = token;
    }

    /// The token requests carry now.
    pub fn token(&self) -> Option<String> {
        self.token
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// The hub's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /v1/health`. A hub that answers 503 is reported as `Ok` with a degraded status,
    /// because it did answer.
    pub async fn health(&self) -> Result<Health, ClientError> {
        let url = self.url("v1/health", &[])?;
        let response = self.send(url.clone()).await?;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            return decode(response).await;
        }
        self.read(url, response).await
    }

    /// `GET /v1/customers`: one page of customers in name order, filtered by `query`.
    pub async fn customers(
        &self,
        query: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<CustomerSummary>, ClientError> {
        let limit = limit.to_string();
        let mut pairs = vec![("limit", limit.as_str())];
        if let Some(query) = query {
            pairs.push(("q", query));
        }
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor));
        }
        let url = self.url("v1/customers", &pairs)?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// `GET /v1/customers/by-identity`: every customer with this identity, for a screen pop.
    /// Several when people share it; the caller lets the agent choose.
    pub async fn customers_by_identity(
        &self,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Vec<CustomerSummary>, ClientError> {
        let url = self.url(
            "v1/customers/by-identity",
            &[("kind", kind.as_str()), ("value", value)],
        )?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// `GET /v1/customers/{id}`: one customer's whole profile.
    pub async fn customer(&self, id: &CustomerId) -> Result<Customer, ClientError> {
        let url = self.url("v1/customers/", &[])?;
        let url = url
            .join(&percent_encode_segment(id.as_str()))
            .map_err(|_| ClientError::InvalidUrl(id.to_string()))?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// `GET /v1/customers/{id}/records`: the customer's tickets, orders, deliveries, carts,
    /// transactions, conversations, interactions and notes, up to a thousand.
    pub async fn customer_records(&self, id: &CustomerId) -> Result<Vec<Record>, ClientError> {
        let url = self.url("v1/customers/", &[])?;
        let url = url
            .join(&format!(
                "{}/records?limit=1000",
                percent_encode_segment(id.as_str())
            ))
            .map_err(|_| ClientError::InvalidUrl(id.to_string()))?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// `GET /v1/changes`: the next page of the change feed after `after` (from the start when
    /// `None`). With `count`, the hub also says how many changes remain, for a progress bar.
    pub async fn changes(
        &self,
        after: Option<&Cursor>,
        limit: u32,
        count: bool,
    ) -> Result<ChangePage, ClientError> {
        let limit = limit.to_string();
        let mut pairs = vec![("limit", limit.as_str())];
        if let Some(after) = after {
            pairs.push(("after", after.0.as_str()));
        }
        if count {
            pairs.push(("count", "true"));
        }
        let url = self.url("v1/changes", &pairs)?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// Sends one write and returns the hub's answer whatever its status; only a request that
    /// got no answer at all is an error.
    pub async fn write(&self, write: &WriteRequest<'_>) -> Result<WriteAnswer, ClientError> {
        let url = self.url(write.path, &[])?;
        let method = Method::from_bytes(write.method.as_bytes())
            .map_err(|_| ClientError::InvalidUrl(format!("{} {}", write.method, write.path)))?;
        let mut request = self
            .authorised(self.http.request(method, url.clone()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", write.idempotency_key)
            .body(write.body.to_owned());
        if let Some(version) = write.if_match {
            request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
        }
        let response = self.execute(url.clone(), request).await?;

        let status = response.status().as_u16();
        let headers = response.headers();
        let version = headers
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .and_then(version_of_etag);
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok());
        let body = response
            .text()
            .await
            .map_err(|error| self.unanswered(&url, &error))?;
        Ok(WriteAnswer {
            status,
            version,
            retry_after,
            body,
        })
    }

    /// `GET /v1/queues/stats`: every queue's load now.
    pub async fn queue_stats(&self) -> Result<Vec<QueueStats>, ClientError> {
        let url = self.url("v1/queues/stats", &[])?;
        let response = self.send(url.clone()).await?;
        self.read(url, response).await
    }

    /// `POST /v1/offers/{id}/accept`: takes the chat or call offered; the answer is the
    /// interaction, now the agent's.
    pub async fn accept_offer(&self, offer: &str) -> Result<Interaction, ClientError> {
        self.post_bare(&format!(
            "v1/offers/{}/accept",
            percent_encode_segment(offer)
        ))
        .await
    }

    /// `POST /v1/offers/{id}/decline`: passes the offer on to the next agent.
    pub async fn decline_offer(&self, offer: &str) -> Result<(), ClientError> {
        self.post_no_answer(&format!(
            "v1/offers/{}/decline",
            percent_encode_segment(offer)
        ))
        .await
    }

    /// `POST /v1/interactions/{id}/typing`: tells the customer's page the agent is typing.
    pub async fn typing(&self, interaction: &str) -> Result<(), ClientError> {
        self.post_no_answer(&format!(
            "v1/interactions/{}/typing",
            percent_encode_segment(interaction)
        ))
        .await
    }

    /// A `POST` without a body whose success carries no answer either.
    async fn post_no_answer(&self, path: &str) -> Result<(), ClientError> {
        let url = self.url(path, &[])?;
        let request = self.authorised(self.http.post(url.clone()));
        let response = self.execute(url.clone(), request).await?;
        if response.status().is_success() {
            return Ok(());
        }
        self.read::<serde_json::Value>(url, response)
            .await
            .map(drop)
    }

    /// `POST /v1/interactions/{id}/end`: ends a chat or call the agent holds.
    pub async fn end_interaction(&self, interaction: &str) -> Result<Interaction, ClientError> {
        self.post_bare(&format!(
            "v1/interactions/{}/end",
            percent_encode_segment(interaction)
        ))
        .await
    }

    /// A `POST` without a body, for routes that act on the record their path names.
    async fn post_bare<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path, &[])?;
        let request = self.authorised(self.http.post(url.clone()));
        let response = self.execute(url.clone(), request).await?;
        self.read(url, response).await
    }

    /// `GET /v1/events`: the tenant's live changes after `after` (from now when `None`).
    pub async fn events(&self, after: Option<&Cursor>) -> Result<EventStream, ClientError> {
        let url = self.url("v1/events", &[])?;
        let mut request = self
            .authorised(self.streams.get(url.clone()))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = after {
            request = request.header("last-event-id", after.0.as_str());
        }
        let response = self.execute(url.clone(), request).await?;
        if !response.status().is_success() {
            return Err(self
                .read::<serde_json::Value>(url, response)
                .await
                .err()
                .unwrap_or(ClientError::Decode(
                    "the event stream answered with no error body".to_owned(),
                )));
        }
        Ok(EventStream { url, response })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, ClientError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|_| ClientError::InvalidUrl(self.base.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn send(&self, url: Url) -> Result<reqwest::Response, ClientError> {
        let request = self.authorised(self.http.request(Method::GET, url.clone()));
        self.execute(url, request).await
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token() {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn execute(
        &self,
        url: Url,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        tracing::trace!(%url, "hub request");
        request
            .send()
            .await
            .map_err(|error| self.unanswered(&url, &error))
    }

    /// A request that got no (whole) answer: timed out, or the link failed.
    fn unanswered(&self, url: &Url, error: &reqwest::Error) -> ClientError {
        if error.is_timeout() {
            ClientError::Timeout {
                url: url.to_string(),
                seconds: self.timeout.as_secs(),
            }
        } else {
            ClientError::Unreachable {
                url: url.to_string(),
                reason: root_cause(error),
            }
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        url: Url,
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        let status = response.status();
        if status.is_success() {
            return decode(response).await;
        }

        let body = response.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(error) => (error.code, error.message),
            Err(_) => ("unknown".to_owned(), format!("{url} answered {status}")),
        };
        tracing::debug!(%url, status = status.as_u16(), %code, "hub refused a request");
        Err(ClientError::Rejected {
            status: status.as_u16(),
            code,
            message,
        })
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    response
        .json()
        .await
        .map_err(|error| ClientError::Decode(root_cause(&error)))
}

/// The innermost error's words: reqwest's own message ("error sending request") says nothing
/// an agent or admin can act on, while the cause ("Connection refused") does.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Escapes everything but unreserved characters, so that an id can never add path segments.
fn percent_encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_keep_their_path_prefix() {
        let client = HubClient::new(
            "http://hub.example:7300/switchboard",
            Duration::from_secs(1),
        )
        .expect("a valid URL");
        let url = client.url("v1/health", &[]).expect("joins");
        assert_eq!(
            url.as_str(),
            "http://hub.example:7300/switchboard/v1/health",
            "a hub behind a path prefix keeps it"
        );
    }

    #[test]
    fn only_http_urls_are_accepted() {
        for bad in ["ftp://hub", "hub:7300", "", "mailto:ops@example.org"] {
            let result = HubClient::new(bad, Duration::from_secs(1));
            assert!(
                matches!(result, Err(ClientError::InvalidUrl(_))),
                "{bad:?} must be refused with advice to fix the settings"
            );
        }
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(
            percent_encode_segment("cus_0a"),
            "cus_0a",
            "plain ids pass unchanged"
        );
        assert_eq!(
            percent_encode_segment("../admin?x=1"),
            "..%2Fadmin%3Fx%3D1",
            "slashes and query marks are escaped"
        );
    }

    #[test]
    fn retry_advice_follows_the_kind_of_failure() {
        let rejected = |status| ClientError::Rejected {
            status,
            code: String::new(),
            message: String::new(),
        };
        assert!(
            rejected(503).is_retryable(),
            "an overloaded hub may recover"
        );
        assert!(rejected(429).is_retryable(), "rate limits lift");
        assert!(
            !rejected(400).is_retryable(),
            "the same bad request fails again"
        );
        assert!(
            !rejected(404).is_retryable(),
            "a missing record does not appear by retrying"
        );
        assert!(rejected(404).is_not_found(), "404 is reported as not found");
        assert!(rejected(401).is_unauthenticated(), "401 asks for a login");
        assert!(
            !rejected(401).is_retryable(),
            "which retrying does not give"
        );
    }
}
