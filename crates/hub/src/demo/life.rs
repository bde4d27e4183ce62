//! A demo hub's life: customers who open web chats and call, and answer when an agent writes;
//! parcels that move on; carts that fill up. Everything goes through the same database writes
//! and routing as real traffic, so the desktop cannot tell a simulated customer from a real one.
//!
//! The script a customer follows depends on what they have: someone with a parcel on its way
//! asks about the parcel by its order number, someone with a full cart asks about checkout.

use std::collections::HashMap;
use std::time::Duration;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard_model::{
    Author, Change, Channel, Conversation, ConversationId, CustomerId, CustomerSummary,
    DeliveryEvent, DeliveryStatus, Direction, Interaction, InteractionId, InteractionState,
    LineItem, Message, MessageId, Queue, Record, RecordKind, TenantId,
};
use tokio::time::Instant;

use crate::db::records::Expect;
use crate::db::{Database, DbError};
use crate::{now_rfc3339, now_rfc3339_millis, routing};

/// How often the simulation looks around.
const TICK: Duration = Duration::from_secs(1);

/// How many customers the simulation draws its callers from.
const CAST: usize = 400;

/// A simulated customer gives up waiting after this long.
const PATIENCE: Duration = Duration::from_secs(240);

/// How the simulation behaves.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// On average, one new chat or call this often.
    pub contact_every: Duration,
    /// On average, one parcel moves on this often.
    pub parcel_every: Duration,
    /// On average, one cart changes this often.
    pub cart_every: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            contact_every: Duration::from_secs(40),
            parcel_every: Duration::from_secs(20),
            cart_every: Duration::from_secs(30),
        }
    }
}

/// What a simulated customer says: an opening line and replies, one per agent message.
struct Script {
    opening: &'static str,
    replies: &'static [&'static str],
}

const PARCEL: Script = Script {
    opening: "Hi, my order {order} hasn't arrived yet. Can you tell me where it is?",
    replies: &[
        "The tracking page says {status}, but nothing has changed for a while.",
        "It's with {carrier}, tracking number {tracking}.",
        "OK. Will it come tomorrow then?",
        "Great, thank you for checking!",
    ],
};

const REFUND: Script = Script {
    opening: "Hello, I was charged for order {order} but I'd like to return part of it. How do I get a refund?",
    replies: &[
        "It's the {item}. It arrived fine, I just don't need it any more.",
        "Do I need to print a label, or can I drop it at a shop?",
        "Perfect, and how long does the refund take?",
        "Thanks, that's all I needed.",
    ],
};

const CART: Script = Script {
    opening: "I'm trying to check out but the page keeps timing out. I have {count} things in my cart.",
    replies: &[
        "It's the {item}, mostly. I don't want to lose it.",
        "I'm on my phone, if that matters.",
        "It went through now, thank you!",
    ],
};

const GENERAL: Script = Script {
    opening: "Hi, can I change the e-mail address on my account?",
    replies: &[
        "I'd like to use my work address instead.",
        "Yes, that's right.",
        "Brilliant, thanks a lot.",
    ],
};

/// One simulated customer in contact now.
struct Caller {
    customer: CustomerId,
    conversation: ConversationId,
    channel: Channel,
    script: &'static Script,
    facts: HashMap<&'static str, String>,
    replies_sent: usize,
    reply_due: Option<Instant>,
    started: Instant,
    /// For calls: when the customer hangs up once connected.
    hang_up_at: Option<Instant>,
}

/// The simulation of one tenant.
pub struct Life {
    db: Database,
    tenant: TenantId,
    pace: Pace,
    rng: ChaCha8Rng,
    cast: Vec<CustomerSummary>,
    callers: HashMap<InteractionId, Caller>,
    /// Where the simulation has read the feed up to.
    cursor: i64,
}

impl std::fmt::Debug for Life {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Life")
            .field("tenant", &self.tenant)
            .field("callers", &self.callers.len())
            .finish()
    }
}

impl Life {
    /// Starts simulating life in `tenant` until the database closes.
    pub async fn start(db: Database, tenant: TenantId, pace: Pace) -> Result<(), DbError> {
        let mut cast = Vec::new();
        let mut after: Option<(String, String)> = None;
        while cast.len() < CAST {
            let page = db
                .search_customers(
                    &tenant,
                    None,
                    after.as_ref().map(|(k, i)| (k.as_str(), i.as_str())),
                    200,
                )
                .await?;
            let Some((key, last)) = page.last().map(|(key, c)| (key.clone(), c.id.to_string()))
            else {
                break;
            };
            let full = page.len() == 200;
            cast.extend(page.into_iter().map(|(_, summary)| summary));
            after = Some((key, last));
            if !full {
                break;
            }
        }
        let cursor = db.last_seq(&tenant).await?;
        let life = Life {
            db,
            tenant,
            pace,
            rng: ChaCha8Rng::from_os_rng(),
            cast,
            callers: HashMap::new(),
            cursor,
        };
        tracing::info!(tenant = %life.tenant, cast = life.cast.len(), "demo life simulation started");
        tokio::spawn(life.run());
        Ok(())
    }

    async fn run(mut self) {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if self.db.pool().is_closed() {
                return;
            }
            if let Err(error) = self.step().await {
                tracing::warn!(%error, "demo simulation step failed; going on");
            }
        }
    }

    /// Whether something that happens on average every `every` happens in this tick.
    fn chance(&mut self, every: Duration) -> bool {
        let ticks = (every.as_secs_f64() / TICK.as_secs_f64()).max(1.0);
        self.rng.random_bool((1.0 / ticks).min(1.0))
    }

    async fn step(&mut self) -> Result<(), DbError> {
        self.listen().await?;
        self.answer().await?;
        if self.chance(self.pace.contact_every) {
            self.new_contact().await?;
        }
        if self.chance(self.pace.parcel_every) {
            self.move_a_parcel().await?;
        }
        if self.chance(self.pace.cart_every) {
            self.fill_a_cart().await?;
        }
        Ok(())
    }

    /// Reads what happened since the last step: agents' messages to simulated customers, and
    /// their interactions being answered or ended.
    async fn listen(&mut self) -> Result<(), DbError> {
        loop {
            let page = self.db.changes(&self.tenant, self.cursor, 500).await?;
            for change in &page.changes {
                let Change::Upsert { record, .. } = change else {
                    continue;
                };
                match &**record {
                    Record::Message(message) if matches!(message.author, Author::Agent(_)) => {
                        if let Some(caller) = self.callers.get_mut(&message.interaction_id) {
                            let delay = Duration::from_secs(self.rng.random_range(3..9));
                            caller.reply_due = Some(Instant::now() + delay);
                        }
                    }
                    Record::Interaction(interaction) => {
                        if !interaction.state.is_open() {
                            self.callers.remove(&interaction.id);
                        } else if interaction.state == InteractionState::Active
                            && let Some(caller) = self.callers.get_mut(&interaction.id)
                            && caller.channel == Channel::Call
                            && caller.hang_up_at.is_none()
                        {
                            let talk = Duration::from_secs(self.rng.random_range(45..150));
                            caller.hang_up_at = Some(Instant::now() + talk);
                        }
                    }
                    _ => {}
                }
            }
            self.cursor = page.cursor.0.parse().unwrap_or(self.cursor);
            if !page.has_more {
                return Ok(());
            }
        }
    }

    /// Sends the replies that are due, hangs up finished calls, and lets customers who waited
    /// too long give up.
    async fn answer(&mut self) -> Result<(), DbError> {
        let now = Instant::now();
        let ids: Vec<InteractionId> = self.callers.keys().cloned().collect();
        for id in ids {
            let Some(caller) = self.callers.get_mut(&id) else {
                continue;
            };
            let done_talking = caller.hang_up_at.is_some_and(|at| at <= now);
            let gave_up = caller.hang_up_at.is_none()
                && caller.replies_sent == 0
                && caller.reply_due.is_none()
                && now.duration_since(caller.started) > PATIENCE;
            if done_talking || gave_up {
                self.callers.remove(&id);
                match routing::end(&self.db, &self.tenant, id.as_str()).await {
                    Ok(_) | Err(routing::RoutingError::AlreadyEnded) => {}
                    Err(routing::RoutingError::Db(error)) => return Err(error),
                    Err(error) => tracing::debug!(%error, "a simulated customer could not leave"),
                }
                continue;
            }
            if caller.reply_due.is_some_and(|at| at <= now) {
                caller.reply_due = None;
                let Some(line) = caller.script.replies.get(caller.replies_sent) else {
                    continue;
                };
                let body = fill(line, &caller.facts);
                caller.replies_sent += 1;
                let message = Message {
                    id: MessageId::from_number(self.rng.random()),
                    interaction_id: id.clone(),
                    conversation_id: caller.conversation.clone(),
                    author: Author::Customer(caller.customer.clone()),
                    body,
                    sent_at: now_rfc3339_millis(),
                };
                self.db
                    .put_records(&self.tenant, &[Record::Message(message)])
                    .await?;
            }
        }
        Ok(())
    }

    /// A customer from the cast gets in touch, by chat or by phone, about something they have.
    async fn new_contact(&mut self) -> Result<(), DbError> {
        let Some(customer) = self.cast.choose(&mut self.rng).cloned() else {
            return Ok(());
        };
        let queues: Vec<Queue> = self
            .db
            .records_of_kind(&self.tenant, RecordKind::Queue)
            .await?
            .into_iter()
            .filter_map(|stored| match stored.record {
                Record::Queue(queue) => Some(queue),
                _ => None,
            })
            .collect();
        let channel = if self.rng.random_bool(0.35) && customer.primary_phone.is_some() {
            Channel::Call
        } else {
            Channel::Chat
        };
        let Some(queue) = queues
            .iter()
            .filter(|queue| queue.channels.contains(&channel))
            .collect::<Vec<_>>()
            .choose(&mut self.rng)
            .map(|queue| (*queue).clone())
        else {
            return Ok(());
        };

        let records = self
            .db
            .customer_records(&self.tenant, &customer.id, None, 500)
            .await?;
        let (script, facts) = self.script_for(&records);

        let now = now_rfc3339();
        let conversation = Conversation {
            id: ConversationId::from_number(self.rng.random()),
            customer_id: customer.id.clone(),
            topic: None,
            opened_at: now.clone(),
            closed_at: None,
            version: 0,
        };
        let interaction = Interaction {
            id: InteractionId::from_number(self.rng.random()),
            conversation_id: conversation.id.clone(),
            customer_id: customer.id.clone(),
            channel,
            direction: Direction::Inbound,
            state: InteractionState::Queued,
            queue_id: Some(queue.id.clone()),
            agent_id: None,
            remote_number: (channel == Channel::Call)
                .then(|| customer.primary_phone.clone())
                .flatten(),
            started_at: now.clone(),
            answered_at: None,
            ended_at: None,
            offered_to: Vec::new(),
            version: 0,
        };
        let mut changes = vec![
            (Record::Conversation(conversation.clone()), Expect::Absent),
            (Record::Interaction(interaction.clone()), Expect::Absent),
        ];
        if channel == Channel::Chat {
            changes.push((
                Record::Message(Message {
                    id: MessageId::from_number(self.rng.random()),
                    interaction_id: interaction.id.clone(),
                    conversation_id: conversation.id.clone(),
                    author: Author::Customer(customer.id.clone()),
                    body: fill(script.opening, &facts),
                    sent_at: now_rfc3339_millis(),
                }),
                Expect::Absent,
            ));
        }
        if let Err(error) = self.db.write_together(&self.tenant, changes).await {
            tracing::debug!(%error, "a simulated contact did not start");
            return Ok(());
        }
        tracing::info!(
            interaction = %interaction.id,
            channel = ?channel,
            queue = %queue.name,
            "a simulated customer got in touch"
        );
        self.callers.insert(
            interaction.id,
            Caller {
                customer: customer.id,
                conversation: conversation.id,
                channel,
                script,
                facts,
                replies_sent: 0,
                reply_due: None,
                started: Instant::now(),
                hang_up_at: None,
            },
        );
        Ok(())
    }

    /// Picks what a customer talks about from what they have, with the facts to quote.
    fn script_for(
        &mut self,
        records: &[crate::db::records::Stored],
    ) -> (&'static Script, HashMap<&'static str, String>) {
        let mut facts = HashMap::new();
        let orders: HashMap<String, String> = records
            .iter()
            .filter_map(|stored| match &stored.record {
                Record::Order(order) => Some((order.id.to_string(), order.number.clone())),
                _ => None,
            })
            .collect();

        let moving = records.iter().find_map(|stored| match &stored.record {
            Record::Delivery(delivery) if delivery.status.in_flight() => Some(delivery),
            _ => None,
        });
        if let Some(delivery) = moving
            && let Some(number) = orders.get(delivery.order_id.as_str())
        {
            facts.insert("order", number.clone());
            facts.insert("carrier", delivery.carrier.clone());
            facts.insert("tracking", delivery.tracking_number.clone());
            facts.insert("status", status_words(delivery.status).to_owned());
            return (&PARCEL, facts);
        }
        let cart = records.iter().find_map(|stored| match &stored.record {
            Record::Cart(cart) if !cart.items.is_empty() => Some(cart),
            _ => None,
        });
        if let Some(cart) = cart
            && self.rng.random_bool(0.5)
        {
            facts.insert("count", cart.items.len().to_string());
            facts.insert("item", cart.items[0].description.to_lowercase());
            return (&CART, facts);
        }
        let order = records.iter().find_map(|stored| match &stored.record {
            Record::Order(order) if !order.lines.is_empty() => Some(order),
            _ => None,
        });
        if let Some(order) = order {
            facts.insert("order", order.number.clone());
            facts.insert("item", order.lines[0].description.to_lowercase());
            return (&REFUND, facts);
        }
        (&GENERAL, facts)
    }

    /// One parcel on its way takes its next step.
    async fn move_a_parcel(&mut self) -> Result<(), DbError> {
        let Some(customer) = self.cast.choose(&mut self.rng).map(|c| c.id.clone()) else {
            return Ok(());
        };
        let deliveries = self
            .db
            .customer_records(&self.tenant, &customer, Some(RecordKind::Delivery), 50)
            .await?;
        let Some(stored) = deliveries.into_iter().find(|stored| {
            matches!(&stored.record, Record::Delivery(delivery) if delivery.status.in_flight())
        }) else {
            return Ok(());
        };
        let Record::Delivery(mut delivery) = stored.record else {
            return Ok(());
        };
        let next = match delivery.status {
            DeliveryStatus::LabelCreated => DeliveryStatus::InTransit,
            DeliveryStatus::InTransit => DeliveryStatus::OutForDelivery,
            DeliveryStatus::OutForDelivery | DeliveryStatus::Exception => DeliveryStatus::Delivered,
            DeliveryStatus::Delivered | DeliveryStatus::Returned => return Ok(()),
        };
        let now = now_rfc3339();
        delivery.status = next;
        delivery.history.push(DeliveryEvent {
            status: next,
            location: super::history::DEPOTS
                .choose(&mut self.rng)
                .map(|depot| (*depot).to_owned()),
            at: now.clone(),
        });
        delivery.updated_at = now;
        let id = delivery.id.to_string();
        let version = stored.version;
        let written = self
            .db
            .write::<()>(&self.tenant, &id, None, Expect::Version(version), |_| {
                Ok(Record::Delivery(delivery))
            })
            .await;
        if let Err(crate::db::records::WriteError::Db(error)) = written {
            return Err(error);
        }
        tracing::debug!(delivery = %id, status = status_words(next), "a parcel moved on");
        Ok(())
    }

    /// A customer adds something to their cart.
    async fn fill_a_cart(&mut self) -> Result<(), DbError> {
        let Some(customer) = self.cast.choose(&mut self.rng).map(|c| c.id.clone()) else {
            return Ok(());
        };
        let carts = self
            .db
            .customer_records(&self.tenant, &customer, Some(RecordKind::Cart), 5)
            .await?;
        let Some(stored) = carts.into_iter().next() else {
            return Ok(());
        };
        let Record::Cart(mut cart) = stored.record else {
            return Ok(());
        };
        let Some((sku, description, price)) =
            super::history::CATALOGUE.choose(&mut self.rng).copied()
        else {
            return Ok(());
        };
        match cart.items.iter_mut().find(|item| item.sku == sku) {
            Some(item) => item.quantity += 1,
            None => cart.items.push(LineItem {
                sku: sku.to_owned(),
                description: description.to_owned(),
                quantity: 1,
                unit_price_minor: price,
            }),
        }
        cart.last_activity_at = now_rfc3339();
        let id = cart.id.to_string();
        let written = self
            .db
            .write::<()>(
                &self.tenant,
                &id,
                None,
                Expect::Version(stored.version),
                |_| Ok(Record::Cart(cart)),
            )
            .await;
        if let Err(crate::db::records::WriteError::Db(error)) = written {
            return Err(error);
        }
        Ok(())
    }
}

/// A parcel's status as a customer would say it.
fn status_words(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::LabelCreated => "label created",
        DeliveryStatus::InTransit => "in transit",
        DeliveryStatus::OutForDelivery => "out for delivery",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Exception => "delayed",
        DeliveryStatus::Returned => "returned",
    }
}

/// Fills `{name}` placeholders from `facts`; unknown ones read as "it".
fn fill(line: &str, facts: &HashMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &rest[start + 1..start + end];
        out.push_str(facts.get(name).map_or("it", String::as_str));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_read_naturally() {
        let mut facts = HashMap::new();
        facts.insert("order", "SB-100123".to_owned());
        assert_eq!(
            fill("Order {order} is late.", &facts),
            "Order SB-100123 is late.",
            "a known fact is quoted"
        );
        assert_eq!(
            fill("Is {thing} here?", &facts),
            "Is it here?",
            "an unknown one reads as it"
        );
        assert_eq!(
            fill("No braces", &facts),
            "No braces",
            "plain lines pass unchanged"
        );
        assert_eq!(
            fill("Open {brace", &facts),
            "Open {brace",
            "a lone brace is kept"
        );
    }

    #[test]
    fn every_script_names_only_facts_its_topic_provides() {
        let provided: &[(&Script, &[&str])] = &[
            (&PARCEL, &["order", "carrier", "tracking", "status"]),
            (&REFUND, &["order", "item"]),
            (&CART, &["count", "item"]),
            (&GENERAL, &[]),
        ];
        for (script, names) in provided {
            for line in std::iter::once(&script.opening).chain(script.replies.iter()) {
                let mut rest = *line;
                while let Some(start) = rest.find('{') {
                    let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
                    let name = &rest[start + 1..end];
                    assert!(
                        names.contains(&name),
                        "{line:?} uses {name:?}, which its topic lacks"
                    );
                    rest = &rest[end..];
                }
            }
        }
    }
}
