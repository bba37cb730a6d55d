//! The first schema: every table the API contract needs, with its keys, constraints and indexes.
//!
//! ON DELETE rules: rows that only exist through a parent (credits, rsvps, signatures, refresh
//! tokens, a person's quotes) cascade with it; optional links (a film's sequel link, the film of a
//! quote, event or petition, who submitted or created something) are set to NULL.
//!
//! Petitions and events keep maintained counters (`signature_count`, `going_count`) with a
//! `count_version` that grows with every change: concurrent signers and RSVPs change them in one
//! locking UPDATE, and the version orders live-count notices.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates all tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_create_tables"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    FamilyId,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Films {
    Table,
    Id,
    Slug,
    Title,
    Tagline,
    Synopsis,
    ReleaseDate,
    RuntimeMinutes,
    Status,
    BudgetUsd,
    BoxOfficeUsd,
    Distributor,
    SequelOfId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    Slug,
    Name,
    Bio,
    BirthDate,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Credits {
    Table,
    Id,
    FilmId,
    PersonId,
    Role,
    Character,
    BillingOrder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Quotes {
    Table,
    Id,
    Text,
    PersonId,
    FilmId,
    Source,
    SourceUrl,
    SaidOn,
    Context,
    Status,
    SubmittedById,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Slug,
    Kind,
    Title,
    Description,
    FilmId,
    StartsAt,
    EndsAt,
    TimeZone,
    Venue,
    City,
    Country,
    OnlineUrl,
    Hashtag,
    Capacity,
    CreatedById,
    GoingCount,
    CountVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Rsvps {
    Table,
    Id,
    EventId,
    UserId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Petitions {
    Table,
    Id,
    Slug,
    Title,
    Body,
    Target,
    Goal,
    Status,
    FilmId,
    ClosesAt,
    SignatureCount,
    CountVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Signatures {
    Table,
    Id,
    PetitionId,
    UserId,
    Comment,
    Country,
    Public,
    CreatedAt,
}

/// `CHECK (column IN (...))` for a column that holds one of a closed set of names.
fn one_of(column: impl IntoIden, values: &[&str]) -> Expr {
    Expr::col(column.into_iden()).is_in(values.iter().copied())
}

/// A foreign key from `table.column` to `parent.id`.
fn fk(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
    parent: impl IntoIden + 'static,
    parent_id: impl IntoIden + 'static,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(parent, parent_id)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .take()
}

/// A plain or unique index named after its table and columns.
fn index(table: &str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("idx_{}_{}", table, columns.join("_"))).table(Alias::new(table)).if_not_exists();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement.take()
}

const FILM_STATUSES: &[&str] = &["RELEASED", "IN_PRODUCTION", "IN_DEVELOPMENT", "ANNOUNCED", "REQUESTED_BY_FANS"];
const CREDIT_ROLES: &[&str] = &["DIRECTOR", "PRODUCER", "WRITER", "CAST", "CREW", "VISUAL_EFFECTS"];
const QUOTE_STATUSES: &[&str] = &["PENDING", "PUBLISHED", "REJECTED"];
const EVENT_KINDS: &[&str] = &["SCREENING", "HASHTAG_CAMPAIGN", "WATCH_PARTY", "PANEL", "MEETUP"];
const PETITION_STATUSES: &[&str] = &["OPEN", "CLOSED", "VICTORY"];
const RSVP_STATUSES: &[&str] = &["GOING", "INTERESTED"];
const ROLES: &[&str] = &["FAN", "MODERATOR", "ADMIN"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string_len(Users::DisplayName, 100))
                    .col(string_len(Users::PasswordHash, 255))
                    .col(string_len(Users::Role, 32))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .check(one_of(Users::Role, ROLES))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(big_pk_auto(RefreshTokens::Id))
                    .col(big_integer(RefreshTokens::UserId))
                    .col(string_len_uniq(RefreshTokens::TokenHash, 128))
                    .col(string_len(RefreshTokens::FamilyId, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RotatedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .foreign_key(&mut fk(
                        RefreshTokens::Table,
                        RefreshTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Films::Table)
                    .col(big_pk_auto(Films::Id))
                    .col(string_len_uniq(Films::Slug, 100))
                    .col(string_len(Films::Title, 200))
                    .col(string_len_null(Films::Tagline, 300))
                    .col(text_null(Films::Synopsis))
                    .col(date_null(Films::ReleaseDate))
                    .col(integer_null(Films::RuntimeMinutes))
                    .col(string_len(Films::Status, 32))
                    .col(big_integer_null(Films::BudgetUsd))
                    .col(big_integer_null(Films::BoxOfficeUsd))
                    .col(string_len_null(Films::Distributor, 200))
                    .col(big_integer_null(Films::SequelOfId))
                    .col(timestamp_with_time_zone(Films::CreatedAt))
                    .col(timestamp_with_time_zone(Films::UpdatedAt))
                    .check(one_of(Films::Status, FILM_STATUSES))
                    .check(Expr::col(Films::RuntimeMinutes).is_null().or(Expr::col(Films::RuntimeMinutes).gt(0)))
                    .check(Expr::col(Films::BudgetUsd).is_null().or(Expr::col(Films::BudgetUsd).gte(0)))
                    .check(Expr::col(Films::BoxOfficeUsd).is_null().or(Expr::col(Films::BoxOfficeUsd).gte(0)))
                    .check(
                        Expr::col(Films::SequelOfId)
                            .is_null()
                            .or(Expr::col(Films::SequelOfId).ne(Expr::col(Films::Id))),
                    )
                    .foreign_key(&mut fk(
                        Films::Table,
                        Films::SequelOfId,
                        Films::Table,
                        Films::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(People::Table)
                    .col(big_pk_auto(People::Id))
                    .col(string_len_uniq(People::Slug, 100))
                    .col(string_len(People::Name, 200))
                    .col(text_null(People::Bio))
                    .col(date_null(People::BirthDate))
                    .col(timestamp_with_time_zone(People::CreatedAt))
                    .col(timestamp_with_time_zone(People::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Credits::Table)
                    .col(big_pk_auto(Credits::Id))
                    .col(big_integer(Credits::FilmId))
                    .col(big_integer(Credits::PersonId))
                    .col(string_len(Credits::Role, 32))
                    .col(string_len_null(Credits::Character, 200))
                    .col(integer_null(Credits::BillingOrder))
                    .col(timestamp_with_time_zone(Credits::CreatedAt))
                    .check(one_of(Credits::Role, CREDIT_ROLES))
                    .check(Expr::col(Credits::BillingOrder).is_null().or(Expr::col(Credits::BillingOrder).gte(0)))
                    .foreign_key(&mut fk(
                        Credits::Table,
                        Credits::FilmId,
                        Films::Table,
                        Films::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Credits::Table,
                        Credits::PersonId,
                        People::Table,
                        People::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Quotes::Table)
                    .col(big_pk_auto(Quotes::Id))
                    .col(text(Quotes::Text))
                    .col(big_integer(Quotes::PersonId))
                    .col(big_integer_null(Quotes::FilmId))
                    .col(string_len(Quotes::Source, 300))
                    .col(string_len_null(Quotes::SourceUrl, 2048))
                    .col(date_null(Quotes::SaidOn))
                    .col(text_null(Quotes::Context))
                    .col(string_len(Quotes::Status, 32))
                    .col(big_integer_null(Quotes::SubmittedById))
                    .col(timestamp_with_time_zone(Quotes::CreatedAt))
                    .col(timestamp_with_time_zone(Quotes::UpdatedAt))
                    .check(one_of(Quotes::Status, QUOTE_STATUSES))
                    .foreign_key(&mut fk(
                        Quotes::Table,
                        Quotes::PersonId,
                        People::Table,
                        People::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Quotes::Table,
                        Quotes::FilmId,
                        Films::Table,
                        Films::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Quotes::Table,
                        Quotes::SubmittedById,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(string_len_uniq(Events::Slug, 100))
                    .col(string_len(Events::Kind, 32))
                    .col(string_len(Events::Title, 200))
                    .col(text_null(Events::Description))
                    .col(big_integer_null(Events::FilmId))
                    .col(timestamp_with_time_zone(Events::StartsAt))
                    .col(timestamp_with_time_zone_null(Events::EndsAt))
                    .col(string_len(Events::TimeZone, 64))
                    .col(string_len_null(Events::Venue, 200))
                    .col(string_len_null(Events::City, 100))
                    .col(string_len_null(Events::Country, 2))
                    .col(string_len_null(Events::OnlineUrl, 2048))
                    .col(string_len_null(Events::Hashtag, 100))
                    .col(integer_null(Events::Capacity))
                    .col(big_integer_null(Events::CreatedById))
                    .col(big_integer(Events::GoingCount).default(0))
                    .col(big_integer(Events::CountVersion).default(0))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .check(one_of(Events::Kind, EVENT_KINDS))
                    .check(Expr::col(Events::Capacity).is_null().or(Expr::col(Events::Capacity).gte(0)))
                    .check(Expr::col(Events::GoingCount).gte(0))
                    .check(
                        Expr::col(Events::EndsAt)
                            .is_null()
                            .or(Expr::col(Events::EndsAt).gt(Expr::col(Events::StartsAt))),
                    )
                    .foreign_key(&mut fk(
                        Events::Table,
                        Events::FilmId,
                        Films::Table,
                        Films::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Events::Table,
                        Events::CreatedById,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Rsvps::Table)
                    .col(big_pk_auto(Rsvps::Id))
                    .col(big_integer(Rsvps::EventId))
                    .col(big_integer(Rsvps::UserId))
                    .col(string_len(Rsvps::Status, 32))
                    .col(timestamp_with_time_zone(Rsvps::CreatedAt))
                    .col(timestamp_with_time_zone(Rsvps::UpdatedAt))
                    .check(one_of(Rsvps::Status, RSVP_STATUSES))
                    .foreign_key(&mut fk(
                        Rsvps::Table,
                        Rsvps::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Rsvps::Table,
                        Rsvps::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Petitions::Table)
                    .col(big_pk_auto(Petitions::Id))
                    .col(string_len_uniq(Petitions::Slug, 100))
                    .col(string_len(Petitions::Title, 200))
                    .col(text(Petitions::Body))
                    .col(string_len(Petitions::Target, 200))
                    .col(big_integer(Petitions::Goal))
                    .col(string_len(Petitions::Status, 32))
                    .col(big_integer_null(Petitions::FilmId))
                    .col(timestamp_with_time_zone_null(Petitions::ClosesAt))
                    .col(big_integer(Petitions::SignatureCount).default(0))
                    .col(big_integer(Petitions::CountVersion).default(0))
                    .col(timestamp_with_time_zone(Petitions::CreatedAt))
                    .col(timestamp_with_time_zone(Petitions::UpdatedAt))
                    .check(one_of(Petitions::Status, PETITION_STATUSES))
                    .check(Expr::col(Petitions::Goal).gt(0))
                    .check(Expr::col(Petitions::SignatureCount).gte(0))
                    .foreign_key(&mut fk(
                        Petitions::Table,
                        Petitions::FilmId,
                        Films::Table,
                        Films::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Signatures::Table)
                    .col(big_pk_auto(Signatures::Id))
                    .col(big_integer(Signatures::PetitionId))
                    .col(big_integer(Signatures::UserId))
                    .col(string_len_null(Signatures::Comment, 500))
                    .col(string_len_null(Signatures::Country, 2))
                    .col(boolean(Signatures::Public))
                    .col(timestamp_with_time_zone(Signatures::CreatedAt))
                    .foreign_key(&mut fk(
                        Signatures::Table,
                        Signatures::PetitionId,
                        Petitions::Table,
                        Petitions::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Signatures::Table,
                        Signatures::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        let indexes = [
            index("refresh_tokens", &["user_id"], false),
            index("refresh_tokens", &["family_id"], false),
            index("films", &["sequel_of_id"], false),
            index("films", &["title", "id"], false),
            index("films", &["release_date", "id"], false),
            index("films", &["created_at", "id"], false),
            index("films", &["status"], false),
            index("people", &["name", "id"], false),
            index("people", &["created_at", "id"], false),
            index("people", &["birth_date", "id"], false),
            index("credits", &["film_id", "person_id", "role"], true),
            index("credits", &["film_id", "billing_order", "id"], false),
            index("credits", &["person_id"], false),
            index("quotes", &["person_id"], false),
            index("quotes", &["film_id"], false),
            index("quotes", &["submitted_by_id"], false),
            index("quotes", &["status", "created_at", "id"], false),
            index("quotes", &["said_on", "id"], false),
            index("events", &["film_id"], false),
            index("events", &["created_by_id"], false),
            index("events", &["starts_at", "id"], false),
            index("events", &["title", "id"], false),
            index("events", &["created_at", "id"], false),
            index("events", &["kind"], false),
            index("rsvps", &["event_id", "user_id"], true),
            index("rsvps", &["user_id"], false),
            index("petitions", &["film_id"], false),
            index("petitions", &["title", "id"], false),
            index("petitions", &["created_at", "id"], false),
            index("petitions", &["closes_at", "id"], false),
            index("petitions", &["status"], false),
            index("signatures", &["petition_id", "user_id"], true),
            index("signatures", &["user_id"], false),
            index("signatures", &["petition_id", "created_at", "id"], false),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Signatures::Table.into_iden(),
            Petitions::Table.into_iden(),
            Rsvps::Table.into_iden(),
            Events::Table.into_iden(),
            Quotes::Table.into_iden(),
            Credits::Table.into_iden(),
            People::Table.into_iden(),
            Films::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ];
        for table in tables {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
