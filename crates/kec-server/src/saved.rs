//! Saved queries: a name, the details page's query string and how to show the result, kept in
//! SQLite (`ui.sqlite` in the data directory, beside the store's own files and apart from them).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::ApiError;

/// How a saved query shows its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visualisation {
    /// The details page's table.
    Table,
    /// Occurrences over time by type, and the top reasons.
    Chart,
}

impl Visualisation {
    pub fn as_str(self) -> &'static str {
        match self {
            Visualisation::Table => "table",
            Visualisation::Chart => "chart",
        }
    }

    pub fn parse(text: &str) -> Option<Visualisation> {
        match text {
            "table" => Some(Visualisation::Table),
            "chart" => Some(Visualisation::Chart),
            _ => None,
        }
    }
}

/// One saved query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedQuery {
    pub id: i64,
    pub name: String,
    /// The details page's query string (`type=Warning&reason=BackOff&from=now-6h`).
    pub query: String,
    pub visualisation: Visualisation,
    pub created_ms: i64,
    /// Who saved it, as the authenticating proxy named them (empty when unknown).
    pub owner: String,
    /// When it was last opened, if ever.
    pub last_run_ms: Option<i64>,
}

/// Longest name accepted.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest query string accepted.
pub const MAX_QUERY_CHARS: usize = 4000;

/// The saved queries of one data directory. The database opens on first use, so a server whose
/// UI never saves a query never creates the file.
pub struct SavedQueries {
    path: PathBuf,
    connection: Mutex<Option<Connection>>,
}

fn sqlite_error(error: rusqlite::Error) -> ApiError {
    ApiError::Internal(format!("saved queries: {error}"))
}

impl SavedQueries {
    /// Saved queries kept in `path`.
    pub fn new(path: impl Into<PathBuf>) -> SavedQueries {
        SavedQueries {
            path: path.into(),
            connection: Mutex::new(None),
        }
    }

    /// Saved queries in `ui.sqlite` of a data directory.
    pub fn in_data_dir(data_dir: &Path) -> SavedQueries {
        SavedQueries::new(data_dir.join("ui.sqlite"))
    }

    fn with<T>(
        &self,
        call: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ApiError> {
        let mut guard = self
            .connection
            .lock()
            .map_err(|_| ApiError::Internal("saved queries: a writer panicked".into()))?;
        if guard.is_none() {
            let connection = Connection::open(&self.path).map_err(sqlite_error)?;
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL;
                     CREATE TABLE IF NOT EXISTS saved_query (
                         id INTEGER PRIMARY KEY,
                         name TEXT NOT NULL UNIQUE,
                         query TEXT NOT NULL,
                         visualisation TEXT NOT NULL CHECK (visualisation IN ('table', 'chart')),
                         created_ms INTEGER NOT NULL
                     );",
                )
                .map_err(sqlite_error)?;
            migrate(&connection).map_err(sqlite_error)?;
            *guard = Some(connection);
        }
        match guard.as_ref() {
            Some(connection) => call(connection).map_err(sqlite_error),
            None => Err(ApiError::Internal("saved queries: no database".into())),
        }
    }

    /// Saves (or replaces, by name) a query for `owner` (may be empty); returns its id.
    pub fn save(
        &self,
        name: &str,
        query: &str,
        visualisation: Visualisation,
        owner: &str,
        now_ms: i64,
    ) -> Result<i64, ApiError> {
        let name = name.trim();
        let query = query.trim().trim_start_matches('?');
        if name.is_empty() {
            return Err(ApiError::BadRequest("a saved query needs a name".into()));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::BadRequest(format!(
                "the name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::BadRequest(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        self.with(|connection| {
            connection.execute(
                "INSERT INTO saved_query (name, query, visualisation, created_ms, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET query = excluded.query,
                     visualisation = excluded.visualisation, owner = excluded.owner",
                params![name, query, visualisation.as_str(), now_ms, owner.trim()],
            )?;
            connection.query_row(
                "SELECT id FROM saved_query WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
        })
    }

    /// Every saved query, by name.
    pub fn list(&self) -> Result<Vec<SavedQuery>, ApiError> {
        self.with(|connection| {
            let mut statement = connection.prepare(
                "SELECT id, name, query, visualisation, created_ms, owner, last_run_ms
                 FROM saved_query ORDER BY name COLLATE NOCASE",
            )?;
            let rows = statement.query_map([], read_row)?;
            rows.collect()
        })
    }

    /// One saved query, if it exists.
    pub fn get(&self, id: i64) -> Result<Option<SavedQuery>, ApiError> {
        self.with(|connection| {
            connection
                .query_row(
                    "SELECT id, name, query, visualisation, created_ms, owner, last_run_ms
                     FROM saved_query WHERE id = ?1",
                    params![id],
                    read_row,
                )
                .optional()
        })
    }

    /// Notes that a saved query was opened at `now_ms`; whether it exists.
    pub fn mark_run(&self, id: i64, now_ms: i64) -> Result<bool, ApiError> {
        self.with(|connection| {
            connection
                .execute(
                    "UPDATE saved_query SET last_run_ms = ?2 WHERE id = ?1",
                    params![id, now_ms],
                )
                .map(|updated| updated > 0)
        })
    }

    /// Copies a saved query under the first free name `<name> (copy)`, `<name> (copy 2)`, ..
    /// for `owner`; the new id, or None when `id` does not exist.
    pub fn duplicate(&self, id: i64, owner: &str, now_ms: i64) -> Result<Option<i64>, ApiError> {
        let Some(original) = self.get(id)? else {
            return Ok(None);
        };
        let taken: Vec<String> = self.list()?.into_iter().map(|saved| saved.name).collect();
        let name = (1..)
            .map(|copy| {
                if copy == 1 {
                    format!("{} (copy)", original.name)
                } else {
                    format!("{} (copy {copy})", original.name)
                }
            })
            .find(|name| !taken.contains(name))
            .unwrap_or_default();
        // A copy of a name at the length limit is cut to fit.
        let name: String = name.chars().take(MAX_NAME_CHARS).collect();
        self.save(
            &name,
            &original.query,
            original.visualisation,
            owner,
            now_ms,
        )
        .map(Some)
    }

    /// Deletes a saved query; whether it existed.
    pub fn delete(&self, id: i64) -> Result<bool, ApiError> {
        self.with(|connection| {
            connection
                .execute("DELETE FROM saved_query WHERE id = ?1", params![id])
                .map(|deleted| deleted > 0)
        })
    }
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SavedQuery> {
    let visualisation: String = row.get(3)?;
    Ok(SavedQuery {
        id: row.get(0)?,
        name: row.get(1)?,
        query: row.get(2)?,
        // The CHECK constraint keeps other values out.
        visualisation: Visualisation::parse(&visualisation).unwrap_or(Visualisation::Table),
        created_ms: row.get(4)?,
        owner: row.get(5)?,
        last_run_ms: row.get(6)?,
    })
}

/// Columns added after the first release, added to older files in place.
fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let mut statement = connection.prepare("SELECT name FROM pragma_table_info('saved_query')")?;
    let columns: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !columns.iter().any(|column| column == "owner") {
        connection.execute(
            "ALTER TABLE saved_query ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
            [],
        )?;
    }
    if !columns.iter().any(|column| column == "last_run_ms") {
        connection.execute("ALTER TABLE saved_query ADD COLUMN last_run_ms INTEGER", [])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_lists_replaces_by_name_and_deletes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = SavedQueries::in_data_dir(dir.path());
        assert!(saved.list().expect("list").is_empty());
        let id = saved
            .save(
                "Crash loops",
                "?category=PodCrash",
                Visualisation::Table,
                "ana",
                5,
            )
            .expect("saved");
        saved
            .save("All warnings", "type=Warning", Visualisation::Chart, "", 6)
            .expect("saved");
        let again = saved
            .save(
                "Crash loops",
                "category=PodCrash&namespace=shop",
                Visualisation::Chart,
                "bo",
                7,
            )
            .expect("replaced");
        assert_eq!(again, id, "same name, same query");
        let names: Vec<String> = saved
            .list()
            .expect("list")
            .into_iter()
            .map(|q| q.name)
            .collect();
        assert_eq!(names, ["All warnings", "Crash loops"]);
        let crash = saved.get(id).expect("get").expect("exists");
        assert_eq!(crash.query, "category=PodCrash&namespace=shop");
        assert_eq!(crash.visualisation, Visualisation::Chart);
        assert!(saved.delete(id).expect("delete"));
        assert!(!saved.delete(id).expect("delete"));
        assert!(saved.get(id).expect("get").is_none());
        // Reopened, the file still holds the rest.
        let reopened = SavedQueries::in_data_dir(dir.path());
        assert_eq!(reopened.list().expect("list").len(), 1);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = SavedQueries::in_data_dir(dir.path());
        let error = saved.save("  ", "type=Warning", Visualisation::Table, "", 1);
        assert!(matches!(error, Err(ApiError::BadRequest(message)) if message.contains("name")));
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        assert!(matches!(
            saved.save("n", &long, Visualisation::Table, "", 1),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn owner_last_run_and_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = SavedQueries::in_data_dir(dir.path());
        let id = saved
            .save("Warnings", "type=Warning", Visualisation::Chart, "ana", 5)
            .expect("saved");
        let first = saved.get(id).expect("get").expect("exists");
        assert_eq!(first.owner, "ana");
        assert_eq!(first.last_run_ms, None);
        assert!(saved.mark_run(id, 9).expect("run"));
        assert_eq!(
            saved.get(id).expect("get").map(|q| q.last_run_ms),
            Some(Some(9))
        );
        assert!(!saved.mark_run(id + 100, 9).expect("run"), "no such query");
        let copy = saved.duplicate(id, "bo", 10).expect("dup").expect("copied");
        let again = saved.duplicate(id, "", 11).expect("dup").expect("copied");
        let copy = saved.get(copy).expect("get").expect("exists");
        assert_eq!(copy.name, "Warnings (copy)");
        assert_eq!(copy.owner, "bo");
        assert_eq!(
            (copy.query.as_str(), copy.visualisation),
            ("type=Warning", Visualisation::Chart)
        );
        assert_eq!(copy.last_run_ms, None);
        assert_eq!(
            saved.get(again).expect("get").map(|q| q.name),
            Some("Warnings (copy 2)".into())
        );
        assert_eq!(saved.duplicate(999, "", 12).expect("dup"), None);
    }

    #[test]
    fn a_file_from_before_owners_is_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ui.sqlite");
        let old = Connection::open(&path).expect("open");
        old.execute_batch(
            "CREATE TABLE saved_query (
                 id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, query TEXT NOT NULL,
                 visualisation TEXT NOT NULL CHECK (visualisation IN ('table', 'chart')),
                 created_ms INTEGER NOT NULL);
             INSERT INTO saved_query (name, query, visualisation, created_ms)
                 VALUES ('Old', 'type=Warning', 'table', 1);",
        )
        .expect("old schema");
        drop(old);
        let saved = SavedQueries::new(&path);
        let listed = saved.list().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].owner.as_str(), listed[0].last_run_ms),
            ("", None)
        );
    }
}
