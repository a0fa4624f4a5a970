//! Command-line arguments, parsed by hand (no argument crate for a dozen flags).

use crate::backend::Target;
use crate::report::Workload;

pub const HELP: &str = "\
history-bench: history-diesel against plain Diesel on the same schema

USAGE:
    cargo run --release -p history-bench --features postgres,mysql -- [OPTIONS]

Each workload runs twice in one process, through history-diesel and as plain
Diesel on an identical table without history, alternating the two in chunks so
machine noise hits both. One JSON line per (system, backend, workload) goes to
stdout; the table of ratios history/plain goes to stderr. Answers are checked
(row counts, checksums of what was read); a mismatch exits with status 1.

OPTIONS:
    --backend LIST     sqlite, postgres, mysql, postgres-async,
                       mysql-async, comma-separated                 [sqlite]
    --workloads LIST   W1..W6, comma-separated                      [all]
                         W1 single create      W4 as_of of one object
                         W2 single update      W5 as_of of the whole table
                         W3 bulk create        W6 prev_record
    --ops N            creates (W1) and updates (W2)                [2000]
    --bulk N           rows of the bulk create (W3)                 [10000]
    --batch N          rows per statement in W3                     [1000]
    --objects N        objects in the history of W4-W6              [20000]
    --versions N       records per object, at least 4               [10]
    --lookups N        look-ups in W4 and W6                        [2000]
    --reps N           repetitions of W3 and W5 (median reported)   [5]
    --chunk N          operations per turn when alternating         [50]
    --seed N           seed of the inputs                           [1]
    --trace            also print to stderr the SQL statements of the
                       first operation of each workload and system, and
                       which Diesel prepared and cached (instrumentation;
                       timings then carry its small cost)
    --pg-size          fill the W4 history on PostgreSQL and print its
                       size per record (pg_total_relation_size / rows),
                       then exit; uses --objects and --versions
    -h, --help         this text

ASYNC (feature `async`; mysql-async also needs `mysql`):
    postgres-async and mysql-async run W1, W2 and W4 through diesel-async's
    AsyncPgConnection and AsyncMysqlConnection, one connection on a
    current-thread tokio runtime: the history side with
    history_diesel::asynchronous, the plain side the same statements as on
    postgres and mysql, with diesel_async::RunQueryDsl. Inputs, turns and
    answer checks are those of the blocking run; W3, W5 and W6 are left out.
    Compare the ratios with those of postgres and mysql from the same run:
        cargo run --release -p history-bench --features async -- \\
            --backend postgres,postgres-async --workloads W1,W2,W4
    Measured figures are in the README (Performance).

ENVIRONMENT:
    BENCH_PG_URL       [postgres://postgres@127.0.0.1:5432/history_bench]
    BENCH_MYSQL_URL    [mysql://root@127.0.0.1:3306/history_bench]
                       (the -async backends use the same databases)
    SQLite uses history-bench.sqlite3 in the temp directory, deleted first.
    The databases are created when missing; the benchmark's tables are
    dropped and recreated.

COMPILE COST:
    history-bench/compile-cost.sh times a crate of 50 models with and
    without #[derive(HistoricalRecords)].
";

/// What a run does.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub backends: Vec<Target>,
    pub workloads: Vec<Workload>,
    pub ops: usize,
    pub bulk: usize,
    pub batch: usize,
    pub objects: usize,
    pub versions: usize,
    pub lookups: usize,
    pub reps: usize,
    pub chunk: usize,
    pub seed: u64,
    pub trace: bool,
    pub pg_size: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backends: vec![Target::Sqlite],
            workloads: Workload::ALL.to_vec(),
            ops: 2000,
            bulk: 10_000,
            batch: 1000,
            objects: 20_000,
            versions: 10,
            lookups: 2000,
            reps: 5,
            chunk: 50,
            seed: 1,
            trace: false,
            pg_size: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Config),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        // `--flag=value` and `--flag value` both work.
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--backend" | "--backends" => config.backends = list(&value()?)?,
            "--workloads" | "--workload" => config.workloads = list(&value()?)?,
            "--ops" => config.ops = count(&name, &value()?)?,
            "--bulk" => config.bulk = count(&name, &value()?)?,
            "--batch" => config.batch = count(&name, &value()?)?,
            "--objects" => config.objects = count(&name, &value()?)?,
            "--versions" => config.versions = count(&name, &value()?)?,
            "--lookups" => config.lookups = count(&name, &value()?)?,
            "--reps" => config.reps = count(&name, &value()?)?,
            "--chunk" => config.chunk = count(&name, &value()?)?,
            "--seed" => {
                let text = value()?;
                config.seed = text
                    .parse()
                    .map_err(|_| format!("--seed takes a number, not `{text}`"))?;
            }
            "--trace" => config.trace = true,
            "--pg-size" => config.pg_size = true,
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if config.versions < 4 {
        // The data set deletes and re-creates objects around the middle time.
        return Err("--versions must be at least 4".to_owned());
    }
    Ok(Command::Run(config))
}

/// A comma-separated list without repeats, in the order given.
fn list<T: std::str::FromStr<Err = String> + PartialEq>(text: &str) -> Result<Vec<T>, String> {
    let mut items: Vec<T> = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let item = part.parse()?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    if items.is_empty() {
        return Err(format!("empty list `{text}`"));
    }
    Ok(items)
}

/// A positive count.
fn count(name: &str, text: &str) -> Result<usize, String> {
    match text.replace('_', "").parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} takes a positive number, not `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|arg| arg.to_string()))? {
            Command::Run(config) => Ok(config),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]).unwrap(), Config::default());
    }

    #[test]
    fn lists_and_sizes() {
        let config = run(&[
            "--backend",
            "sqlite,postgres,mysql",
            "--workloads=W1,w3",
            "--ops",
            "200",
            "--bulk=1_000",
        ])
        .unwrap();
        assert_eq!(
            config.backends,
            vec![Target::Sqlite, Target::Postgres, Target::Mysql]
        );
        assert_eq!(config.workloads, vec![Workload::W1, Workload::W3]);
        assert_eq!((config.ops, config.bulk), (200, 1000));
    }

    #[test]
    fn mistakes() {
        assert!(run(&["--backend", "oracle"]).is_err());
        assert_eq!(
            run(&["--backend", "postgres-async"]).unwrap().backends,
            vec![Target::PostgresAsync]
        );
        assert!(run(&["--ops", "0"]).is_err());
        assert!(run(&["--ops"]).is_err());
        assert!(run(&["--versions", "3"]).is_err());
        assert!(run(&["--frobnicate"]).is_err());
        assert_eq!(parse(["-h".to_owned()]), Ok(Command::Help));
    }
}
