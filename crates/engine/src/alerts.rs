//! What must reach the agent when the window is not in front: a call that starts ringing, a
//! chat or call offered to them. A pure fold over what rings and what is offered, so that the
//! desktop announces each one once (a native notification, the taskbar asking for attention)
//! and shows how many wait (the tray). The words name who calls or writes, never what they
//! wrote.

use std::collections::HashSet;

use serde::Serialize;
use switchboard_model::Channel;

use crate::calls::CallBoard;
use crate::work::OfferView;

/// One thing to announce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// What was announced already, and what waits now.
#[derive(Debug, Default)]
pub struct Alerts {
    ringing: HashSet<String>,
    offered: HashSet<String>,
}

impl Alerts {
    /// The calls that started ringing since the last look at `board`.
    pub fn look_at_calls(&mut self, board: &CallBoard) -> Vec<Alert> {
        let now: HashSet<String> = board.ringing().map(|view| view.id.clone()).collect();
        let fresh = board
            .ringing()
            .filter(|view| !self.ringing.contains(&view.id))
            .map(|view| {
                let who = match view.customers.as_slice() {
                    [only] => only.display_name.clone(),
                    [] => view
                        .display_name
                        .clone()
                        .unwrap_or_else(|| view.number.clone()),
                    several => format!("{} ({} customers share it)", view.number, several.len()),
                };
                Alert {
                    title: format!("Call from {who}"),
                    body: "Ringing: answer in Switchboard (Alt+A)".to_owned(),
                }
            })
            .collect();
        self.ringing = now;
        fresh
    }

    /// The offers made since the last look at `offers`.
    pub fn look_at_offers(&mut self, offers: &[OfferView]) -> Vec<Alert> {
        let now: HashSet<String> = offers
            .iter()
            .map(|offer| offer.offer.id.to_string())
            .collect();
        let fresh = offers
            .iter()
            .filter(|offer| !self.offered.contains(offer.offer.id.as_str()))
            .map(|offer| {
                let what = match offer.offer.channel {
                    Channel::Chat => "Chat",
                    Channel::Call => "Call",
                };
                let who = offer
                    .customer
                    .as_ref()
                    .map_or("a customer", |customer| customer.display_name.as_str());
                Alert {
                    title: format!("{what} offered: {who}"),
                    body: "Accept or decline it in Switchboard".to_owned(),
                }
            })
            .collect();
        self.offered = now;
        fresh
    }

    /// How many calls ring and offers wait now: the tray's count.
    pub fn waiting(&self) -> usize {
        self.ringing.len() + self.offered.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use switchboard_model::{
        AgentId, CustomerId, CustomerSummary, InteractionId, Offer, OfferId, OfferState, QueueId,
    };
    use switchboard_voice::call::CallEvent;
    use switchboard_voice::phone::PhoneEvent;

    use super::*;

    fn offer(id: u64, name: Option<&str>) -> OfferView {
        OfferView {
            offer: Offer {
                id: OfferId::from_number(id),
                interaction_id: InteractionId::from_number(id),
                customer_id: CustomerId::from_number(1),
                queue_id: QueueId::from_number(1),
                channel: Channel::Chat,
                agent_id: AgentId::from_number(1),
                state: OfferState::Pending,
                offered_at: "2026-12-04T10:00:00Z".to_owned(),
                expires_at: "2026-12-04T10:00:30Z".to_owned(),
                version: 1,
            },
            customer: name.map(|name| CustomerSummary {
                id: CustomerId::from_number(1),
                display_name: name.to_owned(),
                company: None,
                primary_phone: None,
                primary_email: None,
            }),
        }
    }

    #[test]
    fn each_call_and_offer_is_announced_once() {
        let mut alerts = Alerts::default();
        let mut board = CallBoard::default();
        board.apply(
            PhoneEvent::Call(CallEvent::Incoming {
                call: "c1".into(),
                caller: "+447700900123".into(),
                display_name: None,
            }),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        );
        let fresh = alerts.look_at_calls(&board);
        assert_eq!(
            fresh.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(),
            vec!["Call from +447700900123"],
            "an unknown number is announced by its number"
        );
        assert!(
            alerts.look_at_calls(&board).is_empty(),
            "a call still ringing is not announced again"
        );

        let offers = vec![offer(1, Some("Ada Lovelace")), offer(2, None)];
        let titles: Vec<String> = alerts
            .look_at_offers(&offers)
            .into_iter()
            .map(|alert| alert.title)
            .collect();
        assert_eq!(
            titles,
            vec!["Chat offered: Ada Lovelace", "Chat offered: a customer"]
        );
        assert_eq!(alerts.waiting(), 3, "one call rings and two offers wait");
        assert!(
            alerts.look_at_offers(&offers[1..]).is_empty(),
            "a withdrawn offer is no news"
        );
        assert_eq!(alerts.waiting(), 2);
    }
}
