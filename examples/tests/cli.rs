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
        help.contains("migrations        Check or write the history migrations"),
        "{help}"
    );
    for line in [
        "populate          Record a `+` for every row that has no history yet",
        "clean-duplicates  Delete `~` records that repeat the record before them",
        "clean-old         Delete records older than a cutoff",
        "stats             Count each model's records by type, with their dates",
    ] {
        assert!(help.contains(line), "{help}");
    }
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

/// A scratch folder with the orders table, its history table (migrated as
/// an application would) and `rows` orders without history.
fn orders_database(name: &str, rows: u32) -> (PathBuf, String) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};

    let dir = scratch(name);
    let url = dir.join("app.db").to_string_lossy().into_owned();
    let out = history(
        &dir,
        &["migrations", "write", "--version", "2026-11-22-120000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut conn = SqliteConnection::establish(&url).unwrap();
    conn.batch_execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, \
         status TEXT NOT NULL, total DOUBLE NOT NULL)",
    )
    .unwrap();
    conn.run_pending_migrations(FileBasedMigrations::from_path(dir.join("migrations")).unwrap())
        .unwrap();
    conn.batch_execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         INSERT INTO orders SELECT i, 'customer ' || i, 'new', i * 1.5 FROM n"
    ))
    .unwrap();
    (dir, url)
}

/// One number the database answers.
fn count(url: &str, sql: &str) -> i64 {
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = SqliteConnection::establish(url).unwrap();
    diesel::sql_query(sql).get_result::<N>(&mut conn).unwrap().n
}

fn execute(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};
    SqliteConnection::establish(url)
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

fn history_at(dir: &Path, url: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--database-url", url]);
    history(dir, &all)
}

#[test]
fn populate_counts_then_records_every_row_once_and_stats_report_it() {
    let (dir, url) = orders_database("populate", 2_500);
    let dry = history_at(
        &dir,
        &url,
        &["populate", "--dry-run", "--chunk-size", "1000"],
    );
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert_eq!(
        text(&dry.stdout),
        "populate Order: would write 2500 record(s) in 3 chunk(s) (dry run)\n"
    );
    // Not a terminal: plain lines on stderr, the first after the first chunk.
    assert!(
        text(&dry.stderr)
            .starts_with("history: populate Order: 1000/2500 rows, 1000 records, 1 chunk(s)\n"),
        "{}",
        text(&dry.stderr)
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM historical_orders"),
        0
    );

    let out = history_at(
        &dir,
        &url,
        &[
            "populate",
            "--model",
            "Order",
            "--user",
            "7",
            "--reason",
            "adopted history",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "populate Order: wrote 2500 record(s) in 1 chunk(s)\n"
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(DISTINCT id) AS n FROM historical_orders \
             WHERE history_type = '+' AND history_user_id = 7 \
             AND history_change_reason = 'adopted history'"
        ),
        2500
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) AS n FROM historical_orders h JOIN orders o USING (id) \
             WHERE h.customer = o.customer AND h.total = o.total"
        ),
        2500
    );
    let again = history_at(&dir, &url, &["populate", "--model", "orders"]);
    assert!(text(&again.stdout).starts_with("populate Order: wrote 0 record(s)"));

    let stats = history_at(&dir, &url, &["stats"]);
    assert_eq!(stats.status.code(), Some(0), "{}", text(&stats.stderr));
    let line = text(&stats.stdout);
    assert!(
        line.starts_with("Order (historical_orders): 2500 record(s) (+ 2500, ~ 0, - 0), from 20"),
        "{line}"
    );
    let json = history_at(&dir, &url, &["stats", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json[0]["model"], "Order");
    assert_eq!(json[0]["records"], 2500);
    assert_eq!(json[0]["created"], 2500);
    assert!(json[0]["bytes"].is_null(), "SQLite reports no table size");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clean_duplicates_and_clean_old_count_on_a_dry_run_then_delete_and_archive() {
    let (dir, url) = orders_database("clean", 3);
    let out = history_at(&dir, &url, &["populate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Order 1: a repeated `~`, a year ago; order 2 changed since.
    execute(
        &url,
        "UPDATE historical_orders SET history_date = '2025-01-01 00:00:00'; \
         INSERT INTO historical_orders (id, customer, status, total, history_date, history_type) \
         VALUES (1, 'customer 1', 'new', 1.5, '2025-01-02 00:00:00', '~'), \
                (2, 'customer 2', 'paid', 3.0, '2026-11-30 00:00:00', '~');",
    );
    let all = "SELECT COUNT(*) AS n FROM historical_orders";

    let dry = history_at(&dir, &url, &["clean-duplicates", "--dry-run"]);
    assert_eq!(
        text(&dry.stdout),
        "clean-duplicates Order: would delete 1 record(s) in 1 chunk(s) (dry run)\n"
    );
    let recent = history_at(&dir, &url, &["clean-duplicates", "--minutes", "60"]);
    assert!(text(&recent.stdout).contains("deleted 0 record(s)"));
    let out = history_at(&dir, &url, &["clean-duplicates"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("deleted 1 record(s)"));
    assert_eq!(count(&url, all), 4);

    let archive = dir.join("archive");
    let archive_arg = archive.to_string_lossy().into_owned();
    let dry = history_at(
        &dir,
        &url,
        &[
            "clean-old",
            "--before",
            "2026-01-01",
            "--archive-dir",
            &archive_arg,
            "--dry-run",
        ],
    );
    assert_eq!(
        text(&dry.stdout),
        "clean-old Order: would delete 3 record(s) in 1 chunk(s) (dry run)\n"
    );
    assert!(!archive.exists(), "a dry run archives nothing");
    // Compact keeps what each order was at the cutoff: nothing to delete.
    let compact = history_at(&dir, &url, &["clean-old", "--days", "30", "--compact"]);
    assert!(
        text(&compact.stdout).contains("deleted 0 record(s)"),
        "{}",
        text(&compact.stdout)
    );
    let out = history_at(
        &dir,
        &url,
        &[
            "clean-old",
            "--days",
            "30",
            "--keep",
            "1",
            "--archive-dir",
            &archive_arg,
            "--archive-format",
            "csv",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("historical_orders-") && name.ends_with(".csv"),
        "{name}"
    );
    assert_eq!(
        text(&out.stdout),
        format!(
            "clean-old Order: deleted 1 record(s) in 1 chunk(s), archived to {}\n",
            files[0].display()
        )
    );
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("history_id,id,customer,status,total,history_date"));
    assert!(lines[1].contains(",2,customer 2,new,3"), "{csv}");
    assert_eq!(count(&url, all), 3);

    let out = history_at(&dir, &url, &["clean-old", "--days", "0"]);
    assert!(text(&out.stdout).contains("deleted 3 record(s)"));
    assert_eq!(count(&url, all), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn operations_refuse_bad_arguments_and_report_errors_with_exit_2() {
    let (dir, url) = orders_database("operations-errors", 1);
    let cases: [(&[&str], &str); 5] = [
        (&["clean-old", "--keep", "2"], "--days <DAYS>"),
        (
            &["clean-old", "--days", "3", "--keep", "2", "--compact"],
            "cannot be used with",
        ),
        (
            &["clean-old", "--before", "last week"],
            "expected a date as `2026-01-31`",
        ),
        (&["populate", "--chunk-size", "0"], "0 is not in 1.."),
        (
            &["populate", "--model", "Invoice"],
            "no model `Invoice`; the models are: Order",
        ),
    ];
    for (args, message) in cases {
        let out = history_at(&dir, &url, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = history_at(&dir, &url, &["populate", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("the user id `alice` is not an integer"),
        "{}",
        text(&out.stderr)
    );
    execute(&url, "DROP TABLE historical_orders");
    for command in ["populate", "stats", "clean-old"] {
        let mut args = vec![command];
        if command == "clean-old" {
            args.extend(["--days", "1"]);
        }
        let out = history_at(&dir, &url, &args);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            text(&out.stderr).contains("historical_orders"),
            "{command}: {}",
            text(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_stops_a_backfill_after_a_whole_chunk_and_a_second_run_finishes_it() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let (dir, url) = orders_database("interrupt", 20_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_history"))
        .args(["populate", "--chunk-size", "10", "--database-url", &url])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("history: populate Order: 10/20000 rows"),
        "{first}"
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(
        rest.contains("history: Ctrl-C: stopping after the current chunk"),
        "{rest}"
    );
    assert!(
        rest.contains("run the same command again to carry on"),
        "{rest}"
    );
    // The summary says what the committed chunks hold, and they are whole.
    let written = count(&url, "SELECT COUNT(*) AS n FROM historical_orders");
    assert!(
        written > 0 && written < 20_000 && written % 10 == 0,
        "{written}"
    );
    assert!(
        stdout.contains(&format!("wrote {written} record(s)"))
            && stdout.ends_with("(interrupted)\n"),
        "{stdout}"
    );

    let out = history_at(&dir, &url, &["populate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("wrote {} record(s)", 20_000 - written)));
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(DISTINCT id) AS n FROM historical_orders"
        ),
        count(&url, "SELECT COUNT(*) AS n FROM historical_orders"),
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM historical_orders"),
        20_000
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// On a terminal (a pseudo-terminal from util-linux `script`), a bar drawn
/// in place on stderr, then cleared for the summary line.
#[test]
fn a_terminal_shows_a_progress_bar_that_gives_way_to_the_summary() {
    let (dir, url) = orders_database("terminal", 3_000);
    let command = format!(
        "{} populate --chunk-size 100 --database-url {url}",
        env!("CARGO_BIN_EXE_history")
    );
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(&dir)
        .env("COLUMNS", "100")
        .env("TERM", "xterm")
        .output()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let screen = text(&out.stdout);
    assert!(
        screen.contains("populate Order [") && screen.contains("/3000 rows, "),
        "{screen:?}"
    );
    // Redrawn in place (carriage return, erase line), never a plain line.
    assert!(screen.contains("\r\u{1b}[2K"), "{screen:?}");
    assert!(!screen.contains("history: populate Order:"), "{screen:?}");
    assert!(
        screen.ends_with("populate Order: wrote 3000 record(s) in 30 chunk(s)\r\n"),
        "{screen:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
