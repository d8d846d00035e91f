//! Several writes as one transaction, written once for both engines: the helper
//! every multi-row change uses (revoking a family, signing a user out), so none of
//! them can stop halfway.
//!
//! SQLite: on the inline writer ([`super::inline::Inline::write`]). PostgreSQL: in a
//! task of its own ([`super::token_writes::detached`]), so a client hanging up cannot
//! leave the transaction open.

use super::{Db, Result};

/// One bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Self::OptText(v.map(str::to_owned))
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Self::Text(s) => s.to_sql(),
            Self::OptText(s) => s.to_sql(),
            Self::Int(i) => i.to_sql(),
        }
    }
}

/// A statement with `$n` placeholders (first used in order) and its values.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: &'static str,
    pub args: Vec<Arg>,
}

impl Stmt {
    pub fn new(sql: &'static str, args: impl IntoIterator<Item = Arg>) -> Self {
        Self {
            sql,
            args: args.into_iter().collect(),
        }
    }
}

impl Db {
    /// Runs every statement in one transaction; returns each one's affected rows.
    pub async fn write_all(&self, stmts: Vec<Stmt>) -> Result<Vec<u64>> {
        match self {
            Db::Sqlite { inline, .. } => {
                inline
                    .write(|tx| {
                        stmts
                            .iter()
                            .map(|s| {
                                let args: Vec<&dyn rusqlite::ToSql> =
                                    s.args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
                                Ok(tx.prepare_cached(s.sql)?.execute(args.as_slice())? as u64)
                            })
                            .collect()
                    })
                    .await
            }
            Db::Postgres(p) => {
                let p = p.clone();
                super::token_writes::detached(async move {
                    let mut tx = p.begin().await?;
                    let mut counts = Vec::with_capacity(stmts.len());
                    for s in &stmts {
                        let mut q = sqlx::query(s.sql);
                        for a in &s.args {
                            q = match a {
                                Arg::Text(v) => q.bind(v),
                                Arg::OptText(v) => q.bind(v),
                                Arg::Int(v) => q.bind(v),
                            };
                        }
                        counts.push(q.execute(&mut *tx).await?.rows_affected());
                    }
                    tx.commit().await?;
                    Ok(counts)
                })
                .await
            }
        }
    }
}
