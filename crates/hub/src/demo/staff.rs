//! The demo tenant's people and queues: a small contact centre with agents on each shift, a
//! supervisor and an admin, and queues for the usual reasons customers get in touch.

use switchboard_model::{
    Agent, AgentId, AgentState, Capacity, Channel, Queue, QueueId, Record, Role, Tenant, TenantId,
};
use time::OffsetDateTime;

use super::rfc3339;

/// The demo tenant and everyone in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub tenant: Tenant,
    pub agents: Vec<Agent>,
    pub queues: Vec<Queue>,
}

const PEOPLE: &[(&str, &str, Role)] = &[
    ("Maya Lindqvist", "maya", Role::Agent),
    ("Tomás Ferreira", "tomas", Role::Agent),
    ("Aisha Mensah", "aisha", Role::Agent),
    ("Ben Carter", "ben", Role::Agent),
    ("Hana Sato", "hana", Role::Agent),
    ("Luca Romano", "luca", Role::Agent),
    ("Priya Raman", "priya", Role::Supervisor),
    ("Sam Okoro", "sam", Role::Admin),
];

const QUEUES: &[(&str, &[Channel])] = &[
    ("Orders and deliveries", &[Channel::Call, Channel::Chat]),
    ("Billing and refunds", &[Channel::Call, Channel::Chat]),
    ("General questions", &[Channel::Chat]),
];

/// The demo staff, the same on every run so that demo logins can be documented.
pub fn staff(now: OffsetDateTime) -> Staff {
    let queues: Vec<Queue> = QUEUES
        .iter()
        .enumerate()
        .map(|(index, (name, channels))| Queue {
            id: QueueId::from_number(index as u64 + 1),
            name: (*name).to_owned(),
            channels: channels.to_vec(),
            offer_timeout_seconds: 20,
            version: 1,
        })
        .collect();
    let all_queues: Vec<QueueId> = queues.iter().map(|queue| queue.id.clone()).collect();

    let agents = PEOPLE
        .iter()
        .enumerate()
        .map(|(index, (name, login, role))| Agent {
            id: AgentId::from_number(index as u64 + 1),
            display_name: (*name).to_owned(),
            login: format!("{login}@demo.example.com"),
            role: *role,
            state: AgentState::Offline,
            state_since: rfc3339(now),
            capacity: Capacity { calls: 1, chats: 3 },
            queues: all_queues.clone(),
            version: 1,
        })
        .collect();

    Staff {
        tenant: Tenant {
            id: TenantId::from_number(1),
            name: "Northwind Retail".to_owned(),
        },
        agents,
        queues,
    }
}

impl Staff {
    /// The agents and queues as change-feed records.
    pub fn into_records(self) -> impl Iterator<Item = Record> {
        let agents = self.agents.into_iter().map(Record::Agent);
        agents.chain(self.queues.into_iter().map(Record::Queue))
    }

    /// The agents who handle customers (not the admin), for attributing past work.
    pub fn handlers(&self) -> impl Iterator<Item = &Agent> {
        self.agents.iter().filter(|agent| agent.role != Role::Admin)
    }
}
