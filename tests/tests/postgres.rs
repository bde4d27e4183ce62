//! The PostgreSQL harness the hub's database tests stand on: it must give each test a private,
//! working server on loopback and leave nothing running behind.

use switchboard_tests::postgres::{Postgres, ROLE};
use switchboard_tests::wait;

#[test]
fn a_private_server_starts_answers_and_is_gone_afterwards() -> anyhow::Result<()> {
    let port = {
        let server = Postgres::start()?;
        assert!(
            server.url.starts_with("postgres://"),
            "a URL the hub can take: {}",
            server.url
        );

        let answer =
            server.psql("SELECT current_user || ' ' || current_setting('listen_addresses')")?;
        assert_eq!(
            answer,
            format!("{ROLE} 127.0.0.1"),
            "the test role, on loopback only"
        );

        server.psql("CREATE TABLE probe (n integer); INSERT INTO probe VALUES (41), (1)")?;
        assert_eq!(
            server.psql("SELECT sum(n) FROM probe")?,
            "42",
            "the server stores and reads"
        );
        server.port
    };

    assert!(
        !wait::port_open(port),
        "the server is stopped when the harness is dropped"
    );
    Ok(())
}
