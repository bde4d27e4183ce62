//! The change feed as the API writes it (straight from the stored bodies) against the typed
//! page the rest of the hub reads: the same changes, cursors and flags, whatever the page.

use switchboard_hub::db::Database;
use switchboard_hub::{demo_tenant, seed_demo};
use switchboard_model::ChangePage;

#[tokio::test]
async fn the_feed_written_as_json_is_the_typed_feed() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let db = Database::open_folder(data.path()).await?;
    seed_demo(&db, 9, 25).await?;
    let tenant = demo_tenant();

    // A deletion, so that tombstones are written too.
    let all = db.changes(&tenant, 0, 100_000).await?;
    let note = all
        .changes
        .iter()
        .find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. }
                if record.kind() == switchboard_model::RecordKind::Note =>
            {
                Some(record.id().to_owned())
            }
            _ => None,
        })
        .expect("the demo has notes");
    assert!(
        db.delete_record(&tenant, &note).await?,
        "the note existed, so it is deleted"
    );
    let last = db.last_seq(&tenant).await?;

    for (after, limit) in [(0, 1), (0, 500), (3, 17), (last - 5, 1000), (last, 10)] {
        let typed = db.changes(&tenant, after, limit).await?;
        let written: ChangePage =
            serde_json::from_str(&db.changes_json(&tenant, after, limit, Some(42)).await?)?;
        assert_eq!(
            written,
            ChangePage {
                remaining: Some(42),
                ..typed
            },
            "the page after {after} of {limit} reads back as the typed page"
        );
    }
    Ok(())
}
