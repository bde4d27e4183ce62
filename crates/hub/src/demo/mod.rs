//! Demo data: a reproducible population of customers who look real but can never reach a real
//! person, because every number sits in a range regulators reserve for drama and every e-mail
//! domain is reserved by RFC 2606.

pub mod history;
pub mod life;
pub mod staff;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard_model::{Customer, CustomerId, Identity, IdentityKind};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

/// Where a demo customer lives, and how numbers and names are made there.
struct Region {
    country: &'static str,
    language: &'static str,
    cities: &'static [&'static str],
    given: &'static [&'static str],
    family: &'static [&'static str],
    /// Number ranges set aside for fiction, as (prefix, how many digits follow).
    fiction_ranges: &'static [(&'static str, u32)],
    mail_domains: &'static [&'static str],
}

const REGIONS: &[Region] = &[
    Region {
        country: "GB",
        language: "en-GB",
        cities: &[
            "London",
            "Leeds",
            "Manchester",
            "Bristol",
            "Glasgow",
            "Cardiff",
            "Belfast",
        ],
        given: &[
            "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Priya", "Arjun",
            "Fatima", "Yusuf", "Siobhan", "Callum", "Eilidh", "Rhys", "Grace", "Kwame", "Mei",
            "Tom", "Freya", "Jack", "Lily", "Alfie", "Poppy", "Leo", "Evie", "Oscar", "Zara",
            "Finley", "Imogen", "Aled", "Niamh", "Ciaran", "Aditi", "Bilal", "Chiara", "Dominika",
            "Ewan", "Hollie",
        ],
        family: &[
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Khan", "O'Neill", "Evans",
            "Thomas", "Roberts", "Campbell", "Hughes", "Okafor", "Chen", "Walker", "Wright",
            "Ahmed", "MacLeod", "Davies", "Wilson", "Johnson", "Robinson", "Thompson", "White",
            "Hall", "Green", "Wood", "Clarke", "Jackson", "Murphy", "Kaur", "Begum", "Nowak",
            "Fraser", "Ali", "Lewis", "Morgan", "Shah", "Reid",
        ],
        // Ofcom's drama ranges: mobiles 07700 900xxx and landlines such as 0113 496 0xxx.
        fiction_ranges: &[
            ("+447700900", 3),
            ("+441134960", 3),
            ("+441614960", 3),
            ("+441174960", 3),
            ("+441414960", 3),
            ("+442079460", 3),
        ],
        mail_domains: &["example.co.uk", "example.org", "example.net"],
    },
    Region {
        country: "US",
        language: "en-US",
        cities: &[
            "Chicago", "Seattle", "Boston", "Austin", "Denver", "Atlanta", "Portland",
        ],
        given: &[
            "James", "Olivia", "Liam", "Emma", "Lucas", "Sophia", "Mateo", "Isabella", "Ethan",
            "Camila", "Jamal", "Aaliyah", "Wei", "Hannah", "Diego", "Zoe", "Malik", "Nora",
            "Caleb", "Maya", "Elijah", "Ava", "Jayden", "Riley", "Andre", "Layla", "Carlos",
            "Priya", "Marcus", "Leah", "Owen", "Ximena", "Tyler", "Naomi", "Gabriel", "Stella",
            "Isaiah", "Chloe", "Darius", "Ruby",
        ],
        family: &[
            "Johnson",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Nguyen",
            "Kim",
            "Washington",
            "Lee",
            "Anderson",
            "Jackson",
            "Lopez",
            "Hernandez",
            "Cohen",
            "Rivera",
            "Wilson",
            "Moore",
            "Taylor",
            "Thomas",
            "White",
            "Harris",
            "Clark",
            "Lewis",
            "Robinson",
            "Walker",
            "Young",
            "Allen",
            "King",
            "Scott",
            "Green",
            "Baker",
            "Adams",
            "Nelson",
            "Hill",
            "Ramirez",
            "Campbell",
            "Mitchell",
            "Roberts",
            "Carter",
        ],
        // Numbers 555-0100 to 555-0199 are reserved for fiction in every area code.
        fiction_ranges: &[
            ("+131255501", 2),
            ("+120655501", 2),
            ("+161755501", 2),
            ("+151255501", 2),
            ("+130355501", 2),
            ("+140455501", 2),
            ("+150355501", 2),
            ("+120255501", 2),
            ("+141555501", 2),
            ("+121355501", 2),
            ("+130555501", 2),
            ("+161255501", 2),
            ("+161555501", 2),
            ("+170255501", 2),
            ("+171355501", 2),
            ("+180855501", 2),
            ("+190755501", 2),
            ("+191955501", 2),
            ("+197155501", 2),
            ("+198455501", 2),
        ],
        mail_domains: &["example.com", "example.net"],
    },
    Region {
        country: "FR",
        language: "fr-FR",
        cities: &[
            "Paris",
            "Lyon",
            "Marseille",
            "Toulouse",
            "Nantes",
            "Lille",
            "Bordeaux",
        ],
        given: &[
            "Camille", "Louis", "Léa", "Gabriel", "Chloé", "Hugo", "Manon", "Arthur", "Inès",
            "Jules", "Yasmine", "Théo", "Élodie", "Karim", "Emma", "Raphaël", "Louise", "Adam",
            "Jade", "Lucas", "Alice", "Nathan", "Lina", "Mathis", "Zoé", "Sacha", "Anaïs", "Rayan",
            "Clara", "Enzo", "Sarah", "Tom", "Juliette", "Mehdi", "Margaux", "Noé", "Océane",
            "Samir", "Lucie", "Paul",
        ],
        family: &[
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Benali",
            "Lefèvre",
            "Girard",
            "Nguyen",
            "Simon",
            "Laurent",
            "Michel",
            "Garcia",
            "David",
            "Bertrand",
            "Roux",
            "Vincent",
            "Fournier",
            "Morel",
            "Mercier",
            "Dupont",
            "Lambert",
            "Bonnet",
            "François",
            "Martinez",
            "Legrand",
            "Garnier",
            "Faure",
            "Rousseau",
            "Blanc",
            "Guérin",
            "Muller",
            "Henry",
            "Roussel",
            "Haddad",
        ],
        // ARCEP's ranges for fiction: 01 99 00 xx xx, 06 39 98 xx xx and others.
        fiction_ranges: &[
            ("+3319900", 4),
            ("+3363998", 4),
            ("+3326191", 4),
            ("+3346571", 4),
        ],
        mail_domains: &["example.fr", "example.org"],
    },
];

const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam Inc",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Blue Yonder Airlines",
    "Litware Inc",
];

const TIERS: &[(&str, u32)] = &[
    ("standard", 80),
    ("silver", 12),
    ("gold", 6),
    ("platinum", 2),
];

/// Makes `count` customers from `seed`; the same seed always gives the same people.
pub fn customers(seed: u64, count: usize, now: OffsetDateTime) -> Vec<Customer> {
    let mut population = Population::new(seed, now);
    (0..count).map(|_| population.next_customer()).collect()
}

/// An endless, reproducible stream of demo customers, made one at a time so that a population
/// of any size takes the memory of one batch.
///
/// Numbers are drawn without repeats while the fiction ranges last, except that about one
/// customer in twenty-five shares the household landline of the customer before, as families
/// do, so that the desktop must ask the agent which person is calling rather than guess.
pub struct Population {
    rng: ChaCha8Rng,
    numbers: NumberPool,
    index: usize,
    now: OffsetDateTime,
    /// The previous customer's primary phone, which a household member may share.
    previous_phone: Option<String>,
}

impl std::fmt::Debug for Population {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Population")
            .field("made", &self.index)
            .finish()
    }
}

impl Population {
    pub fn new(seed: u64, now: OffsetDateTime) -> Population {
        Population {
            rng: ChaCha8Rng::seed_from_u64(seed),
            numbers: NumberPool::default(),
            index: 0,
            now,
            previous_phone: None,
        }
    }

    /// The next customer.
    pub fn next_customer(&mut self) -> Customer {
        let index = self.index;
        self.index += 1;
        let rng = &mut self.rng;
        let region = &REGIONS[index % REGIONS.len()];
        let given = *region.given.choose(rng).unwrap_or(&"Alex");
        let family = *region.family.choose(rng).unwrap_or(&"Doe");
        let display_name = format!("{given} {family}");

        let mut identities = Vec::with_capacity(3);
        let mobile = self.numbers.next(region);
        identities.push(phone(mobile.clone(), "mobile", true));

        let shares_household = index > 0 && rng.random_ratio(1, 25);
        if shares_household {
            if let Some(landline) = &self.previous_phone {
                identities.push(phone(landline.clone(), "home", false));
            }
        } else if rng.random_ratio(1, 3) {
            identities.push(phone(self.numbers.next(region), "home", false));
        }
        self.previous_phone = Some(mobile);

        let domain = region.mail_domains.choose(rng).unwrap_or(&"example.org");
        identities.push(Identity {
            kind: IdentityKind::Email,
            value: format!(
                "{}.{}{}@{domain}",
                ascii_lower(given),
                ascii_lower(family),
                index
            ),
            label: None,
            primary: true,
        });

        let company = rng.random_ratio(1, 5).then(|| {
            COMPANIES
                .choose(rng)
                .map(|name| (*name).to_owned())
                .unwrap_or_default()
        });
        let since = self.now - Duration::days(rng.random_range(30..3650));
        let changed = since + Duration::days(rng.random_range(0..30));

        Customer {
            id: CustomerId::from_number(rng.random()),
            display_name,
            company,
            language: region.language.to_owned(),
            city: region.cities.choose(rng).map(|city| (*city).to_owned()),
            country: Some(region.country.to_owned()),
            tier: weighted_tier(rng).to_owned(),
            created_at: rfc3339(since),
            updated_at: rfc3339(changed),
            identities,
        }
    }
}

/// A whole demo population: the staff, `count` customers, and every customer's history. The
/// histories use their own random stream, so adding history never changes who the customers
/// are for a seed.
pub fn world(
    seed: u64,
    count: usize,
    now: OffsetDateTime,
) -> (staff::Staff, Vec<Customer>, history::History) {
    let mut world = WorldStream::new(seed, now);
    let (people, history) = world.next_batch(count);
    (world.staff, people, history)
}

/// The demo world made batch by batch: customers with their histories, in the same order and
/// with the same content however the batches are cut.
#[derive(Debug)]
pub struct WorldStream {
    pub staff: staff::Staff,
    population: Population,
    history_rng: ChaCha8Rng,
    order_numbers: u64,
    now: OffsetDateTime,
}

impl WorldStream {
    pub fn new(seed: u64, now: OffsetDateTime) -> WorldStream {
        WorldStream {
            staff: staff::staff(now),
            population: Population::new(seed, now),
            history_rng: ChaCha8Rng::seed_from_u64(seed.wrapping_add(0x5eed)),
            order_numbers: 100_000,
            now,
        }
    }

    /// The next `count` customers and their histories.
    pub fn next_batch(&mut self, count: usize) -> (Vec<Customer>, history::History) {
        let mut people = Vec::with_capacity(count);
        let mut all = history::History::default();
        for _ in 0..count {
            let customer = self.population.next_customer();
            let one = history::history(
                &mut self.history_rng,
                &customer,
                &self.staff,
                self.now,
                &mut self.order_numbers,
            );
            all.absorb(one);
            people.push(customer);
        }
        (people, all)
    }
}

fn phone(value: String, label: &str, primary: bool) -> Identity {
    Identity {
        kind: IdentityKind::Phone,
        value,
        label: Some(label.to_owned()),
        primary,
    }
}

fn weighted_tier(rng: &mut impl Rng) -> &'static str {
    let total: u32 = TIERS.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total);
    for (tier, weight) in TIERS {
        if roll < *weight {
            return tier;
        }
        roll -= weight;
    }
    TIERS[0].0
}

/// Lower-cases a name and folds it to ASCII letters, for the local part of an e-mail address:
/// accents lose their marks ("Anaïs" gives "anais") and apostrophes and spaces go.
fn ascii_lower(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' => Some('a'),
            'ç' => Some('c'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' => Some('i'),
            'ô' | 'ö' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            c if c.is_ascii_alphabetic() => Some(c),
            _ => None,
        })
        .collect()
}

fn rfc3339(at: OffsetDateTime) -> String {
    // Formatting a UTC timestamp in RFC 3339 cannot fail for years 0 to 9999.
    at.format(&Rfc3339).unwrap_or_default()
}

/// Hands out fictional numbers without repeats, walking each region's ranges in order.
#[derive(Default)]
struct NumberPool {
    issued: std::collections::HashMap<&'static str, u64>,
}

impl NumberPool {
    fn next(&mut self, region: &'static Region) -> String {
        let capacity: u64 = region
            .fiction_ranges
            .iter()
            .map(|(_, digits)| 10u64.pow(*digits))
            .sum();
        let issued = self.issued.entry(region.country).or_default();

        // Once a region's fiction ranges run out, numbers repeat; the demo then has more shared
        // numbers than a real population, which the desktop must handle anyway.
        let mut slot = *issued % capacity;
        *issued += 1;

        let mut number = String::new();
        for (prefix, digits) in region.fiction_ranges {
            let size = 10u64.pow(*digits);
            if slot < size {
                number = format!("{prefix}{slot:0width$}", width = *digits as usize);
                break;
            }
            slot -= size;
        }
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-01 12:00 UTC)
    }

    #[test]
    fn e_mail_names_fold_accents_instead_of_dropping_letters() {
        assert_eq!(
            ascii_lower("Anaïs"),
            "anais",
            "the diaeresis goes, the letter stays"
        );
        assert_eq!(ascii_lower("François"), "francois", "ç becomes c");
        assert_eq!(ascii_lower("O'Neill"), "oneill", "apostrophes are dropped");
        assert_eq!(
            ascii_lower("Élodie"),
            "elodie",
            "capitals with accents fold too"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_people() {
        assert_eq!(
            customers(7, 50, now()),
            customers(7, 50, now()),
            "demo data must be reproducible so that tests and bug reports can refer to it"
        );
        assert_ne!(
            customers(7, 50, now()),
            customers(8, 50, now()),
            "another seed, other people"
        );
    }

    #[test]
    fn every_customer_is_reachable_and_ids_are_unique() {
        let people = customers(1, 500, now());
        let ids: HashSet<_> = people.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), people.len(), "customer ids never collide");

        for customer in &people {
            let phone = customer
                .primary(IdentityKind::Phone)
                .expect("every customer has a phone");
            assert!(
                phone.value.starts_with('+'),
                "{} is not in E.164",
                phone.value
            );
            let digits = phone.value.len() - 1;
            assert!(
                (8..=15).contains(&digits),
                "{} has an impossible length",
                phone.value
            );

            let email = customer
                .primary(IdentityKind::Email)
                .expect("every customer has e-mail");
            assert!(
                email.value.contains("@example."),
                "{} is not reserved",
                email.value
            );
        }
    }

    #[test]
    fn some_households_share_a_number_but_mobiles_are_personal() {
        let people = customers(3, 600, now());

        let mobiles: Vec<_> = people
            .iter()
            .filter_map(|c| c.primary(IdentityKind::Phone).map(|i| i.value.clone()))
            .collect();
        let distinct: HashSet<_> = mobiles.iter().collect();
        assert_eq!(
            distinct.len(),
            mobiles.len(),
            "within capacity, mobiles are never reused"
        );

        let shared = people
            .iter()
            .flat_map(|c| {
                c.identities
                    .iter()
                    .filter(|i| i.label.as_deref() == Some("home"))
            })
            .filter(|home| mobiles.contains(&home.value))
            .count();
        assert!(
            shared > 0,
            "some customers must share a number, so the picker has work to do"
        );
    }
}
