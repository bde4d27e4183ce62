//! The engine's view of the hub: three calls, so that tests can put faults between the engine
//! and a real hub. [`HubClient`] is the real one.

use std::future::Future;

use switchboard_client::{ClientError, EventStream, HubClient, WriteAnswer, WriteRequest};
use switchboard_model::{ChangePage, Cursor};

/// What the engine needs from a hub.
pub trait Hub: Clone + Send + Sync + 'static {
    type Events: Events;

    /// One page of the change feed after `after`.
    fn changes(
        &self,
        after: Option<&Cursor>,
        limit: u32,
        count: bool,
    ) -> impl Future<Output = Result<ChangePage, ClientError>> + Send;

    /// One write, answered whatever its status.
    fn write(
        &self,
        write: &WriteRequest<'_>,
    ) -> impl Future<Output = Result<WriteAnswer, ClientError>> + Send;

    /// The live event stream after `after`.
    fn events(
        &self,
        after: Option<&Cursor>,
    ) -> impl Future<Output = Result<Self::Events, ClientError>> + Send;
}

/// A live event stream, read chunk by chunk.
pub trait Events: Send + 'static {
    /// The next bytes; `None` when the hub ended the stream.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, ClientError>> + Send;
}

impl Hub for HubClient {
    type Events = EventStream;

    async fn changes(
        &self,
        after: Option<&Cursor>,
        limit: u32,
        count: bool,
    ) -> Result<ChangePage, ClientError> {
        HubClient::changes(self, after, limit, count).await
    }

    async fn write(&self, write: &WriteRequest<'_>) -> Result<WriteAnswer, ClientError> {
        HubClient::write(self, write).await
    }

    async fn events(&self, after: Option<&Cursor>) -> Result<EventStream, ClientError> {
        HubClient::events(self, after).await
    }
}

impl Events for EventStream {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        EventStream::next_chunk(self).await
    }
}
