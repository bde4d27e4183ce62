//! Orders, their deliveries, carts and the money that moved: what the customer bought, where it
//! is, what they are about to buy, and what they paid or got back.
//!
//! Amounts are integers in the currency's minor unit (pence, cents) so that sums are exact.

use serde::{Deserialize, Serialize};

use crate::{CartId, CustomerId, DeliveryId, OrderId, TransactionId};

/// An amount of money in minor units, with its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    /// Minor units: 1999 is 19.99. Far below 2^53, so exact in JavaScript too (the bindings
    /// declare it as a 32-bit number only because TypeScript has one number type).
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub minor: i64,
    pub currency: String,
}

/// One line of an order or a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    pub sku: String,
    pub description: String,
    pub quantity: u32,
    /// Minor units, as in [`Money`].
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub unit_price_minor: i64,
}

impl LineItem {
    /// Quantity times unit price.
    pub fn total_minor(&self) -> i64 {
        i64::from(self.quantity) * self.unit_price_minor
    }
}

/// Whether an order has been paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    Pending,
    Authorized,
    Paid,
    PartiallyRefunded,
    Refunded,
    Failed,
}

/// An order a customer placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    /// The number the customer reads out, such as `SB-104233`.
    pub number: String,
    pub customer_id: CustomerId,
    pub lines: Vec<LineItem>,
    pub total: Money,
    pub payment: PaymentState,
    pub placed_at: String,
    pub updated_at: String,
    pub version: u32,
}

impl Order {
    /// The sum of the lines, which `total` must equal.
    pub fn lines_total_minor(&self) -> i64 {
        self.lines.iter().map(LineItem::total_minor).sum()
    }
}

/// Where a parcel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    /// Held up: damaged, wrong address, customs.
    Exception,
    Returned,
}

impl DeliveryStatus {
    /// Whether the parcel is still on its way, which is when customers call about it.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            DeliveryStatus::LabelCreated
                | DeliveryStatus::InTransit
                | DeliveryStatus::OutForDelivery
                | DeliveryStatus::Exception
        )
    }
}

/// One scan or event in a parcel's journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryEvent {
    pub status: DeliveryStatus,
    /// Where it happened, such as a depot's town; absent for electronic events.
    pub location: Option<String>,
    pub at: String,
}

/// The shipment of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: DeliveryId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub carrier: String,
    pub tracking_number: String,
    pub status: DeliveryStatus,
    /// Oldest first; the last event's status is `status`.
    pub history: Vec<DeliveryEvent>,
    /// The promised delivery date (YYYY-MM-DD), when the carrier gave one.
    pub estimated_delivery: Option<String>,
    pub updated_at: String,
    pub version: u32,
}

/// What a customer has in their cart now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cart {
    pub id: CartId,
    pub customer_id: CustomerId,
    pub items: Vec<LineItem>,
    pub currency: String,
    pub last_activity_at: String,
    pub version: u32,
}

/// Money in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Payment,
    Refund,
}

/// Whether the money actually moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Pending,
    Succeeded,
    Failed,
}

/// A payment or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    pub id: TransactionId,
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub amount: Money,
    /// How it was paid, as the customer would say it: "Visa ending 4242".
    pub method: String,
    pub at: String,
    pub version: u32,
}
