//! `cargo xtask bench`: figures, never pass or fail on time. `hub` loads a release hub on
//! SQLite and on a private PostgreSQL; `cache` syncs a desk's cache from a hub of a million
//! customers and times screen pops and type-ahead; `sync` runs the fault simulation over
//! thousands of seeds and the kill harness hundreds of times; `phone` times the softphone's
//! answer and measures one call's media CPU; `desk` times the agent window (screen pop into the
//! DOM, cold start) and weighs it beside Chromium. Reports go to `artifacts/bench/`.

use anyhow::{Context, bail};

use crate::process::{Step, cargo};
use crate::{install, root, say, target_dir};

pub fn bench(args: &[String]) -> anyhow::Result<()> {
    match args.split_first() {
        Some((what, rest)) if what == "hub" => hub(rest),
        Some((what, rest)) if what == "cache" => cache(rest),
        Some((what, rest)) if what == "sync" => sync(rest),
        Some((what, rest)) if what == "phone" => phone(rest),
        Some((what, rest)) if what == "desk" => desk(rest),
        _ => bail!(
            "usage: cargo xtask bench hub [--database sqlite|postgres|both] [--streams N] [--rate N] [--customers N]\n       cargo xtask bench cache [--customers N]\n       cargo xtask bench sync [--seeds N] [--kills N]\n       cargo xtask bench phone [--calls N] [--seconds N]\n       cargo xtask bench desk [--customers N] [--pops N] [--starts N] [--interactions N]"
        ),
    }
}

/// The desk's cache at scale: the seeded hub's data folder is kept in `target/` between runs,
/// because seeding a million customers takes a while and is not what is measured.
fn cache(args: &[String]) -> anyhow::Result<()> {
    let customers = match args {
        [] => "1000000".to_owned(),
        [flag, count] if flag == "--customers" => count.clone(),
        other => bail!("unknown options {other:?} for bench cache"),
    };
    let release = build_release(&[])?;
    let data = target_dir().join("bench-hub-data").join(&customers);
    let (ok, lines) = Step::new(
        &release.join("switchboard-bench-cache").to_string_lossy(),
        &["--customers", &customers],
    )
    .arg("--hub-binary")
    .arg(release.join("switchboard-hub"))
    .arg("--hub-data")
    .arg(&data)
    .run_tee()?;
    save_report(ok, &lines, "the cache", &format!("cache-{customers}.json"))
}

/// The softphone: time to answer a call (SIPp calling an auto-answering phone) and the CPU of
/// one call's media path.
fn phone(args: &[String]) -> anyhow::Result<()> {
    install::sip_load_tool()?;
    let release = build_release(&[])?;
    let (ok, lines) = Step::new(
        &release.join("switchboard-bench-phone").to_string_lossy(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .run_tee()?;
    save_report(ok, &lines, "the phone", "phone.json")
}

/// The agent window: the release app with a million customers in its cache, under Xvfb and
/// tauri-driver as the end-to-end tests run it, on a private session bus.
fn desk(args: &[String]) -> anyhow::Result<()> {
    install::everything()?;
    let tauri_driver = install::tauri_driver()?;
    install::build_ui()?;
    let release = build_release(&["switchboard-desktop"])?;
    let logs = root().join("artifacts").join("bench").join("desk");
    std::fs::create_dir_all(&logs).context("creating artifacts/bench/desk")?;

    let program = release.join("switchboard-bench-desk");
    let mut step = Step::new("dbus-run-session", &["--", &program.to_string_lossy()])
        .arg("--app")
        .arg(release.join("switchboard"))
        .arg("--hub-binary")
        .arg(release.join("switchboard-hub"))
        .arg("--ui-dist")
        .arg(root().join("ui").join("dist"))
        .arg("--logs")
        .arg(&logs)
        .env("SWITCHBOARD_E2E_TAURI_DRIVER", &tauri_driver);
    for arg in args {
        step = step.arg(arg);
    }
    let (ok, lines) = step.run_tee()?;
    save_report(ok, &lines, "the desk", "desk.json")
        .with_context(|| format!("its logs are in {}", logs.display()))
}

/// The sync guarantees at length: the same tests CI runs, with many more seeds and kills.
fn sync(args: &[String]) -> anyhow::Result<()> {
    let mut seeds = "3000".to_owned();
    let mut kills = "150".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest
            .next()
            .with_context(|| format!("{arg} needs a number"))?;
        match arg.as_str() {
            "--seeds" => seeds = value.clone(),
            "--kills" => kills = value.clone(),
            other => bail!("unknown option {other:?} for bench sync"),
        }
    }
    cargo(&[
        "test",
        "-p",
        "switchboard-sync",
        "--test",
        "simulation",
        "--test",
        "kill",
        "--",
        "--nocapture",
    ])
    .env("SIM_SEEDS", &seeds)
    .env("KILL_ROUNDS", &kills)
    .run()
}

fn hub(rest: &[String]) -> anyhow::Result<()> {
    let mut databases = vec!["sqlite", "postgres"];
    let mut passed: Vec<String> = Vec::new();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--database" => {
                databases = match rest.next().map(String::as_str) {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    other => bail!("--database takes sqlite, postgres or both, not {other:?}"),
                }
            }
            "--streams" | "--rate" | "--customers" => {
                let value = rest
                    .next()
                    .with_context(|| format!("{arg} needs a number"))?;
                passed.push(arg.clone());
                passed.push(value.clone());
            }
            other => bail!("unknown option {other:?} for bench hub"),
        }
    }

    install::test_packages()?;
    let release = build_release(&[])?;
    let reports = root().join("artifacts").join("bench");
    std::fs::create_dir_all(&reports).context("creating artifacts/bench")?;

    // Without options, three loads per database: the target (every stream hears every write),
    // the write path alone, and the streams at a quarter of the rate, so that the report shows
    // where the limit lies as well as whether the target holds.
    let scenarios: Vec<(&str, Vec<String>)> = if passed.is_empty() {
        vec![
            ("target", strings(&["--streams", "2000", "--rate", "1000"])),
            ("writes", strings(&["--streams", "0", "--rate", "1000"])),
            ("quarter", strings(&["--streams", "2000", "--rate", "250"])),
        ]
    } else {
        vec![("custom", passed)]
    };

    let mut summary = Vec::new();
    for database in databases {
        for (name, args) in &scenarios {
            let mut step = Step::new(
                &release.join("switchboard-bench").to_string_lossy(),
                &["--database", database, "--seconds", "20"],
            )
            .arg("--hub-binary")
            .arg(release.join("switchboard-hub"));
            for arg in args {
                step = step.arg(arg);
            }
            let (ok, lines) = step.run_tee()?;
            let report = lines.last().cloned().unwrap_or_default();
            if !ok || !report.starts_with('{') {
                bail!("the {database} {name} benchmark failed");
            }
            let path = reports.join(format!("hub-{database}-{name}.json"));
            std::fs::write(&path, format!("{report}\n")).context("saving the report")?;
            summary.push(format!("{database:<9}{name:<9}{}", digest(&report)));
        }
    }
    say("xtask: database scenario  figures (reports in artifacts/bench/)");
    for line in summary {
        say(&format!("xtask: {line}"));
    }
    Ok(())
}

/// Builds the hub, the benchmarks' programs and the `also` packages with the release profile,
/// in one build so that shared dependencies compile once; returns their folder.
fn build_release(also: &[&str]) -> anyhow::Result<std::path::PathBuf> {
    let mut args = vec![
        "build",
        "--release",
        "-p",
        "switchboard-hub",
        "-p",
        "switchboard-bench",
    ];
    for package in also {
        args.extend(["-p", package]);
    }
    cargo(&args).run()?;
    Ok(target_dir().join("release"))
}

/// Saves a benchmark's report, the last line it printed (one JSON object), in
/// `artifacts/bench/FILE`; fails when the program failed or printed no report.
fn save_report(ok: bool, lines: &[String], what: &str, file: &str) -> anyhow::Result<()> {
    let report = lines.last().cloned().unwrap_or_default();
    if !ok || !report.starts_with('{') {
        bail!("{what} benchmark failed");
    }
    let reports = root().join("artifacts").join("bench");
    std::fs::create_dir_all(&reports).context("creating artifacts/bench")?;
    std::fs::write(reports.join(file), format!("{report}\n")).context("saving the report")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// The figures of a report that matter at a glance.
fn digest(report: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(report) else {
        return report.to_owned();
    };
    format!(
        "streams {} writes/s {}/{} p50 {} ms p99 {} ms 429s {} failed {} events {}/{}",
        value["streams_open"],
        value["writes_per_second_achieved"],
        value["writes_per_second_target"],
        value["latency_ms_p50"],
        value["latency_ms_p99"],
        value["writes_refused_429"],
        value["writes_failed"],
        value["events_delivered"],
        value["events_expected"],
    )
}
