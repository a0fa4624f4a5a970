//! The `history` command as a user runs it: a real process in a scratch
//! folder, its output and its exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("history-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn history(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_history"))
        .args(args)
        .current_dir(dir)
        .env_remove("MIGRATION_DIRECTORY")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_names_every_command_and_its_options() {
    let out = history(&std::env::temp_dir(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.contains("Usage: history [OPTIONS] <COMMAND>"),
        "{help}"
    );
    assert!(
        help.contains("migrations  Check or write the history migrations"),
        "{help}"
    );
    assert!(help.contains("--migration-dir <DIR>"), "{help}");
    assert!(help.contains("[env: MIGRATION_DIRECTORY=]"), "{help}");

    let out = history(&std::env::temp_dir(), &["migrations", "write", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("--drop-removed-columns"), "{help}");
    assert!(help.contains("--version <VERSION>"), "{help}");
}

#[test]
fn check_fails_until_write_writes_the_migration() {
    let dir = scratch("flow");
    let out = history(&dir, &["migrations", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("the history migrations in migrations are behind the models:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  - Order: history table `historical_orders` created\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cargo run --bin history -- migrations write"),
        "{stdout}"
    );
    assert!(!dir.join("migrations").exists(), "check writes nothing");

    let out = history(
        &dir,
        &["migrations", "write", "--version", "2026-11-22-120000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let folder = dir.join("migrations/2026-11-22-120000_create_historical_orders");
    assert!(text(&out.stdout)
        .starts_with("wrote migrations/2026-11-22-120000_create_historical_orders\n"));
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["down.sql", "history_snapshot.json", "up.sql"]);
    let up = std::fs::read_to_string(folder.join("up.sql")).unwrap();
    assert!(up.contains("\"history_request_id\" TEXT"), "{up}");

    let out = history(&dir, &["migrations", "check"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "history migrations in migrations are up to date with 1 model(s)\n"
    );
    let out = history(&dir, &["migrations", "write"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("nothing to write"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mistakes_exit_with_2_and_say_what_is_wrong() {
    let dir = scratch("mistakes");
    let out = history(&dir, &["migrations", "rewrite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unrecognized subcommand 'rewrite'"),
        "{}",
        text(&out.stderr)
    );

    let out = history(&dir, &["migrations", "write", "--version", "2026_11"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("history: error: invalid migration version \"2026_11\""),
        "{stderr}"
    );

    // A folder written for another backend is refused, not mixed.
    let other = dir.join("elsewhere/2026-01-01-000000_create_historical_orders");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("history_snapshot.json"),
        "{\"format\": 1, \"dialect\": \"postgres\", \"tables\": []}",
    )
    .unwrap();
    let out = history(
        &dir,
        &["--migration-dir", "elsewhere", "migrations", "check"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "history: error: the migrations folder is written for postgres, not sqlite\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn verify_compares_the_database_with_the_models_and_the_folder() {
    use diesel::{Connection, SqliteConnection};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};

    let dir = scratch("verify");
    let url = dir.join("app.db").to_string_lossy().into_owned();
    let out = history(
        &dir,
        &["migrations", "write", "--version", "2026-11-22-120000"],
    );
    assert_eq!(out.status.code(), Some(0));

    let out = history(&dir, &["verify", "--database-url", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Order: history table `historical_orders` does not exist\n\
         the database has not run 1 history migration(s) of the folder: 2026-11-22-120000\n"
    );

    let mut conn = SqliteConnection::establish(&url).unwrap();
    conn.run_pending_migrations(FileBasedMigrations::from_path(dir.join("migrations")).unwrap())
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_history"))
        .args(["verify"])
        .current_dir(&dir)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "the database's 1 history table(s) are as the models need them\n"
    );

    let out = history(
        &dir,
        &["verify", "--database-url", "/nonexistent/dir/app.db"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("history: error: cannot connect to the database"));
    let out = history(&dir, &["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--database-url <URL>"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn baseline_adopts_tables_that_exist_already() {
    let dir = scratch("baseline");
    let out = history(
        &dir,
        &["migrations", "baseline", "--version", "2026-11-01-000000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("wrote migrations/2026-11-01-000000_history_baseline"));
    let up =
        std::fs::read_to_string(dir.join("migrations/2026-11-01-000000_history_baseline/up.sql"))
            .unwrap();
    assert!(up.ends_with("\nSELECT 1;\n"), "{up}");
    let out = history(&dir, &["migrations", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A second baseline would hide the first.
    let out = history(&dir, &["migrations", "baseline"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("it needs no baseline"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
