//! A demo customer's past, made coherent: orders with their payments and deliveries, a cart,
//! tickets about what went wrong, and the calls and chats in which they were discussed, each
//! with its messages, notes and wrap-up.
//!
//! Everything is derived from one random source, so a seed reproduces the whole history.

use rand::Rng;
use rand::seq::IndexedRandom;
use switchboard_model::{
    Author, Cart, CartId, Channel, Conversation, ConversationId, Customer, Delivery, DeliveryEvent,
    DeliveryId, DeliveryStatus, Direction, IdentityKind, Interaction, InteractionId,
    InteractionState, LineItem, Message, MessageId, Money, Note, NoteId, Order, OrderId,
    PaymentState, Priority, Record, Ticket, TicketComment, TicketId, TicketStatus, Transaction,
    TransactionId, TransactionKind, TransactionStatus, WrapUp, WrapUpId,
};
use time::{Duration, OffsetDateTime};

use super::rfc3339;
use super::staff::Staff;

/// Everything that happened to one customer, or to many once merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub orders: Vec<Order>,
    pub deliveries: Vec<Delivery>,
    pub transactions: Vec<Transaction>,
    pub carts: Vec<Cart>,
    pub tickets: Vec<Ticket>,
    pub conversations: Vec<Conversation>,
    pub interactions: Vec<Interaction>,
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    pub wrap_ups: Vec<WrapUp>,
}

impl History {
    /// Every record of the history, parents before the records that point at them.
    pub fn into_records(self) -> impl Iterator<Item = Record> {
        let orders = self.orders.into_iter().map(Record::Order);
        let deliveries = self.deliveries.into_iter().map(Record::Delivery);
        let transactions = self.transactions.into_iter().map(Record::Transaction);
        let carts = self.carts.into_iter().map(Record::Cart);
        let tickets = self.tickets.into_iter().map(Record::Ticket);
        let conversations = self.conversations.into_iter().map(Record::Conversation);
        let interactions = self.interactions.into_iter().map(Record::Interaction);
        let messages = self.messages.into_iter().map(Record::Message);
        let notes = self.notes.into_iter().map(Record::Note);
        let wrap_ups = self.wrap_ups.into_iter().map(Record::WrapUp);
        orders
            .chain(deliveries)
            .chain(transactions)
            .chain(carts)
            .chain(tickets)
            .chain(conversations)
            .chain(interactions)
            .chain(messages)
            .chain(notes)
            .chain(wrap_ups)
    }

    /// Moves everything in `other` into this history.
    pub fn absorb(&mut self, mut other: History) {
        self.orders.append(&mut other.orders);
        self.deliveries.append(&mut other.deliveries);
        self.transactions.append(&mut other.transactions);
        self.carts.append(&mut other.carts);
        self.tickets.append(&mut other.tickets);
        self.conversations.append(&mut other.conversations);
        self.interactions.append(&mut other.interactions);
        self.messages.append(&mut other.messages);
        self.notes.append(&mut other.notes);
        self.wrap_ups.append(&mut other.wrap_ups);
    }
}

/// What the demo shop sells, with prices in minor units of each currency.
pub(crate) const CATALOGUE: &[(&str, &str, i64)] = &[
    ("KTL-200", "Stainless kettle, 1.7 l", 3999),
    ("TST-410", "Four-slice toaster", 5499),
    ("HDP-880", "Wireless headphones", 12900),
    ("LMP-031", "Desk lamp with dimmer", 2850),
    ("BKP-117", "Commuter backpack, 22 l", 6900),
    ("MUG-006", "Stoneware mugs, set of 4", 2400),
    ("CHR-550", "Office chair, mesh back", 18900),
    ("SPK-221", "Bluetooth speaker", 7900),
    ("BLN-300", "Blender, 1.5 l", 8999),
    ("TWL-090", "Cotton towels, pair", 1999),
];

const CARRIERS: &[(&str, &str)] = &[
    ("Royal Mail", "RM"),
    ("DPD", "DP"),
    ("UPS", "1Z"),
    ("DHL", "JD"),
];

pub(crate) const DEPOTS: &[&str] = &[
    "Heathrow hub",
    "Midlands depot",
    "Northern sorting centre",
    "Local depot",
];

const DISPOSITIONS: &[&str] = &[
    "resolved",
    "information_given",
    "refund_issued",
    "escalated",
    "callback_needed",
];

/// Makes one customer's history, ending at `now`. `order_numbers` hands out order numbers so
/// that they are unique across the whole population.
pub fn history(
    rng: &mut impl Rng,
    customer: &Customer,
    staff: &Staff,
    now: OffsetDateTime,
    order_numbers: &mut u64,
) -> History {
    let mut made = History::default();
    let currency = currency_of(customer);
    let since = parse(&customer.created_at).unwrap_or(now - Duration::days(365));

    // Three orders a customer on average, as a retailer whose customers come back has; the
    // benchmarks' million customers then bring three million orders. Some never ordered.
    let order_count = *[0, 1, 2, 3, 3, 4, 4, 7].choose(rng).unwrap_or(&3);
    for index in 0..order_count {
        // Orders spread over the customer's years would leave almost nothing in transit; a
        // shop's recent customers are the ones who call, so some latest orders are days old.
        let recent = index == 0 && rng.random_ratio(1, 5);
        let from = if recent {
            now - Duration::days(5)
        } else {
            since
        };
        let placed = between(rng, from.max(since), now);
        *order_numbers += 1;
        order_with_delivery(
            &mut made,
            rng,
            customer,
            currency,
            placed,
            now,
            *order_numbers,
        );
    }

    if rng.random_ratio(3, 10) {
        // A third of carts are abandoned: untouched for days, which is when shops call.
        let idle = if rng.random_ratio(1, 3) {
            Duration::days(rng.random_range(2..20))
        } else {
            Duration::minutes(rng.random_range(1..600))
        };
        made.carts.push(Cart {
            id: CartId::from_number(rng.random()),
            customer_id: customer.id.clone(),
            items: lines(rng, 1..4),
            currency: currency.to_owned(),
            last_activity_at: rfc3339(now - idle),
            version: 1,
        });
    }

    // Troubled orders get a ticket and a conversation about it; some customers also just ask.
    let troubled: Vec<(OrderId, String, DeliveryStatus)> = made
        .orders
        .iter()
        .zip(&made.deliveries)
        .filter(|(order, delivery)| {
            delivery.status == DeliveryStatus::Exception
                || order.payment == PaymentState::Refunded
                || (delivery.status.in_flight() && rng.random_ratio(1, 4))
        })
        .map(|(order, delivery)| (order.id.clone(), order.number.clone(), delivery.status))
        .collect();
    for (_, number, status) in troubled {
        let subject = match status {
            DeliveryStatus::Exception => format!("Parcel for order {number} is stuck"),
            status if status.in_flight() => format!("Where is my order {number}?"),
            _ => format!("Refund for order {number}"),
        };
        ticket_with_conversation(&mut made, rng, customer, staff, &subject, since, now);
    }
    if rng.random_ratio(1, 4) {
        let subject = *[
            "Change my e-mail address",
            "Do you deliver on Saturdays?",
            "Invoice copy",
        ]
        .choose(rng)
        .unwrap_or(&"Question");
        ticket_with_conversation(&mut made, rng, customer, staff, subject, since, now);
    }
    made
}

fn currency_of(customer: &Customer) -> &'static str {
    match customer.country.as_deref() {
        Some("US") => "USD",
        Some("FR") => "EUR",
        _ => "GBP",
    }
}

fn lines(rng: &mut impl Rng, count: std::ops::Range<usize>) -> Vec<LineItem> {
    let count = rng.random_range(count);
    CATALOGUE
        .choose_multiple(rng, count)
        .map(|(sku, description, price)| LineItem {
            sku: (*sku).to_owned(),
            description: (*description).to_owned(),
            quantity: rng.random_range(1..=2),
            unit_price_minor: *price,
        })
        .collect()
}

fn order_with_delivery(
    made: &mut History,
    rng: &mut impl Rng,
    customer: &Customer,
    currency: &str,
    placed: OffsetDateTime,
    now: OffsetDateTime,
    number: u64,
) {
    let lines = lines(rng, 1..4);
    let total_minor: i64 = lines.iter().map(LineItem::total_minor).sum();
    let age = now - placed;
    let payment = if rng.random_ratio(1, 30) {
        PaymentState::Failed
    } else if rng.random_ratio(1, 15) {
        PaymentState::Refunded
    } else if age < Duration::hours(6) {
        PaymentState::Authorized
    } else {
        PaymentState::Paid
    };
    let order = Order {
        id: OrderId::from_number(rng.random()),
        number: format!("SB-{number:06}"),
        customer_id: customer.id.clone(),
        lines,
        total: Money {
            minor: total_minor,
            currency: currency.to_owned(),
        },
        payment,
        placed_at: rfc3339(placed),
        updated_at: rfc3339(placed),
        version: 1,
    };

    let card = format!("Visa ending {:04}", rng.random_range(1000..10000));
    let mut pay = |kind, status, at: OffsetDateTime| Transaction {
        id: TransactionId::from_number(rng.random()),
        customer_id: customer.id.clone(),
        order_id: Some(order.id.clone()),
        kind,
        status,
        amount: order.total.clone(),
        method: card.clone(),
        at: rfc3339(at),
        version: 1,
    };
    match payment {
        PaymentState::Failed => {
            made.transactions.push(pay(
                TransactionKind::Payment,
                TransactionStatus::Failed,
                placed,
            ));
            made.orders.push(order);
            return;
        }
        PaymentState::Authorized => {
            made.transactions.push(pay(
                TransactionKind::Payment,
                TransactionStatus::Pending,
                placed,
            ));
        }
        PaymentState::Refunded => {
            made.transactions.push(pay(
                TransactionKind::Payment,
                TransactionStatus::Succeeded,
                placed,
            ));
            let refunded = placed + (now - placed) / 2;
            made.transactions.push(pay(
                TransactionKind::Refund,
                TransactionStatus::Succeeded,
                refunded,
            ));
        }
        _ => {
            made.transactions.push(pay(
                TransactionKind::Payment,
                TransactionStatus::Succeeded,
                placed,
            ));
        }
    }

    made.deliveries.push(delivery(rng, &order, placed, now));
    made.orders.push(order);
}

/// A parcel's journey so far: the older the order, the further it got.
fn delivery(
    rng: &mut impl Rng,
    order: &Order,
    placed: OffsetDateTime,
    now: OffsetDateTime,
) -> Delivery {
    let (carrier, prefix) = *CARRIERS.choose(rng).unwrap_or(&CARRIERS[0]);
    let mut steps = vec![DeliveryStatus::LabelCreated];
    let age_days = (now - placed).whole_days();
    let journey: &[DeliveryStatus] = if age_days >= 5 {
        &[
            DeliveryStatus::InTransit,
            DeliveryStatus::OutForDelivery,
            DeliveryStatus::Delivered,
        ]
    } else if age_days >= 2 {
        &[DeliveryStatus::InTransit, DeliveryStatus::OutForDelivery]
    } else {
        &[DeliveryStatus::InTransit]
    };
    steps.extend(journey);
    if age_days < 5 && rng.random_ratio(1, 8) {
        steps.push(DeliveryStatus::Exception);
    }

    // Space the events evenly between the order and now (or day five, when it arrived).
    let end = if age_days >= 5 {
        placed + Duration::days(3)
    } else {
        now
    };
    let gap = (end - placed) / (steps.len() as i32 + 1);
    let history: Vec<DeliveryEvent> = steps
        .iter()
        .enumerate()
        .map(|(index, status)| DeliveryEvent {
            status: *status,
            location: (*status != DeliveryStatus::LabelCreated).then(|| {
                DEPOTS
                    .choose(rng)
                    .map(|d| (*d).to_owned())
                    .unwrap_or_default()
            }),
            at: rfc3339(placed + gap * (index as i32 + 1)),
        })
        .collect();
    let status = *steps.last().unwrap_or(&DeliveryStatus::LabelCreated);
    let updated_at = history
        .last()
        .map(|event| event.at.clone())
        .unwrap_or_default();

    Delivery {
        id: DeliveryId::from_number(rng.random()),
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        carrier: carrier.to_owned(),
        tracking_number: format!("{prefix}{:010}GB", rng.random_range(0..10_000_000_000u64)),
        status,
        history,
        estimated_delivery: status.in_flight().then(|| {
            let date = (placed + Duration::days(4)).date();
            format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
        }),
        updated_at,
        version: 1,
    }
}

fn ticket_with_conversation(
    made: &mut History,
    rng: &mut impl Rng,
    customer: &Customer,
    staff: &Staff,
    subject: &str,
    since: OffsetDateTime,
    now: OffsetDateTime,
) {
    let handlers: Vec<_> = staff.handlers().collect();
    let Some(agent) = handlers.choose(rng).map(|agent| agent.id.clone()) else {
        return;
    };
    let opened = between(
        rng,
        since.max(now - Duration::days(120)),
        now - Duration::minutes(30),
    );
    let status = *[
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ]
    .choose(rng)
    .unwrap_or(&TicketStatus::Open);
    let channel = if rng.random_bool(0.5) {
        Channel::Chat
    } else {
        Channel::Call
    };

    let conversation = Conversation {
        id: ConversationId::from_number(rng.random()),
        customer_id: customer.id.clone(),
        topic: Some(subject.to_owned()),
        opened_at: rfc3339(opened),
        closed_at: (!status.is_open()).then(|| rfc3339(opened + Duration::hours(2))),
        version: 1,
    };
    let answered = opened + Duration::seconds(rng.random_range(5..180));
    let ended = answered + Duration::seconds(rng.random_range(90..900));
    let interaction = Interaction {
        id: InteractionId::from_number(rng.random()),
        conversation_id: conversation.id.clone(),
        customer_id: customer.id.clone(),
        channel,
        direction: Direction::Inbound,
        state: InteractionState::Ended,
        queue_id: staff.queues.first().map(|queue| queue.id.clone()),
        agent_id: Some(agent.clone()),
        remote_number: (channel == Channel::Call)
            .then(|| {
                customer
                    .primary(IdentityKind::Phone)
                    .map(|phone| phone.value.clone())
            })
            .flatten(),
        started_at: rfc3339(opened),
        answered_at: Some(rfc3339(answered)),
        ended_at: Some(rfc3339(ended)),
        offered_to: Vec::new(),
        version: 1,
    };

    if channel == Channel::Chat {
        let lines = [
            (
                Author::Customer(customer.id.clone()),
                format!("Hello, {}", subject.to_lowercase()),
            ),
            (
                Author::Agent(agent.clone()),
                "Thanks for getting in touch, let me look into that.".to_owned(),
            ),
            (
                Author::Customer(customer.id.clone()),
                "Thank you, I'll wait.".to_owned(),
            ),
        ];
        for (index, (author, body)) in lines.into_iter().enumerate() {
            made.messages.push(Message {
                id: MessageId::from_number(rng.random()),
                interaction_id: interaction.id.clone(),
                conversation_id: conversation.id.clone(),
                author,
                body,
                sent_at: rfc3339(answered + Duration::seconds(40 * index as i64)),
            });
        }
    }

    made.tickets.push(Ticket {
        id: TicketId::from_number(rng.random()),
        customer_id: customer.id.clone(),
        subject: subject.to_owned(),
        status,
        priority: *[
            Priority::Low,
            Priority::Normal,
            Priority::Normal,
            Priority::High,
        ]
        .choose(rng)
        .unwrap_or(&Priority::Normal),
        assignee: status.is_open().then(|| agent.clone()),
        comments: vec![
            TicketComment {
                author: Author::Customer(customer.id.clone()),
                body: subject.to_owned(),
                public: true,
                created_at: rfc3339(opened),
            },
            TicketComment {
                author: Author::Agent(agent.clone()),
                body: "Checked with the carrier and the warehouse; updated the customer."
                    .to_owned(),
                public: false,
                created_at: rfc3339(ended),
            },
        ],
        created_at: rfc3339(opened),
        updated_at: rfc3339(ended),
        version: 2,
    });
    if rng.random_ratio(1, 2) {
        made.notes.push(Note {
            id: NoteId::from_number(rng.random()),
            customer_id: customer.id.clone(),
            interaction_id: Some(interaction.id.clone()),
            author: agent.clone(),
            body: "Prefers to be contacted by e-mail after 5 pm.".to_owned(),
            created_at: rfc3339(ended),
            updated_at: rfc3339(ended),
            version: 1,
        });
    }
    made.wrap_ups.push(WrapUp {
        id: WrapUpId::from_number(rng.random()),
        interaction_id: interaction.id.clone(),
        agent_id: agent,
        disposition: (*DISPOSITIONS.choose(rng).unwrap_or(&"resolved")).to_owned(),
        notes: None,
        handle_seconds: u32::try_from((ended - answered).whole_seconds() + 30).unwrap_or(0),
        created_at: rfc3339(ended + Duration::seconds(30)),
        version: 1,
    });
    made.interactions.push(interaction);
    made.conversations.push(conversation);
}

fn parse(timestamp: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339).ok()
}

/// A moment between `from` and `to`, or `to` when the range is empty.
fn between(rng: &mut impl Rng, from: OffsetDateTime, to: OffsetDateTime) -> OffsetDateTime {
    let span = (to - from).whole_seconds();
    if span <= 0 {
        return to;
    }
    from + Duration::seconds(rng.random_range(0..span))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::demo::world;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-01 12:00 UTC)
    }

    #[test]
    fn every_reference_points_at_a_record_that_exists() {
        let (staff, people, made) = world(9, 300, now());
        let customers: HashSet<_> = people.iter().map(|c| &c.id).collect();
        let orders: HashSet<_> = made.orders.iter().map(|o| &o.id).collect();
        let conversations: HashSet<_> = made.conversations.iter().map(|c| &c.id).collect();
        let interactions: HashSet<_> = made.interactions.iter().map(|i| &i.id).collect();
        let agents: HashSet<_> = staff.agents.iter().map(|a| &a.id).collect();

        assert!(
            made.orders
                .iter()
                .all(|o| customers.contains(&o.customer_id)),
            "orders' owners"
        );
        assert!(
            made.deliveries.iter().all(|d| orders.contains(&d.order_id)),
            "deliveries' orders"
        );
        assert!(
            made.transactions
                .iter()
                .all(|t| t.order_id.as_ref().is_none_or(|o| orders.contains(o))),
            "transactions' orders"
        );
        assert!(
            made.interactions
                .iter()
                .all(|i| conversations.contains(&i.conversation_id)),
            "interactions' conversations"
        );
        assert!(
            made.messages
                .iter()
                .all(|m| interactions.contains(&m.interaction_id)),
            "messages' interactions"
        );
        assert!(
            made.wrap_ups.iter().all(|w| agents.contains(&w.agent_id)),
            "wrap-ups' agents"
        );
        assert!(
            made.notes
                .iter()
                .all(|n| customers.contains(&n.customer_id)),
            "notes' customers"
        );
    }

    #[test]
    fn money_adds_up() {
        let (_, _, made) = world(10, 300, now());
        for order in &made.orders {
            assert_eq!(
                order.total.minor,
                order.lines_total_minor(),
                "{} total = lines",
                order.number
            );
            let paid: i64 = made
                .transactions
                .iter()
                .filter(|t| t.order_id.as_ref() == Some(&order.id))
                .filter(|t| t.kind == TransactionKind::Payment)
                .map(|t| t.amount.minor)
                .sum();
            assert_eq!(
                paid, order.total.minor,
                "{} has one payment for its total",
                order.number
            );
        }
        let numbers: HashSet<_> = made.orders.iter().map(|o| &o.number).collect();
        assert_eq!(numbers.len(), made.orders.len(), "order numbers are unique");
    }

    #[test]
    fn parcels_move_forward_in_time_and_end_in_their_status() {
        let (_, _, made) = world(11, 300, now());
        for delivery in &made.deliveries {
            let last = delivery.history.last().expect("every parcel has events");
            assert_eq!(
                last.status, delivery.status,
                "the last event is the current status"
            );
            let times: Vec<_> = delivery.history.iter().map(|e| e.at.clone()).collect();
            let mut sorted = times.clone();
            sorted.sort();
            assert_eq!(
                times, sorted,
                "{} events are in time order",
                delivery.tracking_number
            );
        }
    }

    #[test]
    fn the_population_has_what_a_demo_needs_to_show() {
        let (_, _, made) = world(12, 1000, now());
        let in_flight = made
            .deliveries
            .iter()
            .filter(|d| d.status.in_flight())
            .count();
        let open_tickets = made.tickets.iter().filter(|t| t.status.is_open()).count();
        let abandoned = made
            .carts
            .iter()
            .filter(|c| c.last_activity_at < rfc3339(now() - Duration::days(1)))
            .count();
        let chats = made
            .interactions
            .iter()
            .filter(|i| i.channel == Channel::Chat)
            .count();
        let calls = made.interactions.len() - chats;

        assert!(
            in_flight > 20,
            "parcels in transit to ask about: {in_flight}"
        );
        assert!(open_tickets > 20, "open tickets to pop: {open_tickets}");
        assert!(abandoned > 10, "abandoned carts to follow up: {abandoned}");
        assert!(
            chats > 10 && calls > 10,
            "past chats ({chats}) and calls ({calls})"
        );
        assert!(!made.messages.is_empty(), "chats have messages");
    }

    #[test]
    fn a_seed_reproduces_the_whole_world() {
        assert_eq!(
            world(13, 50, now()),
            world(13, 50, now()),
            "same seed, same world"
        );
    }
}
