//! What the account pages need: `users.email_verified` (false until a mail flow verifies the
//! address) and `users.last_login_at` (set by each successful login), plus the indexes behind the
//! admins' user list and a user's own signatures, RSVPs and submitted quotes, newest first.
//!
//! SQLite adds one column per `ALTER TABLE`, so each column is its own statement.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds the columns and indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000016_user_account_activity"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailVerified,
    LastLoginAt,
}

/// (The unique index on `users.email` already serves the list by email.)
const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("idx_users_created_at_id", "users", &["created_at", "id"]),
    ("idx_signatures_user_id_created_at_id", "signatures", &["user_id", "created_at", "id"]),
    ("idx_rsvps_user_id_created_at_id", "rsvps", &["user_id", "created_at", "id"]),
    ("idx_quotes_submitted_by_id_created_at_id", "quotes", &["submitted_by_id", "created_at", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(boolean(Users::EmailVerified).default(false)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .to_owned(),
            )
            .await?;
        for (name, table, columns) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table)).if_not_exists();
            for column in columns {
                index.col(Alias::new(*column));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned()).await?;
        }
        for column in [Users::LastLoginAt, Users::EmailVerified] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
