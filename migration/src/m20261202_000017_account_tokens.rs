//! `account_tokens`: the single-use tokens mailed to a user (an email verification link, a password
//! reset link), stored only as a SHA-256 hash, each with its purpose, expiry and the time it was
//! used. Deleting the user deletes them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the table and its index.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000017_account_tokens"
    }
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// The purposes a token may have (the entity's `TokenPurpose`).
const PURPOSES: [&str; 2] = ["VERIFY_EMAIL", "RESET_PASSWORD"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountTokens::Table)
                    .col(big_pk_auto(AccountTokens::Id))
                    .col(big_integer(AccountTokens::UserId))
                    .col(string_len(AccountTokens::Purpose, 32))
                    .col(string_len_uniq(AccountTokens::TokenHash, 128))
                    .col(timestamp_with_time_zone(AccountTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountTokens::UsedAt))
                    .col(timestamp_with_time_zone(AccountTokens::CreatedAt))
                    .check(Expr::col(AccountTokens::Purpose).is_in(PURPOSES))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountTokens::Table, AccountTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A new token supersedes the user's earlier ones of the same purpose: found by this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_account_tokens_user_id_purpose")
                    .table(AccountTokens::Table)
                    .col(AccountTokens::UserId)
                    .col(AccountTokens::Purpose)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccountTokens::Table).to_owned()).await
    }
}
